//! Property tests: no input makes ingestion panic, and cleaning and sentence
//! splitting keep the words they are given (they only drop whole lines).

use ingest::{clean_lines, ingest_docs, parse_date_text, sentence_spans, split_sentences, IngestOptions, InputFormat, Origin, RawDoc};
use proptest::prelude::*;

fn doc(text: String, title: Option<String>, date: Option<String>) -> RawDoc {
    RawDoc {
        origin: Origin { file: "prop.jsonl".into(), record: Some(1) },
        format: InputFormat::Jsonl,
        id: "p".into(),
        title_from_field: title.is_some(),
        crawl_date: None,
        title,
        date,
        url: Some("http://web.archive.org/web/1/http://x.example/a".into()),
        source: None,
        text,
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn ingest_never_panics(text in "\\PC{0,400}", title in proptest::option::of("\\PC{0,40}"), date in proptest::option::of("\\PC{0,20}")) {
        let out = ingest_docs(vec![doc(text, title, date)], &IngestOptions::default());
        prop_assert_eq!(out.articles.len() + out.rejects.len(), 1);
    }

    #[test]
    fn noisy_news_like_text_never_panics(lines in proptest::collection::vec(prop_oneof![
        Just("Leave a Reply".to_string()),
        Just("BAGHDAD, Dec. 1 (Xinhua) -- ".to_string()),
        Just("2021/07/31 12:45".to_string()),
        Just("“Quoted. Still quoted.” he said.".to_string()),
        Just("buy cipro online https://x.example no prescription".to_string()),
        Just("".to_string()),
        "[A-Za-z .,:;!?\"“”'0-9()/-]{0,80}",
    ], 0..30)) {
        let text = lines.join("\n");
        let out = ingest_docs(vec![doc(text, None, None)], &IngestOptions::default());
        prop_assert_eq!(out.articles.len() + out.rejects.len(), 1);
    }

    #[test]
    fn sentences_keep_every_word(text in "[A-Za-z .,!?\"“”'0-9]{0,300}") {
        let joined = split_sentences(&text).join(" ");
        prop_assert_eq!(words(&joined), words(&text));
    }

    #[test]
    fn sentence_spans_are_trimmed_ordered_pieces_of_the_text(text in "[A-Za-zé .,!?\"“”'0-9\n]{0,300}") {
        let spans = sentence_spans(&text);
        let mut end = 0;
        for r in &spans {
            prop_assert!(r.start >= end && r.start < r.end, "{:?} after {}", r, end);
            let s = text.get(r.clone());
            prop_assert!(s.is_some_and(|s| s.trim() == s && !s.contains('\n')), "{:?}", r);
            end = r.end;
        }
    }

    #[test]
    fn cleaning_keeps_or_drops_whole_lines(text in "[A-Za-z .,0-9\n]{0,300}") {
        // Lines are kept whole or dropped; only spacing may change ("streets.Four"
        // becomes "streets. Four").
        let squash = |l: &str| l.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let kept = clean_lines(&text).lines;
        let originals: Vec<String> = text.lines().map(squash).collect();
        for l in kept {
            prop_assert!(originals.contains(&squash(&l)), "{:?} is not a line of the input", l);
        }
    }

    #[test]
    fn dates_parse_or_not_but_never_panic(s in "\\PC{0,60}") {
        let _ = parse_date_text(&s);
    }
}
