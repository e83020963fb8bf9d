//! Lets the benchmarks find libtorch at run time (`cargo bench` needs no flags).
include!("../build-support/libtorch_rpath.rs");

fn main() {
    emit_libtorch_rpath();
}
