//! Lets the tests find libtorch at run time.
include!("../../build-support/libtorch_rpath.rs");

fn main() {
    emit_libtorch_rpath();
}
