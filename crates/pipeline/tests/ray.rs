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

use pipeline::Wait;

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
    let opts = RunOptions { inputs: inputs.clone(), out: one.clone(), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No };
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

/// A listening TCP socket: address, port, inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listening {
    address: String,
    port: u16,
    inode: u64,
}

impl Listening {
    fn loopback(&self) -> bool {
        self.address.starts_with("127.") || self.address == "::1" || self.address.starts_with("::ffff:127.")
    }
}

/// Listening sockets of /proc/net/tcp and tcp6.
fn listening() -> Vec<Listening> {
    let mut out = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let (addr, port) = f[1].split_once(':').unwrap();
            let port = u16::from_str_radix(port, 16).unwrap();
            // Each 32-bit word is in the host's (little-endian) order.
            let bytes: Vec<u8> = (0..addr.len() / 8)
                .flat_map(|w| u32::from_str_radix(&addr[w * 8..w * 8 + 8], 16).unwrap().to_le_bytes())
                .collect();
            let address = if v6 {
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).unwrap()).to_string()
            } else {
                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).unwrap()).to_string()
            };
            out.push(Listening { address, port, inode: f[9].parse().unwrap() });
        }
    }
    out
}

/// The process holding socket `inode`, if it is `root` or one of its descendants.
fn holder_in_tree(inode: u64, root: u32) -> Option<(u32, String)> {
    let link = format!("socket:[{inode}]");
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        if fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == link)) {
            let mut p = pid;
            while p > 1 {
                if p == root {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    return Some((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
                }
                p = parent(p)?;
            }
            return None;
        }
    }
    None
}

/// A local cluster started for one run listens on loopback only: every
/// listening socket the driver's processes (Ray's GCS, raylet, workers,
/// agents) open during the job is on 127.0.0.1 or ::1.
#[test]
fn a_local_ray_cluster_listens_on_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let before: Vec<u64> = listening().iter().map(|l| l.inode).collect();
    let mut child = driver(&[workspace().join("data/seeds")], &out).stderr(Stdio::piped()).spawn().unwrap();
    let root = child.id();
    let mut seen: Vec<(Listening, u32, String)> = Vec::new();
    while child.try_wait().unwrap().is_none() {
        for l in listening() {
            if before.contains(&l.inode) || seen.iter().any(|(s, _, _)| s.inode == l.inode) {
                continue;
            }
            if let Some((pid, cmd)) = holder_in_tree(l.inode, root) {
                seen.push((l, pid, cmd));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    finish(child);
    assert!(seen.len() >= 3, "the job's own sockets were seen (GCS, raylet, workers): {seen:#?}");
    let open: Vec<String> = seen.iter().filter(|(l, _, _)| !l.loopback()).map(|(l, pid, cmd)| format!("{}:{} pid {pid} {cmd}", l.address, l.port)).collect();
    assert!(open.is_empty(), "sockets of the job listening beyond loopback: {open:#?}");
    common::verified(&out);
}
