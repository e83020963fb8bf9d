//! `storyline-engine`: turns folders of scraped news articles into events and
//! stories. Users run `storyline` (src/launcher.rs), which checks that
//! libtorch loads and then execs this.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod batches;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use pipeline::{Progress, RunOptions, Settings};

#[derive(Parser)]
#[command(name = "storyline", version, about = "Turns piles of scraped news articles into events and stories")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args)]
pub(crate) struct Common {
    /// Output folder for the parquet tables and manifest.json.
    #[arg(long, default_value = "out")]
    pub(crate) out: PathBuf,
    /// Settings file (TOML, see storyline.toml); defaults otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override one setting, `SECTION.KEY=VALUE` (`KEY` alone: a cluster setting), repeatable.
    #[arg(long = "set")]
    set: Vec<String>,
    /// A sentence-transformers model folder. Default: embed.model, else $STORYLINE_MODEL, else the cache's all-MiniLM-L6-v2.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Do not read or write the on-disk embedding cache.
    #[arg(long)]
    no_cache: bool,
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bars and no summary.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// When another command is writing --out, wait for it to finish (else
    /// fail at once, naming it).
    #[arg(long)]
    wait: bool,
}

fn wait(yes: bool) -> pipeline::Wait {
    if yes {
        pipeline::Wait::Yes
    } else {
        pipeline::Wait::No
    }
}

/// What every step of a sharded job takes (the rest is in its plan).
#[derive(Args)]
struct ShardCommon {
    /// The run folder the job makes.
    #[arg(long)]
    out: PathBuf,
    /// A sentence-transformers model folder. Default: embed.model, else $STORYLINE_MODEL, else the cache's all-MiniLM-L6-v2.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Subcommand)]
enum ShardStep {
    /// Cut the inputs into shards for a fresh run in --out (or find the job
    /// an earlier driver left there with the same inputs and settings) and
    /// print, as JSON, which shards each map has still to do.
    Plan {
        /// Input files or folders.
        #[arg(long, required = true)]
        input: Vec<PathBuf>,
        /// Input per shard, in MB (large JSONL files are cut by lines).
        #[arg(long, default_value_t = 16.0)]
        shard_mb: f64,
        /// Add the inputs to the run in --out (as `add` does) instead of a fresh run.
        #[arg(long)]
        add: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Map 1: one shard's votes for site furniture.
    Votes {
        #[arg(long)]
        shard: usize,
        #[command(flatten)]
        common: ShardCommon,
    },
    /// Reduce 1: site furniture over every shard's votes.
    Furniture {
        #[command(flatten)]
        common: ShardCommon,
    },
    /// Map 2: one shard's articles' SimHashes.
    Hashes {
        #[arg(long)]
        shard: usize,
        #[command(flatten)]
        common: ShardCommon,
    },
    /// Reduce 2: duplicate ids and near-duplicates over every shard.
    Duplicates {
        #[command(flatten)]
        common: ShardCommon,
    },
    /// Map 3: one shard's articles, embedded, written as its parts.
    Embed {
        #[arg(long)]
        shard: usize,
        #[command(flatten)]
        common: ShardCommon,
    },
    /// Cluster the whole corpus and commit the run; prints the summary.
    Finish {
        /// No summary.
        #[arg(long)]
        quiet: bool,
        /// When another command is writing --out, wait for it.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        common: ShardCommon,
    },
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the pipeline over files and folders of articles (.txt, .jsonl, .csv, .html, .warc;
    /// each also .gz, .zst or .bz2; `-` is JSON Lines on standard input)
    /// into a fresh run in --out (replacing what it held).
    Run {
        /// Input files or folders (`-`: JSON Lines on standard input).
        #[arg(long, required = true)]
        input: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Add the articles of --input to the run in --out (a run, if there is
    /// none): articles already there are skipped, events and stories keep their ids.
    Add {
        /// Input files or folders (`-`: JSON Lines on standard input).
        #[arg(long, required = true)]
        input: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Fit the learned pair model on gold-labelled corpora; report it on each
    /// corpus, fitted on all and fitted without that corpus.
    Train {
        /// JSONL whose `event` ids label events (repeatable).
        #[arg(long)]
        gold: Vec<PathBuf>,
        /// JSONL whose `event` ids label stories, as UCI's Google News stories (repeatable).
        #[arg(long)]
        story_gold: Vec<PathBuf>,
        /// L2 penalty on the standardised weights.
        #[arg(long, default_value_t = 0.001)]
        l2: f64,
        /// Also write every labelled candidate pair (corpus, articles, features, label) to this CSV.
        #[arg(long)]
        pairs: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Embed the lines of a text file (no cache) and report sentences/s as JSON.
    BenchEmbed {
        /// One sentence per line.
        #[arg(long)]
        sentences: PathBuf,
        /// Rows per model call at most (default: the settings' embed.batch_size).
        #[arg(long)]
        batch: Option<usize>,
        /// Model worker threads (default: one per --threads core).
        #[arg(long)]
        workers: Option<usize>,
        /// libtorch threads per worker (default 1).
        #[arg(long, default_value_t = 1)]
        intra: usize,
        /// Padded tokens per model call (default: the settings'
        /// embed.batch_tokens).
        #[arg(long)]
        batch_tokens: Option<usize>,
        /// Also write the vectors here: raw little-endian f32, one row per
        /// sentence, in input order.
        #[arg(long)]
        vectors: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Print the distinct sentences of the inputs, one a line, as ingestion
    /// splits them (the anchor benchmark's input).
    Sentences {
        /// Input files or folders (`-`: JSON Lines on standard input).
        #[arg(long, required = true)]
        input: Vec<PathBuf>,
        /// At most this many sentences.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        common: Common,
    },
    /// One step of a run made in shards, on many machines (what the Ray
    /// driver of `cargo xtask ray` runs; see pipeline::shards).
    #[command(subcommand)]
    Shard(ShardStep),
    /// Check a run folder against its manifest (parts, checksums, rows, ids,
    /// leftovers of interrupted writers); changes nothing, exits 1 on any
    /// finding.
    Verify {
        /// The run folder.
        run: PathBuf,
        /// When another command is writing it, wait for it to finish.
        #[arg(long)]
        wait: bool,
    },
    /// Run the pipeline on a gold-labelled JSONL file and score its events.
    Eval {
        /// JSONL with `id`, `event`, `title`, `date`, `text`.
        #[arg(long)]
        gold: PathBuf,
        /// Try settings, `KEY=V1,V2,...` (repeatable: the grid of all combinations).
        #[arg(long)]
        sweep: Vec<String>,
        /// Append the evaluation records (JSON lines) to this file.
        #[arg(long)]
        record: Option<PathBuf>,
        /// Also feed the corpus in batches (`week`: by the records' dates;
        /// N: N random batches), one `add` each, and compare the final
        /// events with the one-shot run's.
        #[arg(long)]
        batches: Option<pipeline::BatchPlan>,
        /// What the gold ids label: `event` (default) or `story`.
        #[arg(long, default_value = "event")]
        level: pipeline::Level,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) struct Bar {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    quiet: bool,
}

impl Progress for Bar {
    fn start(&self, stage: &str, total: u64, unit: &str) {
        if self.quiet {
            return;
        }
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(&format!("{{prefix:>8}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}})"))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_prefix(stage.to_string());
        if let Ok(mut g) = self.bar.lock() {
            *g = Some(b);
        }
    }
    fn inc(&self, n: u64) {
        if let Some(b) = self.bar.lock().ok().and_then(|g| g.clone()) {
            b.inc(n);
        }
    }
    fn finish(&self) {
        if let Some(b) = self.bar.lock().ok().and_then(|mut g| g.take()) {
            b.finish_and_clear();
        }
    }
}

pub(crate) fn settings(common: &Common) -> Result<Settings> {
    let mut s = match &common.config {
        Some(p) => Settings::load(p)?,
        None => Settings::default(),
    };
    for kv in &common.set {
        let (k, v) = kv.split_once('=').with_context(|| format!("--set {kv}: expected KEY=VALUE"))?;
        s.set(k, v)?;
    }
    Ok(s)
}

/// Where a command reads and writes. The model: `--model`, else the
/// settings' `embed.model`, else $STORYLINE_MODEL, else the cache's.
pub(crate) fn options(common: &Common, inputs: Vec<PathBuf>, settings: &Settings) -> RunOptions {
    let from_settings = (!settings.embed.model.is_empty()).then(|| PathBuf::from(&settings.embed.model));
    RunOptions {
        inputs,
        out: common.out.clone(),
        model_dir: common.model.clone().or(from_settings).unwrap_or_else(pipeline::default_model_dir),
        cache_dir: (!common.no_cache).then(pipeline::default_cache_dir),
        model_threads: common.threads.unwrap_or(0),
        wait: wait(common.wait),
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let (threads, quiet) = match &cli.cmd {
        Cmd::Run { common, .. }
        | Cmd::Add { common, .. }
        | Cmd::Eval { common, .. }
        | Cmd::Train { common, .. }
        | Cmd::BenchEmbed { common, .. }
        | Cmd::Sentences { common, .. }
        | Cmd::Shard(ShardStep::Plan { common, .. }) => (common.threads, common.quiet),
        Cmd::Shard(
            ShardStep::Votes { common, .. }
            | ShardStep::Furniture { common }
            | ShardStep::Hashes { common, .. }
            | ShardStep::Duplicates { common }
            | ShardStep::Embed { common, .. }
            | ShardStep::Finish { common, .. },
        ) => (common.threads, true),
        Cmd::Verify { .. } => (None, true),
    };
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().context("cannot set up threads")?;
    }
    let bar = Bar { bar: std::sync::Mutex::new(None), quiet };
    match cli.cmd {
        Cmd::Shard(step) => shard(step),
        Cmd::Verify { run, wait: w } => verify(&run, wait(w)),
        Cmd::Run { input, common } => grow(pipeline::run, input, &common, &bar),
        Cmd::Add { input, common } => grow(pipeline::add, input, &common, &bar),
        Cmd::Eval { gold, sweep, record, batches, level, common } => {
            eval(&gold, &sweep, record.as_deref(), level, &common, &bar)?;
            match batches {
                Some(plan) => batches::eval_in_batches(&gold, plan, record.as_deref(), level, &common, &bar),
                None => Ok(()),
            }
        }
        Cmd::Train { gold, story_gold, l2, pairs, common } => train(&gold, &story_gold, l2, pairs.as_deref(), &common, &bar),
        Cmd::Sentences { input, limit, common } => {
            let out = ingest::ingest_paths(&input, &settings(&common)?.ingest_options());
            let mut seen = std::collections::HashSet::new();
            let distinct = out.articles.iter().flat_map(|a| a.sentences()).filter(|s| seen.insert(*s));
            let mut text = String::new();
            for s in distinct.take(limit.unwrap_or(usize::MAX)) {
                text.push_str(s);
                text.push('\n');
            }
            std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()).context("cannot write to standard output")
        }
        Cmd::BenchEmbed { sentences, batch, workers, intra, batch_tokens, vectors, common } => {
            let mut threads = embed::Threads::for_cores(common.threads.unwrap_or(0));
            if let Some(w) = workers {
                threads = embed::Threads { workers: w, intra };
            }
            let mut embed = settings(&common)?.embed;
            embed.batch_size = batch.unwrap_or(embed.batch_size);
            embed.batch_tokens = batch_tokens.unwrap_or(embed.batch_tokens);
            bench_embed(&sentences, &embed, threads, vectors.as_deref(), &common)
        }
    }
}

fn shard(step: ShardStep) -> Result<()> {
    use pipeline::shards;
    match step {
        ShardStep::Plan { input, shard_mb, add, common } => {
            let bytes = (shard_mb * 1e6).max(1.0) as u64;
            let status = shards::plan(&input, &common.out, &settings(&common)?, bytes, add, wait(common.wait))?;
            println!("{}", serde_json::to_string(&status)?);
        }
        ShardStep::Votes { shard, common } => shards::votes(&common.out, shard)?,
        ShardStep::Furniture { common } => {
            let outlets = shards::furniture(&common.out)?;
            tracing::info!(outlets, "site furniture decided");
        }
        ShardStep::Hashes { shard, common } => shards::hashes(&common.out, shard)?,
        ShardStep::Duplicates { common } => {
            let near = shards::duplicates(&common.out)?;
            tracing::info!(near_duplicates = near, "duplicates decided");
        }
        ShardStep::Embed { shard, common } => {
            let model = common.model.clone().unwrap_or_else(pipeline::default_model_dir);
            shards::embed(&common.out, shard, &model, common.threads.unwrap_or(0))?;
        }
        ShardStep::Finish { quiet, wait: w, common } => {
            let t = Instant::now();
            let report = shards::finish(&common.out, wait(w))?;
            if !quiet {
                summary(&report, &common.out, t.elapsed().as_secs_f64());
            }
        }
    }
    Ok(())
}

type Grow = fn(&RunOptions, &Settings, &dyn Progress) -> Result<pipeline::RunReport, pipeline::PipelineError>;

/// `run` or `add`, then the summary.
fn grow(how: Grow, input: Vec<PathBuf>, common: &Common, bar: &Bar) -> Result<()> {
    let s = settings(common)?;
    let t = Instant::now();
    let report = how(&options(common, input, &s), &s, bar)?;
    if !common.quiet {
        summary(&report, &common.out, t.elapsed().as_secs_f64());
    }
    Ok(())
}

fn summary(r: &pipeline::RunReport, out: &std::path::Path, secs: f64) {
    let batch = r.manifest.batches.last().map_or(0, |b| b.batch);
    if !r.committed {
        println!("nothing new: {} record(s) already in the run, {} skipped; {} is as it was (batch {batch})", r.known, r.rejects.len(), out.display());
        inputs_line(&r.inputs);
        for reject in r.rejects.iter().take(10) {
            println!("  skipped {reject}");
        }
        return;
    }
    let new = &r.articles[r.articles.len() - r.added..];
    let dups = new.iter().filter(|a| a.duplicate_of.is_some()).count();
    let sentences: usize = new.iter().map(|a| a.sentence_spans.len()).sum();
    let empty = new.iter().filter(|a| a.content == ingest::Content::None).count();
    let known = if r.known > 0 { format!(", {} already in the run", r.known) } else { String::new() };
    println!(
        "batch {batch}: {} articles ({} near-duplicates, {} with no content, {} sentences){known}, {} skipped, {} warnings",
        r.added,
        dups,
        empty,
        sentences,
        r.rejects.len(),
        r.warnings
    );
    let outside = pipeline::outside_languages(new, &r.embedded.languages);
    if !outside.is_empty() {
        let n: usize = outside.iter().map(|(_, n)| n).sum();
        let by: Vec<String> = outside.iter().map(|(l, n)| format!("{l} {n}")).collect();
        println!("{n} articles in languages the model does not cover ({}): clustered on their words only", by.join(", "));
    }
    let chrome: u32 = new.iter().map(|a| a.removed.chrome).sum();
    if chrome > 0 {
        let pages = new.iter().filter(|a| a.removed.chrome > 0).count();
        let emptied = new.iter().filter(|a| a.removed.chrome > 0 && a.content != ingest::Content::Article).count();
        println!("site chrome: {chrome} lines removed from {pages} pages ({emptied} left with their headline only or no content)");
    }
    let c = &r.clustering;
    let mut sizes = vec![0usize; c.n_events];
    for &e in &c.event {
        sizes[e as usize] += 1;
    }
    let singletons = sizes.iter().filter(|&&n| n == 1).count();
    println!("corpus: {} articles, {} events ({} single-article), {} stories", r.articles.len(), c.n_events, singletons, c.n_stories);
    let mut order: Vec<usize> = (0..c.n_events).collect();
    order.sort_by_key(|&e| (std::cmp::Reverse(sizes[e]), e));
    for &e in order.iter().take(5).filter(|&&e| sizes[e] > 1) {
        let first = c.event.iter().position(|&x| x as usize == e).unwrap_or(0);
        let a = &r.articles[first];
        let label: String = a.headline().chars().take(90).collect();
        println!("  event {:>5}: {:>3} articles  {label}", r.event_ids[first], sizes[e]);
    }
    inputs_line(&r.inputs);
    for reject in r.rejects.iter().take(10) {
        println!("  skipped {reject}");
    }
    if r.rejects.len() > 10 {
        println!("  ... and {} more skipped (see rejects/)", r.rejects.len() - 10);
    }
    println!("outputs in {} ({secs:.1} s)", out.display());
}

/// `storyline verify`: every finding a line, exit status 1 on any.
fn verify(run: &std::path::Path, w: pipeline::Wait) -> Result<()> {
    let v = pipeline::verify::verify(run, w)?;
    for f in &v.findings {
        println!("{}: {f}", run.display());
    }
    if v.findings.is_empty() {
        println!("{}: verified: {} batches, {} recorded parts, {} articles; every check passed", run.display(), v.batches, v.parts, v.articles);
        return Ok(());
    }
    anyhow::bail!("{}: {} finding(s); nothing was changed", run.display(), v.findings.len())
}

/// What the inputs held besides articles, when anything.
fn inputs_line(seen: &ingest::InputsSeen) {
    if let Some(line) = seen.summary() {
        println!("inputs: {line}");
    }
}

/// Expands `KEY=V1,V2` sweeps into the grid of override lists.
fn grid(sweeps: &[String]) -> Result<Vec<Vec<(String, String)>>> {
    let mut grid: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for s in sweeps {
        let (k, vs) = s.split_once('=').with_context(|| format!("--sweep {s}: expected KEY=V1,V2,..."))?;
        let mut next = Vec::new();
        for g in &grid {
            for v in vs.split(',').filter(|v| !v.is_empty()) {
                let mut g = g.clone();
                g.push((k.to_string(), v.to_string()));
                next.push(g);
            }
        }
        grid = next;
    }
    Ok(grid)
}

fn eval(gold_path: &std::path::Path, sweeps: &[String], record: Option<&std::path::Path>, level: pipeline::Level, common: &Common, bar: &Bar) -> Result<()> {
    let gold = pipeline::read_gold(gold_path)?;
    let base = settings(common)?;
    let t = Instant::now();
    let report = pipeline::run(&options(common, vec![gold_path.to_path_buf()], &base), &base, bar)?;
    let run_secs = t.elapsed().as_secs_f64();
    let corpus = corpus_name(gold_path);
    let combos = grid(sweeps)?;
    if !common.quiet && combos.len() > 1 {
        bar.start("sweep", combos.len() as u64, "settings");
    }
    let records: Vec<Result<pipeline::EvalRecord>> = combos
        .par_iter()
        .map(|overrides| {
            let t = Instant::now();
            let mut s = base.clone();
            for (k, v) in overrides {
                s.set(k, v)?;
            }
            let clustering = if overrides.is_empty() {
                report.clustering.clone()
            } else {
                pipeline::cluster_articles(&report.articles, &report.embedded, &s)
            };
            let (scores, missing) = pipeline::score_run(&report.articles, level.ids(&clustering), &gold);
            bar.inc(1);
            Ok(pipeline::EvalRecord {
                corpus: corpus.clone(),
                level,
                settings_hash: s.hash(),
                git_revision: report.manifest.git_revision.clone(),
                overrides: overrides.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                scores,
                missing,
                seconds: if overrides.is_empty() { run_secs } else { t.elapsed().as_secs_f64() },
            })
        })
        .collect();
    bar.finish();
    let records: Vec<pipeline::EvalRecord> = records.into_iter().collect::<Result<_>>()?;
    let groups = match level {
        pipeline::Level::Event => "events",
        pipeline::Level::Story => "stories",
    };
    println!("{:<10} {:<6} {:<40} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7}", "corpus", "level", "settings", "B3-P", "B3-R", "B3-F1", "pw-P", "pw-R", "pw-F1", "ARI", groups);
    for r in &records {
        let s = &r.scores;
        let name = if r.overrides.is_empty() { format!("default ({})", r.settings_hash) } else { r.overrides.join(" ") };
        println!(
            "{:<10} {:<6} {:<40} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>7}",
            r.corpus, r.level.as_str(), name, s.bcubed.precision, s.bcubed.recall, s.bcubed.f1, s.pairwise.precision, s.pairwise.recall, s.pairwise.f1, s.ari, s.predicted_clusters
        );
    }
    if records.len() > 1 {
        if let Some(best) = records.iter().max_by(|a, b| a.scores.bcubed.f1.total_cmp(&b.scores.bcubed.f1)) {
            println!("best B3-F1 on {}: {:.3} with {}", best.corpus, best.scores.bcubed.f1, best.overrides.join(" "));
        }
    }
    let json: String = records.iter().map(|r| serde_json::to_string(r).unwrap_or_default() + "\n").collect();
    let eval_path = common.out.join("eval.json");
    write_records(&eval_path, record, &json)
}

/// Runs each gold corpus (into `--out`/<corpus>), fits the pair model and
/// reports it; writes the model as `pair_model.toml` and the report as
/// `train.json` in `--out`.
fn train(gold: &[PathBuf], story_gold: &[PathBuf], l2: f64, pairs: Option<&std::path::Path>, common: &Common, bar: &Bar) -> Result<()> {
    let base = settings(common)?;
    let labelled = gold.iter().map(|p| (p, pipeline::Level::Event)).chain(story_gold.iter().map(|p| (p, pipeline::Level::Story)));
    let mut corpora = Vec::new();
    for (path, level) in labelled {
        let name = corpus_name(path);
        let g = pipeline::read_gold(path)?;
        let opts = RunOptions { out: common.out.join(&name), ..options(common, vec![path.clone()], &base) };
        let r = pipeline::run(&opts, &base, bar)?;
        corpora.push(pipeline::train::Corpus { name, level, articles: r.articles, embedded: r.embedded, gold: g });
    }
    anyhow::ensure!(!corpora.is_empty(), "train needs at least one --gold or --story-gold file");
    if let Some(path) = pairs {
        let csv = pipeline::train::pairs_csv(&corpora, &base);
        aggregate::write_atomic(path, |f| std::io::Write::write_all(f, csv.as_bytes()))?;
    }
    let t = Instant::now();
    let report = pipeline::train::train(&corpora, &base, l2);
    let names: Vec<String> = corpora.iter().map(|c| c.name.clone()).collect();
    println!("{:<10} {:<6} {:>8} {:>9} {:>9} {:>9} {:>9} {:>11}", "corpus", "level", "pairs", "positive", "hand-set", "learned", "held-out", "words-only");
    for r in &report.rows {
        let held = r.held_out.map_or("-".into(), |h| format!("{h:.3} ({})", r.held_out_threshold.unwrap_or_default()));
        println!("{:<10} {:<6} {:>8} {:>9} {:>9.3} {:>9.3} {held:>9} {:>11.3}", r.corpus, r.level.as_str(), r.pairs, r.positives, r.weighted, r.learned, r.words_only);
    }
    let mean = |f: &dyn Fn(&pipeline::train::TrainRow) -> Option<f64>| {
        let v: Vec<f64> = report.rows.iter().filter_map(f).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    println!(
        "{:<10} {:<6} {:>8} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>11.3}",
        "mean",
        "",
        "",
        "",
        mean(&|r| Some(r.weighted)),
        mean(&|r| Some(r.learned)),
        mean(&|r| r.held_out),
        mean(&|r| Some(r.words_only))
    );
    let toml = pipeline::train::model_toml(&report.model, &report.words_model, &names);
    println!("B3 F1 per corpus (held-out: fitted without that corpus, its threshold in brackets); {:.1} s\n\n{toml}", t.elapsed().as_secs_f64());
    aggregate::write_atomic(&common.out.join("pair_model.toml"), |f| std::io::Write::write_all(f, toml.as_bytes()))?;
    let json = serde_json::to_string_pretty(&report)?;
    aggregate::write_atomic(&common.out.join("train.json"), |f| std::io::Write::write_all(f, json.as_bytes()))?;
    println!("model in {}, report in {}", common.out.join("pair_model.toml").display(), common.out.join("train.json").display());
    Ok(())
}

/// A gold file's corpus name: its folder's (../shared/datasets/gva/dev.jsonl: gva).
fn corpus_name(path: &std::path::Path) -> String {
    path.parent().and_then(|p| p.file_name()).map_or("corpus".into(), |n| n.to_string_lossy().into_owned())
}

/// Writes evaluation records (JSON lines) to `path`, atomically, and
/// appends them to the `--record` history when one is given.
pub(crate) fn write_records(path: &std::path::Path, record: Option<&std::path::Path>, json: &str) -> Result<()> {
    aggregate::write_atomic(path, |f| std::io::Write::write_all(f, json.as_bytes()))?;
    if let Some(p) = record {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).with_context(|| format!("cannot open {}", p.display()))?;
        f.write_all(json.as_bytes())?;
    }
    Ok(())
}

fn bench_embed(
    path: &std::path::Path,
    settings: &pipeline::EmbedSettings,
    threads: embed::Threads,
    vectors_out: Option<&std::path::Path>,
    common: &Common,
) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let sentences: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let files = embed::ModelFiles::open(&common.model.clone().unwrap_or_else(pipeline::default_model_dir))?;
    let precision = settings.precision.resolve();
    let shapes = settings.shapes(precision, files.max_len);
    let e = embed::RustBertEmbedder::load_with(&files, shapes, threads, precision, settings.engine)?;
    let warm: Vec<&str> = sentences.iter().take(64).copied().collect();
    embed::Embedder::embed(&e, &warm, &|_| {})?;
    let t = Instant::now();
    let vectors = embed::Embedder::embed(&e, &sentences, &|_| {})?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(p) = vectors_out {
        let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        aggregate::write_atomic(p, |f| std::io::Write::write_all(f, &bytes))?;
    }
    println!(
        "{}",
        serde_json::json!({"sentences": sentences.len(), "seconds": secs, "sentences_per_second": sentences.len() as f64 / secs,
            "workers": threads.workers, "intra": threads.intra, "batch": shapes.max_rows, "batch_tokens": shapes.tokens, "shapes": e.shapes().id(),
            "precision": embed::Embedder::precision(&e).as_str(), "engine": e.engine().as_str()})
    );
    Ok(())
}
