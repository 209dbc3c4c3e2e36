# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import time

from odoo.addons.payment.tests.http_common import PaymentHttpCommon
from odoo.addons.payment_bawaba import bawaba_protocol
from odoo.addons.payment_bawaba.controllers.main import BawabaController


class BawabaCommon(PaymentHttpCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bawaba = cls._prepare_provider('bawaba', update_values={
            'bawaba_edge_url': 'https://edge.example.test',
            'bawaba_shop_id': 'odoo-shop',
            'bawaba_signing_secret': 'shop-secret-for-tests',
        })
        cls.provider = cls.bawaba

    def _notification(self, **overrides):
        data = {
            'event_id': 'evt_0001',
            'type': 'payment.succeeded',
            'shop_id': 'odoo-shop',
            'reference': self.reference,
            'amount': bawaba_protocol.to_minor_units(self.amount, self.currency.name),
            'currency': self.currency.name,
            'gateway': 'moyasar',
            'gateway_payment_id': 'inv_123',
            'method': 'mada',
            'card_brand': 'mada',
            'card_last4': '0007',
            'created_at': int(time.time()),
        }
        data.update(overrides)
        return data

    def _post_notification(self, data, secret='shop-secret-for-tests', timestamp=None, header=None):
        body = json.dumps(data).encode()
        if header is None:
            header = bawaba_protocol.sign_header(secret, timestamp or int(time.time()), body)
        headers = {'Content-Type': 'application/json'}
        if header:
            headers[bawaba_protocol.SIGNATURE_HEADER] = header
        return self.url_open(self._build_url(BawabaController._webhook_url), data=body, headers=headers)
