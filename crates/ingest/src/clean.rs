//! Line-level cleaning of scraped page text: comment forms, share/print
//! widgets, spam lines, stray fragments and paragraphs repeated within the
//! article. Every removed line is counted by reason.

use std::borrow::Cow;

use serde::Serialize;

use crate::noise::{contact_line, video_playlists, Found, COMMENT_LINE, COMMENT_SECTION, GLUED_SENTENCES, INLINE_WIDGET, SPAM_WORDS, URL, WIDGET_LINE};
use crate::text::{char_at, lowercase_words, Stops};

/// Why a line was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// Comment forms and everything after a comment-section marker.
    Comment,
    /// Share, print, font-size, follow, subscribe, copyright widgets.
    Widget,
    /// Advertising spam (pharmacy links and the like).
    Spam,
    /// A paragraph that already occurred earlier in the same article.
    Repeated,
    /// A line repeated across many articles of the same outlet.
    Furniture,
    /// A line with no words: numbers, rules, lone symbols, bare links.
    Fragment,
    /// Title, date and byline lines moved into metadata.
    Byline,
    /// Site chrome: a line that stands, unrelated to the title, in articles
    /// whose titles are unrelated to each other (see `furniture`).
    Chrome,
}

/// Per-article counts of removed lines by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Removed {
    pub comment: u32,
    pub widget: u32,
    pub spam: u32,
    pub repeated: u32,
    pub furniture: u32,
    pub fragment: u32,
    pub byline: u32,
    pub chrome: u32,
}

impl Removed {
    pub fn add(&mut self, reason: RemovalReason) {
        let slot = match reason {
            RemovalReason::Comment => &mut self.comment,
            RemovalReason::Widget => &mut self.widget,
            RemovalReason::Spam => &mut self.spam,
            RemovalReason::Repeated => &mut self.repeated,
            RemovalReason::Furniture => &mut self.furniture,
            RemovalReason::Fragment => &mut self.fragment,
            RemovalReason::Byline => &mut self.byline,
            RemovalReason::Chrome => &mut self.chrome,
        };
        *slot += 1;
    }

    pub fn total(&self) -> u32 {
        self.comment + self.widget + self.spam + self.repeated + self.furniture + self.fragment + self.byline + self.chrome
    }
}

/// The kept lines (one paragraph each) and what was removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanedLines {
    pub lines: Vec<String>,
    /// The paragraph key of each kept line.
    pub(crate) keys: Vec<LineKey>,
    /// The keys' words, which [`LineKey::words`] points into.
    pub(crate) key_text: Vec<u8>,
    pub removed: Removed,
}

/// A line's paragraph key: its hash ([`paragraph_hash`]), which furniture
/// and repeat removal compare, and where its words are in the article's key
/// text, which SimHash reads instead of finding the words again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineKey {
    pub(crate) hash: Option<u64>,
    start: usize,
    end: usize,
}

impl LineKey {
    /// Appends `key` (a line's paragraph key) to `key_text`.
    fn append(key: &[u8], key_text: &mut Vec<u8>) -> Self {
        let start = key_text.len();
        key_text.extend_from_slice(key);
        Self { hash: key_hash(key), start, end: key_text.len() }
    }

    /// The key of `line`, appended to `key_text`.
    pub(crate) fn of_line(line: &str, key_text: &mut Vec<u8>) -> Self {
        let mut key = Vec::new();
        paragraph_key_into(line, &mut key);
        Self::append(&key, key_text)
    }

    /// The key's words: lowercase, one space between them.
    pub(crate) fn words<'t>(&self, key_text: &'t [u8]) -> &'t [u8] {
        &key_text[self.start..self.end]
    }
}

/// Normalises raw text: line endings, zero-width characters, odd spaces.
/// Borrowed when there is nothing to change (most texts).
pub fn normalise(text: &str) -> Cow<'_, str> {
    // Controls, DEL and non-ASCII bytes are found eight at a time; only the
    // characters replaced or dropped below end the run of bytes copied as
    // they are (newlines and most non-ASCII characters do not).
    const CANDIDATES: Stops<1> = Stops { bytes: [0x7F], below: 0x20, non_ascii: true };
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        i += CANDIDATES.skip(&bytes[i..]);
        let Some(&b) = bytes.get(i) else { break };
        // Only these bytes can start a character changed below: ASCII
        // controls, DEL, and the UTF-8 lead bytes of U+0080-U+00BF,
        // U+2000-U+2FFF, U+3000 and U+FEFF.
        if !matches!(b, 0x00..=0x09 | 0x0B..=0x1F | 0x7F | 0xC2 | 0xE2 | 0xE3 | 0xEF) {
            i += 1;
            continue;
        }
        let (c, len) = char_at(text, i);
        let replacement = match c {
            '\r' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => None,
            '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\t' | '\u{2002}'..='\u{200A}' | '\u{3000}' => Some(' '),
            '\u{2028}' | '\u{2029}' | '\u{0085}' => Some('\n'),
            c if c.is_control() && c != '\n' => None,
            _ => {
                // Kept as it is: part of the run.
                i += len;
                continue;
            }
        };
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[run..i]);
        out.extend(replacement);
        i += len;
        run = i;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[run..]);
            Cow::Owned(out)
        }
    }
}

fn collapse_spaces(line: &str) -> Cow<'_, str> {
    // Most lines are already tidy: single ASCII spaces, none at either end.
    // Whitespace other than ' ' is an ASCII control or not ASCII: one walk,
    // eight bytes at a time, finds the first such byte, and only the rest of
    // the line from there is read character by character.
    const CONTROL_OR_NON_ASCII: Stops<0> = Stops { bytes: [], below: 0x20, non_ascii: true };
    let special = CONTROL_OR_NON_ASCII.skip(line.as_bytes());
    let other_space = line.get(special..).is_some_and(|rest| rest.chars().any(|c| c != ' ' && c.is_whitespace()));
    let tidy = !other_space && !line.starts_with(' ') && !line.ends_with(' ') && !line.contains("  ");
    if tidy {
        return Cow::Borrowed(line);
    }
    Cow::Owned(line.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Writes the key under which two paragraphs count as the same into `key`:
/// lowercase words only, one space between them.
fn paragraph_key_into(line: &str, key: &mut Vec<u8>) {
    lowercase_words(line, key);
}

/// A 64-bit hash of the key under which two paragraphs count as the same
/// (lowercase words only; `None` for a line without words), built in `buf` so
/// that comparing paragraphs allocates nothing per line. Two different
/// paragraphs share a hash with odds of about 2^-64.
pub(crate) fn paragraph_hash(line: &str, buf: &mut Vec<u8>) -> Option<u64> {
    paragraph_key_into(line, buf);
    key_hash(buf)
}

fn key_hash(key: &[u8]) -> Option<u64> {
    (!key.is_empty()).then(|| xxhash_rust::xxh3::xxh3_64(key))
}

/// Words (split at whitespace) with at least one letter, counted up to
/// `max`: one walk that stops at the `max`th word (a paragraph's ninth word
/// is some fifty bytes in). ASCII bytes are classed by a table and counted
/// without a branch on the word boundaries.
fn word_count(line: &str, max: usize) -> usize {
    let bytes = line.as_bytes();
    let (mut count, mut has_letter) = (0usize, false);
    let mut i = 0;
    while i < bytes.len() && count < max {
        let b = bytes[i];
        let (space, letter, len) = if b.is_ascii() {
            let class = ASCII_CLASS[usize::from(b)];
            (class & SPACE != 0, class & LETTER != 0, 1)
        } else {
            let (c, len) = char_at(line, i);
            (c.is_whitespace(), c.is_alphabetic(), len)
        };
        i += len;
        count += usize::from(space & has_letter);
        has_letter = !space & (has_letter | letter);
    }
    (count + usize::from(has_letter)).min(max)
}

const SPACE: u8 = 1;
const LETTER: u8 = 2;

/// [`SPACE`] for the ASCII characters `char::is_whitespace` accepts,
/// [`LETTER`] for the ASCII letters.
const ASCII_CLASS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            t[b] = SPACE;
        } else if c.is_ascii_alphabetic() {
            t[b] = LETTER;
        }
        b += 1;
    }
    t
};

/// Classifies one (already inline-stripped) line; `None` keeps it.
fn classify(line: &str, found: Found) -> Option<RemovalReason> {
    if found.has(Found::COMMENT) || COMMENT_LINE.is_match(line) {
        return Some(RemovalReason::Comment);
    }
    let has_url = found.has(Found::URL);
    if has_url && SPAM_WORDS.is_match(line) {
        return Some(RemovalReason::Spam);
    }
    // Only "none" and "at most eight" matter below.
    let words = word_count(line, 9);
    if found.has(Found::WIDGET) || WIDGET_LINE.is_match(line) || (words <= 8 && contact_line(line)) {
        return Some(RemovalReason::Widget);
    }
    let words = if has_url { word_count(&URL.replace_all(line, ""), 1) } else { words };
    if words == 0 && crate::date::find_date(line).is_none() {
        return Some(RemovalReason::Fragment);
    }
    None
}

/// Splits text into lines and removes the noise line by line. Pure and local
/// to one article; furniture (across articles) is handled elsewhere.
pub fn clean_lines(text: &str) -> CleanedLines {
    let text = normalise(text);
    let raw: Vec<Cow<'_, str>> = text.lines().map(collapse_spaces).filter(|l| !l.is_empty()).collect();
    let mut removed = Removed::default();
    // A comment section in the second half of the page ends the article.
    let cut = raw
        .iter()
        .enumerate()
        .skip(raw.len() / 2)
        .find(|(_, l)| COMMENT_SECTION.is_match(l))
        .map_or(raw.len(), |(i, _)| i);
    for _ in cut..raw.len() {
        removed.add(RemovalReason::Comment);
    }
    let mut seen = crate::hashed::FastSet::default();
    let mut key = Vec::new();
    let mut lines = Vec::with_capacity(cut);
    let mut keys = Vec::with_capacity(cut);
    let mut key_text = Vec::with_capacity(text.len());
    let playlists = video_playlists(&raw[..cut]);
    for (i, line) in raw[..cut].iter().enumerate() {
        if playlists.iter().any(|run| run.contains(&i)) {
            removed.add(RemovalReason::Widget);
            continue;
        }
        paragraph_key_into(line, &mut key);
        let mut found = Found::in_line(line, &key);
        let mut stripped: Cow<'_, str> = Cow::Borrowed(line);
        if found.has(Found::INLINE_WIDGET) {
            stripped = Cow::Owned(collapse_spaces(&INLINE_WIDGET.replace_all(&stripped, " ")).into_owned());
            paragraph_key_into(&stripped, &mut key);
            found = Found::in_line(&stripped, &key);
        }
        if found.has(Found::GLUED) {
            stripped = Cow::Owned(GLUED_SENTENCES.replace_all(&stripped, "$1 $2").into_owned());
            paragraph_key_into(&stripped, &mut key);
            found = Found::in_line(&stripped, &key);
        }
        if stripped.is_empty() {
            removed.add(RemovalReason::Widget);
            continue;
        }
        if COMMENT_SECTION.is_match(&stripped) {
            removed.add(RemovalReason::Comment);
            continue;
        }
        if let Some(reason) = classify(&stripped, found) {
            removed.add(reason);
            continue;
        }
        if !seen.insert(key_hash(&key)) {
            removed.add(RemovalReason::Repeated);
            continue;
        }
        lines.push(stripped.into_owned());
        keys.push(LineKey::append(&key, &mut key_text));
    }
    CleanedLines { lines, keys, key_text, removed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_comment_form_and_counts_it() {
        let t = "Body line one is here.\nBody line two is here.\nBody line three.\nLeave a Reply\nYou are commenting using your Twitter account. Log Out / Change )\nConnecting to %s";
        let c = clean_lines(t);
        assert_eq!(c.lines.len(), 3);
        assert_eq!(c.removed.comment, 3);
    }

    #[test]
    fn removes_spam_with_link_but_keeps_plain_mentions() {
        let c = clean_lines("A real sentence about Iraq.\nbuy cipro online https://x.example/cipro.html no prescription pharmacy\nThe pharmacy on Main Street was robbed.");
        assert_eq!(c.lines, vec!["A real sentence about Iraq.", "The pharmacy on Main Street was robbed."]);
        assert_eq!(c.removed.spam, 1);
    }

    #[test]
    fn strips_inline_widgets_keeping_the_rest() {
        let c = clean_lines("0 Comment(s)Print E-mail Xinhua, December 02, 2021\nAdjust font size:");
        assert_eq!(c.lines, vec!["Xinhua, December 02, 2021"]);
        assert_eq!(c.removed.widget, 1);
    }

    #[test]
    fn removes_video_playlists_but_not_timed_entries() {
        let playlist = "3:02 Sacramento woman parts with beloved dog, because both are blind Pause\n\
            1:27 Sacramento Mural Festival paints the city beautiful\n\
            5:16 The Jaycee Dugard kidnap case: Amazing rescue was 7 years ago\n\
            0:20 Fiery Sacramento County crash caught on camera";
        let c = clean_lines(&format!("Two men were shot on Friday night.\n{playlist}\nPolice have made no arrests."));
        assert_eq!(c.lines, vec!["Two men were shot on Friday night.", "Police have made no arrests."]);
        assert_eq!(c.removed.widget, 4);
        // Without "Pause" the lengths out of order give it away.
        let c = clean_lines(&playlist.replace(" Pause", ""));
        assert!(c.lines.is_empty(), "{:?}", c.lines);
        // A live blog's entries, in time order, and times of day stay; so do
        // two entries alone.
        for kept in [
            "14:05 Police confirm two people were injured.\n14:20 The road has reopened.\n14:45 A suspect was arrested.",
            "8:20 a.m. Police arrive.\n8:10 a.m. Shots are reported.\n9:45 p.m. The road reopens.",
            "3:02 First clip title here\n1:27 Second clip title here",
        ] {
            assert_eq!(clean_lines(kept).lines.len(), kept.lines().count(), "{kept}");
        }
    }

    #[test]
    fn drops_repeated_paragraphs() {
        let c = clean_lines("Same para here.\n\nOther para.\n\nSame  para here.\n\nsame para HERE");
        assert_eq!(c.lines, vec!["Same para here.", "Other para."]);
        assert_eq!(c.removed.repeated, 2);
    }

    #[test]
    fn unglues_sentences() {
        let c = clean_lines("Injured in South Los Angeles.According to investigators, it was at abc7.com today.");
        assert_eq!(c.lines, vec!["Injured in South Los Angeles. According to investigators, it was at abc7.com today."]);
    }

    #[test]
    fn words_with_letters_up_to_a_limit() {
        for (line, max, n) in [
            ("", 9, 0),
            ("123 4,5 -- 2021", 9, 0),
            ("Baghdad, 29 December 2021 (TDI):", 9, 3),
            ("one two three four", 2, 2),
            ("naïve café\u{3000}北京 x1", 9, 4),
            ("a", 9, 1),
            ("tab\tvt\u{0b}ff\u{0c}cr\rnbsp\u{a0}end", 9, 6),
            ("  lead  and trail  ", 9, 3),
        ] {
            assert_eq!(word_count(line, max), n, "{line:?}");
        }
    }

    #[test]
    fn collapse_spaces_borrows_tidy_lines() {
        for tidy in ["Plain line, one space.", "Café “quoted” — 2021", ""] {
            assert!(matches!(collapse_spaces(tidy), Cow::Borrowed(_)), "{tidy:?}");
        }
        let cases = [
            (" lead", "lead"),
            ("trail ", "trail"),
            ("two  spaces", "two spaces"),
            ("tab\there", "tab here"),
            ("form\u{c}feed", "form feed"),
            ("café\u{2000}bar\u{205f}baz", "café bar baz"),
            ("ogham\u{1680}space", "ogham space"),
        ];
        for (line, want) in cases {
            assert_eq!(collapse_spaces(line), want, "{line:?}");
        }
    }

    #[test]
    fn normalise_borrows_unless_something_changes() {
        assert!(matches!(normalise("Plain “quoted” text — © 2021\nnext"), Cow::Borrowed(_)));
        let n = normalise("a\r\nb\u{a0}c\u{200b}d\u{2028}e\u{7}f\tg\u{85}h\u{ad}i");
        assert!(matches!(n, Cow::Owned(_)));
        assert_eq!(n, "a\nb cd\nef g\nhi");
    }

    #[test]
    fn zero_width_and_fragments() {
        let c = clean_lines("Hel\u{200B}lo world.\n351\n___\nhttps://example.com/x");
        assert_eq!(c.lines, vec!["Hello world."]);
        assert_eq!(c.removed.fragment, 3);
    }
}
