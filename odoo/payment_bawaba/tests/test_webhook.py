# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import time
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba import const
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
        # The merchant sees the gateway, the card and the normalized reason on each transaction.
        self.assertEqual(
            (tx.bawaba_gateway, tx.bawaba_card_brand, tx.bawaba_card_last4, tx.bawaba_decline_reason),
            ('moyasar', 'mada', '0007', 'insufficient_funds'))
        self.assertEqual(tx2.bawaba_decline_reason, 'expired_session', "the edge's own expiry is a reason too")
        tx3 = self._create_transaction('direct', reference='Odd Reason')
        self._post_notification(self._notification(
            reference=tx3.reference, type='payment.failed', error={'code': 'something_new', 'message': 'x'}))
        self.assertEqual(tx3.bawaba_decline_reason, 'declined', "a code this version does not know")

    def test_the_shopper_reads_why_the_payment_failed_in_their_language(self):
        tx = self._create_transaction('direct')
        self._post_notification(self._notification(
            type='payment.failed', error={'code': 'insufficient_funds', 'message': 'Insufficient Funds (051)'}))
        # What the shopper reads on the status page, then the gateway's words for the merchant.
        self.assertEqual(tx.state_message, (
            "The card does not have enough funds for this payment. Please use another card or contact your "
            "bank. (Insufficient Funds (051))"))
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        noura = self.env['res.partner'].create({'name': "Noura", 'email': 'noura@example.com', 'lang': 'ar_001'})
        tx_ar = self._create_transaction('direct', reference='Arabic Shopper', partner_id=noura.id)
        self._post_notification(self._notification(
            event_id='evt_arabic', reference=tx_ar.reference, type='payment.failed',
            error={'code': 'authentication_failed', 'message': '3DS failed'}))
        self.assertIn("تعذّر التحقق من البطاقة مع البنك (3-D Secure)", tx_ar.state_message)
        self.assertIn("(3DS failed)", tx_ar.state_message)
        tx_odd = self._create_transaction('direct', reference='Odd Code')
        self._post_notification(self._notification(
            event_id='evt_odd', reference=tx_odd.reference, type='payment.failed', error={'code': 'brand_new'}))
        self.assertEqual(
            tx_odd.state_message, "The payment was declined. Please try another card or contact your bank.")

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_bawaba_payments_report_counts_by_gateway_and_reason(self):
        for i, (gateway, kind, code) in enumerate([
            ('moyasar', 'payment.succeeded', None), ('moyasar', 'payment.failed', 'insufficient_funds'),
            ('tap', 'payment.failed', 'expired_card'), ('tap', 'payment.failed', 'insufficient_funds'),
        ]):
            tx = self._create_transaction('direct', reference=f'Report {i}')
            data = self._notification(event_id=f'evt_report_{i}', reference=tx.reference, type=kind, gateway=gateway)
            if code:
                data['error'] = {'code': code, 'message': code}
            self._post_notification(data)
        action = self.env.ref('payment_bawaba.action_bawaba_payments')
        self.assertEqual(action.view_mode.split(',')[:2], ['graph', 'pivot'])
        domain = action._get_eval_domain() if hasattr(action, '_get_eval_domain') else eval(action.domain)
        domain += [('reference', 'like', 'Report ')]
        Tx = self.env['payment.transaction']
        by_gateway = {g: n for g, n in Tx._read_group(domain, ['bawaba_gateway'], ['__count'])}
        self.assertEqual(by_gateway, {'moyasar': 2, 'tap': 2})
        failed = domain + [('state', '=', 'error')]
        by_reason = {r: n for r, n in Tx._read_group(failed, ['bawaba_decline_reason'], ['__count'])}
        self.assertEqual(by_reason, {'insufficient_funds': 2, 'expired_card': 1})
        # The views the merchant opens load.
        for view in ('graph', 'pivot'):
            self.assertTrue(Tx.get_views([(False, view)], {'action_id': action.id})['views'][view]['arch'])
        # In Arabic, the reasons and the report's name are translated.
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        ar = self.env(context=dict(self.env.context, lang='ar_001'))
        labels = dict(ar['payment.transaction']._fields['bawaba_decline_reason']._description_selection(ar))
        self.assertEqual(labels['insufficient_funds'], 'الرصيد غير كافٍ')
        self.assertEqual(action.with_context(lang='ar_001').name, 'مدفوعات بوابة')

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
    def test_a_refund_result_that_comes_before_its_refund_is_committed_is_sent_again(self):
        # The edge reports a refund as soon as the gateway answers, while the Odoo request that
        # asked for it may not have committed its refund transaction: never acknowledged and
        # dropped, but answered 503 so that the edge sends it again.
        tx = self._create_transaction('direct', state='done', reference='S00095')
        data = self._notification(
            event_id='evt_early_1', type='refund.succeeded', reference=tx.reference, amount=2500,
            refund_id='re_early', idempotency_key='R-S00095')
        response = self._post_notification(data)
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()['error']['code'], 'retry_later')
        self.assertFalse(tx.child_transaction_ids, "nothing recorded yet")
        # Sent again once the request committed its refund: found by its key and done.
        refund = tx._create_child_transaction(25.0, is_refund=True)
        self.assertEqual(refund.reference, 'R-S00095')
        refund._set_pending()
        response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual((refund.state, refund.provider_reference), ('done', 're_early'))

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction',
                 'odoo.addons.payment_bawaba.models.payment_transaction')
    def test_a_refund_under_a_key_this_database_never_committed_is_recorded_in_the_end(self):
        # The request that asked for it rolled back, but the gateway refunded: after the wait the
        # refund is recorded, so the books show every refunded amount; a failed one changes nothing.
        tx = self._create_transaction('direct', state='done', reference='S00096')
        late = int(time.time()) - const.REFUND_WAIT_SECS - 1
        failed = self._notification(
            event_id='evt_lost_0', type='refund.failed', reference=tx.reference, amount=1000,
            idempotency_key='R-S00096-1', created_at=late, error={'code': 'declined', 'message': 'no'})
        self.assertEqual(self._post_notification(failed).status_code, 200)
        self.assertFalse(tx.child_transaction_ids)
        data = self._notification(
            event_id='evt_lost_1', type='refund.succeeded', reference=tx.reference, amount=2500,
            refund_id='re_lost', idempotency_key='R-S00096', created_at=late)
        with self._chatter() as log:
            response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        refund = tx.child_transaction_ids
        self.assertEqual((refund.operation, refund.state, refund.amount), ('refund', 'done', -25.0))
        self.assertIn("R-S00096", str(log.call_args_list[0].args[-1]))
        self._post_notification(data)
        self.assertEqual(len(tx.child_transaction_ids), 1, "delivered again: nothing more")

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

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_transaction',
                 'odoo.addons.payment.models.payment_transaction')
    def test_a_refund_result_never_touches_the_payment(self):
        """A refund event names the payment's reference too; without a known key or refund id it
        is sent again later while its refund may still be committing, then acknowledged, and it
        never changes the payment (never taken for the payment itself)."""
        tx, refund = self._pending_refund()
        data = self._refund_notification(tx, refund, type='refund.failed', idempotency_key='R-unknown',
                                         refund_id='re_unknown', error={'code': 'x', 'message': 'y'})
        self.assertEqual(self._post_notification(data).status_code, 503)
        self.assertEqual((tx.state, refund.state), ('done', 'pending'))
        data['created_at'] = int(time.time()) - const.REFUND_WAIT_SECS - 1
        self.assertEqual(self._post_notification(data).status_code, 200)
        self.assertEqual((tx.state, refund.state), ('done', 'pending'))

    # === EVENTS ABOUT THE EDGE === #

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_provider')
    def test_a_gateway_degraded_at_the_edge_is_told_to_the_administrators_once(self):
        data = {
            'event_id': 'gev_1', 'type': 'gateway.degraded', 'shop_id': 'odoo-shop', 'gateway': 'moyasar',
            'message': 'moyasar is failing', 'created_at': int(time.time()),
        }
        messages = self.env['mail.message'].search_count
        domain = [('model', '=', 'payment.provider'), ('res_id', '=', self.provider.id)]
        before = messages(domain)
        self.assertEqual(self._post_notification(data, secret='another-secret').status_code, 403)
        self.assertEqual(messages(domain), before, "not signed by this shop: nothing told")
        self.assertEqual(self._post_notification(data).status_code, 200)
        told = self.env['mail.message'].search(domain, order='id desc', limit=1)
        self.assertIn('moyasar', told.subject)
        admin = self.env.ref('base.user_admin')
        self.assertIn(admin.partner_id, told.partner_ids, "the administrators hear it")
        self._post_notification(data)
        self.assertEqual(messages(domain), before + 1, "delivered again: told once")
        recovered = dict(data, event_id='gev_2', type='gateway.recovered')
        self.assertEqual(self._post_notification(recovered).status_code, 200)
        self.assertIn('works again', self.env['mail.message'].search(domain, order='id desc', limit=1).subject)

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

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_transaction')
    def test_an_unknown_event_type_is_acknowledged_and_changes_nothing(self):
        tx = self._create_transaction('direct')
        response = self._post_notification(self._notification(type='payment.something_new', amount=1))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'draft')

    # === WHAT THE CONTROLLER ANSWERS === #

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_a_body_that_is_not_a_notification_is_a_400(self):
        tx = self._create_transaction('direct')
        deep = b'{"reference": ' + b'[' * 100000 + b']' * 100000 + b'}'
        bodies = {
            'a list': b'[]',
            'a string': b'"payment.succeeded"',
            'a number': b'42',
            'null': b'null',
            'not JSON': b'reference=Test Transaction',
            'not UTF-8': b'{"reference": "\xff\xfe"}',
            'deeply nested': deep,
            'a reference that is a list': json.dumps(
                {'type': 'payment.succeeded', 'reference': [tx.reference]}).encode(),
            'an error that is text': json.dumps(self._notification(error='declined')).encode(),
        }
        for name, body in bodies.items():
            with self.subTest(name):
                response = self._post_notification(None, body=body)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()['error']['code'], 'invalid_request')
        self.assertEqual(tx.state, 'draft')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_data_odoo_refuses_is_acknowledged_and_sets_the_transaction_in_error(self):
        """A ValidationError on the data (an amount that is not whole minor units) is never a 5xx
        or a 422 that the edge would retry for 72 hours: logged, the transaction in error, 200."""
        for i, amount in enumerate(('4550', 45.5, True)):
            with self.subTest(amount=amount):
                tx = self._create_transaction('direct', reference=f'Refused {i}')
                response = self._post_notification(self._notification(reference=tx.reference, amount=amount))
                self.assertEqual(response.status_code, 200)
                self.assertEqual(tx.state, 'error')
                self.assertIn('could not record the Bawaba notification', tx.state_message)
                self.assertIn('not a whole number', tx.state_message)

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_a_disabled_providers_payments_still_get_their_results(self):
        """A payment started before the merchant disabled the provider is still recorded."""
        tx = self._create_transaction('direct')
        self.provider.state = 'disabled'
        response = self._post_notification(self._notification())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_the_signature_is_checked_with_the_transactions_provider(self):
        """The unsigned `shop_id` never chooses the secret: a notification naming no shop is
        checked with the transaction's provider all the same."""
        tx = self._create_transaction('direct')
        data = self._notification()
        del data['shop_id']
        response = self._post_notification(data, secret='another-secret')
        self.assertEqual(response.status_code, 403)
        self.assertEqual(tx.state, 'draft')
        response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')

    # === EVERY EVENT, A STATE === #

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_transaction')
    def test_payment_authorized_sets_the_transaction_authorized(self):
        """Also when Test connection never ran: the edge says a gateway authorized, so one can
        capture, and Odoo's Capture and Void buttons appear."""
        self.provider.bawaba_can_capture = False
        self.assertFalse(self.provider.support_manual_capture)
        tx = self._create_transaction('direct')
        response = self._post_notification(
            self._notification(type='payment.authorized', card_brand='visa', method='visa'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'authorized')
        self.assertEqual(self.provider.support_manual_capture, 'full_only')
        self.assertEqual(tx.payment_method_id.code, 'visa')
        # The capture made in the gateway's dashboard then arrives as payment.succeeded.
        response = self._post_notification(self._notification(event_id='evt_captured', card_brand='visa'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment.models.payment_transaction')
    def test_payment_voided_cancels_an_authorized_or_a_paid_transaction(self):
        self.provider.bawaba_can_capture = True
        authorized = self._create_transaction('direct', state='authorized', reference='Voided 1')
        response = self._post_notification(self._notification(reference=authorized.reference, type='payment.voided'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(authorized.state, 'cancel')
        # A paid payment voided before settlement (in the gateway's dashboard): no money was taken.
        paid = self._create_transaction('direct', state='done', reference='Voided 2')
        with self._chatter() as log:
            response = self._post_notification(self._notification(reference=paid.reference, type='payment.voided'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(paid.state, 'cancel')
        self.assertIn('voided this payment before settlement', paid.state_message)
        self.assertIn('voided this payment before settlement', str(log.call_args.args[-1]))

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_transaction',
                 'odoo.addons.payment.models.payment_transaction')
    def test_a_refund_made_in_the_gateways_dashboard_creates_a_refund_transaction(self):
        tx = self._create_transaction('direct', state='done', reference='S00090')
        data = self._notification(
            event_id='evt_dash_1', type='refund.succeeded', reference=tx.reference, amount=2500, refund_id='re_dash')
        with self._chatter() as log:
            response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        refund = tx.child_transaction_ids
        self.assertEqual(len(refund), 1)
        self.assertEqual((refund.operation, refund.state, refund.amount), ('refund', 'done', -25.0))
        self.assertEqual((refund.provider_reference, refund.reference), ('re_dash', 'R-S00090'))
        self.assertEqual(tx.state, 'done')
        self.assertIn("made in the gateway's dashboard", str(log.call_args_list[0].args[-1]))
        # Delivered again (at least once): nothing more.
        self._post_notification(data)
        self.assertEqual(len(tx.child_transaction_ids), 1)
        # The edge found another one by reconciling the gateway's refunded total: no gateway id.
        other = self._notification(
            event_id='evt_dash_2', type='refund.succeeded', reference=tx.reference, amount=1000)
        self._post_notification(other)
        self._post_notification(other)
        refunds = tx.child_transaction_ids
        self.assertEqual(sorted(refunds.mapped('amount')), [-25.0, -10.0])
        self.assertEqual(set(refunds.mapped('state')), {'done'})
        self.assertEqual(tx.refunds_count, 2)

    @mute_logger('odoo.addons.payment_bawaba.controllers.main', 'odoo.addons.payment_bawaba.models.payment_transaction',
                 'odoo.addons.payment.models.payment_transaction')
    def test_a_dashboard_refund_notification_is_checked_before_anything_is_created(self):
        tx = self._create_transaction('direct', state='done', reference='S00091')
        data = self._notification(event_id='evt_dash_3', type='refund.succeeded', reference=tx.reference, amount=2500)
        response = self._post_notification(data, secret='another-secret')
        self.assertEqual(response.status_code, 403)
        self.assertFalse(tx.child_transaction_ids)
