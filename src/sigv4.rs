//! AWS Signature Version 4: checking the `Authorization` header of a request the way AWS does,
//! and signing the few requests s3thaw itself sends to `serve`'s simulator-only admin endpoint.
//!
//! Header signatures (`Authorization: AWS4-HMAC-SHA256 ...`) and presigned URLs (the same
//! signature in `X-Amz-*` query parameters) are accepted; SigV2 is not.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// How far a request's `x-amz-date` may be from the server's wall clock, as AWS allows.
const MAX_SKEW: time::Duration = time::Duration::minutes(15);

const AMZ_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// The credentials `serve` accepts.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Why a request was refused; the caller turns it into the service's error document.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// A header that is not AWS4-HMAC-SHA256 or lacks a part.
    Malformed(String),
    /// A presigned URL's query parameter out of AWS's bounds (`X-Amz-Expires` negative, over a
    /// week or not a number): S3's 400 `AuthorizationQueryParametersError`.
    QueryParameters(String),
    /// An access key id nobody configured.
    UnknownAccessKey(String),
    /// The signature does not match.
    SignatureMismatch,
    /// `x-amz-date` too far from now.
    Skewed,
    /// `x-amz-content-sha256` does not match the body.
    ContentMismatch,
    /// A presigned URL past its `X-Amz-Expires`.
    Expired,
    /// `x-amz-*` headers the signature does not cover (AWS refuses them rather than ignore them).
    HeadersNotSigned(String),
}

/// The parts of a request a signature covers.
#[derive(Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path exactly as sent (still percent-encoded).
    pub raw_path: &'a str,
    /// The query string exactly as sent, without `?`.
    pub raw_query: &'a str,
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The parsed `Authorization` header.
#[derive(Debug, PartialEq)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    pub fn parse(header: &str) -> Result<Authorization, AuthError> {
        let rest = header
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or_else(|| AuthError::Malformed("the algorithm must be AWS4-HMAC-SHA256".into()))?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let missing =
            |what: &str| AuthError::Malformed(format!("the Authorization header lacks {what}"));
        let credential = credential.ok_or_else(|| missing("Credential"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [key, date, region, service, terminator] = scope[..] else {
            return Err(AuthError::Malformed(
                "Credential must be KEY/DATE/REGION/SERVICE/aws4_request".into(),
            ));
        };
        if terminator != "aws4_request" {
            return Err(AuthError::Malformed(
                "the credential scope must end with aws4_request".into(),
            ));
        }
        Ok(Authorization {
            access_key_id: key.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            signed_headers: signed
                .ok_or_else(|| missing("SignedHeaders"))?
                .split(';')
                .map(str::to_string)
                .collect(),
            signature: signature.ok_or_else(|| missing("Signature"))?.to_string(),
        })
    }

    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// AWS's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX` (upper-case hex).
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        let plain = b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/');
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in form bodies).
/// Bytes that are not UTF-8 become U+FFFD: for keys use [`percent_decode_utf8`], which refuses
/// them (`%FF%FE` and `%FE%FF` would otherwise be the same key).
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(text, plus_is_space)).into_owned()
}

/// Decodes `%XX` escapes; `None` when the bytes are not UTF-8 (S3 refuses such keys).
pub fn percent_decode_utf8(text: &str, plus_is_space: bool) -> Option<String> {
    String::from_utf8(percent_decode_bytes(text, plus_is_space)).ok()
}

fn percent_decode_bytes(text: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// A raw query string as decoded pairs, in order (`?restore` gives `("restore", "")`).
pub fn parse_query(raw: &str, plus_is_space: bool) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (
                percent_decode(k, plus_is_space),
                percent_decode(v, plus_is_space),
            ),
            None => (percent_decode(p, plus_is_space), String::new()),
        })
        .collect()
}

fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<(String, String)> = parse_query(raw, false)
        .into_iter()
        // A presigned URL carries its signature in the query, outside what it signs.
        .filter(|(k, _)| k != "X-Amz-Signature")
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn canonical_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request of SigV4. S3 signs the path as sent; other services encode it again.
fn canonical_request(request: &SignedRequest, auth: &Authorization, payload_hash: &str) -> String {
    let path = if request.raw_path.is_empty() {
        "/".to_string()
    } else if auth.service == "s3" {
        request.raw_path.to_string()
    } else {
        uri_encode(request.raw_path, true)
    };
    let mut headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| canonical_header_value(v))
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{payload_hash}",
        request.method,
        canonical_query(request.raw_query),
        auth.signed_headers.join(";"),
    )
}

fn signing_key(secret: &str, auth: &Authorization) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn signature(
    request: &SignedRequest,
    auth: &Authorization,
    secret: &str,
    amz_date: &str,
    payload_hash: &str,
) -> String {
    let canonical = canonical_request(request, auth, payload_hash);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope(),
        sha256_hex(canonical.as_bytes())
    );
    hex::encode(hmac(&signing_key(secret, auth), string_to_sign.as_bytes()))
}

/// Payload hashes that stand for a body the signature does not cover byte by byte.
fn is_streaming_or_unsigned(hash: &str) -> bool {
    hash == "UNSIGNED-PAYLOAD" || hash.starts_with("STREAMING-")
}

/// Checks a request's SigV4 signature against `credentials`; returns the parsed header.
///
/// A body covered by an explicit `x-amz-content-sha256` hash must match it. Bodies sent as
/// `UNSIGNED-PAYLOAD` or `STREAMING-UNSIGNED-PAYLOAD-TRAILER` are accepted on this signature;
/// signed chunks (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`) are checked by [`verify_chunks`].
pub fn verify(
    request: &SignedRequest,
    credentials: &Credentials,
    now: OffsetDateTime,
) -> Result<Authorization, AuthError> {
    verify_with(request, credentials, now, Payload::Bytes(request.body))
}

/// [`verify`] for a body that was streamed elsewhere (`request.body` is ignored): `sha256_hex`
/// is the SHA-256 of the bytes received, computed as they arrived.
pub fn verify_hashed(
    request: &SignedRequest,
    credentials: &Credentials,
    now: OffsetDateTime,
    sha256_hex: &str,
) -> Result<Authorization, AuthError> {
    verify_with(request, credentials, now, Payload::Hash(sha256_hex))
}

/// What is known of the body when a signature is checked.
#[derive(Clone, Copy)]
enum Payload<'a> {
    /// Not yet received.
    Unknown,
    Bytes(&'a [u8]),
    /// Its SHA-256, hex.
    Hash(&'a str),
}

impl Payload<'_> {
    fn sha256(self) -> Option<String> {
        match self {
            Payload::Unknown => None,
            Payload::Bytes(b) => Some(sha256_hex(b)),
            Payload::Hash(h) => Some(h.to_ascii_lowercase()),
        }
    }
}

/// Checks what can be checked before the body arrives (`request.body` is ignored): that there
/// is a signature, its key, date and signed headers, and the signature itself whenever it does
/// not cover the body's hash (an `x-amz-content-sha256` value or a presigned URL). `serve`
/// refuses a request that fails here without reading its body; [`verify`] runs on the whole.
pub fn verify_head(
    request: &SignedRequest,
    credentials: &Credentials,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    verify_with(request, credentials, now, Payload::Unknown).map(|_| ())
}

/// Every `x-amz-*` header of the request must be signed.
fn check_amz_headers_signed(
    request: &SignedRequest,
    auth: &Authorization,
) -> Result<(), AuthError> {
    let mut unsigned: Vec<&str> = request
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| n.starts_with("x-amz-") && !auth.signed_headers.iter().any(|s| s == n))
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    unsigned.sort_unstable();
    unsigned.dedup();
    Err(AuthError::HeadersNotSigned(unsigned.join(",")))
}

fn verify_with(
    request: &SignedRequest,
    credentials: &Credentials,
    now: OffsetDateTime,
    payload: Payload,
) -> Result<Authorization, AuthError> {
    let Some(header) = request.header("authorization") else {
        if request.raw_query.contains("X-Amz-Signature=") {
            return verify_presigned(request, credentials, now);
        }
        return Err(AuthError::Missing);
    };
    let auth = Authorization::parse(header)?;
    if auth.access_key_id != credentials.access_key_id {
        return Err(AuthError::UnknownAccessKey(auth.access_key_id));
    }
    let amz_date = request
        .header("x-amz-date")
        .ok_or_else(|| AuthError::Malformed("the request lacks x-amz-date".into()))?;
    let when = time::PrimitiveDateTime::parse(amz_date, AMZ_DATE)
        .map_err(|_| {
            AuthError::Malformed(format!("x-amz-date `{amz_date}` is not YYYYMMDDTHHMMSSZ"))
        })?
        .assume_utc();
    if (when - now).abs() > MAX_SKEW {
        return Err(AuthError::Skewed);
    }
    if !amz_date.starts_with(&auth.date) {
        return Err(AuthError::Malformed(
            "the credential scope's date is not the date of x-amz-date".into(),
        ));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::Malformed(
            "the host header must be signed".into(),
        ));
    }
    check_amz_headers_signed(request, &auth)?;
    let payload_hash = match request.header("x-amz-content-sha256") {
        Some(h) if is_streaming_or_unsigned(h) => h.to_string(),
        Some(h) => {
            if let Some(actual) = payload.sha256()
                && !h.eq_ignore_ascii_case(&actual)
            {
                return Err(AuthError::ContentMismatch);
            }
            h.to_string()
        }
        // The signature covers the body's hash: it can only be checked with the body.
        None => match payload.sha256() {
            None => return Ok(auth),
            Some(actual) => actual,
        },
    };
    let expected = signature(
        request,
        &auth,
        &credentials.secret_access_key,
        amz_date,
        &payload_hash,
    );
    if !constant_time_eq(&expected, &auth.signature) {
        return Err(AuthError::SignatureMismatch);
    }
    Ok(auth)
}

/// Checks the chunk signatures of a body sent as `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
/// (`SIZE;chunk-signature=SIG\r\nDATA\r\n` ... `0;chunk-signature=SIG\r\n`): each chunk is
/// signed over the previous signature, starting from the request's own (the seed).
pub fn verify_chunks(
    body: &[u8],
    auth: &Authorization,
    credentials: &Credentials,
    amz_date: &str,
) -> Result<(), AuthError> {
    let key = signing_key(&credentials.secret_access_key, auth);
    let empty = sha256_hex(b"");
    let mut previous = auth.signature.clone();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(AuthError::SignatureMismatch)?;
        let header =
            std::str::from_utf8(&rest[..line_end]).map_err(|_| AuthError::SignatureMismatch)?;
        let (size, given) = header
            .split_once(";chunk-signature=")
            .ok_or_else(|| AuthError::Malformed("a chunk lacks its chunk-signature".into()))?;
        let size = usize::from_str_radix(size.trim(), 16)
            .map_err(|_| AuthError::Malformed(format!("bad chunk size `{size}`")))?;
        rest = &rest[line_end + 2..];
        if rest.len() < size {
            return Err(AuthError::ContentMismatch);
        }
        let data = &rest[..size];
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{}\n{previous}\n{empty}\n{}",
            auth.scope(),
            sha256_hex(data)
        );
        let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
        if !constant_time_eq(&expected, given.trim()) {
            return Err(AuthError::SignatureMismatch);
        }
        if size == 0 {
            return Ok(());
        }
        rest = size
            .checked_add(2)
            .and_then(|end| rest.get(end..))
            .ok_or(AuthError::ContentMismatch)?;
        previous = expected;
    }
}

/// Why a streamed `aws-chunked` body was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkError {
    /// The framing is broken (a bad size, a missing CRLF, a header line too long, cut short).
    Malformed(String),
    /// A chunk's signature is not the one its bytes call for.
    SignatureMismatch,
}

/// What checks each chunk's signature of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body: each
/// chunk is signed over the previous signature, starting from the request's own (the seed).
pub struct ChunkSigning {
    key: Vec<u8>,
    scope: String,
    amz_date: String,
    previous: String,
}

impl ChunkSigning {
    /// From the request's `Authorization` header (already verified) and `x-amz-date`.
    pub fn new(
        authorization: &str,
        amz_date: &str,
        credentials: &Credentials,
    ) -> Result<ChunkSigning, AuthError> {
        let auth = Authorization::parse(authorization)?;
        Ok(ChunkSigning {
            key: signing_key(&credentials.secret_access_key, &auth),
            scope: auth.scope(),
            amz_date: amz_date.to_string(),
            previous: auth.signature,
        })
    }

    fn expected(&self, data_sha256: &str) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{data_sha256}",
            self.amz_date,
            self.scope,
            self.previous,
            sha256_hex(b"")
        );
        hex::encode(hmac(&self.key, string_to_sign.as_bytes()))
    }

    /// The signature of the next chunk, `data` (what a client sends; the last chunk is empty).
    pub fn sign_next(&mut self, data: &[u8]) -> String {
        let signature = self.expected(&sha256_hex(data));
        self.previous = signature.clone();
        signature
    }

    fn check(&mut self, data_sha256: &str, given: &str) -> Result<(), ChunkError> {
        let expected = self.expected(data_sha256);
        if !constant_time_eq(&expected, given.trim()) {
            return Err(ChunkError::SignatureMismatch);
        }
        self.previous = expected;
        Ok(())
    }
}

/// The longest chunk header (`SIZE;chunk-signature=SIG`) a streamed body may have.
const MAX_CHUNK_HEADER: usize = 4096;

/// Where a [`ChunkDecoder`] is in the framing.
enum ChunkState {
    /// Reading a `SIZE[;ext]` line.
    Header(Vec<u8>),
    /// Inside a chunk's data: bytes left, the chunk's signature (if signed) and its hash.
    Data {
        left: u64,
        signature: Option<String>,
        hash: Sha256,
    },
    /// The CRLF after a chunk's data: how many of its two bytes were seen.
    DataEnd(u8),
    /// After the last (zero-size) chunk: trailers, ignored.
    Done,
}

/// Decodes an `aws-chunked` body as it arrives (`SIZE[;chunk-signature=SIG]\r\nDATA\r\n` ...
/// `0[;chunk-signature=SIG]\r\n` then trailers), in bounded memory, checking each chunk's
/// signature as it completes when given a [`ChunkSigning`].
pub struct ChunkDecoder {
    state: ChunkState,
    signing: Option<ChunkSigning>,
}

impl ChunkDecoder {
    pub fn new(signing: Option<ChunkSigning>) -> ChunkDecoder {
        ChunkDecoder {
            state: ChunkState::Header(Vec::new()),
            signing,
        }
    }

    /// Feeds the next bytes received; the decoded data goes to `out`, in order.
    pub fn feed(&mut self, mut input: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), ChunkError> {
        while !input.is_empty() {
            match &mut self.state {
                ChunkState::Header(line) => {
                    let Some(end) = input.iter().position(|b| *b == b'\n') else {
                        line.extend_from_slice(input);
                        if line.len() > MAX_CHUNK_HEADER {
                            return Err(ChunkError::Malformed(
                                "an aws-chunked chunk header is too long".into(),
                            ));
                        }
                        return Ok(());
                    };
                    line.extend_from_slice(&input[..end]);
                    input = &input[end + 1..];
                    if line.len() > MAX_CHUNK_HEADER || line.pop() != Some(b'\r') {
                        return Err(ChunkError::Malformed(
                            "an aws-chunked chunk header does not end in CRLF".into(),
                        ));
                    }
                    let header = std::str::from_utf8(line)
                        .map_err(|_| ChunkError::Malformed("bad chunk header".into()))?;
                    let mut parts = header.split(';');
                    let size_text = parts.next().unwrap_or("").trim();
                    let size = u64::from_str_radix(size_text, 16).map_err(|_| {
                        ChunkError::Malformed(format!("bad aws-chunked chunk size `{size_text}`"))
                    })?;
                    let signature = parts
                        .find_map(|p| p.trim().strip_prefix("chunk-signature="))
                        .map(str::to_string);
                    if self.signing.is_some() && signature.is_none() {
                        return Err(ChunkError::Malformed(
                            "a chunk lacks its chunk-signature".into(),
                        ));
                    }
                    if size == 0 {
                        if let (Some(signing), Some(given)) = (&mut self.signing, &signature) {
                            signing.check(&sha256_hex(b""), given)?;
                        }
                        self.state = ChunkState::Done;
                    } else {
                        self.state = ChunkState::Data {
                            left: size,
                            signature,
                            hash: Sha256::new(),
                        };
                    }
                }
                ChunkState::Data {
                    left,
                    signature,
                    hash,
                } => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    let (data, rest) = input.split_at(n);
                    if self.signing.is_some() {
                        hash.update(data);
                    }
                    out(data);
                    *left -= n as u64;
                    input = rest;
                    if *left == 0 {
                        if let (Some(signing), Some(given)) = (&mut self.signing, signature) {
                            let digest = hex::encode(std::mem::take(hash).finalize());
                            signing.check(&digest, given)?;
                        }
                        self.state = ChunkState::DataEnd(0);
                    }
                }
                ChunkState::DataEnd(seen) => {
                    let want = if *seen == 0 { b'\r' } else { b'\n' };
                    if input[0] != want {
                        return Err(ChunkError::Malformed(
                            "an aws-chunked chunk's data does not end in CRLF".into(),
                        ));
                    }
                    input = &input[1..];
                    if *seen == 0 {
                        *seen = 1;
                    } else {
                        self.state = ChunkState::Header(Vec::new());
                    }
                }
                ChunkState::Done => return Ok(()),
            }
        }
        Ok(())
    }

    /// Whether the body ended where it may: after its last (zero-size) chunk.
    pub fn finish(&self) -> Result<(), ChunkError> {
        match self.state {
            ChunkState::Done => Ok(()),
            _ => Err(ChunkError::Malformed(
                "the aws-chunked body is cut short: it has no final zero-size chunk".into(),
            )),
        }
    }
}

/// The longest a presigned URL may be valid, as AWS allows: 7 days.
const MAX_EXPIRES_SECONDS: i64 = 604_800;

/// Checks a presigned URL: the signature and its parameters travel in the query
/// (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
/// `X-Amz-SignedHeaders`, `X-Amz-Signature`) and the payload is unsigned.
fn verify_presigned(
    request: &SignedRequest,
    credentials: &Credentials,
    now: OffsetDateTime,
) -> Result<Authorization, AuthError> {
    let query = parse_query(request.raw_query, false);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| AuthError::Malformed(format!("the presigned URL lacks {name}")))
    };
    if get("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err(AuthError::Malformed(
            "X-Amz-Algorithm must be AWS4-HMAC-SHA256".into(),
        ));
    }
    let auth = Authorization::parse(&format!(
        "AWS4-HMAC-SHA256 Credential={}, SignedHeaders={}, Signature={}",
        get("X-Amz-Credential")?,
        get("X-Amz-SignedHeaders")?,
        get("X-Amz-Signature")?
    ))?;
    if auth.access_key_id != credentials.access_key_id {
        return Err(AuthError::UnknownAccessKey(auth.access_key_id));
    }
    let amz_date = get("X-Amz-Date")?;
    let when = time::PrimitiveDateTime::parse(amz_date, AMZ_DATE)
        .map_err(|_| {
            AuthError::Malformed(format!("X-Amz-Date `{amz_date}` is not YYYYMMDDTHHMMSSZ"))
        })?
        .assume_utc();
    // AWS's own words for each bound (S3 answers them 400 AuthorizationQueryParametersError).
    let expires: i64 = get("X-Amz-Expires")?
        .parse()
        .map_err(|_| AuthError::QueryParameters("X-Amz-Expires should be a number".into()))?;
    if expires < 0 {
        return Err(AuthError::QueryParameters(
            "X-Amz-Expires must be non-negative".into(),
        ));
    }
    if expires > MAX_EXPIRES_SECONDS {
        return Err(AuthError::QueryParameters(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds".into(),
        ));
    }
    if now < when - MAX_SKEW {
        return Err(AuthError::Skewed);
    }
    // Valid for `expires` seconds from X-Amz-Date: 0 is a URL that has already expired.
    if now >= when + time::Duration::seconds(expires) {
        return Err(AuthError::Expired);
    }
    if !amz_date.starts_with(&auth.date) || !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::Malformed(
            "the presigned URL's scope date or signed headers are wrong".into(),
        ));
    }
    check_amz_headers_signed(request, &auth)?;
    let payload_hash = request
        .header("x-amz-content-sha256")
        .unwrap_or("UNSIGNED-PAYLOAD");
    let expected = signature(
        request,
        &auth,
        &credentials.secret_access_key,
        amz_date,
        payload_hash,
    );
    if !constant_time_eq(&expected, &auth.signature) {
        return Err(AuthError::SignatureMismatch);
    }
    Ok(auth)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Signs a request: returns the headers to add (`x-amz-date`, `x-amz-content-sha256`,
/// `authorization`). `headers` must hold `host` and anything else to sign, names in lower case.
pub fn sign(
    request: &SignedRequest,
    credentials: &Credentials,
    session_token: Option<&str>,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) -> Vec<(String, String)> {
    let payload_hash = sha256_hex(request.body);
    sign_payload(
        request,
        &payload_hash,
        credentials,
        session_token,
        region,
        service,
        now,
    )
}

/// [`sign`] with the `x-amz-content-sha256` value given (`UNSIGNED-PAYLOAD`,
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, or the hash of a body streamed separately) instead of
/// the hash of `request.body`.
pub fn sign_payload(
    request: &SignedRequest,
    payload_hash: &str,
    credentials: &Credentials,
    session_token: Option<&str>,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) -> Vec<(String, String)> {
    let amz_date = now
        .to_offset(time::UtcOffset::UTC)
        .format(AMZ_DATE)
        .unwrap_or_default();
    let payload_hash = payload_hash.to_string();
    let mut all: Vec<(String, String)> = request.headers.to_vec();
    let mut added = vec![
        ("x-amz-date".to_string(), amz_date.clone()),
        ("x-amz-content-sha256".to_string(), payload_hash.clone()),
    ];
    if let Some(token) = session_token {
        added.push(("x-amz-security-token".to_string(), token.to_string()));
    }
    all.extend(added.iter().cloned());
    let mut names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    let auth = Authorization {
        access_key_id: credentials.access_key_id.clone(),
        date: amz_date[..8].to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: names,
        signature: String::new(),
    };
    let request = SignedRequest {
        headers: &all,
        ..*request
    };
    let sig = signature(
        &request,
        &auth,
        &credentials.secret_access_key,
        &amz_date,
        &payload_hash,
    );
    added.push((
        "authorization".to_string(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={sig}",
            auth.access_key_id,
            auth.scope(),
            auth.signed_headers.join(";")
        ),
    ));
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn creds() -> Credentials {
        // The example credentials of AWS's SigV4 documentation.
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        }
    }

    /// AWS's documented example "GET Object" (S3 User Guide, sig-v4-header-based-auth).
    #[test]
    fn aws_documented_s3_get_object_example() {
        let headers = vec![
            ("host".to_string(), "examplebucket.s3.amazonaws.com".to_string()),
            ("range".to_string(), "bytes=0-9".to_string()),
            (
                "x-amz-content-sha256".to_string(),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string(),
            ),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41".to_string(),
            ),
        ];
        let request = SignedRequest {
            method: "GET",
            raw_path: "/test.txt",
            raw_query: "",
            headers: &headers,
            body: b"",
        };
        let now = datetime!(2013-05-24 00:05 UTC);
        assert!(verify(&request, &creds(), now).is_ok());
        // One byte of the path changed: refused.
        let tampered = SignedRequest {
            raw_path: "/test.txu",
            ..request
        };
        assert_eq!(
            verify(&tampered, &creds(), now).unwrap_err(),
            AuthError::SignatureMismatch
        );
        // Replayed a day later: refused.
        assert_eq!(
            verify(&request, &creds(), datetime!(2013-05-25 00:00 UTC)).unwrap_err(),
            AuthError::Skewed
        );
    }

    /// AWS's documented chunked upload example (S3 API reference, sigv4-streaming): 66,560
    /// bytes of `a` in a 65,536-byte chunk, a 1,024-byte chunk and the final empty chunk.
    #[test]
    fn aws_documented_streaming_chunk_signatures() {
        let auth = Authorization {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            date: "20130524".into(),
            region: "us-east-1".into(),
            service: "s3".into(),
            signed_headers: vec![],
            signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".into(),
        };
        let chunk = |data: &[u8], sig: &str| {
            let mut c = format!("{:x};chunk-signature={sig}\r\n", data.len()).into_bytes();
            c.extend_from_slice(data);
            c.extend_from_slice(b"\r\n");
            c
        };
        let mut body = chunk(
            &[b'a'; 65536],
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        );
        body.extend(chunk(
            &[b'a'; 1024],
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        ));
        body.extend(chunk(
            b"",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ));
        assert_eq!(
            verify_chunks(&body, &auth, &creds(), "20130524T000000Z"),
            Ok(())
        );
        // One byte of the second chunk changed: refused.
        let at = body.len() - 200;
        body[at] = b'b';
        assert_eq!(
            verify_chunks(&body, &auth, &creds(), "20130524T000000Z"),
            Err(AuthError::SignatureMismatch)
        );
    }

    /// The streaming decoder on AWS's example: whatever the pieces the bytes arrive in (one at a
    /// time, odd sizes, all at once), the decoded bytes are the 66,560 `a`s and every chunk
    /// signature is checked; a changed byte, a changed signature, a missing final chunk or a
    /// broken frame are refused.
    #[test]
    fn streamed_chunks_decode_in_any_pieces_and_check_each_signature() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
        let chunk = |data: &[u8], sig: &str| {
            let mut c = format!("{:x};chunk-signature={sig}\r\n", data.len()).into_bytes();
            c.extend_from_slice(data);
            c.extend_from_slice(b"\r\n");
            c
        };
        let mut body = chunk(
            &[b'a'; 65536],
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        );
        body.extend(chunk(
            &[b'a'; 1024],
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        ));
        body.extend(chunk(
            b"",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ));
        let decode = |body: &[u8], piece: usize, signed: bool| {
            let signing =
                signed.then(|| ChunkSigning::new(header, "20130524T000000Z", &creds()).unwrap());
            let mut decoder = ChunkDecoder::new(signing);
            let mut out = Vec::new();
            for part in body.chunks(piece) {
                decoder.feed(part, &mut |d| out.extend_from_slice(d))?;
            }
            decoder.finish().map(|()| out)
        };
        for piece in [1, 7, 4096, body.len()] {
            assert_eq!(decode(&body, piece, true), Ok(vec![b'a'; 66560]), "{piece}");
        }
        let mut changed = body.clone();
        let at = changed.len() - 200;
        changed[at] = b'b';
        assert_eq!(
            decode(&changed, 4096, true),
            Err(ChunkError::SignatureMismatch)
        );
        // Unsigned decoding takes the changed byte (nothing to check it against).
        assert!(decode(&changed, 4096, false).is_ok());
        let cut = &body[..body.len() - 90];
        assert!(matches!(
            decode(cut, 4096, true),
            Err(ChunkError::Malformed(_))
        ));
        assert!(matches!(
            decode(b"zz\r\nab\r\n0\r\n\r\n", 3, false),
            Err(ChunkError::Malformed(_))
        ));
        assert!(matches!(
            decode(b"2\r\nabX\n0\r\n\r\n", 3, false),
            Err(ChunkError::Malformed(_))
        ));
        assert!(matches!(
            decode(&vec![b'1'; 10_000], 100, false),
            Err(ChunkError::Malformed(_))
        ));
        // Trailers after the final chunk are accepted and not part of the bytes.
        assert_eq!(
            decode(
                b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n",
                2,
                false
            ),
            Ok(b"abc".to_vec())
        );
    }

    /// AWS's documented presigned URL example (S3 User Guide, sigv4-query-string-auth).
    #[test]
    fn aws_documented_presigned_url_example() {
        let headers = vec![(
            "host".to_string(),
            "examplebucket.s3.amazonaws.com".to_string(),
        )];
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let request = SignedRequest {
            method: "GET",
            raw_path: "/test.txt",
            raw_query: query,
            headers: &headers,
            body: b"",
        };
        assert!(verify(&request, &creds(), datetime!(2013-05-24 12:00 UTC)).is_ok());
        assert_eq!(
            verify(&request, &creds(), datetime!(2013-05-25 00:00:01 UTC)).unwrap_err(),
            AuthError::Expired
        );
        let tampered = SignedRequest {
            raw_path: "/test.txu",
            ..request
        };
        assert_eq!(
            verify(&tampered, &creds(), datetime!(2013-05-24 12:00 UTC)).unwrap_err(),
            AuthError::SignatureMismatch
        );
    }

    /// X-Amz-Expires bounds: 0 has already expired (403), past a week or negative is malformed.
    #[test]
    fn presigned_expiry_bounds() {
        let headers = vec![("host".to_string(), "h".to_string())];
        let check = |expires: &str| {
            let query = format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
            );
            let request = SignedRequest {
                method: "GET",
                raw_path: "/k",
                raw_query: &query,
                headers: &headers,
                body: b"",
            };
            verify(&request, &creds(), datetime!(2013-05-24 00:00:00.5 UTC)).unwrap_err()
        };
        assert_eq!(check("0"), AuthError::Expired);
        assert_eq!(check("604800"), AuthError::SignatureMismatch);
        let bound = |e: AuthError| match e {
            AuthError::QueryParameters(why) => why,
            other => panic!("{other:?}"),
        };
        assert!(bound(check("604801")).starts_with("X-Amz-Expires must be less than a week"));
        assert_eq!(bound(check("-7")), "X-Amz-Expires must be non-negative");
        assert_eq!(bound(check("soon")), "X-Amz-Expires should be a number");
        assert_eq!(check("60"), AuthError::SignatureMismatch);
    }

    #[test]
    fn signed_requests_verify_and_wrong_secrets_do_not() {
        let now = datetime!(2026-11-25 10:00 UTC);
        let base = vec![("host".to_string(), "127.0.0.1:9000".to_string())];
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let mut headers = base.clone();
        let unsigned = SignedRequest {
            method: "POST",
            raw_path: "/",
            raw_query: "a=b%20c&restore",
            headers: &base,
            body,
        };
        headers.extend(sign(&unsigned, &creds(), None, "us-east-1", "sts", now));
        let request = SignedRequest {
            method: "POST",
            raw_path: "/",
            raw_query: "a=b%20c&restore",
            headers: &headers,
            body,
        };
        assert_eq!(verify(&request, &creds(), now).unwrap().service, "sts");
        let other = Credentials {
            secret_access_key: "not-the-secret".into(),
            ..creds()
        };
        assert_eq!(
            verify(&request, &other, now).unwrap_err(),
            AuthError::SignatureMismatch
        );
        let altered = SignedRequest {
            body: b"Action=GetCallerIdentity&Version=2011-06-16",
            ..request
        };
        assert_eq!(
            verify(&altered, &creds(), now).unwrap_err(),
            AuthError::ContentMismatch
        );
    }

    /// An `x-amz-*` header added after signing is refused, not honoured; the signature is
    /// checked from the headers alone before the body arrives when the body's hash is declared.
    #[test]
    fn unsigned_amz_headers_are_refused_and_heads_verify_without_bodies() {
        let now = datetime!(2026-11-25 10:00 UTC);
        let base = vec![("host".to_string(), "127.0.0.1:9000".to_string())];
        let body = b"object body";
        let unsigned = SignedRequest {
            method: "PUT",
            raw_path: "/b/k",
            raw_query: "",
            headers: &base,
            body,
        };
        let mut headers = base.clone();
        headers.extend(sign(&unsigned, &creds(), None, "us-east-1", "s3", now));
        let request = SignedRequest {
            headers: &headers,
            ..unsigned
        };
        assert!(verify(&request, &creds(), now).is_ok());
        // The head alone verifies, whatever the body (it is checked against the hash later).
        let no_body = SignedRequest {
            body: b"",
            ..request
        };
        assert!(verify_head(&no_body, &creds(), now).is_ok());
        let other = Credentials {
            secret_access_key: "not-the-secret".into(),
            ..creds()
        };
        assert_eq!(
            verify_head(&no_body, &other, now).unwrap_err(),
            AuthError::SignatureMismatch
        );
        let mut added = headers.clone();
        added.push(("x-amz-copy-source".into(), "/b/other".into()));
        added.push(("x-amz-storage-class".into(), "GLACIER".into()));
        let tampered = SignedRequest {
            headers: &added,
            ..request
        };
        assert_eq!(
            verify(&tampered, &creds(), now).unwrap_err(),
            AuthError::HeadersNotSigned("x-amz-copy-source,x-amz-storage-class".into())
        );
        assert!(verify_head(&tampered, &creds(), now).is_err());
        let anonymous = SignedRequest {
            headers: &base,
            ..request
        };
        assert_eq!(
            verify_head(&anonymous, &creds(), now).unwrap_err(),
            AuthError::Missing
        );
    }

    #[test]
    fn queries_decode_and_encode() {
        assert_eq!(
            parse_query("list-type=2&prefix=a%2Fb&versions", false),
            [
                ("list-type".to_string(), "2".to_string()),
                ("prefix".to_string(), "a/b".to_string()),
                ("versions".to_string(), String::new())
            ]
        );
        assert_eq!(percent_decode("a+b%20c", true), "a b c");
        assert_eq!(uri_encode("a b/ü", false), "a%20b%2F%C3%BC");
    }
}
