//! The S3 REST face: buckets and objects, path-style (`/bucket/key`) or virtual-hosted
//! (`bucket.localhost/key`), with S3's XML bodies, headers and error documents.

use std::collections::BTreeMap;

use md5::Digest;
use time::OffsetDateTime;

use super::xml::{self, XmlWriter};
use super::{Request, Response, Server, status_of};
use crate::backend::*;
use crate::errors::Error;
use crate::sigv4::{percent_decode, percent_decode_utf8, uri_encode};
use crate::timefmt::{http_date, rfc3339_millis};

pub const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Listing page size, as S3's default `max-keys`.
const MAX_KEYS: u32 = 1_000;

/// S3's error document (`<Error><Code>..`); HEAD responses carry no body.
pub fn error_response(req: &Request, e: &Error) -> Response {
    let status = status_of(e);
    let mut w = XmlWriter::new("Error", None);
    w.el("Code", &e.code)
        .el("Message", &e.message)
        .opt("BucketName", e.bucket.as_deref())
        .opt("Key", e.key.as_deref())
        .opt("VersionId", e.version_id.as_deref())
        .el("RequestId", &req.request_id)
        .el("HostId", &req.request_id);
    let resp = Response::new(status).header("x-amz-error-code", e.code.clone());
    if req.method == "HEAD" {
        return resp;
    }
    resp.header("content-type", "application/xml")
        .body(w.finish().into_bytes())
}

/// Standard base64 with padding (RFC 4648), as `Content-MD5` carries a digest.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn time_xml(t: OffsetDateTime) -> String {
    rfc3339_millis(t)
}

/// The bucket and key a request names.
fn target(req: &Request) -> (Option<String>, Option<String>) {
    let path = req.path.strip_prefix('/').unwrap_or(&req.path);
    if let Some(bucket) = &req.virtual_bucket {
        return (
            Some(bucket.clone()),
            (!path.is_empty()).then(|| path.to_string()),
        );
    }
    if path.is_empty() {
        return (None, None);
    }
    match path.split_once('/') {
        Some((bucket, key)) if !key.is_empty() => (Some(bucket.to_string()), Some(key.to_string())),
        Some((bucket, _)) => (Some(bucket.to_string()), None),
        None => (Some(path.to_string()), None),
    }
}

fn not_implemented(what: &str) -> Error {
    Error::new(
        "NotImplemented",
        format!("s3thaw serve does not implement {what}"),
    )
    .status(501)
}

fn invalid_argument(message: impl Into<String>) -> Error {
    Error::new("InvalidArgument", message).status(400)
}

fn malformed_xml(why: String) -> Error {
    Error::new(
        "MalformedXML",
        format!("The XML you provided was not well-formed or did not validate against our published schema: {why}"),
    )
    .status(400)
}

/// The body, with `aws-chunked` framing removed.
pub(super) fn payload(req: &Request) -> Result<Vec<u8>, Error> {
    let chunked = req
        .header("content-encoding")
        .is_some_and(|c| c.split(',').any(|p| p.trim() == "aws-chunked"))
        || req
            .header("x-amz-content-sha256")
            .is_some_and(|h| h.starts_with("STREAMING-"));
    let body = if chunked {
        super::decode_aws_chunked(&req.body).map_err(|why| {
            Error::new(
                "IncompleteBody",
                format!("The aws-chunked body is malformed: {why}"),
            )
            .status(400)
        })?
    } else {
        req.body.clone()
    };
    if let Some(given) = req.header("content-md5") {
        let actual = md5::Md5::digest(&body);
        let matches = given.trim() == base64(actual.as_slice());
        if !matches {
            return Err(Error::new(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            )
            .status(400));
        }
    }
    Ok(body)
}

pub fn handle(server: &Server, req: &Request) -> Response {
    let (bucket, key) = target(req);
    let result = match (bucket, key) {
        (None, _) => match req.method.as_str() {
            "GET" => list_buckets(server, req),
            _ => Err(Error::new(
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
            .status(405)),
        },
        (Some(bucket), None) => bucket_op(server, req, &bucket),
        (Some(bucket), Some(key)) => object_op(server, req, &bucket, &key),
    };
    result.unwrap_or_else(|e| {
        let (bucket, key) = target(req);
        error_response(req, &e).op(format!(
            "S3.{} {}",
            operation(req, bucket.is_some(), key.is_some()),
            e.code
        ))
    })
}

/// The name of the operation a request asks for, for the log line of a failed request (a
/// successful one names itself).
fn operation(req: &Request, bucket: bool, key: bool) -> &'static str {
    let q = |name| req.has_query(name);
    match (req.method.as_str(), bucket, key) {
        ("POST", true, true) if q("uploads") => "CreateMultipartUpload",
        ("PUT", true, true) if q("uploadId") => "UploadPart",
        ("POST", true, true) if q("uploadId") => "CompleteMultipartUpload",
        ("DELETE", true, true) if q("uploadId") => "AbortMultipartUpload",
        ("GET", false, _) => "ListBuckets",
        ("PUT", true, false) if q("versioning") => "PutBucketVersioning",
        ("PUT", true, false) => "CreateBucket",
        ("DELETE", true, false) => "DeleteBucket",
        ("HEAD", true, false) => "HeadBucket",
        ("GET", true, false) if q("versioning") => "GetBucketVersioning",
        ("GET", true, false) if q("location") => "GetBucketLocation",
        ("GET", true, false) if q("versions") => "ListObjectVersions",
        ("GET", true, false) => "ListObjectsV2",
        ("POST", true, false) if q("delete") => "DeleteObjects",
        ("PUT", true, true) if req.header("x-amz-copy-source").is_some() => "CopyObject",
        ("PUT", true, true) => "PutObject",
        ("GET", true, true) => "GetObject",
        ("HEAD", true, true) => "HeadObject",
        ("DELETE", true, true) => "DeleteObject",
        ("POST", true, true) if q("restore") => "RestoreObject",
        _ => "Unsupported",
    }
}

type Answer = Result<Response, Error>;

fn bucket_op(server: &Server, req: &Request, bucket: &str) -> Answer {
    let sim: &dyn Backend = &server.sim;
    match req.method.as_str() {
        "PUT" if req.has_query("versioning") => {
            let doc = xml::parse(&payload(req)?).map_err(malformed_xml)?;
            let enabled = match doc.text_of("Status").as_deref() {
                Some("Enabled") => true,
                Some("Suspended") => false,
                other => {
                    return Err(malformed_xml(format!(
                        "Status must be Enabled or Suspended, not {other:?}"
                    )));
                }
            };
            sim.put_bucket_versioning(bucket, enabled)?;
            Ok(Response::new(200).op("S3.PutBucketVersioning"))
        }
        "PUT" if req.query.is_empty() => {
            let body = payload(req)?;
            let region = if body.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                let doc = xml::parse(&body).map_err(malformed_xml)?;
                doc.text_of("LocationConstraint").filter(|r| !r.is_empty())
            };
            sim.create_bucket(bucket, region.as_deref())?;
            Ok(Response::new(200)
                .header("location", format!("/{bucket}"))
                .op("S3.CreateBucket"))
        }
        "PUT" => Err(not_implemented("this bucket subresource")),
        "DELETE" if req.query.is_empty() => {
            sim.delete_bucket(bucket)?;
            Ok(Response::new(204).op("S3.DeleteBucket"))
        }
        "HEAD" => {
            sim.get_bucket_versioning(bucket)?;
            Ok(Response::new(200)
                .header("x-amz-bucket-region", bucket_region(sim, bucket)?)
                .op("S3.HeadBucket"))
        }
        "GET" if req.has_query("versioning") => {
            let enabled = sim.get_bucket_versioning(bucket)?;
            let mut w = XmlWriter::new("VersioningConfiguration", Some(S3_NS));
            if enabled {
                w.el("Status", "Enabled");
            }
            Ok(Response::xml(200, w.finish()).op("S3.GetBucketVersioning"))
        }
        "GET" if req.has_query("location") => {
            let region = bucket_region(sim, bucket)?;
            // us-east-1 answers an empty constraint.
            let constraint = if region == "us-east-1" {
                ""
            } else {
                region.as_str()
            };
            let doc = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{S3_NS}\">{}</LocationConstraint>",
                xml::escape(constraint)
            );
            Ok(Response::xml(200, doc).op("S3.GetBucketLocation"))
        }
        "GET" if req.has_query("versions") => list_object_versions(sim, req, bucket),
        "GET" if req.query("list-type") == Some("2") => list_objects_v2(sim, req, bucket),
        "GET" => Err(not_implemented(
            "this listing (ListObjects version 1 and other subresources); use ListObjectsV2",
        )),
        "POST" if req.has_query("delete") => delete_objects(sim, req, bucket),
        _ => Err(Error::new(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
        .status(405)),
    }
}

fn bucket_region(sim: &dyn Backend, bucket: &str) -> Result<String, Error> {
    sim.list_buckets()?
        .into_iter()
        .find(|b| b.name == bucket)
        .map(|b| b.region)
        .ok_or_else(|| Error::no_such_bucket(bucket))
}

fn list_buckets(server: &Server, _req: &Request) -> Answer {
    let sim: &dyn Backend = &server.sim;
    let account = sim.account_id()?;
    let mut w = XmlWriter::new("ListAllMyBucketsResult", Some(S3_NS));
    w.start("Owner")
        .el("ID", &account)
        .el("DisplayName", "s3thaw")
        .end();
    w.start("Buckets");
    for b in sim.list_buckets()? {
        w.start("Bucket")
            .el("Name", &b.name)
            .el("CreationDate", time_xml(b.created))
            .el("BucketRegion", &b.region)
            .end();
    }
    w.end();
    Ok(Response::xml(200, w.finish()).op("S3.ListBuckets"))
}

fn max_keys(req: &Request) -> Result<u32, Error> {
    match req.query("max-keys") {
        None => Ok(MAX_KEYS),
        Some(text) => text.parse::<u32>().map(|n| n.min(MAX_KEYS)).map_err(|_| {
            invalid_argument("Provided max-keys not an integer or within integer range")
        }),
    }
}

/// Listing tokens go out hex-encoded, so any key makes a valid, opaque token.
fn encode_token(token: &str) -> String {
    hex::encode(token.as_bytes())
}

fn decode_token(token: &str) -> Result<String, Error> {
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid_argument("The continuation token provided is incorrect"))
}

fn list_objects_v2(sim: &dyn Backend, req: &Request, bucket: &str) -> Answer {
    let prefix = req.query("prefix").unwrap_or("").to_string();
    let delimiter = req.query("delimiter").filter(|d| !d.is_empty());
    let url = req.query("encoding-type") == Some("url");
    let limit = max_keys(req)? as usize;
    let token = req
        .query("continuation-token")
        .map(decode_token)
        .transpose()?;
    let start_after = req.query("start-after").map(str::to_string);
    let mut after = token.or(start_after.clone());
    // `x-amz-optional-object-attributes: RestoreStatus` (a comma-separated list on the wire).
    let restore_status = req
        .header("x-amz-optional-object-attributes")
        .is_some_and(|v| v.split(',').any(|a| a.trim() == "RestoreStatus"));
    let mut contents: Vec<ObjectSummary> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let listing = |after: &Option<String>, max: usize| {
        sim.list_objects(&ListObjects {
            bucket: bucket.to_string(),
            prefix: (!prefix.is_empty()).then(|| prefix.clone()),
            continuation: after.clone(),
            start_after: None,
            max_keys: Some(max as u32),
            restore_status,
        })
    };
    // Pages of the simulator's listing until `limit` entries (objects and common prefixes).
    let truncated = loop {
        let entries = contents.len() + prefixes.len();
        if entries >= limit {
            break !listing(&after, 1)?.items.is_empty();
        }
        let page = listing(&after, limit - entries)?;
        let mut skipped = false;
        for object in &page.items {
            let rest = &object.key[prefix.len().min(object.key.len())..];
            if let Some(d) = delimiter
                && let Some(at) = rest.find(d)
            {
                let common = format!("{prefix}{}", &rest[..at + d.len()]);
                // Continue after every key under this common prefix.
                after = Some(format!("{common}\u{10FFFF}"));
                prefixes.push(common);
                skipped = true;
                break;
            }
            after = Some(object.key.clone());
            contents.push(object.clone());
        }
        if !skipped && page.next.is_none() {
            break false;
        }
    };
    let enc = |s: &str| {
        if url {
            uri_encode(s, true)
        } else {
            s.to_string()
        }
    };
    let mut w = XmlWriter::new("ListBucketResult", Some(S3_NS));
    w.el("Name", bucket)
        .el("Prefix", enc(&prefix))
        .opt("Delimiter", delimiter.map(enc))
        .el("MaxKeys", limit.to_string())
        .el("KeyCount", (contents.len() + prefixes.len()).to_string())
        .el("IsTruncated", truncated.to_string())
        .opt("ContinuationToken", req.query("continuation-token"))
        .opt("StartAfter", start_after.as_deref().map(enc));
    if url {
        w.el("EncodingType", "url");
    }
    if truncated && let Some(next) = &after {
        w.el("NextContinuationToken", encode_token(next));
    }
    for o in &contents {
        w.start("Contents")
            .el("Key", enc(&o.key))
            .el("LastModified", time_xml(o.last_modified))
            .el("ETag", &o.etag)
            .el("Size", o.size.to_string())
            .el("StorageClass", o.storage_class.as_str());
        if let Some(r) = &o.restore {
            w.start("RestoreStatus")
                .el("IsRestoreInProgress", r.ongoing.to_string())
                .opt("RestoreExpiryDate", r.expiry.map(time_xml))
                .end();
        }
        w.end();
    }
    for p in &prefixes {
        w.start("CommonPrefixes").el("Prefix", enc(p)).end();
    }
    Ok(Response::xml(200, w.finish()).op("S3.ListObjectsV2"))
}

fn list_object_versions(sim: &dyn Backend, req: &Request, bucket: &str) -> Answer {
    let prefix = req.query("prefix").filter(|p| !p.is_empty());
    let url = req.query("encoding-type") == Some("url");
    // The simulator's token is "KEY\0ROW"; on the wire it travels as key and version-id markers.
    let token = match (req.query("key-marker"), req.query("version-id-marker")) {
        (Some(key), Some(row)) if !row.is_empty() => Some(format!("{key}\0{row}")),
        (Some(key), _) if !key.is_empty() => Some(format!("{key}\0{}", i64::MIN)),
        _ => None,
    };
    let page = sim.list_object_versions(bucket, prefix, token.as_deref())?;
    let enc = |s: &str| {
        if url {
            uri_encode(s, true)
        } else {
            s.to_string()
        }
    };
    let account = sim.account_id()?;
    let mut w = XmlWriter::new("ListVersionsResult", Some(S3_NS));
    w.el("Name", bucket)
        .el("Prefix", enc(prefix.unwrap_or("")))
        .el("KeyMarker", enc(req.query("key-marker").unwrap_or("")))
        .el(
            "VersionIdMarker",
            req.query("version-id-marker").unwrap_or(""),
        )
        .el("MaxKeys", MAX_KEYS.to_string())
        .el("IsTruncated", page.next.is_some().to_string());
    if url {
        w.el("EncodingType", "url");
    }
    if let Some((key, row)) = page.next.as_deref().and_then(|n| n.rsplit_once('\0')) {
        w.el("NextKeyMarker", enc(key))
            .el("NextVersionIdMarker", row);
    }
    for v in &page.items {
        let version = v.version_id.clone().unwrap_or_else(|| "null".into());
        if v.is_delete_marker {
            w.start("DeleteMarker")
                .el("Key", enc(&v.key))
                .el("VersionId", version)
                .el("IsLatest", v.is_latest.to_string())
                .el("LastModified", time_xml(v.last_modified));
        } else {
            w.start("Version")
                .el("Key", enc(&v.key))
                .el("VersionId", version)
                .el("IsLatest", v.is_latest.to_string())
                .el("LastModified", time_xml(v.last_modified))
                .opt("ETag", v.etag.as_deref())
                .el("Size", v.size.to_string())
                .el(
                    "StorageClass",
                    v.storage_class.unwrap_or(StorageClass::Standard).as_str(),
                );
        }
        w.start("Owner")
            .el("ID", &account)
            .el("DisplayName", "s3thaw")
            .end()
            .end();
    }
    Ok(Response::xml(200, w.finish()).op("S3.ListObjectVersions"))
}

fn delete_objects(sim: &dyn Backend, req: &Request, bucket: &str) -> Answer {
    let doc = xml::parse(&payload(req)?).map_err(malformed_xml)?;
    let quiet = doc.text_of("Quiet").as_deref() == Some("true");
    let ids: Vec<ObjectId> = doc
        .children_named("Object")
        .map(|o| ObjectId {
            key: o.child("Key").map(|k| k.text.clone()).unwrap_or_default(),
            version_id: o.text_of("VersionId").filter(|v| !v.is_empty()),
        })
        .collect();
    if ids.is_empty() || ids.len() > 1000 {
        return Err(malformed_xml(
            "a Delete request names 1 to 1,000 objects".into(),
        ));
    }
    let results = sim.delete_objects(bucket, &ids)?;
    let mut w = XmlWriter::new("DeleteResult", Some(S3_NS));
    for (id, result) in ids.iter().zip(results) {
        match result {
            Ok(d) => {
                if quiet {
                    continue;
                }
                w.start("Deleted").el("Key", &d.key);
                if id.version_id.is_some() {
                    w.opt("VersionId", d.version_id.as_deref());
                }
                if d.delete_marker {
                    w.el("DeleteMarker", "true");
                    if id.version_id.is_none() {
                        w.opt("DeleteMarkerVersionId", d.version_id.as_deref());
                    }
                }
                w.end();
            }
            Err(e) => {
                w.start("Error")
                    .el("Key", &id.key)
                    .opt("VersionId", id.version_id.as_deref())
                    .el("Code", &e.code)
                    .el("Message", &e.message)
                    .end();
            }
        }
    }
    Ok(Response::xml(200, w.finish()).op("S3.DeleteObjects"))
}

fn object_op(server: &Server, req: &Request, bucket: &str, key: &str) -> Answer {
    let sim: &dyn Backend = &server.sim;
    let version = req.query("versionId").filter(|v| !v.is_empty());
    if let Some(upload) = req.query("uploadId") {
        return match req.method.as_str() {
            "PUT" => server.uploads.upload_part(req, upload),
            "POST" => server.uploads.complete(sim, req, upload),
            "DELETE" => server.uploads.abort(upload),
            _ => Err(not_implemented("ListParts")),
        };
    }
    match req.method.as_str() {
        "POST" if req.has_query("uploads") => server.uploads.create(sim, req, bucket, key),
        "PUT" if req.header("x-amz-copy-source").is_some() => copy_object(sim, req, bucket, key),
        "PUT" if req.query.iter().all(|(k, _)| is_plumbing(k)) => put_object(sim, req, bucket, key),
        "GET" if version_only(req) => {
            let head = sim.head_object(bucket, key, version)?;
            let body = sim.get_object(bucket, key, version)?;
            let resp = head_headers(Response::new(200), &head).op("S3.GetObject");
            match req.header("range") {
                None => Ok(resp.body(body)),
                Some(range) => {
                    let (start, end) = byte_range(range, body.len())?;
                    let mut resp = resp.header(
                        "content-range",
                        format!("bytes {start}-{end}/{}", body.len()),
                    );
                    resp.status = 206;
                    Ok(resp.body(body[start..=end].to_vec()))
                }
            }
        }
        "HEAD" if version_only(req) => {
            let head = sim.head_object(bucket, key, version)?;
            Ok(head_headers(Response::new(200), &head)
                .header("content-length", head.size.to_string())
                .op("S3.HeadObject"))
        }
        "DELETE" if version_only(req) => {
            let deleted = sim.delete_object(bucket, key, version)?;
            let mut resp = Response::new(204).op("S3.DeleteObject");
            if deleted.delete_marker {
                resp = resp.header("x-amz-delete-marker", "true");
            }
            if let Some(v) = deleted.version_id {
                resp = resp.header("x-amz-version-id", v);
            }
            Ok(resp)
        }
        "POST" if req.has_query("restore") => restore_object(sim, req, bucket, key, version),
        _ => Err(not_implemented("this object operation")),
    }
}

/// The inclusive byte range a `Range: bytes=..` header asks of a body of `len` bytes:
/// `a-b`, `a-` or the suffix `-n`. Outside the body: 416 `InvalidRange`, as S3 answers.
fn byte_range(header: &str, len: usize) -> Result<(usize, usize), Error> {
    let invalid =
        || Error::new("InvalidRange", "The requested range is not satisfiable").status(416);
    let spec = header
        .trim()
        .strip_prefix("bytes=")
        .filter(|s| !s.contains(','))
        .ok_or_else(invalid)?;
    let (first, last) = spec.split_once('-').ok_or_else(invalid)?;
    let number = |s: &str| s.trim().parse::<usize>().map_err(|_| invalid());
    let (start, end) = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => {
            let suffix = number(last)?;
            if suffix == 0 || len == 0 {
                return Err(invalid());
            }
            (len.saturating_sub(suffix), len - 1)
        }
        (false, true) => (number(first)?, len.saturating_sub(1)),
        (false, false) => (number(first)?, number(last)?.min(len.saturating_sub(1))),
        (true, true) => return Err(invalid()),
    };
    if start >= len || start > end {
        return Err(invalid());
    }
    Ok((start, end))
}

/// True when the query holds nothing but `versionId` (and SDKs' `x-id` markers).
fn version_only(req: &Request) -> bool {
    req.query
        .iter()
        .all(|(k, _)| k == "versionId" || k.starts_with("response-") || is_plumbing(k))
}

/// Query parameters that are not part of the operation: SDKs' `x-id` and a presigned URL's
/// `X-Amz-*` signature.
fn is_plumbing(name: &str) -> bool {
    name == "x-id" || name.starts_with("X-Amz-")
}

fn head_headers(mut resp: Response, h: &ObjectHead) -> Response {
    resp = resp
        .header("etag", h.etag.clone())
        .header("last-modified", http_date(h.last_modified))
        .header("accept-ranges", "bytes")
        .header(
            "content-type",
            h.content_type
                .clone()
                .unwrap_or_else(|| "binary/octet-stream".into()),
        );
    if let Some(v) = &h.version_id {
        resp = resp.header("x-amz-version-id", v.clone());
    }
    // S3 leaves the header out for STANDARD objects.
    if h.storage_class != StorageClass::Standard {
        resp = resp.header("x-amz-storage-class", h.storage_class.as_str());
    }
    if let Some(tier) = h.archive_status {
        resp = resp.header("x-amz-archive-status", tier.as_str());
    }
    if let Some(r) = &h.restore {
        let value = match (r.ongoing, r.expiry) {
            (true, _) => "ongoing-request=\"true\"".to_string(),
            (false, Some(expiry)) => format!(
                "ongoing-request=\"false\", expiry-date=\"{}\"",
                http_date(expiry)
            ),
            (false, None) => "ongoing-request=\"false\"".to_string(),
        };
        resp = resp.header("x-amz-restore", value);
    }
    for (name, value) in &h.metadata {
        resp = resp.header(&format!("x-amz-meta-{name}"), value.clone());
    }
    resp
}

pub(super) fn storage_class_header(req: &Request) -> Result<Option<StorageClass>, Error> {
    req.header("x-amz-storage-class")
        .map(|c| {
            c.parse::<StorageClass>().map_err(|_| {
                Error::new(
                    "InvalidStorageClass",
                    "The storage class you specified is not valid",
                )
                .status(400)
            })
        })
        .transpose()
}

pub(super) fn metadata_headers(req: &Request) -> BTreeMap<String, String> {
    req.headers
        .iter()
        .filter_map(|(n, v)| {
            n.strip_prefix("x-amz-meta-")
                .map(|m| (m.to_string(), v.clone()))
        })
        .collect()
}

fn put_object(sim: &dyn Backend, req: &Request, bucket: &str, key: &str) -> Answer {
    let written = sim.put_object(PutObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        body: payload(req)?,
        storage_class: storage_class_header(req)?,
        content_type: req.header("content-type").map(str::to_string),
        metadata: metadata_headers(req),
    })?;
    let mut resp = Response::new(200)
        .header("etag", written.etag.clone())
        .op("S3.PutObject");
    if let Some(v) = written.version_id {
        resp = resp.header("x-amz-version-id", v);
    }
    Ok(resp)
}

/// `x-amz-copy-source`: `[/]bucket/key[?versionId=..]`, URL-encoded.
fn copy_source(value: &str) -> Result<(String, String, Option<String>), Error> {
    let (path, version) = match value.split_once("?versionId=") {
        Some((p, v)) => (p, Some(percent_decode(v, false))),
        None => (value, None),
    };
    let path = percent_decode_utf8(path.trim_start_matches('/'), false)
        .ok_or_else(|| invalid_argument("Copy Source is not valid UTF-8 once decoded"))?;
    let (bucket, key) = path
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
        })?;
    Ok((bucket.to_string(), key.to_string(), version))
}

fn copy_object(sim: &dyn Backend, req: &Request, bucket: &str, key: &str) -> Answer {
    let (src_bucket, src_key, src_version) =
        copy_source(req.header("x-amz-copy-source").unwrap_or(""))?;
    let written = sim.copy_object(
        (&src_bucket, &src_key, src_version.as_deref()),
        (bucket, key),
        storage_class_header(req)?,
    )?;
    let head = sim.head_object(bucket, key, written.version_id.as_deref())?;
    let mut w = XmlWriter::new("CopyObjectResult", Some(S3_NS));
    w.el("LastModified", time_xml(head.last_modified))
        .el("ETag", &written.etag);
    let mut resp = Response::xml(200, w.finish()).op("S3.CopyObject");
    if let Some(v) = written.version_id {
        resp = resp.header("x-amz-version-id", v);
    }
    if let Some(v) = src_version {
        resp = resp.header("x-amz-copy-source-version-id", v);
    }
    Ok(resp)
}

fn restore_object(
    sim: &dyn Backend,
    req: &Request,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Answer {
    let body = payload(req)?;
    let (days, tier) = if body.iter().all(u8::is_ascii_whitespace) {
        (None, None)
    } else {
        let doc = xml::parse(&body).map_err(malformed_xml)?;
        let days = doc
            .text_of("Days")
            .map(|d| {
                d.parse::<u32>()
                    .map_err(|_| malformed_xml(format!("Days must be a whole number, not `{d}`")))
            })
            .transpose()?;
        let tier = doc
            .at(&["GlacierJobParameters", "Tier"])
            .map(|t| t.text.trim().to_string())
            .or_else(|| doc.text_of("Tier"));
        (days, tier)
    };
    let tier = match tier {
        None => Tier::Standard,
        Some(t) => t.parse::<Tier>().map_err(|_| {
            malformed_xml(format!(
                "Tier must be Standard, Bulk or Expedited, not `{t}`"
            ))
        })?,
    };
    let outcome = sim.restore_object(bucket, key, version, RestoreRequest { days, tier })?;
    Ok(Response::new(outcome.http_status()).op("S3.RestoreObject"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), encoded);
        }
    }

    fn req(path: &str, vb: Option<&str>) -> Request {
        Request {
            path: path.into(),
            virtual_bucket: vb.map(str::to_string),
            ..Request::default()
        }
    }

    #[test]
    fn targets_path_style_and_virtual_hosted() {
        assert_eq!(target(&req("/", None)), (None, None));
        assert_eq!(target(&req("/b", None)), (Some("b".into()), None));
        assert_eq!(target(&req("/b/", None)), (Some("b".into()), None));
        assert_eq!(
            target(&req("/b/dir/k.txt", None)),
            (Some("b".into()), Some("dir/k.txt".into()))
        );
        assert_eq!(
            target(&req("/dir/k.txt", Some("b"))),
            (Some("b".into()), Some("dir/k.txt".into()))
        );
        assert_eq!(target(&req("/", Some("b"))), (Some("b".into()), None));
    }

    #[test]
    fn byte_ranges_as_s3_reads_them() {
        assert_eq!(byte_range("bytes=0-9", 100).unwrap(), (0, 9));
        assert_eq!(byte_range("bytes=90-", 100).unwrap(), (90, 99));
        assert_eq!(byte_range("bytes=-10", 100).unwrap(), (90, 99));
        assert_eq!(byte_range("bytes=95-200", 100).unwrap(), (95, 99));
        for bad in [
            "bytes=100-",
            "bytes=5-2",
            "bytes=-0",
            "items=0-1",
            "bytes=0-1,3-4",
        ] {
            assert_eq!(
                byte_range(bad, 100).unwrap_err().code,
                "InvalidRange",
                "{bad}"
            );
        }
    }

    #[test]
    fn copy_sources_decode() {
        assert_eq!(
            copy_source("/src/a%20b.txt?versionId=v1").unwrap(),
            ("src".into(), "a b.txt".into(), Some("v1".into()))
        );
        assert_eq!(
            copy_source("src/dir/k").unwrap(),
            ("src".into(), "dir/k".into(), None)
        );
        assert!(copy_source("src").is_err());
    }
}
