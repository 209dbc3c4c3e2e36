# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import importlib.util
import json
import time
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.tests import tagged
from odoo.modules.module import get_module_path
from odoo.tools import mute_logger

from odoo.addons.payment_bawaba import bawaba_protocol, const
from odoo.addons.payment_bawaba.tests.common import (
    REQUESTS_REQUEST, BawabaCommon, check_answer, edge_answer,
)


@tagged('post_install', '-at_install')
class TestCurrencies(BawabaCommon):
    """PayPal through the edge, and which methods the edge offers in each currency."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sar = cls.env.ref('base.SAR')
        cls.usd = cls.env.ref('base.USD')
        (cls.sar | cls.usd).active = True
        cls.provider.available_currency_ids = [Command.set((cls.sar | cls.usd).ids)]
        cls.paypal = cls.env.ref('payment.payment_method_paypal')
        cls.mada = cls.env.ref('payment.payment_method_mada')
        cls.applepay = cls.env.ref('payment_bawaba.payment_method_applepay')
        (cls.paypal | cls.mada | cls.applepay).active = True

    def _claims(self, tx):
        shops = {'odoo-shop': {'secret': 'shop-secret-for-tests', 'origin': self._origin()}}
        return bawaba_protocol.verify_intent(
            tx._get_specific_processing_values({})['bawaba_intent'], shops, int(time.time()))

    def _compatible(self, currency):
        return self.env['payment.method']._get_compatible_payment_methods(
            [self.provider.id], self.partner.id, currency_id=currency.id)

    def _test_connection(self, methods_by_currency, lang=None):
        """Test connection against an edge that offers `methods_by_currency[X]` in currency X."""
        def answer(method, url, data=None, **kwargs):
            currency = json.loads(data)['currency']
            return edge_answer(200, check_answer(origin=self._origin(), methods=methods_by_currency[currency]))

        provider = self.provider.with_context(lang=lang) if lang else self.provider
        with patch(REQUESTS_REQUEST, side_effect=answer):
            return provider.action_bawaba_test_connection()['params']

    # === PAYPAL === #

    def test_paypal_is_a_method_of_the_provider(self):
        self.assertIn(self.paypal, self.provider.payment_method_ids)
        self.assertIn('paypal', self.provider._get_default_payment_method_codes())
        self.assertEqual(const.EDGE_METHOD_CODES['paypal'], ['paypal'])

    def test_the_upgrade_adds_paypal_to_an_installed_provider(self):
        self.provider.payment_method_ids = [Command.unlink(self.paypal.id)]
        path = f"{get_module_path('payment_bawaba')}/migrations/19.0.1.2.0/post-migrate.py"
        spec = importlib.util.spec_from_file_location('payment_bawaba_migrate_19_0_1_2_0', path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, '19.0.1.1.0')
        self.provider.invalidate_recordset(['payment_method_ids'])
        self.assertIn(self.paypal, self.provider.payment_method_ids)

    def test_the_intent_lists_paypal_when_the_shopper_picks_it(self):
        tx = self._create_transaction('direct', payment_method_id=self.paypal.id, currency_id=self.usd.id)
        claims = self._claims(tx)
        self.assertEqual(claims['methods'], ['paypal'])
        self.assertEqual(claims['currency'], 'USD')

    def test_paypal_is_never_offered_in_sar(self):
        self.assertIn(self.paypal, self._compatible(self.usd))
        self.assertNotIn(self.paypal, self._compatible(self.sar))
        self.assertIn(self.env.ref('payment.payment_method_card'), self._compatible(self.sar))
        # Nor signed into an intent in SAR, picked or not.
        tx = self._create_transaction('direct', payment_method_id=self.paypal.id, currency_id=self.sar.id)
        with self.assertRaises(ValidationError):
            tx._get_specific_processing_values({})
        tx = self._create_transaction(
            'direct', reference='Test SAR', payment_method_id=self.payment_method_id, currency_id=self.sar.id)
        methods = self._claims(tx)['methods']
        self.assertIn('mada', methods)
        self.assertNotIn('paypal', methods)

    def test_paypal_stays_for_another_provider_in_sar(self):
        """Bawaba's rule for PayPal does not hide it for another provider that offers it."""
        other = self.env['payment.provider'].create({
            'name': "Other PayPal", 'state': 'test', 'payment_method_ids': [Command.set(self.paypal.ids)],
        })
        compatible = self.env['payment.method']._get_compatible_payment_methods(
            [self.provider.id, other.id], self.partner.id, currency_id=self.sar.id)
        self.assertIn(self.paypal, compatible)

    @mute_logger('odoo.addons.payment_bawaba.controllers.main')
    def test_a_paypal_payment_records_odoos_paypal_method(self):
        tx = self._create_transaction('direct', payment_method_id=self.mada.id, currency_id=self.usd.id)
        data = self._notification(
            gateway='paypal', gateway_payment_id='3C679366HH908993F', method='paypal', currency='USD',
            amount=bawaba_protocol.to_minor_units(tx.amount, 'USD'),
        )
        del data['card_brand'], data['card_last4']
        response = self._post_notification(data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(tx.state, 'done')
        self.assertEqual(tx.payment_method_id, self.paypal)
        self.assertEqual(tx.provider_reference, '3C679366HH908993F')

    # === METHODS PER CURRENCY === #

    def test_test_connection_stores_and_shows_the_methods_per_currency(self):
        params = self._test_connection({
            'SAR': ['mada', 'applepay', 'visa', 'mastercard', 'amex', 'stcpay'],
            'USD': ['applepay', 'visa', 'mastercard', 'amex', 'paypal'],
        })
        self.assertEqual(self.provider.bawaba_edge_methods, {
            'SAR': ['mada', 'applepay', 'visa', 'mastercard', 'amex', 'stcpay'],
            'USD': ['applepay', 'visa', 'mastercard', 'amex', 'paypal'],
        })
        visa = self.env.ref('payment.payment_method_visa')
        mastercard = self.env.ref('payment.payment_method_mastercard')
        shown = self.provider.bawaba_currency_methods.splitlines()
        self.assertEqual(len(shown), 2)
        self.assertTrue(shown[0].startswith(f"SAR: {self.mada.name}, {self.applepay.name}, {visa.name}, "))
        self.assertTrue(shown[1].startswith(f"USD: {self.applepay.name}, {visa.name}, {mastercard.name}, "))
        self.assertTrue(shown[1].endswith(self.paypal.name))
        # PayPal cannot be offered in SAR: told, nothing to fix.
        self.assertIn(f"{self.paypal.name} is not offered in SAR: {self.paypal.name} takes no SAR.", params['message'])
        self.assertIn(f"{self.mada.name} is not offered in USD: {self.mada.name} takes no USD.", params['message'])
        self.assertNotIn('Not offered by the edge', params['message'])
        self.assertEqual(params['type'], 'success', params['message'])
        # Another shop: what was learnt of the previous one is forgotten.
        self.provider.bawaba_shop_id = 'odoo-other'
        self.assertFalse(self.provider.bawaba_edge_methods)
        self.assertFalse(self.provider.bawaba_currency_methods)

    def test_test_connection_names_a_method_no_gateway_takes_in_a_currency(self):
        params = self._test_connection({
            'SAR': ['mada', 'applepay', 'stcpay'],
            'USD': ['applepay', 'visa', 'mastercard', 'amex'],
        })
        visa = self.env.ref('payment.payment_method_visa')
        self.assertEqual(params['type'], 'warning')
        self.assertIn(
            f"{visa.name} is not offered in SAR: no gateway on the edge takes it in SAR.", params['message'])
        # PayPal is offered in no currency it takes: a route is missing on the edge.
        self.assertIn('Not offered by the edge: ', params['message'])
        self.assertIn(self.paypal.name, params['message'].split('Not offered by the edge')[1].splitlines()[0])
        self.assertNotIn(f"{self.paypal.name} is not offered in USD", params['message'])

    def test_the_methods_per_currency_speak_the_merchants_language(self):
        self.env['res.lang']._activate_lang('ar_001')
        self.env['ir.module.module']._load_module_terms(['payment_bawaba'], ['ar_001'])
        params = self._test_connection({
            'SAR': ['mada', 'applepay', 'visa', 'mastercard', 'amex', 'stcpay'],
            'USD': ['applepay', 'visa', 'mastercard', 'amex', 'paypal'],
        }, lang='ar_001')
        self.assertIn('لا تُقدَّم بـ SAR', params['message'])
        self.assertIn('SAR', self.provider.with_context(lang='ar_001').bawaba_currency_methods)
