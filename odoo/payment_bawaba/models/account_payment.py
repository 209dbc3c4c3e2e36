# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from odoo import models


class AccountPayment(models.Model):
    _inherit = 'account.payment'

    def _compute_amount_available_for_refund(self):
        """Override of `account_payment` to make the payments of Bawaba transactions refundable
        when their method is one Odoo ships as not refundable but the edge refunds (mada, STC Pay):
        `account_payment` leaves 0, which hides the payment's Refund button. Other providers'
        payments, and Bawaba payments of other methods, keep Odoo's computation."""
        super()._compute_amount_available_for_refund()
        for payment in self.filtered(lambda p: p.amount_available_for_refund <= 0):
            tx_sudo = payment.payment_transaction_id.sudo()
            if (
                tx_sudo.provider_code == 'bawaba'
                and tx_sudo.operation != 'refund'
                and tx_sudo._bawaba_get_refund_support() != 'none'
            ):
                # As `account_payment`: only confirmed refunds (those with a payment) count, so a
                # refund stuck pending never blocks the rest.
                refund_payments = self.search([('source_payment_id', '=', payment.id)])
                payment.amount_available_for_refund = payment.amount - abs(sum(refund_payments.mapped('amount')))
