//! How the widget reaches shoppers (issue 14): the loader at its stable URL with a short cache,
//! the glue and the wasm under content-hashed names that browsers keep for a year, all three
//! readable from any origin; through real workerd, for the local and the production edge.

use bawaba_tests::bench_widget::{content_hash_of, HashedNames};
use bawaba_tests::edge::{Edge, EdgeOptions};
use bawaba_tests::{http, root};
use std::io::Write;
use std::process::{Command, Stdio};

const SHORT: &str = "public, max-age=300";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A GET whose body is kept as bytes (the wasm is not text), audited for secrets like every
/// answer the tests read.
fn get_bytes(url: &str) -> (http::Reply, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut resp = agent.get(url).call().unwrap_or_else(|e| panic!("{url}: {e}"));
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().with_config().limit(10 * 1024 * 1024).read_to_vec().expect("a body");
    let content_type = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.clone());
    let reply =
        http::Reply { status, location: None, content_type, body: String::from_utf8_lossy(&bytes).into(), headers };
    http::audit(&reply);
    (reply, bytes)
}

/// SHA-256 by coreutils' `sha256sum`: an implementation independent of the build's.
fn sha256_hex(bytes: &[u8]) -> String {
    let mut child =
        Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("sha256sum (coreutils)");
    child.stdin.take().expect("stdin").write_all(bytes).expect("write to sha256sum");
    let out = child.wait_with_output().expect("sha256sum");
    assert!(out.status.success(), "sha256sum failed");
    String::from_utf8(out.stdout).expect("hex").split_whitespace().next().expect("a digest").to_string()
}

fn check_edge(edge: &Edge, site: &str) {
    let (loader, _) = get_bytes(&edge.url("/bawaba.js"));
    assert_eq!(loader.status, 200, "{}", loader.body);
    assert_eq!(loader.header("cache-control"), Some(SHORT), "the loader's URL is stable: a short cache");
    assert_eq!(loader.header("access-control-allow-origin"), Some("*"), "the loader is public");
    assert!(!loader.body.contains("__BAWABA_WIDGET_FILES__"), "the served loader is the template:\n{}", loader.body);
    let names = HashedNames::in_loader(&loader.body);

    for (name, content_type) in [(&names.glue, "javascript"), (&names.wasm, "application/wasm")] {
        let (reply, bytes) = get_bytes(&edge.url(&format!("/{name}")));
        assert_eq!(reply.status, 200, "{name}: {}", reply.status);
        assert_eq!(reply.header("cache-control"), Some(IMMUTABLE), "{name} is kept for a year");
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{name} is public");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{name}");
        let served_type = reply.content_type.clone().unwrap_or_default();
        assert!(served_type.contains(content_type), "{name} is served as {served_type:?}");
        let hash = content_hash_of(name).expect("a hashed name");
        let digest = sha256_hex(&bytes);
        assert_eq!(hash, &digest[..16], "{name}: the name's hash is not the SHA-256 of the bytes served ({digest})");
        let on_disk = std::fs::read(root().join(site).join(name)).expect("the file in the site");
        assert_eq!(bytes, on_disk, "{name} as served differs from {site}/{name}");
    }
    // The glue's own default URL of the wasm is the hashed one too.
    let (glue, _) = get_bytes(&edge.url(&format!("/{}", names.glue)));
    let wasm_file = names.wasm.trim_start_matches("widget/");
    // Quoted either way: a release build's glue is minified (esbuild writes double quotes).
    let names_file = |f: &str| glue.body.contains(&format!("'{f}'")) || glue.body.contains(&format!("\"{f}\""));
    assert!(names_file(wasm_file), "the glue does not name {wasm_file}");
    assert!(!names_file("bawaba_widget_bg.wasm"), "the glue still names the unhashed wasm");

    for old in ["/widget/bawaba_widget.js", "/widget/bawaba_widget_bg.wasm"] {
        let r = http::get(&edge.url(old));
        assert_eq!(r.status, 404, "{old} (the unhashed name) answers {}: {}", r.status, r.body);
    }
    // Nothing else lingers in the widget's directory.
    let mut files: Vec<String> = std::fs::read_dir(root().join(site).join("widget"))
        .expect("the widget directory")
        .map(|e| format!("widget/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    assert_eq!(files, [names.glue.clone(), names.wasm.clone()], "{site}/widget holds only the loader's two files");
}

#[test]
fn the_widget_is_served_under_content_hashed_names_and_cached_for_good() {
    check_edge(&Edge::start(EdgeOptions::default()), "target/site");
}

#[test]
fn a_production_edge_serves_the_same_hashed_files() {
    let local = std::fs::read_to_string(root().join("target/site/bawaba.js")).expect("the built loader");
    let production = Edge::start(EdgeOptions { production: true, ..Default::default() });
    check_edge(&production, "target/site-production");
    let served = http::get(&production.url("/bawaba.js"));
    assert_eq!(HashedNames::in_loader(&served.body), HashedNames::in_loader(&local), "one build, one set of names");
}
