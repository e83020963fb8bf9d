//! Atomic file output.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::AggregateError;

/// A finished, synced temporary file waiting to replace its target
/// (see [`stage`]). Dropping it without [`Staged::commit`] removes it.
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Staged {
    /// Renames the temporary file over its target: readers see the old file
    /// or the new one, never a partial one.
    pub fn commit(self) -> Result<(), AggregateError> {
        let path = self.path;
        self.tmp.persist(&path).map_err(|e| AggregateError::Io { path: path.clone(), source: e.error })?;
        Ok(())
    }
}

/// Writes what `path` is to hold into a temporary file in the same folder
/// and syncs it, without touching `path` yet. Staging every output of a run
/// before committing any keeps a failed run (disk full, say) from mixing
/// new tables with old ones. The temporary file is removed on error.
pub fn stage(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<Staged, AggregateError> {
    let io = |source| AggregateError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", path.file_name().and_then(|n| n.to_str()).unwrap_or("out")))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    write(tmp.as_file_mut()).map_err(io)?;
    tmp.as_file_mut().flush().map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    Ok(Staged { tmp, path: path.to_path_buf() })
}

/// Writes `path` by writing a temporary file in the same folder, syncing it
/// and renaming it over `path` ([`stage`] then [`Staged::commit`]).
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), AggregateError> {
    stage(path, write)?.commit()
}

/// Stages a data frame as parquet (zstd); see [`stage`].
pub fn stage_parquet(path: &Path, df: &mut DataFrame) -> Result<Staged, AggregateError> {
    stage(path, |f| {
        let mut w = KeepError { file: f, error: None };
        let written = ParquetWriter::new(&mut w).with_compression(ParquetCompression::Zstd(None)).finish(df);
        match (written, w.error) {
            (Ok(_), _) => Ok(()),
            // The operating system's own error (a full disk stays a full
            // disk), not polars' rewording of it.
            (Err(_), Some(os)) => Err(os),
            (Err(e), None) => Err(std::io::Error::other(e)),
        }
    })
}

/// Writes a data frame as parquet (zstd), atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<(), AggregateError> {
    stage_parquet(path, df)?.commit()
}

/// A writer that remembers the first error the file returned.
struct KeepError<'a> {
    file: &'a mut std::fs::File,
    error: Option<std::io::Error>,
}

impl KeepError<'_> {
    fn keep<T>(&mut self, r: std::io::Result<T>) -> std::io::Result<T> {
        r.inspect_err(|e| {
            let copy = match e.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(e.kind(), e.to_string()),
            };
            self.error.get_or_insert(copy);
        })
    }
}

impl Write for KeepError<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.file.write(buf);
        self.keep(r)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.file.flush();
        self.keep(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        write_atomic(&p, |f| f.write_all(b"old")).unwrap();
        let err = write_atomic(&p, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    }

    #[test]
    fn unwritable_folder_is_a_clear_error() {
        let err = write_atomic(Path::new("/proc/storyline-cannot-write/x.json"), |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("/proc/storyline-cannot-write/x.json"), "{err}");
    }
}
