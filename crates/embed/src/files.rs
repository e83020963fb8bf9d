//! A sentence-transformers model folder: what it holds, read and checked
//! before anything is loaded.
//!
//! Every file is parsed here, with an error naming the file and what is
//! wrong with it, so that loading never reaches rust-bert's panicking
//! config readers. The architecture comes from `config.json`'s
//! `model_type`; pooling, dense layers, normalisation, maximum length and
//! vector size from the folder's own sentence-transformers files; the
//! languages the model reads from its model card (README.md front matter),
//! unless the caller states them.

use std::path::{Path, PathBuf};

use rust_bert::pipelines::common::ModelType;
use rust_bert::pipelines::sentence_embeddings::layers::{DenseConfig, PoolingConfig};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::EmbedError;

/// The transformer architectures rust-bert 0.23's sentence-embeddings
/// pipeline runs (XLM-RoBERTa is RoBERTa with its own tokenizer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Bert,
    DistilBert,
    Roberta,
    XlmRoberta,
    Albert,
    T5,
}

impl Arch {
    fn from_model_type(t: &str) -> Option<Self> {
        Some(match t {
            "bert" => Self::Bert,
            "distilbert" => Self::DistilBert,
            "roberta" => Self::Roberta,
            "xlm-roberta" => Self::XlmRoberta,
            "albert" => Self::Albert,
            "t5" => Self::T5,
            _ => return None,
        })
    }

    /// rust-bert's model type for the transformer.
    pub(crate) fn transformer(self) -> ModelType {
        match self {
            Self::Bert => ModelType::Bert,
            Self::DistilBert => ModelType::DistilBert,
            Self::Roberta | Self::XlmRoberta => ModelType::Roberta,
            Self::Albert => ModelType::Albert,
            Self::T5 => ModelType::T5,
        }
    }

    /// rust-bert's model type for the tokenizer.
    pub(crate) fn tokenizer(self) -> ModelType {
        match self {
            Self::XlmRoberta => ModelType::XLMRoberta,
            a => a.transformer(),
        }
    }

    /// The vocabulary files the tokenizer reads: (vocab, merges).
    fn vocab_files(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Bert | Self::DistilBert => ("vocab.txt", None),
            Self::Roberta => ("vocab.json", Some("merges.txt")),
            Self::XlmRoberta => ("sentencepiece.bpe.model", None),
            Self::Albert | Self::T5 => ("spiece.model", None),
        }
    }
}

/// A checked sentence-transformers model folder.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub dir: PathBuf,
    pub arch: Arch,
    /// Sentences are truncated to this many tokens (special tokens included).
    pub max_len: usize,
    /// The vector length (the pooling output, or the last dense layer's).
    pub dim: usize,
    /// The languages the model reads, ISO 639-1 or 639-3 as its card gives
    /// them (`multilingual` is kept as a word); empty when the folder does
    /// not say.
    pub languages: Vec<String>,
    pub(crate) lower_case: bool,
    pub(crate) strip_accents: Option<bool>,
    pub(crate) add_prefix_space: Option<bool>,
    pub(crate) weights: PathBuf,
    pub(crate) vocab: PathBuf,
    pub(crate) merges: Option<PathBuf>,
    pub(crate) pooling: PathBuf,
    /// Dense layers after pooling, in order: (config, weights).
    pub(crate) dense: Vec<(PathBuf, PathBuf)>,
}

#[derive(serde::Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(serde::Deserialize, Default)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
    do_lower_case: Option<bool>,
}

#[derive(serde::Deserialize, Default)]
struct TokenizerConfig {
    do_lower_case: Option<bool>,
    strip_accents: Option<bool>,
    add_prefix_space: Option<bool>,
}

/// What storyline reads of `config.json`.
#[derive(serde::Deserialize)]
struct TransformerConfig {
    model_type: Option<String>,
    hidden_size: Option<usize>,
    /// DistilBERT's name for it.
    dim: Option<usize>,
    /// T5's.
    d_model: Option<usize>,
    max_position_embeddings: Option<usize>,
}

/// Pooling modes rust-bert has no code for.
const UNSUPPORTED_POOLING: &[&str] = &["pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"];

impl ModelFiles {
    /// Reads and checks the folder: every file the model needs is there
    /// and parses, the architecture is one rust-bert runs, and the vector
    /// sizes of the layers agree.
    pub fn open(dir: &Path) -> Result<Self, EmbedError> {
        let err = |reason: String| EmbedError::Model { dir: dir.to_path_buf(), reason };
        if !dir.is_dir() {
            return Err(err(
                "no such folder; run `cargo xtask setup`, or point STORYLINE_MODEL (or embed.model) at a sentence-transformers model folder".into(),
            ));
        }
        let modules: Vec<Module> = read_json(dir, "modules.json")?;
        let config: TransformerConfig = read_json(dir, "config.json")?;
        let model_type = config.model_type.clone().ok_or_else(|| err("config.json has no model_type".into()))?;
        let arch = Arch::from_model_type(&model_type).ok_or_else(|| {
            err(format!(
                "config.json: model_type {model_type:?} is not an architecture rust-bert's sentence embeddings run (bert, distilbert, roberta, xlm-roberta, albert, t5)"
            ))
        })?;
        let kind = |m: &Module| m.kind.rsplit('.').next().unwrap_or_default().to_string();
        match modules.first().map(kind).as_deref() {
            Some("Transformer") => {}
            other => return Err(err(format!("modules.json: the first module must be a Transformer, not {other:?}"))),
        }
        let pooling_module = modules.get(1).filter(|m| kind(m) == "Pooling").ok_or_else(|| err("modules.json: the second module must be a Pooling".into()))?;
        let mut dense = Vec::new();
        for m in &modules[2..] {
            match kind(m).as_str() {
                "Dense" => dense.push((dir.join(&m.path).join("config.json"), weights_in(dir, &m.path).map_err(&err)?)),
                // Vectors are always normalised (crate::normalise).
                "Normalize" => {}
                other => return Err(err(format!("modules.json: module {other:?} ({}) is not one storyline can run (Dense, Normalize)", m.kind))),
            }
        }
        let weights = weights_in(dir, "").map_err(&err)?;
        let (vocab_name, merges_name) = arch.vocab_files();
        let vocab = dir.join(vocab_name);
        let merges = merges_name.map(|m| dir.join(m));
        let mut missing: Vec<String> = std::iter::once(&vocab).chain(&merges).filter(|p| !p.is_file()).map(|p| name_in(dir, p)).collect();
        let pooling = dir.join(&pooling_module.path).join("config.json");
        if !pooling.is_file() {
            missing.push(name_in(dir, &pooling));
        }
        if !missing.is_empty() {
            return Err(err(format!("missing {} (the {model_type} tokenizer and pooling read them; tokenizer.json alone is not enough)", missing.join(", "))));
        }
        let sbert: SentenceBertConfig = read_json_or_default(dir, "sentence_bert_config.json")?;
        let tok: TokenizerConfig = read_json_or_default(dir, "tokenizer_config.json")?;
        let raw_pooling: serde_json::Value = read_json(dir, &name_in(dir, &pooling))?;
        if let Some(mode) = UNSUPPORTED_POOLING.iter().find(|m| raw_pooling.get(**m).and_then(|v| v.as_bool()) == Some(true)) {
            return Err(err(format!("{}: {mode} is not a pooling rust-bert runs (cls, mean, max, mean_sqrt_len)", name_in(dir, &pooling))));
        }
        let pool: PoolingConfig = read_json(dir, &name_in(dir, &pooling))?;
        let modes = [pool.pooling_mode_cls_token, pool.pooling_mode_max_tokens, pool.pooling_mode_mean_tokens, pool.pooling_mode_mean_sqrt_len_tokens];
        let n_modes = modes.iter().filter(|&&m| m).count();
        if n_modes == 0 {
            return Err(err(format!("{}: no pooling mode is set", name_in(dir, &pooling))));
        }
        let hidden = config.hidden_size.or(config.dim).or(config.d_model).ok_or_else(|| err("config.json gives no hidden size".into()))?;
        if pool.word_embedding_dimension as usize != hidden {
            return Err(err(format!(
                "vector sizes disagree: {} says word_embedding_dimension {} but config.json's hidden size is {hidden}",
                name_in(dir, &pooling),
                pool.word_embedding_dimension
            )));
        }
        let mut dim = hidden * n_modes;
        for (cfg, _) in &dense {
            let d: DenseConfig = read_json(dir, &name_in(dir, cfg))?;
            if d.in_features as usize != dim {
                return Err(err(format!("vector sizes disagree: {} takes {} features but the layer before gives {dim}", name_in(dir, cfg), d.in_features)));
            }
            dim = d.out_features as usize;
        }
        let positions = config.max_position_embeddings.unwrap_or(512);
        let max_len = sbert.max_seq_length.unwrap_or(positions).min(if arch == Arch::T5 { usize::MAX } else { positions });
        if max_len == 0 {
            return Err(err("sentence_bert_config.json: max_seq_length is 0".into()));
        }
        let lower_case = tok.do_lower_case.or(sbert.do_lower_case).unwrap_or(false);
        let languages = std::fs::read_to_string(dir.join("README.md")).map(|card| card_languages(&card)).unwrap_or_default();
        Ok(Self {
            dir: dir.to_path_buf(),
            arch,
            max_len,
            dim,
            languages,
            lower_case,
            strip_accents: tok.strip_accents,
            add_prefix_space: tok.add_prefix_space,
            weights,
            vocab,
            merges,
            pooling,
            dense,
        })
    }

    /// The languages the model reads: `names` when given (the
    /// `embed.languages` setting), else its model card's; an error when
    /// neither says.
    pub fn languages_or(&self, names: &[String]) -> Result<crate::Languages, EmbedError> {
        let (names, from) = if names.is_empty() { (&self.languages, "README.md (its model card's `language:`)") } else { (&names.to_vec(), "embed.languages") };
        crate::Languages::from_names(names).map_err(|e| EmbedError::Model {
            dir: self.dir.clone(),
            reason: if names.is_empty() {
                "the folder does not say which languages the model reads (no `language:` in the front matter of README.md): set embed.languages, e.g. [\"en\"]".into()
            } else {
                format!("{from}: {e}")
            },
        })
    }

    /// sha256 of the weights (the transformer's, then each dense layer's),
    /// hex. For a model without dense layers it is the sha256 of its
    /// weights file.
    pub fn checksum(&self) -> Result<String, EmbedError> {
        let mut h = Sha256::new();
        for p in std::iter::once(&self.weights).chain(self.dense.iter().map(|(_, w)| w)) {
            let mut f = std::fs::File::open(p)
                .map_err(|e| EmbedError::Model { dir: self.dir.clone(), reason: format!("cannot read {}: {e}", name_in(&self.dir, p)) })?;
            std::io::copy(&mut f, &mut h)
                .map_err(|e| EmbedError::Model { dir: self.dir.clone(), reason: format!("cannot read {}: {e}", name_in(&self.dir, p)) })?;
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// `model.safetensors` (or rust-bert's `rust_model.ot`) in `root`/`sub`.
fn weights_in(root: &Path, sub: &str) -> Result<PathBuf, String> {
    let dir = root.join(sub);
    ["model.safetensors", "rust_model.ot"].iter().map(|f| dir.join(f)).find(|p| p.is_file()).ok_or_else(|| {
        let bin = if dir.join("pytorch_model.bin").is_file() { " (pytorch_model.bin is not read: convert it to safetensors)" } else { "" };
        format!("missing {}{bin}", name_in(root, &dir.join("model.safetensors")))
    })
}

fn name_in(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

fn read_json<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<T, EmbedError> {
    let err = |reason: String| EmbedError::Model { dir: dir.to_path_buf(), reason };
    let bytes = std::fs::read(dir.join(name)).map_err(|e| err(format!("missing {name} ({e})")))?;
    serde_json::from_slice(&bytes).map_err(|e| err(format!("{name}: {e}")))
}

fn read_json_or_default<T: DeserializeOwned + Default>(dir: &Path, name: &str) -> Result<T, EmbedError> {
    if dir.join(name).is_file() {
        read_json(dir, name)
    } else {
        Ok(T::default())
    }
}

/// The `language:` of a Hugging Face model card's YAML front matter: one
/// value (`language: en`) or a list (`language:` then `- en` lines).
pub(crate) fn card_languages(card: &str) -> Vec<String> {
    let Some(front) = card.strip_prefix("---").and_then(|rest| rest.split("\n---").next()) else { return Vec::new() };
    let mut out = Vec::new();
    let mut in_list = false;
    for line in front.lines() {
        if let Some(v) = line.strip_prefix("language:") {
            let v = v.trim();
            in_list = v.is_empty();
            let v = v.trim_start_matches('[').trim_end_matches(']');
            out.extend(v.split(',').map(|s| s.trim().trim_matches(['"', '\'']).to_ascii_lowercase()).filter(|s| !s.is_empty()));
        } else if in_list {
            match line.trim_start().strip_prefix("- ") {
                Some(v) if line.starts_with(' ') || line.starts_with('-') => out.push(v.trim().trim_matches(['"', '\'']).to_ascii_lowercase()),
                _ => in_list = false,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::card_languages;

    #[test]
    fn model_cards_name_their_languages() {
        assert_eq!(card_languages("---\nlanguage: en\nlicense: apache-2.0\n---\n# x"), ["en"]);
        assert_eq!(card_languages("---\nlicense: x\nlanguage:\n- multilingual\n- ar\n- \"de\"\ntags:\n- a\n---\n"), ["multilingual", "ar", "de"]);
        assert_eq!(card_languages("---\nlanguage: [en, fr]\n---"), ["en", "fr"]);
        assert!(card_languages("# no front matter\nlanguage: en").is_empty());
    }
}
