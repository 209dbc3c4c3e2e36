//! DOM helpers: an event listener that removes itself when dropped (as gloo-events does, without
//! the extra crate), and element builders that only ever set text, never HTML (the one markup
//! the widget inserts is its own constant SVG marks, `marks.rs`).

use wasm_bindgen::prelude::*;
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

/// Creates `<tag class="class">text</tag>`.
pub fn el(doc: &Document, tag: &str, class: &str, text: &str) -> Element {
    let e = doc.create_element(tag).expect("valid tag name");
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
