//! A mail server for tests: an SMTP receiver on 127.0.0.1 that keeps every message it is given.
//! Odoo sends the order confirmation through it, so a test can check that the shopper really
//! got the e-mail (one of the merchant's worries: "paid, but no confirmation e-mail").
//!
//! It speaks the part of SMTP (RFC 5321) a plain client uses: EHLO/HELO, MAIL, RCPT, DATA, RSET,
//! NOOP, QUIT; no TLS and no authentication.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One message as delivered.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed.
    pub data: String,
}

/// A running receiver; it stops with the test process.
#[derive(Clone)]
pub struct Mailbox {
    /// The port it listens on.
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl Mailbox {
    /// Listens on a free port.
    pub fn start() -> Mailbox {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the mailbox");
        let port = listener.local_addr().expect("bound").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &store);
                });
            }
        });
        Mailbox { port, mails }
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, store: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 bawaba-test-mailbox ESMTP\r\n")?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-bawaba-test-mailbox\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?,
            "HELO" | "NOOP" => out.write_all(b"250 OK\r\n")?,
            "MAIL" => {
                to.clear();
                out.write_all(b"250 OK\r\n")?
            }
            "RCPT" => {
                let address = line.split_once(':').map(|(_, a)| a).unwrap_or("");
                to.push(address.trim().trim_start_matches('<').split('>').next().unwrap_or("").to_string());
                out.write_all(b"250 OK\r\n")?
            }
            "DATA" => {
                out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                store.lock().unwrap().push(Mail { to: std::mem::take(&mut to), data });
                out.write_all(b"250 OK: queued\r\n")?
            }
            "RSET" => {
                to.clear();
                out.write_all(b"250 OK\r\n")?
            }
            "QUIT" => {
                out.write_all(b"221 Bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"502 Command not implemented\r\n")?,
        }
    }
}
