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
    assert_eq!(shadow_query(&h, "label.method span").text_content().unwrap(), "مدى");
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
