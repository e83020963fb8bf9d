//! Call shapes: the length and the number of rows a sentence is computed in.
//!
//! A sentence's vector must depend on the sentence alone, not on the
//! sentences it happens to share a model call with (the rest of a shard, of
//! an add, of a cache miss). In bf16 it did not: padded to a longer batch
//! mate, a sentence went through products of another shape, and bf16's
//! 8-bit mantissa turned their last-bit differences into vector differences
//! of 1e-3 (measured: emulated bf16 on an AVX2 EPYC, 1.1e-3; native bf16 on
//! a Sapphire Rapids, 1.65e-3).
//!
//! So no sentence is ever padded: a call holds sentences of exactly one
//! token count (its length is the sentence's own), up to `tokens / length`
//! of them ([`Exactness::Exact`]). What is left to vary is the number of
//! rows of a call. Rows never interact in a transformer (each sentence
//! attends to itself), but a kernel may take another path for a small
//! matrix: on an AVX2 EPYC in f32, a single-row call of fewer than 16
//! tokens came out 9e-8 away from the same row in a call of 2 to 32 rows,
//! which all agreed bit for bit (emulated bf16 agreed from one row). So the
//! model measures, when it loads, from how many rows a call's results stop
//! changing on this machine's kernels (`RustBertEmbedder::load_with`), and
//! calls with fewer sentences are filled up to `min_rows` with copies of
//! their first sentence, whose vectors are dropped. Where no small number
//! of rows suffices, calls are [`Exactness::Filled`]: lengths in buckets
//! (rounded up to a multiple of 8 up to 64 tokens, of 16 up to 128, of 32
//! beyond) and every call of a bucket filled to the same number of rows.
//! That costs in f32: on 300 GVA sentences, 115 sentences/s filled against
//! 188 exact (AVX2 EPYC). In native bf16 it does not: on a Sapphire Rapids
//! with AMX (where bf16 calls do depend on their rows), 2,000 ECB+
//! sentences ran at 626-709 sentences/s filled against 585-597 in exact
//! calls of one row up, whose vectors then differed by 7e-4: AMX tiles
//! like whole buckets.
//!
//! The shapes are part of what a vector is, like the model and the
//! precision: the embedding cache keys on [`Shapes::id`].

use serde::{Deserialize, Serialize};

use crate::Precision;

/// How a call's shape is made independent of the other sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exactness {
    /// Calls of one exact token count, as many rows as there are sentences
    /// of it (up to the call's rows); needs kernels whose rows do not
    /// depend on the row count.
    Exact,
    /// Length buckets, every call filled to the bucket's rows.
    Filled,
}

/// How sentences are cut into model calls: `tokens` tokens a call (rows ×
/// length), at most `max_rows` rows, sentences truncated to `max_len` (the
/// model's maximum sequence length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shapes {
    /// Tokens per call: a call of length `L` has up to `tokens / L` rows
    /// (at least one, at most `max_rows`).
    pub tokens: usize,
    /// Rows per call at most.
    pub max_rows: usize,
    /// The model's maximum sequence length (longer sentences are truncated).
    pub max_len: usize,
    /// Exact calls have at least this many rows (filled with copies of
    /// their first sentence); measured when the model loads.
    pub min_rows: usize,
    pub exactness: Exactness,
}

/// Version of the rules in [`Shapes::bucket`] and [`Shapes::calls`]; part
/// of the id, so a change of rule never mixes with vectors computed under
/// the old one.
const RULE: u32 = 2;

impl Shapes {
    /// The default shapes for `precision` (resolved) and a model of
    /// `max_len` tokens, exact. Measured on the 2-core hosts (README,
    /// Benchmarks): f32 keeps the 1,024-token calls of at most 32 rows it
    /// was tuned with; bf16 takes at most 16 rows, which measured 10-13%
    /// ahead of 32 on a Sapphire Rapids with AMX.
    pub fn for_precision(precision: Precision, max_len: usize) -> Self {
        let max_rows = match precision.resolve() {
            Precision::Bf16 => 16,
            _ => 32,
        };
        Self { tokens: 1024, max_rows, max_len, min_rows: 1, exactness: Exactness::Exact }
    }

    /// The length a sentence of `n` tokens (special tokens included) is
    /// computed at: `n` itself when exact; filled, `n` rounded up to a
    /// multiple of 8 up to 64, of 16 up to 128, of 32 beyond, never past
    /// `max_len`.
    pub fn bucket(&self, n: usize) -> usize {
        let max = self.max_len.max(1);
        let n = n.clamp(1, max);
        match self.exactness {
            Exactness::Exact => n,
            Exactness::Filled => {
                let step = match n {
                    0..=64 => 8,
                    65..=128 => 16,
                    _ => 32,
                };
                n.div_ceil(step).saturating_mul(step).min(max)
            }
        }
    }

    /// Rows of a full call of length `len`.
    pub fn rows(&self, len: usize) -> usize {
        (self.tokens / len.max(1)).clamp(1, self.max_rows.max(1))
    }

    /// Names these shapes in cache file names and the manifest.
    pub fn id(&self) -> String {
        let e = match self.exactness {
            Exactness::Exact => "exact",
            Exactness::Filled => "filled",
        };
        match self.exactness {
            Exactness::Exact => format!("s{RULE}-{}x{}-{}-{e}{}", self.tokens, self.max_rows, self.max_len, self.min_rows),
            Exactness::Filled => format!("s{RULE}-{}x{}-{}-{e}", self.tokens, self.max_rows, self.max_len),
        }
    }

    /// Cuts sentences of token counts `lens` into calls: each call is
    /// (length, rows, the indices of its sentences); a filled call may hold
    /// fewer sentences than rows (the model fills the rest). Calls come
    /// longest first, each length's sentences in input order.
    pub fn calls(&self, lens: &[usize]) -> Vec<Call> {
        let mut order: Vec<usize> = (0..lens.len()).collect();
        // Stable: equal lengths keep input order.
        order.sort_by_key(|&i| std::cmp::Reverse(self.bucket(lens[i])));
        let mut out = Vec::new();
        for group in order.chunk_by(|&a, &b| self.bucket(lens[a]) == self.bucket(lens[b])) {
            let len = self.bucket(lens[group[0]]);
            let rows = self.rows(len);
            out.extend(group.chunks(rows).map(|c| Call {
                len,
                rows: match self.exactness {
                    Exactness::Filled => rows,
                    Exactness::Exact => c.len().max(self.min_rows).min(rows),
                },
                sentences: c.to_vec(),
            }));
        }
        out
    }
}

/// One model call: `rows` rows of `len` tokens, the first
/// `sentences.len()` of them real.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub len: usize,
    pub rows: usize,
    pub sentences: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_lengths_are_the_sentences_own_and_buckets_round_up() {
        let exact = Shapes { tokens: 1024, max_rows: 32, max_len: 256, min_rows: 1, exactness: Exactness::Exact };
        assert_eq!([1, 9, 65, 250, 400].map(|n| exact.bucket(n)), [1, 9, 65, 250, 256]);
        let filled = Shapes { exactness: Exactness::Filled, ..exact };
        let b: Vec<usize> = [1, 8, 9, 64, 65, 80, 81, 128, 129, 250, 256, 400].iter().map(|&n| filled.bucket(n)).collect();
        assert_eq!(b, [8, 8, 16, 64, 80, 80, 96, 128, 160, 256, 256, 256]);
        assert_eq!(Shapes { max_len: 100, ..filled }.bucket(99), 100, "never past the model's length");
        assert_eq!((filled.rows(8), filled.rows(32), filled.rows(256)), (32, 32, 4));
        assert_ne!(exact.id(), filled.id());
        assert_ne!(exact.id(), Shapes { tokens: 512, ..exact }.id());
        assert_ne!(exact.id(), Shapes { min_rows: 2, ..exact }.id());
    }

    #[test]
    fn calls_hold_one_length_each() {
        let s = Shapes { tokens: 64, max_rows: 4, max_len: 256, min_rows: 1, exactness: Exactness::Exact };
        let lens = [10, 30, 10, 200, 10, 10, 10, 11];
        let calls = s.calls(&lens);
        let shape = |c: &Call| (c.len, c.rows, c.sentences.clone());
        assert_eq!(calls.iter().map(shape).collect::<Vec<_>>(), [
            (200, 1, vec![3]),
            (30, 1, vec![1]),
            (11, 1, vec![7]),
            (10, 4, vec![0, 2, 4, 5]),
            (10, 1, vec![6]),
        ]);
        // At least two rows: a lone sentence's call is filled; a call of
        // 64-token rows holds one row at most.
        let two = Shapes { min_rows: 2, ..s };
        let rows: Vec<usize> = two.calls(&lens).iter().map(|c| c.rows).collect();
        assert_eq!(rows, [1, 2, 2, 4, 2]);
        let filled = Shapes { exactness: Exactness::Filled, ..s };
        let calls = filled.calls(&lens);
        // Whatever else is in the input, a sentence's call has the same shape.
        for (i, &n) in lens.iter().enumerate() {
            let alone = filled.calls(&[n]);
            let with_others = calls.iter().find(|c| c.sentences.contains(&i)).unwrap();
            assert_eq!((alone[0].len, alone[0].rows), (with_others.len, with_others.rows));
        }
    }
}
