//! What page noise looks like: the line patterns of comment forms, widgets
//! and spam, the contact-line test, and the search for the patterns that may
//! stand anywhere in a line ([`Found`]), which is most of the cost of
//! cleaning: every byte of every line goes through it.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};

use crate::text::Stops;

/// Lines that open a comment section: everything from here on is comments.
pub(crate) static COMMENT_SECTION: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r"(?i)^leave a (reply|comment)(?-u:\b)",
        r"(?i)^post a comment$",
        r"(?i)^no comments[.:]?$",
        r"(?i)^add your comments?(?-u:\b)",
        r"(?i)^(\d+ )?comments?( \(\d+\))?:?$",
        r"(?i)^(join|start) the (conversation|discussion)(?-u:\b)",
        r"(?i)^comments are closed",
    ])
    .expect("static regex")
});

/// Comment-form lines (anchored at the line start; the one phrase that may
/// stand anywhere is in [`ANYWHERE`]).
pub(crate) static COMMENT_LINE: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r"(?i)^fill in your details below",
        r"(?i)^you are commenting using your(?-u:\b)",
        r"(?i)^connecting to %s$",
        r"(?i)^(twitter|facebook|google|wordpress\.com) (picture|photo|account)$",
        r"(?i)^go to forum(?-u:\b)",
        r"(?i)^\d+ comment\(s\)$",
        r"(?i)^user name required$",
        r"(?i)^your comment$",
        r"(?i)^enter the words you see",
        r"(?i)^notify me of (new|follow-up) (comments|posts)",
        r"(?i)^you must be logged in to post a comment",
        r"(?i)^log out ?/? ?change ?\)?$",
        r"(?i)^change \)$",
    ])
    .expect("static regex")
});

/// Share, follow, sign-up and copyright widgets (anchored at the line start;
/// the phrases that may stand anywhere are in [`ANYWHERE`]).
pub(crate) static WIDGET_LINE: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r"(?i)^(print|e-?mail|share|tweet|pin|pinterest|google\+?|twitter|facebook|linkedin|reddit|whatsapp|more|close|copy|copy link( copy)?|print e-?mail|bookmark and share|related( articles| stories)?:?|advertisement|adjust font size:?|font size:?|text size:?|read more|continue reading|loading\.\.\.|skip to (main )?content|next|previous|home|menu|search)$",
        r"(?i)^(share|like) this:",
        r"(?i)^click (here|on the button) ",
        r"(?i)^follow (us|the \w+|@\w+|[\w.]+:)",
        r"(?i)^follow the \w+$",
        r"(?i)^stay up to date(?-u:\b)",
        r"(?i)^join the .{0,40}facebook page$",
        r"(?i)^(email )?newsletters?(?-u:\b)",
        r"(?i)^subscribe(?-u:\b)",
        r"(?i)^already (have an account|a subscriber)",
        r"(?i)^please enable javascript",
        r"(?i)^hide transcript",
        r"(?i)^watch (this story|video|the video)$",
        r"(?i)^image \d+ of \d+$",
        r"(?i)^\(?(©|copyright|\(c\))\s*(\d{4})?",
        r"^(#[\w-]+\s*){2,}$",
        r"(?i)^send your stories",
        r"(?i)^get more from(?-u:\b)",
        r"(?i)^(email notifications are|there was a problem saving your notification|your notification has been saved|just one more thing|we have sent (you )?a (verification|confirmation)|thank you for registering|by submitting your registration|welcome back\. please sign in|why are we asking this|you are the owner of this article|if you do not receive the verification|we look forward to seeing you on|you must enter the characters|sign in using you)",
        r"(?i)^(▼|▲|►|◄|»|«|•|\||>>)+$",
        r"(?i)^for more .{0,40}, (listen|follow|visit|click)",
        r"(?i)^(close )?get email notifications on(?-u:\b)",
        r"(?i)^whenever .{0,80} posts new content",
        r"(?i)^(enjoy the convenience of home delivery|total access$|re-enter zip code|get digital access$|sorry, this zipcode|oops, you haven't selected|add a location to your tweets|when you tweet with a location|this slideshow requires javascript|view results$|vote$|top news photos)",
        r"(?i)^(download|get) the .{0,40}(?-u:\b)app(?-u:\b).{0,10}:?.{0,40}(iphone|android)",
    ])
    .expect("static regex")
});

/// Contact lines: only e-mail addresses, @handles, pipes and a few words.
/// The line `^[\w .:|,-]{0,40}[\w.+-]+@[\w.-]+[\w .:|@,-]{0,60}$`, written
/// out: as a regex its bounded Unicode classes took 30 ms to compile and
/// scanned every short line; here a line without '@' costs one memchr.
pub(crate) fn contact_line(line: &str) -> bool {
    fn word(c: char) -> bool {
        c.is_alphanumeric() || c == '_'
    }
    let Some(at) = line.find('@') else { return false };
    let (head, tail) = (&line[..at], &line[at + 1..]);
    // The address's local part: the longest run of [\w.+-] before the '@'.
    let local = head.chars().rev().take_while(|&c| word(c) || matches!(c, '.' | '+' | '-')).count();
    let prefix = head.chars().count() - local;
    if local == 0 || prefix > 40 || !head.chars().take(prefix).all(|c| word(c) || matches!(c, ' ' | '.' | ':' | '|' | ',' | '-')) {
        return false;
    }
    // Its domain: the longest run of [\w.-] after it; then at most 60 more.
    let domain = tail.chars().take_while(|&c| word(c) || matches!(c, '.' | '-')).count();
    let mut rest = tail.chars().skip(domain);
    domain > 0 && rest.clone().count() <= 60 && rest.all(|c| word(c) || matches!(c, ' ' | '.' | ':' | '|' | '@' | ',' | '-'))
}

/// A video playlist's entry, "3:02 Sacramento woman parts with beloved
/// dog": the clip's length (minutes:seconds), a space and its headline. The
/// length in seconds; `None` for other lines, among them times of day
/// ("8:20 a.m. Police arrived").
fn playlist_entry(line: &str) -> Option<u32> {
    let b = line.as_bytes();
    let colon = b.iter().take(3).position(|&c| c == b':').filter(|&c| c > 0)?;
    let (minutes, seconds) = (&b[..colon], b.get(colon + 1..colon + 3)?);
    if !minutes.iter().chain(seconds).all(u8::is_ascii_digit) || b.get(colon + 3) != Some(&b' ') {
        return None;
    }
    let number = |d: &[u8]| d.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
    let headline = &line[colon + 4..];
    let first_word: String = headline.split(' ').next().unwrap_or("").chars().filter(char::is_ascii_alphanumeric).collect();
    let time_of_day = matches!(first_word.to_ascii_lowercase().as_str(), "am" | "pm");
    let starts_as_text = headline.chars().next().is_some_and(|c| !c.is_ascii_digit());
    (number(seconds) < 60 && starts_as_text && !time_of_day).then(|| number(minutes) * 60 + number(seconds))
}

/// The runs of `lines` that are a video playlist (news sites' "more videos"
/// widget, which scrapers flatten into lines): three or more entries in a
/// row whose lengths are out of order, or one of which ends in the player's
/// "Pause" button. A live blog's timed entries are in time order and stay.
pub(crate) fn video_playlists(lines: &[impl AsRef<str>]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (mut j, mut rising, mut falling, mut pause, mut previous) = (i, true, true, false, None);
        while let Some(length) = lines.get(j).and_then(|l| playlist_entry(l.as_ref())) {
            if let Some(p) = previous {
                rising &= p <= length;
                falling &= p >= length;
            }
            previous = Some(length);
            pause |= lines[j].as_ref().ends_with(" Pause");
            j += 1;
        }
        if j - i >= 3 && (pause || !(rising || falling)) {
            runs.push(i..j);
        }
        i = j.max(i + 1);
    }
    runs
}

pub(crate) static SPAM_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(buy|cheap|order|discount)\s+\w+\s+online(?-u:\b)|(?-u:\b)no prescription(?-u:\b)|(?-u:\b)without (a )?prescription(?-u:\b)|(?-u:\b)pharmacy(?-u:\b)|(?-u:\b)viagra(?-u:\b)|(?-u:\b)cialis(?-u:\b)|(?-u:\b)casino(?-u:\b)|(?-u:\b)payday loans?(?-u:\b)|(?-u:\b)replica watches(?-u:\b)|(?-u:\b)essay writing service(?-u:\b)")
        .expect("static regex")
});

pub(crate) static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)(https?://|www\.)\S+").expect("static regex"));

/// Widget phrases that share a line with real text ("0 Comment(s)Print E-mail
/// Xinhua, December 02, 2021"): cut out, the rest kept.
pub(crate) static INLINE_WIDGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\d+ Comment\(s\)|Print E-?mail|Bookmark and Share|Adjust font size:?|(?-u:\b)Enditem(?-u:\b)|Go to Forum >>")
        .expect("static regex")
});

/// "streets.Four people": paragraphs glued together by the scraper.
pub(crate) static GLUED_SENTENCES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"([a-z]{3,}[.!?][”"’)]?)([A-Z][a-z])"#).expect("static regex"));

/// Everything else looked for anywhere in a line, in one pass (the
/// line-start patterns above stop after a few bytes; these scan it all).
pub(crate) static ANYWHERE: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        INLINE_WIDGET.as_str(),
        URL.as_str(),
        r"(?i)comments may be removed by the moderator",
        r"(?i)(?-u:\b)sign up for (one of )?our .{0,30}newsletters?(?-u:\b)|(?i)all rights reserved\.?\)?$|(?i)this material may not be published, broadcast, rewritten",
    ])
    .expect("static regex")
});

/// Pieces of text that a line's paragraph key contains whenever a pattern of
/// [`ANYWHERE`] matches the line: a piece of each pattern's required literal
/// text as the key writes it (lowercase, punctuation runs as one space),
/// chosen so that its first three letters are rare in news: a SIMD search
/// (Teddy) looks for them at about 2 GB/s (3.5 ms for GVA dev's keys), where
/// the regexes read every line a byte at a time (13 ms). A line whose key has
/// none of them is not scanned by the regexes at all.
const ANYWHERE_PIECES: [&str; 12] = [
    "omment s",         // \d+ Comment\(s\)
    "print e",          // Print E-?mail
    "kmark",            // Bookmark and Share
    "djust font",       // Adjust font size
    "ditem",            // Enditem
    "orum",             // Go to Forum >>
    "http",             // URLs
    "www",              //
    "moderator",        // comments may be removed by the moderator
    "gn up for",        // sign up for ... newsletter
    "rights reserved",  // all rights reserved
    "material may not", // this material may not be published
];

/// The regexes fold case the Unicode way, where "ſ" (long s, bytes C5 BF) is
/// an "s" and the Kelvin sign a "k". The key lowercases the Kelvin sign to
/// "k" but keeps "ſ", so a key with a C5 byte (rare in English: Latin
/// Extended-A) always goes to the regexes.
const LONG_S_LEAD: u8 = 0xC5;

struct Prefilter {
    /// Teddy, where the CPU has it.
    packed: Option<aho_corasick::packed::Searcher>,
    automaton: AhoCorasick,
}

impl Prefilter {
    fn may_match(&self, key: &[u8]) -> bool {
        let piece = match &self.packed {
            Some(p) => p.find(key).is_some(),
            None => self.automaton.is_match(key),
        };
        piece || memchr::memchr(LONG_S_LEAD, key).is_some()
    }
}

static ANYWHERE_PREFILTER: LazyLock<Prefilter> = LazyLock::new(|| Prefilter {
    packed: aho_corasick::packed::Searcher::new(ANYWHERE_PIECES),
    automaton: AhoCorasick::new(ANYWHERE_PIECES).expect("static piece list"),
});

/// Compiles each of this module's patterns when called (see
/// `compile_patterns` in lib.rs).
pub(crate) const COMPILE: &[fn()] = crate::compile_list![
    COMMENT_SECTION,
    COMMENT_LINE,
    WIDGET_LINE,
    SPAM_WORDS,
    URL,
    INLINE_WIDGET,
    GLUED_SENTENCES,
    ANYWHERE,
    ANYWHERE_PREFILTER,
];

/// Whether `line` has two sentences glued together, exactly where
/// [`GLUED_SENTENCES`] matches: three lowercase ASCII letters, a stop, at
/// most one closing quote or bracket, an uppercase letter and a lowercase one.
/// Found from the stops, eight bytes at a time, instead of by a DFA that
/// reads every byte.
fn has_glued_sentences(line: &str) -> bool {
    const STOPS: Stops<3> = Stops { bytes: *b".!?", below: 0, non_ascii: false };
    let b = line.as_bytes();
    let mut k = 0;
    loop {
        k += STOPS.skip(&b[k..]);
        if k >= b.len() {
            return false;
        }
        if k >= 3 && b[k - 3..k].iter().all(u8::is_ascii_lowercase) {
            let rest = &b[k + 1..];
            let close = if rest.starts_with("”".as_bytes()) || rest.starts_with("’".as_bytes()) {
                3
            } else {
                usize::from(matches!(rest.first(), Some(b'"' | b')')))
            };
            if rest.get(close).is_some_and(u8::is_ascii_uppercase) && rest.get(close + 1).is_some_and(u8::is_ascii_lowercase) {
                return true;
            }
        }
        k += 1;
    }
}

/// What a line holds of the patterns that may stand anywhere in it.
#[derive(Clone, Copy)]
pub(crate) struct Found(u8);

impl Found {
    // One bit per pattern of ANYWHERE, in its order, then the glued sentences.
    pub(crate) const INLINE_WIDGET: u8 = 1 << 0;
    pub(crate) const URL: u8 = 1 << 1;
    pub(crate) const COMMENT: u8 = 1 << 2;
    pub(crate) const WIDGET: u8 = 1 << 3;
    pub(crate) const GLUED: u8 = 1 << 4;

    /// Looks in `line`, whose paragraph key is `key`.
    pub(crate) fn in_line(line: &str, key: &[u8]) -> Self {
        let glued = if has_glued_sentences(line) { Self::GLUED } else { 0 };
        if !ANYWHERE_PREFILTER.may_match(key) {
            return Self(glued);
        }
        Self(ANYWHERE.matches(line).iter().fold(glued, |bits, i| bits | 1 << i))
    }

    pub(crate) fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lowercase_words;

    fn found_by_regex(line: &str) -> u8 {
        let glued = if GLUED_SENTENCES.is_match(line) { Found::GLUED } else { 0 };
        ANYWHERE.matches(line).iter().fold(glued, |bits, i| bits | 1 << i)
    }

    #[test]
    fn found_as_the_regexes_find_it() {
        for line in [
            "0 Comment(s)Print E-mail Xinhua, December 02, 2021",
            "Go to Forum >> The rest",
            "Bookmark and ſhare this page",
            "BooKmark and Share",
            "Read more at https://example.com/story or www.example.org.",
            "Comments may be removed by the moderator.",
            "Sign up for one of our daily newsletters today",
            "© 2021 The Associated Press. All rights reserved.",
            "This material may not be published, broadcast, rewritten or redistributed.",
            "It happened on the streets.Four people were hurt.",
            "He said “it ended.”Then he left; she said ‘no.’Right?",
            "“Quoted.”Then (aside.)Next and end!So",
            "U.S.A.Today abc.De ab.Cd abc.D abc.)De abc.”De abc.’De abc.\"De",
            "Nothing to see here, just news about Iraq.",
            "",
        ] {
            let mut key = Vec::new();
            lowercase_words(line, &mut key);
            assert_eq!(Found::in_line(line, &key).0, found_by_regex(line), "{line:?}");
            // Without Teddy (other CPUs), the automaton decides the same.
            let automaton = Prefilter { packed: None, automaton: AhoCorasick::new(ANYWHERE_PIECES).unwrap() };
            assert_eq!(automaton.may_match(&key), ANYWHERE_PREFILTER.may_match(&key), "{line:?}");
        }
    }

    #[test]
    fn contact_lines_as_the_regex_they_replace() {
        let re = Regex::new(r"(?i)^[\w .:|,-]{0,40}[\w.+-]+@[\w.-]+[\w .:|@,-]{0,60}$").unwrap();
        let long = "x".repeat(61);
        for line in [
            "Contact: news@example.com",
            "Email: jane.doe+tips@example.co.uk | @janedoe",
            "@handle",
            "name@",
            "a@b",
            "Follow @reporter on Twitter",
            "Write to José Núñez at jose@diario.es",
            "price: $5 @ store",
            "one, two: three | four - five six seven eight nine ten eleven: x@y.z",
            &format!("a@b {long}"),
            &format!("a@b {}", &long[1..]),
            "Call (555) 123-4567 or mail x@y.com",
            "e-mail: x@y.com, tel: 555",
            "tips@example.com.",
        ] {
            assert_eq!(contact_line(line), re.is_match(line), "{line:?}");
        }
    }
}
