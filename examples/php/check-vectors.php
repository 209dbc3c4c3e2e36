<?php
// Runs the protocol vectors (tests/vectors/) through router.php's signature code, so a wrong
// implementation fails: `php check-vectors.php [vectors directory]`.
declare(strict_types=1);
require __DIR__ . '/router.php';

$dir = $argv[1] ?? __DIR__ . '/../../tests/vectors';
$read = fn (string $name) => json_decode(file_get_contents("$dir/$name"), true, 512, JSON_THROW_ON_ERROR);
$passed = $failed = 0;
$check = function (string $name, $got, $want) use (&$passed, &$failed) {
    if ($got === $want) {
        $passed++;
    } else {
        $failed++;
        echo "FAIL $name: got " . json_encode($got) . ', expected ' . json_encode($want) . "\n";
    }
};

$notifications = $read('notification_signatures.json');
foreach ($notifications['cases'] as $c) {
    $verdict = verify_signature($notifications['secret'], $c['header'], $c['body'], $c['now']);
    $check("notification, {$c['name']}", $verdict ?? 'ok', $c['expect']);
}
$calls = $read('call_signatures.json');
foreach ($calls['cases'] as $c) {
    if ($c['expect'] !== 'ok') {
        continue;
    }
    preg_match('/^t=([0-9]+),/', $c['header'], $m);
    $args = [(int) $m[1], $c['method'], $c['path_and_query'], $c['shop_id'], $c['idempotency_key'], $c['body']];
    $check("call, {$c['name']}: canonical", canonical_call(...$args), $c['canonical']);
    $check("call, {$c['name']}: header", sign_call($calls['secret'], ...$args), $c['header']);
}
echo "$passed passed, $failed failed\n";
exit($failed === 0 && $passed > 0 ? 0 : 1);
