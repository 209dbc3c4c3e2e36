//! Compiles the edge and the widget to wasm and lays out `target/edge`, `target/site` (every
//! static file, demo storefront included: what `wrangler dev --env local` serves) and
//! `target/site-production` (only what shops embed: the loader, the widget, `_headers`; what
//! production and staging deploy).
//!
//! The widget's two files are published under content-hashed names,
//! `widget/bawaba_widget.<hash>.js` and `widget/bawaba_widget_bg.<hash>.wasm` (the first 16 hex
//! digits of the SHA-256 of the bytes served), so `_headers` can let browsers keep them for a
//! year (`immutable`): a changed build has new names. The loader keeps its stable URL
//! (`/bawaba.js`, which shops embed) and a short cache; it is built from `www/bawaba.js`, a
//! template whose one placeholder ([`LOADER_PLACEHOLDER`]) becomes the hashed names.
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

/// Where wasm-bindgen writes the widget before [`publish_widget`] gives its files their hashed
/// names in `target/site/widget` (this directory is never served).
const WIDGET_STAGING: &str = "target/widget";

fn build_widget(tools: &setup::Tools, release: bool) -> Result {
    step("building the checkout widget (Rust → wasm)");
    let wasm = cargo_wasm("bawaba-widget", release)?;
    let out = root().join(WIDGET_STAGING);
    // Afresh, so that only what this wasm-bindgen run wrote is published.
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
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

/// Copies `www/` into `target/site`, publishes the widget there under its hashed names and
/// writes the loader that names them.
fn assemble_site() -> Result {
    let site = root().join("target/site");
    copy_dir(&root().join("www"), &site)?;
    let files = publish_widget(&root().join(WIDGET_STAGING), &site.join("widget"))?;
    let template = fs::read_to_string(root().join("www/bawaba.js")).map_err(|e| format!("www/bawaba.js: {e}"))?;
    fs::write(site.join("bawaba.js"), loader(&template, &files)?).map_err(|e| e.to_string())
}

/// The widget's files as published, relative to the site's root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WidgetFiles {
    /// `widget/bawaba_widget.<hash>.js`, wasm-bindgen's glue.
    glue: String,
    /// `widget/bawaba_widget_bg.<hash>.wasm`.
    wasm: String,
}

/// The text in `www/bawaba.js` that the build replaces with the widget's hashed names (a JS
/// object `{ glue: "widget/…", wasm: "widget/…" }`). The template itself is never served: an
/// unbuilt loader fails at once, naming the placeholder.
const LOADER_PLACEHOLDER: &str = "__BAWABA_WIDGET_FILES__";

/// The built loader: `template` with its one [`LOADER_PLACEHOLDER`] replaced, and without its
/// whole-line `//` comments (every shopper downloads the loader; its comments are for the
/// template's readers).
fn loader(template: &str, files: &WidgetFiles) -> Result<String> {
    let found = template.matches(LOADER_PLACEHOLDER).count();
    if found != 1 {
        return Err(format!("www/bawaba.js must hold {LOADER_PLACEHOLDER} exactly once (found {found})"));
    }
    let names = format!("{{ glue: \"{}\", wasm: \"{}\" }}", files.glue, files.wasm);
    let code: String =
        template.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
    Ok(code.replace(LOADER_PLACEHOLDER, &names))
}

/// Writes wasm-bindgen's output from `staging` into `widget_dir` (emptied first: no old name
/// lingers) under content-hashed names. The glue's own default URL of the wasm (used when
/// `init` is called without one) is rewritten to the hashed name before the glue is hashed, so
/// the glue's name covers the wasm's too.
fn publish_widget(staging: &Path, widget_dir: &Path) -> Result<WidgetFiles> {
    const GLUE: &str = "bawaba_widget.js";
    const WASM: &str = "bawaba_widget_bg.wasm";
    let mut staged: Vec<String> = fs::read_dir(staging)
        .map_err(|e| format!("{}: {e}", staging.display()))?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()).map_err(|e| e.to_string()))
        .collect::<Result<_>>()?;
    staged.sort();
    if staged != [GLUE, WASM] {
        return Err(format!(
            "wasm-bindgen wrote {staged:?} in {}; the build publishes only {GLUE} and {WASM} under hashed names",
            staging.display()
        ));
    }
    let wasm = fs::read(staging.join(WASM)).map_err(|e| e.to_string())?;
    let wasm_name = format!("bawaba_widget_bg.{}.wasm", content_hash(&wasm));
    let glue = fs::read_to_string(staging.join(GLUE)).map_err(|e| e.to_string())?;
    let default_url = format!("new URL('{WASM}', import.meta.url)");
    if glue.matches(&default_url).count() != 1 {
        return Err(format!("the glue from wasm-bindgen no longer holds `{default_url}` once: update publish_widget"));
    }
    let glue = glue.replace(&default_url, &format!("new URL('{wasm_name}', import.meta.url)"));
    let glue_name = format!("bawaba_widget.{}.js", content_hash(glue.as_bytes()));
    if widget_dir.exists() {
        fs::remove_dir_all(widget_dir).map_err(|e| format!("{}: {e}", widget_dir.display()))?;
    }
    fs::create_dir_all(widget_dir).map_err(|e| e.to_string())?;
    fs::write(widget_dir.join(&wasm_name), &wasm).map_err(|e| e.to_string())?;
    fs::write(widget_dir.join(&glue_name), glue).map_err(|e| e.to_string())?;
    Ok(WidgetFiles { glue: format!("widget/{glue_name}"), wasm: format!("widget/{wasm_name}") })
}

/// The name part of a published file: the first 16 hex digits (64 bits) of the SHA-256 of its
/// bytes.
fn content_hash(bytes: &[u8]) -> String {
    sha256(bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4). Here rather than a dependency: xtask needs it for two files a build.
fn sha256(message: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&((message.len() as u64) * 8).to_be_bytes());
    for block in padded.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (state, add) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *state = state.wrapping_add(add);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_matches_the_standards_vectors() {
        // FIPS 180-4 examples, and a message that needs a second padding block.
        assert_eq!(hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(&sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(content_hash(b"abc"), "ba7816bf8f01cfea");
    }

    #[test]
    fn the_loader_names_the_hashed_files_in_place_of_its_one_placeholder() {
        let files = WidgetFiles {
            glue: "widget/bawaba_widget.0123456789abcdef.js".into(),
            wasm: "widget/bawaba_widget_bg.fedcba9876543210.wasm".into(),
        };
        let built =
            loader(&format!("// Names:\n  // more\nconst files = {LOADER_PLACEHOLDER}; // kept\n"), &files).unwrap();
        assert_eq!(
            built,
            "const files = { glue: \"widget/bawaba_widget.0123456789abcdef.js\", \
             wasm: \"widget/bawaba_widget_bg.fedcba9876543210.wasm\" }; // kept\n"
        );
        assert!(loader("const files = {};", &files).is_err(), "no placeholder");
        assert!(loader(&format!("{LOADER_PLACEHOLDER}{LOADER_PLACEHOLDER}"), &files).is_err(), "two");
        let template = std::fs::read_to_string(root().join("www/bawaba.js")).unwrap();
        assert!(loader(&template, &files).unwrap().contains(&files.wasm), "www/bawaba.js is a valid template");
    }
}
