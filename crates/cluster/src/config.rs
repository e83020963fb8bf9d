//! Clustering settings, read from the `[cluster]` table of a TOML file.
//! Every field has a documented default; `storyline.toml` at the workspace
//! root lists them all and a test keeps it in step with this file.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Weight of the cosine of article vectors (transformer embeddings).
    pub dense_weight: f32,
    /// Weight of the TF-IDF cosine (rare words, names, numbers).
    pub lexical_weight: f32,
    /// Two groups of articles merge into one event while the mean similarity
    /// of their cross pairs is at least this.
    pub threshold: f32,
    /// Candidate edges below this similarity are dropped before clustering.
    pub edge_min: f32,
    /// Time decay: similarity is scaled by exp(-days / time_scale_days) ...
    pub time_scale_days: f32,
    /// ... but never below this factor. No penalty when a date is missing.
    pub time_floor: f32,
    /// Articles further apart than this many days are never one event.
    pub max_gap_days: f32,
    /// Per article, how many of its strongest terms propose candidate pairs.
    pub top_terms: usize,
    /// Terms in more than this share of the corpus never propose candidates.
    pub max_term_df_ratio: f32,
    /// Terms (or dense buckets) with longer posting lists never propose candidates.
    pub max_postings: usize,
    /// At most this many terms kept per article vector.
    pub max_terms: usize,
    /// Events merge into one story while their mean similarity is at least this.
    pub story_threshold: f32,
    /// Events further apart than this many days are never one story.
    pub story_max_gap_days: f32,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            dense_weight: 0.5,
            lexical_weight: 0.5,
            threshold: 0.45,
            edge_min: 0.2,
            time_scale_days: 14.0,
            time_floor: 0.3,
            max_gap_days: 60.0,
            top_terms: 15,
            max_term_df_ratio: 0.05,
            max_postings: 60,
            max_terms: 300,
            story_threshold: 0.35,
            story_max_gap_days: 1500.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {source}")]
    Read { path: std::path::PathBuf, source: std::io::Error },
    #[error("settings file {path}: {source}")]
    Parse { path: std::path::PathBuf, source: toml::de::Error },
    #[error("setting {key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl ClusterConfig {
    /// Sets one field from `key=value` text (used by parameter sweeps).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let mut table = toml::Table::try_from(&*self).map_err(|e| ConfigError::Invalid { key: key.into(), reason: e.to_string() })?;
        let old = table.get(key).ok_or_else(|| ConfigError::Invalid { key: key.into(), reason: "no such setting".into() })?;
        let new = match old {
            toml::Value::Integer(_) => value.parse::<i64>().map(toml::Value::Integer).map_err(|e| e.to_string()),
            toml::Value::Float(_) => value.parse::<f64>().map(toml::Value::Float).map_err(|e| e.to_string()),
            _ => Err("unsupported type".to_string()),
        }
        .map_err(|reason| ConfigError::Invalid { key: key.into(), reason })?;
        table.insert(key.to_string(), new);
        *self = table.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid { key: key.into(), reason: e.to_string() })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_by_key() {
        let mut c = ClusterConfig::default();
        c.set("threshold", "0.6").unwrap();
        c.set("top_terms", "7").unwrap();
        assert_eq!(c.threshold, 0.6);
        assert_eq!(c.top_terms, 7);
        assert!(c.set("nope", "1").is_err());
        assert!(c.set("threshold", "x").is_err());
    }
}
