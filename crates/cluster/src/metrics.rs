//! Clustering scores against gold labels: BCubed and pairwise precision /
//! recall / F1, and the adjusted Rand index.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn new(precision: f64, recall: f64) -> Self {
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        Self { precision, recall, f1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub bcubed: Prf,
    pub pairwise: Prf,
    pub ari: f64,
    pub items: usize,
    pub predicted_clusters: usize,
    pub gold_clusters: usize,
}

/// Contingency counts: (pred, gold) -> n, and the two marginals.
type Contingency<P, G> = (HashMap<(P, G), u64>, HashMap<P, u64>, HashMap<G, u64>);

fn contingency<P: Hash + Eq + Clone, G: Hash + Eq + Clone>(pred: &[P], gold: &[G]) -> Contingency<P, G> {
    assert_eq!(pred.len(), gold.len(), "one predicted and one gold label per item");
    let mut cell = HashMap::new();
    let mut p = HashMap::new();
    let mut g = HashMap::new();
    for (a, b) in pred.iter().zip(gold) {
        *cell.entry((a.clone(), b.clone())).or_insert(0) += 1;
        *p.entry(a.clone()).or_insert(0) += 1;
        *g.entry(b.clone()).or_insert(0) += 1;
    }
    (cell, p, g)
}

fn pairs(n: u64) -> f64 {
    (n * n.saturating_sub(1) / 2) as f64
}

/// All scores at once. Empty input scores 1.0 everywhere but ARI 1.0 too.
pub fn score<P: Hash + Eq + Clone, G: Hash + Eq + Clone>(pred: &[P], gold: &[G]) -> Scores {
    let (cell, p, g) = contingency(pred, gold);
    let n = pred.len() as f64;
    // BCubed: for each item, precision = |C(i) ∩ G(i)| / |C(i)|; averaged.
    let (mut bp, mut br) = (0.0, 0.0);
    for ((a, b), &c) in &cell {
        let c = c as f64;
        bp += c * c / p[a] as f64;
        br += c * c / g[b] as f64;
    }
    let bcubed = if n > 0.0 { Prf::new(bp / n, br / n) } else { Prf::new(1.0, 1.0) };
    // Pairwise over same-cluster pairs.
    let same_both: f64 = cell.values().map(|&c| pairs(c)).sum();
    let same_pred: f64 = p.values().map(|&c| pairs(c)).sum();
    let same_gold: f64 = g.values().map(|&c| pairs(c)).sum();
    let pp = if same_pred > 0.0 { same_both / same_pred } else { 1.0 };
    let pr = if same_gold > 0.0 { same_both / same_gold } else { 1.0 };
    let pairwise = Prf::new(pp, pr);
    // ARI (Hubert & Arabie).
    let total = pairs(pred.len() as u64);
    let ari = if total == 0.0 {
        1.0
    } else {
        let expected = same_pred * same_gold / total;
        let max = 0.5 * (same_pred + same_gold);
        if (max - expected).abs() < f64::EPSILON { 1.0 } else { (same_both - expected) / (max - expected) }
    };
    Scores { bcubed, pairwise, ari, items: pred.len(), predicted_clusters: p.len(), gold_clusters: g.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn perfect() {
        let s = score(&[1, 1, 2, 3], &["a", "a", "b", "c"]);
        assert!(close(s.bcubed.f1, 1.0) && close(s.pairwise.f1, 1.0) && close(s.ari, 1.0));
    }

    #[test]
    fn all_singletons() {
        // gold: {0,1,2} {3}; pred all singletons.
        let s = score(&[0, 1, 2, 3], &["a", "a", "a", "b"]);
        assert!(close(s.bcubed.precision, 1.0));
        // recall: items 0-2 each 1/3, item 3 1 -> (1/3*3 + 1)/4 = 0.5
        assert!(close(s.bcubed.recall, 0.5));
        assert!(close(s.pairwise.recall, 0.0));
        assert!(close(s.pairwise.precision, 1.0)); // no predicted pairs: vacuous
        assert!(close(s.ari, 0.0));
    }

    #[test]
    fn one_big_cluster() {
        let s = score(&[0, 0, 0, 0], &["a", "a", "a", "b"]);
        assert!(close(s.bcubed.recall, 1.0));
        // precision: items a: 3/4 each, item b: 1/4 -> (9/4 + 1/4)/4 = 0.625
        assert!(close(s.bcubed.precision, 0.625));
        assert!(close(s.pairwise.precision, 3.0 / 6.0));
        assert!(close(s.ari, 0.0));
    }

    #[test]
    fn textbook_example() {
        // Amigó et al. style: gold {0,1,2,3,4} {5,6}; pred {0,1,2} {3,4,5,6}.
        let gold = ["x", "x", "x", "x", "x", "y", "y"];
        let pred = [0, 0, 0, 1, 1, 1, 1];
        let s = score(&pred, &gold);
        // precision: items 0-2: 1; items 3,4: 2/4; items 5,6: 2/4 -> (3 + 4*0.5)/7
        assert!(close(s.bcubed.precision, 5.0 / 7.0));
        // recall: items 0-2: 3/5; 3,4: 2/5; 5,6: 1 -> (1.8 + 0.8 + 2)/7
        assert!(close(s.bcubed.recall, 4.6 / 7.0));
        // pairs: same_both = C(3,2)+C(2,2)+C(2,2)=5; same_pred = 3+6=9; same_gold = 10+1=11
        assert!(close(s.pairwise.precision, 5.0 / 9.0));
        assert!(close(s.pairwise.recall, 5.0 / 11.0));
        // ARI: total 21, expected 9*11/21, max 10
        let e = 99.0 / 21.0;
        assert!(close(s.ari, (5.0 - e) / (10.0 - e)));
    }
}
