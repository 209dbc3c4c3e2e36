# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import base64
import hashlib
import hmac
import json
import time
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.payment_bawaba import bawaba_protocol
from odoo.addons.payment_bawaba.tests.common import (
    REQUESTS_REQUEST, BawabaCommon, check_answer, edge_answer, gateway_check,
)


@tagged('post_install', '-at_install')
class TestEdgeSettings(BawabaCommon):
    """The Public URL, test versus live, and what Test connection learns from the edge."""

    def _test_connection(self, answer, provider=None, lang=None):
        provider = provider or self.provider
        if lang:
            provider = provider.with_context(lang=lang)
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)):
            return provider.action_bawaba_test_connection()['params']

    def _claims(self, tx):
        shops = {'odoo-shop': {'secret': 'shop-secret-for-tests', 'origin': 'https://shop.example.com'}}
        return bawaba_protocol.verify_intent(
            tx._get_specific_processing_values({})['bawaba_intent'], shops, int(time.time()))

    # === PUBLIC URL === #

    def test_the_urls_of_the_intent_are_built_from_the_public_url(self):
        self.provider.bawaba_public_url = 'https://shop.example.com/'
        # With `website`, Odoo's base URL of a provider follows the host the shopper used.
        with patch.object(type(self.provider), 'get_base_url', return_value='http://www.shop.example.com:8069/'):
            claims = self._claims(self._create_transaction('direct'))
        self.assertEqual(claims['notify_url'], 'https://shop.example.com/payment/bawaba/webhook')
        self.assertEqual(claims['return_url'], 'https://shop.example.com/payment/bawaba/return')
        self.assertEqual(self.provider.bawaba_webhook_url, 'https://shop.example.com/payment/bawaba/webhook')

    def test_without_a_public_url_web_base_url_is_used(self):
        self.env['ir.config_parameter'].set_param('web.base.url', 'https://shop.example.com')
        self.provider.bawaba_public_url = False
        with patch.object(type(self.provider), 'get_base_url', return_value='http://10.0.0.7:8069/'):
            claims = self._claims(self._create_transaction('direct'))
        self.assertEqual(claims['notify_url'], 'https://shop.example.com/payment/bawaba/webhook')

    def test_the_public_url_must_be_an_address(self):
        for url in ('shop.example.com', 'ftp://shop.example.com', 'https://shop.example.com/?a=1', 'https://'):
            with self.subTest(url), self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.provider.bawaba_public_url = url

    def test_test_connection_says_when_the_public_url_is_not_on_the_shops_origin(self):
        self.provider.bawaba_public_url = 'https://www.shop.example.com'
        params = self._test_connection(check_answer(origin='https://shop.example.com'))
        self.assertEqual(params['type'], 'danger')
        self.assertIn('The Public URL (https://www.shop.example.com) is not on the origin', params['message'])
        self.assertIn('Set the Public URL to https://shop.example.com', params['message'])
        self.assertEqual(self.provider.bawaba_edge_origin, 'https://shop.example.com')
        # A look-alike host is not on the origin either; the same host with a trailing slash is.
        self.provider.bawaba_public_url = 'https://shop.example.com.evil.test'
        self.assertEqual(self._test_connection(check_answer(origin='https://shop.example.com'))['type'], 'danger')
        self.provider.bawaba_public_url = 'https://shop.example.com'
        params = self._test_connection(check_answer(origin='https://shop.example.com/'))
        self.assertEqual(params['type'], 'success', params['message'])

    def test_the_origin_advice_speaks_the_merchants_language(self):
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        self.provider.bawaba_public_url = 'https://www.shop.example.com'
        params = self._test_connection(check_answer(origin='https://shop.example.com'), lang='ar_001')
        self.assertIn('العنوان العام', params['message'])
        self.assertIn('https://shop.example.com', params['message'])

    # === TEST VERSUS LIVE === #

    def test_test_connection_refuses_a_live_provider_on_a_test_shop(self):
        self.provider.state = 'enabled'
        params = self._test_connection(check_answer(mode='test', origin=self._origin()))
        self.assertEqual(params['type'], 'danger')
        self.assertIn('registers the shop "odoo-shop" as a test shop', params['message'])
        self.assertIn('Set the State to Test Mode', params['message'])
        self.assertEqual(self.provider.bawaba_edge_mode, 'test')
        # Odoo would record test payments as paid: no intent is signed until it is fixed.
        tx = self._create_transaction('direct')
        with self.assertRaises(ValidationError), self.assertLogs(
            'odoo.addons.payment_bawaba.models.payment_transaction', 'ERROR'
        ):
            tx._get_specific_processing_values({})
        self.provider.state = 'test'
        self.assertTrue(tx._get_specific_processing_values({})['bawaba_intent'])

    def test_test_connection_refuses_a_test_provider_on_a_live_shop(self):
        params = self._test_connection(check_answer(
            mode='live', origin=self._origin(), gateways=[gateway_check(mode='live')]))
        self.assertEqual(params['type'], 'danger')
        self.assertIn('registers the shop "odoo-shop" as a live shop', params['message'])
        self.assertEqual(self.provider.bawaba_edge_mode, 'live')

    def test_the_state_must_fit_the_shops_mode_once_it_is_known(self):
        self.provider.state = 'enabled'  # Not known yet: allowed.
        self.provider.state = 'test'
        self.assertEqual(self._test_connection(check_answer(origin=self._origin()))['type'], 'success')
        with self.assertRaises(ValidationError) as refused, self.env.cr.savepoint():
            self.provider.state = 'enabled'
        self.assertIn('as a test shop', str(refused.exception))
        self.assertEqual(self.provider.state, 'test')
        # Another shop: what was learnt of the previous one is forgotten.
        self.provider.bawaba_shop_id = 'odoo-live'
        self.assertFalse(self.provider.bawaba_edge_mode)
        self.provider.state = 'enabled'
        self._test_connection(check_answer(mode='live', shop_id='odoo-live', origin=self._origin(),
                                           gateways=[gateway_check(mode='live')]))
        self.assertEqual(self.provider.bawaba_edge_mode, 'live')
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.provider.state = 'test'

    def test_wrong_mode_and_not_configured_verdicts_say_what_to_do(self):
        answer = check_answer(origin=self._origin(), gateways=[
            gateway_check('moyasar', 'wrong_mode', "moyasar's credentials are live ones", mode='live'),
            {'gateway': 'tap', 'verdict': 'not_configured', 'message': 'TAP_SECRET_KEY is not set'},
        ])
        params = self._test_connection(answer)
        self.assertEqual(params['type'], 'warning')
        self.assertIn("moyasar: live keys on a test shop: the edge does not use them for this shop", params['message'])
        self.assertIn("tap: not configured on the edge: give the edge this gateway's keys", params['message'])
        answer['shop']['mode'] = 'live'
        answer['gateways'][0]['mode'] = 'test'
        params = self._test_connection(answer)
        self.assertIn("moyasar: test keys on a live shop", params['message'])

    def test_the_wrong_mode_advice_speaks_the_merchants_language(self):
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        answer = check_answer(origin=self._origin(), gateways=[gateway_check('tap', 'wrong_mode', mode='live')])
        params = self._test_connection(answer, lang='ar_001')
        self.assertIn('مفاتيح حية على متجر تجريبي', params['message'])

    # === WHAT THE GATEWAYS CAN DO === #

    def test_test_connection_stores_whether_a_gateway_can_capture(self):
        self.assertFalse(self.provider.support_manual_capture)
        self._test_connection(check_answer(origin=self._origin(), gateways=[
            gateway_check('moyasar'), gateway_check('tap', capture=True),
        ]))
        self.assertTrue(self.provider.bawaba_can_capture)
        self.assertEqual(self.provider.support_manual_capture, 'full_only')
        # A gateway the edge does not use for this shop does not count.
        self._test_connection(check_answer(origin=self._origin(), gateways=[
            gateway_check('moyasar'), gateway_check('tap', 'wrong_mode', mode='live', capture=True),
        ]))
        self.assertFalse(self.provider.support_manual_capture)
        # An edge that reports no capabilities leaves what is known.
        self.provider.bawaba_can_capture = True
        self._test_connection({'gateways': [{'gateway': 'sandbox', 'verdict': 'ok', 'message': 'ok'}]})
        self.assertEqual(self.provider.support_manual_capture, 'full_only')

    # === DASHBOARD === #

    def _dashboard_claims(self, url):
        query = parse_qs(urlsplit(url).query)
        token = query['token'][0]
        header, payload, signature = token.split('.')
        expected = hmac.new(b'shop-secret-for-tests', f'{header}.{payload}'.encode(), hashlib.sha256).digest()
        self.assertEqual(base64.urlsafe_b64decode(signature + '=' * (-len(signature) % 4)), expected)
        claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
        return claims, query['lang'][0]

    def test_open_dashboard_opens_a_fresh_link_signed_by_the_shop(self):
        self.provider.bawaba_edge_url = 'https://pay.example.com/'
        before = int(time.time())
        action = self.provider.action_bawaba_open_dashboard()
        self.assertEqual((action['type'], action['target']), ('ir.actions.act_url', 'new'))
        self.assertTrue(action['url'].startswith('https://pay.example.com/dashboard?token='), action['url'])
        claims, lang = self._dashboard_claims(action['url'])
        self.assertEqual((claims['iss'], claims['aud'], lang), ('odoo-shop', 'bawaba-dashboard', 'en'))
        self.assertGreaterEqual(claims['iat'], before)
        self.assertEqual(claims['exp'] - claims['iat'], 30 * 60, "half an hour, within the edge's hour")
        self.assertNotIn('shop-secret-for-tests', action['url'])
        # In Arabic for an Arabic user, and a new link each time.
        self.env['res.lang']._activate_lang('ar_001')
        arabic = self.provider.with_context(lang='ar_001').action_bawaba_open_dashboard()
        self.assertEqual(self._dashboard_claims(arabic['url'])[1], 'ar')

    def test_open_dashboard_needs_the_edge_settings(self):
        # A copy keeps none of the edge settings (they are not copied), as a provider being set up.
        unset = self.provider.copy({'state': 'disabled'})
        self.assertFalse(unset.bawaba_edge_url)
        with self.assertRaises(ValidationError):
            unset.action_bawaba_open_dashboard()
