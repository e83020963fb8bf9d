//! storyline.toml documents every setting with its default; it must not drift.

#[test]
fn storyline_toml_lists_the_defaults() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../storyline.toml");
    let s = pipeline::Settings::load(&p).unwrap();
    assert_eq!(s, pipeline::Settings::default(), "storyline.toml and the Default impls disagree");
    // And every key is there (serde defaults would hide a missing one).
    let text = std::fs::read_to_string(&p).unwrap();
    let listed: toml::Table = toml::from_str(&text).unwrap();
    let full: toml::Table = toml::from_str(&pipeline::Settings::default().to_toml()).unwrap();
    for (section, keys) in &full {
        for (key, value) in keys.as_table().unwrap() {
            let got = listed.get(section).and_then(|t| t.get(key));
            assert!(got.is_some(), "storyline.toml lacks [{section}] {key}");
            // A nested table ([cluster.pair_model]) lists its keys too.
            for inner in value.as_table().map(|t| t.keys()).into_iter().flatten() {
                assert!(got.and_then(|t| t.get(inner)).is_some(), "storyline.toml lacks [{section}.{key}] {inner}");
            }
        }
    }
}

/// The pair model's defaults are the fit `cargo xtask train` reported on the
/// dev splits (data/pair_model.json), as it came out.
#[test]
fn the_default_pair_model_is_the_recorded_fit() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/pair_model.json");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let fitted: cluster::PairModel = serde_json::from_value(report["model"].clone()).unwrap();
    assert_eq!(fitted, pipeline::Settings::default().cluster.pair_model, "storyline.toml's [cluster.pair_model] and data/pair_model.json disagree");
    let words: cluster::PairModel = serde_json::from_value(report["words_model"].clone()).unwrap();
    assert_eq!(words, pipeline::Settings::default().cluster.pair_model_words, "storyline.toml's [cluster.pair_model_words] and data/pair_model.json disagree");
    for k in 0..cluster::pair_model::FEATURES {
        if cluster::pair_model::needs_vectors(k) {
            assert_eq!(words.weights()[k + 1], 0.0, "the words-only model gives {} no weight", cluster::pair_model::FEATURE_NAMES[k]);
        }
    }
}
