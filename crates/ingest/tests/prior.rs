//! A batch added to a corpus sees the earlier batches through their traces:
//! known ids are skipped, site furniture is counted over every batch, and
//! near-duplicates of earlier articles are marked.

use ingest::{ingest_docs, ingest_docs_onto, IngestOptions, InputFormat, Origin, Prior, RawDoc};

fn doc(id: &str, outlet: &str, text: &str) -> RawDoc {
    RawDoc {
        origin: Origin { file: "batch.jsonl".into(), record: Some(1) },
        format: InputFormat::Jsonl,
        id: id.into(),
        title: Some(format!("Story {id}")),
        date: Some("2021-12-31".into()),
        url: None,
        source: Some(outlet.into()),
        text: text.into(),
        title_from_field: true,
        crawl_date: None,
    }
}

const TAGLINE: &str = "The Valley Courier thanks every reader who keeps local reporting alive in our towns.";

fn story(n: usize) -> String {
    format!(
        "Crews repaired water main number {n} on the east side overnight, the utility said in a statement.\n\
         Residents of {n} streets were asked to boil water until further notice, officials said.\n{TAGLINE}"
    )
}

const LONG: &str = "A fire destroyed the old mill on River Road early Sunday, the fire chief said, and no one was hurt. \
    Firefighters from three towns fought the blaze for six hours before bringing it under control. \
    The mill had stood empty since 1998 and was due to be turned into apartments next spring, the owner said. \
    Investigators from the state fire marshal's office will look into the cause on Monday, officials said.";

#[test]
fn a_batch_sees_the_earlier_batches() {
    let opts = IngestOptions::default();
    let first = ingest_docs(vec![doc("a", "courier", &story(1)), doc("b", "courier", &story(2)), doc("f", "other", LONG)], &opts);
    assert_eq!(first.traces.len(), 3);
    let courier = first.articles.iter().filter(|a| a.outlet.as_deref() == Some("courier"));
    assert!(courier.clone().count() == 2 && courier.clone().all(|a| a.text.contains("Valley Courier")), "two articles are not enough for furniture");
    let prior = Prior { traces: first.traces.clone() };

    let batch = vec![doc("b", "courier", &story(2)), doc("c", "courier", &story(3)), doc("g", "other", LONG)];
    // Alone, the new batch has one courier article: its tagline stays, and
    // the copy of the fire story is nobody's duplicate.
    let alone = ingest_docs(batch.clone(), &opts);
    assert!(alone.articles.iter().find(|a| a.id == "c").unwrap().text.contains("Valley Courier"));
    assert_eq!(alone.articles.iter().find(|a| a.id == "g").unwrap().duplicate_of, None);

    let onto = ingest_docs_onto(batch, &opts, &prior);
    assert_eq!(onto.known, 1, "b is in the corpus already");
    let ids: Vec<&str> = onto.articles.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["c", "g"]);
    assert!(onto.rejects.is_empty(), "a known id is not a reject");
    let c = &onto.articles[0];
    assert!(!c.text.contains("Valley Courier"), "the third article of the outlet makes the tagline furniture: {:?}", c.text);
    assert_eq!(c.removed.furniture, 1);
    assert_eq!(onto.articles[1].duplicate_of.as_deref(), Some("f"), "a near-duplicate of an earlier batch's article");
    assert_eq!(onto.traces.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["c", "g"]);
}
