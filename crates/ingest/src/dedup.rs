//! Near-duplicate detection with 64-bit SimHash over word trigrams, with
//! LSH banding so candidate lookup stays near-linear in the corpus size.

use rayon::prelude::*;

use crate::text::{lowercase_words, pieces};
use crate::Article;

/// SimHash of a text over lowercase word 3-shingles: each word is hashed
/// once (xxh3 of its lowercase) and a shingle's hash combines its three word
/// hashes, so no string is built per word or shingle.
pub fn simhash(text: &str) -> u64 {
    let mut key = Vec::new();
    lowercase_words(text, &mut key);
    simhash_of_words(key_words(&key))
}

/// The words of a paragraph key (lowercase words, one space between them).
pub(crate) fn key_words(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    pieces(key, b' ')
}

/// [`simhash`] of the text whose lowercase words these are, in order.
pub(crate) fn simhash_of_words<'a>(words: impl Iterator<Item = &'a [u8]>) -> u64 {
    let mut acc = BitCounts::default();
    let mut window = [0u64; 3];
    let mut n = 0usize;
    for w in words {
        window = [window[1], window[2], xxhash_rust::xxh3::xxh3_64(w)];
        n += 1;
        if n >= 3 {
            // Mix so that shingles with the same words in another order differ.
            acc.add(xxh3_of_three(window));
        }
    }
    if n < 3 {
        // Fewer than three words: the words themselves are the features.
        for &h in &window[3 - n..] {
            acc.add(h);
        }
    }
    acc.majority()
}

/// `xxh3_64` of the 24 bytes of three words (little endian), written out
/// for that one length: what the shingle hash always was, without building
/// the bytes or dispatching on the length (a unit test compares it with
/// `xxh3_64`). xxh3 for 17 to 32 bytes mixes the first and the last 16 bytes,
/// each folded with 16 bytes of the default secret, and avalanches the sum.
fn xxh3_of_three(w: [u64; 3]) -> u64 {
    const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
    // The default secret's first 32 bytes as little-endian words.
    const SECRET: [u64; 4] = [0xbe4b_a423_396c_feb8, 0x1cad_21f7_2c81_017c, 0xdb97_9083_e96d_d4de, 0x1f67_b3b7_a4a4_4072];
    fn fold(a: u64, b: u64) -> u64 {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    }
    let mut h = 24u64
        .wrapping_mul(PRIME64_1)
        .wrapping_add(fold(w[0] ^ SECRET[0], w[1] ^ SECRET[1]))
        .wrapping_add(fold(w[1] ^ SECRET[2], w[2] ^ SECRET[3]));
    h ^= h >> 37;
    h = h.wrapping_mul(0x1656_6791_9E37_79F9);
    h ^ (h >> 32)
}

/// Per-bit counts of the hashes added: each hash's bits are spread into
/// byte lanes by a table (8 lookups and adds per hash instead of 64), the
/// lanes are emptied into totals before they can overflow.
struct BitCounts {
    lanes: [u64; 8],
    pending: u32,
    ones: [u32; 64],
    added: u32,
}

impl Default for BitCounts {
    fn default() -> Self {
        Self { lanes: [0; 8], pending: 0, ones: [0; 64], added: 0 }
    }
}

/// Byte `b` spread into eight lanes: bit `i` of `b` becomes byte `i` (0 or 1).
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut i = 0;
        while i < 8 {
            if b >> i & 1 == 1 {
                t[b] |= 1 << (8 * i);
            }
            i += 1;
        }
        b += 1;
    }
    t
};

impl BitCounts {
    #[inline(always)]
    fn add(&mut self, h: u64) {
        for (k, lane) in self.lanes.iter_mut().enumerate() {
            *lane += SPREAD[(h >> (8 * k)) as usize & 0xff];
        }
        self.added += 1;
        self.pending += 1;
        if self.pending == 255 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        for (k, lane) in self.lanes.iter_mut().enumerate() {
            for (i, byte) in lane.to_le_bytes().iter().enumerate() {
                self.ones[8 * k + i] += u32::from(*byte);
            }
            *lane = 0;
        }
        self.pending = 0;
    }

    /// Bit `b` is set when more hashes had it set than clear.
    fn majority(mut self) -> u64 {
        self.flush();
        self.ones.iter().enumerate().fold(0u64, |h, (b, &ones)| if 2 * ones > self.added { h | 1 << b } else { h })
    }
}

/// Articles shorter than `min_words` words are never marked.
pub(crate) fn long_enough(article: &Article, min_words: usize) -> bool {
    min_words == 0 || article.text.split_whitespace().nth(min_words - 1).is_some()
}

/// The SimHash an article is compared by for near-duplicates, if it can be
/// one: its text's, when the text has `min_words`; for a page that is its
/// headline only, its title's (what is left of a paywall stub or a page of
/// chrome: two such pages are copies only when their titles agree).
pub(crate) fn comparable_simhash(article: &Article, text_simhash: u64, min_words: usize) -> Option<u64> {
    if article.content == crate::Content::TitleOnly {
        let title = article.title.as_deref().unwrap_or(&article.text);
        return (min_words == 0 || title.split_whitespace().nth(min_words - 1).is_some()).then(|| simhash(title));
    }
    long_enough(article, min_words).then_some(text_simhash)
}

/// For each article, the id of the earliest article it nearly duplicates.
pub struct NearDuplicates {
    pub duplicate_of: Vec<Option<String>>,
}

impl NearDuplicates {
    /// Two articles are near-duplicates when their SimHashes differ in at most
    /// `max_distance` bits (at most 3: the 4 bands of 16 bits then guarantee a
    /// shared band). Deterministic: the earliest article in input order wins.
    pub fn find(articles: &[Article], max_distance: u32, min_words: usize) -> Self {
        // Hashing is the costly part and independent per article: in parallel
        // (order kept); the banded lookup below stays sequential.
        let hashes: Vec<Option<u64>> =
            articles.par_iter().map(|a| comparable_simhash(a, simhash(&a.text), min_words)).collect();
        let ids: Vec<&str> = articles.iter().map(|a| a.id.as_str()).collect();
        Self::from_hashes(&ids, &hashes, max_distance)
    }

    /// `hashes`: the SimHash of each article that may be marked, `ids` the
    /// articles' ids, in corpus order.
    ///
    /// The four bands are bucket tables indexed by the 16-bit band value
    /// (a chain through the articles per bucket), so looking up and adding an
    /// article hashes nothing and allocates nothing.
    pub(crate) fn from_hashes(ids: &[&str], hashes: &[Option<u64>], max_distance: u32) -> Self {
        const NONE: u32 = u32::MAX;
        const BANDS: usize = 4;
        let max_distance = max_distance.min(3);
        // head[band << 16 | value]: the latest article added to that bucket;
        // next[band * n + article]: the one added before it.
        let n = ids.len();
        let mut head = vec![NONE; BANDS << 16];
        let mut next = vec![NONE; BANDS * n];
        let bucket = |h: u64, b: usize| b << 16 | usize::from((h >> (16 * b)) as u16);
        let mut duplicate_of = vec![None; n];
        for (i, h) in hashes.iter().enumerate() {
            let Some(h) = *h else { continue };
            let mut best: Option<usize> = None;
            for b in 0..BANDS {
                let mut j = head[bucket(h, b)];
                while j != NONE {
                    let cand = j as usize;
                    let hj = hashes[cand].unwrap_or_default();
                    if (h ^ hj).count_ones() <= max_distance && best.is_none_or(|x| cand < x) {
                        best = Some(cand);
                    }
                    j = next[b * n + cand];
                }
            }
            if let Some(j) = best {
                // Point at the original, not at another duplicate.
                let root = duplicate_of[j].clone().unwrap_or_else(|| ids[j].to_string());
                duplicate_of[i] = Some(root);
            } else {
                // Fits: four billion articles would not fit in memory.
                let i32 = u32::try_from(i).unwrap_or(NONE);
                for b in 0..BANDS {
                    let slot = bucket(h, b);
                    next[b * n + i] = head[slot];
                    head[slot] = i32;
                }
            }
        }
        Self { duplicate_of }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_texts_have_close_hashes() {
        let a = "Five people were injured in a shooting in Elgin early this morning, authorities said. The shooting happened about 3:10 a.m. in the 300 block of North Street.";
        let b = "Five people were injured in a shooting in Elgin early this morning, authorities said. The shooting happened about 3:10 a.m. in the 300 block of North St.";
        let c = "The Iraqi government confirmed on Wednesday its commitment to implement the decision of the parliament.";
        assert!((simhash(a) ^ simhash(b)).count_ones() <= 8);
        assert!((simhash(a) ^ simhash(c)).count_ones() > 16);
    }
}

#[cfg(test)]
mod shingle_hash {
    use super::xxh3_of_three;

    #[test]
    fn is_xxh3_of_the_24_bytes() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..10_000 {
            let mut w = [0u64; 3];
            for v in &mut w {
                // xorshift: varied words, edge values below.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = x;
            }
            let mut bytes = [0u8; 24];
            for (chunk, h) in bytes.chunks_exact_mut(8).zip(w) {
                chunk.copy_from_slice(&h.to_le_bytes());
            }
            assert_eq!(xxh3_of_three(w), xxhash_rust::xxh3::xxh3_64(&bytes), "{w:?}");
        }
        for w in [[0, 0, 0], [u64::MAX; 3], [1, 2, 3]] {
            let bytes: Vec<u8> = w.iter().flat_map(|h| h.to_le_bytes()).collect();
            assert_eq!(xxh3_of_three(w), xxhash_rust::xxh3::xxh3_64(&bytes), "{w:?}");
        }
    }
}

#[cfg(test)]
mod from_keys {
    use super::*;

    /// The SimHash ingestion computes from the kept lines' keys is the
    /// SimHash of the article's text.
    #[test]
    fn keys_give_the_simhash_of_the_text() {
        for page in [
            "Élgin, Ill. (AP) — Five people were hurt.\n\nShare this:\n“It ended,” he said.\n---\nThe rest 3:10 a.m.",
            "one\ntwo",
            "",
            "İstanbul ſtreet\n\n\nKELVIN 5\u{212A}",
        ] {
            let c = crate::clean_lines(page);
            let from_keys = simhash_of_words(c.keys.iter().flat_map(|k| key_words(k.words(&c.key_text))));
            assert_eq!(from_keys, simhash(&c.lines.join("\n")), "{page:?}");
        }
    }
}

#[cfg(test)]
mod stability {
    use super::simhash;

    /// SimHash values must not drift between versions: near-duplicate marks
    /// in earlier outputs were made with them. (Values of the first
    /// implementation, which hashed through a String per word.)
    #[test]
    fn simhash_values_are_stable() {
        assert_eq!(simhash("Police said the Shooting happened at 3:10 a.m. in Élgin, Ill."), PINNED[0]);
        assert_eq!(simhash("two words"), PINNED[1]);
    }

    const PINNED: [u64; 2] = [1_613_477_875_827_637_878, 288_231_116_012_257_672];
}
