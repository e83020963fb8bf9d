//! A run folder that is right or says why not: one writer at a time, parts
//! checked against the manifest before anything is read or written, a
//! damaged manifest reported as damaged and kept, and `storyline verify`
//! finding each kind of damage. With the real model, on the seeds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pipeline::{NoProgress, RunOptions, Settings, Wait};

mod common;
use common::{model, snapshot, verified, workspace};

fn seeds() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(workspace().join("data/seeds")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

fn opts(out: &Path, inputs: Vec<PathBuf>) -> RunOptions {
    RunOptions { inputs, out: out.to_path_buf(), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No }
}

fn add(out: &Path, inputs: Vec<PathBuf>) -> Result<pipeline::RunReport, pipeline::PipelineError> {
    pipeline::add(&opts(out, inputs), &Settings::default(), &NoProgress)
}

/// `n` short articles in a JSONL file, ids `prefix-0..`.
fn feed(dir: &Path, prefix: &str, n: usize) -> PathBuf {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let text = format!("Crews in {prefix} town {i} repaired the river bridge on Tuesday after the floods, the council said. Traffic will resume next week.");
            serde_json::json!({"id": format!("{prefix}-{i}"), "title": format!("Bridge {i} of {prefix} repaired"), "date": "2024-03-01", "text": text}).to_string()
        })
        .collect();
    let p = dir.join(format!("{prefix}.jsonl"));
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn engine() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_storyline-engine"));
    c.env("STORYLINE_MODEL", model()).env("RUST_LOG", "warn");
    c
}

/// A run of two batches: seeds 0-1, then 2-4.
fn two_batches(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    add(&run, seeds()[..2].to_vec()).unwrap();
    add(&run, seeds()[2..].to_vec()).unwrap();
    verified(&run);
    run
}

#[test]
fn a_second_writer_is_refused_or_waits_and_two_adds_at_once_both_land() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    add(&run, seeds()[..1].to_vec()).unwrap();
    // Held by this process: an add is refused at once, naming the holder.
    let held = aggregate::RunLock::acquire(&run, Wait::No).unwrap();
    let a = feed(tmp.path(), "a", 3);
    let out = engine().args(["add", "--quiet", "--no-cache", "--input"]).arg(&a).arg("--out").arg(&run).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pid {}", std::process::id())) && err.contains("is being written by another storyline") && err.contains("--wait"), "{err}");
    // With --wait it waits, saying so, and lands once the lock is free.
    let mut waiting = engine()
        .args(["add", "--quiet", "--no-cache", "--wait", "--input"])
        .arg(&a)
        .arg("--out")
        .arg(&run)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(waiting.try_wait().unwrap().is_none(), "it waits while the lock is held");
    drop(held);
    let out = waiting.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("waiting for the other writer"), "it said it was waiting");
    // Two adds started at the same moment, with --wait: both land, in some order.
    let (b, c) = (feed(tmp.path(), "b", 30), feed(tmp.path(), "c", 30));
    let spawn = |input: &Path| engine().args(["add", "--quiet", "--no-cache", "--wait", "--input"]).arg(input).arg("--out").arg(&run).spawn().unwrap();
    let (mut x, mut y) = (spawn(&b), spawn(&c));
    assert!(x.wait().unwrap().success() && y.wait().unwrap().success());
    let m = pipeline::Manifest::read(&run).unwrap().unwrap();
    let mut batches: Vec<(u32, usize)> = m.batches.iter().map(|b| (b.batch, b.articles)).collect();
    batches.sort();
    assert_eq!(batches, [(1, 1), (2, 3), (3, 30), (4, 30)], "every batch is in the manifest");
    assert_eq!(m.rows_of("articles"), Some(64));
    verified(&run);
}

#[test]
fn a_writer_killed_with_kill_9_leaves_no_stale_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    add(&run, seeds()[..1].to_vec()).unwrap();
    let big = feed(tmp.path(), "big", 400);
    let mut child = engine().args(["add", "--quiet", "--no-cache", "--input"]).arg(&big).arg("--out").arg(&run).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while aggregate::RunLock::holder(&run).is_none_or(|h| h.pid != child.id()) {
        assert!(start.elapsed() < Duration::from_secs(60), "the add never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(aggregate::RunLock::holder(&run).is_none(), "the kernel released the killed writer's lock");
    let report = add(&run, vec![feed(tmp.path(), "next", 2)]).expect("the next add takes the lock at once");
    assert_eq!(report.manifest.batches.len(), 2);
    verified(&run);
}

/// A copy of a run folder.
fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_run(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn first_part(run: &Path, table: &str) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(run.join(table)).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v.remove(0)
}

/// Damages a copy of `good` with `damage`; an add must refuse it, naming
/// the file and `what`, and change nothing; verify must report it.
fn refused(good: &Path, name: &str, what: &str, damage: impl FnOnce(&Path) -> String) {
    let run = good.with_file_name(name);
    copy_run(good, &run);
    let file = damage(&run);
    let before = snapshot(&run);
    let err = add(&run, vec![feed(good.parent().unwrap(), name, 2)]).err().unwrap_or_else(|| panic!("{name}: the add went on")).to_string();
    assert!(err.contains(&file) && err.contains(what) && err.contains("nothing was written"), "{name}: {err}");
    assert!(!err.contains("storyline run --out"), "{name}: never advise a command that replaces the run: {err}");
    assert_eq!(snapshot(&run), before, "{name}: a refused add changes nothing");
    let v = pipeline::verify::verify(&run, Wait::No).unwrap();
    let findings: Vec<String> = v.findings.iter().map(ToString::to_string).collect();
    assert!(findings.iter().any(|f| f.contains(&file) && f.contains(what)), "{name}: verify: {findings:#?}");
    assert_eq!(snapshot(&run), before, "{name}: verify changes nothing");
}

#[test]
fn missing_extra_and_changed_parts_are_refused_by_add_and_reported_by_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let good = two_batches(tmp.path());
    let rel = |run: &Path, p: &Path| p.strip_prefix(run).unwrap().display().to_string();
    refused(&good, "missing", "missing", |run| {
        let p = first_part(run, "articles");
        std::fs::remove_file(&p).unwrap();
        rel(run, &p)
    });
    refused(&good, "all-gone", "missing", |run| {
        for p in std::fs::read_dir(run.join("articles")).unwrap() {
            std::fs::remove_file(p.unwrap().path()).unwrap();
        }
        "articles/b000001-".into()
    });
    refused(&good, "extra", "an extra part", |run| {
        let p = run.join("articles/b000002-00000000000000ff.parquet");
        std::fs::copy(first_part(run, "articles"), &p).unwrap();
        rel(run, &p)
    });
    // The same size, other bytes: caught by the checksum of a part an add reads.
    refused(&good, "flipped", "checksum", |run| {
        let p = first_part(run, "embeddings");
        let mut bytes = std::fs::read(&p).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x55;
        std::fs::write(&p, bytes).unwrap();
        rel(run, &p)
    });
    refused(&good, "grown", "bytes, recorded", |run| {
        let p = first_part(run, "sentence_embeddings");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(b"junk");
        std::fs::write(&p, bytes).unwrap();
        rel(run, &p)
    });
}

#[test]
fn a_truncated_manifest_is_damaged_kept_and_recoverable_from_the_previous_one() {
    let tmp = tempfile::tempdir().unwrap();
    let run = two_batches(tmp.path());
    let manifest = std::fs::read(run.join("manifest.json")).unwrap();
    let prev = pipeline::Manifest::read_file(&run.join("manifest.prev.json")).unwrap();
    assert_eq!(prev.batches.len(), 1, "manifest.prev.json is the run before its latest batch");
    std::fs::write(run.join("manifest.json"), &manifest[..manifest.len() / 2]).unwrap();
    let before = snapshot(&run);
    let err = add(&run, vec![feed(tmp.path(), "x", 2)]).err().expect("a damaged manifest stops the add").to_string();
    assert!(err.contains("manifest.json is damaged") && err.contains("at byte") && err.contains("manifest.prev.json"), "{err}");
    assert!(!err.contains("older storyline") && !err.contains("storyline run --out"), "{err}");
    assert_eq!(snapshot(&run), before, "the damaged manifest is kept, nothing written");
    let v = pipeline::verify::verify(&run, Wait::No).unwrap();
    assert!(v.findings.iter().any(|f| f.to_string().contains("manifest.json") && f.to_string().contains("damaged")), "{:?}", v.findings);
    // Recovery by hand, as docs/outputs.md says: the previous manifest back,
    // the latest batch's parts moved out; then the run verifies and grows.
    std::fs::copy(run.join("manifest.prev.json"), run.join("manifest.json")).unwrap();
    let findings = pipeline::verify::verify(&run, Wait::No).unwrap().findings;
    assert!(findings.iter().any(|f| f.problem.contains("extra part")), "the latest batch's parts are extra now: {findings:?}");
    for table in aggregate::PART_TABLES {
        for p in std::fs::read_dir(run.join(table)).unwrap().flatten() {
            if p.file_name().to_string_lossy().starts_with("b000002-") {
                std::fs::remove_file(p.path()).unwrap();
            }
        }
    }
    let report = add(&run, seeds()[2..].to_vec()).expect("the recovered run grows again");
    assert_eq!((report.added, report.manifest.batches.len()), (3, 2));
    verified(&run);
}

#[test]
fn only_an_old_layout_gets_the_old_layout_message() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("articles.parquet"), b"PAR1").unwrap();
    std::fs::write(old.join("manifest.json"), br#"{"tool": "storyline", "version": "0.0.1", "rows": []}"#).unwrap();
    let err = add(&old, seeds()[..1].to_vec()).err().unwrap().to_string();
    assert!(err.contains("older storyline") && err.contains("left as it is") && !err.contains(&format!("--out {}", old.display())), "{err}");
    // JSON of this layout's shape but not a manifest it reads: not "old".
    let odd = tmp.path().join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::write(odd.join("manifest.json"), br#"{"batches": 3}"#).unwrap();
    let err = add(&odd, seeds()[..1].to_vec()).err().unwrap().to_string();
    assert!(err.contains("not a manifest this storyline reads") && !err.contains("older storyline"), "{err}");
}
