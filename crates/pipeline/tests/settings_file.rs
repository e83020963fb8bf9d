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
        for key in keys.as_table().unwrap().keys() {
            assert!(listed.get(section).and_then(|t| t.get(key)).is_some(), "storyline.toml lacks [{section}] {key}");
        }
    }
}

/// The headline-feed settings load, and change only what they say they do.
#[test]
fn the_headline_profile_differs_from_the_defaults_in_the_event_threshold() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/settings/headlines.toml");
    let s = pipeline::Settings::load(&p).unwrap();
    let mut expected = pipeline::Settings::default();
    expected.cluster.threshold = 0.16;
    assert_eq!(s, expected);
}
