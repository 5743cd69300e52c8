//! HTTP plumbing: hyper requests into [`Request`]s and [`Response`]s back, one request on the
//! blocking pool (simulator calls block on SQLite), the access log, `aws-chunked` bodies, and
//! the shutdown signal.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use time::OffsetDateTime;

use super::wire::new_request_id;
use super::{Request, Response, Server, s3, xml};
use crate::errors::Error;
use crate::sigv4;

/// Largest request body accepted (objects are held in memory by the simulator).
const MAX_BODY: usize = 512 * 1024 * 1024;

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
        resp.stream
            .as_ref()
            .map_or(resp.body.len() as u64, |s| s.range.end - s.range.start),
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
    }
}

/// Reads a whole body, up to [`MAX_BODY`].
pub(super) async fn read_body(body: Incoming) -> Result<Vec<u8>, Response> {
    Ok(Limited::new(body, MAX_BODY)
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
        .to_vec())
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
        let len = match &resp.stream {
            Some(s) => s.range.end - s.range.start,
            None => resp.body.len() as u64,
        };
        builder = builder.header("content-length", len.to_string());
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
    let resp = match read_body(body).await {
        Ok(bytes) => {
            request.body = bytes;
            let shared = server.clone();
            let for_log = Request {
                body: Vec::new(),
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
