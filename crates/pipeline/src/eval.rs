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

/// Which of a run's groupings a gold file labels: events (ECB+, GVC, GVA)
/// or stories (UCI's Google News stories, broader than one event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Event,
    Story,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Story => "story",
        }
    }

    /// The ids of this level in a clustering, one per article.
    pub fn ids(self, c: &cluster::Clustering) -> &[u32] {
        match self {
            Self::Event => &c.event,
            Self::Story => &c.story,
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "event" => Ok(Self::Event),
            "story" => Ok(Self::Story),
            _ => Err(format!("--level {s}: expected `event` or `story`")),
        }
    }
}

/// One evaluation: what was scored with what, and the scores.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRecord {
    pub corpus: String,
    /// The grouping scored against the gold ids.
    pub level: Level,
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

/// How `eval --batches` cuts a labelled corpus into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchPlan {
    /// One batch per ISO week of the records' dates, in date order; undated
    /// records go with the first batch.
    Week,
    /// This many batches of records in a random (but fixed: by a hash of
    /// each id) order.
    Random(usize),
}

impl std::str::FromStr for BatchPlan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "week" => Ok(Self::Week),
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Self::Random(n)),
                _ => Err(format!("--batches {s}: expected `week` or a number of batches")),
            },
        }
    }
}

/// The lines of the JSONL file at `path`, cut into batches by `plan`
/// (empty batches dropped).
pub fn split_batches(path: &Path, plan: BatchPlan) -> Result<Vec<Vec<String>>, PipelineError> {
    let err = |reason: String| PipelineError::Gold { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut records: Vec<(String, Option<chrono::NaiveDate>, &str)> = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| err(format!("line {}: {e}", i + 1)))?;
        let id = match &v["id"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let date = v["date"].as_str().and_then(|d| chrono::NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok());
        records.push((id, date, line));
    }
    let mut batches: Vec<Vec<String>> = match plan {
        BatchPlan::Week => {
            use chrono::Datelike;
            let mut weeks: std::collections::BTreeMap<Option<(i32, u32)>, Vec<String>> = std::collections::BTreeMap::new();
            for (_, date, line) in &records {
                let week = date.map(|d| (d.iso_week().year(), d.iso_week().week()));
                weeks.entry(week).or_default().push(line.to_string());
            }
            // Undated records join the first week.
            let undated = weeks.remove(&None).unwrap_or_default();
            let mut out: Vec<Vec<String>> = weeks.into_values().collect();
            match out.first_mut() {
                Some(first) => {
                    let dated = std::mem::replace(first, undated);
                    first.extend(dated);
                }
                None => out.push(undated),
            }
            out
        }
        BatchPlan::Random(n) => {
            // FNV-1a of the id: a fixed shuffle, independent of the file order.
            let hash = |s: &str| s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
            let mut order: Vec<usize> = (0..records.len()).collect();
            order.sort_by_key(|&i| (hash(&records[i].0), i));
            let mut out = vec![Vec::new(); n];
            for (k, &i) in order.iter().enumerate() {
                out[k * n / records.len().max(1)].push(records[i].2.to_string());
            }
            out
        }
    };
    batches.retain(|b| !b.is_empty());
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(lines: &[(&str, Option<&str>)]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for (id, date) in lines {
            let line = serde_json::json!({"id": id, "event": "e", "date": date, "text": "x"}).to_string();
            std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()).unwrap();
        }
        f
    }

    #[test]
    fn weekly_batches_follow_the_calendar() {
        let f = corpus(&[("a", Some("2021-01-06")), ("b", Some("2021-01-04")), ("c", None), ("d", Some("2021-01-12")), ("e", Some("2021-01-05"))]);
        let b = split_batches(f.path(), BatchPlan::Week).unwrap();
        let ids: Vec<Vec<String>> =
            b.iter().map(|x| x.iter().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect()).collect();
        assert_eq!(ids, vec![vec!["c", "a", "b", "e"], vec!["d"]], "undated with the first week; weeks in order");
    }

    #[test]
    fn random_batches_are_fixed_and_even() {
        let lines: Vec<(String, Option<&str>)> = (0..25).map(|i| (format!("id{i}"), None)).collect();
        let refs: Vec<(&str, Option<&str>)> = lines.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        let f = corpus(&refs);
        let a = split_batches(f.path(), BatchPlan::Random(10)).unwrap();
        assert_eq!(a.len(), 10);
        assert!(a.iter().all(|b| (2..=3).contains(&b.len())));
        assert_eq!(a, split_batches(f.path(), BatchPlan::Random(10)).unwrap());
        assert_eq!("7".parse::<BatchPlan>(), Ok(BatchPlan::Random(7)));
        assert!("0".parse::<BatchPlan>().is_err());
    }
}
