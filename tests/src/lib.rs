//! Test harness shared by the integration and end-to-end tests:
//!
//! - [`edge::Edge`] runs the real edge in local workerd (`wrangler dev`) on a free port, from
//!   the release build that `cargo xtask test` made, with its own secrets and storage;
//! - [`fake_shop::FakeShop`] is a controllable HTTP receiver on 127.0.0.1 that records what the
//!   edge posts to a shop's `notify_url`;
//! - [`http`] is a small blocking client that never follows redirects;
//! - [`odoo::Odoo`] talks to a running Odoo through its external API, and [`mailbox::Mailbox`]
//!   receives the e-mails it sends (the Odoo end-to-end test).

pub mod bench_stats;
pub mod bench_widget;
pub mod browser;
pub mod edge;
pub mod fake_shop;
pub mod fakes;
pub mod flows;
pub mod http;
pub mod load;
pub mod mailbox;
pub mod odoo;

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

/// Where a test saves the screenshot `name` (`widget-en.png`): under `target/screenshots/`, so a
/// test run leaves the work tree as it was; `cargo xtask screenshots` sets
/// `BAWABA_SCREENSHOTS_DIR` to `docs/screenshots` to refresh the README's pictures on purpose.
pub fn screenshot_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("BAWABA_SCREENSHOTS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target/screenshots"));
    std::fs::create_dir_all(&dir).expect("the screenshots directory");
    dir.join(name)
}

/// A free TCP port on 127.0.0.1, for a server another process will bind later.
///
/// Chosen below the kernel's ephemeral range: a port the kernel handed out for `bind(0)` is in
/// that range, and any outgoing connection made before the server starts (workerd, the test's
/// own HTTP client) may take it as its source port, so the server would fail with "address in
/// use". Ports below the range are only ever taken by an explicit bind; a per-process counter
/// from a random start keeps parallel test processes apart. Falls back to `bind(0)` on a
/// machine whose range leaves no room below it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()))
        .unwrap_or(32768);
    const FLOOR: u32 = 10_000;
    if low > FLOOR + 1_000 {
        let span = low - FLOOR;
        let seed = std::process::id()
            ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let _ = NEXT.compare_exchange(0, seed % span + 1, Ordering::Relaxed, Ordering::Relaxed);
        for _ in 0..span {
            let port = FLOOR + NEXT.fetch_add(1, Ordering::Relaxed) % span;
            if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
                return port as u16;
            }
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// Waits, if needed, so that at least `secs` seconds are left in the current minute.
pub fn wait_for_a_fresh_minute(secs: u64) {
    let into_minute = now().rem_euclid(60) as u64;
    if into_minute > 60 - secs {
        std::thread::sleep(std::time::Duration::from_secs(61 - into_minute));
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `secs` with `what`.
pub fn wait_for<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A background process group that dies with the test process. Test binaries keep shared
/// servers in statics, whose destructors never run; so each server runs under a tiny shell
/// watchdog that waits on a pipe from this process and kills its whole process group when the
/// pipe closes: on drop, on a normal exit, on a panic or a kill alike.
pub struct Guarded {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
}

impl Guarded {
    /// Starts `command_line` (a shell command, run in the background under the watchdog).
    pub fn spawn(command_line: &str, cwd: &std::path::Path, env: &[(&str, String)]) -> Guarded {
        use std::os::unix::process::CommandExt;
        let script = format!("exec 3<&0; {command_line} </dev/null & read _ <&3; kill -TERM -$$");
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", &script]).current_dir(cwd).stdin(std::process::Stdio::piped()).process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {command_line}: {e}"));
        let stdin = child.stdin.take();
        Guarded { child, stdin }
    }

    /// Stops the process group and waits for the watchdog.
    pub fn stop(&mut self) {
        if let Some(stdin) = self.stdin.take() {
            drop(stdin);
            let _ = self.child.wait();
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}
