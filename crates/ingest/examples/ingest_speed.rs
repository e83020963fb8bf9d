//! Ingests a file or folder and prints MB/s and articles/s (criterion-free;
//! `cargo bench` has the careful numbers). With ROUNDS > 1 it ingests again
//! in the same process: the first round pays the one-time costs (regex
//! compilation, the lazy DFAs' first states, memory from the OS), the later
//! ones show the rate a large corpus settles at.
//!
//!     cargo run --release -p ingest --example ingest_speed -- PATH [THREADS] [ROUNDS]

fn main() {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().expect("usage: ingest_speed PATH [THREADS] [ROUNDS]"));
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(0);
    let rounds: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(1).max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    for round in 1..=rounds {
        let t = std::time::Instant::now();
        let out = pool.install(|| ingest::ingest_paths(std::slice::from_ref(&path), &ingest::IngestOptions::default()));
        let secs = t.elapsed().as_secs_f64();
        let mb = out.bytes as f64 / 1e6;
        let sentences: usize = out.articles.iter().map(|a| a.sentence_spans.len()).sum();
        let report = format!(
            "round {round}: {mb:.2} MB, {} articles, {sentences} sentences, {} threads: {secs:.3} s = {:.1} MB/s, {:.0} articles/s",
            out.articles.len(),
            pool.current_num_threads(),
            mb / secs,
            out.articles.len() as f64 / secs
        );
        std::io::Write::write_all(&mut std::io::stdout(), format!("{report}\n").as_bytes()).expect("stdout");
    }
}
