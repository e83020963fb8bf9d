fn main() {
    let docs = ingest::read_file(std::path::Path::new("../shared/datasets/gva/dev.jsonl")).docs;
    let t = std::time::Instant::now();
    let cleaned: Vec<_> = docs.iter().map(|d| ingest::clean_lines(&d.text)).collect();
    let a = t.elapsed();
    let t = std::time::Instant::now();
    let n: usize = cleaned.iter().map(|c| ingest::split_sentences(&c.lines.join("\n")).len()).sum();
    let b = t.elapsed();
    let t = std::time::Instant::now();
    let h: u64 = cleaned.iter().map(|c| ingest::simhash(&c.lines.join("\n"))).fold(0, |x, y| x ^ y);
    let c = t.elapsed();
    let t = std::time::Instant::now();
    let out = ingest::ingest_docs(docs.clone(), &Default::default());
    let d = t.elapsed();
    let s = format!("clean {a:?} split {b:?} ({n}) simhash {c:?} ({h}) all {d:?} ({})\n", out.articles.len());
    std::io::Write::write_all(&mut std::io::stdout(), s.as_bytes()).unwrap();
}
