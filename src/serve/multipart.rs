//! S3 multipart uploads (what `aws s3 cp` uses for files of 8 MB and more): Create, UploadPart,
//! UploadPartCopy, Complete, Abort, ListParts, ListMultipartUploads. The trait has one PutObject, so the parts wait here, in memory, until
//! Complete hands the whole body to the simulator's PutObject; every rule about the object
//! (storage class, versions, ETag) is the simulator's. Uploads never completed are forgotten
//! when `serve` stops, as they would expire on AWS under a lifecycle rule.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use md5::{Digest, Md5};
use time::OffsetDateTime;

use super::s3::{
    S3_NS, metadata_headers, owner_element, payload, storage_class_header, stored_headers,
};
use super::xml::{self, XmlWriter};
use super::{Request, Response};
use crate::backend::sim::{Simulator, SyntheticBody, check_part_sizes, multipart_etag};
use crate::backend::{Backend, ObjectWritten, Owner, PutObject, StorageClass};
use crate::errors::Error;
use crate::timefmt::rfc3339_millis;

/// S3's limits: parts are numbered 1 to 10,000.
const MAX_PART: u32 = 10_000;
/// Uploads in progress at once: parts are held in memory, so their number is bounded.
const MAX_UPLOADS: usize = 1_000;
/// Listing page size (ListParts' `max-parts`, ListMultipartUploads' `max-uploads`).
const MAX_LISTED: usize = 1_000;

/// One uploaded part.
struct Part {
    content: PartContent,
    md5: [u8; 16],
    etag: String,
    uploaded: OffsetDateTime,
}

/// A part's bytes: uploaded (or copied from a stored object), or a range of a seeded
/// object's synthetic bytes, kept as that range, never built.
pub(super) enum PartContent {
    Bytes(Vec<u8>),
    Synthetic {
        pattern_key: String,
        range: std::ops::Range<u64>,
    },
}

impl Part {
    fn size(&self) -> u64 {
        match &self.content {
            PartContent::Bytes(b) => b.len() as u64,
            PartContent::Synthetic { range, .. } => range.end - range.start,
        }
    }
}

/// What Complete answered, so that completing the same upload again answers the same (as S3
/// does for a recently completed upload).
#[derive(Clone)]
struct Completed {
    bucket: String,
    key: String,
    etag: String,
    version_id: Option<String>,
}

#[derive(Default)]
struct State {
    uploads: HashMap<String, Upload>,
    completed: HashMap<String, Completed>,
}

/// One upload in progress.
struct Upload {
    bucket: String,
    key: String,
    storage_class: Option<StorageClass>,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    parts: BTreeMap<u32, Part>,
    initiated: OffsetDateTime,
    /// Who started it (its Initiator and Owner).
    initiator: Owner,
}

/// The uploads in progress, by upload id.
#[derive(Default)]
pub struct Uploads(Mutex<State>);

fn no_such_upload(id: &str) -> Error {
    Error::new(
        "NoSuchUpload",
        format!("The specified multipart upload does not exist: {id}"),
    )
    .status(404)
}

fn invalid_part(message: impl Into<String>) -> Error {
    Error::new("InvalidPart", message).status(400)
}

impl Uploads {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, Error> {
        self.0
            .lock()
            .map_err(|_| Error::internal("the multipart upload table is poisoned"))
    }

    /// `POST /bucket/key?uploads`, by `initiator` (the caller checks that it may write into
    /// the bucket, which also tells that the bucket exists).
    pub fn create(
        &self,
        _sim: &dyn Backend,
        req: &Request,
        bucket: &str,
        key: &str,
        initiator: Owner,
    ) -> Result<Response, Error> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut state = self.lock()?;
        if state.uploads.len() >= MAX_UPLOADS {
            return Err(Error::new(
                "SlowDown",
                format!(
                    "{MAX_UPLOADS} multipart uploads are in progress: complete or abort some first"
                ),
            )
            .status(503));
        }
        state.uploads.insert(
            id.clone(),
            Upload {
                bucket: bucket.to_string(),
                key: key.to_string(),
                storage_class: storage_class_header(req)?,
                content_type: req.header("content-type").map(str::to_string),
                metadata: metadata_headers(req),
                headers: stored_headers(req),
                parts: BTreeMap::new(),
                initiated: OffsetDateTime::now_utc(),
                initiator,
            },
        );
        let mut w = XmlWriter::new("InitiateMultipartUploadResult", Some(S3_NS));
        w.el("Bucket", bucket).el("Key", key).el("UploadId", &id);
        Ok(Response::xml(200, w.finish()).op("S3.CreateMultipartUpload"))
    }

    /// `PUT /bucket/key?partNumber=N&uploadId=ID`: a part from the body, or with
    /// `x-amz-copy-source` (UploadPartCopy) from an object, whole or `x-amz-copy-source-range`.
    pub fn upload_part(&self, sim: &Simulator, req: &Request, id: &str) -> Result<Response, Error> {
        let number: u32 = req
            .query("partNumber")
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=MAX_PART).contains(n))
            .ok_or_else(|| {
                Error::new(
                    "InvalidArgument",
                    "Part number must be an integer between 1 and 10000, inclusive",
                )
                .status(400)
            })?;
        if !self.lock()?.uploads.contains_key(id) {
            return Err(no_such_upload(id));
        }
        let copy = req.header("x-amz-copy-source");
        let (content, md5) = match copy {
            None => {
                let body = payload(req)?;
                let md5: [u8; 16] = Md5::digest(&body).into();
                (PartContent::Bytes(body), md5)
            }
            Some(source) => super::s3::copy_part_source(sim, req, source)?,
        };
        let etag = format!("\"{}\"", hex::encode(md5));
        let uploaded = OffsetDateTime::now_utc();
        let mut state = self.lock()?;
        let upload = state
            .uploads
            .get_mut(id)
            .ok_or_else(|| no_such_upload(id))?;
        upload.parts.insert(
            number,
            Part {
                content,
                md5,
                etag: etag.clone(),
                uploaded,
            },
        );
        if copy.is_some() {
            let mut w = XmlWriter::new("CopyPartResult", Some(S3_NS));
            w.el("LastModified", rfc3339_millis(uploaded))
                .el("ETag", &etag);
            return Ok(Response::xml(200, w.finish()).op("S3.UploadPartCopy"));
        }
        Ok(Response::new(200).header("etag", etag).op("S3.UploadPart"))
    }

    /// `GET /bucket/key?uploadId=ID`: ListParts, `part-number-marker` and `max-parts` paging.
    pub fn list_parts(
        &self,
        _sim: &dyn Backend,
        req: &Request,
        id: &str,
    ) -> Result<Response, Error> {
        let marker: u32 = req
            .query("part-number-marker")
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        let max = limit(req, "max-parts")?;
        let state = self.lock()?;
        let upload = state.uploads.get(id).ok_or_else(|| no_such_upload(id))?;
        let parts: Vec<(&u32, &Part)> = upload.parts.range(marker + 1..).collect();
        let truncated = parts.len() > max;
        let shown = &parts[..parts.len().min(max)];
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
            shown
                .last()
                .filter(|_| truncated)
                .map(|(n, _)| n.to_string()),
        )
        .el("MaxParts", max.to_string())
        .el("IsTruncated", truncated.to_string());
        for (number, part) in shown {
            w.start("Part")
                .el("PartNumber", number.to_string())
                .el("LastModified", rfc3339_millis(part.uploaded))
                .el("ETag", &part.etag)
                .el("Size", part.size().to_string())
                .end();
        }
        Ok(Response::xml(200, w.finish()).op("S3.ListParts"))
    }

    /// `GET /bucket?uploads`: ListMultipartUploads, by key then initiation time, with
    /// `prefix`, `key-marker`/`upload-id-marker` and `max-uploads`.
    pub fn list_uploads(
        &self,
        _sim: &dyn Backend,
        req: &Request,
        bucket: &str,
    ) -> Result<Response, Error> {
        let prefix = req.query("prefix").unwrap_or("");
        let key_marker = req.query("key-marker").unwrap_or("");
        let id_marker = req.query("upload-id-marker").unwrap_or("");
        let max = limit(req, "max-uploads")?;
        let state = self.lock()?;
        let mut uploads: Vec<(&String, &Upload)> = state
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == bucket && u.key.starts_with(prefix))
            .collect();
        uploads.sort_by(|a, b| (&a.1.key, a.1.initiated, a.0).cmp(&(&b.1.key, b.1.initiated, b.0)));
        let after_marker = |(id, u): &(&String, &Upload)| {
            key_marker.is_empty()
                || u.key.as_str() > key_marker
                || (u.key == key_marker && !id_marker.is_empty() && id.as_str() > id_marker)
        };
        let rest: Vec<&(&String, &Upload)> = uploads.iter().filter(|u| after_marker(u)).collect();
        let truncated = rest.len() > max;
        let shown = &rest[..rest.len().min(max)];
        let mut w = XmlWriter::new("ListMultipartUploadsResult", Some(S3_NS));
        w.el("Bucket", bucket)
            .el("KeyMarker", key_marker)
            .el("UploadIdMarker", id_marker);
        if truncated && let Some((id, u)) = shown.last() {
            w.el("NextKeyMarker", &u.key)
                .el("NextUploadIdMarker", id.as_str());
        }
        w.opt("Prefix", req.query("prefix"))
            .el("MaxUploads", max.to_string())
            .el("IsTruncated", truncated.to_string());
        for (id, u) in shown {
            w.start("Upload")
                .el("Key", &u.key)
                .el("UploadId", id.as_str());
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

    /// `POST /bucket/key?uploadId=ID`: the listed parts, in order, become the object.
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
        if listed.is_empty() {
            return Err(
                Error::new("MalformedXML", "You must specify at least one part").status(400),
            );
        }
        if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Error::new(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. The parts list must be specified in order of the part number.",
            )
            .status(400));
        }
        let upload = {
            let mut state = self.lock()?;
            match state.uploads.remove(id) {
                Some(upload) => upload,
                None => {
                    let done = state
                        .completed
                        .get(id)
                        .cloned()
                        .ok_or_else(|| no_such_upload(id))?;
                    return Ok(completed(&done));
                }
            }
        };
        let restore = |upload: Upload, e: Error| -> Result<Response, Error> {
            // A refused Complete leaves the upload in progress, as S3 does.
            self.lock()?.uploads.insert(id.to_string(), upload);
            Err(e)
        };
        let mut sizes = Vec::with_capacity(listed.len());
        let mut md5s = Vec::with_capacity(listed.len());
        for (number, etag) in &listed {
            let Some(part) = upload.parts.get(number) else {
                return restore(
                    upload,
                    invalid_part(format!("Part {number} was never uploaded")),
                );
            };
            if !etag.is_empty() && etag.trim_matches('"') != part.etag.trim_matches('"') {
                return restore(
                    upload,
                    invalid_part(format!(
                        "The ETag given for part {number} is not the part's"
                    )),
                );
            }
            sizes.push(part.size());
            md5s.push(part.md5);
        }
        if let Err(e) = check_part_sizes(&sizes) {
            return restore(upload, e);
        }
        let parts: Vec<&Part> = listed
            .iter()
            .filter_map(|(n, _)| upload.parts.get(n))
            .collect();
        let request = PutObject {
            bucket: upload.bucket.clone(),
            key: upload.key.clone(),
            body: Vec::new(),
            storage_class: upload.storage_class,
            content_type: upload.content_type.clone(),
            metadata: upload.metadata.clone(),
            headers: upload.headers.clone(),
            conditions: Default::default(),
        };
        let etag = multipart_etag(&md5s);
        let written = match assemble(&parts) {
            Ok(Assembled::Synthetic { pattern_key, size }) => {
                sim.put_synthetic(&request, &pattern_key, size, &etag)
            }
            Ok(Assembled::Bytes(body)) => {
                sim.put_object(PutObject { body, ..request }).and_then(|w| {
                    sim.set_etag(&w, &etag)?;
                    Ok(ObjectWritten { etag, ..w })
                })
            }
            Err(e) => return restore(upload, e),
        };
        // A write that fails (an injected 500, say) keeps the upload for the client's retry too.
        let written = match written {
            Ok(written) => written,
            Err(e) => return restore(upload, e),
        };
        let done = Completed {
            bucket: upload.bucket,
            key: upload.key,
            etag: written.etag,
            version_id: written.version_id,
        };
        self.lock()?.completed.insert(id.to_string(), done.clone());
        Ok(completed(&done))
    }

    /// `DELETE /bucket/key?uploadId=ID`.
    pub fn abort(&self, id: &str) -> Result<Response, Error> {
        self.lock()?
            .uploads
            .remove(id)
            .ok_or_else(|| no_such_upload(id))?;
        Ok(Response::new(204).op("S3.AbortMultipartUpload"))
    }
}

/// What the listed parts make.
enum Assembled {
    /// The parts copy one seeded object from its first byte to its last, in order: the object
    /// stays synthetic (nothing is built, whatever its size).
    Synthetic {
        pattern_key: String,
        size: u64,
    },
    Bytes(Vec<u8>),
}

fn assemble(parts: &[&Part]) -> Result<Assembled, Error> {
    let mut whole: Option<(&str, u64)> = None;
    let mut contiguous = true;
    for part in parts {
        match (&part.content, whole) {
            (PartContent::Synthetic { pattern_key, range }, None) if range.start == 0 => {
                whole = Some((pattern_key, range.end));
            }
            (PartContent::Synthetic { pattern_key, range }, Some((key, end)))
                if key == pattern_key && range.start == end =>
            {
                whole = Some((key, range.end));
            }
            _ => contiguous = false,
        }
    }
    if contiguous && let Some((key, size)) = whole {
        return Ok(Assembled::Synthetic {
            pattern_key: key.to_string(),
            size,
        });
    }
    let total: u64 = parts.iter().map(|p| p.size()).sum();
    if total > MAX_ASSEMBLED {
        return Err(Error::new(
            "NotImplemented",
            format!(
                "s3thaw serve builds multipart objects of up to {MAX_ASSEMBLED} bytes unless their parts copy one seeded object in order; these parts make {total}"
            ),
        )
        .status(501));
    }
    let mut body = Vec::with_capacity(total as usize);
    for part in parts {
        match &part.content {
            PartContent::Bytes(b) => body.extend_from_slice(b),
            PartContent::Synthetic { pattern_key, range } => {
                std::io::Read::read_to_end(
                    &mut SyntheticBody::new(pattern_key, range.clone()),
                    &mut body,
                )?;
            }
        }
    }
    Ok(Assembled::Bytes(body))
}

/// The largest object Complete builds in memory from parts (see [`Assembled`]).
const MAX_ASSEMBLED: u64 = 512 * 1024 * 1024;

fn completed(done: &Completed) -> Response {
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
