// A shop backend for Bawaba in plain Node.js (no framework): a checkout page carrying a signed
// intent, the receiver of the edge's signed notifications, and a signed refund.
// The contract is docs/protocol.md; examples/README.md says how to run this against the demo.
//
//   npm ci && BAWABA_SHOP_SECRET=… node shop.js      (then open http://127.0.0.1:8000/)
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const jwt = require('jsonwebtoken'); // pinned in package-lock.json

const PORT = Number(process.env.PORT || 8000);
const EDGE = (process.env.BAWABA_EDGE || 'http://127.0.0.1:8787').replace(/\/$/, '');
const SHOP_ID = process.env.BAWABA_SHOP_ID || 'example';
const SECRET = process.env.BAWABA_SHOP_SECRET; // shared with the edge only: never in a page
const ORIGIN = process.env.SHOP_ORIGIN || `http://127.0.0.1:${PORT}`; // as registered on the edge
const DB = process.env.SHOP_DB || path.join(os.tmpdir(), 'bawaba-example-node.json');
const PRICE = 4550; // one bag of coffee, 45.50 SAR, in halalas: amounts are integer minor units

// ---- The intent (docs/protocol.md, "Intent") ----

/** The HS256 JWT the page hands to the widget; the edge takes the amount from it alone. */
function mintIntent(order) {
  const claims = {
    amount: order.amount,
    currency: order.currency,
    methods: ['mada', 'visa', 'mastercard'],
    return_url: `${ORIGIN}/orders/${order.reference}`, // the edge adds ?reference=…&status=…
    notify_url: `${ORIGIN}/bawaba/notify`, // must be on the shop's registered origin
    locale: 'en',
  };
  // jsonwebtoken's defaults: HS256, and an `iat` of whole seconds (which the edge accepts).
  return jwt.sign(claims, SECRET, { issuer: SHOP_ID, audience: 'bawaba', subject: order.reference, expiresIn: 900 });
}

// ---- Verifying a notification (docs/protocol.md, "Notification") ----

/**
 * Checks `Bawaba-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
 * over the exact bytes received. Returns null when it holds, else why not (the edge's codes).
 */
function verifySignature(secret, header, body, now = Math.floor(Date.now() / 1000), tolerance = 300) {
  if (!header || !header.trim()) return 'signature_missing';
  let t = null;
  const candidates = [];
  for (const part of header.split(',')) {
    const item = part.trim();
    const i = item.indexOf('=');
    if (i < 0) return 'signature_malformed';
    const [key, value] = [item.slice(0, i), item.slice(i + 1)];
    if (key === 't') {
      if (!/^[+-]?[0-9]+$/.test(value)) return 'signature_malformed';
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^([0-9a-fA-F]{2})*$/.test(value)) return 'signature_malformed';
      candidates.push(Buffer.from(value, 'hex')); // several during a secret rotation: one is enough
    } // other keys (a future v2=) are ignored
  }
  if (t === null || candidates.length === 0) return 'signature_malformed';
  if (Math.abs(now - t) > tolerance) return 'signature_expired';
  const expected = crypto.createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  const match = candidates.some((c) => c.length === expected.length && crypto.timingSafeEqual(c, expected));
  return match ? null : 'signature_invalid';
}

// ---- Signing a call to the edge (docs/protocol.md, "Signed shop → edge calls") ----

/** The bytes a call's MAC covers: it binds the method, path, shop, key and body together. */
function canonicalCall(t, method, pathAndQuery, shopId, idempotencyKey, body) {
  return `bawaba-call-v1\n${t}\n${method}\n${pathAndQuery}\n${shopId}\n${idempotencyKey || ''}\n${body}`;
}

function signCall(secret, t, method, pathAndQuery, shopId, idempotencyKey, body) {
  const canonical = canonicalCall(t, method, pathAndQuery, shopId, idempotencyKey, body);
  return `t=${t},v1=${crypto.createHmac('sha256', secret).update(canonical).digest('hex')}`;
}

/** POST /v1/refunds, signed. The same key with the same body never refunds twice. */
async function refund(reference, amount, key) {
  const body = JSON.stringify({ reference, amount });
  const t = Math.floor(Date.now() / 1000);
  const answer = await fetch(`${EDGE}/v1/refunds`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Bawaba-Shop': SHOP_ID,
      'Idempotency-Key': key,
      'Bawaba-Signature': signCall(SECRET, t, 'POST', '/v1/refunds', SHOP_ID, key, body),
    },
    body,
  });
  return { status: answer.status, text: await answer.text() };
}

// ---- The shop's orders: one JSON file, written before a notification is acknowledged ----

function load() {
  try {
    return JSON.parse(fs.readFileSync(DB, 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return { orders: {}, events: {} };
    throw e;
  }
}

function save(db) {
  fs.writeFileSync(`${DB}.tmp`, JSON.stringify(db));
  fs.renameSync(`${DB}.tmp`, DB);
}

/** POST /bawaba/notify: verify, deduplicate on event_id, store, and only then answer 2xx. */
function receive(header, raw) {
  const refused = verifySignature(SECRET, header, raw);
  if (refused) return [401, refused];
  const event = JSON.parse(raw);
  const db = load();
  if (db.events[event.event_id]) return [200, 'duplicate']; // a retry of what is stored already
  db.events[event.event_id] = event.type;
  const order = db.orders[event.reference];
  if (order) apply(order, event); // an unknown reference (or a gateway.* event) is kept, and 2xx
  save(db); // if this throws, the edge gets a 500 and delivers the event again later
  return [200, 'stored'];
}

function apply(order, event) {
  order.events.push({ event_id: event.event_id, type: event.type });
  switch (event.type) {
    case 'payment.succeeded': // also after failed or canceled: the gateway has the money
      order.status = 'paid';
      break;
    case 'payment.authorized':
      order.status = 'authorized';
      break;
    case 'payment.failed':
      if (order.status === 'new') order.status = 'failed';
      break;
    case 'payment.canceled':
      if (order.status === 'new') order.status = 'canceled';
      break;
    case 'payment.voided':
      order.status = 'voided';
      break;
    case 'refund.succeeded':
      order.refunded += event.amount;
      break;
    default: // refund.failed, payment.duplicate_*, and types to come: kept in order.events
  }
}

// ---- Pages ----

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const sar = (halalas) => `${(halalas / 100).toFixed(2)} SAR`;
const page = (title, body) =>
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>${esc(title)}</title>\n<h1>${esc(title)}</h1>\n${body}\n`;

function orderPage(order, hint) {
  let html = `<main data-status="${esc(order.status)}" data-refunded="${order.refunded}">\n`;
  html += `<p>${sar(order.amount)}: <b>${esc(order.status)}</b>, refunded ${sar(order.refunded)}</p>\n`;
  if (hint) html += `<p>The edge says <i>${esc(hint)}</i>; this page trusts only the signed notification.</p>\n`;
  if (order.status === 'new') {
    html += `<script type="module" src="${esc(EDGE)}/bawaba.js"></script>\n`;
    html += `<bawaba-checkout intent="${mintIntent(order)}" edge="${esc(EDGE)}" lang="en"></bawaba-checkout>\n`;
  }
  if (order.status === 'paid') {
    // A fresh key per form shown: the same form sent twice refunds once.
    html += `<form method="post" action="/orders/${esc(order.reference)}/refund">
<input name="amount" value="${order.amount - order.refunded}"> halalas
<input type="hidden" name="key" value="refund-${crypto.randomUUID()}"><button>Refund</button></form>\n`;
  }
  html += '<h2>Signed notifications</h2>\n<ul>\n';
  for (const e of order.events) html += `<li data-event="${esc(e.event_id)}">${esc(e.type)}</li>\n`;
  return page(`Order ${order.reference}`, `${html}</ul>\n</main>`);
}

async function route(req, raw) {
  const url = new URL(req.url, ORIGIN);
  const form = new URLSearchParams(raw.toString('utf8'));
  const parts = url.pathname.split('/').filter(Boolean); // ['orders', ref, 'refund']
  if (req.method === 'GET' && url.pathname === '/') {
    const buy = `<form method="post" action="/orders">Saudi coffee, 250 g, ${sar(PRICE)}
<input name="quantity" value="1" size="2"> <button>Buy</button></form>`;
    return [200, page('Example shop (Node.js)', buy)];
  }
  if (req.method === 'POST' && url.pathname === '/orders') {
    const quantity = Math.min(Math.max(parseInt(form.get('quantity'), 10) || 1, 1), 10);
    const reference = `N${Date.now().toString(36)}${crypto.randomBytes(2).toString('hex')}`.toUpperCase();
    const db = load();
    db.orders[reference] = { reference, amount: PRICE * quantity, currency: 'SAR', status: 'new', refunded: 0, events: [] };
    save(db);
    return [303, '', `/orders/${reference}`];
  }
  if (req.method === 'POST' && url.pathname === '/bawaba/notify') {
    return receive(req.headers['bawaba-signature'], raw);
  }
  const orders = load().orders;
  const order = parts[0] === 'orders' && Object.hasOwn(orders, parts[1]) ? orders[parts[1]] : undefined;
  if (req.method === 'GET' && order && parts.length === 2) {
    return [200, orderPage(order, url.searchParams.get('status'))];
  }
  if (req.method === 'POST' && order && parts[2] === 'refund') {
    const { status, text } = await refund(order.reference, Number(form.get('amount')), form.get('key'));
    const body = `<section data-http="${status}"><p>The edge answered HTTP ${status}:</p>
<pre>${esc(text)}</pre><p><a href="/orders/${esc(order.reference)}">Back to the order</a></p></section>`;
    return [200, page(`Refund of ${order.reference}`, body)];
  }
  return [404, page('Not found', '')];
}

function main() {
  if (!SECRET) {
    console.error('Set BAWABA_SHOP_SECRET to the shop secret registered on the edge (examples/README.md).');
    process.exit(2);
  }
  http
    .createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        let status, body, location;
        try {
          [status, body, location] = await route(req, Buffer.concat(chunks));
        } catch (e) {
          console.error(e);
          [status, body] = [500, 'internal error'];
        }
        const type = body.startsWith('<!doctype') ? 'text/html; charset=utf-8' : 'text/plain';
        res.writeHead(status, location ? { Location: location } : { 'Content-Type': type });
        res.end(body);
      });
    })
    .listen(PORT, '127.0.0.1', () => console.log(`Example shop on ${ORIGIN}, edge ${EDGE}, shop id ${SHOP_ID}`));
}

module.exports = { mintIntent, verifySignature, canonicalCall, signCall };
if (require.main === module) main();
