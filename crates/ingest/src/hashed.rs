//! Hash maps and sets for ingestion's bookkeeping: paragraph hashes, SimHash
//! bands, outlet names, article ids.
//!
//! std's default hasher (SipHash, randomly keyed) resists keys chosen to
//! collide, at some 15-20 ns a key; these maps took a tenth of ingestion's
//! time in hashing alone. Their keys are mostly hashes already (xxh3 of a
//! paragraph) or short strings, and the maps live for one run, so a keyless
//! multiply-fold for integers and xxh3 for bytes serve. Nothing iterates
//! these maps into an output, so their order cannot leak into results.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Folds integers in with a 64x64->128-bit multiply (both halves xored),
/// bytes with seeded xxh3.
#[derive(Default, Clone, Copy)]
pub(crate) struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }

    fn write_u16(&mut self, x: u16) {
        self.write_u64(u64::from(x));
    }

    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    fn write_u64(&mut self, x: u64) {
        // The fractional part of the golden ratio: odd, bits well spread.
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let p = u128::from(self.0 ^ x) * u128::from(K);
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FoldHasher>>;
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FoldHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    /// Small integers (SimHash bands, indices) must not share buckets: the
    /// map uses the low bits for the bucket and the top seven as a tag.
    #[test]
    fn small_keys_spread_over_low_and_high_bits() {
        let build = BuildHasherDefault::<FoldHasher>::default();
        let hashes: Vec<u64> = (0u16..4096).map(|k| build.hash_one(k)).collect();
        let low: FastSet<u64> = hashes.iter().map(|h| h & 0xfff).collect();
        let high: FastSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(low.len() > 2500, "{} distinct low 12 bits", low.len());
        assert_eq!(high.len(), 128);
    }

    #[test]
    fn strings_and_their_prefixes_differ() {
        let build = BuildHasherDefault::<FoldHasher>::default();
        assert_ne!(build.hash_one("ab"), build.hash_one("a"));
        assert_ne!(build.hash_one(("a", "bc")), build.hash_one(("ab", "c")));
    }
}
