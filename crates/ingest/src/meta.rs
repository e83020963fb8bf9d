//! Metadata from the top of an article: title, date (with its source),
//! outlet and dateline place; and the main text of HTML pages.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use crate::clean::{paragraph_hash, LineKey, RemovalReason, Removed};
use crate::date::{find_date, month_day_with_year, year_hint, DateSource, FoundDate};

/// What the top of an article told us.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub title: Option<String>,
    pub date: Option<NaiveDate>,
    pub date_source: Option<DateSource>,
    pub outlet: Option<String>,
    pub place: Option<String>,
}

/// "BAGHDAD, Dec. 1 (Xinhua) --", "Baghdad, 29 December 2021 (TDI):",
/// "ELGIN, Ill. (AP) —": place, optional date, agency in parentheses. The
/// agency's length limit is checked by [`dateline`]: as a bounded repeat of a
/// Unicode class it took 14 ms to compile (0.6 ms unbounded).
static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<place>[A-Z][A-Za-z'.-]+(?: [A-Z][A-Za-z'.-]+){0,3})(?:, (?P<region>[A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)?))?(?:,? (?P<date>[^()]{3,30}?))? ?\((?P<outlet>[A-Za-z][\w .&'-]*)\) ?(?:--|—|–|-|:)",
    )
    .expect("static regex")
});

/// [`DATELINE`] with an agency of at most 31 characters. (No other match is
/// possible when it is longer: no group before the agency can hold a
/// parenthesis, so the agency is always what stands in the first pair.)
///
/// Most paragraphs are not datelines: one that does not start with a capital
/// or has no '(' cannot match, and is answered without the regex (whose
/// captures cost an allocation even when nothing matches).
fn dateline(line: &str) -> Option<regex::Captures<'_>> {
    if !capital_then(line, b'(') {
        return None;
    }
    DATELINE.captures(line).filter(|c| c.name("outlet").is_some_and(|o| o.as_str().chars().count() <= 31))
}

/// "BAGHDAD --", "WASHINGTON (AP) --" handled above; "Baghdad / Obelisk:".
static PLACE_SLASH_OUTLET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<place>[A-Z][A-Za-z'-]+(?: [A-Z][A-Za-z'-]+){0,2}) ?/ ?(?P<outlet>[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,3}) ?:")
        .expect("static regex")
});

/// All-caps place dateline without agency: "HOUSTON —".
static CAPS_DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<place>[A-Z][A-Z'.-]+(?: [A-Z][A-Z'.-]+){0,3})(?:, (?P<region>[A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)?))? ?(?:--|—|–) ")
        .expect("static regex")
});

/// A short byline line: "Mawazine News – Baghdad".
static OUTLET_DASH_PLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<outlet>[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,4}) [–—-] (?P<place>[A-Z][A-Za-z'-]+(?: [A-Z][A-Za-z'-]+){0,2})$")
        .expect("static regex")
});

/// An author line with the place in parentheses: "Hoda Jassim (Baghdad)".
static AUTHOR_PLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:By )?[A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3} \((?P<place>[A-Z][A-Za-z'-]+(?: [A-Z][A-Za-z'-]+){0,2})\)$")
        .expect("static regex")
});

/// A header byline "Xinhua, December 02, 2021": outlet then date.
static OUTLET_COMMA_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<outlet>[A-Z][\w.'&-]*(?: [A-Z][\w.'&-]*){0,3}), ").expect("static regex"));

/// Compiles each of this module's patterns when called (see
/// `compile_patterns` in lib.rs).
pub(crate) const COMPILE: &[fn()] = crate::compile_list![
    DATELINE,
    PLACE_SLASH_OUTLET,
    CAPS_DATELINE,
    OUTLET_DASH_PLACE,
    AUTHOR_PLACE,
    OUTLET_COMMA_DATE,
];

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Whether `line` starts with an ASCII capital and has `byte` somewhere: what
/// a dateline pattern needs before its regex is worth running.
fn capital_then(line: &str, byte: u8) -> bool {
    line.starts_with(|c: char| c.is_ascii_uppercase()) && memchr::memchr(byte, line.as_bytes()).is_some()
}

/// Whether `s` has at most `n` words (without counting a paragraph's all).
fn at_most_words(s: &str, n: usize) -> bool {
    s.split_whitespace().nth(n).is_none()
}

/// [`PLACE_SLASH_OUTLET`], answered without the regex for a line that does
/// not start with a capital or has no '/'.
fn place_slash_outlet(line: &str) -> Option<regex::Captures<'_>> {
    if !capital_then(line, b'/') {
        return None;
    }
    PLACE_SLASH_OUTLET.captures(line)
}

/// [`CAPS_DATELINE`], answered without the regex for a line that does not
/// start with two capitals (or a capital and one of `'.-`).
fn caps_dateline(line: &str) -> Option<regex::Captures<'_>> {
    let b = line.as_bytes();
    if !(b.first().is_some_and(u8::is_ascii_uppercase) && b.get(1).is_some_and(|c| c.is_ascii_uppercase() || b"'.-".contains(c))) {
        return None;
    }
    CAPS_DATELINE.captures(line)
}

/// "BAGHDAD" -> "Baghdad"; mixed case is left alone.
fn tidy_place(s: &str) -> String {
    let s = s.trim().trim_end_matches([',', '.', ':']);
    if s.chars().any(char::is_lowercase) {
        return s.to_string();
    }
    s.split(' ')
        .map(|w| {
            let mut out = String::new();
            let mut first = true;
            for c in w.chars() {
                if first && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                    first = false;
                } else if c == '-' || c == '\'' {
                    out.push(c);
                    first = c == '-';
                } else {
                    out.extend(c.to_lowercase());
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn plausible(date: NaiveDate) -> bool {
    crate::date::implausible(date).is_none()
}

/// A line that is only a date (and maybe a time): "2021/07/31 12:45".
fn date_only_line(line: &str, found: Option<FoundDate>) -> Option<NaiveDate> {
    let f = found?;
    let rest = format!("{}{}", &line[..f.start], &line[f.end..]);
    let rest_words = rest
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| {
            !matches!(
                w.to_ascii_lowercase().as_str(),
                "am" | "pm" | "posted" | "published" | "updated" | "on" | "at" | "gmt" | "utc" | "edt" | "est" | "cdt" | "cst" | "pdt" | "pst"
                    | "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday" | "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun"
            )
        })
        .count();
    (rest_words == 0).then_some(f.date)
}

/// Does this line look like a headline rather than body text or a byline?
fn title_like(line: &str) -> bool {
    let n = word_count(line);
    (2..=30).contains(&n) && !line.ends_with(['.', ',', ';', ':']) || (2..=20).contains(&n) && line.ends_with(['?', '!'])
}

/// Extracts metadata from the cleaned lines and removes the header lines it
/// consumed (title, date and byline lines), counting them as `byline`.
pub(crate) fn extract(
    field_title: Option<&str>,
    field_date: Option<NaiveDate>,
    url_outlet: Option<String>,
    lines: &mut Vec<String>,
    keys: &mut Vec<LineKey>,
    removed: &mut Removed,
) -> Metadata {
    let mut m = Metadata { title: field_title.map(str::to_string), outlet: url_outlet, ..Default::default() };
    if let Some(d) = field_date {
        m.date = Some(d);
        m.date_source = Some(DateSource::Field);
    }
    let mut header_outlet: Option<String> = None;

    // Header: short lines above the body (title, date, bylines), at most 5.
    let mut i = 0;
    let mut consumed = Vec::new();
    while i < lines.len().min(6) {
        let line = lines[i].as_str();
        // The line's first full date, for the date-only and byline tests.
        let found = find_date(line);
        let short = at_most_words(line, 6);
        if let Some(d) = date_only_line(line, found) {
            if m.date.is_none() && plausible(d) {
                m.date = Some(d);
                m.date_source = Some(DateSource::Header);
            }
            consumed.push(i);
        } else if let Some(c) = short.then(|| OUTLET_DASH_PLACE.captures(line)).flatten() {
            header_outlet.get_or_insert_with(|| c["outlet"].to_string());
            m.place.get_or_insert_with(|| tidy_place(&c["place"]));
            consumed.push(i);
        } else if let Some(c) = (short && line.ends_with(')')).then(|| AUTHOR_PLACE.captures(line)).flatten() {
            m.place.get_or_insert_with(|| tidy_place(&c["place"]));
            consumed.push(i);
        } else if let (Some(c), Some(f)) = (found.and_then(|_| OUTLET_COMMA_DATE.captures(line)), found) {
            // "Xinhua, December 02, 2021": the date directly follows the outlet.
            if at_most_words(line, 8) && f.start == c.get(0).map_or(0, |g| g.end()) {
                header_outlet.get_or_insert_with(|| c["outlet"].to_string());
                if m.date.is_none() && plausible(f.date) {
                    m.date = Some(f.date);
                    m.date_source = Some(DateSource::Header);
                }
                consumed.push(i);
            } else if m.title.is_none() && i == 0 && title_like(line) {
                m.title = Some(line.to_string());
                consumed.push(i);
            } else {
                break;
            }
        } else if m.title.is_none() && consumed.is_empty() && i == 0 && title_like(line) && !dateline_start(line) {
            m.title = Some(line.to_string());
            consumed.push(i);
        } else if !at_most_words(line, 12) || i > 0 && consumed.len() < i {
            break;
        }
        i += 1;
    }
    if consumed.len() == lines.len() {
        // A one-line article ("Robbers in drag steal e80 million ..."): its only
        // line is both title and body.
        consumed.retain(|&i| m.title.as_deref() != Some(lines[i].as_str()));
    }
    for &i in consumed.iter().rev() {
        lines.remove(i);
        keys.remove(i);
        removed.add(RemovalReason::Byline);
    }
    if let Some(t) = &m.title {
        // The title repeated as the first body line.
        if lines.len() > 1 && keys.first().map(|k| k.hash) == Some(paragraph_hash(t, &mut Vec::new())) {
            lines.remove(0);
            keys.remove(0);
            removed.add(RemovalReason::Repeated);
        }
    }

    // Dateline: at the start of one of the first body paragraphs.
    for line in lines.iter().take(3) {
        if let Some(c) = dateline(line) {
            m.place.get_or_insert_with(|| tidy_place(&c["place"]));
            header_outlet.get_or_insert_with(|| c["outlet"].trim().to_string());
            if m.date.is_none() {
                if let Some(ds) = c.name("date") {
                    let d = find_date(ds.as_str()).map(|f| f.date).or_else(|| {
                        let lead = lines.iter().take(40).map(String::as_str).collect::<Vec<_>>().join("\n");
                        year_hint(&lead).and_then(|y| month_day_with_year(ds.as_str(), y))
                    });
                    if let Some(d) = d.filter(|d| plausible(*d)) {
                        m.date = Some(d);
                        m.date_source = Some(DateSource::Dateline);
                    }
                }
            }
            break;
        }
        if let Some(c) = place_slash_outlet(line) {
            m.place.get_or_insert_with(|| tidy_place(&c["place"]));
            header_outlet.get_or_insert_with(|| c["outlet"].to_string());
            break;
        }
        if let Some(c) = caps_dateline(line) {
            if c["place"].len() >= 3 {
                m.place.get_or_insert_with(|| tidy_place(&c["place"]));
                break;
            }
        }
    }

    // Body: a full date in the lead (first two paragraphs).
    if m.date.is_none() {
        for line in lines.iter().take(2) {
            if let Some(f) = find_date(line).filter(|f| plausible(f.date)) {
                m.date = Some(f.date);
                m.date_source = Some(DateSource::Body);
                break;
            }
        }
    }
    if header_outlet.is_some() {
        m.outlet = header_outlet;
    }
    m
}

fn dateline_start(line: &str) -> bool {
    dateline(line).is_some() || place_slash_outlet(line).is_some() || caps_dateline(line).is_some()
}

/// The outlet named by a URL: its host without `www.`, looking through
/// archive.org copies ("web.archive.org/web/2014.../http://www.waff.com/...").
pub fn outlet_from_url(url: &str) -> Option<String> {
    let mut rest = url.trim();
    loop {
        let after_scheme = rest.split_once("://").map_or(rest, |(_, r)| r);
        let host = after_scheme.split(['/', '?', '#']).next()?.split(':').next()?.to_ascii_lowercase();
        if host == "web.archive.org" || host == "archive.org" {
            // Skip "web/<timestamp>/" and continue with the archived address.
            let path = after_scheme.split_once('/').map(|(_, p)| p)?;
            let inner = path.strip_prefix("web/").unwrap_or(path);
            rest = inner.split_once('/').map(|(_, p)| p)?;
            continue;
        }
        let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
        return (!host.is_empty() && host.contains('.')).then_some(host);
    }
}

/// Main text and metadata of an HTML page.
pub(crate) struct HtmlExtract {
    pub title: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    pub site: Option<String>,
    pub text: String,
}

/// Extracts the main text of an HTML page with dom_smoothie (readability).
pub(crate) fn html_main_text(html: &str) -> Result<HtmlExtract, String> {
    let cfg = dom_smoothie::Config { text_mode: dom_smoothie::TextMode::Formatted, ..Default::default() };
    let mut r = dom_smoothie::Readability::new(html, None, Some(cfg)).map_err(|e| e.to_string())?;
    let a = r.parse().map_err(|e| e.to_string())?;
    let text = a.text_content.to_string();
    if text.trim().is_empty() {
        return Err("no text in the page body".into());
    }
    let title = Some(a.title.trim().to_string()).filter(|t| !t.is_empty());
    Ok(HtmlExtract { title, date: a.published_time, url: None, site: a.site_name, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> (Metadata, Vec<String>) {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        let mut key_text = Vec::new();
        let mut k: Vec<LineKey> = l.iter().map(|s| LineKey::of_line(s, &mut key_text)).collect();
        let mut r = Removed::default();
        let m = extract(None, None, None, &mut l, &mut k, &mut r);
        assert_eq!(k.len(), l.len());
        (m, l)
    }

    #[test]
    fn dateline_agency_limit_as_the_bounded_regex() {
        let bounded = Regex::new(
            r"^(?P<place>[A-Z][A-Za-z'.-]+(?: [A-Z][A-Za-z'.-]+){0,3})(?:, (?P<region>[A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)?))?(?:,? (?P<date>[^()]{3,30}?))? ?\((?P<outlet>[A-Za-z][\w .&'-]{0,30})\) ?(?:--|—|–|-|:)",
        )
        .unwrap();
        let long = "A".repeat(31);
        for line in [
            "BAGHDAD, Dec. 1 (Xinhua) -- The deadline passed.".to_string(),
            "Baghdad, 29 December 2021 (TDI): text".to_string(),
            format!("BAGHDAD ({long}) -- text"),
            format!("BAGHDAD ({long}B) -- text"),
            "BAGHDAD (Agence France-Presse, Société) -- text".to_string(),
            "BAGHDAD (AP) (Reuters) -- text".to_string(),
            "ELGIN, Ill. (AP) — Five people".to_string(),
        ] {
            let old = bounded.captures(&line).map(|c| c["outlet"].to_string());
            let new = dateline(&line).map(|c| c["outlet"].to_string());
            assert_eq!(old, new, "{line}");
        }
    }

    #[test]
    fn xinhua_dateline() {
        let (m, body) = run(&[
            "Iraq confirms commitment to withdrawing foreign forces",
            "Xinhua, December 02, 2021",
            "BAGHDAD, Dec. 1 (Xinhua) -- The Iraqi government confirmed on Wednesday its commitment.",
        ]);
        assert_eq!(m.title.as_deref(), Some("Iraq confirms commitment to withdrawing foreign forces"));
        assert_eq!(m.date, NaiveDate::from_ymd_opt(2021, 12, 2));
        assert_eq!(m.date_source, Some(DateSource::Header));
        assert_eq!(m.outlet.as_deref(), Some("Xinhua"));
        assert_eq!(m.place.as_deref(), Some("Baghdad"));
        assert_eq!(body.len(), 1);
    }

    #[test]
    fn dateline_year_from_elsewhere() {
        let (m, _) = run(&["BAGHDAD, Dec. 1 (Xinhua) -- Talks went on, as agreed in July 2021 by both sides."]);
        assert_eq!(m.date, NaiveDate::from_ymd_opt(2021, 12, 1));
        assert_eq!(m.date_source, Some(DateSource::Dateline));
    }

    #[test]
    fn one_line_article_keeps_its_body() {
        let (m, body) = run(&["Robbers in drag steal e80 million from Paris diamond store in biggest French heist"]);
        assert!(m.title.is_some());
        assert_eq!(body.len(), 1);
    }

    #[test]
    fn ap_dateline_with_state() {
        let (m, _) = run(&["ELGIN, Ill. (AP) — Five people were injured in a shooting early Sunday, police said."]);
        assert_eq!(m.place.as_deref(), Some("Elgin"));
        assert_eq!(m.outlet.as_deref(), Some("AP"));
    }

    #[test]
    fn urls() {
        assert_eq!(
            outlet_from_url("http://web.archive.org/web/20140215012040/http://www.waff.com:80/story/24426895/x").as_deref(),
            Some("waff.com")
        );
        assert_eq!(outlet_from_url("https://www.xinhuanet.com/english/").as_deref(), Some("xinhuanet.com"));
        assert_eq!(outlet_from_url("not a url"), None);
    }
}
