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
            // A page with no content has no keywords, and its words do not
            // weigh on other groups' keywords.
            for &i in g.members.iter().filter(|&&i| articles[i].content != ingest::Content::None) {
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
    let all: Vec<String> = g.members.iter().filter(|&&i| articles[i].content != ingest::Content::None).flat_map(|&i| cluster::terms(&articles[i].text).into_iter().filter(|t| t.contains(' '))).collect();
    most_common(all.iter().map(String::as_str), TOP)
}

fn list_column(name: &str, lists: Vec<Vec<String>>) -> Column {
    let series: Vec<Series> = lists.into_iter().map(|l| Series::new("".into(), l)).collect();
    Series::new(name.into(), series).into()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The member nearest `centroid`; of members within [`NEAR_TIE`] of the
/// nearest, the first. In a two-article event both are exactly as near
/// (for unit vectors), and which one rounding favours depends on the last
/// bits of the vectors, which depend on how sentences were batched through
/// the model (one run or a run made in shards): the first is the same
/// answer either way.
fn representative_of(members: &[usize], vectors: &[Vec<f32>], centroid: &[f32]) -> usize {
    let scores: Vec<f32> = members.iter().map(|&i| dot(&vectors[i], centroid)).collect();
    let best = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let tie = NEAR_TIE * best.abs().max(1.0);
    members.iter().zip(&scores).filter(|(_, &s)| s >= best - tie).map(|(&i, _)| i).min().unwrap_or(members[0])
}

/// Scores this close (relative) to the best are a tie: vectors agree to
/// about 1e-7 across batchings.
const NEAR_TIE: f32 = 1e-5;

fn label(a: &Article) -> String {
    a.headline().chars().take(200).collect()
}

/// A group's stable id and history, for the row of an event or a story
/// (clusterings number groups 0..n; these are the ids that last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMeta {
    pub id: u32,
    /// The batch that first made it.
    pub first_batch: u32,
    /// The batch that last changed it, and when.
    pub batch: u32,
    pub changed_at: String,
}

fn meta_columns(meta: &[GroupMeta], key: &str) -> Vec<Column> {
    vec![
        Column::new(key.into(), meta.iter().map(|m| m.id).collect::<Vec<_>>()),
        Column::new("first_batch".into(), meta.iter().map(|m| m.first_batch).collect::<Vec<_>>()),
        Column::new("batch".into(), meta.iter().map(|m| m.batch).collect::<Vec<_>>()),
        Column::new("changed_at".into(), meta.iter().map(|m| m.changed_at.as_str()).collect::<Vec<_>>()),
    ]
}

/// `events.parquet`: one row per event, by event id. `event` and `story`
/// are each article's group (0..n); `events` and `stories` their ids.
pub fn events_frame(
    articles: &[Article],
    vectors: &[Vec<f32>],
    event: &[u32],
    story: &[u32],
    events: &[GroupMeta],
    stories: &[GroupMeta],
) -> Result<DataFrame, AggregateError> {
    let n_events = events.len();
    let gs = groups(event, n_events);
    let keywords = class_keywords(articles, &gs);
    let mut story_of = vec![0u32; n_events];
    for (i, &e) in event.iter().enumerate() {
        story_of[e as usize] = stories[story[i] as usize].id;
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
        let rep = representative_of(m, vectors, &centroid);
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
    let mut meta = meta_columns(events, "event_id");
    let history = meta.split_off(1);
    let mut cols = meta;
    cols.extend([
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
    ]);
    cols.extend(history);
    // Rows by event id.
    let mut order: Vec<u32> = (0..n_events as u32).collect();
    order.sort_by_key(|&g| events[g as usize].id);
    let order = IdxCa::from_vec("".into(), order.into_iter().map(|g| g as IdxSize).collect());
    DataFrame::new(n_events, cols).map_err(err("events"))?.take(&order).map_err(err("events"))
}

/// Days since 1970-01-01 of a `Date` column's values.
fn days(df: &DataFrame, name: &str, table: &'static str) -> Result<Vec<Option<i32>>, AggregateError> {
    let c = df.column(name).map_err(err(table))?.cast(&DataType::Int32).map_err(err(table))?;
    Ok(c.i32().map_err(err(table))?.iter().collect())
}

fn u32_values(df: &DataFrame, name: &str, table: &'static str) -> Result<Vec<u32>, AggregateError> {
    Ok(df.column(name).map_err(err(table))?.u32().map_err(err(table))?.iter().map(|x| x.unwrap_or(0)).collect())
}

fn date_of(days: Option<i32>) -> Option<NaiveDate> {
    days.map(|d| NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::TimeDelta::days(i64::from(d)))
}

/// `stories.parquet`: one row per story, by story id, its events in date order.
pub fn stories_frame(articles: &[Article], events: &DataFrame, story: &[u32], stories: &[GroupMeta]) -> Result<DataFrame, AggregateError> {
    let t = "stories";
    let gs = groups(story, stories.len());
    let keywords = class_keywords(articles, &gs);
    let event_id = u32_values(events, "event_id", t)?;
    let story_id = u32_values(events, "story_id", t)?;
    let n_articles = u32_values(events, "n_articles", t)?;
    let (first, last) = (days(events, "first_date", t)?, days(events, "last_date", t)?);
    let labels: Vec<String> =
        events.column("label").map_err(err(t))?.str().map_err(err(t))?.iter().map(|l| l.unwrap_or("").to_string()).collect();
    let slot: HashMap<u32, usize> = stories.iter().enumerate().map(|(g, m)| (m.id, g)).collect();
    // Each story's events (rows of `events`), by first date (undated last), then id.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); stories.len()];
    for (r, sid) in story_id.iter().enumerate() {
        if let Some(&g) = slot.get(sid) {
            members[g].push(r);
        }
    }
    for m in &mut members {
        m.sort_by_key(|&r| (first[r].is_none(), first[r], event_id[r]));
    }
    let mut order: Vec<usize> = (0..stories.len()).collect();
    order.sort_by_key(|&g| stories[g].id);
    let mut ids = ListPrimitiveChunkedBuilder::<UInt32Type>::new("event_ids".into(), stories.len(), event_id.len(), DataType::UInt32);
    let (mut n, mut f, mut l, mut label, mut n_events) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &g in &order {
        let m = &members[g];
        ids.append_slice(&m.iter().map(|&r| event_id[r]).collect::<Vec<_>>());
        n.push(m.iter().map(|&r| n_articles[r]).sum::<u32>());
        f.push(date_of(m.iter().filter_map(|&r| first[r]).min()));
        l.push(date_of(m.iter().filter_map(|&r| last[r]).max()));
        // The largest event's label (the earliest of equally large ones).
        let biggest = m.iter().copied().fold(None::<usize>, |b, r| match b {
            Some(x) if n_articles[x] >= n_articles[r] => Some(x),
            _ => Some(r),
        });
        label.push(biggest.map_or(String::new(), |r| labels[r].clone()));
        n_events.push(m.len() as u32);
    }
    let meta: Vec<GroupMeta> = order.iter().map(|&g| stories[g].clone()).collect();
    let mut meta_cols = meta_columns(&meta, "story_id");
    let history = meta_cols.split_off(1);
    let mut cols = meta_cols;
    cols.extend([
        ids.finish().into_series().into(),
        Column::new("n_articles".into(), n),
        date_column("first_date", &f).map_err(err(t))?,
        date_column("last_date", &l).map_err(err(t))?,
        Column::new("label".into(), label),
    ]);
    cols.extend(history);
    cols.push(list_column("keywords", order.iter().map(|&g| keywords[g].clone()).collect()));
    cols.push(Column::new("n_events".into(), n_events));
    DataFrame::new(stories.len(), cols).map_err(err(t))
}

/// `timeline.parquet`: per day and story, articles published and events
/// that began. `dates` and `story_ids` are per article.
pub fn timeline_frame(dates: &[Option<NaiveDate>], story_ids: &[u32], events: &DataFrame) -> Result<DataFrame, AggregateError> {
    let t = "timeline";
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let mut days_of: std::collections::BTreeMap<(i32, u32), (u32, u32)> = std::collections::BTreeMap::new();
    for (d, &s) in dates.iter().zip(story_ids) {
        if let Some(d) = d {
            days_of.entry(((*d - epoch).num_days() as i32, s)).or_default().0 += 1;
        }
    }
    let first = days(events, "first_date", t)?;
    for (d, s) in first.iter().zip(u32_values(events, "story_id", t)?) {
        if let Some(d) = d {
            days_of.entry((*d, s)).or_default().1 += 1;
        }
    }
    let date: Vec<Option<NaiveDate>> = days_of.keys().map(|&(d, _)| date_of(Some(d))).collect();
    DataFrame::new(
        days_of.len(),
        vec![
            date_column("date", &date).map_err(err(t))?,
            Column::new("story_id".into(), days_of.keys().map(|k| k.1).collect::<Vec<_>>()),
            Column::new("n_articles".into(), days_of.values().map(|v| v.0).collect::<Vec<_>>()),
            Column::new("new_events".into(), days_of.values().map(|v| v.1).collect::<Vec<_>>()),
        ],
    )
    .map_err(err(t))
}

/// `article_events.parquet`: each article's event and story, and the batch
/// (and time) in which it last got them.
pub fn article_events_frame(
    ids: &[&str],
    event_ids: &[u32],
    story_ids: &[u32],
    batch: &[u32],
    changed_at: &[&str],
) -> Result<DataFrame, AggregateError> {
    DataFrame::new(
        ids.len(),
        vec![
            Column::new("article_id".into(), ids),
            Column::new("event_id".into(), event_ids),
            Column::new("story_id".into(), story_ids),
            Column::new("batch".into(), batch),
            Column::new("changed_at".into(), changed_at),
        ],
    )
    .map_err(err("article_events"))
}

/// One row of `changes.parquet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// `event` or `story`.
    pub level: &'static str,
    pub id: u32,
    /// `new`, `grew`, `shrank`, `merged` (into `other_id`) or `split` (from `other_id`).
    pub change: &'static str,
    pub other_id: Option<u32>,
    /// Articles in it now (0 for one merged away).
    pub n_articles: u32,
}

/// `changes.parquet`: the events and stories this run or add touched.
pub fn changes_frame(rows: &[ChangeRecord], stamp: &crate::Stamp) -> Result<DataFrame, AggregateError> {
    stamp.on(
        vec![
            Column::new("level".into(), rows.iter().map(|r| r.level).collect::<Vec<_>>()),
            Column::new("id".into(), rows.iter().map(|r| r.id).collect::<Vec<_>>()),
            Column::new("change".into(), rows.iter().map(|r| r.change).collect::<Vec<_>>()),
            Column::new("other_id".into(), rows.iter().map(|r| r.other_id).collect::<Vec<_>>()),
            Column::new("n_articles".into(), rows.iter().map(|r| r.n_articles).collect::<Vec<_>>()),
        ],
        rows.len(),
        "changes",
    )
}

#[cfg(test)]
mod tests {
    use super::representative_of;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// A two-article event's members are equally near its centroid, up to
    /// rounding: the first is its representative, whichever way the last
    /// bits of the vectors fall. A clear winner still wins.
    #[test]
    fn near_ties_go_to_the_first_member() {
        let (a, b) = (unit(&[1.0, 0.2, 0.0]), unit(&[0.3, 1.0, 0.1]));
        let mut b_nudged = b.clone();
        b_nudged[0] += 2e-7;
        for vectors in [vec![a.clone(), b.clone()], vec![a.clone(), b_nudged]] {
            let centroid: Vec<f32> = vectors[0].iter().zip(&vectors[1]).map(|(x, y)| x + y).collect();
            assert_eq!(representative_of(&[0, 1], &vectors, &centroid), 0);
        }
        let c = unit(&[0.9, 0.5, 0.05]);
        let vectors = vec![a, b, c];
        let centroid: Vec<f32> = (0..3).map(|d| vectors.iter().map(|v| v[d]).sum()).collect();
        assert_eq!(representative_of(&[0, 1, 2], &vectors, &centroid), 2, "the middle one is nearest");
    }
}
