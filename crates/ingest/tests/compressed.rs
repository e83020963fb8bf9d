//! Inputs as users have them: compressed files of each kind, a truncated
//! archive, WARC crawls, files of unknown kinds, hidden files and symlink
//! loops. Inputs are generated here.

use std::io::Write;
use std::path::{Path, PathBuf};

use ingest::{ingest_paths, IngestOptions, Ingested};

fn run(paths: &[PathBuf]) -> Ingested {
    ingest_paths(paths, &IngestOptions::default())
}

/// `n` JSONL records, each its own article.
fn jsonl(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            let text = format!(
                "Police in Springfield said {i} people were hurt when a fire broke out at a warehouse on Elm Street {prefix} on Friday night. \
                 Firefighters needed three hours to put it out, a spokesman said."
            );
            serde_json::json!({"id": format!("{prefix}-{i}"), "title": format!("Warehouse fire number {i}"), "date": "2016-05-01", "text": text}).to_string() + "\n"
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn ids(out: &Ingested) -> Vec<String> {
    let mut ids: Vec<String> = out.articles.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    ids
}

#[test]
fn gzip_zstd_and_bzip2_read_like_plain_files() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(d.path().join(name), bytes).unwrap();
    w("plain.jsonl", jsonl("plain", 3).as_bytes());
    w("a.jsonl.gz", &gzip(jsonl("gz", 3).as_bytes()));
    // Two gzip members, as `cat a.gz b.gz` makes.
    w("b.jsonl.gz", &[gzip(jsonl("m1", 1).as_bytes()), gzip(jsonl("m2", 1).as_bytes())].concat());
    w("c.jsonl.zst", &zstd::encode_all(jsonl("zst", 2).as_bytes(), 3).unwrap());
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(jsonl("bz", 2).as_bytes()).unwrap();
    w("d.jsonl.bz2", &bz.finish().unwrap());
    let csv = "id,title,text\ncsv-1,Fire on Elm Street,\"Police said a fire broke out at a warehouse on Elm Street on Friday night, hurting two.\"\n";
    w("e.csv.zst", &zstd::encode_all(format!("\u{feff}{csv}").as_bytes(), 3).unwrap());
    w("f.txt.gz", &gzip(b"Fire on Oak Street\n\nPolice said a fire broke out at a house on Oak Street on Friday night, hurting two people.\n"));
    let out = run(&[d.path().to_path_buf()]);
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    let got = ids(&out);
    for id in ["plain-2", "gz-0", "gz-2", "m1-0", "m2-0", "zst-1", "bz-1", "csv-1"] {
        assert!(got.contains(&id.to_string()), "{id} missing from {got:?}");
    }
    assert_eq!(got.len(), 3 + 3 + 2 + 2 + 2 + 1 + 1, "{got:?}");
    let zst = out.articles.iter().find(|a| a.id == "zst-1").unwrap();
    assert_eq!(zst.origin.record, Some(2), "records are numbered by line, as in a plain file");
}

#[test]
fn a_truncated_archive_keeps_what_came_before() {
    let d = tempfile::tempdir().unwrap();
    let whole = gzip(jsonl("t", 2000).as_bytes());
    let cut = d.path().join("cut.jsonl.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = run(std::slice::from_ref(&cut));
    assert_eq!(out.rejects.len(), 1, "{:?}", out.rejects);
    let r = out.rejects[0].to_string();
    assert!(r.starts_with(&format!("{}:", cut.display())) && r.contains("corrupt or truncated gzip data at line"), "{r}");
    let n = out.articles.len();
    assert!(n > 100 && n < 2000, "the records before the cut are kept: {n}");
    assert_eq!(out.rejects[0].origin.record, Some(n as u64 + 1), "the reject names the line that broke: {r}");
}

#[test]
fn a_truncated_csv_archive_keeps_what_came_before() {
    let d = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,title,text\n");
    for i in 0..30000 {
        csv += &format!("c{i},Fire {i},\"Police said a fire broke out at warehouse {i} on Elm Street on Friday night.\"\n");
    }
    let whole = zstd::encode_all(csv.as_bytes(), 3).unwrap();
    let cut = d.path().join("cut.csv.zst");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = run(std::slice::from_ref(&cut));
    assert_eq!(out.rejects.len(), 1, "{:?}", out.rejects);
    assert!(out.rejects[0].reason.starts_with("corrupt or truncated data after"), "{}", out.rejects[0]);
    let n = out.articles.len();
    assert!(n > 1000 && n < 30000, "the records before the cut are kept: {n}");
}

/// A WARC record as a crawler writes it.
fn record(kind: &str, uri: &str, date: &str, block: &str) -> String {
    format!(
        "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n",
        block.len()
    )
}

#[test]
fn warc_html_responses_become_articles() {
    let page = |title: &str, body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<html><head><title>{title}</title></head><body><article><h1>{title}</h1>\
             <p>{body}</p><p>Firefighters needed three hours to put it out, a spokesman for the city said on Saturday.</p>\
             <p>The cause of the fire is under investigation, and the warehouse was empty at the time.</p></article></body></html>"
        )
    };
    let warc = [
        record("warcinfo", "", "2016-05-02T08:00:00Z", "software: test"),
        record("request", "https://news.example/fire", "2016-05-02T08:00:00Z", "GET /fire HTTP/1.1\r\n\r\n"),
        record("response", "https://news.example/fire", "2016-05-02T08:00:01Z", &page("Warehouse fire on Elm Street", "Police said a fire broke out at a warehouse on Elm Street late Friday, hurting two people.")),
        record("response", "https://news.example/logo.png", "2016-05-02T08:00:02Z", "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nPNG"),
        record("metadata", "https://news.example/fire", "2016-05-02T08:00:03Z", "via: crawler"),
    ]
    .concat();
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("crawl.warc.gz");
    std::fs::write(&path, gzip(warc.as_bytes())).unwrap();
    let out = run(&[path]);
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    assert_eq!(out.articles.len(), 1);
    assert_eq!(out.inputs.skipped_records, 4);
    let a = &out.articles[0];
    assert_eq!(a.format, ingest::InputFormat::Warc);
    assert_eq!(a.url.as_deref(), Some("https://news.example/fire"));
    assert_eq!(a.title.as_deref(), Some("Warehouse fire on Elm Street"));
    // The page names no date: the crawl's is the date of last resort.
    assert_eq!(a.date.map(|d| d.to_string()).as_deref(), Some("2016-05-02"));
    assert_eq!(a.date_source.map(|s| s.as_str()), Some("crawl"));
}

#[cfg(unix)]
#[test]
fn folders_as_they_are_on_disk() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let w = |name: &str, bytes: &[u8]| {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    w("news/a.jsonl", jsonl("a", 3).as_bytes());
    w("news/report.pdf", b"%PDF-1.4");
    w("news/photo.png", b"\x89PNG");
    w("news/.DS_Store", b"x");
    w(".git/HEAD", b"ref: refs/heads/main");
    std::os::unix::fs::symlink(".", root.join("news/loop")).unwrap();
    std::os::unix::fs::symlink("news", root.join("mirror")).unwrap();
    let out = run(&[root.to_path_buf()]);
    assert_eq!(ids(&out), vec!["a-0", "a-1", "a-2"], "each record once, however many ways it is reached");
    assert_eq!(out.files.len(), 1);
    let rejects: Vec<String> = out.rejects.iter().map(ToString::to_string).collect();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert!(rejects.iter().all(|r| r.ends_with("not an article format")), "{rejects:?}");
    assert_eq!(out.inputs.summary().as_deref(), Some("files not in an article format: 1 .pdf, 1 .png; 2 hidden files or folders skipped"));
    let links: Vec<&Path> = out.warnings.iter().filter(|w| w.message.starts_with("folder already visited")).map(|w| w.origin.file.as_path()).collect();
    assert_eq!(links.len(), 2, "one warning per link to a folder seen before: {links:?}");
}

/// Peak resident memory of this test's process (nextest runs each test in a
/// process of its own), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// A gzip stream of `before`, then one line of `n` bytes of `x` with no
/// newline inside, then `after`: compressed on the fly, so the huge line is
/// never in memory here either.
fn gzip_with_huge_line(before: &str, n: usize, after: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(before.as_bytes()).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..n / chunk.len() {
        e.write_all(&chunk).unwrap();
    }
    e.write_all(b"\n").unwrap();
    e.write_all(after.as_bytes()).unwrap();
    e.finish().unwrap()
}

#[test]
fn a_record_over_the_cap_is_read_past_with_bounded_memory() {
    let d = tempfile::tempdir().unwrap();
    // 400 MB on one line (400 KB compressed), the cap at 8 MB.
    let huge = 400 << 20;
    std::fs::write(d.path().join("dump.jsonl.gz"), gzip_with_huge_line(&jsonl("before", 2), huge, &jsonl("after", 3))).unwrap();
    let opts = IngestOptions { max_record_bytes: 8_000_000, ..IngestOptions::default() };
    let start = peak_rss();
    let out = ingest_paths(&[d.path().to_path_buf()], &opts);
    let grew = peak_rss().saturating_sub(start);
    assert!(grew < 100 << 20, "reading past a 400 MB line took {} MB", grew >> 20);
    assert_eq!(ids(&out), ["after-0", "after-1", "after-2", "before-0", "before-1"], "the records on both sides are read");
    assert_eq!(out.rejects.len(), 1, "{:?}", out.rejects);
    let r = out.rejects[0].to_string();
    assert!(r.contains("dump.jsonl.gz") && r.contains("line 3") && r.contains("419.4 MB") && r.contains("max_record_mb (8 MB)"), "{r}");
}

#[test]
fn every_kind_of_record_has_the_cap() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(d.path().join(name), bytes).unwrap();
    let long = "y".repeat(3_000);
    let line = |id: &str, text: &str| serde_json::json!({"id": id, "title": "Fire", "text": text}).to_string() + "\n";
    // A plain JSONL file (read whole) and a JSONL shard piece.
    w("plain.jsonl", format!("{}{}{}", line("p-0", "A fire broke out on Elm Street on Friday."), line("p-long", &long), jsonl("q", 1)).as_bytes());
    // A CSV stream (a record far over the cap would end the file there: its
    // end is where its parse is; this one is read and refused).
    let csv = format!("id,title,text\nc-0,Fire,\"A fire on Elm Street.\"\nc-long,Fire,\"{long}\"\nc-2,Fire,\"Another fire.\"\n");
    w("a.csv.gz", &gzip(csv.as_bytes()));
    // A WARC crawl: the long record is skipped, the next one read.
    let page = |body: &str| format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><head><title>Fire</title></head><body><p>{body}</p></body></html>");
    let record = |uri: &str, block: &str| format!("WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2016-05-01T00:00:00Z\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n", block.len());
    let warc = record("http://a/1", &page(&long)) + &record("http://a/2", &page("Police said a fire broke out at a warehouse on Elm Street on Friday night, hurting two people."));
    w("crawl.warc", warc.as_bytes());
    // A .txt article file over the cap.
    w("big.txt", long.as_bytes());
    let opts = IngestOptions { max_record_bytes: 2_000, ..IngestOptions::default() };
    let out = ingest_paths(&[d.path().to_path_buf()], &opts);
    let rejects: Vec<String> = out.rejects.iter().map(ToString::to_string).collect();
    let has = |file: &str, what: &str| rejects.iter().any(|r| r.contains(file) && r.contains(what) && r.contains("max_record_mb"));
    assert!(has("plain.jsonl", "line 2"), "{rejects:#?}");
    assert!(has("a.csv.gz", "CSV record"), "{rejects:#?}");
    assert!(has("crawl.warc", "WARC record 1"), "{rejects:#?}");
    assert!(has("big.txt", "the article file is 0.0 MB"), "{rejects:#?}");
    let got = ids(&out);
    for id in ["p-0", "q-0", "c-0"] {
        assert!(got.iter().any(|g| g == id), "{id} missing from {got:?}");
    }
    assert!(out.articles.iter().any(|a| a.url.as_deref() == Some("http://a/2")), "the WARC record after the long one");
    assert!(!got.iter().any(|g| g.ends_with("long")));
}
