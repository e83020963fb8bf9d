//! The per-article stages around site-furniture removal: `Staged::new`
//! (local cleaning and metadata), `remove_furniture` (across articles of one
//! outlet) and `Staged::finish` (text, sentences, language, SimHash).

use std::collections::{HashMap, HashSet};

use crate::clean::{clean_lines, LineKey, RemovalReason, Removed};
use crate::date::{implausible, parse_date_text, DateSource};
use crate::dedup::{key_words, simhash_of_words};
use crate::meta::{extract, outlet_from_url, Metadata};
use crate::read::{InputFormat, RawDoc};
use crate::language::detect_language;
use crate::{sentences::split_sentences, Article, Origin, Reject, Warning};

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
        let meta = extract(field_title.as_deref(), field_date, url_outlet, &mut lines, &mut keys, &mut removed);
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
        })
    }

    /// The article, its warnings and its SimHash.
    pub(crate) fn finish(self) -> Finished {
        let simhash = simhash_of_words(self.keys.iter().flat_map(|k| key_words(k.words(&self.key_text))));
        let text = self.lines.join("\n");
        let sentences = split_sentences(&text);
        let language = detect_language(&text);
        let mut warnings: Vec<Warning> = self
            .warnings
            .into_iter()
            .map(|message| Warning { origin: self.origin.clone(), id: self.id.clone(), message })
            .collect();
        if self.meta.date.is_none() {
            warnings.push(Warning { origin: self.origin.clone(), id: self.id.clone(), message: "no publication date found".into() });
        }
        let date_source: Option<DateSource> = self.meta.date_source;
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
                sentences,
                duplicate_of: None,
                removed: self.removed,
                raw_bytes: self.raw_bytes,
            },
            warnings,
            simhash,
        }
    }
}

/// A finished article with what ingestion still needs of it.
pub(crate) struct Finished {
    pub(crate) article: Article,
    pub(crate) warnings: Vec<Warning>,
    /// From the lines' keys: the same as [`crate::simhash`] of the text,
    /// without finding the words again.
    pub(crate) simhash: u64,
}

/// Removes lines that occur in at least `min_articles` distinct articles of
/// the same outlet (site furniture: teasers, sign-up blurbs, copyright lines).
/// Articles are de-duplicated by content first, so copies of one page do not
/// vote for their own lines; an article is never emptied by this step.
pub(crate) fn remove_furniture(staged: &mut [Staged], min_articles: usize) {
    if min_articles < 2 {
        return;
    }
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in staged.iter().enumerate() {
        if let Some(o) = s.meta.outlet.as_deref() {
            groups.entry(o).or_default().push(i);
        }
    }
    let groups: HashMap<String, Vec<usize>> = groups.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut furniture: HashMap<String, HashSet<u64>> = HashMap::new();
    for (outlet, members) in &groups {
        if members.len() < min_articles {
            continue;
        }
        // Copies of one page (same keys in the same order) vote once.
        let mut seen_docs = HashSet::new();
        let mut counts: HashMap<u64, usize> = HashMap::new();
        let mut distinct = HashSet::new();
        for &i in members {
            let keys = &staged[i].keys;
            if !seen_docs.insert(keys_digest(keys)) {
                continue;
            }
            distinct.clear();
            distinct.extend(keys.iter().filter_map(|k| k.hash));
            for &k in &distinct {
                *counts.entry(k).or_default() += 1;
            }
        }
        let lines: HashSet<u64> = counts.into_iter().filter(|(_, n)| *n >= min_articles).map(|(k, _)| k).collect();
        if !lines.is_empty() {
            furniture.insert(outlet.to_string(), lines);
        }
    }
    strip_title_suffixes(staged, &groups, min_articles);
    for s in staged.iter_mut() {
        let Some(lines) = s.meta.outlet.as_deref().and_then(|o| furniture.get(o)) else { continue };
        let keep: Vec<bool> = s.keys.iter().map(|k| k.hash.is_none_or(|h| !lines.contains(&h))).collect();
        if !keep.iter().any(|k| *k) {
            continue;
        }
        let before = s.lines.len();
        let mut it = keep.iter();
        s.lines.retain(|_| *it.next().unwrap_or(&true));
        let mut it = keep.iter();
        s.keys.retain(|_| *it.next().unwrap_or(&true));
        for _ in s.lines.len()..before {
            s.removed.add(RemovalReason::Furniture);
        }
    }
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
fn strip_title_suffixes(staged: &mut [Staged], groups: &HashMap<String, Vec<usize>>, min_articles: usize) {
    for members in groups.values() {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for &i in members {
            if let Some((_, suf)) = staged[i].meta.title.as_deref().and_then(title_suffix) {
                *counts.entry(suf.to_string()).or_default() += 1;
            }
        }
        for &i in members {
            let Some(title) = staged[i].meta.title.clone() else { continue };
            if let Some((at, suf)) = title_suffix(&title) {
                if counts.get(suf).is_some_and(|&n| n >= min_articles) && at > 0 {
                    staged[i].meta.title = Some(title[..at].trim().to_string());
                }
            }
        }
    }
}
