//! Event and story ids that last: a clustering of the whole corpus matched
//! to the ids of the previous state (`cluster::carry_ids`), and the history
//! columns (first batch, last changed) of each event, story and article.

use std::collections::HashMap;

use aggregate::{Assignment, ChangeRecord, GroupMeta, RunDir, Stamp};
use cluster::{carry_ids, Change, ChangeRow, Clustering};
use ingest::Article;

use crate::{Manifest, PipelineError};

/// The lasting ids of a clustering and what changed.
pub(crate) struct Ids {
    /// Per article.
    pub event_of: Vec<u32>,
    pub story_of: Vec<u32>,
    /// Per article: the batch (and time) in which it got these ids.
    pub assigned_batch: Vec<u32>,
    pub assigned_at: Vec<String>,
    /// Per group of the clustering (0..n).
    pub events: Vec<GroupMeta>,
    pub stories: Vec<GroupMeta>,
    pub changes: Vec<ChangeRecord>,
    pub next_event_id: u32,
    pub next_story_id: u32,
}

fn change_record(level: &'static str, r: &ChangeRow) -> ChangeRecord {
    let (change, other_id) = match r.change {
        Change::New => ("new", None),
        Change::Grew => ("grew", None),
        Change::Shrank => ("shrank", None),
        Change::MergedInto(x) => ("merged", Some(x)),
        Change::SplitFrom(x) => ("split", Some(x)),
    };
    ChangeRecord { level, id: r.id, change, other_id, n_articles: r.size as u32 }
}

/// The history columns of each group: kept from `history` unless the group
/// is new or changed in this batch.
fn metas(ids: &[u32], changes: &[ChangeRow], history: &HashMap<u32, (u32, u32, String)>, stamp: &Stamp) -> Vec<GroupMeta> {
    let touched: std::collections::HashSet<u32> =
        changes.iter().filter(|r| !matches!(r.change, Change::MergedInto(_))).map(|r| r.id).collect();
    ids.iter()
        .map(|&id| {
            let now = GroupMeta { id, first_batch: stamp.batch, batch: stamp.batch, changed_at: stamp.added_at.clone() };
            match history.get(&id) {
                None => now,
                Some((first, batch, at)) if !touched.contains(&id) => {
                    GroupMeta { id, first_batch: *first, batch: *batch, changed_at: at.clone() }
                }
                Some((first, _, _)) => GroupMeta { first_batch: *first, ..now },
            }
        })
        .collect()
}

/// Matches `clustering` of `corpus` to the previous state (`assignments`,
/// and the events and stories tables in `dir`).
pub(crate) fn carry(
    corpus: &[Article],
    clustering: &Clustering,
    assignments: &HashMap<String, Assignment>,
    previous: Option<&Manifest>,
    dir: &RunDir,
    stamp: &Stamp,
) -> Result<Ids, PipelineError> {
    let before: Vec<Option<&Assignment>> = corpus.iter().map(|a| assignments.get(&a.id)).collect();
    let prev_event: Vec<Option<u32>> = before.iter().map(|b| b.map(|x| x.event_id)).collect();
    let prev_story: Vec<Option<u32>> = before.iter().map(|b| b.map(|x| x.story_id)).collect();
    let (next_event, next_story) = previous.map_or((0, 0), |m| (m.next_event_id, m.next_story_id));
    let ev = carry_ids(&prev_event, &clustering.event, clustering.n_events, next_event);
    let st = carry_ids(&prev_story, &clustering.story, clustering.n_stories, next_story);
    let (event_history, story_history) = if previous.is_some() {
        (aggregate::read_group_history(dir, "events.parquet", "event_id")?, aggregate::read_group_history(dir, "stories.parquet", "story_id")?)
    } else {
        (HashMap::new(), HashMap::new())
    };
    let event_of: Vec<u32> = clustering.event.iter().map(|&g| ev.ids[g as usize]).collect();
    let story_of: Vec<u32> = clustering.story.iter().map(|&g| st.ids[g as usize]).collect();
    let mut assigned_batch = Vec::with_capacity(corpus.len());
    let mut assigned_at = Vec::with_capacity(corpus.len());
    for (i, b) in before.iter().enumerate() {
        match b {
            Some(b) if b.event_id == event_of[i] && b.story_id == story_of[i] => {
                assigned_batch.push(b.batch);
                assigned_at.push(b.changed_at.clone());
            }
            _ => {
                assigned_batch.push(stamp.batch);
                assigned_at.push(stamp.added_at.clone());
            }
        }
    }
    let changes =
        ev.changes.iter().map(|r| change_record("event", r)).chain(st.changes.iter().map(|r| change_record("story", r))).collect();
    Ok(Ids {
        events: metas(&ev.ids, &ev.changes, &event_history, stamp),
        stories: metas(&st.ids, &st.changes, &story_history, stamp),
        event_of,
        story_of,
        assigned_batch,
        assigned_at,
        changes,
        next_event_id: ev.next_id,
        next_story_id: st.next_id,
    })
}
