//! The targets: one per parser that reads what the internet sends. Each makes an input from a
//! generator (realistic seeds, mutated) and runs the parser on it; the runner catches panics.
//! A target returns whether the parser accepted the input (the share accepted shows how deep
//! the inputs reach), or `Err` when the parser answered but broke a rule (a 5xx for bad input, a
//! correctly signed message refused, a value that does not read back).

pub mod api;
pub mod aps_return;
pub mod gateways;
pub mod ids;
pub mod intent;
pub mod money;
pub mod routes;
pub mod sandbox_page;
pub mod seeds;
pub mod signature;

use crate::input::Input;
use crate::rng::Rng;
use bawaba_core::api::ApiError;

/// One fuzz target.
pub trait Target {
    /// Its name (`intent`, `gateway:aps:webhook`).
    fn name(&self) -> String;
    /// What it covers, in one line.
    fn about(&self) -> String;
    /// Makes one input.
    fn generate(&self, rng: &mut Rng) -> Input;
    /// Runs the parser on it: whether it accepted the input, or which rule was broken.
    fn execute(&self, input: &Input) -> Result<bool, String>;
}

/// Every target, gateways from the registry (a gateway added there is fuzzed without a change here).
pub fn all() -> Vec<Box<dyn Target>> {
    let mut targets: Vec<Box<dyn Target>> = vec![
        Box::new(intent::Intent),
        Box::new(signature::Notification),
        Box::new(signature::Call),
        Box::new(money::MoneyTarget),
        Box::new(ids::Ids),
        Box::new(routes::RoutesTarget),
        Box::new(aps_return::ApsReturn),
        Box::new(api::Bodies),
        Box::new(sandbox_page::SandboxPage),
    ];
    targets.extend(gateways::targets());
    targets
}

/// Bad input must be a 4xx: a 5xx says the edge broke, and would page an operator for a
/// stranger's garbage.
pub fn client_error(e: &ApiError) -> Result<(), String> {
    let status = e.status();
    // Exercise the body as the edge builds it, too.
    let _ = e.body();
    if (400..500).contains(&status) {
        Ok(())
    } else {
        Err(format!("bad input answered {status} ({}: {e})", e.code()))
    }
}
