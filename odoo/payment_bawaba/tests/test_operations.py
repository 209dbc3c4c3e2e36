# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import time
from unittest.mock import MagicMock, patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba import bawaba_protocol
from odoo.addons.payment_bawaba.tests.common import BawabaCommon

REQUESTS_POST = 'odoo.addons.payment_bawaba.models.payment_provider.requests.post'


def _answer(status, body):
    response = MagicMock()
    response.status_code = status
    response.json.return_value = body
    return response


@tagged('post_install', '-at_install')
class TestOperations(BawabaCommon):

    def _assert_signed(self, call, path):
        url = call.args[0]
        self.assertEqual(url, f'https://edge.example.test{path}')
        headers = call.kwargs['headers']
        self.assertEqual(headers['Bawaba-Shop'], 'odoo-shop')
        bawaba_protocol.verify_signature(
            'shop-secret-for-tests', headers['Bawaba-Signature'], call.kwargs['data'], int(time.time()))
        return json.loads(call.kwargs['data'])

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_partial_refund_goes_through_the_edge(self):
        tx = self._create_transaction('direct', state='done')
        answer = {'status': 'succeeded', 'id': 're_1', 'amount': 10000, 'payment_state': 'paid'}
        with patch(REQUESTS_POST, return_value=_answer(200, answer)) as post:
            refund = tx._refund(amount_to_refund=100.0)
        payload = self._assert_signed(post.call_args, '/v1/refunds')
        self.assertEqual(payload, {'reference': tx.reference, 'amount': 10000})
        self.assertEqual(refund.state, 'done')
        self.assertEqual(refund.provider_reference, 're_1')

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_refused_refund_is_an_error_with_the_edges_message(self):
        tx = self._create_transaction('direct', state='done')
        answer = {'error': {'code': 'refund_exceeds_payment', 'message': 'the refund is larger than what remains'}}
        with patch(REQUESTS_POST, return_value=_answer(422, answer)):
            refund = tx._refund(amount_to_refund=100.0)
        self.assertEqual(refund.state, 'error')
        self.assertIn('refund_exceeds_payment', refund.state_message)

    def test_void_and_capture_are_signed_calls(self):
        # The connected gateways take sales, so Odoo's manual capture stays off; the calls still
        # go out signed (a void before settlement works on Moyasar).
        tx = self._create_transaction('direct', state='done')
        with patch(REQUESTS_POST, return_value=_answer(200, {'status': 'succeeded'})) as post:
            tx._send_void_request()
        self.assertEqual(self._assert_signed(post.call_args, '/v1/voids'), {'reference': tx.reference})
        with patch(REQUESTS_POST, return_value=_answer(200, {'status': 'succeeded'})) as post:
            tx._send_capture_request()
        payload = self._assert_signed(post.call_args, '/v1/captures')
        self.assertEqual(payload['reference'], tx.reference)

    def test_test_connection_reports_each_gateway(self):
        answer = {'gateways': [
            {'gateway': 'moyasar', 'verdict': 'ok', 'message': 'the secret key works', 'latency_ms': 80},
            {'gateway': 'tap', 'verdict': 'invalid_credentials', 'message': 'No valid API key', 'latency_ms': 60},
        ]}
        with patch(REQUESTS_POST, return_value=_answer(200, answer)) as post:
            action = self.provider.action_bawaba_test_connection()
        self._assert_signed(post.call_args, '/v1/check')
        params = action['params']
        self.assertEqual(params['type'], 'warning')
        self.assertIn('moyasar', params['message'])
        self.assertIn('wrong key', params['message'])

    def test_test_connection_names_the_methods_no_gateway_takes(self):
        self.env.ref('payment_bawaba.payment_method_applepay').active = True
        self.env.ref('payment.payment_method_mada').active = True
        answer = {
            'gateways': [{'gateway': 'sandbox', 'verdict': 'ok', 'message': 'the key works', 'latency_ms': 5}],
            'methods': ['mada', 'visa', 'mastercard'],
        }
        with patch(REQUESTS_POST, return_value=_answer(200, answer)):
            action = self.provider.action_bawaba_test_connection()
        self.assertEqual(action['params']['type'], 'warning')
        self.assertIn('Not offered by the edge: ', action['params']['message'])
        self.assertIn('Apple Pay', action['params']['message'])
        self.assertNotIn('Mada', action['params']['message'].split('Not offered by the edge')[1])

        answer['methods'] = ['mada', 'applepay', 'visa', 'mastercard', 'amex', 'stcpay']
        with patch(REQUESTS_POST, return_value=_answer(200, answer)):
            action = self.provider.action_bawaba_test_connection()
        self.assertEqual(action['params']['type'], 'success', action['params']['message'])

    def test_test_connection_explains_a_wrong_secret_or_shop_id(self):
        for code, expected in (
            ('signature_invalid', 'Signing Secret differs'),
            ('shop_unknown', 'no shop with the id "odoo-shop"'),
        ):
            refusal = {'error': {'code': code, 'message': 'refused'}}
            with patch(REQUESTS_POST, return_value=_answer(401, refusal)):
                action = self.provider.action_bawaba_test_connection()
            self.assertEqual(action['params']['type'], 'danger')
            self.assertIn(expected, action['params']['message'])

    def test_test_connection_speaks_the_merchants_language(self):
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        answer = {'gateways': [
            {'gateway': 'tap', 'verdict': 'invalid_credentials', 'message': 'No valid API key', 'latency_ms': 60},
        ]}
        with patch(REQUESTS_POST, return_value=_answer(200, answer)):
            action = self.provider.with_context(lang='ar_001').action_bawaba_test_connection()
        self.assertIn('مفتاح غير صحيح', action['params']['message'])
        self.assertEqual(action['params']['title'], 'اختبار الاتصال')

    def test_an_unreachable_edge_is_a_clear_error(self):
        import requests
        tx = self._create_transaction('direct', state='done')
        with patch(REQUESTS_POST, side_effect=requests.exceptions.ConnectionError('refused')):
            refund = tx._refund(amount_to_refund=10.0)
        self.assertEqual(refund.state, 'error')
        self.assertIn('Could not reach', refund.state_message)
