//! PayPal's capture and order outcomes → [`DeclineReason`].
//!
//! Orders v2 has no issuer code on the order itself: what Bawaba reads is the capture's
//! `status` (`DECLINED`, `FAILED`; developer.paypal.com/docs/api/payments/v2 "capture status"),
//! its `status_details.reason`, and the order `status` (`VOIDED`) when there is no capture
//! (gateways.md §7 and the Odoo mapping DECLINED/DENIED/VOIDED → cancel, FAILED → error). The
//! card processor's `processor_response.response_code` (e.g. `5120` insufficient funds) is not
//! read by the connector yet: its rows are not here.

use crate::decline::{lookup, DeclineReason, Table};

/// Capture and order statuses.
pub const STATUSES: Table = &[
    ("DECLINED", DeclineReason::Declined), // capture: "The funds could not be captured."
    ("FAILED", DeclineReason::GatewayError), // capture: "There was an error while capturing payment."
    ("VOIDED", DeclineReason::CanceledByShopper), // order: voided, nothing captured (unconfirmed meaning)
];

/// `status_details.reason` values that say more than the status.
pub const REASONS: Table = &[
    // unconfirmed: seen in PayPal's capture `status_details.reason` enum as remembered
    ("DECLINED_BY_RISK_FRAUD_FILTERS", DeclineReason::SuspectedFraud),
];

/// The reason for a capture or order that did not go through.
pub fn reason(status: &str, status_reason: Option<&str>) -> DeclineReason {
    status_reason
        .and_then(|r| lookup(REASONS, r))
        .or_else(|| lookup(STATUSES, status))
        .unwrap_or(DeclineReason::Declined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_maps_as_documented_and_unknowns_fall_back() {
        for (s, want) in STATUSES {
            assert_eq!(reason(s, None), *want, "{s}");
        }
        for (r, want) in REASONS {
            assert_eq!(reason("DECLINED", Some(r)), *want, "{r}");
        }
        assert_eq!(reason("DECLINED", Some("OTHER")), DeclineReason::Declined);
        assert_eq!(reason("SOMETHING_NEW", None), DeclineReason::Declined);
    }
}
