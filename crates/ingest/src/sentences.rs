//! A rule-based sentence segmenter for news English: it does not split at
//! abbreviations ("Dec.", "Maj. Gen.", "U.S."), initials ("J. R. Smith") or
//! decimal numbers, and keeps quotations whole. Paragraph breaks always end a
//! sentence. Linear in the input length.

use std::ops::Range;

use crate::text::{char_at, Stops};

/// Abbreviations after which a period does not end a sentence (lowercase,
/// without the period).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "gen", "maj", "col", "lt", "sgt", "capt", "cmdr", "adm", "cpl", "pvt", "gov", "sen",
    "rep", "rev", "hon", "pres", "supt", "insp", "det", "ofc", "st", "jr", "sr", "inc", "ltd", "co", "corp", "no", "nos",
    "vs", "etc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt", "ft", "ave",
    "blvd", "rd", "hwy", "dept", "univ", "approx", "est", "fig", "al", "ala", "ariz", "ark", "calif", "colo", "conn",
    "del", "fla", "ga", "ill", "ind", "kan", "ky", "la", "md", "mass", "mich", "minn", "miss", "mo", "mont", "neb",
    "nev", "okla", "ore", "pa", "tenn", "tex", "va", "vt", "wash", "wis", "wyo", "e.g", "i.e", "u.s", "u.k", "u.n",
];

fn is_abbreviation(word: &str) -> bool {
    let w = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    // Initials: "J".
    let mut chars = w.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return false,
        (Some(c), None) => return c.is_alphabetic(),
        _ => {}
    }
    // Dotted acronyms: "U.S", "D.C".
    if w.contains('.') && w.split('.').all(|p| p.chars().count() <= 2 && p.chars().all(char::is_alphabetic)) {
        return true;
    }
    ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(w))
}

fn is_opening_quote(c: char) -> bool {
    matches!(c, '“' | '«' | '„')
}
fn is_closing_quote(c: char) -> bool {
    matches!(c, '”' | '»')
}

/// Splits text into sentences. Paragraphs are separated by newlines.
pub fn split_sentences(text: &str) -> Vec<String> {
    sentence_spans(text).into_iter().map(|r| text[r].to_string()).collect()
}

/// Where the sentences of `text` are: byte ranges, in order, each trimmed
/// of whitespace and never empty ([`split_sentences`] without copying).
pub fn sentence_spans(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    for para in text.split('\n') {
        let lead = para.len() - para.trim_start().len();
        split_paragraph(para.trim(), at + lead, &mut out);
        at += para.len() + 1;
    }
    out
}

/// The bytes that may be a quote or a stop: these four, and every byte of a
/// non-ASCII character.
const MAY_MATTER: Stops<4> = Stops { bytes: *b"\".!?", below: 0, non_ascii: true };

/// Quotes longer than this are assumed unbalanced and stop protecting splits.
const MAX_QUOTE_CHARS: usize = 600;

/// Adds the sentences of paragraph `p`, which starts at byte `base` of the
/// text, to `out`.
fn split_paragraph(p: &str, base: usize, out: &mut Vec<Range<usize>>) {
    if p.is_empty() {
        return;
    }
    // Walks byte offsets, so no per-character index is built.
    let mut start = 0; // byte offset of current sentence start
    let mut in_quote = false;
    let mut quote_len = 0usize; // characters since the quote opened
    let bytes = p.as_bytes();
    let mut i = 0;
    while i < p.len() {
        // Skip the plain ASCII characters: they only lengthen a quotation.
        let plain = MAY_MATTER.skip(&bytes[i..]);
        if in_quote {
            quote_len += plain;
            if quote_len > MAX_QUOTE_CHARS {
                in_quote = false;
            }
        }
        i += plain;
        if i == p.len() {
            break;
        }
        let (c, len) = char_at(p, i);
        if c == '"' {
            in_quote = !in_quote;
            quote_len = 0;
        } else if is_opening_quote(c) {
            in_quote = true;
            quote_len = 0;
        } else if is_closing_quote(c) {
            in_quote = false;
        }
        if in_quote {
            quote_len += 1;
            if quote_len > MAX_QUOTE_CHARS {
                in_quote = false;
            }
        }
        if matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？' | '؟') {
            // Include following closing punctuation and quotes; a closing quote
            // right after the stop ends the quotation we are in.
            let mut j = i + len;
            while j < p.len() {
                let (cj, lj) = char_at(p, j);
                if !matches!(cj, '.' | '!' | '?' | '"' | '\'' | '”' | '’' | ')' | ']' | '»') {
                    break;
                }
                if cj == '"' || is_closing_quote(cj) {
                    in_quote = false;
                }
                j += lj;
            }
            if in_quote {
                i = j;
                continue;
            }
            if j < p.len() && char_at(p, j).0.is_whitespace() && splits_here(p, start, i, j) {
                push(p, start..j, base, out);
                start = j;
            }
            i = j;
            continue;
        }
        i += len;
    }
    push(p, start..p.len(), base, out);
}

/// Decides whether a stop at byte `stop` (with closing run ending before
/// byte `next`) ends the sentence.
fn splits_here(p: &str, start: usize, stop: usize, next: usize) -> bool {
    // Next non-space character must start a sentence: uppercase, digit, or an opening quote/bracket.
    let rest = &p[next..];
    let Some((k, n)) = rest.char_indices().find(|(_, c)| !c.is_whitespace()) else { return true };
    if !(n.is_uppercase() || (n.is_alphabetic() && !n.is_lowercase()) || n.is_numeric() || matches!(n, '"' | '“' | '\'' | '‘' | '(' | '[' | '«' | '¿' | '¡')) {
        return false;
    }
    if char_at(p, stop).0 != '.' {
        return true;
    }
    // The word before the period.
    let word_end = stop;
    let word_start = p[start..word_end].rfind(char::is_whitespace).map_or(start, |w| start + w + 1);
    let word = &p[word_start..word_end];
    if word.is_empty() {
        return true;
    }
    // "a.m." / "p.m." followed by a capital usually does end the sentence.
    if word.eq_ignore_ascii_case("a.m") || word.eq_ignore_ascii_case("p.m") {
        return true;
    }
    if is_abbreviation(word) {
        // "in the U.S. The next day": a dotted country acronym before a capitalised
        // function word ends the sentence.
        let next_word = rest[k..].split(|c: char| !c.is_alphabetic()).next().unwrap_or("");
        let sentence_starter = matches!(next_word, "The" | "He" | "She" | "It" | "They" | "We" | "I" | "But" | "In" | "A");
        return word.contains('.') && word.len() > 2 && sentence_starter;
    }
    true
}

/// Adds `p[piece]` without its surrounding whitespace, unless nothing is
/// left, as a range of the text (`p` starts at byte `base` of it).
fn push(p: &str, piece: Range<usize>, base: usize, out: &mut Vec<Range<usize>>) {
    let s = &p[piece.clone()];
    let trimmed = s.trim();
    if !trimmed.is_empty() {
        let start = base + piece.start + (s.len() - s.trim_start().len());
        out.push(start..start + trimmed.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_initials_decimals() {
        let s = split_sentences(
            "BAGHDAD, Dec. 1 (Xinhua) -- The deadline is Dec. 31. Maj. Gen. Yahya Rasool spoke. U.S. troops left. J. R. Smith paid $2.5 million. Done.",
        );
        assert_eq!(
            s,
            vec![
                "BAGHDAD, Dec. 1 (Xinhua) -- The deadline is Dec. 31.",
                "Maj. Gen. Yahya Rasool spoke.",
                "U.S. troops left.",
                "J. R. Smith paid $2.5 million.",
                "Done."
            ]
        );
    }

    #[test]
    fn quotes_stay_whole() {
        let s = split_sentences("He said: “It ended. All forces left.” Then he left. \"We stay. We help,\" she said.");
        assert_eq!(s, vec!["He said: “It ended. All forces left.”", "Then he left.", "\"We stay. We help,\" she said."]);
    }

    #[test]
    fn paragraphs_and_times() {
        let s = split_sentences("Shots at 12:40 a.m. Police came.\nSecond paragraph without stop");
        assert_eq!(s, vec!["Shots at 12:40 a.m.", "Police came.", "Second paragraph without stop"]);
    }

    #[test]
    fn lowercase_after_period_does_not_split() {
        assert_eq!(split_sentences("It costs approx. five dollars. ok."), vec!["It costs approx. five dollars. ok."]);
    }
}
