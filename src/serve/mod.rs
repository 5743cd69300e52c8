//! `s3thaw serve`: the simulator behind AWS's own wire protocols, so that any S3 client (the AWS
//! CLI, an SDK, s3thaw's own `aws` backend) can talk to it.
//!
//! - S3 REST (path-style and virtual-hosted) in `s3.rs`,
//! - S3 Control REST-XML under `/v20180820/jobs` in `control.rs`,
//! - IAM's Query protocol and STS `GetCallerIdentity` in `iam.rs`,
//! - a simulator-only admin endpoint under `/_s3thaw/` in `admin.rs` (clock and `sim::` controls),
//! - `route.rs`: which face a request is for, and the one entry point (`Server::handle`),
//! - `auth.rs`: SigV4 checks (with `crate::sigv4`, shared with the aws backend) and their errors,
//! - `http.rs`: hyper in and out, the blocking pool, the access log, object bodies streamed to
//!   the state directory (decoded, hashed, chunk signatures checked) and big GETs streamed out,
//! - `wire.rs`: the `Request`/`Response` the faces see, and an error's HTTP status.
//!
//! This file holds the flags, the server state and the start-up (`main`, `run`).
//!
//! This module only translates: every rule (what exists, what is allowed, what a restore does)
//! comes from the simulator through the [`Backend`] trait. Simulator calls block (SQLite), so
//! each request is handled on tokio's blocking pool.

pub mod admin;
pub mod auth;
pub mod control;
mod http;
pub mod iam;
pub mod multipart;
mod route;
pub mod s3;
mod wire;
pub mod xml;

pub use http::decode_aws_chunked;
pub use wire::{Request, Response, status_of};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::backend::Backend;
use crate::backend::sim::Simulator;
use crate::sigv4::Credentials;
use auth::Identities;
use http::{serve_one, shutdown_signal};

/// The access key id `serve` accepts unless told otherwise.
pub const DEFAULT_ACCESS_KEY_ID: &str = "S3THAWTESTKEY0000001";
/// The secret access key `serve` accepts unless told otherwise. A test credential, not a secret.
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "s3thaw/test/secret/0000000000000000000000";

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
    /// Identities to accept instead of the single access key above, one per line:
    /// `ACCESS_KEY_ID SECRET ACCOUNT_ID DISPLAY NAME` (`#` comments and blank lines allowed).
    /// Each request acts as the identity that signed it: it owns what it creates, and other
    /// accounts' private buckets and objects are refused to it.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Accept unsigned requests and any signature (no SigV4 verification).
    #[arg(long)]
    pub no_auth: bool,
    /// Extra host names whose sub-domains are bucket names (virtual-hosted style), besides
    /// `localhost`, `s3.amazonaws.com` and `s3.REGION.amazonaws.com`.
    #[arg(long = "virtual-host", value_name = "DOMAIN")]
    pub virtual_hosts: Vec<String>,
    /// Allow binding to a non-loopback address (refused with the default secret: give yours).
    #[arg(long)]
    pub allow_remote: bool,
    /// Seconds a connection may stay idle, or take to send a request's headers, before it is
    /// closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// MiB of parts that multipart uploads in progress may hold together on disk (each upload
    /// up to AWS's 5 TiB); an UploadPart past it answers 400 `EntityTooLarge`. Raise it for
    /// uploads bigger than the default 16 GiB.
    #[arg(long, value_name = "MIB", default_value_t = 16 * 1024,
          value_parser = clap::value_parser!(u64).range(5..=5 * 1024 * 1024 * 1024))]
    pub uploads_max_mib: u64,
}

/// Backing off after failed accepts (out of file descriptors, say): the loop sleeps 10 ms,
/// doubling up to 1 s, and logs the first error of a burst and, once an accept succeeds again,
/// how many there were, instead of a line per failure.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    failures: u64,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const LONGEST: Duration = Duration::from_secs(1);

    /// A failed accept: what to log (only the burst's first) and how long to wait.
    pub(crate) fn failed(&mut self, error: &std::io::Error) -> (Option<String>, Duration) {
        self.failures += 1;
        let log = (self.failures == 1).then(|| {
            format!("s3thaw serve: accept failed: {error}; backing off until accepts succeed")
        });
        let shift = u32::try_from(self.failures - 1).unwrap_or(u32::MAX).min(7);
        let wait = (Self::FIRST * 2u32.pow(shift)).min(Self::LONGEST);
        (log, wait)
    }

    /// A successful accept: the end of a burst, logged when there was one.
    pub(crate) fn succeeded(&mut self) -> Option<String> {
        let failures = std::mem::take(&mut self.failures);
        (failures > 0)
            .then(|| format!("s3thaw serve: accepting again after {failures} failed accepts"))
    }
}

/// What every request handler shares.
pub struct Server {
    pub sim: Simulator,
    /// The identities requests may be signed as; `None` when `--no-auth`.
    pub credentials: Option<Identities>,
    pub bases: Vec<String>,
    /// Multipart uploads in progress.
    pub uploads: multipart::Uploads,
}

/// Removes bodies staged more than an hour ago in the state's `tmp/` (left by a `serve` that
/// was killed mid-request); younger ones may belong to another `serve` on the same state.
fn clear_stale_bodies(tmp: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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

/// Runs `s3thaw serve` over `sim` (opened by the caller, the one opener of a state directory:
/// `app::open_simulator`) until Ctrl-C or SIGTERM. Injected faults are answered to the clients,
/// which retry by themselves, so `sim` should come `without_client_retries`.
pub fn run(args: &ServeArgs, sim: Simulator) -> Result<(), String> {
    if !args.bind.ip().is_loopback() && !args.allow_remote {
        return Err(format!(
            "refusing to listen on {}: serve binds to loopback unless --allow-remote is given",
            args.bind
        ));
    }
    let identities = match &args.credentials {
        Some(path) => Identities::load(path)?,
        None => Identities::from(Credentials {
            access_key_id: args.access_key_id.clone(),
            secret_access_key: args.secret_access_key.clone(),
        }),
    };
    if args.allow_remote
        && !args.no_auth
        && identities
            .iter()
            .any(|i| i.credentials.secret_access_key == DEFAULT_SECRET_ACCESS_KEY)
    {
        return Err(
            "refusing --allow-remote with the published default secret: anyone could sign \
             requests; give your own with --secret-access-key or S3THAW_SERVE_SECRET_ACCESS_KEY"
                .to_string(),
        );
    }
    clear_stale_bodies(&sim.state_dir().join("tmp"));
    // The identities' accounts are the canonical users ACLs may grant to.
    sim.register_accounts(&identities.accounts())
        .map_err(|e| format!("cannot record the identities' accounts: {}", e.message))?;
    let region = sim.region();
    let account = sim.account_id().map_err(|e| e.message)?;
    let server = Arc::new(Server {
        bases: virtual_bases(args, &region),
        sim,
        uploads: multipart::Uploads::default(),
        credentials: (!args.no_auth).then_some(identities),
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
            server.sim.state_dir().display(),
            match &server.credentials {
                Some(ids) => {
                    let keys: Vec<&str> = ids
                        .iter()
                        .map(|i| i.credentials.access_key_id.as_str())
                        .collect();
                    format!(
                        "checked for access key{} {}",
                        if keys.len() == 1 { "" } else { "s" },
                        keys.join(", ")
                    )
                }
                None => "not checked".to_string(),
            }
        );
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown_signal());
        let mut backoff = AcceptBackoff::default();
        let header_timeout = Duration::from_secs(args.header_timeout);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, remote) = match accepted {
                        Ok(pair) => {
                            if let Some(line) = backoff.succeeded() {
                                eprintln!("{line}");
                            }
                            pair
                        }
                        Err(e) => {
                            let (log, wait) = backoff.failed(&e);
                            if let Some(line) = log {
                                eprintln!("{line}");
                            }
                            tokio::select! {
                                _ = tokio::time::sleep(wait) => {}
                                _ = &mut shutdown => break,
                            }
                            continue;
                        }
                    };
                    let server = server.clone();
                    let service = service_fn(move |req| serve_one(server.clone(), remote, req));
                    // Idle connections and slow headers are closed after `header_timeout`.
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
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

#[cfg(test)]
mod tests {
    #[test]
    fn accept_errors_back_off_and_log_once_per_burst() {
        let mut backoff = AcceptBackoff::default();
        assert_eq!(backoff.succeeded(), None);
        let e = std::io::Error::other("Too many open files");
        let mut logged = 0;
        let mut waited = Duration::ZERO;
        for _ in 0..1_000 {
            let (log, wait) = backoff.failed(&e);
            logged += usize::from(log.is_some());
            assert!(wait <= Duration::from_secs(1));
            waited += wait;
        }
        assert_eq!(logged, 1);
        // A thousand failures in a row take minutes, not microseconds.
        assert!(waited > Duration::from_secs(900), "{waited:?}");
        let end = backoff.succeeded().expect("the burst's summary");
        assert!(end.contains("1000 failed accepts"), "{end}");
        let (log, wait) = backoff.failed(&e);
        assert!(log.is_some());
        assert_eq!(wait, Duration::from_millis(10));
    }

    use super::http::*;
    use super::*;
    use crate::sigv4;
    use time::OffsetDateTime;

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
            caller: None,
            staged: None,
        }
    }

    fn text(resp: &Response) -> String {
        String::from_utf8_lossy(&resp.body).into_owned()
    }

    /// A CORS preflight (OPTIONS) is never refused by the header-first signature check, even
    /// when its URL carries a presigned GET's query (s3-tests' `x_amz_expires_not_expired`):
    /// the S3 face answers it (400 without a CORS configuration), as AWS does.
    #[test]
    fn cors_preflight_on_a_presigned_url_reaches_the_s3_face() {
        let (mut server, _dir) = server();
        server.credentials = Some(
            crate::sigv4::Credentials {
                access_key_id: "AKID".into(),
                secret_access_key: "secret".into(),
            }
            .into(),
        );
        let presigned = "/bkt/foo?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T000000Z&X-Amz-Expires=100000&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        let options = request("OPTIONS", "127.0.0.1", presigned, b"");
        assert!(server.refuse_head(&options).is_none());
        let get = request("GET", "127.0.0.1", presigned, b"");
        assert!(
            server.refuse_head(&get).is_some(),
            "a bad signature on GET is still refused"
        );
    }

    /// ListObjectsV2 with `x-amz-optional-object-attributes: RestoreStatus`: the element is
    /// present while a restore runs and while its copy lives (with the expiry), absent for an
    /// object never restored, after the copy expired, and when the header is not sent.
    #[test]
    fn listings_carry_restore_status_only_when_asked_and_only_while_it_exists() {
        use crate::backend::{PutObject, RestoreRequest, StorageClass, Tier};
        let (server, _dir) = server();
        server.sim.create_bucket("cold", None).unwrap();
        for key in ["never", "restored"] {
            server
                .sim
                .put_object(PutObject {
                    bucket: "cold".into(),
                    key: key.into(),
                    body: b"x".to_vec(),
                    storage_class: Some(StorageClass::Glacier),
                    ..PutObject::default()
                })
                .unwrap();
        }
        let request_restore = RestoreRequest {
            days: Some(1),
            tier: Tier::Expedited,
        };
        server
            .sim
            .restore_object("cold", "restored", None, request_restore)
            .unwrap();
        let list = |asked: bool| {
            let mut req = request("GET", "127.0.0.1", "/cold?list-type=2", b"");
            if asked {
                req.headers.push((
                    "x-amz-optional-object-attributes".into(),
                    "RestoreStatus".into(),
                ));
            }
            let resp = server.handle(req);
            assert_eq!(resp.status, 200, "{}", text(&resp));
            let doc = xml::parse(&resp.body).unwrap();
            doc.children_named("Contents")
                .map(|c| {
                    let status = c.child("RestoreStatus").map(|r| {
                        (
                            r.text_of("IsRestoreInProgress").unwrap_or_default(),
                            r.text_of("RestoreExpiryDate"),
                        )
                    });
                    (c.text_of("Key").unwrap(), status)
                })
                .collect::<Vec<_>>()
        };
        // Not asked: no element, whatever the state.
        assert!(list(false).iter().all(|(_, s)| s.is_none()));
        // Running.
        let during = list(true);
        assert_eq!(during[0], ("never".into(), None));
        assert_eq!(during[1], ("restored".into(), Some(("true".into(), None))));
        // Done: in progress false, with the expiry (RFC 3339, midnight UTC).
        server
            .sim
            .advance(std::time::Duration::from_secs(600))
            .unwrap();
        let after = list(true);
        let (progress, expiry) = after[1].1.clone().expect("a RestoreStatus element");
        assert_eq!(progress, "false");
        let expiry = expiry.expect("an expiry date");
        assert!(expiry.ends_with("T00:00:00.000Z"), "{expiry}");
        // Expired: gone again.
        server
            .sim
            .advance(std::time::Duration::from_secs(3 * 86400))
            .unwrap();
        assert!(list(true).iter().all(|(_, s)| s.is_none()));
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
        server.credentials = Some(
            Credentials {
                access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
                secret_access_key: DEFAULT_SECRET_ACCESS_KEY.into(),
            }
            .into(),
        );
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
            &Credentials {
                access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
                secret_access_key: DEFAULT_SECRET_ACCESS_KEY.into(),
            },
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

    /// Only an object's bytes (PutObject, UploadPart) are streamed to a file; every other body
    /// (bucket and sub-resource PUTs, copies, XML posts, S3 Control) is read into memory.
    #[test]
    fn object_bodies_stream_and_the_rest_stay_in_memory() {
        let (server, _dir) = server();
        let streams = |method: &str, host: &str, target: &str, copy: bool| {
            let mut req = request(method, host, target, b"");
            if copy {
                req.headers
                    .push(("x-amz-copy-source".into(), "/b/src".into()));
            }
            s3::streams_body(&server, &req)
        };
        assert!(streams("PUT", "127.0.0.1", "/bkt/key", false));
        assert!(streams("PUT", "bkt.localhost", "/key", false));
        assert!(streams(
            "PUT",
            "127.0.0.1",
            "/bkt/key?partNumber=3&uploadId=abc",
            false
        ));
        assert!(streams(
            "PUT",
            "127.0.0.1",
            "/bkt/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00",
            false
        ));
        assert!(!streams("PUT", "127.0.0.1", "/bkt", false));
        assert!(!streams("PUT", "bkt.localhost", "/", false));
        assert!(!streams("PUT", "127.0.0.1", "/bkt/key?acl", false));
        assert!(!streams("PUT", "127.0.0.1", "/bkt/key", true));
        assert!(!streams(
            "PUT",
            "127.0.0.1",
            "/bkt/key?partNumber=3&uploadId=abc",
            true
        ));
        assert!(!streams(
            "POST",
            "127.0.0.1",
            "/bkt/key?uploadId=abc",
            false
        ));
        assert!(!streams(
            "PUT",
            "127.0.0.1",
            "/v20180820/jobs/x/tagging",
            false
        ));
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("127.0.0.1:9000"), "127.0.0.1");
        assert_eq!(strip_port("bucket.localhost"), "bucket.localhost");
        assert_eq!(strip_port("[::1]:9000"), "[::1]");
    }
}
