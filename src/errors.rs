//! The one error type of s3thaw and its conversion into a Rhai value.
//!
//! Every failure that reaches a script is an object map `#{ code, message, status?, bucket?, key?,
//! version_id?, job_id?, hint? }`, so playbooks can branch on `e.code`. `code` is AWS's error code
//! where AWS has one, our own otherwise (`InvalidArgument`, `NotSupported`, `Timeout`, ...).

use rhai::{Dynamic, EvalAltResult, Map, Position};

/// A failure with an AWS-style code. Built with [`Error::new`] and the builder methods.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub version_id: Option<String>,
    pub job_id: Option<String>,
    pub hint: Option<String>,
    /// The request named a delete marker (S3's `x-amz-delete-marker: true` on the error).
    pub delete_marker: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            code: code.into(),
            message: message.into(),
            status: None,
            bucket: None,
            key: None,
            version_id: None,
            job_id: None,
            hint: None,
            delete_marker: false,
        }
    }

    /// Marks the error as answering for a delete marker.
    pub fn on_delete_marker(mut self) -> Self {
        self.delete_marker = true;
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn version_id(mut self, version_id: Option<impl Into<String>>) -> Self {
        self.version_id = version_id.map(Into::into);
        self
    }

    pub fn job_id(mut self, job_id: impl Into<String>) -> Self {
        self.job_id = Some(job_id.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Our own code for bad input from a script or the command line.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::new("InvalidArgument", message)
    }

    /// AWS's code for a request the service refuses as malformed.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Error::new("InvalidRequest", message).status(400)
    }

    pub fn not_supported(message: impl Into<String>) -> Self {
        Error::new("NotSupported", message)
    }

    /// A failure of s3thaw itself (storage, I/O): not the user's fault, never expected.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Error::new("InternalError", message.to_string()).status(500)
    }

    /// Another process (or `serve`) kept the simulator's state locked for longer than
    /// s3thaw waits (`sim::BUSY_LIMIT`): nothing was changed; the same call can be run again.
    pub fn state_busy(message: impl Into<String>) -> Self {
        Error::new("StateBusy", message)
            .status(503)
            .hint("another s3thaw process is using this state directory; run again when it is done, or give this run its own --state DIR")
    }

    pub fn no_such_bucket(bucket: &str) -> Self {
        Error::new("NoSuchBucket", "The specified bucket does not exist")
            .status(404)
            .bucket(bucket)
    }

    pub fn no_such_key(bucket: &str, key: &str) -> Self {
        Error::new("NoSuchKey", "The specified key does not exist.")
            .status(404)
            .bucket(bucket)
            .key(key)
    }

    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Error::new("NoSuchEntity", message).status(404)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Error::new("AccessDenied", message).status(403)
    }

    /// Throttling: the service asks the client to slow down (S3's 503 `SlowDown`, the SDKs'
    /// `Throttling*` codes). Rate controllers count these.
    pub fn is_throttle(&self) -> bool {
        is_throttle_code(&self.code)
    }

    /// Worth trying again unchanged: throttling, the service's own 5xx failures and request
    /// time-outs. The one list of transient errors: retries, retry plans and hints all ask here.
    pub fn is_transient(&self) -> bool {
        is_transient_code(&self.code) || self.status.is_some_and(|s| s >= 500)
    }

    /// The error as the object map a script sees.
    pub fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("code".into(), self.code.clone().into());
        map.insert("message".into(), self.message.clone().into());
        if let Some(status) = self.status {
            map.insert("status".into(), (status as i64).into());
        }
        let optional = [
            ("bucket", &self.bucket),
            ("key", &self.key),
            ("version_id", &self.version_id),
            ("job_id", &self.job_id),
            ("hint", &self.hint),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                map.insert(name.into(), value.clone().into());
            }
        }
        map
    }

    /// Reads back an error map thrown by a script or by us (used to print uncaught errors).
    pub fn from_map(map: &Map) -> Option<Error> {
        let text = |name: &str| {
            map.get(name)
                .filter(|v| v.is_string())
                .map(|v| v.to_string())
        };
        let mut error = Error::new(text("code")?, text("message").unwrap_or_default());
        error.status = map
            .get("status")
            .and_then(|v| v.as_int().ok())
            .and_then(|s| u16::try_from(s).ok());
        error.bucket = text("bucket");
        error.key = text("key");
        error.version_id = text("version_id");
        error.job_id = text("job_id");
        error.hint = text("hint");
        Some(error)
    }
}

impl From<Error> for Box<EvalAltResult> {
    fn from(error: Error) -> Self {
        EvalAltResult::ErrorRuntime(Dynamic::from_map(error.to_map()), Position::NONE).into()
    }
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Error::state_busy(format!("the simulator state stayed locked: {error}"))
            }
            _ => Error::internal(format!("simulator state: {error}")),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::internal(format!("I/O: {error}"))
    }
}

/// Throttling codes, as S3 and the SDKs spell them.
pub fn is_throttle_code(code: &str) -> bool {
    matches!(
        code,
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "TooManyRequests"
            | "RequestLimitExceeded"
    )
}

/// Transient codes (throttling included). Completion reports carry only a code and an HTTP
/// status, so this is the test for their rows too (with status >= 500).
pub fn is_transient_code(code: &str) -> bool {
    is_throttle_code(code)
        || matches!(
            code,
            "InternalError"
                | "ServiceUnavailable"
                | "RequestTimeout"
                | "GlacierExpeditedRetrievalNotAvailable"
        )
}
