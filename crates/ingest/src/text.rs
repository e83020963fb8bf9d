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

/// For each ASCII byte, its lowercase when it is alphanumeric, else 0.
const WORD_BYTE: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            t[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

/// Writes the words of `text` to `out` (cleared first) in lowercase, one
/// space between them.
///
/// The words are the maximal runs of alphanumeric characters, as
/// `text.split(|c: char| !c.is_alphanumeric())` gives them, skipping empty
/// runs; lowercase is `char::to_lowercase` of each character. The paragraph
/// key and SimHash's words are both this.
///
/// ASCII bytes are written without a branch on the word boundaries: each is
/// written (as itself lowercased, or as a space) and the length advances
/// unless it is a second separator in a row. Branching per boundary cost a
/// mispredicted jump at every word's start and end, most of the time taken.
pub(crate) fn lowercase_words(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    out.clear();
    out.resize(bytes.len() + 1, 0);
    let mut len = 0;
    let mut in_word = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            let lower = WORD_BYTE[usize::from(b)];
            let word = lower != 0;
            out[len] = if word { lower } else { b' ' };
            len += usize::from(word | in_word);
            in_word = word;
            i += 1;
            continue;
        }
        let (c, clen) = char_at(text, i);
        i += clen;
        // Room for the longest lowercase of a character (three of them) and
        // what follows, however the lowercase grew.
        let room = len + 16 + (bytes.len() - i);
        if out.len() < room {
            out.resize(room, 0);
        }
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                len += l.encode_utf8(&mut out[len..]).len();
            }
            in_word = true;
        } else if in_word {
            out[len] = b' ';
            len += 1;
            in_word = false;
        }
    }
    if len > 0 && out[len - 1] == b' ' {
        len -= 1;
    }
    out.truncate(len);
}

/// The pieces of `bytes` between the `separator` bytes, in order, found
/// with memchr (none for empty `bytes`; an empty piece between two
/// separators in a row). JSONL lines and a paragraph key's words are this.
pub(crate) fn pieces(bytes: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    // Piece ends: every separator, and the end of the last piece.
    let ends = memchr::memchr_iter(separator, bytes).chain((!bytes.is_empty()).then_some(bytes.len()));
    ends.map(move |end| {
        let piece = &bytes[start..end];
        start = end + 1;
        piece
    })
}

/// A set of ASCII bytes (and optionally every byte below a bound, and every
/// non-ASCII byte) that a scan stops at.
pub(crate) struct Stops<const N: usize> {
    pub(crate) bytes: [u8; N],
    /// Every byte below this (at most 0x80) is a stop too; 0 for none.
    pub(crate) below: u8,
    pub(crate) non_ascii: bool,
}

impl<const N: usize> Stops<N> {
    fn stops_at(&self, b: u8) -> bool {
        self.bytes.contains(&b) || b < self.below || (self.non_ascii && !b.is_ascii())
    }

    /// How many bytes from the start of `bytes` come before the first stop,
    /// eight at a time: per word of eight bytes, a mask of the bytes that
    /// are a stop (the lowest flagged byte is always a true one; the
    /// subtraction's borrow can only flag bytes above it).
    #[inline]
    pub(crate) fn skip(&self, bytes: &[u8]) -> usize {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut chunks = bytes.chunks_exact(8);
        let mut skipped = 0;
        for chunk in &mut chunks {
            let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let mut m = if self.non_ascii { x & HIGH } else { 0 };
            if self.below > 0 {
                m |= x.wrapping_sub(ONES * u64::from(self.below)) & !x & HIGH;
            }
            for b in self.bytes {
                let y = x ^ (ONES * u64::from(b));
                m |= y.wrapping_sub(ONES) & !y & HIGH;
            }
            if m != 0 {
                return skipped + (m.trailing_zeros() / 8) as usize;
            }
            skipped += 8;
        }
        skipped + chunks.remainder().iter().take_while(|&&b| !self.stops_at(b)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_end_at_the_first_stop() {
        let text = "He said \"it ended.\" Then:\twhat?\r\nNo!\u{7f} “Quoted” 2.5 … x\u{0}".repeat(3);
        let bytes = text.as_bytes();
        let stops = [
            Stops { bytes: *b"\".!?", below: 0, non_ascii: true },
            Stops { bytes: *b".!?\"", below: 0, non_ascii: false },
            Stops { bytes: *b"\x7f?\x7f?", below: 0x20, non_ascii: true },
            Stops { bytes: *b"\x7f..!", below: 0x80, non_ascii: false },
        ];
        for stop in &stops {
            for start in 0..bytes.len() {
                for end in start..bytes.len().min(start + 40) {
                    let slice = &bytes[start..end];
                    let expected = slice.iter().take_while(|&&b| !stop.stops_at(b)).count();
                    assert_eq!(stop.skip(slice), expected, "{start}..{end}");
                }
            }
        }
    }

    #[test]
    fn pieces_as_split_at_the_separator() {
        for text in ["", "a", "a b", " a  b ", "one\ntwo\n", "\n\n"] {
            let got: Vec<&[u8]> = pieces(text.as_bytes(), b' ').collect();
            let want: Vec<&[u8]> = if text.is_empty() { Vec::new() } else { text.as_bytes().split(|&b| b == b' ').collect() };
            assert_eq!(got, want, "{text:?}");
            let lines: Vec<&[u8]> = pieces(text.as_bytes(), b'\n').collect();
            assert_eq!(lines.len(), if text.is_empty() { 0 } else { text.matches('\n').count() + 1 }, "{text:?}");
        }
    }

    #[test]
    fn words_as_split_on_non_alphanumerics() {
        for text in ["", "  ", "Élgin, Ill. (AP) — 3:10 a.m.", "naïve CAFÉ’s 北京 x İstanbul", "end"] {
            let mut out = Vec::new();
            lowercase_words(text, &mut out);
            let split: Vec<String> =
                text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
            assert_eq!(String::from_utf8(out).unwrap(), split.join(" "), "{text:?}");
        }
    }
}
