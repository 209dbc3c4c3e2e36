# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from . import controllers
from . import models

from odoo.addons.payment import setup_provider, reset_payment_provider


# Saudi shoppers look for mada first: Odoo lists payment methods by sequence, and ships mada
# last (1000), after the generic card (10).
MADA_SEQUENCE = 5
ODOO_MADA_SEQUENCE = 1000


def post_init_hook(env):
    setup_provider(env, 'bawaba')
    env.ref('payment.payment_method_mada').sequence = MADA_SEQUENCE


def uninstall_hook(env):
    reset_payment_provider(env, 'bawaba')
    mada = env.ref('payment.payment_method_mada', raise_if_not_found=False)
    if mada and mada.sequence == MADA_SEQUENCE:
        mada.sequence = ODOO_MADA_SEQUENCE
