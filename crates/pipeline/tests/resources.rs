//! Resource failures get a clear error, not an abort: a corrupt libtorch, a
//! missing engine binary, a disk that fills while the outputs are written.

#![allow(clippy::print_stderr)]

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{model, workspace};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn corrupt_libtorch_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    // The loader searches LD_LIBRARY_PATH before the binary's run path.
    std::fs::write(d.path().join("libtorch_cpu.so"), b"not a shared library").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_storyline"))
        .env("LD_LIBRARY_PATH", d.path())
        .args(["run", "--input"])
        .arg(workspace().join("data/seeds"))
        .arg("--out")
        .arg(d.path().join("out"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("libtorch is missing or corrupt") && err.contains("libtorch_cpu.so"), "{err}");
    assert!(err.contains("cargo xtask setup"), "{err}");
    assert!(!d.path().join("out").exists(), "nothing runs without libtorch");
}

#[test]
fn missing_engine_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let lonely = d.path().join("storyline");
    std::fs::copy(env!("CARGO_BIN_EXE_storyline"), &lonely).unwrap();
    let out = Command::new(&lonely).arg("--version").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("storyline-engine is missing"), "{err}");
}

fn run_seeds(out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_storyline"));
    c.env("STORYLINE_MODEL", model())
        .args(["run", "--quiet", "--no-cache", "--threads", "1", "--input"])
        .arg(workspace().join("data/seeds"))
        .arg("--out")
        .arg(out);
    c
}

/// The files of a folder and its sub-folders with their bytes, sorted by
/// path (relative to `dir`).
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                walk(root, &e.path(), out);
            } else if e.file_name() == aggregate::LOCK_FILE {
                // Says who wrote last, not what: the failed run took it.
            } else {
                out.push((e.path().strip_prefix(root).unwrap().display().to_string(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A disk that fills during a run: a tmpfs just big enough for the previous
/// run's outputs holds the output folder and the embedding cache (in a
/// private mount namespace, so the test needs root or user namespaces), or,
/// where mounting is not allowed, a file-size limit (`ulimit -f`) fails the
/// same writes with EFBIG. The cache append fails first (a warning: the run
/// goes on), then the tables (an error naming the file).
#[test]
fn full_disk_is_a_clear_error_and_the_last_run_stays_whole() {
    let d = tempfile::tempdir().unwrap();
    let prev = d.path().join("prev");
    let first = run_seeds(&prev).output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let before = contents(&prev);
    let pages: u64 = before.iter().map(|(_, b)| (b.len() as u64).div_ceil(4096)).sum();

    let disk = d.path().join("disk");
    let (out, cache) = (disk.join("out"), disk.join("cache"));
    let after = d.path().join("after");
    std::fs::create_dir_all(&disk).unwrap();
    std::fs::create_dir_all(&after).unwrap();
    // `limit` applies to the run only, not to the copies around it.
    let run = |limit: &str| format!(
        "mkdir -p {out} && cp -a {prev}/. {out}/ || exit 98; ({limit} STORYLINE_CACHE={cache} STORYLINE_MODEL={model} \
         exec {bin} run --quiet --threads 1 --input {seeds} --out {out}); rc=$?; cp -a {out}/. {after}/; exit $rc",
        out = sh_quote(&out),
        prev = sh_quote(&prev),
        cache = sh_quote(&cache),
        model = sh_quote(&model()),
        bin = sh_quote(Path::new(env!("CARGO_BIN_EXE_storyline"))),
        seeds = sh_quote(&workspace().join("data/seeds")),
        after = sh_quote(&after),
    );
    let tmpfs = format!("mount -t tmpfs -o size={}k storyline-full {} || exit 99; {}", (pages + 4) * 4, sh_quote(&disk), run(""));
    let mut o = Command::new("unshare").args(["-m", "sh", "-c", &tmpfs]).output();
    if !matches!(&o, Ok(x) if x.status.code() != Some(99) && x.status.code() != Some(98)) {
        eprintln!("tmpfs not available ({:?}); using ulimit -f", o.as_ref().map(stderr));
        // 64 KiB: more than the small tables, less than the cache and the vectors.
        o = Command::new("sh").args(["-c", &run("trap '' XFSZ; ulimit -f 128;")]).output();
    }
    let o = o.unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "an error exit, not a crash: {err}");
    assert!(err.contains("cannot append to the embedding cache; going on"), "the cache is optional: {err}");
    assert!(err.contains("cannot write") && err.contains(".parquet"), "names the file: {err}");
    assert!(err.contains("No space left on device") || err.contains("File too large"), "{err}");
    assert!(err.contains("earlier runs are untouched"), "says the old outputs are safe: {err}");
    let now = contents(&after);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&now), names(&before), "no temporary files left, no table missing");
    assert!(now == before, "the previous run's outputs are byte-identical after the failed run");
}
