//! The cluster stage: articles reporting the same real-world happening form
//! an event; events that continue one another form a story. Also the metrics
//! (BCubed, pairwise, ARI) used to score a clustering against gold labels.
//!
//! This crate knows nothing of libtorch, parquet or files: it takes vectors,
//! texts and dates, and returns ids.

mod config;
mod graph;
mod lsh;
pub mod metrics;
pub mod pair_model;
mod stable;
mod terms;

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

pub use config::{ClusterConfig, ConfigError, PairScore};
pub use pair_model::{PairModel, PairSignals};
pub use graph::average_link;
pub use stable::{carry_ids, Carried, Change, ChangeRow};
pub use terms::{terms, TermIndex, TermVector};

/// One article as the cluster stage sees it.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    /// L2-normalised article vector (may be empty when the article had no text to embed).
    pub vector: &'a [f32],
    /// Vectors of the title and lead sentences, for best-match similarity.
    pub lead: &'a [&'a [f32]],
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub date: Option<NaiveDate>,
    /// Index of an earlier doc this one nearly duplicates.
    pub duplicate_of: Option<usize>,
    /// A page with no content (`ingest::Content::None`): it is its own
    /// event and its own story, whatever it resembles.
    pub alone: bool,
    /// A headline with little or no body (`ingest::Content::TitleOnly`).
    pub headline: bool,
    /// The article's language (ISO 639-3), when known.
    pub language: Option<&'a str>,
    /// Whether the embedding model reads the article's language: its
    /// vectors mean something. Articles it cannot read are clustered on
    /// their words alone, with the articles of their own language.
    pub readable: bool,
}

impl Default for Doc<'_> {
    /// An empty article the model reads.
    fn default() -> Self {
        Doc { vector: &[], lead: &[], title: None, text: "", date: None, duplicate_of: None, alone: false, headline: false, language: None, readable: true }
    }
}

/// The articles clustered together: the ones the model reads (whatever
/// their language), or those of one language it does not read (`None`:
/// unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group<'a> {
    Read,
    Words(Option<&'a str>),
}

impl<'a> Doc<'a> {
    fn group(&self) -> Group<'a> {
        if self.readable {
            Group::Read
        } else {
            Group::Words(self.language)
        }
    }
}

/// The docs by [`Group`], each group's indices in corpus order, groups in
/// order of their first doc.
fn groups<'a>(docs: &[Doc<'a>]) -> Vec<(Group<'a>, Vec<usize>)> {
    let mut out: Vec<(Group<'a>, Vec<usize>)> = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let g = d.group();
        match out.iter_mut().find(|(k, _)| *k == g) {
            Some((_, v)) => v.push(i),
            None => out.push((g, vec![i])),
        }
    }
    out
}

/// One group's docs as a corpus of their own (a near-duplicate in another
/// group is none here), and the settings it is clustered with: a group the
/// model cannot read has no vectors and the words-only settings.
fn group_docs<'a>(docs: &[Doc<'a>], members: &[usize], readable: bool, cfg: &ClusterConfig) -> (Vec<Doc<'a>>, ClusterConfig) {
    let local: std::collections::HashMap<usize, usize> = members.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let sub = members
        .iter()
        .map(|&i| {
            let d = &docs[i];
            Doc {
                duplicate_of: d.duplicate_of.and_then(|j| local.get(&j).copied()),
                vector: if readable { d.vector } else { &[] },
                lead: if readable { d.lead } else { &[] },
                ..d.clone()
            }
        })
        .collect();
    (sub, if readable { cfg.clone() } else { cfg.words_only() })
}

/// Renumbers ids in order of their first appearance.
fn renumber(ids: &mut [u32]) -> usize {
    let (labels, n) = graph::first_appearance(ids.iter().copied());
    ids.copy_from_slice(&labels);
    n
}

/// Events and stories: per-article ids, numbered from 0 in order of each
/// group's first article, so the numbering is stable for a given input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustering {
    pub event: Vec<u32>,
    pub story: Vec<u32>,
    pub n_events: usize,
    pub n_stories: usize,
}

/// Cosine of two L2-normalised dense vectors (0 when either is empty).
pub fn dense_cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    dot(a, b)
}

/// Dot product in eight running sums, which the compiler keeps in one SIMD
/// register: a plain `sum()` must add in order, one lane at a time. Pair
/// scoring is most of clustering's time (41% of an add onto 100k articles).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The highest cosine between a lead sentence of one article and one of the
/// other: two reports of one happening usually share one near-identical
/// statement of it, even when the rest differs.
pub fn best_match(a: &[&[f32]], b: &[&[f32]]) -> f32 {
    let mut best = 0.0f32;
    for x in a {
        for y in b {
            best = best.max(dense_cosine(x, y));
        }
    }
    best
}

/// Days between two optional dates (None when either is missing).
fn gap_days(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<f32> {
    Some((a? - b?).num_days().unsigned_abs() as f32)
}

/// Time proximity factor: 1 for the same day, decaying over `scale` days,
/// never below `floor`; 1 when a date is missing (no penalty).
fn time_factor(gap: Option<f32>, scale: f32, floor: f32) -> f32 {
    match gap {
        None => 1.0,
        Some(g) => (-g / scale.max(1e-3)).exp().max(floor),
    }
}

/// What both event clustering and pair-model training need of a corpus:
/// its term vectors, the year each article is about, and candidate pairs.
struct Prepared {
    index: TermIndex,
    years: Vec<Option<i32>>,
    cands: Vec<(usize, usize)>,
}

impl Prepared {
    fn new(docs: &[Doc<'_>], cfg: &ClusterConfig) -> Self {
        // A group of a language the model does not read leaves out that
        // language's function words, as English ones always are.
        let language = docs.first().filter(|d| !d.readable).and_then(|d| d.language);
        let index = TermIndex::build_without(docs.iter().map(|d| (d.title, d.text)), cfg, terms::function_words(language));
        // The year each article is about: its date's, else the year its text names most.
        let years = docs.par_iter().map(|d| d.date.map(|x| x.year()).or_else(|| terms::dominant_year(d.text))).collect();
        let vectors: Vec<&[f32]> = docs.iter().map(|d| d.vector).collect();
        let cands = candidates(&index, &vectors, cfg);
        Self { index, years, cands }
    }

    /// The signals of candidate pair (i, j); `None` when the pair can never
    /// be one event (a page with no content, or further apart than
    /// `max_gap_days`).
    fn signals(&self, docs: &[Doc<'_>], i: usize, j: usize, cfg: &ClusterConfig) -> Option<PairSignals> {
        let (a, b) = (&docs[i], &docs[j]);
        if a.alone || b.alone {
            return None;
        }
        let gap = gap_days(a.date, b.date);
        if gap.is_some_and(|g| g > cfg.max_gap_days) {
            return None;
        }
        let dense = dense_cosine(a.vector, b.vector);
        let title = match (a.title, b.title, a.lead.first(), b.lead.first()) {
            (Some(_), Some(_), Some(x), Some(y)) => dense_cosine(x, y),
            _ => dense,
        };
        let (ya, yb) = (self.years[i], self.years[j]);
        Some(PairSignals {
            dense,
            lexical: self.index.vector(i).cosine(self.index.vector(j)),
            lead: best_match(a.lead, b.lead),
            title,
            gap,
            // Undated look-alikes: two earthquakes, two Oscar ceremonies,
            // told apart by the year their text is about.
            year_mismatch: gap.is_none() && ya.is_some() && yb.is_some() && ya != yb,
            headlines: u8::from(a.headline) + u8::from(b.headline),
            relative: [0.0; 3],
        })
    }

    /// Per article, its highest dense, lexical and lead cosine over its
    /// candidate pairs (what [`PairSignals::relate`] divides by). Maxima do
    /// not depend on the order of the pairs, so neither on the thread count.
    fn best_cosines(&self, docs: &[Doc<'_>], cfg: &ClusterConfig) -> Vec<[f32; 3]> {
        let n = docs.len();
        let raise = |x: &mut [f32; 3], y: &[f32; 3]| {
            for k in 0..3 {
                x[k] = x[k].max(y[k]);
            }
        };
        let merge = |mut a: Vec<[f32; 3]>, b: Vec<[f32; 3]>| {
            a.iter_mut().zip(&b).for_each(|(x, y)| raise(x, y));
            a
        };
        self.cands
            .par_iter()
            .fold(
                || vec![[0.0f32; 3]; n],
                |mut best, &(i, j)| {
                    if let Some(s) = self.signals(docs, i, j, cfg) {
                        raise(&mut best[i], &s.cosines());
                        raise(&mut best[j], &s.cosines());
                    }
                    best
                },
            )
            .reduce(|| vec![[0.0f32; 3]; n], merge)
    }

    /// Every pair that could be one event, with its complete signals
    /// (relative ones included), handed to `f` one at a time in parallel.
    /// Two passes over the pairs (the best cosines first) rather than one
    /// list of signals in memory: a pair's signals cost less to compute
    /// again than to keep for millions of pairs.
    fn each_pair<T: Send>(&self, docs: &[Doc<'_>], cfg: &ClusterConfig, f: impl Fn(usize, usize, PairSignals) -> Option<T> + Sync) -> Vec<T> {
        let best = self.best_cosines(docs, cfg);
        self.cands
            .par_iter()
            .filter_map(|&(i, j)| {
                let mut s = self.signals(docs, i, j, cfg)?;
                s.relate(&best[i], &best[j], cfg.pair_model.floors());
                f(i, j, s)
            })
            .collect()
    }
}

/// Every candidate pair that could be one event, with its signals: what
/// `cluster` scores, and what the pair model is fitted on. Pairs of two
/// articles the model reads, computed among those articles alone, as
/// `cluster` does; or, with `words` (the words-only model's pairs), pairs
/// within each group as if the model read none of them.
pub fn candidate_signals(docs: &[Doc<'_>], cfg: &ClusterConfig, words: bool) -> Vec<(usize, usize, PairSignals)> {
    let mut out = Vec::new();
    for (g, members) in groups(docs) {
        if !words && g != Group::Read {
            continue;
        }
        let (sub, cfg) = group_docs(docs, &members, !words, cfg);
        let prep = Prepared::new(&sub, &cfg);
        out.extend(prep.each_pair(&sub, &cfg, |i, j, s| Some((members[i], members[j], s))));
    }
    out
}

/// The score of a pair under the configured pair score: the hand-set
/// weighted mean scaled by time proximity, or the learned probability.
pub fn pair_score(s: &PairSignals, cfg: &ClusterConfig) -> f32 {
    match cfg.pair_score {
        PairScore::Learned => cfg.pair_model.probability(s),
        PairScore::Weighted => {
            let mixed = (cfg.dense_weight * s.dense + cfg.lexical_weight * s.lexical + cfg.sentence_weight * s.lead) / cfg.weight_sum();
            let year = if s.year_mismatch { cfg.year_mismatch } else { 1.0 };
            mixed * time_factor(s.gap, cfg.time_scale_days, cfg.time_floor) * year
        }
    }
}

/// Clusters `docs` into events and stories.
///
/// The articles the model cannot read (`Doc::readable` false) are clustered
/// apart, one language at a time, on their words alone
/// ([`ClusterConfig::words_only`]): two articles of different languages are
/// never one event or story unless the model reads both, and what the
/// model reads is clustered as if the others were not there.
pub fn cluster(docs: &[Doc<'_>], cfg: &ClusterConfig) -> Clustering {
    let groups = groups(docs);
    if let [(Group::Read, _)] = groups.as_slice() {
        return cluster_group(docs, cfg);
    }
    let n = docs.len();
    let (mut event, mut story) = (vec![0u32; n], vec![0u32; n]);
    let (mut n_events, mut n_stories) = (0u32, 0u32);
    for (g, members) in &groups {
        let (sub, cfg) = group_docs(docs, members, *g == Group::Read, cfg);
        let c = cluster_group(&sub, &cfg);
        for (k, &i) in members.iter().enumerate() {
            event[i] = c.event[k] + n_events;
            story[i] = c.story[k] + n_stories;
        }
        n_events += c.n_events as u32;
        n_stories += c.n_stories as u32;
    }
    let n_events = renumber(&mut event);
    let n_stories = renumber(&mut story);
    Clustering { event, story, n_events, n_stories }
}

/// Clusters one group's docs into events and stories.
fn cluster_group(docs: &[Doc<'_>], cfg: &ClusterConfig) -> Clustering {
    let n = docs.len();
    if n == 0 {
        return Clustering { event: Vec::new(), story: Vec::new(), n_events: 0, n_stories: 0 };
    }
    let prep = Prepared::new(docs, cfg);
    let edges: Vec<(usize, usize, f32)> = match cfg.pair_score {
        // The hand-set score needs no relative signals: one pass.
        PairScore::Weighted => prep
            .cands
            .par_iter()
            .filter_map(|&(i, j)| {
                let s = pair_score(&prep.signals(docs, i, j, cfg)?, cfg);
                (s >= cfg.edge_min).then_some((i, j, s))
            })
            .collect(),
        PairScore::Learned => prep.each_pair(docs, cfg, |i, j, s| {
            let s = pair_score(&s, cfg);
            (s >= cfg.pair_model.edge_min).then_some((i, j, s))
        }),
    };
    // Near-duplicates always share an event.
    let forced: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.duplicate_of.filter(|&j| j < n && j != i && !d.alone && !docs[j].alone).map(|j| (j, i)))
        .collect();
    let (event, n_events) = average_link(n, &edges, &forced, cfg.event_threshold());
    tracing::info!(articles = n, candidates = prep.cands.len(), edges = edges.len(), events = n_events, "clustered events");
    let (story, n_stories) = stories(docs, &prep.index, &event, n_events, cfg);
    Clustering { event, story, n_events, n_stories }
}

/// Candidate pairs for both levels: items sharing a rare term, or whose
/// vectors share an LSH bucket. Near-linear in the number of items.
fn candidates(index: &TermIndex, vectors: &[&[f32]], cfg: &ClusterConfig) -> Vec<(usize, usize)> {
    lsh::union(
        index.candidate_pairs(cfg.max_postings),
        lsh::dense_candidates(vectors, cfg.lsh_bands, cfg.lsh_bits, cfg.max_postings),
    )
}

/// Second level: events linked over longer spans. Each event is its
/// centroid (dense and lexical) and its median date; events are grouped by
/// average link with the (lower) story threshold and a window of years.
fn stories(docs: &[Doc<'_>], index: &TermIndex, event: &[u32], n_events: usize, cfg: &ClusterConfig) -> (Vec<u32>, usize) {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_events];
    for (i, &e) in event.iter().enumerate() {
        members[e as usize].push(i);
    }
    let dim = docs.iter().map(|d| d.vector.len()).max().unwrap_or(0);
    let centroids: Vec<Vec<f32>> = members
        .par_iter()
        .map(|m| {
            let mut c = vec![0.0f32; dim];
            for &i in m {
                for (a, x) in c.iter_mut().zip(docs[i].vector) {
                    *a += x;
                }
            }
            let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                c.iter_mut().for_each(|x| *x /= norm);
            }
            c
        })
        .collect();
    let term_centroids: Vec<TermVector> = members.par_iter().map(|m| TermVector::mean(m.iter().map(|&i| index.vector(i)))).collect();
    let dates: Vec<Option<NaiveDate>> = members
        .iter()
        .map(|m| {
            let mut d: Vec<NaiveDate> = m.iter().filter_map(|&i| docs[i].date).collect();
            d.sort();
            d.get(d.len() / 2).copied()
        })
        .collect();
    let story_index = TermIndex::from_vectors(term_centroids);
    let centroid_refs: Vec<&[f32]> = centroids.iter().map(Vec::as_slice).collect();
    let cands = candidates(&story_index, &centroid_refs, cfg);
    // An event of a page with no content stays its own story.
    let alone: Vec<bool> = members.iter().map(|m| m.iter().all(|&i| docs[i].alone)).collect();
    // Events of headlines only: their centroids are a few words and one
    // sentence's vector, so two of them about one story score lower than
    // two events of full articles; their pairs are held to
    // `headline_story_threshold` instead (scaled onto the story threshold).
    let headlines: Vec<bool> = members.iter().map(|m| m.iter().all(|&i| docs[i].headline)).collect();
    let headline_scale = cfg.story_threshold / cfg.headline_story_threshold.max(f32::EPSILON);
    let edges: Vec<(usize, usize, f32)> = cands
        .par_iter()
        .filter(|&&(a, b)| !alone[a] && !alone[b])
        .filter_map(|&(a, b)| {
            let gap = gap_days(dates[a], dates[b]);
            if gap.is_some_and(|g| g > cfg.story_max_gap_days) {
                return None;
            }
            let mut s = (cfg.story_dense_weight * dense_cosine(&centroids[a], &centroids[b])
                + cfg.story_lexical_weight * story_index.vector(a).cosine(story_index.vector(b)))
                / (cfg.story_dense_weight + cfg.story_lexical_weight).max(f32::EPSILON);
            if headlines[a] && headlines[b] {
                s *= headline_scale;
            }
            (s >= cfg.story_threshold).then_some((a, b, s))
        })
        .collect();
    let (event_story, n_stories) = average_link(n_events, &edges, &[], cfg.story_threshold);
    (event.iter().map(|&e| event_story[e as usize]).collect(), n_stories)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three pages with no content that look alike, and two reports of one
    /// shooting, one of them a headline only.
    fn docs<'a>(v: &'a [f32], w: &'a [f32], lv: &'a [&'a [f32]], lw: &'a [&'a [f32]], alone: bool) -> Vec<Doc<'a>> {
        let date = NaiveDate::from_ymd_opt(2015, 6, 12);
        let page = |text: &'a str| Doc { vector: w, lead: lw, title: Some("en"), text, date, duplicate_of: None, alone, ..Doc::default() };
        vec![
            page("en"),
            Doc { duplicate_of: Some(0), ..page("en") },
            page("This article is outdated and was moved to archive"),
            Doc { vector: v, lead: lv, title: Some("Gunman kills three at Chicago bar on Friday"), text: "", date, ..Doc::default() },
            Doc {
                vector: v,
                lead: lv,
                title: Some("Three killed in Chicago bar shooting"),
                text: "A gunman killed three people at a Chicago bar on Friday night, police said. The gunman fled on foot.",
                date,
                ..Doc::default()
            },
        ]
    }

    #[test]
    fn pages_with_no_content_stay_alone_and_headlines_still_cluster() {
        let (v, w) = ([0.6f32, 0.8, 0.0, 0.0], [0.0f32, 0.0, 0.6, 0.8]);
        let (lv, lw): ([&[f32]; 1], [&[f32]; 1]) = ([&v], [&w]);
        let cfg = ClusterConfig::default();
        let c = cluster(&docs(&v, &w, &lv, &lw, true), &cfg);
        assert_eq!(c.event[3], c.event[4], "a headline-only report joins its event");
        let mut alone: Vec<u32> = c.event[..3].to_vec();
        alone.extend([c.event[3]]);
        alone.sort_unstable();
        alone.dedup();
        assert_eq!(alone.len(), 4, "each page with no content is its own event: {:?}", c.event);
        assert_eq!(c.n_stories, 4, "and its own story: {:?}", c.story);
        // The same pages taken for articles would make one false event.
        let c = cluster(&docs(&v, &w, &lv, &lw, false), &cfg);
        assert_eq!(c.event[0], c.event[1]);
    }

    /// Two headlines about one story (a ferry that sank; the toll days
    /// later) are two events, and one story: a pair of full articles as
    /// alike would be two stories.
    #[test]
    fn headline_events_join_stories_at_their_own_threshold() {
        let a = [1.0f32, 0.0, 0.0, 0.0];
        let dense = 0.15f32;
        let b = [dense, (1.0 - dense * dense).sqrt(), 0.0, 0.0];
        let filler = [0.0f32, 0.0, 1.0, 0.0];
        let [la, lb, lf]: [[&[f32]; 1]; 3] = [[&a], [&b], [&filler]];
        let titles: Vec<String> = (0..40).map(|k| format!("Council {k} approves budget plan{k} for district{k}")).collect();
        let make = |headline: bool| {
            let mut docs = vec![
                Doc { vector: &a, lead: &la, title: Some("Zanzibar ferry capsizes off Pemba island"), text: "Zanzibar ferry capsizes off Pemba island", headline, ..Doc::default() },
                Doc { vector: &b, lead: &lb, title: Some("Zanzibar ferry toll rises as divers search wreck"), text: "Zanzibar ferry toll rises as divers search wreck", headline, ..Doc::default() },
            ];
            docs.extend(titles.iter().map(|t| Doc { vector: &filler, lead: &lf, title: Some(t.as_str()), text: t.as_str(), headline, ..Doc::default() }));
            docs
        };
        // The hand-set score, whose event threshold the pair stays under.
        let cfg = ClusterConfig { pair_score: PairScore::Weighted, ..ClusterConfig::default() };
        let docs = make(true);
        let prep = Prepared::new(&docs, &cfg);
        let lex = prep.index.vector(0).cosine(prep.index.vector(1));
        let event = pair_score(&prep.signals(&docs, 0, 1, &cfg).unwrap(), &cfg);
        let story = (dense + lex) / 2.0;
        assert!(event < cfg.threshold && story >= cfg.headline_story_threshold && story < cfg.story_threshold, "lexical {lex}, event {event}, story {story}");
        let c = cluster(&docs, &cfg);
        assert_ne!(c.event[0], c.event[1]);
        assert_eq!(c.story[0], c.story[1], "headline events join one story");
        let c = cluster(&make(false), &cfg);
        assert_ne!(c.story[0], c.story[1], "full articles as alike do not");
    }
}
