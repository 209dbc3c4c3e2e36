//! Compiles the edge and the widget to wasm and lays out `target/edge`, `target/site` (every
//! static file, demo storefront included: what `wrangler dev --env local` serves) and
//! `target/site-production` (only what shops embed: the loader, the widget, `_headers`; what
//! production and staging deploy).
//!
//! We build without worker-build: it downloads wasm-bindgen and wasm-opt from GitHub, which
//! this project cannot rely on, and its install takes minutes. The steps it would do are
//! three commands here: cargo, wasm-bindgen, and a hand-written shim (`edge/shim.js`).

use crate::{root, run_cmd, setup, step, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds everything wrangler serves.
pub fn build(release: bool) -> Result {
    let tools = setup::tools()?;
    build_edge(&tools, release)?;
    build_widget(&tools, release)?;
    assemble_site()?;
    assemble_production_site()?;
    Ok(())
}

fn cargo_wasm(package: &str, release: bool) -> Result<PathBuf> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root()).args(["build", "--target", "wasm32-unknown-unknown", "-p", package]);
    if release {
        cmd.arg("--release");
    }
    run_cmd(&mut cmd)?;
    let profile = if release { "release" } else { "debug" };
    Ok(root().join(format!("target/wasm32-unknown-unknown/{profile}/{}.wasm", package.replace('-', "_"))))
}

fn build_edge(tools: &setup::Tools, release: bool) -> Result {
    step("building the edge worker (Rust → wasm)");
    let wasm = cargo_wasm("bawaba-edge", release)?;
    let out = root().join("target/edge");
    fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    run_cmd(Command::new(&tools.wasm_bindgen).arg(&wasm).args(["--out-dir"]).arg(&out).args([
        "--out-name",
        "index",
        "--target",
        "module",
        "--no-typescript",
    ]))?;
    // esbuild (inside wrangler) does not parse source-phase imports yet.
    let index = out.join("index.js");
    let js = fs::read_to_string(&index).map_err(|e| e.to_string())?;
    fs::write(&index, js.replace("import source ", "import ")).map_err(|e| e.to_string())?;
    fs::copy(root().join("edge/shim.js"), out.join("shim.js")).map_err(|e| e.to_string())?;
    if release {
        optimize(tools, &out.join("index_bg.wasm"), "-Os", true)?;
    }
    Ok(())
}

fn build_widget(tools: &setup::Tools, release: bool) -> Result {
    step("building the checkout widget (Rust → wasm)");
    let wasm = cargo_wasm("bawaba-widget", release)?;
    let out = root().join("target/site/widget");
    fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    run_cmd(Command::new(&tools.wasm_bindgen).arg(&wasm).args(["--out-dir"]).arg(&out).args([
        "--out-name",
        "bawaba_widget",
        "--target",
        "web",
        "--no-typescript",
    ]))?;
    if release {
        optimize(tools, &out.join("bawaba_widget_bg.wasm"), "-Oz", false)?;
    }
    Ok(())
}

/// Runs wasm-opt in place, skipping the work when the input is the same as last time.
fn optimize(tools: &setup::Tools, wasm: &Path, level: &str, exceptions: bool) -> Result {
    let input = fs::read(wasm).map_err(|e| e.to_string())?;
    // Cache next to the build output, never inside target/site (which is served).
    let cache_dir = root().join("target/wasm-opt-cache");
    fs::create_dir_all(&cache_dir).map_err(|e| e.to_string())?;
    let name = wasm.file_name().expect("a file").to_string_lossy().to_string();
    let stamp = cache_dir.join(format!("{name}.stamp"));
    let fingerprint = format!("{level}:{}:{:x}", input.len(), fnv1a(&input));
    let cached = cache_dir.join(&name);
    if fs::read_to_string(&stamp).ok().as_deref() == Some(fingerprint.as_str()) && cached.exists() {
        fs::copy(&cached, wasm).map_err(|e| e.to_string())?;
        return Ok(());
    }
    step(&format!("optimizing {} with wasm-opt {level}", wasm.file_name().unwrap().to_string_lossy()));
    let mut cmd = Command::new(&tools.node);
    cmd.arg(&tools.wasm_opt).arg(level).args([
        "--enable-bulk-memory",
        "--enable-nontrapping-float-to-int",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-reference-types",
        "--enable-multivalue",
    ]);
    if exceptions {
        cmd.arg("--enable-exception-handling");
    }
    cmd.arg(wasm).arg("-o").arg(&cached);
    run_cmd(&mut cmd)?;
    fs::copy(&cached, wasm).map_err(|e| e.to_string())?;
    fs::write(&stamp, fingerprint).map_err(|e| e.to_string())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

/// Copies `www/` into `target/site` (next to the built widget).
fn assemble_site() -> Result {
    copy_dir(&root().join("www"), &root().join("target/site"))
}

/// The files a deployed edge serves: the loader, the widget and the headers file. Nothing of
/// the demo storefront (`index.html`, `ar/`, `demo/`) is in production's assets.
pub const PRODUCTION_FILES: [&str; 3] = ["bawaba.js", "widget", "_headers"];

/// Lays out `target/site-production` afresh from `target/site`, with only [`PRODUCTION_FILES`].
fn assemble_production_site() -> Result {
    let site = root().join("target/site");
    let out = root().join("target/site-production");
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    for name in PRODUCTION_FILES {
        let from = site.join(name);
        if from.is_dir() {
            copy_dir(&from, &out.join(name))?;
        } else {
            fs::copy(&from, out.join(name)).map_err(|e| format!("{}: {e}", from.display()))?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
