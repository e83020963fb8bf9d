//! Tests of the rust-bert path with the real all-MiniLM-L6-v2 model, as
//! installed by `cargo xtask setup` (run through `cargo xtask test`).

use std::path::PathBuf;

use embed::{embed_cached, Embedder, EmbeddingCache, ModelFiles, Precision, RustBertEmbedder};

fn model_dir() -> PathBuf {
    cache_paths::work_tree_model(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn embedder_in(batch: usize, precision: Precision) -> RustBertEmbedder {
    let files = ModelFiles::open(&model_dir())
        .unwrap_or_else(|e| panic!("{e}\nthe model is installed by `cargo xtask setup`; run the tests with `cargo xtask test`"));
    RustBertEmbedder::load(&files, batch, 2, precision).expect("model loads")
}

fn embedder(batch: usize) -> RustBertEmbedder {
    embedder_in(batch, Precision::F32)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
        / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/reference.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Every reference sentence's vector against Python's (f32), at `min` cosine.
fn matches_reference(precision: Precision, min: f32) {
    let r = reference();
    let e = embedder_in(4, precision);
    assert_eq!(e.precision(), precision);
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let got = e.embed(&texts, &|_| {}).unwrap();
    assert_eq!(e.dim(), 384);
    let mut worst = 1.0f32;
    for ((s, want), have) in r.sentences.iter().zip(&r.vectors).zip(&got) {
        let c = cosine(want, have);
        assert!(c >= min, "{precision}: cosine {c} for {s:?}");
        worst = worst.min(c);
        let norm = have.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not normalised: {norm}");
    }
    if precision == Precision::Bf16 {
        assert!(worst < 0.999_999, "bf16 vectors are not f32 ones (worst cosine {worst}): the model did not switch");
    }
}

#[test]
fn reference_vectors_match_python_sentence_transformers() {
    matches_reference(Precision::F32, 0.9999);
}

/// bf16 is asked for explicitly: the test holds on any CPU (where bf16 is
/// emulated it is only slower).
#[test]
fn bf16_vectors_stay_close_to_python() {
    matches_reference(Precision::Bf16, 0.999);
}

#[test]
fn thread_layout_and_token_cap_do_not_change_the_vectors() {
    let r = reference();
    let files = ModelFiles::open(&model_dir()).unwrap();
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let one = RustBertEmbedder::load_with(&files, 4, embed::Threads { workers: 1, intra: 2 }, Precision::F32).unwrap();
    let want = one.embed(&texts, &|_| {}).unwrap();
    drop(one);
    let two = RustBertEmbedder::load_with(&files, 4, embed::Threads { workers: 2, intra: 1 }, Precision::F32).unwrap();
    assert_eq!(two.embed(&texts, &|_| {}).unwrap(), want, "two single-threaded workers give the same bits as one two-threaded model");
    let mut capped = two;
    // A cap of 40 tokens puts the longer reference sentences in batches of one or two.
    capped.set_batch_tokens(40);
    for (a, b) in capped.embed(&texts, &|_| {}).unwrap().iter().zip(&want) {
        assert!(cosine(a, b) >= 0.99999, "smaller batches change padding only");
    }
}

#[test]
fn order_independent_and_deduplicated() {
    let r = reference();
    let e = embedder(3);
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let forward = e.embed(&texts, &|_| {}).unwrap();
    let mut shuffled: Vec<usize> = (0..texts.len()).collect();
    shuffled.reverse();
    shuffled.swap(1, 5);
    let st: Vec<&str> = shuffled.iter().map(|&i| texts[i]).collect();
    let back = e.embed(&st, &|_| {}).unwrap();
    for (k, &i) in shuffled.iter().enumerate() {
        assert!(cosine(&forward[i], &back[k]) > 0.99999, "sentence {i} differs when shuffled");
    }

    // Identical sentences are embedded once; the cache then serves them.
    let dir = tempfile::tempdir().unwrap();
    let mut cache = EmbeddingCache::open(dir.path(), e.model_id(), e.precision(), e.dim()).unwrap();
    let dup = [texts[0], texts[1], texts[0], texts[0]];
    let done = std::sync::atomic::AtomicUsize::new(0);
    let v = embed_cached(&e, &mut cache, &dup, &|n| {
        done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(cache.len(), 2, "two distinct sentences");
    assert_eq!(done.into_inner(), 4, "progress counts every input sentence");
    assert_eq!(v[0], v[2]);
    assert!(cosine(&v[0], &forward[0]) > 0.99999);
}

/// Counts model calls, to prove the cache hits.
struct Counting<'a> {
    inner: &'a RustBertEmbedder,
    calls: std::sync::atomic::AtomicUsize,
}

impl Embedder for Counting<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn precision(&self) -> Precision {
        self.inner.precision()
    }
    fn embed(&self, s: &[&str], p: &(dyn Fn(usize) + Sync)) -> Result<Vec<Vec<f32>>, embed::EmbedError> {
        self.calls.fetch_add(s.len(), std::sync::atomic::Ordering::Relaxed);
        self.inner.embed(s, p)
    }
}

#[test]
fn second_run_embeds_nothing() {
    let e = embedder(8);
    let dir = tempfile::tempdir().unwrap();
    let texts = ["Five people were injured in a shooting in Elgin.", "The combat mission has ended."];
    let first = {
        let c = Counting { inner: &e, calls: 0.into() };
        let mut cache = EmbeddingCache::open(dir.path(), e.model_id(), e.precision(), e.dim()).unwrap();
        let v = embed_cached(&c, &mut cache, &texts, &|_| {}).unwrap();
        assert_eq!(c.calls.into_inner(), 2);
        v
    };
    let c = Counting { inner: &e, calls: 0.into() };
    let mut cache = EmbeddingCache::open(dir.path(), e.model_id(), e.precision(), e.dim()).unwrap();
    let again = embed_cached(&c, &mut cache, &texts, &|_| {}).unwrap();
    assert_eq!(c.calls.into_inner(), 0, "everything came from the cache file");
    assert_eq!(first, again);
    // A bf16 model neither reads these f32 vectors nor takes an f32 cache.
    let bf16 = embedder_in(8, Precision::Bf16);
    let mut cache16 = EmbeddingCache::open(dir.path(), bf16.model_id(), bf16.precision(), bf16.dim()).unwrap();
    assert!(cache16.is_empty(), "bf16 vectors have their own cache file");
    let err = embed_cached(&bf16, &mut cache, &texts, &|_| {}).unwrap_err().to_string();
    assert!(err.contains("must not mix"), "{err}");
    let v16 = embed_cached(&bf16, &mut cache16, &texts, &|_| {}).unwrap();
    assert!(v16.iter().zip(&first).all(|(a, b)| cosine(a, b) > 0.999));
}

#[test]
fn missing_or_corrupt_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = ModelFiles::open(&dir.path().join("nope")).unwrap_err().to_string();
    assert!(err.contains("no such folder"), "{err}");
    // A folder with every file but garbage weights.
    let src = model_dir();
    for f in ["modules.json", "config.json", "sentence_bert_config.json", "tokenizer_config.json", "vocab.txt"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let err = ModelFiles::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("missing model.safetensors, 1_Pooling/config.json"), "{err}");
    std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
    std::fs::copy(src.join("1_Pooling/config.json"), dir.path().join("1_Pooling/config.json")).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"not a safetensors file").unwrap();
    let files = ModelFiles::open(dir.path()).unwrap();
    let err = RustBertEmbedder::load(&files, 8, 1, Precision::F32).err().expect("corrupt weights must not load").to_string();
    assert!(err.contains("cannot load the model"), "{err}");
}
