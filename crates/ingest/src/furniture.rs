//! The per-article stages around site-furniture removal: `Staged::new`
//! (local cleaning and metadata), `remove_furniture` (across articles of one
//! outlet) and `Staged::finish` (text, sentences, language, SimHash).

use rayon::prelude::*;

use crate::clean::{clean_lines, LineKey, RemovalReason, Removed};
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

/// Removes lines that occur in at least `min_articles` distinct articles of
/// the same outlet (site furniture: teasers, sign-up blurbs, copyright lines).
/// Articles are de-duplicated by content first, so copies of one page do not
/// vote for their own lines; an article is never emptied by this step.
/// `prior`: the traces of a corpus's earlier batches, whose articles vote too
/// (before this batch's, in corpus order).
pub(crate) fn remove_furniture(staged: &mut [Staged], min_articles: usize, prior: &[Trace]) {
    if min_articles < 2 {
        return;
    }
    // Articles by outlet, outlets in order of first appearance. The names
    // are scattered over the heap: they are hashed in parallel and grouped
    // by hash, and the groups are checked against the names (in parallel);
    // only if two outlets ever shared a 64-bit hash would the names be
    // grouped one by one.
    let hashes: Vec<Option<u64>> =
        staged.par_iter().map(|s| s.meta.outlet.as_deref().map(|o| xxhash_rust::xxh3::xxh3_64(o.as_bytes()))).collect();
    let (mut groups, mut group_of) = group(hashes);
    let outlet = |i: usize| staged[i].meta.outlet.as_deref();
    if !groups.par_iter().all(|m| m.iter().all(|&i| outlet(i) == outlet(m[0]))) {
        (groups, group_of) = group(staged.iter().map(|s| s.meta.outlet.as_deref()));
    }
    // The earlier batches' articles of the outlets in this batch.
    let mut earlier: Vec<Vec<&Trace>> = vec![Vec::new(); groups.len()];
    if !prior.is_empty() {
        let by_name: FastMap<&str, usize> = groups.iter().enumerate().filter_map(|(g, m)| Some((outlet(m[0])?, g))).collect();
        for t in prior {
            if let Some(&g) = t.outlet.as_deref().and_then(|o| by_name.get(o)) {
                earlier[g].push(t);
            }
        }
    }
    let furniture: Vec<FastSet<u64>> = groups
        .par_iter()
        .zip(&earlier)
        .map(|(members, earlier)| furniture_lines(staged, members, earlier, min_articles))
        .collect();
    strip_title_suffixes(staged, &groups, &earlier, min_articles);
    staged.par_iter_mut().zip(group_of).for_each(|(s, g)| {
        let Some(lines) = g.map(|g| &furniture[g]).filter(|l| !l.is_empty()) else { return };
        let keep: Vec<bool> = s.keys.iter().map(|k| k.hash.is_none_or(|h| !lines.contains(&h))).collect();
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

/// The indices of equal keys, groups in order of first appearance, and
/// each index's group (`None` for no key).
fn group<K: std::hash::Hash + Eq>(keys: impl IntoIterator<Item = Option<K>>) -> (Vec<Vec<usize>>, Vec<Option<usize>>) {
    let mut index: FastMap<K, usize> = FastMap::default();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        group_of.push(key.map(|k| {
            let g = *index.entry(k).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
            g
        }));
    }
    (groups, group_of)
}

/// The paragraph hashes found in at least `min_articles` distinct articles
/// among `earlier` and `members` (one outlet's articles).
fn furniture_lines(staged: &[Staged], members: &[usize], earlier: &[&Trace], min_articles: usize) -> FastSet<u64> {
    if members.len() + earlier.len() < min_articles {
        return FastSet::default();
    }
    // Copies of one page (same keys in the same order) vote once.
    let mut seen_docs = FastSet::default();
    let mut counts: FastMap<u64, usize> = FastMap::default();
    let votes = earlier.iter().map(|t| (t.page, &t.lines)).chain(members.iter().map(|&i| (staged[i].page, &staged[i].votes)));
    for (page, lines) in votes {
        if !seen_docs.insert(page) {
            continue;
        }
        for &k in lines {
            *counts.entry(k).or_default() += 1;
        }
    }
    counts.into_iter().filter(|(_, n)| *n >= min_articles).map(|(k, _)| k).collect()
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

/// The site name after the last " - " or " | " of a title.
fn title_suffix(title: &str) -> Option<(usize, &str)> {
    let i = title.rfind(" - ").into_iter().chain(title.rfind(" | ")).max()?;
    let suffix = title[i + 3..].trim();
    (!suffix.is_empty()).then_some((i, suffix))
}

/// Removes a site name from titles ("Shooting sends ... - WAFF-TV: News,
/// Weather and Sports for Huntsville, AL") when at least `min_articles`
/// titles of the outlet end with it.
fn strip_title_suffixes(staged: &mut [Staged], groups: &[Vec<usize>], earlier: &[Vec<&Trace>], min_articles: usize) {
    // Which titles to cut where: read in parallel (the titles are scattered
    // over the heap; reading them is the cost), cut after.
    let cuts: Vec<(usize, usize)> = groups
        .par_iter()
        .zip(earlier)
        .filter(|(m, earlier)| m.len() + earlier.len() >= min_articles)
        .flat_map_iter(|(members, earlier)| {
            let suffixes: Vec<(usize, usize, &str)> = members
                .iter()
                .filter_map(|&i| staged[i].meta.title.as_deref().and_then(title_suffix).map(|(at, suf)| (i, at, suf)))
                .collect();
            let mut counts: FastMap<&str, usize> = FastMap::default();
            for suf in earlier.iter().filter_map(|t| t.title_suffix.as_deref()) {
                *counts.entry(suf).or_default() += 1;
            }
            for &(_, _, suf) in &suffixes {
                *counts.entry(suf).or_default() += 1;
            }
            suffixes
                .into_iter()
                .filter(|&(_, at, suf)| at > 0 && counts.get(suf).is_some_and(|&n| n >= min_articles))
                .map(|(i, at, _)| (i, at))
                .collect::<Vec<_>>()
        })
        .collect();
    for (i, at) in cuts {
        if let Some(title) = &mut staged[i].meta.title {
            *title = title[..at].trim().to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::read::{InputFormat, RawDoc};
    use crate::{ingest_docs, IngestOptions, Origin};

    #[test]
    fn groups_in_order_of_first_appearance() {
        let (groups, group_of) = super::group([Some("b"), None, Some("a"), Some("b"), Some("a"), Some("c")]);
        assert_eq!(groups, vec![vec![0, 3], vec![2, 4], vec![5]]);
        assert_eq!(group_of, vec![Some(0), None, Some(1), Some(0), Some(1), Some(2)]);
    }

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
