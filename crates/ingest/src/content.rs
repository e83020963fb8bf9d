//! Whether a page carries an article at all.
//!
//! Scrapes keep pages that hold no news: a language code where the article
//! failed to load ("en"), an archive or "page moved" notice, a paywall or
//! login stub, a "page not found". Each is real input and stays in the
//! tables, but it says nothing about any happening, so clustering keeps it
//! out of every event (see `cluster::Doc::alone`).
//!
//! The rule, on the cleaned title and text:
//! 1. Lines that are notices (archive, moved, paywall, login, newsletter
//!    forms, not found) are set aside. The text is not changed.
//! 2. Content words are words of two or more letters that are not English
//!    function words, each counted once.
//! 3. Fewer than [`MIN_WORDS`] content words in title and text together:
//!    `none`. Otherwise, fewer than [`MIN_BODY_WORDS`] content words in the
//!    text beyond those of the title: `title_only` (a headline; it clusters
//!    like any article). Otherwise `article`.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::language::is_function;

/// Fewer distinct content words than this in title and text: no content.
pub const MIN_WORDS: usize = 3;
/// Fewer distinct content words than this in the text beyond the title's:
/// a headline only.
pub const MIN_BODY_WORDS: usize = 12;

/// What a page holds, after cleaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Content {
    /// A body of text beyond its headline.
    Article,
    /// A headline (in the title or as a one-line text) and little else.
    TitleOnly,
    /// No news content: a language code, a notice, a stub.
    None,
}

impl Content {
    pub fn as_str(self) -> &'static str {
        match self {
            Content::Article => "article",
            Content::TitleOnly => "title_only",
            Content::None => "none",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [Content::Article, Content::TitleOnly, Content::None].into_iter().find(|c| c.as_str() == s)
    }

    /// Classifies a cleaned title and text (see the module's rule). It
    /// stops reading as soon as the text has a body's worth of words.
    pub fn of(title: Option<&str>, text: &str) -> Self {
        let title_words: HashSet<String> = content_words(title.unwrap_or("")).collect();
        let mut beyond: HashSet<String> = HashSet::new();
        for w in content_words(text) {
            if !title_words.contains(&w) {
                beyond.insert(w);
                if beyond.len() >= MIN_BODY_WORDS {
                    return Content::Article;
                }
            }
        }
        if title_words.len() + beyond.len() < MIN_WORDS {
            Content::None
        } else {
            Content::TitleOnly
        }
    }
}

/// A line that is a notice of the page, not news: archive and moved
/// notices, paywalls, login and newsletter forms, errors.
static NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    // Word boundaries are ASCII ones: Unicode ones keep the regex off its
    // fast engines.
    Regex::new(
        r"(?xi)
        (?-u:\b)(article|page|story|content|link)(?-u:\b).{0,40}(?-u:\b)(outdated|archived|moved|no\ longer\ available|has\ been\ removed|expired|not\ found|does\ not\ exist)(?-u:\b)
        | (?-u:\b)moved\ to\ (the\ )?archive(?-u:\b)
        | (?-u:\b)premium\ clicks?(?-u:\b)
        | (?-u:\b)\d+\ of\ \d+\ (free\ |premium\ )?(articles|stories|clicks)(?-u:\b)
        | (?-u:\b)already\ a\ (subscriber|member)(?-u:\b)
        | (?-u:\b)subscribers?\ only(?-u:\b)
        | (?-u:\b)subscribe\ (now|today|to\ (continue|read|keep))(?-u:\b)
        | (?-u:\b)(log|sign)\ ?in\ (to|or)\ (continue|read|view|subscribe|register)(?-u:\b)
        | (?-u:\b)(log|sign)\ ?in(?-u:\b).{0,60}(?-u:\b)(account|subscriber|subscription)(?-u:\b)
        | (?-u:\b)(account|subscription)(?-u:\b).{0,60}(?-u:\b)(log|sign)\ ?in(?-u:\b)
        | (?-u:\b)reached\ your\ (free\ )?(article\ |monthly\ )?limit(?-u:\b)
        | (?-u:\b)selected\ any\ newsletters(?-u:\b)
        | (?-u:\b)page\ (was\ )?not\ found(?-u:\b)
        | (?-u:\b)error\ 404(?-u:\b) | ^\s*404(?-u:\b)
        | (?-u:\b)enable\ (javascript|cookies)(?-u:\b)
        | (?-u:\b)you\ are\ the\ owner\ of\ this\ article(?-u:\b)",
    )
    .expect("static pattern")
});

/// Compiles this module's pattern when called (see `compile_patterns` in lib.rs).
pub(crate) const COMPILE: &[fn()] = crate::compile_list![NOTICE];

/// The distinct content words of `text` as hashes, sorted, each cut to its
/// first five letters (a crude stem: "shooting" and "shooter" agree): what
/// says whether a line and a title, or two titles, speak of one thing.
pub(crate) fn content_word_hashes(text: &str) -> Vec<u64> {
    let mut out: Vec<u64> = content_words(text)
        .map(|w| {
            let stem: String = w.chars().take(5).collect();
            xxhash_rust::xxh3::xxh3_64(stem.as_bytes())
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether two sorted lists share no element.
pub(crate) fn disjoint(a: &[u64], b: &[u64]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return false,
        }
    }
    true
}

/// The content words of the lines of `text` that are not notices,
/// lowercased, in order (with repeats).
fn content_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .filter(|l| !NOTICE.is_match(l))
        .flat_map(|l| l.split(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().count() >= 2 && !is_function(w))
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_code_is_no_content() {
        assert_eq!(Content::of(Some("en"), "en"), Content::None);
        assert_eq!(Content::of(None, ""), Content::None);
        assert_eq!(Content::of(Some("Page Not Found"), ""), Content::None);
    }

    #[test]
    fn notices_and_stubs_are_no_content() {
        assert_eq!(Content::of(Some("en"), "This article is outdated and was moved to archive"), Content::None);
        assert_eq!(Content::of(None, "1 of 3 Premium Clicks used this month\nAlready a subscriber? Log in to continue"), Content::None);
        assert_eq!(Content::of(None, "Oops, you haven't selected any newsletters. Please check the box next to one or more of our email newsletters and submit again."), Content::None);
    }

    #[test]
    fn a_headline_behind_a_paywall_is_a_headline() {
        let text = "Already a subscriber?\n\nClick on the button below to set up your account or log in if you already have one.";
        assert_eq!(Content::of(Some("Attempt to deal with stray dogs led to accidental shooting death"), text), Content::TitleOnly);
    }

    #[test]
    fn a_one_line_headline_is_title_only() {
        assert_eq!(Content::of(None, "Gunman kills 3 at Chicago bar"), Content::TitleOnly);
        let h = "ECB unlikely to end sterilisation of SMP purchases - traders";
        assert_eq!(Content::of(Some(h), h), Content::TitleOnly);
    }

    #[test]
    fn an_article_is_an_article() {
        let text = "The US-led coalition formally ended its combat mission in Iraq on Friday, officials said, \
                    and the remaining troops will advise and train Iraqi security forces.";
        assert_eq!(Content::of(Some("Coalition ends Iraq combat mission"), text), Content::Article);
    }

    #[test]
    fn names_round_trip() {
        for c in [Content::Article, Content::TitleOnly, Content::None] {
            assert_eq!(Content::from_name(c.as_str()), Some(c));
        }
    }
}
