//! The page the edge serves for a HyperPay session (`GET /v1/pay/hyperpay/{session id}`):
//! HyperPay has no page to redirect to; the shopper pays in its widget, which this page mounts
//! (gateways.md §3.2 [C]): `paymentWidgets.js?checkoutId=…` from the API host, and a
//! `<form action="{our return URL}" class="paymentWidgets" data-brands="…">` with the brands of
//! the session's entity only. The widget posts the card data to HyperPay (in its own frames),
//! runs 3-D Secure, then sends the shopper to the form's action with `id` and `resourcePath`.
//! The page has no inline script or style of its own.

use super::{Config, EntityKind};

/// Escapes text for an HTML attribute or element.
fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// The widget's script URL for a checkout.
pub fn widget_url(cfg: &Config, checkout_id: &str) -> String {
    format!("{}/v1/paymentWidgets.js?checkoutId={}", cfg.api_base, super::form_escape(checkout_id))
}

/// The page's HTML. `return_url` is the edge's return route for the session.
pub fn render(cfg: &Config, kind: EntityKind, checkout_id: &str, return_url: &str, locale: &str) -> String {
    let ar = locale.starts_with("ar");
    let (lang, dir, title, heading) = if ar {
        ("ar", "rtl", "الدفع", if kind == EntityKind::Mada { "الدفع ببطاقة مدى البنكية" } else { "الدفع" })
    } else {
        ("en", "ltr", "Payment", if kind == EntityKind::Mada { "Pay with mada bank card" } else { "Payment" })
    };
    format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <script src=\"{script}\"></script></head><body><h1>{heading}</h1>\
         <form action=\"{action}\" class=\"paymentWidgets\" data-brands=\"{brands}\"></form></body></html>",
        script = escape(&widget_url(cfg, checkout_id)),
        action = escape(return_url),
        brands = kind.brands(),
    )
}

/// Apple's script, which HyperPay's widget loads for Apple Pay [U].
pub const APPLE_PAY_SDK: &str = "https://applepay.cdn-apple.com";

/// The page's `Content-Security-Policy`: the widget's host only, for scripts, frames, requests,
/// images and fonts; styles from it and the ones it writes into the page (the widget styles its
/// form inline, [U] which of them); no framing of the page. Forms are not restricted: 3-D
/// Secure may post to the issuer's page.
pub fn content_security_policy(cfg: &Config, kind: EntityKind) -> String {
    let host = origin_of(&cfg.api_base);
    let scripts = if kind == EntityKind::Applepay { format!("{host} {APPLE_PAY_SDK}") } else { host.clone() };
    format!(
        "default-src 'none'; script-src {scripts}; style-src {host} 'unsafe-inline'; frame-src {host}; \
         connect-src {host}; img-src {host} data:; font-src {host}; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of a base URL.
fn origin_of(base: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{host}")
}
