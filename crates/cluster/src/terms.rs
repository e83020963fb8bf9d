//! The lexical signal: TF-IDF vectors over words, numbers and capitalised
//! name pairs, and candidate pairs from shared rare terms.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rayon::prelude::*;

use crate::ClusterConfig;

const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "if", "in",
    "into", "is", "it", "its", "just", "last", "more", "most", "mr", "mrs", "ms", "my", "new", "no", "nor", "not", "now", "of",
    "off", "on", "once", "one", "only", "or", "other", "our", "out", "over", "own", "said", "same", "says", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "too", "two", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "whom", "why", "will", "with", "would", "you", "your", "told", "according", "year", "years", "week", "day", "time",
];

/// [`STOPWORDS`] as a set: `terms` looks every word up.
static STOPWORD_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| STOPWORDS.iter().copied().collect());

fn is_stopword(w: &str) -> bool {
    STOPWORD_SET.contains(w)
}

/// The commonest function words of some languages the shipped model does
/// not read, by ISO 639-3 code: their articles are clustered on their words
/// alone, and within one language two unrelated reports share "de", "la",
/// "el" and "en" as English ones share "the". Empty for other languages
/// (and for English, whose words are [`STOPWORDS`]).
pub fn function_words(language: Option<&str>) -> &'static [&'static str] {
    match language {
        Some("spa") => &[
            "de", "la", "el", "en", "los", "las", "del", "un", "una", "por", "para", "con", "que", "se", "su", "sus", "al", "lo",
            "como", "más", "pero", "sin", "sobre", "tras", "entre", "según", "este", "esta", "fue", "ha", "han", "es", "son",
        ],
        Some("por") => &[
            "de", "da", "do", "das", "dos", "em", "na", "no", "nas", "nos", "um", "uma", "por", "para", "com", "que", "se", "os",
            "as", "ao", "sua", "seu", "mais", "foi", "são", "como", "mas", "sobre", "entre", "após", "segundo",
        ],
        Some("fra") => &[
            "de", "la", "le", "les", "des", "du", "un", "une", "en", "et", "est", "dans", "pour", "sur", "avec", "par", "au",
            "aux", "que", "qui", "se", "sa", "son", "ses", "ce", "cette", "plus", "pas", "ont", "été", "après", "selon", "entre",
        ],
        Some("deu") => &[
            "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "und", "ist", "in", "im", "mit", "von",
            "zu", "zum", "zur", "auf", "für", "sich", "auch", "nicht", "am", "an", "bei", "nach", "wurde", "hat", "sind", "als",
        ],
        Some("ita") => &[
            "di", "il", "la", "le", "lo", "gli", "dei", "delle", "della", "del", "un", "una", "in", "nel", "nella", "per", "con",
            "che", "si", "su", "sono", "è", "ha", "più", "dopo", "secondo", "tra", "anche", "al", "alla",
        ],
        Some("nld") => &[
            "de", "het", "een", "en", "van", "in", "op", "te", "met", "voor", "is", "niet", "zijn", "dat", "die", "aan", "bij",
            "om", "door", "naar", "ook", "werd", "na",
        ],
        Some("ara") => &[
            "في", "من", "على", "إلى", "عن", "مع", "أن", "إن", "هذا", "هذه", "التي", "الذي", "بعد", "قبل", "كان", "قد", "ما",
            "لا", "أو", "ثم", "حتى", "بين", "كما", "قال", "وقال", "يوم", "عند", "منذ", "خلال", "وفي", "ومن",
        ],
        _ => &[],
    }
}

/// The year a text mentions most often (1900-2099; ties go to the later
/// year), or `None` when it names no year.
pub fn dominant_year(text: &str) -> Option<i32> {
    let mut counts: HashMap<i32, u32> = HashMap::new();
    for w in text.split(|c: char| !c.is_ascii_digit()) {
        if w.len() == 4 {
            if let Ok(y) = w.parse::<i32>() {
                if (1900..2100).contains(&y) {
                    *counts.entry(y).or_default() += 1;
                }
            }
        }
    }
    counts.into_iter().max_by_key(|&(y, n)| (n, y)).map(|(y, _)| y)
}

/// A sparse, L2-normalised term vector sorted by term id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermVector(pub Vec<(u32, f32)>);

impl TermVector {
    pub fn cosine(&self, o: &TermVector) -> f32 {
        let (a, b) = (&self.0, &o.0);
        let (mut i, mut j, mut s) = (0, 0, 0.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    s += a[i].1 * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        s
    }

    /// Normalised mean of several vectors.
    pub fn mean<'a>(vs: impl Iterator<Item = &'a TermVector>) -> TermVector {
        let mut acc: HashMap<u32, f32> = HashMap::new();
        for v in vs {
            for &(t, w) in &v.0 {
                *acc.entry(t).or_default() += w;
            }
        }
        let mut v: Vec<(u32, f32)> = acc.into_iter().collect();
        v.sort_by_key(|x| x.0);
        normalise(&mut v);
        TermVector(v)
    }
}

fn normalise(v: &mut [(u32, f32)]) {
    let n = v.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| x.1 /= n);
    }
}

/// Terms of a text: lowercase words (no stopwords), numbers of two or more
/// digits, and pairs of adjacent capitalised words (names, streets, places).
pub fn terms(text: &str) -> Vec<String> {
    terms_without(text, &[])
}

/// [`terms`], leaving out the words of `extra` too (lowercase).
pub fn terms_without(text: &str, extra: &[&str]) -> Vec<String> {
    let is_stopword = |w: &str| is_stopword(w) || extra.contains(&w);
    let mut out = Vec::new();
    let mut prev_cap: Option<&str> = None;
    for w in text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’')) {
        let w = w.trim_matches(|c| c == '\'' || c == '’');
        let w = w.strip_suffix("'s").or_else(|| w.strip_suffix("’s")).unwrap_or(w);
        if w.is_empty() {
            prev_cap = None;
            continue;
        }
        let lower = w.to_lowercase();
        let is_num = w.chars().all(|c| c.is_ascii_digit());
        let cap = w.chars().next().is_some_and(char::is_uppercase) && !is_stopword(&lower);
        if let (true, Some(p)) = (cap, prev_cap) {
            out.push(format!("{} {}", p.to_lowercase(), lower));
        }
        prev_cap = if cap { Some(w) } else { None };
        if is_num {
            if w.len() >= 2 {
                out.push(lower);
            }
        } else if w.chars().count() >= 2 && !is_stopword(&lower) {
            out.push(lower);
        }
    }
    out
}

/// A doc's terms as (hash, count) sorted by hash; a title's terms count twice.
fn term_counts(title: Option<&str>, text: &str, extra: &[&str]) -> Vec<(u64, f32)> {
    let title_terms = title.map(|t| terms_without(t, extra)).unwrap_or_default();
    let mut tf: Vec<(u64, f32)> = terms_without(text, extra)
        .iter()
        .map(|t| (xxhash_rust::xxh3::xxh3_64(t.as_bytes()), 1.0))
        .chain(title_terms.iter().map(|t| (xxhash_rust::xxh3::xxh3_64(t.as_bytes()), 2.0)))
        .collect();
    tf.sort_unstable_by_key(|x| x.0);
    let mut out: Vec<(u64, f32)> = Vec::with_capacity(tf.len());
    for (h, c) in tf {
        match out.last_mut() {
            Some(last) if last.0 == h => last.1 += c,
            _ => out.push((h, c)),
        }
    }
    out.shrink_to_fit();
    out
}

/// TF-IDF vectors for a corpus, with an inverted index over each doc's top terms.
pub struct TermIndex {
    vectors: Vec<TermVector>,
    /// Per doc: its strongest terms (ids), for candidate generation.
    top: Vec<Vec<u32>>,
}

impl TermIndex {
    /// Builds TF-IDF vectors: sublinear tf, title counted twice, smoothed idf,
    /// at most `cfg.max_terms` terms kept per doc.
    ///
    /// Terms are counted by a 64-bit hash, not by their text: the counts of
    /// a whole corpus are in memory at once, and a hash and a count take 16
    /// bytes where a map of strings took several times that. Term ids are
    /// the ranks of the hashes, so they do not depend on the thread count.
    pub fn build<'a>(docs: impl Iterator<Item = (Option<&'a str>, &'a str)>, cfg: &ClusterConfig) -> Self {
        Self::build_without(docs, cfg, &[])
    }

    /// [`TermIndex::build`], leaving out the words of `extra` too (a
    /// language's [`function_words`]).
    pub fn build_without<'a>(docs: impl Iterator<Item = (Option<&'a str>, &'a str)>, cfg: &ClusterConfig, extra: &[&str]) -> Self {
        let docs: Vec<(Option<&str>, &str)> = docs.collect();
        let counted: Vec<Vec<(u64, f32)>> = docs.par_iter().map(|&(title, text)| term_counts(title, text, extra)).collect();
        drop(docs);
        let mut df_by_hash: HashMap<u64, u32> = HashMap::new();
        for tf in &counted {
            for &(h, _) in tf {
                *df_by_hash.entry(h).or_default() += 1;
            }
        }
        let mut vocab: Vec<(u64, u32)> = df_by_hash.into_iter().collect();
        vocab.sort_unstable();
        let df: Vec<u32> = vocab.iter().map(|x| x.1).collect();
        let hashes: Vec<u64> = vocab.into_iter().map(|x| x.0).collect();
        let n = counted.len() as f32;
        let idf: Vec<f32> = df.iter().map(|&d| ((n + 1.0) / (d as f32 + 1.0)).ln() + 1.0).collect();
        let vectors: Vec<TermVector> = counted
            .into_par_iter()
            .map(|tf| {
                let mut v: Vec<(u32, f32)> = tf
                    .iter()
                    .map(|&(h, c)| {
                        let id = hashes.binary_search(&h).expect("every counted hash is in the vocabulary") as u32;
                        (id, (1.0 + c.ln()) * idf[id as usize])
                    })
                    .collect();
                v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                v.truncate(cfg.max_terms);
                v.sort_by_key(|x| x.0);
                normalise(&mut v);
                TermVector(v)
            })
            .collect();
        let max_df = ((n * cfg.max_term_df_ratio) as u32).max(cfg.max_postings as u32).max(2);
        let top = vectors.par_iter().map(|v| top_terms(v, &df, max_df, cfg.top_terms)).collect();
        Self { vectors, top }
    }

    /// An index over given vectors (event centroids for stories).
    pub fn from_vectors(vectors: Vec<TermVector>) -> Self {
        let top = vectors
            .iter()
            .map(|v| {
                let mut t = v.0.clone();
                t.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                t.into_iter().take(12).map(|x| x.0).collect()
            })
            .collect();
        Self { vectors, top }
    }

    pub fn vector(&self, i: usize) -> &TermVector {
        &self.vectors[i]
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Pairs (i < j) sharing one of their top terms, where the term's posting
    /// list is at most `max_postings` long; sorted, without repeats.
    pub fn candidate_pairs(&self, max_postings: usize) -> Vec<(usize, usize)> {
        let mut postings: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, t) in self.top.iter().enumerate() {
            for &term in t {
                postings.entry(term).or_default().push(i);
            }
        }
        let mut lists: Vec<Vec<usize>> = postings.into_values().filter(|p| p.len() >= 2 && p.len() <= max_postings).collect();
        lists.sort();
        let mut pairs: Vec<(usize, usize)> = lists
            .par_iter()
            .flat_map_iter(|p| p.iter().enumerate().flat_map(move |(k, &a)| p[k + 1..].iter().map(move |&b| (a, b))))
            .collect();
        pairs.par_sort_unstable();
        pairs.dedup();
        pairs
    }
}

fn top_terms(v: &TermVector, df: &[u32], max_df: u32, k: usize) -> Vec<u32> {
    let mut t: Vec<(u32, f32)> = v.0.iter().copied().filter(|&(id, _)| df[id as usize] >= 2 && df[id as usize] <= max_df).collect();
    t.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    t.into_iter().take(k).map(|x| x.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominant_year_counts_mentions() {
        assert_eq!(dominant_year("In 2013, after 2009 and again in 2013, the 12345 people"), Some(2013));
        assert_eq!(dominant_year("no year, 300 people"), None);
        assert_eq!(dominant_year("2008 and 2009"), Some(2009));
    }

    #[test]
    fn terms_keep_names_and_numbers() {
        let t = terms("Police found Malik McMillian in the 1400 block of Ambassador Lane at 7:35 p.m.");
        assert!(t.contains(&"malik mcmillian".to_string()));
        assert!(t.contains(&"ambassador lane".to_string()));
        assert!(t.contains(&"1400".to_string()));
        assert!(t.contains(&"35".to_string()));
        assert!(!t.contains(&"the".to_string()));
    }

    #[test]
    fn shared_rare_terms_make_candidates() {
        let cfg = ClusterConfig::default();
        let docs = [
            (None, "Shooting on Hollow Road in Huntsville leaves one dead"),
            (None, "Huntsville police investigate Hollow Road shooting"),
            (None, "Earthquake strikes Indonesia, tsunami warning issued"),
        ];
        let idx = TermIndex::build(docs.iter().map(|&(a, b)| (a, b)), &cfg);
        assert_eq!(idx.candidate_pairs(10), vec![(0, 1)]);
        assert!(idx.vector(0).cosine(idx.vector(1)) > idx.vector(0).cosine(idx.vector(2)));
    }
}
