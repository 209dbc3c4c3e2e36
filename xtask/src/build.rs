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
    assemble_site(&tools, release)?;
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
        // The edge keeps its function names: they make a panic's stack in the logs readable.
        optimize(tools, &out.join("index_bg.wasm"), "-Os", &["--enable-exception-handling"])?;
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
        let wasm = out.join("bawaba_widget_bg.wasm");
        optimize(tools, &wasm, "-Oz", &["--strip-debug", "--strip-producers", "--strip-target-features"])?;
        minify_bindings(tools, &wasm, &out.join("bawaba_widget.js"))?;
    }
    Ok(())
}

/// The wasm features both builds use (wasm-opt must be told; it does not read them).
const WASM_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Shortens the names by which the widget's wasm and its glue know each other.
///
/// wasm-bindgen names every import after its function and a 16-digit hash
/// (`__wbg_appendChild_dbf7ad2f48413560`), and the names travel twice (the wasm's import
/// section, the glue's import object): near-random hex that brotli cannot shrink, about 2.5 KB
/// of the shopper's download. binaryen's `--minify-imports-and-exports-and-modules` renames
/// them in the wasm (as emscripten does) and prints the mapping; [`rename_bindings`] applies it
/// to the glue, refusing any name it cannot find exactly where wasm-bindgen writes it.
fn minify_bindings(tools: &setup::Tools, wasm: &Path, glue: &Path) -> Result {
    step("minifying the names between the widget's wasm and its glue");
    let mut cmd = Command::new(&tools.node);
    cmd.arg(&tools.wasm_opt).arg("--minify-imports-and-exports-and-modules").args(WASM_FEATURES);
    cmd.arg(wasm).arg("-o").arg(wasm);
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("cannot start {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{shown} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    let map = NameMap::parse(&String::from_utf8_lossy(&out.stdout))?;
    let module = single_import_module(&fs::read(wasm).map_err(|e| e.to_string())?)?;
    let text = fs::read_to_string(glue).map_err(|e| e.to_string())?;
    fs::write(glue, rename_bindings(&text, &map, &module)?).map_err(|e| e.to_string())
}

/// What binaryen printed: `{"imports": [[module, name, new]], "exports": [[name, new]]}`.
#[derive(Debug, Default)]
struct NameMap {
    /// `(module, name, new name)`.
    imports: Vec<(String, String, String)>,
    /// `(name, new name)`.
    exports: Vec<(String, String)>,
}

impl NameMap {
    fn parse(printed: &str) -> Result<NameMap> {
        let json: serde_json::Value = serde_json::from_str(printed)
            .map_err(|e| format!("wasm-opt's name mapping is not JSON ({e}): {printed}"))?;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
        };
        let list = |key: &str, width: usize| -> Result<Vec<Vec<String>>> {
            let entries = json[key].as_array().ok_or_else(|| format!("wasm-opt's name mapping has no {key:?}"))?;
            entries
                .iter()
                .map(strings)
                .map(|e| {
                    if e.len() == width {
                        Ok(e)
                    } else {
                        Err(format!("a {key:?} entry is not {width} strings: {e:?}"))
                    }
                })
                .collect()
        };
        Ok(NameMap {
            imports: list("imports", 3)?.into_iter().map(|e| (e[0].clone(), e[1].clone(), e[2].clone())).collect(),
            exports: list("exports", 2)?.into_iter().map(|e| (e[0].clone(), e[1].clone())).collect(),
        })
    }
}

/// The one module every import of `wasm` comes from (binaryen gives them all one short name).
fn single_import_module(wasm: &[u8]) -> Result<String> {
    let mut modules: Vec<String> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(reader) = payload.map_err(|e| e.to_string())? {
            for import in reader.into_imports() {
                let module = import.map_err(|e| e.to_string())?.module.to_string();
                if !modules.contains(&module) {
                    modules.push(module);
                }
            }
        }
    }
    match modules.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!("the widget's wasm imports from {other:?}, not from one module")),
    }
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The glue with binaryen's new names: each import's key in the import object (`name:
/// function(…)`), the module's key (`"./bawaba_widget_bg.js":`), and every `wasm.<export>`.
/// Every import and module name must be found exactly once, and afterwards no `wasm.` may name
/// an export the wasm no longer has: a wasm-bindgen that writes its glue differently fails the
/// build here, not in a shopper's browser.
fn rename_bindings(glue: &str, map: &NameMap, new_module: &str) -> Result<String> {
    let mut out = glue.to_string();
    let mut modules: Vec<&str> = map.imports.iter().map(|(m, _, _)| m.as_str()).collect();
    modules.dedup();
    for module in modules {
        let key = format!("\"{module}\":");
        if out.matches(&key).count() != 1 {
            return Err(format!("the glue does not hold the import module key {key} once"));
        }
        out = out.replace(&key, &format!("\"{new_module}\":"));
    }
    for (_, name, new) in &map.imports {
        let key = format!("{name}: function(");
        let found: Vec<usize> = out
            .match_indices(&key)
            .map(|(at, _)| at)
            .filter(|at| out[..*at].ends_with(|c: char| c.is_whitespace()))
            .collect();
        let [at] = found[..] else {
            return Err(format!("the glue holds the import {name:?} {} times, not once", found.len()));
        };
        out.replace_range(at..at + name.len(), &format!("\"{new}\""));
    }
    let renamed: Vec<&str> = map.exports.iter().map(|(_, new)| new.as_str()).collect();
    for (name, new) in &map.exports {
        let member = format!("wasm.{name}");
        let mut rest = out.as_str();
        let mut next = String::new();
        while let Some(at) = rest.find(&member) {
            let after = &rest[at + member.len()..];
            let whole = !after.starts_with(is_identifier_char) && !rest[..at].ends_with(is_identifier_char);
            next.push_str(&rest[..at]);
            next.push_str(if whole { "wasm." } else { &member });
            if whole {
                next.push_str(new);
            }
            rest = after;
        }
        next.push_str(rest);
        out = next;
    }
    for (at, _) in out.match_indices("wasm.") {
        if out[..at].ends_with(is_identifier_char) || out[..at].ends_with('.') {
            continue;
        }
        let member: String = out[at + 5..].chars().take_while(|c| is_identifier_char(*c)).collect();
        if !renamed.contains(&member.as_str()) {
            return Err(format!("the glue uses wasm.{member}, which binaryen's mapping does not name"));
        }
    }
    Ok(out)
}

/// Minifies an ES module every shopper downloads, with esbuild, keeping only the exports named
/// in `keep` (the loader uses the glue's `default`, `mount` and `unmount`: wasm-bindgen's
/// `initSync` and its messages go). Bundled from a one-line entry that re-exports `keep`, so
/// esbuild drops what nothing imports; `import.meta.url` stays the served file's own URL.
fn minify_js(tools: &setup::Tools, code: &str, keep: &[&str]) -> Result<String> {
    let dir = root().join("target/js-minify");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::write(dir.join("module.js"), code).map_err(|e| e.to_string())?;
    let entry = if keep.is_empty() {
        "import \"./module.js\";\n".to_string()
    } else {
        format!("export {{ {} }} from \"./module.js\";\n", keep.join(", "))
    };
    fs::write(dir.join("entry.js"), entry).map_err(|e| e.to_string())?;
    let out = dir.join("out.js");
    let mut cmd = Command::new(&tools.esbuild);
    cmd.arg(dir.join("entry.js")).args(["--bundle", "--minify", "--format=esm", "--log-level=warning"]);
    cmd.arg(format!("--outfile={}", out.display())).env("PATH", tools.path_env());
    run_cmd(&mut cmd)?;
    fs::read_to_string(&out).map_err(|e| e.to_string())
}

/// Runs wasm-opt in place, skipping the work when the input is the same as last time.
fn optimize(tools: &setup::Tools, wasm: &Path, level: &str, extra: &[&str]) -> Result {
    let input = fs::read(wasm).map_err(|e| e.to_string())?;
    // Cache next to the build output, never inside target/site (which is served).
    let cache_dir = root().join("target/wasm-opt-cache");
    fs::create_dir_all(&cache_dir).map_err(|e| e.to_string())?;
    let name = wasm.file_name().expect("a file").to_string_lossy().to_string();
    let stamp = cache_dir.join(format!("{name}.stamp"));
    let fingerprint = format!("{level} {}:{}:{:x}", extra.join(" "), input.len(), fnv1a(&input));
    let cached = cache_dir.join(&name);
    if fs::read_to_string(&stamp).ok().as_deref() == Some(fingerprint.as_str()) && cached.exists() {
        fs::copy(&cached, wasm).map_err(|e| e.to_string())?;
        return Ok(());
    }
    step(&format!("optimizing {} with wasm-opt {level}", wasm.file_name().unwrap().to_string_lossy()));
    let mut cmd = Command::new(&tools.node);
    cmd.arg(&tools.wasm_opt).arg(level).args(WASM_FEATURES).args(extra);
    cmd.arg(wasm).arg("-o").arg(&cached);
    run_cmd(&mut cmd)?;
    fs::copy(&cached, wasm).map_err(|e| e.to_string())?;
    fs::write(&stamp, fingerprint).map_err(|e| e.to_string())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

/// Copies `www/` into `target/site`, publishes the widget there under its hashed names and
/// writes the loader that names them. A release build minifies the loader and the glue.
fn assemble_site(tools: &setup::Tools, release: bool) -> Result {
    let site = root().join("target/site");
    copy_dir(&root().join("www"), &site)?;
    let minify = |keep: &'static [&'static str]| {
        move |code: &str| if release { minify_js(tools, code, keep) } else { Ok(code.to_string()) }
    };
    let files =
        publish_widget(&root().join(WIDGET_STAGING), &site.join("widget"), &minify(&["default", "mount", "unmount"]))?;
    let template = fs::read_to_string(root().join("www/bawaba.js")).map_err(|e| format!("www/bawaba.js: {e}"))?;
    fs::write(site.join("bawaba.js"), minify(&[])(&loader(&template, &files)?)?).map_err(|e| e.to_string())
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
/// the glue's name covers the wasm's too; `minify` then has the glue as served.
fn publish_widget(staging: &Path, widget_dir: &Path, minify: &dyn Fn(&str) -> Result<String>) -> Result<WidgetFiles> {
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
    let glue = minify(&glue.replace(&default_url, &format!("new URL('{wasm_name}', import.meta.url)")))?;
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
    use sha2::Digest;
    sha2::Sha256::digest(bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
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

    #[test]
    fn a_content_hash_is_the_first_16_hex_digits_of_the_sha256() {
        // FIPS 180-4's examples.
        assert_eq!(content_hash(b""), "e3b0c44298fc1c14");
        assert_eq!(content_hash(b"abc"), "ba7816bf8f01cfea");
    }

    /// A glue as wasm-bindgen writes it, cut down: an import object, a module key, exports.
    const GLUE: &str = r#"export function mount(host, edge_base) {
    const ptr0 = passStringToWasm0(edge_base, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    wasm.mount(host, ptr0, WASM_VECTOR_LEN);
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_appendChild_dbf7ad2f48413560: function(arg0, arg1) {
            return arg0.appendChild(arg1);
        },
        __wbg_append_493e9926331694ec: function(arg0, arg1, arg2) {
            arg0.append(arg1, arg2);
        },
    };
    return {
        __proto__: null,
        "./bawaba_widget_bg.js": import0,
    };
}
function getUint8ArrayMemory0() { return new Uint8Array(wasm.memory.buffer); }
"#;

    fn map() -> NameMap {
        NameMap::parse(
            r#"{"imports": [["./bawaba_widget_bg.js", "__wbg_appendChild_dbf7ad2f48413560", "a"],
                            ["./bawaba_widget_bg.js", "__wbg_append_493e9926331694ec", "$"]],
                "exports": [["mount", "b"], ["__wbindgen_malloc", "c"], ["__wbindgen_realloc", "d"], ["memory", "e"]]}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_glue_takes_binaryens_short_names() {
        let glue = rename_bindings(GLUE, &map(), "z").unwrap();
        assert!(glue.contains(r#""a": function(arg0, arg1) {"#), "{glue}");
        assert!(glue.contains(r#""$": function(arg0, arg1, arg2) {"#), "{glue}");
        assert!(glue.contains(r#""z": import0"#), "{glue}");
        assert!(glue.contains("passStringToWasm0(edge_base, wasm.c, wasm.d);"), "{glue}");
        assert!(glue.contains("wasm.b(host, ptr0, WASM_VECTOR_LEN);"), "{glue}");
        assert!(glue.contains("wasm.e.buffer"), "{glue}");
        // The JavaScript names are the glue's own: untouched.
        assert!(glue.contains("export function mount(host, edge_base)") && glue.contains("arg0.appendChild(arg1)"));
        assert!(!glue.contains("__wbg_append") && !glue.contains("bawaba_widget_bg.js"), "{glue}");
    }

    #[test]
    fn a_glue_that_does_not_match_the_mapping_fails_the_build() {
        let missing = GLUE.replace("__wbg_append_493e9926331694ec: function", "other: function");
        let err = rename_bindings(&missing, &map(), "z").unwrap_err();
        assert!(err.contains("__wbg_append_493e9926331694ec"), "{err}");
        // An export the mapping does not name (the glue would call what the wasm lost).
        let unknown = GLUE.replace("wasm.memory.buffer", "wasm.table.buffer");
        let err = rename_bindings(&unknown, &map(), "z").unwrap_err();
        assert!(err.contains("wasm.table"), "{err}");
        let no_module = GLUE.replace("\"./bawaba_widget_bg.js\": import0", "env: import0");
        assert!(rename_bindings(&no_module, &map(), "z").unwrap_err().contains("module"));
        assert!(NameMap::parse("not json").is_err());
        assert!(NameMap::parse(r#"{"imports": [["m", "n"]], "exports": []}"#).is_err());
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
