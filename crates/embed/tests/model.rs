//! Tests of the embed path with the real all-MiniLM-L6-v2 model, as
//! installed by `cargo xtask setup` (run through `cargo xtask test`): the
//! default (fused) encoder, and rust-bert's, which it is held to.

use std::path::{Path, PathBuf};

use embed::{embed_cached, Embedder, EmbeddingCache, Engine, ModelFiles, Precision, RustBertEmbedder, Shapes, Threads};

fn model_dir() -> PathBuf {
    cache_paths::work_tree_model(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn files() -> ModelFiles {
    ModelFiles::open(&model_dir())
        .unwrap_or_else(|e| panic!("{e}\nthe model is installed by `cargo xtask setup`; run the tests with `cargo xtask test`"))
}

fn embedder_on(precision: Precision, engine: Engine) -> RustBertEmbedder {
    let shapes = match precision {
        Precision::Bf16 => bf16_test_shapes(),
        p => Shapes::for_precision(p, files().max_len),
    };
    RustBertEmbedder::load_with(&files(), shapes, Threads::for_cores(2), precision, engine).expect("model loads")
}

fn embedder() -> RustBertEmbedder {
    embedder_on(Precision::F32, Engine::default())
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
fn matches_reference(precision: Precision, engine: Engine, min: f32) {
    let r = reference();
    let e = embedder_on(precision, engine);
    assert_eq!((e.precision(), e.engine()), (precision, engine));
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
    matches_reference(Precision::F32, Engine::Fused, 0.9999);
    matches_reference(Precision::F32, Engine::RustBert, 0.9999);
}

/// bf16 is asked for explicitly: the test holds on any CPU (where bf16 is
/// emulated it is only slower).
#[test]
fn bf16_vectors_stay_close_to_python() {
    matches_reference(Precision::Bf16, Engine::Fused, 0.999);
    matches_reference(Precision::Bf16, Engine::RustBert, 0.999);
}

/// The fused encoder computes rust-bert's function: in f32 every value
/// within 1e-5 of rust-bert's (2.9e-7 at most over 2,000 GVA dev sentences
/// on a Sapphire Rapids), in bf16 as close to rust-bert's f32 vectors as
/// rust-bert's bf16 ones are; and the cache never mixes the two.
#[test]
fn the_fused_encoder_computes_rust_berts_function() {
    let r = reference();
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let reference = embedder_on(Precision::F32, Engine::RustBert);
    let want = reference.embed(&texts, &|_| {}).unwrap();
    let fused = embedder_on(Precision::F32, Engine::Fused);
    assert_ne!(fused.numerics(), reference.numerics(), "the cache keeps the engines apart");
    assert_eq!(Engine::of_numerics(&fused.numerics()), Engine::Fused);
    assert_eq!(Engine::of_numerics(&reference.numerics()), Engine::RustBert);
    for ((s, a), b) in texts.iter().zip(fused.embed(&texts, &|_| {}).unwrap()).zip(&want) {
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "f32: {worst} apart for {s:?}");
    }
    let short = &texts[..6];
    let bf16 = embedder_on(Precision::Bf16, Engine::Fused).embed(short, &|_| {}).unwrap();
    for ((s, a), b) in short.iter().zip(&bf16).zip(&want) {
        assert!(cosine(a, b) >= 0.999, "bf16: cosine {} for {s:?}", cosine(a, b));
    }
}

/// A sentence's vector, bit for bit, whatever else is embedded with it,
/// in whatever order, split however, on whatever thread layout.
fn vectors_depend_on_the_sentence_alone(precision: Precision, texts: &[&str], shapes: Shapes) {
    let files = files();
    let one = RustBertEmbedder::load_with(&files, shapes, Threads { workers: 1, intra: 1 }, precision, Engine::default()).unwrap();
    // The shapes this CPU's kernels need (measured as the model loads).
    let shapes = one.shapes();
    let want = one.embed(texts, &|_| {}).unwrap();
    drop(one);
    let two = RustBertEmbedder::load_with(&files, shapes, Threads { workers: 2, intra: 1 }, precision, Engine::default()).unwrap();
    assert_eq!(two.embed(texts, &|_| {}).unwrap(), want, "{precision}: two workers give the bits of one");
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(two.embed(&[t], &|_| {}).unwrap()[0], want[i], "{precision}: sentence {i} alone");
    }
    // Reversed, and in two halves (two shards, or a run and an add).
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    let back = two.embed(&reversed, &|_| {}).unwrap();
    assert!(back.iter().rev().eq(want.iter()), "{precision}: reversed");
    let (a, b) = texts.split_at(texts.len() / 3);
    let halves: Vec<Vec<f32>> = two.embed(a, &|_| {}).unwrap().into_iter().chain(two.embed(b, &|_| {}).unwrap()).collect();
    assert_eq!(halves, want, "{precision}: in two parts");
    // Many copies of other sentences around it fill calls of its bucket.
    let mut crowd: Vec<&str> = texts.iter().flat_map(|t| [*t, "Crowd sentence number one.", "Another sentence that fills a call."]).collect();
    crowd.rotate_left(1);
    let crowded = two.embed(&crowd, &|_| {}).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let k = crowd.iter().position(|c| c == t).unwrap();
        assert_eq!(crowded[k], want[i], "{precision}: sentence {i} in a crowd");
    }
}

#[test]
fn f32_vectors_depend_on_the_sentence_alone() {
    let r = reference();
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    vectors_depend_on_the_sentence_alone(Precision::F32, &texts, Shapes::for_precision(Precision::F32, files().max_len));
}

/// The default bf16 shapes where bf16 is native; where it is emulated (some
/// 20 times slower than f32), small calls, so the test stays quick.
fn bf16_test_shapes() -> Shapes {
    let d = Shapes::for_precision(Precision::Bf16, files().max_len);
    if embed::native_bf16() {
        d
    } else {
        Shapes { tokens: 256, max_rows: 8, ..d }
    }
}

/// bf16's rounding makes a vector follow its call's shape (the reason
/// shapes are fixed: on an AVX2 EPYC, emulated bf16 gave a sentence
/// embedded alone and padded to a longer batch mate vectors 1.1e-3 apart),
/// forced on, on a few sentences, so that it holds on any CPU.
#[test]
fn bf16_vectors_depend_on_the_sentence_alone() {
    let r = reference();
    let texts: Vec<&str> = r.sentences.iter().take(6).map(String::as_str).collect();
    vectors_depend_on_the_sentence_alone(Precision::Bf16, &texts, bf16_test_shapes());
}

#[test]
fn other_shapes_change_the_numerics_and_only_by_rounding() {
    let r = reference();
    let files = files();
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let default = Shapes::for_precision(Precision::F32, files.max_len);
    let e = RustBertEmbedder::load_with(&files, default, Threads::for_cores(2), Precision::F32, Engine::default()).unwrap();
    let want = e.embed(&texts, &|_| {}).unwrap();
    // A call of 40 tokens: the longer reference sentences alone.
    let small = RustBertEmbedder::load_with(&files, Shapes { tokens: 40, max_rows: 3, ..default }, Threads::for_cores(2), Precision::F32, Engine::default()).unwrap();
    assert_ne!(small.numerics(), e.numerics(), "the cache keeps them apart");
    for (a, b) in small.embed(&texts, &|_| {}).unwrap().iter().zip(&want) {
        assert!(cosine(a, b) >= 0.99999, "other shapes move vectors by rounding only");
    }
}

#[test]
fn identical_sentences_are_embedded_once() {
    let r = reference();
    let e = embedder();
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let forward = e.embed(&texts, &|_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cache = EmbeddingCache::open(dir.path(), e.model_id(), &e.numerics(), e.dim()).unwrap();
    let dup = [texts[0], texts[1], texts[0], texts[0]];
    let done = std::sync::atomic::AtomicUsize::new(0);
    let v = embed_cached(&e, &mut cache, &dup, &|n| {
        done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(cache.len(), 2, "two distinct sentences");
    assert_eq!(done.into_inner(), 4, "progress counts every input sentence");
    assert_eq!(v[0], v[2]);
    assert_eq!(v[0], forward[0], "the same bits as among the other sentences");
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
    fn numerics(&self) -> String {
        self.inner.numerics()
    }
    fn embed_each(&self, s: &[&str], done: &mut embed::Done<'_>) -> Result<(), embed::EmbedError> {
        self.calls.fetch_add(s.len(), std::sync::atomic::Ordering::Relaxed);
        self.inner.embed_each(s, done)
    }
}

#[test]
fn second_run_embeds_nothing_and_gets_the_same_bits() {
    let e = embedder();
    let dir = tempfile::tempdir().unwrap();
    let texts = ["Five people were injured in a shooting in Elgin.", "The combat mission has ended."];
    let first = {
        let c = Counting { inner: &e, calls: 0.into() };
        let mut cache = EmbeddingCache::open(dir.path(), e.model_id(), &e.numerics(), e.dim()).unwrap();
        let v = embed_cached(&c, &mut cache, &texts, &|_| {}).unwrap();
        assert_eq!(c.calls.into_inner(), 2);
        v
    };
    let c = Counting { inner: &e, calls: 0.into() };
    let mut cache = EmbeddingCache::open(dir.path(), e.model_id(), &e.numerics(), e.dim()).unwrap();
    let again = embed_cached(&c, &mut cache, &texts, &|_| {}).unwrap();
    assert_eq!(c.calls.into_inner(), 0, "everything came from the cache file");
    assert_eq!(first, again);
    assert_eq!(e.embed(&texts[1..], &|_| {}).unwrap()[0], first[1], "a cached vector is the one the model computes now");
    // A bf16 model neither reads these f32 vectors nor takes an f32 cache.
    let bf16 = embedder_on(Precision::Bf16, Engine::default());
    let mut cache16 = EmbeddingCache::open(dir.path(), bf16.model_id(), &bf16.numerics(), bf16.dim()).unwrap();
    assert!(cache16.is_empty(), "bf16 vectors have their own cache file");
    let err = embed_cached(&bf16, &mut cache, &texts, &|_| {}).unwrap_err().to_string();
    assert!(err.contains("must not mix"), "{err}");
    let v16 = embed_cached(&bf16, &mut cache16, &texts, &|_| {}).unwrap();
    assert!(v16.iter().zip(&first).all(|(a, b)| cosine(a, b) > 0.999));
}

/// A copy of the shipped model folder, with `edit` applied to it.
fn model_copy(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&model_dir(), dir.path());
    edit(dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn a_model_folder_anywhere_is_read_from_its_own_configs() {
    let copy = model_copy(|_| {});
    let files = ModelFiles::open(copy.path()).unwrap();
    assert_eq!((files.arch, files.dim, files.max_len), (embed::Arch::Bert, 384, 256));
    assert_eq!(files.languages, ["en"], "from the model card");
    assert_eq!(files.languages_or(&[]).unwrap().names(), ["eng"]);
    let set = |names: &[&str]| files.languages_or(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    assert_eq!(set(&["ar", "es", "eng"]).unwrap().names(), ["ara", "eng", "spa"], "embed.languages overrides the card");
    assert!(set(&["multilingual"]).unwrap().covers(Some("kor")));
    assert!(!files.languages_or(&[]).unwrap().covers(None), "an unknown language is never read");
    assert!(set(&["english"]).unwrap_err().to_string().contains("\"english\" is not a language code"));
    let no_card = model_copy(|d| std::fs::remove_file(d.join("README.md")).unwrap());
    let err = ModelFiles::open(no_card.path()).unwrap().languages_or(&[]).unwrap_err().to_string();
    assert!(err.contains("does not say which languages") && err.contains("embed.languages"), "{err}");
    let e = RustBertEmbedder::load(&files, 1, Precision::F32).unwrap();
    let shipped = embedder();
    assert_eq!(e.model_id(), shipped.model_id(), "the checksum names the weights, not the path");
    let t = ["The coalition ended its combat mission in Iraq."];
    assert_eq!(e.embed(&t, &|_| {}).unwrap(), shipped.embed(&t, &|_| {}).unwrap());
    // The folder's own maximum length is the one used.
    edit_json(&copy.path().join("sentence_bert_config.json"), |v| v["max_seq_length"] = 16.into());
    let short = ModelFiles::open(copy.path()).unwrap();
    assert_eq!(short.max_len, 16);
    let e = RustBertEmbedder::load(&short, 1, Precision::F32).unwrap();
    let long = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen";
    let cut = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
    let v = e.embed(&[long, cut], &|_| {}).unwrap();
    assert_eq!(v[0], v[1], "truncated at 16 tokens ([CLS], 14 words, [SEP])");
    // A BERT the fused encoder does not compute (another activation) runs
    // on rust-bert's, and says so.
    let tanh_gelu = model_copy(|d| edit_json(&d.join("config.json"), |v| v["hidden_act"] = "gelu_new".into()));
    let e = RustBertEmbedder::load(&ModelFiles::open(tanh_gelu.path()).unwrap(), 1, Precision::F32).unwrap();
    assert_eq!(e.engine(), Engine::RustBert);
    assert_eq!(Engine::of_numerics(&e.numerics()), Engine::RustBert);
}

#[test]
fn broken_model_folders_are_clear_errors() {
    let open_err = |dir: &Path| ModelFiles::open(dir).map(|_| ()).unwrap_err().to_string();
    let tmp = tempfile::tempdir().unwrap();
    assert!(open_err(&tmp.path().join("nope")).contains("no such folder"));

    let no_tokenizer = model_copy(|d| std::fs::remove_file(d.join("vocab.txt")).unwrap());
    let err = open_err(no_tokenizer.path());
    assert!(err.contains("missing vocab.txt") && err.contains(&no_tokenizer.path().display().to_string()), "{err}");

    let unknown = model_copy(|d| edit_json(&d.join("config.json"), |v| v["model_type"] = "gpt2".into()));
    let err = open_err(unknown.path());
    assert!(err.contains("model_type \"gpt2\" is not an architecture"), "{err}");

    let wrong_size = model_copy(|d| edit_json(&d.join("1_Pooling/config.json"), |v| v["word_embedding_dimension"] = 512.into()));
    let err = open_err(wrong_size.path());
    assert!(err.contains("vector sizes disagree") && err.contains("512") && err.contains("384"), "{err}");

    let bad_json = model_copy(|d| std::fs::write(d.join("modules.json"), "[{").unwrap());
    assert!(open_err(bad_json.path()).contains("modules.json: EOF"), "{}", open_err(bad_json.path()));

    let no_weights = model_copy(|d| std::fs::remove_file(d.join("model.safetensors")).unwrap());
    assert!(open_err(no_weights.path()).contains("missing model.safetensors"));

    let corrupt = model_copy(|d| std::fs::write(d.join("model.safetensors"), b"not a safetensors file").unwrap());
    let files = ModelFiles::open(corrupt.path()).unwrap();
    let err = RustBertEmbedder::load(&files, 1, Precision::F32).err().expect("corrupt weights must not load").to_string();
    assert!(err.contains("cannot load the model"), "{err}");

    // Weights of another size than config.json says.
    let mismatched = model_copy(|d| edit_json(&d.join("config.json"), |v| v["hidden_size"] = 768.into()));
    edit_json(&mismatched.path().join("1_Pooling/config.json"), |v| v["word_embedding_dimension"] = 768.into());
    let files = ModelFiles::open(mismatched.path()).unwrap();
    let err = RustBertEmbedder::load(&files, 1, Precision::F32).err().expect("weights of another size must not load").to_string();
    assert!(err.contains("cannot load the model"), "{err}");
}


