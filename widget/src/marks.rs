//! The payment marks beside each method: small inline SVGs drawn for this project, all the same
//! height (mada's never smaller than another's, and mada comes first in the list).
//!
//! Only Mastercard's symbol is geometric enough to draw faithfully from its public brand
//! guidelines (two interlocking circles in its red, yellow and orange). The others' marks are
//! artwork this project may not copy and cannot redraw faithfully, so they are *text marks*: the
//! network's name in its colours, as the guidelines' text references allow. A merchant with the
//! networks' artwork files can replace them through the `mark` part (`::part(mark-visa)`).
//!
//! The marks are drawn left to right in both languages (`direction="ltr"`: a right-to-left page
//! would otherwise anchor their text at its other end). They are decorative (`aria-hidden`): the
//! method's name follows each as text. They use presentation attributes, never `style`, so a
//! page whose CSP refuses inline styles shows them.

use bawaba_core::method::PaymentMethod;

/// A text mark: the name centred on a rounded badge of the network's colour.
macro_rules! text_mark {
    ($background:literal, $colour:literal, $font:literal, $name:literal) => {
        concat!(
            "<svg viewBox=\"0 0 48 24\" aria-hidden=\"true\" direction=\"ltr\"><rect x=\".5\" y=\".5\" width=\"47\" height=\"23\" rx=\"4\" fill=\"",
            $background,
            "\" stroke=\"#c9ced6\"/><text x=\"24\" y=\"15.5\" text-anchor=\"middle\" font-family=\"Arial,sans-serif\" ",
            $font,
            " fill=\"",
            $colour,
            "\">",
            $name,
            "</text></svg>"
        )
    };
}

/// The mark's SVG markup.
pub fn svg(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Mada => concat!(
            "<svg viewBox=\"0 0 48 24\" aria-hidden=\"true\" direction=\"ltr\"><rect x=\".5\" y=\".5\" width=\"47\" height=\"23\" rx=\"4\" ",
            "fill=\"#fff\" stroke=\"#c9ced6\"/><rect x=\"5\" y=\"7\" width=\"9\" height=\"4\" fill=\"#84b740\"/>",
            "<rect x=\"5\" y=\"13\" width=\"9\" height=\"4\" fill=\"#259bd6\"/><text x=\"16.5\" y=\"16.5\" ",
            "font-family=\"Arial,sans-serif\" font-weight=\"700\" font-size=\"9.5\" fill=\"#1d2433\">mada</text></svg>"
        ),
        PaymentMethod::Visa => text_mark!("#1a1f71", "#fff", "font-style=\"italic\" font-weight=\"800\" font-size=\"11\"", "VISA"),
        PaymentMethod::Mastercard => concat!(
            "<svg viewBox=\"0 0 48 24\" aria-hidden=\"true\" direction=\"ltr\"><rect x=\".5\" y=\".5\" width=\"47\" height=\"23\" rx=\"4\" ",
            "fill=\"#fff\" stroke=\"#c9ced6\"/><circle cx=\"19\" cy=\"12\" r=\"7.5\" fill=\"#eb001b\"/>",
            "<circle cx=\"29\" cy=\"12\" r=\"7.5\" fill=\"#f79e1b\"/><path d=\"M24 6.2a7.5 7.5 0 0 1 0 11.6a7.5 7.5 0 0 1 0-11.6z\" ",
            "fill=\"#ff5f00\"/></svg>"
        ),
        PaymentMethod::Amex => text_mark!("#006fcf", "#fff", "font-weight=\"800\" font-size=\"10\"", "AMEX"),
        PaymentMethod::Applepay => text_mark!("#000", "#fff", "font-weight=\"600\" font-size=\"8.5\"", "Apple Pay"),
        PaymentMethod::Stcpay => text_mark!("#4f008c", "#fff", "font-weight=\"700\" font-size=\"9.5\"", "stc pay"),
        PaymentMethod::Paypal => text_mark!("#fff", "#003087", "font-style=\"italic\" font-weight=\"800\" font-size=\"9.5\"", "PayPal"),
    }
}
