//! Settings of a run, from a TOML file with `[ingest]`, `[embed]` and
//! `[cluster]` tables; everything has a default (see storyline.toml).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use cluster::{ClusterConfig, ConfigError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// A line in this many distinct articles of one outlet is site furniture.
    pub furniture_min_articles: usize,
    /// SimHash bits that may differ between near-duplicates (at most 3).
    pub duplicate_max_distance: u32,
    /// No input record (a JSONL line, a CSV or WARC record, a .txt or
    /// .html file) is held past this many MB (10^6 bytes): a longer one is
    /// a reject naming it and its size, read past without being held.
    pub max_record_mb: f64,
}

impl Default for IngestSettings {
    fn default() -> Self {
        let d = ingest::IngestOptions::default();
        Self {
            furniture_min_articles: d.furniture_min_articles,
            duplicate_max_distance: d.duplicate_max_distance,
            max_record_mb: d.max_record_bytes as f64 / 1e6,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedSettings {
    /// Rows (sentences) per model call at most; 0: the default of the
    /// precision (32 in f32, 16 in bf16). Part of what a vector is: see
    /// `embed::Shapes`.
    pub batch_size: usize,
    /// Padded tokens per model call (rows × the bucket's length); 0: the
    /// default of the precision (1,024).
    pub batch_tokens: usize,
    /// Weight of the title in the article vector.
    pub title_weight: f32,
    /// Weight of each lead sentence.
    pub lead_weight: f32,
    /// Number of lead sentences.
    pub lead_sentences: usize,
    /// `auto` (bf16 where the CPU does bf16 natively, else f32), `f32` or `bf16`.
    pub precision: embed::Precision,
    /// `fused` (a BERT encoder in fused libtorch operators, for BERT models
    /// such as MiniLM; rust-bert's for others) or `rust-bert` (the
    /// reference). Part of what a vector is: the cache keys on it.
    pub engine: embed::Engine,
    /// A sentence-transformers model folder; empty: `--model`, else
    /// $STORYLINE_MODEL, else the one `cargo xtask setup` installs.
    pub model: String,
    /// The languages the model reads (ISO 639-1 or 639-3 codes, or
    /// "multilingual"); empty: as its model card says.
    pub languages: Vec<String>,
}

impl Default for EmbedSettings {
    fn default() -> Self {
        let w = embed::PoolWeights::default();
        Self {
            batch_size: 0,
            batch_tokens: 0,
            title_weight: w.title,
            lead_weight: w.lead,
            lead_sentences: w.lead_sentences,
            precision: embed::Precision::Auto,
            engine: embed::Engine::Fused,
            model: String::new(),
            languages: Vec::new(),
        }
    }
}

impl EmbedSettings {
    /// The batch shapes for a model of `max_len` tokens computing in
    /// `precision` (resolved): the precision's defaults, but for what is set.
    pub fn shapes(&self, precision: embed::Precision, max_len: usize) -> embed::Shapes {
        let d = embed::Shapes::for_precision(precision, max_len);
        embed::Shapes {
            tokens: if self.batch_tokens == 0 { d.tokens } else { self.batch_tokens },
            max_rows: if self.batch_size == 0 { d.max_rows } else { self.batch_size },
            ..d
        }
    }

    pub fn pool_weights(&self) -> embed::PoolWeights {
        embed::PoolWeights { title: self.title_weight, lead: self.lead_weight, lead_sentences: self.lead_sentences, rest: 1.0 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub ingest: IngestSettings,
    pub embed: EmbedSettings,
    pub cluster: ClusterConfig,
}

impl Settings {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// First 16 hex digits of the sha256 of the canonical TOML form.
    pub fn hash(&self) -> String {
        let h = Sha256::digest(self.to_toml().as_bytes());
        h.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    pub fn ingest_options(&self) -> ingest::IngestOptions {
        ingest::IngestOptions {
            furniture_min_articles: self.ingest.furniture_min_articles,
            duplicate_max_distance: self.ingest.duplicate_max_distance,
            max_record_bytes: (self.ingest.max_record_mb.max(0.0) * 1e6) as u64,
            ..Default::default()
        }
    }

    /// Sets `SECTION.KEY` from text (`KEY` alone means `cluster.KEY`; a
    /// nested table's key is `cluster.pair_model.KEY`), for `--set` and
    /// sweeps. The value is read as the type the setting has.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { key: key.into(), reason };
        let mut path: Vec<&str> = key.split('.').collect();
        if !matches!(path[0], "ingest" | "embed" | "cluster") {
            path.insert(0, "cluster");
        }
        let mut table = toml::Table::try_from(&*self).map_err(|e| invalid(e.to_string()))?;
        let (last, tables) = path.split_last().ok_or_else(|| invalid("empty key".into()))?;
        let mut t = &mut table;
        for name in tables {
            t = t.get_mut(*name).and_then(toml::Value::as_table_mut).ok_or_else(|| invalid("no such setting".into()))?;
        }
        let slot = t.get_mut(*last).filter(|v| !v.is_table()).ok_or_else(|| invalid("no such setting".into()))?;
        *slot = match slot {
            toml::Value::Integer(_) => value.parse::<i64>().map(toml::Value::Integer).map_err(|e| e.to_string()),
            toml::Value::Float(_) => value.parse::<f64>().map(toml::Value::Float).map_err(|e| e.to_string()),
            toml::Value::Boolean(_) => value.parse::<bool>().map(toml::Value::Boolean).map_err(|e| e.to_string()),
            toml::Value::String(_) => Ok(toml::Value::String(value.to_string())),
            _ => Err("unsupported type".to_string()),
        }
        .map_err(invalid)?;
        *self = table.try_into().map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_by_key() {
        let mut s = Settings::default();
        s.set("threshold", "0.6").unwrap();
        s.set("cluster.top_terms", "7").unwrap();
        s.set("embed.precision", "f32").unwrap();
        s.set("ingest.furniture_min_articles", "4").unwrap();
        assert_eq!(s.cluster.threshold, 0.6);
        assert_eq!(s.cluster.top_terms, 7);
        assert_eq!(s.embed.precision, embed::Precision::F32);
        assert_eq!(s.ingest.furniture_min_articles, 4);
        s.set("cluster.pair_model.lexical", "3.5").unwrap();
        s.set("pair_model.dense", "0.5").unwrap();
        assert_eq!((s.cluster.pair_model.lexical, s.cluster.pair_model.dense), (3.5, 0.5));
        s.set("pair_score", "learned").unwrap();
        assert_eq!(s.cluster.pair_score, cluster::PairScore::Learned);
        assert!(s.set("cluster.pair_model", "1").is_err(), "a table is not a setting");
        assert!(s.set("nope", "1").is_err());
        assert!(s.set("threshold", "x").is_err());
        assert!(s.set("embed.precision", "f16").is_err(), "only auto, f32 and bf16");
    }
}
