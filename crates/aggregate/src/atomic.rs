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

    /// Keeps the temporary file on disk (it is no longer removed on drop) and
    /// returns its path and its target's, for a commit that renames it later.
    pub fn keep(self) -> Result<(std::path::PathBuf, std::path::PathBuf), AggregateError> {
        let path = self.path;
        let tmp = self.tmp.into_temp_path().keep().map_err(|e| AggregateError::Io { path: path.clone(), source: e.error })?;
        Ok((tmp, path))
    }

    /// The file the staged one will replace.
    pub fn target(&self) -> &Path {
        &self.path
    }

    /// The temporary file, written and synced.
    pub(crate) fn written(&self) -> &Path {
        self.tmp.path()
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
    let prefix = format!(".{}.", path.file_name().and_then(|n| n.to_str()).unwrap_or("out"));
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // A temporary file is private (0600) and keeps its mode through the
    // rename; an output is a plain file that a notebook server or a
    // colleague may read: 0666 less the umask, as `File::create` makes.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
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
        let error = std::sync::Arc::new(std::sync::Mutex::new(None));
        let w = SharedKeep { file: f.try_clone()?, error: error.clone() };
        let written = ParquetWriter::new(w).with_compression(ParquetCompression::Zstd(None)).finish(df);
        let os = error.lock().ok().and_then(|g| g.as_ref().map(copy_error));
        match (written, os) {
            (Ok(_), _) => Ok(()),
            // The operating system's own error (a full disk stays a full
            // disk), not polars' rewording of it.
            (Err(_), Some(os)) => Err(os),
            (Err(e), None) => Err(std::io::Error::other(e)),
        }
    })
}

/// A parquet file written batch by batch (each batch a row group) into a
/// staged temporary file, so that a large table never has to be whole in
/// memory: the sentence vectors of a batch go to disk as they are embedded.
pub struct StagedParquet {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
    writer: polars::io::parquet::write::BatchedWriter<SharedKeep>,
    error: std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>,
}

/// A parquet file's writer, remembering the first error the operating
/// system returned (polars rewords it; a full disk must stay a full disk).
pub struct SharedKeep {
    file: std::fs::File,
    error: std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>,
}

impl Write for SharedKeep {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.file.write(buf);
        self.remember(r)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.file.flush();
        self.remember(r)
    }
}

impl SharedKeep {
    fn remember<T>(&self, r: std::io::Result<T>) -> std::io::Result<T> {
        r.inspect_err(|e| {
            if let Ok(mut slot) = self.error.lock() {
                slot.get_or_insert_with(|| copy_error(e));
            }
        })
    }
}

fn copy_error(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}

impl StagedParquet {
    /// Starts `path` with the columns of `schema` (an empty frame will do).
    pub fn create(path: &Path, schema: &DataFrame) -> Result<Self, AggregateError> {
        let io = |source| AggregateError::Io { path: path.to_path_buf(), source };
        let staged = stage(path, |_| Ok(()))?;
        let tmp = staged.tmp;
        let error = std::sync::Arc::new(std::sync::Mutex::new(None));
        let file = SharedKeep { file: tmp.reopen().map_err(io)?, error: error.clone() };
        let writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(schema.schema())
            .map_err(|e| io(std::io::Error::other(e)))?;
        Ok(Self { tmp, path: path.to_path_buf(), writer, error })
    }

    /// The operating system's error if there was one, else polars' `e`.
    fn fail(&self, e: PolarsError) -> AggregateError {
        let os = self.error.lock().ok().and_then(|g| g.as_ref().map(copy_error));
        AggregateError::Io { path: self.path.clone(), source: os.unwrap_or_else(|| std::io::Error::other(e)) }
    }

    /// Appends the rows of `df` (same columns as the schema).
    pub fn write(&mut self, df: &mut DataFrame) -> Result<(), AggregateError> {
        df.rechunk_mut();
        self.writer.write_batch(df).map_err(|e| self.fail(e))
    }

    /// Writes the footer and syncs: the file is staged, for a commit.
    pub fn finish(self) -> Result<Staged, AggregateError> {
        self.writer.finish().map_err(|e| self.fail(e))?;
        self.tmp.as_file().sync_all().map_err(|source| AggregateError::Io { path: self.path.clone(), source })?;
        Ok(Staged { tmp: self.tmp, path: self.path })
    }
}

/// Writes a data frame as parquet (zstd), atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<(), AggregateError> {
    stage_parquet(path, df)?.commit()
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

    /// Outputs get the mode a plain file create gives (0666 less the
    /// umask), not the temporary file's private 0600.
    #[cfg(target_os = "linux")]
    #[test]
    fn outputs_have_a_plain_files_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let umask = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Umask:").map(|m| u32::from_str_radix(m.trim(), 8).unwrap()))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        write_atomic(&p, |f| f.write_all(b"table")).unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o666 & !umask);
        assert_eq!(mode(&p), mode(&plain));
    }

    #[test]
    fn unwritable_folder_is_a_clear_error() {
        let err = write_atomic(Path::new("/proc/storyline-cannot-write/x.json"), |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("/proc/storyline-cannot-write/x.json"), "{err}");
    }
}
