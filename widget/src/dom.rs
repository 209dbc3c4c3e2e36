//! DOM helpers: an event listener that removes itself when dropped (as gloo-events does, without
//! the extra crate), element builders that set text, and [`markup`], which builds HTML only from
//! the widget's own constants.
//!
//! Markup is one string per part of the widget because it is far smaller in the download than
//! an element, attribute and append call for each node. What the edge or the page sends (the
//! amount, the shop's name, a form's fields) never goes into markup: it is set as text or as an
//! attribute value, through [`el`] and [`attrs`].

use wasm_bindgen::prelude::*;
use wasm_bindgen::UnwrapThrowExt;
use web_sys::{Document, Element, Event, EventTarget};

/// An event listener tied to a Rust value's lifetime: dropping it removes it from the DOM.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl Listener {
    /// Listens for `kind` events on `target`.
    pub fn new(target: &EventTarget, kind: &'static str, f: impl FnMut(Event) + 'static) -> Self {
        let callback = Closure::wrap(Box::new(f) as Box<dyn FnMut(Event)>);
        let _ = target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        Listener { target: target.clone(), kind, callback }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}

/// HTML from the widget's own strings. `&'static str` only, so nothing that arrives while the
/// widget runs (from the edge, the page or the shopper) can become markup.
pub fn markup(pieces: &[&'static str]) -> String {
    let mut out = String::new();
    for piece in pieces {
        out.push_str(piece);
    }
    out
}

/// Creates `<tag class="class">text</tag>`.
pub fn el(doc: &Document, tag: &str, class: &str, text: &str) -> Element {
    // `expect_throw`, not `expect`: `expect` would format the JS error with `Debug`, whose code
    // (and the glue's `debugString`) every shopper would download for a failure that the
    // widget's own tag names cannot cause.
    let e = doc.create_element(tag).expect_throw("valid tag name");
    if !class.is_empty() {
        e.set_class_name(class);
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    e
}

/// Sets attributes, ignoring failures (names here are constants).
pub fn attrs(e: &Element, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        let _ = e.set_attribute(k, v);
    }
}
