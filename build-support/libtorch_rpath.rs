// Shared by the build scripts of the packages whose binaries, tests or
// benches load libtorch (`include!`d): an rpath to the real torch/lib behind
// $LIBTORCH (which `cargo xtask setup` links and .cargo/config.toml names),
// so they run without LD_LIBRARY_PATH.

fn emit_libtorch_rpath() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(libtorch) = std::env::var_os("LIBTORCH") else { return };
    let cpu = std::path::Path::new(&libtorch).join("lib").join("libtorch_cpu.so");
    if let Some(dir) = std::fs::canonicalize(&cpu).ok().and_then(|p| p.parent().map(|d| d.to_path_buf())) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
}
