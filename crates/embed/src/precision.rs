//! The number format the model computes in: f32, or bfloat16 where the CPU
//! does bfloat16 arithmetic natively.

use serde::{Deserialize, Serialize};

/// `embed.precision`: what the model's weights and activations are held in.
///
/// bf16 halves the memory traffic of every matrix product and, on a CPU with
/// bf16 dot-product instructions (x86 AVX512-BF16 or AMX-BF16, aarch64 BF16),
/// runs them at about twice the f32 rate through libtorch's oneDNN kernels.
/// On other CPUs libtorch emulates bf16 with f32 arithmetic plus conversions,
/// which is slower than f32, so `Auto` picks bf16 only where it is native.
/// Vectors differ from f32 ones by a cosine of about 1e-4 (the reference test
/// holds bf16 to ≥ 0.999 and f32 to ≥ 0.9999 against Python).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// bf16 where the CPU does bf16 natively, f32 elsewhere.
    #[default]
    Auto,
    F32,
    Bf16,
}

impl Precision {
    /// `Auto` decided for this CPU; `F32` and `Bf16` as they are.
    pub fn resolve(self) -> Self {
        match self {
            Self::Auto if native_bf16() => Self::Bf16,
            Self::Auto => Self::F32,
            p => p,
        }
    }

    /// The name used in settings, the manifest and cache file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
        }
    }

    /// The libtorch kind the model is converted to (`None`: as stored, f32).
    pub(crate) fn kind(self) -> Option<tch::Kind> {
        match self.resolve() {
            Self::Bf16 => Some(tch::Kind::BFloat16),
            _ => None,
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "f32" | "fp32" | "float32" => Ok(Self::F32),
            "bf16" | "bfloat16" => Ok(Self::Bf16),
            other => Err(format!("unknown precision {other:?}: expected auto, f32 or bf16")),
        }
    }
}

/// Whether this CPU has bf16 dot-product instructions that libtorch's CPU
/// kernels (oneDNN) use: AVX512-BF16 or AMX-BF16 on x86-64, BF16 on aarch64.
pub fn native_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16") || cpu_flag("amx_bf16")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("bf16")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// A flag of /proc/cpuinfo (Linux; false elsewhere). AMX's flags are read
/// there because the standard library cannot detect them on stable Rust.
#[cfg(target_arch = "x86_64")]
fn cpu_flag(flag: &str) -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| info.lines().find(|l| l.starts_with("flags")).map(|l| l.split_whitespace().any(|f| f == flag)))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves() {
        assert_eq!("BF16".parse::<Precision>(), Ok(Precision::Bf16));
        assert_eq!("f32".parse::<Precision>(), Ok(Precision::F32));
        assert!("f16".parse::<Precision>().is_err());
        assert_eq!(Precision::F32.resolve(), Precision::F32);
        assert_eq!(Precision::Bf16.resolve(), Precision::Bf16);
        let auto = Precision::Auto.resolve();
        assert_eq!(auto == Precision::Bf16, native_bf16(), "auto means bf16 exactly where it is native");
        assert_ne!(auto, Precision::Auto);
    }
}
