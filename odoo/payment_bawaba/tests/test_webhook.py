# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import time
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba.tests.common import BawabaCommon


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
