# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import time

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.payment.logging import get_payment_logger
from odoo.addons.payment_bawaba import bawaba_protocol, const
from odoo.addons.payment_bawaba.exceptions import BawabaRetryLater
from odoo.addons.payment_bawaba.models.payment_provider import BawabaEdgeUnreachable


_logger = get_payment_logger(__name__, const.SENSITIVE_KEYS)


class PaymentTransaction(models.Model):
    _inherit = 'payment.transaction'

    bawaba_gateway = fields.Char(
        string="Gateway", readonly=True,
        help="The gateway that took the payment at the edge (moyasar, tap, aps, stripe, paypal, paytabs, sandbox).")
    bawaba_card_brand = fields.Char(string="Card Brand", readonly=True)
    bawaba_card_last4 = fields.Char(string="Card Last Digits", readonly=True)
    bawaba_decline_reason = fields.Selection(
        selection=const.DECLINE_REASONS, string="Decline Reason", readonly=True,
        help="Why the payment did not go through, the same for every gateway; the gateway's own words "
             "and code are in the message.")
    bawaba_event_id = fields.Char(
        string="Bawaba Event",
        help="The edge's notification that created this transaction (a refund made in the gateway's "
             "dashboard), so that the same notification delivered again creates nothing.",
        readonly=True,
        copy=False,
        index='btree_not_null',
    )

    # === PROCESSING (checkout) === #

    def _get_specific_processing_values(self, processing_values):
        """Override of `payment` to hand the widget a signed intent for this transaction."""
        if self.provider_code != 'bawaba':
            return super()._get_specific_processing_values(processing_values)
        return {
            'bawaba_intent': self._bawaba_make_intent(),
            'bawaba_edge_url': self.provider_id.bawaba_edge_url,
        }

    def _bawaba_intent_claims(self, now=None):
        """The intent's claims: reference, amount in minor units, currency, allowed methods,
        return and notify URLs, language and customer (see docs/protocol.md)."""
        self.ensure_one()
        now = int(now if now is not None else time.time())
        # The method the shopper picked or, for another one, every method of the provider that may
        # be offered in this currency (never PayPal in SAR).
        methods = const.EDGE_METHOD_CODES.get(self.payment_method_id.code) or [
            code
            for pm in self.provider_id.payment_method_ids
            if pm._bawaba_takes_currency(self.currency_id)
            for code in const.EDGE_METHOD_CODES.get(pm.code, [])
        ]
        return {
            'iss': self.provider_id.bawaba_shop_id,
            'aud': bawaba_protocol.AUDIENCE,
            'sub': self.reference,
            'iat': now,
            'exp': now + const.INTENT_LIFETIME_SECS,
            'amount': bawaba_protocol.to_minor_units(self.amount, self.currency_id.name),
            'currency': self.currency_id.name,
            'methods': list(dict.fromkeys(methods)),
            # From the provider's Public URL, whatever host the shopper used: the edge posts results
            # only to the origin registered for the shop.
            'return_url': self.provider_id._bawaba_get_return_url(),
            'notify_url': self.provider_id._bawaba_get_notify_url(),
            'locale': 'ar' if (self.partner_lang or '').startswith('ar') else 'en',
            'customer_name': self.partner_name or '',
            'customer_email': self.partner_email or '',
        }

    def _bawaba_make_intent(self):
        self.ensure_one()
        mismatch = self.provider_id._bawaba_mode_mismatch()
        if mismatch:
            # A live provider on a test shop would record test payments as paid, a test provider on
            # a live shop would take real money for a test: the merchant was told at Test connection.
            _logger.error("Bawaba intent refused for %s: %s", self.reference, mismatch)
            raise ValidationError(_(
                "This payment method is not available at the moment. Please choose another one or contact us."))
        payment_method = self.payment_method_id
        if payment_method.code in const.EDGE_METHOD_CODES and not payment_method._bawaba_takes_currency(
            self.currency_id
        ):
            # Not offered in this currency by the payment form (PayPal takes no SAR): the edge would
            # refuse it.
            raise ValidationError(_(
                "%(method)s is not available in %(currency)s. Please choose another payment method.",
                method=payment_method.name, currency=self.currency_id.name))
        try:
            claims = self._bawaba_intent_claims()
        except bawaba_protocol.ProtocolError as error:
            raise ValidationError(_("Bawaba cannot take this payment: %s", error))
        return bawaba_protocol.sign_intent(claims, self.provider_id.sudo().bawaba_signing_secret)

    # === NOTIFICATIONS === #

    @api.model
    def _search_by_reference(self, provider_code, payment_data):
        """Override of `payment` to find refunds by the key they were sent with (the refund
        transaction's reference), then by the gateway's refund id, then by the notification that
        recorded them (a refund made in the gateway's dashboard)."""
        if provider_code != 'bawaba' or payment_data.get('type') not in const.REFUND_EVENTS:
            return super()._search_by_reference(provider_code, payment_data)
        domain = [('provider_code', '=', 'bawaba'), ('operation', '=', 'refund')]
        tx = self
        references = bawaba_protocol.idempotency_key_texts(payment_data.get('idempotency_key'))
        if references:
            tx = self.search(domain + [('reference', 'in', references)], limit=1)
        refund_id = payment_data.get('refund_id')
        if not tx and refund_id:
            tx = self.search(domain + [('provider_reference', '=', refund_id)], limit=1)
        event_id = payment_data.get('event_id')
        if not tx and event_id:
            tx = self.search(domain + [('bawaba_event_id', '=', event_id)], limit=1)
        if not tx:
            _logger.info(
                "Bawaba refund %s (key %s) of %s is not known here.",
                refund_id, payment_data.get('idempotency_key'), payment_data.get('reference'),
            )
        return tx or self

    @api.model
    def _bawaba_search_notified(self, payment_data):
        """The transaction a notification is about, found before its signature is checked, so that
        it is checked with that transaction's provider (never with a provider chosen from the unsigned
        `shop_id`): the refund transaction for a known refund, otherwise the payment named by
        `reference` (for an unknown refund: to record one made in the gateway's dashboard).

        :param dict payment_data: The notification, not verified yet.
        :return: The transaction, or an empty recordset.
        :rtype: payment.transaction
        """
        if payment_data.get('type') in const.REFUND_EVENTS:
            refund = self._search_by_reference('bawaba', payment_data)
            if refund:
                return refund
        reference = payment_data.get('reference')
        if not reference:
            return self.browse()
        return self.search([
            ('reference', '=', reference), ('provider_code', '=', 'bawaba'), ('operation', '!=', 'refund'),
        ], limit=1)

    def _bawaba_handle_notification(self, payment_data):
        """Apply a verified notification from the edge to this transaction.

        :param dict payment_data: The notification, verified with this transaction's provider.
        :raise ValidationError: if Odoo refuses its data (the caller sets the transaction in error).
        """
        self.ensure_one()
        event_type = payment_data.get('type')
        if event_type in const.DUPLICATE_EVENTS:
            # A second charge for the reference: told on the chatter, never a change of state (nor
            # an amount check against the transaction, which stands for the first charge).
            self._bawaba_report_duplicate(payment_data)
        elif event_type in const.REFUND_EVENTS:
            if self.operation == 'refund':
                self._process('bawaba', payment_data)
            elif event_type == const.REFUND_SUCCEEDED and not payment_data.get('idempotency_key'):
                # No key of the shop and no refund known by its id: made in the gateway's dashboard.
                self._bawaba_record_gateway_refund(payment_data)._process('bawaba', payment_data)
            elif time.time() - (payment_data.get('created_at') or 0) < const.REFUND_WAIT_SECS:
                # A key but no refund transaction: the Odoo request that asked for this refund may
                # not have committed it yet (the edge reports the refund as soon as the gateway
                # answers). Answering 200 would drop the result; the edge sends it again later.
                raise BawabaRetryLater(
                    "refund %s of %s under key %s is not committed here yet" % (
                        payment_data.get('refund_id'), self.reference, payment_data.get('idempotency_key')))
            elif event_type == const.REFUND_SUCCEEDED:
                # Still unknown long after: money was refunded under a key this database does not
                # have (its request rolled back). Recorded, so the books show every refund.
                self._bawaba_record_gateway_refund(payment_data)._process('bawaba', payment_data)
            else:
                _logger.warning(
                    "Bawaba %s of %s for a refund this database did not ask (key %s): acknowledged, nothing "
                    "changed (nothing was refunded).", event_type, self.reference, payment_data.get('idempotency_key'))
        elif event_type in const.PAYMENT_STATUS_MAPPING:
            self._process('bawaba', payment_data)
        else:
            # A type this version does not know (the edge may add some): acknowledged, so the edge
            # does not retry it for 72 hours, and logged.
            _logger.warning(
                "Bawaba notification %s of an unknown type %s, acknowledged and ignored.",
                payment_data.get('event_id'), event_type,
            )

    def _bawaba_refuse_notification(self, payment_data, error):
        """Set this transaction in error when Odoo refused a verified notification's data (the
        edge is answered 200 all the same: sending the same data again for 72 hours would not help).

        :param dict payment_data: The verified notification.
        :param Exception error: What Odoo raised.
        """
        self.ensure_one()
        message = _(
            "Odoo could not record the Bawaba notification %(event)s (%(type)s): %(error)s. Check this payment "
            "in the gateway's dashboard.",
            event=payment_data.get('event_id') or '', type=payment_data.get('type') or '', error=error)
        if not self._set_error(message):
            self._log_message_on_linked_documents(message)

    def _bawaba_record_gateway_refund(self, payment_data):
        """Create the refund transaction of a refund made outside Odoo (in the gateway's
        dashboard, or by a request of this database that rolled back), as `payment_stripe` does
        for its dashboard refunds.

        :param dict payment_data: A verified `refund.succeeded` of a refund that no refund
            transaction has (no key, or a key no refund transaction here has).
        :return: The refund transaction, in draft (`_process` confirms it).
        :rtype: payment.transaction
        """
        self.ensure_one()
        amount = self._bawaba_major_units(payment_data)
        refund = self._create_child_transaction(
            amount, is_refund=True,
            provider_reference=payment_data.get('refund_id'),
            bawaba_event_id=payment_data.get('event_id'),
        )
        _logger.info("Bawaba refund %s of %s made outside Odoo: recorded as %s.",
                     payment_data.get('refund_id'), self.reference, refund.reference)
        if payment_data.get('idempotency_key'):
            message = _(
                "Bawaba: the edge refunded %(amount)s under the key %(key)s, which this database has no refund "
                "for; it was recorded as %(refund)s.",
                amount=self.currency_id.format(amount), key=payment_data.get('idempotency_key'),
                refund=refund.reference)
        else:
            message = _(
                "Bawaba: a refund of %(amount)s made in the gateway's dashboard was recorded as %(refund)s.",
                amount=self.currency_id.format(amount), refund=refund.reference)
        self._log_message_on_linked_documents(message)
        return refund

    def _process(self, provider_code, payment_data):
        """Override of `payment` to record a gateway's late confirmation of a Bawaba payment.

        The edge sends `payment.succeeded` for every charge a gateway confirms, also after it had
        sent `payment.canceled` (a page paid after the payment expired) or `payment.failed` (a
        newer tab declined while an older tab's payment went through): the money was taken, so
        the transaction must end `done` and the order be confirmed. `payment` returns early for a
        transaction in `error` (its amount check sets that state) and `_set_done` refuses one in
        `cancel`; for these, the amount and currency are checked here instead (a mismatch
        changes no state), then the update is applied as usual. Every other case, and every
        other provider, goes through `payment` unchanged.
        """
        if provider_code != 'bawaba' or payment_data.get('type') != const.PAYMENT_SUCCEEDED:
            return super()._process(provider_code, payment_data)
        tx = self or self._search_by_reference(provider_code, payment_data)
        if not tx:
            return tx
        tx.ensure_one()
        if tx.state not in const.LATE_CONFIRMATION_STATES or tx.operation == 'refund':
            return super(PaymentTransaction, tx)._process(provider_code, payment_data)
        mismatch = tx._bawaba_amount_mismatch(payment_data)
        if mismatch:
            tx._bawaba_refuse_late_confirmation(mismatch)
            return tx
        tx._apply_updates(payment_data)
        if tx.tokenize and tx.state in {'authorized', 'done'}:
            tx._tokenize(payment_data)
        return tx

    def _bawaba_amount_mismatch(self, payment_data):
        """Check the amount and currency of a notification as `payment`'s `_validate_amount` does,
        without setting the transaction in error (it is already canceled or failed).

        :param dict payment_data: A verified notification.
        :return: Why the notification does not match the transaction, or None if it matches.
        :rtype: str|None
        """
        self.ensure_one()
        if self.operation == 'validation':
            return None
        amount_data = self._extract_amount_data(payment_data)
        amount, currency_code = amount_data['amount'], amount_data['currency_code']
        if not amount or not currency_code:
            return _("the amount or currency is missing from the notification.")
        if currency_code != self.currency_id.name:
            return _("the currency (%(received)s) differs from the transaction's (%(expected)s).",
                     received=currency_code, expected=self.currency_id.name)
        if self.currency_id.compare_amounts(amount, self.amount) != 0:
            return _("the amount (%(received)s) differs from the transaction's (%(expected)s).",
                     received=self.currency_id.format(amount), expected=self.currency_id.format(self.amount))
        return None

    def _bawaba_refuse_late_confirmation(self, reason):
        """Leave a canceled or failed transaction as it is when the gateway's late confirmation
        does not match it, and say so on the transaction and its documents: money may have been
        taken that Odoo does not record.

        :param str reason: What does not match (see `_bawaba_amount_mismatch`).
        """
        self.ensure_one()
        message = _(
            "Bawaba: the gateway confirmed a payment for this transaction after it had been canceled or had "
            "failed, but it was not recorded as paid: %(reason)s Check this payment in the gateway's dashboard, "
            "and refund it there if needed.", reason=reason)
        _logger.warning(
            "Late confirmation of %s (state %s) refused: %s", self.reference, self.state, reason)
        if self.state_message != message:  # A repeated notification posts nothing new.
            self.state_message = message
            self._log_message_on_linked_documents(message)

    def _bawaba_confirm_late(self):
        """Set `done` a transaction the edge had said was canceled or failed, now that the gateway
        confirmed its charge, and say why on the transaction and its documents. Odoo's
        post-processing then confirms the order and sends the e-mail as for any payment."""
        self.ensure_one()
        if self.state == 'cancel':
            message = _(
                "The gateway confirmed this payment after it had been canceled (for example, a payment page "
                "left open and paid after the payment had expired). Odoo recorded it as paid.")
        else:
            message = _(
                "The gateway confirmed this payment after it had failed (for example, the payment in an older "
                "tab went through while a newer tab was declined). Odoo recorded it as paid.")
        previous_state = self.state
        if self._set_done(state_message=message, extra_allowed_states=('cancel',)):
            _logger.info("Late confirmation of %s: %s -> done.", self.reference, previous_state)
            self._log_message_on_linked_documents(message)

    def _extract_amount_data(self, payment_data):
        """Override of `payment`: the edge sends integer minor units."""
        if self.provider_code != 'bawaba':
            return super()._extract_amount_data(payment_data)
        return {'amount': self._bawaba_major_units(payment_data), 'currency_code': payment_data.get('currency')}

    def _bawaba_major_units(self, payment_data):
        """The notification's `amount` (integer minor units of its `currency`) in major units.

        :raise ValidationError: if the amount is not a whole number (Odoo refuses the data).
        """
        amount = payment_data.get('amount', 0)
        if amount is None:
            amount = 0
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValidationError(_(
                "the amount %(amount)s is not a whole number of minor units", amount=repr(amount)))
        currency = payment_data.get('currency')
        exponent = bawaba_protocol.CURRENCY_EXPONENTS.get(currency, self.currency_id.decimal_places)
        return amount / 10 ** exponent

    def _apply_updates(self, payment_data):
        """Override of `payment` to update the transaction from a verified notification."""
        if self.provider_code != 'bawaba':
            return super()._apply_updates(payment_data)
        event_type = payment_data.get('type')
        error = payment_data.get('error') or {}
        if event_type in const.REFUND_EVENTS:
            # The gateway's refund id, once it has one, rather than the edge's `rf_…`.
            self.provider_reference = payment_data.get('refund_id') or self.provider_reference
            if event_type == const.REFUND_SUCCEEDED:
                self._set_done()
            else:
                self._set_error(self._bawaba_refund_failure(error))
            self._bawaba_post_process_now()
            return
        self.provider_reference = payment_data.get('gateway_payment_id') or self.provider_reference
        self._bawaba_record_details(payment_data)
        method = payment_data.get('card_brand') or payment_data.get('method') or ''
        payment_method = self.env['payment.method']._get_from_code(method.lower())
        self.payment_method_id = payment_method or self.payment_method_id
        state = const.PAYMENT_STATUS_MAPPING.get(event_type)
        if state == 'done':
            if self.state in const.LATE_CONFIRMATION_STATES:
                self._bawaba_confirm_late()
            elif self.state == 'authorized':
                self._bawaba_confirm_capture()
            else:
                self._set_done()
        elif state == 'authorized':
            self._bawaba_set_authorized()
        elif state == 'pending':
            self._set_pending()
        elif event_type == const.PAYMENT_VOIDED:
            self._bawaba_confirm_void(error)
        elif state == 'cancel':
            self._set_canceled(state_message=error.get('message'))
        elif state == 'error':
            self._set_error(self._bawaba_failure_message(error))
        else:
            _logger.warning("Unknown Bawaba event type %s for %s.", event_type, self.reference)

    def _bawaba_failure_message(self, error):
        """What the shopper reads on the payment status page, in their language: why the payment
        failed and what to do; then, in brackets, the gateway's own words for the merchant.

        :param dict error: The `error` of a `payment.failed` notification (`code`, `message`).
        """
        code = (error or {}).get('code') or ''
        code = const.DECLINE_REASON_ALIASES.get(code, code)
        messages = self.with_context(lang=self.partner_lang or self.env.lang)._bawaba_decline_messages()
        sentence = messages.get(code, messages['declined'])
        detail = (error or {}).get('message')
        return f"{sentence} ({detail})" if detail else sentence

    def _bawaba_decline_messages(self):
        """The shopper's sentence for each normalized decline reason (`bawaba_core::decline`,
        whose `message` has the same words), in the language of the context."""
        return {
            'insufficient_funds': _(
                "The card does not have enough funds for this payment. Please use another card or contact your bank."),
            'do_not_honor': _("Your bank declined this payment. Please contact your bank or try another card."),
            'expired_card': _("This card has expired. Please use another card."),
            'invalid_card': _(
                "The card number, expiry date or security code (CVV) is not correct. Please check them and try "
                "again."),
            'authentication_failed': _(
                "The card could not be verified with your bank (3-D Secure). Please try again, or use another card."),
            'card_not_supported': _(
                "This card cannot be used for this payment. Please use another card or payment method."),
            'suspected_fraud': _("Your bank declined this payment. Please contact your bank or use another card."),
            'limit_exceeded': _(
                "This payment exceeds a limit on your card. Please contact your bank or use another card."),
            'canceled_by_shopper': _("The payment was canceled. You can try again when you are ready."),
            'expired_session': _("The payment page timed out before the payment was completed. Please try again."),
            'gateway_error': _(
                "The payment could not be processed because of a technical problem. Please try again in a few "
                "minutes."),
            'declined': _("The payment was declined. Please try another card or contact your bank."),
        }

    def _bawaba_record_details(self, payment_data):
        """Keep what the edge tells of the payment: the gateway, the card, and why it failed.

        :param dict payment_data: A verified `payment.*` notification.
        """
        values = {'bawaba_gateway': payment_data.get('gateway') or self.bawaba_gateway}
        if payment_data.get('card_brand'):
            values['bawaba_card_brand'] = payment_data['card_brand']
        if payment_data.get('card_last4'):
            values['bawaba_card_last4'] = payment_data['card_last4']
        state = const.PAYMENT_STATUS_MAPPING.get(payment_data.get('type'))
        if payment_data.get('type') in ('payment.failed', 'payment.canceled'):
            code = (payment_data.get('error') or {}).get('code') or ''
            code = const.DECLINE_REASON_ALIASES.get(code, code)
            known = dict(const.DECLINE_REASONS)
            values['bawaba_decline_reason'] = code if code in known else 'declined'
        elif state in ('done', 'authorized'):
            values['bawaba_decline_reason'] = False
        self.write(values)

    def _bawaba_set_authorized(self):
        """Set the transaction `authorized`: the gateway holds the amount until it is captured or
        voided. Odoo allows that state only for providers that support manual capture: the edge
        says a gateway authorized, so one can capture (also when Test connection never ran)."""
        self.ensure_one()
        if not self.provider_id.support_manual_capture:
            _logger.info("Bawaba %s authorized: the provider %s now supports capture.",
                         self.reference, self.provider_id.id)
            self.provider_id.bawaba_can_capture = True
        self._set_authorized()

    def _bawaba_in_flight_operations(self):
        """The capture or void child transactions of this one still waiting for the gateway."""
        self.ensure_one()
        return self.child_transaction_ids.filtered(
            lambda tx: tx.operation == self.operation and tx.state in ('draft', 'pending')
        )

    def _bawaba_confirm_capture(self):
        """The gateway captured this authorized payment (`payment.succeeded`): the capture child
        waiting for it, if any, is done and Odoo updates this transaction from it, as for its own
        providers; a capture made elsewhere (the gateway's dashboard) sets it done directly."""
        self.ensure_one()
        captures = self._bawaba_in_flight_operations()
        if captures:
            captures[0]._set_done()
            # Sent again while the first waited (same key at the edge): one capture.
            captures[1:]._set_canceled(state_message=_("Same capture as %s.", captures[0].reference))
        if self.state == 'authorized':
            self._set_done()
        (captures | self)._bawaba_post_process_now()

    def _bawaba_confirm_void(self, error):
        """The gateway released the authorization, or voided the payment before settlement
        (`payment.voided`): no money was taken. The void child waiting for it, if any, is
        canceled and Odoo cancels this transaction from it; a paid transaction is canceled too,
        and its documents say so."""
        self.ensure_one()
        voids = self._bawaba_in_flight_operations()
        voids._set_canceled()
        if self.state == 'done':
            message = _(
                "Bawaba: the gateway voided this payment before settlement; no money was taken. The transaction "
                "is canceled: the order is not paid any more.")
            if self._set_canceled(state_message=message, extra_allowed_states=('done',)):
                self._log_message_on_linked_documents(message)
        elif self.state != 'cancel':
            self._set_canceled(state_message=error.get('message'))
        (voids | self)._bawaba_post_process_now()

    def _bawaba_post_process_now(self):
        """Run Odoo's post-processing of back-office operations (refunds, captures, voids) at once:
        nobody waits for them on the status page, whose polling post-processes a shopper's
        payment, and the cron may run only every 10 minutes (or not at all without cron workers).
        With `account_payment`, the refund's payment is then created at once, so the amount left
        to refund is right when the merchant opens the refund wizard again.

        A failure of the post-processing never undoes the state change: it is logged, and the cron
        tries again.
        """
        for tx in self.filtered(lambda t: t.state in ('done', 'cancel') and not t.is_post_processed):
            try:
                with self.env.cr.savepoint():
                    tx._post_process()
            except Exception:  # noqa: BLE001 - the state change must stand; the cron tries again.
                _logger.exception("Post-processing of %s failed; the cron will try again.", tx.reference)
                self.env.ref('payment.cron_post_process_payment_tx')._trigger()

    def _bawaba_refund_failure(self, error):
        """The state message of a refund the gateway refused (`error` is the edge's)."""
        return _("The refund failed: %(message)s (%(code)s)",
                 message=error.get('message') or _("the gateway refused it"), code=error.get('code', ''))

    def _bawaba_report_duplicate(self, payment_data):
        """Say on the chatter of the transaction's documents that the gateway charged this
        reference a second time, and what the edge did about it. The state does not change: the
        transaction stands for the first charge.

        :param dict payment_data: A verified `payment.duplicate_refunded` or
            `payment.duplicate_detected` notification.
        """
        self.ensure_one()
        currency = payment_data.get('currency') or self.currency_id.name
        exponent = bawaba_protocol.CURRENCY_EXPONENTS.get(currency, self.currency_id.decimal_places)
        try:
            amount = f"{int(payment_data.get('amount')) / 10 ** exponent:.{exponent}f} {currency}"
        except (TypeError, ValueError):
            amount = currency
        values = {
            'gateway': payment_data.get('gateway') or '',
            'charge': payment_data.get('gateway_payment_id') or '',
            'amount': amount,
        }
        if payment_data.get('type') == const.DUPLICATE_REFUNDED:
            message = _(
                "Bawaba: %(gateway)s charged this payment a second time (%(charge)s, %(amount)s). The edge "
                "refunded that second charge in full; there is nothing to do.", **values)
            _logger.info("Duplicate charge %s of %s refunded by the edge.", values['charge'], self.reference)
        else:
            error = payment_data.get('error') or {}
            message = _(
                "Bawaba: %(gateway)s charged this payment a second time (%(charge)s, %(amount)s) and the edge "
                "could not refund it: %(reason)s. Refund that charge in the gateway's dashboard.",
                reason=error.get('message') or error.get('code') or _("no reason given"), **values)
            _logger.warning("Duplicate charge %s of %s NOT refunded: %s", values['charge'], self.reference, error)
        self._log_message_on_linked_documents(message)

    # === REFUNDS === #

    def _bawaba_get_refund_support(self):
        """How this Bawaba transaction can be refunded from Odoo: `none`, `full_only` or `partial`.

        The provider's support and the payment method's, as `account_payment` combines them, except
        that the methods Odoo ships as not refundable but the edge refunds through the gateway that
        took them (mada, STC Pay: `const.REFUND_SUPPORT_BY_METHOD`) count as refundable.
        """
        self.ensure_one()
        method = self.payment_method_id.primary_payment_method_id or self.payment_method_id
        supports = {
            self.provider_id.support_refund or 'none',
            const.REFUND_SUPPORT_BY_METHOD.get(method.code, method.support_refund or 'none'),
        }
        if 'none' in supports:
            return 'none'
        return 'full_only' if 'full_only' in supports else 'partial'

    # === BACK OFFICE === #

    def _bawaba_operation(self, path, payload, idempotency_key):
        """Send a call that moves money and return the edge's answer.

        :raise BawabaEdgeUnreachable: if the outcome is unknown: no answer (timeout, connection
            error) or a server error other than the gateway's refusal (`gateway_rejected`).
        :raise ValidationError: if the edge refused the call (nothing moved).
        """
        status, answer = self.provider_id._bawaba_request(path, payload, idempotency_key=idempotency_key)
        if status == 200:
            return answer
        error = answer.get('error') if isinstance(answer.get('error'), dict) else {}
        code = error.get('code', '')
        if status >= 500 and code != 'gateway_rejected':
            _logger.warning("Bawaba edge answered %s (%s) to %s for %s.", status, code, path, self.reference)
            raise BawabaEdgeUnreachable(_(
                "The Bawaba edge answered with an error (HTTP %(status)s %(code)s).", status=status, code=code))
        if code == 'idempotency_key_reused':
            raise ValidationError(_(
                "Bawaba refused this request: the edge already received one with the key %(key)s but other "
                "details, and moved no money for this one. Check the first one in the gateway's dashboard "
                "before trying again.", key=idempotency_key))
        raise ValidationError(_("Bawaba: %(message)s (%(code)s)", message=error.get('message', status), code=code))

    def _send_refund_request(self):
        """Override of `payment` to refund through the edge (full or partial).

        The key is this refund transaction's reference: the same refund sent again (a retry after
        a lost answer) gets the first answer and moves no money. When the edge does not answer
        (timeout, connection error, server error), the refund may or may not have been made: the
        transaction stays pending, never in error (the merchant would refund again under a new
        key, and refund twice), and the edge's `refund.succeeded` or `refund.failed` decides it.
        """
        if self.provider_code != 'bawaba':
            return super()._send_refund_request()
        source = self.source_transaction_id
        try:
            answer = self._bawaba_operation('/v1/refunds', {
                'reference': source.reference,
                'amount': bawaba_protocol.to_minor_units(-self.amount, self.currency_id.name),
            }, bawaba_protocol.idempotency_key(self.reference))
        except BawabaEdgeUnreachable as error:
            _logger.warning("Bawaba refund %s: outcome unknown (%s); left pending.", self.reference, error)
            self._set_pending(state_message=_(
                "%(error)s The refund may or may not have been made: it stays pending until the edge reports it "
                "(the gateway's answer comes as a notification). Do not refund this amount again.", error=error))
            return
        self.provider_reference = answer.get('id') or answer.get('refund_id') or self.provider_reference
        status = answer.get('status')
        if status == 'succeeded':
            self._set_done()
            self._bawaba_post_process_now()
        elif status == 'failed':
            self._set_error(self._bawaba_refund_failure(answer.get('error') or {}))
        else:
            # `pending`: the edge sends refund.succeeded or refund.failed when the gateway decides.
            if status != 'pending':
                _logger.warning("Unknown Bawaba refund status %s for %s.", status, self.reference)
            self._set_pending()

    def _send_capture_request(self):
        """Override of `payment` to capture through the edge (the full authorized amount).

        Odoo sends it on the capture child transaction: its state follows the edge's answer, and
        Odoo updates the authorized transaction from it. The key is `<payment reference>:capture`:
        a capture sent again (after an error or a lost answer) captures once.
        """
        if self.provider_code != 'bawaba':
            return super()._send_capture_request()
        source = self.source_transaction_id or self
        answer = self._bawaba_operation('/v1/captures', {
            'reference': source.reference,
            'amount': bawaba_protocol.to_minor_units(self.amount, self.currency_id.name),
        }, bawaba_protocol.idempotency_key(f'{source.reference}:capture'))
        self._bawaba_apply_operation_answer(answer, is_capture=True)

    def _send_void_request(self):
        """Override of `payment` to void through the edge (as `_send_capture_request`)."""
        if self.provider_code != 'bawaba':
            return super()._send_void_request()
        source = self.source_transaction_id or self
        answer = self._bawaba_operation(
            '/v1/voids', {'reference': source.reference}, bawaba_protocol.idempotency_key(f'{source.reference}:void'))
        self._bawaba_apply_operation_answer(answer, is_capture=False)

    def _bawaba_apply_operation_answer(self, answer, is_capture):
        """Update a capture or void transaction from the edge's answer.

        :param dict answer: `{status: succeeded|pending|failed, id, amount, currency, error?}`.
        :param bool is_capture: Whether it answers a capture (else a void).
        """
        self.ensure_one()
        if self.source_transaction_id and answer.get('id'):
            self.provider_reference = answer['id']  # The gateway's id of the capture or void.
        status = answer.get('status')
        if status == 'succeeded':
            if is_capture:
                self._set_done()
            else:
                # A paid transaction voided directly (no child) is canceled from `done`.
                self._set_canceled(extra_allowed_states=() if self.source_transaction_id else ('done',))
        elif status == 'failed':
            error = answer.get('error') or {}
            if is_capture:
                message = _("The gateway refused the capture: %(message)s (%(code)s)",
                            message=error.get('message', ''), code=error.get('code', ''))
            else:
                message = _("The gateway refused the void: %(message)s (%(code)s)",
                            message=error.get('message', ''), code=error.get('code', ''))
            self._set_error(message)
        else:
            # `pending`: the edge sends payment.succeeded or payment.voided when the gateway decides.
            if status != 'pending':
                _logger.warning("Unknown Bawaba capture or void status %s for %s.", status, self.reference)
            self._set_pending()
        (self | self.source_transaction_id)._bawaba_post_process_now()
