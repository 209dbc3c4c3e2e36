# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from odoo import SUPERUSER_ID, api
from odoo.fields import Command


def migrate(cr, version):
    """Add PayPal to the Bawaba providers installed before it existed (the provider's data is
    `noupdate`). It stays inactive until the merchant activates it, as for a new install."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    paypal = env.ref('payment.payment_method_paypal', raise_if_not_found=False)
    if not paypal:
        return
    providers = env['payment.provider'].search([('code', '=', 'bawaba')])
    providers.filtered(lambda p: paypal not in p.payment_method_ids).write({
        'payment_method_ids': [Command.link(paypal.id)],
    })
