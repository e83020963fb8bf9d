//! `cargo xtask bench`, `bench-compare` and `bench --anchor`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::setup;
use crate::util::{build_storyline, cargo, run, workspace_root};

fn results_file() -> PathBuf {
    workspace_root().join("bench-results/results.jsonl")
}

fn git_revision() -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(|| "unknown".into(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// CPU model and core count, from /proc/cpuinfo.
pub fn machine() -> Value {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map_or("unknown", str::trim);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    json!({"cpu": model, "cores": cores})
}

fn gva() -> Result<PathBuf> {
    let p = workspace_root().join("../shared/datasets/gva/dev.jsonl");
    if !p.is_file() {
        bail!("{} is missing: the end-to-end benchmark runs on the GVA dev corpus in ../shared/datasets", p.display());
    }
    Ok(p)
}

pub fn bench(baseline: Option<String>, skip_criterion: bool) -> Result<()> {
    let paths = setup::ensure()?;
    let baseline = baseline.unwrap_or_else(git_revision);
    if !skip_criterion {
        let mut c = cargo(&paths);
        c.args(["bench", "-p", "benches", "--bench", "stages", "--", "--save-baseline", &baseline]);
        run(c)?;
    }
    // End to end on GVA dev, without the embedding cache, so every stage works.
    let bin = build_storyline(&paths)?;
    let out = workspace_root().join("target/bench-e2e");
    let mut c = Command::new(&bin);
    c.env("LD_LIBRARY_PATH", &paths.torch_lib).env("STORYLINE_MODEL", &paths.model);
    c.args(["run", "--no-cache", "--quiet", "--input"]).arg(gva()?).arg("--out").arg(&out);
    let t = std::time::Instant::now();
    run(c)?;
    let wall = t.elapsed().as_secs_f64();
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json"))?)?;
    let rows = |name: &str| {
        manifest["rows"].as_array().and_then(|r| r.iter().find(|x| x[0] == name)).and_then(|x| x[1].as_f64()).unwrap_or(0.0)
    };
    let secs = |stage: &str| {
        manifest["seconds"].as_array().and_then(|r| r.iter().find(|x| x[0] == stage)).and_then(|x| x[1].as_f64()).unwrap_or(0.0)
    };
    let (articles, sentences) = (rows("articles.parquet"), rows("sentence_embeddings.parquet"));
    let bytes: f64 = manifest["inputs"].as_array().map_or(0.0, |i| i.iter().filter_map(|x| x["bytes"].as_f64()).sum());
    let record = json!({
        "baseline": baseline,
        "git_revision": git_revision(),
        "time": chrono_like_now(),
        "machine": machine(),
        "threads": manifest["threads"],
        "corpus": "gva/dev.jsonl",
        "input_mb": bytes / 1e6,
        "articles": articles,
        "sentences_embedded": sentences,
        "wall_seconds": wall,
        "seconds": manifest["seconds"],
        "ingest_mb_per_s": bytes / 1e6 / secs("ingest").max(1e-9),
        "ingest_articles_per_s": articles / secs("ingest").max(1e-9),
        "embed_sentences_per_s": sentences / secs("embed").max(1e-9),
        "cluster_articles_per_s": articles / secs("cluster").max(1e-9),
        "articles_per_s_end_to_end": articles / wall,
        "peak_rss_mib": manifest["peak_rss_mib"],
    });
    println!("{}", serde_json::to_string_pretty(&record)?);
    append_record(&results_file(), &record)
}

/// Appends one JSON line to a results file in bench-results/ (kept across runs).
fn append_record(file: &Path, record: &Value) -> Result<()> {
    std::fs::create_dir_all(file.parent().context("results folder")?)?;
    let mut line = serde_json::to_string(record)?;
    line.push('\n');
    use std::io::Write;
    std::fs::OpenOptions::new().create(true).append(true).open(file)?.write_all(line.as_bytes())?;
    println!("appended to {}", file.display());
    Ok(())
}

fn chrono_like_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Mean estimate (ns) of every benchmark saved under `baseline`.
fn baseline_means(baseline: &str) -> Result<Vec<(String, f64)>> {
    let root = workspace_root().join("target/criterion");
    let mut out = Vec::new();
    walk(&root, &root, baseline, &mut out);
    if out.is_empty() {
        bail!("no criterion baseline {baseline:?} under {}; run `cargo xtask bench --baseline {baseline}` first", root.display());
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, baseline: &str, out: &mut Vec<(String, f64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        if p.file_name().is_some_and(|n| n == baseline) {
            let est = p.join("estimates.json");
            if let Some(mean) = std::fs::read_to_string(&est)
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .and_then(|v| v["mean"]["point_estimate"].as_f64())
            {
                let name = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
                out.push((name, mean));
            }
        } else {
            walk(root, &p, baseline, out);
        }
    }
}

/// Compares two saved baselines; fails when anything slowed down by more than `threshold` percent.
pub fn compare(a: &str, b: &str, threshold: f64, noise: f64) -> Result<()> {
    let x = baseline_means(a)?;
    let y: std::collections::HashMap<String, f64> = baseline_means(b)?.into_iter().collect();
    println!("{:<55} {:>14} {:>14} {:>9}", "benchmark", a, b, "change");
    let mut regressions = Vec::new();
    for (name, before) in &x {
        let Some(after) = y.get(name) else { continue };
        let change = (after - before) / before * 100.0;
        let mark = if change > threshold {
            regressions.push(name.clone());
            "  REGRESSED"
        } else if change.abs() <= noise {
            "  (noise)"
        } else if change < 0.0 {
            "  faster"
        } else {
            "  slower"
        };
        println!("{name:<55} {:>12.3}ms {:>12.3}ms {change:>+8.1}%{mark}", before / 1e6, after / 1e6);
    }
    if !regressions.is_empty() {
        bail!("{} benchmark(s) regressed by more than {threshold}%: {}", regressions.len(), regressions.join(", "));
    }
    Ok(())
}

/// The anchor's batch size: sentence-transformers' default and ours.
const ANCHOR_BATCH: usize = 32;

/// Our embed stage against Python sentence-transformers, same sentences,
/// model files and threads.
pub fn anchor(sentences: usize, threads: usize) -> Result<()> {
    let paths = setup::ensure()?;
    let python = setup::ensure_venv(&paths, "anchor")?;
    // The unique sentences of GVA dev, as ingestion splits them.
    let out = ingest::ingest_paths(&[gva()?], &ingest::IngestOptions::default());
    let mut seen = std::collections::HashSet::new();
    let list: Vec<&str> = out
        .articles
        .iter()
        .flat_map(|a| a.sentences())
        .filter(|s| seen.insert(*s))
        .take(sentences)
        .collect();
    let file = workspace_root().join("target/anchor-sentences.txt");
    std::fs::create_dir_all(file.parent().context("target")?)?;
    std::fs::write(&file, list.join("\n"))?;
    let bin = build_storyline(&paths)?;
    // Three alternating rounds, medians: this machine's neighbours make
    // single runs noisy.
    let batch = ANCHOR_BATCH.to_string();
    let mut ours_runs = Vec::new();
    let mut theirs_runs = Vec::new();
    // Ours runs with the product's settings otherwise (the token cap).
    let mut batch_tokens = Value::Null;
    for _ in 0..3 {
        let ours = Command::new(&bin)
            .env("LD_LIBRARY_PATH", &paths.torch_lib)
            .args(["bench-embed", "--batch", &batch, "--threads", &threads.to_string(), "--sentences"])
            .arg(&file)
            .arg("--model")
            .arg(&paths.model)
            .output()?;
        if !ours.status.success() {
            bail!("storyline bench-embed failed: {}", String::from_utf8_lossy(&ours.stderr));
        }
        let theirs = Command::new(&python)
            .env("HF_HUB_OFFLINE", "1")
            .env("TRANSFORMERS_OFFLINE", "1")
            .arg(workspace_root().join("xtask/setup/anchor.py"))
            .arg(&paths.model)
            .arg(&file)
            .arg(threads.to_string())
            .arg(&batch)
            .output()?;
        if !theirs.status.success() {
            bail!("the Python anchor failed: {}", String::from_utf8_lossy(&theirs.stderr));
        }
        let parse = |out: &[u8]| serde_json::from_slice::<Value>(out).unwrap_or(Value::Null);
        let (ours, theirs) = (parse(&ours.stdout), parse(&theirs.stdout));
        ours_runs.push(ours["sentences_per_second"].as_f64().context("bench-embed printed no rate")?);
        theirs_runs.push(theirs["sentences_per_second"].as_f64().context("anchor.py printed no rate")?);
        batch_tokens = ours["batch_tokens"].clone();
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (so, st) = (median(&mut ours_runs), median(&mut theirs_runs));
    println!("{} unique GVA dev sentences, {threads} threads, batch {ANCHOR_BATCH}, median of 3 runs, {}", list.len(), machine());
    println!("storyline (rust-bert)          {so:>8.1} sentences/s   (at most {batch_tokens} padded tokens a batch)");
    println!("sentence-transformers (Python) {st:>8.1} sentences/s");
    println!("ratio                          {:>8.2}x", so / st);
    append_record(&results_file().with_file_name("anchor.jsonl"), &json!({
        "git_revision": git_revision(),
        "time": chrono_like_now(),
        "machine": machine(),
        "threads": threads,
        "batch": ANCHOR_BATCH,
        "storyline_batch_tokens": batch_tokens,
        "sentences": list.len(),
        "storyline_sentences_per_s": ours_runs,
        "python_sentences_per_s": theirs_runs,
        "ratio_of_medians": so / st,
    }))
}
