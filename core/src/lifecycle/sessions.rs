//! Sessions and what gateways say about them: reusing or starting a session, superseding
//! the old ones, and applying a gateway's answer (invariants 1 and 4).

use super::*;
use crate::gateway::SessionFlow;

impl Payment {
    /// What to do when the shopper picks `method`. A new session is refused once the payment
    /// has started `sessions_per_payment` in the last `payment_limit_window_ms` (every session
    /// is a charge attempt at a gateway: the card-testing defence per intent); reusing an open
    /// one is always allowed.
    ///
    /// `in_page`: the shopper gave a mobile number or an Apple Pay token, which is a new attempt
    /// of its own (another number, another card): never the reuse of an open session.
    pub fn plan_session(&self, method: PaymentMethod, in_page: bool, at: &At) -> Result<SessionPlan, ApiError> {
        if !matches!(self.state, PaymentState::Created | PaymentState::Pending) {
            return Err(ApiError::PaymentFinished(self.state));
        }
        let reusable = self.sessions.iter().find(|s| {
            !in_page
                && !s.superseded
                && s.method == method
                && s.status == SessionStatus::Open
                && s.flow == crate::gateway::SessionFlow::Hosted
        });
        if let Some(existing) = reusable {
            return Ok(SessionPlan::Reuse(existing.id.clone()));
        }
        let window = at.settings.payment_limit_window_ms;
        let since = at.now_ms.saturating_sub(window);
        let recent: Vec<i64> = self.sessions.iter().map(|s| s.created_at_ms).filter(|t| *t > since).collect();
        if recent.len() as i64 >= at.settings.sessions_per_payment {
            // The window frees a place when its oldest start leaves it.
            let oldest = recent.iter().copied().min().unwrap_or(at.now_ms);
            let free_at = oldest.saturating_add(window);
            return Err(crate::limits::Refusal {
                scope: crate::limits::LimitScope::Payment,
                retry_after_secs: ((free_at.saturating_sub(at.now_ms) + 999) / 1000).max(1),
            }
            .into());
        }
        Ok(SessionPlan::Start { session_id: format!("{}", self.sessions.len()) })
    }

    /// Records a session the gateway created (its id is the one [`Payment::plan_session`] gave,
    /// which the caller may have decorated). Earlier sessions are superseded; the ones still
    /// open are returned for the caller to close at their gateway ([`Payment::close_attempted`]).
    pub fn add_session(&mut self, id: String, new: NewSession, at: &At) -> Vec<SessionRef> {
        let mut to_close = Vec::new();
        for s in self.sessions.iter_mut().filter(|s| !s.superseded) {
            s.superseded = true;
            if s.status == SessionStatus::Open {
                s.close_requested = true;
                to_close.push(s.to_ref());
            }
        }
        self.sessions.push(Session {
            id,
            method: new.method,
            gateway: new.gateway,
            gateway_payment_id: new.gateway_payment_id,
            redirect_url: new.redirect_url,
            form_fields: new.form_fields,
            flow: new.flow,
            otp_attempts: 0,
            created_at_ms: at.now_ms,
            superseded: false,
            status: SessionStatus::Open,
            close_requested: false,
            never_opened: false,
            last_answer: None,
            asked_at_ms: None,
            start_latency_ms: new.start_latency_ms,
            decided_at_ms: None,
            closed_code: None,
            three_ds: None,
        });
        self.offer(PaymentState::Pending, Source::Session, at);
        self.reconcile_rounds = 0;
        self.reconcile_at_ms = Some(at.now_ms.saturating_add(at.settings.reconcile_after_ms));
        to_close
    }

    /// Records that the edge asked the gateway to close a session (`outcome` in words). The
    /// session stays open until the gateway itself says it is closed.
    pub fn close_attempted(&mut self, session_id: &str, outcome: &str) {
        if let Some(s) = self.session_mut(session_id) {
            s.close_requested = true;
            s.last_answer = Some(format!("close: {outcome}"));
        }
    }

    /// What the widget shows for a session.
    pub fn session_view(&self, session_id: &str) -> Result<SessionView, ApiError> {
        let session = self.session(session_id).ok_or(ApiError::SessionNotFound)?;
        let open = matches!(self.state, PaymentState::Created | PaymentState::Pending)
            && !session.superseded
            && session.status == SessionStatus::Open;
        Ok(SessionView {
            id: session.id.clone(),
            reference: self.reference.to_string(),
            method: session.method,
            gateway: session.gateway.clone(),
            status: self.state,
            amount: self.money.minor,
            currency: self.money.currency.code().to_string(),
            return_url: self.order.return_url.clone(),
            next_action: match (open, &session.flow, &session.form_fields) {
                // Paid in the page: the shopper goes back through the edge's return route, which
                // tells the shop's page how it ended, as after a gateway's page.
                (_, SessionFlow::Direct, _) | (false, SessionFlow::Otp { .. }, _) if !session.superseded => {
                    NextAction::Redirect { url: session.redirect_url.clone() }
                }
                (true, SessionFlow::Otp { .. }, _) => NextAction::Otp,
                (false, _, _) | (true, SessionFlow::Direct, _) => NextAction::None,
                (true, SessionFlow::Hosted, Some(fields)) => {
                    NextAction::FormPost { url: session.redirect_url.clone(), fields: fields.clone() }
                }
                (true, SessionFlow::Hosted, None) => NextAction::Redirect { url: session.redirect_url.clone() },
            },
            error: self.error.clone(),
            delivery: self.delivery_summary(),
        })
    }

    // === What gateways say === //

    /// Takes a one-time code for `session_id`: the url it goes to, once the session is checked
    /// to be waiting for one (open, current, STC Pay's flow) and under the attempts limit. The
    /// attempt is counted before the code is sent, so a code that never got an answer counts too.
    pub fn accept_otp(&mut self, session_id: &str) -> Result<String, ApiError> {
        let undecided = matches!(self.state, PaymentState::Created | PaymentState::Pending);
        let session = self.session_mut(session_id).ok_or(ApiError::SessionNotFound)?;
        let url = match &session.flow {
            SessionFlow::Otp { url } if undecided && !session.superseded && session.status == SessionStatus::Open => {
                url.clone()
            }
            _ => return Err(ApiError::OtpNotExpected),
        };
        if session.otp_attempts >= crate::api::MAX_OTP_ATTEMPTS {
            return Err(ApiError::OtpAttemptsExhausted);
        }
        session.otp_attempts += 1;
        Ok(url)
    }

    /// Whether a shopper's return to `session_id` should ask the gateway: not when it was
    /// asked less than `return_check_reuse_ms` ago (a return is only a hint, and one hit per
    /// reload must not become one gateway call each). Webhooks and the edge's own checks always
    /// ask. The payment object runs one command at a time, so with this there is at most one
    /// gateway check in flight per payment and repeated returns reuse its answer.
    pub fn return_asks_gateway(&self, session_id: &str, at: &At) -> bool {
        match self.session(session_id).and_then(|s| s.asked_at_ms) {
            Some(asked) => at.now_ms.saturating_sub(asked) >= at.settings.return_check_reuse_ms,
            None => true,
        }
    }

    /// Applies what the gateway said about a session (`expected_reference` is what its record
    /// must carry). Returns whether the payment changed in a way the shop hears about.
    ///
    /// A confirmed charge counts from any session, whatever the state (invariant 1); a failure
    /// or cancellation decides the payment only from its current session while it is
    /// undecided, since the shopper may still pay with the method they switched to.
    pub fn observe(
        &mut self,
        session_id: &str,
        answer: Result<GatewayPayment, GatewayError>,
        expected_reference: &str,
        source: Source,
        at: &At,
    ) -> bool {
        let Some(session) = self.session(session_id).cloned() else { return false };
        if let Some(s) = self.session_mut(session_id) {
            s.asked_at_ms = Some(at.now_ms);
        }
        let payment = match answer {
            Ok(p) => p,
            Err(e) => {
                let word = match e {
                    GatewayError::Unreachable(why) => format!("unreachable: {why}"),
                    other => format!("unreadable: {other}"),
                };
                if let Some(s) = self.session_mut(session_id) {
                    s.last_answer = Some(word);
                }
                return false;
            }
        };
        let mismatch = gateway::check_matches(&payment, &self.money, expected_reference).err();
        let (state, error) = match &mismatch {
            // A result for another amount, currency or reference never pays this payment.
            Some(m) => {
                (PaymentState::Failed, Some(ErrorInfo { code: "amount_mismatch".into(), message: m.to_string() }))
            }
            None => (payment.state, payment.error.clone()),
        };
        if let Some(s) = self.session_mut(session_id) {
            if mismatch.is_none() && payment.three_ds.is_some() {
                s.three_ds = payment.three_ds;
            }
            s.never_opened = state == PaymentState::Created;
            s.last_answer = Some(if s.never_opened { "never opened".into() } else { state.as_str().to_string() });
        }
        // What the gateway has refunded on a charge settles refunds whose answer was lost and
        // brings in refunds made in its dashboard.
        let refunds_changed = match (mismatch.is_none(), payment.refunded) {
            (true, Some(refunded)) => self.reconcile_refunds(session_id, refunded, source, at),
            _ => false,
        };
        let changed = match state {
            PaymentState::Created | PaymentState::Pending => false,
            PaymentState::Paid | PaymentState::Authorized => {
                self.confirm_charge(&session, &payment, state == PaymentState::Paid, source, at)
            }
            PaymentState::Failed | PaymentState::Canceled => {
                if session.status == SessionStatus::Charged {
                    // A charge the gateway confirmed is not undone by a later failure report.
                    return false;
                }
                if let Some(s) = self.session_mut(session_id) {
                    s.status = SessionStatus::Closed;
                    s.decided_at_ms.get_or_insert(at.now_ms);
                    let fallback = if state == PaymentState::Canceled { "canceled" } else { "declined" };
                    s.closed_code = Some(error.as_ref().map_or(fallback.to_string(), |e| e.code.clone()));
                }
                // A decline decides at once (a charge confirmed later on an older page still
                // wins); a cancellation only once no page can take money any more (invariant 4).
                let all_closed = self.sessions.iter().all(Session::holds_no_money_now);
                let decides = !session.superseded && self.undecided() && (state == PaymentState::Failed || all_closed);
                if !decides {
                    return false;
                }
                let error = if state == PaymentState::Canceled && at.now_ms >= self.expires_at_ms(at) {
                    Some(expired_error())
                } else {
                    error.or_else(|| {
                        (state == PaymentState::Canceled).then(|| ErrorInfo {
                            code: "canceled".into(),
                            message: "The payment was canceled at the gateway.".into(),
                        })
                    })
                };
                self.decide(state, error, &session, source, at)
            }
            PaymentState::Refunded | PaymentState::PartiallyRefunded | PaymentState::Voided => {
                self.observe_money_returned(&session, state, payment.refunded.is_some(), source, at)
            }
        };
        refunds_changed || changed
    }

    pub(super) fn decide(
        &mut self,
        state: PaymentState,
        error: Option<ErrorInfo>,
        session: &Session,
        source: Source,
        at: &At,
    ) -> bool {
        if self.offer(state, source, at) != Transition::Applied {
            return false;
        }
        self.error = error;
        if let Some(event) = EventType::for_state(state) {
            self.emit(event, session, self.money.minor, None, at);
        }
        true
    }

    pub(super) fn confirm_charge(
        &mut self,
        session: &Session,
        p: &GatewayPayment,
        captured: bool,
        source: Source,
        at: &At,
    ) -> bool {
        if let Some(i) = self.charges.iter().position(|c| c.session_id == session.id) {
            // Known charge: only a capture made outside the edge is news.
            let charge = &mut self.charges[i];
            if captured && !charge.captured && !charge.voided {
                charge.captured = true;
                let duplicate = charge.duplicate;
                if !duplicate && self.offer(PaymentState::Paid, source, at) == Transition::Applied {
                    self.emit(EventType::PaymentSucceeded, session, self.money.minor, None, at);
                    return true;
                }
            }
            return false;
        }
        if let Some(s) = self.session_mut(&session.id) {
            s.status = SessionStatus::Charged;
            s.decided_at_ms.get_or_insert(at.now_ms);
        }
        let transaction_id = p.transaction_id.clone().unwrap_or_else(|| p.id.clone());
        let first = self.charge().is_none();
        self.charges.push(Charge {
            session_id: session.id.clone(),
            transaction_id,
            money: p.money,
            captured,
            voided: false,
            duplicate: !first,
            gateway_refunded: None,
            recheck_at_ms: None,
        });
        if first {
            let next = if captured { PaymentState::Paid } else { PaymentState::Authorized };
            if self.offer(next, source, at) == Transition::Applied {
                self.error = None;
                self.card_brand = p.card_brand.clone().or(self.card_brand.take());
                self.card_last4 = p.card_last4.clone().or(self.card_last4.take());
                let event = if captured { EventType::PaymentSucceeded } else { EventType::PaymentAuthorized };
                self.emit(event, session, self.money.minor, None, at);
                return true;
            }
            // Not reachable from any state without a charge; kept as a safe fallback: the
            // charge is recorded and treated as a second one.
            if let Some(c) = self.charges.last_mut() {
                c.duplicate = true;
            }
        }
        self.note(source, PaymentState::Paid, "second_charge", at);
        if captured {
            // Sent by the next round of tasks (`due_tasks`), like every refund the edge decides.
            self.add_refund(&session.id, p.money.minor, RefundOrigin::Duplicate, None, RefundStatus::Queued, at);
        } else {
            let error = ErrorInfo {
                code: "duplicate_authorization".into(),
                message: "A second authorization was made for this reference; void it in the gateway's dashboard \
                          or let it lapse."
                    .into(),
            };
            self.emit_with(EventType::PaymentDuplicateDetected, session, p.money.minor, None, None, Some(error), at);
        }
        true
    }

    /// The gateway reports a session refunded or voided. For the payment's charge, that is a
    /// refund made in the gateway's dashboard (the remainder) or a void; for a session that
    /// was never charged here, the money went back already: nothing is owed.
    pub(super) fn observe_money_returned(
        &mut self,
        session: &Session,
        state: PaymentState,
        amounts_known: bool,
        source: Source,
        at: &At,
    ) -> bool {
        let Some(charge) = self.charges.iter().find(|c| c.session_id == session.id).cloned() else {
            if let Some(s) = self.session_mut(&session.id) {
                s.status = SessionStatus::Closed;
            }
            return false;
        };
        if charge.duplicate || (state != PaymentState::Voided && amounts_known) {
            // A refunded total from the gateway was already reconciled, refund by refund.
            return false;
        }
        if state == PaymentState::PartiallyRefunded {
            // A partial refund without an amount: nothing to record but the operator's look.
            return false;
        }
        if state == PaymentState::Voided {
            if charge.voided {
                return false;
            }
            if let Some(c) = self.charges.iter_mut().find(|c| c.session_id == session.id) {
                c.voided = true;
            }
            return self.decide(PaymentState::Voided, None, session, source, at);
        }
        let remaining = charge.money.minor - self.reserved_on(&charge.session_id);
        if !charge.captured || remaining <= 0 {
            return false;
        }
        let id = self.add_refund(&session.id, remaining, RefundOrigin::Gateway, None, RefundStatus::Queued, at);
        self.settle_refund(&id, RefundStatus::Succeeded, source, at);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{NewPayment, Order, Reference, Settings, ShopId};
    use crate::money::{Currency, Money};

    fn payment(at: &At) -> Payment {
        let money = Money { minor: 1000, currency: Currency::parse("SAR").unwrap() };
        let order = Order {
            return_url: "https://s.example/r".into(),
            notify_url: "https://s.example/n".into(),
            customer_name: None,
            customer_email: None,
        };
        let new = NewPayment {
            shop: ShopId::parse("s").unwrap(),
            reference: Reference::parse("r").unwrap(),
            money,
            order,
            edge_origin: "https://edge.example".into(),
            seed: [1; 16],
        };
        Payment::new(new, at)
    }

    fn stc_pay(p: &mut Payment, at: &At) -> String {
        let Ok(SessionPlan::Start { session_id }) = p.plan_session(PaymentMethod::Stcpay, true, at) else {
            panic!("an STC Pay number always starts a session")
        };
        let new = NewSession {
            gateway: "moyasar".into(),
            method: PaymentMethod::Stcpay,
            gateway_payment_id: format!("pay_{session_id}"),
            redirect_url: "https://edge.example/v1/return/moyasar/x".into(),
            form_fields: None,
            flow: SessionFlow::Otp { url: "https://api.moyasar.com/v1/stc_pays/1/proceed".into() },
            start_latency_ms: None,
        };
        p.add_session(session_id.clone(), new, at);
        session_id
    }

    #[test]
    fn an_stc_pay_session_takes_three_codes_then_no_more() {
        let at = At { now_ms: 1_800_000_000_000, settings: Settings::default() };
        let mut p = payment(&at);
        let id = stc_pay(&mut p, &at);
        assert_eq!(p.session_view(&id).unwrap().next_action, NextAction::Otp);
        for _ in 0..crate::api::MAX_OTP_ATTEMPTS {
            assert_eq!(p.accept_otp(&id).unwrap(), "https://api.moyasar.com/v1/stc_pays/1/proceed");
        }
        assert_eq!(p.accept_otp(&id), Err(ApiError::OtpAttemptsExhausted));
        assert_eq!(p.accept_otp("nope"), Err(ApiError::SessionNotFound));
    }

    #[test]
    fn a_new_number_replaces_the_session_waiting_for_a_code_and_hosted_pages_take_none() {
        let at = At { now_ms: 1_800_000_000_000, settings: Settings::default() };
        let mut p = payment(&at);
        let first = stc_pay(&mut p, &at);
        let second = stc_pay(&mut p, &at);
        assert_ne!(first, second, "another number is another session, never a reuse");
        assert_eq!(p.accept_otp(&first), Err(ApiError::OtpNotExpected), "the old one is superseded");
        assert_eq!(p.session_view(&first).unwrap().next_action, NextAction::None);
        assert!(p.accept_otp(&second).is_ok());
        // A hosted page is reused for its method, and waits for no code.
        let Ok(SessionPlan::Start { session_id }) = p.plan_session(PaymentMethod::Mada, false, &at) else { panic!() };
        let hosted = NewSession {
            gateway: "moyasar".into(),
            method: PaymentMethod::Mada,
            gateway_payment_id: "inv".into(),
            redirect_url: "https://checkout.moyasar.com/inv".into(),
            form_fields: None,
            flow: SessionFlow::Hosted,
            start_latency_ms: None,
        };
        p.add_session(session_id.clone(), hosted, &at);
        assert_eq!(p.plan_session(PaymentMethod::Mada, false, &at), Ok(SessionPlan::Reuse(session_id.clone())));
        assert_eq!(p.accept_otp(&session_id), Err(ApiError::OtpNotExpected));
    }

    #[test]
    fn a_payment_made_in_the_page_goes_back_through_the_edge_once_decided() {
        let at = At { now_ms: 1_800_000_000_000, settings: Settings::default() };
        let mut p = payment(&at);
        let id = stc_pay(&mut p, &at);
        p.state = PaymentState::Paid;
        assert_eq!(
            p.session_view(&id).unwrap().next_action,
            NextAction::Redirect { url: "https://edge.example/v1/return/moyasar/x".into() }
        );
        assert_eq!(p.accept_otp(&id), Err(ApiError::OtpNotExpected), "a paid payment takes no code");
    }

    #[test]
    fn with_the_documented_defaults_the_eleventh_new_session_of_a_payment_is_refused() {
        let at = At { now_ms: 1_800_000_000_000, settings: Settings::default() };
        let mut p = payment(&at);
        let methods = [PaymentMethod::Mada, PaymentMethod::Visa];
        for i in 0..10 {
            let method = methods[i % 2];
            let Ok(SessionPlan::Start { session_id }) = p.plan_session(method, false, &at) else { panic!("start {i}") };
            let new = NewSession {
                gateway: "sandbox".into(),
                method,
                gateway_payment_id: format!("g{i}"),
                redirect_url: "https://g.example".into(),
                form_fields: None,
                flow: SessionFlow::Hosted,
                start_latency_ms: None,
            };
            p.add_session(session_id, new, &at);
        }
        let refused = p.plan_session(methods[0], false, &at).unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.retry_after_secs(), Some(3600));
    }
}
