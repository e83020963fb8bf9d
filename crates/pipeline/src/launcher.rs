//! `storyline`: the command users run. It links nothing heavy: it checks that
//! the engine (`storyline-engine`, beside it) and the libtorch it links can
//! be loaded, then becomes the engine (exec: same process id, arguments,
//! stdin/stdout/stderr and signals).
//!
//! It also tunes glibc's allocator for the engine (unless the user set these
//! variables): libtorch allocates each batch's activations afresh, several
//! megabytes each, and glibc serves allocations over 128 KiB with new mmaps
//! that the kernel must zero: perf put 20% of embedding time in page
//! faults and clear_page. Served from the heap and kept there, they are
//! reused; embedding runs 15-35% faster.
//!
//! A missing or corrupt libtorch makes the dynamic loader kill a program
//! before its `main` runs; without this check the user would see the
//! loader's one line and exit status 127, not what to do about it.

#![allow(clippy::print_stderr)]

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const ENGINE: &str = "storyline-engine";

/// glibc malloc settings for the engine: allocations up to 32 MiB (glibc's
/// largest threshold) come from the heap, and up to 256 MiB of freed heap
/// stays mapped for the next batch.
const MALLOC_TUNING: [(&str, &str); 2] = [("MALLOC_MMAP_THRESHOLD_", "33554432"), ("MALLOC_TRIM_THRESHOLD_", "268435456")];

fn fail(msg: &str) -> ExitCode {
    eprintln!("storyline: {msg}");
    ExitCode::from(2)
}

fn engine() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot tell where storyline is installed: {e}"))?;
    let engine = me.with_file_name(ENGINE);
    if engine.is_file() {
        Ok(engine)
    } else {
        Err(format!(
            "{} is missing: storyline runs it. Build both with `cargo build --release -p pipeline` (or `cargo xtask pipeline`)",
            engine.display()
        ))
    }
}

fn main() -> ExitCode {
    let engine = match engine() {
        Ok(e) => e,
        Err(msg) => return fail(&msg),
    };
    // Loading the engine loads libtorch; `--version` does nothing else.
    let probe = match Command::new(&engine).arg("--version").output() {
        Ok(p) => p,
        Err(e) => return fail(&format!("cannot start {}: {e}", engine.display())),
    };
    if !probe.status.success() {
        let why = String::from_utf8_lossy(&probe.stderr);
        let why = why.trim();
        if why.contains("shared librar") || why.contains("symbol") {
            return fail(&format!(
                "libtorch is missing or corrupt, so the embedding model cannot run.\n  loader: {why}\n  \
                 storyline needs libtorch 2.4 (from the torch 2.4.0 wheel on PyPI); `cargo xtask setup` installs it \
                 into the cache (~/.cache/storyline, or $STORYLINE_CACHE) and the build links it from there. \
                 If the cache was moved or deleted, run `cargo xtask setup` and rebuild."
            ));
        }
        return fail(&format!("{} does not start ({}): {why}", engine.display(), probe.status));
    }
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut cmd = Command::new(&engine);
    for (key, value) in MALLOC_TUNING {
        if std::env::var_os(key).is_none() {
            cmd.env(key, value);
        }
    }
    let err = cmd.arg0("storyline").args(args).exec();
    fail(&format!("cannot start {}: {err}", engine.display()))
}
