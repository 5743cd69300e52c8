//! HTTP plumbing: hyper requests into [`Request`]s and [`Response`]s back, one request on the
//! blocking pool (simulator calls block on SQLite), the access log, object bodies streamed to
//! a file as they arrive ([`stage_body`]) and big ones streamed out, `aws-chunked` bodies, and
//! the shutdown signal.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use time::OffsetDateTime;

use super::route::Face;
use super::wire::{Staged, new_request_id};
use super::{Request, Response, Server, auth, s3, xml};
use crate::errors::Error;
use crate::sigv4;

/// Largest body read into memory: every request but an object's bytes (XML, JSON, forms), as
/// AWS's own limits on those documents are far smaller. Past it: 400 `MaxMessageLengthExceeded`.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Frames of an object body in flight between the connection and the thread that decodes,
/// hashes and writes them: with hyper's frames of at most a few hundred KB, a bounded handful.
const STAGE_QUEUE: usize = 8;

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
        // `size` comes from the client: checked, a huge one is a cut-short chunk, not an overflow.
        let end = size
            .checked_add(2)
            .filter(|end| *end <= rest.len())
            .ok_or("an aws-chunked chunk is cut short")?;
        out.extend_from_slice(&rest[..size]);
        rest = &rest[end..];
    }
}

/// The log line of a request: no credentials, no bodies.
pub(super) fn log_line(remote: SocketAddr, req: &Request, resp: &Response, took: Duration) {
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
        resp.size(),
        took.as_millis()
    );
}

/// The request line and headers, before the body is read (`body` is empty).
pub(super) fn head_of(parts: &hyper::http::request::Parts) -> Request {
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
    Request {
        method: parts.method.as_str().to_string(),
        path: sigv4::percent_decode(&raw_path, false),
        query: sigv4::parse_query(&raw_query, false),
        raw_path,
        raw_query,
        headers,
        body: Vec::new(),
        host,
        request_id: new_request_id(),
        virtual_bucket: None,
        caller: None,
        staged: None,
    }
}

/// Reads a whole body, up to [`MAX_BODY`].
pub(super) async fn read_body(body: Incoming) -> Result<Vec<u8>, Response> {
    Ok(Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            let too_big = e.is::<http_body_util::LengthLimitError>();
            let (code, message) = if too_big {
                (
                    "MaxMessageLengthExceeded",
                    format!("Your request was too big: bodies other than an object's are limited to {MAX_BODY} bytes."),
                )
            } else {
                ("IncompleteBody", e.to_string())
            };
            Response::xml(
                400,
                format!(
                    "<Error><Code>{code}</Code><Message>{}</Message></Error>",
                    xml::escape(&message)
                ),
            )
            .header("connection", "close")
            .op("ReadBody")
        })?
        .to_bytes()
        .to_vec())
}

/// Why staging a body failed, as the error S3 answers.
fn stage_error(req: &Request, error: Error) -> Response {
    s3::error_response(req, &error)
        .header("connection", "close")
        .op(format!("ReadBody {}", error.code))
}

/// Streams an object body (PutObject, UploadPart) into a temporary file in the state
/// directory, in bounded memory: `aws-chunked` framing is decoded on the way, each signed
/// chunk's signature checked as it completes, the decoded bytes hashed (MD5, for the ETag and
/// `Content-MD5`) and, when the signature needs it, the received bytes too (SHA-256). A body
/// refused here leaves nothing behind; one accepted is checked against its signature by
/// `Server::handle` (`auth::check`) before anything is stored.
pub(super) async fn stage_body(
    server: &Server,
    req: &Request,
    mut body: Incoming,
) -> Result<Staged, Response> {
    use md5::{Digest, Md5};
    use sha2::Sha256;
    use std::io::Write;

    let content_sha = req.header("x-amz-content-sha256").unwrap_or("");
    let chunked = req
        .header("content-encoding")
        .is_some_and(|c| c.split(',').any(|p| p.trim() == "aws-chunked"))
        || content_sha.starts_with("STREAMING-");
    let announced = req
        .header(if chunked {
            "x-amz-decoded-content-length"
        } else {
            "content-length"
        })
        .and_then(|n| n.trim().parse::<u64>().ok());
    if let Some(size) = announced.filter(|n| *n > crate::backend::sim::MAX_PUT_SIZE) {
        drain(body).await;
        return Err(stage_error(req, too_large(size)));
    }
    let signing = match &server.credentials {
        Some(identities) if content_sha.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") => {
            // The chunks are signed with the key of the identity the request names.
            let made = sigv4::ChunkSigning::new(
                req.header("authorization").unwrap_or(""),
                req.header("x-amz-date").unwrap_or(""),
                &identities.for_request(req).credentials,
            );
            match made {
                Ok(signing) => Some(signing),
                Err(e) => {
                    drain(body).await;
                    return Err(server.auth_refusal(req, &e));
                }
            }
        }
        _ => None,
    };
    // The received bytes' SHA-256 is what a signature over the payload covers.
    let hash_raw = server.credentials.is_some()
        && !content_sha.starts_with("STREAMING-")
        && content_sha != "UNSIGNED-PAYLOAD";
    let dir = server.sim.state_dir().join("tmp");
    let path = dir.join(format!("body-{}", req.request_id));
    let opened = std::fs::create_dir_all(&dir).and_then(|()| std::fs::File::create(&path));
    let file = match opened {
        Ok(file) => file,
        Err(e) => {
            drain(body).await;
            return Err(stage_error(
                req,
                Error::internal(format!("cannot stage the body: {e}")),
            ));
        }
    };
    // From here on, `guard` removes the file unless the body is accepted.
    let guard = Staged {
        body: crate::backend::BodyFile {
            path: path.clone(),
            len: 0,
            md5: [0; 16],
        },
        raw_sha256: None,
        received: time::OffsetDateTime::now_utc(),
    };
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(STAGE_QUEUE);
    let writer =
        tokio::task::spawn_blocking(move || -> Result<(u64, [u8; 16], Option<String>), Error> {
            /// Where decoded bytes go: counted, hashed, written.
            struct Sink {
                out: std::io::BufWriter<std::fs::File>,
                md5: Md5,
                len: u64,
                failed: Option<Error>,
            }
            impl Sink {
                fn take(&mut self, data: &[u8]) {
                    if self.failed.is_some() {
                        return;
                    }
                    self.len += data.len() as u64;
                    if self.len > crate::backend::sim::MAX_PUT_SIZE {
                        self.failed = Some(too_large(self.len));
                        return;
                    }
                    self.md5.update(data);
                    if let Err(e) = self.out.write_all(data) {
                        self.failed = Some(Error::internal(format!("cannot stage the body: {e}")));
                    }
                }
            }
            let mut sink = Sink {
                out: std::io::BufWriter::with_capacity(256 * 1024, file),
                md5: Md5::new(),
                len: 0,
                failed: None,
            };
            let mut decoder = chunked.then(|| sigv4::ChunkDecoder::new(signing));
            let mut raw = hash_raw.then(Sha256::new);
            while let Some(frame) = receiver.blocking_recv() {
                if let Some(raw) = &mut raw {
                    raw.update(&frame);
                }
                match &mut decoder {
                    Some(decoder) => decoder
                        .feed(&frame, &mut |data| sink.take(data))
                        .map_err(chunk_error)?,
                    None => sink.take(&frame),
                }
                if let Some(e) = sink.failed.take() {
                    return Err(e);
                }
            }
            if let Some(decoder) = &decoder {
                decoder.finish().map_err(chunk_error)?;
            }
            sink.out
                .flush()
                .map_err(|e| Error::internal(format!("cannot stage the body: {e}")))?;
            Ok((
                sink.len,
                sink.md5.finalize().into(),
                raw.map(|r| hex::encode(r.finalize())),
            ))
        });
    let mut incomplete = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data()
                    && sender.send(data).await.is_err()
                {
                    // The writer stopped: its error is the answer.
                    break;
                }
            }
            Err(e) => {
                incomplete = Some(e.to_string());
                break;
            }
        }
    }
    drop(sender);
    let written = writer
        .await
        .unwrap_or_else(|e| Err(Error::internal(format!("staging the body failed: {e}"))));
    let (len, md5, raw_sha256) = match (incomplete, written) {
        (Some(why), _) => {
            return Err(stage_error(
                req,
                Error::new(
                    "IncompleteBody",
                    format!("You did not provide the number of bytes specified by the Content-Length HTTP header: {why}"),
                )
                .status(400),
            ));
        }
        (None, Err(e)) => {
            drain(body).await;
            return Err(stage_error(req, e));
        }
        (None, Ok(done)) => done,
    };
    if chunked
        && let Some(announced) = announced
        && announced != len
    {
        return Err(stage_error(
            req,
            Error::new(
                "IncompleteBody",
                format!("The aws-chunked body decodes to {len} bytes, not the {announced} of x-amz-decoded-content-length"),
            )
            .status(400),
        ));
    }
    let mut staged = guard;
    staged.body.len = len;
    staged.body.md5 = md5;
    staged.raw_sha256 = raw_sha256;
    Ok(staged)
}

/// An object body past what the simulator stores.
fn too_large(size: u64) -> Error {
    Error::new(
        "EntityTooLarge",
        format!(
            "Your proposed upload exceeds the maximum allowed size: {size} bytes, more than the {} allowed in one request",
            crate::backend::sim::MAX_PUT_SIZE
        ),
    )
    .status(400)
}

/// A refused `aws-chunked` body, as S3 answers it.
fn chunk_error(e: sigv4::ChunkError) -> Error {
    match e {
        sigv4::ChunkError::SignatureMismatch => {
            auth::error(&sigv4::AuthError::SignatureMismatch, Face::S3)
        }
        sigv4::ChunkError::Malformed(why) => Error::new(
            "IncompleteBody",
            format!("The aws-chunked body is malformed: {why}"),
        )
        .status(400),
    }
}

pub(super) fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:9000
        return host
            .split(']')
            .next()
            .map_or(host, |h| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// A response body: whole, or streamed from the simulator by a blocking reader through a
/// small channel (so memory stays flat whatever the object's size).
pub(super) enum Body {
    Full(Option<Bytes>),
    Stream {
        rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
        len: u64,
    },
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        match &mut *self {
            Body::Full(bytes) => std::task::Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(hyper::body::Frame::data(b))),
            ),
            Body::Stream { rx, .. } => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| c.map(hyper::body::Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(bytes) => {
                hyper::body::SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Body::Stream { len, .. } => hyper::body::SizeHint::with_exact(*len),
        }
    }
}

/// Bytes read from the simulator per chunk of a streamed body (each read reopens a stored
/// blob, so chunks are large), and chunks buffered ahead: at most 12 MiB per streamed GET.
const STREAM_CHUNK: u64 = 4 * 1024 * 1024;
const STREAM_AHEAD: usize = 2;

/// Streams `stream` out of the simulator on a blocking thread; a read that fails ends the
/// body with an error (the client sees a short body), and a client that goes away stops it.
fn stream_body(server: Arc<Server>, stream: super::wire::Streamed) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel(STREAM_AHEAD);
    let len = stream.range.end - stream.range.start;
    tokio::task::spawn_blocking(move || {
        let mut pos = stream.range.start;
        while pos < stream.range.end {
            let n = (stream.range.end - pos).min(STREAM_CHUNK) as usize;
            let mut buf = vec![0u8; n];
            let mut filled = 0;
            while filled < n {
                match server
                    .sim
                    .read_body(&stream.source, pos + filled as u64, &mut buf[filled..])
                {
                    Ok(0) => {
                        let _ = tx.blocking_send(Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the object's body ended early",
                        )));
                        return;
                    }
                    Ok(k) => filled += k,
                    Err(e) => {
                        eprintln!("a streamed body failed: {e}");
                        let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                        return;
                    }
                }
            }
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return;
            }
            pos += n as u64;
        }
    });
    Body::Stream { rx, len }
}

pub(super) fn to_hyper(server: &Arc<Server>, resp: Response, head: bool) -> hyper::Response<Body> {
    let mut builder = hyper::Response::builder().status(resp.status);
    let mut has_length = false;
    for (name, value) in &resp.headers {
        has_length |= name.eq_ignore_ascii_case("content-length");
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !has_length {
        builder = builder.header("content-length", resp.size().to_string());
    }
    let body = match (head, resp.stream) {
        (true, _) => Body::Full(None),
        (false, Some(stream)) => stream_body(server.clone(), stream),
        (false, None) => Body::Full(Some(Bytes::from(resp.body))),
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut r = hyper::Response::new(Body::Full(None));
        *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// What a refused request's body may still be read (and thrown away) for, so that a client
/// still sending it reads the error instead of a reset connection; beyond this the connection
/// closes. Nothing read here is kept: memory stays flat whatever the body's size.
const DRAIN_BYTES: u64 = 8 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards up to [`DRAIN_BYTES`] of `body` for at most [`DRAIN_TIME`].
async fn drain(mut body: Incoming) {
    let mut seen = 0u64;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen += data.len() as u64;
                if seen > DRAIN_BYTES {
                    break;
                }
            }
        }
    })
    .await;
}

pub(super) async fn serve_one(
    server: Arc<Server>,
    remote: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Body>, Infallible> {
    let started = Instant::now();
    let head = req.method() == hyper::Method::HEAD;
    let (parts, body) = req.into_parts();
    let mut request = head_of(&parts);
    // A request that fails authentication from its headers is refused before its body is read:
    // an unauthenticated client cannot make `serve` buffer anything.
    if let Some(refused) = server.refuse_head(&request) {
        drain(body).await;
        let resp = refused
            .header("x-amz-request-id", request.request_id.clone())
            .header("connection", "close");
        log_line(remote, &request, &resp, started.elapsed());
        return Ok(to_hyper(&server, resp, head));
    }
    // S3 refuses a path that is not UTF-8 once decoded, rather than merge keys lossily.
    if sigv4::percent_decode_utf8(&request.raw_path, false).is_none() {
        drain(body).await;
        let resp = s3::error_response(
            &request,
            &Error::new("InvalidURI", "Couldn't parse the specified URI.").status(400),
        )
        .op("InvalidURI")
        .header("x-amz-request-id", request.request_id.clone())
        .header("connection", "close");
        log_line(remote, &request, &resp, started.elapsed());
        return Ok(to_hyper(&server, resp, head));
    }
    let read = if s3::streams_body(&server, &request) {
        stage_body(&server, &request, body)
            .await
            .map(|staged| request.staged = Some(Arc::new(staged)))
    } else {
        read_body(body).await.map(|bytes| request.body = bytes)
    };
    let resp = match read {
        Ok(()) => {
            let shared = server.clone();
            let for_log = Request {
                body: Vec::new(),
                staged: None,
                ..request.clone()
            };
            let resp = tokio::task::spawn_blocking(move || shared.handle(request))
                .await
                .unwrap_or_else(|e| {
                    // The panic's text goes to the log, never into a response body.
                    eprintln!("request {} failed in its handler: {e}", for_log.request_id);
                    s3::error_response(
                        &for_log,
                        &Error::internal("We encountered an internal error. Please try again."),
                    )
                });
            request = for_log;
            resp
        }
        Err(resp) => {
            request.body = Vec::new();
            request.staged = None;
            resp
        }
    };
    let resp = resp.header("x-amz-request-id", request.request_id.clone());
    log_line(remote, &request, &resp, started.elapsed());
    Ok(to_hyper(&server, resp, head))
}

pub(super) async fn shutdown_signal() {
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
