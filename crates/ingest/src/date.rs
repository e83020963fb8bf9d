//! Dates in the formats scraped news uses: "2021/07/31 12:45", "29 December
//! 2021", "December 02, 2021", "Dec. 1" (year from elsewhere), ISO dates.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use regex::Regex;
use serde::Serialize;

/// Where an article's date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DateSource {
    /// The input's `date` field (JSONL, CSV, HTML metadata).
    Field,
    /// A date line or byline above the body ("2021/07/31 12:45", "Xinhua, December 02, 2021").
    Header,
    /// The dateline opening the body ("BAGHDAD, Dec. 1 (Xinhua) --").
    Dateline,
    /// A full date in the lead paragraphs.
    Body,
    /// When a crawler fetched the page (a WARC record's `WARC-Date`): the
    /// page itself gave no date.
    Crawl,
}

impl DateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Field => "field",
            Self::Header => "header",
            Self::Dateline => "dateline",
            Self::Body => "body",
            Self::Crawl => "crawl",
        }
    }

    /// The inverse of [`DateSource::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Field, Self::Header, Self::Dateline, Self::Body, Self::Crawl].into_iter().find(|d| d.as_str() == name)
    }
}

const MONTH: &str = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // 2021-12-29, 2021/07/31, 2021.07.31 (optionally followed by a time)
        r"(?-u:\b)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:T|(?-u:\b))".to_string(),
        // 29 December 2021, 29th Dec. 2021
        format!(r"(?i)(?-u:\b)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}\s*,?\s+(?P<y>\d{{4}})(?-u:\b)"),
        // December 02, 2021 / Dec. 2 2021
        format!(r"(?i)(?-u:\b){MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+(?P<y>\d{{4}})(?-u:\b)"),
        // 12/31/2021 (US) or 31/12/2021 when the first number cannot be a month
        r"(?-u:\b)(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?-u:\b)".to_string(),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("static regex"))
    .collect()
});

/// Month and day without a year ("Dec. 1", "December 1").
static MONTH_DAY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)(?-u:\b){MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?-u:\b)")).expect("static regex"));

static YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u:\b)(19\d{2}|20\d{2})(?-u:\b)").expect("static regex"));

/// Compiles each of this module's patterns when called (see
/// `compile_patterns` in lib.rs).
pub(crate) const COMPILE: &[fn()] = crate::compile_list![PATTERNS, MONTH_DAY, YEAR];

fn month_number(name: &str) -> Option<u32> {
    let n = name.to_ascii_lowercase();
    let m = match n.get(..3)? {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// A date found in text, with the byte range it occupied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundDate {
    pub date: NaiveDate,
    pub start: usize,
    pub end: usize,
}

/// Finds the earliest-positioned full date (with year) in `text`.
pub fn find_date(text: &str) -> Option<FoundDate> {
    // Every pattern has a four-digit year: most lines have none, and finding
    // that out costs a byte scan instead of four capturing searches.
    if !has_four_digits(text) {
        return None;
    }
    let mut best: Option<FoundDate> = None;
    for re in PATTERNS.iter() {
        for c in re.captures_iter(text) {
            let Some(date) = date_from_captures(&c) else { continue };
            let m = c.get(0).expect("group 0");
            if best.is_none_or(|b| m.start() < b.start) {
                best = Some(FoundDate { date, start: m.start(), end: m.end() });
            }
            break;
        }
    }
    best
}

/// Whether `text` has four ASCII digits in a row.
fn has_four_digits(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run == 4 {
            return true;
        }
    }
    false
}

fn date_from_captures(c: &regex::Captures<'_>) -> Option<NaiveDate> {
    let y: i32 = c.name("y")?.as_str().parse().ok()?;
    if let (Some(a), Some(b)) = (c.name("a"), c.name("b")) {
        let a: u32 = a.as_str().parse().ok()?;
        let b: u32 = b.as_str().parse().ok()?;
        return NaiveDate::from_ymd_opt(y, a, b).or_else(|| NaiveDate::from_ymd_opt(y, b, a));
    }
    let m = match c.name("mon") {
        Some(mon) => month_number(mon.as_str())?,
        None => c.name("m")?.as_str().parse().ok()?,
    };
    let d: u32 = c.name("d")?.as_str().parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Parses a date that stands alone (a `date` field): ISO dates, datetimes
/// ("2014-01-12T10:00:00Z") and every textual format above.
pub fn parse_date_text(s: &str) -> Option<NaiveDate> {
    find_date(s.trim()).map(|f| f.date)
}

/// Month and day without year at the start of `text` (a dateline), with the
/// year supplied by the caller.
pub fn month_day_with_year(text: &str, year: i32) -> Option<NaiveDate> {
    let c = MONTH_DAY.captures(text)?;
    let m = month_number(c.name("mon")?.as_str())?;
    let d: u32 = c.name("d")?.as_str().parse().ok()?;
    NaiveDate::from_ymd_opt(year, m, d)
}

/// The year an article was probably written in, from its text: the year of
/// the latest full date, else the latest plausible four-digit year.
pub fn year_hint(text: &str) -> Option<i32> {
    let mut latest_full: Option<i32> = None;
    for re in PATTERNS.iter() {
        for c in re.captures_iter(text) {
            if let Some(d) = date_from_captures(&c) {
                latest_full = latest_full.max(Some(d.year()));
            }
        }
    }
    latest_full.or_else(|| {
        YEAR.find_iter(text).filter_map(|m| m.as_str().parse::<i32>().ok()).filter(|y| plausible_year(*y)).max()
    })
}

fn plausible_year(y: i32) -> bool {
    (1900..=chrono::Utc::now().year() + 1).contains(&y)
}

/// Why a date was refused.
pub fn implausible(date: NaiveDate) -> Option<&'static str> {
    let today = chrono::Utc::now().date_naive();
    if date.year() < 1900 {
        Some("date before 1900")
    } else if date > today + chrono::Days::new(1) {
        Some("date in the future")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn formats_from_the_seeds() {
        assert_eq!(parse_date_text("2021/07/31 12:45"), d(2021, 7, 31));
        assert_eq!(parse_date_text("Baghdad, 29 December 2021 (TDI):"), d(2021, 12, 29));
        assert_eq!(parse_date_text("Xinhua, December 02, 2021"), d(2021, 12, 2));
        assert_eq!(parse_date_text("2014-01-12"), d(2014, 1, 12));
        assert_eq!(parse_date_text("2014-01-12T10:00:00Z"), d(2014, 1, 12));
        assert_eq!(parse_date_text("on Jan. 5, 2020, the"), d(2020, 1, 5));
        assert_eq!(parse_date_text("12/31/2021"), d(2021, 12, 31));
        assert_eq!(parse_date_text("31/12/2021"), d(2021, 12, 31));
        assert_eq!(parse_date_text("Sept. 3rd, 2019"), d(2019, 9, 3));
        assert_eq!(parse_date_text("no date here, 2021 only"), None);
        assert_eq!(parse_date_text("February 30, 2021"), None);
    }

    #[test]
    fn earliest_position_wins() {
        let f = find_date("Posted 3 March 2020. Updated 2020-03-04").unwrap();
        assert_eq!(Some(f.date), d(2020, 3, 3));
    }

    #[test]
    fn dateline_without_year() {
        assert_eq!(month_day_with_year("Dec. 1 (Xinhua)", 2021), d(2021, 12, 1));
        assert_eq!(year_hint("Xinhua, December 02, 2021 ... in 2020 ..."), Some(2021));
        assert_eq!(year_hint("founded in 2014, about 2,500 soldiers"), Some(2014));
    }

    #[test]
    fn implausible_dates() {
        assert_eq!(implausible(NaiveDate::from_ymd_opt(1850, 1, 1).unwrap()), Some("date before 1900"));
        assert_eq!(implausible(NaiveDate::from_ymd_opt(2999, 1, 1).unwrap()), Some("date in the future"));
        assert_eq!(implausible(NaiveDate::from_ymd_opt(2021, 1, 1).unwrap()), None);
    }
}
