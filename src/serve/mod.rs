//! `s3thaw serve`: the simulator behind AWS's own wire protocols, so that any S3 client (the AWS
//! CLI, an SDK, s3thaw's own `aws` backend) can talk to it.
//!
//! - S3 REST (path-style and virtual-hosted) in `s3.rs`,
//! - S3 Control REST-XML under `/v20180820/jobs` in `control.rs`,
//! - IAM's Query protocol and STS `GetCallerIdentity` in `iam.rs`,
//! - a simulator-only admin endpoint under `/_s3thaw/` in `admin.rs` (the virtual clock),
//! - SigV4 verification in `sigv4.rs`.
//!
//! This module only translates: every rule (what exists, what is allowed, what a restore does)
//! comes from the simulator through the [`Backend`] trait. Simulator calls block (SQLite), so
//! each request is handled on tokio's blocking pool.

pub mod admin;
pub mod control;
pub mod iam;
pub mod multipart;
pub mod s3;
pub mod sigv4;
pub mod xml;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::backend::sim::Simulator;
use crate::errors::Error;
use sigv4::{AuthError, Credentials};

/// The access key id `serve` accepts unless told otherwise.
pub const DEFAULT_ACCESS_KEY_ID: &str = "S3THAWTESTKEY0000001";
/// The secret access key `serve` accepts unless told otherwise. A test credential, not a secret.
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "s3thaw/test/secret/0000000000000000000000";

/// Largest request body accepted (objects are held in memory by the simulator).
const MAX_BODY: usize = 512 * 1024 * 1024;

/// `s3thaw serve` flags.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the address is printed).
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub bind: SocketAddr,
    /// The simulator's state directory [default: as for `run`].
    #[arg(long, env = "S3THAW_STATE")]
    pub state: Option<PathBuf>,
    /// Seed for the simulator's restore durations (kept in its state).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Access key id that requests must be signed with.
    #[arg(long, env = "S3THAW_SERVE_ACCESS_KEY_ID", default_value = DEFAULT_ACCESS_KEY_ID)]
    pub access_key_id: String,
    /// Secret access key that requests must be signed with [default: the test secret in
    /// docs/serve.md].
    #[arg(
        long,
        env = "S3THAW_SERVE_SECRET_ACCESS_KEY",
        default_value = DEFAULT_SECRET_ACCESS_KEY,
        hide_default_value = true
    )]
    pub secret_access_key: String,
    /// Accept unsigned requests and any signature (no SigV4 verification).
    #[arg(long)]
    pub no_auth: bool,
    /// Extra host names whose sub-domains are bucket names (virtual-hosted style), besides
    /// `localhost`, `s3.amazonaws.com` and `s3.REGION.amazonaws.com`.
    #[arg(long = "virtual-host", value_name = "DOMAIN")]
    pub virtual_hosts: Vec<String>,
    /// Allow binding to a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
}

/// What every request handler shares.
pub struct Server {
    pub sim: Simulator,
    /// `None` when `--no-auth`.
    pub credentials: Option<Credentials>,
    pub bases: Vec<String>,
    /// Multipart uploads in progress.
    pub uploads: multipart::Uploads,
}

/// A request as the handlers see it: whole body, decoded path and query, lower-case header names.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub raw_path: String,
    pub raw_query: String,
    /// The path, percent-decoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The Host header without its port, lower case.
    pub host: String,
    pub request_id: String,
    /// The bucket the Host header names (virtual-hosted style), if any.
    pub virtual_bucket: Option<String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has_query(&self, name: &str) -> bool {
        self.query.iter().any(|(n, _)| n == name)
    }
}

/// A response before it goes on the wire.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// For the log line: `S3.PutObject`, `IAM.CreateRole`...
    pub operation: String,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            operation: String::new(),
        }
    }

    pub fn xml(status: u16, body: String) -> Response {
        Response::new(status)
            .header("content-type", "application/xml")
            .body(body.into_bytes())
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }

    pub fn op(mut self, operation: impl Into<String>) -> Response {
        if self.operation.is_empty() {
            self.operation = operation.into();
        }
        self
    }
}

/// The HTTP status of a simulator error: its own, or what AWS uses for its kind.
pub fn status_of(e: &Error) -> u16 {
    e.status.unwrap_or(match e.code.as_str() {
        "NotSupported" | "NotImplemented" => 501,
        "InternalError" => 500,
        _ => 400,
    })
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase()
}

/// Which wire face a request is for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Face {
    S3,
    Control,
    Query,
    Admin,
}

fn face_of(req: &Request) -> Face {
    if req.raw_path.starts_with("/v20180820/") || req.raw_path == "/v20180820" {
        return Face::Control;
    }
    if req.raw_path.starts_with(admin::PREFIX) {
        return Face::Admin;
    }
    let form = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let root = req.raw_path.is_empty() || req.raw_path == "/";
    if req.method == "POST" && root && form && !is_virtual_host(req) {
        return Face::Query;
    }
    Face::S3
}

fn is_virtual_host(req: &Request) -> bool {
    req.virtual_bucket.is_some()
}

impl Server {
    /// The bucket named by the Host header (virtual-hosted style), if any.
    pub fn virtual_bucket(&self, host: &str) -> Option<String> {
        self.bases.iter().find_map(|base| {
            host.strip_suffix(base.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .filter(|b| !b.is_empty())
                .map(str::to_string)
        })
    }

    /// Handles one request: checks its signature, then hands it to its face.
    pub fn handle(&self, mut req: Request) -> Response {
        if !req.raw_path.starts_with("/v20180820") {
            req.virtual_bucket = self.virtual_bucket(&req.host);
        }
        let face = face_of(&req);
        if req.method == "OPTIONS" && face == Face::S3 {
            // CORS preflight requests are never signed.
            return s3::preflight(&req);
        }
        if let Some(credentials) = &self.credentials {
            let signed = sigv4::SignedRequest {
                method: &req.method,
                raw_path: &req.raw_path,
                raw_query: &req.raw_query,
                headers: &req.headers,
                body: &req.body,
            };
            let checked =
                sigv4::verify(&signed, credentials, OffsetDateTime::now_utc()).and_then(|auth| {
                    // A body in signed chunks: every chunk's signature too.
                    match (req.header("x-amz-content-sha256"), req.header("x-amz-date")) {
                        (Some(h), Some(date))
                            if h.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") =>
                        {
                            sigv4::verify_chunks(&req.body, &auth, credentials, date)
                        }
                        _ => Ok(()),
                    }
                });
            if let Err(e) = checked {
                if e == AuthError::Missing && face == Face::S3 {
                    // Unsigned: what the ACLs allow everyone.
                    return s3::anonymous(self, &req);
                }
                let error = auth_error(&e, face);
                return match face {
                    Face::S3 | Face::Admin => s3::error_response(&req, &error),
                    Face::Control => control::error_response(&req, &error),
                    Face::Query => iam::error_response(&req, &error),
                }
                .op(format!("Auth {}", error.code));
            }
        }
        match face {
            Face::S3 => s3::handle(self, &req),
            Face::Control => control::handle(self, &req),
            Face::Query => iam::handle(self, &req),
            Face::Admin => admin::handle(self, &req),
        }
    }
}

/// The error AWS answers for a request that fails authentication.
fn auth_error(e: &AuthError, face: Face) -> Error {
    let query = face == Face::Query;
    match e {
        AuthError::Missing if query => Error::new(
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
        .status(403),
        AuthError::Missing => Error::access_denied("Access Denied"),
        AuthError::Malformed(why) if query => {
            Error::new("IncompleteSignature", why.clone()).status(403)
        }
        AuthError::Malformed(why) => {
            Error::new("AuthorizationHeaderMalformed", why.clone()).status(400)
        }
        AuthError::UnknownAccessKey(_) if query => Error::new(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
        .status(403),
        AuthError::UnknownAccessKey(_) => Error::new(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        .status(403),
        AuthError::SignatureMismatch => Error::new(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .status(403),
        AuthError::Skewed => Error::new(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
        .status(403),
        AuthError::Expired => Error::access_denied("Request has expired"),
        AuthError::ContentMismatch => Error::new(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
        .status(400),
    }
}

/// Decodes an `aws-chunked` body (`SIZE[;chunk-signature=..]\r\nDATA\r\n ... 0\r\ntrailers\r\n\r\n`).
pub fn decode_aws_chunked(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("an aws-chunked chunk header has no CRLF")?;
        let header = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk header")?;
        let size_text = header.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad aws-chunked chunk size `{size_text}`"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailers (checksums) follow; the body is complete.
            return Ok(out);
        }
        if rest.len() < size + 2 {
            return Err("an aws-chunked chunk is cut short".into());
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// The log line of a request: no credentials, no bodies.
fn log_line(remote: SocketAddr, req: &Request, resp: &Response, took: Duration) {
    eprintln!(
        "{} {remote} {} {} {} {} {}B {}ms",
        crate::timefmt::rfc3339_millis(OffsetDateTime::now_utc()),
        req.method,
        req.raw_path,
        if resp.operation.is_empty() {
            "-"
        } else {
            resp.operation.as_str()
        },
        resp.status,
        resp.body.len(),
        took.as_millis()
    );
}

async fn to_request(req: hyper::Request<Incoming>) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            Response::xml(
                400,
                format!(
                    "<Error><Code>IncompleteBody</Code><Message>{}</Message></Error>",
                    xml::escape(&e.to_string())
                ),
            )
            .op("ReadBody")
        })?
        .to_bytes()
        .to_vec();
    let raw_path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let host_header = headers
        .iter()
        .find(|(n, _)| n == "host")
        .map(|(_, v)| v.clone())
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let host = strip_port(&host_header).to_ascii_lowercase();
    Ok(Request {
        method: parts.method.as_str().to_string(),
        path: sigv4::percent_decode(&raw_path, false),
        query: sigv4::parse_query(&raw_query, false),
        raw_path,
        raw_query,
        headers,
        body,
        host,
        request_id: new_request_id(),
        virtual_bucket: None,
    })
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:9000
        return host
            .split(']')
            .next()
            .map_or(host, |h| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn to_hyper(resp: Response, head: bool) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(resp.status);
    let mut has_length = false;
    for (name, value) in &resp.headers {
        has_length |= name.eq_ignore_ascii_case("content-length");
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !has_length {
        builder = builder.header("content-length", resp.body.len().to_string());
    }
    let body = if head { Vec::new() } else { resp.body };
    builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| {
            let mut r = hyper::Response::new(Full::new(Bytes::new()));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

async fn serve_one(
    server: Arc<Server>,
    remote: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let head = req.method() == hyper::Method::HEAD;
    let (req, resp) = match to_request(req).await {
        Ok(req) => {
            let shared = server.clone();
            let for_log = Request {
                body: Vec::new(),
                ..req.clone()
            };
            let resp = tokio::task::spawn_blocking(move || shared.handle(req))
                .await
                .unwrap_or_else(|e| {
                    s3::error_response(
                        &for_log,
                        &Error::internal(format!("the request handler failed: {e}")),
                    )
                });
            (for_log, resp)
        }
        Err(resp) => (Request::default(), resp),
    };
    let resp = resp.header("x-amz-request-id", req.request_id.clone());
    log_line(remote, &req, &resp, started.elapsed());
    Ok(to_hyper(resp, head))
}

/// Host names whose sub-domains are buckets.
fn virtual_bases(args: &ServeArgs, region: &str) -> Vec<String> {
    let mut bases = vec![
        "localhost".to_string(),
        "s3.amazonaws.com".to_string(),
        format!("s3.{region}.amazonaws.com"),
    ];
    bases.extend(args.virtual_hosts.iter().map(|h| h.to_ascii_lowercase()));
    bases
}

/// Runs `s3thaw serve` until Ctrl-C (or SIGTERM); returns the exit code.
pub fn main(args: &ServeArgs) -> u8 {
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            crate::app::EXIT_USAGE
        }
    }
}

fn run(args: &ServeArgs) -> Result<(), String> {
    if !args.bind.ip().is_loopback() && !args.allow_remote {
        return Err(format!(
            "refusing to listen on {}: serve binds to loopback unless --allow-remote is given",
            args.bind
        ));
    }
    let dir = args
        .state
        .clone()
        .unwrap_or_else(crate::app::default_state_dir);
    let sim = Simulator::open(&dir)
        .map_err(|e| e.message)?
        .without_client_retries();
    if let Some(seed) = args.seed {
        sim.set_seed(seed).map_err(|e| e.message)?;
    }
    let region = sim.region();
    let account = sim.account_id().map_err(|e| e.message)?;
    let server = Arc::new(Server {
        bases: virtual_bases(args, &region),
        sim,
        uploads: multipart::Uploads::default(),
        credentials: (!args.no_auth).then(|| Credentials {
            access_key_id: args.access_key_id.clone(),
            secret_access_key: args.secret_access_key.clone(),
        }),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        eprintln!(
            "s3thaw serve: listening on http://{local} (account {account}, region {region}, state {}, SigV4 {})",
            dir.display(),
            match &server.credentials {
                Some(c) => format!("checked for access key {}", c.access_key_id),
                None => "not checked".to_string(),
            }
        );
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown_signal());
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, remote) = match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            eprintln!("s3thaw serve: accept failed: {e}");
                            continue;
                        }
                    };
                    let server = server.clone();
                    let service = service_fn(move |req| serve_one(server.clone(), remote, req));
                    let conn = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await
                            && !e.is_incomplete_message()
                        {
                            eprintln!("s3thaw serve: connection from {remote}: {e}");
                        }
                    });
                }
                _ = &mut shutdown => break,
            }
        }
        drop(listener);
        eprintln!("s3thaw serve: shutting down; finishing requests in flight");
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {
                eprintln!("s3thaw serve: requests still running after 30s; stopping anyway");
            }
        }
        eprintln!("s3thaw serve: stopped");
        Ok::<(), String>(())
    })?;
    // Requests already on the blocking pool finish their transaction before the runtime goes.
    runtime.shutdown_timeout(Duration::from_secs(30));
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_bodies_decode() {
        let body = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        assert_eq!(decode_aws_chunked(body).unwrap(), b"hello world");
        assert!(decode_aws_chunked(b"5\r\nhel").is_err());
    }

    fn server() -> (Server, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let sim = Simulator::open(dir.path()).unwrap();
        let server = Server {
            sim,
            credentials: None,
            bases: vec!["localhost".into()],
            uploads: multipart::Uploads::default(),
        };
        (server, dir)
    }

    fn request(method: &str, host: &str, target: &str, body: &[u8]) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: method.into(),
            raw_path: path.into(),
            raw_query: query.into(),
            path: sigv4::percent_decode(path, false),
            query: sigv4::parse_query(query, false),
            headers: vec![("host".into(), host.into())],
            body: body.to_vec(),
            host: strip_port(host).into(),
            request_id: "TEST".into(),
            virtual_bucket: None,
        }
    }

    fn text(resp: &Response) -> String {
        String::from_utf8_lossy(&resp.body).into_owned()
    }

    #[test]
    fn listings_page_and_group_by_delimiter() {
        let (server, _dir) = server();
        assert_eq!(
            server
                .handle(request("PUT", "127.0.0.1", "/bkt", b""))
                .status,
            200
        );
        for key in ["a/1", "a/2", "b/1", "c", "d"] {
            let put = server.handle(request("PUT", "127.0.0.1", &format!("/bkt/{key}"), b"x"));
            assert_eq!(put.status, 200, "{}", text(&put));
        }
        let first = server.handle(request(
            "GET",
            "127.0.0.1",
            "/bkt?list-type=2&delimiter=%2F&max-keys=2",
            b"",
        ));
        let doc = xml::parse(&first.body).unwrap();
        let prefixes: Vec<String> = doc
            .children_named("CommonPrefixes")
            .map(|p| p.text_of("Prefix").unwrap())
            .collect();
        assert_eq!(prefixes, ["a/", "b/"]);
        assert_eq!(doc.text_of("IsTruncated").as_deref(), Some("true"));
        let token = doc.text_of("NextContinuationToken").unwrap();
        let second = server.handle(request(
            "GET",
            "127.0.0.1",
            &format!("/bkt?list-type=2&delimiter=%2F&max-keys=2&continuation-token={token}"),
            b"",
        ));
        let doc = xml::parse(&second.body).unwrap();
        let keys: Vec<String> = doc
            .children_named("Contents")
            .map(|c| c.text_of("Key").unwrap())
            .collect();
        assert_eq!(keys, ["c", "d"]);
        assert_eq!(doc.text_of("IsTruncated").as_deref(), Some("false"));
    }

    #[test]
    fn virtual_hosted_requests_and_bodiless_head_errors() {
        let (server, _dir) = server();
        assert_eq!(
            server
                .handle(request("PUT", "vbk.localhost", "/", b""))
                .status,
            200
        );
        let put = server.handle(request("PUT", "vbk.localhost:9000", "/dir/k.txt", b"hello"));
        assert_eq!(put.status, 200);
        let get = server.handle(request("GET", "127.0.0.1", "/vbk/dir/k.txt", b""));
        assert_eq!(text(&get), "hello");
        let head = server.handle(request("HEAD", "vbk.localhost", "/missing", b""));
        assert_eq!((head.status, head.body.len()), (404, 0));
        let get = server.handle(request("GET", "vbk.localhost", "/missing", b""));
        assert!(
            text(&get).contains("<Code>NoSuchKey</Code>"),
            "{}",
            text(&get)
        );
    }

    #[test]
    fn chunked_uploads_store_the_decoded_bytes() {
        let (server, _dir) = server();
        server.handle(request("PUT", "127.0.0.1", "/bkt", b""));
        let mut req = request(
            "PUT",
            "127.0.0.1",
            "/bkt/k",
            b"3;chunk-signature=x\r\nabc\r\n0\r\n\r\n",
        );
        req.headers
            .push(("content-encoding".into(), "aws-chunked".into()));
        req.headers
            .push(("x-amz-storage-class".into(), "GLACIER".into()));
        assert_eq!(server.handle(req).status, 200);
        let head = server.handle(request("HEAD", "127.0.0.1", "/bkt/k", b""));
        let header = |n: &str| {
            head.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("content-length").as_deref(), Some("3"));
        assert_eq!(header("x-amz-storage-class").as_deref(), Some("GLACIER"));
        let get = server.handle(request("GET", "127.0.0.1", "/bkt/k", b""));
        assert_eq!(get.status, 403);
        assert!(text(&get).contains("InvalidObjectState"));
        // A Content-MD5 that does not match the body: BadDigest, nothing stored.
        let mut req = request("PUT", "127.0.0.1", "/bkt/other", b"abc");
        req.headers
            .push(("content-md5".into(), "AAAAAAAAAAAAAAAAAAAAAA==".into()));
        let resp = server.handle(req);
        assert_eq!(resp.status, 400);
        assert!(text(&resp).contains("<Code>BadDigest</Code>"));
        let mut req = request("PUT", "127.0.0.1", "/bkt/other", b"abc");
        req.headers
            .push(("content-md5".into(), "kAFQmDzST7DWlj99KOF/cg==".into()));
        assert_eq!(server.handle(req).status, 200);
    }

    #[test]
    fn multipart_uploads_become_one_object() {
        let (server, _dir) = server();
        server.handle(request("PUT", "127.0.0.1", "/bkt", b""));
        let mut create = request("POST", "127.0.0.1", "/bkt/big?uploads", b"");
        create
            .headers
            .push(("x-amz-storage-class".into(), "GLACIER".into()));
        let created = server.handle(create);
        let id = xml::parse(&created.body)
            .unwrap()
            .text_of("UploadId")
            .unwrap();
        let part = |n: u32, body: &[u8]| {
            let resp = server.handle(request(
                "PUT",
                "127.0.0.1",
                &format!("/bkt/big?partNumber={n}&uploadId={id}"),
                body,
            ));
            assert_eq!(resp.status, 200);
            resp.headers
                .iter()
                .find(|(k, _)| k == "etag")
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let (one, two) = (part(1, b"hello "), part(2, b"world"));
        let complete = |parts: &[(u32, &str)]| {
            let mut body = String::from("<CompleteMultipartUpload>");
            for (n, etag) in parts {
                body.push_str(&format!(
                    "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
                ));
            }
            body.push_str("</CompleteMultipartUpload>");
            server.handle(request(
                "POST",
                "127.0.0.1",
                &format!("/bkt/big?uploadId={id}"),
                body.as_bytes(),
            ))
        };
        let wrong = complete(&[(2, &two), (1, &one)]);
        assert!(
            text(&wrong).contains("InvalidPartOrder"),
            "{}",
            text(&wrong)
        );
        // Every part but the last must be 5 MiB or more.
        let small = complete(&[(1, &one), (2, &two)]);
        assert!(text(&small).contains("EntityTooSmall"), "{}", text(&small));
        let done = complete(&[(2, &two)]);
        assert_eq!(done.status, 200, "{}", text(&done));
        let head = server.handle(request("HEAD", "127.0.0.1", "/bkt/big", b""));
        let header = |n: &str| {
            head.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("content-length").as_deref(), Some("5"));
        assert_eq!(header("x-amz-storage-class").as_deref(), Some("GLACIER"));
        // Completing it again answers the same; the upload itself is gone.
        let again = complete(&[(2, &two)]);
        assert_eq!(text(&again), text(&done));
        let abort = server.handle(request(
            "DELETE",
            "127.0.0.1",
            &format!("/bkt/big?uploadId={id}"),
            b"",
        ));
        assert_eq!(abort.status, 404);
    }

    #[test]
    fn query_and_control_faces_refuse_what_aws_refuses() {
        let (server, _dir) = server();
        let mut req = request(
            "POST",
            "127.0.0.1",
            "/",
            b"Action=Frobnicate&Version=2010-05-08",
        );
        req.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        let resp = server.handle(req);
        assert_eq!(resp.status, 400);
        assert!(
            text(&resp).contains("<Code>InvalidAction</Code>"),
            "{}",
            text(&resp)
        );
        let mut req = request("GET", "999999999999.127.0.0.1", "/v20180820/jobs", b"");
        req.headers
            .push(("x-amz-account-id".into(), "999999999999".into()));
        let resp = server.handle(req);
        assert_eq!(resp.status, 403);
        assert!(text(&resp).contains("<ErrorResponse><Error><Code>AccessDenied</Code>"));
    }

    #[test]
    fn signatures_are_checked_when_credentials_are_set() {
        let (mut server, _dir) = server();
        server.credentials = Some(Credentials {
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            secret_access_key: DEFAULT_SECRET_ACCESS_KEY.into(),
        });
        let unsigned = server.handle(request("GET", "127.0.0.1", "/", b""));
        assert_eq!(unsigned.status, 403);
        assert!(text(&unsigned).contains("AccessDenied"));
        let base = request("GET", "127.0.0.1", "/", b"");
        let signed_headers = sigv4::sign(
            &sigv4::SignedRequest {
                method: "GET",
                raw_path: "/",
                raw_query: "",
                headers: &base.headers,
                body: b"",
            },
            server.credentials.as_ref().unwrap(),
            None,
            "us-east-1",
            "s3",
            OffsetDateTime::now_utc(),
        );
        let mut signed = base.clone();
        signed.headers.extend(signed_headers);
        let resp = server.handle(signed);
        assert_eq!(resp.status, 200, "{}", text(&resp));
        assert!(text(&resp).contains("<ListAllMyBucketsResult"));
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("127.0.0.1:9000"), "127.0.0.1");
        assert_eq!(strip_port("bucket.localhost"), "bucket.localhost");
        assert_eq!(strip_port("[::1]:9000"), "[::1]");
    }
}
