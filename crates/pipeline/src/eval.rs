//! Scoring a run's events against gold event labels.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use cluster::metrics::{score, Scores};
use ingest::Article;

use crate::PipelineError;

/// Gold event ids by article id.
pub struct Gold {
    pub event_of: HashMap<String, String>,
}

/// Reads `id` and `event` from a JSONL file (the ../shared/datasets schema).
pub fn read_gold(path: &Path) -> Result<Gold, PipelineError> {
    let err = |reason: String| PipelineError::Gold { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut event_of = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| err(format!("line {}: {e}", i + 1)))?;
        let field = |k: &str| match v.get(k) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let (Some(id), Some(event)) = (field("id"), field("event")) else {
            return Err(err(format!("line {}: needs string fields `id` and `event`", i + 1)));
        };
        event_of.insert(id, event);
    }
    if event_of.is_empty() {
        return Err(err("no labelled records".into()));
    }
    Ok(Gold { event_of })
}

/// One evaluation: what was scored with what, and the scores.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRecord {
    pub corpus: String,
    pub settings_hash: String,
    pub git_revision: Option<String>,
    pub overrides: Vec<String>,
    pub scores: Scores,
    /// Gold articles the run did not produce (rejected inputs); scored as singletons.
    pub missing: usize,
    pub seconds: f64,
}

/// Scores `events` (one per article) against `gold`. Gold articles missing
/// from the run count as singleton events, so dropping input never helps.
pub fn score_run(articles: &[Article], events: &[u32], gold: &Gold) -> (Scores, usize) {
    let mut pred: Vec<String> = Vec::new();
    let mut truth: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (a, e) in articles.iter().zip(events) {
        if let Some(g) = gold.event_of.get(&a.id) {
            pred.push(format!("e{e}"));
            truth.push(g);
            seen.insert(a.id.as_str());
        }
    }
    let mut missing: Vec<(&String, &String)> = gold.event_of.iter().filter(|(id, _)| !seen.contains(id.as_str())).collect();
    missing.sort();
    for (id, g) in &missing {
        pred.push(format!("missing:{id}"));
        truth.push(g);
    }
    (score(&pred, &truth), missing.len())
}
