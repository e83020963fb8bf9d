//! Reading compressed files and standard input as streams, without
//! inflating them whole into memory.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::read::{parse_jsonl_lines, reject, Compression, RawDoc};
use crate::Reject;

/// The decompressed bytes of `file`. Concatenated gzip and bzip2 members
/// (what `cat a.gz b.gz` and parallel compressors write) are read as one
/// stream.
pub(crate) fn decoder(file: std::fs::File, c: Compression) -> std::io::Result<Box<dyn Read + Send>> {
    let file = BufReader::new(file);
    Ok(match c {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(file)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(file)),
    })
}

/// A reader that counts the bytes it has given, to say where a stream broke.
pub(crate) struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R> Counted<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self { inner, n: 0 }
    }

    pub(crate) fn consumed(&self) -> u64 {
        self.n
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// A CSV stream that gives no record more than `cap` bytes: it refuses
/// (an `io::ErrorKind::FileTooLarge` error) to read further than `cap`
/// (plus the CSV reader's buffer) past the start of the last record the
/// reader finished, which the reading loop reports in `mark`.
pub(crate) struct CsvGuard<'a, R> {
    inner: R,
    read: u64,
    cap: u64,
    mark: &'a std::cell::Cell<u64>,
}

/// Bytes a CSV reader may hold beyond a record (its buffer).
const CSV_SLACK: u64 = 1 << 16;

impl<'a, R> CsvGuard<'a, R> {
    pub(crate) fn new(inner: R, cap: u64, mark: &'a std::cell::Cell<u64>) -> Self {
        Self { inner, read: 0, cap, mark }
    }
}

impl<R: Read> Read for CsvGuard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read.saturating_sub(self.mark.get()) > self.cap + CSV_SLACK {
            let msg = format!("a CSV record from byte {} is over ingest.max_record_mb ({:.0} MB)", self.mark.get(), self.cap as f64 / 1e6);
            return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, msg));
        }
        let k = self.inner.read(buf)?;
        self.read += k as u64;
        Ok(k)
    }
}

/// Lines parsed at a time (in parallel, kept in order).
const LINES_PER_ROUND: usize = 4096;

/// What [`read_line_capped`] read.
pub(crate) enum Capped {
    Eof,
    /// A line, in the buffer.
    Whole,
    /// A line longer than the cap, of this many bytes, read past and not kept.
    TooLong(u64),
}

/// Reads the next line (through its `\n`) into `buf`, holding at most `cap`
/// bytes of it: a longer line is read to its end without being kept, so a
/// record of any size costs no more memory than the cap.
pub(crate) fn read_line_capped(r: &mut impl BufRead, buf: &mut Vec<u8>, cap: u64) -> std::io::Result<Capped> {
    buf.clear();
    let (mut total, mut over) = (0u64, false);
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok(match (total, over) {
                (0, _) => Capped::Eof,
                (_, true) => Capped::TooLong(total),
                _ => Capped::Whole,
            });
        }
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        if !over && total + take as u64 > cap {
            over = true;
            *buf = Vec::new();
        }
        if !over {
            buf.extend_from_slice(&avail[..take]);
        }
        total += take as u64;
        r.consume(take);
        if done {
            return Ok(if over { Capped::TooLong(total) } else { Capped::Whole });
        }
    }
}

/// The reject of a record (`what`: "line 7") longer than the cap.
pub(crate) fn too_long(path: &Path, record: Option<u64>, what: &str, bytes: u64, cap: u64) -> Reject {
    let mb = |b: u64| b as f64 / 1e6;
    reject(path, record, None, &format!("{what} is {:.1} MB, over ingest.max_record_mb ({:.0} MB): skipped", mb(bytes), mb(cap)))
}

/// JSON Lines from a stream, `LINES_PER_ROUND` lines at a time, none held
/// past `cap` bytes (longer ones are rejects, read past). A read error (a
/// truncated or corrupt archive) ends the file with one reject naming the
/// line and the byte where it broke; the records before it are kept.
pub(crate) fn read_jsonl<R: Read>(path: &Path, what: &str, input: &mut Counted<R>, cap: u64) -> (Vec<RawDoc>, Vec<Reject>) {
    let mut docs = Vec::new();
    let mut rejects = Vec::new();
    let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut n = 0u64;
    let mut reader = BufReader::new(input);
    loop {
        let mut line = Vec::new();
        match read_line_capped(&mut reader, &mut line, cap) {
            Ok(Capped::Eof) => break,
            Ok(Capped::TooLong(bytes)) => {
                n += 1;
                rejects.push(too_long(path, Some(n), &format!("line {n}"), bytes, cap));
            }
            Ok(Capped::Whole) => {
                n += 1;
                if n == 1 && line.starts_with(b"\xEF\xBB\xBF") {
                    line.drain(..3);
                }
                while line.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                    line.pop();
                }
                if !line.iter().all(u8::is_ascii_whitespace) {
                    lines.push((n, line));
                }
                if lines.len() == LINES_PER_ROUND {
                    parse_jsonl_lines(path, &lines, &mut docs, &mut rejects);
                    lines.clear();
                }
            }
            Err(e) => {
                let at = reader.get_ref().consumed() - reader.buffer().len() as u64;
                let reason = format!("corrupt or truncated {what} data at line {} (byte {at} decompressed): {e}; the lines before it were read", n + 1);
                rejects.push(reject(path, Some(n + 1), None, &reason));
                break;
            }
        }
    }
    parse_jsonl_lines(path, &lines, &mut docs, &mut rejects);
    (docs, rejects)
}
