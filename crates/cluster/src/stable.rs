//! Ids that survive re-clustering: when a corpus grows, the whole corpus is
//! clustered again and its groups are matched to the ids they had before.
//!
//! The rules, for events and stories alike:
//! - a group that keeps or gains members keeps its id;
//! - when two earlier groups merge, the result keeps the older (lower) id;
//! - when an earlier group splits, its largest part keeps the id (the part
//!   holding most of its earlier members; a tie goes to the part whose first
//!   member comes first);
//! - every other group gets an id never used before (`next_id` onwards).
//!
//! Ids are handed out in increasing order, so a lower id is an older group.

/// What happened to a group in this re-clustering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A group with no earlier members.
    New,
    /// Kept its id and gained members (and perhaps lost some).
    Grew,
    /// Kept its id, lost members and gained none.
    Shrank,
    /// An earlier group whose members all went into the group with this id.
    MergedInto(u32),
    /// A new id for part of the earlier group with this id.
    SplitFrom(u32),
}

/// One row of the change log: the id it is about, what happened, and the
/// group's size now (0 for a group merged away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub id: u32,
    pub change: Change,
    pub size: usize,
}

/// Stable ids for a new clustering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// Id of each new group (indexed by its label).
    pub ids: Vec<u32>,
    /// The next id never used.
    pub next_id: u32,
    /// Groups touched: new, grown, shrunk, merged away, split off. A group
    /// whose members are exactly the ones it had is not listed.
    pub changes: Vec<ChangeRow>,
}

/// Matches `labels` (each item's group in the new clustering, `0..n_groups`)
/// to `previous` (each item's id before, `None` for an item new to the
/// corpus). Deterministic: it depends only on the inputs, in item order.
pub fn carry_ids(previous: &[Option<u32>], labels: &[u32], n_groups: usize, next_id: u32) -> Carried {
    use std::collections::BTreeMap;
    debug_assert_eq!(previous.len(), labels.len());
    // For each earlier id: how many of its members each new group holds, and
    // where its first member is.
    let mut split: BTreeMap<u32, BTreeMap<u32, (usize, usize)>> = BTreeMap::new();
    let mut sizes = vec![0usize; n_groups];
    for (i, (&p, &g)) in previous.iter().zip(labels).enumerate() {
        sizes[g as usize] += 1;
        if let Some(old) = p {
            let e = split.entry(old).or_default().entry(g).or_insert((0, i));
            e.0 += 1;
        }
    }
    // Each earlier id goes to the new group holding most of its members.
    let mut heir: BTreeMap<u32, u32> = BTreeMap::new();
    for (&old, parts) in &split {
        let (&g, _) = parts
            .iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
            .expect("an earlier id has members");
        heir.insert(old, g);
    }
    // A group takes the oldest id that went to it.
    let mut ids: Vec<Option<u32>> = vec![None; n_groups];
    for (&old, &g) in &heir {
        let slot = &mut ids[g as usize];
        if slot.is_none_or(|cur| old < cur) {
            *slot = Some(old);
        }
    }
    let mut next = next_id;
    let mut changes = Vec::new();
    // New ids in order of each group's first item, so numbering follows the corpus.
    let mut first_item = vec![usize::MAX; n_groups];
    for (i, &g) in labels.iter().enumerate() {
        first_item[g as usize] = first_item[g as usize].min(i);
    }
    let mut order: Vec<usize> = (0..n_groups).collect();
    order.sort_by_key(|&g| first_item[g]);
    let mut out = vec![0u32; n_groups];
    for g in order {
        let id = match ids[g] {
            Some(id) => id,
            None => {
                let id = next;
                next += 1;
                id
            }
        };
        out[g] = id;
    }
    for g in 0..n_groups {
        let id = out[g];
        match ids[g] {
            None => {
                // Earlier members here whose id went elsewhere: split off.
                let from = split.iter().filter(|(_, parts)| parts.contains_key(&(g as u32))).map(|(&old, _)| old).min();
                changes.push(ChangeRow { id, change: from.map_or(Change::New, Change::SplitFrom), size: sizes[g] });
            }
            Some(old) => {
                let before: usize = split[&old].values().map(|c| c.0).sum();
                let kept = split[&old].get(&(g as u32)).map_or(0, |c| c.0);
                // Anything else in the group is new to the corpus or came
                // from another earlier group.
                let gained = sizes[g] - kept;
                if gained > 0 {
                    changes.push(ChangeRow { id, change: Change::Grew, size: sizes[g] });
                } else if kept < before {
                    changes.push(ChangeRow { id, change: Change::Shrank, size: sizes[g] });
                }
            }
        }
    }
    for (&old, &g) in &heir {
        if out[g as usize] != old {
            changes.push(ChangeRow { id: old, change: Change::MergedInto(out[g as usize]), size: 0 });
        }
    }
    changes.sort_by_key(|c| c.id);
    Carried { ids: out, next_id: next, changes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids_of(c: &Carried, labels: &[u32]) -> Vec<u32> {
        labels.iter().map(|&g| c.ids[g as usize]).collect()
    }

    #[test]
    fn first_clustering_numbers_groups_by_first_item() {
        let labels = [1, 0, 1, 2];
        let c = carry_ids(&[None; 4], &labels, 3, 0);
        assert_eq!(ids_of(&c, &labels), vec![0, 1, 0, 2]);
        assert_eq!(c.next_id, 3);
        assert!(c.changes.iter().all(|r| r.change == Change::New));
    }

    #[test]
    fn a_group_that_gains_members_keeps_its_id() {
        // Earlier: items 0,1 in event 7, item 2 in event 3; now an item joins 7.
        let prev = [Some(7), Some(7), Some(3), None];
        let labels = [0, 0, 1, 0];
        let c = carry_ids(&prev, &labels, 2, 10);
        assert_eq!(ids_of(&c, &labels), vec![7, 7, 3, 7]);
        assert_eq!(c.next_id, 10, "no new id used");
        assert_eq!(c.changes, vec![ChangeRow { id: 7, change: Change::Grew, size: 3 }], "event 3 is untouched");
    }

    #[test]
    fn merged_groups_keep_the_older_id() {
        let prev = [Some(4), Some(2), Some(4), None];
        let labels = [0, 0, 0, 0];
        let c = carry_ids(&prev, &labels, 1, 5);
        assert_eq!(c.ids, vec![2]);
        assert_eq!(
            c.changes,
            vec![ChangeRow { id: 2, change: Change::Grew, size: 4 }, ChangeRow { id: 4, change: Change::MergedInto(2), size: 0 }]
        );
    }

    #[test]
    fn a_split_leaves_the_id_with_the_largest_part() {
        // Event 1 had items 0..4; now items 0,1 go one way and 2,3,4 another.
        let prev = [Some(1), Some(1), Some(1), Some(1), Some(1)];
        let labels = [0, 0, 1, 1, 1];
        let c = carry_ids(&prev, &labels, 2, 6);
        assert_eq!(ids_of(&c, &labels), vec![6, 6, 1, 1, 1]);
        assert_eq!(c.next_id, 7);
        assert_eq!(
            c.changes,
            vec![ChangeRow { id: 1, change: Change::Shrank, size: 3 }, ChangeRow { id: 6, change: Change::SplitFrom(1), size: 2 }]
        );
        // An even split goes to the part that comes first.
        let c = carry_ids(&prev[..4], &labels[..4], 2, 6);
        assert_eq!(c.ids, vec![1, 6]);
    }

    #[test]
    fn new_ids_are_never_reused() {
        // Event 0 merged away earlier: next_id stays above it.
        let c = carry_ids(&[None, None], &[0, 1], 2, 9);
        assert_eq!(c.ids, vec![9, 10]);
        assert_eq!(c.next_id, 11);
    }
}
