//! Every byte of a sync, counted at the socket: a TCP proxy that keeps a copy of each
//! connection, and an accounting of those bytes by what they carry (issue 14). Used by the
//! `wire_bytes` benchmark, which prints the table, and by the byte-budget test.

// Measuring support for a benchmark and a test: a failure here is a failed measurement, and the
// table is the output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex};

use crate::team::{ShiftText, random_letters};
use doorstep_core::sync::wire::{PullResponse, SyncRequest, SyncResponse, UnitKind, UploadRequest};

/// The bytes of one connection, each way, in order.
#[derive(Debug, Default)]
pub struct Connection {
    pub up: Vec<u8>,
    pub down: Vec<u8>,
}

pub type Captured = Arc<Mutex<Vec<Arc<Mutex<Connection>>>>>;

/// Bytes by direction and category.
#[derive(Debug, Default)]
pub struct Tally(pub BTreeMap<(&'static str, &'static str), f64>);

impl Tally {
    pub fn add(&mut self, direction: &'static str, category: &'static str, bytes: f64) {
        *self.0.entry((direction, category)).or_default() += bytes;
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum::<f64>().round() as u64
    }

    /// The table, with bytes per observation set for `sets` sets.
    pub fn print(&self, title: &str, sets: f64) {
        println!("\n{title}: {} B", self.total());
        println!("| direction | category | bytes | per set |");
        println!("|---|---|---|---|");
        for ((direction, category), bytes) in &self.0 {
            println!(
                "| {direction} | {category} | {:.0} | {:.1} |",
                bytes,
                bytes / sets
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
pub fn account(connection: &Connection, own: &str, tally: &mut Tally) {
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
                ("up", "POST /v1/sync") => {
                    let exchange: SyncRequest = serde_json::from_slice(&plain).unwrap();
                    exchange
                        .units
                        .iter()
                        .map(|unit| (unit_category(unit, None), json_len(unit)))
                        .collect()
                }
                ("down", "POST /v1/sync") => {
                    let answer: SyncResponse = serde_json::from_slice(&plain).unwrap();
                    let mut shares: Vec<(&'static str, f64)> = answer
                        .units
                        .iter()
                        .map(|stored| (unit_category(&stored.unit, Some(own)), json_len(stored)))
                        .collect();
                    if let Some(roster) = &answer.roster {
                        shares.push(("roster and keys", json_len(roster)));
                    }
                    shares.push(("sequence numbers", json_len(&answer.seqs)));
                    shares
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
pub async fn counting_proxy(
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

/// What a unit is, seen by the device `reader` (a unit it wrote, sent back to it, is waste).
fn unit_category(unit: &doorstep_core::sync::wire::Unit, reader: Option<&str>) -> &'static str {
    if unit.header.kind == UnitKind::Audit {
        "audit units"
    } else if reader.is_some_and(|reader| unit.header.author.to_string() == reader) {
        "own units coming back"
    } else {
        "record units"
    }
}

/// Observation sets in the shift.
pub const SHIFT_SETS: f64 = 60.0;
const PIN: &str = "246810";

/// A shift's sync, byte by byte: device A's traffic (registering 20 new patients, 3 sets and a
/// note each, then syncing) and device B's (syncing to receive it).
#[derive(Debug)]
pub struct ShiftBytes {
    pub a: Tally,
    pub b: Tally,
    pub uploaded: u64,
    pub downloaded: u64,
}

impl ShiftBytes {
    pub fn per_set(&self) -> f64 {
        (self.a.total() + self.b.total()) as f64 / SHIFT_SETS
    }
}

/// Runs the shift through a counting proxy in front of a real server on loopback (SQLite in
/// `work`), both devices already knowing their team: what is counted is the shift alone.
pub fn shift_on_the_wire(work: &std::path::Path, text: ShiftText) -> ShiftBytes {
    use chrono::{TimeZone, Utc};

    let (runtime, server) = local_server(work);
    let captured: Captured = Arc::default();
    let proxy = runtime
        .block_on(counting_proxy(server.addr, Arc::clone(&captured)))
        .unwrap();
    let url = format!("http://{proxy}");
    let admin =
        crate::team::organisation(&work.join("admin"), &server.url(), "Bench Trust").unwrap();
    let (code_a, code_b) = (
        crate::team::nurse_code(&admin, "Nurse A").unwrap(),
        crate::team::nurse_code(&admin, "Nurse B").unwrap(),
    );
    let a = doorstep_transport::enrol(&work.join("a"), &url, &code_a, PIN).unwrap();
    let b = doorstep_transport::enrol(&work.join("b"), &url, &code_b, PIN).unwrap();
    doorstep_transport::sync(&a, |_| {}).unwrap();
    doorstep_transport::sync(&b, |_| {}).unwrap();
    doorstep_transport::sync(&a, |_| {}).unwrap();
    captured.lock().unwrap().clear();

    let now = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
    let ids = a
        .import_patients(&shift_patients(9, 0, now, text), |_| {})
        .unwrap();
    crate::team::record_shift(&a, &ids, now, text).unwrap();
    let a_device = a.sync_status().unwrap().device_id.to_string();
    let b_device = b.sync_status().unwrap().device_id.to_string();
    let up = doorstep_transport::sync(&a, |_| {}).unwrap();
    let a_connections = captured.lock().unwrap().len();
    let down = doorstep_transport::sync(&b, |_| {}).unwrap();
    assert_eq!(b.patients().unwrap().len(), 20, "B received the shift");

    let connections = captured.lock().unwrap();
    let mut bytes = ShiftBytes {
        a: Tally::default(),
        b: Tally::default(),
        uploaded: up.uploaded,
        downloaded: down.downloaded,
    };
    for (index, connection) in connections.iter().enumerate() {
        let connection = connection.lock().unwrap();
        let (tally, own) = if index < a_connections {
            (&mut bytes.a, a_device.as_str())
        } else {
            (&mut bytes.b, b_device.as_str())
        };
        account(&connection, own, tally);
    }
    drop(connections);
    runtime.block_on(server.stop());
    bytes
}

/// A real sync server on loopback port 0, on SQLite in `work` (created if need be), and the
/// runtime it runs on.
pub fn local_server(
    work: &std::path::Path,
) -> (tokio::runtime::Runtime, doorstep_sync_server::RunningServer) {
    std::fs::create_dir_all(work).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(doorstep_sync_server::start(
            doorstep_sync_server::App::open(&work.join("server.db")).unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    (runtime, server)
}

/// The shift's 20 new patients: fixture patients `first..first + 20` of seed `seed`, with no
/// history yet (shifts on one server take different `first`s: patient numbers are by index).
pub fn shift_patients(
    seed: u64,
    first: usize,
    now: chrono::DateTime<chrono::Utc>,
    text: ShiftText,
) -> Vec<doorstep_core::store::NewPatient> {
    use doorstep_fixtures::{CaseloadSpec, caseload};
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    caseload(&CaseloadSpec {
        observations_per_patient: 0,
        ..CaseloadSpec::new(first + 20, seed, now)
    })
    .iter()
    .skip(first)
    .map(|p| {
        let mut new = p.to_new_patient();
        if text == ShiftText::RandomLetters {
            scramble(&mut new, &mut rng);
        }
        new
    })
    .collect()
}

/// Every free-text field of `patient` (names, address, practice, contacts, allergies, alerts,
/// medicines, problems, notes) replaced by random letters of the same length.
fn scramble(patient: &mut doorstep_core::store::NewPatient, rng: &mut rand_chacha::ChaCha8Rng) {
    let mut fill = |text: &mut String| *text = random_letters(rng, text);
    let demographics = &mut patient.demographics;
    fill(&mut demographics.given);
    fill(&mut demographics.family);
    demographics.address.lines.iter_mut().for_each(&mut fill);
    fill(&mut demographics.address.town);
    fill(&mut demographics.gp_practice.name);
    for contact in &mut demographics.contacts {
        fill(&mut contact.name);
        fill(&mut contact.relationship);
    }
    for allergy in &mut patient.allergies {
        fill(&mut allergy.substance);
        fill(&mut allergy.reaction);
    }
    for flag in &mut patient.flags {
        fill(&mut flag.detail);
    }
    if let Some(medications) = &mut patient.medications {
        for medication in &mut medications.items {
            fill(&mut medication.name);
            fill(&mut medication.dose);
            fill(&mut medication.frequency);
        }
    }
    if let Some(problems) = &mut patient.problems {
        problems.items.iter_mut().for_each(&mut fill);
    }
    for note in &mut patient.notes {
        fill(&mut note.text);
    }
}
