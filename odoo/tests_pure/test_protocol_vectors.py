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
