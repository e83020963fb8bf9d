//! Article vectors from sentence vectors.
//!
//! News is written as an inverted pyramid: the headline and the lead say
//! what happened, where and when; later paragraphs add background, reactions
//! and history that different events of one story share ("the coalition was
//! formed in 2014 ..."). Weighting the title and the lead above the rest
//! keeps an article's vector near the event it reports, instead of near the
//! background it has in common with its neighbours.

use crate::normalise;

/// Weights of the parts of an article in its vector.
#[derive(Debug, Clone, Copy)]
pub struct PoolWeights {
    pub title: f32,
    /// Weight of each of the first `lead_sentences` sentences.
    pub lead: f32,
    pub lead_sentences: usize,
    pub rest: f32,
}

impl Default for PoolWeights {
    fn default() -> Self {
        Self { title: 2.0, lead: 1.5, lead_sentences: 3, rest: 1.0 }
    }
}

/// Weighted mean of the title and sentence vectors, L2-normalised. Empty
/// input gives an empty vector.
pub fn article_vector(title: Option<&[f32]>, sentences: &[&[f32]], w: PoolWeights) -> Vec<f32> {
    let dim = title.map(<[f32]>::len).or_else(|| sentences.first().map(|s| s.len())).unwrap_or(0);
    let mut acc = vec![0.0f32; dim];
    let mut add = |v: &[f32], weight: f32| {
        for (a, x) in acc.iter_mut().zip(v) {
            *a += weight * x;
        }
    };
    if let Some(t) = title {
        add(t, w.title);
    }
    for (i, s) in sentences.iter().enumerate() {
        add(s, if i < w.lead_sentences { w.lead } else { w.rest });
    }
    normalise(&mut acc);
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_and_lead_weigh_more() {
        let t = [1.0, 0.0];
        let s1 = [1.0, 0.0];
        let s2 = [0.0, 1.0];
        let w = PoolWeights { title: 2.0, lead: 1.0, lead_sentences: 1, rest: 1.0 };
        let v = article_vector(Some(&t), &[&s1, &s2], w);
        assert!(v[0] > v[1]);
        assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(article_vector(None, &[], w).is_empty());
    }
}
