# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    @classmethod
    def _get_translation_frontend_modules_name(cls):
        """Load the addon's JavaScript translations on the website (the payment form's messages)."""
        return super()._get_translation_frontend_modules_name() + ['payment_bawaba']
