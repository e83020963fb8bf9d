//! Writing a run's tables and its manifest.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use aggregate::{stage, stage_parquet, Staged};
use ingest::{Article, Reject};

use crate::run::{ids, Embedded};
use crate::{PipelineError, Settings};

#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl InputFile {
    pub fn describe(p: &Path) -> Self {
        let (bytes, sha256) = match std::fs::File::open(p) {
            Ok(mut f) => {
                let mut h = Sha256::new();
                let n = std::io::copy(&mut f, &mut h).unwrap_or(0);
                (n, h.finalize().iter().map(|b| format!("{b:02x}")).collect())
            }
            Err(_) => (0, String::new()),
        };
        Self { path: p.display().to_string(), bytes, sha256 }
    }
}

/// `manifest.json`: what produced a run's outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub git_revision: Option<String>,
    pub started_at: String,
    pub settings: Settings,
    pub settings_hash: String,
    pub model_sha256: String,
    pub inputs: Vec<InputFile>,
    pub rows: Vec<(String, usize)>,
    pub seconds: Vec<(String, f64)>,
    pub warnings: usize,
    pub rejects: usize,
    pub threads: usize,
    /// Peak resident memory of the process so far, in MiB (Linux; null elsewhere).
    pub peak_rss_mib: Option<f64>,
}

/// VmHWM from /proc/self/status.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Manifest {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        started: chrono::DateTime<chrono::Utc>,
        settings: &Settings,
        model_sha256: &str,
        inputs: Vec<InputFile>,
        rows: Vec<(String, usize)>,
        seconds: Vec<(&str, f64)>,
        warnings: usize,
        rejects: usize,
    ) -> Self {
        Self {
            tool: "storyline".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_revision: git_revision(),
            started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            settings: settings.clone(),
            settings_hash: settings.hash(),
            model_sha256: model_sha256.into(),
            inputs,
            rows,
            seconds: seconds.into_iter().map(|(s, t)| (s.to_string(), t)).collect(),
            warnings,
            rejects,
            threads: rayon::current_num_threads(),
            peak_rss_mib: peak_rss_mib(),
        }
    }

    /// Stages manifest.json (committed with the tables, last).
    pub(crate) fn stage(&self, path: &Path) -> Result<Staged, PipelineError> {
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        Ok(stage(path, |f| std::io::Write::write_all(f, &json))?)
    }
}

/// The tables of a run, written and synced but not yet in place.
pub(crate) struct StagedOutputs {
    pub counts: Vec<(String, usize)>,
    files: Vec<Staged>,
}

impl StagedOutputs {
    /// Renames every staged file over its target, `last` (the manifest)
    /// after the tables: until then the previous run's outputs are whole.
    pub fn commit(self, last: Staged) -> Result<(), PipelineError> {
        for f in self.files.into_iter().chain([last]) {
            f.commit()?;
        }
        Ok(())
    }
}

/// Stages every parquet table of a run (nothing replaces an old output
/// unless all of them were written: a full disk leaves the last run whole).
pub(crate) fn write_outputs(
    out: &Path,
    articles: &[Article],
    rejects: &[Reject],
    embedded: &Embedded,
    clustering: &cluster::Clustering,
) -> Result<StagedOutputs, PipelineError> {
    std::fs::create_dir_all(out).map_err(|source| PipelineError::Io { path: out.to_path_buf(), source })?;
    remove_stale_temporaries(out);
    let mut counts = Vec::new();
    let mut files = Vec::new();
    let mut put = |name: &str, mut df: aggregate::DataFrame| -> Result<(), PipelineError> {
        let p: PathBuf = out.join(name);
        counts.push((name.to_string(), df.height()));
        files.push(stage_parquet(&p, &mut df)?);
        Ok(())
    };
    let extras = aggregate::ArticleExtras {
        event_id: clustering.event.iter().map(|&e| Some(e)).collect(),
        story_id: clustering.story.iter().map(|&s| Some(s)).collect(),
    };
    let articles_df = aggregate::articles_frame(articles, &extras)?;
    let events = aggregate::events_frame(articles, &embedded.articles, &clustering.event, &clustering.story, clustering.n_events)?;
    let stories = aggregate::stories_frame(articles, &events, &clustering.story, clustering.n_stories)?;
    let timeline = aggregate::timeline_frame(&articles_df, &events)?;
    put("articles.parquet", articles_df)?;
    put("events.parquet", events)?;
    put("stories.parquet", stories)?;
    put("timeline.parquet", timeline)?;
    put("sentences.parquet", aggregate::sentences_frame(articles)?)?;
    put("rejects.parquet", aggregate::rejects_frame(rejects)?)?;
    let ids = ids(articles);
    put("embeddings.parquet", aggregate::embeddings_frame(&ids, &embedded.articles, embedded.dim)?)?;
    let s_ids: Vec<&str> = embedded.sentences.iter().map(|(i, _, _)| ids[*i]).collect();
    let s_idx: Vec<i32> = embedded.sentences.iter().map(|(_, j, _)| *j).collect();
    let s_vec: Vec<&[f32]> = embedded.sentences.iter().map(|(_, _, v)| v.as_slice()).collect();
    put("sentence_embeddings.parquet", aggregate::sentence_embeddings_frame(&s_ids, &s_idx, &s_vec, embedded.dim)?)?;
    Ok(StagedOutputs { counts, files })
}

/// Removes temporary files a killed run left behind (`.NAME.XXXX.tmp`, see
/// `aggregate::write_atomic`); the finished files they were to replace are intact.
fn remove_stale_temporaries(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            tracing::info!(file = %e.path().display(), "removing a temporary file left by an interrupted run");
            let _ = std::fs::remove_file(e.path());
        }
    }
}
