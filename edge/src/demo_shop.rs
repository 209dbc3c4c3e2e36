//! The demo shop: a stand-in for Odoo that speaks exactly the shop side of the contract. It
//! mints intents for its cart, receives the signed result notifications, verifies them
//! (signature, timestamp, shop id, amount), deduplicates them by `event_id`, and shows each
//! order with the notifications it got. On only when `DEMO_SHOP_ENABLED` is set.
//!
//! Routes (under `/demo/shop/`): `POST checkout` (form: `product`, `lang`) → 303 to
//! `checkout/{ref}`, the page that embeds the widget; `POST notify` (the `notify_url`);
//! `GET orders/{ref}` (the `return_url`, HTML); `GET api/orders/{ref}` (JSON, for tests).

use crate::config;
use crate::error::{internal, response};
use crate::util::{html, json, now_secs, read_body, see_other};
use bawaba_core::api::ApiError;
use bawaba_core::gateway::sandbox::server::escape_html;
use bawaba_core::intent::{self, IntentClaims};
use bawaba_core::money::{Currency, Money};
use bawaba_core::notification::{EventType, Notification};
use bawaba_core::signature;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "DEMO_SHOP";

/// The catalogue: id, English name, Arabic name, price in halalas.
pub const PRODUCTS: &[(&str, &str, &str, i64)] = &[
    ("qahwa", "Saudi coffee, 250 g", "قهوة سعودية، 250 غ", 4550),
    ("dates", "Sukkari dates, 1 kg", "تمر سكري، 1 كغ", 8900),
    // 250.00: inside the amounts Moyasar's sandbox approves for Apple Pay (200–300 SAR).
    ("oud", "Oud incense, 50 g", "بخور عود، 50 غ", 25000),
];

/// A notification as the shop received it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Received {
    /// Event id.
    pub event_id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Unix seconds.
    pub received_at: i64,
    /// Signature verified (always true: unverified ones are refused and only counted).
    pub verified: bool,
    /// How many more times the same event arrived (deduplicated).
    pub duplicates: u32,
}

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// Shop reference (`S0001`).
    pub reference: String,
    /// Product id.
    pub product: String,
    /// Minor units.
    pub amount: i64,
    /// ISO code.
    pub currency: String,
    /// `en` / `ar`.
    pub lang: String,
    /// `pending`, `paid`, `authorized`, `failed`, `canceled`, `error`.
    pub state: String,
    /// Why it failed.
    pub message: Option<String>,
    /// Card, as the notification said.
    pub payment_method: Option<String>,
    /// Verified, deduplicated notifications.
    pub notifications: Vec<Received>,
    /// Unix seconds.
    pub created_at: i64,
}

/// The demo shop's Durable Object.
#[durable_object]
pub struct DemoShop {
    state: State,
    env: Env,
}

impl DurableObject for DemoShop {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        Ok(match self.route(req).await {
            Ok(r) => r,
            Err(e) => response(&e),
        })
    }
}

/// Forwards a `/demo/shop/...` request to the shop's object.
pub async fn handle(req: Request, env: &Env) -> Result<Response, ApiError> {
    let ns = env.durable_object(BINDING).map_err(internal)?;
    let stub = ns.get_by_name("demo").map_err(internal)?;
    stub.fetch_with_request(req).await.map_err(internal)
}

fn order_key(reference: &str) -> String {
    format!("order:{reference}")
}

impl DemoShop {
    fn shop(&self) -> Result<config::Shop, ApiError> {
        let id = config::setting(&self.env, "DEMO_SHOP_ID").unwrap_or_else(|| "demo".into());
        config::shop(&self.env, &id)?
            .ok_or_else(|| ApiError::Misconfigured(format!("DEMO_SHOP_ID {id:?} is not in BAWABA_SHOPS")))
    }

    async fn load(&self, reference: &str) -> Result<Option<Order>, ApiError> {
        self.state.storage().get(&order_key(reference)).await.map_err(internal)
    }

    async fn route(&self, mut req: Request) -> Result<Response, ApiError> {
        let path = req.path();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (req.method(), &segs[2..]) {
            (Method::Post, ["checkout"]) => self.checkout(&mut req).await,
            (Method::Get, ["checkout", reference]) => self.checkout_page(reference).await,
            (Method::Post, ["notify"]) => self.notify(&mut req).await,
            (Method::Get, ["orders"]) => self.orders_page().await,
            (Method::Get, ["orders", reference]) => self.order_page(reference).await,
            (Method::Get, ["api", "orders", reference]) => {
                let order = self.load(reference).await?.ok_or(ApiError::NotFound)?;
                Ok(json(200, &order))
            }
            (Method::Get, ["api", "stats"]) => {
                let rejected: u32 = self.state.storage().get("rejected").await.map_err(internal)?.unwrap_or(0);
                Ok(json(200, &serde_json::json!({ "rejected_notifications": rejected })))
            }
            _ => Err(ApiError::NotFound),
        }
    }

    async fn checkout(&self, req: &mut Request) -> Result<Response, ApiError> {
        #[derive(Deserialize)]
        struct Form {
            product: String,
            #[serde(default)]
            lang: Option<String>,
        }
        let body = read_body(req).await?;
        let form: Form = serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        let (product, _, _, price) = PRODUCTS
            .iter()
            .find(|p| p.0 == form.product)
            .ok_or_else(|| ApiError::InvalidRequest(format!("unknown product {:?}", form.product)))?;
        let storage = self.state.storage();
        let counter: u32 = storage.get("counter").await.map_err(internal)?.unwrap_or(0) + 1;
        storage.put("counter", counter).await.map_err(internal)?;
        // A random suffix keeps references unique even if the demo's storage is wiped.
        let reference = format!("S{counter:04}-{}", &crate::util::random_id("")[..6]);
        let order = Order {
            reference: reference.clone(),
            product: product.to_string(),
            amount: *price,
            // A shop selling in SAR, unless the demo is set to another currency (PayPal takes
            // no SAR: its browser test sells in USD).
            currency: config::setting(&self.env, "DEMO_SHOP_CURRENCY").unwrap_or_else(|| "SAR".into()),
            lang: if form.lang.as_deref() == Some("ar") { "ar".into() } else { "en".into() },
            state: "pending".into(),
            message: None,
            payment_method: None,
            notifications: Vec::new(),
            created_at: now_secs(),
        };
        storage.put(&order_key(&reference), &order).await.map_err(internal)?;
        Ok(see_other(&format!("/demo/shop/checkout/{reference}")))
    }

    /// The checkout page: like Odoo's `/shop/payment`, it mints a fresh intent on each load.
    async fn checkout_page(&self, reference: &str) -> Result<Response, ApiError> {
        let order = self.load(reference).await?.ok_or(ApiError::NotFound)?;
        let shop = self.shop()?;
        let now = now_secs();
        let origin = shop.origin.trim_end_matches('/');
        let claims = IntentClaims {
            iss: shop.id.to_string(),
            aud: intent::AUDIENCE.into(),
            sub: order.reference.clone(),
            iat: now,
            exp: now + 15 * 60,
            amount: order.amount,
            currency: order.currency.clone(),
            methods: ["mada", "visa", "mastercard", "applepay", "stcpay", "paypal"].map(String::from).to_vec(),
            return_url: format!("{origin}/demo/shop/orders/{}", order.reference),
            notify_url: format!("{origin}/demo/shop/notify"),
            locale: Some(order.lang.clone()),
            customer_name: Some("Noura Al-Harbi".into()),
            customer_email: Some("noura@example.com".into()),
            nbf: None,
            jti: None,
        };
        let token = intent::sign(&claims, shop.secret.expose().as_bytes());
        let ar = order.lang == "ar";
        let body = format!(
            "<h1>{title}</h1><p class=\"summary\">{order_label} <b>{reference}</b> · {product} · \
<b dir=\"ltr\">{amount} {currency}</b></p>\
<bawaba-checkout id=\"checkout\" intent=\"{token}\"></bawaba-checkout>\
<script type=\"module\" src=\"/bawaba.js\"></script>",
            title = if ar { "الدفع" } else { "Checkout" },
            order_label = if ar { "الطلب" } else { "Order" },
            reference = escape_html(&order.reference),
            product = escape_html(product_name(&order.product, ar)),
            amount = money(&order).to_major_string(),
            currency = escape_html(&order.currency),
        );
        Ok(html(200, page(ar, if ar { "الدفع" } else { "Checkout" }, &body, false)))
    }

    /// Every order with its state and how many notifications it got: the shop's back office.
    async fn orders_page(&self) -> Result<Response, ApiError> {
        let options = worker::ListOptions::new().prefix("order:");
        let map = self.state.storage().list_with_options(options).await.map_err(internal)?;
        let mut orders: Vec<Order> = Vec::new();
        for value in map.values() {
            let value = value.map_err(|_| internal("storage list"))?;
            if let Ok(order) = serde_wasm_bindgen::from_value::<Order>(value) {
                orders.push(order);
            }
        }
        orders.sort_by_key(|o| std::cmp::Reverse(o.created_at));
        let mut deliveries = Vec::new();
        for o in &orders {
            deliveries.push(self.delivery_of(&o.reference).await);
        }
        let rows: String = orders
            .iter()
            .zip(&deliveries)
            .map(|(o, d)| {
                format!(
                    "<tr><td><a href=\"/demo/shop/orders/{r}\">{r}</a></td><td>{p}</td><td dir=\"ltr\">{a} {c}</td>\
<td data-state=\"{s}\">{s}</td><td>{n}</td><td>{d}</td><td>{m}</td></tr>",
                    r = escape_html(&o.reference),
                    p = escape_html(product_name(&o.product, false)),
                    a = money(o).to_major_string(),
                    c = escape_html(&o.currency),
                    s = escape_html(&o.state),
                    n = o.notifications.len(),
                    d = d
                        .as_ref()
                        .map(|d| format!("{:?} ({} attempt(s))", d.state, d.attempts).to_lowercase())
                        .unwrap_or_default(),
                    m = escape_html(o.payment_method.as_deref().or(o.message.as_deref()).unwrap_or("")),
                )
            })
            .collect();
        let body = format!(
            "<h1>Orders</h1><table id=\"orders\"><thead><tr><th>Order</th><th>Product</th><th>Amount</th>\
<th>State</th><th>Notifications</th><th>Delivery</th><th>Payment</th></tr></thead><tbody>{rows}</tbody></table>"
        );
        Ok(html(200, page(false, "Orders", &body, false)))
    }

    /// The edge's own view of the order's latest notification (the demo runs in the same worker,
    /// so it asks the payment object directly; a real shop would call `GET /v1/payments/{ref}`).
    async fn delivery_of(&self, reference: &str) -> Option<bawaba_core::api::DeliveryView> {
        let shop = self.shop().ok()?;
        let reference = bawaba_core::lifecycle::Reference::parse(reference).ok()?;
        let stub = crate::payment_object::stub_by_name(&self.env, &shop.id, &reference).ok()?;
        #[derive(serde::Deserialize)]
        struct Outbox {
            outbox: Vec<bawaba_core::lifecycle::OutboxEntry>,
        }
        let inspection: Outbox =
            crate::payment_object::call(&stub, &crate::payment_object::Command::Inspect).await.ok()?;
        let oldest_undelivered = inspection.outbox.iter().find(|e| e.delivered_at_ms.is_none());
        oldest_undelivered.or(inspection.outbox.last()).map(|e| e.view())
    }

    async fn order_page(&self, reference: &str) -> Result<Response, ApiError> {
        let order = self.load(reference).await?.ok_or(ApiError::NotFound)?;
        let delivery = self.delivery_of(reference).await;
        let ar = order.lang == "ar";
        let state_text = match (order.state.as_str(), ar) {
            ("paid", false) => "Paid. Thank you!",
            ("paid", true) => "تم الدفع. شكراً لك!",
            ("failed", false) => "Payment failed.",
            ("failed", true) => "فشل الدفع.",
            ("canceled", false) => "Payment canceled.",
            ("canceled", true) => "أُلغي الدفع.",
            ("error", false) => "Payment error: the result did not match the order.",
            ("error", true) => "خطأ في الدفع: النتيجة لا تطابق الطلب.",
            (_, false) => "Waiting for the payment result…",
            (_, true) => "بانتظار نتيجة الدفع…",
        };
        let rows: String = order
            .notifications
            .iter()
            .map(|n| {
                format!(
                    "<li><code>{}</code> {} · {}</li>",
                    escape_html(&n.event_id),
                    serde_json::to_value(n.event_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    if n.verified { "signature verified" } else { "unverified" }
                )
            })
            .collect();
        let body = format!(
            "<h1>{title} {reference}</h1><p id=\"order-state\" data-state=\"{state}\" role=\"status\">{state_text}</p>{message}\
<h2>{notif_title}</h2><ul id=\"notifications\" data-count=\"{count}\">{rows}</ul>{delivery}\
<p><a href=\"/{home}\">{again}</a> · <a href=\"/demo/shop/orders\">{all}</a></p>",
            title = if ar { "الطلب" } else { "Order" },
            reference = escape_html(&order.reference),
            state = escape_html(&order.state),
            message = order
                .message
                .as_ref()
                .map(|m| format!("<p id=\"order-message\">{}</p>", escape_html(m)))
                .unwrap_or_default(),
            notif_title = if ar { "الإشعارات الواردة من بوابة" } else { "Notifications received from Bawaba" },
            count = order.notifications.len(),
            delivery = delivery_html(delivery.as_ref(), ar),
            home = if ar { "ar/" } else { "" },
            again = if ar { "العودة إلى المتجر" } else { "Back to the shop" },
            all = if ar { "كل الطلبات" } else { "All orders" },
        );
        Ok(html(200, page(ar, &order.reference, &body, order.state == "pending")))
    }

    /// The `notify_url`: exactly what Odoo's controller does, in Rust.
    async fn notify(&self, req: &mut Request) -> Result<Response, ApiError> {
        let body = read_body(req).await?;
        let shop = self.shop()?;
        let header = req.headers().get(signature::HEADER).ok().flatten();
        let storage = self.state.storage();
        let verified = signature::verify(
            shop.secret.expose().as_bytes(),
            header.as_deref(),
            &body,
            now_secs(),
            signature::DEFAULT_TOLERANCE_SECS,
        );
        if let Err(e) = verified {
            let rejected: u32 = storage.get("rejected").await.map_err(internal)?.unwrap_or(0);
            storage.put("rejected", rejected + 1).await.map_err(internal)?;
            return Err(ApiError::Unauthorized { code: e.code().into(), message: e.to_string() });
        }
        let n: Notification = serde_json::from_slice(&body).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        if n.shop_id != shop.id.as_str() {
            return Err(ApiError::Unauthorized {
                code: "shop_mismatch".into(),
                message: "notification for another shop".into(),
            });
        }
        let Some(mut order) = self.load(&n.reference).await? else {
            worker::console_warn!("demo shop: notification for unknown order {}", n.reference);
            return Ok(json(200, &serde_json::json!({"received": true, "known": false})));
        };
        if let Some(seen) = order.notifications.iter_mut().find(|r| r.event_id == n.event_id) {
            seen.duplicates += 1;
        } else {
            order.notifications.push(Received {
                event_id: n.event_id.clone(),
                event_type: n.event_type,
                received_at: now_secs(),
                verified: true,
                duplicates: 0,
            });
            if n.amount != order.amount || n.currency != order.currency {
                order.state = "error".into();
                order.message = Some(format!("amount {} {} does not match the order", n.amount, n.currency));
            } else if order.state == "pending" || order.state == "authorized" {
                order.state = match n.event_type {
                    EventType::PaymentSucceeded => "paid",
                    EventType::PaymentAuthorized => "authorized",
                    EventType::PaymentFailed => "failed",
                    EventType::PaymentCanceled => "canceled",
                    _ => order.state.as_str(),
                }
                .to_string();
                order.message = n.error.as_ref().map(|e| e.message.clone());
                order.payment_method = Some(match (&n.card_brand, &n.card_last4) {
                    (Some(b), Some(l)) => format!("{b} •••• {l}"),
                    _ => n.method.clone(),
                });
            }
        }
        storage.put(&order_key(&order.reference), &order).await.map_err(internal)?;
        Ok(json(200, &serde_json::json!({"received": true, "known": true})))
    }
}

fn delivery_html(d: Option<&bawaba_core::api::DeliveryView>, ar: bool) -> String {
    use bawaba_core::api::DeliveryState;
    let Some(d) = d else { return String::new() };
    let state = match (d.state, ar) {
        (DeliveryState::Delivered, false) => "delivered",
        (DeliveryState::Delivered, true) => "تم التسليم",
        (DeliveryState::Pending, false) => "waiting for the first attempt",
        (DeliveryState::Pending, true) => "بانتظار المحاولة الأولى",
        (DeliveryState::Failing, false) => "failing, retrying",
        (DeliveryState::Failing, true) => "متعثر، وجارٍ إعادة المحاولة",
        (DeliveryState::Failed, false) => "gave up after 72 h",
        (DeliveryState::Failed, true) => "توقفت المحاولات بعد 72 ساعة",
    };
    format!(
        "<p id=\"delivery\" data-state=\"{code}\">{label}: {state} · {attempts} {attempts_label}{error}</p>",
        code = format!("{:?}", d.state).to_lowercase(),
        label = if ar { "تسليم الإشعار من بوابة" } else { "Edge delivery" },
        attempts = d.attempts,
        attempts_label = if ar { "محاولة" } else { "attempt(s)" },
        error = d.last_error.as_ref().map(|e| format!(" · {}", escape_html(e))).unwrap_or_default(),
    )
}

fn money(order: &Order) -> Money {
    Money::new(order.amount, Currency::parse(&order.currency).unwrap_or_else(|_| Currency::parse("SAR").expect("SAR")))
}

fn product_name(id: &str, ar: bool) -> &'static str {
    PRODUCTS.iter().find(|p| p.0 == id).map(|p| if ar { p.2 } else { p.1 }).unwrap_or("")
}

fn page(ar: bool, title: &str, body: &str, refresh: bool) -> String {
    let (lang, dir) = if ar { ("ar", "rtl") } else { ("en", "ltr") };
    format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{refresh}<title>{title}</title>\
<link rel=\"stylesheet\" href=\"/demo/shop.css\"></head><body><header class=\"shop-header\"><a href=\"/{home}\">{shop}</a></header>\
<main>{body}</main></body></html>",
        refresh = if refresh { "<meta http-equiv=\"refresh\" content=\"2\">" } else { "" },
        title = escape_html(title),
        home = if ar { "ar/" } else { "" },
        shop = if ar { "متجر بوابة التجريبي" } else { "Bawaba demo shop" },
    )
}
