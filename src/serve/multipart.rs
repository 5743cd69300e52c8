//! S3 multipart uploads (what `aws s3 cp` uses for files of 8 MB and more): Create, UploadPart,
//! Complete, Abort. The trait has one PutObject, so the parts wait here, in memory, until
//! Complete hands the whole body to the simulator's PutObject; every rule about the object
//! (storage class, versions, ETag) is the simulator's. Uploads never completed are forgotten
//! when `serve` stops, as they would expire on AWS under a lifecycle rule.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use md5::{Digest, Md5};

use super::s3::{S3_NS, metadata_headers, payload, storage_class_header};
use super::xml::{self, XmlWriter};
use super::{Request, Response};
use crate::backend::{Backend, PutObject, StorageClass};
use crate::errors::Error;

/// S3's limits: parts are numbered 1 to 10,000.
const MAX_PART: u32 = 10_000;
/// Uploads in progress at once: parts are held in memory, so their number is bounded.
const MAX_UPLOADS: usize = 1_000;

/// One upload in progress.
struct Upload {
    bucket: String,
    key: String,
    storage_class: Option<StorageClass>,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    parts: BTreeMap<u32, Vec<u8>>,
}

/// The uploads in progress, by upload id.
#[derive(Default)]
pub struct Uploads(Mutex<HashMap<String, Upload>>);

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
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Upload>>, Error> {
        self.0
            .lock()
            .map_err(|_| Error::internal("the multipart upload table is poisoned"))
    }

    /// `POST /bucket/key?uploads`.
    pub fn create(
        &self,
        sim: &dyn Backend,
        req: &Request,
        bucket: &str,
        key: &str,
    ) -> Result<Response, Error> {
        // The bucket must exist now, as S3 checks.
        sim.get_bucket_versioning(bucket)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut uploads = self.lock()?;
        if uploads.len() >= MAX_UPLOADS {
            return Err(Error::new(
                "SlowDown",
                format!(
                    "{MAX_UPLOADS} multipart uploads are in progress: complete or abort some first"
                ),
            )
            .status(503));
        }
        uploads.insert(
            id.clone(),
            Upload {
                bucket: bucket.to_string(),
                key: key.to_string(),
                storage_class: storage_class_header(req)?,
                content_type: req.header("content-type").map(str::to_string),
                metadata: metadata_headers(req),
                parts: BTreeMap::new(),
            },
        );
        let mut w = XmlWriter::new("InitiateMultipartUploadResult", Some(S3_NS));
        w.el("Bucket", bucket).el("Key", key).el("UploadId", &id);
        Ok(Response::xml(200, w.finish()).op("S3.CreateMultipartUpload"))
    }

    /// `PUT /bucket/key?partNumber=N&uploadId=ID`.
    pub fn upload_part(&self, req: &Request, id: &str) -> Result<Response, Error> {
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
        let body = payload(req)?;
        let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
        let mut uploads = self.lock()?;
        let upload = uploads.get_mut(id).ok_or_else(|| no_such_upload(id))?;
        upload.parts.insert(number, body);
        Ok(Response::new(200).header("etag", etag).op("S3.UploadPart"))
    }

    /// `POST /bucket/key?uploadId=ID`: the listed parts, in order, become the object.
    pub fn complete(&self, sim: &dyn Backend, req: &Request, id: &str) -> Result<Response, Error> {
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
        // Taken out while the object is written (a concurrent Complete finds nothing), and put
        // back when Complete fails: only a successful Complete or an Abort ends an upload, so a
        // client's retry after a wrong ETag, a missing part or a 500 still finds its parts.
        let upload = self.lock()?.remove(id).ok_or_else(|| no_such_upload(id))?;
        match write_object(sim, &upload, &listed) {
            Ok(resp) => Ok(resp),
            Err(e) => {
                self.lock()?.insert(id.to_string(), upload);
                Err(e)
            }
        }
    }

    /// `DELETE /bucket/key?uploadId=ID`.
    pub fn abort(&self, id: &str) -> Result<Response, Error> {
        self.lock()?.remove(id).ok_or_else(|| no_such_upload(id))?;
        Ok(Response::new(204).op("S3.AbortMultipartUpload"))
    }
}

/// Joins the listed parts and writes the object.
fn write_object(
    sim: &dyn Backend,
    upload: &Upload,
    listed: &[(u32, String)],
) -> Result<Response, Error> {
    let mut body = Vec::new();
    for (number, etag) in listed {
        let part = upload
            .parts
            .get(number)
            .ok_or_else(|| invalid_part(format!("Part {number} was never uploaded")))?;
        let actual = hex::encode(Md5::digest(part));
        if !etag.is_empty() && etag.trim_matches('"') != actual {
            return Err(invalid_part(format!(
                "The ETag given for part {number} is not the part's"
            )));
        }
        body.extend_from_slice(part);
    }
    let written = sim.put_object(PutObject {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        body,
        storage_class: upload.storage_class,
        content_type: upload.content_type.clone(),
        metadata: upload.metadata.clone(),
    })?;
    let mut w = XmlWriter::new("CompleteMultipartUploadResult", Some(S3_NS));
    w.el("Location", format!("/{}/{}", upload.bucket, upload.key))
        .el("Bucket", &upload.bucket)
        .el("Key", &upload.key)
        .el("ETag", &written.etag);
    let mut resp = Response::xml(200, w.finish()).op("S3.CompleteMultipartUpload");
    if let Some(v) = written.version_id {
        resp = resp.header("x-amz-version-id", v);
    }
    Ok(resp)
}
