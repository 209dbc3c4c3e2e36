//! The shop's back-office operations (refunds, captures, voids) under idempotency keys, and
//! the edge's own refunds of second charges (invariant 3).

use super::*;

impl Payment {
    pub(super) fn begin(
        &mut self,
        kind: OperationKind,
        key: &IdempotencyKey,
        digest: &str,
    ) -> Result<Option<Result<serde_json::Value, ApiError>>, ApiError> {
        let Some(op) = self.operations.iter().find(|o| &o.key == key) else { return Ok(None) };
        if op.digest != digest || op.kind != kind {
            return Err(ApiError::IdempotencyKeyReused);
        }
        if let Some(answer) = &op.answer {
            return Ok(Some(answer.clone()));
        }
        // Asked before, and the edge stopped before the answer: what is known now.
        Ok(Some(match op.refund_id.as_deref().and_then(|id| self.refunds.iter().find(|r| r.id == id)) {
            Some(refund) => Ok(self.refund_answer(refund)),
            None => Ok(serde_json::json!({ "status": "pending", "payment_state": self.state })),
        }))
    }

    /// Starts a refund of `amount` minor units (`None`: what remains) under the shop's key.
    /// `partial_allowed` is the gateway's capability. The refund is reserved before it is
    /// sent, so that a second request (or a restart) can never exceed what was captured.
    pub fn request_refund(
        &mut self,
        key: IdempotencyKey,
        digest: &str,
        amount: Option<i64>,
        partial_allowed: bool,
        at: &At,
    ) -> Result<Begin, ApiError> {
        if let Some(replay) = self.begin(OperationKind::Refund, &key, digest)? {
            return Ok(Begin::Replay(replay));
        }
        let not_allowed = |state: PaymentState| {
            ApiError::OperationNotAllowed(format!("a refund needs a paid payment; this one is {}", state.as_str()))
        };
        if !matches!(self.state, PaymentState::Paid | PaymentState::PartiallyRefunded) {
            return Err(not_allowed(self.state));
        }
        let charge =
            self.charge().cloned().filter(|c| c.captured && !c.voided).ok_or_else(|| not_allowed(self.state))?;
        let session = self.session(&charge.session_id).cloned().ok_or_else(|| not_allowed(self.state))?;
        let remaining = charge.money.minor - self.reserved_on(&charge.session_id);
        let amount = amount.unwrap_or(remaining);
        if amount <= 0 && remaining > 0 {
            return Err(ApiError::InvalidRequest("the refund amount must be a positive integer of minor units".into()));
        }
        if amount > remaining || remaining <= 0 {
            return Err(ApiError::RefundExceedsPayment { remaining: remaining.max(0) });
        }
        if amount < charge.money.minor && !partial_allowed {
            return Err(ApiError::OperationNotSupported(format!("{} cannot do partial refunds", session.gateway)));
        }
        let id = self.add_refund(
            &charge.session_id,
            amount,
            RefundOrigin::Shop,
            Some(key.clone()),
            RefundStatus::InFlight,
            at,
        );
        self.operations.push(Operation {
            key,
            digest: digest.to_string(),
            kind: OperationKind::Refund,
            refund_id: Some(id.clone()),
            answer: None,
        });
        Ok(Begin::Send(MoneyOrder {
            gateway: session.gateway,
            gateway_payment_id: session.gateway_payment_id,
            transaction_id: charge.transaction_id,
            money: Money::new(amount, self.money.currency),
            refund_id: Some(id),
        }))
    }

    /// Starts a capture (`amount`: `None` for all) or a void under the shop's key.
    pub fn request_operation(
        &mut self,
        kind: OperationKind,
        key: IdempotencyKey,
        digest: &str,
        amount: Option<i64>,
    ) -> Result<Begin, ApiError> {
        if let Some(replay) = self.begin(kind, &key, digest)? {
            return Ok(Begin::Replay(replay));
        }
        let charge = self.charge().cloned();
        let order = match (kind, charge) {
            (OperationKind::Capture, Some(c)) if self.state == PaymentState::Authorized && !c.captured => {
                let amount = amount.unwrap_or(c.money.minor);
                if amount <= 0 || amount > c.money.minor {
                    return Err(ApiError::InvalidRequest(format!(
                        "the capture amount must be between 1 and {} minor units",
                        c.money.minor
                    )));
                }
                (c, amount)
            }
            (OperationKind::Capture, _) => {
                return Err(ApiError::OperationNotAllowed(format!(
                    "a capture needs an authorized payment; this one is {}",
                    self.state.as_str()
                )))
            }
            (OperationKind::Void, Some(c))
                if matches!(self.state, PaymentState::Paid | PaymentState::Authorized)
                    && self.reserved_on(&c.session_id) == 0 =>
            {
                let amount = c.money.minor;
                (c, amount)
            }
            (OperationKind::Void, _) => {
                return Err(ApiError::OperationNotAllowed(format!(
                    "a void needs a paid or authorized payment with no refund; this one is {}",
                    self.state.as_str()
                )))
            }
            (OperationKind::Refund, _) => {
                return Err(ApiError::Internal("refunds start with request_refund".into()));
            }
        };
        let (charge, amount) = order;
        let session = self.session(&charge.session_id).cloned().ok_or(ApiError::PaymentNotFound)?;
        self.operations.push(Operation { key, digest: digest.to_string(), kind, refund_id: None, answer: None });
        Ok(Begin::Send(MoneyOrder {
            gateway: session.gateway,
            gateway_payment_id: session.gateway_payment_id,
            transaction_id: charge.transaction_id,
            money: Money::new(amount, self.money.currency),
            refund_id: None,
        }))
    }

    /// Forgets an operation that was never sent (the gateway has no call for it), so that its
    /// key can be used again.
    pub fn abandon_operation(&mut self, key: &IdempotencyKey) {
        self.operations.retain(|o| &o.key != key || o.answer.is_some() || o.refund_id.is_some());
    }

    /// Records the gateway's answer to the operation started under `key`, and returns the answer
    /// for the shop (kept: the same key gets it again).
    pub fn operation_answered(
        &mut self,
        key: &IdempotencyKey,
        result: Result<OperationResult, GatewayError>,
        at: &At,
    ) -> Result<serde_json::Value, ApiError> {
        let Some(op) = self.operations.iter().find(|o| &o.key == key).cloned() else {
            return Err(ApiError::Internal("no operation under this key".into()));
        };
        let answer = match (op.kind, op.refund_id.as_deref()) {
            (OperationKind::Refund, Some(refund_id)) => {
                self.refund_answered(refund_id, result, Source::Shop, at);
                let refund = self.refunds.iter().find(|r| r.id == refund_id).cloned();
                match refund {
                    Some(r) if matches!(r.status, RefundStatus::Failed { .. }) && r.gateway_refund_id.is_none() => {
                        // Refused outright: an error, as before; the key keeps it.
                        match &r.status {
                            RefundStatus::Failed { error } if error.code == "gateway_rejected" => {
                                Err(ApiError::GatewayRejected(error.message.clone()))
                            }
                            _ => Ok(self.refund_answer(&r)),
                        }
                    }
                    Some(r) => Ok(self.refund_answer(&r)),
                    None => Err(ApiError::Internal("refund vanished".into())),
                }
            }
            (kind, _) => self.capture_or_void_answered(kind, result, at),
        };
        if let Some(op) = self.operations.iter_mut().find(|o| &o.key == key) {
            op.answer = Some(answer.clone());
        }
        answer
    }

    pub(super) fn capture_or_void_answered(
        &mut self,
        kind: OperationKind,
        result: Result<OperationResult, GatewayError>,
        at: &At,
    ) -> Result<serde_json::Value, ApiError> {
        let result = result.map_err(|e| match e {
            GatewayError::Unreachable(why) => ApiError::GatewayUnavailable(why),
            other => ApiError::GatewayRejected(other.to_string()),
        })?;
        let Some(charge) = self.charge().cloned() else { return Err(ApiError::PaymentNotFound) };
        let session = self.session(&charge.session_id).cloned().ok_or(ApiError::PaymentNotFound)?;
        let status = match &result.status {
            OperationStatus::Succeeded => "succeeded",
            OperationStatus::Pending => "pending",
            OperationStatus::Failed(_) => "failed",
        };
        let mut event_id = None;
        if result.status == OperationStatus::Succeeded {
            let (next, event) = match kind {
                OperationKind::Capture => (PaymentState::Paid, EventType::PaymentSucceeded),
                _ => (PaymentState::Voided, EventType::PaymentVoided),
            };
            if let Some(c) = self.charges.iter_mut().find(|c| c.session_id == charge.session_id) {
                match kind {
                    OperationKind::Capture => {
                        c.captured = true;
                        c.money = result.money;
                    }
                    _ => c.voided = true,
                }
            }
            if self.offer(next, Source::Shop, at) == Transition::Applied {
                event_id = Some(self.emit(event, &session, result.money.minor, None, at));
            }
        }
        let mut answer = serde_json::json!({
            "status": status,
            "id": result.id,
            "amount": result.money.minor,
            "currency": self.money.currency.code(),
            "payment_state": self.state,
        });
        if let Some(id) = event_id {
            answer["event_id"] = id.into();
        }
        if let OperationStatus::Failed(error) = &result.status {
            answer["error"] = serde_json::to_value(error).unwrap_or_default();
        }
        Ok(answer)
    }

    /// Records what the gateway said about a refund (its first answer, or a later check).
    pub fn refund_answered(
        &mut self,
        refund_id: &str,
        result: Result<OperationResult, GatewayError>,
        source: Source,
        at: &At,
    ) {
        let Some(refund) = self.refunds.iter().find(|r| r.id == refund_id).cloned() else { return };
        let first_answer = matches!(refund.status, RefundStatus::InFlight | RefundStatus::Queued);
        let settled = matches!(refund.status, RefundStatus::Succeeded | RefundStatus::Failed { .. });
        if settled {
            return;
        }
        match result {
            Ok(r) => {
                if let Some(x) = self.refunds.iter_mut().find(|x| x.id == refund_id) {
                    x.gateway_refund_id = Some(r.id.clone());
                }
                match r.status {
                    OperationStatus::Succeeded => self.settle_refund(refund_id, RefundStatus::Succeeded, source, at),
                    OperationStatus::Failed(error) => {
                        self.settle_refund(refund_id, RefundStatus::Failed { error }, source, at)
                    }
                    OperationStatus::Pending => self.keep_refund_pending(refund_id, RefundStatus::Pending, at),
                }
            }
            Err(GatewayError::Unreachable(why)) if first_answer => {
                // It may or may not have happened: keep the amount reserved, never send it twice.
                self.keep_refund_pending(refund_id, RefundStatus::Unknown { reason: why }, at)
            }
            Err(e) if first_answer => {
                let error = ErrorInfo { code: "gateway_rejected".into(), message: e.to_string() };
                self.settle_refund(refund_id, RefundStatus::Failed { error }, source, at)
            }
            Err(_) => self.keep_refund_pending(refund_id, refund.status.clone(), at),
        }
    }

    /// Reconciles the refunds of the charge made on `session_id` with the total the gateway
    /// reports refunded on it. Refunds whose answer was lost (or whose send was cut short) are
    /// settled oldest first: succeeded when the total covers them, failed (freed, and the shop
    /// told) when a while has passed and the total still does not show them. What the gateway
    /// refunded beyond everything the edge knows of was refunded in its dashboard: recorded and
    /// announced as `refund.succeeded` without an idempotency key.
    pub(super) fn reconcile_refunds(&mut self, session_id: &str, refunded: i64, source: Source, at: &At) -> bool {
        if !self.charges.iter().any(|c| c.session_id == session_id) {
            return false;
        }
        let mut changed = false;
        let of_charge: Vec<Refund> = self.refunds.iter().filter(|r| r.session_id == session_id).cloned().collect();
        let succeeded = self.succeeded_on(session_id);
        let unknown: Vec<&Refund> = of_charge
            .iter()
            .filter(|r| matches!(r.status, RefundStatus::Unknown { .. } | RefundStatus::InFlight))
            .collect();
        // A pending refund may or may not be in the total yet: the total cannot tell then, and
        // guessing wrong could free an amount that was refunded (a double refund). Wait.
        let pending = of_charge.iter().any(|r| r.status == RefundStatus::Pending);
        let unknown_sum: i64 = unknown.iter().map(|r| r.amount).sum();
        let settled_long_ago =
            unknown.iter().all(|r| at.now_ms.saturating_sub(r.created_at_ms) >= at.settings.reconcile_after_ms);
        if !unknown.is_empty() && !pending {
            if refunded >= succeeded + unknown_sum {
                // Every one of them shows in the total.
                for r in &unknown {
                    self.settle_refund(&r.id, RefundStatus::Succeeded, source, at);
                }
                changed = true;
            } else if refunded - succeeded < unknown.iter().map(|r| r.amount).min().unwrap_or(0) && settled_long_ago {
                // Not even the smallest of them fits in what the total shows beyond the known
                // refunds (a refund is made whole or not at all), a while after they were sent:
                // none was made.
                for r in &unknown {
                    let error = ErrorInfo {
                        code: "refund_not_made".into(),
                        message: "The gateway's answer to this refund was lost and the gateway shows no such refund: \
                                  nothing was refunded."
                            .into(),
                    };
                    // Announced as failed (the shop was told "pending"): it may refund again.
                    if let Some(x) = self.refunds.iter_mut().find(|x| x.id == r.id) {
                        x.checks = x.checks.max(1);
                    }
                    self.settle_refund(&r.id, RefundStatus::Failed { error }, source, at);
                }
                changed = true;
            }
            // Otherwise some, not all, show: which ones cannot be told; they stay reserved.
        }
        if let Some(c) = self.charges.iter_mut().find(|c| c.session_id == session_id) {
            c.gateway_refunded = Some(refunded);
            c.recheck_at_ms = None;
        }
        changed |= self.record_dashboard_refunds(session_id, source, at);
        changed
    }

    /// Records, as a refund made in the gateway's dashboard, what the gateway just reported
    /// refunded on a charge beyond every refund the edge knows of (succeeded, pending, or
    /// unknown): every refund of the edge's own is counted, so this never records more than
    /// was refunded outside the edge. A refund of the edge's that is declined later frees its
    /// amount and asks for a fresh total (`Charge::recheck_at_ms`), which may uncover what was
    /// hidden behind it.
    pub(super) fn record_dashboard_refunds(&mut self, session_id: &str, source: Source, at: &At) -> bool {
        let Some(charge) = self.charges.iter().find(|c| c.session_id == session_id).cloned() else { return false };
        let Some(reported) = charge.gateway_refunded else { return false };
        let known = self.reserved_on(session_id);
        let extra = (reported - known).min(charge.money.minor - known);
        if extra <= 0 || !charge.captured || charge.voided {
            return false;
        }
        let id = self.add_refund(session_id, extra, RefundOrigin::Gateway, None, RefundStatus::Queued, at);
        self.settle_refund(&id, RefundStatus::Succeeded, source, at);
        true
    }

    /// A refund that is not final: asked again with backoff (where the gateway can be asked)
    /// for the watch window. One whose outcome is unknown stays reserved; for a second charge
    /// the merchant is told to look.
    pub(super) fn keep_refund_pending(&mut self, refund_id: &str, status: RefundStatus, at: &At) {
        let Some(r) = self.refunds.iter_mut().find(|r| r.id == refund_id) else { return };
        let newly_unknown =
            matches!(status, RefundStatus::Unknown { .. }) && !matches!(r.status, RefundStatus::Unknown { .. });
        r.status = status;
        // A pending refund is asked about by its id; one whose answer was lost, by asking the
        // gateway about the charge (its refunded total).
        let checkable = match r.status {
            RefundStatus::Pending => r.gateway_refund_id.is_some(),
            RefundStatus::Unknown { .. } => true,
            _ => false,
        };
        let next = r.another_check(at);
        r.next_check_at_ms = next.filter(|_| checkable);
        let r = r.clone();
        let duplicate = self.charges.iter().any(|c| c.session_id == r.session_id && c.duplicate);
        if duplicate && newly_unknown {
            if let Some(session) = self.session(&r.session_id).cloned() {
                let error = ErrorInfo {
                    code: "duplicate_refund_unconfirmed".into(),
                    message: "A second charge for this reference was found and refunded, but the gateway did not \
                              confirm the refund: check it in the gateway's dashboard."
                        .into(),
                };
                self.emit_with(EventType::PaymentDuplicateDetected, &session, r.amount, None, None, Some(error), at);
            }
        }
    }

    pub(super) fn settle_refund(&mut self, refund_id: &str, status: RefundStatus, source: Source, at: &At) {
        let Some(i) = self.refunds.iter().position(|r| r.id == refund_id) else { return };
        self.refunds[i].status = status.clone();
        self.refunds[i].next_check_at_ms = None;
        let refund = self.refunds[i].clone();
        let Some(session) = self.session(&refund.session_id).cloned() else { return };
        let duplicate = self.charges.iter().any(|c| c.session_id == refund.session_id && c.duplicate);
        let event_id = match (&status, refund.origin, duplicate) {
            (RefundStatus::Succeeded, _, true) => Some(self.emit_with(
                EventType::PaymentDuplicateRefunded,
                &session,
                refund.amount,
                refund.gateway_refund_id.clone(),
                None,
                None,
                at,
            )),
            (RefundStatus::Failed { error }, _, true) => {
                let error = ErrorInfo {
                    code: "duplicate_not_refunded".into(),
                    message: format!(
                        "A second charge for this reference could not be refunded ({}); refund it in the gateway's \
                         dashboard.",
                        error.message
                    ),
                };
                Some(self.emit_with(
                    EventType::PaymentDuplicateDetected,
                    &session,
                    refund.amount,
                    None,
                    None,
                    Some(error),
                    at,
                ))
            }
            (RefundStatus::Succeeded, _, false) => {
                let next = if self.charge_refunded() >= self.charge().map_or(0, |c| c.money.minor) {
                    PaymentState::Refunded
                } else {
                    PaymentState::PartiallyRefunded
                };
                self.offer(next, source, at);
                let key = refund.key.as_ref().map(|k| k.as_str().to_string());
                Some(self.emit_with(
                    EventType::RefundSucceeded,
                    &session,
                    refund.amount,
                    refund.gateway_refund_id.clone(),
                    key,
                    None,
                    at,
                ))
            }
            (RefundStatus::Failed { error }, _, false) => {
                // Announced only when the shop was told "pending" first; a refusal at once is
                // in the answer to its call.
                let was_pending = refund.checks > 0;
                let key = refund.key.as_ref().map(|k| k.as_str().to_string());
                let error = Some(error.clone());
                was_pending.then(|| {
                    self.emit_with(
                        EventType::RefundFailed,
                        &session,
                        refund.amount,
                        refund.gateway_refund_id.clone(),
                        key,
                        error,
                        at,
                    )
                })
            }
            _ => None,
        };
        self.refunds[i].event_id = event_id;
        if matches!(status, RefundStatus::Failed { .. }) || refund.checks > 0 {
            // A refund that was not final at once may have hidden a refund made in the
            // dashboard behind its reservation (freed now, or now in the total): ask for a fresh
            // total (where the gateway reports one).
            if let Some(c) = self.charges.iter_mut().find(|c| c.session_id == refund.session_id) {
                if c.gateway_refunded.is_some() {
                    c.recheck_at_ms = Some(at.now_ms);
                }
            }
        }
    }

    pub(super) fn refund_answer(&self, refund: &Refund) -> serde_json::Value {
        let (status, error, message) = match &refund.status {
            RefundStatus::Succeeded => ("succeeded", None, None),
            RefundStatus::Failed { error } => ("failed", Some(error.clone()), None),
            RefundStatus::Unknown { reason } => (
                "pending",
                None,
                Some(format!(
                    "the gateway did not answer ({reason}); the amount stays reserved and is never sent twice: check \
                     the gateway's dashboard"
                )),
            ),
            RefundStatus::Queued | RefundStatus::InFlight | RefundStatus::Pending => ("pending", None, None),
        };
        let event_id = refund.event_id.clone();
        let mut answer = serde_json::json!({
            "status": status,
            "refund_id": refund.id,
            "id": refund.gateway_refund_id,
            "amount": refund.amount,
            "currency": self.money.currency.code(),
            "refunded_total": self.charge_refunded(),
            "payment_state": self.state,
        });
        if let Some(e) = error {
            answer["error"] = serde_json::to_value(e).unwrap_or_default();
        }
        if let Some(m) = message {
            answer["message"] = m.into();
        }
        if let Some(id) = event_id {
            answer["event_id"] = id.into();
        }
        answer
    }

    /// Records a new refund of the charge made on `session_id` and returns its id (`rf_…`,
    /// derived from the payment's seed). One in flight is asked about after a grace period if
    /// the edge stops before its answer is recorded.
    pub(super) fn add_refund(
        &mut self,
        session_id: &str,
        amount: i64,
        origin: RefundOrigin,
        key: Option<IdempotencyKey>,
        status: RefundStatus,
        at: &At,
    ) -> String {
        self.refunds_made += 1;
        let bytes = self.derive(&format!("refund:{}", self.refunds_made));
        let id = format!("rf_{}", hex::encode(&bytes[..12]));
        let next_check_at_ms =
            (status == RefundStatus::InFlight).then(|| at.now_ms.saturating_add(super::schedule::in_flight_grace(at)));
        self.refunds.push(Refund {
            id: id.clone(),
            session_id: session_id.to_string(),
            amount,
            origin,
            key,
            status,
            gateway_refund_id: None,
            created_at_ms: at.now_ms,
            next_check_at_ms,
            checks: 0,
            event_id: None,
        });
        id
    }
}
