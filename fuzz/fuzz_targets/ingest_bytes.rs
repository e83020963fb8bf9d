//! Any bytes, as any input format, through the whole ingest stage: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    for ext in ["txt", "jsonl", "csv", "html"] {
        let p = dir.path().join(format!("input.{ext}"));
        std::fs::write(&p, data).expect("write");
        let _ = ingest::ingest_paths(&[p], &ingest::IngestOptions::default());
    }
});
