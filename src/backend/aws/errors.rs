//! SDK errors as s3thaw errors: the same `code`, `message`, `status` and context fields
//! (`bucket`, `key`, `version_id`, `job_id`) that the simulator gives for the same failure.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::errors::Error;

/// What a call was about, to attach to its errors as the simulator does.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub version_id: Option<String>,
    pub job_id: Option<String>,
}

/// Codes about a bucket as a whole: the simulator names the bucket only.
const BUCKET_CODES: &[&str] = &[
    "NoSuchBucket",
    "BucketNotEmpty",
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "InvalidBucketName",
    "KeyTooLongError",
];

impl Ctx {
    pub fn bucket(bucket: &str) -> Ctx {
        Ctx {
            bucket: Some(bucket.to_string()),
            ..Ctx::default()
        }
    }

    pub fn object(bucket: &str, key: &str, version_id: Option<&str>) -> Ctx {
        Ctx {
            bucket: Some(bucket.to_string()),
            key: Some(key.to_string()),
            version_id: version_id.map(str::to_string),
            job_id: None,
        }
    }

    pub fn job(job_id: &str) -> Ctx {
        Ctx {
            job_id: Some(job_id.to_string()),
            ..Ctx::default()
        }
    }

    pub fn none() -> Ctx {
        Ctx::default()
    }

    /// Adds the context fields the simulator would give an error with this code.
    pub fn attach(&self, mut e: Error) -> Error {
        if let Some(bucket) = &self.bucket {
            e.bucket = Some(bucket.clone());
            if !BUCKET_CODES.contains(&e.code.as_str()) {
                e.key = self.key.clone();
                e.version_id = self.version_id.clone();
            }
        }
        if let Some(job) = &self.job_id {
            e.job_id = Some(job.clone());
        }
        e
    }
}

/// The default message of a code when the response carried none (HEAD responses have no body).
fn default_message(code: &str) -> String {
    match code {
        "NoSuchBucket" => "The specified bucket does not exist".into(),
        "NoSuchKey" => "The specified key does not exist.".into(),
        "NoSuchVersion" => "The specified version does not exist.".into(),
        "AccessDenied" => "Access Denied".into(),
        other => format!("the service answered {other}"),
    }
}

/// The code of a response that carried none, from its status.
fn code_of_status(status: u16) -> &'static str {
    match status {
        301 => "PermanentRedirect",
        400 => "BadRequest",
        403 => "AccessDenied",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        s if s >= 500 => "InternalError",
        _ => "UnknownError",
    }
}

/// An error and its sources, each in its own words, without Debug noise.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// What to do when no credentials were found, as the AWS CLI users know it.
pub const NO_CREDENTIALS_HINT: &str = "configure credentials with `aws configure` (access keys) or `aws sso login --profile NAME` (IAM Identity Center), then pass --profile NAME; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// Whether an SDK failure is the credential chain finding nothing (the instance metadata
/// service being the last place it looked), not the network.
pub fn is_credentials_failure(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("no credentials")
        || t.contains("credentials provider")
        || t.contains("no providers in chain")
        || t.contains("credentialsnotloaded")
        || t.contains("imds")
}

/// The AWS CLI's "Unable to locate credentials", with the fix and what the SDK said.
pub fn no_credentials(detail: &str) -> Error {
    let mut message = "Unable to locate credentials".to_string();
    if !detail.is_empty() {
        // The SDK's chain, for -v readers; never a secret (no credentials exist).
        tracing::debug!(detail, "credential chain");
    }
    message.push_str(" (looked in the environment, the config and credentials files, SSO, the container and the instance metadata service)");
    Error::new("NoCredentials", message).hint(NO_CREDENTIALS_HINT)
}

/// Maps one SDK error. Service errors keep AWS's code, message and HTTP status; failures to
/// reach the service become `ServiceUnavailable` or `Timeout` (never with credentials in them).
pub fn from_sdk<E>(e: SdkError<E, HttpResponse>, ctx: &Ctx) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service
                .err()
                .code()
                .map(str::to_string)
                .unwrap_or_else(|| code_of_status(status).to_string());
            let message = service
                .err()
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| default_message(&code));
            ctx.attach(Error::new(code, message).status(status))
        }
        SdkError::TimeoutError(_) => ctx.attach(Error::new(
            "Timeout",
            format!("the request to AWS timed out: {}", chain(&e)),
        )),
        SdkError::DispatchFailure(_) if is_credentials_failure(&chain(&e)) => {
            ctx.attach(no_credentials(&chain(&e)))
        }
        SdkError::DispatchFailure(_) => ctx.attach(
            Error::new(
                "ServiceUnavailable",
                format!("could not reach AWS: {}", chain(&e)),
            )
            .hint("check the network, the region and --endpoint-url"),
        ),
        SdkError::ResponseError(_) => ctx.attach(Error::new(
            "InternalError",
            format!("AWS sent a response s3thaw could not read: {}", chain(&e)),
        )),
        _ => {
            let text = DisplayErrorContext(&e).to_string();
            let mut error = Error::new(
                "InvalidArgument",
                format!("the request could not be made: {text}"),
            );
            if is_credentials_failure(&text) {
                error = no_credentials(&text);
            }
            ctx.attach(error)
        }
    }
}

/// A builder's complaint (a required field missing) as our error.
pub fn build_error(e: aws_sdk_s3::error::BuildError) -> Error {
    Error::invalid_argument(format!("the request could not be built: {e}"))
}
