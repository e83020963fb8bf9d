//! The whole pipeline on the bundled seeds with the real model: outputs,
//! event and story ids, and byte-identical tables for 1 and 2 threads.
//! (`grow.rs` tests adding to a run.)

use std::path::{Path, PathBuf};

use pipeline::{NoProgress, RunOptions, Settings};
use polars::prelude::*;

use pipeline::Wait;

mod common;
use common::{model, workspace};

fn run_seeds(out: &Path, threads: usize) -> pipeline::RunReport {
    let opts = RunOptions {
        inputs: vec![workspace().join("data/seeds")],
        out: out.to_path_buf(),
        model_dir: model(),
        cache_dir: None,
        model_threads: threads,
        wait: Wait::No,
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let report = pool.install(|| pipeline::run(&opts, &Settings::default(), &NoProgress)).expect("pipeline runs on the seeds");
    common::verified(out);
    report
}

fn read(p: &Path) -> DataFrame {
    let f = std::fs::File::open(p).unwrap();
    ParquetReader::new(f).finish().unwrap()
}

/// The one part of `table` in a run of one batch.
fn part(run: &Path, table: &str) -> PathBuf {
    let parts: Vec<PathBuf> = std::fs::read_dir(run.join(table)).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(parts.len(), 1, "{table}: {parts:?}");
    parts.into_iter().next().unwrap()
}

/// Every file of a run, relative to it, sorted.
fn files(run: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(run).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files(&e.path()).into_iter().map(|p| PathBuf::from(e.file_name()).join(p)));
        } else {
            out.push(PathBuf::from(e.file_name()));
        }
    }
    out.sort();
    out
}

#[test]
fn seeds_end_to_end_and_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let report = run_seeds(a.path(), 2);
    run_seeds(b.path(), 1);

    let articles = read(&part(a.path(), "articles"));
    assert_eq!(articles.height(), 5);
    for col in ["id", "title", "date", "date_source", "outlet", "place", "language", "text", "duplicate_of", "batch", "added_at"] {
        assert!(articles.column(col).is_ok(), "articles lacks {col}");
    }
    let assigned = read(&a.path().join("article_events.parquet"));
    assert_eq!(assigned.height(), 5);
    assert_eq!(assigned.column("event_id").unwrap().null_count(), 0);
    let emb = read(&part(a.path(), "embeddings"));
    assert_eq!(emb.height(), 5);
    assert_eq!(emb.column("vector").unwrap().dtype(), &DataType::Array(Box::new(DataType::Float32), 384));
    let sentences = read(&part(a.path(), "sentences"));
    assert_eq!(sentences.height(), report.articles.iter().map(|a| a.sentence_spans.len()).sum::<usize>());
    let titles = report.articles.iter().filter(|a| a.title.is_some()).count();
    assert_eq!(read(&part(a.path(), "sentence_embeddings")).height(), sentences.height() + titles, "every sentence and title, streamed to disk");
    assert!(a.path().join("manifest.json").is_file());
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(a.path().join("manifest.json")).unwrap()).unwrap();
    let precision = manifest["embed_precision"].as_str().unwrap();
    assert_eq!(precision, embed::Precision::Auto.resolve().as_str(), "the manifest records what `auto` became");
    assert_eq!(manifest["batches"].as_array().unwrap().len(), 1);
    // No temporary files left behind, and a plain file's permissions.
    for f in files(a.path()) {
        let name = f.display().to_string();
        assert!(!name.ends_with(".tmp") && !name.contains(".commit"), "{name} left in the output");
    }
    // The coalition-withdrawal articles of 2021-2024 form one story; the
    // July 2021 statement (000) is not one event with the reports of 2023
    // and 2024 (001, 003), undated as those are: a missing date is no
    // evidence of one event.
    assert_eq!(report.clustering.n_stories, 1, "stories: {:?}", report.clustering.story);
    let event_of = |seed: &str| {
        let k = report.articles.iter().position(|a| a.origin.file.to_string_lossy().contains(&format!("/{seed}_"))).unwrap();
        report.clustering.event[k]
    };
    assert_ne!(event_of("000"), event_of("001"));
    assert_ne!(event_of("000"), event_of("003"));

    // The same tables (and file names) whatever the thread count; only the
    // batch's time differs between the two runs.
    assert_eq!(files(a.path()), files(b.path()));
    for f in files(a.path()).into_iter().filter(|f| f.extension().is_some_and(|x| x == "parquet")) {
        let drop_time = |df: DataFrame| df.drop_many(["added_at", "changed_at"]);
        let (x, y) = (drop_time(read(&a.path().join(&f))), drop_time(read(&b.path().join(&f))));
        assert!(x.equals_missing(&y), "{} differs between 2 threads and 1 thread", f.display());
    }
}

#[test]
fn missing_model_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        inputs: vec![workspace().join("data/seeds")],
        out: out.path().to_path_buf(),
        model_dir: out.path().join("no-model-here"),
        cache_dir: None,
        model_threads: 1,
        wait: Wait::No,
    };
    let err = pipeline::run(&opts, &Settings::default(), &NoProgress).err().expect("must fail").to_string();
    assert!(err.contains("no-model-here") && err.contains("cargo xtask setup"), "{err}");
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let opts = RunOptions {
        inputs: vec![workspace().join("data/seeds")],
        out: PathBuf::from("/proc/storyline-out"),
        model_dir: model(),
        cache_dir: None,
        model_threads: 1,
        wait: Wait::No,
    };
    let err = pipeline::run(&opts, &Settings::default(), &NoProgress).err().expect("must fail").to_string();
    assert!(err.contains("/proc/storyline-out"), "{err}");
}

/// (column, type) rows of one file's table in docs/outputs.md.
fn documented(file: &str) -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(workspace().join("docs/outputs.md")).unwrap();
    let section = doc.split("\n## ").find(|s| s.starts_with(&format!("`{file}`"))).unwrap_or_else(|| panic!("docs/outputs.md has no section for {file}"));
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].trim_matches('`').to_string())
        })
        .collect()
}

#[test]
fn docs_outputs_md_matches_the_real_schemas() {
    let out = tempfile::tempdir().unwrap();
    run_seeds(out.path(), 2);
    let tables: Vec<PathBuf> = files(out.path()).into_iter().filter(|f| f.extension().is_some_and(|x| x == "parquet")).collect();
    assert_eq!(tables.len(), 11, "{tables:?}");
    for f in tables {
        // A part is documented under its folder's name (`articles/`).
        let name = match f.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(folder) => format!("{}/", folder.display()),
            None => f.display().to_string(),
        };
        let df = read(&out.path().join(&f));
        let actual: Vec<(String, String)> = df.schema().iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        assert_eq!(documented(&name), actual, "docs/outputs.md is out of date for {name}");
    }
}

#[cfg(unix)]
#[test]
fn outputs_are_readable_like_any_other_file() {
    use std::os::unix::fs::PermissionsExt;
    let out = tempfile::tempdir().unwrap();
    run_seeds(out.path(), 2);
    let plain = out.path().join("plain");
    std::fs::File::create(&plain).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for f in files(out.path()) {
        assert_eq!(mode(&out.path().join(&f)), mode(&plain), "{} has other permissions than a plain file", f.display());
    }
}

/// Pages with no article in them (a language code, an archive notice,
/// paywall stubs) stay in articles but never make an event with anything;
/// a headline-only report still joins its event.
#[test]
fn pages_with_no_content_make_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages.jsonl");
    let record = |id: &str, title: &str, text: &str| serde_json::json!({"id": id, "title": title, "text": text, "date": "2021-12-29"}).to_string();
    let stub = "1 of 3 Premium Clicks used this month\nAlready a subscriber? Log in to continue";
    let lines = [
        record("en-1", "en", "en"),
        record("en-2", "en", "en"),
        record("en-3", "en", "en"),
        record("archive", "en", "This article is outdated and was moved to archive"),
        record("paywall-1", "", stub),
        record("paywall-2", "", stub),
        record("headline", "Iraq announces the end of the global coalition mission after the defeat of ISIS", ""),
    ];
    std::fs::write(&pages, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("run");
    let opts = RunOptions {
        inputs: vec![workspace().join("data/seeds"), pages],
        out: out.clone(),
        model_dir: model(),
        cache_dir: None,
        model_threads: 2,
        wait: Wait::No,
    };
    let report = pipeline::run(&opts, &Settings::default(), &NoProgress).expect("runs");
    assert!(report.rejects.is_empty(), "{:?}", report.rejects);

    let articles = read(&part(&out, "articles"));
    let ids: Vec<&str> = articles.column("id").unwrap().str().unwrap().iter().map(Option::unwrap_or_default).collect();
    let content: Vec<&str> = articles.column("content").unwrap().str().unwrap().iter().map(Option::unwrap_or_default).collect();
    let content_of = |id: &str| content[ids.iter().position(|&x| x == id).unwrap_or_else(|| panic!("{id} kept"))];
    let empty = ["en-1", "en-2", "en-3", "archive", "paywall-1", "paywall-2"];
    for id in empty {
        assert_eq!(content_of(id), "none", "{id}");
    }
    assert_eq!(content_of("headline"), "title_only");
    assert_eq!(content.iter().filter(|&&c| c == "article").count(), 5, "the seeds are articles");

    let ae = read(&out.join("article_events.parquet"));
    let a_ids: Vec<&str> = ae.column("article_id").unwrap().str().unwrap().iter().map(Option::unwrap_or_default).collect();
    let events: Vec<u32> = ae.column("event_id").unwrap().u32().unwrap().into_no_null_iter().collect();
    let event_of = |id: &str| events[a_ids.iter().position(|&x| x == id).unwrap()];
    for id in empty {
        let mates = events.iter().filter(|&&e| e == event_of(id)).count();
        assert_eq!(mates, 1, "{id} shares its event");
    }
    let titles: Vec<Option<&str>> = articles.column("title").unwrap().str().unwrap().iter().collect();
    let seed = ids[titles.iter().position(|t| t.is_some_and(|t| t.starts_with("Iraq Announces End of Global Coalition"))).unwrap()];
    assert_eq!(event_of("headline"), event_of(seed), "the headline joins the report of the same announcement");

    let ev = read(&out.join("events.parquet"));
    let ev_ids: Vec<u32> = ev.column("event_id").unwrap().u32().unwrap().into_no_null_iter().collect();
    let keywords = ev.column("keywords").unwrap().list().unwrap().clone();
    let row = ev_ids.iter().position(|&e| e == event_of("en-1")).unwrap();
    assert_eq!(keywords.get_as_series(row).unwrap().len(), 0, "a page with no content has no keywords");
}

/// `zcat dump.jsonl.gz | storyline run --input - --out RUN`: JSON Lines on
/// standard input, through the real binary and model.
#[test]
fn json_lines_from_standard_input() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let lines: String = std::fs::read_dir(workspace().join("data/seeds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| serde_json::json!({"id": p.file_stem().unwrap().to_str().unwrap(), "text": std::fs::read_to_string(&p).unwrap()}).to_string() + "\n")
        .collect();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_storyline"))
        .env("STORYLINE_CACHE", tmp.path().join("cache"))
        .env("STORYLINE_MODEL", model())
        .args(["run", "--no-cache", "--input", "-", "--out"])
        .arg(&run)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("batch 1: 5 articles"), "{stdout}");
    let articles = read(&part(&run, "articles"));
    let files: Vec<&str> = articles.column("source_file").unwrap().str().unwrap().iter().map(Option::unwrap_or_default).collect();
    assert_eq!(files, vec!["-"; 5]);
}

/// Six short dated articles, each about something else (written here): six
/// events. A new user's first folder is often this small, and each article's
/// best match among the others is a poor one.
#[test]
fn a_few_unrelated_articles_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let arts = [
        ("dhaka", "Floods cut off villages near Dhaka", "Heavy monsoon rain flooded low-lying villages north of Dhaka on Tuesday, cutting roads and forcing thousands of families onto higher ground. Relief workers handed out rice and clean water from boats, the disaster ministry said."),
        ("chile", "Strong earthquake shakes northern Chile", "A magnitude 6.8 earthquake struck off the coast of northern Chile on Tuesday, swaying buildings in Antofagasta and cutting power to several neighbourhoods. The navy said there was no tsunami threat."),
        ("rates", "Central bank raises interest rate to 5.25 percent", "The central bank raised its benchmark interest rate by a quarter point to 5.25 percent on Tuesday, saying inflation remained too high. Economists had expected the move after strong wage figures last month."),
        ("bikes", "City council approves new bicycle lanes downtown", "The city council voted on Tuesday to build twelve kilometres of protected bicycle lanes through downtown, replacing a lane of parking on four streets. Construction is due to begin in the spring."),
        ("football", "Late goal gives United win over City", "A header in the ninetieth minute gave United a 2-1 win over City on Tuesday night, lifting them to third in the league. City had led at half-time through a penalty."),
        ("antibiotic", "Researchers report new antibiotic against resistant bacteria", "Researchers said on Tuesday they had found a new antibiotic that kills bacteria resistant to most existing drugs, in tests on mice. Trials in people could begin within three years, the team wrote in the journal."),
    ];
    let lines: Vec<String> = arts.iter().map(|(id, t, x)| serde_json::json!({"id": id, "title": t, "date": "2024-05-14", "text": x}).to_string()).collect();
    let input = dir.path().join("six.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let opts = RunOptions { inputs: vec![input], out: dir.path().join("run"), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No };
    let report = pipeline::run(&opts, &Settings::default(), &NoProgress).unwrap();
    assert_eq!(report.clustering.n_events, 6, "events: {:?}", report.clustering.event);
}
