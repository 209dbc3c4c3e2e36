# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
from unittest.mock import patch

import requests

from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba.tests.common import REQUESTS_REQUEST, BawabaCommon, edge_answer


LOGGERS = (
    'odoo.addons.payment_bawaba.controllers.main',
    'odoo.addons.payment_bawaba.models.payment_provider',
    'odoo.addons.payment_bawaba.models.payment_transaction',
    'odoo.addons.payment.models.payment_transaction',
)


def _refunded(amount_minor, refund_id):
    return {'status': 'succeeded', 'refund_id': f'rf_{refund_id}', 'id': f're_{refund_id}', 'amount': amount_minor,
            'currency': 'SAR', 'refunded_total': amount_minor, 'payment_state': 'paid'}


@tagged('post_install', '-at_install')
class TestRefundWizard(BawabaCommon):
    """mada and STC Pay payments are refunded from Odoo's own screens, as the merchant does it: the
    payment's Refund button opens `account_payment`'s refund wizard, the merchant sets the amount and
    confirms. Odoo ships both methods as not refundable; other providers keep that."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls._enable_currency('SAR')
        cls.amount = 100.0
        cls.mada = cls.env.ref('payment.payment_method_mada')
        cls.stcpay = cls.env.ref('payment.payment_method_stcpay')

    def setUp(self):
        # Odoo's own post-processing: account_payment creates the payments (PaymentCommon mocks it).
        self.enable_post_process_patcher = False
        super().setUp()

    def _paid(self, method, reference):
        """A payment confirmed by the edge's signed notification, then post-processed as the status
        page does: `account_payment` records its payment."""
        tx = self._create_transaction('direct', payment_method_id=method.id, reference=reference)
        response = self._post_notification(self._notification(
            reference=reference, method=method.code, card_brand=None, event_id=f'evt_{reference}'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual((tx.state, tx.payment_method_id), ('done', method))
        tx._post_process()
        self.assertTrue(tx.payment_id, "account_payment recorded the payment")
        return tx, tx.payment_id

    def _open_refund_wizard(self, payment):
        """What the payment's Refund button does: the action, opened on the payment."""
        self.assertGreater(payment.amount_available_for_refund, 0, "the Refund button is shown")
        action = payment.action_refund_wizard()
        self.assertEqual(action['res_model'], 'payment.refund.wizard')
        return Form(self.env[action['res_model']].with_context(
            active_model='account.payment', active_id=payment.id, active_ids=payment.ids))

    def _confirm(self, wizard_form, answer):
        wizard = wizard_form.save()
        with patch(REQUESTS_REQUEST, return_value=edge_answer(200, answer)) as call:
            wizard.action_refund()
        return call

    @mute_logger(*LOGGERS)
    def test_a_mada_payment_is_refunded_through_the_wizard_in_part_then_in_full(self):
        tx, payment = self._paid(self.mada, 'S00100')
        self.assertEqual(payment.amount_available_for_refund, 100.0)

        wizard = self._open_refund_wizard(payment)
        self.assertEqual(wizard.support_refund, 'partial')
        self.assertEqual(wizard.amount_to_refund, 100.0)
        wizard.amount_to_refund = 40.0  # Editable: a partial refund.
        call = self._confirm(wizard, _refunded(4000, 1))
        payload = self._assert_signed_call(call.call_args, 'POST', '/v1/refunds', key='R-S00100')
        self.assertEqual(payload, {'reference': 'S00100', 'amount': 4000})
        first = tx.child_transaction_ids
        self.assertEqual((first.state, first.amount, first.payment_method_id), ('done', -40.0, self.mada))
        # Post-processed at once: its payment is there, so the wizard offers what remains.
        self.assertTrue(first.is_post_processed)
        self.assertEqual(first.payment_id.amount, 40.0)
        self.assertEqual(payment.refunds_count, 1)
        self.assertEqual(payment.amount_available_for_refund, 60.0)

        wizard = self._open_refund_wizard(payment)
        self.assertEqual((wizard.refunded_amount, wizard.amount_to_refund), (40.0, 60.0))
        call = self._confirm(wizard, _refunded(6000, 2))
        payload = self._assert_signed_call(call.call_args, 'POST', '/v1/refunds', key='R-S00100-1')
        self.assertEqual(payload, {'reference': 'S00100', 'amount': 6000})
        self.assertEqual(sorted(tx.child_transaction_ids.mapped('amount')), [-60.0, -40.0])
        self.assertEqual(set(tx.child_transaction_ids.mapped('state')), {'done'})
        self.assertEqual(payment.refunds_count, 2)
        self.assertEqual(payment.amount_available_for_refund, 0, "fully refunded: the Refund button is hidden")

    @mute_logger(*LOGGERS)
    def test_an_stc_pay_payment_is_refunded_in_full(self):
        tx, payment = self._paid(self.stcpay, 'S00101')
        wizard = self._open_refund_wizard(payment)
        self.assertEqual(wizard.amount_to_refund, 100.0)
        call = self._confirm(wizard, _refunded(10000, 3))
        self.assertEqual(json.loads(call.call_args.kwargs['data']), {'reference': 'S00101', 'amount': 10000})
        self.assertEqual(tx.child_transaction_ids.state, 'done')
        self.assertEqual(payment.amount_available_for_refund, 0)

    @mute_logger(*LOGGERS)
    def test_a_refund_left_pending_is_completed_and_post_processed_by_the_notification(self):
        """The edge did not answer: the refund is pending, the wizard warns of it, and nothing is
        counted as refunded until the edge's `refund.succeeded`, which records it at once."""
        tx, payment = self._paid(self.mada, 'S00102')
        wizard = self._open_refund_wizard(payment)
        wizard.amount_to_refund = 30.0
        with patch(REQUESTS_REQUEST, side_effect=requests.exceptions.ReadTimeout('read timed out')):
            wizard.save().action_refund()
        refund = tx.child_transaction_ids
        self.assertEqual(refund.state, 'pending')
        self.assertTrue(self._open_refund_wizard(payment).has_pending_refund)
        self.assertEqual(payment.amount_available_for_refund, 100.0)

        response = self._post_notification(self._refund_notification(tx, refund, refund_id='re_late'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(refund.state, 'done')
        self.assertTrue(refund.is_post_processed)
        self.assertEqual(refund.payment_id.amount, 30.0)
        self.assertEqual(payment.amount_available_for_refund, 70.0)

    @mute_logger(*LOGGERS)
    def test_a_refund_made_in_the_gateways_dashboard_is_counted_at_once(self):
        tx, payment = self._paid(self.mada, 'S00103')
        data = self._notification(
            event_id='evt_dash', type='refund.succeeded', reference=tx.reference, amount=2500, refund_id='re_dash')
        self.assertEqual(self._post_notification(data).status_code, 200)
        self.assertEqual(tx.child_transaction_ids.payment_id.amount, 25.0)
        self.assertEqual(payment.amount_available_for_refund, 75.0)

    @mute_logger(*LOGGERS)
    def test_card_payments_keep_odoos_refund_rules(self):
        card = self.env.ref('payment.payment_method_card')
        _tx, payment = self._paid(card, 'S00104')
        self.assertEqual(payment.amount_available_for_refund, 100.0)
        self.assertEqual(self._open_refund_wizard(payment).support_refund, 'partial')

    def test_other_providers_keep_odoos_data_for_mada(self):
        """Another provider that refunds cards still cannot refund a mada payment from Odoo."""
        other = self.env['payment.provider'].search([('code', '=', 'none')], limit=1)
        other.support_refund = 'partial'  # As a provider that refunds (cards).
        tx = self._create_transaction(
            'direct', provider_id=other.id, payment_method_id=self.mada.id, reference='Other', state='done')
        journal = self.env['account.journal'].search(
            [('type', '=', 'bank'), ('company_id', '=', self.env.company.id)], limit=1)
        payment = self.env['account.payment'].create({
            'amount': 100.0, 'payment_type': 'inbound', 'partner_id': self.partner.id, 'journal_id': journal.id,
            'currency_id': self.currency.id, 'payment_transaction_id': tx.id,
        })
        self.assertEqual(payment.amount_available_for_refund, 0)
        wizard = self.env['payment.refund.wizard'].with_context(active_id=payment.id).create({})
        self.assertEqual(wizard.support_refund, 'none')
        # And Odoo's data is unchanged: mada and STC Pay are still not refundable methods.
        self.assertEqual((self.mada.support_refund, self.stcpay.support_refund), ('none', 'none'))

