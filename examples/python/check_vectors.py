"""Runs the protocol vectors (tests/vectors/) through shop.py's signature code, so a wrong
implementation fails: ``python3 check_vectors.py [vectors directory]``."""

import json
import os
import re
import sys

import shop

directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'vectors')
passed = failed = 0


def read(name):
    with open(os.path.join(directory, name), encoding='utf-8') as f:
        return json.load(f)


def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f'FAIL {name}: got {got!r}, expected {want!r}')


notifications = read('notification_signatures.json')
for c in notifications['cases']:
    verdict = shop.verify_signature(notifications['secret'], c['header'], c['body'].encode(), c['now'])
    check(f"notification, {c['name']}", verdict or 'ok', c['expect'])
calls = read('call_signatures.json')
for c in (c for c in calls['cases'] if c['expect'] == 'ok'):
    t = int(re.match(r't=([0-9]+),', c['header']).group(1))
    args = (t, c['method'], c['path_and_query'], c['shop_id'], c['idempotency_key'], c['body'].encode())
    check(f"call, {c['name']}: canonical", shop.canonical_call(*args), c['canonical'].encode())
    check(f"call, {c['name']}: header", shop.sign_call(calls['secret'], *args), c['header'])
print(f'{passed} passed, {failed} failed')
sys.exit(0 if failed == 0 and passed > 0 else 1)
