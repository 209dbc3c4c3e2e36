# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from . import test_intent
from . import test_late_confirmation
from . import test_operations
from . import test_webhook
