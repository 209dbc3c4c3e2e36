# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from odoo import models

from odoo.addons.payment import utils as payment_utils
from odoo.addons.payment.const import REPORT_REASONS_MAPPING
from odoo.addons.payment_bawaba import const


class PaymentMethod(models.Model):
    _inherit = 'payment.method'

    def _get_compatible_payment_methods(
        self, provider_ids, partner_id, currency_id=None, force_tokenization=False,
        is_express_checkout=False, report=None, **kwargs
    ):
        """Override of `payment` to offer a method through Bawaba only in the currencies it takes
        at the edge (PayPal takes no SAR), as Odoo does with `supported_currency_ids`.

        A method that another compatible provider also offers stays: that provider has its own
        currency rules.
        """
        payment_methods = super()._get_compatible_payment_methods(
            provider_ids, partner_id, currency_id=currency_id, force_tokenization=force_tokenization,
            is_express_checkout=is_express_checkout, report=report, **kwargs
        )
        if not currency_id:
            return payment_methods
        providers = self.env['payment.provider'].browse(provider_ids)
        bawaba_providers = providers.filtered(lambda p: p.code == 'bawaba')
        if not bawaba_providers:
            return payment_methods
        currency = self.env['res.currency'].browse(currency_id)
        other_providers = providers - bawaba_providers
        unfiltered_pms = payment_methods
        payment_methods = payment_methods.filtered(
            lambda pm: pm._bawaba_takes_currency(currency) or pm.provider_ids & other_providers
        )
        payment_utils.add_to_report(
            report,
            unfiltered_pms - payment_methods,
            available=False,
            reason=REPORT_REASONS_MAPPING['incompatible_currency'],
        )
        return payment_methods

    def _bawaba_takes_currency(self, currency):
        """Whether Bawaba may offer this method in a currency: the edge's own limit for the
        method (`const.METHOD_CURRENCIES`), and Odoo's (`supported_currency_ids`).

        :param recordset currency: The `res.currency` of the payment.
        :rtype: bool
        """
        self.ensure_one()
        edge_currencies = const.METHOD_CURRENCIES.get(self.code)
        if edge_currencies is not None and currency.name not in edge_currencies:
            return False
        return not self.supported_currency_ids or currency in self.supported_currency_ids
