//! Which gateway serves which payment method: the edge's `BAWABA_ROUTES` setting.
//!
//! `mada=aps|moyasar,visa=moyasar,mastercard=moyasar,applepay=tap`: each method lists its
//! gateways in order of preference. The first that serves the method in the payment's currency
//! takes it; the next ones are fallbacks, tried when the one before cannot be reached (a
//! gateway outage should not stop a shop from taking payments).

use super::connector::capabilities_of;
use crate::method::PaymentMethod;

/// The parsed routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    /// `(method, gateway)` pairs; a method's gateways in order of preference.
    pairs: Vec<(PaymentMethod, &'static str)>,
}

impl Routes {
    /// Parses `BAWABA_ROUTES`; the error says which part is wrong.
    pub fn parse(raw: &str) -> Result<Routes, String> {
        let mut pairs = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("{part:?} is not method=gateway (or method=gateway|fallback)");
            let (method, gateways) = part.split_once('=').ok_or_else(bad)?;
            let method = PaymentMethod::from_code(method.trim()).ok_or_else(bad)?;
            for gateway in gateways.split('|').map(str::trim) {
                let code = known_gateway(gateway).ok_or_else(|| format!("unknown gateway {gateway:?}"))?;
                if !pairs.contains(&(method, code)) {
                    pairs.push((method, code));
                }
            }
        }
        Ok(Routes { pairs })
    }

    /// Every method on one gateway (the sandbox's default routes).
    pub fn all_to(gateway: &'static str) -> Routes {
        let methods = capabilities_of(gateway).map(|c| c.methods).unwrap_or_default();
        Routes { pairs: methods.iter().map(|m| (*m, gateway)).collect() }
    }

    /// The gateways that serve `method` in `currency`, in order of preference.
    pub fn gateways_for(&self, method: PaymentMethod, currency: &str) -> Vec<&'static str> {
        self.pairs
            .iter()
            .filter(|(m, g)| *m == method && capabilities_of(g).is_some_and(|c| c.serves(method, currency)))
            .map(|(_, g)| *g)
            .collect()
    }

    /// Whether any gateway is routed for `method` (whatever the currency).
    pub fn routes_method(&self, method: PaymentMethod) -> bool {
        self.pairs.iter().any(|(m, _)| *m == method)
    }

    /// Whether `method` is routed to `gateway` (whatever the currency).
    pub fn routes_method_to(&self, method: PaymentMethod, gateway: &str) -> bool {
        self.pairs.iter().any(|(m, g)| *m == method && *g == gateway)
    }

    /// The gateways some method is routed to, in first-use order.
    pub fn gateways_in_use(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for (_, g) in &self.pairs {
            if !out.contains(g) {
                out.push(g);
            }
        }
        out
    }
}

/// The gateway's code as a `'static` string, if the registry knows it.
fn known_gateway(code: &str) -> Option<&'static str> {
    super::connector::find(code).map(|r| r.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_lists_its_gateways_in_order_of_preference() {
        let routes = Routes::parse("mada=aps|moyasar, visa=moyasar,mastercard = moyasar|tap").unwrap();
        assert_eq!(routes.gateways_for(PaymentMethod::Mada, "SAR"), ["aps", "moyasar"]);
        assert_eq!(routes.gateways_for(PaymentMethod::Mastercard, "SAR"), ["moyasar", "tap"]);
        assert_eq!(routes.gateways_in_use(), ["aps", "moyasar", "tap"]);
    }

    #[test]
    fn only_gateways_that_serve_the_currency_are_offered() {
        let routes = Routes::parse("visa=tap|moyasar").unwrap();
        // Tap takes no euros; Moyasar does.
        assert_eq!(routes.gateways_for(PaymentMethod::Visa, "EUR"), ["moyasar"]);
        assert_eq!(routes.gateways_for(PaymentMethod::Visa, "JPY"), Vec::<&str>::new());
        assert!(routes.gateways_for(PaymentMethod::Mada, "SAR").is_empty());
        assert!(routes.routes_method(PaymentMethod::Visa) && !routes.routes_method(PaymentMethod::Mada));
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(Routes::parse("mada").unwrap_err(), "\"mada\" is not method=gateway (or method=gateway|fallback)");
        assert_eq!(
            Routes::parse("cash=moyasar").unwrap_err(),
            "\"cash=moyasar\" is not method=gateway (or method=gateway|fallback)"
        );
        assert_eq!(Routes::parse("mada=aps|payoneer").unwrap_err(), "unknown gateway \"payoneer\"");
        assert_eq!(Routes::parse("mada=").unwrap_err(), "unknown gateway \"\"");
        assert_eq!(Routes::parse(" , ").unwrap(), Routes::default());
    }

    #[test]
    fn the_readme_example_mada_on_hyperpay_cards_on_paytabs() {
        // docs/gateways/README.md, "A gateway per method".
        let example =
            "mada=hyperpay|moyasar,visa=paytabs|moyasar,mastercard=paytabs|moyasar,amex=paytabs,applepay=paytabs";
        let routes = Routes::parse(example).unwrap();
        assert_eq!(routes.gateways_for(PaymentMethod::Mada, "SAR"), ["hyperpay", "moyasar"]);
        assert_eq!(routes.gateways_for(PaymentMethod::Visa, "SAR"), ["paytabs", "moyasar"]);
        assert_eq!(routes.gateways_for(PaymentMethod::Mastercard, "SAR"), ["paytabs", "moyasar"]);
        assert_eq!(routes.gateways_for(PaymentMethod::Visa, "USD"), ["moyasar"], "PayTabs here: SAR only");
        assert_eq!(routes.gateways_for(PaymentMethod::Applepay, "SAR"), ["paytabs"]);
        assert_eq!(routes.gateways_in_use(), ["hyperpay", "moyasar", "paytabs"]);
        let without_fallback = Routes::parse("mada=hyperpay,visa=paytabs,mastercard=paytabs").unwrap();
        assert_eq!(without_fallback.gateways_for(PaymentMethod::Mada, "SAR"), ["hyperpay"]);
        assert_eq!(without_fallback.gateways_for(PaymentMethod::Mastercard, "SAR"), ["paytabs"]);
    }

    #[test]
    fn the_sandbox_default_routes_its_own_methods() {
        let routes = Routes::all_to("sandbox");
        assert_eq!(routes.gateways_for(PaymentMethod::Mada, "SAR"), ["sandbox"]);
        assert!(!routes.routes_method(PaymentMethod::Stcpay));
    }
}
