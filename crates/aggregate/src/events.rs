//! Event and story tables: sizes, spans, labels, class-based TF-IDF
//! keywords, places and names, representative articles; and the timeline.

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use ingest::Article;

use crate::tables::{date_column, err};
use crate::AggregateError;

/// Keywords, places and names listed per event or story.
const TOP: usize = 8;

/// Per-group summaries shared by events and stories.
struct Group {
    members: Vec<usize>,
}

fn groups(ids: &[u32], n: usize) -> Vec<Group> {
    let mut g: Vec<Group> = (0..n).map(|_| Group { members: Vec::new() }).collect();
    for (i, &e) in ids.iter().enumerate() {
        g[e as usize].members.push(i);
    }
    g
}

/// Class-based TF-IDF: a term scores high for a group when it is frequent
/// in the group's articles and rare across groups. Returns the top terms.
fn class_keywords(articles: &[Article], groups: &[Group]) -> Vec<Vec<String>> {
    let counts: Vec<HashMap<String, f32>> = groups
        .iter()
        .map(|g| {
            let mut tf: HashMap<String, f32> = HashMap::new();
            for &i in &g.members {
                let a = &articles[i];
                let text = format!("{} {}", a.title.as_deref().unwrap_or(""), a.text);
                for t in cluster::terms(&text) {
                    if !t.chars().all(|c| c.is_ascii_digit()) {
                        *tf.entry(t).or_default() += 1.0;
                    }
                }
            }
            tf
        })
        .collect();
    let mut total: HashMap<&str, f32> = HashMap::new();
    for tf in &counts {
        for (t, c) in tf {
            *total.entry(t.as_str()).or_default() += c;
        }
    }
    let avg_words = counts.iter().map(|tf| tf.values().sum::<f32>()).sum::<f32>() / counts.len().max(1) as f32;
    counts
        .iter()
        .map(|tf| {
            let size: f32 = tf.values().sum::<f32>().max(1.0);
            let mut scored: Vec<(&str, f32)> = tf
                .iter()
                .map(|(t, &c)| (t.as_str(), (c / size) * (1.0 + avg_words / total[t.as_str()]).ln()))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            scored.into_iter().take(TOP).map(|(t, _)| t.to_string()).collect()
        })
        .collect()
}

/// The most frequent values, ties broken alphabetically.
fn most_common<'a>(values: impl Iterator<Item = &'a str>, k: usize) -> Vec<String> {
    let mut c: HashMap<&str, usize> = HashMap::new();
    for v in values {
        *c.entry(v).or_default() += 1;
    }
    let mut v: Vec<(&str, usize)> = c.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter().take(k).map(|x| x.0.to_string()).collect()
}

/// Names: pairs of capitalised words most mentioned in the group.
fn names(articles: &[Article], g: &Group) -> Vec<String> {
    let all: Vec<String> = g.members.iter().flat_map(|&i| cluster::terms(&articles[i].text).into_iter().filter(|t| t.contains(' '))).collect();
    most_common(all.iter().map(String::as_str), TOP)
}

fn list_column(name: &str, lists: Vec<Vec<String>>) -> Column {
    let series: Vec<Series> = lists.into_iter().map(|l| Series::new("".into(), l)).collect();
    Series::new(name.into(), series).into()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn label(a: &Article) -> String {
    a.headline().chars().take(200).collect()
}

/// `events.parquet`: one row per event.
pub fn events_frame(
    articles: &[Article],
    vectors: &[Vec<f32>],
    event: &[u32],
    story: &[u32],
    n_events: usize,
) -> Result<DataFrame, AggregateError> {
    let gs = groups(event, n_events);
    let keywords = class_keywords(articles, &gs);
    let mut story_of = vec![0u32; n_events];
    for (i, &e) in event.iter().enumerate() {
        story_of[e as usize] = story[i];
    }
    let mut n_articles = Vec::new();
    let mut n_outlets = Vec::new();
    let mut first = Vec::new();
    let mut last = Vec::new();
    let mut labels = Vec::new();
    let mut places = Vec::new();
    let mut name_lists = Vec::new();
    let mut representative = Vec::new();
    let mut mean_sim: Vec<Option<f32>> = Vec::new();
    for g in &gs {
        let m = &g.members;
        n_articles.push(m.len() as u32);
        n_outlets.push(most_common(m.iter().filter_map(|&i| articles[i].outlet.as_deref()), usize::MAX).len() as u32);
        let dates: Vec<NaiveDate> = m.iter().filter_map(|&i| articles[i].date).collect();
        first.push(dates.iter().min().copied());
        last.push(dates.iter().max().copied());
        places.push(most_common(m.iter().filter_map(|&i| articles[i].place.as_deref()), TOP));
        name_lists.push(names(articles, g));
        // Representative: the article nearest the centroid of the event.
        let dim = m.iter().map(|&i| vectors[i].len()).max().unwrap_or(0);
        let mut centroid = vec![0.0f32; dim];
        for &i in m {
            for (c, x) in centroid.iter_mut().zip(&vectors[i]) {
                *c += x;
            }
        }
        let rep = *m
            .iter()
            .max_by(|&&a, &&b| dot(&vectors[a], &centroid).total_cmp(&dot(&vectors[b], &centroid)).then(b.cmp(&a)))
            .unwrap_or(&m[0]);
        representative.push(articles[rep].id.clone());
        labels.push(label(&articles[rep]));
        mean_sim.push((m.len() > 1).then(|| {
            let mut s = 0.0;
            let mut k = 0;
            for (x, &a) in m.iter().enumerate() {
                for &b in &m[x + 1..] {
                    s += dot(&vectors[a], &vectors[b]);
                    k += 1;
                }
            }
            s / k as f32
        }));
    }
    let cols = vec![
        Column::new("event_id".into(), (0..n_events as u32).collect::<Vec<_>>()),
        Column::new("story_id".into(), story_of),
        Column::new("n_articles".into(), n_articles),
        Column::new("n_outlets".into(), n_outlets),
        date_column("first_date", &first).map_err(err("events"))?,
        date_column("last_date", &last).map_err(err("events"))?,
        Column::new("label".into(), labels),
        list_column("keywords", keywords),
        list_column("places", places),
        list_column("names", name_lists),
        Column::new("representative_id".into(), representative),
        Column::new("mean_similarity".into(), mean_sim),
    ];
    DataFrame::new(n_events, cols).map_err(err("events"))
}

/// `stories.parquet`: one row per story, its events in date order.
pub fn stories_frame(articles: &[Article], events: &DataFrame, story: &[u32], n_stories: usize) -> Result<DataFrame, AggregateError> {
    let gs = groups(story, n_stories);
    let keywords = class_keywords(articles, &gs);
    let e = err("stories");
    // Events per story, ordered by first date (undated last), then id.
    let ordered = events
        .clone()
        .lazy()
        .sort(["first_date", "event_id"], SortMultipleOptions::default().with_nulls_last(true))
        .group_by_stable([col("story_id")])
        .agg([
            col("event_id").alias("event_ids"),
            col("n_articles").sum().alias("n_articles"),
            col("first_date").min(),
            col("last_date").max(),
            col("label").sort_by([col("n_articles")], SortMultipleOptions::default().with_order_descending(true).with_maintain_order(true)).first().alias("label"),
        ])
        .sort(["story_id"], Default::default())
        .collect()
        .map_err(&e)?;
    let mut df = ordered;
    df.with_column(Column::new("keywords".into(), list_column("keywords", keywords).take_materialized_series()))
        .map_err(&e)?;
    let n_events = df.column("event_ids").map_err(&e)?.list().map_err(&e)?.lst_lengths();
    df.with_column(Column::new("n_events".into(), n_events.into_series())).map_err(&e)?;
    Ok(df)
}

/// `timeline.parquet`: per day and story, articles published and events that began.
pub fn timeline_frame(articles_df: &DataFrame, events: &DataFrame) -> Result<DataFrame, AggregateError> {
    let e = err("timeline");
    let per_day = articles_df
        .clone()
        .lazy()
        .filter(col("date").is_not_null())
        .group_by([col("date"), col("story_id")])
        .agg([len().cast(DataType::UInt32).alias("n_articles")]);
    let new_events = events
        .clone()
        .lazy()
        .filter(col("first_date").is_not_null())
        .group_by([col("first_date").alias("date"), col("story_id")])
        .agg([len().cast(DataType::UInt32).alias("new_events")]);
    per_day
        .join(new_events, [col("date"), col("story_id")], [col("date"), col("story_id")], JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns))
        .with_columns([col("n_articles").fill_null(lit(0u32)), col("new_events").fill_null(lit(0u32))])
        .sort(["date", "story_id"], Default::default())
        .collect()
        .map_err(e)
}
