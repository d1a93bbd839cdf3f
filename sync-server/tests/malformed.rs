//! Malformed input: 100,000 random and mutated requests against the real router. The server must
//! never panic and never answer 5xx: every refusal is a 4xx with a JSON error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Method, Request};
use doorstep_sync_server::{App, router};
use doorstep_tests::postgres::{Cluster, Durability};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tower::ServiceExt;

const PATHS: &[&str] = &[
    "/health",
    "/v1/orgs",
    "/v1/teams/north/membership",
    "/v1/teams/%00/membership",
    "/v1/grants",
    "/v1/enrol/abcdef",
    "/v1/enrol/abcdef/complete",
    "/v1/roster",
    "/v1/units",
    "/v1/units?after=-1",
    "/v1/units?after=18446744073709551615&limit=0",
    "/v1/units?limit=99999999999999999999",
    "/v1/admin/devices",
    "/v1/admin/teams/north/roster",
    "/nowhere",
];

const SAMPLES: &[&str] = &[
    r#"{"org":"o","admin_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#,
    r#"{"units":[{"header":{"team":"north","epoch":1,"doc":"0b5e5f8e-3c1a-4d2e-9a57-6f1c2d3e4f50","author":"0b5e5f8e-3c1a-4d2e-9a57-6f1c2d3e4f50","counter":1,"kind":"changes"},"ciphertext":"AQID","signature":"AQID"}]}"#,
    r#"{"membership":{"body":"{}","signer":"AA==","signature":"AA=="},"lockboxes":[]}"#,
    r#"{"grant":{"body":"{\"org\":1}","signer":"","signature":""},"code_lockbox":"AA=="}"#,
    r#"{"body":"{\"team\":\"north\"}","signer":"AAAA","signature":"AAAA"}"#,
];

const HEADERS: &[&str] = &[
    "x-doorstep-device",
    "x-doorstep-admin",
    "x-doorstep-timestamp",
    "x-doorstep-nonce",
    "x-doorstep-signature",
    "content-type",
];

fn mutate(rng: &mut ChaCha8Rng, sample: &str) -> Vec<u8> {
    let mut bytes = sample.as_bytes().to_vec();
    for _ in 0..rng.random_range(0..6) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..4) {
            0 => bytes[at] = rng.random(),
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, *b"{}[]\",:0-9aZ\\\x00".choose(rng).unwrap()),
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn random_request(rng: &mut ChaCha8Rng) -> Request<Body> {
    let path = *PATHS.choose(rng).unwrap();
    // Mostly the method the route takes, so requests reach the handlers rather than the router.
    let method = if rng.random_bool(0.9) {
        match path {
            p if p.starts_with("/v1/teams/") && p.ends_with("membership") => Method::PUT,
            "/v1/orgs" | "/v1/grants" => Method::POST,
            p if p.starts_with("/v1/enrol/") => Method::POST,
            p if p.starts_with("/v1/units") && rng.random_bool(0.5) => Method::POST,
            _ => Method::GET,
        }
    } else {
        [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ]
        .choose(rng)
        .unwrap()
        .clone()
    };
    let body = match rng.random_range(0..3) {
        0 => Vec::new(),
        1 => (0..rng.random_range(0..256))
            .map(|_| rng.random())
            .collect(),
        _ => {
            let sample = *SAMPLES.choose(rng).unwrap();
            mutate(rng, sample)
        }
    };
    let mut builder = Request::builder().method(method).uri(path);
    for name in HEADERS {
        if rng.random_bool(0.4) {
            let value = match rng.random_range(0..4) {
                0 => chrono::Utc::now().timestamp().to_string(),
                1 => "0b5e5f8e-3c1a-4d2e-9a57-6f1c2d3e4f50".to_owned(),
                2 => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==".to_owned(),
                _ => (0..rng.random_range(0..40)).map(|_| rng.random_range(b' '..=b'~') as char).collect(),
            };
            builder = builder.header(*name, value);
        }
    }
    builder.body(Body::from(body)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_malformed_requests_on_sqlite_get_4xx_never_5xx_or_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("server.db").display());
    hammer(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_malformed_requests_on_postgres_get_4xx_never_5xx_or_a_panic() {
    let cluster = Cluster::start(Durability::Throwaway).unwrap();
    hammer(&cluster.url()).await;
}

async fn hammer(database: &str) {
    let app = App::connect(database).await.unwrap();
    let router = router(app);
    let mut rng = ChaCha8Rng::seed_from_u64(100_000);
    let requests: usize = std::env::var("DOORSTEP_MALFORMED_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut by_status = std::collections::BTreeMap::new();
    for _ in 0..requests {
        let response = router
            .clone()
            .oneshot(random_request(&mut rng))
            .await
            .unwrap();
        *by_status.entry(response.status().as_u16()).or_insert(0u64) += 1;
    }
    let server_errors: u64 = by_status
        .iter()
        .filter(|(status, _)| **status >= 500)
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "malformed ({}): {requests} requests, statuses {by_status:?}",
        database.split(':').next().unwrap_or_default()
    );
    assert_eq!(server_errors, 0, "{by_status:?}");
}
