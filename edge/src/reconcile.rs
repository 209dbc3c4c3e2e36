//! The cron: sweeps every shop's undecided payments and has each ask its gateway, so a lost
//! webhook or a shopper who closed the tab costs minutes, not money. Each payment object also
//! reconciles itself from its own alarm; the sweep is the safety net for alarms that were lost.

use crate::config;
use crate::payment_object::{self, Command};
use crate::util::now_millis;
use worker::Env;

/// Runs one sweep; returns how many payments were asked to reconcile.
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
                    if let Err(e) = payment_object::send(&stub, &Command::Reconcile).await {
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
