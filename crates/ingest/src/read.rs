//! Reading input files (by format and compression) into raw documents.

use std::path::Path;

use rayon::prelude::*;
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
    /// A web archive (ISO 28500): each HTML response is an article.
    Warc,
}

impl InputFormat {
    fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "txt" | "text" => Some(Self::Txt),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            "html" | "htm" => Some(Self::Html),
            "warc" => Some(Self::Warc),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Txt => "txt",
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Html => "html",
            Self::Warc => "warc",
        }
    }

    /// The inverse of [`InputFormat::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Txt, Self::Jsonl, Self::Csv, Self::Html, Self::Warc].into_iter().find(|f| f.as_str() == name)
    }
}

/// How a file is compressed, by its last extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
}

impl Compression {
    fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "gz" | "gzip" => Some(Self::Gzip),
            "zst" | "zstd" => Some(Self::Zstd),
            "bz2" => Some(Self::Bzip2),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::None => "plain",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Bzip2 => "bzip2",
        }
    }
}

/// What a file holds: its format, and how it is compressed (`x.jsonl.gz`,
/// `x.csv.zst`, `x.warc.gz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub format: InputFormat,
    pub compression: Compression,
}

impl Source {
    /// The kinds of file storyline reads, for messages.
    pub const KINDS: &'static str = ".txt, .jsonl, .csv, .html or .warc, each also as .gz, .zst or .bz2";

    /// The source a path names by its extensions; standard input (`-`) is
    /// JSON Lines.
    pub fn of(p: &Path) -> Option<Self> {
        if p.as_os_str() == crate::discover::STDIN {
            return Some(Self { format: InputFormat::Jsonl, compression: Compression::None });
        }
        // By bytes: a name that is not UTF-8 ("\xff.jsonl") still has an
        // extension that is.
        let name = p.file_name()?.as_encoded_bytes().to_ascii_lowercase();
        let mut parts = name.rsplit(|&b| b == b'.');
        let mut ext = || std::str::from_utf8(parts.next()?).ok();
        let last = ext()?;
        if let Some(format) = InputFormat::from_extension(last) {
            return name.contains(&b'.').then_some(Self { format, compression: Compression::None });
        }
        let compression = Compression::from_extension(last)?;
        let format = InputFormat::from_extension(ext()?)?;
        Some(Self { format, compression })
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
    /// When the page was fetched (WARC), the date of last resort.
    pub crawl_date: Option<String>,
}

pub(crate) fn reject(file: &Path, record: Option<u64>, id: Option<String>, reason: &str) -> Reject {
    Reject { origin: Origin { file: file.to_path_buf(), record }, id, reason: reason.to_string() }
}

/// What reading one input file gave.
#[derive(Debug, Default)]
pub struct FileRead {
    pub docs: Vec<RawDoc>,
    pub rejects: Vec<Reject>,
    /// Its size on disk (compressed files: their compressed size; standard
    /// input: the bytes read).
    pub bytes: u64,
    /// WARC records that are not HTML responses, skipped.
    pub skipped_records: usize,
}

/// Reads one input file into raw documents and rejects.
///
/// Plain files are read whole. Compressed files, WARC files and standard
/// input are streamed: a corrupt or truncated stream is a reject naming the
/// record and byte where it broke, and the records before it are kept.
pub fn read_file(path: &Path) -> FileRead {
    read_file_with(path, crate::IngestOptions::default().max_record_bytes)
}

/// As [`read_file`], holding no record (a line, a CSV record, a WARC
/// record, a whole-file article) of more than `cap` bytes: a longer one is
/// a reject naming it and its size, and the records after it are read.
pub fn read_file_with(path: &Path, cap: u64) -> FileRead {
    let fail = |reason: String, bytes: u64| FileRead { rejects: vec![reject(path, None, None, &reason)], bytes, ..FileRead::default() };
    let Some(source) = Source::of(path) else {
        return fail("not an article format".into(), 0);
    };
    if path.as_os_str() == crate::discover::STDIN {
        let mut input = crate::stream::Counted::new(std::io::stdin().lock());
        let (docs, rejects) = crate::stream::read_jsonl(path, "standard input", &mut input, cap);
        return FileRead { docs, rejects, bytes: input.consumed(), skipped_records: 0 };
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot read file: {e}"), 0),
    };
    let bytes = file.metadata().map_or(0, |m| m.len());
    let whole_file_article = matches!(source.format, InputFormat::Txt | InputFormat::Html);
    if source.compression == Compression::None && whole_file_article && bytes > cap {
        return FileRead { rejects: vec![crate::stream::too_long(path, None, "the article file", bytes, cap)], bytes, ..FileRead::default() };
    }
    if source.compression == Compression::None && source.format != InputFormat::Warc {
        let mut all = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(&mut { file }, &mut all) {
            return fail(format!("cannot read file: {e}"), bytes);
        }
        let (docs, rejects) = read_bytes(path, source.format, &all, cap);
        return FileRead { docs, rejects, bytes, skipped_records: 0 };
    }
    let what = source.compression.name();
    let mut input = match crate::stream::decoder(file, source.compression) {
        Ok(r) => crate::stream::Counted::new(r),
        Err(e) => return fail(format!("cannot open {what} stream: {e}"), bytes),
    };
    let (docs, rejects) = match source.format {
        InputFormat::Jsonl => crate::stream::read_jsonl(path, what, &mut input, cap),
        InputFormat::Csv => {
            let mark = std::cell::Cell::new(0);
            read_csv(path, crate::stream::CsvGuard::new(&mut input, cap, &mark), cap, Some(&mark))
        }
        InputFormat::Warc => {
            let w = crate::warc::read_warc(path, &mut input, cap);
            return FileRead { docs: w.docs, rejects: w.rejects, bytes, skipped_records: w.skipped };
        }
        InputFormat::Txt | InputFormat::Html => {
            let mut all = Vec::new();
            match std::io::Read::read_to_end(&mut std::io::Read::take(&mut input, cap + 1), &mut all) {
                Ok(_) if all.len() as u64 > cap => {
                    // Count the rest without holding it, for the size.
                    let rest = std::io::copy(&mut input, &mut std::io::sink()).unwrap_or(0);
                    (Vec::new(), vec![crate::stream::too_long(path, None, "the article file", all.len() as u64 + rest, cap)])
                }
                Ok(_) => read_bytes(path, source.format, &all, cap),
                Err(e) => return fail(format!("corrupt or truncated {what} data after {} bytes: {e}", input.consumed()), bytes),
            }
        }
    };
    FileRead { docs, rejects, bytes, skipped_records: 0 }
}

/// Reads the lines of a plain JSONL file that start at byte `start` (line
/// `first_line`) and end at byte `end` (a line's end): a shard of a large
/// file. Records are numbered as in the whole file.
pub fn read_jsonl_lines(path: &Path, first_line: u64, start: u64, end: u64, cap: u64) -> FileRead {
    use std::io::{Read, Seek};
    let fail = |reason: String| FileRead { rejects: vec![reject(path, Some(first_line), None, &reason)], ..FileRead::default() };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot read file: {e}")),
    };
    let mut bytes = Vec::with_capacity(end.saturating_sub(start) as usize);
    if let Err(e) = file.seek(std::io::SeekFrom::Start(start)).and_then(|_| file.take(end.saturating_sub(start)).read_to_end(&mut bytes)) {
        return fail(format!("cannot read lines from byte {start}: {e}"));
    }
    let (docs, rejects) = read_jsonl(path, &bytes, first_line, cap);
    FileRead { docs, rejects, bytes: bytes.len() as u64, skipped_records: 0 }
}

/// The documents of a whole file's (decompressed) bytes.
fn read_bytes(path: &Path, format: InputFormat, bytes: &[u8], cap: u64) -> (Vec<RawDoc>, Vec<Reject>) {
    match format {
        InputFormat::Txt | InputFormat::Html => match single_text(path, bytes) {
            Ok(text) => {
                let doc = if format == InputFormat::Html { html_doc(path, &text) } else { Ok(txt_doc(path, text)) };
                match doc {
                    Ok(d) => (vec![d], Vec::new()),
                    Err(r) => (Vec::new(), vec![r]),
                }
            }
            Err(r) => (Vec::new(), vec![r]),
        },
        InputFormat::Jsonl => read_jsonl(path, bytes, 1, cap),
        InputFormat::Csv => read_csv(path, bytes, cap, None),
        InputFormat::Warc => {
            let w = crate::warc::read_warc(path, &mut { bytes }, cap);
            (w.docs, w.rejects)
        }
    }
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
        crawl_date: None,
    }
}

pub(crate) fn html_doc(path: &Path, html: &str) -> Result<RawDoc, Reject> {
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
        crawl_date: None,
    })
}

/// The names of the fields storyline reads from a JSONL or CSV record, in
/// the order of [`Fields`] (and in which a wrong field is reported).
const FIELD_NAMES: [&str; 6] = ["id", "title", "date", "text", "url", "source"];

/// The fields of a JSONL or CSV record.
struct Fields {
    id: Option<String>,
    title: Option<String>,
    date: Option<String>,
    text: Option<String>,
    url: Option<String>,
    source: Option<String>,
}

impl From<[Option<String>; 6]> for Fields {
    fn from([id, title, date, text, url, source]: [Option<String>; 6]) -> Self {
        Self { id, title, date, text, url, source }
    }
}

fn record_doc(path: &Path, record: u64, format: InputFormat, f: Fields) -> Result<RawDoc, Reject> {
    let origin = Origin { file: path.to_path_buf(), record: Some(record) };
    let id = f.id.filter(|s| !s.trim().is_empty());
    let Some(text) = f.text else {
        return Err(Reject { origin, id, reason: "missing field `text`".into() });
    };
    let id = id.unwrap_or_else(|| content_id(&text));
    let nonempty = |s: Option<String>| s.map(trimmed).filter(|s| !s.is_empty());
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
        crawl_date: None,
    })
}

/// `s` without leading and trailing whitespace, in its own buffer.
fn trimmed(mut s: String) -> String {
    let end = s.trim_end().len();
    s.truncate(end);
    let start = s.len() - s.trim_start().len();
    s.drain(..start);
    s
}

/// The records of JSONL bytes whose first line is line `first_line` of
/// `path` (1 for a whole file).
fn read_jsonl(path: &Path, bytes: &[u8], first_line: u64, cap: u64) -> (Vec<RawDoc>, Vec<Reject>) {
    let bytes = if first_line == 1 { bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes) } else { bytes };
    let mut rejects = Vec::new();
    // Records are independent: parsed in parallel, kept in file order.
    let lines: Vec<(u64, &[u8])> = crate::text::pieces(bytes, b'\n')
        .enumerate()
        .map(|(i, line)| (i as u64 + first_line, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .filter(|(n, line)| {
            let over = line.len() as u64 > cap;
            if over {
                rejects.push(crate::stream::too_long(path, Some(*n), &format!("line {n}"), line.len() as u64, cap));
            }
            !over
        })
        .collect();
    let mut docs = Vec::with_capacity(lines.len());
    parse_jsonl_lines(path, &lines, &mut docs, &mut rejects);
    (docs, rejects)
}

/// Parses numbered JSONL lines in parallel, appending the documents and the
/// rejects in line order (a whole plain file, or one round of a stream).
pub(crate) fn parse_jsonl_lines<L: AsRef<[u8]> + Sync>(path: &Path, lines: &[(u64, L)], docs: &mut Vec<RawDoc>, rejects: &mut Vec<Reject>) {
    let parsed: Vec<Result<RawDoc, Reject>> = lines.par_iter().map(|(n, line)| jsonl_record(path, *n, line.as_ref())).collect();
    for p in parsed {
        match p {
            Ok(d) => docs.push(d),
            Err(r) => rejects.push(r),
        }
    }
}

/// One JSONL record (line `n`) as a document, or why it cannot be one.
fn jsonl_record(path: &Path, n: u64, line: &[u8]) -> Result<RawDoc, Reject> {
    let line = std::str::from_utf8(line)
        .map_err(|e| reject(path, Some(n), None, &format!("invalid UTF-8 at byte {} of the line", e.valid_up_to())))?;
    let record = parse_record(line).map_err(|reason| reject(path, Some(n), None, &reason))?;
    let mut values: [Option<String>; 6] = Default::default();
    for ((key, value), slot) in FIELD_NAMES.iter().zip(record.0).zip(&mut values) {
        let found = match value {
            JsonField::Absent => continue,
            JsonField::Str(s) => {
                *slot = Some(s);
                continue;
            }
            // Numeric ids are common and unambiguous.
            JsonField::Number(x) if *key == "id" => {
                *slot = Some(x);
                continue;
            }
            JsonField::Number(_) => "a number",
            JsonField::Other(kind) => kind,
        };
        let reason = format!("field `{key}` should be a string, found {found}");
        return Err(Reject { origin: Origin { file: path.to_path_buf(), record: Some(n) }, id: values[0].take(), reason });
    }
    record_doc(path, n, InputFormat::Jsonl, Fields::from(values))
}

/// Parses one JSONL line into the fields storyline reads. Other fields are
/// skipped without being built; a repeated field keeps its last value.
fn parse_record(line: &str) -> Result<JsonRecord, String> {
    match serde_json::from_str::<JsonRecord>(line) {
        Ok(r) => Ok(r),
        // Valid JSON that is not an object, or broken JSON: tell them apart.
        Err(e) if e.is_data() => match serde_json::from_str::<serde::de::IgnoredAny>(line) {
            Ok(_) => Err("JSON record is not an object".to_string()),
            Err(e) => Err(format!("broken JSON: {e}")),
        },
        Err(e) => Err(format!("broken JSON: {e}")),
    }
}

/// The values of one JSONL record's [`FIELD_NAMES`], as found.
struct JsonRecord([JsonField; 6]);

/// One field's value: a string or number is kept; anything else is named.
#[derive(Default)]
enum JsonField {
    #[default]
    Absent,
    Str(String),
    Number(String),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for JsonRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> serde::de::Visitor<'de> for RecordVisitor {
            type Value = JsonRecord;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonRecord, A::Error> {
                let mut values: [JsonField; 6] = Default::default();
                while let Some(FieldName(index)) = map.next_key()? {
                    match index {
                        Some(i) => values[i] = map.next_value()?,
                        None => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(JsonRecord(values))
            }
        }
        d.deserialize_map(RecordVisitor)
    }
}

/// A record's key: its index in [`FIELD_NAMES`], `None` for a field
/// storyline does not read. Matched without allocating.
struct FieldName(Option<usize>);

impl<'de> serde::Deserialize<'de> for FieldName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl serde::de::Visitor<'_> for NameVisitor {
            type Value = FieldName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldName, E> {
                Ok(FieldName(FIELD_NAMES.iter().position(|name| *name == v)))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for JsonField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> serde::de::Visitor<'de> for FieldVisitor {
            type Value = JsonField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<JsonField, E> {
                Ok(JsonField::Absent)
            }
            fn visit_none<E>(self) -> Result<JsonField, E> {
                Ok(JsonField::Absent)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<JsonField, D::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_bool<E>(self, _: bool) -> Result<JsonField, E> {
                Ok(JsonField::Other("a boolean"))
            }
            fn visit_i64<E>(self, v: i64) -> Result<JsonField, E> {
                Ok(JsonField::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<JsonField, E> {
                Ok(JsonField::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<JsonField, E> {
                Ok(JsonField::Number(serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())))
            }
            fn visit_str<E>(self, v: &str) -> Result<JsonField, E> {
                Ok(JsonField::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<JsonField, E> {
                Ok(JsonField::Str(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonField, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(JsonField::Other("an array"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonField, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(JsonField::Other("an object"))
            }
        }
        d.deserialize_any(FieldVisitor)
    }
}

/// The records of a CSV file; `mark` (a stream's [`crate::stream::CsvGuard`])
/// learns where each record starts, and a record over `cap` bytes is a reject.
fn read_csv(path: &Path, input: impl std::io::Read, cap: u64, mark: Option<&std::cell::Cell<u64>>) -> (Vec<RawDoc>, Vec<Reject>) {
    use std::io::BufRead;
    let mut docs = Vec::new();
    let mut rejects = Vec::new();
    let mut input = std::io::BufReader::new(input);
    if input.fill_buf().is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF")) {
        input.consume(3);
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            rejects.push(reject(path, Some(1), None, &format!("cannot read CSV header: {e}")));
            return (docs, rejects);
        }
    };
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name.as_bytes()));
    if col("text").is_none() {
        rejects.push(reject(path, Some(1), None, "CSV header has no `text` column"));
        return (docs, rejects);
    }
    let cols = FIELD_NAMES.map(col);
    let width = headers.len();
    for rec in rdr.byte_records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line());
                if let csv::ErrorKind::Io(io) = e.kind() {
                    // A record over the cap (its end can only be found by
                    // parsing it, so the file ends there), or the stream
                    // itself broke (a truncated archive): what was read
                    // before stays.
                    if io.kind() == std::io::ErrorKind::FileTooLarge {
                        let n = line.unwrap_or(rdr.position().line());
                        rejects.push(reject(path, Some(n), None, &format!("{io}; the records after it are not read (a CSV record ends where its parse does)")));
                        break;
                    }
                    let at = rdr.position().byte();
                    rejects.push(reject(path, line, None, &format!("corrupt or truncated data after {at} bytes: {io}")));
                    break;
                }
                rejects.push(reject(path, line, None, &format!("broken CSV record: {e}")));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        if let (Some(m), Some(p)) = (mark, rec.position()) {
            m.set(p.byte());
        }
        let size = rec.as_slice().len() as u64;
        if size > cap {
            rejects.push(crate::stream::too_long(path, Some(line), &format!("the CSV record at line {line}"), size, cap));
            continue;
        }
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
        match record_doc(path, line, InputFormat::Csv, Fields::from(vals)) {
            Ok(d) => docs.push(d),
            Err(r) => rejects.push(r),
        }
    }
    (docs, rejects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> (Vec<RawDoc>, Vec<String>) {
        let (docs, rejects) = read_jsonl(Path::new("t.jsonl"), lines.join("\n").as_bytes(), 1, u64::MAX);
        (docs, rejects.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn jsonl_fields_as_found() {
        let (docs, rejects) = read(&[
            r#"{"id": 7, "text": "a", "title": null, "extra": {"deep": [1, {"x": "y"}]}}"#,
            r#"{"id": 2.5, "text": "b\u00e9\n", "url": "https://x.example/a"}"#,
            r#"{"id": "d", "text": "first", "text": "second"}"#,
            r#"{"id": "e", "text": "c", "date": true}"#,
            r#"{"id": "f", "text": "c", "source": 3}"#,
            r#""just a string""#,
            r#"{"id": "g", "text": }"#,
        ]);
        let got: Vec<(&str, &str)> = docs.iter().map(|d| (d.id.as_str(), d.text.as_str())).collect();
        assert_eq!(got, vec![("7", "a"), ("2.5", "bé\n"), ("d", "second")]);
        assert_eq!(docs[1].url.as_deref(), Some("https://x.example/a"));
        assert_eq!(docs[0].title, None);
        assert_eq!(rejects.len(), 4, "{rejects:#?}");
        assert!(rejects[0].ends_with("t.jsonl:4: field `date` should be a string, found a boolean"), "{rejects:#?}");
        assert!(rejects[1].ends_with("t.jsonl:5: field `source` should be a string, found a number"), "{rejects:#?}");
        assert!(rejects[2].ends_with("t.jsonl:6: JSON record is not an object"), "{rejects:#?}");
        assert!(rejects[3].contains("t.jsonl:7: broken JSON: expected value at line 1 column"), "{rejects:#?}");
    }
}
