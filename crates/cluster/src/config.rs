//! Clustering settings, read from the `[cluster]` table of a TOML file.
//! Every field has a documented default; `storyline.toml` at the workspace
//! root lists them all and a test keeps it in step with this file.

use serde::{Deserialize, Serialize};

use crate::pair_model::PairModel;

/// How a candidate pair of articles is scored for events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairScore {
    /// The hand-set weighted mean of the signals, scaled by time proximity
    /// (`dense_weight` ... `year_mismatch`), with `threshold`.
    Weighted,
    /// The learned pair model's probability (`[cluster.pair_model]`), with
    /// its own threshold. The default.
    #[default]
    Learned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Weight of the cosine of article vectors (transformer embeddings).
    pub dense_weight: f32,
    /// Weight of the TF-IDF cosine (rare words, names, numbers).
    pub lexical_weight: f32,
    /// Weight of the best-matching pair of lead sentences (title included).
    pub sentence_weight: f32,
    /// How many leading sentences (after the title) take part in best matching.
    pub lead_sentences: usize,
    /// How pairs are scored: `weighted` (the keys below) or `learned` (`pair_model`).
    pub pair_score: PairScore,
    /// Two groups of articles merge into one event while the mean similarity
    /// of their cross pairs is at least this.
    pub threshold: f32,
    /// Candidate edges below this similarity are dropped before clustering.
    pub edge_min: f32,
    /// Time decay: similarity is scaled by exp(-days / time_scale_days) ...
    pub time_scale_days: f32,
    /// ... but never below this factor. No penalty when a date is missing.
    pub time_floor: f32,
    /// When a date is missing, similarity is multiplied by this if the years
    /// the two texts are about differ.
    pub year_mismatch: f32,
    /// Articles further apart than this many days are never one event.
    pub max_gap_days: f32,
    /// Per article, how many of its strongest terms propose candidate pairs.
    pub top_terms: usize,
    /// Terms in more than this share of the corpus never propose candidates.
    pub max_term_df_ratio: f32,
    /// Terms (or dense buckets) with longer posting lists never propose candidates.
    pub max_postings: usize,
    /// Dense candidates: LSH bands of `lsh_bits` random hyperplanes each.
    pub lsh_bands: usize,
    pub lsh_bits: usize,
    /// At most this many terms kept per article vector.
    pub max_terms: usize,
    /// Story similarity: weight of the cosine of event centroids (topic) ...
    pub story_dense_weight: f32,
    /// ... and of their TF-IDF centroids (shared names and places).
    pub story_lexical_weight: f32,
    /// Events merge into one story while their mean similarity is at least this.
    pub story_threshold: f32,
    /// Events further apart than this many days are never one story.
    pub story_max_gap_days: f32,
    /// Two events made of headlines only (an RSS feed) join one story at
    /// this similarity instead of `story_threshold`.
    pub headline_story_threshold: f32,
    /// The learned pair model, used when `pair_score = "learned"`.
    pub pair_model: PairModel,
    /// The pair model for articles the embedding model cannot read (their
    /// language is outside its languages, or unknown): fitted with the
    /// dense, lead, title and relative features withheld, so it scores a
    /// pair on its words alone.
    pub pair_model_words: PairModel,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            dense_weight: 0.2,
            lexical_weight: 1.0,
            sentence_weight: 0.3,
            lead_sentences: 5,
            pair_score: PairScore::Learned,
            threshold: 0.28,
            edge_min: 0.2,
            time_scale_days: 45.0,
            time_floor: 0.7,
            year_mismatch: 0.7,
            max_gap_days: 1000.0,
            top_terms: 15,
            max_term_df_ratio: 0.05,
            max_postings: 60,
            lsh_bands: 12,
            lsh_bits: 8,
            max_terms: 300,
            story_dense_weight: 1.0,
            story_lexical_weight: 1.0,
            story_threshold: 0.45,
            story_max_gap_days: 1500.0,
            headline_story_threshold: 0.15,
            pair_model: PairModel::default(),
            pair_model_words: PairModel::words_default(),
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
    /// The similarity is a weighted mean: weights need not sum to one.
    pub fn weight_sum(&self) -> f32 {
        (self.dense_weight + self.lexical_weight + self.sentence_weight).max(f32::EPSILON)
    }

    /// The settings for articles the model cannot read: the words-only
    /// pair model (or, for the weighted score, no dense or sentence
    /// weight), no dense candidates, stories on their words.
    pub fn words_only(&self) -> Self {
        Self {
            pair_model: self.pair_model_words.clone(),
            dense_weight: 0.0,
            sentence_weight: 0.0,
            lsh_bands: 0,
            story_dense_weight: 0.0,
            ..self.clone()
        }
    }

    /// The event threshold of the pair score in use.
    pub fn event_threshold(&self) -> f32 {
        match self.pair_score {
            PairScore::Weighted => self.threshold,
            PairScore::Learned => self.pair_model.threshold,
        }
    }
}
