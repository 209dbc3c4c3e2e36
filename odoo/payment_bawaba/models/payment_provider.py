# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import time
from urllib.parse import urlsplit

import requests

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.payment.logging import get_payment_logger
from odoo.addons.payment_bawaba import bawaba_protocol, const
from odoo.addons.payment_bawaba.controllers.main import BawabaController


_logger = get_payment_logger(__name__, const.SENSITIVE_KEYS)


class BawabaEdgeUnreachable(ValidationError):
    """The edge did not answer (timeout, connection error) or answered with a server error.

    For a call that moves money the outcome is then unknown: it may have been made. The same call
    sent again with the same `Idempotency-Key` gets the first answer and moves no money twice.
    """


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
    bawaba_public_url = fields.Char(
        string="Public URL",
        help="The public address of this Odoo, e.g. https://shop.example.com: the edge posts the results "
             "to it and sends the shoppers back to it, whatever address they shopped on. It must be on the "
             "origin registered for this shop at the edge. Empty: the web.base.url system parameter.",
        copy=False,
    )
    bawaba_applepay_domain_association = fields.Text(
        string="Apple Pay Domain Association File",
        help="For Apple Pay in the payment form: the contents of the domain association file, pasted as "
             "given. It comes from the Moyasar dashboard (Settings → Apple Pay Domains, Moyasar's web "
             "registration), where the shop's domain must be registered: add it there, then Download "
             "Association. Odoo serves it at /.well-known/apple-developer-merchantid-domain-association, "
             "where Apple checks it.",
        copy=False,
    )
    bawaba_webhook_url = fields.Char(
        string="Webhook URL",
        help="Where the edge posts the results, built from the Public URL.",
        compute='_compute_bawaba_webhook_url',
    )
    # What the last Test connection learnt from the edge (`POST /v1/check`).
    bawaba_edge_mode = fields.Selection(
        string="Shop Mode at the Edge",
        help="Whether the edge registers this shop as a test or a live shop, as the last Test connection "
             "reported it.",
        selection=[('test', "Test"), ('live', "Live")],
        readonly=True,
        copy=False,
    )
    bawaba_edge_origin = fields.Char(
        string="Origin Registered at the Edge",
        help="The origin registered for this shop at the edge, as the last Test connection reported it: "
             "the Public URL must be on it.",
        readonly=True,
        copy=False,
    )
    bawaba_edge_methods = fields.Json(
        string="Methods per Currency at the Edge",
        help="The edge's method codes per currency code, as the last Test connection reported them.",
        readonly=True,
        copy=False,
    )
    bawaba_currency_methods = fields.Text(
        string="Methods per Currency",
        help="The payment methods the edge offers in each currency the shop sells in, as the last Test "
             "connection reported them.",
        compute='_compute_bawaba_currency_methods',
    )
    bawaba_can_capture = fields.Boolean(
        string="Gateways Can Capture",
        help="Whether a gateway of the edge can authorize a payment and capture it later (from the last "
             "Test connection, or from an authorized payment).",
        readonly=True,
        copy=False,
    )

    # === COMPUTE METHODS === #

    @api.depends('bawaba_can_capture')
    def _compute_feature_support_fields(self):
        """Override of `payment` to enable refunds (full and partial) through the edge, and manual
        capture (of the full amount) when a gateway of the edge can capture."""
        super()._compute_feature_support_fields()
        for provider in self.filtered(lambda p: p.code == 'bawaba'):
            provider.update({
                'support_refund': 'partial',
                # The edge captures an authorization once: Odoo captures or voids it in full.
                'support_manual_capture': 'full_only' if provider.bawaba_can_capture else None,
            })

    @api.depends('code', 'bawaba_public_url')
    def _compute_bawaba_webhook_url(self):
        for provider in self:
            provider.bawaba_webhook_url = (
                provider._bawaba_get_notify_url() if provider.code == 'bawaba' else False
            )

    @api.depends('bawaba_edge_methods')
    @api.depends_context('lang')
    def _compute_bawaba_currency_methods(self):
        for provider in self:
            edge_methods = provider.bawaba_edge_methods
            if provider.code != 'bawaba' or not isinstance(edge_methods, dict):
                provider.bawaba_currency_methods = False
                continue
            names = provider._bawaba_method_names(
                {code for codes in edge_methods.values() for code in codes}
            )
            lines = []
            for currency, codes in sorted(edge_methods.items()):
                methods = ', '.join(names.get(code, code) for code in codes) or _("no payment method")
                lines.append(f"{currency}: {methods}")
            provider.bawaba_currency_methods = '\n'.join(lines)

    # === CONSTRAINT METHODS === #

    @api.constrains('bawaba_public_url')
    def _check_bawaba_public_url(self):
        for provider in self.filtered('bawaba_public_url'):
            parts = urlsplit(provider.bawaba_public_url.strip())
            if parts.scheme not in ('http', 'https') or not parts.netloc or parts.query or parts.fragment:
                raise ValidationError(_(
                    "The Public URL must be an address such as https://shop.example.com (http or https, no "
                    "query): %s", provider.bawaba_public_url))

    @api.constrains('state')
    def _check_bawaba_mode_matches_the_edge(self):
        """A live provider needs a live shop at the edge, a test provider a test shop: a test shop
        takes test cards only (no money), a live shop takes real money. Checked against what the
        last Test connection reported, when there was one."""
        for provider in self.filtered(lambda p: p.code == 'bawaba'):
            mismatch = provider._bawaba_mode_mismatch()
            if mismatch:
                raise ValidationError(mismatch)

    # === CRUD METHODS === #

    def write(self, vals):
        """Override of `payment` to forget what Test connection learnt of another shop or edge."""
        if 'bawaba_edge_url' in vals or 'bawaba_shop_id' in vals:
            changed = self.filtered(lambda p: (
                ('bawaba_edge_url' in vals and p.bawaba_edge_url != vals['bawaba_edge_url'])
                or ('bawaba_shop_id' in vals and p.bawaba_shop_id != vals['bawaba_shop_id'])
            ))
            if changed:
                super(PaymentProvider, changed).write({
                    'bawaba_edge_mode': False, 'bawaba_edge_origin': False, 'bawaba_edge_methods': False,
                })
        return super().write(vals)

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

    def _bawaba_get_public_url(self):
        """The public address of this Odoo for the edge: the Public URL, or `web.base.url`.

        Never the host of the current request: with `website`, Odoo's base URL for a provider follows
        the host the shopper used (`www.`, an IP, another website), which need not be on the origin
        registered at the edge.
        """
        self.ensure_one()
        url = self.bawaba_public_url or self.env['ir.config_parameter'].sudo().get_param('web.base.url') or ''
        return url.strip().rstrip('/')

    def _bawaba_get_notify_url(self):
        """Where the edge posts this provider's results (the intent's `notify_url`)."""
        self.ensure_one()
        return self._bawaba_get_public_url() + BawabaController._webhook_url

    def _bawaba_get_return_url(self):
        """Where the edge sends the shoppers back (the intent's `return_url`)."""
        self.ensure_one()
        return self._bawaba_get_public_url() + BawabaController._return_url

    def _bawaba_mode_mismatch(self, edge_mode=None, state=None):
        """Why this provider's state does not fit the shop's mode at the edge, if it does not.

        :param str edge_mode: The shop's mode at the edge (`test` or `live`); the stored one if None.
        :param str state: The provider's state; the current one if None.
        :return: The message for the merchant, or None when they fit (or the mode is not known).
        :rtype: str|None
        """
        self.ensure_one()
        edge_mode = edge_mode or self.bawaba_edge_mode
        state = state or self.state
        needed = const.EDGE_MODE_BY_STATE.get(state)
        if not edge_mode or not needed or needed == edge_mode:
            return None
        if state == 'enabled':
            return _(
                "This provider is Enabled (real payments), but the edge registers the shop \"%(shop)s\" as a test "
                "shop: its payments use test cards and take no money, and Odoo would record them as paid. Set the "
                "State to Test Mode, or register a live shop at the edge (\"mode\": \"live\" in BAWABA_SHOPS, with "
                "its own id and secret) and enter its Shop ID and Signing Secret here.", shop=self.bawaba_shop_id)
        return _(
            "This provider is in Test Mode, but the edge registers the shop \"%(shop)s\" as a live shop: its "
            "payments take real money. Enable the provider to take real payments, or enter the Shop ID and Signing "
            "Secret of a test shop at the edge (\"mode\": \"test\" in BAWABA_SHOPS).", shop=self.bawaba_shop_id)

    def _bawaba_request(self, path, payload=None, method='POST', idempotency_key=None):
        """Send a signed shop → edge call and return the decoded answer.

        The signature binds the method, the path with its query, the shop id, the idempotency key
        and the body (see docs/protocol.md), so the edge refuses it on any other route.

        :param str path: The edge route with its query, if any, e.g. `/v1/refunds`.
        :param dict payload: The JSON body (none for a GET).
        :param str method: `POST` or `GET`.
        :param str idempotency_key: The `Idempotency-Key` of a call that moves money, if any.
        :return: (HTTP status, decoded JSON body)
        :raise BawabaEdgeUnreachable: if the edge cannot be reached or does not answer in time.
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
            raise BawabaEdgeUnreachable(_("Could not reach the Bawaba edge at %(url)s.", url=url))
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return response.status_code, answer if isinstance(answer, dict) else {}

    def action_bawaba_test_connection(self):
        """Ask the edge, for each currency the shop sells in, whether each gateway's credentials
        work, and which payment methods it can take; check that the shop's mode and origin at the
        edge fit this provider; show the verdicts and what to do.

        What the edge says of the shop (its mode and origin) and of the gateways (whether one can
        capture) is stored on the provider.
        """
        self.ensure_one()
        currencies = self.available_currency_ids.filtered('active') or self.company_id.currency_id
        lines, all_ok, shop = [], True, {}
        offered = {}  # The edge's method codes per currency, when it tells them.
        can_capture = None  # Not told (an edge that reports no capabilities).
        for currency in currencies:
            try:
                status, answer = self._bawaba_request('/v1/check', {'currency': currency.name})
            except BawabaEdgeUnreachable as error:
                return self._bawaba_notify(str(error), 'danger')
            if status != 200:
                error = answer.get('error') if isinstance(answer.get('error'), dict) else {}
                return self._bawaba_notify(
                    self._bawaba_explain_refusal(error.get('code'), error.get('message'), status), 'danger'
                )
            if isinstance(answer.get('shop'), dict):
                shop = answer['shop']
            for gateway in answer.get('gateways') or []:
                verdict = gateway.get('verdict')
                text = self._bawaba_explain_verdict(verdict, currency, shop.get('mode'))
                lines.append(f"{currency.name} · {gateway.get('gateway')}: {text} ({gateway.get('message', '')})")
                all_ok = all_ok and verdict == 'ok'
                capabilities = gateway.get('capabilities')
                if isinstance(capabilities, dict) and verdict not in ('wrong_mode', 'not_configured'):
                    # The gateways the edge may use for this shop.
                    can_capture = bool(can_capture or capabilities.get('capture'))
            if isinstance(answer.get('methods'), list):
                offered[currency.name] = [code for code in answer['methods'] if isinstance(code, str)]
        self._bawaba_store_check(shop, can_capture, offered)
        problems = self._bawaba_check_shop(shop)
        if not lines and not problems:
            return self._bawaba_notify(_("No gateway is configured on the edge."), 'warning')
        method_lines, methods_ok = self._bawaba_explain_methods(currencies, offered)
        if problems:
            kind = 'danger'
        elif all_ok and methods_ok:
            kind = 'success'
        else:
            kind = 'warning'
        return self._bawaba_notify('\n'.join(problems + lines + method_lines), kind)

    def action_bawaba_open_dashboard(self):
        """Open this shop's dashboard at the edge (success rates, failures by reason, gateway
        latency, volume by method) in a new tab, in the user's language.

        The link is signed now with the shop's secret and lives half an hour: it is made anew each
        time, and the secret never leaves Odoo.
        """
        self.ensure_one()
        secret = self.sudo().bawaba_signing_secret
        if not (self.bawaba_edge_url and self.bawaba_shop_id and secret):
            raise ValidationError(_("Set the Edge URL, the Shop ID and the Signing Secret to open the dashboard."))
        lang = 'ar' if (self.env.lang or '').startswith('ar') else 'en'
        url = bawaba_protocol.dashboard_url(
            self.bawaba_edge_url, self.bawaba_shop_id, secret, int(time.time()), lang=lang)
        return {'type': 'ir.actions.act_url', 'url': url, 'target': 'new'}

    def _bawaba_explain_methods(self, currencies, offered):
        """Name the active methods of this provider that the edge does not offer in a currency the
        shop sells in, and why.

        A method limited to other currencies (PayPal takes no SAR, mada takes SAR only) is never
        offered by Odoo in that currency: it is only told. A method that no gateway on the edge
        takes in any currency it could be offered in, or in one of them, is a setting to fix.

        :param recordset currencies: The `res.currency` records the edge was asked about.
        :param dict offered: The edge's method codes per currency code (only those it told).
        :return: The messages for the merchant, and whether nothing needs fixing.
        :rtype: tuple[list[str], bool]
        """
        self.ensure_one()
        currencies = currencies.filtered(lambda c: c.name in offered)
        if not currencies:
            return [], True
        shown = (self.payment_method_ids | self.payment_method_ids.brand_ids).filtered('active')
        notes, missing, never_offered = [], [], self.env['payment.method']
        for method in shown:
            codes = set(const.EDGE_METHOD_CODES.get(method.code, [method.code]))
            possible = currencies.filtered(method._bawaba_takes_currency)
            for currency in currencies - possible:
                if not codes.intersection(offered[currency.name]):
                    notes.append(_(
                        "%(method)s is not offered in %(currency)s: %(method)s takes no %(currency)s.",
                        method=method.name, currency=currency.name))
            not_in = possible.filtered(lambda c: not codes.intersection(offered[c.name]))
            if possible and not_in == possible:
                never_offered |= method
                continue
            for currency in not_in:
                missing.append(_(
                    "%(method)s is not offered in %(currency)s: no gateway on the edge takes it in %(currency)s.",
                    method=method.name, currency=currency.name))
        lines = missing + notes
        if never_offered:
            lines.insert(0, _(
                "Not offered by the edge: %(methods)s. Deactivate them in the Payment Methods tab, or "
                "route them to a gateway on the edge (BAWABA_ROUTES).",
                methods=', '.join(never_offered.mapped('name')),
            ))
        return lines, not missing and not never_offered

    def _bawaba_method_names(self, codes):
        """The names of the edge's method codes, as Odoo shows them (in the user's language).

        :param set codes: The edge's method codes (`mada`, `visa`, `paypal`, …).
        :return: The name per code, for the codes Odoo has a payment method for.
        :rtype: dict
        """
        methods = self.env['payment.method'].sudo().with_context(active_test=False).search(
            [('code', 'in', list(codes))]
        )
        return {method.code: method.name for method in methods}

    def _bawaba_store_check(self, shop, can_capture, offered=None):
        """Keep what the edge said of the shop and its gateways (mode, origin, capture, the
        methods it offers per currency).

        :param dict shop: The `shop` of the edge's answer to `POST /v1/check`.
        :param bool|None can_capture: Whether a gateway the edge may use can capture; None if the
            edge did not say.
        :param dict offered: The edge's method codes per currency code; empty or None if the edge
            did not say.
        """
        values = {}
        if offered:
            values['bawaba_edge_methods'] = offered
        if can_capture is not None:
            values['bawaba_can_capture'] = can_capture
        if shop.get('mode') in ('test', 'live'):
            values['bawaba_edge_mode'] = shop['mode']
        if isinstance(shop.get('origin'), str):
            values['bawaba_edge_origin'] = shop['origin']
        # Not a change of state: the mode check of the state (a constraint) is not run here, and a
        # mismatch is told in the answer instead.
        if values:
            self.write(values)

    def _bawaba_check_shop(self, shop):
        """What does not fit between this provider and the shop as the edge registers it.

        :param dict shop: The `shop` of the edge's answer to `POST /v1/check` (`id`, `origin`, `mode`).
        :return: The messages for the merchant (empty when everything fits or the edge said nothing).
        :rtype: list[str]
        """
        problems = []
        mismatch = self._bawaba_mode_mismatch(edge_mode=shop.get('mode'))
        if mismatch:
            problems.append(mismatch)
        origin = shop.get('origin')
        public_url = self._bawaba_get_public_url()
        if isinstance(origin, str) and origin and not bawaba_protocol.is_on_origin(
            self._bawaba_get_notify_url(), origin
        ):
            problems.append(_(
                "The Public URL (%(url)s) is not on the origin registered for the shop \"%(shop)s\" at the edge "
                "(%(origin)s): the edge would refuse every payment. Set the Public URL to %(origin)s, or register "
                "%(url)s as the shop's origin in the edge's BAWABA_SHOPS.",
                url=public_url or _("empty"), shop=self.bawaba_shop_id, origin=origin.rstrip('/')))
        return problems

    def _bawaba_explain_verdict(self, verdict, currency, shop_mode):
        """What a gateway's verdict of `POST /v1/check` means, and what to do.

        :param str verdict: The verdict (`ok`, `invalid_credentials`, …).
        :param recordset currency: The `res.currency` the gateway was checked in.
        :param str shop_mode: The shop's mode at the edge (`test`, `live`), if known.
        :rtype: str
        """
        if verdict == 'wrong_mode':
            if shop_mode == 'test':
                return _("live keys on a test shop: the edge does not use them for this shop; give the edge this "
                         "gateway's test keys, and use a live shop for real payments")
            if shop_mode == 'live':
                return _("test keys on a live shop: the edge does not use them for this shop; give the edge this "
                         "gateway's live keys")
            return _("keys of the other mode than the shop's (test or live): the edge does not use them for this shop")
        return {
            'ok': _("works"),
            'invalid_credentials': _("wrong key: paste the key again from the gateway's dashboard"),
            'not_permitted': _("not permitted: the account may not do this yet (activation, permissions)"),
            'unreachable': _("unreachable: the gateway did not answer; try again later"),
            'not_configured': _(
                "not configured on the edge: give the edge this gateway's keys (npx wrangler secret put …), or "
                "take it out of BAWABA_ROUTES"),
            'currency_unsupported': _("does not accept %s", currency.name),
        }.get(verdict, verdict)

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

    def _bawaba_notify_gateway_event(self, data):
        """Tell the administrators (Discuss inbox or e-mail, as each prefers, in their language)
        that a gateway of this shop's edge degraded or recovered. The same event delivered again
        is told once.

        :param dict data: A verified `gateway.degraded` or `gateway.recovered`.
        """
        self.ensure_one()
        event_id = data.get('event_id') or ''
        seen = self.env['ir.config_parameter'].sudo()
        key = f'payment_bawaba.gateway_event.{event_id}'
        if not event_id or seen.get_param(key):
            return
        seen.set_param(key, '1')
        admins = self.env.ref('base.group_system').sudo().all_user_ids.filtered(lambda u: u.active and not u.share)
        for lang in set(admins.mapped('lang')):
            users = admins.filtered(lambda u, lang=lang: u.lang == lang)
            provider = self.with_context(lang=lang)
            gateway = data.get('gateway') or '?'
            if data.get('type') == const.GATEWAY_DEGRADED:
                subject = provider.env._("Bawaba: %(gateway)s is failing", gateway=gateway)
                body = provider.env._(
                    "The payment gateway %(gateway)s does not answer the Bawaba edge (no answer, server errors "
                    "or timeouts). New payments go to the next gateway routed for their method, or are refused "
                    "at once where there is none, until it answers again. Check the gateway's status page; "
                    "the edge's GET /v1/health shows its state.", gateway=gateway)
            else:
                subject = provider.env._("Bawaba: %(gateway)s works again", gateway=gateway)
                body = provider.env._(
                    "The payment gateway %(gateway)s answers the Bawaba edge again: new payments use it again.",
                    gateway=gateway)
            self.env['mail.thread'].sudo().message_notify(
                model=self._name, res_id=self.id, subject=subject, body=body, partner_ids=users.partner_id.ids,
            )
        _logger.info("Bawaba %s for %s told to %d administrator(s).", data.get('type'), data.get('gateway'), len(admins))
