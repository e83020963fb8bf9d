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

/// The anchor's batch size for the Python runtimes: sentence-transformers'
/// default. storyline runs with its own defaults (the precision's call
/// shapes: 32 rows in f32, 16 in bf16), as a user runs it.
const ANCHOR_BATCH: usize = 32;

/// The anchor's sentences: the distinct sentences of GVA dev, as ingestion
/// splits them; without ../shared, the bundled ECB+ ones (benches/data).
fn anchor_sentences(bin: &Path, paths: &setup::Paths, limit: usize) -> Result<(String, String)> {
    let Ok(gva) = gva() else {
        let bundled = workspace_root().join("benches/data/ecbplus-sentences.txt");
        println!("../shared/datasets is not here: the anchor embeds the bundled ECB+ sentences ({}) instead of GVA dev's", bundled.display());
        let text = std::fs::read_to_string(&bundled).with_context(|| format!("cannot read {}", bundled.display()))?;
        return Ok(("ECB+ dev (bundled)".into(), text.lines().take(limit).map(|l| format!("{l}\n")).collect()));
    };
    let listed = Command::new(bin)
        .env("LD_LIBRARY_PATH", &paths.torch_lib)
        .args(["sentences", "--limit", &limit.to_string(), "--input"])
        .arg(gva)
        .output()?;
    if !listed.status.success() {
        bail!("storyline sentences failed: {}", String::from_utf8_lossy(&listed.stderr));
    }
    Ok(("GVA dev".into(), String::from_utf8(listed.stdout).context("storyline sentences printed invalid UTF-8")?))
}

/// Cosines between the rows of two raw little-endian f32 files of `dim`
/// columns: (min, median).
fn cosines(a: &Path, b: &Path, dim: usize) -> Result<(f64, f64)> {
    let read = |p: &Path| -> Result<Vec<f32>> {
        Ok(std::fs::read(p)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    let (a, b) = (read(a)?, read(b)?);
    let mut c: Vec<f64> = a
        .chunks(dim)
        .zip(b.chunks(dim))
        .map(|(x, y)| {
            let dot: f64 = x.iter().zip(y).map(|(u, v)| f64::from(*u) * f64::from(*v)).sum();
            let n = |z: &[f32]| z.iter().map(|u| f64::from(*u).powi(2)).sum::<f64>().sqrt();
            dot / (n(x) * n(y))
        })
        .collect();
    c.sort_by(f64::total_cmp);
    Ok((c[0], c[c.len() / 2]))
}

/// Runtimes of `xtask/setup/cpu_runtimes.py`, in the table's order.
const RUNTIMES: &[(&str, &str)] = &[
    ("ov-bf16", "OpenVINO, bf16"),
    ("ov-f32", "OpenVINO, f32"),
    ("ort-f32", "ONNX Runtime, f32"),
    ("ort-int8-matmul", "ONNX Runtime, int8 dynamic (per-channel, MatMul)"),
    ("ort-int8", "ONNX Runtime, int8 dynamic (defaults)"),
];

/// Our embed stage against Python sentence-transformers, OpenVINO and ONNX
/// Runtime: same sentences, model files, threads and batch size.
pub fn anchor(sentences: usize, threads: usize) -> Result<()> {
    let paths = setup::ensure()?;
    let python = setup::ensure_venv(&paths, "anchor")?;
    let bin = build_storyline(&paths)?;
    let (source, list) = anchor_sentences(&bin, &paths, sentences)?;
    let n_sentences = list.lines().count();
    let work = workspace_root().join("target/anchor");
    std::fs::create_dir_all(&work)?;
    let file = work.join("sentences.txt");
    std::fs::write(&file, list)?;
    // Three alternating rounds, medians: this machine's neighbours make
    // single runs noisy. Ours runs with the product's settings (the default
    // precision, `auto`) and, for reference, in f32; Python as users run
    // it (f32) and in bf16 (the fair peer of ours); then the other runtimes.
    let batch = ANCHOR_BATCH.to_string();
    let threads_arg = threads.to_string();
    let f32_vectors = work.join("storyline-f32.f32");
    let default_vectors = work.join("storyline-default.f32");
    let rust_bert_vectors = work.join("storyline-rust-bert.f32");
    let ours = |precision: &str, engine: &str, vectors: &Path| -> Result<Value> {
        let out = Command::new(&bin)
            .env("LD_LIBRARY_PATH", &paths.torch_lib)
            .args(["bench-embed", "--threads", &threads_arg, "--set"])
            .arg(format!("embed.precision={precision}"))
            .arg("--set")
            .arg(format!("embed.engine={engine}"))
            .arg("--sentences")
            .arg(&file)
            .arg("--model")
            .arg(&paths.model)
            .arg("--vectors")
            .arg(vectors)
            .output()?;
        if !out.status.success() {
            bail!("storyline bench-embed failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_slice(&out.stdout).context("bench-embed printed no JSON")
    };
    let python_json = |args: &[&std::ffi::OsStr]| -> Result<Value> {
        let out = Command::new(&python).env("HF_HUB_OFFLINE", "1").env("TRANSFORMERS_OFFLINE", "1").args(args).output()?;
        if !out.status.success() {
            bail!("{:?} failed: {}", args.first(), String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_slice(&out.stdout).context("the Python side printed no JSON")
    };
    let theirs = |precision: &str| -> Result<Value> {
        let script = workspace_root().join("xtask/setup/anchor.py");
        python_json(&[script.as_os_str(), paths.model.as_os_str(), file.as_os_str(), threads_arg.as_ref(), batch.as_ref(), precision.as_ref()])
    };
    let runtime = |name: &str| -> Result<Value> {
        let script = workspace_root().join("xtask/setup/cpu_runtimes.py");
        let onnx = paths.cache.join("anchor-onnx");
        let args = [script.as_os_str(), paths.model.as_os_str(), file.as_os_str(), threads_arg.as_ref(), batch.as_ref(), onnx.as_os_str(), name.as_ref(), f32_vectors.as_os_str()];
        python_json(&args)
    };
    let rate = |v: &Value| v["sentences_per_second"].as_f64().context("no sentences_per_second");
    // Rows: name -> rates; runtimes also their cosines to our f32 vectors.
    let mut rates: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut fidelity: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
    let mut skipped: std::collections::BTreeMap<&str, String> = Default::default();
    let (mut our_precision, mut numerics) = (Value::Null, Value::Null);
    for round in 0..3 {
        let o = ours("auto", "fused", &default_vectors)?;
        rates.entry("ours").or_default().push(rate(&o)?);
        our_precision = o["precision"].clone();
        numerics = o["shapes"].clone();
        rates.entry("py-f32").or_default().push(rate(&theirs("f32")?)?);
        rates.entry("ours-f32").or_default().push(rate(&ours("f32", "fused", &f32_vectors)?)?);
        rates.entry("ours-rust-bert").or_default().push(rate(&ours("auto", "rust-bert", &rust_bert_vectors)?)?);
        // Where `auto` is f32 the CPU has no bf16 instructions: PyTorch
        // emulates bf16 there (2.2 against 83 sentences/s measured on an
        // AVX2-only EPYC), which says nothing about either side.
        if our_precision.as_str() == Some("bf16") {
            rates.entry("py-bf16").or_default().push(rate(&theirs("bf16")?)?);
        }
        for (name, _) in RUNTIMES {
            let v = runtime(name)?;
            if let Some(why) = v["skipped"].as_str() {
                skipped.insert(name, why.to_string());
                continue;
            }
            rates.entry(name).or_default().push(rate(&v)?);
            if round == 0 {
                fidelity.insert(name, (v["cosine_min"].as_f64().unwrap_or(f64::NAN), v["cosine_median"].as_f64().unwrap_or(f64::NAN)));
            }
        }
    }
    let dim = std::fs::metadata(&f32_vectors)?.len() as usize / 4 / n_sentences.max(1);
    fidelity.insert("ours", cosines(&default_vectors, &f32_vectors, dim)?);
    fidelity.insert("ours-rust-bert", cosines(&rust_bert_vectors, &f32_vectors, dim)?);
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: std::collections::BTreeMap<&str, f64> = rates.iter().map(|(k, v)| (*k, median(v))).collect();
    let (ours_rate, p32) = (medians["ours"], medians["py-f32"]);
    println!("{n_sentences} unique {source} sentences, {threads} threads, batch {ANCHOR_BATCH} (storyline: its defaults), median of 3 alternating runs, {}", machine());
    println!("{:<52} {:>9} {:>9} {:>9} {:>17}", "", "sent/s", "vs ours", "vs py f32", "cosine to our f32");
    let mut table = Vec::new();
    let mut names: Vec<(&str, String)> = vec![
        ("ours", format!("storyline, default ({}, {})", our_precision.as_str().unwrap_or("?"), numerics.as_str().unwrap_or("?"))),
        ("ours-f32", "storyline, embed.precision=f32".into()),
        ("ours-rust-bert", format!("storyline, embed.engine=rust-bert ({})", our_precision.as_str().unwrap_or("?"))),
        ("py-f32", "sentence-transformers (Python), f32".into()),
        ("py-bf16", "sentence-transformers (Python), bf16".into()),
    ];
    names.extend(RUNTIMES.iter().map(|(k, n)| (*k, n.to_string())));
    for (key, name) in &names {
        let Some(&r) = medians.get(key) else {
            let why = skipped.get(key).cloned().unwrap_or_else(|| "this CPU has no bf16 instructions (storyline's auto precision is f32 here)".into());
            println!("{name:<52} not run: {why}");
            table.push(json!({"row": key, "name": name, "skipped": why}));
            continue;
        };
        let cos = fidelity.get(key).map_or(String::new(), |(min, med)| format!("min {min:.5}, median {med:.5}"));
        println!("{name:<52} {r:>9.1} {:>8.2}x {:>8.2}x {cos:>17}", r / ours_rate, r / p32);
        table.push(json!({"row": key, "name": name, "sentences_per_s": rates[key], "median": r, "cosine_to_storyline_f32": fidelity.get(key)}));
    }
    append_record(&results_file().with_file_name("anchor.jsonl"), &json!({
        "git_revision": git_revision(),
        "time": chrono_like_now(),
        "machine": machine(),
        "threads": threads,
        "batch": ANCHOR_BATCH,
        "sentences": n_sentences,
        "source": source,
        "storyline_precision": our_precision,
        "storyline_numerics": numerics,
        "rows": table,
        "ratio_of_medians": ours_rate / p32,
    }))
}
