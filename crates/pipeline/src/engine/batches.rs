//! `storyline eval --batches`: the corpus fed in batches, one `add` each,
//! scored against the one-shot run; seconds per stage per add.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use pipeline::{BatchPlan, NoProgress, Progress};

use crate::{options, settings, Bar, Common};

pub(crate) fn eval_in_batches(gold_path: &Path, plan: BatchPlan, record: Option<&Path>, level: pipeline::Level, common: &Common, bar: &Bar) -> Result<()> {
    let gold = pipeline::read_gold(gold_path)?;
    let s = settings(common)?;
    let batches = pipeline::split_batches(gold_path, plan)?;
    let root = common.out.join("batches");
    let inputs = root.join("input");
    let run = root.join("run");
    if run.exists() {
        std::fs::remove_dir_all(&run).with_context(|| format!("cannot clear {}", run.display()))?;
    }
    std::fs::create_dir_all(&inputs).with_context(|| format!("cannot create {}", inputs.display()))?;
    let mut opts = options(common, Vec::new(), &s);
    opts.out = run.clone();
    if !common.quiet {
        bar.start("batches", batches.len() as u64, "adds");
    }
    let t = Instant::now();
    let mut report = None;
    for (k, lines) in batches.iter().enumerate() {
        let file = inputs.join(format!("b{:04}.jsonl", k + 1));
        std::fs::write(&file, lines.join("\n")).with_context(|| format!("cannot write {}", file.display()))?;
        opts.inputs = vec![file];
        report = Some(pipeline::add(&opts, &s, &NoProgress)?);
        bar.inc(1);
    }
    bar.finish();
    let secs = t.elapsed().as_secs_f64();
    let report = report.context("no batches")?;
    let (scores, missing) = pipeline::score_run(&report.articles, level.ids(&report.clustering), &gold);
    let corpus = gold_path.parent().and_then(|p| p.file_name()).map_or("corpus".into(), |n| n.to_string_lossy().into_owned());
    let plan_name = match plan {
        BatchPlan::Week => "by week".to_string(),
        BatchPlan::Random(n) => format!("{n} random"),
    };
    // Seconds per stage per add: every add when there are few, else a sample.
    let all = &report.manifest.batches;
    let stages = ["ingest", "embed", "read", "cluster", "aggregate"];
    println!("{corpus}: {} batches ({plan_name}), {:.1} s in all", all.len(), secs);
    print!("{:>6} {:>8} {:>8}", "batch", "added", "corpus");
    for st in stages {
        print!(" {st:>9}");
    }
    println!(" {:>8}", "RSS MiB");
    let mut corpus_size = 0;
    let show: Vec<usize> = if all.len() <= 12 {
        (0..all.len()).collect()
    } else {
        let step = all.len() / 8;
        (0..all.len()).filter(|i| *i < 2 || i % step == 0 || *i + 2 >= all.len()).collect()
    };
    for (i, b) in all.iter().enumerate() {
        corpus_size += b.articles;
        if !show.contains(&i) {
            continue;
        }
        print!("{:>6} {:>8} {:>8}", b.batch, b.articles, corpus_size);
        for st in stages {
            let v = b.seconds.iter().find(|(n, _)| n == st).map_or(0.0, |x| x.1);
            print!(" {v:>9.2}");
        }
        println!(" {:>8.0}", b.peak_rss_mib.unwrap_or(0.0));
    }
    println!(
        "{corpus} in batches ({} level): B3 P {:.3} R {:.3} F1 {:.3}, pairwise F1 {:.3}, ARI {:.3}, {} groups ({} gold articles missing)",
        level.as_str(),
        scores.bcubed.precision, scores.bcubed.recall, scores.bcubed.f1, scores.pairwise.f1, scores.ari, scores.predicted_clusters, missing
    );
    let record_json = serde_json::json!({
        "corpus": corpus,
        "level": level,
        "batches": all.len(),
        "plan": plan_name,
        "settings_hash": s.hash(),
        "git_revision": report.manifest.git_revision,
        "scores": scores,
        "missing": missing,
        "seconds": secs,
        "per_batch": all.iter().map(|b| serde_json::json!({"batch": b.batch, "articles": b.articles, "seconds": b.seconds, "peak_rss_mib": b.peak_rss_mib})).collect::<Vec<_>>(),
    });
    let line = format!("{record_json}\n");
    crate::write_records(&common.out.join("eval-batches.json"), record, &line)
}
