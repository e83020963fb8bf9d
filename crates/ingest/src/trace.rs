//! What the later batches of a growing corpus need to know of an article:
//! the evidence behind the steps that look across articles (site furniture
//! per outlet, near-duplicates, known ids), so that adding a batch does not
//! read the earlier articles again.

/// One article's trace. Ingestion returns one per article; an add passes the
/// earlier batches' traces back in as [`Prior`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    pub id: String,
    pub outlet: Option<String>,
    /// Its votes for site furniture: the distinct paragraph-key hashes of
    /// its lines before furniture was removed.
    pub lines: Vec<u64>,
    /// One hash of all its paragraph keys in order: copies of one page vote once.
    pub page: u64,
    /// The site name its title ended with (after " - " or " | "), before any was cut.
    pub title_suffix: Option<String>,
    /// SimHash of its text, when it is long enough to be a near-duplicate.
    pub simhash: Option<u64>,
    /// Its title's content words (hashes of their first five letters,
    /// sorted); empty when it has no title.
    pub title_words: Vec<u64>,
    /// Its votes for site chrome: the paragraph hashes of its lines that
    /// share no content word with its title (sorted).
    pub chrome: Vec<u64>,
}

/// The earlier batches of a corpus, in corpus order. Their ids are known:
/// records with those ids are skipped, not ingested again.
#[derive(Debug, Default, Clone)]
pub struct Prior {
    pub traces: Vec<Trace>,
}

impl Prior {
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }
}
