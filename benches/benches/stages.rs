//! Throughput of every stage. `cargo bench` (or `cargo xtask bench`) runs
//! them; `cargo test --benches` runs each once so they never rot.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

use ingest::{ingest_docs, read_file, IngestOptions, RawDoc};

fn raw_docs() -> Vec<RawDoc> {
    let corpus = benches::ingest_corpus();
    if corpus.is_file() {
        read_file(&corpus).docs
    } else {
        let mut files: Vec<_> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.iter().flat_map(|f| read_file(f).docs).collect()
    }
}

fn ingest(c: &mut Criterion) {
    let docs = raw_docs();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    // The corpus is cloned for each run outside the timing, and the
    // articles are dropped after it: the time is ingestion's alone.
    let run = |b: &mut criterion::Bencher<'_>| {
        b.iter_batched(|| docs.clone(), |d| ingest_docs(black_box(d), &IngestOptions::default()), BatchSize::LargeInput)
    };
    g.bench_function("clean+meta+sentences+dedup/bytes", run);
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function("clean+meta+sentences+dedup/articles", run);
    let text: String = docs.iter().take(500).map(|d| d.text.as_str()).collect::<Vec<_>>().join("\n");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("split_sentences", |b| b.iter(|| ingest::split_sentences(black_box(&text))));
    g.bench_function("clean_lines", |b| b.iter(|| ingest::clean_lines(black_box(&text))));
    g.bench_function("simhash", |b| b.iter(|| ingest::simhash(black_box(&text))));
    // Date extraction: every date field of the corpus plus the first line of
    // every text (where datelines and bylines are).
    let dates: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.date.as_deref().into_iter().chain(d.text.lines().next()))
        .collect();
    g.throughput(Throughput::Elements(dates.len() as u64));
    g.bench_function("parse_date_text", |b| b.iter(|| dates.iter().filter(|s| ingest::parse_date_text(black_box(s)).is_some()).count()));
    g.finish();
}

/// Reading the corpus as JSON Lines, plain and compressed: what a
/// compressed input costs before ingestion proper (MB/s of JSONL).
fn reading(c: &mut Criterion) {
    use std::io::Write;
    let docs = raw_docs();
    let jsonl: String = docs
        .iter()
        .map(|d| serde_json::json!({"id": d.id, "title": d.title, "date": d.date, "text": d.text}).to_string() + "\n")
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("corpus.jsonl");
    std::fs::write(&plain, &jsonl).unwrap();
    let gz = dir.path().join("corpus.jsonl.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(jsonl.as_bytes()).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let zst = dir.path().join("corpus.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(jsonl.as_bytes(), 3).unwrap()).unwrap();
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(jsonl.len() as u64));
    for (name, path) in [("jsonl", &plain), ("jsonl.gz", &gz), ("jsonl.zst", &zst)] {
        g.bench_function(name, |b| b.iter(|| read_file(black_box(path)).docs.len()));
    }
    g.finish();
}

fn clustering(c: &mut Criterion) {
    let mut g = c.benchmark_group("cluster");
    g.sample_size(10);
    for n in [1_000usize, 10_000, 100_000] {
        let s = benches::synthetic(n, 384);
        let docs = s.docs();
        let cfg = cluster::ClusterConfig::default();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("events+stories", n), &docs, |b, docs| b.iter(|| cluster::cluster(black_box(docs), &cfg)));
    }
    g.finish();
}

fn aggregation(c: &mut Criterion) {
    let docs = raw_docs();
    let articles = ingest_docs(docs, &IngestOptions::default()).articles;
    let mut g = c.benchmark_group("aggregate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(articles.len() as u64));
    let stamp = aggregate::Stamp { batch: 1, added_at: "2026-12-01T00:00:00Z".into() };
    g.bench_function("articles_frame", |b| b.iter(|| aggregate::articles_frame(black_box(&articles), &stamp).unwrap()));
    g.bench_function("sentences_frame", |b| b.iter(|| aggregate::sentences_frame(black_box(&articles), &stamp).unwrap()));
    g.finish();
}

fn model_dir() -> std::path::PathBuf {
    cache_paths::work_tree_model(&benches::workspace())
}

fn embedding(c: &mut Criterion) {
    let docs = ingest_docs(raw_docs(), &IngestOptions::default()).articles;
    let sentences: Vec<&str> = docs.iter().flat_map(|a| a.sentences()).take(256).collect();
    let files = embed::ModelFiles::open(&model_dir()).expect("model installed by `cargo xtask setup`");
    let mut g = c.benchmark_group("embed");
    g.sample_size(10);
    g.throughput(Throughput::Elements(sentences.len() as u64));
    // Call shapes (tokens a call x rows at most), with the default thread
    // layout (one single-threaded model worker per core). 1024x32 is the
    // f32 default, 1024x16 the bf16 one.
    let f32_default = embed::Shapes::for_precision(embed::Precision::F32, files.max_len);
    for (tokens, max_rows) in [(1024usize, 32usize), (1024, 16), (512, 16), (2048, 64)] {
        let shapes = embed::Shapes { tokens, max_rows, ..f32_default };
        let e = embed::RustBertEmbedder::load_with(&files, shapes, embed::Threads::for_cores(0), embed::Precision::F32, embed::Engine::default()).expect("model loads");
        g.bench_with_input(BenchmarkId::new("shapes", format!("{tokens}x{max_rows}")), &sentences, |b, s| {
            b.iter(|| embed::Embedder::embed(&e, black_box(s), &|_| {}).unwrap())
        });
    }
    // Thread layouts on every core: one model with libtorch's intra-op
    // threads, or one single-threaded model per core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [embed::Threads { workers: 1, intra: cores }, embed::Threads { workers: cores, intra: 1 }] {
        let e = embed::RustBertEmbedder::load_with(&files, f32_default, threads, embed::Precision::F32, embed::Engine::default()).expect("model loads");
        g.bench_with_input(BenchmarkId::new("layout", format!("{}x{}", threads.workers, threads.intra)), &sentences, |b, s| {
            b.iter(|| embed::Embedder::embed(&e, black_box(s), &|_| {}).unwrap())
        });
    }
    // The number format, with its default shapes. bf16 only where
    // the CPU has bf16 instructions: elsewhere libtorch falls back to its
    // reference gemm, some 20 times slower than f32 (measured on an AVX2-only
    // EPYC), which `embed.precision = "auto"` never picks.
    let precisions: &[embed::Precision] =
        if embed::native_bf16() { &[embed::Precision::F32, embed::Precision::Bf16] } else { &[embed::Precision::F32] };
    // And the engine: the fused encoder (the default) against rust-bert's.
    for &precision in precisions {
        for engine in [embed::Engine::Fused, embed::Engine::RustBert] {
            let shapes = embed::Shapes::for_precision(precision.resolve(), files.max_len);
            let e = embed::RustBertEmbedder::load_with(&files, shapes, embed::Threads::for_cores(0), precision, engine).expect("model loads");
            g.bench_with_input(BenchmarkId::new("precision", format!("{precision}-{engine}")), &sentences, |b, s| {
                b.iter(|| embed::Embedder::embed(&e, black_box(s), &|_| {}).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, ingest, reading, embedding, clustering, aggregation);
criterion_main!(benches);
