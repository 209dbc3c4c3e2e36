//! Mutators: byte-level (flips, insertions, deletions, truncation, splicing) and JSON-aware
//! (a value replaced with a huge or negative number, a float, another type, a very long or
//! unusual Unicode string, deep nesting; keys removed or added), applied to realistic seeds.

use crate::rng::Rng;
use serde_json::{Map, Value};

/// Fragments that parsers of these formats treat specially.
const TOKENS: &[&str] = &[
    "\0",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\"",
    "\\",
    "'",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "=",
    "&",
    "+",
    "%",
    "%%",
    "%0",
    "%zz",
    "%00",
    "%C3%A9",
    "%FF",
    "-",
    ".",
    "..",
    "e",
    "E",
    "e-",
    "1e308",
    "-0",
    "0x10",
    "NaN",
    "inf",
    "null",
    "true",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "0.0000000000000000001",
    "99999999999999999999.99",
    "t=",
    "v1=",
    "v0=",
    ",v1=",
    "t=1800000000",
    "|",
    "ر",
    "é",
    "😀",
    "\u{202e}",
    "\u{feff}",
    "\u{ffff}",
    "\u{10ffff}",
    "\u{85}",
    "\u{2028}",
    "=?",
    "../",
    "https://",
    "http://",
    "https://shop.example",
    "@",
    "#",
    "?",
    "SAR",
    "KWD",
    "JPY",
    "sar",
    "XXX",
    "mada",
    "bawaba",
];

/// The interesting fragments, for targets that build strings.
pub fn token(rng: &mut Rng) -> &'static str {
    TOKENS[rng.below(TOKENS.len())]
}

/// A random string: bytes, ASCII, or fragments, of a length that is sometimes large.
pub fn random_text(rng: &mut Rng) -> String {
    let len = if rng.one_in(16) { 1 + rng.below(5000) } else { rng.below(48) };
    match rng.below(4) {
        0 => String::from_utf8_lossy(&rng.bytes(len)).into_owned(),
        1 => (0..len).map(|_| (0x20 + rng.below(0x5f)) as u8 as char).collect(),
        2 => (0..len.min(64)).map(|_| token(rng)).collect(),
        _ => (0..len).map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}')).collect(),
    }
}

/// Random bytes (sometimes none, sometimes many).
pub fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = if rng.one_in(16) { rng.below(70_000) } else { rng.below(300) };
    rng.bytes(len)
}

/// 1 to 6 byte-level mutations of `seed`; `corpus` gives splicing material.
pub fn bytes(rng: &mut Rng, seed: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        mutate_once(rng, &mut out, corpus);
    }
    out
}

fn mutate_once(rng: &mut Rng, out: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = out.len();
    match rng.below(11) {
        0 if len > 0 => {
            let i = rng.below(len);
            out[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            out[i] = rng.byte();
        }
        2 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let b = rng.bytes(n);
            out.splice(i..i, b);
        }
        3 | 4 => {
            let i = rng.below(len + 1);
            let t = token(rng).as_bytes().to_vec();
            out.splice(i..i, t);
        }
        5 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(32));
            out.drain(i..i + n);
        }
        6 => out.truncate(rng.below(len + 1)),
        7 if len > 0 => {
            // Duplicate a slice (repeated keys, repeated `v1=`).
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            let dup = out[i..i + n].to_vec();
            let at = rng.below(len + 1);
            out.splice(at..at, dup);
        }
        8 if !corpus.is_empty() => {
            // Splice: our head, another seed's tail.
            let other = rng.pick(corpus);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            out.truncate(cut);
            out.extend_from_slice(&other[from..]);
        }
        9 if len > 0 => {
            // Replace a digit run's digit with another digit (keeps the shape, moves the value).
            let i = rng.below(len);
            if out[i].is_ascii_digit() {
                out[i] = b'0' + rng.below(10) as u8;
            } else {
                out[i] = *rng.pick(b"0123456789-.e");
            }
        }
        _ => {
            let i = rng.below(len + 1);
            let t = random_text(rng).into_bytes();
            out.splice(i..i, t.into_iter().take(64));
        }
    }
}

/// A replacement value chosen to break a reader of this JSON.
pub fn nasty_value(rng: &mut Rng) -> Value {
    match rng.below(16) {
        0 => Value::from(u64::MAX),
        1 => Value::from(i64::MIN),
        2 => Value::from(i64::MAX),
        3 => Value::from(-(rng.below(1000) as i64) - 1),
        4 => Value::from(*rng.pick(&[0.5, -0.01, 1e308, -1e308, 1e-300, 45.505, 1.0000000001, 0.1 + 0.2])),
        5 => Value::from(0),
        6 => Value::String("x".repeat(1 + rng.below(20_000))),
        7 => Value::String(random_text(rng)),
        8 => Value::String(String::from(*rng.pick(&["ر", "\u{0}", "😀".repeat(50).as_str(), "\u{202e}abc", ""]))),
        9 => Value::Bool(rng.one_in(2)),
        10 => Value::Null,
        11 => Value::Array(vec![Value::from(1), Value::String("a".into())]),
        12 => Value::Object(Map::new()),
        13 => deep(rng.below(200)),
        14 => Value::String(String::from(*rng.pick(&[
            "1e3",
            "-1",
            "1.",
            ".5",
            "١٢٣",
            "00000000000000000000001",
            "99999999999999999999",
            "45.50",
            "0",
            "NaN",
        ]))),
        _ => Value::String(token(rng).to_string()),
    }
}

/// Arrays or objects nested `depth` deep (serde_json stops at 128 levels).
pub fn deep(depth: usize) -> Value {
    let mut v = Value::from(1);
    for i in 0..depth {
        v = if i % 2 == 0 { Value::Array(vec![v]) } else { Value::Object(Map::from_iter([("a".to_string(), v)])) };
    }
    v
}

/// Counts the nodes of a JSON value.
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`th node (pre-order).
fn nth_mut<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| nth_mut(c, n)),
        Value::Object(o) => o.values_mut().find_map(|c| nth_mut(c, n)),
        _ => None,
    }
}

/// 1 to 3 JSON-aware mutations of `value`.
pub fn json(rng: &mut Rng, value: &Value) -> Value {
    let mut out = value.clone();
    for _ in 0..1 + rng.below(3) {
        let mut n = rng.below(count(&out));
        let Some(node) = nth_mut(&mut out, &mut n) else { continue };
        match rng.below(6) {
            0..=2 => *node = nasty_value(rng),
            3 => {
                if let Value::Object(o) = node {
                    if !o.is_empty() {
                        let key = o.keys().nth(rng.below(o.len())).cloned().unwrap_or_default();
                        o.remove(&key);
                    }
                }
            }
            4 => {
                if let Value::Object(o) = node {
                    o.insert(random_text(rng), nasty_value(rng));
                } else if let Value::Array(a) = node {
                    let v = nasty_value(rng);
                    a.push(v);
                }
            }
            _ => {
                // Shift a number by a little (amounts off by one, timestamps out of tolerance).
                if let Some(i) = node.as_i64() {
                    *node = Value::from(i.wrapping_add(rng.below(601) as i64 - 300));
                } else if let Some(f) = node.as_f64() {
                    *node = Value::from(f + (rng.below(3) as f64 - 1.0) * 0.001);
                } else {
                    *node = nasty_value(rng);
                }
            }
        }
    }
    out
}

/// A mutated variant of `seed`: byte-level, JSON-aware (when it is JSON), or both, or random.
pub fn any(rng: &mut Rng, seed: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let parsed = serde_json::from_slice::<Value>(seed).ok();
    match (rng.below(10), parsed) {
        (0, _) => random_bytes(rng),
        (1, _) => seed.to_vec(),
        (2..=5, Some(v)) => serde_json::to_vec(&json(rng, &v)).unwrap_or_default(),
        (6, Some(v)) => {
            let m = serde_json::to_vec(&json(rng, &v)).unwrap_or_default();
            bytes(rng, &m, corpus)
        }
        _ => bytes(rng, seed, corpus),
    }
}
