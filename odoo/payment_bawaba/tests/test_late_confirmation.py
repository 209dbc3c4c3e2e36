# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba import bawaba_protocol
from odoo.addons.payment_bawaba.tests.common import BawabaCommon


LOGGERS = (
    'odoo.addons.payment_bawaba.controllers.main',
    'odoo.addons.payment_bawaba.models.payment_transaction',
    'odoo.addons.payment.models.payment_transaction',
)


@tagged('post_install', '-at_install')
class TestLateConfirmation(BawabaCommon):
    """The edge sends `payment.succeeded` for every charge a gateway confirms, also after it had
    said `payment.canceled` (a page paid after the payment expired) or `payment.failed` (an older
    tab's payment went through while a newer one was declined): Odoo must record it as paid. The
    other direction never happens: nothing undoes `done`."""

    def setUp(self):
        # Odoo's own post-processing (account_payment creates the payment), not PaymentCommon's mock.
        self.enable_post_process_patcher = False
        super().setUp()

    def _quotation(self):
        """A quotation of the test amount, when `sale` is installed in the test database (None
        otherwise: the addon depends on `payment` only)."""
        if 'sale.order' not in self.env:
            return None
        product = self.env['product.product'].create({
            'name': "Late item", 'list_price': self.amount, 'taxes_id': [Command.clear()],
        })
        return self.env['sale.order'].create({
            'partner_id': self.partner.id,
            'order_line': [Command.create({
                'product_id': product.id, 'price_unit': self.amount, 'tax_ids': [Command.clear()],
            })],
        })

    def _transaction(self, **values):
        """A transaction, for the quotation if there is one, and the notification matching it."""
        order = self._quotation()
        if order:
            values.update(
                amount=order.amount_total, currency_id=order.currency_id.id, sale_order_ids=[Command.set(order.ids)])
        tx = self._create_transaction('direct', **values)
        matching = {
            'reference': tx.reference,
            'amount': bawaba_protocol.to_minor_units(tx.amount, tx.currency_id.name),
            'currency': tx.currency_id.name,
        }
        return tx, order, matching

    def _assert_ends_paid(self, tx, order):
        """What the status page and the post-processing cron do next: the order is confirmed
        (with `sale`), or at least the transaction is post-processed once."""
        self.assertEqual(tx.state, 'done')
        self.assertFalse(tx.is_post_processed, "a new state is post-processed again (status page, cron)")
        tx._post_process()
        if order:
            self.assertEqual(order.state, 'sale')
            self.assertIn('after it had', ' '.join(order.message_ids.mapped('body')))
        else:
            self.assertTrue(tx.is_post_processed)
        self.assertEqual(tx.payment_id.amount, tx.amount, "account_payment recorded the payment")

    @mute_logger(*LOGGERS)
    def test_a_success_after_a_cancellation_confirms_the_transaction(self):
        tx, order, matching = self._transaction()
        self._post_notification(self._notification(
            event_id='evt_cancel', type='payment.canceled', error={'code': 'expired', 'message': 'expired'},
            **matching))
        self.assertEqual(tx.state, 'cancel')
        if order:
            tx._post_process()  # The order stays a quotation while the payment is canceled.
            self.assertIn(order.state, ('draft', 'sent'))
        response = self._post_notification(self._notification(
            event_id='evt_late', gateway_payment_id='inv_late', **matching))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')
        self.assertEqual(tx.provider_reference, 'inv_late')
        self.assertIn('after it had been canceled', tx.state_message)
        self._assert_ends_paid(tx, order)

    @mute_logger(*LOGGERS)
    def test_a_success_after_a_failure_confirms_the_transaction(self):
        tx, order, matching = self._transaction()
        self._post_notification(self._notification(
            event_id='evt_failed', type='payment.failed',
            error={'code': 'card_declined', 'message': 'Declined in the newer tab'}, **matching))
        self.assertEqual(tx.state, 'error')
        response = self._post_notification(self._notification(event_id='evt_late', **matching))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')
        self.assertIn('after it had failed', tx.state_message)
        self._assert_ends_paid(tx, order)

    @mute_logger(*LOGGERS)
    def test_the_late_confirmation_is_told_on_the_documents_once(self):
        tx = self._create_transaction('direct', state='cancel')
        with self._chatter() as log:
            self._post_notification(self._notification(event_id='evt_late'))
        self.assertEqual(tx.state, 'done')
        messages = [call.args[-1] for call in log.call_args_list]
        self.assertEqual(sum('after it had been canceled' in str(message) for message in messages), 1, messages)
        changed = tx.last_state_change
        # The same event delivered again (deliveries are at least once) changes nothing.
        with self._chatter() as log:
            response = self._post_notification(self._notification(event_id='evt_late'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual((tx.state, tx.last_state_change), ('done', changed))
        self.assertEqual(log.call_count, 0)

    @mute_logger(*LOGGERS)
    def test_a_failure_or_cancellation_after_done_changes_nothing(self):
        tx = self._create_transaction('direct')
        self._post_notification(self._notification())
        self.assertEqual(tx.state, 'done')
        changed, message = tx.last_state_change, tx.state_message
        for event_type in ('payment.failed', 'payment.canceled'):
            with self.subTest(event_type):
                response = self._post_notification(self._notification(
                    event_id=f'evt_{event_type}', type=event_type, error={'code': 'expired', 'message': 'Too late'}))
                self.assertEqual(response.status_code, 200)
                self.assertEqual((tx.state, tx.last_state_change, tx.state_message), ('done', changed, message))

    @mute_logger(*LOGGERS)
    def test_a_late_success_with_a_wrong_amount_or_currency_is_refused(self):
        other_currency = 'USD' if self.currency.name != 'USD' else 'EUR'
        cases = {
            'canceled, wrong amount': ('cancel', dict(amount=1), 'the amount ('),
            'failed, wrong amount': ('error', dict(amount=1), 'the amount ('),
            'canceled, wrong currency': ('cancel', dict(currency=other_currency), 'the currency ('),
            'failed, no amount': ('error', dict(amount=0), 'missing'),
        }
        for i, (name, (state, overrides, reason)) in enumerate(cases.items()):
            with self.subTest(name):
                tx = self._create_transaction('direct', reference=f'Late {i}', state=state)
                changed = tx.last_state_change
                data = self._notification(event_id=f'evt_{i}', reference=tx.reference, **overrides)
                with self._chatter() as log:
                    response = self._post_notification(data)
                    self._post_notification(data)  # Delivered twice: told once.
                self.assertEqual(response.status_code, 200)
                self.assertEqual((tx.state, tx.last_state_change), (state, changed))
                self.assertIn('not recorded as paid', tx.state_message)
                self.assertIn(reason, tx.state_message)
                self.assertEqual(log.call_count, 1)

    @mute_logger(*LOGGERS)
    def test_the_right_amount_after_a_refused_one_still_confirms(self):
        tx = self._create_transaction('direct', state='cancel')
        self._post_notification(self._notification(event_id='evt_wrong', amount=1))
        self.assertEqual(tx.state, 'cancel')
        self._post_notification(self._notification(event_id='evt_right'))
        self.assertEqual(tx.state, 'done')

    def test_other_providers_keep_odoos_behaviour(self):
        """Another provider's canceled or failed transaction never takes the late path."""
        dummy = self.env['payment.provider'].search([('code', '=', 'none')], limit=1)
        self.assertTrue(dummy)
        model = type(self.env['payment.transaction'])
        for i, state in enumerate(('cancel', 'error')):
            with self.subTest(state):
                tx = self._create_transaction('direct', provider_id=dummy.id, state=state, reference=f'Other {i}')
                with (
                    patch.object(model, '_validate_amount'),
                    patch.object(model, '_apply_updates') as apply_updates,
                    patch.object(model, '_bawaba_amount_mismatch') as mismatch,
                    patch.object(model, '_bawaba_confirm_late') as confirm_late,
                ):
                    tx._process('none', self._notification(reference=tx.reference))
                # Odoo's own `_process`: an error is left before any update, a cancel goes on.
                self.assertEqual(apply_updates.call_count, 0 if state == 'error' else 1)
                self.assertEqual((mismatch.call_count, confirm_late.call_count), (0, 0))
                self.assertEqual(tx.state, state)

    @mute_logger(*LOGGERS)
    def test_the_late_messages_speak_the_merchants_language(self):
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        tx = self._create_transaction('direct', state='cancel').with_context(lang='ar_001')
        tx._bawaba_refuse_late_confirmation(tx._bawaba_amount_mismatch(self._notification(amount=1)))
        self.assertIn('لم يُسجَّل مدفوعاً', tx.state_message)
        self.assertIn('يختلف عن مبلغ المعاملة', tx.state_message)
        tx._bawaba_confirm_late()
        self.assertEqual(tx.state, 'done')
        self.assertIn('بعد إلغائه', tx.state_message)
