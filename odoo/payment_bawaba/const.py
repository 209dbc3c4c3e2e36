# Part of Bawaba. See LICENSE file for full copyright and licensing details.

# Notification types (the edge's `type`) and the transaction state each leads to.
PAYMENT_STATUS_MAPPING = {
    'payment.succeeded': 'done',
    'payment.authorized': 'authorized',
    'payment.pending': 'pending',
    'payment.failed': 'error',
    'payment.canceled': 'cancel',
    'payment.voided': 'cancel',
}
# The authorization was released, or a paid payment voided before settlement (no money was taken):
# the transaction is canceled, from `done` too.
PAYMENT_VOIDED = 'payment.voided'
# The gateway confirmed the charge. The edge sends it for every charge a gateway confirms, also
# after it had sent `payment.canceled` (a page paid after the payment expired) or `payment.failed`
# (a newer tab declined while an older tab's payment went through): the transaction is then done
# from these states too. The other direction never happens: nothing undoes `done`.
PAYMENT_SUCCEEDED = 'payment.succeeded'
LATE_CONFIRMATION_STATES = ('cancel', 'error')
# Refund results: the refund transaction is found by the idempotency key it was sent with.
REFUND_SUCCEEDED = 'refund.succeeded'
REFUND_FAILED = 'refund.failed'
REFUND_EVENTS = (REFUND_SUCCEEDED, REFUND_FAILED)

# How long a refund result under a key this database does not have (yet) is answered "retry later"
# rather than recorded: the edge may report a refund before the Odoo request that asked for it has
# committed its refund transaction. After this, a `refund.succeeded` is recorded as a refund made
# outside this database, so no refunded money is missing from the books.
REFUND_WAIT_SECS = 600
# A second charge at the gateway for the same reference: refunded by the edge on its own, or not
# refundable (the merchant must refund it in the gateway's dashboard). Reported on the chatter,
# never a change of the transaction's state.
DUPLICATE_REFUNDED = 'payment.duplicate_refunded'
DUPLICATE_DETECTED = 'payment.duplicate_detected'
DUPLICATE_EVENTS = (DUPLICATE_REFUNDED, DUPLICATE_DETECTED)

# The currencies at least one of the edge's gateways accepts (checked against
# tests/vectors/currencies.json). Which ones this shop's edge takes depends on the gateways it has
# keys for: "Test connection" tells.
SUPPORTED_CURRENCIES = ('SAR', 'AED', 'KWD', 'BHD', 'QAR', 'OMR', 'EGP', 'JOD', 'USD', 'EUR', 'GBP')

# The codes of the payment methods to activate when Bawaba is activated, mada first.
DEFAULT_PAYMENT_METHOD_CODES = {'mada', 'card', 'visa', 'mastercard', 'amex', 'stcpay', 'applepay', 'paypal'}

# The currencies a method is limited to at the edge, whatever the shop's gateways, for the methods
# Odoo ships without a currency limit (mada and STC Pay carry Odoo's own: SAR only). PayPal takes
# no SAR nor any Gulf currency: of PayPal's list, the edge knows USD, EUR, GBP and JPY
# (core/src/gateway/paypal). Odoo does not offer such a method in another currency.
METHOD_CURRENCIES = {'paypal': ('USD', 'EUR', 'GBP', 'JPY')}

# Odoo payment method codes -> the edge's method codes (intent `methods`).
EDGE_METHOD_CODES = {
    'mada': ['mada'],
    'card': ['visa', 'mastercard', 'amex'],
    'visa': ['visa'],
    'mastercard': ['mastercard'],
    'amex': ['amex'],
    'stcpay': ['stcpay'],
    'applepay': ['applepay'],
    'paypal': ['paypal'],
}

# Methods Odoo ships as not refundable (`support_refund = none`) that the edge refunds, in full or
# in part, through the gateway that took the payment. Other providers keep Odoo's own data.
REFUND_SUPPORT_BY_METHOD = {'mada': 'partial', 'stcpay': 'partial'}

# The fields of a notification that are text when present: anything else is not a notification
# from the edge (answered 400).
NOTIFICATION_TEXT_FIELDS = (
    'event_id', 'type', 'shop_id', 'reference', 'currency', 'gateway', 'gateway_payment_id', 'method',
    'card_brand', 'card_last4', 'idempotency_key', 'refund_id',
)

# The shop's mode at the edge (`shop.mode` of `POST /v1/check`) each provider state needs.
EDGE_MODE_BY_STATE = {'enabled': 'live', 'test': 'test'}

# Keys whose values never reach the logs.
SENSITIVE_KEYS = {'bawaba_signing_secret', 'intent'}

# The intent lives 15 minutes (the edge accepts at most 30).
INTENT_LIFETIME_SECS = 15 * 60


# The edge's normalized decline reasons (`bawaba_core::decline`: every gateway's codes map to one
# of these), as shown on a failed transaction.
DECLINE_REASONS = [
    ('insufficient_funds', "Insufficient funds"),
    ('do_not_honor', "Refused by the card's bank"),
    ('expired_card', "Expired card"),
    ('invalid_card', "Card details wrong"),
    ('authentication_failed', "3-D Secure failed"),
    ('card_not_supported', "Card not accepted here"),
    ('suspected_fraud', "Blocked as suspected fraud"),
    ('limit_exceeded', "Card limit reached"),
    ('canceled_by_shopper', "Canceled by the shopper"),
    ('expired_session', "Payment page expired"),
    ('gateway_error', "Gateway error"),
    ('declined', "Declined"),
]

# Codes a notification may carry from before the reasons were normalized, or from the edge's own
# lifecycle (an expired payment, a page superseded by another method).
DECLINE_REASON_ALIASES = {
    'expired': 'expired_session',
    'canceled': 'canceled_by_shopper',
    'superseded': 'canceled_by_shopper',
    'card_declined': 'declined',
}

# Events about the edge itself (not one payment): a gateway's circuit breaker opened or closed.
GATEWAY_DEGRADED = 'gateway.degraded'
GATEWAY_RECOVERED = 'gateway.recovered'
GATEWAY_EVENTS = (GATEWAY_DEGRADED, GATEWAY_RECOVERED)
