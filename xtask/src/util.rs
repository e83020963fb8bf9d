//! Running cargo and the storyline binary with the environment they need.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::setup;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// `cargo` with libtorch's variables set (they also come from
/// .cargo/config.toml through the `.storyline` link; explicit is safer).
pub fn cargo(paths: &setup::Paths) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    // `cargo run` gave xtask its own CARGO_PKG_*, CARGO_MANIFEST_* and
    // CARGO_CRATE_NAME. Some build scripts (ring's) rerun when these
    // change, and everything above them rebuilds: without this, switching
    // between `cargo xtask ...` and plain `cargo ...` rebuilt polars and
    // torch-sys every time.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(key.as_ref(), "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE")
        {
            c.env_remove(key.as_ref());
        }
    }
    // LIBTORCH comes from .cargo/config.toml (the `.storyline` link setup
    // made): the same value as a plain `cargo build`, so both share builds.
    c.env("LD_LIBRARY_PATH", &paths.torch_lib);
    c.env("STORYLINE_MODEL", &paths.model);
    c
}

pub fn run(mut c: Command) -> Result<()> {
    let status = c.status().with_context(|| format!("cannot run {c:?}"))?;
    if !status.success() {
        bail!("{:?} failed with {status}", c.get_program());
    }
    Ok(())
}

/// How long a first build of the engine takes on this project's 2-core
/// machine (measured; the README says the same).
const FIRST_BUILD: &str = "about 20 minutes";

/// Builds the storyline binary (release) and returns its path.
pub fn build_storyline(paths: &setup::Paths) -> Result<PathBuf> {
    build_storyline_profile(paths, true)
}

/// Builds the storyline binary, release or dev (the dev build shares the
/// test suite's artifacts: cheap in CI). Cargo shows its own progress: a
/// first build is long, and a silent one looks like a hang.
pub fn build_storyline_profile(paths: &setup::Paths, release: bool) -> Result<PathBuf> {
    let profile = if release { "release" } else { "debug" };
    let bin = workspace_root().join("target").join(profile).join("storyline-engine");
    if !bin.exists() {
        eprintln!(
            "building storyline ({profile}): a first build compiles about 320 crates (polars, rust-bert, tch...), \
             {FIRST_BUILD} on 2 cores; later builds take seconds"
        );
    }
    let mut c = cargo(paths);
    c.args(["build", "-p", "pipeline", "--bin", "storyline", "--bin", "storyline-engine"]);
    if release {
        c.arg("--release");
    }
    run(c)?;
    Ok(workspace_root().join("target").join(profile).join("storyline"))
}

pub fn pipeline(inputs: &[PathBuf], out: &Path, config: Option<&Path>, add: bool) -> Result<()> {
    let paths = setup::ensure()?;
    let bin = build_storyline(&paths)?;
    let inputs: Vec<PathBuf> = if inputs.is_empty() { vec![workspace_root().join("data/seeds")] } else { inputs.to_vec() };
    let runs: Vec<(PathBuf, PathBuf)> = if inputs.len() == 1 {
        vec![(inputs[0].clone(), out.to_path_buf())]
    } else {
        inputs
            .iter()
            .map(|i| {
                let name = i.file_stem().map_or("input".into(), |s| s.to_string_lossy().into_owned());
                (i.clone(), out.join(name))
            })
            .collect()
    };
    let single = runs.len() == 1;
    let failures: Vec<String> = {
        use rayon::prelude::*;
        runs.par_iter()
            .filter_map(|(input, out)| {
                let mut c = Command::new(&bin);
                c.env("STORYLINE_MODEL", &paths.model).env("LD_LIBRARY_PATH", &paths.torch_lib);
                c.arg(if add { "add" } else { "run" }).arg("--input").arg(input).arg("--out").arg(out);
                if let Some(cfg) = config {
                    c.arg("--config").arg(cfg);
                }
                if !single {
                    c.arg("--quiet");
                }
                match c.status() {
                    Ok(s) if s.success() => None,
                    Ok(s) => Some(format!("{}: storyline exited with {s}", input.display())),
                    Err(e) => Some(format!("{}: cannot run storyline: {e}", input.display())),
                }
            })
            .collect()
    };
    if !single {
        for (input, out) in &runs {
            println!("{} -> {}", input.display(), out.display());
        }
    }
    if !failures.is_empty() {
        bail!("{} run(s) failed:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

/// A run on Ray (`cargo xtask ray`).
pub struct RayJob {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub add: bool,
    pub address: Option<String>,
    pub cpus: Option<usize>,
    pub cpus_per_task: usize,
    pub shard_mb: f64,
    pub config: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub wait: bool,
}

/// Installs Ray into the cache's venv, builds the engine and runs the
/// driver (xtask/ray/driver.py).
pub fn ray(job: &RayJob) -> Result<()> {
    let paths = setup::ensure()?;
    let python = setup::ensure_venv(&paths, "ray")?;
    let bin = build_storyline(&paths)?;
    let engine = bin.with_file_name("storyline-engine");
    let inputs: Vec<PathBuf> = if job.inputs.is_empty() { vec![workspace_root().join("data/seeds")] } else { job.inputs.clone() };
    let mut c = Command::new(python);
    c.arg(workspace_root().join("xtask/ray/driver.py")).arg("--engine").arg(engine).arg("--out").arg(&job.out);
    c.env("STORYLINE_MODEL", &paths.model).env("LD_LIBRARY_PATH", &paths.torch_lib);
    for i in &inputs {
        c.arg("--input").arg(i);
    }
    c.args(["--cpus-per-task", &job.cpus_per_task.to_string(), "--shard-mb", &job.shard_mb.to_string()]);
    if job.add {
        c.arg("--add");
    }
    if let Some(a) = &job.address {
        c.args(["--address", a]);
    }
    if let Some(n) = job.cpus {
        c.args(["--cpus", &n.to_string()]);
    }
    if let Some(cfg) = &job.config {
        c.arg("--config").arg(cfg);
    }
    if let Some(r) = &job.report {
        c.arg("--report").arg(r);
    }
    if job.wait {
        c.arg("--wait");
    }
    run(c)
}

/// The tests that read ../shared/datasets (xtask/shared-tests.txt), as
/// (binary id, test name).
fn tests_needing_shared() -> Result<Vec<(String, String)>> {
    let p = workspace_root().join("xtask/shared-tests.txt");
    let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_once(' ')
                .map(|(b, t)| (b.to_string(), t.trim().to_string()))
                .with_context(|| format!("{}: {l:?} is not `BINARY TEST`", p.display()))
        })
        .collect()
}

pub fn test(args: &[String]) -> Result<()> {
    let paths = setup::ensure()?;
    // A plain clone has no ../shared: leave out the tests that read it, and
    // say so before and after the run (never a silent pass).
    let left_out = if shared_datasets().is_dir() { Vec::new() } else { tests_needing_shared()? };
    let say_left_out = || {
        if !left_out.is_empty() {
            let names: Vec<String> = left_out.iter().map(|(b, t)| format!("{b} {t}")).collect();
            eprintln!(
                "test: left out {} test(s) that read {}, which is missing (the labelled corpora live beside the repository; CI has them): {}",
                left_out.len(),
                shared_datasets().display(),
                names.join(", ")
            );
        }
    };
    say_left_out();
    // The Ray test (crates/pipeline/tests/ray.rs) runs the driver with it.
    let ray_python = setup::ensure_venv(&paths, "ray")?;
    let mut clippy = cargo(&paths);
    clippy.args(["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"]);
    run(clippy)?;
    let nextest = Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success());
    if args.is_empty() {
        // Every benchmark once, so the benches never rot.
        let mut benches = cargo(&paths);
        // --workspace: the same feature set as the test build, so nothing is built twice.
        benches.args(["test", "--workspace", "--benches", "--quiet"]);
        run(benches)?;
    }
    if nextest {
        // nextest does not run doc tests: run them first, so the suite's
        // summary is the last thing printed.
        if args.is_empty() {
            let mut doc = cargo(&paths);
            doc.args(["test", "--workspace", "--doc", "--quiet"]);
            run(doc)?;
        }
        let mut t = cargo(&paths);
        t.env("STORYLINE_RAY_PYTHON", &ray_python);
        t.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        if !left_out.is_empty() {
            let each: Vec<String> = left_out.iter().map(|(b, name)| format!("(binary_id({b}) & test(={name}))")).collect();
            t.arg("-E").arg(format!("not ({})", each.join(" | ")));
        }
        t.args(args);
        run(t)?;
    } else {
        let mut t = cargo(&paths);
        t.env("STORYLINE_RAY_PYTHON", &ray_python);
        t.args(["test", "--workspace", "--no-fail-fast"]).args(args).arg("--");
        for (_, name) in &left_out {
            t.args(["--skip", name]);
        }
        run(t)?;
    }
    say_left_out();
    Ok(())
}

/// The labelled development corpora beside the repository.
fn shared_datasets() -> PathBuf {
    workspace_root().join("../shared/datasets")
}

/// The level a corpus of ../shared/datasets labels: UCI's gold ids are
/// Google News stories, the others' are events (see its README).
fn gold_level(corpus: &str) -> &'static str {
    if corpus == "uci" {
        "story"
    } else {
        "event"
    }
}

/// The gold files given, or every ../shared/datasets/*/dev.jsonl; each must exist.
fn gold_files(gold: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let gold: Vec<PathBuf> = if gold.is_empty() {
        let dir = shared_datasets();
        if !dir.is_dir() {
            bail!(
                "no --gold file given and {} does not exist: the labelled corpora (ECB+, GVC, GVA, UCI) live in ../shared/datasets beside the repository; pass --gold FILE.jsonl",
                dir.display()
            );
        }
        ["ecbplus", "gvc", "gva", "uci"].iter().map(|c| dir.join(c).join("dev.jsonl")).filter(|p| p.is_file()).collect()
    } else {
        gold.to_vec()
    };
    for g in &gold {
        if !g.is_file() {
            bail!("gold file {} does not exist", g.display());
        }
    }
    Ok(gold)
}

/// A gold file's corpus: its folder's name (../shared/datasets/gva/dev.jsonl: gva).
fn corpus_of(gold: &Path) -> String {
    gold.parent().and_then(|p| p.file_name()).map_or("corpus".into(), |n| n.to_string_lossy().into_owned())
}

pub fn eval(gold: &[PathBuf], sweep: &[String], set: &[String], out: &Path, batches: Option<&str>, level: Option<&str>) -> Result<()> {
    let gold = gold_files(gold)?;
    let paths = setup::ensure()?;
    let bin = build_storyline(&paths)?;
    let record = out.join("history.jsonl");
    std::fs::create_dir_all(out)?;
    for g in &gold {
        let corpus = corpus_of(g);
        let mut c = Command::new(&bin);
        c.env("STORYLINE_MODEL", &paths.model).env("LD_LIBRARY_PATH", &paths.torch_lib);
        c.arg("eval").arg("--gold").arg(g).arg("--out").arg(out.join(&corpus)).arg("--record").arg(&record);
        c.arg("--level").arg(level.unwrap_or(gold_level(&corpus)));
        for s in sweep {
            c.arg("--sweep").arg(s);
        }
        for s in set {
            c.arg("--set").arg(s);
        }
        match batches {
            // ECB+ has no dates: random batches; the others come by week.
            Some("auto") => {
                c.arg("--batches").arg(if corpus == "ecbplus" { "10" } else { "week" });
            }
            Some(plan) => {
                c.arg("--batches").arg(plan);
            }
            None => {}
        }
        run(c)?;
    }
    println!("evaluation records appended to {}", record.display());
    Ok(())
}

/// Fits the pair model on the gold corpora (default: every dev split in
/// ../shared/datasets; UCI's ids label stories) and reports it fitted on
/// all and leave-one-corpus-out; the model goes to OUT/pair_model.toml.
pub fn train(gold: &[PathBuf], set: &[String], out: &Path, pairs: bool) -> Result<()> {
    // The dev splits with the default settings make the defaults: their
    // report is kept in data/pair_model.json (the evaluation notebook plots it).
    let record = gold.is_empty() && set.is_empty();
    let gold = gold_files(gold)?;
    let paths = setup::ensure()?;
    let bin = build_storyline(&paths)?;
    std::fs::create_dir_all(out)?;
    let mut c = Command::new(&bin);
    c.env("STORYLINE_MODEL", &paths.model).env("LD_LIBRARY_PATH", &paths.torch_lib);
    c.arg("train").arg("--out").arg(out);
    for g in &gold {
        let flag = if gold_level(&corpus_of(g)) == "story" { "--story-gold" } else { "--gold" };
        c.arg(flag).arg(g);
    }
    for s in set {
        c.arg("--set").arg(s);
    }
    if pairs {
        c.arg("--pairs").arg(out.join("pairs.csv"));
    }
    run(c)?;
    if record {
        let kept = workspace_root().join("data/pair_model.json");
        std::fs::copy(out.join("train.json"), &kept).with_context(|| format!("cannot copy the report to {}", kept.display()))?;
        println!("report kept in {}", kept.display());
    }
    Ok(())
}

/// Executes every notebook headless against a run's outputs (running the
/// pipeline on the sample corpus first when there is none).
pub fn notebooks(out: &Path) -> Result<()> {
    let paths = setup::ensure()?;
    let python = setup::ensure_venv(&paths, "notebooks")?;
    let root = workspace_root();
    let out = if out.is_absolute() { out.to_path_buf() } else { root.join(out) };
    if !out.join("events.parquet").is_file() {
        let bin = build_storyline_profile(&paths, false)?;
        let mut c = Command::new(&bin);
        c.env("STORYLINE_MODEL", &paths.model).env("LD_LIBRARY_PATH", &paths.torch_lib);
        c.arg("run").arg("--quiet").arg("--input").arg(root.join("data/seeds")).arg("--out").arg(&out);
        run(c)?;
    }
    let venv = python.parent().and_then(Path::parent).context("venv")?;
    let mut c = Command::new(&python);
    c.arg(root.join("notebooks/run_all.py")).arg(out.join("notebooks"));
    c.env("STORYLINE_OUT", &out)
        .env("STORYLINE_BENCH_RESULTS", root.join("bench-results/results.jsonl"))
        .env("STORYLINE_TRAIN_REPORT", root.join("data/pair_model.json"))
        // Kernels from the venv only, not whatever the user installed.
        .env("JUPYTER_DATA_DIR", venv.join("share/jupyter"))
        .env("JUPYTER_PLATFORM_DIRS", "1")
        .env("MPLBACKEND", "module://matplotlib_inline.backend_inline");
    run(c)
}
