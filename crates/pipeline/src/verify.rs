//! `storyline verify RUN`: every promise a run folder makes, checked, and
//! nothing changed.
//!
//! The manifest against the parts (each recorded part there, with its size,
//! checksum and rows; no part it does not record), each table's rows against
//! the manifest's count, article ids unique across the parts,
//! `article_events` covering every article and no other, and no temporary
//! file, journal or sharded job's folder left behind.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use aggregate::{Finding, PartRecord, RunDir, RunLock, Wait, PART_TABLES, WHOLE_TABLES};

use crate::{Manifest, PipelineError};

/// What `verify` looked at, and what it found.
#[derive(Debug)]
pub struct Verified {
    pub batches: usize,
    pub parts: usize,
    pub articles: usize,
    pub findings: Vec<Finding>,
}

fn finding(file: impl Into<PathBuf>, problem: impl Into<String>) -> Finding {
    Finding { file: file.into(), problem: problem.into() }
}

/// At most this many examples in one finding.
const EXAMPLES: usize = 5;

fn examples<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = ids.take(EXAMPLES + 1).collect();
    let more = if v.len() > EXAMPLES { ", ..." } else { "" };
    format!("{}{more}", v[..v.len().min(EXAMPLES)].join(", "))
}

/// Checks the run in `run`. Holds the run's writer lock while it reads (so
/// that what it sees is no writer's work in progress), and writes nothing.
pub fn verify(run: &Path, wait: Wait) -> Result<Verified, PipelineError> {
    if !run.join("manifest.json").is_file() {
        let what = if run.is_dir() { "holds no manifest.json: it is not a run (or its manifest is gone)" } else { "no such folder" };
        return Err(PipelineError::Job(format!("{}: {what}", run.display())));
    }
    let _lock = RunLock::acquire(run, wait)?;
    let dir = RunDir::existing(run);
    let mut out = Verified { batches: 0, parts: 0, articles: 0, findings: Vec::new() };
    let manifest = match Manifest::read(run) {
        Ok(Some(m)) => m,
        Ok(None) => unreachable!("checked above"),
        Err(e) => {
            out.findings.push(finding("manifest.json", e.to_string()));
            return Ok(out);
        }
    };
    out.batches = manifest.batches.len();
    let (parts, unrecorded) = manifest.parts();
    out.parts = parts.len();
    if !unrecorded.is_empty() {
        tracing::warn!(batches = ?unrecorded, "batches written before batches recorded their parts: their parts are checked by count only");
    }
    // Missing, extra and resized parts; then each present part's checksum and rows.
    out.findings.extend(dir.check_parts(&parts, &unrecorded, &[]));
    for r in &parts {
        let path = r.path(&dir);
        let Ok(m) = std::fs::metadata(&path) else { continue };
        if m.len() != r.bytes {
            continue;
        }
        match PartRecord::describe(&r.table, &r.file, &path) {
            Ok(now) if now.xxh3 != r.xxh3 => out.findings.push(finding(rel(run, &path), format!("changed: its checksum is {}, recorded {}", now.xxh3, r.xxh3))),
            Ok(now) if now.rows != r.rows => out.findings.push(finding(rel(run, &path), format!("{} rows, recorded {}", now.rows, r.rows))),
            Ok(_) => {}
            Err(e) => out.findings.push(finding(rel(run, &path), format!("cannot be read: {e}"))),
        }
    }
    // Each table's rows against the manifest's count.
    for table in PART_TABLES {
        let mut n = 0;
        for p in dir.parts(table) {
            match aggregate::parquet_rows(&p) {
                Ok(k) => n += k,
                Err(e) => out.findings.push(finding(rel(run, &p), format!("cannot be read: {e}"))),
            }
        }
        if let Some(want) = manifest.rows_of(table).filter(|&w| w != n) {
            out.findings.push(finding(format!("{table}/"), format!("its parts hold {n} rows, the manifest counts {want}")));
        }
    }
    for file in WHOLE_TABLES {
        let table = file.trim_end_matches(".parquet");
        let path = run.join(file);
        if !path.is_file() {
            out.findings.push(finding(*file, "missing"));
            continue;
        }
        match aggregate::parquet_rows(&path) {
            Ok(n) if manifest.rows_of(table).is_some_and(|w| w != n) => {
                out.findings.push(finding(*file, format!("{n} rows, the manifest counts {}", manifest.rows_of(table).unwrap_or(0))))
            }
            Ok(_) => {}
            Err(e) => out.findings.push(finding(*file, format!("cannot be read: {e}"))),
        }
    }
    // Article ids: unique across the parts, and article_events covers them.
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut twice: Vec<String> = Vec::new();
    for p in dir.parts("articles") {
        let Ok(ids) = aggregate::read_strings(&p, "id") else { continue };
        for id in ids.into_iter().flatten() {
            if let Some(first) = seen.get(&id) {
                twice.push(format!("{id} ({} and {})", rel(run, first).display(), rel(run, &p).display()));
            } else {
                seen.insert(id, p.clone());
            }
        }
    }
    out.articles = seen.len();
    if !twice.is_empty() {
        out.findings.push(finding("articles/", format!("{} article ids are in more than one row: {}", twice.len(), examples(twice.iter().map(String::as_str)))));
    }
    if let Ok(assigned) = aggregate::read_strings(&run.join("article_events.parquet"), "article_id") {
        let assigned: HashSet<String> = assigned.into_iter().flatten().collect();
        let mut missing: Vec<&str> = seen.keys().filter(|id| !assigned.contains(*id)).map(String::as_str).collect();
        let mut unknown: Vec<&str> = assigned.iter().filter(|id| !seen.contains_key(*id)).map(String::as_str).collect();
        missing.sort_unstable();
        unknown.sort_unstable();
        if !missing.is_empty() {
            out.findings.push(finding("article_events.parquet", format!("{} articles have no event: {}", missing.len(), examples(missing.into_iter()))));
        }
        if !unknown.is_empty() {
            out.findings.push(finding("article_events.parquet", format!("{} rows name articles no part holds: {}", unknown.len(), examples(unknown.into_iter()))));
        }
    }
    // Leftovers of interrupted writers.
    if run.join(aggregate::JOURNAL).exists() {
        out.findings.push(finding(aggregate::JOURNAL, "the journal of an interrupted commit: the next run or add finishes it"));
    }
    for d in std::iter::once(run.to_path_buf()).chain(PART_TABLES.iter().map(|t| run.join(t))) {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                out.findings.push(finding(rel(run, &e.path()), "a temporary file of an interrupted writer: the next run or add removes it"));
            }
        }
    }
    if run.join(".shards").is_dir() {
        out.findings.push(finding(".shards/", "a sharded job's folder: a job in progress, or one whose driver died (run the same job again to finish it)"));
    }
    Ok(out)
}

fn rel(run: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(run).unwrap_or(p).to_path_buf()
}
