//! `docs/protocol.md` against the code, so the page a site owner implements from cannot drift:
//!
//! - the error-code tables (`| code | status | when |`) list every code the edge can answer
//!   with, each with the HTTP status [`ApiError::status`] gives it, and no code that does not
//!   exist;
//! - the worked signature examples are the vectors' cases and what the code computes;
//! - the code it quotes from `examples/` is, character for character, in the example's file
//!   (which `tests/tests/examples.rs` runs against the edge).

use bawaba_core::api::{ApiError, InPageError};
use bawaba_core::dashboard::link::LinkError;
use bawaba_core::intent::IntentError;
use bawaba_core::payment::PaymentState;
use bawaba_core::signature::{self, SignatureError, SignedCall};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("core/ is in the repository").to_path_buf()
}

fn protocol() -> String {
    std::fs::read_to_string(repo().join("docs/protocol.md")).expect("docs/protocol.md")
}

fn vector_file(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join("tests/vectors").join(name)).expect("a vector file");
    serde_json::from_str(&text).expect("valid JSON")
}

fn unauthorized(code: &str) -> ApiError {
    ApiError::Unauthorized { code: code.to_string().into(), message: String::new() }
}

/// One error of each kind the API answers with. The matches below have no wildcard: a new
/// variant does not compile until it is added here (and so checked against the doc).
fn every_error() -> Vec<ApiError> {
    let intent = [
        IntentError::Malformed,
        IntentError::UnsupportedAlgorithm,
        IntentError::UnknownShop,
        IntentError::InvalidSignature,
        IntentError::InvalidClaims(String::new()),
        IntentError::WrongAudience,
        IntentError::Expired,
        IntentError::NotYetValid,
        IntentError::LifetimeTooLong,
        IntentError::AmountInvalid,
        IntentError::CurrencyUnsupported(String::new()),
        IntentError::UrlNotAllowed("notify_url"),
        IntentError::MethodUnknown(vec![]),
    ];
    let intent_kinds = intent
        .iter()
        .map(|e| match e {
            IntentError::Malformed
            | IntentError::UnsupportedAlgorithm
            | IntentError::UnknownShop
            | IntentError::InvalidSignature
            | IntentError::InvalidClaims(_)
            | IntentError::WrongAudience
            | IntentError::Expired
            | IntentError::NotYetValid
            | IntentError::LifetimeTooLong
            | IntentError::AmountInvalid
            | IntentError::CurrencyUnsupported(_)
            | IntentError::UrlNotAllowed(_)
            | IntentError::MethodUnknown(_) => std::mem::discriminant(e),
        })
        .collect::<std::collections::HashSet<_>>();
    assert_eq!(intent_kinds.len(), intent.len(), "one of each IntentError");

    let signature = [
        SignatureError::Missing,
        SignatureError::Malformed,
        SignatureError::TimestampOutOfTolerance,
        SignatureError::Mismatch,
    ];
    for e in &signature {
        match e {
            SignatureError::Missing
            | SignatureError::Malformed
            | SignatureError::TimestampOutOfTolerance
            | SignatureError::Mismatch => {}
        }
    }
    let link = [
        LinkError::Malformed,
        LinkError::UnknownShop,
        LinkError::InvalidSignature,
        LinkError::InvalidClaims(String::new()),
        LinkError::Expired,
        LinkError::NotYetValid,
        LinkError::LifetimeTooLong,
    ];
    for e in &link {
        match e {
            LinkError::Malformed
            | LinkError::UnknownShop
            | LinkError::InvalidSignature
            | LinkError::InvalidClaims(_)
            | LinkError::Expired
            | LinkError::NotYetValid
            | LinkError::LifetimeTooLong => {}
        }
    }

    let mut all = vec![
        ApiError::InvalidRequest(String::new()),
        ApiError::BodyTooLarge,
        ApiError::UnknownMethod(String::new()),
        ApiError::MethodNotAllowed(String::new()),
        ApiError::SessionNotFound,
        ApiError::NotFound,
        ApiError::HttpMethodNotAllowed,
        ApiError::PaymentFinished(PaymentState::Paid),
        ApiError::PaymentNotFound,
        ApiError::OperationNotAllowed(String::new()),
        ApiError::OperationNotSupported(String::new()),
        ApiError::RefundExceedsPayment { remaining: 0 },
        ApiError::ReferenceReused { reference: String::new(), differs: String::new() },
        ApiError::IdempotencyKeyMissing,
        ApiError::IdempotencyKeyInvalid(String::new()),
        ApiError::IdempotencyKeyReused,
        ApiError::GatewayUnavailable(String::new()),
        ApiError::GatewayRejected(String::new()),
        ApiError::RateLimited { reason: String::new(), retry_after_secs: 1 },
        ApiError::OtpNotExpected,
        ApiError::OtpAttemptsExhausted,
        ApiError::Misconfigured(String::new()),
        ApiError::Internal(String::new()),
    ];
    // What a shopper gives for a payment made in the page: one code per refusal.
    let in_page = [
        InPageError::MobileInvalid(String::new()),
        InPageError::OtpInvalid,
        InPageError::ApplepayTokenInvalid(String::new()),
        InPageError::ApplepayValidationUrlInvalid(String::new()),
        InPageError::ApplepayUnavailable,
        InPageError::WalletNotExpected(String::new()),
    ];
    for e in &in_page {
        match e {
            InPageError::MobileInvalid(_)
            | InPageError::OtpInvalid
            | InPageError::ApplepayTokenInvalid(_)
            | InPageError::ApplepayValidationUrlInvalid(_)
            | InPageError::ApplepayUnavailable
            | InPageError::WalletNotExpected(_) => {}
        }
    }
    all.extend(in_page.into_iter().map(ApiError::InPage));
    all.extend(intent.into_iter().map(ApiError::Intent));
    // Refused signatures and dashboard links are `Unauthorized` with the refusal's code.
    all.extend(signature.iter().map(|e| unauthorized(e.code())));
    all.extend(link.iter().map(|e| unauthorized(e.code())));
    // The codes written as text where the edge refuses a call (found in the source, below).
    all.extend(unauthorized_codes_in_source().iter().map(|c| unauthorized(c)));

    let mut kinds = std::collections::HashSet::new();
    for e in &all {
        kinds.insert(match e {
            ApiError::InvalidRequest(_) => 0,
            ApiError::BodyTooLarge => 1,
            ApiError::Intent(_) => 2,
            ApiError::UnknownMethod(_) => 3,
            ApiError::MethodNotAllowed(_) => 4,
            ApiError::SessionNotFound => 5,
            ApiError::NotFound => 6,
            ApiError::HttpMethodNotAllowed => 7,
            ApiError::Unauthorized { .. } => 8,
            ApiError::PaymentFinished(_) => 9,
            ApiError::PaymentNotFound => 10,
            ApiError::OperationNotAllowed(_) => 11,
            ApiError::OperationNotSupported(_) => 12,
            ApiError::RefundExceedsPayment { .. } => 13,
            ApiError::ReferenceReused { .. } => 14,
            ApiError::IdempotencyKeyMissing => 15,
            ApiError::IdempotencyKeyInvalid(_) => 16,
            ApiError::IdempotencyKeyReused => 17,
            ApiError::GatewayUnavailable(_) => 18,
            ApiError::GatewayRejected(_) => 19,
            ApiError::RateLimited { .. } => 20,
            ApiError::Misconfigured(_) => 21,
            ApiError::Internal(_) => 22,
            ApiError::InPage(_) => 23,
            ApiError::OtpNotExpected => 24,
            ApiError::OtpAttemptsExhausted => 25,
        });
    }
    assert_eq!(kinds.len(), 26, "one of each ApiError variant");
    all
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The codes of `ApiError::Unauthorized` the edge and the core write as string literals:
/// `unauthorized("shop_missing", …)` and `Unauthorized { code: "…".into(), … }`. The demo shop
/// (`edge/src/demo_shop.rs`) is left out: it is a shop, and its answers go to the edge.
fn unauthorized_codes_in_source() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&repo().join("edge/src"), &mut files);
    rust_files(&repo().join("core/src"), &mut files);
    let mut codes = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("demo_shop.rs")) {
        let text = std::fs::read_to_string(file).expect("a source file");
        for (marker, window) in [("unauthorized(\"", 0), ("Unauthorized {", 120)] {
            for (at, _) in text.match_indices(marker) {
                let rest = &text[at + marker.len()..];
                let literal = if window == 0 {
                    Some(rest)
                } else {
                    let near = &rest[..rest.len().min(window)];
                    near.find("code: \"").map(|i| &near[i + 7..])
                };
                if let Some(code) = literal.and_then(|l| l.split('"').next()) {
                    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                        codes.push(code.to_string());
                    }
                }
            }
        }
    }
    codes.sort();
    codes.dedup();
    for expected in ["shop_missing", "shop_unknown", "dashboard_link_missing"] {
        assert!(codes.iter().any(|c| c == expected), "the source scan finds {expected}: {codes:?}");
    }
    codes
}

/// Every `| code | status | when |` table of the doc: code → status. A cell may name several
/// codes (`a` / `b`); a status cell of as many statuses (`404 / 405`) pairs them in order.
fn documented_codes(doc: &str) -> BTreeMap<String, u16> {
    let mut documented = BTreeMap::new();
    let mut in_table = false;
    for line in doc.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if !line.trim_start().starts_with('|') {
            in_table = false;
            continue;
        }
        if cells.len() >= 2 && cells[0] == "code" && cells[1] == "status" {
            in_table = true;
            continue;
        }
        if !in_table || cells[0].starts_with("---") {
            continue;
        }
        let codes: Vec<&str> = cells[0].split('`').skip(1).step_by(2).collect();
        let statuses: Vec<u16> =
            cells[1].split('/').map(|s| s.trim().parse().unwrap_or_else(|_| panic!("a status in {line:?}"))).collect();
        assert!(!codes.is_empty(), "a code in {line:?}");
        assert!(statuses.len() == 1 || statuses.len() == codes.len(), "one status, or one per code: {line:?}");
        for (i, code) in codes.iter().enumerate() {
            let status = statuses[if statuses.len() == 1 { 0 } else { i }];
            if let Some(before) = documented.insert(code.to_string(), status) {
                assert_eq!(before, status, "{code} is listed twice with different statuses");
            }
        }
    }
    documented
}

#[test]
fn the_error_tables_list_every_code_with_its_status_and_nothing_else() {
    let documented = documented_codes(&protocol());
    assert!(documented.len() > 30, "the tables were found: {documented:?}");
    let mut in_code: BTreeMap<String, u16> = BTreeMap::new();
    for e in every_error() {
        if let Some(before) = in_code.insert(e.code().to_string(), e.status()) {
            assert_eq!(before, e.status(), "{} has two statuses in the code", e.code());
        }
    }
    let mut wrong = Vec::new();
    for (code, status) in &in_code {
        match documented.get(code) {
            None => wrong.push(format!("{code} ({status}) is not in docs/protocol.md")),
            Some(d) if d != status => wrong.push(format!("{code} is {status} in the code, {d} in docs/protocol.md")),
            Some(_) => {}
        }
    }
    for code in documented.keys().filter(|c| !in_code.contains_key(*c)) {
        wrong.push(format!("{code} is in docs/protocol.md, but the edge never answers with it"));
    }
    assert!(wrong.is_empty(), "docs/protocol.md's error tables and the code disagree:\n{}", wrong.join("\n"));
}

#[test]
fn the_table_reader_pairs_codes_with_statuses() {
    let doc = "| code | status | when |\n|---|---|---|\n| `a` / `b` | 404 / 405 | x |\n| `c` | 401 | y |\n\n\
               | other | table |\n|---|---|\n| `d` | 1 |\n";
    let read = documented_codes(doc);
    assert_eq!(read, BTreeMap::from([("a".into(), 404), ("b".into(), 405), ("c".into(), 401)]));
}

/// The section under `heading`, to the next heading.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc.find(heading).unwrap_or_else(|| panic!("docs/protocol.md has {heading:?}"));
    let rest = &doc[start + heading.len()..];
    &rest[..rest.find("\n#").unwrap_or(rest.len())]
}

/// The `| name | value |` rows of a section (value without its backticks).
fn inputs(section: &str) -> BTreeMap<String, String> {
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| input"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').splitn(2, '|').map(str::trim).collect();
            let value = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((cells[0].trim_matches('`').to_string(), value.to_string()))
        })
        .collect()
}

/// The first ```text block of a section.
fn text_block(section: &str) -> String {
    let start = section.find("```text\n").expect("a ```text block") + 8;
    let end = section[start..].find("\n```").expect("the block's end");
    section[start..start + end].to_string()
}

/// The backticked value after `label` in a section.
fn after<'a>(section: &'a str, label: &str) -> &'a str {
    let at = section.find(label).unwrap_or_else(|| panic!("{label:?} in the worked example")) + label.len();
    let rest = section[at..].trim_start().strip_prefix('`').expect("a backticked value");
    &rest[..rest.find('`').expect("its end")]
}

#[test]
fn the_worked_notification_signature_is_the_vectors_and_the_codes() {
    let doc = protocol();
    let example = section(&doc, "Worked example: a notification's signature");
    let given = inputs(example);
    let vectors = vector_file("notification_signatures.json");
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == "valid").expect("the valid case");
    let (secret, t, body) = (&given["secret"], given["t"].parse::<i64>().unwrap(), &given["body"]);
    assert_eq!(secret, vectors["secret"].as_str().unwrap());
    assert_eq!(body, case["body"].as_str().unwrap());
    assert_eq!(text_block(example), format!("{t}.{body}"), "the signed message");
    let hex = after(example, "in hex:");
    let header = after(example, "the header is").strip_prefix("Bawaba-Signature: ").expect("the header's name");
    assert_eq!(header, case["header"].as_str().unwrap());
    assert_eq!(header, format!("t={t},v1={hex}"));
    assert_eq!(header, signature::sign(secret.as_bytes(), t, body.as_bytes()), "what the edge computes");
    assert_eq!(signature::verify(secret.as_bytes(), Some(header), body.as_bytes(), t + 299, 300), Ok(()));
}

#[test]
fn the_worked_call_signature_is_the_vectors_and_the_codes() {
    let doc = protocol();
    let example = section(&doc, "Worked example: a signed refund");
    let given = inputs(example);
    let vectors = vector_file("call_signatures.json");
    let case = &vectors["cases"][0];
    let secret = &given["secret"];
    let t: i64 = given["t"].parse().unwrap();
    let (method, path) = given["method and path"].split_once(' ').expect("METHOD /path");
    let call = SignedCall {
        method,
        path_and_query: path,
        shop_id: &given["Bawaba-Shop"],
        idempotency_key: Some(&given["Idempotency-Key"]),
        body: given["body"].as_bytes(),
    };
    assert_eq!(secret, vectors["secret"].as_str().unwrap());
    for (field, value) in [
        ("method", call.method),
        ("path_and_query", call.path_and_query),
        ("shop_id", call.shop_id),
        ("idempotency_key", call.idempotency_key.unwrap()),
        ("body", &given["body"]),
        ("canonical", &text_block(example)),
    ] {
        assert_eq!(case[field].as_str(), Some(value), "{field}");
    }
    let canonical = signature::canonical_call(t, &call);
    assert_eq!(String::from_utf8(canonical.clone()).unwrap(), text_block(example), "what the edge signs");
    assert!(example.contains(&format!("these {} bytes", canonical.len())), "the byte count");
    let hex = after(example, "in hex:");
    let header = after(example, "the header is").strip_prefix("Bawaba-Signature: ").expect("the header's name");
    assert_eq!(header, case["header"].as_str().unwrap());
    assert_eq!(header, format!("t={t},v1={hex}"));
    assert_eq!(header, signature::sign_call(secret.as_bytes(), t, &call), "what the edge computes");
}

#[test]
fn the_quoted_example_code_is_the_examples_code() {
    let doc = protocol();
    let mut quoted = 0;
    for (fence, file) in [
        ("```js\n", "examples/node/shop.js"),
        ("```python\n", "examples/python/shop.py"),
        ("```php\n", "examples/php/router.php"),
    ] {
        let source = std::fs::read_to_string(repo().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (at, _) in doc.match_indices(fence) {
            let block = &doc[at + fence.len()..];
            let block = &block[..block.find("\n```").expect("the block's end")];
            assert!(source.contains(block), "docs/protocol.md quotes code that is not in {file}:\n{block}");
            quoted += 1;
        }
    }
    assert!(quoted >= 6, "the intent, the verifier, the receiver and the refund are quoted ({quoted} blocks)");
}
