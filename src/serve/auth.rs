//! Authentication: SigV4 on every request (headers, presigned URLs, signed chunks), checked with
//! `crate::sigv4`, and the error each face answers a failed check with, as AWS words it.

use time::OffsetDateTime;

use super::Request;
use super::route::Face;
use crate::errors::Error;
use crate::sigv4::{self, AuthError, Credentials};

/// Checks a request's signature and, for a body in signed chunks, every chunk's signature.
pub(super) fn check(req: &Request, credentials: &Credentials) -> Result<(), AuthError> {
    let signed = sigv4::SignedRequest {
        method: &req.method,
        raw_path: &req.raw_path,
        raw_query: &req.raw_query,
        headers: &req.headers,
        body: &req.body,
    };
    let now = OffsetDateTime::now_utc();
    if let Some(staged) = &req.staged {
        // A staged body was hashed, and its chunks' signatures checked, as it arrived.
        let hash = staged.raw_sha256.as_deref().unwrap_or("");
        return sigv4::verify_hashed(&signed, credentials, now, hash).map(|_| ());
    }
    sigv4::verify(&signed, credentials, now).and_then(|auth| {
        // A body in signed chunks: every chunk's signature too.
        match (req.header("x-amz-content-sha256"), req.header("x-amz-date")) {
            (Some(h), Some(date)) if h.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") => {
                sigv4::verify_chunks(&req.body, &auth, credentials, date)
            }
            _ => Ok(()),
        }
    })
}

/// Checks what the headers alone can prove (see [`sigv4::verify_head`]).
pub(super) fn check_head(req: &Request, credentials: &Credentials) -> Result<(), AuthError> {
    let signed = sigv4::SignedRequest {
        method: &req.method,
        raw_path: &req.raw_path,
        raw_query: &req.raw_query,
        headers: &req.headers,
        body: &[],
    };
    sigv4::verify_head(&signed, credentials, OffsetDateTime::now_utc())
}

/// The error AWS answers for a request that fails authentication.
pub(super) fn error(e: &AuthError, face: Face) -> Error {
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
        AuthError::HeadersNotSigned(names) => Error::access_denied(format!(
            "There were headers present in the request which were not signed: {names}"
        )),
        AuthError::ContentMismatch => Error::new(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
        .status(400),
    }
}
