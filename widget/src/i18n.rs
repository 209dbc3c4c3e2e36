//! Arabic and English. The page decides: the element's own `lang`, else the nearest ancestor's,
//! else the document's. Arabic is laid out right-to-left.

use bawaba_core::method::PaymentMethod;

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English, left-to-right.
    En,
    /// Arabic, right-to-left.
    Ar,
}

impl Locale {
    /// From a BCP 47 tag (`ar`, `ar-SA`, `en-US`); anything not Arabic is English.
    pub fn from_tag(tag: &str) -> Self {
        // Bytes, not `split`: the pattern machinery would be a few hundred bytes of download.
        let b = tag.as_bytes();
        let primary_is_ar =
            b.len() >= 2 && b[..2].eq_ignore_ascii_case(b"ar") && matches!(b.get(2), None | Some(b'-' | b'_'));
        if primary_is_ar {
            Locale::Ar
        } else {
            Locale::En
        }
    }

    /// The tag sent to the edge.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ar => "ar",
        }
    }

    /// `ltr` or `rtl`.
    pub fn dir(self) -> &'static str {
        match self {
            Locale::En => "ltr",
            Locale::Ar => "rtl",
        }
    }

    /// The strings.
    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::Ar => &AR,
        }
    }
}

/// Every string the shopper sees.
pub struct Text {
    /// Above the method list.
    pub choose: &'static str,
    /// Before the amount.
    pub pay_amount: &'static str,
    /// The button.
    pub pay: &'static str,
    /// While loading methods.
    pub loading: &'static str,
    /// While creating the session.
    pub redirecting: &'static str,
    /// Under the button.
    pub secure_note: &'static str,
    /// No method available.
    pub no_methods: &'static str,
    /// No method chosen.
    pub choose_first: &'static str,
    /// The edge could not be reached.
    pub network: &'static str,
    /// The checkout expired.
    pub expired: &'static str,
    /// Anything else.
    pub generic: &'static str,
    /// The payment is already finished.
    pub finished: &'static str,
    /// The gateway is down.
    pub gateway_down: &'static str,
    /// Too many attempts (`rate_limited`).
    pub too_many: &'static str,
    /// The STC Pay number's label.
    pub mobile: &'static str,
    /// What a wrong number is told.
    pub mobile_invalid: &'static str,
    /// The one-time code's label.
    pub otp: &'static str,
    /// What a malformed or refused code is told.
    pub otp_invalid: &'static str,
    /// The button that sends the code.
    pub confirm: &'static str,
    /// While the code is being checked.
    pub checking: &'static str,
    /// The Apple Pay button's accessible name.
    pub applepay: &'static str,
    /// The Apple Pay sheet was closed.
    pub applepay_canceled: &'static str,
    /// Under the button, for a payment made in the page (STC Pay, Apple Pay).
    pub in_page_note: &'static str,
}

const EN: Text = Text {
    choose: "Choose how to pay",
    pay_amount: "Total",
    pay: "Pay now",
    loading: "Loading payment methods…",
    redirecting: "Taking you to the secure payment page…",
    secure_note: "You enter your card details on the payment provider's secure page.",
    no_methods: "No payment method is available for this order. Please contact the shop.",
    choose_first: "Choose a payment method first.",
    network: "We could not reach the payment service. Check your connection and try again.",
    expired: "This checkout has expired. Reload the page to continue.",
    generic: "The payment could not be started. Please try again or contact the shop.",
    finished: "This order has already been paid or closed.",
    gateway_down: "The payment provider is not responding. Please try again in a moment.",
    too_many: "Too many payment attempts. Please wait a minute and try again.",
    mobile: "Mobile number registered with STC Pay",
    mobile_invalid: "Enter a Saudi mobile number: 05 and 8 digits.",
    otp: "Code sent to your mobile by STC Pay",
    otp_invalid: "Enter the code from the text message (4 to 8 digits).",
    confirm: "Confirm payment",
    checking: "Checking the code…",
    applepay: "Pay with Apple Pay",
    applepay_canceled: "Apple Pay was closed. You can try again or choose another method.",
    in_page_note: "Your wallet confirms the payment; the shop never sees your card.",
};

const AR: Text = Text {
    choose: "اختر طريقة الدفع",
    pay_amount: "الإجمالي",
    pay: "ادفع الآن",
    loading: "جارٍ تحميل طرق الدفع…",
    redirecting: "جارٍ نقلك إلى صفحة الدفع الآمنة…",
    secure_note: "تُدخل بيانات بطاقتك في صفحة مزوّد الدفع الآمنة.",
    no_methods: "لا تتوفر طريقة دفع لهذا الطلب. يرجى التواصل مع المتجر.",
    choose_first: "اختر طريقة الدفع أولاً.",
    network: "تعذّر الوصول إلى خدمة الدفع. تحقّق من اتصالك وحاول مرة أخرى.",
    expired: "انتهت صلاحية صفحة الدفع. أعد تحميل الصفحة للمتابعة.",
    generic: "تعذّر بدء الدفع. حاول مرة أخرى أو تواصل مع المتجر.",
    finished: "تم دفع هذا الطلب أو إغلاقه مسبقاً.",
    gateway_down: "مزوّد الدفع لا يستجيب. حاول مرة أخرى بعد قليل.",
    too_many: "محاولات دفع كثيرة. انتظر دقيقة ثم حاول مرة أخرى.",
    mobile: "رقم الجوال المسجّل في STC Pay",
    mobile_invalid: "أدخل رقم جوال سعودياً: 05 ثم 8 أرقام.",
    otp: "الرمز المرسل إلى جوالك من STC Pay",
    otp_invalid: "أدخل الرمز الوارد في الرسالة النصية (من 4 إلى 8 أرقام).",
    confirm: "تأكيد الدفع",
    checking: "جارٍ التحقق من الرمز…",
    applepay: "الدفع عبر Apple Pay",
    applepay_canceled: "أُغلقت نافذة Apple Pay. يمكنك المحاولة مرة أخرى أو اختيار طريقة أخرى.",
    in_page_note: "تؤكّد محفظتك الدفع، ولا يرى المتجر بطاقتك.",
};

/// The method's name as shoppers know it.
pub fn method_label(method: PaymentMethod, locale: Locale) -> &'static str {
    match (method, locale) {
        (PaymentMethod::Mada, Locale::En) => "mada",
        (PaymentMethod::Mada, Locale::Ar) => "مدى",
        (PaymentMethod::Visa, _) => "Visa",
        (PaymentMethod::Mastercard, _) => "Mastercard",
        (PaymentMethod::Amex, Locale::En) => "American Express",
        (PaymentMethod::Amex, Locale::Ar) => "أمريكان إكسبريس",
        (PaymentMethod::Applepay, _) => "Apple Pay",
        (PaymentMethod::Stcpay, Locale::En) => "STC Pay",
        (PaymentMethod::Stcpay, Locale::Ar) => "STC Pay",
        (PaymentMethod::Paypal, Locale::En) => "PayPal",
        (PaymentMethod::Paypal, Locale::Ar) => "باي بال",
    }
}

/// The message for an error code from the edge.
pub fn error_message(code: &str, locale: Locale) -> &'static str {
    let t = locale.text();
    match code {
        "intent_expired" => t.expired,
        "payment_finished" => t.finished,
        "gateway_unavailable" => t.gateway_down,
        "rate_limited" => t.too_many,
        "network" => t.network,
        "mobile_invalid" => t.mobile_invalid,
        "no_methods" => t.no_methods,
        "otp_invalid" | "otp_not_expected" | "otp_attempts_exhausted" => t.otp_invalid,
        _ => t.generic,
    }
}

/// A decimal amount (`45.50`, `1,250.00`) in Arabic-Indic digits with the Arabic decimal and
/// thousands separators (`٤٥٫٥٠`, `١٬٢٥٠٫٠٠`).
pub fn arabic_indic(amount: &str) -> String {
    amount
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32('٠' as u32 + (c as u32 - '0' as u32)).unwrap_or(c),
            '.' => '٫',
            ',' => '٬',
            other => other,
        })
        .collect()
}

/// The Saudi riyal sign (U+20C1, Unicode 17), shown where the page's fonts draw it.
pub const RIYAL_SIGN: &str = "\u{20C1}";

/// The currency's name for display: the riyal sign where the fonts have it (`riyal_sign`), else
/// the ISO code in English and the Arabic abbreviation in Arabic.
pub fn currency_label(code: &str, locale: Locale, riyal_sign: bool) -> &str {
    match (code, locale) {
        ("SAR", _) if riyal_sign => RIYAL_SIGN,
        ("SAR", Locale::Ar) => "ر.س",
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_choose_the_locale() {
        assert_eq!(Locale::from_tag("ar"), Locale::Ar);
        assert_eq!(Locale::from_tag("ar-SA"), Locale::Ar);
        assert_eq!(Locale::from_tag("ar_SA"), Locale::Ar);
        assert_eq!(Locale::from_tag("en-US"), Locale::En);
        assert_eq!(Locale::from_tag(""), Locale::En);
        assert_eq!(Locale::from_tag("arn"), Locale::En, "Mapudungun is not Arabic");
        assert_eq!(Locale::from_tag("AR-sa"), Locale::Ar);
        assert_eq!(Locale::from_tag("a"), Locale::En);
        assert_eq!(Locale::Ar.dir(), "rtl");
    }

    #[test]
    fn known_errors_have_their_own_message() {
        assert_eq!(error_message("intent_expired", Locale::Ar), AR.expired);
        assert_eq!(error_message("anything", Locale::En), EN.generic);
        assert_eq!(error_message("rate_limited", Locale::Ar), AR.too_many);
        assert_eq!(error_message("rate_limited", Locale::En), EN.too_many);
    }

    #[test]
    fn amounts_in_arabic_indic_digits() {
        assert_eq!(arabic_indic("45.50"), "٤٥٫٥٠");
        assert_eq!(arabic_indic("1,250.000"), "١٬٢٥٠٫٠٠٠");
        assert_eq!(arabic_indic("-0.09"), "-٠٫٠٩");
    }

    #[test]
    fn the_riyal_sign_only_where_the_fonts_have_it() {
        assert_eq!(currency_label("SAR", Locale::Ar, false), "ر.س");
        assert_eq!(currency_label("SAR", Locale::En, false), "SAR");
        assert_eq!(currency_label("SAR", Locale::En, true), "\u{20C1}");
        assert_eq!(currency_label("USD", Locale::Ar, true), "USD");
    }

    #[test]
    fn paypal_is_shown_by_its_name() {
        assert_eq!(method_label(PaymentMethod::Paypal, Locale::En), "PayPal");
        assert_eq!(method_label(PaymentMethod::Paypal, Locale::Ar), "باي بال");
    }
}
