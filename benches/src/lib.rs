//! Shared, deterministic benchmark inputs: the seeds, the GVA dev corpus when
//! ../shared/datasets is present, and generated corpora of any size.

use std::path::PathBuf;

use chrono::NaiveDate;

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The real corpus to ingest: GVA dev when present, else the seeds.
pub fn ingest_corpus() -> PathBuf {
    let gva = workspace().join("../shared/datasets/gva/dev.jsonl");
    if gva.is_file() {
        gva
    } else {
        workspace().join("data/seeds")
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        // Sum of uniforms: close enough to Gaussian for synthetic data.
        (0..6).map(|_| self.unit()).sum::<f32>() - 3.0
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// A generated corpus: `n` articles in about `n / 3` events spread over
/// three years; each event has a random direction, its articles lie near it
/// (cosine about 0.9) and share a few event-specific words.
pub struct Synthetic {
    pub vectors: Vec<Vec<f32>>,
    pub texts: Vec<String>,
    pub dates: Vec<Option<NaiveDate>>,
    pub gold: Vec<u32>,
}

pub fn synthetic(n: usize, dim: usize) -> Synthetic {
    let mut rng = Rng(42);
    let events = (n / 3).max(1);
    let start = NaiveDate::from_ymd_opt(2021, 1, 1).expect("date");
    let centers: Vec<(Vec<f32>, u64)> = (0..events)
        .map(|_| {
            let mut c: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
            normalise(&mut c);
            (c, rng.next() % 1095)
        })
        .collect();
    let common = ["police", "said", "shooting", "city", "man", "officials", "report", "county", "night", "hospital"];
    let mut s = Synthetic { vectors: Vec::with_capacity(n), texts: Vec::with_capacity(n), dates: Vec::with_capacity(n), gold: Vec::with_capacity(n) };
    for _ in 0..n {
        let e = (rng.next() % events as u64) as usize;
        let (c, day) = &centers[e];
        let mut v: Vec<f32> = c.iter().map(|x| x + 0.025 * rng.normal()).collect();
        normalise(&mut v);
        let mut words: Vec<String> = (0..40).map(|_| common[(rng.next() % 10) as usize].to_string()).collect();
        for k in 0..5 {
            words.push(format!("Name{e}x{k}"));
        }
        s.vectors.push(v);
        s.texts.push(words.join(" "));
        s.dates.push(Some(start + chrono::Days::new(day + rng.next() % 3)));
        s.gold.push(e as u32);
    }
    s
}

impl Synthetic {
    pub fn docs(&self) -> Vec<cluster::Doc<'_>> {
        self.vectors
            .iter()
            .zip(&self.texts)
            .zip(&self.dates)
            .map(|((v, t), d)| cluster::Doc { vector: v, text: t, date: *d, ..cluster::Doc::default() })
            .collect()
    }
}
