//! The languages a model reads, as the ISO 639-3 codes ingestion names
//! articles' languages by.
//!
//! A model card (README.md front matter) names them in ISO 639-1 (`en`),
//! sometimes in 639-3, or says `multilingual`; `embed.languages` names them
//! for a folder that says nothing. An article whose language is outside
//! them, or unknown, is one the model cannot be trusted to read.

use serde::{Deserialize, Serialize};

/// ISO 639-1 codes and their ISO 639-3 ones, for the languages ingestion
/// detects (whatlang's), plus the usual aliases.
const ISO_639_1: &[(&str, &str)] = &[
    ("af", "afr"), ("ak", "aka"), ("am", "amh"), ("ar", "ara"), ("az", "aze"), ("be", "bel"), ("bg", "bul"), ("bn", "ben"),
    ("ca", "cat"), ("cs", "ces"), ("da", "dan"), ("de", "deu"), ("el", "ell"), ("en", "eng"), ("eo", "epo"), ("es", "spa"),
    ("et", "est"), ("fa", "pes"), ("fi", "fin"), ("fr", "fra"), ("gu", "guj"), ("he", "heb"), ("hi", "hin"), ("hr", "hrv"),
    ("hu", "hun"), ("hy", "hye"), ("id", "ind"), ("it", "ita"), ("ja", "jpn"), ("jv", "jav"), ("ka", "kat"), ("km", "khm"),
    ("kn", "kan"), ("ko", "kor"), ("la", "lat"), ("lt", "lit"), ("lv", "lav"), ("mk", "mkd"), ("ml", "mal"), ("mr", "mar"),
    ("my", "mya"), ("nb", "nob"), ("ne", "nep"), ("nl", "nld"), ("no", "nob"), ("or", "ori"), ("pa", "pan"), ("pl", "pol"),
    ("pt", "por"), ("ro", "ron"), ("ru", "rus"), ("si", "sin"), ("sk", "slk"), ("sl", "slv"), ("sn", "sna"), ("sr", "srp"),
    ("sv", "swe"), ("ta", "tam"), ("te", "tel"), ("th", "tha"), ("tk", "tuk"), ("tl", "tgl"), ("tr", "tur"), ("uk", "ukr"),
    ("ur", "urd"), ("uz", "uzb"), ("vi", "vie"), ("yi", "yid"), ("zh", "cmn"), ("zu", "zul"),
    // 639-3 and 639-2 names of the same languages.
    ("zho", "cmn"), ("chi", "cmn"), ("fas", "pes"), ("per", "pes"), ("nor", "nob"), ("ger", "deu"), ("fre", "fra"),
    ("dut", "nld"), ("cze", "ces"), ("gre", "ell"), ("rum", "ron"), ("arm", "hye"), ("geo", "kat"), ("slo", "slk"),
];

/// What a model reads: every language, or these (ISO 639-3, sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Languages {
    /// `multilingual` with no list: every language.
    pub all: bool,
    pub codes: Vec<String>,
}

impl Languages {
    /// From a model card's or a setting's names (`en`, `eng`, `ara`,
    /// `multilingual`). An empty list is an error: the model's languages
    /// must be known.
    pub fn from_names(names: &[String]) -> Result<Self, String> {
        let mut codes = Vec::new();
        let mut multilingual = false;
        for n in names {
            let n = n.trim().to_ascii_lowercase();
            match n.as_str() {
                "" => {}
                "multilingual" => multilingual = true,
                _ => match ISO_639_1.iter().find(|(k, _)| *k == n) {
                    Some((_, code)) => codes.push(code.to_string()),
                    None if n.len() == 3 && n.bytes().all(|b| b.is_ascii_lowercase()) => codes.push(n),
                    None => return Err(format!("{n:?} is not a language code (ISO 639-1 like \"en\" or 639-3 like \"eng\", or \"multilingual\")")),
                },
            }
        }
        codes.sort();
        codes.dedup();
        if codes.is_empty() && !multilingual {
            return Err("no languages".into());
        }
        // A card that says `multilingual` and lists languages means those.
        Ok(Self { all: codes.is_empty(), codes })
    }

    /// Whether the model reads an article of language `code` (ISO 639-3);
    /// an unknown language is never read.
    pub fn covers(&self, code: Option<&str>) -> bool {
        code.is_some_and(|c| self.all || self.codes.binary_search_by(|x| x.as_str().cmp(c)).is_ok())
    }

    /// As the manifest says it: the codes, or `["*"]` for every language.
    pub fn names(&self) -> Vec<String> {
        if self.all {
            vec!["*".into()]
        } else {
            self.codes.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(v: &[&str]) -> Result<Languages, String> {
        Languages::from_names(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn model_card_names_become_the_codes_ingestion_uses() {
        let en = langs(&["en"]).unwrap();
        assert!(en.covers(Some("eng")) && !en.covers(Some("ara")) && !en.covers(None), "unknown is outside");
        let many = langs(&["multilingual", "ar", "EN", "zh", "spa"]).unwrap();
        assert_eq!(many.codes, ["ara", "cmn", "eng", "spa"]);
        assert!(!many.covers(Some("fra")));
        assert!(langs(&["multilingual"]).unwrap().covers(Some("kor")), "multilingual alone: every language");
        assert!(langs(&[]).is_err() && langs(&["english"]).is_err());
    }
}
