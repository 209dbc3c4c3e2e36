# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import time
from unittest.mock import patch
from urllib.parse import unquote

import requests

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

        answer['methods'] = ['mada', 'applepay', 'visa', 'mastercard', 'amex', 'stcpay', 'paypal']
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

    # === REFUNDS WHOSE OUTCOME IS UNKNOWN === #

    @mute_logger(
        'odoo.addons.payment_bawaba.models.payment_provider', 'odoo.addons.payment_bawaba.models.payment_transaction',
        'odoo.addons.payment.models.payment_transaction',
    )
    def test_a_refund_the_edge_did_not_answer_stays_pending(self):
        """No answer, or a server error: the refund may have been made. It stays pending (never in
        error, or the merchant would refund again under a new key), until the edge reports it."""
        cases = {
            'connection refused': dict(side_effect=requests.exceptions.ConnectionError('refused')),
            'timeout': dict(side_effect=requests.exceptions.ReadTimeout('read timed out')),
            'server error': dict(return_value=edge_answer(500, {'error': {'code': 'edge_misconfigured'}})),
            'gateway down': dict(return_value=edge_answer(502, {'error': {'code': 'gateway_unavailable'}})),
            'no JSON': dict(return_value=edge_answer(503, None)),
        }
        for i, (name, outcome) in enumerate(cases.items()):
            with self.subTest(name):
                tx = self._create_transaction('direct', state='done', reference=f'S0070{i}')
                with patch(REQUESTS_REQUEST, **outcome):
                    refund = tx._refund(amount_to_refund=10.0)
                self.assertEqual(refund.state, 'pending')
                self.assertIn('may or may not have been made', refund.state_message)
                self.assertEqual(tx.state, 'done')

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_refund_the_gateway_refused_at_once_is_an_error(self):
        """The edge answers a refusal of the gateway with a 502 `gateway_rejected`: nothing was
        refunded, and no notification follows."""
        answer = {'error': {'code': 'gateway_rejected', 'message': 'Refund window closed'}}
        _tx, refund, _request = self._refund(answer, status=502)
        self.assertEqual(refund.state, 'error')
        self.assertIn('Refund window closed', refund.state_message)

    @mute_logger(
        'odoo.addons.payment_bawaba.models.payment_provider', 'odoo.addons.payment_bawaba.models.payment_transaction',
        'odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction',
    )
    def test_an_unanswered_refund_is_completed_by_the_edges_notification(self):
        tx = self._create_transaction('direct', state='done', reference='S00710')
        with patch(REQUESTS_REQUEST, side_effect=requests.exceptions.ReadTimeout('read timed out')) as request:
            refund = tx._refund(amount_to_refund=25.0)
        self.assertEqual(refund.state, 'pending')
        key = request.call_args.kwargs['headers']['Idempotency-Key']
        self.assertEqual(key, 'R-S00710')
        response = self._post_notification(self._refund_notification(tx, refund, refund_id='re_late'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(refund.state, 'done')
        self.assertEqual(refund.provider_reference, 're_late')

    # === CAPTURE AND VOID === #

    def _authorized(self, reference):
        """A payment a gateway authorized: Test connection told that a gateway can capture."""
        self.provider.bawaba_can_capture = True
        return self._create_transaction('direct', state='authorized', reference=reference)

    def _operation_answer(self, status, **extra):
        answer = {'status': status, 'id': 'cap_1', 'amount': 111111, 'currency': 'EUR', 'payment_state': 'paid'}
        answer.update(extra)
        return answer

    def test_manual_capture_follows_what_the_gateways_can_do(self):
        self.provider.bawaba_can_capture = False
        self.assertFalse(self.provider.support_manual_capture)
        self.provider.bawaba_can_capture = True
        # The edge captures an authorization once: in full from Odoo.
        self.assertEqual(self.provider.support_manual_capture, 'full_only')
        self.assertEqual(self.provider.support_refund, 'partial')

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_capture_goes_through_the_edge_and_confirms_the_payment(self):
        tx = self._authorized('S00043')
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, self._operation_answer('succeeded'))) as request:
            tx.action_capture()  # The Capture button: no wizard for a full-only capture.
        payload = self._assert_signed_call(request.call_args, 'POST', '/v1/captures', key='S00043:capture')
        self.assertEqual(payload, {'reference': 'S00043', 'amount': 111111})
        capture = tx.child_transaction_ids
        self.assertEqual(len(capture), 1)
        self.assertEqual((capture.state, capture.provider_reference), ('done', 'cap_1'))
        self.assertEqual(tx.state, 'done')
        # The edge's payment.succeeded that follows changes nothing more.
        changed = tx.last_state_change
        response = self._post_notification(self._notification(reference='S00043', event_id='evt_captured'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual((tx.state, tx.last_state_change, len(tx.child_transaction_ids)), ('done', changed, 1))

    @mute_logger('odoo.addons.payment.models.payment_transaction', 'odoo.addons.payment_bawaba.controllers.main')
    def test_a_capture_the_gateway_decides_later_is_confirmed_by_the_notification(self):
        tx = self._authorized('S00044')
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, self._operation_answer('pending', id=None))):
            capture = tx._capture()
        self.assertEqual((capture.state, tx.state), ('pending', 'authorized'))
        response = self._post_notification(self._notification(reference='S00044', event_id='evt_captured'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual((capture.state, tx.state), ('done', 'done'))

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_refused_capture_leaves_the_payment_authorized(self):
        tx = self._authorized('S00045')
        answer = self._operation_answer(
            'failed', id=None, error={'code': 'expired', 'message': 'Authorization expired'})
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)):
            capture = tx._capture()
        self.assertEqual((capture.state, tx.state), ('error', 'authorized'))
        self.assertIn('Authorization expired', capture.state_message)

    @mute_logger('odoo.addons.payment.models.payment_transaction', 'odoo.addons.payment_bawaba.models.payment_provider')
    def test_a_capture_with_no_answer_can_be_sent_again_under_the_same_key(self):
        tx = self._authorized('S00046')
        with patch(REQUESTS_REQUEST, side_effect=requests.exceptions.ReadTimeout('read timed out')) as first:
            capture = tx._capture()
        self.assertEqual((capture.state, tx.state), ('error', 'authorized'))
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, self._operation_answer('succeeded'))) as again:
            tx.action_capture()
        keys = {call.kwargs['headers']['Idempotency-Key'] for call in (first.call_args, again.call_args)}
        self.assertEqual(keys, {'S00046:capture'})
        self.assertEqual(tx.state, 'done')

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_void_goes_through_the_edge_and_cancels_the_payment(self):
        tx = self._authorized('S00047')
        answer = self._operation_answer('succeeded', id='void_1', payment_state='voided')
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)) as request:
            tx.action_void()
        payload = self._assert_signed_call(request.call_args, 'POST', '/v1/voids', key='S00047:void')
        self.assertEqual(payload, {'reference': 'S00047'})
        void = tx.child_transaction_ids
        self.assertEqual((void.state, void.provider_reference), ('cancel', 'void_1'))
        self.assertEqual(tx.state, 'cancel')

    @mute_logger('odoo.addons.payment.models.payment_transaction', 'odoo.addons.payment_bawaba.controllers.main')
    def test_a_void_the_gateway_decides_later_is_confirmed_by_payment_voided(self):
        tx = self._authorized('S00048')
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, self._operation_answer('pending', id=None))):
            void = tx._void()
        self.assertEqual((void.state, tx.state), ('pending', 'authorized'))
        response = self._post_notification(
            self._notification(reference='S00048', type='payment.voided', event_id='evt_voided'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual((void.state, tx.state), ('cancel', 'cancel'))

    @mute_logger('odoo.addons.payment.models.payment_transaction')
    def test_a_refused_void_leaves_the_payment_authorized(self):
        tx = self._authorized('S00049')
        answer = {'error': {'code': 'operation_not_supported', 'message': 'Tap cannot void a charge'}}
        with patch(REQUESTS_REQUEST, return_value=edge_answer(422, answer)):
            void = tx._void()
        self.assertEqual((void.state, tx.state), ('error', 'authorized'))
        self.assertIn('Tap cannot void a charge', void.state_message)
