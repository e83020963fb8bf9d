//! Dense candidate pairs by random-hyperplane LSH: vectors whose signs agree
//! on all `bits` hyperplanes of a band share a bucket. Buckets larger than a
//! cap are skipped (dense, generic regions), so the cost stays near-linear.

use std::collections::HashMap;

use rayon::prelude::*;

/// A fixed pseudo-random generator, so the hyperplanes (and the output) are
/// the same on every run.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Pairs (i < j) sharing a bucket in at least one band; sorted, unique.
pub fn dense_candidates(vectors: &[&[f32]], bands: usize, bits: usize, max_bucket: usize) -> Vec<(usize, usize)> {
    let dim = vectors.iter().map(|v| v.len()).max().unwrap_or(0);
    if dim == 0 || bands == 0 || bits == 0 {
        return Vec::new();
    }
    let bits = bits.min(32);
    let mut state = 0x5EED_u64;
    let planes: Vec<Vec<f32>> = (0..bands * bits)
        .map(|_| (0..dim).map(|_| (splitmix(&mut state) >> 40) as f32 / (1u64 << 24) as f32 - 0.5).collect())
        .collect();
    let signatures: Vec<Vec<u32>> = vectors
        .par_iter()
        .map(|v| {
            (0..bands)
                .map(|b| {
                    let mut sig = 0u32;
                    for k in 0..bits {
                        let p = &planes[b * bits + k];
                        let dot = crate::dot(v, p);
                        if dot > 0.0 {
                            sig |= 1 << k;
                        }
                    }
                    sig
                })
                .collect()
        })
        .collect();
    let mut pairs: Vec<(usize, usize)> = (0..bands)
        .into_par_iter()
        .flat_map_iter(|b| {
            let mut buckets: HashMap<u32, Vec<usize>> = HashMap::new();
            for (i, s) in signatures.iter().enumerate() {
                if !vectors[i].is_empty() {
                    buckets.entry(s[b]).or_default().push(i);
                }
            }
            let mut out = Vec::new();
            for members in buckets.into_values().filter(|m| m.len() >= 2 && m.len() <= max_bucket) {
                for (k, &a) in members.iter().enumerate() {
                    for &c in &members[k + 1..] {
                        out.push((a, c));
                    }
                }
            }
            out
        })
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    pairs
}

/// Sorted union of two sorted, unique pair lists.
pub fn union(a: Vec<(usize, usize)>, b: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x < y => {
                i += 1;
                *x
            }
            (Some(x), Some(y)) if x > y => {
                j += 1;
                *y
            }
            (Some(x), Some(_)) => {
                i += 1;
                j += 1;
                *x
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, Some(y)) => {
                j += 1;
                *y
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_vectors_collide_far_ones_rarely() {
        let a = [1.0, 0.0, 0.0, 0.0];
        let b = [0.99, 0.1, 0.0, 0.0];
        let c = [0.0, 0.0, 1.0, 0.0];
        let v: Vec<&[f32]> = vec![&a, &b, &c];
        let p = dense_candidates(&v, 12, 8, 10);
        assert!(p.contains(&(0, 1)));
        assert!(!p.contains(&(0, 2)));
        assert_eq!(union(vec![(0, 1), (2, 3)], vec![(0, 1), (1, 2)]), vec![(0, 1), (1, 2), (2, 3)]);
    }
}
