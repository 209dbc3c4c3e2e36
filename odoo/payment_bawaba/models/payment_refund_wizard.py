# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from odoo import models


class PaymentRefundWizard(models.TransientModel):
    _inherit = 'payment.refund.wizard'

    def _compute_support_refund(self):
        """Override of `account_payment` to let the wizard refund Bawaba transactions of methods
        Odoo ships as not refundable but the edge refunds (mada, STC Pay), in full or in part."""
        super()._compute_support_refund()
        for wizard in self:
            tx_sudo = wizard.transaction_id.sudo()
            if tx_sudo.provider_code == 'bawaba':
                wizard.support_refund = tx_sudo._bawaba_get_refund_support()
