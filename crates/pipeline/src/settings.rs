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
}

impl Default for IngestSettings {
    fn default() -> Self {
        let d = ingest::IngestOptions::default();
        Self { furniture_min_articles: d.furniture_min_articles, duplicate_max_distance: d.duplicate_max_distance }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedSettings {
    /// Sentences per model call (after sorting by token length).
    pub batch_size: usize,
    /// Padded tokens per model call at most (0: no cap). Batches of long
    /// sentences get fewer of them, so no call pads 32 sentences to 256
    /// tokens and the workers' shares stay even.
    pub batch_tokens: usize,
    /// Weight of the title in the article vector.
    pub title_weight: f32,
    /// Weight of each lead sentence.
    pub lead_weight: f32,
    /// Number of lead sentences.
    pub lead_sentences: usize,
}

impl Default for EmbedSettings {
    fn default() -> Self {
        let w = embed::PoolWeights::default();
        Self { batch_size: 32, batch_tokens: 1024, title_weight: w.title, lead_weight: w.lead, lead_sentences: w.lead_sentences }
    }
}

impl EmbedSettings {
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
            ..Default::default()
        }
    }

    /// Sets `cluster.KEY` (or `KEY` for short) from text, for sweeps.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let key = key.strip_prefix("cluster.").unwrap_or(key);
        self.cluster.set(key, value)
    }
}
