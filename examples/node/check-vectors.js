// Runs the protocol vectors (tests/vectors/) through shop.js's signature code, so a wrong
// implementation fails: `node check-vectors.js [vectors directory]`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { verifySignature, canonicalCall, signCall } = require('./shop.js');

const dir = process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'vectors');
const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
let passed = 0;
let failed = 0;
function check(name, got, want) {
  if (got === want) passed += 1;
  else {
    failed += 1;
    console.log(`FAIL ${name}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

const notifications = read('notification_signatures.json');
for (const c of notifications.cases) {
  const verdict = verifySignature(notifications.secret, c.header, Buffer.from(c.body, 'utf8'), c.now);
  check(`notification, ${c.name}`, verdict || 'ok', c.expect);
}
const calls = read('call_signatures.json');
for (const c of calls.cases.filter((c) => c.expect === 'ok')) {
  const t = Number(/^t=([0-9]+),/.exec(c.header)[1]);
  const args = [t, c.method, c.path_and_query, c.shop_id, c.idempotency_key, c.body];
  check(`call, ${c.name}: canonical`, canonicalCall(...args), c.canonical);
  check(`call, ${c.name}: header`, signCall(calls.secret, ...args), c.header);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
