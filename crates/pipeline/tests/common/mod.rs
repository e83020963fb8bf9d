//! Paths the pipeline's integration tests share.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The MiniLM folder: $STORYLINE_MODEL, or the one `cargo xtask setup` links.
pub fn model() -> PathBuf {
    cache_paths::work_tree_model(&workspace())
}

/// Every file under `dir` (recursively) with its bytes, sorted by path; the
/// writer lock's file (who last wrote, not what) left out.
#[allow(dead_code)] // not every test binary uses it
pub fn snapshot(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name() == aggregate::LOCK_FILE {
            continue;
        }
        if e.path().is_dir() {
            out.extend(snapshot(&e.path()));
        } else {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    out.sort();
    out
}

/// Asserts that `storyline verify` finds nothing in the run in `run`.
#[allow(dead_code)]
pub fn verified(run: &std::path::Path) {
    let v = pipeline::verify::verify(run, pipeline::Wait::No).unwrap();
    let findings: Vec<String> = v.findings.iter().map(ToString::to_string).collect();
    assert!(findings.is_empty(), "verify {}: {findings:#?}", run.display());
    assert!(v.articles > 0 && v.parts > 0, "verify looked at nothing");
}

/// Columns that say when and in which batch a row was written: the only
/// columns two ways of making one run may differ in.
#[allow(dead_code)]
const PROVENANCE: &[&str] = &["batch", "added_at", "changed_at", "first_batch", "assigned_at"];

/// A table of a run without its provenance columns: a whole table, or a
/// part table's parts in order.
#[allow(dead_code)]
pub fn table(run: &std::path::Path, name: &str) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    let whole = run.join(format!("{name}.parquet"));
    let files: Vec<PathBuf> = if whole.is_file() {
        vec![whole]
    } else {
        let mut v: Vec<PathBuf> = std::fs::read_dir(run.join(name)).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    };
    let mut df: Option<DataFrame> = None;
    for f in files {
        let part = ParquetReader::new(std::fs::File::open(&f).unwrap()).finish().unwrap();
        match &mut df {
            Some(d) => {
                d.vstack_mut(&part).unwrap();
            }
            None => df = Some(part),
        }
    }
    let df = df.unwrap_or_default();
    let keep: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).filter(|c| !PROVENANCE.contains(&c.as_str())).collect();
    df.select(keep).unwrap()
}

/// Every float a column holds, flattened out of lists and arrays (`None`:
/// the column holds no floats).
#[allow(dead_code)]
fn floats(s: &polars::prelude::Series) -> Option<Vec<Option<f64>>> {
    use polars::prelude::*;
    match s.dtype() {
        DataType::Float32 | DataType::Float64 => Some(s.cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()),
        DataType::List(_) => floats(&s.list().unwrap().get_inner()),
        DataType::Array(_, _) => floats(&s.array().unwrap().get_inner()),
        _ => None,
    }
}

/// Asserts that two runs hold the same tables but for provenance columns
/// (rejects in any order: a job made in shards lists them by shard), bit
/// for bit: floats too, since a sentence's vector depends on the sentence
/// alone (embed::Shapes), never on which sentences share its model call.
#[allow(dead_code)]
pub fn assert_same_run(a: &std::path::Path, b: &std::path::Path) {
    verified(a);
    verified(b);
    let same = |name: &str, x: &polars::prelude::DataFrame, y: &polars::prelude::DataFrame| {
        assert_eq!(x.get_column_names(), y.get_column_names(), "{name}: columns");
        assert_eq!(x.height(), y.height(), "{name}: rows");
        for (cx, cy) in x.columns().iter().zip(y.columns()) {
            let (sx, sy) = (cx.as_materialized_series(), cy.as_materialized_series());
            match (floats(sx), floats(sy)) {
                (Some(fx), Some(fy)) => {
                    assert_eq!(fx.len(), fy.len(), "{name}.{}: values", sx.name());
                    for (i, (u, v)) in fx.iter().zip(&fy).enumerate() {
                        assert!(u.map(f64::to_bits) == v.map(f64::to_bits), "{name}.{}: value {i} differs: {u:?} vs {v:?}", sx.name());
                    }
                }
                _ => assert!(sx.equals_missing(sy), "{name}.{} differs:\n{sx}\n{sy}", sx.name()),
            }
        }
    };
    for name in ["articles", "sentences", "embeddings", "sentence_embeddings", "traces", "events", "stories", "timeline", "article_events", "changes"] {
        let (x, y) = (table(a, name), table(b, name));
        assert!(x.height() > 0, "{name} is empty in {}", a.display());
        same(name, &x, &y);
    }
    let sorted = |run: &std::path::Path| {
        let df = table(run, "rejects");
        let cols: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
        df.sort(cols, Default::default()).unwrap()
    };
    same("rejects", &sorted(a), &sorted(b));
}
