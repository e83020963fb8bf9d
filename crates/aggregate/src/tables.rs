//! Building the output tables as polars data frames.

use polars::prelude::*;

use ingest::{Article, Reject};

use crate::AggregateError;

pub(crate) fn err(table: &'static str) -> impl Fn(PolarsError) -> AggregateError {
    move |source| AggregateError::Polars { table, source }
}

/// Which batch of a growing run a row came with, and when: every table's
/// rows carry both (`batch`, `added_at`), so "what changed today" is a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// 1 for a run's first batch, then one more per add.
    pub batch: u32,
    /// When the batch was added (UTC, RFC 3339 to the second).
    pub added_at: String,
}

impl Stamp {
    fn columns(&self, n: usize) -> [Column; 2] {
        [Column::new("batch".into(), vec![self.batch; n]), Column::new("added_at".into(), vec![self.added_at.as_str(); n])]
    }

    /// `df` with the stamp's two columns appended.
    pub(crate) fn on(&self, mut cols: Vec<Column>, n: usize, table: &'static str) -> Result<DataFrame, AggregateError> {
        cols.extend(self.columns(n));
        DataFrame::new(n, cols).map_err(err(table))
    }
}

fn days_since_epoch(d: chrono::NaiveDate) -> i32 {
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// A `Date` column from optional dates.
pub(crate) fn date_column(name: &str, dates: &[Option<chrono::NaiveDate>]) -> Result<Column, PolarsError> {
    let days: Vec<Option<i32>> = dates.iter().map(|d| d.map(days_since_epoch)).collect();
    Column::new(name.into(), days).cast(&DataType::Date)
}

/// `articles/`: one row per ingested article, keyed by the input id.
pub fn articles_frame(articles: &[Article], stamp: &Stamp) -> Result<DataFrame, AggregateError> {
    let s = |f: &dyn Fn(&Article) -> Option<String>| articles.iter().map(f).collect::<Vec<Option<String>>>();
    let u = |f: &dyn Fn(&Article) -> u32| articles.iter().map(f).collect::<Vec<u32>>();
    let dates: Vec<Option<chrono::NaiveDate>> = articles.iter().map(|a| a.date).collect();
    let date = date_column("date", &dates).map_err(err("articles"))?;
    let cols = vec![
        Column::new("id".into(), articles.iter().map(|a| a.id.clone()).collect::<Vec<_>>()),
        Column::new("source_file".into(), articles.iter().map(|a| a.origin.file.display().to_string()).collect::<Vec<_>>()),
        Column::new("source_record".into(), articles.iter().map(|a| a.origin.record).collect::<Vec<_>>()),
        Column::new("format".into(), articles.iter().map(|a| a.format.as_str()).collect::<Vec<_>>()),
        Column::new("url".into(), s(&|a| a.url.clone())),
        Column::new("title".into(), s(&|a| a.title.clone())),
        date,
        Column::new("date_source".into(), s(&|a| a.date_source.map(|d| d.as_str().to_string()))),
        Column::new("outlet".into(), s(&|a| a.outlet.clone())),
        Column::new("place".into(), s(&|a| a.place.clone())),
        Column::new("language".into(), s(&|a| a.language.clone())),
        Column::new("text".into(), articles.iter().map(|a| a.text.clone()).collect::<Vec<_>>()),
        Column::new("n_sentences".into(), u(&|a| a.sentence_spans.len() as u32)),
        Column::new("duplicate_of".into(), s(&|a| a.duplicate_of.clone())),
        Column::new("content".into(), articles.iter().map(|a| a.content.as_str()).collect::<Vec<_>>()),
        Column::new("removed_comment".into(), u(&|a| a.removed.comment)),
        Column::new("removed_widget".into(), u(&|a| a.removed.widget)),
        Column::new("removed_spam".into(), u(&|a| a.removed.spam)),
        Column::new("removed_repeated".into(), u(&|a| a.removed.repeated)),
        Column::new("removed_furniture".into(), u(&|a| a.removed.furniture)),
        Column::new("removed_fragment".into(), u(&|a| a.removed.fragment)),
        Column::new("removed_byline".into(), u(&|a| a.removed.byline)),
        Column::new("removed_chrome".into(), u(&|a| a.removed.chrome)),
        Column::new("raw_bytes".into(), articles.iter().map(|a| a.raw_bytes as u64).collect::<Vec<_>>()),
    ];
    stamp.on(cols, articles.len(), "articles")
}

/// `sentences/`: article id, sentence index, text.
pub fn sentences_frame(articles: &[Article], stamp: &Stamp) -> Result<DataFrame, AggregateError> {
    let n: usize = articles.iter().map(|a| a.sentence_spans.len()).sum();
    let mut ids = Vec::with_capacity(n);
    let mut idx = Vec::with_capacity(n);
    let mut text = Vec::with_capacity(n);
    for a in articles {
        for (i, s) in a.sentences().enumerate() {
            ids.push(a.id.as_str());
            idx.push(i as u32);
            text.push(s);
        }
    }
    stamp.on(vec![Column::new("article_id".into(), ids), Column::new("index".into(), idx), Column::new("text".into(), text)], n, "sentences")
}

/// `rejects/`: every skipped input item with file, line/record and reason.
pub fn rejects_frame(rejects: &[Reject], stamp: &Stamp) -> Result<DataFrame, AggregateError> {
    stamp.on(
        vec![
            Column::new("file".into(), rejects.iter().map(|r| r.origin.file.display().to_string()).collect::<Vec<_>>()),
            Column::new("record".into(), rejects.iter().map(|r| r.origin.record).collect::<Vec<_>>()),
            Column::new("id".into(), rejects.iter().map(|r| r.id.clone()).collect::<Vec<_>>()),
            Column::new("reason".into(), rejects.iter().map(|r| r.reason.clone()).collect::<Vec<_>>()),
        ],
        rejects.len(),
        "rejects",
    )
}

/// A column of fixed-size f32 vectors (`Array(Float32, dim)`).
fn vector_column<V: AsRef<[f32]>>(name: &str, vectors: &[V], dim: usize) -> Result<Column, PolarsError> {
    let mut flat: Vec<f32> = Vec::with_capacity(vectors.len() * dim);
    for v in vectors {
        match v.as_ref() {
            v if v.len() == dim => flat.extend_from_slice(v),
            _ => flat.extend(std::iter::repeat_n(f32::NAN, dim)),
        }
    }
    let s = Series::new(name.into(), flat);
    if vectors.is_empty() {
        return Series::new_empty(name.into(), &DataType::Array(Box::new(DataType::Float32), dim)).cast(&DataType::Array(Box::new(DataType::Float32), dim)).map(Column::from);
    }
    Ok(s.reshape_array(&[ReshapeDimension::Infer, ReshapeDimension::new(dim as i64)])?.into())
}

/// `embeddings/`: one row per article: its vector and the vectors of its
/// title and lead sentences (`lead_vectors`, `dim` floats each, one after the
/// other), which is all clustering reads of an article's embeddings.
pub fn embeddings_frame<V: AsRef<[f32]>>(
    ids: &[&str],
    vectors: &[V],
    leads: &[Vec<Vec<f32>>],
    dim: usize,
    stamp: &Stamp,
) -> Result<DataFrame, AggregateError> {
    let vec = vector_column("vector", vectors, dim).map_err(err("embeddings"))?;
    let mut b = ListPrimitiveChunkedBuilder::<Float32Type>::new(
        "lead_vectors".into(),
        ids.len(),
        leads.iter().map(|l| l.len() * dim).sum(),
        DataType::Float32,
    );
    for l in leads {
        let flat: Vec<f32> = l.iter().flat_map(|v| v.iter().copied()).collect();
        b.append_slice(&flat);
    }
    let leads = b.finish().into_series().into();
    stamp.on(vec![Column::new("article_id".into(), ids), vec, leads], ids.len(), "embeddings")
}

/// `sentence_embeddings/`: one vector per sentence (index 0 is the
/// first body sentence; the title, when embedded, has index -1).
pub fn sentence_embeddings_frame<V: AsRef<[f32]>>(
    ids: &[&str],
    index: &[i32],
    vectors: &[V],
    dim: usize,
    stamp: &Stamp,
) -> Result<DataFrame, AggregateError> {
    let vec = vector_column("vector", vectors, dim).map_err(err("sentence_embeddings"))?;
    stamp.on(vec![Column::new("article_id".into(), ids), Column::new("index".into(), index), vec], ids.len(), "sentence_embeddings")
}

/// `traces/`: what later batches need of each article (see [`ingest::Trace`]).
pub fn traces_frame(traces: &[ingest::Trace], stamp: &Stamp) -> Result<DataFrame, AggregateError> {
    let list = |name: &str, of: &dyn Fn(&ingest::Trace) -> &[u64]| {
        let mut b = ListPrimitiveChunkedBuilder::<UInt64Type>::new(name.into(), traces.len(), traces.iter().map(|t| of(t).len()).sum(), DataType::UInt64);
        for t in traces {
            b.append_slice(of(t));
        }
        b.finish().into_series().into()
    };
    let lines: Column = list("lines", &|t| &t.lines);
    stamp.on(
        vec![
            Column::new("article_id".into(), traces.iter().map(|t| t.id.as_str()).collect::<Vec<_>>()),
            Column::new("outlet".into(), traces.iter().map(|t| t.outlet.as_deref()).collect::<Vec<_>>()),
            lines,
            Column::new("page".into(), traces.iter().map(|t| t.page).collect::<Vec<_>>()),
            Column::new("title_suffix".into(), traces.iter().map(|t| t.title_suffix.as_deref()).collect::<Vec<_>>()),
            Column::new("simhash".into(), traces.iter().map(|t| t.simhash).collect::<Vec<_>>()),
            list("title_words", &|t| &t.title_words),
            list("chrome", &|t| &t.chrome),
        ],
        traces.len(),
        "traces",
    )
}
