//! Routing: which wire face a request is for (S3 REST, S3 Control, IAM/STS Query, the admin
//! endpoint), virtual-hosted buckets, and the one entry point that checks the signature and
//! hands the request to its face.

use super::{Request, Response, Server, admin, auth, control, iam, s3};
use crate::backend::sim::{Caller, Simulator};
use crate::sigv4::AuthError;

/// Which wire face a request is for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Face {
    S3,
    Control,
    Query,
    Admin,
}

pub(super) fn face_of(req: &Request) -> Face {
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

pub(super) fn is_virtual_host(req: &Request) -> bool {
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

    /// The refusal of a request whose headers already fail authentication (see
    /// [`crate::sigv4::verify_head`]), answered before its body is read.
    pub(super) fn refuse_head(&self, req: &Request) -> Option<Response> {
        let credentials = self.credentials.as_ref()?;
        let mut req = Request {
            body: Vec::new(),
            ..req.clone()
        };
        if !req.raw_path.starts_with("/v20180820") {
            req.virtual_bucket = self.virtual_bucket(&req.host);
        }
        if req.method == "OPTIONS" && face_of(&req) == Face::S3 {
            // CORS preflight requests are never signed (a presigned URL's query is no
            // signature for OPTIONS): `handle` answers them, as here.
            return None;
        }
        let e = auth::check_head(&req, credentials).err()?;
        if e == AuthError::Missing && face_of(&req) == Face::S3 {
            // Unsigned: refused now unless the ACLs and bucket policy let everyone do this.
            return match s3::anonymous_allowed(self, &req) {
                Ok(true) => None,
                Ok(false) => Some(
                    s3::error_response(&req, &crate::errors::Error::access_denied("Access Denied"))
                        .op("Auth AccessDenied (anonymous)"),
                ),
                Err(error) => {
                    Some(s3::error_response(&req, &error).op(format!("Anonymous {}", error.code)))
                }
            };
        }
        Some(self.auth_refusal(&req, &e))
    }

    pub(super) fn auth_refusal(&self, req: &Request, e: &crate::sigv4::AuthError) -> Response {
        let face = face_of(req);
        let error = auth::error(e, face);
        match face {
            Face::S3 | Face::Admin => s3::error_response(req, &error),
            Face::Control => control::error_response(req, &error),
            Face::Query => iam::error_response(req, &error),
        }
        .op(format!("Auth {}", error.code))
    }

    /// The simulator acting as the request's caller (see [`Request::caller`]).
    pub fn sim_for(&self, req: &Request) -> Simulator {
        self.sim.acting_as(req.caller.clone())
    }

    /// Handles one request: checks its signature, then hands it to its face. With signatures
    /// checked, the request acts as the identity that signed it (unsigned S3 requests as
    /// `Caller::Anonymous`); without (`--no-auth`), as `req.caller` says.
    pub fn handle(&self, mut req: Request) -> Response {
        if !req.raw_path.starts_with("/v20180820") {
            req.virtual_bucket = self.virtual_bucket(&req.host);
        }
        let face = face_of(&req);
        if req.method == "OPTIONS" && face == Face::S3 {
            // CORS preflight requests are never signed.
            return s3::preflight(&req);
        }
        if let Some(identities) = &self.credentials {
            match auth::check(&req, identities) {
                Ok(caller) => req.caller = caller,
                Err(e) if e == AuthError::Missing && face == Face::S3 => {
                    // Unsigned: what the ACLs and bucket policy allow everyone.
                    req.caller = Some(Caller::Anonymous);
                    return s3::anonymous(self, &req);
                }
                Err(e) => return self.auth_refusal(&req, &e),
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
