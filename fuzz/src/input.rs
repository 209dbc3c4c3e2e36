//! One generated input: named parts (a body, a header, a clock), so a failure can be shown part
//! by part and a target reads what it made by name.

use std::fmt::Write;

/// Named byte strings. A header part is named `header:<Name>`; a missing part is an absent value.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The parts, in the order they were added.
    pub parts: Vec<(String, Vec<u8>)>,
}

impl Input {
    /// An empty input.
    pub fn new() -> Input {
        Input::default()
    }

    /// Adds a part.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Input {
        self.parts.push((name.into(), value.into()));
        self
    }

    /// Adds a number (as its decimal text).
    pub fn with_i64(self, name: &str, value: i64) -> Input {
        self.with(name, value.to_string())
    }

    /// The part's bytes, if present.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.parts.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// The part's bytes, or empty.
    pub fn bytes(&self, name: &str) -> &[u8] {
        self.get(name).unwrap_or(&[])
    }

    /// The part as text (lossy: the edge only ever hands these parsers `&str`).
    pub fn text(&self, name: &str) -> String {
        String::from_utf8_lossy(self.bytes(name)).into_owned()
    }

    /// The part as optional text (absent part: `None`).
    pub fn opt_text(&self, name: &str) -> Option<String> {
        self.get(name).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The part as a number (0 if absent or not a number).
    pub fn i64(&self, name: &str) -> i64 {
        std::str::from_utf8(self.bytes(name)).ok().and_then(|t| t.parse().ok()).unwrap_or(0)
    }

    /// Reads a request header as the Workers runtime does: case-insensitive names.
    pub fn header(&self, name: &str) -> Option<String> {
        self.parts.iter().find_map(|(n, v)| {
            n.strip_prefix("header:")
                .filter(|h| h.eq_ignore_ascii_case(name))
                .map(|_| String::from_utf8_lossy(v).into_owned())
        })
    }

    /// Every part in hex and as lossy text, for a failure report.
    pub fn describe(&self) -> String {
        const MAX: usize = 4096;
        let mut out = String::new();
        for (name, value) in &self.parts {
            let shown = &value[..value.len().min(MAX)];
            let more = if value.len() > MAX { format!(" … ({} bytes in all)", value.len()) } else { String::new() };
            let _ = writeln!(out, "  {name} ({} bytes)", value.len());
            let _ = writeln!(out, "    hex:  {}{more}", hex::encode(shown));
            let _ = writeln!(out, "    text: {:?}{more}", String::from_utf8_lossy(shown));
        }
        out
    }
}
