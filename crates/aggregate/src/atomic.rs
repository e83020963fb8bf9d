//! Atomic file output.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::AggregateError;

/// Writes `path` by writing a temporary file in the same folder, syncing it
/// and renaming it over `path`. Readers see the old file or the new one,
/// never a partial one. The temporary file is removed on error.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), AggregateError> {
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
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes a data frame as parquet (zstd), atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<(), AggregateError> {
    write_atomic(path, |f| {
        ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(df)
            .map(|_| ())
            .map_err(std::io::Error::other)
    })
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
