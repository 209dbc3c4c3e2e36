# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import time
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba.tests.common import REQUESTS_REQUEST, BawabaCommon, edge_answer


@tagged('post_install', '-at_install')
class TestWebhook(BawabaCommon):

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_a_signed_success_confirms_the_transaction(self):
        tx = self._create_transaction('direct')
        response = self._post_notification(self._notification())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')
        self.assertEqual(tx.provider_reference, 'inv_123')
        self.assertEqual(tx.payment_method_id.code, 'mada')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_bad_signatures_are_refused_and_change_nothing(self):
        tx = self._create_transaction('direct')
        cases = {
            'missing': dict(header=''),
            'invalid': dict(secret='another-secret'),
            'outdated': dict(timestamp=int(time.time()) - 301),
            'malformed': dict(header='sha256=abc'),
        }
        for name, kwargs in cases.items():
            with self.subTest(name):
                response = self._post_notification(self._notification(), **kwargs)
                self.assertEqual(response.status_code, 403)
                self.assertEqual(tx.state, 'draft')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_another_shops_valid_message_is_refused(self):
        tx = self._create_transaction('direct')
        response = self._post_notification(self._notification(shop_id='other-shop'))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(tx.state, 'draft')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_amount_or_currency_mismatch_is_an_error(self):
        tx = self._create_transaction('direct')
        self._post_notification(self._notification(amount=1))
        self.assertEqual(tx.state, 'error')
        tx2 = self._create_transaction('direct', reference='Other Transaction')
        other_currency = 'USD' if self.currency.name != 'USD' else 'EUR'
        self._post_notification(self._notification(reference=tx2.reference, currency=other_currency))
        self.assertEqual(tx2.state, 'error')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_a_repeated_event_changes_nothing(self):
        tx = self._create_transaction('direct')
        self._post_notification(self._notification())
        self.assertEqual(tx.state, 'done')
        changed = tx.last_state_change
        with patch('odoo.addons.payment.models.payment_transaction.PaymentTransaction._set_done') as set_done:
            response = self._post_notification(self._notification())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')
        self.assertEqual(tx.last_state_change, changed)
        self.assertLessEqual(set_done.call_count, 1)

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_an_unknown_reference_is_acknowledged(self):
        response = self._post_notification(self._notification(reference='NOT-A-TX'))
        self.assertEqual(response.status_code, 200)

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_failures_and_cancellations_carry_the_reason(self):
        tx = self._create_transaction('direct')
        self._post_notification(self._notification(
            type='payment.failed', error={'code': 'insufficient_funds', 'message': 'Insufficient funds'}))
        self.assertEqual(tx.state, 'error')
        self.assertIn('Insufficient funds', tx.state_message)
        tx2 = self._create_transaction('direct', reference='Canceled Transaction')
        self._post_notification(self._notification(
            reference=tx2.reference, type='payment.canceled', error={'code': 'expired', 'message': 'Too late'}))
        self.assertEqual(tx2.state, 'cancel')

    # === REFUNDS === #

    def _pending_refund(self, refund_id=None, **tx_values):
        """A paid transaction and a refund of 100.00 the edge answered `pending`."""
        tx = self._create_transaction('direct', state='done', **tx_values)
        answer = {'status': 'pending', 'refund_id': 'rf_1', 'id': refund_id, 'amount': 10000, 'currency': 'EUR',
                  'refunded_total': 0, 'payment_state': 'paid'}
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)):
            refund = tx._refund(amount_to_refund=100.0)
        self.assertEqual(refund.state, 'pending')
        return tx, refund

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_refund_succeeded_finds_the_refund_by_its_key(self):
        tx, refund = self._pending_refund()
        response = self._post_notification(self._refund_notification(tx, refund, refund_id='re_77'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(refund.state, 'done')
        self.assertEqual(tx.state, 'done')
        self.assertEqual(refund.provider_reference, 're_77')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_refund_succeeded_finds_the_refund_by_the_gateways_id_without_a_key(self):
        tx, refund = self._pending_refund(refund_id='re_55')
        self.assertEqual(refund.provider_reference, 're_55')
        data = self._refund_notification(tx, refund, refund_id='re_55')
        del data['idempotency_key']
        self._post_notification(data)
        self.assertEqual(refund.state, 'done')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_refund_failed_sets_the_refund_in_error_with_the_message(self):
        tx, refund = self._pending_refund()
        data = self._refund_notification(
            tx, refund, type='refund.failed', error={'code': 'gateway_rejected', 'message': 'Refund window closed'})
        del data['refund_id']
        response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(refund.state, 'error')
        self.assertIn('Refund window closed', refund.state_message)
        self.assertEqual(tx.state, 'done')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_a_refund_result_never_touches_the_payment(self):
        """A refund event names the payment's reference too; without a known key or refund id it
        is acknowledged and changes nothing (never taken for the payment itself)."""
        tx, refund = self._pending_refund()
        data = self._refund_notification(tx, refund, type='refund.failed', idempotency_key='R-unknown',
                                         refund_id='re_unknown', error={'code': 'x', 'message': 'y'})
        response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual((tx.state, refund.state), ('done', 'pending'))

    # === DUPLICATE CHARGES AND UNKNOWN EVENTS === #

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_transaction')
    def test_a_duplicate_refunded_by_the_edge_is_told_on_the_chatter(self):
        tx = self._create_transaction('direct', state='done')
        changed = tx.last_state_change
        data = self._notification(type='payment.duplicate_refunded', event_id='evt_dup_1', gateway_payment_id='inv_2')
        with self._chatter() as log:
            response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual((tx.state, tx.last_state_change), ('done', changed))
        self.assertEqual(log.call_count, 1)
        message = log.call_args.args[-1]
        self.assertIn('inv_2', message)
        self.assertIn('refunded that second charge', message)

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_transaction')
    def test_a_duplicate_the_edge_could_not_refund_asks_the_merchant_to_refund_it(self):
        tx = self._create_transaction('direct', state='done')
        # Another amount than the transaction's: no amount check, no error state.
        data = self._notification(
            type='payment.duplicate_detected', event_id='evt_dup_2', gateway_payment_id='chg_2', amount=5,
            error={'code': 'operation_not_supported', 'message': 'the gateway cannot refund this charge'})
        with self._chatter() as log:
            response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')
        message = log.call_args.args[-1]
        self.assertIn('chg_2', message)
        self.assertIn('the gateway cannot refund this charge', message)
        self.assertIn("gateway's dashboard", message)

    @mute_logger('odoo.addons.payment_bawaba.models.payment_transaction')
    def test_the_duplicate_message_speaks_the_merchants_language(self):
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        tx = self._create_transaction('direct', state='done')
        data = self._notification(type='payment.duplicate_detected', error={'message': 'closed'})
        with self._chatter() as log:
            tx.with_context(lang='ar_001')._bawaba_report_duplicate(data)
        self.assertIn('لوحة تحكم البوابة', log.call_args.args[-1])

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_an_unknown_event_type_is_acknowledged_and_changes_nothing(self):
        tx = self._create_transaction('direct')
        response = self._post_notification(self._notification(type='payment.something_new', amount=1))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'draft')
