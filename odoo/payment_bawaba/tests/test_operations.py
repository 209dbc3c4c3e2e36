# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import time
from unittest.mock import patch
from urllib.parse import unquote

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba import bawaba_protocol
from odoo.addons.payment_bawaba.tests.common import REQUESTS_REQUEST, BawabaCommon, edge_answer


def _refund_answer(status, **extra):
    answer = {
        'status': status, 'refund_id': 'rf_1', 'id': 're_1', 'amount': 10000, 'currency': 'EUR',
        'refunded_total': 10000, 'payment_state': 'paid',
    }
    answer.update(extra)
    return answer


@tagged('post_install', '-at_install')
class TestOperations(BawabaCommon):

    def _refund(self, answer, status=200, amount=100.0, **tx_values):
        tx = self._create_transaction('direct', state='done', **tx_values)
        with patch(REQUESTS_REQUEST, return_value=edge_answer(status, answer)) as request:
            refund = tx._refund(amount_to_refund=amount)
        return tx, refund, request

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_partial_refund_goes_through_the_edge(self):
        tx, refund, request = self._refund(_refund_answer('succeeded'))
        key = bawaba_protocol.idempotency_key(refund.reference)
        payload = self._assert_signed_call(request.call_args, 'POST', '/v1/refunds', key=key)
        self.assertEqual(payload, {'reference': tx.reference, 'amount': 10000})
        self.assertEqual(refund.state, 'done')
        self.assertEqual(refund.provider_reference, 're_1')

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_the_refund_key_is_the_refund_transactions_reference(self):
        _tx, refund, request = self._refund(_refund_answer('succeeded'), reference='S00042')
        self.assertEqual(refund.reference, 'R-S00042')
        self.assertEqual(request.call_args.kwargs['headers']['Idempotency-Key'], 'R-S00042')
        # A reference with a space (or Arabic letters) is percent-encoded into a valid key, and
        # found again when the edge echoes it.
        _tx, refund, request = self._refund(_refund_answer('succeeded'), reference='Test Transaction 2')
        key = request.call_args.kwargs['headers']['Idempotency-Key']
        self.assertTrue(bawaba_protocol.is_valid_idempotency_key(key), key)
        self.assertEqual(unquote(key), refund.reference)

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_refund_sent_again_carries_the_same_key(self):
        """A retry of the same refund transaction (a lost answer) sends the same key and body, so
        the edge answers the first result and moves no money."""
        _tx, refund, first = self._refund(_refund_answer('pending', id=None))
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, _refund_answer('pending', id=None))) as again:
            refund._send_refund_request()
        self.assertEqual(
            first.call_args.kwargs['headers']['Idempotency-Key'], again.call_args.kwargs['headers']['Idempotency-Key'])
        self.assertEqual(first.call_args.kwargs['data'], again.call_args.kwargs['data'])
        self.assertEqual(refund.state, 'pending')

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_pending_refund_waits_for_the_edges_notification(self):
        _tx, refund, _request = self._refund(_refund_answer('pending', id=None))
        self.assertEqual(refund.state, 'pending')
        self.assertEqual(refund.provider_reference, 'rf_1')

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_failed_refund_is_an_error_with_the_gateways_message(self):
        answer = _refund_answer('failed', id=None, error={'code': 'gateway_rejected', 'message': 'Card account closed'})
        _tx, refund, _request = self._refund(answer)
        self.assertEqual(refund.state, 'error')
        self.assertIn('Card account closed', refund.state_message)

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_partially_refunded_payment_state_changes_nothing_in_odoo(self):
        """The edge's answers may say `payment_state: "partially_refunded"` (between `paid` and
        `refunded`). The addon reads the refund's `status` only: each refund is recorded as
        usual, and the payment stays done."""
        tx, first, _request = self._refund(_refund_answer('succeeded', payment_state='partially_refunded'))
        self.assertEqual((first.state, tx.state), ('done', 'done'))
        rest = tx.amount - 100.0
        rest_minor = bawaba_protocol.to_minor_units(rest, tx.currency_id.name)
        answers = [
            _refund_answer('pending', id=None, refund_id='rf_2', amount=5000, payment_state='partially_refunded'),
            _refund_answer('succeeded', id='re_3', refund_id='rf_3', amount=rest_minor - 5000,
                           refunded_total=rest_minor + 5000, payment_state='refunded'),
        ]
        refunds = []
        for amount, answer in zip((50.0, rest - 50.0), answers):
            with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)):
                refunds.append(tx._refund(amount_to_refund=amount))
        self.assertEqual([refund.state for refund in refunds], ['pending', 'done'])
        self.assertEqual(tx.state, 'done')
        self.assertEqual(tx.refunds_count, 3)

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_refused_refund_is_an_error_with_the_edges_message(self):
        answer = {'error': {'code': 'refund_exceeds_payment', 'message': 'the refund is larger than what remains'}}
        _tx, refund, _request = self._refund(answer, status=422)
        self.assertEqual(refund.state, 'error')
        self.assertIn('refund_exceeds_payment', refund.state_message)

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_reused_key_is_a_clear_error(self):
        answer = {'error': {'code': 'idempotency_key_reused', 'message': 'this key was used with another body'}}
        _tx, refund, _request = self._refund(answer, status=409)
        self.assertEqual(refund.state, 'error')
        self.assertIn('already received one with the key', refund.state_message)
        self.assertIn('moved no money', refund.state_message)

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_signed_call_cannot_be_replayed_on_another_route(self):
        """The addon signs method and path with the body: the refund's header, as the edge would
        check it for a void, a capture, a GET or another shop, does not verify."""
        _tx, refund, request = self._refund(_refund_answer('succeeded'))
        headers, body = request.call_args.kwargs['headers'], request.call_args.kwargs['data']
        key = headers['Idempotency-Key']
        now = int(time.time())
        secret = 'shop-secret-for-tests'
        replays = {
            'on /v1/voids': ('POST', '/v1/voids', 'odoo-shop', key, body),
            'on /v1/captures': ('POST', '/v1/captures', 'odoo-shop', key, body),
            'with a query': ('POST', '/v1/refunds?amount=999999', 'odoo-shop', key, body),
            'as a GET': ('GET', '/v1/refunds', 'odoo-shop', key, body),
            'for another shop': ('POST', '/v1/refunds', 'other-shop', key, body),
            'without the key': ('POST', '/v1/refunds', 'odoo-shop', None, body),
            'with another key': ('POST', '/v1/refunds', 'odoo-shop', key + '-2', body),
            'with another body': ('POST', '/v1/refunds', 'odoo-shop', key, body.replace(b'10000', b'99999')),
        }
        for name, call in replays.items():
            with self.subTest(name), self.assertRaises(bawaba_protocol.ProtocolError) as error:
                bawaba_protocol.verify_call(secret, headers['Bawaba-Signature'], *call, now)
            self.assertEqual(error.exception.code, 'signature_invalid')
        # Nor is it the old body-only signature the edge no longer takes.
        with self.assertRaises(bawaba_protocol.ProtocolError):
            bawaba_protocol.verify_signature(secret, headers['Bawaba-Signature'], body, now)
        bawaba_protocol.verify_call(
            secret, headers['Bawaba-Signature'], 'POST', '/v1/refunds', 'odoo-shop', key, body, now)

    def test_void_and_capture_are_signed_calls_with_their_keys(self):
        # The connected gateways take sales, so Odoo's manual capture stays off; the calls still
        # go out signed (a void before settlement works on Moyasar).
        tx = self._create_transaction('direct', state='done', reference='S00043')
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, {'status': 'succeeded'})) as request:
            tx._send_void_request()
        payload = self._assert_signed_call(request.call_args, 'POST', '/v1/voids', key='S00043:void')
        self.assertEqual(payload, {'reference': tx.reference})
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, {'status': 'succeeded'})) as request:
            tx._send_capture_request()
        payload = self._assert_signed_call(request.call_args, 'POST', '/v1/captures', key='S00043:capture')
        self.assertEqual(payload['reference'], tx.reference)

    def test_test_connection_reports_each_gateway(self):
        answer = {'gateways': [
            {'gateway': 'moyasar', 'verdict': 'ok', 'message': 'the secret key works', 'latency_ms': 80},
            {'gateway': 'tap', 'verdict': 'invalid_credentials', 'message': 'No valid API key', 'latency_ms': 60},
        ]}
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)) as request:
            action = self.provider.action_bawaba_test_connection()
        # A check moves no money: no idempotency key.
        payload = self._assert_signed_call(request.call_args, 'POST', '/v1/check', key=None)
        self.assertIn('currency', payload)
        self.assertNotIn('Idempotency-Key', request.call_args.kwargs['headers'])
        params = action['params']
        self.assertEqual(params['type'], 'warning')
        self.assertIn('moyasar', params['message'])
        self.assertIn('wrong key', params['message'])

    def test_a_get_is_signed_over_its_path_and_query_and_an_empty_body(self):
        answer = {'deliveries': []}
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)) as request:
            status, got = self.provider._bawaba_request('/v1/deliveries?state=failing', method='GET')
        self.assertEqual((status, got), (200, answer))
        self.assertIsNone(self._assert_signed_call(request.call_args, 'GET', '/v1/deliveries?state=failing'))
        self.assertEqual(request.call_args.kwargs['data'], b'')

    def test_test_connection_names_the_methods_no_gateway_takes(self):
        self.env.ref('payment_bawaba.payment_method_applepay').active = True
        self.env.ref('payment.payment_method_mada').active = True
        answer = {
            'gateways': [{'gateway': 'sandbox', 'verdict': 'ok', 'message': 'the key works', 'latency_ms': 5}],
            'methods': ['mada', 'visa', 'mastercard'],
        }
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)):
            action = self.provider.action_bawaba_test_connection()
        self.assertEqual(action['params']['type'], 'warning')
        self.assertIn('Not offered by the edge: ', action['params']['message'])
        self.assertIn('Apple Pay', action['params']['message'])
        self.assertNotIn('Mada', action['params']['message'].split('Not offered by the edge')[1])

        answer['methods'] = ['mada', 'applepay', 'visa', 'mastercard', 'amex', 'stcpay']
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)):
            action = self.provider.action_bawaba_test_connection()
        self.assertEqual(action['params']['type'], 'success', action['params']['message'])

    def test_test_connection_explains_a_wrong_secret_or_shop_id(self):
        for code, expected in (
            ('signature_invalid', 'Signing Secret differs'),
            ('shop_unknown', 'no shop with the id "odoo-shop"'),
        ):
            refusal = {'error': {'code': code, 'message': 'refused'}}
            with patch(REQUESTS_REQUEST, return_value=edge_answer(401, refusal)):
                action = self.provider.action_bawaba_test_connection()
            self.assertEqual(action['params']['type'], 'danger')
            self.assertIn(expected, action['params']['message'])

    def test_test_connection_speaks_the_merchants_language(self):
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        answer = {'gateways': [
            {'gateway': 'tap', 'verdict': 'invalid_credentials', 'message': 'No valid API key', 'latency_ms': 60},
        ]}
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)):
            action = self.provider.with_context(lang='ar_001').action_bawaba_test_connection()
        self.assertIn('مفتاح غير صحيح', action['params']['message'])
        self.assertEqual(action['params']['title'], 'اختبار الاتصال')

    @mute_logger('odoo.addons.payment_bawaba.models.payment_provider')
    def test_an_unreachable_edge_is_a_clear_error(self):
        import requests
        tx = self._create_transaction('direct', state='done')
        with patch(REQUESTS_REQUEST, side_effect=requests.exceptions.ConnectionError('refused')):
            refund = tx._refund(amount_to_refund=10.0)
        self.assertEqual(refund.state, 'error')
        self.assertIn('Could not reach', refund.state_message)
