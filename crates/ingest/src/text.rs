//! Byte-level walks over text shared by cleaning, sentence splitting and
//! SimHash: news text is mostly ASCII, so ASCII bytes are decided without
//! decoding and only other characters are decoded.

/// The character starting at byte `i` of `s` and its length in bytes
/// (ASCII without decoding; past the end or off a boundary, a space).
pub(crate) fn char_at(s: &str, i: usize) -> (char, usize) {
    match s.as_bytes().get(i) {
        Some(&b) if b.is_ascii() => (char::from(b), 1),
        _ => s.get(i..).and_then(|r| r.chars().next()).map_or((' ', 1), |c| (c, c.len_utf8())),
    }
}

/// Calls `f` with every maximal run of alphanumeric characters, as
/// `text.split(|c: char| !c.is_alphanumeric())` would, skipping empty runs.
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < text.len() {
        let (c, len) = char_at(text, i);
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                f(&text[s..i]);
                start = None;
            }
            _ => {}
        }
        i += len;
    }
    if let Some(s) = start {
        f(&text[s..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_as_split_on_non_alphanumerics() {
        for text in ["", "  ", "Élgin, Ill. (AP) — 3:10 a.m.", "naïve café’s 北京 x", "end"] {
            let mut words = Vec::new();
            for_each_word(text, |w| words.push(w.to_string()));
            let split: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
            assert_eq!(words, split, "{text:?}");
        }
    }
}
