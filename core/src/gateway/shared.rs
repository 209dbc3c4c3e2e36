//! Helpers every gateway may use, gateway-neutral (no real gateway depends on the sandbox).

/// Percent-encodes one path segment (ids from gateways go into URLs).
pub fn urlencode_path(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The last four characters of a (masked) card number: `"411111******1111"` → `"1111"`.
pub fn last_four(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_and_last_four() {
        assert_eq!(urlencode_path("inv_1/../x y"), "inv_1%2F%2E%2E%2Fx%20y", "no way out of the path");
        assert_eq!(last_four("411111******1111"), "1111");
        assert_eq!(last_four("12"), "12");
    }
}
