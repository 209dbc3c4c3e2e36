# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import time

from odoo.tests import tagged

from odoo.addons.payment_bawaba import bawaba_protocol, const
from odoo.addons.payment_bawaba.tests.common import BawabaCommon


@tagged('post_install', '-at_install')
class TestIntent(BawabaCommon):

    def test_the_intent_is_what_the_edge_verifies(self):
        tx = self._create_transaction('direct')
        values = tx._get_specific_processing_values({})
        shops = {'odoo-shop': {'secret': 'shop-secret-for-tests', 'origin': self.provider.get_base_url()}}
        claims = bawaba_protocol.verify_intent(values['bawaba_intent'], shops, int(time.time()))
        self.assertEqual(claims['sub'], tx.reference)
        self.assertEqual(claims['amount'], bawaba_protocol.to_minor_units(tx.amount, tx.currency_id.name))
        self.assertEqual(claims['currency'], tx.currency_id.name)
        self.assertTrue(claims['notify_url'].endswith('/payment/bawaba/webhook'))
        self.assertTrue(claims['return_url'].endswith('/payment/bawaba/return'))
        self.assertLessEqual(claims['exp'] - claims['iat'], bawaba_protocol.MAX_LIFETIME_SECS)
        self.assertEqual(values['bawaba_edge_url'], 'https://edge.example.test')

    def test_another_secret_does_not_verify(self):
        tx = self._create_transaction('direct')
        token = tx._get_specific_processing_values({})['bawaba_intent']
        shops = {'odoo-shop': {'secret': 'not-it', 'origin': self.provider.get_base_url()}}
        with self.assertRaises(bawaba_protocol.ProtocolError) as error:
            bawaba_protocol.verify_intent(token, shops, int(time.time()))
        self.assertEqual(error.exception.code, 'intent_invalid_signature')

    def test_the_inline_form_carries_the_edge_url(self):
        self.assertTrue(self.provider.inline_form_view_id)
        html = str(self.env['ir.qweb']._render(self.provider.inline_form_view_id.id, {'provider_sudo': self.provider}))
        self.assertIn('o_bawaba_element_container', html)
        self.assertIn('https://edge.example.test', html)

    def test_bawaba_is_offered_only_in_currencies_a_gateway_accepts(self):
        supported = self.provider._get_supported_currencies().mapped('name')
        self.assertIn('SAR', supported)
        self.assertIn('KWD', supported)
        self.assertNotIn('JPY', supported)
        self.assertEqual(set(supported), set(const.SUPPORTED_CURRENCIES))

    def test_mada_comes_first_in_the_payment_form(self):
        # Odoo lists the methods of a form by sequence.
        sequence = {m.code: m.sequence for m in self.provider.with_context(active_test=False).payment_method_ids}
        self.assertLess(sequence['mada'], sequence['card'])
        self.assertLess(sequence['card'], sequence['applepay'])
