//! Average-link agglomerative clustering over a sparse similarity graph:
//! missing edges count as similarity 0, so the cost follows the number of
//! candidate edges, not n².

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

#[derive(PartialEq)]
struct Entry {
    avg: f32,
    a: usize,
    b: usize,
}
impl Eq for Entry {}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        // Highest average first; ties broken by smallest ids, deterministically.
        self.avg.total_cmp(&o.avg).then_with(|| o.a.cmp(&self.a)).then_with(|| o.b.cmp(&self.b))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Clusters `n` items. `edges` are (i, j, similarity); `forced` pairs are
/// merged before anything else. Clusters merge while the mean similarity
/// over all their cross pairs is at least `threshold`. Returns a label per
/// item, numbered by first appearance, and the number of clusters.
pub fn average_link(n: usize, edges: &[(usize, usize, f32)], forced: &[(usize, usize)], threshold: f32) -> (Vec<u32>, usize) {
    let mut parent: Vec<usize> = (0..n).collect();
    for &(a, b) in forced {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let mut size = vec![0usize; n];
    for &r in &roots {
        size[r] += 1;
    }
    let mut adj: Vec<HashMap<usize, f32>> = vec![HashMap::new(); n];
    // Sum in a fixed order so totals do not depend on edge order.
    let mut sorted: Vec<(usize, usize, f32)> = edges
        .iter()
        .filter_map(|&(i, j, s)| {
            let (a, b) = (roots[i], roots[j]);
            (a != b).then_some((a.min(b), a.max(b), s))
        })
        .collect();
    sorted.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
    for (a, b, s) in sorted {
        *adj[a].entry(b).or_default() += s;
        *adj[b].entry(a).or_default() += s;
    }
    let mut heap = BinaryHeap::new();
    for a in 0..n {
        for (&b, &s) in &adj[a] {
            if a < b {
                heap.push(Entry { avg: s / (size[a] * size[b]) as f32, a, b });
            }
        }
    }
    let mut alive: Vec<bool> = (0..n).map(|i| roots[i] == i).collect();
    let label_root: Vec<usize> = roots.clone();
    let mut merged_into: Vec<usize> = (0..n).collect();
    while let Some(Entry { avg, a, b }) = heap.pop() {
        if avg < threshold {
            break;
        }
        if !alive[a] || !alive[b] {
            continue;
        }
        let current = adj[a].get(&b).map(|s| s / (size[a] * size[b]) as f32);
        if current != Some(avg) {
            continue; // stale entry
        }
        // Merge b into a.
        alive[b] = false;
        merged_into[b] = a;
        size[a] += size[b];
        let nb = std::mem::take(&mut adj[b]);
        adj[a].remove(&b);
        for (c, s) in nb {
            if c == a {
                continue;
            }
            *adj[a].entry(c).or_default() += s;
            let cmap = &mut adj[c];
            let sb = cmap.remove(&b).unwrap_or(0.0);
            *cmap.entry(a).or_default() += sb;
        }
        let mut updates: Vec<(usize, f32)> = adj[a].iter().map(|(&c, &s)| (c, s)).collect();
        updates.sort_by_key(|u| u.0);
        for (c, s) in updates {
            let avg = s / (size[a] * size[c]) as f32;
            if avg >= threshold {
                heap.push(Entry { avg, a: a.min(c), b: a.max(c) });
            }
        }
    }
    // Resolve each item to its final cluster and number by first appearance.
    first_appearance((0..n).map(|i| {
        let mut r = label_root[i];
        while merged_into[r] != r {
            r = merged_into[r];
        }
        r
    }))
}

/// Labels numbered 0, 1, ... in order of each key's first appearance, and
/// how many there are.
pub(crate) fn first_appearance<K: Eq + std::hash::Hash>(keys: impl IntoIterator<Item = K>) -> (Vec<u32>, usize) {
    let mut number: HashMap<K, u32> = HashMap::new();
    let labels = keys
        .into_iter()
        .map(|k| {
            let next = number.len() as u32;
            *number.entry(k).or_insert(next)
        })
        .collect();
    (labels, number.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_and_a_singleton() {
        let edges = [(0, 1, 0.9), (1, 2, 0.8), (0, 2, 0.85), (3, 4, 0.9), (2, 3, 0.2)];
        let (l, k) = average_link(6, &edges, &[], 0.5);
        assert_eq!(l, vec![0, 0, 0, 1, 1, 2]);
        assert_eq!(k, 3);
    }

    #[test]
    fn average_not_single_link() {
        // 0-1 strong, 2 linked to 1 only: the average over {0,1}x{2} is 0.35.
        let (l, _) = average_link(3, &[(0, 1, 0.9), (1, 2, 0.7)], &[], 0.5);
        assert_eq!(l, vec![0, 0, 1]);
    }

    #[test]
    fn forced_pairs_merge() {
        let (l, k) = average_link(3, &[], &[(0, 2)], 0.5);
        assert_eq!(l, vec![0, 1, 0]);
        assert_eq!(k, 2);
    }

    #[test]
    fn order_of_edges_does_not_matter() {
        let mut e = vec![(0, 1, 0.6), (1, 2, 0.61), (2, 3, 0.62), (0, 3, 0.1), (4, 5, 0.9)];
        let a = average_link(6, &e, &[], 0.3);
        e.reverse();
        assert_eq!(a, average_link(6, &e, &[], 0.3));
    }
}
