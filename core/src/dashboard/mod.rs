//! The merchant's dashboard (`GET /dashboard?token=…`), sans-IO: which stats it asks for and
//! the page it makes of them, server-rendered HTML and SVG with no script, in English or Arabic
//! (right to left). The edge runs [`queries`] through D1 and hands the reports to [`render`].
//!
//! The page shows, for the last 7, 30 or 90 days: the totals and the checkout funnel; each
//! gateway's success rate per day; failures by reason; each gateway's latency (p50 and p95);
//! volume by method (attempts and paid). The numbers are those of `GET /v1/stats`
//! ([`crate::stats`]), so the API and the page always agree.

pub mod link;

mod chart;

use crate::api::ApiError;
use crate::decline::{DeclineReason, Locale};
use crate::gateway::sandbox::server::escape_html;
use crate::stats::{utc_day, GroupBy, GroupStats, StatsQuery, StatsReport};
use std::fmt::Write;

/// The windows the page offers, in days.
pub const WINDOWS_DAYS: [i64; 3] = [7, 30, 90];
/// The window when none is asked for.
pub const DEFAULT_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

/// What the page was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardRequest {
    /// The dashboard link ([`link`]), checked by the edge.
    pub token: String,
    /// The window, one of [`WINDOWS_DAYS`].
    pub days: i64,
    /// The page's language (`lang=ar` or `en`).
    pub locale: Locale,
}

impl DashboardRequest {
    /// Reads `token` (required), `days` (7, 30 or 90; default 30) and `lang` (`en` or `ar`;
    /// default `en`) from the query string. Anything else is `invalid_request` naming it.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut token = None;
        let mut days = DEFAULT_DAYS;
        let mut locale = Locale::En;
        for (name, value) in pairs {
            match name.as_str() {
                "token" => token = Some(value.clone()),
                "days" => {
                    days =
                        value.parse().ok().filter(|d| WINDOWS_DAYS.contains(d)).ok_or_else(|| {
                            ApiError::InvalidRequest(format!("days must be 7, 30 or 90, not {value:?}"))
                        })?
                }
                "lang" => {
                    locale = match value.as_str() {
                        "en" => Locale::En,
                        "ar" => Locale::Ar,
                        other => return Err(ApiError::InvalidRequest(format!("lang must be en or ar, not {other:?}"))),
                    }
                }
                other => {
                    return Err(ApiError::InvalidRequest(format!(
                        "unknown parameter {other:?}: token, days and lang are known"
                    )))
                }
            }
        }
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| ApiError::Unauthorized {
            code: "dashboard_link_missing".into(),
            message: "the dashboard is opened from the shop (Odoo: the Bawaba provider's Open dashboard button)".into(),
        })?;
        Ok(DashboardRequest { token, days, locale })
    }

    fn href(&self, days: i64, locale: Locale) -> String {
        let lang = match locale {
            Locale::En => "en",
            Locale::Ar => "ar",
        };
        let token = crate::gateway::shared::urlencode_path(&self.token);
        format!("?token={token}&days={days}&lang={lang}")
    }
}

/// The stats the page needs, in the order [`Dashboard`] holds them: per gateway, per gateway
/// and day, per method, over the `days` before `now_ms`.
pub fn queries(days: i64, now_ms: i64) -> [StatsQuery; 3] {
    let window = |group| StatsQuery { from_ms: now_ms - days * DAY_MS, to_ms: now_ms, group };
    [window(GroupBy::Gateway), window(GroupBy::GatewayDay), window(GroupBy::Method)]
}

/// The reports of [`queries`], for one shop.
pub struct Dashboard {
    /// The shop's id.
    pub shop: String,
    /// Per gateway: the whole report (totals, funnel, latency).
    pub by_gateway: StatsReport,
    /// Per gateway and day (`gateway/day` keys): the groups' counts are all the page reads.
    pub by_gateway_day: StatsReport,
    /// Per method: the groups' counts are all the page reads.
    pub by_method: StatsReport,
}

/// A page: its HTML and the text of its one `<style>` (which the edge allows by hash).
pub struct Page {
    /// The document.
    pub html: String,
    /// The exact text of its `<style>` element.
    pub style: &'static str,
}

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Tahoma,sans-serif;margin:0;color:#1f2937;background:#f8fafc}\
header,main{max-width:1040px;margin:0 auto;padding:16px 20px}header{display:flex;flex-wrap:wrap;gap:12px;align-items:baseline;justify-content:space-between}\
h1{font-size:22px;margin:0}h2{font-size:16px;margin:0 0 8px}nav a{margin-inline-end:10px;color:#1d4ed8}nav a[aria-current]{font-weight:700;color:#111827;text-decoration:none}\
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:0 0 16px;padding:0;list-style:none}\
.tile,figure{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px 16px;margin:0 0 16px}\
.tile b{display:block;font-size:24px}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px}\
.chart{width:100%;height:auto;font-size:14px}.chart .label,.chart .number{fill:#1f2937}.chart .axis{fill:#4b5563;font-size:12px}\
.chart .value{fill:#0f766e}.chart .behind{fill:#99f6e4}.chart .grid{stroke:#e5e7eb}.chart .line{fill:none;stroke-width:2}\
.legend{display:flex;flex-wrap:wrap;gap:12px;margin:6px 0 0;padding:0;list-style:none}.legend svg{margin-inline-end:6px;vertical-align:-1px}\
table{border-collapse:collapse;width:100%;font-size:14px}th,td{padding:6px 8px;border-bottom:1px solid #e5e7eb;text-align:start}td.n{font-variant-numeric:tabular-nums}\
.empty{color:#4b5563}.note{color:#4b5563;font-size:13px}.error{max-width:560px;margin:80px auto;background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:24px}\
@media (prefers-color-scheme:dark){body{background:#0b1220;color:#e5e7eb}.tile,figure,.error{background:#111827;border-color:#374151}.chart .label,.chart .number{fill:#e5e7eb}.chart .axis,.empty,.note{fill:#9ca3af;color:#9ca3af}nav a{color:#93c5fd}nav a[aria-current]{color:#fff}th,td{border-color:#374151}}";

struct Text {
    title: &'static str,
    last_days: &'static str,
    /// For 3 to 10 days (Arabic counts them with a plural noun).
    last_few_days: &'static str,
    utc: &'static str,
    other_language: &'static str,
    attempts: &'static str,
    paid: &'static str,
    failed: &'static str,
    canceled: &'static str,
    pending: &'static str,
    success_rate: &'static str,
    time_to_pay: &'static str,
    funnel: &'static str,
    shown: &'static str,
    started: &'static str,
    success_over_time: &'static str,
    declines: &'static str,
    latency: &'static str,
    latency_note: &'static str,
    volume: &'static str,
    volume_note: &'static str,
    gateways: &'static str,
    gateway: &'static str,
    nothing: &'static str,
    three_ds: &'static str,
}

const EN: Text = Text {
    title: "Payments dashboard",
    last_days: "Last {n} days",
    last_few_days: "Last {n} days",
    utc: "UTC",
    other_language: "العربية",
    attempts: "Attempts",
    paid: "Paid",
    failed: "Failed",
    canceled: "Canceled",
    pending: "Pending",
    success_rate: "Success rate",
    time_to_pay: "Time to pay (median)",
    funnel: "Checkout funnel",
    shown: "Methods shown",
    started: "Payment started",
    success_over_time: "Success rate per day, by gateway",
    declines: "Failures by reason",
    latency: "Gateway latency",
    latency_note: "Time to open the gateway's payment page: median (dark) and 95th percentile (light), ms.",
    volume: "Volume by method",
    volume_note: "Attempts (light) and paid (dark).",
    gateways: "Per gateway",
    gateway: "Gateway",
    nothing: "No payment attempts in this period.",
    three_ds: "3-D Secure passed / failed",
};

const AR: Text = Text {
    title: "لوحة المدفوعات",
    last_days: "آخر {n} يوماً",
    last_few_days: "آخر {n} أيام",
    utc: "بالتوقيت العالمي",
    other_language: "English",
    attempts: "المحاولات",
    paid: "مدفوعة",
    failed: "فاشلة",
    canceled: "ملغاة",
    pending: "قيد الانتظار",
    success_rate: "نسبة النجاح",
    time_to_pay: "زمن الدفع (الوسيط)",
    funnel: "مسار الدفع",
    shown: "عُرضت طرق الدفع",
    started: "بدأ الدفع",
    success_over_time: "نسبة النجاح اليومية لكل بوابة",
    declines: "أسباب الإخفاق",
    latency: "زمن استجابة البوابات",
    latency_note: "الوقت اللازم لفتح صفحة الدفع لدى البوابة: الوسيط (داكن) والمئين 95 (فاتح)، بالمللي ثانية.",
    volume: "الحجم حسب طريقة الدفع",
    volume_note: "المحاولات (فاتح) والمدفوعة (داكن).",
    gateways: "لكل بوابة",
    gateway: "البوابة",
    nothing: "لا توجد محاولات دفع في هذه الفترة.",
    three_ds: "التحقق ثلاثي الأبعاد: نجح / فشل",
};

fn text(locale: Locale) -> &'static Text {
    match locale {
        Locale::En => &EN,
        Locale::Ar => &AR,
    }
}

/// A gateway's name for people.
pub fn gateway_name(code: &str, locale: Locale) -> String {
    let (en, ar) = match code {
        "aps" => ("Amazon Payment Services", "خدمات الدفع من أمازون"),
        "moyasar" => ("Moyasar", "ميسّر"),
        "tap" => ("Tap", "تاب"),
        "stripe" => ("Stripe", "سترايب"),
        "paypal" => ("PayPal", "باي بال"),
        "paytabs" => ("PayTabs", "باي تابس"),
        "hyperpay" => ("HyperPay", "هايبر باي"),
        "sandbox" => ("Sandbox", "البيئة التجريبية"),
        other => (other, other),
    };
    match locale {
        Locale::En => en.to_string(),
        Locale::Ar => ar.to_string(),
    }
}

/// A method's name for people.
pub fn method_name(code: &str, locale: Locale) -> String {
    match (code, locale) {
        ("mada", Locale::Ar) => "مدى".into(),
        ("mada", Locale::En) => "mada".into(),
        ("visa", _) => "Visa".into(),
        ("mastercard", _) => "Mastercard".into(),
        ("amex", _) => "American Express".into(),
        ("applepay", _) => "Apple Pay".into(),
        ("stcpay", _) => "STC Pay".into(),
        ("paypal", _) => "PayPal".into(),
        (other, _) => other.to_string(),
    }
}

/// A failure's or cancellation's reason for people: the normalized reasons, and the codes of
/// payments the edge closed itself.
pub fn reason_name(code: &str, locale: Locale) -> String {
    let own = match (code, locale) {
        ("superseded", Locale::En) => Some("Replaced by another method"),
        ("superseded", Locale::Ar) => Some("استُبدلت بطريقة أخرى"),
        ("payment_expired", Locale::En) => Some("Payment expired unpaid"),
        ("payment_expired", Locale::Ar) => Some("انتهت صلاحية الدفع دون سداد"),
        _ => None,
    };
    own.map(str::to_string).unwrap_or_else(|| DeclineReason::for_error_code(code).label(locale).to_string())
}

fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "–".into())
}

fn millis(ms: Option<i64>) -> String {
    ms.map(|m| format!("{m} ms")).unwrap_or_else(|| "–".into())
}

/// The dashboard page.
pub fn render(d: &Dashboard, req: &DashboardRequest) -> Page {
    let t = text(req.locale);
    let loc = req.locale;
    let rtl = loc == Locale::Ar;
    let total = &d.by_gateway.total;
    let mut body = String::new();

    // Header: title, window, the other language.
    let days_label =
        |n: i64| if (3..=10).contains(&n) { t.last_few_days } else { t.last_days }.replace("{n}", &n.to_string());
    let first_day = utc_day(d.by_gateway.from_ms);
    let last_day = utc_day(d.by_gateway.to_ms - 1);
    let _ = write!(
        body,
        "<header><div><h1>{} · {}</h1><p class=\"note\" id=\"window\" data-from-ms=\"{}\" data-to-ms=\"{}\">{} (<bdi dir=\"ltr\">{first_day} – {last_day}</bdi>{comma} {})</p></div><nav>",
        t.title,
        escape_html(&d.shop),
        d.by_gateway.from_ms,
        d.by_gateway.to_ms,
        days_label(req.days),
        t.utc,
        comma = if rtl { "،" } else { "," },
    );
    for n in WINDOWS_DAYS {
        let current = if n == req.days { " aria-current=\"page\"" } else { "" };
        let _ = write!(body, "<a href=\"{}\"{current}>{}</a>", escape_html(&req.href(n, loc)), days_label(n));
    }
    let other = if rtl { Locale::En } else { Locale::Ar };
    let _ = write!(
        body,
        "<a href=\"{}\" lang=\"{}\">{}</a></nav></header><main>",
        escape_html(&req.href(req.days, other)),
        if rtl { "en" } else { "ar" },
        t.other_language
    );

    // The totals.
    body.push_str("<ul class=\"tiles\" id=\"totals\">");
    let tiles: [(&str, &str, String, String); 6] = [
        ("attempts", t.attempts, total.attempts.to_string(), total.attempts.to_string()),
        ("paid", t.paid, (total.paid + total.authorized).to_string(), (total.paid + total.authorized).to_string()),
        ("failed", t.failed, total.failed.to_string(), total.failed.to_string()),
        ("canceled", t.canceled, total.canceled.to_string(), total.canceled.to_string()),
        (
            "success_rate",
            t.success_rate,
            percent(total.success_rate),
            total.success_rate.map(|r| format!("{r:.4}")).unwrap_or_default(),
        ),
        (
            "time_to_pay",
            t.time_to_pay,
            millis(total.time_to_pay_ms.p50),
            total.time_to_pay_ms.p50.map(|v| v.to_string()).unwrap_or_default(),
        ),
    ];
    for (key, label, shown, value) in tiles {
        let _ = write!(
            body,
            "<li class=\"tile\" data-metric=\"{key}\" data-value=\"{value}\">{label}<b><bdi>{shown}</bdi></b></li>"
        );
    }
    body.push_str("</ul>");

    body.push_str("<div class=\"grid\">");
    // The funnel.
    let f = d.by_gateway.funnel;
    let funnel = [
        ("methods_shown", t.shown, f.methods_shown),
        ("session_started", t.started, f.session_started),
        ("paid", t.paid, f.paid),
    ];
    let rows: Vec<chart::Bar> = funnel
        .iter()
        .map(|(key, label, n)| chart::Bar {
            key: key.to_string(),
            label: label.to_string(),
            value: *n,
            behind: None,
            value_text: n.to_string(),
            title: format!("{label}: {n}"),
        })
        .collect();
    figure(&mut body, "funnel", t.funnel, None, chart::bars("funnel-chart", t.funnel, &rows, rtl));

    // Success per day per gateway.
    let days = days_between(d.by_gateway_day.from_ms, d.by_gateway_day.to_ms);
    let gateways: Vec<&GroupStats> = d.by_gateway.groups.iter().collect();
    let series: Vec<chart::Series> = gateways
        .iter()
        .map(|g| chart::Series {
            key: g.key.clone(),
            points: days
                .iter()
                .map(|day| {
                    let key = format!("{}/{day}", g.key);
                    d.by_gateway_day.groups.iter().find(|s| s.key == key).and_then(|s| {
                        let won = s.paid + s.authorized;
                        let decided = won + s.failed + s.canceled;
                        s.success_rate.map(|r| {
                            (
                                r,
                                format!(
                                    "{} · {day}: {} ({won}/{decided})",
                                    gateway_name(&g.key, loc),
                                    percent(Some(r))
                                ),
                            )
                        })
                    })
                })
                .collect(),
        })
        .collect();
    let legend: String = gateways
        .iter()
        .enumerate()
        .map(|(n, g)| format!("<li>{}{}</li>", chart::swatch(n), escape_html(&gateway_name(&g.key, loc))))
        .collect();
    let lines = if gateways.is_empty() {
        String::new()
    } else {
        format!(
            "{}<ul class=\"legend\">{legend}</ul>",
            chart::lines("success-chart", t.success_over_time, &days, &series)
        )
    };
    figure(&mut body, "success-over-time", t.success_over_time, None, lines);

    // Failures and cancellations by reason, most frequent first.
    let mut reasons: Vec<(String, i64)> = Vec::new();
    for (code, n) in total.failed_by_reason.iter().chain(total.canceled_by_reason.iter()) {
        match reasons.iter_mut().find(|(c, _)| c == code) {
            Some(entry) => entry.1 += n,
            None => reasons.push((code.clone(), *n)),
        }
    }
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rows: Vec<chart::Bar> = reasons
        .iter()
        .map(|(code, n)| {
            let label = reason_name(code, loc);
            chart::Bar {
                key: code.clone(),
                label: label.clone(),
                value: *n,
                behind: None,
                value_text: n.to_string(),
                title: format!("{label}: {n}"),
            }
        })
        .collect();
    let declines = if rows.is_empty() { String::new() } else { chart::bars("declines-chart", t.declines, &rows, rtl) };
    figure(&mut body, "declines", t.declines, None, declines);

    // Latency per gateway.
    let rows: Vec<chart::Bar> = gateways
        .iter()
        .filter(|g| g.gateway_latency_ms.p50.is_some())
        .map(|g| {
            let name = gateway_name(&g.key, loc);
            let (p50, p95) = (g.gateway_latency_ms.p50.unwrap_or(0), g.gateway_latency_ms.p95.unwrap_or(0));
            chart::Bar {
                key: g.key.clone(),
                label: name.clone(),
                value: p50,
                behind: Some(p95),
                value_text: format!("{p50} / {p95}"),
                title: format!("{name}: p50 {p50} ms, p95 {p95} ms"),
            }
        })
        .collect();
    let latency = if rows.is_empty() { String::new() } else { chart::bars("latency-chart", t.latency, &rows, rtl) };
    figure(&mut body, "latency", t.latency, Some(t.latency_note), latency);

    // Volume by method.
    let rows: Vec<chart::Bar> = d
        .by_method
        .groups
        .iter()
        .map(|m| {
            let name = method_name(&m.key, loc);
            let won = m.paid + m.authorized;
            chart::Bar {
                key: m.key.clone(),
                label: name.clone(),
                value: won,
                behind: Some(m.attempts),
                value_text: format!("{won} / {}", m.attempts),
                title: format!("{name}: {} {won}, {} {}", t.paid, t.attempts, m.attempts),
            }
        })
        .collect();
    let volume = if rows.is_empty() { String::new() } else { chart::bars("volume-chart", t.volume, &rows, rtl) };
    figure(&mut body, "volume", t.volume, Some(t.volume_note), volume);
    body.push_str("</div>");

    // The same numbers as a table, per gateway.
    let _ = write!(
        body,
        "<figure id=\"gateways\"><h2>{}</h2><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">p50 / p95</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        t.gateways, t.gateway, t.attempts, t.paid, t.failed, t.canceled, t.success_rate, t.three_ds
    );
    for g in &gateways {
        let _ = write!(
            body,
            "<tr data-gateway=\"{key}\"><th scope=\"row\">{name}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\"><bdi dir=\"ltr\">{} / {}</bdi></td><td class=\"n\"><bdi dir=\"ltr\">{} / {}</bdi></td></tr>",
            g.attempts,
            g.paid + g.authorized,
            g.failed,
            g.canceled,
            percent(g.success_rate),
            millis(g.gateway_latency_ms.p50),
            millis(g.gateway_latency_ms.p95),
            g.three_ds.passed,
            g.three_ds.failed,
            key = escape_html(&g.key),
            name = escape_html(&gateway_name(&g.key, loc)),
        );
    }
    if gateways.is_empty() {
        let _ = write!(body, "<tr><td colspan=\"8\" class=\"empty\">{}</td></tr>", t.nothing);
    }
    let _ = write!(body, "</tbody></table><p class=\"note\">{}: {}</p></figure></main>", t.pending, total.pending);
    // The nothing-yet text of an empty chart.
    let body = body.replace("<!--empty-->", &format!("<p class=\"empty\">{}</p>", t.nothing));
    Page { html: document(loc, &format!("{} · {}", t.title, d.shop), &body), style: STYLE }
}

fn figure(body: &mut String, id: &str, title: &str, note: Option<&str>, content: String) {
    let content = if content.is_empty() { "<!--empty-->".to_string() } else { content };
    let note = note.map(|n| format!("<p class=\"note\">{n}</p>")).unwrap_or_default();
    let _ = write!(body, "<figure id=\"{id}\"><h2>{title}</h2>{content}{note}</figure>");
}

/// Every UTC day from the one holding `from_ms` to the one holding `to_ms - 1`.
fn days_between(from_ms: i64, to_ms: i64) -> Vec<String> {
    let mut days = Vec::new();
    let mut at = from_ms - from_ms.rem_euclid(DAY_MS);
    while at < to_ms {
        days.push(utc_day(at));
        at += DAY_MS;
    }
    days
}

fn document(locale: Locale, title: &str, body: &str) -> String {
    let (lang, dir) = match locale {
        Locale::En => ("en", "ltr"),
        Locale::Ar => ("ar", "rtl"),
    };
    format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape_html(title)
    )
}

/// The page for a link that cannot be shown: what happened and what to do, with the stable code.
pub fn error_page(code: &str, message: &str, locale: Locale) -> Page {
    let (title, advice) = match (locale, code) {
        (Locale::Ar, "dashboard_link_expired") => (
            "انتهت صلاحية الرابط",
            "افتح اللوحة من جديد من المتجر (في أودو: زر «فتح اللوحة» في إعدادات مزوّد الدفع بوابة).",
        ),
        (Locale::Ar, _) => {
            ("لا يمكن عرض اللوحة", "افتح اللوحة من المتجر (في أودو: زر «فتح اللوحة» في إعدادات مزوّد الدفع بوابة).")
        }
        (Locale::En, "dashboard_link_expired") => (
            "This link has expired",
            "Open the dashboard again from the shop (in Odoo: the Bawaba provider's Open dashboard button).",
        ),
        (Locale::En, _) => (
            "The dashboard cannot be shown",
            "Open the dashboard from the shop (in Odoo: the Bawaba provider's Open dashboard button).",
        ),
    };
    let body = format!(
        "<main class=\"error\" data-error-code=\"{}\"><h1>{title}</h1><p>{advice}</p><p class=\"note\"><code>{}</code>: {}</p></main>",
        escape_html(code),
        escape_html(code),
        escape_html(message)
    );
    Page { html: document(locale, title, &body), style: STYLE }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{self, Attempt, AttemptResult};

    const NOW: i64 = 1_796_169_599_000; // 2026-12-01 23:59:59 UTC

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn attempt(
        n: usize,
        gateway: &str,
        method: &str,
        result: AttemptResult,
        reason: Option<&str>,
        days_ago: i64,
    ) -> Attempt {
        Attempt {
            shop: "shop".into(),
            reference: format!("r{n}"),
            session_id: format!("s{n}"),
            method: method.into(),
            gateway: gateway.into(),
            amount_minor: 100,
            currency: "SAR".into(),
            started_at_ms: NOW - days_ago * DAY_MS - 1000,
            result,
            reason: reason.map(str::to_string),
            three_ds: None,
            gateway_latency_ms: Some(100 + n as i64),
            time_to_result_ms: Some(5000),
        }
    }

    fn dashboard(rows: &[Attempt], days: i64) -> Dashboard {
        let [g, gd, m] = queries(days, NOW).map(|q| stats::compute(&q, "shop", rows, &[]));
        Dashboard { shop: "shop".into(), by_gateway: g, by_gateway_day: gd, by_method: m }
    }

    #[test]
    fn requests_parse_and_refuse_clearly() {
        let r = DashboardRequest::parse(&pairs(&[("token", "t"), ("days", "7"), ("lang", "ar")])).unwrap();
        assert_eq!(r, DashboardRequest { token: "t".into(), days: 7, locale: Locale::Ar });
        assert_eq!(DashboardRequest::parse(&pairs(&[("token", "t")])).unwrap().days, 30);
        for (bad, code) in [
            (vec![("days", "8"), ("token", "t")], "invalid_request"),
            (vec![("lang", "fr"), ("token", "t")], "invalid_request"),
            (vec![("shop", "x"), ("token", "t")], "invalid_request"),
            (vec![("days", "7")], "dashboard_link_missing"),
        ] {
            assert_eq!(DashboardRequest::parse(&pairs(&bad)).unwrap_err().code(), code, "{bad:?}");
        }
    }

    #[test]
    fn the_page_shows_the_reports_numbers() {
        let rows = vec![
            attempt(1, "moyasar", "mada", AttemptResult::Paid, None, 0),
            attempt(2, "moyasar", "mada", AttemptResult::Failed, Some("insufficient_funds"), 0),
            attempt(3, "tap", "visa", AttemptResult::Paid, None, 1),
            attempt(4, "tap", "visa", AttemptResult::Canceled, Some("canceled_by_shopper"), 1),
            attempt(5, "tap", "visa", AttemptResult::Pending, None, 1),
        ];
        let d = dashboard(&rows, 7);
        let req = DashboardRequest { token: "a.b.c".into(), days: 7, locale: Locale::En };
        let page = render(&d, &req).html;
        assert!(page.contains("data-metric=\"attempts\" data-value=\"5\""));
        assert!(page.contains("data-metric=\"paid\" data-value=\"2\""));
        assert!(page.contains("data-metric=\"success_rate\" data-value=\"0.5000\""));
        assert!(page.contains("data-key=\"insufficient_funds\" data-value=\"1\""));
        assert!(page.contains("data-key=\"canceled_by_shopper\" data-value=\"1\""));
        assert!(page.contains("data-key=\"mada\" data-value=\"1\" data-behind=\"2\""));
        // Moyasar was 50 % on the last day; Tap 50 % the day before.
        assert!(page.contains("data-day=\"2026-12-01\" data-value=\"0.5000\""));
        assert!(page.contains("data-day=\"2026-11-30\" data-value=\"0.5000\""));
        assert!(page.contains("href=\"?token=a%2Eb%2Ec&amp;days=30&amp;lang=en\""));
        assert!(page.starts_with("<!doctype html><html lang=\"en\" dir=\"ltr\">"));
        // Arabic: right to left, Arabic names.
        let ar = render(&d, &DashboardRequest { locale: Locale::Ar, ..req }).html;
        assert!(ar.starts_with("<!doctype html><html lang=\"ar\" dir=\"rtl\">"));
        assert!(ar.contains("مدى") && ar.contains("رصيد غير كافٍ") && ar.contains("لوحة المدفوعات"));
        assert!(!ar.contains("Insufficient funds"));
    }

    #[test]
    fn an_empty_window_says_so_and_the_style_is_the_one_allowed() {
        let d = dashboard(&[], 30);
        let page = render(&d, &DashboardRequest { token: "t".into(), days: 30, locale: Locale::En });
        assert!(page.html.contains("No payment attempts in this period."));
        assert!(!page.html.contains("<!--empty-->"));
        assert!(page.html.contains(&format!("<style>{}</style>", page.style)));
        assert_eq!(page.html.matches("<style>").count(), 1);
        assert!(!page.html.contains("<script"));
    }

    #[test]
    fn shop_names_and_messages_are_escaped() {
        let d = Dashboard { shop: "<b>x</b>".into(), ..dashboard(&[], 7) };
        let page = render(&d, &DashboardRequest { token: "\"><script>".into(), days: 7, locale: Locale::En }).html;
        assert!(!page.contains("<b>x</b>") && !page.contains("<script>"));
        let e = error_page("dashboard_link_expired", "<img>", Locale::Ar).html;
        assert!(
            e.contains("انتهت صلاحية الرابط")
                && e.contains("&lt;img&gt;")
                && e.contains("data-error-code=\"dashboard_link_expired\"")
        );
    }

    #[test]
    fn days_cover_the_window() {
        assert_eq!(days_between(NOW - 2 * DAY_MS, NOW), vec!["2026-11-29", "2026-11-30", "2026-12-01"]);
        assert_eq!(days_between(NOW - DAY_MS + 1000, NOW + 1), vec!["2026-12-01"]);
    }
}
