# Part of Bawaba. See LICENSE file for full copyright and licensing details.


class BawabaRetryLater(Exception):
    """A notification Odoo cannot apply yet (the webhook answers 503 and the edge sends it again
    later), e.g. the result of a refund whose transaction the request that asked for it has not
    committed yet."""
