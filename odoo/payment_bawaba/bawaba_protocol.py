# Part of Bawaba. See LICENSE file for full copyright and licensing details.
"""The Bawaba wire contract, in plain Python (standard library only).

Intents are HS256 JWTs (RFC 7519) the shop signs for the browser to carry to the edge; results
come back with a ``Bawaba-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` header.
Calls from the shop to the edge (refunds, captures, voids, check) carry the same header, computed
over the canonical call (:func:`canonical_call`): method, path with query, shop id, idempotency
key and body, so a call signed for one route cannot be replayed on another.
This module has no Odoo import so that the protocol vectors in ``tests/vectors/`` can be checked
without a database (``odoo/tests_pure``), and so that Odoo gets no new Python dependency.
"""

import base64
import hashlib
import hmac
import json
import re
import urllib.parse

AUDIENCE = 'bawaba'
# A dashboard link (docs/protocol.md, "The dashboard"): its own audience, so that it never pays.
DASHBOARD_AUDIENCE = 'bawaba-dashboard'
DASHBOARD_MAX_LIFETIME_SECS = 60 * 60
DASHBOARD_LINK_LIFETIME_SECS = 30 * 60
MAX_LIFETIME_SECS = 30 * 60
CLOCK_SKEW_SECS = 60
SIGNATURE_HEADER = 'Bawaba-Signature'
SHOP_HEADER = 'Bawaba-Shop'
IDEMPOTENCY_HEADER = 'Idempotency-Key'
DEFAULT_TOLERANCE_SECS = 300
CALL_SCHEME = 'bawaba-call-v1'
MAX_IDEMPOTENCY_KEY_LEN = 255
_TIMESTAMP = re.compile(r'[+-]?[0-9]+')
_HEX = re.compile(r'(?:[0-9a-fA-F]{2})*')
# Printable ASCII without the space; '%' is kept for the escapes of idempotency_key().
_KEY_SAFE = ''.join(chr(c) for c in range(0x21, 0x7f) if chr(c) != '%')
# The edge's claims are i64: a value outside is refused as it is by the Rust verifier.
_I64_MIN, _I64_MAX = -2 ** 63, 2 ** 63 - 1

# ISO 4217 minor-unit exponents the edge accepts (core/src/money.rs).
CURRENCY_EXPONENTS = {
    'SAR': 2, 'AED': 2, 'QAR': 2, 'EGP': 2, 'USD': 2, 'EUR': 2, 'GBP': 2,
    'KWD': 3, 'BHD': 3, 'OMR': 3, 'JOD': 3, 'JPY': 0,
}
KNOWN_CLAIMS = {
    'iss', 'aud', 'sub', 'iat', 'exp', 'amount', 'currency', 'methods', 'return_url', 'notify_url',
    'locale', 'customer_name', 'customer_email',
    # Registered claims a JWT library may add: `nbf` is honoured, `jti` ignored.
    'nbf', 'jti',
}
REQUIRED_CLAIMS = KNOWN_CLAIMS - {'locale', 'customer_name', 'customer_email', 'nbf', 'jti'}
# The method codes the edge knows (`bawaba_core::method`); an intent naming another is refused.
METHOD_CODES = {'mada', 'visa', 'mastercard', 'amex', 'applepay', 'stcpay', 'paypal'}


class ProtocolError(Exception):
    """A refused intent or signature; ``code`` is the stable error code the edge uses too."""

    def __init__(self, code, message=''):
        super().__init__(message or code)
        self.code = code


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _b64decode(text):
    if not isinstance(text, str) or any(c not in _B64_ALPHABET for c in text):
        raise ValueError('not base64url')
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


_B64_ALPHABET = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')


def _hmac(secret, message):
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def sign_intent(claims, secret):
    """Return the compact HS256 JWT for ``claims`` (a dict): an intent, or any token the shop signs."""
    header = _b64encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64encode(json.dumps(claims, separators=(',', ':'), ensure_ascii=False).encode())
    signing_input = f'{header}.{payload}'
    return f'{signing_input}.{_b64encode(_hmac(secret, signing_input.encode()))}'


def dashboard_url(edge_url, shop_id, secret, now, lang='en', lifetime=DASHBOARD_LINK_LIFETIME_SECS):
    """Return the address of the shop's dashboard at the edge, by a link signed now.

    Whoever holds the link sees the shop's payment statistics until it expires, so it lives at
    most an hour (the edge refuses longer ones) and is made anew each time it is opened.

    :param str edge_url: The edge's address, e.g. `https://pay.example.com`.
    :param str lang: `en` or `ar`.
    """
    lifetime = min(int(lifetime), DASHBOARD_MAX_LIFETIME_SECS)
    claims = {'iss': shop_id, 'aud': DASHBOARD_AUDIENCE, 'iat': int(now), 'exp': int(now) + lifetime}
    token = sign_intent(claims, secret)
    query = urllib.parse.urlencode({'token': token, 'lang': 'ar' if lang == 'ar' else 'en'})
    return f"{edge_url.rstrip('/')}/dashboard?{query}"


def to_minor_units(amount, currency):
    """Convert a major-unit amount (float or Decimal, as Odoo stores it) to integer minor units.

    :raise ProtocolError: ``currency_unsupported`` or ``amount_invalid`` when it would need rounding.
    """
    if currency not in CURRENCY_EXPONENTS:
        raise ProtocolError('currency_unsupported', f'currency {currency!r} is not supported')
    exponent = CURRENCY_EXPONENTS[currency]
    scaled = round(float(amount) * 10 ** exponent, 6)
    if abs(scaled - round(scaled)) > 1e-6:
        raise ProtocolError('amount_invalid', f'{amount} has more than {exponent} decimals')
    return int(round(scaled))


def verify_intent(token, shops, now):
    """Verify an intent as the edge does; return its claims.

    :param dict shops: shop id -> {'secret': ..., 'origin': ...}
    :raise ProtocolError: with the edge's error code.
    """
    parts = token.strip().split('.') if isinstance(token, str) else []
    if len(parts) != 3:
        raise ProtocolError('intent_malformed')
    try:
        header = json.loads(_b64decode(parts[0]))
        payload = _b64decode(parts[1])
        signature = _b64decode(parts[2])
        claims = json.loads(payload)
    except (ValueError, json.JSONDecodeError):
        raise ProtocolError('intent_malformed')
    if not isinstance(header, dict) or header.get('alg') != 'HS256':
        raise ProtocolError('intent_unsupported_algorithm')
    shop = shops.get(claims.get('iss')) if isinstance(claims, dict) else None
    if not shop:
        raise ProtocolError('intent_unknown_shop')
    expected = _hmac(shop['secret'], f'{parts[0]}.{parts[1]}'.encode())
    if not hmac.compare_digest(signature, expected):
        raise ProtocolError('intent_invalid_signature')
    if set(claims) - KNOWN_CLAIMS or REQUIRED_CLAIMS - set(claims):
        raise ProtocolError('intent_invalid_claims')
    iat, exp = claims['iat'], claims['exp']
    nbf = claims.get('nbf')
    if not all(_is_i64(v) for v in (iat, exp)) or (nbf is not None and not _is_i64(nbf)):
        raise ProtocolError('intent_invalid_claims')
    if claims['aud'] != AUDIENCE:
        raise ProtocolError('intent_wrong_audience')
    if exp <= now:
        raise ProtocolError('intent_expired')
    if iat > now + CLOCK_SKEW_SECS or (nbf is not None and nbf > now + CLOCK_SKEW_SECS):
        raise ProtocolError('intent_not_yet_valid')
    # Python's integers do not wrap; Rust checks the subtraction and refuses an overflow as
    # too long a life too, so both say intent_lifetime_too_long for any exp - iat over 1800.
    if exp - iat > MAX_LIFETIME_SECS:
        raise ProtocolError('intent_lifetime_too_long')
    if claims['currency'] not in CURRENCY_EXPONENTS:
        raise ProtocolError('currency_unsupported')
    if not isinstance(claims['amount'], int) or claims['amount'] <= 0:
        raise ProtocolError('amount_invalid')
    if not is_on_origin(claims['notify_url'], shop['origin']):
        raise ProtocolError('intent_url_not_allowed')
    if not isinstance(claims['methods'], list) or any(m not in METHOD_CODES for m in claims['methods']):
        raise ProtocolError('method_unknown')
    return claims


def is_on_origin(url, origin):
    """Whether ``url`` is on ``origin`` as the edge checks a ``notify_url`` against the shop's
    registered origin: it starts with the origin (without its final ``/``), followed by nothing,
    a ``/`` or a ``?`` (so ``https://shop.example.com.evil`` is not on ``https://shop.example.com``).
    """
    if not isinstance(url, str) or not isinstance(origin, str) or not origin:
        return False
    origin = origin.rstrip('/')
    if not url.startswith(origin):
        return False
    rest = url[len(origin):]
    return rest == '' or rest[0] in '/?'


def _is_i64(value):
    return isinstance(value, int) and not isinstance(value, bool) and _I64_MIN <= value <= _I64_MAX


def sign_header(secret, timestamp, body):
    """Return the ``Bawaba-Signature`` value for ``body`` (bytes) at ``timestamp``."""
    mac = _hmac(secret, str(int(timestamp)).encode() + b'.' + body)
    return f't={int(timestamp)},v1={mac.hex()}'


def _parse_header(header):
    """Parse ``t=<int>,v1=<hex>[,v1=…]`` (unknown keys ignored); return (timestamp, candidates)."""
    if not header or not header.strip():
        raise ProtocolError('signature_missing')
    timestamp, candidates = None, []
    for part in header.split(','):
        key, sep, value = part.strip().partition('=')
        if not sep:
            raise ProtocolError('signature_malformed')
        # As strict as Rust's i64 and hex parsers: no '_', no non-ASCII digits, no inner spaces.
        if key == 't':
            if not _TIMESTAMP.fullmatch(value) or not _is_i64(int(value)):
                raise ProtocolError('signature_malformed')
            timestamp = int(value)
        elif key == 'v1':
            if not _HEX.fullmatch(value):
                raise ProtocolError('signature_malformed')
            candidates.append(bytes.fromhex(value))
    if timestamp is None or not candidates:
        raise ProtocolError('signature_malformed')
    return timestamp, candidates


def _check(timestamp, candidates, expected, now, tolerance):
    if abs(now - timestamp) > tolerance:
        raise ProtocolError('signature_expired')
    if not any(hmac.compare_digest(c, expected) for c in candidates):
        raise ProtocolError('signature_invalid')


def verify_signature(secret, header, body, now, tolerance=DEFAULT_TOLERANCE_SECS):
    """Verify a ``Bawaba-Signature`` header over the raw ``body`` bytes.

    :raise ProtocolError: ``signature_missing``, ``signature_malformed``, ``signature_expired`` or
        ``signature_invalid``.
    """
    timestamp, candidates = _parse_header(header)
    _check(timestamp, candidates, _hmac(secret, str(timestamp).encode() + b'.' + body), now, tolerance)


def _call_parts(method, path_and_query, shop_id, idempotency_key):
    return [method, path_and_query, shop_id, idempotency_key or '']


def canonical_call(timestamp, method, path_and_query, shop_id, idempotency_key, body):
    """The exact bytes a shop → edge call is signed over::

        bawaba-call-v1\n<t>\n<METHOD>\n<path_and_query>\n<shop_id>\n<idempotency key or empty>\n<raw body>

    :param str method: ``POST`` or ``GET``, upper case as sent.
    :param str path_and_query: e.g. ``/v1/refunds`` or ``/v1/deliveries?state=failing``, as on the wire.
    :param str shop_id: the ``Bawaba-Shop`` header.
    :param idempotency_key: the ``Idempotency-Key`` header, or None when none is sent.
    :param bytes body: the raw body (``b''`` for a GET).
    """
    lines = [CALL_SCHEME, str(int(timestamp))] + _call_parts(method, path_and_query, shop_id, idempotency_key)
    return ''.join(f'{line}\n' for line in lines).encode() + body


def sign_call(secret, timestamp, method, path_and_query, shop_id, idempotency_key, body):
    """Return the ``Bawaba-Signature`` value of a shop → edge call signed at ``timestamp``."""
    canonical = canonical_call(timestamp, method, path_and_query, shop_id, idempotency_key, body)
    return f't={int(timestamp)},v1={_hmac(secret, canonical).hex()}'


def verify_call(secret, header, method, path_and_query, shop_id, idempotency_key, body, now,
                tolerance=DEFAULT_TOLERANCE_SECS):
    """Verify the ``Bawaba-Signature`` of a shop → edge call, as the edge does.

    :raise ProtocolError: ``signature_missing``, ``signature_malformed`` (also when the method,
        path, shop id or key contains a line break), ``signature_expired`` or ``signature_invalid``.
    """
    timestamp, candidates = _parse_header(header)
    if any('\n' in part for part in _call_parts(method, path_and_query, shop_id, idempotency_key)):
        raise ProtocolError('signature_malformed')
    canonical = canonical_call(timestamp, method, path_and_query, shop_id, idempotency_key, body)
    _check(timestamp, candidates, _hmac(secret, canonical), now, tolerance)


def is_valid_idempotency_key(key):
    """Whether ``key`` is what the edge takes: 1 to 255 printable ASCII characters, no spaces."""
    return (isinstance(key, str) and 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LEN
            and all('\x21' <= c <= '\x7e' for c in key))


def idempotency_key(text):
    """The ``Idempotency-Key`` for ``text`` (a transaction reference, with a suffix or not).

    A reference of printable ASCII is its own key (``R-S00042``); spaces, non-ASCII characters
    (an Arabic sequence prefix) and ``%`` are percent-encoded (UTF-8), so that
    :func:`idempotency_key_texts` finds the reference again when the edge echoes the key. A key
    that would be longer than 255 characters is the SHA-256 of the text instead.
    """
    key = urllib.parse.quote(text, safe=_KEY_SAFE)
    if len(key) > MAX_IDEMPOTENCY_KEY_LEN:
        key = 'sha256-' + hashlib.sha256(text.encode()).hexdigest()
    return key


def idempotency_key_texts(key):
    """The texts an echoed ``Idempotency-Key`` may stand for: the key itself and its decoding."""
    if not isinstance(key, str) or not key:
        return []
    return list(dict.fromkeys([key, urllib.parse.unquote(key)]))
