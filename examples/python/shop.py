"""A shop backend for Bawaba in plain Python (the standard library's http.server, and PyJWT):
a checkout page carrying a signed intent, the receiver of the edge's signed notifications, and
a signed refund. The contract is docs/protocol.md; examples/README.md says how to run this
against the demo.

    pip install -r requirements.txt && BAWABA_SHOP_SECRET=… python3 shop.py
"""

import datetime
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt  # PyJWT, pinned in requirements.txt

PORT = int(os.environ.get('PORT', '8000'))
EDGE = os.environ.get('BAWABA_EDGE', 'http://127.0.0.1:8787').rstrip('/')
SHOP_ID = os.environ.get('BAWABA_SHOP_ID', 'example')
SECRET = os.environ.get('BAWABA_SHOP_SECRET', '')  # shared with the edge only: never in a page
ORIGIN = os.environ.get('SHOP_ORIGIN', f'http://127.0.0.1:{PORT}')  # as registered on the edge
DB = os.environ.get('SHOP_DB') or os.path.join(tempfile.gettempdir(), 'bawaba-example-python.json')
PRICE = 4550  # one bag of coffee, 45.50 SAR, in halalas: amounts are integer minor units

# ---- The intent (docs/protocol.md, "Intent") ----


def mint_intent(order):
    """The HS256 JWT the page hands to the widget; the edge takes the amount from it alone."""
    now = datetime.datetime.now(tz=datetime.timezone.utc)
    claims = {
        'iss': SHOP_ID,
        'aud': 'bawaba',
        'sub': order['reference'],
        'iat': now,  # PyJWT writes datetimes as whole seconds, as the edge wants
        'exp': now + datetime.timedelta(minutes=15),  # at most 30 minutes
        'amount': order['amount'],
        'currency': order['currency'],
        'methods': ['mada', 'visa', 'mastercard'],
        'return_url': f"{ORIGIN}/orders/{order['reference']}",  # the edge adds ?reference=…&status=…
        'notify_url': f'{ORIGIN}/bawaba/notify',  # must be on the shop's registered origin
        'locale': 'en',
    }
    return jwt.encode(claims, SECRET, algorithm='HS256')


# ---- Verifying a notification (docs/protocol.md, "Notification") ----

_TIMESTAMP = re.compile(r'[+-]?[0-9]+')
_HEX = re.compile(r'(?:[0-9a-fA-F]{2})*')


def verify_signature(secret, header, body, now=None, tolerance=300):
    """Check ``Bawaba-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``
    over the exact bytes received. Return None when it holds, else why not (the edge's codes)."""
    if not header or not header.strip():
        return 'signature_missing'
    t, candidates = None, []
    for part in header.split(','):
        key, sep, value = part.strip().partition('=')
        if not sep:
            return 'signature_malformed'
        if key == 't':
            if not _TIMESTAMP.fullmatch(value):  # int() would also take '1_800' or ' 1800'
                return 'signature_malformed'
            t = int(value)
        elif key == 'v1':
            if not _HEX.fullmatch(value):
                return 'signature_malformed'
            candidates.append(bytes.fromhex(value))  # several during a secret rotation: one is enough
        # other keys (a future v2=) are ignored
    if t is None or not candidates:
        return 'signature_malformed'
    if abs((int(time.time()) if now is None else now) - t) > tolerance:
        return 'signature_expired'
    expected = hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).digest()
    if not any(hmac.compare_digest(c, expected) for c in candidates):
        return 'signature_invalid'
    return None


# ---- Signing a call to the edge (docs/protocol.md, "Signed shop → edge calls") ----


def canonical_call(t, method, path_and_query, shop_id, idempotency_key, body):
    """The bytes a call's MAC covers: it binds the method, path, shop, key and body together."""
    head = f"bawaba-call-v1\n{t}\n{method}\n{path_and_query}\n{shop_id}\n{idempotency_key or ''}\n"
    return head.encode() + body


def sign_call(secret, t, method, path_and_query, shop_id, idempotency_key, body):
    canonical = canonical_call(t, method, path_and_query, shop_id, idempotency_key, body)
    return f't={t},v1={hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()}'


def refund(reference, amount, key):
    """POST /v1/refunds, signed. The same key with the same body never refunds twice."""
    body = json.dumps({'reference': reference, 'amount': amount}).encode()
    t = int(time.time())
    request = urllib.request.Request(f'{EDGE}/v1/refunds', data=body, method='POST', headers={
        'Content-Type': 'application/json',
        'Bawaba-Shop': SHOP_ID,
        'Idempotency-Key': key,
        'Bawaba-Signature': sign_call(SECRET, t, 'POST', '/v1/refunds', SHOP_ID, key, body),
    })
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:  # a 4xx or 5xx, with the edge's JSON error
        return refused.code, refused.read().decode()


# ---- The shop's orders: one JSON file, written before a notification is acknowledged ----

_lock = threading.Lock()  # the server answers requests in threads


def load():
    try:
        with open(DB, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        return {'orders': {}, 'events': {}}


def save(db):
    with open(DB + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(db, f)
    os.replace(DB + '.tmp', DB)


def receive(header, raw):
    """POST /bawaba/notify: verify, deduplicate on event_id, store, and only then answer 2xx."""
    refused = verify_signature(SECRET, header, raw)
    if refused:
        return 401, refused
    event = json.loads(raw)
    with _lock:
        db = load()
        if event['event_id'] in db['events']:
            return 200, 'duplicate'  # a retry of what is stored already
        db['events'][event['event_id']] = event['type']
        order = db['orders'].get(event.get('reference'))
        if order:  # an unknown reference (or a gateway.* event) is kept, and 2xx
            apply(order, event)
        save(db)  # if this raises, the edge gets a 500 and delivers the event again later
    return 200, 'stored'


def apply(order, event):
    order['events'].append({'event_id': event['event_id'], 'type': event['type']})
    kind = event['type']
    if kind == 'payment.succeeded':  # also after failed or canceled: the gateway has the money
        order['status'] = 'paid'
    elif kind == 'payment.authorized':
        order['status'] = 'authorized'
    elif kind == 'payment.failed' and order['status'] == 'new':
        order['status'] = 'failed'
    elif kind == 'payment.canceled' and order['status'] == 'new':
        order['status'] = 'canceled'
    elif kind == 'payment.voided':
        order['status'] = 'voided'
    elif kind == 'refund.succeeded':
        order['refunded'] += event['amount']
    # refund.failed, payment.duplicate_*, and types to come: kept in order['events']


# ---- Pages ----

esc = html.escape


def sar(halalas):
    return f'{halalas / 100:.2f} SAR'


def page(title, body):
    return (f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{esc(title)}</title>\n'
            f'<h1>{esc(title)}</h1>\n{body}\n')


def order_page(order, hint):
    out = f'<main data-status="{esc(order["status"])}" data-refunded="{order["refunded"]}">\n'
    out += f'<p>{sar(order["amount"])}: <b>{esc(order["status"])}</b>, refunded {sar(order["refunded"])}</p>\n'
    if hint:
        out += f'<p>The edge says <i>{esc(hint)}</i>; this page trusts only the signed notification.</p>\n'
    if order['status'] == 'new':
        out += f'<script type="module" src="{esc(EDGE)}/bawaba.js"></script>\n'
        out += f'<bawaba-checkout intent="{mint_intent(order)}" edge="{esc(EDGE)}" lang="en"></bawaba-checkout>\n'
    if order['status'] == 'paid':
        # A fresh key per form shown: the same form sent twice refunds once.
        out += (f'<form method="post" action="/orders/{esc(order["reference"])}/refund">\n'
                f'<input name="amount" value="{order["amount"] - order["refunded"]}"> halalas\n'
                f'<input type="hidden" name="key" value="refund-{secrets.token_hex(16)}"><button>Refund</button></form>\n')
    out += '<h2>Signed notifications</h2>\n<ul>\n'
    for e in order['events']:
        out += f'<li data-event="{esc(e["event_id"])}">{esc(e["type"])}</li>\n'
    return page(f'Order {order["reference"]}', out + '</ul>\n</main>')


def route(method, target, headers, raw):
    """Returns (status, body, location)."""
    url = urllib.parse.urlsplit(target)
    form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode('utf-8', 'replace')).items()}
    parts = [p for p in url.path.split('/') if p]  # ['orders', ref, 'refund']
    if method == 'GET' and url.path == '/':
        buy = (f'<form method="post" action="/orders">Saudi coffee, 250 g, {sar(PRICE)}\n'
               '<input name="quantity" value="1" size="2"> <button>Buy</button></form>')
        return 200, page('Example shop (Python)', buy), None
    if method == 'POST' and url.path == '/orders':
        quantity = min(max(int(form.get('quantity', '1')), 1), 10) if form.get('quantity', '1').isdigit() else 1
        reference = f'P{int(time.time()):X}{secrets.token_hex(2).upper()}'
        with _lock:
            db = load()
            db['orders'][reference] = {'reference': reference, 'amount': PRICE * quantity, 'currency': 'SAR',
                                       'status': 'new', 'refunded': 0, 'events': []}
            save(db)
        return 303, '', f'/orders/{reference}'
    if method == 'POST' and url.path == '/bawaba/notify':
        status, text = receive(headers.get('Bawaba-Signature'), raw)
        return status, text, None
    order = load()['orders'].get(parts[1]) if len(parts) >= 2 and parts[0] == 'orders' else None
    if method == 'GET' and order and len(parts) == 2:
        hint = urllib.parse.parse_qs(url.query).get('status', [None])[0]
        return 200, order_page(order, hint), None
    if method == 'POST' and order and parts[2:] == ['refund']:
        status, text = refund(order['reference'], int(form.get('amount', '0')), form.get('key', ''))
        body = (f'<section data-http="{status}"><p>The edge answered HTTP {status}:</p>\n'
                f'<pre>{esc(text)}</pre><p><a href="/orders/{esc(order["reference"])}">Back to the order</a></p></section>')
        return 200, page(f'Refund of {order["reference"]}', body), None
    return 404, page('Not found', ''), None


class Handler(BaseHTTPRequestHandler):
    def handle_one(self):
        raw = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        try:
            status, body, location = route(self.command, self.path, self.headers, raw)
        except Exception:  # any failure is a 500: the edge will deliver the notification again
            traceback.print_exc()
            status, body, location = 500, 'internal error', None
        data = body.encode()
        self.send_response(status)
        if location:
            self.send_header('Location', location)
        kind = 'text/html; charset=utf-8' if body.startswith('<!doctype') else 'text/plain'
        self.send_header('Content-Type', kind)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = handle_one


if __name__ == '__main__':
    if not SECRET:
        raise SystemExit('Set BAWABA_SHOP_SECRET to the shop secret registered on the edge (examples/README.md).')
    print(f'Example shop on {ORIGIN}, edge {EDGE}, shop id {SHOP_ID}', flush=True)
    ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
