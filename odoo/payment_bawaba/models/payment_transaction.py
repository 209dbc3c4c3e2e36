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
        """Override of `payment` to find refunds by the gateway's refund id."""
        if provider_code != 'bawaba' or payment_data.get('type') != const.REFUND_EVENT:
            return super()._search_by_reference(provider_code, payment_data)
        refund_id = payment_data.get('refund_id')
        tx = refund_id and self.search(
            [('provider_code', '=', 'bawaba'), ('operation', '=', 'refund'), ('provider_reference', '=', refund_id)],
            limit=1,
        )
        if not tx:
            _logger.info("Bawaba refund %s of %s is not known here.", refund_id, payment_data.get('reference'))
        return tx or self

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
        if payment_data.get('type') == const.REFUND_EVENT:
            self._set_done()
            return
        self.provider_reference = payment_data.get('gateway_payment_id') or self.provider_reference
        method = payment_data.get('card_brand') or payment_data.get('method') or ''
        payment_method = self.env['payment.method']._get_from_code(method.lower())
        self.payment_method_id = payment_method or self.payment_method_id
        state = const.PAYMENT_STATUS_MAPPING.get(payment_data.get('type'))
        error = payment_data.get('error') or {}
        if state == 'done':
            self._set_done()
        elif state == 'authorized':
            self._set_authorized()
        elif state == 'pending':
            self._set_pending()
        elif state == 'cancel':
            self._set_canceled(state_message=error.get('message'))
        elif state == 'error':
            self._set_error(_("The payment failed: %(message)s (%(code)s)",
                              message=error.get('message', ''), code=error.get('code', '')))
        else:
            _logger.warning("Unknown Bawaba event type %s for %s.", payment_data.get('type'), self.reference)

    # === BACK OFFICE === #

    def _bawaba_operation(self, path, payload):
        status, answer = self.provider_id._bawaba_request(path, payload)
        if status != 200:
            error = answer.get('error', {})
            raise ValidationError(_("Bawaba: %(message)s (%(code)s)", message=error.get('message', status),
                                    code=error.get('code', '')))
        return answer

    def _send_refund_request(self):
        """Override of `payment` to refund through the edge (full or partial)."""
        if self.provider_code != 'bawaba':
            return super()._send_refund_request()
        source = self.source_transaction_id
        answer = self._bawaba_operation('/v1/refunds', {
            'reference': source.reference,
            'amount': bawaba_protocol.to_minor_units(-self.amount, self.currency_id.name),
        })
        self.provider_reference = answer.get('id')
        if answer.get('status') == 'succeeded':
            self._set_done()
        else:
            self._set_pending()

    def _send_capture_request(self):
        """Override of `payment` to capture through the edge."""
        if self.provider_code != 'bawaba':
            return super()._send_capture_request()
        source = self.source_transaction_id or self
        self._bawaba_operation('/v1/captures', {
            'reference': source.reference,
            'amount': bawaba_protocol.to_minor_units(self.amount, self.currency_id.name),
        })

    def _send_void_request(self):
        """Override of `payment` to void through the edge."""
        if self.provider_code != 'bawaba':
            return super()._send_void_request()
        source = self.source_transaction_id or self
        self._bawaba_operation('/v1/voids', {'reference': source.reference})
