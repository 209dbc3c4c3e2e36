<?php
// A shop backend for Bawaba in plain PHP (no framework, no Composer): a checkout page carrying a
// signed intent, the receiver of the edge's signed notifications, and a signed refund.
// The contract is docs/protocol.md; examples/README.md says how to run this against the demo.
//
//   BAWABA_SHOP_SECRET=… PHP_CLI_SERVER_WORKERS=4 php -S 127.0.0.1:8000 router.php
//
// Several workers, because the edge posts the refund's notification before it answers the refund.
declare(strict_types=1);

function setting(string $name, string $default): string
{
    $value = getenv($name);
    return $value === false || $value === '' ? $default : $value;
}

define('EDGE', rtrim(setting('BAWABA_EDGE', 'http://127.0.0.1:8787'), '/'));
define('SHOP_ID', setting('BAWABA_SHOP_ID', 'example'));
define('SECRET', setting('BAWABA_SHOP_SECRET', '')); // shared with the edge only: never in a page
define('ORIGIN', setting('SHOP_ORIGIN', 'http://127.0.0.1:' . ($_SERVER['SERVER_PORT'] ?? '8000')));
define('DB', setting('SHOP_DB', sys_get_temp_dir() . '/bawaba-example-php.json'));
const PRICE = 4550; // one bag of coffee, 45.50 SAR, in halalas: amounts are integer minor units

// ---- The intent (docs/protocol.md, "Intent") ----

function b64url(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

/** An HS256 JWT (RFC 7519) by hand; with Composer, firebase/php-jwt's JWT::encode($claims, $key, 'HS256'). */
function jwt_hs256(array $claims, string $secret): string
{
    $json = json_encode($claims, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
    $input = b64url('{"alg":"HS256","typ":"JWT"}') . '.' . b64url($json);
    return $input . '.' . b64url(hash_hmac('sha256', $input, $secret, true));
}

/** The JWT the page hands to the widget; the edge takes the amount from it alone. */
function mint_intent(array $order): string
{
    $now = time(); // whole seconds, as the edge wants
    return jwt_hs256([
        'iss' => SHOP_ID,
        'aud' => 'bawaba',
        'sub' => $order['reference'],
        'iat' => $now,
        'exp' => $now + 900, // at most 30 minutes
        'amount' => $order['amount'],
        'currency' => $order['currency'],
        'methods' => ['mada', 'visa', 'mastercard'],
        'return_url' => ORIGIN . '/orders/' . $order['reference'], // the edge adds ?reference=…&status=…
        'notify_url' => ORIGIN . '/bawaba/notify', // must be on the shop's registered origin
        'locale' => 'en',
    ], SECRET);
}

// ---- Verifying a notification (docs/protocol.md, "Notification") ----

/**
 * Checks `Bawaba-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` over
 * the exact bytes received. Returns null when it holds, else why not (the edge's codes).
 */
function verify_signature(string $secret, ?string $header, string $body, ?int $now = null, int $tolerance = 300): ?string
{
    if ($header === null || trim($header) === '') {
        return 'signature_missing';
    }
    $t = null;
    $candidates = [];
    foreach (explode(',', $header) as $part) {
        $pair = explode('=', trim($part), 2);
        if (count($pair) !== 2) {
            return 'signature_malformed';
        }
        [$key, $value] = $pair;
        if ($key === 't') {
            if (!preg_match('/^[+-]?[0-9]+$/D', $value)) {
                return 'signature_malformed';
            }
            $t = (int) $value;
        } elseif ($key === 'v1') {
            if (!preg_match('/^(?:[0-9a-fA-F]{2})*$/D', $value)) {
                return 'signature_malformed';
            }
            $candidates[] = hex2bin($value); // several during a secret rotation: one is enough
        } // other keys (a future v2=) are ignored
    }
    if ($t === null || $candidates === []) {
        return 'signature_malformed';
    }
    if (abs(($now ?? time()) - $t) > $tolerance) {
        return 'signature_expired';
    }
    $expected = hash_hmac('sha256', $t . '.' . $body, $secret, true);
    foreach ($candidates as $candidate) {
        if (hash_equals($expected, $candidate)) { // constant time
            return null;
        }
    }
    return 'signature_invalid';
}

// ---- Signing a call to the edge (docs/protocol.md, "Signed shop → edge calls") ----

/** The bytes a call's MAC covers: it binds the method, path, shop, key and body together. */
function canonical_call(int $t, string $method, string $pathAndQuery, string $shopId, ?string $key, string $body): string
{
    return "bawaba-call-v1\n$t\n$method\n$pathAndQuery\n$shopId\n" . ($key ?? '') . "\n" . $body;
}

function sign_call(string $secret, int $t, string $method, string $pathAndQuery, string $shopId, ?string $key, string $body): string
{
    return "t=$t,v1=" . hash_hmac('sha256', canonical_call($t, $method, $pathAndQuery, $shopId, $key, $body), $secret);
}

/** POST /v1/refunds, signed. The same key with the same body never refunds twice. Returns [status, body]. */
function refund(string $reference, int $amount, string $key): array
{
    $body = json_encode(['reference' => $reference, 'amount' => $amount], JSON_THROW_ON_ERROR);
    $signature = sign_call(SECRET, time(), 'POST', '/v1/refunds', SHOP_ID, $key, $body);
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => "Content-Type: application/json\r\nBawaba-Shop: " . SHOP_ID
            . "\r\nIdempotency-Key: $key\r\nBawaba-Signature: $signature\r\n",
        'content' => $body,
        'ignore_errors' => true, // a 4xx or 5xx still gives the edge's JSON error
        'timeout' => 30,
    ]]);
    $answer = file_get_contents(EDGE . '/v1/refunds', false, $context);
    $status = (int) explode(' ', $http_response_header[0] ?? 'HTTP/1.1 502')[1];
    return [$status, $answer === false ? 'the edge did not answer' : $answer];
}

// ---- The shop's orders: one JSON file, written before a notification is acknowledged ----

function load(): array
{
    $text = is_file(DB) ? file_get_contents(DB) : '';
    return $text ? json_decode($text, true, 512, JSON_THROW_ON_ERROR) : ['orders' => [], 'events' => []];
}

/** Runs $change on the orders under a lock (the server has several workers), then stores them. */
function update(callable $change)
{
    $lock = fopen(DB . '.lock', 'c');
    flock($lock, LOCK_EX);
    try {
        $db = load();
        $result = $change($db);
        if (file_put_contents(DB . '.tmp', json_encode($db, JSON_THROW_ON_ERROR)) === false || !rename(DB . '.tmp', DB)) {
            throw new RuntimeException('cannot store the orders');
        }
        return $result;
    } finally {
        flock($lock, LOCK_UN);
        fclose($lock);
    }
}

/** POST /bawaba/notify: verify, deduplicate on event_id, store, and only then answer 2xx. */
function receive(?string $header, string $raw): array
{
    $refused = verify_signature(SECRET, $header, $raw);
    if ($refused !== null) {
        return [401, $refused];
    }
    $event = json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
    // If storing throws, the edge gets a 500 and delivers the event again later.
    return update(function (array &$db) use ($event) {
        if (isset($db['events'][$event['event_id']])) {
            return [200, 'duplicate']; // a retry of what is stored already
        }
        $db['events'][$event['event_id']] = $event['type'];
        $reference = $event['reference'] ?? '';
        if (isset($db['orders'][$reference])) { // an unknown reference (or a gateway.* event) is kept, and 2xx
            apply_event($db['orders'][$reference], $event);
        }
        return [200, 'stored'];
    });
}

function apply_event(array &$order, array $event): void
{
    $order['events'][] = ['event_id' => $event['event_id'], 'type' => $event['type']];
    switch ($event['type']) {
        case 'payment.succeeded': // also after failed or canceled: the gateway has the money
            $order['status'] = 'paid';
            break;
        case 'payment.authorized':
            $order['status'] = 'authorized';
            break;
        case 'payment.failed':
            $order['status'] = $order['status'] === 'new' ? 'failed' : $order['status'];
            break;
        case 'payment.canceled':
            $order['status'] = $order['status'] === 'new' ? 'canceled' : $order['status'];
            break;
        case 'payment.voided':
            $order['status'] = 'voided';
            break;
        case 'refund.succeeded':
            $order['refunded'] += $event['amount'];
            break;
        // refund.failed, payment.duplicate_*, and types to come: kept in $order['events']
    }
}

// ---- Pages ----

function esc($text): string
{
    return htmlspecialchars((string) $text, ENT_QUOTES, 'UTF-8');
}

function sar(int $halalas): string
{
    return number_format($halalas / 100, 2, '.', '') . ' SAR';
}

function page(string $title, string $body): string
{
    return '<!doctype html><html lang="en"><meta charset="utf-8"><title>' . esc($title) . "</title>\n<h1>"
        . esc($title) . "</h1>\n$body\n";
}

function order_page(array $order, ?string $hint): string
{
    $html = '<main data-status="' . esc($order['status']) . '" data-refunded="' . $order['refunded'] . "\">\n";
    $html .= '<p>' . sar($order['amount']) . ': <b>' . esc($order['status']) . '</b>, refunded ' . sar($order['refunded']) . "</p>\n";
    if ($hint !== null) {
        $html .= '<p>The edge says <i>' . esc($hint) . "</i>; this page trusts only the signed notification.</p>\n";
    }
    if ($order['status'] === 'new') {
        $html .= '<script type="module" src="' . esc(EDGE) . "/bawaba.js\"></script>\n";
        $html .= '<bawaba-checkout intent="' . mint_intent($order) . '" edge="' . esc(EDGE) . "\" lang=\"en\"></bawaba-checkout>\n";
    }
    if ($order['status'] === 'paid') {
        // A fresh key per form shown: the same form sent twice refunds once.
        $html .= '<form method="post" action="/orders/' . esc($order['reference']) . "/refund\">\n"
            . '<input name="amount" value="' . ($order['amount'] - $order['refunded']) . "\"> halalas\n"
            . '<input type="hidden" name="key" value="refund-' . bin2hex(random_bytes(16)) . "\"><button>Refund</button></form>\n";
    }
    $html .= "<h2>Signed notifications</h2>\n<ul>\n";
    foreach ($order['events'] as $e) {
        $html .= '<li data-event="' . esc($e['event_id']) . '">' . esc($e['type']) . "</li>\n";
    }
    return page('Order ' . $order['reference'], $html . "</ul>\n</main>");
}

/** Returns [status, body, location]. */
function route(string $method, string $path): array
{
    $parts = array_values(array_filter(explode('/', $path), 'strlen')); // ['orders', ref, 'refund']
    if ($method === 'GET' && $path === '/') {
        $buy = '<form method="post" action="/orders">Saudi coffee, 250 g, ' . sar(PRICE) . "\n"
            . '<input name="quantity" value="1" size="2"> <button>Buy</button></form>';
        return [200, page('Example shop (PHP)', $buy), null];
    }
    if ($method === 'POST' && $path === '/orders') {
        $quantity = min(max((int) ($_POST['quantity'] ?? 1), 1), 10);
        $reference = strtoupper('H' . dechex(time()) . bin2hex(random_bytes(2)));
        update(function (array &$db) use ($reference, $quantity) {
            $db['orders'][$reference] = ['reference' => $reference, 'amount' => PRICE * $quantity,
                'currency' => 'SAR', 'status' => 'new', 'refunded' => 0, 'events' => []];
        });
        return [303, '', "/orders/$reference"];
    }
    if ($method === 'POST' && $path === '/bawaba/notify') {
        [$status, $text] = receive($_SERVER['HTTP_BAWABA_SIGNATURE'] ?? null, file_get_contents('php://input'));
        return [$status, $text, null];
    }
    $order = ($parts[0] ?? '') === 'orders' ? (load()['orders'][$parts[1] ?? ''] ?? null) : null;
    if ($method === 'GET' && $order !== null && count($parts) === 2) {
        return [200, order_page($order, $_GET['status'] ?? null), null];
    }
    if ($method === 'POST' && $order !== null && count($parts) === 3 && $parts[2] === 'refund') {
        [$status, $text] = refund($order['reference'], (int) ($_POST['amount'] ?? 0), (string) ($_POST['key'] ?? ''));
        $body = "<section data-http=\"$status\"><p>The edge answered HTTP $status:</p>\n<pre>" . esc($text)
            . '</pre><p><a href="/orders/' . esc($order['reference']) . '">Back to the order</a></p></section>';
        return [200, page('Refund of ' . $order['reference'], $body), null];
    }
    return [404, page('Not found', ''), null];
}

if (PHP_SAPI === 'cli-server') { // `php check-vectors.php` includes this file for its functions only
    if (SECRET === '') {
        http_response_code(500);
        exit("Set BAWABA_SHOP_SECRET to the shop secret registered on the edge (examples/README.md).\n");
    }
    try {
        [$status, $body, $location] = route($_SERVER['REQUEST_METHOD'], parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
    } catch (Throwable $e) {
        error_log((string) $e);
        [$status, $body, $location] = [500, 'internal error', null];
    }
    http_response_code($status);
    if ($location !== null) {
        header("Location: $location");
    }
    header('Content-Type: ' . (str_starts_with($body, '<!doctype') ? 'text/html; charset=utf-8' : 'text/plain'));
    echo $body;
}
