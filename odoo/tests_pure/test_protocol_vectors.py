"""The addon's protocol module against every file in tests/vectors/ (no Odoo needed)."""

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    'bawaba_protocol', ROOT / 'odoo' / 'payment_bawaba' / 'bawaba_protocol.py')
protocol = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(protocol)

INTENTS = json.loads((ROOT / 'tests' / 'vectors' / 'intents.json').read_text())
SIGNATURES = json.loads((ROOT / 'tests' / 'vectors' / 'notification_signatures.json').read_text())
CALLS = json.loads((ROOT / 'tests' / 'vectors' / 'call_signatures.json').read_text())


@pytest.mark.parametrize('case', INTENTS['cases'], ids=lambda c: c['name'])
def test_intent_vectors(case):
    shops = {s['id']: s for s in INTENTS['shops']}
    expect = case['expect']
    if expect['valid']:
        claims = protocol.verify_intent(case['token'], shops, INTENTS['now'])
        assert claims['sub'] == expect['reference']
        assert claims['amount'] == expect['amount']
        assert claims['currency'] == expect['currency']
    else:
        with pytest.raises(protocol.ProtocolError) as err:
            protocol.verify_intent(case['token'], shops, INTENTS['now'])
        assert err.value.code == expect['error']


@pytest.mark.parametrize('case', SIGNATURES['cases'], ids=lambda c: c['name'])
def test_signature_vectors(case):
    body = case['body'].encode()
    if case['expect'] == 'ok':
        protocol.verify_signature(SIGNATURES['secret'], case['header'], body, case['now'], SIGNATURES['tolerance_secs'])
    else:
        with pytest.raises(protocol.ProtocolError) as err:
            protocol.verify_signature(
                SIGNATURES['secret'], case['header'], body, case['now'], SIGNATURES['tolerance_secs'])
        assert err.value.code == case['expect']


def test_python_signs_exactly_like_rust():
    """The valid vectors were produced by the Rust core: Python must produce the same bytes."""
    valid = next(c for c in INTENTS['cases'] if c['name'] == 'valid')
    shop = INTENTS['shops'][0]
    claims = protocol.verify_intent(valid['token'], {shop['id']: shop}, INTENTS['now'])
    assert protocol.sign_intent(claims, shop['secret']) == valid['token']
    sig = next(c for c in SIGNATURES['cases'] if c['name'] == 'valid')
    assert protocol.sign_header(SIGNATURES['secret'], sig['now'], sig['body'].encode()) == sig['header']


def _call_args(case):
    return (case['method'], case['path_and_query'], case['shop_id'], case['idempotency_key'],
            case['body'].encode())


@pytest.mark.parametrize('case', CALLS['cases'], ids=lambda c: c['name'])
def test_call_signature_vectors(case):
    verify = lambda: protocol.verify_call(  # noqa: E731
        CALLS['secret'], case['header'], *_call_args(case), case['now'], CALLS['tolerance_secs'])
    if case['expect'] == 'ok':
        verify()
    else:
        with pytest.raises(protocol.ProtocolError) as err:
            verify()
        assert err.value.code == case['expect']


@pytest.mark.parametrize('case', [c for c in CALLS['cases'] if c['expect'] == 'ok'], ids=lambda c: c['name'])
def test_python_signs_calls_exactly_like_rust(case):
    timestamp = int(case['header'].split(',')[0].removeprefix('t='))
    assert protocol.canonical_call(timestamp, *_call_args(case)) == case['canonical'].encode()
    assert protocol.sign_call(CALLS['secret'], timestamp, *_call_args(case)) == case['header']


def test_the_call_vectors_cover_every_replay():
    names = ' '.join(c['name'] for c in CALLS['cases'])
    for what in ('/v1/voids', 'another query', 'another shop', 'another key', 'without the key',
                 'another body', 'out of tolerance', 'another secret'):
        assert what in names
    assert {c['expect'] for c in CALLS['cases']} >= {
        'ok', 'signature_invalid', 'signature_expired', 'signature_malformed', 'signature_missing'}


def test_a_call_signature_is_not_a_notification_signature():
    body = b'{"reference":"S1"}'
    call = ('POST', '/v1/refunds', 'shop', 'R-S1', body)
    header = protocol.sign_call('s', 1000, *call)
    with pytest.raises(protocol.ProtocolError) as err:
        protocol.verify_signature('s', header, body, 1000)
    assert err.value.code == 'signature_invalid'
    with pytest.raises(protocol.ProtocolError) as err:
        protocol.verify_call('s', protocol.sign_header('s', 1000, body), *call, 1000)
    assert err.value.code == 'signature_invalid'


def test_the_overflowing_intent_is_refused_with_the_rust_code():
    case = next(c for c in INTENTS['cases'] if c['name'] == 'time claims that overflow')
    assert case['expect']['error'] == 'intent_lifetime_too_long'
    shops = {s['id']: s for s in INTENTS['shops']}
    with pytest.raises(protocol.ProtocolError) as err:
        protocol.verify_intent(case['token'], shops, INTENTS['now'])
    assert err.value.code == 'intent_lifetime_too_long'


@pytest.mark.parametrize('iat, exp', [(1.5, 1800000900), (True, 1800000900), (-2 ** 63 - 1, 1800000900),
                                      (1799999990, 2 ** 63), (1799999990, '1800000900')])
def test_time_claims_outside_i64_or_mistyped_are_invalid_claims(iat, exp):
    shop = INTENTS['shops'][0]
    claims = {'iss': shop['id'], 'aud': 'bawaba', 'sub': 'S1', 'iat': iat, 'exp': exp, 'amount': 100,
              'currency': 'SAR', 'methods': ['mada'], 'return_url': 'https://shop.example/r',
              'notify_url': 'https://shop.example/n'}
    token = protocol.sign_intent(claims, shop['secret'])
    with pytest.raises(protocol.ProtocolError) as err:
        protocol.verify_intent(token, {shop['id']: shop}, INTENTS['now'])
    assert err.value.code == 'intent_invalid_claims'


@pytest.mark.parametrize('reference, key', [
    ('R-S00042', 'R-S00042'),
    ('S00042:capture', 'S00042:capture'),
    ('R-Test Transaction', 'R-Test%20Transaction'),
    ('R-فاتورة/1', 'R-%D9%81%D8%A7%D8%AA%D9%88%D8%B1%D8%A9/1'),
    ('50%', '50%25'),
])
def test_an_idempotency_key_is_valid_and_leads_back_to_its_reference(reference, key):
    assert protocol.idempotency_key(reference) == key
    assert protocol.is_valid_idempotency_key(key)
    assert reference in protocol.idempotency_key_texts(key)


def test_a_reference_too_long_for_a_key_is_hashed():
    key = protocol.idempotency_key('R-' + 'x' * 300)
    assert protocol.is_valid_idempotency_key(key) and key.startswith('sha256-')


@pytest.mark.parametrize('key', ['', 'a b', 'k' * 256, 'é', 'a\nb', None])
def test_what_the_edge_refuses_as_a_key(key):
    assert not protocol.is_valid_idempotency_key(key)


@pytest.mark.parametrize('amount, currency, minor', [
    (45.5, 'SAR', 4550), (100, 'SAR', 10000), (1.5, 'KWD', 1500), (0.01, 'SAR', 1), (7, 'JPY', 7),
])
def test_minor_units(amount, currency, minor):
    assert protocol.to_minor_units(amount, currency) == minor


def test_minor_units_never_round():
    with pytest.raises(protocol.ProtocolError) as err:
        protocol.to_minor_units(1.005, 'SAR')
    assert err.value.code == 'amount_invalid'
    with pytest.raises(protocol.ProtocolError):
        protocol.to_minor_units(1, 'XYZ')


_const_spec = importlib.util.spec_from_file_location(
    'bawaba_const', ROOT / 'odoo' / 'payment_bawaba' / 'const.py')
const = importlib.util.module_from_spec(_const_spec)
_const_spec.loader.exec_module(const)

CURRENCIES = json.loads((ROOT / 'tests' / 'vectors' / 'currencies.json').read_text())


def test_the_exponent_table_is_the_edges():
    assert protocol.CURRENCY_EXPONENTS == CURRENCIES['exponents']


@pytest.mark.parametrize('currency', sorted(CURRENCIES['exponents']))
def test_minor_units_follow_the_exponent(currency):
    exponent = CURRENCIES['exponents'][currency]
    assert protocol.to_minor_units(1, currency) == 10 ** exponent


def test_odoo_offers_bawaba_in_exactly_the_currencies_a_gateway_accepts():
    accepted = set().union(*CURRENCIES['gateways'].values())
    assert set(const.SUPPORTED_CURRENCIES) == accepted


@pytest.mark.parametrize('url, origin, expected', [
    ('https://shop.example.com/payment/bawaba/webhook', 'https://shop.example.com', True),
    ('https://shop.example.com/payment/bawaba/webhook', 'https://shop.example.com/', True),
    ('https://shop.example.com', 'https://shop.example.com', True),
    ('https://shop.example.com?x=1', 'https://shop.example.com', True),
    ('https://shop.example.com.evil.test/payment/bawaba/webhook', 'https://shop.example.com', False),
    ('https://shop.example.com:8443/payment/bawaba/webhook', 'https://shop.example.com', False),
    ('http://shop.example.com/payment/bawaba/webhook', 'https://shop.example.com', False),
    ('https://www.shop.example.com/payment/bawaba/webhook', 'https://shop.example.com', False),
    ('https://shop.example.com/odoo/payment/bawaba/webhook', 'https://shop.example.com/odoo', True),
    ('https://shop.example.com/odoo2/payment', 'https://shop.example.com/odoo', False),
    ('https://shop.example.com/payment', '', False),
    (None, 'https://shop.example.com', False),
])
def test_is_on_origin_is_the_edges_notify_url_rule(url, origin, expected):
    """The rule Test connection checks the Public URL with is the one the edge applies to an
    intent's notify_url (and verify_intent in the vectors above)."""
    assert protocol.is_on_origin(url, origin) is expected


DASHBOARD_LINKS = json.loads((ROOT / 'tests' / 'vectors' / 'dashboard_links.json').read_text())


def test_python_signs_dashboard_links_exactly_like_rust():
    """The edge checks the link Odoo signs: the same claims make the same bytes on both sides."""
    valid = next(c for c in DASHBOARD_LINKS['cases'] if c['name'] == 'valid')
    claims = valid['claims']
    assert claims['aud'] == protocol.DASHBOARD_AUDIENCE == DASHBOARD_LINKS['audience']
    assert protocol.DASHBOARD_MAX_LIFETIME_SECS == DASHBOARD_LINKS['max_lifetime_secs']
    url = protocol.dashboard_url(
        'https://pay.example.com/', DASHBOARD_LINKS['shop_id'], DASHBOARD_LINKS['secret'], claims['iat'],
        lang='ar', lifetime=claims['exp'] - claims['iat'])
    assert url == f"https://pay.example.com/dashboard?token={valid['token']}&lang=ar"


def test_a_dashboard_link_never_lives_longer_than_the_edge_accepts():
    url = protocol.dashboard_url('https://pay.example.com', 'shop', 'secret', 1000, lifetime=10 ** 6)
    token = url.split('token=')[1].split('&')[0]
    claims = json.loads(protocol._b64decode(token.split('.')[1]))
    assert claims['exp'] - claims['iat'] == protocol.DASHBOARD_MAX_LIFETIME_SECS
