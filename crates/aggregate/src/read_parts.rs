//! Reading a growing run's parts back: what an add needs of the earlier
//! batches (their articles, vectors, traces and event ids), in corpus order.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use ingest::{Article, DateSource, InputFormat, Origin, Prior, Removed, Trace};

use crate::run_dir::RunDir;
use crate::AggregateError;

fn read_err(path: &Path) -> impl Fn(PolarsError) -> AggregateError + '_ {
    move |source| AggregateError::Read { path: path.to_path_buf(), source }
}

/// The named columns of one parquet file.
fn read(path: &Path, columns: &[&str]) -> Result<DataFrame, AggregateError> {
    let f = std::fs::File::open(path).map_err(|source| AggregateError::Io { path: path.to_path_buf(), source })?;
    ParquetReader::new(f)
        .with_columns(Some(columns.iter().map(|c| c.to_string()).collect()))
        .finish()
        .map_err(read_err(path))
}

/// Rows of a parquet file, from its footer.
pub fn parquet_rows(path: &Path) -> Result<usize, AggregateError> {
    let f = std::fs::File::open(path).map_err(|source| AggregateError::Io { path: path.to_path_buf(), source })?;
    ParquetReader::new(f).num_rows().map_err(read_err(path))
}

/// One string column of a parquet file (nulls as `None`).
pub fn read_strings(path: &Path, column: &str) -> Result<Vec<Option<String>>, AggregateError> {
    strings(&read(path, &[column])?, column, path)
}

/// Whether a parquet file has column `name` (parts written before a column
/// existed lack it).
fn has_column(path: &Path, name: &str) -> Result<bool, AggregateError> {
    let f = std::fs::File::open(path).map_err(|source| AggregateError::Io { path: path.to_path_buf(), source })?;
    let schema = ParquetReader::new(f).schema().map_err(read_err(path))?;
    Ok(schema.contains(name))
}

/// Rows read at a time from a part: a run's first part holds its whole
/// first batch, and a whole part in polars next to the Rust values built
/// from it would hold the batch twice. (Parts are written in row groups of
/// this size.)
const SLICE_ROWS: usize = 2000;

/// The named columns of one parquet file, `SLICE_ROWS` rows at a time.
fn read_slices(path: &Path, columns: &[&str], mut each: impl FnMut(DataFrame) -> Result<(), AggregateError>) -> Result<(), AggregateError> {
    let open = || std::fs::File::open(path).map_err(|source| AggregateError::Io { path: path.to_path_buf(), source });
    let rows = ParquetReader::new(open()?).num_rows().map_err(read_err(path))?;
    for start in (0..rows).step_by(SLICE_ROWS) {
        let df = ParquetReader::new(open()?)
            .with_columns(Some(columns.iter().map(|c| c.to_string()).collect()))
            .with_slice(Some((start, SLICE_ROWS.min(rows - start))))
            .finish()
            .map_err(read_err(path))?;
        each(df)?;
    }
    Ok(())
}

fn series<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Series, AggregateError> {
    Ok(df.column(name).map_err(read_err(path))?.as_materialized_series())
}

fn strings(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<Option<String>>, AggregateError> {
    Ok(series(df, name, path)?.str().map_err(read_err(path))?.iter().map(|s| s.map(str::to_string)).collect())
}

fn u32s(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<u32>, AggregateError> {
    let s = series(df, name, path)?.cast(&DataType::UInt32).map_err(read_err(path))?;
    Ok(s.u32().map_err(read_err(path))?.iter().map(|x| x.unwrap_or(0)).collect())
}

/// The earlier batches' articles, in corpus order.
/// Sentence spans are found again only where the headline needs them (an
/// article with no title is named by its first sentence).
pub fn read_articles(run: &RunDir) -> Result<Vec<Article>, AggregateError> {
    const COLS: &[&str] = &[
        "id", "source_file", "source_record", "format", "url", "title", "date", "date_source", "outlet", "place",
        "language", "text", "duplicate_of", "removed_comment", "removed_widget", "removed_spam", "removed_repeated",
        "removed_furniture", "removed_fragment", "removed_byline", "raw_bytes",
    ];
    let mut articles = Vec::new();
    for path in run.parts("articles") {
        let p = path.as_path();
        // Parts written before chrome was removed have no count of it.
        let chrome = has_column(p, "removed_chrome")?;
        let mut cols = COLS.to_vec();
        if chrome {
            cols.push("removed_chrome");
        }
        read_slices(p, &cols, |df| {
            let col = |n: &str| strings(&df, n, p);
            let (id, file, format, url, title) = (col("id")?, col("source_file")?, col("format")?, col("url")?, col("title")?);
            let (date_source, outlet, place, language, text, dup) =
                (col("date_source")?, col("outlet")?, col("place")?, col("language")?, col("text")?, col("duplicate_of")?);
            let record: Vec<Option<u64>> =
                series(&df, "source_record", p)?.cast(&DataType::UInt64).map_err(read_err(p))?.u64().map_err(read_err(p))?.iter().collect();
            let raw: Vec<u64> =
                series(&df, "raw_bytes", p)?.cast(&DataType::UInt64).map_err(read_err(p))?.u64().map_err(read_err(p))?.iter().map(|x| x.unwrap_or(0)).collect();
            let dates: Vec<Option<i32>> =
                series(&df, "date", p)?.cast(&DataType::Int32).map_err(read_err(p))?.i32().map_err(read_err(p))?.iter().collect();
            let removed: Vec<Vec<u32>> = ["comment", "widget", "spam", "repeated", "furniture", "fragment", "byline"]
                .iter()
                .map(|r| u32s(&df, &format!("removed_{r}"), p))
                .collect::<Result<_, _>>()?;
            let removed_chrome = if chrome { u32s(&df, "removed_chrome", p)? } else { vec![0; df.height()] };
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
            for i in 0..df.height() {
                let text = text[i].clone().unwrap_or_default();
                let title = title[i].clone();
                let sentence_spans = if title.is_none() { ingest::sentence_spans(&text) } else { Vec::new() };
                // A function of the title and text: found again, so runs
                // written before the column existed read the same.
                let content = ingest::Content::of(title.as_deref(), &text);
                articles.push(Article {
                    id: id[i].clone().unwrap_or_default(),
                    origin: Origin { file: file[i].clone().unwrap_or_default().into(), record: record[i] },
                    format: format[i].as_deref().and_then(InputFormat::from_name).unwrap_or(InputFormat::Jsonl),
                    url: url[i].clone(),
                    title,
                    date: dates[i].map(|d| epoch + chrono::Days::new(d.max(0) as u64)),
                    date_source: date_source[i].as_deref().and_then(DateSource::from_name),
                    outlet: outlet[i].clone(),
                    place: place[i].clone(),
                    language: language[i].clone(),
                    text,
                    sentence_spans,
                    duplicate_of: dup[i].clone(),
                    content,
                    removed: Removed {
                        comment: removed[0][i],
                        widget: removed[1][i],
                        spam: removed[2][i],
                        repeated: removed[3][i],
                        furniture: removed[4][i],
                        fragment: removed[5][i],
                        byline: removed[6][i],
                        chrome: removed_chrome[i],
                    },
                    raw_bytes: raw[i] as usize,
                });
            }
            Ok(())
        })?;
    }
    Ok(articles)
}

/// Article vectors and lead vectors of the earlier batches, by article id.
pub type Vectors = HashMap<String, (Vec<f32>, Vec<Vec<f32>>)>;

/// Every article's vector and lead vectors (see [`crate::embeddings_frame`]).
pub fn read_embeddings(run: &RunDir) -> Result<Vectors, AggregateError> {
    let mut out = HashMap::new();
    for path in run.parts("embeddings") {
        let p = path.as_path();
        read_slices(p, &["article_id", "vector", "lead_vectors"], |df| {
            let ids = strings(&df, "article_id", p)?;
            let arr = series(&df, "vector", p)?.array().map_err(read_err(p))?.rechunk();
            let dim = arr.width();
            let flat: Vec<f32> = arr.get_inner().f32().map_err(read_err(p))?.iter().map(|x| x.unwrap_or(f32::NAN)).collect();
            let leads = series(&df, "lead_vectors", p)?.list().map_err(read_err(p))?.clone();
            for (i, id) in ids.into_iter().enumerate() {
                let lead = leads.get_as_series(i);
                let v = flat[i * dim..(i + 1) * dim].to_vec();
                let v = if v.iter().any(|x| x.is_nan()) { Vec::new() } else { v };
                let lead: Vec<Vec<f32>> = match lead {
                    Some(s) => {
                        let xs: Vec<f32> = s.f32().map_err(read_err(p))?.iter().map(|x| x.unwrap_or(0.0)).collect();
                        xs.chunks_exact(dim.max(1)).map(<[f32]>::to_vec).collect()
                    }
                    None => Vec::new(),
                };
                out.insert(id.unwrap_or_default(), (v, lead));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The earlier batches' traces, in corpus order.
pub fn read_traces(run: &RunDir) -> Result<Prior, AggregateError> {
    Ok(Prior { traces: read_trace_files(&run.parts("traces"))? })
}

/// The traces in parquet files of the `traces` table's columns, in order.
pub fn read_trace_files(paths: &[std::path::PathBuf]) -> Result<Vec<Trace>, AggregateError> {
    let mut traces = Vec::new();
    for path in paths {
        let p = path.as_path();
        // Traces written before chrome was voted on carry no votes for it.
        let chrome = has_column(p, "chrome")?;
        let mut cols = vec!["article_id", "outlet", "lines", "page", "title_suffix", "simhash"];
        if chrome {
            cols.extend(["title_words", "chrome"]);
        }
        let u64_lists = |df: &DataFrame, name: &str| -> Result<Vec<Vec<u64>>, AggregateError> {
            let l = series(df, name, p)?.list().map_err(read_err(p))?.clone();
            (0..df.height())
                .map(|i| match l.get_as_series(i) {
                    Some(s) => Ok(s.u64().map_err(read_err(p))?.iter().flatten().collect()),
                    None => Ok(Vec::new()),
                })
                .collect()
        };
        read_slices(p, &cols, |df| {
            let (ids, outlets, suffixes) = (strings(&df, "article_id", p)?, strings(&df, "outlet", p)?, strings(&df, "title_suffix", p)?);
            let mut lines = u64_lists(&df, "lines")?;
            let (mut title_words, mut votes) =
                if chrome { (u64_lists(&df, "title_words")?, u64_lists(&df, "chrome")?) } else { (vec![Vec::new(); df.height()], vec![Vec::new(); df.height()]) };
            let page: Vec<u64> = series(&df, "page", p)?.u64().map_err(read_err(p))?.iter().map(|x| x.unwrap_or(0)).collect();
            let simhash: Vec<Option<u64>> = series(&df, "simhash", p)?.u64().map_err(read_err(p))?.iter().collect();
            for i in 0..df.height() {
                traces.push(Trace {
                    id: ids[i].clone().unwrap_or_default(),
                    outlet: outlets[i].clone(),
                    lines: std::mem::take(&mut lines[i]),
                    page: page[i],
                    title_suffix: suffixes[i].clone(),
                    simhash: simhash[i],
                    title_words: std::mem::take(&mut title_words[i]),
                    chrome: std::mem::take(&mut votes[i]),
                });
            }
            Ok(())
        })?;
    }
    Ok(traces)
}

/// One article's place in the events and stories of the previous state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub event_id: u32,
    pub story_id: u32,
    /// The batch (and time) in which the article got these ids.
    pub batch: u32,
    pub changed_at: String,
}

/// `article_events.parquet` of the previous state, by article id (empty
/// when there is none).
pub fn read_assignments(run: &RunDir) -> Result<HashMap<String, Assignment>, AggregateError> {
    let path = run.root().join("article_events.parquet");
    if !path.is_file() {
        return Ok(HashMap::new());
    }
    let p = path.as_path();
    let df = read(p, &["article_id", "event_id", "story_id", "batch", "changed_at"])?;
    let ids = strings(&df, "article_id", p)?;
    let at = strings(&df, "changed_at", p)?;
    let (e, s, b) = (u32s(&df, "event_id", p)?, u32s(&df, "story_id", p)?, u32s(&df, "batch", p)?);
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let changed_at = at[i].clone().unwrap_or_default();
            (id.unwrap_or_default(), Assignment { event_id: e[i], story_id: s[i], batch: b[i], changed_at })
        })
        .collect())
}

/// When each event (or story) of the previous state was first made and last
/// changed: `id -> (first_batch, batch, changed_at)`, from `table`
/// (`events.parquet` keyed by `event_id`, `stories.parquet` by `story_id`).
pub fn read_group_history(run: &RunDir, table: &str, key: &str) -> Result<HashMap<u32, (u32, u32, String)>, AggregateError> {
    let path = run.root().join(table);
    if !path.is_file() {
        return Ok(HashMap::new());
    }
    let p = path.as_path();
    let df = read(p, &[key, "first_batch", "batch", "changed_at"])?;
    let (ids, first, batch) = (u32s(&df, key, p)?, u32s(&df, "first_batch", p)?, u32s(&df, "batch", p)?);
    let at = strings(&df, "changed_at", p)?;
    Ok(ids.into_iter().enumerate().map(|(i, id)| (id, (first[i], batch[i], at[i].clone().unwrap_or_default()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{articles_frame, embeddings_frame, stage_parquet, Stamp, StagedParquet};

    /// Parts longer than one read slice, written the way a run writes them
    /// (rounds of row groups) and whole (one frame), read back in order.
    #[test]
    fn parts_longer_than_a_slice_read_back_whole_and_in_order() {
        let n = 2 * SLICE_ROWS + 500;
        let docs: Vec<ingest::RawDoc> = (0..n)
            .map(|i| ingest::RawDoc {
                origin: Origin { file: "t.jsonl".into(), record: Some(i as u64 + 1) },
                format: InputFormat::Jsonl,
                id: format!("a{i:05}"),
                title: Some(format!("Report number {i}")),
                date: Some("2021-12-31".into()),
                url: None,
                source: None,
                text: format!("Officials in ward {i} said the road near block {} closed on Friday.", i * 7),
                title_from_field: true,
                crawl_date: None,
            })
            .collect();
        let articles = ingest::ingest_docs(docs, &ingest::IngestOptions::default()).articles;
        assert_eq!(articles.len(), n);
        let dim = 4;
        let vectors: Vec<Vec<f32>> = (0..n).map(|i| vec![i as f32, 1.0, 2.0, 3.0]).collect();
        let leads: Vec<Vec<Vec<f32>>> = (0..n).map(|i| vec![vec![i as f32; dim], vec![-(i as f32); dim]]).collect();
        let ids: Vec<&str> = articles.iter().map(|a| a.id.as_str()).collect();
        let stamp = Stamp { batch: 1, added_at: "2026-12-02T00:00:00Z".into() };

        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        let mut commit = run.commit();
        // First half in rounds of row groups, second half as one frame.
        let half = n / 2;
        let mut first = articles_frame(&articles[..1000], &stamp).unwrap();
        let mut w = StagedParquet::create(&run.part_path("articles", 1, "a"), &first).unwrap();
        w.write(&mut first).unwrap();
        for start in (1000..half).step_by(1000) {
            w.write(&mut articles_frame(&articles[start..half.min(start + 1000)], &stamp).unwrap()).unwrap();
        }
        commit.add(w.finish().unwrap());
        commit.add(stage_parquet(&run.part_path("articles", 1, "b"), &mut articles_frame(&articles[half..], &stamp).unwrap()).unwrap());
        let mut e = embeddings_frame(&ids, &vectors, &leads, dim, &stamp).unwrap();
        commit.add(stage_parquet(&run.part_path("embeddings", 1, "a"), &mut e).unwrap());
        commit.commit().unwrap();

        let back = read_articles(&run).unwrap();
        assert_eq!(back.len(), n);
        assert!(back.iter().zip(&articles).all(|(b, a)| b.id == a.id && b.text == a.text && b.title == a.title && b.date == a.date));
        let vecs = read_embeddings(&run).unwrap();
        assert_eq!(vecs.len(), n);
        for i in [0, SLICE_ROWS - 1, SLICE_ROWS, n - 1] {
            let (v, l) = &vecs[&articles[i].id];
            assert_eq!(v, &vectors[i]);
            assert_eq!(l, &leads[i]);
        }
    }
}
