# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from . import account_payment
from . import ir_http
from . import payment_method
from . import payment_provider
from . import payment_refund_wizard
from . import payment_transaction
