//! `storyline-engine train` (`pipeline::train`) on small real subsets of the
//! gold dev corpora (ECB+, GVC, GVA: ../shared/datasets, so this test is in
//! xtask/shared-tests.txt), with the real model: the fit reports every
//! corpus fitted on all and left out, the same model comes out whatever the
//! thread count, and its settings file loads as the settings it reports.

use std::path::Path;

use pipeline::train::{model_toml, train, Corpus};
use pipeline::{NoProgress, RunOptions, Settings};

use pipeline::Wait;

mod common;
use common::{model, workspace};

/// The first `n` records of a corpus' dev split, run through ingest and embed.
fn corpus(name: &str, n: usize, dir: &Path) -> Corpus {
    let gold = workspace().join(format!("../shared/datasets/{name}/dev.jsonl"));
    let text = std::fs::read_to_string(&gold).unwrap_or_else(|e| panic!("{}: {e}", gold.display()));
    let subset = dir.join(format!("{name}.jsonl"));
    std::fs::write(&subset, text.lines().take(n).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let opts = RunOptions { inputs: vec![subset.clone()], out: dir.join(name), model_dir: model(), cache_dir: None, model_threads: 0, wait: Wait::No };
    let r = pipeline::run(&opts, &Settings::default(), &NoProgress).unwrap();
    Corpus { name: name.into(), level: pipeline::Level::Event, articles: r.articles, embedded: r.embedded, gold: pipeline::read_gold(&subset).unwrap() }
}

#[test]
fn training_reports_each_corpus_and_gives_one_model_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let corpora = vec![corpus("ecbplus", 60, dir.path()), corpus("gvc", 80, dir.path()), corpus("gva", 80, dir.path())];
    let base = Settings::default();
    let in_pool = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| train(&corpora, &base, 1e-3));
    let report = in_pool(2);
    assert_eq!(in_pool(1).model, report.model, "the fit does not depend on the thread count");

    let names: Vec<&str> = report.rows.iter().map(|r| r.corpus.as_str()).collect();
    assert_eq!(names, ["ecbplus", "gvc", "gva"]);
    for r in &report.rows {
        assert!(r.pairs > r.positives && r.positives > 0, "{}: {} pairs, {} positive", r.corpus, r.pairs, r.positives);
        for score in [r.weighted, r.learned, r.held_out.expect("three corpora: each is also left out")] {
            assert!(score > 0.5 && score <= 1.0, "{}: B3 {score}", r.corpus);
        }
    }
    // Shared words are evidence of one event in every corpus.
    assert!(report.model.lexical > 0.0, "{:?}", report.model);

    // The settings file says what was fitted, and loads as those settings.
    let file = dir.path().join("pair_model.toml");
    std::fs::write(&file, model_toml(&report.model, &report.words_model, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>())).unwrap();
    let loaded = Settings::load(&file).unwrap();
    assert_eq!(loaded.cluster.pair_score, cluster::PairScore::Learned);
    assert_eq!(loaded.cluster.pair_model, report.model);
    assert_eq!(loaded.cluster.pair_model_words, report.words_model);
    // The words-only model never weighs what the model reads.
    let w = report.words_model.weights();
    assert!((0..cluster::pair_model::FEATURES).all(|k| !cluster::pair_model::needs_vectors(k) || w[k + 1] == 0.0), "{w:?}");
    assert!(report.words_model.lexical > 0.0, "{:?}", report.words_model);
}
