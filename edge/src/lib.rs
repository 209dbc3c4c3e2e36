//! Bawaba's edge: a Cloudflare Worker in Rust.
//!
//! It holds the gateway secrets, verifies intents, creates gateway sessions, confirms results
//! with the gateway before believing them, and posts signed notifications to the shop. All
//! decisions are made by `bawaba-core`; this crate does the I/O around them:
//!
//! - [`routes`]: the public HTTP API (`/v1/...`), the sandbox gateway's pages and the demo shop;
//! - [`payment_object`]: one Durable Object per payment (state machine, outbox, retries);
//! - [`sandbox_object`]: the built-in sandbox gateway's own storage and webhooks;
//! - [`ledger`] and [`reconcile`]: the per-shop index and the cron that sweeps undecided payments;
//! - [`limiter`]: the per-shop counters of session starts (the card-testing defence);
//! - [`demo_shop`]: a stand-in for Odoo that speaks the shop side of the contract (demo only).

pub mod config;
pub mod demo_shop;
pub mod error;
pub mod gateway_index;
pub mod http;
pub mod ledger;
pub mod limiter;
pub mod payment_object;
pub mod reconcile;
pub mod routes;
pub mod sandbox_object;
pub mod stats;
pub mod util;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

/// The worker's entry point. Every error, whatever its cause, leaves as a JSON error body.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let response = routes::handle(req, env).await;
    for work in stats::take_deferred() {
        ctx.wait_until(work);
    }
    Ok(response)
}

/// The cron trigger: the reconciliation sweep.
#[event(scheduled)]
pub async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let asked = reconcile::sweep(&env).await;
    worker::console_log!("reconciliation sweep: {asked} payment(s) asked");
}
