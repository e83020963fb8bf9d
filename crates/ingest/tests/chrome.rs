//! Pages whose "body" is the site's chrome (a newsroom's staff list, a
//! sign-in blurb, a reader-tips form) kept by a scraper instead of the
//! article: the chrome is removed, the page is its headline only, and it is
//! never a near-duplicate on the strength of that chrome. Within one
//! outlet, across outlets, across batches and across shards. Pages written
//! here, in the shapes GVA's scrapes have.

use ingest::shard::{ingest_shard, plan, votes, Duplicates};
use ingest::{ingest_docs, ingest_docs_onto, Content, Furniture, IngestOptions, InputFormat, Origin, Prior, RawDoc};

fn page(id: &str, outlet: &str, title: &str, text: &str) -> RawDoc {
    RawDoc {
        origin: Origin { file: "scrape.jsonl".into(), record: Some(1) },
        format: InputFormat::Jsonl,
        id: id.into(),
        title: Some(title.into()),
        date: Some("2016-04-02".into()),
        url: None,
        source: Some(outlet.into()),
        text: text.into(),
        title_from_field: true,
        crawl_date: None,
    }
}

const STAFF: &str = "Metro Desk Staff\nMore Metro Desk coverage and the crime questions and answers of the week\n\
    Reporters Anna Whitfield Carl Benning Dora Lintz Emil Sorrow Frida Kalm cover courts police and fire for the desk\n\
    Editors Gus Harlan and Hedy Moss assign the stories and answer the readers who write to the desk every day";

const SIGN_IN: &str = "We look forward to seeing you frequently on our pages. Visit us and sign in to update your profile, \
    receive the newsletters you choose and join the conversation with other readers of this community.";

const TIPS: &str = "We are always interested in what you are seeing and hearing around the community. Send us your photos, \
    videos and stories, and our newsroom will follow up on every tip that readers share with reporters.";

fn shooting(place: &str) -> String {
    format!(
        "Police in {place} said a man was shot twice outside a convenience store on Friday night and taken to a hospital. \
         Officers arrested a suspect near the store an hour later, a spokesman for the {place} police department said. \
         The victim, a 34-year-old resident of {place}, was in stable condition on Saturday, the spokesman added."
    )
}

fn by_id<'a>(out: &'a ingest::Ingested, id: &str) -> &'a ingest::Article {
    out.articles.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} missing"))
}

#[test]
fn a_staff_list_under_unrelated_headlines_of_one_outlet_is_chrome() {
    let docs = vec![
        page("s1", "metro", "Man shot outside Elm Street store", STAFF),
        page("s2", "metro", "Teen wounded in Oak Park drive-by", STAFF),
        page("real", "metro", "Man shot outside Elm Street store in Dayton", &shooting("Dayton")),
        page("other", "other", "Bridge repairs begin on Route 9", "Crews began repairing the Route 9 bridge on Monday, the state road agency said, and one lane will stay closed for three weeks while the work goes on."),
    ];
    let out = ingest_docs(docs, &IngestOptions { furniture_min_articles: 3, ..Default::default() });
    for id in ["s1", "s2"] {
        let a = by_id(&out, id);
        assert_eq!(a.content, Content::TitleOnly, "{id}: {:?}", a.text);
        assert!(!a.text.contains("Reporters"), "{id}: the staff list is gone: {:?}", a.text);
        assert_eq!(a.removed.chrome, 3, "{id}: the three lines of chrome long enough to tell");
        assert_eq!(a.duplicate_of, None, "{id}: never a near-duplicate on the strength of chrome");
    }
    assert_eq!(by_id(&out, "real").content, Content::Article, "a real article keeps its text");
    assert_eq!(by_id(&out, "real").removed.chrome, 0);
}

#[test]
fn a_blurb_shared_by_several_outlets_under_unrelated_headlines_is_chrome_and_a_real_copy_is_not() {
    let docs = vec![
        page("a", "courier", "Two hurt in Elgin apartment fire", &format!("{}\n{SIGN_IN}", shooting("Elgin").replace("shot twice", "burned"))),
        page("b", "gazette", "Council approves new school budget", SIGN_IN),
        page("c", "tribune", "Woman killed in highway crash near Joliet", &format!("{TIPS}\n{SIGN_IN}")),
        page("d", "herald", "Storm knocks out power to thousands", TIPS),
        // The same story under two related headlines: a real copy.
        page("e", "wire", "Man shot outside store in Akron", &shooting("Akron")),
        page("f", "wire2", "Akron man shot outside convenience store", &shooting("Akron")),
    ];
    let out = ingest_docs(docs, &IngestOptions::default());
    let a = by_id(&out, "a");
    assert!(!a.text.contains("sign in") && a.text.contains("Elgin"), "the blurb goes, the story stays: {:?}", a.text);
    assert_eq!(a.content, Content::Article);
    for id in ["b", "d"] {
        assert_eq!(by_id(&out, id).content, Content::TitleOnly, "{id}");
    }
    let c = by_id(&out, "c");
    assert_eq!((c.content, c.removed.chrome), (Content::TitleOnly, 2));
    assert!(out.articles.iter().all(|x| x.duplicate_of.is_none() || x.id == "f"), "only the real copy is a near-duplicate");
    assert_eq!(by_id(&out, "f").duplicate_of.as_deref(), Some("e"));
    assert_eq!(by_id(&out, "f").removed.chrome, 0, "a story shared under related headlines is no chrome");
}

#[test]
fn two_paywall_stubs_with_different_headlines_are_not_copies() {
    let stub = "1 of 3 Premium Clicks used this month. Already a subscriber? Log in to continue reading this story and every other story on our site, \
                or subscribe today for unlimited access to local news, sports, obituaries and the daily e-edition.";
    let out = ingest_docs(
        vec![page("p1", "record", "Police chase ends in crash on Main Street", stub), page("p2", "record", "School board names new superintendent", stub)],
        &IngestOptions::default(),
    );
    assert!(out.articles.iter().all(|a| a.content == Content::TitleOnly), "{:?}", out.articles.iter().map(|a| a.content).collect::<Vec<_>>());
    assert!(out.articles.iter().all(|a| a.duplicate_of.is_none()), "different headlines: not copies");
    // The same headline behind the same stub: a copy.
    let out = ingest_docs(
        vec![
            page("q1", "record", "Police chase ends in crash on Main Street after a long pursuit through the city center late on Friday night", stub),
            page("q2", "record", "Police chase ends in crash on Main Street after a long pursuit through the city center late on Friday night", stub),
        ],
        &IngestOptions::default(),
    );
    assert_eq!(out.articles[1].duplicate_of.as_deref(), Some("q1"));
}

#[test]
fn chrome_is_decided_across_batches_through_the_traces() {
    let opts = IngestOptions::default();
    let first = ingest_docs(vec![page("x1", "metro", "Flood closes downtown streets", STAFF)], &opts);
    assert_eq!(first.articles[0].removed.chrome, 0, "one page alone is not evidence");
    assert!(!first.traces[0].chrome.is_empty() && !first.traces[0].title_words.is_empty(), "its votes are kept");
    let prior = Prior { traces: first.traces };
    let second = ingest_docs_onto(vec![page("x2", "metro", "Council votes to raise parking fees", STAFF)], &opts, &prior);
    assert_eq!(second.articles[0].content, Content::TitleOnly, "the earlier page's vote and this one's make chrome");
}

#[test]
fn shards_decide_chrome_for_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let line = |id: &str, title: &str, text: &str| serde_json::json!({"id": id, "title": title, "source": "metro", "date": "2016-04-02", "text": text}).to_string();
    let lines = [
        line("k1", "Man shot outside Elm Street store", STAFF),
        line("k2", "Budget talks stall at city hall", &shooting("Dayton")),
        line("k3", "Teen wounded in Oak Park drive-by", STAFF),
    ];
    let path = dir.path().join("feed.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let opts = IngestOptions::default();
    let whole = ingest::ingest_paths(std::slice::from_ref(&path), &opts);
    let shards = plan(std::slice::from_ref(&path), 200);
    assert!(shards.len() >= 2, "{shards:?}");
    let prior = Prior::default();
    let all: Vec<ingest::Trace> = shards.iter().flat_map(|s| votes(s, &opts, &prior)).collect();
    let furniture = Furniture::decide_traces(all.iter(), opts.furniture_min_articles);
    assert!(furniture.chrome() >= 3, "the staff list's lines, voted in two shards");
    let traces: Vec<Vec<ingest::Trace>> = shards.iter().enumerate().map(|(k, s)| ingest_shard(s, k, &opts, &prior, &furniture, None).traces).collect();
    let dups = Duplicates::decide(&prior, &traces, opts.duplicate_max_distance);
    let parts: Vec<ingest::Article> =
        shards.iter().enumerate().flat_map(|(k, s)| ingest_shard(s, k, &opts, &prior, &furniture, Some(&dups)).articles).collect();
    assert_eq!(parts, whole.articles, "the shards' articles are one ingestion's");
    assert_eq!(by_id(&whole, "k1").content, Content::TitleOnly);
}
