//! The public HTTP surface: one dispatch table, one error mapping, CORS for the widget.

use crate::config;
use crate::error::{internal, response};
use crate::payment_object::{self, Command};
use crate::util::{json, now_millis, now_secs, origin_of, query_escape, read_body, read_json, see_other};
use bawaba_core::api::{
    ApiError, ApplepayValidateRequest, InPageError, MethodOption, MethodsRequest, MethodsResponse, OtpRequest,
    SessionRequest, SessionView,
};
use bawaba_core::gateway::{MethodFlow, Wallet, WebhookError};
use bawaba_core::intent::{self, IntentError, ShopKey, VerifiedIntent};
use bawaba_core::lifecycle::{parse_gateway_reference, IdempotencyKey, Order, Reference, ShopId, Source};
use bawaba_core::method::PaymentMethod;
use bawaba_core::signature::{self, SignedCall};
use std::cell::OnceCell;
use worker::{Env, Method, Request, Response};

/// The version reported by `/v1/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Handles one request; never fails (errors become JSON error responses).
pub async fn handle(req: Request, env: Env) -> Response {
    let path = req.path();
    let is_api = path.starts_with("/v1/");
    let request_origin = req.headers().get("Origin").ok().flatten();
    let resp = match dispatch(req, &env).await {
        Ok(r) => r,
        Err(e) => response(&e),
    };
    with_policy(resp, &env, is_api.then_some(request_origin.as_deref()))
}

/// Adds the headers every answer carries ([`bawaba_core::web_policy`]) and, for the API
/// (`api_origin` is `Some(the request's Origin)`), CORS for the shops' registered origins: the
/// widget calls the API from the shop's page; other sites' pages cannot read the answers.
fn with_policy(resp: Response, env: &Env, api_origin: Option<Option<&str>>) -> Response {
    use bawaba_core::web_policy;
    // Responses relayed from a Durable Object have immutable headers: build a fresh set.
    let headers = worker::Headers::new();
    for (name, value) in resp.headers().entries() {
        let _ = headers.set(&name, &value);
    }
    for (name, value) in web_policy::ALWAYS {
        let _ = headers.set(name, value);
    }
    if let Some(request_origin) = api_origin {
        let shops = config::shops(env).unwrap_or_default();
        if let Some(origin) = web_policy::allowed_origin(request_origin, shops.iter().flat_map(|s| s.browser_origins()))
        {
            let _ = headers.set("Access-Control-Allow-Origin", &origin);
            let _ = headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            let _ = headers.set("Access-Control-Allow-Headers", "Content-Type");
            let _ = headers.set("Access-Control-Max-Age", "86400");
        }
        // Caches must not hand one origin's answer to another.
        let _ = headers.set("Vary", "Origin");
    }
    resp.with_headers(headers)
}

async fn dispatch(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let path = req.path();
    let segments: Vec<String> = path.trim_matches('/').split('/').map(str::to_string).collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method();
    match segs.as_slice() {
        ["v1", ..] if method == Method::Options => Ok(Response::empty().map_err(internal)?.with_status(204)),
        ["v1", "health"] => {
            only(&method, Method::Get)?;
            health(env).await
        }
        ["v1", "methods"] => {
            only(&method, Method::Post)?;
            methods(&mut req, env).await
        }
        ["v1", "sessions"] => {
            only(&method, Method::Post)?;
            create_session(&mut req, env).await
        }
        ["v1", "sessions", id] => {
            only(&method, Method::Get)?;
            get_session(env, id).await
        }
        ["v1", "sessions", id, "otp"] => {
            only(&method, Method::Post)?;
            submit_otp(&mut req, env, id).await
        }
        ["v1", "applepay", "validate"] => {
            only(&method, Method::Post)?;
            applepay_validate(&mut req, env).await
        }
        [".well-known", "apple-developer-merchantid-domain-association"] => {
            if method != Method::Get && method != Method::Head {
                return Err(ApiError::HttpMethodNotAllowed);
            }
            applepay_domain_association(env)
        }
        ["v1", "return", gateway, session_id] => {
            if method != Method::Get && method != Method::Post {
                return Err(ApiError::HttpMethodNotAllowed);
            }
            browser_return(&mut req, env, gateway, session_id).await
        }
        ["v1", "pay", gateway, id] => {
            if method != Method::Get && method != Method::Head {
                return Err(ApiError::HttpMethodNotAllowed);
            }
            gateway_page(&req, env, gateway, id).await
        }
        ["v1", "payments", reference] => {
            only(&method, Method::Get)?;
            inspect_payment(&req, env, reference).await
        }
        ["v1", "deliveries"] => {
            only(&method, Method::Get)?;
            deliveries(&req, env).await
        }
        ["v1", "webhooks", gateway] => {
            only(&method, Method::Post)?;
            webhook(&mut req, env, gateway).await
        }
        ["v1", "refunds"] => {
            only(&method, Method::Post)?;
            back_office(&mut req, env, Office::Refund).await
        }
        ["v1", "captures"] => {
            only(&method, Method::Post)?;
            back_office(&mut req, env, Office::Capture).await
        }
        ["v1", "voids"] => {
            only(&method, Method::Post)?;
            back_office(&mut req, env, Office::Void).await
        }
        ["v1", "stats"] => {
            only(&method, Method::Get)?;
            stats(&req, env).await
        }
        ["v1", "check"] => {
            only(&method, Method::Post)?;
            check(&mut req, env).await
        }
        ["dashboard"] => {
            if method != Method::Get && method != Method::Head {
                return Err(ApiError::HttpMethodNotAllowed);
            }
            Ok(dashboard(&req, env).await)
        }
        ["sandbox", ..] if config::flag(env, "SANDBOX_ENABLED") => forward_to_sandbox(req, env).await,
        ["demo", "shop", ..] if config::flag(env, "DEMO_SHOP_ENABLED") => crate::demo_shop::handle(req, env).await,
        _ => Err(ApiError::NotFound),
    }
}

fn only(actual: &Method, expected: Method) -> Result<(), ApiError> {
    if *actual == expected {
        Ok(())
    } else {
        Err(ApiError::HttpMethodNotAllowed)
    }
}

/// `GET /v1/health`: the edge is up, and each routed gateway's health (its breaker's state,
/// recent starts and outages, latency: no secrets). A routing misconfiguration is named, and
/// the edge still answers 200: it is up.
async fn health(env: &Env) -> Result<Response, ApiError> {
    let mut gateways = serde_json::Map::new();
    let routes = config::routes(env);
    if let Ok(routes) = &routes {
        for gateway in routes.gateways_in_use() {
            let view = match crate::gateway_index::health(env, gateway).await {
                Ok(view) => serde_json::to_value(view).map_err(internal)?,
                Err(e) => serde_json::json!({ "state": "unknown", "error": e.to_string() }),
            };
            gateways.insert(gateway.to_string(), view);
        }
    }
    let mut body = serde_json::json!({
        "status": "ok",
        "version": VERSION,
        "sandbox": config::flag(env, "SANDBOX_ENABLED"),
        "gateways": gateways,
    });
    if let Err(e) = routes {
        body["routes_error"] = e.to_string().into();
    }
    Ok(json(200, &body))
}

/// Verifies an intent against the shop registry (with the shop's previous key too while its
/// key is rotated).
pub fn verify_intent(env: &Env, token: &str) -> Result<VerifiedIntent, ApiError> {
    let mut key_index = 0;
    loop {
        let shop_cell = OnceCell::new();
        let config_error = OnceCell::new();
        let mut more_keys = false;
        let verified = intent::verify(
            token,
            |iss| match config::shop(env, iss) {
                Ok(Some(shop)) => {
                    let shop = shop_cell.get_or_init(|| shop);
                    let mut keys = shop.keys().skip(key_index);
                    let secret = keys.next()?;
                    more_keys = keys.next().is_some();
                    Some(ShopKey { secret, origin: &shop.origin })
                }
                Ok(None) => None,
                Err(e) => {
                    let _ = config_error.set(e);
                    None
                }
            },
            now_secs(),
        );
        if let Some(e) = config_error.into_inner() {
            return Err(e);
        }
        match verified {
            Err(IntentError::InvalidSignature) if more_keys => key_index += 1,
            other => return Ok(other?),
        }
    }
}

/// Methods the intent allows that a configured gateway serves in its currency (with
/// credentials of the shop's mode), in display order.
fn available_methods(env: &Env, intent: &VerifiedIntent, origin: &str) -> Result<Vec<MethodOption>, ApiError> {
    let shop = config::shop(env, &intent.claims.iss)?.ok_or(ApiError::Intent(IntentError::UnknownShop))?;
    let mut out = Vec::new();
    for method in &intent.methods {
        let gateways = config::gateways_for(env, *method, intent.money.currency.code(), shop.mode, origin)?;
        if let Some(gateway) = gateways.first() {
            let flow = config::connector(env, gateway, origin)?.flow(*method);
            out.push(MethodOption { code: *method, gateway: gateway.to_string(), flow });
        }
    }
    Ok(out)
}

/// What the shopper gave for a method the widget takes in the page, checked against how the
/// method's gateway takes it: a mobile number for STC Pay's code, a token for Apple Pay's sheet,
/// nothing for a gateway's page.
fn wallet_of(body: &SessionRequest, flow: MethodFlow) -> Result<Option<Wallet>, ApiError> {
    let refused = |e: InPageError| Err(ApiError::InPage(e));
    match (flow, &body.mobile, &body.applepay_token) {
        (MethodFlow::Otp, mobile, None) => {
            match bawaba_core::mobile::SaudiMobile::parse(mobile.as_deref().unwrap_or("")) {
                Ok(m) => Ok(Some(Wallet::Stcpay { mobile: m.national().to_string() })),
                // A widget that asks for the gateway's page (an older one, or `autostart`) gets it.
                Err(bawaba_core::mobile::MobileError::Empty) if mobile.is_none() => Ok(None),
                Err(e) => refused(InPageError::MobileInvalid(e.to_string())),
            }
        }
        // Every gateway charges Apple's token with its encrypted data and key: one that has
        // neither is the caller's mistake (422), found before any gateway is asked.
        (MethodFlow::Applepay, None, Some(token)) => match bawaba_core::applepay::ApplepayToken::parse(token) {
            Ok(_) => Ok(Some(Wallet::Applepay { token: token.clone() })),
            Err(why) => refused(InPageError::ApplepayTokenInvalid(why)),
        },
        (_, None, None) => Ok(None),
        (MethodFlow::Applepay, _, None) if body.method == "applepay" => {
            refused(InPageError::ApplepayTokenInvalid("no applepay_token".into()))
        }
        _ => refused(InPageError::WalletNotExpected(body.method.clone())),
    }
}

/// `POST /v1/sessions/{id}/otp` `{"otp"}`: the STC Pay code, sent to the gateway by the payment
/// object, which then asks the gateway how the payment ended.
async fn submit_otp(req: &mut Request, env: &Env, session_id: &str) -> Result<Response, ApiError> {
    let body: OtpRequest = read_json(req).await?;
    let code = bawaba_core::api::parse_otp(&body.otp).map_err(ApiError::InPage)?;
    let stub = stub_for_session(env, session_id)?;
    let command = Command::SubmitOtp { session_id: session_id.to_string(), code };
    let view: SessionView = payment_object::call(&stub, &command).await?;
    Ok(json(200, &view))
}

/// `POST /v1/applepay/validate` `{"intent", "validation_url"}`: the merchant session for the
/// Apple Pay sheet, from the gateway that takes Apple Pay in the page for this payment. The
/// domain is the shop page's (its `Origin`, one of the shop's registered origins). Each is a
/// call to the gateway: counted per client address and per shop like session starts.
async fn applepay_validate(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let origin = req.headers().get("Origin").ok().flatten();
    let body: ApplepayValidateRequest = read_json(req).await?;
    let intent = verify_intent(env, &body.intent)?;
    bawaba_core::api::check_applepay_validation_url(&body.validation_url).map_err(ApiError::InPage)?;
    let edge_origin = origin_of(req);
    let option = available_methods(env, &intent, &edge_origin)?
        .into_iter()
        .find(|m| m.code == PaymentMethod::Applepay)
        .ok_or_else(|| ApiError::MethodNotAllowed("applepay".into()))?;
    if option.flow != MethodFlow::Applepay {
        return Err(ApiError::InPage(InPageError::ApplepayUnavailable));
    }
    let entry = config::shop_entry(env, &intent.claims.iss)?.ok_or(ApiError::Intent(IntentError::UnknownShop))?;
    let page_origin = match origin {
        Some(o) if entry.browser_origins().any(|b| b == o) => o,
        Some(o) => {
            return Err(ApiError::InPage(InPageError::ApplepayValidationUrlInvalid(format!(
                "a page on {o}, which is not one of the shop's origins"
            ))))
        }
        None => entry.origin.clone(),
    };
    let domain = page_origin.split("://").nth(1).unwrap_or(&page_origin).split(['/', ':']).next().unwrap_or_default();
    let (shop, _) = payment_names(&intent.claims.iss, &intent.claims.sub)?;
    crate::limiter::admit_applepay_validation(env, &shop, &crate::limiter::client_address(req)).await?;
    let connector = config::connector(env, &option.gateway, &edge_origin)?;
    let display_name = entry.display_name();
    let timeout = payment_object::settings(env).gateway_timeout_ms.max(1) as u64;
    // The gateway validates the merchant where it can (Moyasar's web registration); else the
    // edge does, as the merchant's own Apple merchant, with its identity certificate.
    let session = match connector.build_applepay_session(&body.validation_url, domain, display_name) {
        Some(request) => match crate::http::call(env, connector.as_ref(), request, timeout).await {
            Ok(resp) => connector.parse_applepay_session(&resp),
            Err(e) => Err(e),
        },
        None => {
            let merchant = config::apple_merchant(env)?.ok_or(ApiError::InPage(InPageError::ApplepayUnavailable))?;
            let request = bawaba_core::applepay::build_merchant_validation(
                &body.validation_url,
                &merchant.id,
                domain,
                display_name,
            );
            match crate::http::send_through(&merchant.certificate, &request, timeout).await {
                Ok(resp) => bawaba_core::applepay::parse_merchant_session(&resp),
                Err(e) => Err(e),
            }
        }
    };
    match session {
        Ok(session) => Ok(json(200, &session)),
        Err(bawaba_core::gateway::GatewayError::Unreachable(why)) => Err(ApiError::GatewayUnavailable(why)),
        Err(other) => Err(ApiError::GatewayRejected(other.to_string())),
    }
}

/// `/.well-known/apple-developer-merchantid-domain-association`: the file Apple (or the gateway,
/// for its web registration) gives, served for pages on this edge's own domain. The shop's own
/// domain serves it too (the Odoo addon does).
fn applepay_domain_association(env: &Env) -> Result<Response, ApiError> {
    let file = config::setting(env, "APPLE_PAY_DOMAIN_ASSOCIATION").filter(|f| !f.trim().is_empty());
    let file = file.ok_or(ApiError::NotFound)?;
    let mut resp = Response::ok(file).map_err(internal)?;
    let _ = resp.headers_mut().set("Content-Type", "text/plain; charset=utf-8");
    Ok(resp)
}

async fn methods(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let body: MethodsRequest = read_json(req).await?;
    let intent = verify_intent(env, &body.intent)?;
    let methods = available_methods(env, &intent, &origin_of(req))?;
    if !methods.is_empty() {
        // The top of the checkout funnel, after the answer.
        let (shop, reference) = (intent.claims.iss.clone(), intent.claims.sub.clone());
        crate::stats::defer(crate::stats::record_checkout(env.clone(), shop, reference, now_millis()));
    }
    Ok(json(
        200,
        &MethodsResponse {
            reference: intent.claims.sub.clone(),
            amount: intent.money.minor,
            currency: intent.money.currency.code().to_string(),
            amount_display: intent.money.to_major_string(),
            methods,
            merchant_name: config::shop_entry(env, &intent.claims.iss)?
                .map(|s| s.display_name().to_string())
                .unwrap_or_default(),
        },
    ))
}

/// `GET /v1/stats?from=&to=&group=` (signed): the shop's attempts, outcomes, decline reasons,
/// latency and funnel (bawaba_core::stats).
async fn stats(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let shop = verify_shop_call(req, env, b"", None)?.shop;
    let url = req.url().map_err(internal)?;
    let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let query = bawaba_core::stats::StatsQuery::parse(&pairs, now_millis())?;
    let report = crate::stats::report(env, shop.id.as_str(), &query).await?;
    Ok(json(200, &report))
}

/// `GET /dashboard?token=&days=&lang=`: the shop's dashboard, for whoever holds a fresh link the
/// shop signed (`bawaba_core::dashboard::link`). A browser page: errors are pages too, with the
/// status and the stable code of the API's errors.
async fn dashboard(req: &Request, env: &Env) -> Response {
    use bawaba_core::dashboard::{self, DashboardRequest};
    use bawaba_core::decline::Locale;
    let pairs: Vec<(String, String)> = match req.url() {
        Ok(url) => url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        Err(_) => Vec::new(),
    };
    let locale = match pairs.iter().find(|(k, _)| k == "lang") {
        Some((_, v)) if v == "ar" => Locale::Ar,
        _ => Locale::En,
    };
    let page = async {
        let request = DashboardRequest::parse(&pairs)?;
        let shop = verify_dashboard_link(env, &request.token)?;
        let data = crate::stats::dashboard(env, shop.id.as_str(), request.days, now_millis()).await?;
        Ok::<_, ApiError>(dashboard::render(&data, &request))
    };
    let (status, page) = match page.await {
        Ok(page) => (200, page),
        Err(e) => {
            if e.status() >= 500 {
                worker::console_error!("dashboard: {} {}", e.code(), e);
            }
            (e.status(), dashboard::error_page(e.code(), &e.to_string(), locale))
        }
    };
    let mut resp = crate::util::html_with_styles(status, page.html, &[page.style]);
    let _ = resp.headers_mut().set("Cache-Control", "no-store");
    resp
}

/// The shop whose dashboard link this is, with either key while one is rotated.
fn verify_dashboard_link(env: &Env, token: &str) -> Result<config::Shop, ApiError> {
    use bawaba_core::dashboard::link::{self, LinkError};
    let refused = |e: LinkError| ApiError::Unauthorized { code: e.code().into(), message: e.to_string() };
    let iss = link::claimed_issuer(token).ok_or_else(|| refused(LinkError::Malformed))?;
    let shop = config::shop(env, &iss)?.ok_or_else(|| refused(LinkError::UnknownShop))?;
    let mut outcome = Err(LinkError::UnknownShop);
    for (i, key) in shop.keys().enumerate() {
        let checked = link::verify(token, |_| Some(key), now_secs());
        if i == 0 || checked.is_ok() {
            outcome = checked;
        }
        if outcome.is_ok() {
            break;
        }
    }
    outcome.map_err(refused)?;
    Ok(shop)
}

async fn create_session(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let body: SessionRequest = read_json(req).await?;
    let intent = verify_intent(env, &body.intent)?;
    let method = PaymentMethod::from_code(&body.method).ok_or_else(|| ApiError::UnknownMethod(body.method.clone()))?;
    let option = available_methods(env, &intent, &origin_of(req))?
        .into_iter()
        .find(|m| m.code == method)
        .ok_or_else(|| ApiError::MethodNotAllowed(body.method.clone()))?;
    let wallet = wallet_of(&body, option.flow)?;
    let locale = match body.locale.as_deref().or(intent.claims.locale.as_deref()) {
        Some(l) if l.starts_with("ar") => "ar",
        _ => "en",
    };
    let (shop, reference) = payment_names(&intent.claims.iss, &intent.claims.sub)?;
    let stub = payment_object::stub_by_name(env, &shop, &reference)?;
    let command = Command::StartSession {
        shop,
        reference,
        money: intent.money,
        order: Order {
            return_url: intent.claims.return_url.clone(),
            notify_url: intent.claims.notify_url.clone(),
            customer_name: intent.claims.customer_name.clone(),
            customer_email: intent.claims.customer_email.clone(),
        },
        method,
        locale: locale.to_string(),
        edge_origin: origin_of(req),
        client: crate::limiter::client_address(req),
        wallet,
    };
    let view: SessionView = payment_object::call(&stub, &command).await?;
    Ok(json(200, &view))
}

/// The typed names of a verified intent's payment. The shop id was found in the registry, whose
/// ids are checked; a reference out of bounds is a claim the edge refuses.
fn payment_names(iss: &str, sub: &str) -> Result<(ShopId, Reference), ApiError> {
    let shop = ShopId::parse(iss).map_err(ApiError::Misconfigured)?;
    let reference = Reference::parse(sub).map_err(|why| ApiError::Intent(IntentError::InvalidClaims(why)))?;
    Ok((shop, reference))
}

fn stub_for_session(env: &Env, session_id: &str) -> Result<worker::Stub, ApiError> {
    let object_id = payment_object::object_id_of(session_id).ok_or(ApiError::SessionNotFound)?;
    payment_object::stub_by_id(env, object_id)
}

async fn get_session(env: &Env, session_id: &str) -> Result<Response, ApiError> {
    let stub = stub_for_session(env, session_id)?;
    let view: SessionView =
        payment_object::call(&stub, &Command::GetSession { session_id: session_id.to_string() }).await?;
    Ok(json(200, &view))
}

/// The shopper is back from the gateway. The return is only a hint: the payment object asks
/// the gateway for the truth, then the shopper goes on to the shop, whatever the answer.
///
/// Where the gateway signs its returns (PayTabs), a return whose signature fails asks nothing:
/// the shopper goes back to the shop with the payment as it stands; so does a return that came
/// by another gateway's path than its session's.
async fn browser_return(req: &mut Request, env: &Env, gateway: &str, session_id: &str) -> Result<Response, ApiError> {
    let stub = stub_for_session(env, session_id)?;
    // The session's own gateway verifies the return: the gateway in the path is the caller's
    // word, and a return sent down another gateway's path (one that signs nothing) is forged.
    let get = Command::GetSession { session_id: session_id.to_string() };
    let current: SessionView = payment_object::call(&stub, &get).await?;
    let authentic = if current.gateway != gateway {
        worker::console_warn!("a return for {session_id} ({}) came by the {gateway} path", current.gateway);
        false
    } else if req.method() == Method::Post {
        let body = read_body(req).await?;
        match config::connector(env, gateway, &origin_of(req)).map(|c| c.verify_return(&body)) {
            Ok(Err(e)) => {
                worker::console_warn!("{gateway} return for {session_id} refused: {e:?}");
                false
            }
            _ => true,
        }
    } else {
        true
    };
    // A gateway that cannot be reached now leaves the payment pending (the webhook or the
    // reconciliation will tell); the shopper still goes back to the shop.
    let view: SessionView = if authentic {
        let confirm = Command::Confirm { session_id: session_id.to_string(), source: Source::Return };
        payment_object::call(&stub, &confirm).await?
    } else {
        current
    };
    let separator = if view.return_url.contains('?') { '&' } else { '?' };
    let location = format!(
        "{}{separator}reference={}&status={}",
        view.return_url,
        query_escape(&view.reference),
        view.status.as_str()
    );
    Ok(see_other(&location))
}

/// `GET /v1/pay/hyperpay/{session id}?lang=`: the page that mounts HyperPay's widget (HyperPay
/// has no hosted page to redirect to; gateways.md §3.2). Everything on it comes from the edge's
/// own records: the session is found by its id in the gateway index, and only while it may
/// still take money; the form goes back to the edge's return route for that session. The
/// page's policy names HyperPay's host, and nothing else, for scripts, frames and requests.
async fn gateway_page(req: &Request, env: &Env, gateway: &str, id: &str) -> Result<Response, ApiError> {
    use bawaba_core::gateway::hyperpay;
    if gateway != hyperpay::CODE {
        return Err(ApiError::NotFound);
    }
    let origin = origin_of(req);
    let lookup = |name: &str| config::setting(env, name);
    let cfg = hyperpay::connector::config_from(&lookup, &origin).map_err(ApiError::Misconfigured)?;
    let gateway_payment_id = urlencoding_decode(id);
    let session = hyperpay::SessionId::parse(&gateway_payment_id).ok_or(ApiError::SessionNotFound)?;
    let object_id =
        crate::gateway_index::get(env, gateway, &gateway_payment_id).await?.ok_or(ApiError::SessionNotFound)?;
    let stub = payment_object::stub_by_id(env, &object_id)?;
    let inspection: serde_json::Value = payment_object::call(&stub, &Command::Inspect).await?;
    let ours = inspection["payment"]["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["gateway"] == gateway && s["gateway_payment_id"] == gateway_payment_id.as_str())
        .ok_or(ApiError::SessionNotFound)?;
    if ours["status"] != "open" {
        return Err(ApiError::SessionNotFound);
    }
    let session_id = ours["id"].as_str().ok_or(ApiError::SessionNotFound)?;
    let locale = req
        .url()
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "lang").map(|(_, v)| v.to_string()))
        .unwrap_or_default();
    let return_url = format!("{origin}/v1/return/{gateway}/{session_id}");
    let html = hyperpay::page::render(&cfg, session.kind, &session.checkout_id, &return_url, &locale);
    let mut resp = Response::from_html(html).map_err(internal)?;
    let _ =
        resp.headers_mut().set("Content-Security-Policy", &hyperpay::page::content_security_policy(&cfg, session.kind));
    let _ = resp.headers_mut().set("Cache-Control", "no-store");
    Ok(resp)
}

/// `POST /v1/webhooks/{gateway}`: verified with the gateway's own scheme, then only a trigger:
/// the payment object asks the gateway for the truth.
async fn webhook(req: &mut Request, env: &Env, gateway: &str) -> Result<Response, ApiError> {
    if bawaba_core::gateway::connector::capabilities_of(gateway).is_none() {
        return Err(ApiError::NotFound);
    }
    let body = read_body(req).await?;
    let connector = config::connector(env, gateway, &origin_of(req))?;
    let headers = req.headers().clone();
    let header = move |name: &str| headers.get(name).ok().flatten();
    let hint = connector.verify_webhook(&header, &body, now_secs()).map_err(|e| match e {
        WebhookError::Signature(s) => {
            ApiError::Unauthorized { code: s.code().into(), message: s.describe_webhook(gateway) }
        }
        WebhookError::Body(why) => ApiError::InvalidRequest(why),
    })?;
    // Gateways that vouch for their webhooks by a call of their own (PayPal) are asked too.
    if let Some(check) = connector.build_webhook_check(&header, &body) {
        let timeout = payment_object::settings(env).gateway_timeout_ms.max(1) as u64;
        let resp = crate::http::call(env, connector.as_ref(), check, timeout).await.map_err(|e| match e {
            bawaba_core::gateway::GatewayError::Unreachable(why) => ApiError::GatewayUnavailable(why),
            other => ApiError::GatewayRejected(other.to_string()),
        })?;
        connector.parse_webhook_check(&resp).map_err(|e| match e {
            WebhookError::Signature(s) => {
                ApiError::Unauthorized { code: s.code().into(), message: s.describe_webhook(gateway) }
            }
            WebhookError::Body(why) => ApiError::InvalidRequest(why),
        })?;
    }
    let acknowledged = |known: bool| Ok(json(200, &serde_json::json!({"received": true, "known": known})));
    let Some(gateway_payment_id) = hint.gateway_payment_id else {
        // Some events name only our reference (Stripe's payment_intent.* and charge.*): the
        // payment is found by it, and its sessions at this gateway are asked.
        let Some((shop, reference)) = hint.reference.as_deref().and_then(parse_gateway_reference) else {
            return acknowledged(false);
        };
        let stub = payment_object::stub_by_name(env, &shop, &reference)?;
        let command = Command::ConfirmAtGateway { gateway: gateway.to_string(), source: Source::Webhook };
        return match payment_object::call::<serde_json::Value>(&stub, &command).await {
            Ok(_) => acknowledged(true),
            Err(ApiError::PaymentNotFound | ApiError::SessionNotFound) => acknowledged(false),
            Err(e) => Err(e),
        };
    };
    let stub = match crate::gateway_index::get(env, gateway, &gateway_payment_id).await? {
        Some(object_id) => payment_object::stub_by_id(env, &object_id)?,
        None => {
            // Unknown payment: acknowledge, so the gateway stops retrying something we will never know.
            worker::console_warn!("{gateway} webhook for unknown payment {gateway_payment_id:?}");
            return acknowledged(false);
        }
    };
    let command = Command::ConfirmGatewayPayment { gateway_payment_id, source: Source::Webhook };
    match payment_object::call::<SessionView>(&stub, &command).await {
        Ok(_) => acknowledged(true),
        Err(ApiError::SessionNotFound) => acknowledged(false),
        Err(e) => Err(e),
    }
}

#[derive(Clone, Copy)]
enum Office {
    Refund,
    Capture,
    Void,
}

/// `POST /v1/refunds`, `/v1/captures`, `/v1/voids` (signed by the shop, with an
/// `Idempotency-Key`): `{"reference", "amount"?}`.
async fn back_office(req: &mut Request, env: &Env, office: Office) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        reference: String,
        #[serde(default)]
        amount: Option<i64>,
    }
    let raw = read_body(req).await?;
    let key_header = req.headers().get(signature::IDEMPOTENCY_HEADER).ok().flatten();
    let call = verify_shop_call(req, env, &raw, key_header.as_deref())?;
    let key = key_header
        .ok_or(ApiError::IdempotencyKeyMissing)
        .and_then(|k| IdempotencyKey::parse(&k).map_err(ApiError::IdempotencyKeyInvalid))?;
    let body: Body = serde_json::from_slice(&raw).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let reference = Reference::parse(&body.reference).map_err(ApiError::InvalidRequest)?;
    // What the key is bound to: the route and the body (a key reused for another call is 409).
    let digest = call.digest;
    let command = match office {
        Office::Refund => Command::Refund { key, digest, amount: body.amount },
        Office::Capture => Command::Capture { key, digest, amount: body.amount },
        Office::Void => Command::Void { key, digest },
    };
    let stub = payment_object::stub_by_name(env, &call.shop.id, &reference)?;
    let answer: serde_json::Value = payment_object::call(&stub, &command).await?;
    Ok(json(200, &answer))
}

/// `POST /v1/check` (signed by the shop): who the edge thinks the shop is (id, registered
/// origin, test or live), and for each gateway in use whether its credentials work, which mode
/// they are, and what it can do; then the methods the shop may offer.
async fn check(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    use bawaba_core::gateway::CheckVerdict;
    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        currency: Option<String>,
    }
    let raw = read_body(req).await?;
    let shop = verify_shop_call(req, env, &raw, None)?.shop;
    let body: Body = if raw.is_empty() {
        Body::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| ApiError::InvalidRequest(e.to_string()))?
    };
    let origin = origin_of(req);
    let timeout = payment_object::settings(env).gateway_timeout_ms.max(1) as u64;
    let mut results = Vec::new();
    let mut admitted = Vec::new();
    let routes = config::routes(env)?;
    for gateway in routes.gateways_in_use() {
        let connector = match config::connector(env, gateway, &origin) {
            Ok(c) => c,
            Err(e) => {
                results.push(
                    serde_json::json!({"gateway": gateway, "verdict": "not_configured", "message": e.to_string()}),
                );
                continue;
            }
        };
        let caps = connector.capabilities();
        let capabilities = serde_json::json!({
            "refund": true,
            "partial_refund": caps.partial_refund,
            "capture": caps.capture,
            "void": caps.void,
        });
        let mode = connector.mode();
        if !shop.mode.admits(mode) {
            let message = format!(
                "{gateway}'s credentials are {} ones and this shop is registered as {}: the edge does not use them for it",
                if mode == Some(bawaba_core::gateway::Mode::Live) { "live" } else { "test" },
                if shop.mode == bawaba_core::gateway::Mode::Live { "live" } else { "test" },
            );
            results.push(serde_json::json!({
                "gateway": gateway, "verdict": CheckVerdict::WrongMode, "message": message, "mode": mode,
                "capabilities": capabilities,
            }));
            continue;
        }
        admitted.push(gateway);
        let started = crate::util::now_millis();
        let (verdict, message) =
            match crate::http::call(env, connector.as_ref(), connector.build_check(), timeout).await {
                Ok(resp) => connector.parse_check(&resp, body.currency.as_deref()),
                Err(e) => (CheckVerdict::Unreachable, e.to_string()),
            };
        results.push(serde_json::json!({
            "gateway": gateway,
            "verdict": verdict,
            "message": message,
            "latency_ms": crate::util::now_millis() - started,
            "mode": mode,
            "capabilities": capabilities,
        }));
    }
    // What the shop may offer: the methods a gateway it may use is routed for (in the
    // currency, if given), so that a shop can stop showing what no gateway here would take.
    let mut methods = Vec::new();
    for method in bawaba_core::method::PaymentMethod::DISPLAY_ORDER {
        let routed_to = match body.currency.as_deref() {
            Some(currency) => routes.gateways_for(method, currency),
            None => routes.gateways_in_use().into_iter().filter(|g| routes.routes_method_to(method, g)).collect(),
        };
        if routed_to.iter().any(|g| admitted.contains(g)) {
            methods.push(method.code());
        }
    }
    Ok(json(
        200,
        &serde_json::json!({
            "shop": { "id": shop.id.as_str(), "origin": shop.origin, "mode": shop.mode },
            "gateways": results,
            "methods": methods,
        }),
    ))
}

async fn forward_to_sandbox(req: Request, env: &Env) -> Result<Response, ApiError> {
    let ns = env.durable_object(crate::sandbox_object::BINDING).map_err(internal)?;
    let stub = ns.get_by_name(crate::sandbox_object::INSTANCE).map_err(internal)?;
    stub.fetch_with_request(req).await.map_err(internal)
}

/// A verified shop → edge call.
pub struct VerifiedCall {
    /// The shop that signed it.
    pub shop: crate::config::Shop,
    /// Hex SHA-256 of the method, path with query, and body: what an idempotency key binds.
    pub digest: String,
}

/// Verifies a signed shop → edge call: `Bawaba-Shop: <id>` and a `Bawaba-Signature` whose MAC
/// binds the method, the path with its query, the shop id, the `Idempotency-Key` and the body
/// (`docs/protocol.md`), so a signed call cannot be replayed on another route or for another
/// key.
pub fn verify_shop_call(
    req: &Request,
    env: &Env,
    body: &[u8],
    idempotency_key: Option<&str>,
) -> Result<VerifiedCall, ApiError> {
    let unauthorized =
        |code: &'static str, message: &str| ApiError::Unauthorized { code: code.into(), message: message.into() };
    let shop_id = req
        .headers()
        .get("Bawaba-Shop")
        .ok()
        .flatten()
        .ok_or_else(|| unauthorized("shop_missing", "the Bawaba-Shop header is missing"))?;
    let shop = config::shop(env, &shop_id)?.ok_or_else(|| unauthorized("shop_unknown", "no shop has this id"))?;
    let header = req.headers().get(signature::HEADER).ok().flatten();
    let method = req.method().to_string().to_ascii_uppercase();
    let path_and_query = path_and_query(req)?;
    let call =
        SignedCall { method: &method, path_and_query: &path_and_query, shop_id: &shop_id, idempotency_key, body };
    // While the shop's key is rotated, either key will do; the error is the current key's.
    let mut outcome = Ok(());
    for (i, key) in shop.keys().enumerate() {
        let checked =
            signature::verify_call(key, header.as_deref(), &call, now_secs(), signature::DEFAULT_TOLERANCE_SECS);
        if i == 0 || checked.is_ok() {
            outcome = checked;
        }
        if outcome.is_ok() {
            break;
        }
    }
    outcome.map_err(|e| ApiError::Unauthorized { code: e.code().into(), message: e.to_string() })?;
    let mut bound = Vec::with_capacity(method.len() + path_and_query.len() + body.len() + 2);
    for part in [method.as_bytes(), path_and_query.as_bytes(), body] {
        bound.extend_from_slice(part);
        bound.push(b'\n');
    }
    let digest = hex::encode(bawaba_core::hmac_sha256(b"bawaba-idempotency-digest", &bound));
    Ok(VerifiedCall { shop, digest })
}

/// `GET /v1/deliveries?state=failing|failed|pending|undelivered`: the shop's notifications that
/// have not reached it, for the operator.
async fn deliveries(req: &Request, env: &Env) -> Result<Response, ApiError> {
    use bawaba_core::api::DeliveryState;
    let url = req.url().map_err(internal)?;
    let shop = verify_shop_call(req, env, b"", None)?.shop;
    let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.to_string());
    let states = match state.as_deref().unwrap_or("undelivered") {
        "failing" => vec![DeliveryState::Failing],
        "failed" => vec![DeliveryState::Failed],
        "pending" => vec![DeliveryState::Pending],
        "undelivered" => vec![DeliveryState::Pending, DeliveryState::Failing, DeliveryState::Failed],
        other => {
            return Err(ApiError::InvalidRequest(format!(
                "state must be failing, failed, pending or undelivered, not {other:?}"
            )))
        }
    };
    let entries = crate::ledger::deliveries(env, shop.id.as_str(), states).await?;
    let list: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|e| serde_json::json!({ "reference": e.reference, "payment_state": e.state, "delivery": e.delivery }))
        .collect();
    Ok(json(200, &serde_json::json!({ "deliveries": list })))
}

/// The path with its query, exactly as requested: what a shop's call signature covers.
fn path_and_query(req: &Request) -> Result<String, ApiError> {
    let url = req.url().map_err(internal)?;
    Ok(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    })
}

/// `GET /v1/payments/{reference}` (signed): the payment's record, history and outbox, for the
/// operator looking into one order.
async fn inspect_payment(req: &Request, env: &Env, reference: &str) -> Result<Response, ApiError> {
    let shop = verify_shop_call(req, env, b"", None)?.shop;
    let reference = Reference::parse(&urlencoding_decode(reference)).map_err(|_| ApiError::NotFound)?;
    let stub = payment_object::stub_by_name(env, &shop.id, &reference)?;
    let inspection: serde_json::Value = payment_object::call(&stub, &Command::Inspect).await?;
    if inspection["payment"].is_null() {
        return Err(ApiError::NotFound);
    }
    Ok(json(200, &inspection))
}

fn urlencoding_decode(segment: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={segment}"))
        .ok()
        .and_then(|mut v| v.pop())
        .map(|(_, v)| v)
        .unwrap_or_else(|| segment.to_string())
}
