# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import pprint
import time

from werkzeug.exceptions import Forbidden, NotFound

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from odoo.addons.payment.logging import get_payment_logger
from odoo.addons.payment_bawaba import bawaba_protocol, const
from odoo.addons.payment_bawaba.exceptions import BawabaRetryLater


_logger = get_payment_logger(__name__, const.SENSITIVE_KEYS)


class BawabaController(http.Controller):
    _webhook_url = '/payment/bawaba/webhook'
    _return_url = '/payment/bawaba/return'
    _applepay_domain_association_url = '/.well-known/apple-developer-merchantid-domain-association'

    @http.route(_return_url, type='http', auth='public', methods=['GET', 'POST'], csrf=False, save_session=False)
    def bawaba_return(self, **data):
        """Land the shopper on the status page. The result itself arrives signed at the webhook.

        `save_session=False`: the return may be a cross-site POST; without a SameSite cookie the
        session would be replaced. The status page finds the transaction from the session anyway.
        """
        return request.redirect('/payment/status')

    @http.route(_webhook_url, type='http', auth='public', methods=['POST'], csrf=False, save_session=False)
    def bawaba_webhook(self):
        """Process a signed result notification from the edge.

        The transaction is found first, then the signature is checked over the raw body with the
        secret of *that transaction's* provider (never with a provider picked from the unsigned
        `shop_id`), so one company's secret cannot change another company's payments; a provider
        disabled since the payment started still gets its results.

        Answers: 400 for a body that is not a notification (not a JSON object); 403 for a bad
        signature or another shop's message (the edge keeps the notification and retries, and the
        operator sees it failing); 200 otherwise, also for an unknown reference, an unknown event
        type, or data Odoo refuses (logged, and the transaction set in error): the edge would
        otherwise send the same data again for 72 hours; 503 for a result Odoo cannot apply yet
        (a refund whose transaction is not committed yet): the edge sends it again later.
        """
        raw = request.httprequest.get_data()
        data = self._parse_notification(raw)
        if data is None:
            return request.make_json_response(
                {'error': {'code': 'invalid_request', 'message': "the body is not a Bawaba notification"}},
                status=400,
            )
        if data.get('type') in const.GATEWAY_EVENTS:
            return self._gateway_event(data, raw)
        tx_sudo = request.env['payment.transaction'].sudo()._bawaba_search_notified(data)
        if not tx_sudo:
            _logger.warning(
                "Bawaba notification %s (%s) for %s: no such transaction here; acknowledged.",
                data.get('event_id'), data.get('type'), data.get('reference'),
            )
            return self._acknowledge()
        self._verify_signature(
            tx_sudo.provider_id, request.httprequest.headers.get(bawaba_protocol.SIGNATURE_HEADER), raw,
        )
        self._verify_shop(tx_sudo.provider_id, data)
        _logger.info("Notification received from Bawaba with data:\n%s", pprint.pformat(data))
        try:
            with request.env.cr.savepoint():
                tx_sudo._bawaba_handle_notification(data)
        except BawabaRetryLater as error:
            _logger.info("Bawaba notification %s: %s; the edge will send it again.", data.get('event_id'), error)
            return request.make_json_response(
                {'error': {'code': 'retry_later', 'message': str(error)}}, status=503, headers=[('Retry-After', '30')],
            )
        except UserError as error:  # ValidationError included.
            _logger.warning(
                "Bawaba notification %s for %s refused by Odoo: %s", data.get('event_id'), tx_sudo.reference, error,
            )
            tx_sudo._bawaba_refuse_notification(data, error)
        return self._acknowledge()

    @http.route(
        _applepay_domain_association_url, type='http', auth='public', methods=['GET'], csrf=False,
        save_session=False, sitemap=False, website=True, multilang=False,
    )
    def bawaba_applepay_domain_association(self):
        """Serve the Apple Pay domain association file of the Bawaba provider of this website.

        Apple (and the gateway, for its web registration) fetch it from the shop's own domain to
        check that Apple Pay may be offered on its pages. The file is the one of the first enabled
        (or test) Bawaba provider of the company of the current website (of the current company
        without `website`) that has one; a provider of another website is skipped. Without one,
        Stripe's file when `payment_stripe` is installed, whose route of the same URL this one
        shadows.

        :return: The file as stored, in plain text.
        :raise NotFound: if no such provider has a file (and `payment_stripe` is not installed).
        """
        website = getattr(request, 'website', None)  # Set on website routes, with `website`.
        company = website.company_id if website else request.env.company
        # Public users cannot read providers: sudo, for the providers of this company only.
        providers_sudo = request.env['payment.provider'].sudo().search([
            ('code', '=', 'bawaba'),
            ('state', 'in', ('enabled', 'test')),
            ('company_id', '=', company.id),
        ])
        if website and 'website_id' in providers_sudo._fields:  # With `website_payment`.
            providers_sudo = providers_sudo.filtered(
                lambda p: not p.website_id or p.website_id == website
            ).sorted(lambda p: not p.website_id)  # This website's own provider first (stable sort).
        file = next((
            provider_sudo.bawaba_applepay_domain_association
            for provider_sudo in providers_sudo
            if (provider_sudo.bawaba_applepay_domain_association or '').strip()
        ), None)
        if not file:
            if 'payment_stripe' in request.env.registry._init_modules:
                # Stripe's route has the same URL: the routes of the modules are added in
                # alphabetical order and the first that matches answers, so Stripe's never does.
                from odoo.addons.payment_stripe.controllers.main import StripeController
                return StripeController().stripe_apple_pay_get_domain_association_file()
            raise NotFound()
        return request.make_response(file, headers=[('Content-Type', 'text/plain; charset=utf-8')])

    def _gateway_event(self, data, raw):
        """A gateway degraded or recovered at the edge: checked with the secret of a Bawaba provider
        of that shop (each candidate's secret is tried; a message none of them signed is refused),
        then told to the administrators."""
        header = request.httprequest.headers.get(bawaba_protocol.SIGNATURE_HEADER)
        providers = request.env['payment.provider'].sudo().search([
            ('code', '=', 'bawaba'), ('bawaba_shop_id', '=', data.get('shop_id') or False),
        ])
        for provider in providers:
            secret = provider.bawaba_signing_secret
            try:
                if secret:
                    bawaba_protocol.verify_signature(secret, header, raw, int(time.time()))
                    break
            except bawaba_protocol.ProtocolError:
                continue
        else:
            _logger.warning("Bawaba %s refused: no provider of shop %s signed it.", data.get('type'), data.get('shop_id'))
            raise Forbidden()
        provider._bawaba_notify_gateway_event(data)
        return self._acknowledge()

    @staticmethod
    def _acknowledge():
        return request.make_json_response({'received': True})

    @staticmethod
    def _parse_notification(raw):
        """Decode a notification's body.

        :param bytes raw: The raw body.
        :return: The notification, or None if the body is not a JSON object whose text fields are
            text (malformed, too deeply nested, a list, a string…).
        :rtype: dict|None
        """
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError.
            _logger.warning("Bawaba notification with a body that is not JSON.")
            return None
        if not isinstance(data, dict):
            _logger.warning("Bawaba notification with a body that is not a JSON object.")
            return None
        for key in const.NOTIFICATION_TEXT_FIELDS:
            if data.get(key) is not None and not isinstance(data[key], str):
                _logger.warning("Bawaba notification with a %s that is not text.", key)
                return None
        if data.get('error') is not None and not isinstance(data['error'], dict):
            _logger.warning("Bawaba notification with an error that is not an object.")
            return None
        return data

    @staticmethod
    def _verify_signature(provider_sudo, header, raw_body):
        """Check the `Bawaba-Signature` header with the provider's secret (constant time, 300 s
        tolerance).

        :raise Forbidden: if it is missing, malformed, outdated or does not match.
        """
        secret = provider_sudo.bawaba_signing_secret
        if not secret:
            _logger.warning("Bawaba notification refused: provider %s has no signing secret.", provider_sudo.id)
            raise Forbidden()
        try:
            bawaba_protocol.verify_signature(secret, header, raw_body, int(time.time()))
        except bawaba_protocol.ProtocolError as error:
            _logger.warning("Bawaba notification refused: %s", error.code)
            raise Forbidden()

    @staticmethod
    def _verify_shop(provider_sudo, data):
        """Refuse a message signed for another shop than the provider's (two shops sharing a
        secret must not act on each other's payments).

        :raise Forbidden: if the notification names another shop.
        """
        shop_id = data.get('shop_id')
        if shop_id is not None and shop_id != provider_sudo.bawaba_shop_id:
            _logger.warning(
                "Bawaba notification refused: it names the shop %s, the transaction's provider is the shop %s.",
                shop_id, provider_sudo.bawaba_shop_id,
            )
            raise Forbidden()
