//! Finding input files and reading them into raw documents.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{content_id, Origin, Reject};

/// The input formats storyline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Txt,
    Jsonl,
    Csv,
    Html,
}

impl InputFormat {
    pub fn from_path(p: &Path) -> Option<Self> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" | "text" => Some(Self::Txt),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            "html" | "htm" => Some(Self::Html),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Txt => "txt",
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Html => "html",
        }
    }
}

/// One document as read, before cleaning.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDoc {
    pub origin: Origin,
    pub format: InputFormat,
    pub id: String,
    pub title: Option<String>,
    /// The `date` field as given (JSONL/CSV), unparsed.
    pub date: Option<String>,
    pub url: Option<String>,
    pub source: Option<String>,
    pub text: String,
    /// True when the title came from a field (not guessed from the text).
    pub title_from_field: bool,
}

/// Expands files and folders (recursively, sorted) into the supported input
/// files. Unsupported files inside folders are skipped silently (a folder of
/// articles often holds a README); a file named directly that is not
/// supported, or a path that does not exist, becomes a reject.
pub fn discover(paths: &[PathBuf], rejects: &mut Vec<Reject>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out, rejects);
        } else if p.is_file() {
            if InputFormat::from_path(p).is_some() {
                out.push(p.clone());
            } else {
                rejects.push(reject(p, None, None, "unsupported file type (expected .txt, .jsonl, .csv or .html)"));
            }
        } else {
            rejects.push(reject(p, None, None, "no such file or folder"));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, rejects: &mut Vec<Reject>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            rejects.push(reject(dir, None, None, &format!("cannot read folder: {e}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out, rejects);
        } else if InputFormat::from_path(&p).is_some() {
            out.push(p);
        }
    }
}

fn reject(file: &Path, record: Option<u64>, id: Option<String>, reason: &str) -> Reject {
    Reject { origin: Origin { file: file.to_path_buf(), record }, id, reason: reason.to_string() }
}

/// Reads one input file into raw documents, rejects, and its size in bytes.
pub fn read_file(path: &Path) -> (Vec<RawDoc>, Vec<Reject>, u64) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (Vec::new(), vec![reject(path, None, None, &format!("cannot read file: {e}"))], 0),
    };
    let size = bytes.len() as u64;
    let Some(format) = InputFormat::from_path(path) else {
        return (Vec::new(), vec![reject(path, None, None, "unsupported file type")], size);
    };
    let (docs, rejects) = match format {
        InputFormat::Txt | InputFormat::Html => match single_text(path, &bytes) {
            Ok(text) => {
                let doc = if format == InputFormat::Html { html_doc(path, &text) } else { Ok(txt_doc(path, text)) };
                match doc {
                    Ok(d) => (vec![d], Vec::new()),
                    Err(r) => (Vec::new(), vec![r]),
                }
            }
            Err(r) => (Vec::new(), vec![r]),
        },
        InputFormat::Jsonl => read_jsonl(path, &bytes),
        InputFormat::Csv => read_csv(path, &bytes),
    };
    (docs, rejects, size)
}

/// Decodes a whole-file document, refusing binary data and invalid UTF-8.
fn single_text(path: &Path, bytes: &[u8]) -> Result<String, Reject> {
    if looks_binary(bytes) {
        return Err(reject(path, None, None, "binary data, not text (NUL bytes or control characters)"));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            // Lines of text: report the line of the first bad byte.
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            Err(reject(path, Some(line), None, &format!("invalid UTF-8 at byte {}", e.valid_up_to())))
        }
    }
}

/// NUL bytes, or many C0 control characters in the first 8 KiB, mean binary.
fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let ctrl = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)).count();
    !head.is_empty() && ctrl * 20 > head.len()
}

fn txt_doc(path: &Path, text: String) -> RawDoc {
    RawDoc {
        origin: Origin { file: path.to_path_buf(), record: None },
        format: InputFormat::Txt,
        id: content_id(&text),
        title: None,
        date: None,
        url: None,
        source: None,
        text,
        title_from_field: false,
    }
}

fn html_doc(path: &Path, html: &str) -> Result<RawDoc, Reject> {
    let extracted = crate::meta::html_main_text(html)
        .map_err(|e| reject(path, None, None, &format!("HTML without readable main text: {e}")))?;
    Ok(RawDoc {
        origin: Origin { file: path.to_path_buf(), record: None },
        format: InputFormat::Html,
        id: content_id(html),
        title_from_field: extracted.title.is_some(),
        title: extracted.title,
        date: extracted.date,
        url: extracted.url,
        source: extracted.site,
        text: extracted.text,
    })
}

/// The fields of a JSONL or CSV record.
#[derive(Default)]
struct Fields {
    id: Option<String>,
    title: Option<String>,
    date: Option<String>,
    text: Option<String>,
    url: Option<String>,
    source: Option<String>,
}

fn record_doc(path: &Path, record: u64, format: InputFormat, f: Fields) -> Result<RawDoc, Reject> {
    let origin = Origin { file: path.to_path_buf(), record: Some(record) };
    let id = f.id.filter(|s| !s.trim().is_empty());
    let Some(text) = f.text else {
        return Err(Reject { origin, id, reason: "missing field `text`".into() });
    };
    let id = id.unwrap_or_else(|| content_id(&text));
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let title = nonempty(f.title);
    Ok(RawDoc {
        origin,
        format,
        id,
        title_from_field: title.is_some(),
        title,
        date: nonempty(f.date),
        url: nonempty(f.url),
        source: nonempty(f.source),
        text,
    })
}

fn read_jsonl(path: &Path, bytes: &[u8]) -> (Vec<RawDoc>, Vec<Reject>) {
    let mut docs = Vec::new();
    let mut rejects = Vec::new();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let n = i as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = match std::str::from_utf8(line) {
            Ok(l) => l,
            Err(e) => {
                rejects.push(reject(path, Some(n), None, &format!("invalid UTF-8 at byte {} of the line", e.valid_up_to())));
                continue;
            }
        };
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                rejects.push(reject(path, Some(n), None, &format!("broken JSON: {e}")));
                continue;
            }
        };
        let serde_json::Value::Object(obj) = value else {
            rejects.push(reject(path, Some(n), None, "JSON record is not an object"));
            continue;
        };
        let mut f = Fields::default();
        let mut bad = None;
        for (key, slot) in [
            ("id", &mut f.id),
            ("title", &mut f.title),
            ("date", &mut f.date),
            ("text", &mut f.text),
            ("url", &mut f.url),
            ("source", &mut f.source),
        ] {
            match obj.get(key) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::String(s)) => *slot = Some(s.clone()),
                // Numeric ids are common and unambiguous.
                Some(serde_json::Value::Number(x)) if key == "id" => *slot = Some(x.to_string()),
                Some(other) => {
                    bad = Some(format!("field `{key}` should be a string, found {}", json_type(other)));
                    break;
                }
            }
        }
        if let Some(reason) = bad {
            rejects.push(Reject { origin: Origin { file: path.to_path_buf(), record: Some(n) }, id: f.id, reason });
            continue;
        }
        match record_doc(path, n, InputFormat::Jsonl, f) {
            Ok(d) => docs.push(d),
            Err(r) => rejects.push(r),
        }
    }
    (docs, rejects)
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn read_csv(path: &Path, bytes: &[u8]) -> (Vec<RawDoc>, Vec<Reject>) {
    let mut docs = Vec::new();
    let mut rejects = Vec::new();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            rejects.push(reject(path, Some(1), None, &format!("cannot read CSV header: {e}")));
            return (docs, rejects);
        }
    };
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name.as_bytes()));
    let Some(text_col) = col("text") else {
        rejects.push(reject(path, Some(1), None, "CSV header has no `text` column"));
        return (docs, rejects);
    };
    let cols = [col("id"), col("title"), col("date"), Some(text_col), col("url"), col("source")];
    let width = headers.len();
    for rec in rdr.byte_records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line());
                rejects.push(reject(path, line, None, &format!("broken CSV record: {e}")));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != width {
            rejects.push(reject(
                path,
                Some(line),
                None,
                &format!("ragged CSV record: {} fields, the header has {width}", rec.len()),
            ));
            continue;
        }
        let mut vals: [Option<String>; 6] = Default::default();
        let mut bad = None;
        for (slot, c) in vals.iter_mut().zip(cols) {
            if let Some(c) = c {
                match rec.get(c).map(std::str::from_utf8) {
                    Some(Ok(s)) => *slot = Some(s.to_string()),
                    Some(Err(_)) => bad = Some(format!("invalid UTF-8 in column {}", String::from_utf8_lossy(&headers[c]))),
                    None => {}
                }
            }
        }
        if let Some(reason) = bad {
            rejects.push(reject(path, Some(line), None, &reason));
            continue;
        }
        let [id, title, date, text, url, source] = vals;
        match record_doc(path, line, InputFormat::Csv, Fields { id, title, date, text, url, source }) {
            Ok(d) => docs.push(d),
            Err(r) => rejects.push(r),
        }
    }
    (docs, rejects)
}
