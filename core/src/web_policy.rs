//! The browser-facing policy of everything the edge serves: security headers and CORS.
//!
//! - Every answer: `X-Content-Type-Options: nosniff` (a JSON error is never run as a script)
//!   and `Referrer-Policy: no-referrer` (session ids in the edge's URLs never reach another
//!   site in a `Referer`).
//! - Every page (the sandbox's card and 3-D Secure pages, the demo shop): a strict
//!   `Content-Security-Policy` — scripts only from the edge, `'wasm-unsafe-eval'` for the
//!   widget's WebAssembly and nothing more (no inline script, no `eval`), styles only from the
//!   edge or the page's own inline `<style>` by hash — and `frame-ancestors 'none'`, so no
//!   site can frame a card page and overlay it (clickjacking).
//! - The API (`/v1/`): readable cross-origin only by the shops' registered origins, the pages
//!   the widget runs on. The loader and the widget's files stay public (`www/_headers`): any
//!   page may load them; what they may do is decided by the intent.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Headers on every answer.
pub const ALWAYS: [(&str, &str); 2] = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")];

/// The `Content-Security-Policy` of a page whose only inline content is `inline_styles` (the
/// exact text of each `<style>` element). Forms may post anywhere: a card page posts to
/// itself and is then redirected to the shop, which CSP would check as a form target too.
pub fn content_security_policy(inline_styles: &[&str]) -> String {
    let mut style_src = String::from("'self'");
    for style in inline_styles {
        let digest = Sha256::digest(style.as_bytes());
        style_src.push_str(&format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest)));
    }
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src {style_src}; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The `Access-Control-Allow-Origin` for an API answer: the request's `Origin` if it is one of
/// the `registered` shop origins (compared as origins: scheme, host and port, case-insensitive
/// host, no trailing slash), else none (the browser then refuses to show the answer to the
/// page; the request itself is still authenticated on its own terms).
pub fn allowed_origin<'a>(
    request_origin: Option<&str>,
    registered: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let origin = normalize(request_origin?)?;
    registered.into_iter().filter_map(normalize).any(|r| r == origin).then_some(origin)
}

/// Whether `s` is an http(s) origin (`https://shop.example`, `http://127.0.0.1:8069`): what the
/// shop registry accepts as an origin.
pub fn is_origin(s: &str) -> bool {
    normalize(s).is_some()
}

/// `scheme://host[:port]` lower-cased, without a trailing slash or path; `None` for `null`
/// (sandboxed frames, `file:`) and anything that is not an http(s) origin.
fn normalize(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    Some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_allows_wasm_and_nothing_inline_but_the_hashed_styles() {
        let csp = content_security_policy(&["body{color:red}"]);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        // sha256 of "body{color:red}", base64 (computed independently with openssl).
        assert!(csp.contains("'sha256-FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E='"), "{csp}");
    }

    #[test]
    fn the_static_pages_carry_the_same_policy_as_the_workers_pages() {
        let headers = include_str!("../../www/_headers");
        let expected = format!("Content-Security-Policy: {}", content_security_policy(&[]));
        let csp_lines: Vec<&str> =
            headers.lines().map(str::trim).filter(|l| l.starts_with("Content-Security-Policy")).collect();
        assert!(!csp_lines.is_empty());
        for line in csp_lines {
            assert_eq!(line, expected);
        }
        for (name, value) in ALWAYS {
            assert!(headers.contains(&format!("{name}: {value}")), "www/_headers lacks {name}");
        }
    }

    #[test]
    fn only_registered_origins_may_read_the_api() {
        let shops = ["https://shop.example", "http://127.0.0.1:8787/"];
        assert_eq!(allowed_origin(Some("https://shop.example"), shops), Some("https://shop.example".into()));
        assert_eq!(allowed_origin(Some("https://SHOP.example/"), shops), Some("https://shop.example".into()));
        assert_eq!(allowed_origin(Some("http://127.0.0.1:8787"), shops), Some("http://127.0.0.1:8787".into()));
        assert_eq!(allowed_origin(Some("https://evil.example"), shops), None);
        assert_eq!(allowed_origin(Some("https://shop.example.evil.example"), shops), None);
        assert_eq!(allowed_origin(Some("http://shop.example"), shops), None, "another scheme is another origin");
        assert_eq!(allowed_origin(Some("null"), shops), None);
        assert_eq!(allowed_origin(None, shops), None);
    }
}
