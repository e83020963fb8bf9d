//! WARC files (ISO 28500), the format of web crawls: every `response`
//! record whose payload is an HTML page is an article, read through the same
//! path as an `.html` file. Its URL is the record's `WARC-Target-URI`; its
//! date is the page's, else the record's `WARC-Date` (`date_source` =
//! `crawl`). Other records (requests, metadata, redirects, images) are
//! counted and skipped.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::read::{html_doc, reject, RawDoc};
use crate::Reject;

/// What a WARC file gave.
#[derive(Debug, Default)]
pub(crate) struct WarcRead {
    pub docs: Vec<RawDoc>,
    pub rejects: Vec<Reject>,
    /// Records that are not HTML responses.
    pub skipped: usize,
}

/// One record's headers (names lowercased) and block.
struct Record {
    headers: Headers,
    block: Vec<u8>,
}

/// What the next record of a file is.
enum Next {
    End,
    Record(Record),
    /// A record whose block is longer than the cap, read past: its length.
    TooLong(u64),
}

/// The value of header `name` (lowercase), the first when repeated.
fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Header lines up to the blank line, as (lowercase name, value).
fn read_headers(r: &mut impl BufRead) -> std::io::Result<Headers> {
    let mut headers = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file ends inside a record's headers"));
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(headers);
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
}

/// The next record, `None` at the end of the file.
fn next_record(r: &mut impl BufRead, cap: u64) -> Result<Next, String> {
    // Skip the blank lines between records, up to the version line.
    loop {
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(Next::End),
            Ok(_) if line.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(_) if line.starts_with(b"WARC/") => break,
            Ok(_) => return Err(format!("expected a WARC version line, found {:?}", String::from_utf8_lossy(&line[..line.len().min(40)]))),
            Err(e) => return Err(e.to_string()),
        }
    }
    let headers = read_headers(r).map_err(|e| e.to_string())?;
    let len: u64 = header(&headers, "content-length").and_then(|v| v.parse().ok()).ok_or("record without a valid Content-Length")?;
    if len > cap {
        let got = std::io::copy(&mut r.take(len), &mut std::io::sink()).map_err(|e| e.to_string())?;
        if got < len {
            return Err(format!("record cut short: {got} of {len} bytes"));
        }
        return Ok(Next::TooLong(len));
    }
    let mut block = Vec::new();
    let got = r.take(len).read_to_end(&mut block).map_err(|e| e.to_string())?;
    if (got as u64) < len {
        return Err(format!("record cut short: {got} of {len} bytes"));
    }
    Ok(Next::Record(Record { headers, block }))
}

/// Header names (lowercased) and values.
type Headers = Vec<(String, String)>;

/// An HTTP response's status, headers and body.
fn http_response(block: &[u8]) -> Option<(u16, Headers, &[u8])> {
    let mut r = block;
    let mut status = Vec::new();
    r.read_until(b'\n', &mut status).ok()?;
    let status = String::from_utf8_lossy(&status);
    let code: u16 = status.strip_prefix("HTTP/")?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = read_headers(&mut r).ok()?;
    Some((code, headers, r))
}

/// A chunked transfer-encoded body, decoded (what was whole of it).
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut size_line = Vec::new();
        if body.read_until(b'\n', &mut size_line).unwrap_or(0) == 0 {
            return out;
        }
        let text = String::from_utf8_lossy(&size_line);
        let Ok(n) = usize::from_str_radix(text.trim().split(';').next().unwrap_or("").trim(), 16) else { return out };
        if n == 0 || n > body.len() {
            return out;
        }
        out.extend_from_slice(&body[..n]);
        body = &body[n..];
        body = body.strip_prefix(b"\r\n").or_else(|| body.strip_prefix(b"\n")).unwrap_or(body);
    }
}

/// The HTML page of a response record, when it is one.
fn html_page(rec: &Record) -> Option<String> {
    if header(&rec.headers, "warc-type") != Some("response") {
        return None;
    }
    let (code, headers, body) = http_response(&rec.block)?;
    let says = |name: &str, what: &str| header(&headers, name).is_some_and(|v| v.to_ascii_lowercase().contains(what));
    if !(200..300).contains(&code) || !says("content-type", "html") {
        return None;
    }
    let mut body = if says("transfer-encoding", "chunked") { dechunk(body) } else { body.to_vec() };
    if says("content-encoding", "gzip") {
        let mut inflated = Vec::new();
        flate2::read::MultiGzDecoder::new(body.as_slice()).read_to_end(&mut inflated).ok()?;
        body = inflated;
    }
    Some(String::from_utf8_lossy(&body).into_owned())
}

/// Reads every record of a WARC stream. A broken record ends the file with a
/// reject naming it; the records before it are kept.
pub(crate) fn read_warc(path: &Path, input: &mut impl Read, cap: u64) -> WarcRead {
    let mut out = WarcRead::default();
    let mut r = BufReader::new(input);
    let mut n = 0u64;
    loop {
        n += 1;
        let rec = match next_record(&mut r, cap) {
            Ok(Next::Record(rec)) => rec,
            Ok(Next::End) => break,
            Ok(Next::TooLong(len)) => {
                out.rejects.push(crate::stream::too_long(path, Some(n), &format!("WARC record {n}"), len, cap));
                continue;
            }
            Err(e) => {
                out.rejects.push(reject(path, Some(n), None, &format!("broken WARC record {n}: {e}; the records before it were read")));
                break;
            }
        };
        let Some(html) = html_page(&rec) else {
            out.skipped += 1;
            continue;
        };
        match html_doc(path, &html) {
            Ok(mut doc) => {
                doc.origin.record = Some(n);
                doc.format = crate::InputFormat::Warc;
                if let Some(uri) = header(&rec.headers, "warc-target-uri") {
                    doc.url = Some(uri.trim_matches(['<', '>']).to_string());
                }
                doc.crawl_date = header(&rec.headers, "warc-date").map(str::to_string);
                out.docs.push(doc);
            }
            Err(mut r) => {
                r.origin.record = Some(n);
                out.rejects.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WARC record as a crawler writes it.
    pub(crate) fn record(kind: &str, uri: &str, date: &str, block: &str) -> String {
        format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\nContent-Type: application/http; msgtype={kind}\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n",
            block.len()
        )
    }

    fn page(body: &str) -> String {
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{body}")
    }

    const ARTICLE: &str = "<html><head><title>Coalition ends combat mission in Iraq</title></head><body><article><h1>Coalition ends combat mission in Iraq</h1>\
        <p>BAGHDAD - The US-led coalition formally ended its combat mission in Iraq, officials said, and the remaining troops will advise and train Iraqi forces.</p>\
        <p>The decision followed months of talks between Baghdad and Washington, which was under pressure from parties that want all foreign forces to leave the country.</p></article></body></html>";

    #[test]
    fn html_responses_are_articles_and_the_rest_is_counted() {
        let warc = [
            record("warcinfo", "", "2021-12-31T10:00:00Z", "software: test"),
            record("request", "https://news.example/a", "2021-12-31T10:00:00Z", "GET /a HTTP/1.1\r\nHost: news.example\r\n\r\n"),
            record("response", "https://news.example/a", "2021-12-31T10:00:01Z", &page(ARTICLE)),
            record("response", "https://news.example/logo.png", "2021-12-31T10:00:02Z", "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\u{1}PNG"),
            record("response", "https://news.example/old", "2021-12-31T10:00:03Z", "HTTP/1.1 301 Moved\r\nContent-Type: text/html\r\nLocation: /a\r\n\r\n<a href=/a>moved</a>"),
        ]
        .concat();
        let got = read_warc(Path::new("crawl.warc"), &mut warc.as_bytes(), u64::MAX);
        assert!(got.rejects.is_empty(), "{:?}", got.rejects);
        assert_eq!(got.skipped, 4);
        assert_eq!(got.docs.len(), 1);
        let d = &got.docs[0];
        assert_eq!(d.url.as_deref(), Some("https://news.example/a"));
        assert_eq!(d.origin.record, Some(3));
        assert_eq!(d.crawl_date.as_deref(), Some("2021-12-31T10:00:01Z"));
        assert!(d.text.contains("formally ended its combat mission"), "{}", d.text);
    }

    #[test]
    fn a_cut_record_keeps_the_ones_before() {
        let whole = record("response", "https://news.example/a", "2021-12-31T10:00:01Z", &page(ARTICLE));
        let warc = format!("{whole}{}", &whole[..whole.len() / 2]);
        let got = read_warc(Path::new("crawl.warc"), &mut warc.as_bytes(), u64::MAX);
        assert_eq!(got.docs.len(), 1);
        assert_eq!(got.rejects.len(), 1);
        assert!(got.rejects[0].to_string().starts_with("crawl.warc:2: broken WARC record 2: record cut short"), "{}", got.rejects[0]);
    }

    #[test]
    fn chunked_and_gzipped_pages_are_decoded() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(ARTICLE.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let mut chunked: Vec<u8> = Vec::new();
        for c in gz.chunks(100) {
            chunked.extend(format!("{:x}\r\n", c.len()).as_bytes());
            chunked.extend(c);
            chunked.extend(b"\r\n");
        }
        chunked.extend(b"0\r\n\r\n");
        let mut block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        block.extend(chunked);
        let rec = Record { headers: vec![("warc-type".into(), "response".into())], block };
        assert_eq!(html_page(&rec).as_deref(), Some(ARTICLE));
    }
}
