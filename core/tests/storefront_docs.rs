//! `docs/storefront.md` and `docs/storefront.ar.md` against the widget's code, so the page a
//! storefront developer works from names every hook the widget has and none it lacks.
//!
//! From `widget/src/*.rs` and the loader (`www/bawaba.js`), by plain string scanning:
//!
//! - the attributes it reads (`get_attribute("…")`, `has_attribute("…")`, the loader's
//!   `observedAttributes`), less those it writes on the element itself (`host.set_attribute`);
//! - the events it fires (`dispatch(parts, "bawaba:…", &[("key", …), …])`) and their `detail` keys;
//! - its `data-state` values (`set_state(parts, "…")`);
//! - its parts (`part=…` in its markup, `("part", "…")`, or `("part", &name)` with `let name =
//!   join(&["mark mark-", …])`; `mark-` is a prefix that stands for `mark-<method>`);
//! - its custom properties and their defaults, light then dark (`var(--bawaba-…,default)`);
//! - the media features its style answers (`@media (prefers-…:…)`).
//!
//! Each page's tables of attributes, events, states, parts and custom properties must list
//! exactly those (a missing one fails, and so does one the code lacks), each property's row must
//! give its defaults in order and each event's row its `detail` keys, and anywhere in the page a
//! `--bawaba-…`, `::part(…)`, `bawaba:…` or `data-state="…"` must exist in the code. The pages'
//! relative links (and their anchors) must resolve, the two pages link each other, README links
//! both, and the Arabic page is right to left.
//!
//! The one thing taken from the crate rather than scanned: the method codes
//! ([`PaymentMethod::DISPLAY_ORDER`]) that complete the `mark-` part prefix.

use bawaba_core::method::PaymentMethod;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("core/ is in the repository").to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// `widget/src/*.rs`, in name order, as one text.
fn widget_sources() -> String {
    let dir = repo().join("widget/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("widget/src")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .rs file in {dir:?}");
    files.iter().map(|f| std::fs::read_to_string(f).expect("a widget source")).collect::<Vec<_>>().join("\n")
}

/// The content of the string literal that `s` starts with (after optional whitespace), if any.
fn leading_literal(s: &str) -> Option<&str> {
    let s = s.trim_start().strip_prefix('"')?;
    s.find('"').map(|end| &s[..end])
}

/// The string literal right after each occurrence of `needle`.
fn literals_after(text: &str, needle: &str) -> Vec<String> {
    text.match_indices(needle)
        .filter_map(|(i, _)| leading_literal(&text[i + needle.len()..]))
        .map(String::from)
        .collect()
}

/// The keys of the `("key", value)` pairs in `segment`: each literal right after a `(`.
fn tuple_keys(segment: &str) -> Vec<String> {
    literals_after(segment, "(")
}

/// What the widget's code says.
struct Code {
    /// Attributes the page sets on the element (read by the widget).
    inputs: BTreeSet<String>,
    /// Attributes the widget sets (on the element, and `data-code` on the error part).
    outputs: BTreeSet<String>,
    /// Event name → its `detail` keys.
    events: BTreeMap<String, Vec<String>>,
    states: BTreeSet<String>,
    /// Part names; a prefix part (`mark-`) is written `mark-<method>`.
    parts: BTreeSet<String>,
    /// Part prefixes (`mark-`), each followed by a method code.
    part_prefixes: BTreeSet<String>,
    /// Custom property → its defaults, in the order the style gives them (light, then dark).
    properties: BTreeMap<String, Vec<String>>,
    /// `prefers-color-scheme`, `prefers-reduced-motion`, …
    media: BTreeSet<String>,
}

fn code() -> Code {
    let rs = widget_sources();
    let loader = read("www/bawaba.js");

    let observed_at = loader.find("observedAttributes").expect("the loader declares observedAttributes");
    let observed_list = &loader[observed_at..];
    let observed_list = &observed_list[observed_list.find('[').expect("[")..=observed_list.find(']').expect("]")];
    let observed: BTreeSet<String> =
        observed_list.split(',').filter_map(|s| leading_literal(s.trim_start_matches('['))).map(String::from).collect();
    let mut read_attrs: BTreeSet<String> = literals_after(&rs, "get_attribute(").into_iter().collect();
    read_attrs.extend(literals_after(&rs, "has_attribute("));
    for name in &observed {
        assert!(read_attrs.contains(name), "the loader observes `{name}`, which the widget never reads");
    }
    read_attrs.extend(observed);
    let mut outputs: BTreeSet<String> = literals_after(&rs, "host.set_attribute(").into_iter().collect();
    outputs.extend(literals_after(&rs, "error.set_attribute("));
    let inputs = read_attrs.difference(&outputs).cloned().collect();

    let mut events = BTreeMap::new();
    for (i, _) in rs.match_indices("dispatch(") {
        let rest = &rs[i + "dispatch(".len()..];
        let call = &rest[..rest.find(['{', ';']).unwrap_or(rest.len())];
        let Some(quote) = call.find('"') else { continue };
        let Some(name) = leading_literal(&call[quote..]) else { continue };
        assert!(name.starts_with("bawaba:"), "an event not named bawaba:…: {name}");
        let detail = &call[quote + name.len() + 2..];
        events.insert(name.to_string(), tuple_keys(detail));
    }

    let mut states = BTreeSet::new();
    for (i, _) in rs.match_indices("set_state(") {
        let rest = &rs[i + "set_state(".len()..];
        let call = &rest[..rest.find(')').expect("a closing parenthesis")];
        if let Some(quote) = call.find('"') {
            states.insert(leading_literal(&call[quote..]).expect("a state literal").to_string());
        }
    }

    let (mut parts, mut part_prefixes) = (BTreeSet::new(), BTreeSet::new());
    let mut add_part_names = |names: &str| {
        for name in names.split_whitespace() {
            if name.ends_with('-') {
                part_prefixes.insert(name.to_string());
                parts.insert(format!("{name}<method>"));
            } else {
                parts.insert(name.to_string());
            }
        }
    };
    // In the widget's markup (`dom::markup`): `part=name` or `part=\"mark mark-` (a prefix the
    // method's code completes).
    for (i, _) in rs.match_indices("part=") {
        let rest = &rs[i + "part=".len()..];
        let names = match rest.strip_prefix("\\\"") {
            Some(quoted) => &quoted[..quoted.find(['\\', '"']).expect("a quoted part closes")],
            None => &rest[..rest.find([' ', '>', '"']).expect("a part name ends")],
        };
        add_part_names(names);
    }
    for (i, _) in rs.match_indices("(\"part\", ") {
        let rest = &rs[i + "(\"part\", ".len()..];
        let names = match leading_literal(rest) {
            Some(names) => names.to_string(),
            None => {
                let ident = rest.trim_start_matches('&');
                let ident = &ident[..ident.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(0)];
                let binding = format!("let {ident} = join(&[");
                literals_after(&rs, &binding).into_iter().next().unwrap_or_else(|| {
                    panic!("part `{ident}`: no `{binding}\"…\"` to read its names from; teach storefront_docs.rs")
                })
            }
        };
        add_part_names(&names);
    }

    let mut properties: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, _) in rs.match_indices("var(--bawaba-") {
        let rest = &rs[i + "var(".len()..];
        let end = rest.find([',', ')']).expect("var(…) closes");
        let defaults = properties.entry(rest[..end].to_string()).or_default();
        if rest[end..].starts_with(',') {
            let value = rest[end + 1..rest.find(')').expect(")")].trim().to_string();
            if !defaults.contains(&value) {
                defaults.push(value);
            }
        }
    }

    let media = rs
        .match_indices("@media (")
        .map(|(i, _)| {
            let rest = &rs[i + "@media (".len()..];
            rest[..rest.find(':').expect("a media feature")].to_string()
        })
        .collect();

    let found = Code { inputs, outputs, events, states, parts, part_prefixes, properties, media };
    // The scanning itself: if the code is restructured so that these are no longer found, this
    // test must be taught the new shape rather than pass on empty sets.
    assert!(found.inputs.contains("intent") && found.inputs.contains("lang"), "attributes: {:?}", found.inputs);
    assert!(found.outputs.contains("data-state"), "outputs: {:?}", found.outputs);
    assert!(found.events.contains_key("bawaba:error") && found.events.contains_key("bawaba:redirect"));
    assert!(found.events.values().all(|keys| !keys.is_empty()), "events without detail: {:?}", found.events);
    assert!(found.states.contains("ready") && found.states.contains("error"), "states: {:?}", found.states);
    assert!(found.parts.contains("pay-button") && !found.part_prefixes.is_empty(), "parts: {:?}", found.parts);
    assert!(found.properties.get("--bawaba-accent").is_some_and(|d| d.len() == 2), "{:?}", found.properties);
    assert!(!found.media.is_empty(), "media features");
    found
}

/// One page and the header words of its tables.
struct Page {
    path: &'static str,
    attribute: &'static str,
    event: &'static str,
    part: &'static str,
    property: &'static str,
}

const PAGES: [Page; 2] = [
    Page {
        path: "docs/storefront.md",
        attribute: "attribute",
        event: "event",
        part: "part",
        property: "custom property",
    },
    Page {
        path: "docs/storefront.ar.md",
        attribute: "السمة",
        event: "الحدث",
        part: "الجزء",
        property: "الخاصية المخصّصة",
    },
];

/// The rows of the table whose header's first cell is `header`: (first cell without backticks,
/// whole row).
fn table(doc: &str, path: &str, header: &str) -> Vec<(String, String)> {
    let mut lines = doc.lines().skip_while(|l| !l.starts_with(&format!("| {header} |")));
    assert!(lines.next().is_some(), "{path}: no table whose header starts with `| {header} |`");
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let first = row.split('|').nth(1).expect("a first cell").trim().trim_matches('`').to_string();
            (first, row.to_string())
        })
        .collect()
}

fn first_cells(rows: &[(String, String)]) -> BTreeSet<String> {
    rows.iter().map(|(first, _)| first.clone()).collect()
}

/// Each `prefix` + name in `doc`, the name made of `[a-z0-9<>-]`.
fn names_after(doc: &str, prefix: &str) -> BTreeSet<String> {
    doc.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &doc[i + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-<>".contains(c)));
            rest[..end.unwrap_or(rest.len())].to_string()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut found = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            found.insert(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// The targets of `[text](target)` links.
fn links(doc: &str) -> Vec<String> {
    doc.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &doc[i + 2..];
            rest.find(')').map(|end| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn the_pages_list_exactly_the_widgets_attributes_events_states_parts_and_properties() {
    let code = code();
    let mut failures = Vec::new();
    for page in &PAGES {
        let doc = read(page.path);
        let path = page.path;
        let mut same = |what: &str, documented: BTreeSet<String>, actual: &BTreeSet<String>| {
            for missing in actual.difference(&documented) {
                failures.push(format!("{path}: the {what} table lacks `{missing}`, which the widget has"));
            }
            for invented in documented.difference(actual) {
                failures.push(format!("{path}: the {what} table lists `{invented}`, which the widget lacks"));
            }
        };

        same("attribute", first_cells(&table(&doc, path, page.attribute)), &code.inputs);
        let events = table(&doc, path, page.event);
        same("event", first_cells(&events), &code.events.keys().cloned().collect());
        same("data-state", first_cells(&table(&doc, path, "`data-state`")), &code.states);
        let parts = first_cells(&table(&doc, path, page.part))
            .into_iter()
            .map(|cell| cell.strip_prefix("::part(").and_then(|c| c.strip_suffix(')')).unwrap_or(&cell).to_string())
            .collect();
        same("part", parts, &code.parts);
        let properties = table(&doc, path, page.property);
        same("custom property", first_cells(&properties), &code.properties.keys().cloned().collect());

        for (name, defaults) in &code.properties {
            let Some((_, row)) = properties.iter().find(|(first, _)| first == name) else { continue };
            let mut from = 0;
            for default in defaults {
                match row[from..].find(&format!("`{default}`")) {
                    Some(at) => from += at + default.len(),
                    None => failures.push(format!("{path}: `{name}`'s row lacks its default `{default}` (in order)")),
                }
            }
        }
        for (event, keys) in &code.events {
            let Some((_, row)) = events.iter().find(|(first, _)| first == event) else { continue };
            for key in keys {
                if !row.contains(&format!("`detail.{key}`")) {
                    failures.push(format!("{path}: `{event}`'s row does not name `detail.{key}`"));
                }
            }
        }
        for attribute in &code.outputs {
            if !doc.contains(&format!("`{attribute}`")) {
                failures.push(format!("{path}: the widget sets `{attribute}`, which the page does not name"));
            }
        }
        for feature in &code.media {
            if !doc.contains(&format!("`{feature}")) {
                failures.push(format!("{path}: the widget's style answers `{feature}`, which the page does not say"));
            }
        }

        // Anywhere in the page: no hook the code lacks.
        for property in names_after(&doc, "--bawaba-") {
            if !code.properties.contains_key(&format!("--bawaba-{property}")) {
                failures.push(format!("{path}: `--bawaba-{property}` does not exist in the widget"));
            }
        }
        for part in names_after(&doc, "::part(") {
            let by_prefix = code.part_prefixes.iter().any(|prefix| {
                part.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| PaymentMethod::DISPLAY_ORDER.iter().any(|m| m.code() == rest))
            });
            if !code.parts.contains(&part) && !by_prefix {
                failures.push(format!("{path}: `::part({part})` does not exist in the widget"));
            }
        }
        for event in names_after(&doc, "bawaba:") {
            if !code.events.contains_key(&format!("bawaba:{event}")) {
                failures.push(format!("{path}: the event `bawaba:{event}` does not exist in the widget"));
            }
        }
        for state in names_after(&doc, "data-state=\"") {
            if !code.states.contains(&state) {
                failures.push(format!("{path}: `data-state=\"{state}\"` does not exist in the widget"));
            }
        }
    }
    assert!(failures.is_empty(), "the storefront pages disagree with the widget:\n{}", failures.join("\n"));
}

#[test]
fn the_pages_links_resolve_and_the_pages_are_linked() {
    let mut failures = Vec::new();
    for page in &PAGES {
        let doc = read(page.path);
        let dir = Path::new(page.path).parent().expect("docs/");
        for target in links(&doc) {
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target.as_str(), None),
            };
            let relative = if file.is_empty() { PathBuf::from(page.path) } else { dir.join(file) };
            let full = repo().join(&relative);
            if !full.exists() {
                failures.push(format!("{}: the link `{target}` points to no file ({relative:?})", page.path));
                continue;
            }
            if let Some(fragment) = fragment {
                let text = std::fs::read_to_string(&full).unwrap_or_default();
                if !anchors(&text).contains(fragment) {
                    failures
                        .push(format!("{}: the link `{target}`: {relative:?} has no heading `#{fragment}`", page.path));
                }
            }
        }
    }
    let english = read("docs/storefront.md");
    let arabic = read("docs/storefront.ar.md");
    if !english.contains("](storefront.ar.md)") {
        failures.push("docs/storefront.md does not link docs/storefront.ar.md".into());
    }
    if !arabic.contains("](storefront.md)") {
        failures.push("docs/storefront.ar.md does not link docs/storefront.md".into());
    }
    let readme = read("README.md");
    for page in ["](docs/storefront.md)", "](docs/storefront.ar.md)"] {
        if !readme.contains(page) {
            failures.push(format!("README.md has no link {page}"));
        }
    }
    if !arabic.trim_start().starts_with("<div dir=\"rtl\" lang=\"ar\">") || !arabic.trim_end().ends_with("</div>") {
        failures.push("docs/storefront.ar.md is not wrapped in <div dir=\"rtl\" lang=\"ar\"> … </div>".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
