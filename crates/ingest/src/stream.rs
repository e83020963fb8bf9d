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

/// Lines parsed at a time (in parallel, kept in order).
const LINES_PER_ROUND: usize = 4096;

/// JSON Lines from a stream, `LINES_PER_ROUND` lines at a time. A read
/// error (a truncated or corrupt archive) ends the file with one reject
/// naming the line and the byte where it broke; the records before it are
/// kept.
pub(crate) fn read_jsonl<R: Read>(path: &Path, what: &str, input: &mut Counted<R>) -> (Vec<RawDoc>, Vec<Reject>) {
    let mut docs = Vec::new();
    let mut rejects = Vec::new();
    let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut n = 0u64;
    let mut reader = BufReader::new(input);
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
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
