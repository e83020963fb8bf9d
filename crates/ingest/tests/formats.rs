//! Each input format, and each kind of bad input: a named reject or warning,
//! and the run goes on with the rest. Inputs are generated here.

use std::path::{Path, PathBuf};

use ingest::{ingest_paths, IngestOptions, Ingested};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(paths: &[PathBuf]) -> Ingested {
    ingest_paths(paths, &IngestOptions::default())
}

const BODY: &str = "Police said two men were shot on Main Street late Friday. Both were taken to the county hospital.";

#[test]
fn txt_jsonl_csv_html_in_one_folder() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.txt", format!("Two men shot on Main Street\n\n{BODY}\n").as_bytes());
    write(
        d.path(),
        "b.jsonl",
        format!(
            "{}\n{}\n",
            serde_json::json!({"id": "j1", "title": "Shooting", "date": "2016-05-01", "text": BODY, "url": "http://web.archive.org/web/2016/http://www.ksat.com/news/x"}),
            serde_json::json!({"id": 7, "text": "Another text about a fire downtown.", "source": "KSAT"})
        )
        .as_bytes(),
    );
    write(d.path(), "c.csv", format!("id,title,date,text\nc1,\"A, quoted title\",May 2 2016,\"{BODY}\nSecond paragraph, with a comma.\"\n").as_bytes());
    write(
        d.path(),
        "d.html",
        format!("<html><head><title>Fire downtown</title></head><body><nav>Home | News</nav><article><h1>Fire downtown</h1><p>{BODY}</p><p>{BODY} Again, firefighters said.</p><p>Officials said the cause is under investigation and more details will come.</p></article></body></html>").as_bytes(),
    );
    write(d.path(), "notes.md", b"not an input format: reported, not read");
    let out = run(&[d.path().to_path_buf()]);
    let rejects: Vec<String> = out.rejects.iter().map(ToString::to_string).collect();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0].ends_with("notes.md: not an article format"), "{rejects:?}");
    assert_eq!(out.inputs.summary().as_deref(), Some("files not in an article format: 1 .md"));
    let ids: Vec<&str> = out.articles.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(out.articles.len(), 5, "{ids:?}");
    let j1 = out.articles.iter().find(|a| a.id == "j1").unwrap();
    assert_eq!(j1.date.map(|d| d.to_string()).as_deref(), Some("2016-05-01"));
    assert_eq!(j1.date_source.map(|s| s.as_str()), Some("field"));
    assert_eq!(j1.outlet.as_deref(), Some("ksat.com"));
    assert!(ids.contains(&"7"), "numeric ids are kept as text");
    let c1 = out.articles.iter().find(|a| a.id == "c1").unwrap();
    assert_eq!(c1.title.as_deref(), Some("A, quoted title"));
    assert!(c1.text.contains("Second paragraph"), "quoted newline kept inside the record");
    assert_eq!(c1.date.map(|d| d.to_string()).as_deref(), Some("2016-05-02"));
    let html = out.articles.iter().find(|a| a.format == ingest::InputFormat::Html).unwrap();
    assert!(html.text.contains("Police said two men"));
    assert!(!html.text.contains("Home | News"));
    // Ids without an input id are stable: same content, same id.
    let again = run(&[d.path().to_path_buf()]);
    assert_eq!(again.articles.iter().map(|a| &a.id).collect::<Vec<_>>(), out.articles.iter().map(|a| &a.id).collect::<Vec<_>>());
}

fn reasons(out: &Ingested) -> Vec<String> {
    out.rejects.iter().map(|r| r.to_string()).collect()
}

#[test]
fn bad_files_are_rejected_by_name_and_the_rest_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let good = write(d.path(), "good.txt", format!("Title here\n{BODY}").as_bytes());
    let bad_utf8 = write(d.path(), "latin1.txt", b"Caf\xe9 owner shot\nline two\n");
    let binary = write(d.path(), "image.txt", &[0x89, b'P', b'N', b'G', 0, 0, 0, 13, 1, 2, 3]);
    let empty = write(d.path(), "empty.txt", b"");
    let blank = write(d.path(), "blank.txt", b"  \n\t\n \n");
    let missing = d.path().join("does-not-exist.txt");
    let out = run(&[good, bad_utf8, binary, empty, blank, missing]);
    assert_eq!(out.articles.len(), 1);
    let r = reasons(&out);
    assert_eq!(r.len(), 5, "{r:#?}");
    let has = |file: &str, why: &str| r.iter().any(|x| x.contains(file) && x.contains(why));
    assert!(has("latin1.txt:1", "invalid UTF-8"), "{r:#?}");
    assert!(has("image.txt", "binary data"), "{r:#?}");
    assert!(has("empty.txt", "empty article"), "{r:#?}");
    assert!(has("blank.txt", "empty article"), "{r:#?}");
    assert!(has("does-not-exist.txt", "no such file"), "{r:#?}");
}

#[test]
fn broken_jsonl_records_name_their_line() {
    let d = tempfile::tempdir().unwrap();
    let lines = [
        serde_json::json!({"id": "ok1", "title": "Fine", "text": BODY}).to_string(),
        "{\"id\": \"broken\", \"text\": ".to_string(),
        serde_json::json!({"id": "notext", "title": "No text field"}).to_string(),
        serde_json::json!({"id": "wrongtype", "text": ["a", "b"]}).to_string(),
        "[1, 2, 3]".to_string(),
        serde_json::json!({"id": "ok1", "text": "Same id again, different text."}).to_string(),
        serde_json::json!({"id": "extra", "text": BODY, "unexpected": {"nested": true}, "date": "3021-01-01"}).to_string(),
        serde_json::json!({"id": "old", "text": BODY, "date": "1850-01-01"}).to_string(),
        String::new(),
    ];
    let f = write(d.path(), "x.jsonl", lines.join("\n").as_bytes());
    let out = run(&[f]);
    let r = reasons(&out);
    let has = |line: &str, why: &str| r.iter().any(|x| x.contains(&format!("x.jsonl:{line}")) && x.contains(why));
    assert!(has("2", "broken JSON"), "{r:#?}");
    assert!(has("3", "missing field `text`"), "{r:#?}");
    assert!(has("4", "field `text` should be a string, found an array"), "{r:#?}");
    assert!(has("5", "not an object"), "{r:#?}");
    assert!(has("6", "duplicate id"), "{r:#?}");
    assert_eq!(r.len(), 5, "{r:#?}");
    // Extra fields are ignored; impossible dates become warnings and no date.
    let ids: Vec<&str> = out.articles.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec!["ok1", "extra", "old"]);
    let w: Vec<String> = out.warnings.iter().map(|w| format!("{}: {}", w.id, w.message)).collect();
    assert!(w.iter().any(|x| x.starts_with("extra: date in the future")), "{w:#?}");
    assert!(w.iter().any(|x| x.starts_with("old: date before 1900")), "{w:#?}");
    assert!(out.articles.iter().all(|a| a.date.is_none()));
}

#[test]
fn ragged_csv_and_csv_without_text_column() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "r.csv", format!("id,text\nr1,\"{BODY}\"\nr2,too,many,fields\nr3,\"Fine again, really.\"\n").as_bytes());
    let g = write(d.path(), "notext.csv", b"id,body\n1,hello\n");
    let out = run(&[f, g]);
    let r = reasons(&out);
    assert!(r.iter().any(|x| x.contains("r.csv:3") && x.contains("ragged CSV record")), "{r:#?}");
    assert!(r.iter().any(|x| x.contains("notext.csv:1") && x.contains("no `text` column")), "{r:#?}");
    assert_eq!(out.articles.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["r1", "r3"]);
}

#[test]
fn html_without_body_is_rejected() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "x.html", b"<html><head><title>Nothing</title></head></html>");
    let out = run(&[f]);
    assert!(out.articles.is_empty());
    assert!(reasons(&out)[0].contains("x.html"), "{:?}", reasons(&out));
}

#[test]
fn other_scripts_rtl_and_zero_width_characters() {
    let d = tempfile::tempdir().unwrap();
    let arabic = "أكدت الحكومة العراقية التزامها بتنفيذ قرار البرلمان العراقي بسحب القوات القتالية الأجنبية من العراق. وقال البيان إن الموعد النهائي هو نهاية العام.";
    let f = write(d.path(), "ar.txt", arabic.as_bytes());
    let z = write(d.path(), "zw.txt", "Zero\u{200B}width title\n\u{FEFF}Police\u{200D} said the shooting happened at noon. Nobody was hurt.".as_bytes());
    let out = run(&[f, z]);
    assert!(out.rejects.is_empty());
    let ar = out.articles.iter().find(|a| a.origin.file.ends_with("ar.txt")).unwrap();
    assert_eq!(ar.language.as_deref(), Some("ara"));
    assert_eq!(ar.sentence_spans.len(), 2);
    let zw = out.articles.iter().find(|a| a.origin.file.ends_with("zw.txt")).unwrap();
    assert_eq!(zw.title.as_deref(), Some("Zerowidth title"));
    assert!(!zw.text.contains('\u{200B}') && !zw.text.contains('\u{200D}') && !zw.text.contains('\u{FEFF}'));
}

#[test]
fn near_duplicates_point_at_the_first_copy() {
    let d = tempfile::tempdir().unwrap();
    let long = "Five people were injured in a shooting in Elgin early this morning, authorities said. The shooting happened about 3:10 a.m. in the 300 block of North Street, the Elgin Police Department announced in a news release. Police found four people on the scene who had been shot. Each of the victims was taken to either Presence Saint Joseph Hospital or Sherman Hospital. All five were expected to survive.";
    let lines = [
        serde_json::json!({"id": "first", "text": long}).to_string(),
        serde_json::json!({"id": "other", "text": BODY}).to_string(),
        serde_json::json!({"id": "copy", "text": format!("Elgin shooting\n\n{}\n\nShare this: Facebook", long.replace("authorities said", "authorities said;"))}).to_string(),
    ];
    let f = write(d.path(), "d.jsonl", lines.join("\n").as_bytes());
    let out = run(&[f]);
    let dup: Vec<(&str, Option<&str>)> = out.articles.iter().map(|a| (a.id.as_str(), a.duplicate_of.as_deref())).collect();
    assert_eq!(dup, vec![("first", None), ("other", None), ("copy", Some("first"))]);
}

#[test]
fn long_lines_and_large_articles_stay_linear() {
    // 1 MB on one line and a 100 MB article (under a cap raised to 200 MB:
    // the default, 64 MB, would refuse it): no panic, and done in the time a
    // linear pass takes (not asserted: speed lives in the benchmarks).
    let d = tempfile::tempdir().unwrap();
    let sentence = "The council met on Monday and said nothing new about the budget. ";
    let one_line = sentence.repeat(1_000_000 / sentence.len());
    let f = write(d.path(), "line.txt", one_line.as_bytes());
    let para = format!("{}\n\n", sentence.repeat(20));
    let big: String = (0..(100_000_000 / para.len())).map(|i| format!("{i} {para}")).collect();
    let g = write(d.path(), "big.txt", big.as_bytes());
    let out = ingest::ingest_paths(&[f, g], &ingest::IngestOptions { max_record_bytes: 200_000_000, ..Default::default() });
    assert!(out.rejects.is_empty());
    assert_eq!(out.articles.len(), 2);
    assert!(out.articles.iter().all(|a| a.sentence_spans.len() > 10_000));
}
