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

    /// Classifies a cleaned title and text (see the module's rule).
    pub fn of(title: Option<&str>, text: &str) -> Self {
        let title_words = content_words(title.unwrap_or(""));
        let body_words = content_words(text);
        let beyond = body_words.difference(&title_words).count();
        if title_words.len() + beyond < MIN_WORDS {
            Content::None
        } else if beyond < MIN_BODY_WORDS {
            Content::TitleOnly
        } else {
            Content::Article
        }
    }
}

/// A line that is a notice of the page, not news: archive and moved
/// notices, paywalls, login and newsletter forms, errors.
static NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        \b(article|page|story|content|link)\b.{0,40}\b(outdated|archived|moved|no\ longer\ available|has\ been\ removed|expired|not\ found|does\ not\ exist)\b
        | \bmoved\ to\ (the\ )?archive\b
        | \bpremium\ clicks?\b
        | \b\d+\ of\ \d+\ (free\ |premium\ )?(articles|stories|clicks)\b
        | \balready\ a\ (subscriber|member)\b
        | \bsubscribers?\ only\b
        | \bsubscribe\ (now|today|to\ (continue|read|keep))\b
        | \b(log|sign)\ ?in\ (to|or)\ (continue|read|view|subscribe|register)\b
        | \b(log|sign)\ ?in\b.{0,60}\b(account|subscriber|subscription)\b
        | \b(account|subscription)\b.{0,60}\b(log|sign)\ ?in\b
        | \breached\ your\ (free\ )?(article\ |monthly\ )?limit\b
        | \bselected\ any\ newsletters\b
        | \bpage\ (was\ )?not\ found\b
        | \berror\ 404\b | ^\s*404\b
        | \benable\ (javascript|cookies)\b
        | \byou\ are\ the\ owner\ of\ this\ article\b",
    )
    .expect("static pattern")
});

/// Compiles this module's pattern when called (see `compile_patterns` in lib.rs).
pub(crate) const COMPILE: &[fn()] = crate::compile_list![NOTICE];

/// The distinct content words of the lines of `text` that are not notices, lowercased.
fn content_words(text: &str) -> HashSet<String> {
    text.lines()
        .filter(|l| !NOTICE.is_match(l))
        .flat_map(|l| l.split(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().count() >= 2 && !is_function(w))
        .map(str::to_lowercase)
        .collect()
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
