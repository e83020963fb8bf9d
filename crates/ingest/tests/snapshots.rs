//! Snapshot tests: one raw article in, the extracted fields out. The seeds
//! are the bundled sample corpus; the GVA articles come from
//! ../shared/datasets (present in CI and on development machines).

use std::path::PathBuf;

use ingest::{ingest_docs, ingest_paths, read_file, Article, IngestOptions};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fields a user checks, as YAML-friendly data.
#[derive(serde::Serialize)]
struct View<'a> {
    title: Option<&'a str>,
    date: Option<String>,
    date_source: Option<&'static str>,
    outlet: Option<&'a str>,
    place: Option<&'a str>,
    language: Option<&'a str>,
    removed: ingest::Removed,
    sentences: usize,
    text: &'a str,
}

fn view(a: &Article) -> View<'_> {
    View {
        title: a.title.as_deref(),
        date: a.date.map(|d| d.to_string()),
        date_source: a.date_source.map(|d| d.as_str()),
        outlet: a.outlet.as_deref(),
        place: a.place.as_deref(),
        language: a.language.as_deref(),
        removed: a.removed,
        sentences: a.sentence_spans.len(),
        text: &a.text,
    }
}

#[test]
fn seeds() {
    let dir = workspace().join("data/seeds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 5);
    for f in files {
        let out = ingest_paths(std::slice::from_ref(&f), &IngestOptions::default());
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        let a = &out.articles[0];
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_yaml_snapshot!(format!("seed_{name}"), view(a));
    }
}

#[test]
fn seed_dates_are_right_where_the_text_has_one() {
    let out = ingest_paths(&[workspace().join("data/seeds")], &IngestOptions::default());
    let by_file = |stem: &str| out.articles.iter().find(|a| a.origin.file.to_string_lossy().contains(stem)).unwrap();
    let date = |stem: &str| by_file(stem).date.map(|d| d.to_string());
    assert_eq!(date("000_").as_deref(), Some("2021-07-31"));
    assert_eq!(date("001_"), None, "seed 001 states no date");
    assert_eq!(date("002_").as_deref(), Some("2021-12-29"));
    assert_eq!(date("003_"), None, "seed 003 says only 'yesterday'");
    assert_eq!(date("004_").as_deref(), Some("2021-12-02"));
    // The noise is gone.
    let all: String = out.articles.iter().map(|a| a.text.as_str()).collect();
    for noise in ["Leave a Reply", "commenting using", "cipro", "Print E-mail", "Adjust font size", "No comments", "Follow the obelisk", "#Iraq #work"] {
        assert!(!all.contains(noise), "{noise:?} survived cleaning");
    }
}

fn shared() -> PathBuf {
    let p = workspace().join("../shared/datasets");
    assert!(p.is_dir(), "these tests read ../shared/datasets (beside the repository), which is missing");
    p
}

const GVA_SAMPLE: &[&str] = &[
    "a6b02e21adb69502f9c3e3a561ad859d",
    "61809a396240d450d8657cdaf63bb8d2",
    "f489a4209902fe04ce52196d6bee8ff6",
];

#[test]
fn gva_articles() {
    let ingest::FileRead { docs, rejects, .. } = read_file(&shared().join("gva/dev.jsonl"));
    assert!(rejects.is_empty());
    let mut picked: Vec<_> = docs.iter().filter(|d| GVA_SAMPLE.contains(&d.id.as_str())).cloned().collect();
    // Add a few more by position, so the sample covers several outlets.
    picked.extend(docs.iter().skip(100).step_by(700).take(4).cloned());
    let out = ingest_docs(picked, &IngestOptions::default());
    for a in &out.articles {
        insta::assert_yaml_snapshot!(format!("gva_{}", a.id), view(a));
    }
}

#[test]
fn gva_repeated_paragraphs_are_gone() {
    let out = ingest_paths(&[shared().join("gva/dev.jsonl")], &IngestOptions::default());
    assert!(out.articles.len() > 3800, "{} articles", out.articles.len());
    let removed: u32 = out.articles.iter().map(|a| a.removed.repeated).sum();
    assert!(removed > 500, "only {removed} repeated paragraphs found");
    for a in &out.articles {
        let mut seen = std::collections::HashSet::new();
        for p in a.text.split('\n') {
            let key: String = p.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
            assert!(seen.insert(key), "article {} still repeats {p:?}", a.id);
        }
    }
}
