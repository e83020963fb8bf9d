//! `embed.engine`: which encoder computes the transformer's hidden states.

use serde::{Deserialize, Serialize};

/// The encoder a model runs on. Both read the same files, tokenize with
/// rust-bert's tokenizers and pool with rust-bert's pooling; they differ in
/// the operators of the transformer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// [`crate::fused`]'s BERT encoder for BERT models with GELU (MiniLM);
    /// rust-bert's for every other model.
    #[default]
    Fused,
    /// rust-bert's encoders: the reference.
    RustBert,
}

impl Engine {
    /// The engine that computed vectors of these numerics
    /// ([`crate::Embedder::numerics`]: `bf16-fused-s2-…`; runs made before
    /// there were two engines name none, and were rust-bert's).
    pub fn of_numerics(numerics: &str) -> Self {
        if numerics.split('-').nth(1) == Some("fused") {
            Self::Fused
        } else {
            Self::RustBert
        }
    }

    /// The name used in settings and the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fused => "fused",
            Self::RustBert => "rust-bert",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fused" => Ok(Self::Fused),
            "rust-bert" | "rust_bert" | "rustbert" => Ok(Self::RustBert),
            other => Err(format!("unknown engine {other:?}: expected fused or rust-bert")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!("Fused".parse::<Engine>(), Ok(Engine::Fused));
        assert_eq!("rust-bert".parse::<Engine>(), Ok(Engine::RustBert));
        assert!("onnx".parse::<Engine>().is_err());
        assert_eq!(Engine::default(), Engine::Fused);
        assert_eq!(Engine::of_numerics("bf16-fused-s2-1024x16-256-filled"), Engine::Fused);
        assert_eq!(Engine::of_numerics("f32-s2-1024x32-256-8"), Engine::RustBert);
    }
}
