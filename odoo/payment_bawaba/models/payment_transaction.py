# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import time

from odoo import _, api, models
from odoo.exceptions import ValidationError
from odoo.tools import urls

from odoo.addons.payment.logging import get_payment_logger
from odoo.addons.payment_bawaba import bawaba_protocol, const
from odoo.addons.payment_bawaba.controllers.main import BawabaController


_logger = get_payment_logger(__name__, const.SENSITIVE_KEYS)


class PaymentTransaction(models.Model):
    _inherit = 'payment.transaction'

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
        base_url = self.provider_id.get_base_url()
        methods = const.EDGE_METHOD_CODES.get(self.payment_method_id.code) or [
            code for pm in self.provider_id.payment_method_ids for code in const.EDGE_METHOD_CODES.get(pm.code, [])
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
            'return_url': urls.urljoin(base_url, BawabaController._return_url),
            'notify_url': urls.urljoin(base_url, BawabaController._webhook_url),
            'locale': 'ar' if (self.partner_lang or '').startswith('ar') else 'en',
            'customer_name': self.partner_name or '',
            'customer_email': self.partner_email or '',
        }

    def _bawaba_make_intent(self):
        self.ensure_one()
        try:
            claims = self._bawaba_intent_claims()
        except bawaba_protocol.ProtocolError as error:
            raise ValidationError(_("Bawaba cannot take this payment: %s", error))
        return bawaba_protocol.sign_intent(claims, self.provider_id.sudo().bawaba_signing_secret)

    # === NOTIFICATIONS === #

    @api.model
    def _search_by_reference(self, provider_code, payment_data):
        """Override of `payment` to find refunds by the key they were sent with (the refund
        transaction's reference), then by the gateway's refund id."""
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
        if not tx:
            _logger.info(
                "Bawaba refund %s (key %s) of %s is not known here.",
                refund_id, payment_data.get('idempotency_key'), payment_data.get('reference'),
            )
        return tx or self

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
        currency = payment_data.get('currency')
        exponent = bawaba_protocol.CURRENCY_EXPONENTS.get(currency, self.currency_id.decimal_places)
        return {'amount': int(payment_data.get('amount', 0)) / 10 ** exponent, 'currency_code': currency}

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
            return
        self.provider_reference = payment_data.get('gateway_payment_id') or self.provider_reference
        method = payment_data.get('card_brand') or payment_data.get('method') or ''
        payment_method = self.env['payment.method']._get_from_code(method.lower())
        self.payment_method_id = payment_method or self.payment_method_id
        state = const.PAYMENT_STATUS_MAPPING.get(event_type)
        if state == 'done':
            if self.state in const.LATE_CONFIRMATION_STATES:
                self._bawaba_confirm_late()
            else:
                self._set_done()
        elif state == 'authorized':
            # Never from `cancel` or `error`: Odoo allows `authorized` only for providers that
            # declare manual capture (`support_manual_capture`), which Bawaba does not yet.
            self._set_authorized()
        elif state == 'pending':
            self._set_pending()
        elif state == 'cancel':
            self._set_canceled(state_message=error.get('message'))
        elif state == 'error':
            self._set_error(_("The payment failed: %(message)s (%(code)s)",
                              message=error.get('message', ''), code=error.get('code', '')))
        else:
            _logger.warning("Unknown Bawaba event type %s for %s.", event_type, self.reference)

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

    # === BACK OFFICE === #

    def _bawaba_operation(self, path, payload, idempotency_key):
        status, answer = self.provider_id._bawaba_request(path, payload, idempotency_key=idempotency_key)
        if status != 200:
            error = answer.get('error', {})
            if error.get('code') == 'idempotency_key_reused':
                raise ValidationError(_(
                    "Bawaba refused this request: the edge already received one with the key %(key)s but other "
                    "details, and moved no money for this one. Check the first one in the gateway's dashboard "
                    "before trying again.", key=idempotency_key))
            raise ValidationError(_("Bawaba: %(message)s (%(code)s)", message=error.get('message', status),
                                    code=error.get('code', '')))
        return answer

    def _send_refund_request(self):
        """Override of `payment` to refund through the edge (full or partial).

        The key is this refund transaction's reference: the same refund sent again (a retry after
        a lost answer) gets the first answer and moves no money.
        """
        if self.provider_code != 'bawaba':
            return super()._send_refund_request()
        source = self.source_transaction_id
        answer = self._bawaba_operation('/v1/refunds', {
            'reference': source.reference,
            'amount': bawaba_protocol.to_minor_units(-self.amount, self.currency_id.name),
        }, bawaba_protocol.idempotency_key(self.reference))
        self.provider_reference = answer.get('id') or answer.get('refund_id') or self.provider_reference
        status = answer.get('status')
        if status == 'succeeded':
            self._set_done()
        elif status == 'failed':
            self._set_error(self._bawaba_refund_failure(answer.get('error') or {}))
        else:
            # `pending`: the edge sends refund.succeeded or refund.failed when the gateway decides.
            if status != 'pending':
                _logger.warning("Unknown Bawaba refund status %s for %s.", status, self.reference)
            self._set_pending()

    def _send_capture_request(self):
        """Override of `payment` to capture through the edge."""
        if self.provider_code != 'bawaba':
            return super()._send_capture_request()
        source = self.source_transaction_id or self
        self._bawaba_operation('/v1/captures', {
            'reference': source.reference,
            'amount': bawaba_protocol.to_minor_units(self.amount, self.currency_id.name),
        }, bawaba_protocol.idempotency_key(f'{source.reference}:capture'))

    def _send_void_request(self):
        """Override of `payment` to void through the edge."""
        if self.provider_code != 'bawaba':
            return super()._send_void_request()
        source = self.source_transaction_id or self
        self._bawaba_operation(
            '/v1/voids', {'reference': source.reference}, bawaba_protocol.idempotency_key(f'{source.reference}:void'))
