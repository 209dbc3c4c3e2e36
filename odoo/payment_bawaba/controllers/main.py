# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import time

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.http import request

from odoo.addons.payment.logging import get_payment_logger
from odoo.addons.payment_bawaba import bawaba_protocol, const


_logger = get_payment_logger(__name__, const.SENSITIVE_KEYS)


class BawabaController(http.Controller):
    _webhook_url = '/payment/bawaba/webhook'
    _return_url = '/payment/bawaba/return'

    @http.route(_return_url, type='http', auth='public', methods=['GET', 'POST'], csrf=False, save_session=False)
    def bawaba_return(self, **data):
        """Land the shopper on the status page. The result itself arrives signed at the webhook.

        `save_session=False`: the return may be a cross-site POST; without a SameSite cookie the
        session would be replaced. The status page finds the transaction from the session anyway.
        """
        return request.redirect('/payment/status')

    @http.route(_webhook_url, type='http', auth='public', methods=['POST'], csrf=False)
    def bawaba_webhook(self):
        """Process a signed result notification from the edge.

        The signature is checked over the raw body before anything is parsed; a bad signature is
        a 403 so the edge keeps the notification and retries (the operator sees it failing). An
        unknown reference or an unknown event type is acknowledged with 200 and logged, so the
        edge stops retrying.
        """
        raw = request.httprequest.get_data()
        header = request.httprequest.headers.get(bawaba_protocol.SIGNATURE_HEADER)
        try:
            data = json.loads(raw)
        except ValueError:
            _logger.warning("Bawaba notification with a body that is not JSON.")
            raise Forbidden()
        provider_sudo = self._find_provider(data)
        if not provider_sudo:
            _logger.warning("Bawaba notification for an unknown shop id %s.", data.get('shop_id'))
            raise Forbidden()
        self._verify_signature(provider_sudo, header, raw)
        _logger.info("Notification received from Bawaba with data:\n%s", data)
        event_type = data.get('type')
        if event_type in const.DUPLICATE_EVENTS:
            # A second charge for the reference: told on the chatter, never a change of state (nor
            # an amount check against the transaction, which stands for the first charge).
            tx_sudo = request.env['payment.transaction'].sudo()._search_by_reference('bawaba', data)
            if tx_sudo:
                tx_sudo._bawaba_report_duplicate(data)
        elif event_type in const.PAYMENT_STATUS_MAPPING or event_type in const.REFUND_EVENTS:
            tx_sudo = request.env['payment.transaction'].sudo()._search_by_reference('bawaba', data)
            if tx_sudo:
                tx_sudo._process('bawaba', data)
        else:
            # A type this version does not know (the edge may add some): acknowledged, so the edge
            # does not retry it for 72 hours, and logged.
            _logger.warning(
                "Bawaba notification %s of an unknown type %s, acknowledged and ignored.",
                data.get('event_id'), event_type,
            )
        return request.make_json_response({'received': True})

    @staticmethod
    def _find_provider(data):
        """The Bawaba provider whose shop id the notification names (another shop's valid
        message must not be accepted: the shop id is part of what is checked)."""
        shop_id = data.get('shop_id') if isinstance(data, dict) else None
        if not shop_id:
            return request.env['payment.provider']
        return request.env['payment.provider'].sudo().search(
            [('code', '=', 'bawaba'), ('bawaba_shop_id', '=', shop_id), ('state', '!=', 'disabled')], limit=1
        )

    @staticmethod
    def _verify_signature(provider_sudo, header, raw_body):
        """Check the `Bawaba-Signature` header (constant time, 300 s tolerance).

        :raise Forbidden: if it is missing, malformed, outdated or does not match.
        """
        try:
            bawaba_protocol.verify_signature(provider_sudo.bawaba_signing_secret, header, raw_body, int(time.time()))
        except bawaba_protocol.ProtocolError as error:
            _logger.warning("Bawaba notification refused: %s", error.code)
            raise Forbidden()
