//! Writes a realistic corpus of N articles with known events, for memory and
//! scale measurements of `storyline run` and `storyline add`.
//!
//!     cargo run --release -p benches --example make_corpus -- N OUT.jsonl [FIRST]
//!
//! The articles are the GVA dev articles (../shared/datasets/gva/dev.jsonl)
//! recombined: copy k of an article gets the id `ID.k`, the gold event
//! `EVENT.k` and a date k * 3 days earlier, and from copy 1 on it leaves out
//! about a quarter of its paragraphs (a different quarter per copy), so the
//! copies are not near-duplicates of each other. Every kept sentence is a
//! real news sentence, so the text is as realistic as GVA's; a copy's
//! sentences are its original's, so a corpus of any size embeds (through the
//! embedding cache) about as fast as GVA dev itself. With FIRST, the first
//! FIRST articles are not written: `make_corpus 11000 batch.jsonl 10000`
//! writes the 1,000 articles that follow a 10,000-article corpus.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(out)) = (args.first().and_then(|a| a.parse::<usize>().ok()), args.get(1)) else {
        let usage = "usage: make_corpus N OUT.jsonl [FIRST]\n";
        std::io::stderr().write_all(usage.as_bytes()).expect("stderr");
        std::process::exit(2);
    };
    let first: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    let gva = benches::workspace().join("../shared/datasets/gva/dev.jsonl");
    let text = std::fs::read_to_string(&gva).unwrap_or_else(|e| panic!("{}: {e} (make_corpus needs ../shared/datasets)", gva.display()));
    let records: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).unwrap_or_else(|e| panic!("{out}: {e}")));
    let mut written = 0;
    for i in first..n {
        let (k, r) = (i / records.len(), &records[i % records.len()]);
        let mut v = r.clone();
        let field = |name: &str| r[name].as_str().unwrap_or("").to_string();
        v["id"] = format!("{}.{k}", field("id")).into();
        v["event"] = format!("{}.{k}", field("event")).into();
        if let Some(d) = r["date"].as_str().and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) {
            v["date"] = (d - chrono::Days::new(3 * k as u64)).to_string().into();
        }
        if k > 0 {
            let paragraphs: Vec<&str> = r["text"].as_str().unwrap_or("").split('\n').collect();
            // A fixed quarter of the paragraphs per copy (by a hash of copy and position).
            let drop = |j: usize| (j as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(k as u64 * 0xBF58_476D_1CE4_E5B9) >> 62 == 0;
            let kept: Vec<&str> = paragraphs.iter().enumerate().filter(|(j, _)| !drop(*j)).map(|(_, p)| *p).collect();
            let kept = if kept.iter().any(|p| !p.trim().is_empty()) { kept } else { paragraphs };
            v["text"] = kept.join("\n").into();
        }
        writeln!(w, "{v}").expect("write");
        written += 1;
    }
    w.flush().expect("write");
    let line = format!("{written} articles ({}..{n} of copies of {} GVA dev articles) -> {out}\n", first, records.len());
    std::io::stdout().write_all(line.as_bytes()).expect("stdout");
}
