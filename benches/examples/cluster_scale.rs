//! Clusters generated corpora of growing size once each, with the learned
//! pair score (the default) and the hand-set one, and prints the time
//! (criterion-free; the `cluster` group of `cargo bench` has the careful numbers).
//!
//!     cargo run --release -p benches --example cluster_scale -- 10000 100000

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000, 10_000, 100_000] } else { sizes };
    for (n, score) in sizes.into_iter().flat_map(|n| [(n, cluster::PairScore::Learned), (n, cluster::PairScore::Weighted)]) {
        let cfg = cluster::ClusterConfig { pair_score: score, ..Default::default() };
        let s = benches::synthetic(n, 384);
        let docs = s.docs();
        let t = std::time::Instant::now();
        let c = cluster::cluster(&docs, &cfg);
        let secs = t.elapsed().as_secs_f64();
        let scores = cluster::metrics::score(&c.event, &s.gold);
        let line = format!(
            "{n} articles, {score:?}: {secs:.2} s ({:.0} articles/s), {} events ({} generated), B3-F1 {:.3}\n",
            n as f64 / secs,
            c.n_events,
            scores.gold_clusters,
            scores.bcubed.f1
        );
        std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes()).expect("stdout");
    }
}
