//! The cron: wakes every payment whose work is due (a gateway to ask, a refund to follow, a
//! notification to deliver), whatever its state, so a lost webhook or a shopper who closed the
//! tab costs minutes, not money, and no notification waits on a lost alarm. Each payment object
//! also wakes from its own alarm; the sweep is the safety net.

use crate::config;
use crate::payment_object::{self, Command};
use crate::util::now_millis;
use worker::Env;

/// Runs one sweep; returns how many payments were woken.
pub async fn sweep(env: &Env) -> usize {
    let shops = match config::shops(env) {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("reconciliation sweep: {e}");
            return 0;
        }
    };
    let mut asked = 0;
    for shop in shops {
        let due = match crate::ledger::due(env, &shop.id, now_millis()).await {
            Ok(d) => d,
            Err(e) => {
                worker::console_error!("reconciliation sweep for {}: {e}", shop.id);
                continue;
            }
        };
        for object_id in due {
            match payment_object::stub_by_id(env, &object_id) {
                Ok(stub) => {
                    if let Err(e) = payment_object::call::<serde_json::Value>(&stub, &Command::Wake).await {
                        worker::console_warn!("reconcile {object_id}: {e}");
                    }
                    asked += 1;
                }
                Err(e) => worker::console_warn!("reconcile {object_id}: {e}"),
            }
        }
    }
    asked
}
