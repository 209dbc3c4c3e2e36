//! The widget in a real browser (headless Chromium via wasm-bindgen-test-runner).
#![cfg(target_arch = "wasm32")]

use bawaba_widget::{detect_locale, i18n::Locale, mount, render_for_test};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const METHODS: &str = r#"{"reference":"S1","amount":4550,"currency":"SAR","amount_display":"45.50",
  "methods":[{"code":"mada","gateway":"sandbox"},{"code":"visa","gateway":"sandbox"},{"code":"mastercard","gateway":"sandbox"}]}"#;

fn host(lang: &str) -> HtmlElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let wrapper = doc.create_element("div").unwrap();
    wrapper.set_attribute("lang", lang).unwrap();
    let host: HtmlElement = doc.create_element("bawaba-checkout").unwrap().dyn_into().unwrap();
    wrapper.append_child(&host).unwrap();
    doc.body().unwrap().append_child(&wrapper).unwrap();
    host
}

fn shadow_query(host: &HtmlElement, css: &str) -> Element {
    host.shadow_root().expect("shadow root").query_selector(css).unwrap().unwrap_or_else(|| panic!("no {css}"))
}

async fn next_tick() {
    let p = js_sys::Promise::resolve(&wasm_bindgen::JsValue::NULL);
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

#[wasm_bindgen_test]
fn arabic_pages_get_a_right_to_left_widget_in_arabic() {
    let h = host("ar-SA");
    assert_eq!(detect_locale(&h), Locale::Ar);
    render_for_test(h.clone(), METHODS).unwrap();
    let container = shadow_query(&h, ".bw");
    assert_eq!(container.get_attribute("dir").as_deref(), Some("rtl"));
    assert_eq!(shadow_query(&h, "legend").text_content().unwrap(), "اختر طريقة الدفع");
    assert_eq!(shadow_query(&h, "label.method span:not(.mark)").text_content().unwrap(), "مدى");
    assert!(shadow_query(&h, ".total").text_content().unwrap().contains("45.50"));
}

#[wasm_bindgen_test]
fn methods_keep_the_edge_order_and_the_first_is_preselected() {
    let h = host("en");
    render_for_test(h.clone(), METHODS).unwrap();
    let rows = h.shadow_root().unwrap().query_selector_all("label.method").unwrap();
    let order: Vec<String> = (0..rows.length())
        .map(|i| rows.item(i).unwrap().dyn_into::<Element>().unwrap().get_attribute("data-method").unwrap())
        .collect();
    assert_eq!(order, ["mada", "visa", "mastercard"]);
    let checked = shadow_query(&h, "input:checked");
    assert_eq!(checked.get_attribute("value").as_deref(), Some("mada"));
    assert_eq!(h.get_attribute("data-state").as_deref(), Some("ready"));
    let button = shadow_query(&h, "button.pay").dyn_into::<web_sys::HtmlButtonElement>().unwrap();
    assert!(!button.disabled());
}

#[wasm_bindgen_test]
fn accessibility_roles_are_in_place() {
    let h = host("en");
    render_for_test(h.clone(), METHODS).unwrap();
    assert_eq!(shadow_query(&h, ".status").get_attribute("role").as_deref(), Some("status"));
    assert_eq!(shadow_query(&h, ".error").get_attribute("role").as_deref(), Some("alert"));
    assert_eq!(shadow_query(&h, ".methods").get_attribute("role").as_deref(), Some("radiogroup"));
    assert_eq!(shadow_query(&h, "button.pay").get_attribute("type").as_deref(), Some("button"));
}

#[wasm_bindgen_test]
async fn a_missing_intent_is_an_error_the_shopper_can_read() {
    let h = host("ar");
    // The page (Odoo's payment form) hears the error with its code and the shopper's message.
    let heard = std::rc::Rc::new(std::cell::RefCell::new(None::<(String, String)>));
    let sink = heard.clone();
    let listener =
        wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
            let field = |k: &str| js_sys::Reflect::get(&e.detail(), &k.into()).unwrap().as_string().unwrap_or_default();
            *sink.borrow_mut() = Some((field("code"), field("message")));
        });
    h.add_event_listener_with_callback("bawaba:error", listener.as_ref().unchecked_ref()).unwrap();
    mount(h.clone(), "http://127.0.0.1:9".into());
    next_tick().await;
    next_tick().await;
    assert_eq!(h.get_attribute("data-state").as_deref(), Some("error"));
    let error = shadow_query(&h, ".error");
    assert_eq!(error.get_attribute("data-code").as_deref(), Some("intent_missing"));
    let shown = error.text_content().unwrap();
    assert!(!shown.is_empty());
    let (code, message) = heard.borrow().clone().expect("a bawaba:error event");
    assert_eq!(code, "intent_missing");
    assert_eq!(message, shown, "the event carries what the shopper reads, in Arabic here");
    // The focus moves to the error, so a keyboard or screen-reader user is where it is told.
    let focused = h.shadow_root().unwrap().active_element().expect("something has the focus");
    assert_eq!(focused.class_name(), "error");
}

#[wasm_bindgen_test]
fn every_method_has_its_mark_and_madas_is_first_and_never_smaller() {
    let h = host("en");
    let all = r#"{"reference":"S1","amount":4550,"currency":"SAR","amount_display":"45.50",
      "methods":[{"code":"mada"},{"code":"visa"},{"code":"mastercard"},{"code":"amex"},{"code":"applepay"},
                 {"code":"stcpay"},{"code":"paypal"}]}"#;
    render_for_test(h.clone(), all).unwrap();
    let marks = h.shadow_root().unwrap().query_selector_all("label.method .mark").unwrap();
    assert_eq!(marks.length(), 7);
    let mut sizes = Vec::new();
    for i in 0..marks.length() {
        let mark: Element = marks.item(i).unwrap().dyn_into().unwrap();
        let row = mark.parent_element().unwrap();
        let code = row.get_attribute("data-method").unwrap();
        assert_eq!(mark.get_attribute("part"), Some(format!("mark mark-{code}")));
        let svg = mark.query_selector("svg").unwrap().expect("an SVG mark");
        assert_eq!(svg.get_attribute("aria-hidden").as_deref(), Some("true"), "decorative: the name follows");
        assert!(!mark.inner_html().contains(" style="), "{code}: no style attribute, which a strict CSP refuses");
        let r = svg.get_bounding_client_rect();
        sizes.push((code, r.width(), r.height()));
    }
    assert_eq!(sizes[0].0, "mada", "mada first");
    for (code, w, h) in &sizes[1..] {
        assert!(sizes[0].1 >= *w && sizes[0].2 >= *h, "mada {:?} smaller than {code} ({w}×{h})", sizes[0]);
    }
    assert!(sizes[0].2 >= 24.0, "marks are drawn 24 px high: {:?}", sizes[0]);
}

#[wasm_bindgen_test]
fn arabic_indic_digits_on_request() {
    let h = host("ar");
    h.set_attribute("digits", "arab").unwrap();
    render_for_test(h.clone(), METHODS).unwrap();
    let total = shadow_query(&h, ".total").text_content().unwrap();
    assert!(total.contains("٤٥٫٥٠") && total.contains("ر.س"), "{total}");
    let western = host("ar");
    render_for_test(western.clone(), METHODS).unwrap();
    assert!(shadow_query(&western, ".total").text_content().unwrap().contains("45.50"));
}

#[wasm_bindgen_test]
fn the_page_restyles_the_widget_with_custom_properties() {
    let h = host("en");
    h.set_attribute("style", "--bawaba-accent: rgb(1, 2, 3); --bawaba-radius: 2px").unwrap();
    render_for_test(h.clone(), METHODS).unwrap();
    let button = shadow_query(&h, "button.pay");
    let style = web_sys::window().unwrap().get_computed_style(&button).unwrap().unwrap();
    assert_eq!(style.get_property_value("background-color").unwrap(), "rgb(1, 2, 3)");
    let container = shadow_query(&h, ".bw");
    let style = web_sys::window().unwrap().get_computed_style(&container).unwrap().unwrap();
    assert_eq!(style.get_property_value("border-top-left-radius").unwrap(), "2px");
    for part in ["container", "total", "pay-button", "status", "error", "note"] {
        assert!(h.shadow_root().unwrap().query_selector(&format!("[part~={part}]")).unwrap().is_some(), "{part}");
    }
}

#[wasm_bindgen_test]
fn no_available_method_says_so() {
    let h = host("en");
    let none = r#"{"reference":"S1","amount":100,"currency":"SAR","amount_display":"1.00","methods":[]}"#;
    render_for_test(h.clone(), none).unwrap();
    assert_eq!(h.get_attribute("data-state").as_deref(), Some("error"));
    assert!(shadow_query(&h, ".error").text_content().unwrap().contains("No payment method"));
}

#[wasm_bindgen_test]
fn the_pages_choice_is_preselected() {
    let h = host("en");
    h.set_attribute("method", "mastercard").unwrap();
    render_for_test(h.clone(), METHODS).unwrap();
    assert_eq!(shadow_query(&h, "input:checked").get_attribute("value").as_deref(), Some("mastercard"));
}

#[wasm_bindgen_test]
fn a_card_choice_preselects_the_first_card_brand_not_mada() {
    let h = host("en");
    h.set_attribute("method", "card").unwrap();
    render_for_test(h.clone(), METHODS).unwrap();
    assert_eq!(shadow_query(&h, "input:checked").get_attribute("value").as_deref(), Some("visa"));
}
