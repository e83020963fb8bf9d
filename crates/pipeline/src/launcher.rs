//! `storyline`: the command users run. It links nothing heavy: it checks that
//! the engine (`storyline-engine`, beside it) and the libtorch it links can
//! be loaded, then becomes the engine (exec: same process id, arguments,
//! stdin/stdout/stderr and signals).
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
    let err = Command::new(&engine).arg0("storyline").args(args).exec();
    fail(&format!("cannot start {}: {err}", engine.display()))
}
