# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from . import test_applepay_domain
from . import test_currencies
from . import test_edge_settings
from . import test_intent
from . import test_late_confirmation
from . import test_multi_company
from . import test_operations
from . import test_refund_wizard
from . import test_webhook
