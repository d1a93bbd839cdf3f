//! Every byte of a shift's sync, counted at the socket (issue 14, "account for every byte").
//!
//! A counting TCP proxy sits between two devices and the sync server on loopback and keeps every
//! byte each way. The shift: device A registers 20 new patients, records 3 observation sets and a
//! visit note for each, and syncs; device B syncs and receives it. Afterwards each connection's
//! bytes are split into HTTP messages and put in categories:
//!
//! - HTTP framing: request and status lines, headers other than signing, chunked framing;
//! - request signing: the device, timestamp, nonce and signature headers;
//! - bodies, by what they carry: record units, audit units, the roster and keys, a device's own
//!   units coming back to it, the JSON around units (envelope, cursors, sequence numbers).
//!
//! Message sizes are measured; a gzip body's bytes are shared among its parts in proportion to
//! their uncompressed JSON (compression cannot be attributed more finely). Prints a table per
//! direction and the bytes per observation set. `cargo bench -p doorstep-tests --bench wire_bytes`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use doorstep_core::sync::wire::{PullResponse, UnitKind, UploadRequest};
use doorstep_fixtures::{CaseloadSpec, caseload};
use doorstep_sync_server::{App, start};
use doorstep_tests::team;

const PIN: &str = "246810";
const SETS: f64 = 60.0;

/// The bytes of one connection, each way, in order.
#[derive(Default)]
struct Connection {
    up: Vec<u8>,
    down: Vec<u8>,
}

type Captured = Arc<Mutex<Vec<Arc<Mutex<Connection>>>>>;

fn main() {
    let work = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(start(
            App::open(&work.path().join("server.db")).unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let captured: Captured = Arc::default();
    let proxy = runtime
        .block_on(counting_proxy(server.addr, Arc::clone(&captured)))
        .unwrap();
    let url = format!("http://{proxy}");

    let admin =
        team::organisation(&work.path().join("admin"), &server.url(), "Bench Trust").unwrap();
    let (code_a, code_b) = (
        team::nurse_code(&admin, "Nurse A").unwrap(),
        team::nurse_code(&admin, "Nurse B").unwrap(),
    );
    let a = doorstep_transport::enrol(&work.path().join("a"), &url, &code_a, PIN).unwrap();
    let b = doorstep_transport::enrol(&work.path().join("b"), &url, &code_b, PIN).unwrap();
    // Both devices know the team before the shift: what follows is the shift alone.
    doorstep_transport::sync(&a, |_| {}).unwrap();
    doorstep_transport::sync(&b, |_| {}).unwrap();
    doorstep_transport::sync(&a, |_| {}).unwrap();
    captured.lock().unwrap().clear();

    let now = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
    let patients: Vec<_> = caseload(&CaseloadSpec {
        observations_per_patient: 0,
        ..CaseloadSpec::new(20, 9, now)
    })
    .iter()
    .map(|p| p.to_new_patient())
    .collect();
    let ids = a.import_patients(&patients, |_| {}).unwrap();
    team::record_shift(&a, &ids, now).unwrap();
    let a_device = a.sync_status().unwrap().device_id.to_string();
    let b_device = b.sync_status().unwrap().device_id.to_string();
    let up_report = doorstep_transport::sync(&a, |_| {}).unwrap();
    let a_connections = captured.lock().unwrap().len();
    let down_report = doorstep_transport::sync(&b, |_| {}).unwrap();
    assert_eq!(b.patients().unwrap().len(), 20, "B received the shift");

    let connections = captured.lock().unwrap();
    let mut a_bytes = Tally::default();
    let mut b_bytes = Tally::default();
    for (index, connection) in connections.iter().enumerate() {
        let connection = connection.lock().unwrap();
        let (tally, own) = if index < a_connections {
            (&mut a_bytes, a_device.as_str())
        } else {
            (&mut b_bytes, b_device.as_str())
        };
        account(&connection, own, tally);
    }
    println!(
        "shift: 20 new patients, 60 observation sets, 20 notes; A uploaded {} units, B downloaded {}",
        up_report.uploaded, down_report.downloaded
    );
    a_bytes.print("device A uploads (A's traffic both ways)");
    b_bytes.print("device B downloads (B's traffic both ways)");
    let total = a_bytes.total() + b_bytes.total();
    println!(
        "total on the wire for the shift: {total} B = {:.0} B per observation set (target ≤ 700)",
        total as f64 / SETS
    );
    runtime.block_on(server.stop());
}

/// Bytes by direction and category.
#[derive(Default)]
struct Tally(BTreeMap<(&'static str, &'static str), f64>);

impl Tally {
    fn add(&mut self, direction: &'static str, category: &'static str, bytes: f64) {
        *self.0.entry((direction, category)).or_default() += bytes;
    }

    fn total(&self) -> u64 {
        self.0.values().sum::<f64>().round() as u64
    }

    fn print(&self, title: &str) {
        println!("\n{title}: {} B", self.total());
        println!("| direction | category | bytes | per set |");
        println!("|---|---|---|---|");
        for ((direction, category), bytes) in &self.0 {
            println!(
                "| {direction} | {category} | {:.0} | {:.1} |",
                bytes,
                bytes / SETS
            );
        }
    }
}

/// One HTTP message: its head (start line and headers), its body as sent, and the framing bytes
/// of a chunked body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    head_bytes: usize,
    body: Vec<u8>,
    chunk_framing: usize,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The signing headers' bytes as sent ("name: value\r\n").
    fn signing_bytes(&self) -> usize {
        self.headers
            .iter()
            .filter(|(key, _)| key.to_ascii_lowercase().starts_with("x-doorstep-"))
            .map(|(key, value)| key.len() + 2 + value.len() + 2)
            .sum()
    }

    fn decoded(&self) -> Vec<u8> {
        if self.header("content-encoding") == Some("gzip") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(self.body.as_slice())
                .read_to_end(&mut out)
                .unwrap();
            out
        } else {
            self.body.clone()
        }
    }
}

/// Splits one direction of a connection into HTTP/1.1 messages.
fn messages(mut bytes: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(end) = find(bytes, b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let start = lines.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
            .collect();
        let mut rest = &bytes[end + 4..];
        let mut message = Message {
            start,
            headers,
            head_bytes: end + 4,
            body: Vec::new(),
            chunk_framing: 0,
        };
        if message
            .header("transfer-encoding")
            .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let line_end = find(rest, b"\r\n").unwrap();
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&rest[..line_end])
                        .split(';')
                        .next()
                        .unwrap()
                        .trim(),
                    16,
                )
                .unwrap();
                message.chunk_framing += line_end + 2 + 2;
                message
                    .body
                    .extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
                rest = &rest[line_end + 2 + size + 2..];
                if size == 0 {
                    break;
                }
            }
        } else {
            let length: usize = message
                .header("content-length")
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            message.body = rest[..length].to_vec();
            rest = &rest[length..];
        }
        out.push(message);
        bytes = rest;
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn json_len<T: serde::Serialize>(value: &T) -> f64 {
    serde_json::to_vec(value).unwrap().len() as f64
}

/// Puts one connection's bytes in categories; `own` is the device whose connection it is.
fn account(connection: &Connection, own: &str, tally: &mut Tally) {
    let requests = messages(&connection.up);
    let responses = messages(&connection.down);
    for (request, response) in requests.iter().zip(&responses) {
        let route = request
            .start
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let route = route.split('?').next().unwrap_or_default().to_owned();
        for (direction, message) in [("up", request), ("down", response)] {
            let signing = message.signing_bytes();
            tally.add(direction, "request signing", signing as f64);
            tally.add(
                direction,
                "HTTP framing",
                (message.head_bytes - signing + message.chunk_framing) as f64,
            );
            if message.body.is_empty() {
                continue;
            }
            let sent = message.body.len() as f64;
            let plain = message.decoded();
            let shares: Vec<(&'static str, f64)> = match (direction, route.as_str()) {
                ("up", "POST /v1/units") => {
                    let upload: UploadRequest = serde_json::from_slice(&plain).unwrap();
                    upload
                        .units
                        .iter()
                        .map(|unit| {
                            let category = if unit.header.kind == UnitKind::Audit {
                                "audit units"
                            } else {
                                "record units"
                            };
                            (category, json_len(unit))
                        })
                        .collect()
                }
                ("down", "GET /v1/units") => {
                    let pull: PullResponse = serde_json::from_slice(&plain).unwrap();
                    pull.units
                        .iter()
                        .map(|stored| {
                            let category = if stored.unit.header.author.to_string() == own {
                                "own units coming back"
                            } else if stored.unit.header.kind == UnitKind::Audit {
                                "audit units"
                            } else {
                                "record units"
                            };
                            (category, json_len(stored))
                        })
                        .collect()
                }
                ("down", "GET /v1/roster") => vec![("roster and keys", plain.len() as f64)],
                ("down", "POST /v1/units") => vec![("sequence numbers", plain.len() as f64)],
                _ => vec![("other bodies", plain.len() as f64)],
            };
            let parts: f64 = shares.iter().map(|(_, bytes)| bytes).sum();
            let envelope = (plain.len() as f64 - parts).max(0.0);
            let scale = sent / plain.len().max(1) as f64;
            for (category, bytes) in shares {
                tally.add(direction, category, bytes * scale);
            }
            tally.add(direction, "JSON envelope", envelope * scale);
        }
    }
}

/// A TCP proxy that passes everything through and keeps a copy of every connection's bytes.
async fn counting_proxy(
    upstream: std::net::SocketAddr,
    captured: Captured,
) -> std::io::Result<std::net::SocketAddr> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let connection = Arc::new(Mutex::new(Connection::default()));
            captured.lock().unwrap().push(Arc::clone(&connection));
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = Arc::clone(&connection);
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = client_read.read(&mut buffer).await {
                        up.lock().unwrap().up.extend_from_slice(&buffer[..n]);
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_write.shutdown().await;
                });
                let mut buffer = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
                    connection
                        .lock()
                        .unwrap()
                        .down
                        .extend_from_slice(&buffer[..n]);
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = client_write.shutdown().await;
            });
        }
    });
    Ok(addr)
}
