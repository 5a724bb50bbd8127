//! validatord, built in Rust: POST /v1/validate answers a validation failure as a
//! serde-serialised enum, `{"Schema":{"field":…,"reason":…}}` — the production contract
//! the Go build is measured against.
//!
//! The /v1/drift/* routes hand serde_json the same inputs the Go build hands
//! encoding/json, so each answer is what the library itself makes of them.

use std::io::Read;

use serde_derive::{Deserialize, Serialize};
use serde_json::Value;
use tiny_http::{Header, Method, Request, Response, Server};

const DEFAULT_PORT: u16 = 3100;
const MAX_ENDORSED: usize = 8;
const KNOWN_PLAYBOOKS: [&str; 1] = ["pb_0123456789abcdef"];
const MAX_REQUEST: u64 = 1 << 20;
const MAX_ROWS: usize = 100_000;
/// Every path served, so a wrong method is told apart from a wrong path (405, not 404).
const ROUTES: [&str; 8] = [
    "/health",
    "/v1/validate",
    "/v1/drift/echo",
    "/v1/drift/charset",
    "/v1/drift/invalid_utf8",
    "/v1/drift/profile",
    "/v1/drift/counter",
    "/v1/drift/range",
];
/// Latin-1 "café": not UTF-8. No config can carry these bytes, so the route holds them.
const INVALID_UTF8: &[u8] = b"{\"text\":\"caf\xe9\"}";

/// Externally tagged, serde's default: the variant's name wraps its fields.
#[derive(Serialize)]
enum ValidationError {
    Schema { field: &'static str, reason: String },
    Limit { field: &'static str, max: usize, got: usize },
    Reference { id: String, reason: &'static str },
}

#[derive(Deserialize)]
struct Submission {
    kind: Option<String>,
    fingerprint: Option<String>,
    endorsed: Option<Vec<String>>,
    playbook: Option<String>,
}

#[derive(Serialize)]
struct Valid {
    valid: bool,
    kind: String,
    fingerprint: String,
}

/// A record with an optional field: serde writes None as null.
#[derive(Serialize, Deserialize)]
struct Profile {
    name: String,
    nickname: Option<String>,
}

/// A typed integer field: u64 holds every integer up to 2^64 - 1 exactly.
#[derive(Serialize, Deserialize)]
struct Counter {
    id: u64,
}

#[derive(Deserialize)]
struct RangeRequest {
    n: usize,
}

#[derive(Serialize)]
struct Rows {
    rows: Vec<usize>,
}

fn schema(field: &'static str, reason: &str) -> ValidationError {
    ValidationError::Schema { field, reason: reason.to_string() }
}

fn well_formed(fingerprint: &str) -> bool {
    fingerprint.len() == 19
        && fingerprint.starts_with("pb_")
        && fingerprint[3..].bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn validate(s: &Submission) -> Result<Valid, ValidationError> {
    let kind = s.kind.clone().unwrap_or_default();
    if kind == "fill" {
        let reference = s.playbook.clone().unwrap_or_default();
        if !KNOWN_PLAYBOOKS.contains(&reference.as_str()) {
            return Err(ValidationError::Reference { id: reference, reason: "phantom: no such playbook" });
        }
        return Ok(Valid { valid: true, kind, fingerprint: reference });
    }
    if kind != "playbook" {
        return Err(ValidationError::Schema { field: "kind", reason: format!("unknown kind {:?}", kind) });
    }
    let fingerprint = match &s.fingerprint {
        None => return Err(schema("fingerprint", "missing — required for Phase 25 validity window")),
        Some(f) if !f.starts_with("pb_") => return Err(schema("fingerprint", "wrong prefix — expected pb_")),
        Some(f) if !well_formed(f) => {
            return Err(schema("fingerprint", "malformed — expected pb_ and 16 hex digits"))
        }
        Some(f) => f.clone(),
    };
    let endorsed = s.endorsed.as_deref().unwrap_or(&[]);
    if endorsed.is_empty() {
        return Err(schema("endorsed", "empty — at least one endorser required"));
    }
    if endorsed.len() > MAX_ENDORSED {
        return Err(ValidationError::Limit { field: "endorsed", max: MAX_ENDORSED, got: endorsed.len() });
    }
    Ok(Valid { valid: true, kind, fingerprint })
}

type Answer = (u16, Vec<u8>);

fn json<T: serde::Serialize>(status: u16, value: &T) -> Answer {
    (status, serde_json::to_vec(value).expect("a plain value always serialises"))
}

fn bad_request(error: serde_json::Error) -> Answer {
    json(400, &serde_json::json!({ "error": format!("body is not valid JSON: {}", error) }))
}

/// Decode into `T` and answer what `on_ok` makes of it; a body serde rejects is a 400.
fn decoded<T: serde::de::DeserializeOwned>(body: &[u8], on_ok: impl FnOnce(T) -> Answer) -> Answer {
    match serde_json::from_slice::<T>(body) {
        Ok(value) => on_ok(value),
        Err(error) => bad_request(error),
    }
}

/// Decode into `T` and encode it again; with `T = Value`, serde_json's dynamic value.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(body: &[u8]) -> Answer {
    decoded(body, |value: T| json(200, &value))
}

fn route(method: &Method, path: &str, body: &[u8]) -> Answer {
    match (method, path) {
        (Method::Get, "/health") => json(200, &serde_json::json!({ "status": "ok" })),
        (Method::Post, "/v1/validate") => decoded(body, |s: Submission| match validate(&s) {
            Ok(valid) => json(200, &valid),
            Err(failure) => json(422, &failure),
        }),
        (Method::Post, "/v1/drift/echo") | (Method::Post, "/v1/drift/charset") => round_trip::<Value>(body),
        (Method::Get, "/v1/drift/invalid_utf8") => round_trip::<Value>(INVALID_UTF8),
        (Method::Post, "/v1/drift/profile") => round_trip::<Profile>(body),
        (Method::Post, "/v1/drift/counter") => round_trip::<Counter>(body),
        (Method::Post, "/v1/drift/range") => decoded(body, |r: RangeRequest| {
            if r.n > MAX_ROWS {
                return json(400, &serde_json::json!({ "error": format!("n must be 0 to {}", MAX_ROWS) }));
            }
            json(200, &Rows { rows: (0..r.n).collect() })
        }),
        (_, known) if ROUTES.contains(&known) => json(405, &serde_json::json!({ "error": "method not allowed" })),
        _ => json(404, &serde_json::json!({ "error": format!("no route {}", path) })),
    }
}

fn handle(mut request: Request) {
    let mut body = Vec::new();
    let read = request.as_reader().take(MAX_REQUEST).read_to_end(&mut body);
    let (status, payload) = match read {
        Ok(_) => {
            let path = request.url().split('?').next().unwrap_or("").to_string();
            route(request.method(), &path, &body)
        }
        Err(error) => json(400, &serde_json::json!({ "error": format!("cannot read the body: {}", error) })),
    };
    let response = Response::from_data(payload)
        .with_status_code(status)
        .with_header(Header::from_bytes("Content-Type", "application/json").expect("a valid header"))
        .with_header(Header::from_bytes("X-Runtime", "rust").expect("a valid header"));
    if let Err(error) = request.respond(response) {
        eprintln!("validatord-rust: could not answer: {}", error);
    }
}

/// `--port N`, else the PORT variable, else 3100; 0 takes a free port.
fn port() -> Result<u16, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let given = match args.as_slice() {
        [] => std::env::var("PORT").ok(),
        [flag, value] if flag == "--port" => Some(value.clone()),
        _ => return Err("usage: validatord-rust [--port N]".to_string()),
    };
    match given {
        None => Ok(DEFAULT_PORT),
        Some(text) => text.parse().map_err(|_| format!("not a port number: {:?}", text)),
    }
}

fn main() {
    let port = port().unwrap_or_else(|message| {
        eprintln!("validatord-rust: {}", message);
        std::process::exit(2)
    });
    let server = Server::http(("127.0.0.1", port)).unwrap_or_else(|error| {
        eprintln!("validatord-rust: cannot listen on 127.0.0.1:{}: {}", port, error);
        std::process::exit(1)
    });
    println!("validatord-rust listening on http://{}", server.server_addr());
    for request in server.incoming_requests() {
        handle(request);
    }
}
