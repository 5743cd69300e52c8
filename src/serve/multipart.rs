//! S3 multipart uploads (what `aws s3 cp` uses for files of 8 MB and more): Create, UploadPart,
//! UploadPartCopy, Complete, Abort, ListParts, ListMultipartUploads, translated to the
//! simulator's uploads (`backend::sim::uploads`), which keeps them and their parts in the
//! state directory, bounds them and expires them, and assembles the object at Complete. Part
//! bodies arrive staged in a file ([`super::http::stage_body`]), so nothing here holds a part,
//! let alone an object, in memory. UploadPartCopy of a seeded (synthetic) object hands the
//! simulator the range it copies, not bytes (see [`super::s3::copy_part_source`]), so a
//! multipart copy of a 6 GB or 1 TB seeded object builds nothing.

use super::s3::{
    ObjectBody, S3_NS, metadata_headers, object_body, owner_element, payload, storage_class_header,
    stored_headers,
};
use super::xml::{self, XmlWriter};
use super::{Request, Response};
use crate::backend::StorageClass;
use crate::backend::sim::{CompletedUpload, MAX_PARTS, NewUpload, PartBody, Simulator};
use crate::errors::Error;
use crate::timefmt::rfc3339_millis;

/// Listing page size (ListParts' `max-parts`, ListMultipartUploads' `max-uploads`).
const MAX_LISTED: usize = 1_000;

/// The multipart face; the uploads themselves are the simulator's.
#[derive(Default)]
pub struct Uploads {
    _face: (),
}

fn invalid_part(message: impl Into<String>) -> Error {
    Error::new("InvalidPart", message).status(400)
}

impl Uploads {
    /// `POST /bucket/key?uploads`, by `sim`'s caller (its initiator and owner), who must be
    /// able to write into the bucket.
    pub fn create(
        &self,
        sim: &Simulator,
        req: &Request,
        bucket: &str,
        key: &str,
    ) -> Result<Response, Error> {
        let upload = sim.create_upload(&NewUpload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            storage_class: storage_class_header(req)?,
            content_type: req.header("content-type").map(str::to_string),
            metadata: metadata_headers(req),
            headers: stored_headers(req),
        })?;
        let mut w = XmlWriter::new("InitiateMultipartUploadResult", Some(S3_NS));
        w.el("Bucket", bucket)
            .el("Key", key)
            .el("UploadId", &upload.id);
        Ok(Response::xml(200, w.finish()).op("S3.CreateMultipartUpload"))
    }

    /// `PUT /bucket/key?partNumber=N&uploadId=ID`: a part from the body, or with
    /// `x-amz-copy-source` (UploadPartCopy) from an object, whole or `x-amz-copy-source-range`.
    pub fn upload_part(&self, sim: &Simulator, req: &Request, id: &str) -> Result<Response, Error> {
        let number: u32 = req
            .query("partNumber")
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=MAX_PARTS).contains(&u64::from(*n)))
            .ok_or_else(|| {
                Error::new(
                    "InvalidArgument",
                    "Part number must be an integer between 1 and 10000, inclusive",
                )
                .status(400)
            })?;
        let copy = req.header("x-amz-copy-source");
        let part = match copy {
            None => match object_body(req)? {
                ObjectBody::Bytes(bytes) => sim.upload_part(id, number, PartBody::Bytes(bytes))?,
                ObjectBody::File(file) => sim.upload_part(id, number, PartBody::File(file))?,
            },
            Some(source) => {
                // The upload must exist before its source is read.
                sim.list_parts(id, 0, 0)?;
                let (source, range) = super::s3::copy_part_source(sim, req, source)?;
                sim.upload_part_copy(id, number, &source, range)?
            }
        };
        if copy.is_some() {
            let mut w = XmlWriter::new("CopyPartResult", Some(S3_NS));
            w.el("LastModified", rfc3339_millis(part.uploaded))
                .el("ETag", &part.etag);
            return Ok(Response::xml(200, w.finish()).op("S3.UploadPartCopy"));
        }
        Ok(Response::new(200)
            .header("etag", part.etag)
            .op("S3.UploadPart"))
    }

    /// `GET /bucket/key?uploadId=ID`: ListParts, `part-number-marker` and `max-parts` paging.
    pub fn list_parts(&self, sim: &Simulator, req: &Request, id: &str) -> Result<Response, Error> {
        let marker: u32 = req
            .query("part-number-marker")
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        let max = limit(req, "max-parts")?;
        let (upload, parts, truncated) = sim.list_parts(id, marker, max)?;
        let mut w = XmlWriter::new("ListPartsResult", Some(S3_NS));
        w.el("Bucket", &upload.bucket)
            .el("Key", &upload.key)
            .el("UploadId", id);
        owner_element(&mut w, "Initiator", &upload.initiator);
        owner_element(&mut w, "Owner", &upload.initiator);
        w.el(
            "StorageClass",
            upload
                .storage_class
                .unwrap_or(StorageClass::Standard)
                .as_str(),
        )
        .el("PartNumberMarker", marker.to_string())
        .opt(
            "NextPartNumberMarker",
            parts
                .last()
                .filter(|_| truncated)
                .map(|p| p.number.to_string()),
        )
        .el("MaxParts", max.to_string())
        .el("IsTruncated", truncated.to_string());
        for part in &parts {
            w.start("Part")
                .el("PartNumber", part.number.to_string())
                .el("LastModified", rfc3339_millis(part.uploaded))
                .el("ETag", &part.etag)
                .el("Size", part.size.to_string())
                .end();
        }
        Ok(Response::xml(200, w.finish()).op("S3.ListParts"))
    }

    /// `GET /bucket?uploads`: ListMultipartUploads, by key then initiation time, with
    /// `prefix`, `key-marker`/`upload-id-marker` and `max-uploads`.
    pub fn list_uploads(
        &self,
        sim: &Simulator,
        req: &Request,
        bucket: &str,
    ) -> Result<Response, Error> {
        let prefix = req.query("prefix").unwrap_or("");
        let key_marker = req.query("key-marker").unwrap_or("");
        let id_marker = req.query("upload-id-marker").unwrap_or("");
        let max = limit(req, "max-uploads")?;
        let (shown, truncated) = sim.list_uploads(bucket, prefix, key_marker, id_marker, max)?;
        let mut w = XmlWriter::new("ListMultipartUploadsResult", Some(S3_NS));
        w.el("Bucket", bucket)
            .el("KeyMarker", key_marker)
            .el("UploadIdMarker", id_marker);
        if truncated && let Some(u) = shown.last() {
            w.el("NextKeyMarker", &u.key)
                .el("NextUploadIdMarker", u.id.as_str());
        }
        w.opt("Prefix", req.query("prefix"))
            .el("MaxUploads", max.to_string())
            .el("IsTruncated", truncated.to_string());
        for u in &shown {
            w.start("Upload")
                .el("Key", &u.key)
                .el("UploadId", u.id.as_str());
            owner_element(&mut w, "Initiator", &u.initiator);
            owner_element(&mut w, "Owner", &u.initiator);
            w.el(
                "StorageClass",
                u.storage_class.unwrap_or(StorageClass::Standard).as_str(),
            )
            .el("Initiated", rfc3339_millis(u.initiated))
            .end();
        }
        Ok(Response::xml(200, w.finish()).op("S3.ListMultipartUploads"))
    }

    /// `POST /bucket/key?uploadId=ID`: the listed parts, in order, become the object. A refused
    /// or failed Complete keeps the upload for the client's retry, as S3 does.
    pub fn complete(&self, sim: &Simulator, req: &Request, id: &str) -> Result<Response, Error> {
        let doc = xml::parse(&payload(req)?).map_err(|why| {
            Error::new(
                "MalformedXML",
                format!("The XML you provided was not well-formed: {why}"),
            )
            .status(400)
        })?;
        let listed: Vec<(u32, String)> = doc
            .children_named("Part")
            .map(|p| {
                let number = p
                    .text_of("PartNumber")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| invalid_part("a Part has no PartNumber"))?;
                Ok((number, p.text_of("ETag").unwrap_or_default()))
            })
            .collect::<Result<_, Error>>()?;
        let done = sim.complete_upload(id, &listed)?;
        Ok(completed(&done))
    }

    /// `DELETE /bucket/key?uploadId=ID`.
    pub fn abort(&self, sim: &Simulator, id: &str) -> Result<Response, Error> {
        sim.abort_upload(id)?;
        Ok(Response::new(204).op("S3.AbortMultipartUpload"))
    }
}

fn completed(done: &CompletedUpload) -> Response {
    let mut w = XmlWriter::new("CompleteMultipartUploadResult", Some(S3_NS));
    w.el("Location", format!("/{}/{}", done.bucket, done.key))
        .el("Bucket", &done.bucket)
        .el("Key", &done.key)
        .el("ETag", &done.etag);
    let mut resp = Response::xml(200, w.finish()).op("S3.CompleteMultipartUpload");
    if let Some(v) = &done.version_id {
        resp = resp.header("x-amz-version-id", v.clone());
    }
    resp
}

/// `max-parts` / `max-uploads`: at most 1,000.
fn limit(req: &Request, name: &str) -> Result<usize, Error> {
    match req.query(name) {
        None => Ok(MAX_LISTED),
        Some(n) => n.parse::<usize>().map(|n| n.min(MAX_LISTED)).map_err(|_| {
            Error::new("InvalidArgument", format!("{name} must be a whole number")).status(400)
        }),
    }
}
