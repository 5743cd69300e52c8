//! The request and response as `serve`'s handlers see them, independent of hyper: the whole
//! body, the decoded path and query, lower-case header names; and the HTTP status of an error.

use crate::errors::Error;

/// A request as the handlers see it: whole body (or a staged one), decoded path and query, lower-case header names.
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
    /// Who signed it (set once its signature is checked; `None`: the world's own account, as
    /// with `--no-auth` or the default credentials).
    pub caller: Option<crate::backend::sim::Caller>,
    /// An object body (PutObject, UploadPart) streamed to a file instead of `body`.
    pub staged: Option<std::sync::Arc<Staged>>,
}

/// An object body received into a temporary file in the state directory, decoded from its
/// `aws-chunked` framing and hashed on the way; the file is removed when the last request
/// holding it is dropped.
#[derive(Debug)]
pub struct Staged {
    /// The decoded bytes: their file, length and MD5.
    pub body: crate::backend::BodyFile,
    /// The SHA-256 (hex) of the bytes as received, when the signature needs it.
    pub raw_sha256: Option<String>,
    /// When its headers arrived: the instant its signature's date is checked against (as AWS
    /// does, so that a body taking longer than the 15 minutes of allowed skew to arrive, a 5 GB
    /// PUT on a slow link, is not refused for it).
    pub received: time::OffsetDateTime,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.body.path);
    }
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
    /// A body streamed from the simulator instead of `body` (GetObject of a large or
    /// synthetic object): read a chunk at a time as the client takes it.
    pub stream: Option<Streamed>,
    /// For the log line: `S3.PutObject`, `IAM.CreateRole`...
    pub operation: String,
}

/// The bytes `range` of an object opened in the simulator, to be streamed out.
#[derive(Debug, Clone)]
pub struct Streamed {
    pub source: crate::backend::sim::BodySource,
    pub range: std::ops::Range<u64>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            stream: None,
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

    /// The body's length, whether in memory or streamed from the simulator.
    pub fn size(&self) -> u64 {
        self.stream
            .as_ref()
            .map_or(self.body.len() as u64, |s| s.range.end - s.range.start)
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

pub(super) fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase()
}
