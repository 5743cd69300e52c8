//! Authentication: the identities `serve` knows (`--credentials FILE`), SigV4 on every request
//! (headers, presigned URLs, signed chunks) checked with `crate::sigv4` against the secret of the
//! access key it names, and the error each face answers a failed check with, as AWS words it.

use std::path::Path;

use time::OffsetDateTime;

use super::Request;
use super::route::Face;
use crate::backend::Owner;
use crate::backend::sim::Caller;
use crate::errors::Error;
use crate::sigv4::{self, AuthError, Credentials};

/// One access key `serve` accepts, and who signs with it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub credentials: Credentials,
    /// `None`: the simulated world's own account (the default identity).
    pub caller: Option<Caller>,
}

/// The access keys `serve` accepts: one (the default test identity, or `--access-key-id`), or
/// those of a credentials file.
#[derive(Debug, Clone)]
pub struct Identities(Vec<Identity>);

impl From<Credentials> for Identities {
    /// One access key, acting as the world's own account.
    fn from(credentials: Credentials) -> Identities {
        Identities(vec![Identity {
            credentials,
            caller: None,
        }])
    }
}

impl Identities {
    /// The accounts of these identities (not the world's own, which the simulator knows):
    /// the canonical users ACLs may grant to.
    pub fn accounts(&self) -> Vec<Owner> {
        self.0
            .iter()
            .filter_map(|i| match &i.caller {
                Some(Caller::Account(o)) => Some(o.clone()),
                _ => None,
            })
            .collect()
    }

    /// Reads a credentials file: one identity per line, `ACCESS_KEY_ID SECRET ACCOUNT_ID NAME`
    /// (fields separated by spaces or tabs; the display name is the rest of the line); `#`
    /// starts a comment line; blank lines are skipped.
    pub fn load(path: &Path) -> Result<Identities, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
        Identities::parse(&text).map_err(|e| format!("{}:{e}", path.display()))
    }

    /// Parses a credentials file's text; errors start with the line number.
    pub fn parse(text: &str) -> Result<Identities, String> {
        let mut out: Vec<Identity> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let count = line.split_whitespace().count();
            let mut fields = line.split_whitespace();
            let (Some(key), Some(secret), Some(account), true) =
                (fields.next(), fields.next(), fields.next(), count >= 4)
            else {
                return Err(format!(
                    "{n}: expected `ACCESS_KEY_ID SECRET ACCOUNT_ID NAME`, found {count} field{}",
                    if count == 1 { "" } else { "s" }
                ));
            };
            // The display name is the rest of the line.
            let name = fields.collect::<Vec<_>>().join(" ");
            let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic());
            if !key.chars().all(|c| c.is_ascii_alphanumeric()) || key.len() > 128 {
                return Err(format!(
                    "{n}: the access key id `{key}` must be letters and digits (at most 128)"
                ));
            }
            if !printable(secret) {
                return Err(format!(
                    "{n}: the secret of {key} has unprintable characters"
                ));
            }
            if !account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                || account.len() > 64
            {
                return Err(format!(
                    "{n}: the account id `{account}` must be letters, digits, `-`, `_` or `.` (at most 64)"
                ));
            }
            if out.iter().any(|i| i.credentials.access_key_id == key) {
                return Err(format!("{n}: access key {key} is listed twice"));
            }
            out.push(Identity {
                credentials: Credentials {
                    access_key_id: key.to_string(),
                    secret_access_key: secret.to_string(),
                },
                caller: Some(Caller::Account(Owner {
                    id: account.to_string(),
                    display_name: name,
                })),
            });
        }
        if out.is_empty() {
            return Err(
                "1: no identity: write one `ACCESS_KEY_ID SECRET ACCOUNT_ID NAME` line".into(),
            );
        }
        Ok(Identities(out))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Identity> {
        self.0.iter()
    }

    /// The identity whose access key a request names (in its `Authorization` header or a
    /// presigned URL's `X-Amz-Credential`); the first one when it names none or an unknown
    /// key, whose check then fails as it should (`Missing`, `UnknownAccessKey`).
    pub(super) fn for_request(&self, req: &Request) -> &Identity {
        let named = match req.header("authorization") {
            Some(h) => h
                .split_once("Credential=")
                .map(|(_, rest)| rest.split('/').next().unwrap_or("").trim().to_string()),
            None => req
                .query("X-Amz-Credential")
                .map(|c| c.split('/').next().unwrap_or("").to_string()),
        };
        named
            .and_then(|key| self.0.iter().find(|i| i.credentials.access_key_id == key))
            .unwrap_or(&self.0[0])
    }
}

/// Checks a request's signature and, for a body in signed chunks, every chunk's signature;
/// answers who signed it (`None`: the world's own account).
pub(super) fn check(req: &Request, identities: &Identities) -> Result<Option<Caller>, AuthError> {
    let identity = identities.for_request(req);
    check_with(req, &identity.credentials).map(|()| identity.caller.clone())
}

fn check_with(req: &Request, credentials: &Credentials) -> Result<(), AuthError> {
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
        return sigv4::verify_hashed(&signed, credentials, staged.received, hash).map(|_| ());
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
pub(super) fn check_head(req: &Request, identities: &Identities) -> Result<(), AuthError> {
    let credentials = &identities.for_request(req).credentials;
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
        AuthError::QueryParameters(why) => {
            Error::new("AuthorizationQueryParametersError", why.clone()).status(400)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::Simulator;
    use crate::serve::{Response, Server, multipart, xml};

    const FILE: &str = "\
# two accounts
AKIDALICE0000000001 alice/secret 111111111111 Alice A.

AKIDBOB000000000002\tbob/secret\t222222222222\tbob
";

    #[test]
    fn credentials_files_parse_and_bad_ones_name_their_line() {
        let ids = Identities::parse(FILE).unwrap();
        let keys: Vec<(&str, Option<Caller>)> = ids
            .iter()
            .map(|i| (i.credentials.access_key_id.as_str(), i.caller.clone()))
            .collect();
        let account = |id: &str, name: &str| {
            Some(Caller::Account(Owner {
                id: id.into(),
                display_name: name.into(),
            }))
        };
        assert_eq!(
            keys,
            [
                ("AKIDALICE0000000001", account("111111111111", "Alice A.")),
                ("AKIDBOB000000000002", account("222222222222", "bob")),
            ]
        );
        let error = |text: &str| Identities::parse(text).unwrap_err();
        assert_eq!(
            error("# c\nKEY secret 1\n"),
            "2: expected `ACCESS_KEY_ID SECRET ACCOUNT_ID NAME`, found 3 fields"
        );
        assert!(error("K1 s 1 a\nK1 t 2 b\n").starts_with("2: access key K1 is listed twice"));
        assert!(error("K-1 s 1 a\n").starts_with("1: the access key id `K-1`"));
        assert!(error("K1 s acc/1 a\n").starts_with("1: the account id `acc/1`"));
        assert!(error("# nothing\n\n").starts_with("1: no identity"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        std::fs::write(&path, "K1 s 1\n").unwrap();
        let e = Identities::load(&path).unwrap_err();
        assert!(
            e.starts_with(&format!("{}:1: expected", path.display())),
            "{e}"
        );
    }

    fn server(dir: &std::path::Path) -> Server {
        let sim = Simulator::open(dir).unwrap();
        sim.register_accounts(&Identities::parse(FILE).unwrap().accounts())
            .unwrap();
        Server {
            sim,
            credentials: Some(Identities::parse(FILE).unwrap()),
            bases: vec!["localhost".into()],
            uploads: multipart::Uploads::default(),
        }
    }

    /// A request signed with `key`'s secret from `FILE` (`None`: unsigned).
    fn call(
        server: &Server,
        who: Option<&str>,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        call_with(server, who, method, target, headers, b"")
    }

    /// As [`call`], with a body.
    fn call_with(
        server: &Server,
        who: Option<&str>,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut all: Vec<(String, String)> = vec![("host".into(), "127.0.0.1".into())];
        all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        if let Some(who) = who {
            let id = Identities::parse(FILE).unwrap();
            let credentials = &id
                .iter()
                .find(|i| i.credentials.access_key_id.contains(who))
                .unwrap()
                .credentials
                .clone();
            let signed = sigv4::sign(
                &sigv4::SignedRequest {
                    method,
                    raw_path: path,
                    raw_query: query,
                    headers: &all,
                    body,
                },
                credentials,
                None,
                "us-east-1",
                "s3",
                OffsetDateTime::now_utc(),
            );
            all.extend(signed);
        }
        server.handle(Request {
            method: method.into(),
            raw_path: path.into(),
            raw_query: query.into(),
            path: sigv4::percent_decode(path, false),
            query: sigv4::parse_query(query, false),
            headers: all,
            body: body.to_vec(),
            host: "127.0.0.1".into(),
            request_id: "TEST".into(),
            virtual_bucket: None,
            caller: None,
            staged: None,
        })
    }

    fn code(resp: &Response) -> (u16, String) {
        let text = String::from_utf8_lossy(&resp.body);
        let code = xml::parse(&resp.body)
            .ok()
            .and_then(|d| d.text_of("Code"))
            .unwrap_or_else(|| format!("<{text}>"));
        (resp.status, code)
    }

    fn owners(resp: &Response, element: &str) -> Vec<(String, String)> {
        let doc = xml::parse(&resp.body).unwrap();
        let mut out = Vec::new();
        fn walk(n: &xml::Node, element: &str, out: &mut Vec<(String, String)>) {
            if n.name == element {
                out.push((
                    n.text_of("ID").unwrap_or_default(),
                    n.text_of("DisplayName").unwrap_or_default(),
                ));
            }
            for c in &n.children {
                walk(c, element, out);
            }
        }
        walk(&doc, element, &mut out);
        out
    }

    /// Two accounts from a credentials file: bucket names are global, each owns what it
    /// creates, and another account's private bucket or object is refused (reading, listing,
    /// copying from it, its ACL) until an ACL grants it.
    #[test]
    fn two_accounts_own_their_buckets_and_objects() {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path());
        let alice = Some("ALICE");
        let bob = Some("BOB");
        assert_eq!(call(&server, alice, "PUT", "/shared", &[]).status, 200);
        assert_eq!(
            code(&call(&server, bob, "PUT", "/shared", &[])),
            (409, "BucketAlreadyExists".into())
        );
        // The owner re-creating it: 200 in us-east-1, as before.
        assert_eq!(call(&server, alice, "PUT", "/shared", &[]).status, 200);
        assert_eq!(call(&server, bob, "PUT", "/bobs", &[]).status, 200);
        assert_eq!(call(&server, alice, "PUT", "/shared/k", &[]).status, 200);
        // Bob may not read, list, copy from or look at the ACL of Alice's private things.
        let denied = (403, "AccessDenied".to_string());
        assert_eq!(code(&call(&server, bob, "GET", "/shared/k", &[])), denied);
        assert_eq!(
            code(&call(&server, bob, "GET", "/shared/missing", &[])),
            denied
        );
        assert_eq!(code(&call(&server, bob, "GET", "/shared", &[])), denied);
        assert_eq!(code(&call(&server, bob, "HEAD", "/shared", &[])).0, 403);
        assert_eq!(code(&call(&server, bob, "GET", "/shared?acl", &[])), denied);
        assert_eq!(
            code(&call(&server, bob, "PUT", "/shared/bobs-key", &[])),
            denied
        );
        let copy = [("x-amz-copy-source", "shared/k")];
        assert_eq!(
            code(&call(&server, bob, "PUT", "/bobs/copy", &copy)),
            denied
        );
        // Alice still reads hers; a missing key is 404 to her.
        assert_eq!(call(&server, alice, "GET", "/shared/k", &[]).status, 200);
        assert_eq!(
            code(&call(&server, alice, "GET", "/shared/missing", &[])),
            (404, "NoSuchKey".into())
        );
        // Each lists only their own buckets, as themselves.
        let list = call(&server, bob, "GET", "/", &[]);
        let text = String::from_utf8_lossy(&list.body).into_owned();
        assert!(
            text.contains("<Name>bobs</Name>") && !text.contains("shared"),
            "{text}"
        );
        assert_eq!(
            owners(&list, "Owner"),
            [("222222222222".into(), "bob".into())]
        );
        // The ACL document names the object's owner.
        let acl = call(&server, alice, "GET", "/shared/k?acl", &[]);
        assert_eq!(
            owners(&acl, "Owner"),
            [("111111111111".into(), "Alice A.".into())]
        );
        // A public-read ACL lets Bob read and copy it; the copy is Bob's.
        let public = [("x-amz-acl", "public-read")];
        assert_eq!(
            call(&server, alice, "PUT", "/shared/k?acl", &public).status,
            200
        );
        assert_eq!(call(&server, bob, "GET", "/shared/k", &[]).status, 200);
        assert_eq!(call(&server, bob, "PUT", "/bobs/copy", &copy).status, 200);
        let acl = call(&server, bob, "GET", "/bobs/copy?acl", &[]);
        assert_eq!(
            owners(&acl, "Owner"),
            [("222222222222".into(), "bob".into())]
        );
        // Nor may Bob change the ACL of Alice's object, even a public one.
        assert_eq!(
            code(&call(&server, bob, "PUT", "/shared/k?acl", &public)),
            denied
        );
    }

    /// A public-read-write bucket: another account writes into it and owns what it writes;
    /// listings and multipart uploads show each object's and upload's own owner.
    #[test]
    fn listings_and_uploads_show_each_owner() {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path());
        let (alice, bob) = (Some("ALICE"), Some("BOB"));
        let open = [("x-amz-acl", "public-read-write")];
        assert_eq!(call(&server, alice, "PUT", "/open", &open).status, 200);
        assert_eq!(call(&server, alice, "PUT", "/open/a", &[]).status, 200);
        assert_eq!(call(&server, bob, "PUT", "/open/b", &[]).status, 200);
        let listing = call(&server, bob, "GET", "/open", &[]);
        assert_eq!(
            owners(&listing, "Owner"),
            [
                ("111111111111".into(), "Alice A.".into()),
                ("222222222222".into(), "bob".into())
            ]
        );
        // Bob owns b, so Alice (the bucket owner) cannot read its ACL.
        assert_eq!(
            code(&call(&server, alice, "GET", "/open/b?acl", &[])).0,
            403
        );
        assert_eq!(
            call(&server, alice, "POST", "/open/m1?uploads", &[]).status,
            200
        );
        assert_eq!(
            call(&server, bob, "POST", "/open/m2?uploads", &[]).status,
            200
        );
        let uploads = call(&server, bob, "GET", "/open?uploads", &[]);
        assert_eq!(uploads.status, 200);
        let alice_id = ("111111111111".to_string(), "Alice A.".to_string());
        let bob_id = ("222222222222".to_string(), "bob".to_string());
        assert_eq!(
            owners(&uploads, "Initiator"),
            [alice_id.clone(), bob_id.clone()]
        );
        assert_eq!(owners(&uploads, "Owner"), [alice_id, bob_id]);
        // Without the bucket's grant Bob may start nothing there.
        assert_eq!(call(&server, alice, "PUT", "/closed", &[]).status, 200);
        assert_eq!(
            code(&call(&server, bob, "POST", "/closed/m?uploads", &[])).0,
            403
        );
        // Anonymous writers are not Alice either.
        assert_eq!(call(&server, None, "PUT", "/open/anon", &[]).status, 200);
        let acl = call(&server, alice, "GET", "/open?acl", &[]);
        assert_eq!(owners(&acl, "Owner")[0].0, "111111111111");
    }

    /// Grants to named accounts, by `x-amz-grant-*` headers and `AccessControlPolicy` bodies:
    /// what ceph/s3-tests' `test_object_copy_not_owned_object_bucket` does (FULL_CONTROL to
    /// another account on an object and its bucket, then that account reads and copies it),
    /// the ACL listed back with display names, and grantees S3 would not resolve refused.
    #[test]
    fn grants_to_named_accounts_by_headers_and_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path());
        let (alice, bob) = (Some("ALICE"), Some("BOB"));
        let denied = (403, "AccessDenied".to_string());
        assert_eq!(call(&server, alice, "PUT", "/granted", &[]).status, 200);
        assert_eq!(
            call(&server, alice, "PUT", "/granted/foo123bar", &[]).status,
            200
        );
        assert_eq!(
            code(&call(&server, bob, "GET", "/granted/foo123bar", &[])),
            denied
        );
        // As the suite does: the current ACL plus FULL_CONTROL for Bob, on object and bucket.
        let policy = |extra: &str| {
            format!(
                "<AccessControlPolicy><Owner><ID>111111111111</ID></Owner><AccessControlList>\
                 <Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>111111111111</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>\
                 {extra}</AccessControlList></AccessControlPolicy>"
            )
        };
        let to_bob = "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>222222222222</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>";
        let body = policy(to_bob);
        for target in ["/granted/foo123bar?acl", "/granted?acl"] {
            let resp = call_with(&server, alice, "PUT", target, &[], body.as_bytes());
            assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        }
        assert_eq!(
            call(&server, bob, "GET", "/granted/foo123bar", &[]).status,
            200
        );
        assert_eq!(
            call(&server, bob, "HEAD", "/granted/foo123bar", &[]).status,
            200
        );
        let copy = [("x-amz-copy-source", "granted/foo123bar")];
        assert_eq!(
            call(&server, bob, "PUT", "/granted/bar321foo", &copy).status,
            200
        );
        // The copy is Bob's; the ACLs list both accounts with their display names.
        let acl = call(&server, bob, "GET", "/granted/bar321foo?acl", &[]);
        assert_eq!(
            owners(&acl, "Owner"),
            [("222222222222".into(), "bob".into())]
        );
        let acl = call(&server, bob, "GET", "/granted/foo123bar?acl", &[]);
        assert_eq!(acl.status, 200);
        assert_eq!(
            owners(&acl, "Grantee"),
            [
                ("111111111111".into(), "Alice A.".into()),
                ("222222222222".into(), "bob".into())
            ]
        );
        assert_eq!(call(&server, bob, "GET", "/granted", &[]).status, 200);

        // Header grants: READ_ACP only, the ACL is exactly that (Alice keeps her ACL only).
        let read_acp = [("x-amz-grant-read-acp", "id=\"222222222222\"")];
        assert_eq!(
            call(&server, alice, "PUT", "/granted/k2", &read_acp).status,
            200
        );
        assert_eq!(
            call(&server, bob, "GET", "/granted/k2?acl", &[]).status,
            200
        );
        assert_eq!(code(&call(&server, bob, "GET", "/granted/k2", &[])), denied);
        assert_eq!(
            code(&call(
                &server,
                bob,
                "PUT",
                "/granted/k2?acl",
                &[("x-amz-acl", "private")]
            )),
            denied
        );
        assert_eq!(
            code(&call(&server, alice, "GET", "/granted/k2", &[])),
            denied
        );
        let grants = [
            ("x-amz-grant-full-control", "id=\"111111111111\""),
            (
                "x-amz-grant-read",
                "id=\"222222222222\", uri=\"http://acs.amazonaws.com/groups/global/AuthenticatedUsers\"",
            ),
        ];
        assert_eq!(
            call(&server, alice, "PUT", "/granted/k2?acl", &grants).status,
            200
        );
        assert_eq!(call(&server, bob, "GET", "/granted/k2", &[]).status, 200);
        let text =
            String::from_utf8_lossy(&call(&server, alice, "GET", "/granted/k2?acl", &[]).body)
                .into_owned();
        assert!(
            text.contains("<URI>http://acs.amazonaws.com/groups/global/AuthenticatedUsers</URI></Grantee><Permission>READ</Permission>"),
            "{text}"
        );

        // Unknown ids, e-mail grantees, canned and granted at once: refused, nothing written.
        let unknown = [("x-amz-grant-read", "id=\"333333333333\"")];
        let resp = call(&server, alice, "PUT", "/granted/k3", &unknown);
        assert_eq!(code(&resp), (400, "InvalidArgument".into()));
        assert!(String::from_utf8_lossy(&resp.body).contains("<Message>Invalid id</Message>"));
        assert_eq!(
            code(&call(&server, alice, "GET", "/granted/k3", &[])).0,
            404
        );
        let xsi = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
        for (grantee, permission, expected) in [
            (
                "xsi:type=\"CanonicalUser\"><ID>nobody</ID>",
                "READ",
                "InvalidArgument",
            ),
            (
                "xsi:type=\"AmazonCustomerByEmail\"><EmailAddress>a@example.com</EmailAddress>",
                "READ",
                "UnresolvableGrantByEmailAddress",
            ),
            (
                "xsi:type=\"CanonicalUser\"><ID>222222222222</ID>",
                "EVERYTHING",
                "MalformedACLError",
            ),
        ] {
            let body = policy(&format!(
                "<Grant><Grantee {xsi} {grantee}</Grantee><Permission>{permission}</Permission></Grant>"
            ));
            let resp = call_with(&server, alice, "PUT", "/granted?acl", &[], body.as_bytes());
            assert_eq!(
                code(&resp),
                (400, expected.into()),
                "{grantee} {permission}"
            );
        }
        let both = [
            ("x-amz-acl", "private"),
            ("x-amz-grant-read", "id=\"222222222222\""),
        ];
        assert_eq!(
            code(&call(&server, alice, "PUT", "/granted/k4", &both)),
            (400, "InvalidRequest".into())
        );
        assert_eq!(
            code(&call(&server, alice, "PUT", "/granted/k4?acl", &[])),
            (400, "MissingSecurityHeader".into())
        );
        // CreateBucket with an unknown grantee: refused, and no bucket is made.
        assert_eq!(
            code(&call(&server, alice, "PUT", "/never", &unknown)),
            (400, "InvalidArgument".into())
        );
        assert_eq!(call(&server, alice, "HEAD", "/never", &[]).status, 404);
        // With a known one, Bob may write into the new bucket.
        let write = [("x-amz-grant-write", "id=\"222222222222\"")];
        assert_eq!(call(&server, alice, "PUT", "/shared-w", &write).status, 200);
        assert_eq!(call(&server, bob, "PUT", "/shared-w/b", &[]).status, 200);
        // The bucket's ACL was not changed by the refusals: Bob still lists it.
        assert_eq!(call(&server, bob, "GET", "/granted", &[]).status, 200);
    }
}
