# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import base64
import json
import time
from contextlib import nullcontext
from unittest.mock import patch

from odoo.http import request
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba import bawaba_protocol
from odoo.addons.payment_bawaba.tests.common import REQUESTS_REQUEST, BawabaCommon, edge_answer


LOGGERS = (
    'odoo.addons.payment_bawaba.controllers.main',
    'odoo.addons.payment_bawaba.models.payment_transaction',
    'odoo.addons.payment.models.payment_transaction',
)


@tagged('post_install', '-at_install')
class TestMultiCompany(BawabaCommon):
    """Two companies, each with its own Bawaba provider, shop at the edge and secret; two websites
    (two hosts) whose shoppers pay through them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider_a = cls.bawaba
        cls.provider_a.bawaba_public_url = 'https://a-shop.example'
        # Odoo gives a new company a copy of each provider, disabled and without credentials.
        cls.company_b = cls.env['res.company'].create({'name': "Bawaba Company B"})
        cls.provider_b = cls.env['payment.provider'].search(
            [('code', '=', 'bawaba'), ('company_id', '=', cls.company_b.id)])
        cls.provider_b.write({
            'state': 'test',
            'bawaba_edge_url': 'https://edge.example.test',
            'bawaba_shop_id': 'shop-b',
            'bawaba_signing_secret': 'secret-b',
            'bawaba_public_url': 'https://b-shop.example',
        })
        cls.shops = {
            'odoo-shop': {'secret': 'shop-secret-for-tests', 'origin': 'https://a-shop.example'},
            'shop-b': {'secret': 'secret-b', 'origin': 'https://b-shop.example'},
        }

    def _transactions(self, **values):
        tx_a = self._create_transaction('direct', reference='A-0001', **values)
        tx_b = self._create_transaction('direct', reference='B-0001', provider_id=self.provider_b.id, **values)
        self.assertEqual((tx_a.company_id, tx_b.company_id), (self.env.company, self.company_b))
        return tx_a, tx_b

    @staticmethod
    def _claims_of(token):
        payload = token.split('.')[1]
        return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))

    def test_each_company_signs_its_intents_as_its_own_shop(self):
        tx_a, tx_b = self._transactions()
        now = int(time.time())
        cases = ((tx_a, 'odoo-shop', 'https://a-shop.example'), (tx_b, 'shop-b', 'https://b-shop.example'))
        for tx, shop, origin in cases:
            with self.subTest(shop):
                token = tx._get_specific_processing_values({})['bawaba_intent']
                claims = bawaba_protocol.verify_intent(token, self.shops, now)
                self.assertEqual(claims['iss'], shop)
                self.assertEqual(claims['notify_url'], f'{origin}/payment/bawaba/webhook')
                # Not under the other company's secret.
                other = 'shop-b' if shop == 'odoo-shop' else 'odoo-shop'
                forged = {shop: {**self.shops[shop], 'secret': self.shops[other]['secret']}}
                with self.assertRaises(bawaba_protocol.ProtocolError):
                    bawaba_protocol.verify_intent(token, forged, now)

    @mute_logger(*LOGGERS)
    def test_company_bs_secret_cannot_change_company_as_payments(self):
        tx_a, _tx_b = self._transactions()
        for shop_id in ('shop-b', 'odoo-shop'):
            with self.subTest(shop_id=shop_id):
                data = self._notification(reference=tx_a.reference, shop_id=shop_id)
                response = self._post_notification(data, secret='secret-b')
                self.assertEqual(response.status_code, 403)
                self.assertEqual(tx_a.state, 'draft')
        # Nor record a refund on it, nor complete its refunds.
        tx_a.state = 'done'
        dashboard = self._notification(
            event_id='evt_b_1', type='refund.succeeded', reference=tx_a.reference, amount=100, shop_id='shop-b')
        self.assertEqual(self._post_notification(dashboard, secret='secret-b').status_code, 403)
        self.assertFalse(tx_a.child_transaction_ids)
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, {'status': 'pending', 'refund_id': 'rf_a'})):
            refund = tx_a._refund(amount_to_refund=1.0)
        data = self._refund_notification(tx_a, refund, shop_id='shop-b')
        self.assertEqual(self._post_notification(data, secret='secret-b').status_code, 403)
        self.assertEqual(refund.state, 'pending')

    @mute_logger(*LOGGERS)
    def test_each_company_gets_its_own_results(self):
        tx_a, tx_b = self._transactions()
        # Company A's secret cannot confirm company B's payment.
        data_b = self._notification(reference=tx_b.reference, shop_id='shop-b')
        self.assertEqual(self._post_notification(data_b).status_code, 403)
        self.assertEqual(tx_b.state, 'draft')
        self.assertEqual(self._post_notification(data_b, secret='secret-b').status_code, 200)
        self.assertEqual((tx_a.state, tx_b.state), ('draft', 'done'))
        self.assertEqual(self._post_notification(self._notification(reference=tx_a.reference)).status_code, 200)
        self.assertEqual(tx_a.state, 'done')

    @mute_logger(*LOGGERS)
    def test_a_refund_goes_to_the_edge_as_its_companys_shop(self):
        _tx_a, tx_b = self._transactions(state='done')
        answer = {'status': 'succeeded', 'refund_id': 'rf_b', 'id': 're_b', 'amount': 100}
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)) as call:
            refund = tx_b._refund(amount_to_refund=1.0)
        headers, body = call.call_args.kwargs['headers'], call.call_args.kwargs['data']
        self.assertEqual(headers['Bawaba-Shop'], 'shop-b')
        bawaba_protocol.verify_call(
            'secret-b', headers['Bawaba-Signature'], 'POST', '/v1/refunds', 'shop-b', 'R-B-0001', body,
            int(time.time()))
        self.assertEqual((refund.state, refund.company_id), ('done', self.company_b))

    def test_two_websites_build_their_urls_from_their_providers_public_url(self):
        """The shoppers of two websites (two hosts, one per company) pay through their company's
        provider: the intent's URLs come from that provider's Public URL, whatever host the shopper
        used. Without `website_payment`, its base URL for a provider (the request's host) is
        reproduced; with it, two real websites are used."""
        websites = self.env['website'] if 'website' in self.env else None
        if websites is not None:
            site_a = websites.create({'name': "Shop A", 'domain': 'https://www.a-shop.example'})
            site_b = websites.create({
                'name': "Shop B", 'domain': 'https://www.b-shop.example', 'company_id': self.company_b.id,
            })
            self.provider_a.website_id = site_a
            self.provider_b.website_id = site_b
            self.assertEqual(self.provider_b.get_base_url(), 'https://www.b-shop.example')
        cases = (
            (self.provider_a, 'www.a-shop.example', 'https://a-shop.example'),
            (self.provider_b, 'www.b-shop.example', 'https://b-shop.example'),
        )
        model = type(self.env['payment.provider'])
        with patch.object(model, 'get_base_url', _request_host_base_url) if websites is None else nullcontext():
            for provider, host, public_url in cases:
                with self.subTest(host):
                    self.provider = provider
                    values = self._prepare_transaction_values(self.payment_method_id, None, 'direct')
                    values['tokenization_requested'] = False
                    processing = self.make_jsonrpc_request(
                        self._build_url('/payment/transaction'), values, headers={'Host': host})
                    claims = self._claims_of(processing['bawaba_intent'])
                    self.assertEqual(claims['iss'], provider.bawaba_shop_id)
                    self.assertEqual(claims['notify_url'], f'{public_url}/payment/bawaba/webhook')
                    self.assertEqual(claims['return_url'], f'{public_url}/payment/bawaba/return')
                    tx = self._get_tx(claims['sub'])
                    self.assertEqual(tx.provider_id, provider)


def _request_host_base_url(self):
    """`website_payment`'s base URL of a provider: the host of the request."""
    return request.httprequest.url_root if request else self.env['ir.config_parameter'].sudo().get_param('web.base.url')

