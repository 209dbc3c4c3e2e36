# Part of Bawaba. See LICENSE file for full copyright and licensing details.

import json
import time
from unittest.mock import MagicMock, patch

from odoo.addons.payment.tests.http_common import PaymentHttpCommon
from odoo.addons.payment_bawaba import bawaba_protocol
from odoo.addons.payment_bawaba.controllers.main import BawabaController


# Every call to the edge goes through requests.request (method, URL, data, headers).
REQUESTS_REQUEST = 'odoo.addons.payment_bawaba.models.payment_provider.requests.request'


def edge_answer(status, body):
    """A fake answer of the edge, for patching `REQUESTS_REQUEST`."""
    response = MagicMock()
    response.status_code = status
    response.json.return_value = body
    return response


def check_answer(gateways=None, mode='test', origin=None, methods=None, shop_id='odoo-shop'):
    """The edge's answer to `POST /v1/check`: the shop as the edge registers it, and its gateways."""
    answer = {
        'shop': {'id': shop_id, 'origin': origin, 'mode': mode},
        'gateways': gateways if gateways is not None else [gateway_check()],
    }
    if methods is not None:
        answer['methods'] = methods
    return answer


def gateway_check(gateway='sandbox', verdict='ok', message='the key works', mode='test', capture=False):
    """One gateway of the edge's answer to `POST /v1/check`."""
    return {
        'gateway': gateway, 'verdict': verdict, 'message': message, 'latency_ms': 5, 'mode': mode,
        'capabilities': {'refund': True, 'partial_refund': True, 'capture': capture, 'void': capture},
    }


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

    def _origin(self):
        """The origin the edge registers for the test shop: the provider's Public URL."""
        return self.provider._bawaba_get_public_url()

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

    def _post_notification(self, data, secret='shop-secret-for-tests', timestamp=None, header=None, body=None):
        if body is None:
            body = json.dumps(data).encode()
        if header is None:
            header = bawaba_protocol.sign_header(secret, timestamp or int(time.time()), body)
        headers = {'Content-Type': 'application/json'}
        if header:
            headers[bawaba_protocol.SIGNATURE_HEADER] = header
        return self.url_open(self._build_url(BawabaController._webhook_url), data=body, headers=headers)

    def _chatter(self):
        """Catch what is posted on the chatter of the transaction's documents (sale orders,
        invoices: `_log_message_on_linked_documents`), on the registry's class, so whatever
        module overrides it is caught too, in the server's thread as well."""
        return patch.object(type(self.env['payment.transaction']), '_log_message_on_linked_documents')

    def _refund_notification(self, tx, refund, **overrides):
        """A refund result as the edge sends it: `reference` is the payment's, `idempotency_key`
        the key the refund was sent with."""
        data = self._notification(
            event_id='evt_refund_1',
            type='refund.succeeded',
            reference=tx.reference,
            amount=bawaba_protocol.to_minor_units(-refund.amount, refund.currency_id.name),
            idempotency_key=bawaba_protocol.idempotency_key(refund.reference),
            refund_id='re_1',
        )
        data.update(overrides)
        return data

    def _assert_signed_call(self, call, method, path, key=None):
        """Check a call the addon made to the edge (a `requests.request` mock call) as the edge
        does: the signature binds method, path, shop id, key and body. Return the JSON body."""
        self.assertEqual(call.args[:2], (method, f'https://edge.example.test{path}'))
        headers = call.kwargs['headers']
        body = call.kwargs['data']
        self.assertEqual(headers['Bawaba-Shop'], 'odoo-shop')
        self.assertEqual(headers.get('Idempotency-Key'), key)
        bawaba_protocol.verify_call(
            'shop-secret-for-tests', headers['Bawaba-Signature'], method, path, 'odoo-shop', key, body,
            int(time.time()))
        return json.loads(body) if body else None
