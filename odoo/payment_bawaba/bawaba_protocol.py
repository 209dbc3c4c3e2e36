# Part of Bawaba. See LICENSE file for full copyright and licensing details.
"""The Bawaba wire contract, in plain Python (standard library only).

Intents are HS256 JWTs (RFC 7519) the shop signs for the browser to carry to the edge; results
come back with a ``Bawaba-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` header.
This module has no Odoo import so that the protocol vectors in ``tests/vectors/`` can be checked
without a database (``odoo/tests_pure``), and so that Odoo gets no new Python dependency.
"""

import base64
import hashlib
import hmac
import json

AUDIENCE = 'bawaba'
MAX_LIFETIME_SECS = 30 * 60
CLOCK_SKEW_SECS = 60
SIGNATURE_HEADER = 'Bawaba-Signature'
DEFAULT_TOLERANCE_SECS = 300

# ISO 4217 minor-unit exponents the edge accepts (core/src/money.rs).
CURRENCY_EXPONENTS = {
    'SAR': 2, 'AED': 2, 'QAR': 2, 'EGP': 2, 'USD': 2, 'EUR': 2, 'GBP': 2,
    'KWD': 3, 'BHD': 3, 'OMR': 3, 'JOD': 3, 'JPY': 0,
}
KNOWN_CLAIMS = {
    'iss', 'aud', 'sub', 'iat', 'exp', 'amount', 'currency', 'methods', 'return_url', 'notify_url',
    'locale', 'customer_name', 'customer_email',
}
REQUIRED_CLAIMS = KNOWN_CLAIMS - {'locale', 'customer_name', 'customer_email'}


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
    """Return the compact HS256 JWT for ``claims`` (a dict)."""
    header = _b64encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64encode(json.dumps(claims, separators=(',', ':'), ensure_ascii=False).encode())
    signing_input = f'{header}.{payload}'
    return f'{signing_input}.{_b64encode(_hmac(secret, signing_input.encode()))}'


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
    if claims['aud'] != AUDIENCE:
        raise ProtocolError('intent_wrong_audience')
    if claims['exp'] <= now:
        raise ProtocolError('intent_expired')
    if claims['iat'] > now + CLOCK_SKEW_SECS:
        raise ProtocolError('intent_not_yet_valid')
    if claims['exp'] - claims['iat'] > MAX_LIFETIME_SECS:
        raise ProtocolError('intent_lifetime_too_long')
    if claims['currency'] not in CURRENCY_EXPONENTS:
        raise ProtocolError('currency_unsupported')
    if not isinstance(claims['amount'], int) or claims['amount'] <= 0:
        raise ProtocolError('amount_invalid')
    origin = shop['origin'].rstrip('/')
    rest = claims['notify_url'][len(origin):] if claims['notify_url'].startswith(origin) else None
    if rest is None or not (rest == '' or rest[0] in '/?'):
        raise ProtocolError('intent_url_not_allowed')
    return claims


def sign_header(secret, timestamp, body):
    """Return the ``Bawaba-Signature`` value for ``body`` (bytes) at ``timestamp``."""
    mac = _hmac(secret, str(int(timestamp)).encode() + b'.' + body)
    return f't={int(timestamp)},v1={mac.hex()}'


def verify_signature(secret, header, body, now, tolerance=DEFAULT_TOLERANCE_SECS):
    """Verify a ``Bawaba-Signature`` header over the raw ``body`` bytes.

    :raise ProtocolError: ``signature_missing``, ``signature_malformed``, ``signature_expired`` or
        ``signature_invalid``.
    """
    if not header or not header.strip():
        raise ProtocolError('signature_missing')
    timestamp, candidates = None, []
    for part in header.split(','):
        key, sep, value = part.strip().partition('=')
        if not sep:
            raise ProtocolError('signature_malformed')
        if key == 't':
            try:
                timestamp = int(value)
            except ValueError:
                raise ProtocolError('signature_malformed')
        elif key == 'v1':
            try:
                candidates.append(bytes.fromhex(value))
            except ValueError:
                raise ProtocolError('signature_malformed')
    if timestamp is None or not candidates:
        raise ProtocolError('signature_malformed')
    if abs(now - timestamp) > tolerance:
        raise ProtocolError('signature_expired')
    expected = _hmac(secret, str(timestamp).encode() + b'.' + body)
    if not any(hmac.compare_digest(c, expected) for c in candidates):
        raise ProtocolError('signature_invalid')
