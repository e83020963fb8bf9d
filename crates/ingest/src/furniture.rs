//! The per-article stages around site-furniture removal: `Staged::new`
//! (local cleaning and metadata), `Furniture` (decided across the articles
//! of one outlet, then applied to each) and `Staged::finish` (text,
//! sentences, language, SimHash).
//!
//! Site chrome is decided with the furniture, across outlets: scrapers keep
//! a newsroom's staff list, a sign-in blurb, a reader-tips form instead of
//! the article, and the same such text then stands under headlines about
//! different things. A real article's text speaks of its headline; chrome
//! does not. So a line (of [`CHROME_MIN_WORDS`] content words or more) that
//! shares no content word with its article's title is a vote, and a line
//! voted by two pages whose titles share no content word with each other is
//! chrome: removed from every article, of any outlet, like furniture, even
//! when it was the whole text (the page is then its title only).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::clean::{clean_lines, LineKey, RemovalReason, Removed};
use crate::content::{content_word_hashes, disjoint};
use crate::date::{implausible, parse_date_text, DateSource};
use crate::dedup::{key_words, simhash_of_words};
use crate::hashed::{FastMap, FastSet};
use crate::meta::{extract, outlet_from_url, Metadata};
use crate::read::{InputFormat, RawDoc};
use crate::language::detect_language;
use crate::{sentences::sentence_spans, Article, Content, Origin, Reject, Trace, Warning};

/// An article between local cleaning and furniture removal.
pub(crate) struct Staged {
    origin: Origin,
    format: InputFormat,
    id: String,
    url: Option<String>,
    meta: Metadata,
    lines: Vec<String>,
    /// The paragraph key of each line, for furniture removal and SimHash.
    keys: Vec<LineKey>,
    key_text: Vec<u8>,
    removed: Removed,
    warnings: Vec<String>,
    raw_bytes: usize,
    /// Its votes for furniture, page hash and title suffix (see [`Trace`]),
    /// taken before furniture is removed.
    votes: Vec<u64>,
    page: u64,
    title_suffix: Option<String>,
    /// Its title's content words and its votes for chrome (see [`Trace`]).
    title_words: Vec<u64>,
    chrome_votes: Vec<u64>,
}

/// Content words a line needs before it can vote for site chrome: shorter
/// lines say too little to tell chrome from a sentence of the story.
pub const CHROME_MIN_WORDS: usize = 6;

/// A title needs this many content words before its lines vote for chrome.
const CHROME_TITLE_WORDS: usize = 2;

/// The paragraph hashes of the lines that share no content word with the
/// title (sorted): the article's votes for chrome.
fn chrome_votes(lines: &[String], keys: &[LineKey], title_words: &[u64]) -> Vec<u64> {
    if title_words.len() < CHROME_TITLE_WORDS {
        return Vec::new();
    }
    let mut votes: Vec<u64> = lines
        .iter()
        .zip(keys)
        .filter_map(|(line, key)| {
            let words = content_word_hashes(line);
            (words.len() >= CHROME_MIN_WORDS && disjoint(&words, title_words)).then_some(key.hash).flatten()
        })
        .collect();
    votes.sort_unstable();
    votes.dedup();
    votes
}

impl Staged {
    pub(crate) fn new(doc: RawDoc) -> Result<Self, Reject> {
        let reject = |reason: &str| Reject { origin: doc.origin.clone(), id: Some(doc.id.clone()), reason: reason.to_string() };
        let field_title = doc.title.as_deref().map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|t| !t.is_empty());
        if doc.text.trim().is_empty() && field_title.is_none() {
            return Err(reject("empty article: no text and no title"));
        }
        let mut warnings = Vec::new();
        let field_date = match doc.date.as_deref() {
            None => None,
            Some(s) => match parse_date_text(s) {
                None => {
                    warnings.push(format!("unreadable date field {s:?}; looking for a date in the text"));
                    None
                }
                Some(d) => match implausible(d) {
                    Some(why) => {
                        warnings.push(format!("{why} in the date field ({s}); looking for a date in the text"));
                        None
                    }
                    None => Some(d),
                },
            },
        };
        let cleaned = clean_lines(&doc.text);
        let mut lines = cleaned.lines;
        let mut keys = cleaned.keys;
        let mut key_text = cleaned.key_text;
        let mut removed = cleaned.removed;
        let url_outlet = doc.source.clone().or_else(|| doc.url.as_deref().and_then(outlet_from_url));
        let mut meta = extract(field_title.as_deref(), field_date, url_outlet, &mut lines, &mut keys, &mut removed);
        if meta.date.is_none() {
            if let Some(d) = doc.crawl_date.as_deref().and_then(parse_date_text).filter(|&d| implausible(d).is_none()) {
                meta.date = Some(d);
                meta.date_source = Some(DateSource::Crawl);
            }
        }
        if lines.is_empty() {
            // A scrape of a sign-up wall or a consent page: the title field is
            // all that tells what the article was about.
            match &field_title {
                Some(t) => {
                    warnings.push(if doc.text.trim().is_empty() {
                        "no text: the article is its title only".to_string()
                    } else {
                        "the text was only page noise: the article is its title only".to_string()
                    });
                    keys.push(LineKey::of_line(t, &mut key_text));
                    lines.push(t.clone());
                }
                None => return Err(reject("empty article: nothing left after removing page noise")),
            }
        }
        let mut votes: Vec<u64> = keys.iter().filter_map(|k| k.hash).collect();
        votes.sort_unstable();
        votes.dedup();
        let page = keys_digest(&keys);
        let title_suffix = meta.title.as_deref().and_then(title_suffix).map(|(_, s)| s.to_string());
        // The title without its site name: "Police: man shot - WAFF-TV" and
        // "Storm hits - WAFF-TV" share no word of their own.
        let own_title = meta.title.as_deref().map(|t| title_suffix_at(t).map_or(t, |at| &t[..at]));
        let title_words = own_title.map(content_word_hashes).unwrap_or_default();
        let chrome_votes = chrome_votes(&lines, &keys, &title_words);
        Ok(Self {
            origin: doc.origin,
            format: doc.format,
            id: doc.id,
            url: doc.url,
            meta,
            lines,
            keys,
            key_text,
            removed,
            warnings,
            raw_bytes: doc.text.len(),
            votes,
            page,
            title_suffix,
            title_words,
            chrome_votes,
        })
    }

    /// The article, its warnings and its SimHash.
    pub(crate) fn finish(self) -> Finished {
        let simhash = simhash_of_words(self.keys.iter().flat_map(|k| key_words(k.words(&self.key_text))));
        let text = self.lines.join("\n");
        let sentence_spans = sentence_spans(&text);
        let language = detect_language(&text);
        let content = Content::of(self.meta.title.as_deref(), &text);
        let mut warnings: Vec<Warning> = self
            .warnings
            .into_iter()
            .map(|message| Warning { origin: self.origin.clone(), id: self.id.clone(), message })
            .collect();
        if self.meta.date.is_none() {
            warnings.push(Warning { origin: self.origin.clone(), id: self.id.clone(), message: "no publication date found".into() });
        }
        let date_source: Option<DateSource> = self.meta.date_source;
        let trace = Trace {
            id: self.id.clone(),
            outlet: self.meta.outlet.clone(),
            lines: self.votes,
            page: self.page,
            title_suffix: self.title_suffix,
            simhash: Some(simhash),
            title_words: self.title_words,
            chrome: self.chrome_votes,
        };
        Finished {
            article: Article {
                id: self.id,
                origin: self.origin,
                format: self.format,
                url: self.url,
                title: self.meta.title,
                date: self.meta.date,
                date_source,
                outlet: self.meta.outlet,
                place: self.meta.place,
                language,
                text,
                sentence_spans,
                duplicate_of: None,
                content,
                removed: self.removed,
                raw_bytes: self.raw_bytes,
            },
            warnings,
            trace,
        }
    }
}

/// A finished article with what ingestion still needs of it.
pub(crate) struct Finished {
    pub(crate) article: Article,
    pub(crate) warnings: Vec<Warning>,
    /// Its trace; `simhash` is from the lines' keys, the same as
    /// [`crate::simhash`] of the text without finding the words again.
    pub(crate) trace: Trace,
}

/// One article's evidence for site furniture (see [`Trace`]).
#[derive(Clone, Copy)]
pub(crate) struct Vote<'a> {
    outlet: Option<&'a str>,
    page: u64,
    lines: &'a [u64],
    title_suffix: Option<&'a str>,
    title_words: &'a [u64],
    chrome: &'a [u64],
}

impl Trace {
    pub(crate) fn vote(&self) -> Vote<'_> {
        Vote {
            outlet: self.outlet.as_deref(),
            page: self.page,
            lines: &self.lines,
            title_suffix: self.title_suffix.as_deref(),
            title_words: &self.title_words,
            chrome: &self.chrome,
        }
    }
}

impl Staged {
    fn vote(&self) -> Vote<'_> {
        Vote {
            outlet: self.meta.outlet.as_deref(),
            page: self.page,
            lines: &self.votes,
            title_suffix: self.title_suffix.as_deref(),
            title_words: &self.title_words,
            chrome: &self.chrome_votes,
        }
    }

    /// Its id, outlet and votes as a trace without a SimHash (the first map
    /// of a batch ingested in shards).
    pub(crate) fn votes_trace(&self) -> Trace {
        Trace {
            id: self.id.clone(),
            outlet: self.meta.outlet.clone(),
            lines: self.votes.clone(),
            page: self.page,
            title_suffix: self.title_suffix.clone(),
            simhash: None,
            title_words: self.title_words.clone(),
            chrome: self.chrome_votes.clone(),
        }
    }
}

/// Site furniture decided for some outlets: the paragraph hashes found in
/// at least `min_articles` distinct articles of an outlet (copies of one
/// page vote once), and the site names that end at least `min_articles` of
/// its titles. Deciding is counting, so it does not depend on the order of
/// the votes: a batch read in shards decides once over all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Furniture {
    outlets: BTreeMap<String, OutletFurniture>,
    /// Site chrome, of any outlet (sorted paragraph hashes).
    #[serde(default)]
    chrome: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct OutletFurniture {
    /// Sorted.
    lines: Vec<u64>,
    /// Sorted.
    title_suffixes: Vec<String>,
}

impl Furniture {
    /// Decides over the votes of articles (traces of earlier batches, this
    /// batch's articles).
    /// `outlet_votes` decide each outlet's furniture, `chrome_votes` (all
    /// outlets') the chrome.
    pub(crate) fn decide<'a>(outlet_votes: impl Iterator<Item = Vote<'a>>, chrome_votes: impl Iterator<Item = Vote<'a>>, min_articles: usize) -> Self {
        let chrome = chrome_lines(chrome_votes);
        if min_articles < 2 {
            return Self { chrome, ..Self::default() };
        }
        let mut by_outlet: FastMap<&str, Vec<Vote<'a>>> = FastMap::default();
        for v in outlet_votes {
            if let Some(o) = v.outlet {
                by_outlet.entry(o).or_default().push(v);
            }
        }
        let groups: Vec<(&str, Vec<Vote<'a>>)> = by_outlet.into_iter().filter(|(_, v)| v.len() >= min_articles).collect();
        let outlets = groups
            .into_par_iter()
            .filter_map(|(outlet, votes)| {
                let f = OutletFurniture { lines: furniture_lines(&votes, min_articles), title_suffixes: furniture_suffixes(&votes, min_articles) };
                (!f.lines.is_empty() || !f.title_suffixes.is_empty()).then(|| (outlet.to_string(), f))
            })
            .collect();
        Self { outlets, chrome }
    }

    /// Decides over traces: every shard's votes of a batch read in shards,
    /// and the earlier batches' traces.
    pub fn decide_traces<'a>(traces: impl Iterator<Item = &'a Trace> + Clone, min_articles: usize) -> Self {
        Self::decide(traces.clone().map(Trace::vote), traces.map(Trace::vote), min_articles)
    }

    /// Outlets with furniture.
    pub fn outlets(&self) -> usize {
        self.outlets.len()
    }

    /// Lines decided to be site chrome.
    pub fn chrome(&self) -> usize {
        self.chrome.len()
    }

    /// Removes each article's furniture lines (never all of its lines) and
    /// cuts the site name from its title.
    pub(crate) fn apply(&self, staged: &mut [Staged]) {
        if !self.chrome.is_empty() {
            staged.par_iter_mut().for_each(|s| self.remove_chrome(s));
        }
        if self.outlets.is_empty() {
            return;
        }
        staged.par_iter_mut().for_each(|s| {
            let Some(f) = s.meta.outlet.as_deref().and_then(|o| self.outlets.get(o)) else { return };
            if let Some(title) = &mut s.meta.title {
                let cut = title_suffix(title).filter(|&(at, suf)| at > 0 && f.title_suffixes.binary_search_by(|x| x.as_str().cmp(suf)).is_ok());
                if let Some((at, _)) = cut {
                    *title = title[..at].trim().to_string();
                }
            }
            if f.lines.is_empty() {
                return;
            }
            let keep: Vec<bool> = s.keys.iter().map(|k| k.hash.is_none_or(|h| f.lines.binary_search(&h).is_err())).collect();
            if !keep.iter().any(|k| *k) {
                return;
            }
            let before = s.lines.len();
            let mut it = keep.iter();
            s.lines.retain(|_| *it.next().unwrap_or(&true));
            let mut it = keep.iter();
            s.keys.retain(|_| *it.next().unwrap_or(&true));
            for _ in s.lines.len()..before {
                s.removed.add(RemovalReason::Furniture);
            }
        });
    }
}

impl Furniture {
    /// Removes the chrome lines of one article, all of them if need be: a
    /// page that was only chrome is then its title only (or, with no title,
    /// keeps its first line, as no page is left empty).
    fn remove_chrome(&self, s: &mut Staged) {
        let keep: Vec<bool> = s.keys.iter().map(|k| k.hash.is_none_or(|h| self.chrome.binary_search(&h).is_err())).collect();
        let gone = keep.iter().filter(|k| !**k).count();
        if gone == 0 {
            return;
        }
        if gone == keep.len() && s.meta.title.is_none() {
            return;
        }
        let mut it = keep.iter();
        s.lines.retain(|_| *it.next().unwrap_or(&true));
        let mut it = keep.iter();
        s.keys.retain(|_| *it.next().unwrap_or(&true));
        for _ in 0..gone {
            s.removed.add(RemovalReason::Chrome);
        }
        if s.lines.is_empty() {
            if let Some(t) = s.meta.title.clone() {
                s.keys.push(LineKey::of_line(&t, &mut s.key_text));
                s.lines.push(t);
                s.warnings.push("the text was only site chrome: the article is its title only".to_string());
            }
        }
    }
}

/// Removes lines that occur in at least `min_articles` distinct articles of
/// the same outlet (site furniture: teasers, sign-up blurbs, copyright lines)
/// and site names that end that many of its titles, and site chrome (of any
/// outlet). `prior`: the traces of a corpus's earlier batches, whose
/// articles vote too.
pub(crate) fn remove_furniture(staged: &mut [Staged], min_articles: usize, prior: &[Trace]) {
    // Only the earlier articles of this batch's outlets count for furniture;
    // every earlier article votes for chrome.
    let outlets: FastSet<&str> = staged.iter().filter_map(|s| s.meta.outlet.as_deref()).collect();
    let earlier = prior.iter().filter(|t| t.outlet.as_deref().is_some_and(|o| outlets.contains(o))).map(Trace::vote);
    let chrome = prior.iter().filter(|t| !t.chrome.is_empty()).map(Trace::vote).chain(staged.iter().map(Staged::vote));
    let furniture = Furniture::decide(earlier.chain(staged.iter().map(Staged::vote)), chrome, min_articles);
    furniture.apply(staged);
}

/// A title word in at least this share of the titles (and at least
/// [`CHROME_COMMON_MIN`] of them) does not make two titles related.
const CHROME_COMMON_SHARE: f64 = 0.05;
const CHROME_COMMON_MIN: usize = 3;

/// Voters of one line looked at, at most: enough to find two unrelated
/// titles among the pages that carry a blurb, and a bound on the work.
const CHROME_VOTERS: usize = 64;

/// The lines voted for chrome by two pages whose titles share no content
/// word, sorted. Order-free: each line's voters are taken in (page, title)
/// order.
fn chrome_lines<'a>(votes: impl Iterator<Item = Vote<'a>>) -> Vec<u64> {
    let mut by_line: FastMap<u64, Vec<(u64, &'a [u64])>> = FastMap::default();
    // How many titles each title word is in: in a corpus of one kind of
    // news ("shooting", "dead", "police" in half its headlines), such words
    // say nothing of whether two headlines are about one thing.
    let mut titles: FastMap<u64, usize> = FastMap::default();
    let mut n_titles = 0usize;
    for v in votes {
        if v.title_words.is_empty() {
            continue;
        }
        n_titles += 1;
        for &w in v.title_words {
            *titles.entry(w).or_default() += 1;
        }
        for &h in v.chrome {
            by_line.entry(h).or_default().push((v.page, v.title_words));
        }
    }
    let common_at = CHROME_COMMON_MIN.max((n_titles as f64 * CHROME_COMMON_SHARE).ceil() as usize);
    let common: FastSet<u64> = titles.into_iter().filter(|&(_, n)| n >= common_at).map(|(w, _)| w).collect();
    let related = |a: &[u64], b: &[u64]| a.iter().any(|w| !common.contains(w) && b.binary_search(w).is_ok());
    let mut lines: Vec<u64> = by_line
        .into_par_iter()
        .filter_map(|(h, mut voters)| {
            if voters.len() < 2 {
                return None;
            }
            // Copies of one page under one title vote once; the same body
            // under another title is what chrome is.
            voters.sort_unstable();
            voters.dedup();
            voters.truncate(CHROME_VOTERS);
            let unrelated = voters.iter().enumerate().any(|(i, a)| voters[i + 1..].iter().any(|b| !related(a.1, b.1)));
            unrelated.then_some(h)
        })
        .collect();
    lines.sort_unstable();
    lines
}

/// The paragraph hashes in at least `min_articles` distinct pages among one
/// outlet's votes, sorted.
fn furniture_lines(votes: &[Vote<'_>], min_articles: usize) -> Vec<u64> {
    // Copies of one page (same keys in the same order) vote once.
    let mut seen_docs = FastSet::default();
    let mut counts: FastMap<u64, usize> = FastMap::default();
    for v in votes {
        if !seen_docs.insert(v.page) {
            continue;
        }
        for &k in v.lines {
            *counts.entry(k).or_default() += 1;
        }
    }
    let mut lines: Vec<u64> = counts.into_iter().filter(|(_, n)| *n >= min_articles).map(|(k, _)| k).collect();
    lines.sort_unstable();
    lines
}

/// The site names ending at least `min_articles` of one outlet's titles, sorted.
fn furniture_suffixes(votes: &[Vote<'_>], min_articles: usize) -> Vec<String> {
    let mut counts: FastMap<&str, usize> = FastMap::default();
    for suf in votes.iter().filter_map(|v| v.title_suffix) {
        *counts.entry(suf).or_default() += 1;
    }
    let mut suffixes: Vec<String> = counts.into_iter().filter(|(_, n)| *n >= min_articles).map(|(s, _)| s.to_string()).collect();
    suffixes.sort_unstable();
    suffixes
}

/// One hash of a whole article's paragraph keys, in order (`None` counts).
fn keys_digest(keys: &[LineKey]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for k in keys {
        h.update(&k.hash.map_or([0xff; 9], |k| {
            let mut b = [0u8; 9];
            b[1..].copy_from_slice(&k.to_le_bytes());
            b
        }));
    }
    h.digest()
}

/// Where the site name after the last " - " or " | " of a title starts.
fn title_suffix_at(title: &str) -> Option<usize> {
    title_suffix(title).map(|(at, _)| at)
}

/// The site name after the last " - " or " | " of a title.
fn title_suffix(title: &str) -> Option<(usize, &str)> {
    let i = title.rfind(" - ").into_iter().chain(title.rfind(" | ")).max()?;
    let suffix = title[i + 3..].trim();
    (!suffix.is_empty()).then_some((i, suffix))
}

#[cfg(test)]
mod tests {
    use crate::read::{InputFormat, RawDoc};
    use crate::{ingest_docs, IngestOptions, Origin};

    fn doc(n: u64, source: &str, title: &str) -> RawDoc {
        RawDoc {
            origin: Origin { file: "t.jsonl".into(), record: Some(n) },
            format: InputFormat::Jsonl,
            id: n.to_string(),
            title: Some(title.to_string()),
            date: Some("2021-12-31".into()),
            url: None,
            source: Some(source.to_string()),
            text: format!("Story number {n} happened in a town where nothing else happened that day, officials said."),
            title_from_field: true,
            crawl_date: None,
        }
    }

    /// A site name ending at least three of an outlet's titles is cut from
    /// each of them; other outlets' titles and a title that is only the
    /// site name keep it.
    #[test]
    fn site_names_are_cut_from_titles() {
        let docs = vec![
            doc(1, "waff", "Shooting in Florence - WAFF-TV: News"),
            doc(2, "waff", "Storm hits Huntsville - WAFF-TV: News"),
            doc(3, "waff", "Road closed | WAFF-TV: News"),
            doc(4, "waff", " - WAFF-TV: News"),
            doc(5, "other", "Fire downtown - WAFF-TV: News"),
        ];
        let titles: Vec<Option<String>> = ingest_docs(docs, &IngestOptions::default()).articles.into_iter().map(|a| a.title).collect();
        let want = ["Shooting in Florence", "Storm hits Huntsville", "Road closed", "- WAFF-TV: News", "Fire downtown - WAFF-TV: News"];
        assert_eq!(titles, want.map(|t| Some(t.to_string())));
    }
}
