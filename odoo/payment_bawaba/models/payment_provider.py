# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import time
from urllib.parse import urlsplit

import requests

from odoo import _, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.payment.logging import get_payment_logger
from odoo.addons.payment_bawaba import bawaba_protocol, const


_logger = get_payment_logger(__name__, const.SENSITIVE_KEYS)


class PaymentProvider(models.Model):
    _inherit = 'payment.provider'

    code = fields.Selection(selection_add=[('bawaba', "Bawaba")], ondelete={'bawaba': 'set default'})
    bawaba_edge_url = fields.Char(
        string="Bawaba Edge URL",
        help="The address of your Bawaba edge, e.g. https://pay.example.com",
        required_if_provider='bawaba',
        copy=False,
    )
    bawaba_shop_id = fields.Char(
        string="Bawaba Shop ID",
        help="This shop's id, as registered on the edge (BAWABA_SHOPS).",
        required_if_provider='bawaba',
        copy=False,
    )
    bawaba_signing_secret = fields.Char(
        string="Bawaba Signing Secret",
        help="The secret shared with the edge (the edge's SHOP_<ID>_SECRET).",
        required_if_provider='bawaba',
        copy=False,
        groups='base.group_system',
    )

    # === COMPUTE METHODS === #

    def _compute_feature_support_fields(self):
        """Override of `payment` to enable refunds (full and partial) through the edge."""
        super()._compute_feature_support_fields()
        self.filtered(lambda p: p.code == 'bawaba').update({'support_refund': 'partial'})

    # === CRUD METHODS === #

    def _get_supported_currencies(self):
        """Override of `payment` to return the currencies a Bawaba gateway accepts."""
        supported_currencies = super()._get_supported_currencies()
        if self.code == 'bawaba':
            supported_currencies = supported_currencies.filtered(
                lambda c: c.name in const.SUPPORTED_CURRENCIES
            )
        return supported_currencies

    def _get_default_payment_method_codes(self):
        """Override of `payment` to return the default payment method codes."""
        self.ensure_one()
        if self.code != 'bawaba':
            return super()._get_default_payment_method_codes()
        return const.DEFAULT_PAYMENT_METHOD_CODES

    # === BUSINESS METHODS === #

    def _bawaba_request(self, path, payload=None, method='POST', idempotency_key=None):
        """Send a signed shop → edge call and return the decoded answer.

        The signature binds the method, the path with its query, the shop id, the idempotency key
        and the body (see docs/protocol.md), so the edge refuses it on any other route.

        :param str path: The edge route with its query, if any, e.g. `/v1/refunds`.
        :param dict payload: The JSON body (none for a GET).
        :param str method: `POST` or `GET`.
        :param str idempotency_key: The `Idempotency-Key` of a call that moves money, if any.
        :return: (HTTP status, decoded JSON body)
        :raise ValidationError: if the edge cannot be reached.
        """
        self.ensure_one()
        method = method.upper()
        body = json.dumps(payload).encode() if payload is not None else b''
        url = f"{(self.bawaba_edge_url or '').rstrip('/')}{path}"
        # The path as it goes on the wire, with the edge URL's own path prefix if it has one.
        parts = urlsplit(url)
        path_and_query = (parts.path or '/') + (f'?{parts.query}' if parts.query else '')
        shop_id = self.bawaba_shop_id or ''
        headers = {
            bawaba_protocol.SHOP_HEADER: shop_id,
            bawaba_protocol.SIGNATURE_HEADER: bawaba_protocol.sign_call(
                self.sudo().bawaba_signing_secret or '', int(time.time()), method, path_and_query, shop_id,
                idempotency_key, body,
            ),
        }
        if payload is not None:
            headers['Content-Type'] = 'application/json'
        if idempotency_key:
            headers[bawaba_protocol.IDEMPOTENCY_HEADER] = idempotency_key
        try:
            response = requests.request(method, url, data=body, headers=headers, timeout=30)
        except requests.exceptions.RequestException as error:
            _logger.warning("Could not reach the Bawaba edge at %s: %s", url, error)
            raise ValidationError(_("Could not reach the Bawaba edge at %(url)s.", url=url))
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return response.status_code, answer if isinstance(answer, dict) else {}

    def action_bawaba_test_connection(self):
        """Ask the edge, for each currency the shop sells in, whether each gateway's credentials
        work, and which payment methods it can take; show the verdicts and what to do."""
        self.ensure_one()
        currencies = self.available_currency_ids.filtered('active') or self.company_id.currency_id
        advice = {
            'ok': _("works"),
            'invalid_credentials': _("wrong key: paste the key again from the gateway's dashboard"),
            'not_permitted': _("not permitted: the account may not do this yet (activation, permissions)"),
            'unreachable': _("unreachable: the gateway did not answer; try again later"),
            'not_configured': _("not configured on the edge"),
        }
        lines, all_ok, offered, told_methods = [], True, set(), False
        for currency in currencies:
            status, answer = self._bawaba_request('/v1/check', {'currency': currency.name})
            if status != 200:
                error = answer.get('error', {})
                return self._bawaba_notify(
                    self._bawaba_explain_refusal(error.get('code'), error.get('message'), status), 'danger'
                )
            advice['currency_unsupported'] = _("does not accept %s", currency.name)
            for gateway in answer.get('gateways', []):
                verdict = gateway['verdict']
                text = advice.get(verdict, verdict)
                lines.append(f"{currency.name} · {gateway['gateway']}: {text} ({gateway.get('message', '')})")
                all_ok = all_ok and verdict == 'ok'
            if 'methods' in answer:
                told_methods = True
                offered.update(answer['methods'])
        if not lines:
            return self._bawaba_notify(_("No gateway is configured on the edge."), 'warning')
        # Methods the shopper would see in Odoo but no gateway on the edge takes.
        not_offered = self.env['payment.method']
        if told_methods:
            shown = (self.payment_method_ids | self.payment_method_ids.brand_ids).filtered('active')
            not_offered = shown.filtered(
                lambda m: not offered.intersection(const.EDGE_METHOD_CODES.get(m.code, [m.code]))
            )
        if not_offered:
            lines.append(_(
                "Not offered by the edge: %(methods)s. Deactivate them in the Payment Methods tab, or "
                "route them to a gateway on the edge (BAWABA_ROUTES).",
                methods=', '.join(not_offered.mapped('name')),
            ))
        return self._bawaba_notify('\n'.join(lines), 'success' if all_ok and not not_offered else 'warning')

    def _bawaba_explain_refusal(self, code, message, status):
        """Say what a refusal of the edge means for this provider's settings, and what to do.

        :param str code: The edge's stable error code, if any.
        :param str message: The edge's message, if any.
        :param int status: The HTTP status.
        :return: The text to show the merchant.
        :rtype: str
        """
        advice = {
            'shop_unknown': _(
                "The edge knows no shop with the id \"%(shop)s\": check the Shop ID, or register it in the "
                "edge's BAWABA_SHOPS.", shop=self.bawaba_shop_id),
            'signature_invalid': _(
                "The Signing Secret differs from the edge's: paste the same value as the edge's secret for the "
                "shop \"%(shop)s\".", shop=self.bawaba_shop_id),
            'signature_expired': _("The edge refused the signature as too old or too new: check this server's clock."),
            'signature_missing': _("The Signing Secret is empty."),
            'edge_misconfigured': _("The edge is missing a setting: %s", message),
        }.get(code)
        if advice:
            return advice
        return _("The edge refused the check: %s", message or _("HTTP %s", status))

    def _bawaba_notify(self, message, kind):
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {'title': _("Test connection"), 'message': message, 'type': kind, 'sticky': kind != 'success'},
        }
