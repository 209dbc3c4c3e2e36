//! A fake shop receiver: an HTTP server on 127.0.0.1 that records every request and behaves as
//! the test says: answer with a status (200 by default), refuse connections (the shop is down:
//! the port is closed), or hang without answering (the shop times out).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the fake behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answer every request with this status.
    Answer(u16),
    /// Close the port: connections are refused.
    Refuse,
    /// Accept, read the request, never answer (until the edge gives up).
    Hang,
}

/// A recorded request.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// What the fake answered (0: nothing, it hung).
    pub answered: u16,
}

impl Received {
    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == &name.to_ascii_lowercase()).map(|(_, v)| v.as_str())
    }
}

/// The receiver. It runs until the test process ends.
#[derive(Clone)]
pub struct FakeShop {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    received: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

impl FakeShop {
    /// Starts a receiver on a free port, answering 200.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shop = FakeShop {
            origin: format!("http://{addr}"),
            received: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Answer(200))),
        };
        let s = shop.clone();
        std::thread::spawn(move || s.accept_loop(Some(listener), addr));
        shop
    }

    /// Changes the behaviour for the next requests.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Shorthand for `set_mode(Mode::Answer(status))`.
    pub fn answer_with(&self, status: u16) {
        self.set_mode(Mode::Answer(status));
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn accept_loop(&self, mut listener: Option<TcpListener>, addr: std::net::SocketAddr) {
        loop {
            let mode = *self.mode.lock().unwrap();
            if mode == Mode::Refuse {
                listener = None; // closing the socket: the edge's connections are refused
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let Some(l) = listener.as_ref() else {
                listener = TcpListener::bind(addr).ok();
                if let Some(l) = &listener {
                    l.set_nonblocking(true).expect("nonblocking");
                }
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            l.set_nonblocking(true).expect("nonblocking");
            match l.accept() {
                Ok((stream, _)) => {
                    let s = self.clone();
                    std::thread::spawn(move || s.serve(stream));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    fn serve(&self, mut stream: std::net::TcpStream) {
        let _ = stream.set_nonblocking(false);
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let mode = *self.mode.lock().unwrap();
        let answered = match mode {
            Mode::Answer(status) => status,
            Mode::Hang | Mode::Refuse => 0,
        };
        self.received.lock().unwrap().push(Received { path, headers, body, answered });
        match mode {
            Mode::Answer(status) => {
                let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            }
            // Hold the connection open well past any edge timeout, then drop it unanswered.
            Mode::Hang | Mode::Refuse => std::thread::sleep(Duration::from_secs(30)),
        }
    }
}
