//! `routes`: [`Routes::parse`], the `BAWABA_ROUTES` setting. An operator, not a stranger, writes
//! it, but a typo must be an error that names it and never a worker that panics at every
//! request. Inputs: valid route lists over every registered gateway, mutated.
//!
//! Rules: no panic; the parsed routes only name registered gateways, for every method and
//! currency.

use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::gateway::connector::{find, REGISTRY};
use bawaba_core::gateway::routes::Routes;
use bawaba_core::method::PaymentMethod;
use bawaba_core::money::Currency;

/// The target.
pub struct RoutesTarget;

fn seeds() -> Vec<Vec<u8>> {
    let codes: Vec<&str> = REGISTRY.iter().map(|r| r.code).collect();
    let all = codes.join("|");
    let mut out: Vec<Vec<u8>> = vec![
        b"mada=moyasar|aps,visa=moyasar|tap,mastercard=moyasar|tap,applepay=tap".to_vec(),
        b" , ".to_vec(),
        b"mada=".to_vec(),
        format!("mada={all},visa={all}").into_bytes(),
    ];
    out.extend(PaymentMethod::DISPLAY_ORDER.iter().map(|m| format!("{}={all}", m.code()).into_bytes()));
    out
}

/// A route list built from the real words (methods, registered gateways, and a few others),
/// with odd spacing and separators: most of these parse, so the lookups are exercised.
fn structured(rng: &mut Rng) -> String {
    let mut gateways: Vec<&str> = REGISTRY.iter().map(|r| r.code).collect();
    let known = gateways.len();
    gateways.extend(["", "payoneer", "APS", " tap "]);
    let mut methods: Vec<&str> = PaymentMethod::DISPLAY_ORDER.iter().map(|m| m.code()).collect();
    let real = methods.len();
    methods.extend(["cash", "MADA", ""]);
    let mut out = String::new();
    for i in 0..rng.below(9) {
        if i > 0 {
            out.push_str(rng.pick::<&str>(&[",", " , ", ",,", "\n,"]));
        }
        let m = if rng.one_in(10) { *rng.pick(&methods) } else { *rng.pick(&methods[..real]) };
        out.push_str(m);
        out.push_str(rng.pick::<&str>(&["=", " = ", "=="]));
        for j in 0..1 + rng.below(3) {
            if j > 0 {
                out.push_str(rng.pick::<&str>(&["|", " | ", "||"]));
            }
            let g = if rng.one_in(10) { *rng.pick(&gateways) } else { *rng.pick(&gateways[..known]) };
            out.push_str(g);
        }
    }
    out
}

impl super::Target for RoutesTarget {
    fn name(&self) -> String {
        "routes".into()
    }

    fn about(&self) -> String {
        "gateway::routes::Routes::parse (BAWABA_ROUTES)".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let corpus = seeds();
        let seed = corpus[rng.below(corpus.len())].clone();
        let text = match rng.below(8) {
            0 => mutate::random_text(rng).into_bytes(),
            1..=3 => structured(rng).into_bytes(),
            _ => mutate::bytes(rng, &seed, &corpus),
        };
        Input::new().with("routes", text)
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let Ok(routes) = Routes::parse(&input.text("routes")) else { return Ok(false) };
        for g in routes.gateways_in_use() {
            if find(g).is_none() {
                return Err(format!("routes name an unregistered gateway {g:?}"));
            }
        }
        for m in PaymentMethod::DISPLAY_ORDER {
            let _ = routes.routes_method(m);
            for c in Currency::all() {
                for g in routes.gateways_for(m, c.code()) {
                    if find(g).is_none_or(|r| !r.capabilities.serves(m, c.code())) {
                        return Err(format!("{g} offered for {} in {c}, which it does not serve", m.code()));
                    }
                }
            }
        }
        Ok(true)
    }
}
