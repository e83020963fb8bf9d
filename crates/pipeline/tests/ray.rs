//! `cargo xtask ray`'s driver (xtask/ray/driver.py) on a local Ray cluster,
//! with the real model, on the seeds and a subset of ECB+ dev: the job gives
//! the tables one `storyline run` gives; a worker killed mid-shard (by its
//! pid) is run again by Ray; a driver killed midway is finished by running
//! it again, which skips the shards already done.
//!
//! Ray comes from the cache's venv that `cargo xtask test` installs
//! (xtask/setup/python-ray.txt); ECB+ from ../shared/datasets (this test is
//! in xtask/shared-tests.txt).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pipeline::{NoProgress, RunOptions, Settings};

mod common;
use common::{assert_same_run, model, workspace};

fn ray_python() -> PathBuf {
    let python = std::env::var_os("STORYLINE_RAY_PYTHON")
        .map(PathBuf::from)
        .or_else(|| cache_paths::cache_dir().map(|c| c.join("venv-ray/bin/python")))
        .expect("no cache folder");
    assert!(python.exists(), "{} is missing: `cargo xtask test` installs Ray into the cache's venv", python.display());
    python
}

/// The seeds and the first 60 articles of ECB+ dev (four topics).
fn corpus(dir: &Path) -> Vec<PathBuf> {
    let ecb = workspace().join("../shared/datasets/ecbplus/dev.jsonl");
    let text = std::fs::read_to_string(&ecb).unwrap_or_else(|e| panic!("{}: {e}", ecb.display()));
    let subset = dir.join("ecb.jsonl");
    std::fs::write(&subset, text.lines().take(60).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    vec![workspace().join("data/seeds"), subset]
}

fn driver(inputs: &[PathBuf], out: &Path) -> Command {
    let mut c = Command::new(ray_python());
    c.arg(workspace().join("xtask/ray/driver.py")).arg("--engine").arg(env!("CARGO_BIN_EXE_storyline-engine"));
    c.arg("--out").arg(out).args(["--cpus", "2", "--shard-mb", "0.03", "--quiet"]);
    for i in inputs {
        c.arg("--input").arg(i);
    }
    c.env("STORYLINE_MODEL", model());
    c
}

/// The pids of the engine processes running `step` for the run in `out`.
fn engines(step: &str, out: &Path) -> Vec<u32> {
    let want = format!("shard\0{step}\0");
    let out = out.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("storyline-engine") && cmd.contains(&want) && cmd.contains(&out)
        })
        .collect()
}

fn parent(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("PPid:"))?.trim().parse().ok()
}

fn wait_for<T>(what: &str, child: &mut Child, mut found: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(x) = found() {
            return x;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the driver ended ({status}) before {what}");
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no {what} after 300 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finish(mut child: Child) -> String {
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "the driver failed: {err}");
    err
}

#[test]
fn a_ray_job_is_the_same_run_through_killed_workers_and_drivers() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = corpus(dir.path());
    let one = dir.path().join("one");
    let opts = RunOptions { inputs: inputs.clone(), out: one.clone(), model_dir: model(), cache_dir: None, model_threads: 2 };
    pipeline::run(&opts, &Settings::default(), &NoProgress).unwrap();

    // A worker killed mid-shard: Ray runs its task again.
    let out = dir.path().join("workers");
    let mut child = driver(&inputs, &out).stderr(Stdio::piped()).spawn().unwrap();
    let engine = wait_for("an embedding task", &mut child, || engines("embed", &out).into_iter().next());
    let worker = parent(engine).expect("the engine's worker");
    assert!(Command::new("kill").args(["-9", &worker.to_string()]).status().unwrap().success());
    let gone = Instant::now();
    while Path::new(&format!("/proc/{engine}/cmdline")).exists() && std::fs::read(format!("/proc/{engine}/cmdline")).is_ok_and(|c| !c.is_empty()) {
        assert!(gone.elapsed() < Duration::from_secs(10), "the engine outlived its worker");
        std::thread::sleep(Duration::from_millis(20));
    }
    finish(child);
    assert_same_run(&one, &out);

    // The driver killed once a shard is done: running it again finishes
    // the job and skips that shard.
    let out = dir.path().join("driver");
    let mut child = driver(&inputs, &out).stderr(Stdio::piped()).spawn().unwrap();
    let shards = out.join(".shards");
    wait_for("a finished shard", &mut child, || {
        let done = std::fs::read_dir(&shards).ok()?.flatten().filter(|e| e.path().join("done.json").is_file()).count();
        (done > 0).then_some(done)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mut again = driver(&inputs, &out);
    let again = again.args(["--report", &dir.path().join("report.json").to_string_lossy()]).stderr(Stdio::piped()).spawn().unwrap();
    finish(again);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let planned = std::fs::read_dir(out.join("articles")).unwrap().count() as u64;
    let embedded = report["phases"]["embed"]["shards"].as_u64().unwrap();
    assert!(embedded < planned, "the rerun embedded {embedded} of {planned} shards: the finished ones are skipped");
    assert_same_run(&one, &out);
}
