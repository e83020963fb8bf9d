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
    let (articles, sentences) = (rows("articles"), rows("sentence_embeddings"));
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
        "embed_precision": manifest["embed_precision"],
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
    let bin = build_storyline(&paths)?;
    // The distinct sentences of GVA dev, as ingestion splits them.
    let listed = Command::new(&bin)
        .env("LD_LIBRARY_PATH", &paths.torch_lib)
        .args(["sentences", "--limit", &sentences.to_string(), "--input"])
        .arg(gva()?)
        .output()?;
    if !listed.status.success() {
        bail!("storyline sentences failed: {}", String::from_utf8_lossy(&listed.stderr));
    }
    let list = String::from_utf8(listed.stdout).context("storyline sentences printed invalid UTF-8")?;
    let n_sentences = list.lines().count();
    let file = workspace_root().join("target/anchor-sentences.txt");
    std::fs::create_dir_all(file.parent().context("target")?)?;
    std::fs::write(&file, list)?;
    // Three alternating rounds, medians: this machine's neighbours make
    // single runs noisy. Ours runs with the product's settings (the default
    // precision, `auto`, and the token cap) and, for reference, in f32;
    // Python as users run it (f32) and in bf16 (the fair peer of ours).
    let batch = ANCHOR_BATCH.to_string();
    let threads_arg = threads.to_string();
    let ours = |precision: &str| -> Result<Value> {
        let out = Command::new(&bin)
            .env("LD_LIBRARY_PATH", &paths.torch_lib)
            .args(["bench-embed", "--batch", &batch, "--threads", &threads_arg, "--set"])
            .arg(format!("embed.precision={precision}"))
            .arg("--sentences")
            .arg(&file)
            .arg("--model")
            .arg(&paths.model)
            .output()?;
        if !out.status.success() {
            bail!("storyline bench-embed failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_slice(&out.stdout).context("bench-embed printed no JSON")
    };
    let theirs = |precision: &str| -> Result<Value> {
        let out = Command::new(&python)
            .env("HF_HUB_OFFLINE", "1")
            .env("TRANSFORMERS_OFFLINE", "1")
            .arg(workspace_root().join("xtask/setup/anchor.py"))
            .arg(&paths.model)
            .arg(&file)
            .arg(&threads_arg)
            .arg(&batch)
            .arg(precision)
            .output()?;
        if !out.status.success() {
            bail!("the Python anchor failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_slice(&out.stdout).context("anchor.py printed no JSON")
    };
    let rate = |v: &Value| v["sentences_per_second"].as_f64().context("no sentences_per_second");
    let (mut ours_default, mut ours_f32, mut py_f32, mut py_bf16) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut batch_tokens, mut our_precision) = (Value::Null, Value::Null);
    for _ in 0..3 {
        let o = ours("auto")?;
        ours_default.push(rate(&o)?);
        batch_tokens = o["batch_tokens"].clone();
        our_precision = o["precision"].clone();
        py_f32.push(rate(&theirs("f32")?)?);
        ours_f32.push(rate(&ours("f32")?)?);
        // Where `auto` is f32 the CPU has no bf16 instructions: PyTorch
        // emulates bf16 there (2.2 against 83 sentences/s measured on an
        // AVX2-only EPYC), which says nothing about either side.
        if our_precision.as_str() == Some("bf16") {
            py_bf16.push(rate(&theirs("bf16")?)?);
        }
    }
    if py_bf16.is_empty() {
        println!("Python bf16 not run: this CPU has no bf16 instructions (storyline's auto precision is f32 here)");
        py_bf16.push(f64::NAN);
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (o, o32, p32, p16) = (median(&ours_default), median(&ours_f32), median(&py_f32), median(&py_bf16));
    println!("{n_sentences} unique GVA dev sentences, {threads} threads, batch {ANCHOR_BATCH}, median of 3 alternating runs, {}", machine());
    println!("{:<44} {:>10} {:>9} {:>9}", "", "sent/s", "vs py f32", "vs py bf16");
    let row = |name: String, r: f64| println!("{name:<44} {r:>10.1} {:>8.2}x {:>8.2}x", r / p32, r / p16);
    row(format!("storyline, default ({}, <= {batch_tokens} tokens a batch)", our_precision.as_str().unwrap_or("?")), o);
    row("storyline, embed.precision=f32".into(), o32);
    row("sentence-transformers (Python), f32".into(), p32);
    row("sentence-transformers (Python), bf16".into(), p16);
    append_record(&results_file().with_file_name("anchor.jsonl"), &json!({
        "git_revision": git_revision(),
        "time": chrono_like_now(),
        "machine": machine(),
        "threads": threads,
        "batch": ANCHOR_BATCH,
        "storyline_batch_tokens": batch_tokens,
        "storyline_precision": our_precision,
        "sentences": n_sentences,
        "storyline_sentences_per_s": ours_default,
        "storyline_f32_sentences_per_s": ours_f32,
        "python_sentences_per_s": py_f32,
        "python_bf16_sentences_per_s": py_bf16,
        "ratio_of_medians": o / p32,
        "ratio_to_python_bf16": o / p16,
    }))
}
