//! Checks every case in `tests/vectors/` (the files the Odoo addon checks too).

use bawaba_core::intent::{self, ShopKey};
use bawaba_core::signature::{self, SignedCall};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("valid JSON")
}

#[test]
fn intent_vectors() {
    let v = load("intents.json");
    let now = v["now"].as_i64().unwrap();
    let shops = v["shops"].as_array().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "the file lists every kind of invalid intent");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let lookup = |iss: &str| {
            shops.iter().find(|s| s["id"] == iss).map(|s| ShopKey {
                secret: s["secret"].as_str().unwrap().as_bytes(),
                origin: s["origin"].as_str().unwrap(),
            })
        };
        let verdict = intent::verify(case["token"].as_str().unwrap(), lookup, now);
        let expect = &case["expect"];
        if expect["valid"].as_bool().unwrap() {
            let ok = verdict.unwrap_or_else(|e| panic!("{name}: expected valid, got {}", e.code()));
            assert_eq!(ok.claims.sub, expect["reference"], "{name}");
            assert_eq!(ok.money.minor, expect["amount"].as_i64().unwrap(), "{name}");
            assert_eq!(ok.money.currency.code(), expect["currency"], "{name}");
        } else {
            let err = verdict.err().unwrap_or_else(|| panic!("{name}: expected {}, got valid", expect["error"]));
            assert_eq!(err.code(), expect["error"], "{name}");
        }
    }
}

#[test]
fn notification_signature_vectors() {
    let v = load("notification_signatures.json");
    let secret = v["secret"].as_str().unwrap().as_bytes();
    let tolerance = v["tolerance_secs"].as_i64().unwrap();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let verdict = signature::verify(
            secret,
            case["header"].as_str(),
            case["body"].as_str().unwrap().as_bytes(),
            case["now"].as_i64().unwrap(),
            tolerance,
        );
        let got = match verdict {
            Ok(()) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got, case["expect"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn call_signature_vectors() {
    let v = load("call_signatures.json");
    let secret = v["secret"].as_str().unwrap().as_bytes();
    let tolerance = v["tolerance_secs"].as_i64().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "the file lists every kind of replay");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let call = SignedCall {
            method: case["method"].as_str().unwrap(),
            path_and_query: case["path_and_query"].as_str().unwrap(),
            shop_id: case["shop_id"].as_str().unwrap(),
            idempotency_key: case["idempotency_key"].as_str(),
            body: case["body"].as_str().unwrap().as_bytes(),
        };
        let now = case["now"].as_i64().unwrap();
        let got = match signature::verify_call(secret, case["header"].as_str(), &call, now, tolerance) {
            Ok(()) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got, case["expect"].as_str().unwrap(), "{name}");
        if let Some(canonical) = case["canonical"].as_str() {
            let header = case["header"].as_str().unwrap();
            let t: i64 = header.strip_prefix("t=").and_then(|h| h.split(',').next()).unwrap().parse().unwrap();
            assert_eq!(signature::canonical_call(t, &call), canonical.as_bytes(), "{name}: canonical bytes");
            assert_eq!(signature::sign_call(secret, t, &call), header, "{name}: same header");
        }
    }
    let expected: Vec<&str> = cases.iter().map(|c| c["expect"].as_str().unwrap()).collect();
    for code in ["ok", "signature_invalid", "signature_expired", "signature_malformed", "signature_missing"] {
        assert!(expected.contains(&code), "a case expects {code}");
    }
}

#[test]
fn currency_vectors_match_the_exponent_table_and_the_gateways() {
    use bawaba_core::gateway::{aps, moyasar, paytabs, sandbox, tap};
    use bawaba_core::money::Currency;
    let v = load("currencies.json");
    let exponents = v["exponents"].as_object().unwrap();
    assert_eq!(exponents.len(), Currency::all().count(), "run `cargo xtask vectors`");
    for currency in Currency::all() {
        assert_eq!(exponents[currency.code()], currency.exponent(), "{currency}: run `cargo xtask vectors`");
    }
    for (code, capabilities) in [
        (sandbox::CODE, sandbox::CAPABILITIES),
        (moyasar::CODE, moyasar::CAPABILITIES),
        (tap::CODE, tap::CAPABILITIES),
        (aps::CODE, aps::CAPABILITIES),
        (paytabs::CODE, paytabs::CAPABILITIES),
    ] {
        let listed: Vec<&str> = v["gateways"][code].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert_eq!(listed, capabilities.currencies, "{code}: run `cargo xtask vectors`");
    }
}

#[test]
fn dashboard_link_vectors() {
    use bawaba_core::dashboard::link;
    let v = load("dashboard_links.json");
    let secret = v["secret"].as_str().unwrap().as_bytes();
    let now = v["now"].as_i64().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let verdict = link::verify(case["token"].as_str().unwrap(), |iss| (iss == v["shop_id"]).then_some(secret), now);
        let got = match verdict {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got, case["expect"].as_str().unwrap(), "{name}");
    }
}
