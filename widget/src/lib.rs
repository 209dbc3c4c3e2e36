//! `<bawaba-checkout>`: the checkout widget, compiled to wasm.
//!
//! The loader (`www/bawaba.js`) defines the custom element and calls [`mount`] when it is
//! connected. The widget asks the edge which methods the signed intent allows (mada first),
//! lets the shopper choose, creates the payment session and sends the shopper to the gateway's
//! hosted page. It never sees a card number and never sends an amount: the intent carries it.
//!
//! Attributes: `intent` (required, the shop-signed JWT), `edge` (optional, the edge's base URL;
//! defaults to where the loader came from), `lang` (optional; else the page's), `method`
//! (optional: the page already chose it, as Odoo's payment form does, so the widget preselects
//! it and, with `autostart`, goes straight to the gateway; `card` means the first card brand the
//! edge offers, since the gateway's page takes any).
//! `digits="arab"` shows the amount in Arabic-Indic digits (٤٥٫٥٠).
//! Where the method's gateway takes it in the page (`flow` in `/v1/methods`), STC Pay asks for the
//! mobile number, then the one-time code (`data-state="otp"`), and Apple Pay opens the Apple Pay
//! sheet on browsers that have it (`data-state="applepay"`; hidden elsewhere).
//! It sets `data-state` on the element (`loading`, `ready`, `redirecting`, `otp`, `applepay`,
//! `error`) and fires `bawaba:redirect` (cancelable, `detail.url`, `detail.session`) and
//! `bawaba:error` (`detail.code`, and `detail.message` in the page's language) events.

#![deny(missing_docs)]

mod dom;
pub mod i18n;
mod marks;

use bawaba_core::method::PaymentMethod;
use dom::{attrs, el, Listener};
use i18n::Locale;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Document, Element, HtmlButtonElement, HtmlElement, HtmlInputElement, ShadowRoot};

/// The allocator: talc, a fraction of the size of Rust's default (dlmalloc) on wasm, and faster.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The widget's styles. Logical properties only (`inline`, `block`), so Arabic lays itself out.
/// A page restyles it with the `--bawaba-*` custom properties (README: Theming) and the parts
/// (`::part(container)`, `pay-button`, `method`, `mark`, `mark-<method>`, `total`, `status`,
/// `error`, `note`, `field`, `input`); dark defaults follow `prefers-color-scheme` unless the page sets them.
const STYLE: &str = ":host{display:block;--a:var(--bawaba-accent,#0b6e4f);--t:var(--bawaba-text,#1d2433);\
--b:var(--bawaba-background,#fff);--l:var(--bawaba-border,#d5d9e0);--m:var(--bawaba-muted,#4b5563);\
--e:var(--bawaba-error,#a4161a);--f:var(--bawaba-focus,#b45309);--r:var(--bawaba-radius,12px);--s:var(--bawaba-space,1rem);\
font-family:var(--bawaba-font,inherit);color:var(--t)}\
@media (prefers-color-scheme:dark){:host{--a:var(--bawaba-accent,#34d399);--t:var(--bawaba-text,#e5e7eb);\
--b:var(--bawaba-background,#111827);--l:var(--bawaba-border,#374151);--m:var(--bawaba-muted,#9ca3af);\
--e:var(--bawaba-error,#fca5a5);--f:var(--bawaba-focus,#fbbf24)}}\
.bw{border:1px solid var(--l);border-radius:var(--r);padding:var(--s);background:var(--b);max-inline-size:28rem}\
.total{display:flex;justify-content:space-between;margin-block:0 .75rem;font-size:1.05rem}\
.total b{unicode-bidi:isolate}\
fieldset{border:0;margin:0;padding:0}legend{font-weight:600;margin-block-end:.5rem;padding:0}\
.method{display:flex;align-items:center;gap:.6rem;padding-block:.6rem;padding-inline:.75rem;margin-block-end:.4rem;\
border:1px solid var(--l);border-radius:calc(var(--r) - 4px);cursor:pointer}\
.method:has(input:checked){border-color:var(--a);box-shadow:0 0 0 1px var(--a)}\
.method input{margin:0;accent-color:var(--a)}.mark{display:inline-flex}.mark svg{block-size:24px;inline-size:48px}\
.pay{inline-size:100%;margin-block-start:.5rem;padding-block:.75rem;font:inherit;font-weight:700;color:var(--b);\
background:var(--a);border:0;border-radius:calc(var(--r) - 4px);cursor:pointer}\
.pay:disabled{opacity:.6;cursor:progress}\
.pay:focus-visible,.method:focus-within,.error:focus{outline:3px solid var(--f);outline-offset:2px}\
.status{min-block-size:1.2em;margin-block:.5rem 0;color:var(--m)}\
.error{margin-block:.5rem 0;color:var(--e);font-weight:600}.error:empty{display:none}\
.note{font-size:.8rem;color:var(--m);margin-block:.75rem 0;text-align:start}\
.extra label{display:block;font-weight:600;margin-block:.5rem .25rem}\
.extra input{box-sizing:border-box;inline-size:100%;padding:.6rem .75rem;font:inherit;color:var(--t);background:var(--b);\
border:1px solid var(--l);border-radius:calc(var(--r) - 4px)}.extra input:focus-visible{outline:3px solid var(--f);outline-offset:2px}\
.apple-pay{-webkit-appearance:-apple-pay-button;-apple-pay-button-type:buy;-apple-pay-button-style:black;background:#000;color:#fff}\
.probe{position:absolute;visibility:hidden;font-size:40px}\
@media (prefers-reduced-motion:reduce){*{transition:none!important;animation:none!important}}";

struct Mounted {
    host: HtmlElement,
    _listeners: Vec<Listener>,
}

thread_local! {
    /// The mounted widgets: a few per page at most, so a list (no hash map: every kilobyte of
    /// the widget is downloaded by every shopper).
    static MOUNTED: RefCell<Vec<Mounted>> = const { RefCell::new(Vec::new()) };
}

/// Finds the page language for `host`: its own `lang`, the nearest ancestor's, the document's.
pub fn detect_locale(host: &Element) -> Locale {
    let mut node = Some(host.clone());
    while let Some(e) = node {
        if let Some(lang) = e.get_attribute("lang").filter(|l| !l.is_empty()) {
            return Locale::from_tag(&lang);
        }
        node = e.parent_element();
    }
    Locale::En
}

/// The parts of the widget that change, shared (`Rc`) by its listeners and tasks: one copy,
/// not a clone of every element per closure.
struct Parts {
    host: HtmlElement,
    doc: Document,
    root: ShadowRoot,
    total: Element,
    methods: Element,
    button: HtmlButtonElement,
    status: Element,
    error: Element,
    locale: Locale,
    edge: String,
    intent: String,
    method: Option<String>,
    autostart: bool,
    /// `digits="arab"`: amounts in Arabic-Indic digits.
    arabic_digits: bool,
    /// Where STC Pay's number and code are asked for.
    extra: Element,
    /// What the methods answer and the shopper's progress say.
    live: Rc<RefCell<Live>>,
}

/// What the widget learns as the shopper goes.
#[derive(Default)]
struct Live {
    /// Each method's flow at its gateway (`redirect`, `otp`, `applepay`).
    flows: Vec<(String, String)>,
    /// The STC Pay session waiting for its one-time code.
    otp_session: Option<String>,
    /// For the Apple Pay sheet: the shop's name, the amount, the currency.
    merchant: String,
    amount: String,
    currency: String,
}

impl Parts {
    /// The flow of the chosen method.
    fn flow_of(&self, method: &str) -> String {
        self.live.borrow().flows.iter().find(|(m, _)| m == method).map(|(_, f)| f.clone()).unwrap_or_default()
    }
}

/// Mounts (or re-mounts) the widget in `host`. `edge_base` is the loader's base URL.
#[wasm_bindgen]
pub fn mount(host: HtmlElement, edge_base: String) {
    unmount(host.clone());
    let Some(parts) = build(&host, &edge_base) else {
        return;
    };
    let listener = {
        let parts = parts.clone();
        Listener::new(parts.button.clone().as_ref(), "click", move |_| {
            // The Apple Pay sheet must open inside the click itself (Safari's rule): no await first.
            if chosen_method(&parts).is_some_and(|m| parts.flow_of(&m) == "applepay") {
                start_applepay(&parts);
                return;
            }
            let parts = parts.clone();
            wasm_bindgen_futures::spawn_local(async move { pay(&parts).await });
        })
    };
    let changed = {
        let parts = parts.clone();
        Listener::new(parts.methods.clone().as_ref(), "change", move |_| show_extra(&parts))
    };
    // `try_with`: the list only goes away as the page unloads, and `with` would bring the
    // code to format that panic into the download.
    let _ = MOUNTED.try_with(|m| m.borrow_mut().push(Mounted { host, _listeners: vec![listener, changed] }));
    wasm_bindgen_futures::spawn_local(async move { load_methods(&parts).await });
}

/// Removes the widget's listeners (the element was disconnected).
#[wasm_bindgen]
pub fn unmount(host: HtmlElement) {
    let _ = MOUNTED.try_with(|m| m.borrow_mut().retain(|w| w.host != host));
}

/// The widget's styles: a constructed stylesheet where the browser has them, so that a page
/// with a strict Content-Security-Policy (no `'unsafe-inline'` styles) still shows the widget
/// styled; else a `<style>` element.
fn add_styles(doc: &web_sys::Document, root: &web_sys::ShadowRoot) {
    if let Ok(sheet) = web_sys::CssStyleSheet::new() {
        if sheet.replace_sync(STYLE).is_ok() {
            root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
            return;
        }
    }
    let _ = root.append_child(&el(doc, "style", "", STYLE));
}

fn build(host: &HtmlElement, edge_base: &str) -> Option<Rc<Parts>> {
    let doc = web_sys::window()?.document()?;
    let root = match host.shadow_root() {
        Some(r) => r,
        None => host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open)).ok()?,
    };
    let locale = detect_locale(host);
    let t = locale.text();
    // The error is focusable by script only: it takes the focus, so a keyboard or screen-reader
    // user is where the problem is told.
    root.set_inner_html(&dom::markup(&[
        "<div class=bw part=container dir=",
        locale.dir(),
        " lang=",
        locale.tag(),
        "><p class=total part=total></p><fieldset><legend>",
        t.choose,
        "</legend><div class=methods role=radiogroup></div></fieldset><div class=extra></div>\
         <button class=pay type=button part=pay-button disabled>",
        t.pay,
        "</button><p class=status role=status aria-live=polite part=status>",
        t.loading,
        "</p><p class=error role=alert part=error tabindex=-1></p><p class=note part=note>",
        t.secure_note,
        "</p></div>",
    ]));
    add_styles(&doc, &root);
    let find = |selector: &str| root.query_selector(selector).ok().flatten();
    let button: HtmlButtonElement = find(".pay")?.dyn_into().ok()?;
    let (total, methods, status, error, extra) =
        (find(".total")?, find(".methods")?, find(".status")?, find(".error")?, find(".extra")?);
    let edge = host
        .get_attribute("edge")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| edge_base.to_string())
        .trim_end_matches('/')
        .to_string();
    let intent = host.get_attribute("intent").unwrap_or_default();
    let method = host.get_attribute("method").filter(|m| !m.is_empty());
    let autostart = host.has_attribute("autostart");
    let arabic_digits = host.get_attribute("digits").as_deref() == Some("arab");
    let parts = Parts {
        host: host.clone(),
        doc,
        root,
        total,
        methods,
        button,
        status,
        error,
        locale,
        edge,
        intent,
        method,
        autostart,
        arabic_digits,
        extra,
        live: Rc::new(RefCell::new(Live::default())),
    };
    set_state(&parts, "loading");
    Some(Rc::new(parts))
}

/// Joins strings (what `format!` or `concat` would do, without their code in the download).
fn join(parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts {
        out.push_str(p);
    }
    out
}

fn set_state(parts: &Parts, state: &str) {
    let _ = parts.host.set_attribute("data-state", state);
}

fn show_error(parts: &Parts, code: &str, fallback: Option<&str>) {
    let mut message = i18n::error_message(code, parts.locale).to_string();
    // English pages also get the edge's precise message for codes we have no phrase for.
    if let (Locale::En, Some(detail)) = (parts.locale, fallback) {
        if message == parts.locale.text().generic && !detail.is_empty() {
            message = join(&[message.as_str(), " (", detail, ")"]);
        }
    }
    parts.error.set_text_content(Some(&message));
    parts.status.set_text_content(Some(""));
    set_state(parts, "error");
    let _ = parts.error.set_attribute("data-code", code);
    if let Some(error) = parts.error.dyn_ref::<HtmlElement>() {
        let _ = error.focus();
    }
    dispatch(parts, "bawaba:error", &[("code", code), ("message", &message)]);
}

fn dispatch(parts: &Parts, name: &str, detail: &[(&str, &str)]) -> bool {
    let obj = js_sys::Object::new();
    for (k, v) in detail {
        let _ = js_sys::Reflect::set(&obj, &(*k).into(), &(*v).into());
    }
    let init = web_sys::CustomEventInit::new();
    init.set_detail(&obj);
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_cancelable(true);
    match web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        Ok(ev) => parts.host.dispatch_event(&ev).unwrap_or(true),
        Err(_) => true,
    }
}

/// Tells the shopper why a call to the edge failed.
fn show_call_error(parts: &Parts, error: CallError) {
    match error {
        CallError::Network => show_error(parts, "network", None),
        CallError::Api(code, message) => show_error(parts, &code, Some(&message)),
    }
}

enum CallError {
    Network,
    Api(String, String),
}

/// Reads a string at `path` in a parsed JSON value.
fn field(value: &JsValue, path: &[&str]) -> Option<String> {
    let mut v = value.clone();
    for key in path {
        v = js_sys::Reflect::get(&v, &JsValue::from_str(key)).ok()?;
    }
    v.as_string()
}

/// POSTs JSON and returns the parsed answer. JSON goes through the browser's own `JSON`
/// (no serde in the widget: every kilobyte here is downloaded by every shopper).
async fn post(url: &str, fields: &[(&str, &str)]) -> Result<JsValue, CallError> {
    let body = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&body, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let body = js_sys::JSON::stringify(&body).map_err(|_| CallError::Network)?;
    let headers = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&headers, &"Content-Type".into(), &"application/json".into());
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&body);
    init.set_headers(&headers);
    let window = web_sys::window().ok_or(CallError::Network)?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| CallError::Network)?
        .dyn_into()
        .map_err(|_| CallError::Network)?;
    let json = match resp.json() {
        Ok(p) => JsFuture::from(p).await.ok(),
        Err(_) => None,
    };
    match (resp.ok(), json) {
        (true, Some(json)) => Ok(json),
        (true, None) => Err(CallError::Api("invalid_response".into(), String::new())),
        (false, json) => {
            let json = json.unwrap_or(JsValue::NULL);
            match field(&json, &["error", "code"]) {
                Some(code) => Err(CallError::Api(code, field(&json, &["error", "message"]).unwrap_or_default())),
                None => {
                    let mut code = String::from("http_");
                    let status = resp.status();
                    for digit in [status / 100 % 10, status / 10 % 10, status % 10] {
                        code.push(char::from(b'0' + digit as u8));
                    }
                    Err(CallError::Api(code, String::new()))
                }
            }
        }
    }
}

async fn load_methods(parts: &Parts) {
    if parts.intent.is_empty() {
        show_error(parts, "intent_missing", Some("the element has no intent attribute"));
        return;
    }
    match post(&join(&[&parts.edge, "/v1/methods"]), &[("intent", &parts.intent)]).await {
        Ok(resp) => {
            render_methods(parts, &resp);
            let chosen = chosen_method(parts).as_deref().and_then(PaymentMethod::from_code);
            let as_asked = chosen.zip(parts.method.as_deref()).is_some_and(|(method, choice)| method.answers(choice));
            // A method taken in the page (STC Pay's number, the Apple Pay sheet) needs the shopper.
            let in_page =
                chosen_method(parts).is_some_and(|m| parts.flow_of(&m) != "redirect" && !parts.flow_of(&m).is_empty());
            if parts.autostart && as_asked && !in_page {
                // The page has asked already: no second question while the shopper is taken to
                // the gateway. The list comes back if that fails, to try again or choose another.
                let question = parts.methods.parent_element();
                if let Some(q) = &question {
                    let _ = q.set_attribute("hidden", "");
                }
                pay(parts).await;
                if parts.host.get_attribute("data-state").as_deref() == Some("error") {
                    if let Some(q) = &question {
                        let _ = q.remove_attribute("hidden");
                    }
                }
            }
        }
        Err(e) => show_call_error(parts, e),
    }
}

/// Fills the method list from a `/v1/methods` answer; the first method (mada when allowed) is
/// preselected. Unknown method codes from a newer edge are skipped, not shown raw.
fn render_methods(parts: &Parts, resp: &JsValue) {
    let t = parts.locale.text();
    parts.total.set_text_content(None);
    let label = el(&parts.doc, "span", "", t.pay_amount);
    let currency = field(resp, &["currency"]).unwrap_or_default();
    let mut amount_text = field(resp, &["amount_display"]).unwrap_or_default();
    if parts.arabic_digits {
        amount_text = i18n::arabic_indic(&amount_text);
    }
    amount_text.push(' ');
    let sign = currency == "SAR" && fonts_draw(parts, i18n::RIYAL_SIGN);
    amount_text.push_str(i18n::currency_label(&currency, parts.locale, sign));
    let amount = el(&parts.doc, "b", "", &amount_text);
    attrs(&amount, &[("dir", "ltr")]);
    let _ = parts.total.append_with_node_2(&label, &amount);
    let list = js_sys::Reflect::get(resp, &"methods".into()).unwrap_or(JsValue::UNDEFINED);
    let mut flows = Vec::new();
    let mut methods = Vec::new();
    for m in js_sys::Array::from(&list).iter() {
        let (Some(method), flow) =
            (field(&m, &["code"]).as_deref().and_then(PaymentMethod::from_code), field(&m, &["flow"]))
        else {
            continue;
        };
        let flow = flow.unwrap_or_default();
        // Apple Pay in the page needs a browser with Apple Pay: elsewhere it is not offered.
        if flow == "applepay" && !applepay_available() {
            continue;
        }
        flows.push((String::from(method.code()), flow));
        methods.push(method);
    }
    {
        let mut live = parts.live.borrow_mut();
        live.flows = flows;
        live.merchant = field(resp, &["merchant_name"]).unwrap_or_default();
        live.amount = field(resp, &["amount_display"]).unwrap_or_default();
        live.currency = currency.clone();
    }
    if methods.is_empty() {
        return show_error(parts, "no_methods", None);
    }
    let preselected =
        parts.method.as_deref().and_then(|wanted| methods.iter().position(|m| m.answers(wanted))).unwrap_or(0);
    // One string of the widget's own constants (codes, names, marks): nothing from the edge.
    let mut rows = String::new();
    for (i, method) in methods.iter().enumerate() {
        let code = method.code();
        let checked = if i == preselected { " checked" } else { "" };
        rows.push_str(&dom::markup(&[
            "<label class=method part=method data-method=",
            code,
            "><input type=radio name=bawaba-method value=",
            code,
            checked,
            "><span class=mark part=\"mark mark-",
            code,
            "\">",
            marks::svg(*method),
            "</span><span>",
            i18n::method_label(*method, parts.locale),
            "</span></label>",
        ]));
    }
    parts.methods.set_inner_html(&rows);
    parts.status.set_text_content(Some(""));
    parts.button.set_disabled(false);
    set_state(parts, "ready");
    show_extra(parts);
}

/// Whether the page's fonts draw `text`: it is measured beside a character no font has (a
/// missing glyph is the same box for both).
fn fonts_draw(parts: &Parts, text: &str) -> bool {
    let probe = |t: &str| {
        // A class, not a `style` attribute: a page whose CSP refuses inline styles allows the
        // widget's constructed stylesheet.
        let span = el(&parts.doc, "span", "probe", t);
        let _ = span.set_attribute("aria-hidden", "true");
        let _ = parts.total.append_child(&span);
        let width = span.dyn_ref::<HtmlElement>().map_or(0, |e| e.offset_width());
        span.remove();
        width
    };
    let drawn = probe(text);
    drawn > 0 && drawn != probe("\u{FFFF}")
}

/// Shows what the chosen method asks for in the page: STC Pay's number, or its code once sent;
/// the Apple Pay button for Apple Pay.
fn show_extra(parts: &Parts) {
    let t = parts.locale.text();
    parts.extra.set_text_content(None);
    let method = chosen_method(parts).unwrap_or_default();
    let flow = parts.flow_of(&method);
    let waiting = parts.live.borrow().otp_session.is_some();
    let (class, label) = match flow.as_str() {
        "otp" if waiting => {
            add_field(parts, "bawaba-otp", t.otp, "one-time-code", "numeric");
            ("pay", t.confirm)
        }
        "otp" => {
            add_field(parts, "bawaba-mobile", t.mobile, "tel", "tel");
            ("pay", t.pay)
        }
        "applepay" => ("pay apple-pay", t.applepay),
        _ => ("pay", t.pay),
    };
    parts.button.set_class_name(class);
    parts.button.set_text_content(Some(label));
    // The card-page note would be wrong for a wallet confirmed in the page.
    let note = if flow == "otp" || flow == "applepay" { t.in_page_note } else { t.secure_note };
    if let Ok(Some(n)) = parts.root.query_selector(".note") {
        n.set_text_content(Some(note));
    }
}

/// A labelled input in the extra area.
fn add_field(
    parts: &Parts,
    id: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    inputmode: &'static str,
) {
    let kind = if inputmode == "tel" { "tel" } else { "text" };
    parts.extra.set_inner_html(&dom::markup(&[
        "<label for=",
        id,
        " part=field>",
        label,
        "</label><input id=",
        id,
        " type=",
        kind,
        " autocomplete=",
        autocomplete,
        " inputmode=",
        inputmode,
        " dir=ltr part=input>",
    ]));
}

/// The value typed in the extra area's input `id`.
fn typed(parts: &Parts, id: &str) -> String {
    let input = parts.root.query_selector(&join(&["#", id])).ok().flatten();
    input.and_then(|i| i.dyn_into::<HtmlInputElement>().ok()).map(|i| i.value()).unwrap_or_default()
}

fn chosen_method(parts: &Parts) -> Option<String> {
    let input = parts.root.query_selector("input[name=bawaba-method]:checked").ok()??;
    Some(input.dyn_into::<HtmlInputElement>().ok()?.value())
}

async fn pay(parts: &Parts) {
    if parts.button.disabled() {
        return; // a second click while the first is in flight
    }
    let Some(method) = chosen_method(parts) else {
        parts.error.set_text_content(Some(parts.locale.text().choose_first));
        return;
    };
    let otp_flow = parts.flow_of(&method) == "otp";
    let waiting = parts.live.borrow().otp_session.clone();
    if let (true, Some(session_id)) = (otp_flow, waiting) {
        return send_otp(parts, &session_id).await;
    }
    let mut mobile = String::new();
    if otp_flow {
        match bawaba_core::mobile::SaudiMobile::parse(&typed(parts, "bawaba-mobile")) {
            Ok(m) => mobile = m.national().into(),
            Err(_) => return show_error(parts, "mobile_invalid", None),
        }
    }
    parts.button.set_disabled(true);
    parts.error.set_text_content(Some(""));
    parts.status.set_text_content(Some(parts.locale.text().redirecting));
    set_state(parts, "redirecting");
    let fields = [
        ("intent", parts.intent.as_str()),
        ("method", method.as_str()),
        ("locale", parts.locale.tag()),
        ("mobile", &mobile),
    ];
    // The mobile number only for STC Pay.
    let fields = if otp_flow { &fields[..] } else { &fields[..3] };
    let answer = post(&join(&[&parts.edge, "/v1/sessions"]), fields).await;
    follow(parts, answer);
}

/// Sends STC Pay's one-time code for the session waiting for it.
async fn send_otp(parts: &Parts, session_id: &str) {
    let Ok(code) = bawaba_core::api::parse_otp(&typed(parts, "bawaba-otp")) else {
        return show_error(parts, "otp_invalid", None);
    };
    parts.button.set_disabled(true);
    parts.error.set_text_content(Some(""));
    parts.status.set_text_content(Some(parts.locale.text().checking));
    let url = join(&[&parts.edge, "/v1/sessions/", session_id, "/otp"]);
    let answer = post(&url, &[("otp", &code)]).await;
    if let Err(CallError::Api(code, _)) = &answer {
        if code == "otp_not_expected" || code == "otp_attempts_exhausted" {
            // That session takes no more codes: the next Pay starts again from the number.
            parts.live.borrow_mut().otp_session = None;
            show_extra(parts);
        }
    }
    follow(parts, answer);
}

/// Goes on from a session answer: to the gateway's page, the edge's return route, or (STC Pay)
/// the one-time code.
fn follow(parts: &Parts, answer: Result<JsValue, CallError>) {
    match answer {
        Ok(session) => {
            let action = field(&session, &["next_action", "type"]).unwrap_or_default();
            if action == "otp" {
                let otp_was_asked = parts.live.borrow().otp_session.is_some();
                parts.live.borrow_mut().otp_session = field(&session, &["id"]);
                parts.button.set_disabled(false);
                parts.status.set_text_content(Some(""));
                set_state(parts, "otp");
                if otp_was_asked {
                    // Still waiting after a code: the gateway did not take it.
                    return show_error(parts, "otp_invalid", None);
                }
                show_extra(parts);
                if let Some(input) = parts.root.query_selector("#bawaba-otp").ok().flatten() {
                    let _ = input.dyn_ref::<HtmlElement>().map(|i| i.focus());
                }
                return;
            }
            let target = match action.as_str() {
                "redirect" | "form_post" => field(&session, &["next_action", "url"]),
                _ => field(&session, &["return_url"]),
            };
            let Some(url) = target else {
                parts.button.set_disabled(false);
                show_error(parts, "invalid_response", None);
                return;
            };
            let id = field(&session, &["id"]).unwrap_or_default();
            if action == "none" || dispatch(parts, "bawaba:redirect", &[("url", &url), ("session", &id)]) {
                if action == "form_post" {
                    let fields = js_sys::Reflect::get(&session, &"next_action".into())
                        .and_then(|a| js_sys::Reflect::get(&a, &"fields".into()))
                        .unwrap_or(JsValue::UNDEFINED);
                    post_form(parts, &url, &fields);
                } else if let Some(w) = web_sys::window() {
                    let _ = w.location().assign(&url);
                }
            }
        }
        Err(e) => {
            parts.button.set_disabled(false);
            show_call_error(parts, e);
        }
    }
}

/// `window.ApplePaySession`, where the browser has Apple Pay.
fn applepay_class() -> Option<js_sys::Function> {
    let w = web_sys::window()?;
    js_sys::Reflect::get(&w, &"ApplePaySession".into()).ok()?.dyn_into().ok()
}

/// Calls `obj.name(args…)`.
fn call(obj: &JsValue, name: &str, args: &[JsValue]) -> Option<JsValue> {
    let f: js_sys::Function = js_sys::Reflect::get(obj, &name.into()).ok()?.dyn_into().ok()?;
    f.apply(obj, &args.iter().collect::<js_sys::Array>()).ok()
}

/// Apple Pay can pay here: the browser has it, a card is set up, and it speaks version 5 (the
/// first with mada).
fn applepay_available() -> bool {
    applepay_class().is_some_and(|c| {
        call(&c, "canMakePayments", &[]).is_some_and(|v| v.is_truthy())
            && call(&c, "supportsVersion", &[5.into()]).is_some_and(|v| v.is_truthy())
    })
}

/// Sets `obj[key] = value`.
fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(obj, &key.into(), value);
}

/// Opens the Apple Pay sheet (inside the click), validates the merchant through the edge and
/// charges the token through the edge; the sheet says how it went, then the shopper goes on.
fn start_applepay(parts: &Rc<Parts>) {
    let Some(class) = applepay_class() else { return show_error(parts, "applepay_unavailable", None) };
    let request = js_sys::Object::new();
    {
        let live = parts.live.borrow();
        set(&request, "countryCode", &"SA".into());
        set(&request, "currencyCode", &live.currency.as_str().into());
        let networks = ["mada", "visa", "masterCard", "amex"].iter().map(|n| JsValue::from_str(n));
        set(&request, "supportedNetworks", &networks.collect::<js_sys::Array>());
        let capabilities = ["supports3DS", "supportsCredit", "supportsDebit"].iter().map(|n| JsValue::from_str(n));
        set(&request, "merchantCapabilities", &capabilities.collect::<js_sys::Array>());
        let total = js_sys::Object::new();
        set(&total, "label", &live.merchant.as_str().into());
        set(&total, "amount", &live.amount.as_str().into());
        set(&request, "total", &total);
    }
    let args = js_sys::Array::of2(&5.into(), &request);
    let Ok(session) = js_sys::Reflect::construct(&class, &args) else {
        return show_error(parts, "applepay_unavailable", None);
    };
    parts.error.set_text_content(Some(""));
    set_state(parts, "applepay");
    parts.button.set_disabled(true);
    let on_validate = {
        let (parts, session) = (parts.clone(), session.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let (parts, session) = (parts.clone(), session.clone());
            let url = field(&event, &["validationURL"]).unwrap_or_default();
            wasm_bindgen_futures::spawn_local(async move {
                let fields = [("intent", parts.intent.as_str()), ("validation_url", url.as_str())];
                match post(&join(&[&parts.edge, "/v1/applepay/validate"]), &fields).await {
                    Ok(merchant_session) => {
                        call(&session, "completeMerchantValidation", &[merchant_session]);
                    }
                    Err(e) => {
                        call(&session, "abort", &[]);
                        parts.button.set_disabled(false);
                        follow(&parts, Err(e));
                    }
                }
            });
        })
    };
    let on_authorized = {
        let (parts, session, class) = (parts.clone(), session.clone(), class.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let (parts, session, class) = (parts.clone(), session.clone(), class.clone());
            let token = js_sys::Reflect::get(&event, &"payment".into())
                .and_then(|p| js_sys::Reflect::get(&p, &"token".into()))
                .and_then(|t| js_sys::JSON::stringify(&t).map(JsValue::from))
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default();
            wasm_bindgen_futures::spawn_local(async move {
                parts.status.set_text_content(Some(parts.locale.text().redirecting));
                let fields = [
                    ("intent", parts.intent.as_str()),
                    ("method", "applepay"),
                    ("locale", parts.locale.tag()),
                    ("applepay_token", token.as_str()),
                ];
                let answer = post(&join(&[&parts.edge, "/v1/sessions"]), &fields).await;
                // The sheet fails only a refused payment: one that is paid, authorized or goes on
                // (3-D Secure, a review) was accepted, and `follow` shows what comes next.
                let refused = answer
                    .as_ref()
                    .map_or(true, |s| matches!(field(s, &["status"]).as_deref(), Some("failed" | "canceled")));
                let status = if refused { "STATUS_FAILURE" } else { "STATUS_SUCCESS" };
                let code = js_sys::Reflect::get(&class, &status.into()).unwrap_or(JsValue::from(u8::from(refused)));
                call(&session, "completePayment", &[code]);
                follow(&parts, answer);
            });
        })
    };
    let on_cancel = {
        let parts = parts.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            parts.button.set_disabled(false);
            parts.status.set_text_content(Some(parts.locale.text().applepay_canceled));
            set_state(&parts, "ready");
        })
    };
    // Handed to the sheet, which lives until it closes; JS owns them from here.
    set(&session, "onvalidatemerchant", &on_validate.into_js_value());
    set(&session, "onpaymentauthorized", &on_authorized.into_js_value());
    set(&session, "oncancel", &on_cancel.into_js_value());
    call(&session, "begin", &[]);
}

/// Opens a hosted page that wants a signed form post (APS): a hidden form in the page's body,
/// submitted at once. The fields come from the edge, which signed them.
fn post_form(parts: &Parts, url: &str, fields: &JsValue) {
    let form = el(&parts.doc, "form", "", "");
    attrs(&form, &[("method", "post"), ("action", url), ("hidden", "")]);
    let entries = js_sys::Object::entries(&js_sys::Object::from(fields.clone()));
    for entry in entries.iter() {
        let pair = js_sys::Array::from(&entry);
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else { continue };
        let input = el(&parts.doc, "input", "", "");
        attrs(&input, &[("type", "hidden"), ("name", &name), ("value", &value)]);
        let _ = form.append_child(&input);
    }
    if let Some(body) = parts.doc.body() {
        let _ = body.append_child(&form);
        if let Ok(form) = form.dyn_into::<web_sys::HtmlFormElement>() {
            let _ = form.submit();
        }
    }
}

/// Renders a methods answer without the network, for tests and previews.
#[doc(hidden)]
pub fn render_for_test(host: HtmlElement, methods_json: &str) -> Result<(), String> {
    let parts = build(&host, "http://edge.invalid").ok_or("cannot build")?;
    let resp = js_sys::JSON::parse(methods_json).map_err(|_| "not JSON".to_string())?;
    render_methods(&parts, &resp);
    Ok(())
}
