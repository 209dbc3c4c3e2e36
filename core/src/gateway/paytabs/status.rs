//! PayTabs `payment_result.response_status` → Bawaba states, and → where a follow-up (refund)
//! stands, in one table each.
//!
//! Sources: PayTabs' "What is response code vs the response status"
//! (support.paytabs.com/en/support/solutions/articles/60000711358), as the vendor's own Odoo
//! module reads it (paytabscom/paytabs-odoo `payment_paytabs_official/const.py`,
//! `PAYMENT_STATUS_MAPPING` and `ON_HOLD_STATUS`), summarized in gateways.md §4.3 and §0.3:
//! A authorised, H on hold (authorised, held by PayTabs' fraud screening until the merchant clears
//! it in the dashboard), P pending, V voided, E error, D declined, X expired, C cancelled.

use crate::payment::PaymentState;

/// The mapping of a payment's status. `A` on a `sale` is paid (on an `auth` it is authorized:
/// [`to_state`]). `H` is **not** paid: the money is held for review and PayTabs may still refuse
/// it, so the payment stays pending and is asked again until PayTabs decides. Anything not listed
/// is an invalid response.
pub const TABLE: &[(&str, PaymentState)] = &[
    ("A", PaymentState::Paid),
    ("H", PaymentState::Pending),
    ("P", PaymentState::Pending),
    ("V", PaymentState::Voided),
    ("E", PaymentState::Failed),
    ("D", PaymentState::Failed),
    ("X", PaymentState::Failed),
    ("C", PaymentState::Canceled),
];

/// Looks a status up for a transaction of `tran_type` (`Sale`, `Auth`; any casing).
pub fn to_state(status: &str, tran_type: Option<&str>) -> Option<PaymentState> {
    let state = TABLE.iter().find(|(s, _)| s.eq_ignore_ascii_case(status.trim())).map(|(_, state)| *state)?;
    let auth = tran_type.is_some_and(|t| t.trim().eq_ignore_ascii_case("auth"));
    Some(if state == PaymentState::Paid && auth { PaymentState::Authorized } else { state })
}

/// Where a follow-up (refund, capture, void) stands, by its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpStage {
    /// It went through.
    Succeeded,
    /// Not final (`P`: a refund awaiting settlement; `H`: held): asked again by its `tran_ref`.
    Pending,
    /// Refused; nothing moved.
    Failed,
}

/// Follow-up statuses. Anything not listed is an invalid response.
pub const FOLLOW_UP: &[(&str, FollowUpStage)] = &[
    ("A", FollowUpStage::Succeeded),
    ("P", FollowUpStage::Pending),
    ("H", FollowUpStage::Pending),
    ("E", FollowUpStage::Failed),
    ("D", FollowUpStage::Failed),
    ("X", FollowUpStage::Failed),
    ("C", FollowUpStage::Failed),
    ("V", FollowUpStage::Failed),
];

/// Looks a follow-up status up.
pub fn follow_up_stage(status: &str) -> Option<FollowUpStage> {
    FOLLOW_UP.iter().find(|(s, _)| s.eq_ignore_ascii_case(status.trim())).map(|(_, stage)| *stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps_and_hold_is_never_paid() {
        assert_eq!(to_state("A", Some("Sale")), Some(PaymentState::Paid));
        assert_eq!(to_state("A", Some("sale")), Some(PaymentState::Paid));
        assert_eq!(to_state("A", None), Some(PaymentState::Paid));
        assert_eq!(to_state("A", Some("Auth")), Some(PaymentState::Authorized));
        assert_eq!(to_state("H", Some("Sale")), Some(PaymentState::Pending), "on hold is pending review");
        assert_eq!(to_state("H", Some("Auth")), Some(PaymentState::Pending));
        assert_eq!(to_state("P", Some("Sale")), Some(PaymentState::Pending));
        assert_eq!(to_state("V", Some("Sale")), Some(PaymentState::Voided));
        for failed in ["E", "D", "X", "d"] {
            assert_eq!(to_state(failed, Some("Sale")), Some(PaymentState::Failed), "{failed}");
        }
        assert_eq!(to_state("C", Some("Sale")), Some(PaymentState::Canceled));
        assert_eq!(to_state("Z", Some("Sale")), None, "unknown statuses are not guessed");
        assert_eq!(to_state("", None), None);
        for (status, _) in TABLE {
            assert!(follow_up_stage(status).is_some(), "{status} has a follow-up meaning too");
        }
        assert_eq!(follow_up_stage("A"), Some(FollowUpStage::Succeeded));
        assert_eq!(follow_up_stage("P"), Some(FollowUpStage::Pending));
        assert_eq!(follow_up_stage("H"), Some(FollowUpStage::Pending));
        assert_eq!(follow_up_stage("D"), Some(FollowUpStage::Failed));
        assert_eq!(follow_up_stage("?"), None);
    }
}
