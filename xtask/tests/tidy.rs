//! Codebase checks, as ordinary tests ("tidy").

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn crates() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("crates")).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

#[test]
fn crate_directories_are_named_like_their_crates_and_share_lints() {
    for dir in crates() {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{} is not named {name}", dir.display());
        assert!(manifest.contains("publish = false"), "{name} must not be publishable");
        assert!(manifest.contains("[lints]\nworkspace = true"), "{name} must use [workspace.lints]");
    }
}

#[test]
fn libraries_log_with_tracing_and_never_print() {
    for dir in crates() {
        // Binaries print (their summary, their errors): main.rs and every
        // `[[bin]]` path of the manifest.
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let bins: Vec<PathBuf> = manifest
            .split("[[bin]]")
            .skip(1)
            .filter_map(|section| section.lines().find_map(|l| l.trim().strip_prefix("path = ")))
            .map(|p| dir.join(p.trim_matches('"')))
            .collect();
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for f in files {
            // A binary's own modules live beside its main.rs.
            let in_bin = bins.iter().any(|b| b.ends_with("main.rs") && b.parent().is_some_and(|d| f.starts_with(d)));
            if f.ends_with("main.rs") || bins.contains(&f) || in_bin {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for bad in ["println!", "eprintln!", "print!(", "dbg!(", "anyhow::"] {
                assert!(!text.contains(bad), "{} uses {bad}: libraries use tracing and thiserror", f.display());
            }
        }
    }
}

#[test]
fn cluster_knows_nothing_of_libtorch_or_parquet() {
    let manifest = std::fs::read_to_string(root().join("crates/cluster/Cargo.toml")).unwrap();
    for dep in ["tch", "rust-bert", "polars", "embed", "aggregate"] {
        assert!(!manifest.contains(&format!("\n{dep}")), "cluster depends on {dep}");
    }
    let ingest = std::fs::read_to_string(root().join("crates/ingest/Cargo.toml")).unwrap();
    for dep in ["tch", "rust-bert", "polars", "embed", "cluster", "aggregate"] {
        assert!(!ingest.contains(&format!("\n{dep}")), "ingest depends on {dep}");
    }
}

#[test]
fn ingest_compiles_every_pattern_before_the_first_article() {
    // Each module lists its lazily built patterns in its `COMPILE`, which
    // `compile_patterns` runs on all threads at once; one left out is
    // compiled while the other threads wait for it.
    let mut files = Vec::new();
    rust_files(&root().join("crates/ingest/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let listed: Vec<&str> = text
            .split("compile_list![")
            .skip(1)
            .filter_map(|rest| rest.split(']').next())
            .flat_map(|names| names.split(',').map(str::trim))
            .collect();
        for line in text.lines() {
            let Some(rest) = line.split("static ").nth(1).filter(|r| r.contains(": LazyLock<")) else { continue };
            let name = rest.split(':').next().unwrap().trim();
            assert!(listed.contains(&name), "{}: {name} is not in the module's COMPILE list", f.display());
        }
    }
}

#[test]
fn tests_that_read_shared_are_listed_for_plain_clones() {
    // `cargo xtask test` leaves the tests of xtask/shared-tests.txt out (and
    // says so) when ../shared is missing. A test file that reads ../shared
    // must have its tests listed there, and every listed test must exist.
    let list = std::fs::read_to_string(root().join("xtask/shared-tests.txt")).unwrap();
    let listed: Vec<(&str, &str)> =
        list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).filter_map(|l| l.split_once(' ')).collect();
    for (binary, test) in &listed {
        // `ingest::snapshots` is crates/ingest/tests/snapshots.rs.
        let (krate, file) = binary.split_once("::").unwrap();
        let text = std::fs::read_to_string(root().join("crates").join(krate).join("tests").join(format!("{file}.rs"))).unwrap();
        assert!(text.contains(&format!("fn {test}(")), "xtask/shared-tests.txt lists {binary} {test}, which does not exist");
    }
    for dir in crates() {
        let Ok(entries) = std::fs::read_dir(dir.join("tests")) else { continue };
        let krate = dir.file_name().unwrap().to_string_lossy().into_owned();
        for e in entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "rs")) {
            let text = std::fs::read_to_string(e.path()).unwrap();
            if !text.contains("../shared/datasets") {
                continue;
            }
            let binary = format!("{krate}::{}", e.path().file_stem().unwrap().to_string_lossy());
            assert!(
                listed.iter().any(|(b, _)| *b == binary),
                "{} reads ../shared/datasets but none of its tests is in xtask/shared-tests.txt",
                e.path().display()
            );
        }
    }
}
