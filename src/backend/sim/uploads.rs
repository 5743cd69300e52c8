//! S3 multipart uploads: uploads in progress and their parts live in the state's SQLite
//! database (tables `uploads`, `upload_parts`, `completed_uploads`), never only in memory, so an
//! upload survives a restart of `serve` and a kill -9 leaves each call whole or undone. Their
//! rules: part numbers, the 5 MiB minimum part, ETags (`md5-of-part-md5s-N`, as S3), a failed
//! Complete keeping the upload, how many uploads and bytes may wait, and when they expire.
//!
//! Parts that arrive in files (every part `serve` receives) are kept as body files (see
//! `bodies.rs`), and UploadPartCopy of a stored object links the source's files with the range
//! it copies: Complete then makes the parts' files the object's, in order, copying no bytes
//! (5 TiB in 10,000 parts complete as fast as 5 MiB). Only small parts held in SQLite blobs
//! (and ranges of seeded objects mixed with other parts) are copied, never through memory
//! whole.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use md5::{Digest, Md5};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::World;
use super::bodies::{self, StoredFile};
use super::clock::{self, Millis};
use super::identity::{self, Access};
use super::s3::{
    self, Fill, MAX_PARTS, SyntheticBody, check_part_sizes, multipart_etag, synthetic_part_md5,
};
use crate::backend::{BodyFile, Owner, PutObject, StorageClass};
use crate::errors::{Error, Result};

/// How long an upload may stay incomplete, on the simulator's clock: AWS keeps them until a
/// lifecycle rule's `AbortIncompleteMultipartUpload` (`DaysAfterInitiation`) removes them; the
/// simulator behaves as if every bucket had that rule with 7 days. A completed upload's answer
/// (for a repeated Complete) is kept as long.
pub const UPLOAD_EXPIRY: Millis = 7 * clock::DAY;

/// How many uploads may be in progress at once, and how many bytes their parts may hold
/// together (they are on disk, in the state directory).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UploadLimits {
    pub max_uploads: u64,
    pub max_bytes: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_uploads: 1_000,
            max_bytes: 16 * 1024 * 1024 * 1024,
        }
    }
}

/// A new upload: what the object will be once completed.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    pub bucket: String,
    pub key: String,
    pub storage_class: Option<StorageClass>,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
}

/// An upload in progress.
#[derive(Debug, Clone)]
pub struct UploadInfo {
    pub id: String,
    pub bucket: String,
    pub key: String,
    pub storage_class: Option<StorageClass>,
    pub initiated: OffsetDateTime,
    /// Who started it (its Initiator and Owner in listings).
    pub initiator: Owner,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq)]
pub struct PartInfo {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub uploaded: OffsetDateTime,
}

/// A part's bytes: in memory (small bodies), staged in a file, the bytes `range` of a stored
/// object (UploadPartCopy: its files are linked, not read), or the bytes `range` of a seeded
/// (synthetic) object, kept as that range and never built (UploadPartCopy of a seeded object:
/// a 1 TB source's parts cost nothing).
pub enum PartBody<'a> {
    Bytes(Vec<u8>),
    File(&'a BodyFile),
    /// The bytes `range` of object row `id`, as long as it still has `etag`; `md5` is theirs
    /// (hashed by the caller before the transaction, see `Simulator::upload_part_copy`).
    Stored {
        id: i64,
        etag: String,
        range: std::ops::Range<u64>,
        md5: [u8; 16],
    },
    Synthetic {
        pattern_key: String,
        range: std::ops::Range<u64>,
    },
}

/// What Complete answered.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedUpload {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub version_id: Option<String>,
}

pub(super) fn no_such_upload(id: &str) -> Error {
    Error::new(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
    .status(404)
    .hint(format!(
        "upload `{id}`: incomplete uploads are removed {} days after they start",
        UPLOAD_EXPIRY / clock::DAY
    ))
}

fn invalid_part(message: impl Into<String>) -> Error {
    Error::new("InvalidPart", message).status(400)
}

/// Removes uploads (with their parts) older than [`UPLOAD_EXPIRY`] and old Complete answers.
fn expire(w: &World) -> Result<()> {
    let before = w.now.saturating_sub(UPLOAD_EXPIRY);
    w.tx.execute("DELETE FROM uploads WHERE initiated <= ?1", [before])?;
    w.tx.execute(
        "DELETE FROM completed_uploads WHERE completed <= ?1",
        [before],
    )?;
    Ok(())
}

fn upload_of(w: &World, id: &str) -> Result<Option<(UploadInfo, NewUpload)>> {
    let row =
        w.tx.query_row(
            "SELECT bucket, key, storage_class, content_type, metadata, headers, initiated,
                    owner_id, owner_name
             FROM uploads WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Millis>(6)?,
                    (
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                    ),
                ))
            },
        )
        .optional()?;
    let Some((
        bucket,
        key,
        class,
        content_type,
        metadata,
        headers,
        initiated,
        (owner_id, owner_name),
    )) = row
    else {
        return Ok(None);
    };
    let storage_class = class.map(|c| c.parse()).transpose()?;
    let info = UploadInfo {
        id: id.to_string(),
        bucket: bucket.clone(),
        key: key.clone(),
        storage_class,
        initiated: clock::to_datetime(initiated),
        initiator: identity::owner_from(w, owner_id, owner_name),
    };
    let new = NewUpload {
        bucket,
        key,
        storage_class,
        content_type,
        metadata: serde_json::from_str(&metadata).map_err(Error::internal)?,
        headers: serde_json::from_str(&headers).map_err(Error::internal)?,
    };
    Ok(Some((info, new)))
}

fn require_upload(w: &World, id: &str) -> Result<(UploadInfo, NewUpload)> {
    upload_of(w, id)?.ok_or_else(|| no_such_upload(id))
}

/// CreateMultipartUpload: the bucket must exist; at most `limits.max_uploads` at once.
pub(super) fn create(w: &World, limits: UploadLimits, new: &NewUpload) -> Result<UploadInfo> {
    s3::require_bucket(w, &new.bucket)?;
    if new.key.is_empty() || new.key.len() > 1024 {
        return Err(Error::new(
            "KeyTooLongError",
            "Object keys must be 1 to 1,024 bytes long.",
        )
        .status(400)
        .bucket(&new.bucket));
    }
    expire(w)?;
    let open: u64 =
        w.tx.query_row("SELECT COUNT(*) FROM uploads", [], |r| r.get::<_, i64>(0))?
            .try_into()
            .unwrap_or(0);
    if open >= limits.max_uploads {
        return Err(Error::new(
            "SlowDown",
            format!(
                "{open} multipart uploads are in progress, the most this simulator keeps: complete or abort some first (incomplete uploads expire {} days after they start)",
                UPLOAD_EXPIRY / clock::DAY
            ),
        )
        .status(503)
        .bucket(&new.bucket)
        .key(&new.key));
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    // The caller is the upload's initiator and owner (Complete makes the object the
    // completer's, as any write does).
    let initiator = w.caller.owner();
    w.tx.execute(
        "INSERT INTO uploads (id, bucket, key, storage_class, content_type, metadata, headers,
             initiated, owner_id, owner_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            new.bucket,
            new.key,
            new.storage_class.map(|c| c.as_str()),
            new.content_type,
            serde_json::to_string(&new.metadata).map_err(Error::internal)?,
            serde_json::to_string(&new.headers).map_err(Error::internal)?,
            w.now,
            initiator.id,
            initiator.display_name,
        ],
    )?;
    Ok(UploadInfo {
        id,
        bucket: new.bucket.clone(),
        key: new.key.clone(),
        storage_class: new.storage_class,
        initiated: clock::to_datetime(w.now),
        initiator,
    })
}

/// UploadPart (and UploadPartCopy's bytes): stores or replaces part `number`. The parts of all
/// uploads in progress may hold `limits.max_bytes` together.
pub(super) fn put_part(
    w: &World,
    limits: UploadLimits,
    id: &str,
    number: u32,
    body: PartBody,
) -> Result<PartInfo> {
    if !(1..=MAX_PARTS).contains(&u64::from(number)) {
        return Err(Error::new(
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
        )
        .status(400));
    }
    expire(w)?;
    let (upload, _) = require_upload(w, id)?;
    let (size, md5) = match &body {
        PartBody::Bytes(b) => (b.len() as u64, <[u8; 16]>::from(Md5::digest(b))),
        PartBody::File(f) => (f.len, f.md5),
        PartBody::Synthetic { pattern_key, range } => (
            range.end - range.start,
            synthetic_part_md5(pattern_key, range),
        ),
        PartBody::Stored { range, md5, .. } => (range.end - range.start, *md5),
    };
    // A range of a seeded object holds no bytes: it is not bounded by what is stored.
    let stored = match &body {
        PartBody::Synthetic { .. } => 0,
        _ => size,
    };
    if stored > s3::MAX_PART_SIZE {
        return Err(s3::entity_too_large(
            &upload.bucket,
            &upload.key,
            size,
            s3::MAX_PART_SIZE,
        ));
    }
    let held: i64 = w.tx.query_row(
        "SELECT COALESCE(SUM(size), 0) FROM upload_parts
         WHERE NOT (upload_id = ?1 AND number = ?2) AND pattern_key IS NULL",
        params![id, number],
        |r| r.get(0),
    )?;
    let held = u64::try_from(held).unwrap_or(0);
    if stored > 0 && held.saturating_add(stored) > limits.max_bytes {
        return Err(Error::new(
            "EntityTooLarge",
            format!(
                "the parts of the multipart uploads in progress would hold {} bytes, more than the {} this simulator keeps: complete or abort some uploads first",
                held.saturating_add(size),
                limits.max_bytes
            ),
        )
        .status(400)
        .bucket(&upload.bucket)
        .key(&upload.key));
    }
    w.tx.execute(
        "DELETE FROM upload_parts WHERE upload_id = ?1 AND number = ?2",
        params![id, number],
    )?;
    // The part's row: its bytes in `body`, or in files (`segments` of them), or a range of a
    // seeded object (`pattern`: its pattern key and where the range starts).
    let insert = |body: &[u8], segments: Option<usize>, pattern: Option<(&str, u64)>| {
        w.tx.execute(
            "INSERT INTO upload_parts (upload_id, number, size, md5, uploaded, body, segments,
                 pattern_key, range_start)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                number,
                size as i64,
                md5.as_slice(),
                w.now,
                body,
                segments.map(|n| n as i64),
                pattern.map(|p| p.0),
                pattern.map(|p| p.1 as i64)
            ],
        )
    };
    // A part held in files: its row, then the files (made in this transaction).
    let in_files = |files: Vec<StoredFile>| -> Result<()> {
        insert(b"", Some(files.len()), None)?;
        bodies::attach_to_part(w.tx, id, number, &files)
    };
    match body {
        PartBody::Bytes(bytes) if size > bodies::INLINE_LIMIT => {
            in_files(vec![bodies::write_new(w.tx, &mut bytes.as_slice(), size)?])?;
        }
        PartBody::Bytes(bytes) => {
            insert(&bytes, None, None)?;
        }
        PartBody::Stored {
            id: source,
            etag,
            range,
            ..
        } => {
            in_files(stored_range(w, source, &etag, range)?)?;
        }
        PartBody::Synthetic { pattern_key, range } => {
            insert(b"", None, Some((&pattern_key, range.start)))?;
        }
        PartBody::File(file) => {
            in_files(vec![StoredFile {
                name: bodies::link(w.tx, &file.path)?,
                start: 0,
                len: size,
            }])?;
        }
    }
    Ok(PartInfo {
        number,
        size,
        etag: format!("\"{}\"", hex::encode(md5)),
        uploaded: clock::to_datetime(w.now),
    })
}

/// The bytes `range` of object row `source` (which must still have `etag`: it was hashed
/// before this transaction) as new body files: its files linked (no bytes copied), or its blob
/// streamed into a file.
fn stored_range(
    w: &World,
    source: i64,
    etag: &str,
    range: std::ops::Range<u64>,
) -> Result<Vec<StoredFile>> {
    let found: Option<(String, bool)> =
        w.tx.query_row(
            "SELECT etag, segments IS NOT NULL FROM objects WHERE id = ?1",
            [source],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let in_files = match found {
        Some((current, in_files)) if current == etag => in_files,
        _ => {
            return Err(Error::new(
                "InternalError",
                "the copy source was replaced or deleted while it was being copied; retry",
            )
            .status(500));
        }
    };
    if in_files {
        return bodies::link_range(w.tx, &bodies::of_object(w.tx, source)?, range);
    }
    let mut blob = w.tx.blob_open("main", "objects", "body", source, true)?;
    std::io::Seek::seek(&mut blob, std::io::SeekFrom::Start(range.start))?;
    Ok(vec![bodies::write_new(
        w.tx,
        &mut blob,
        range.end - range.start,
    )?])
}

/// Copies exactly `len` bytes from `from` to `to`, 1 MiB at a time.
pub(super) fn copy(from: &mut dyn Read, to: &mut dyn Write, len: u64) -> Result<()> {
    let mut buf = vec![0u8; 1024 * 1024];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = from.read(&mut buf[..want])?;
        if n == 0 {
            return Err(Error::internal(format!(
                "a body ended {left} bytes short of its {len}"
            )));
        }
        to.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// ListParts: the upload and its parts after `marker`, at most `max`, and whether more follow.
pub(super) fn list_parts(
    w: &World,
    id: &str,
    marker: u32,
    max: usize,
) -> Result<(UploadInfo, Vec<PartInfo>, bool)> {
    expire(w)?;
    let (upload, _) = require_upload(w, id)?;
    let mut stmt = w.tx.prepare_cached(
        "SELECT number, size, md5, uploaded FROM upload_parts
         WHERE upload_id = ?1 AND number > ?2 ORDER BY number LIMIT ?3",
    )?;
    let mut parts = stmt
        .query_map(
            params![id, marker, i64::try_from(max).unwrap_or(i64::MAX - 1) + 1],
            part_of,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let truncated = parts.len() > max;
    parts.truncate(max);
    Ok((upload, parts, truncated))
}

fn part_of(r: &rusqlite::Row) -> rusqlite::Result<PartInfo> {
    let md5: Vec<u8> = r.get(2)?;
    Ok(PartInfo {
        number: r.get(0)?,
        size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        etag: format!("\"{}\"", hex::encode(md5)),
        uploaded: clock::to_datetime(r.get(3)?),
    })
}

/// ListMultipartUploads: a bucket's uploads by key then initiation (then id), after the
/// `key_marker`/`id_marker` pair, under `prefix`, at most `max`, and whether more follow.
pub(super) fn list_uploads(
    w: &World,
    bucket: &str,
    prefix: &str,
    key_marker: &str,
    id_marker: &str,
    max: usize,
) -> Result<(Vec<UploadInfo>, bool)> {
    s3::require_bucket(w, bucket)?;
    expire(w)?;
    let mut stmt = w.tx.prepare_cached(
        "SELECT id, key, storage_class, initiated, owner_id, owner_name FROM uploads
         WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2
         ORDER BY key, initiated, id",
    )?;
    let rows = stmt.query_map(params![bucket, prefix], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Millis>(3)?,
            (
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ),
        ))
    })?;
    let mut shown = Vec::new();
    let mut truncated = false;
    for row in rows {
        let (id, key, class, initiated, (owner_id, owner_name)) = row?;
        let after = key_marker.is_empty()
            || key.as_str() > key_marker
            || (key == key_marker && !id_marker.is_empty() && id.as_str() > id_marker);
        if !after {
            continue;
        }
        if shown.len() == max {
            truncated = true;
            break;
        }
        shown.push(UploadInfo {
            id,
            bucket: bucket.to_string(),
            key,
            storage_class: class.map(|c| c.parse()).transpose()?,
            initiated: clock::to_datetime(initiated),
            initiator: identity::owner_from(w, owner_id, owner_name),
        });
    }
    Ok((shown, truncated))
}

/// CompleteMultipartUpload: the listed parts, in order, become the object (its ETag is S3's:
/// the MD5 of the parts' MD5s, `-N`). A refused or failed Complete leaves the upload as it was
/// (one transaction); completing a completed upload again answers the same.
pub(super) fn complete(w: &World, id: &str, listed: &[(u32, String)]) -> Result<CompletedUpload> {
    expire(w)?;
    let Some((_, new)) = upload_of(w, id)? else {
        let done =
            w.tx.query_row(
                "SELECT bucket, key, etag, version_id FROM completed_uploads WHERE id = ?1",
                [id],
                |r| {
                    Ok(CompletedUpload {
                        bucket: r.get(0)?,
                        key: r.get(1)?,
                        etag: r.get(2)?,
                        version_id: r.get(3)?,
                    })
                },
            )
            .optional()?;
        return done.ok_or_else(|| no_such_upload(id));
    };
    if listed.is_empty() {
        return Err(Error::new("MalformedXML", "You must specify at least one part").status(400));
    }
    if listed.windows(2).any(|p| p[0].0 >= p[1].0) {
        return Err(Error::new(
            "InvalidPartOrder",
            "The list of parts was not in ascending order. The parts list must be specified in order of the part number.",
        )
        .status(400));
    }
    let mut parts = Vec::with_capacity(listed.len());
    let mut sizes = Vec::with_capacity(listed.len());
    let mut md5s = Vec::with_capacity(listed.len());
    for (number, etag) in listed {
        let part =
            w.tx.query_row(
                "SELECT rowid, size, md5, pattern_key, range_start, segments IS NOT NULL
                 FROM upload_parts WHERE upload_id = ?1 AND number = ?2",
                params![id, number],
                |r| {
                    let size = u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
                    let content = match r.get::<_, Option<String>>(3)? {
                        None if r.get::<_, bool>(5)? => Stored::Files,
                        None => Stored::Blob(r.get(0)?),
                        Some(pattern_key) => {
                            let start = u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0);
                            Stored::Range {
                                pattern_key,
                                range: start..start + size,
                            }
                        }
                    };
                    Ok((content, size, r.get::<_, Vec<u8>>(2)?))
                },
            )
            .optional()?;
        let Some((mut content, size, md5)) = part else {
            return Err(invalid_part(format!(
                "One or more of the specified parts could not be found: part {number} was never uploaded"
            )));
        };
        if !etag.is_empty()
            && !etag
                .trim_matches('"')
                .eq_ignore_ascii_case(&hex::encode(&md5))
        {
            return Err(invalid_part(format!(
                "One or more of the specified parts could not be found: the ETag given for part {number} is not the part's"
            )));
        }
        let md5: [u8; 16] = md5
            .try_into()
            .map_err(|_| Error::internal("a part's MD5 is not 16 bytes"))?;
        if let Stored::Files = content {
            content = Stored::InFiles(bodies::of_part(w.tx, id, *number)?);
        }
        parts.push((content, size));
        sizes.push(size);
        md5s.push(md5);
    }
    check_part_sizes(&sizes).map_err(|e| e.bucket(&new.bucket).key(&new.key))?;
    let etag = multipart_etag(&md5s);
    let request = PutObject {
        bucket: new.bucket.clone(),
        key: new.key.clone(),
        body: Vec::new(),
        storage_class: new.storage_class,
        content_type: new.content_type,
        metadata: new.metadata,
        headers: new.headers,
        conditions: Default::default(),
    };
    // The object is the completer's write into the bucket (and it owns it).
    identity::authorize(
        w,
        &w.caller,
        &new.bucket,
        Some((&new.key, None)),
        Access::Write,
    )?;
    let total = sizes.iter().fold(0u64, |t, s| t.saturating_add(*s));
    let written = match one_synthetic_object(&parts) {
        // The parts copy one seeded object in order from its first byte: the object stays
        // synthetic (nothing is built, whatever its size).
        Some((pattern_key, size)) => s3::put_synthetic(w, &request, &pattern_key, size, &etag)?,
        None if parts.iter().any(|(c, _)| matches!(c, Stored::InFiles(_)))
            || total > bodies::INLINE_LIMIT =>
        {
            // The parts' files become the object's, in order (no bytes copied); the other
            // parts' bytes are written to files of their own.
            let mut files = Vec::new();
            for (content, size) in parts {
                match content {
                    Stored::InFiles(theirs) => files.extend(theirs),
                    Stored::Files => return Err(Error::internal("a part's files were not read")),
                    Stored::Blob(rowid) => {
                        let mut part =
                            w.tx.blob_open("main", "upload_parts", "body", rowid, true)?;
                        files.push(bodies::write_new(w.tx, &mut part, size)?);
                    }
                    Stored::Range { pattern_key, range } => {
                        let mut bytes = SyntheticBody::new(&pattern_key, range);
                        files.push(bodies::write_new(w.tx, &mut bytes, size)?);
                    }
                }
            }
            s3::store_object(
                w,
                request,
                Fill::Files {
                    len: total,
                    etag,
                    files,
                },
            )?
        }
        None => {
            let tx = w.tx;
            s3::store_object(
                w,
                request,
                Fill::Write {
                    len: total,
                    etag,
                    write: Box::new(move |blob| {
                        for (content, size) in parts {
                            match content {
                                Stored::Blob(rowid) => {
                                    let mut part =
                                        tx.blob_open("main", "upload_parts", "body", rowid, true)?;
                                    copy(&mut part, blob, size)?;
                                }
                                Stored::Range { pattern_key, range } => {
                                    copy(&mut SyntheticBody::new(&pattern_key, range), blob, size)?;
                                }
                                Stored::Files | Stored::InFiles(_) => {
                                    return Err(Error::internal(
                                        "a part in files was to be copied into a blob",
                                    ));
                                }
                            }
                        }
                        Ok(())
                    }),
                },
            )?
        }
    };
    w.tx.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
    let done = CompletedUpload {
        bucket: written.bucket,
        key: written.key,
        etag: written.etag,
        version_id: written.version_id,
    };
    w.tx.execute(
        "INSERT OR REPLACE INTO completed_uploads (id, bucket, key, etag, version_id, completed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, done.bucket, done.key, done.etag, done.version_id, w.now],
    )?;
    Ok(done)
}

/// Where a listed part's bytes are, at Complete.
enum Stored {
    /// The blob of the `upload_parts` row with this rowid.
    Blob(i64),
    /// Body files (see `bodies.rs`), not yet read.
    Files,
    /// These body files, in order.
    InFiles(Vec<StoredFile>),
    /// The bytes `range` of a seeded object's synthetic body.
    Range {
        pattern_key: String,
        range: std::ops::Range<u64>,
    },
}

/// The seeded object the parts copy, in order, from its first byte to their end (its pattern
/// key and that size), if they do and nothing else.
fn one_synthetic_object(parts: &[(Stored, u64)]) -> Option<(String, u64)> {
    let mut whole: Option<(&str, u64)> = None;
    for (content, _) in parts {
        let Stored::Range { pattern_key, range } = content else {
            return None;
        };
        whole = match whole {
            None if range.start == 0 => Some((pattern_key, range.end)),
            Some((key, end)) if key == pattern_key && range.start == end => Some((key, range.end)),
            _ => return None,
        };
    }
    whole.map(|(key, size)| (key.to_string(), size))
}

/// AbortMultipartUpload: the upload and its parts are gone.
pub(super) fn abort(w: &World, id: &str) -> Result<()> {
    expire(w)?;
    if w.tx.execute("DELETE FROM uploads WHERE id = ?1", [id])? == 0 {
        return Err(no_such_upload(id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::MIN_PART_SIZE;
    use crate::backend::sim::Simulator;
    use crate::backend::{Backend, Faults};

    fn world(limits: UploadLimits) -> (Simulator, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let sim = Simulator::open(dir.path())
            .unwrap()
            .without_client_retries()
            .with_upload_limits(limits);
        sim.create_bucket("bkt", None).unwrap();
        (sim, dir)
    }

    fn new(key: &str) -> NewUpload {
        NewUpload {
            bucket: "bkt".into(),
            key: key.into(),
            ..NewUpload::default()
        }
    }

    /// An upload records who created it, in the state: after a restart its listings still
    /// show that initiator; creating one needs write access to the bucket, completing it too
    /// (the completer owns the object); a state made before uploads had owners reads its
    /// uploads as the world's own account's.
    #[test]
    fn uploads_keep_their_initiator_and_check_access() {
        use crate::backend::CannedAcl;
        use crate::backend::sim::Caller;
        let (sim, dir) = world(UploadLimits::default());
        let account = |id: &str, name: &str| {
            Caller::Account(Owner {
                id: id.into(),
                display_name: name.into(),
            })
        };
        let alice = account("444455556666", "alice");
        let bob = account("777788889999", "bob");
        let denied = sim
            .acting_as(Some(alice.clone()))
            .create_upload(&new("a"))
            .unwrap_err();
        assert_eq!(denied.code, "AccessDenied");
        sim.put_bucket_acl("bkt", CannedAcl::PublicReadWrite)
            .unwrap();
        let id = sim
            .acting_as(Some(alice.clone()))
            .create_upload(&new("a"))
            .unwrap()
            .id;
        drop(sim);
        let sim = Simulator::open(dir.path()).unwrap();
        let (shown, _) = sim.list_uploads("bkt", "", "", "", 1_000).unwrap();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].initiator, alice.owner());
        let (info, _, _) = sim.list_parts(&id, 0, 1_000).unwrap();
        assert_eq!(info.initiator, alice.owner());
        let part = sim
            .upload_part(&id, 1, PartBody::Bytes(b"one".to_vec()))
            .unwrap();
        sim.put_bucket_acl("bkt", CannedAcl::Private).unwrap();
        let refused = sim
            .acting_as(Some(bob.clone()))
            .complete_upload(&id, &[(1, part.etag.clone())])
            .unwrap_err();
        assert_eq!(refused.code, "AccessDenied");
        sim.complete_upload(&id, &[(1, part.etag)]).unwrap();
        assert_eq!(sim.get_object("bkt", "a", None).unwrap(), b"one");

        // An older state: its uploads table has no owner columns; opening it adds them.
        let old = sim.create_upload(&new("old")).unwrap().id;
        drop(sim);
        {
            let conn = rusqlite::Connection::open(dir.path().join("sim.sqlite3")).unwrap();
            conn.execute_batch(
                "ALTER TABLE uploads DROP COLUMN owner_id;
                 ALTER TABLE uploads DROP COLUMN owner_name;",
            )
            .unwrap();
        }
        let sim = Simulator::open(dir.path()).unwrap();
        let (info, _, _) = sim.list_parts(&old, 0, 1_000).unwrap();
        assert_eq!(info.initiator.id, crate::backend::sim::DEFAULT_ACCOUNT_ID);
        let mine = sim.create_upload(&new("new")).unwrap();
        assert_eq!(mine.initiator, info.initiator);
    }

    /// Parts are kept in the state: a second handle on the same directory (a restarted
    /// `serve`) lists them and completes the upload, from a staged file and from memory; the
    /// object's ETag is S3's (MD5 of the parts' MD5s, `-2`) and its bytes are the parts'.
    #[test]
    fn uploads_outlive_their_handle_and_complete_from_files_and_bytes() {
        let (sim, dir) = world(UploadLimits::default());
        let id = sim.create_upload(&new("k")).unwrap().id;
        let first = vec![7u8; MIN_PART_SIZE as usize];
        let staged = dir.path().join("staged");
        std::fs::write(&staged, &first).unwrap();
        let file = BodyFile {
            path: staged,
            len: first.len() as u64,
            md5: Md5::digest(&first).into(),
        };
        let one = sim.upload_part(&id, 1, PartBody::File(&file)).unwrap();
        assert_eq!(one.etag, format!("\"{}\"", hex::encode(file.md5)));
        drop(sim);
        let sim = Simulator::open(dir.path()).unwrap();
        let two = sim
            .upload_part(&id, 2, PartBody::Bytes(b"tail".to_vec()))
            .unwrap();
        let (_, parts, truncated) = sim.list_parts(&id, 0, 1_000).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(!truncated);
        assert_eq!((parts[0].size, parts[1].size), (MIN_PART_SIZE, 4));
        let done = sim
            .complete_upload(&id, &[(1, one.etag.clone()), (2, two.etag.clone())])
            .unwrap();
        let mut md5s = Md5::new();
        md5s.update(file.md5);
        md5s.update(Md5::digest(b"tail"));
        assert_eq!(done.etag, format!("\"{}-2\"", hex::encode(md5s.finalize())));
        let mut expected = first;
        expected.extend_from_slice(b"tail");
        assert_eq!(sim.get_object("bkt", "k", None).unwrap(), expected);
        // Completing again answers the same; the upload itself is gone.
        assert_eq!(sim.complete_upload(&id, &[(1, one.etag)]).unwrap(), done);
        assert_eq!(sim.abort_upload(&id).unwrap_err().code, "NoSuchUpload");
    }

    /// Parts that are ranges of a seeded object (UploadPartCopy of one) hold no bytes: parts
    /// copying one seeded object in order make a synthetic object of any size (6 GiB here,
    /// nothing built), with the multipart ETag of the ranges; a range mixed with uploaded bytes
    /// is computed into the object's blob at Complete.
    #[test]
    fn parts_copied_from_a_seeded_object_stay_ranges() {
        let (sim, _dir) = world(UploadLimits {
            max_uploads: 10,
            max_bytes: 1024,
        });
        let range = |start: u64, end: u64| PartBody::Synthetic {
            pattern_key: "src".into(),
            range: start..end,
        };
        let id = sim.create_upload(&new("big")).unwrap().id;
        let one = sim.upload_part(&id, 1, range(0, 4 << 30)).unwrap();
        let two = sim.upload_part(&id, 2, range(4 << 30, 6 << 30)).unwrap();
        let done = sim
            .complete_upload(&id, &[(1, one.etag), (2, two.etag)])
            .unwrap();
        let etag = multipart_etag(&[
            synthetic_part_md5("src", &(0..4 << 30)),
            synthetic_part_md5("src", &((4 << 30)..(6 << 30))),
        ]);
        assert_eq!(done.etag, etag);
        let head = sim.head_object("bkt", "big", None).unwrap();
        assert_eq!((head.size, head.etag), (6 << 30, etag));
        let opened = sim
            .open_object(
                &crate::backend::GetObject {
                    bucket: "bkt".into(),
                    key: "big".into(),
                    version_id: None,
                    conditions: Default::default(),
                },
                None,
            )
            .unwrap();
        assert_eq!(
            opened.source,
            s3::BodySource::Synthetic {
                pattern_key: "src".into()
            }
        );

        let id = sim.create_upload(&new("mixed")).unwrap().id;
        let start = 3;
        let end = start + MIN_PART_SIZE;
        let one = sim.upload_part(&id, 1, range(start, end)).unwrap();
        let two = sim
            .upload_part(&id, 2, PartBody::Bytes(b"tail".to_vec()))
            .unwrap();
        sim.complete_upload(&id, &[(1, one.etag), (2, two.etag)])
            .unwrap();
        let mut expected = Vec::new();
        SyntheticBody::new("src", start..end)
            .read_to_end(&mut expected)
            .unwrap();
        expected.extend_from_slice(b"tail");
        assert_eq!(sim.get_object("bkt", "mixed", None).unwrap(), expected);
    }

    /// A Complete that fails (an injected 500, a wrong ETag, a missing part) leaves the upload
    /// and every part as they were, so the client's retry succeeds.
    #[test]
    fn a_failed_complete_changes_nothing() {
        let (sim, _dir) = world(UploadLimits::default());
        let id = sim.create_upload(&new("k")).unwrap().id;
        let part = sim
            .upload_part(&id, 1, PartBody::Bytes(b"only".to_vec()))
            .unwrap();
        sim.set_faults(Faults {
            throttle_rate: 0.0,
            error_rate: 1.0,
            seed: 1,
        })
        .unwrap();
        let e = sim
            .complete_upload(&id, &[(1, part.etag.clone())])
            .unwrap_err();
        assert_eq!(e.code, "InternalError");
        sim.set_faults(Faults::default()).unwrap();
        let wrong = sim
            .complete_upload(&id, &[(1, "\"00000000000000000000000000000000\"".into())])
            .unwrap_err();
        assert_eq!(wrong.code, "InvalidPart");
        let missing = sim.complete_upload(&id, &[(2, String::new())]).unwrap_err();
        assert_eq!(missing.code, "InvalidPart");
        assert_eq!(sim.list_parts(&id, 0, 10).unwrap().1, vec![part.clone()]);
        sim.complete_upload(&id, &[(1, part.etag)]).unwrap();
        assert_eq!(sim.get_object("bkt", "k", None).unwrap(), b"only");
    }

    /// At most `max_uploads` uploads and `max_bytes` of parts wait at once (a replaced part
    /// counts once); an abort or a completion makes room again.
    #[test]
    fn uploads_and_their_bytes_are_bounded() {
        let (sim, _dir) = world(UploadLimits {
            max_uploads: 2,
            max_bytes: 10,
        });
        let a = sim.create_upload(&new("a")).unwrap().id;
        let b = sim.create_upload(&new("b")).unwrap().id;
        let third = sim.create_upload(&new("c")).unwrap_err();
        assert_eq!((third.code.as_str(), third.status), ("SlowDown", Some(503)));
        sim.upload_part(&a, 1, PartBody::Bytes(vec![1; 6])).unwrap();
        // Replacing part 1 with 6 bytes again still holds 6 in all.
        sim.upload_part(&a, 1, PartBody::Bytes(vec![2; 6])).unwrap();
        let over = sim
            .upload_part(&b, 1, PartBody::Bytes(vec![3; 5]))
            .unwrap_err();
        assert_eq!(
            (over.code.as_str(), over.status),
            ("EntityTooLarge", Some(400))
        );
        assert!(over.message.contains("11 bytes"), "{}", over.message);
        sim.upload_part(&b, 1, PartBody::Bytes(vec![3; 4])).unwrap();
        sim.abort_upload(&a).unwrap();
        sim.upload_part(&b, 2, PartBody::Bytes(vec![4; 6])).unwrap();
        sim.create_upload(&new("c")).unwrap();
    }

    /// Incomplete uploads expire `UPLOAD_EXPIRY` (7 days) after they start, on the simulator's
    /// clock, as under an `AbortIncompleteMultipartUpload` lifecycle rule.
    #[test]
    fn incomplete_uploads_expire_after_seven_days() {
        let (sim, _dir) = world(UploadLimits::default());
        let old = sim.create_upload(&new("old")).unwrap().id;
        sim.upload_part(&old, 1, PartBody::Bytes(b"x".to_vec()))
            .unwrap();
        sim.advance(std::time::Duration::from_secs(6 * 86_400))
            .unwrap();
        let young = sim.create_upload(&new("young")).unwrap().id;
        assert_eq!(sim.list_uploads("bkt", "", "", "", 10).unwrap().0.len(), 2);
        sim.advance(std::time::Duration::from_secs(86_400)).unwrap();
        let (left, _) = sim.list_uploads("bkt", "", "", "", 10).unwrap();
        assert_eq!(
            left.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            [young.as_str()]
        );
        let gone = sim.list_parts(&old, 0, 10).unwrap_err();
        assert_eq!(
            (gone.code.as_str(), gone.status),
            ("NoSuchUpload", Some(404))
        );
        assert_eq!(
            sim.complete_upload(&old, &[(1, String::new())])
                .unwrap_err()
                .code,
            "NoSuchUpload"
        );
    }

    /// The files under the state's `bodies/`.
    fn body_files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir.join("bodies")).map_or(0, |d| d.count())
    }

    /// A sparse file of `len` zero bytes but `marks` written at the given offsets, staged as
    /// `serve` stages a body (its MD5 is given, not computed: the simulator trusts a staged
    /// body's hash, which `serve` computes as the bytes arrive).
    fn staged(
        dir: &std::path::Path,
        name: &str,
        len: u64,
        marks: &[(u64, &[u8])],
        md5: u8,
    ) -> BodyFile {
        use std::os::unix::fs::FileExt;
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(len).unwrap();
        for (at, bytes) in marks {
            file.write_at(bytes, *at).unwrap();
        }
        BodyFile {
            path,
            len,
            md5: [md5; 16],
        }
    }

    fn read_range(sim: &Simulator, key: &str, range: std::ops::Range<u64>) -> Vec<u8> {
        use crate::backend::{GetObject, RangeRequest};
        let stream = sim
            .get_object_stream(
                &GetObject {
                    bucket: "bkt".into(),
                    key: key.into(),
                    ..GetObject::default()
                },
                Some(RangeRequest::FromTo(range.start, range.end - 1)),
            )
            .unwrap();
        let mut out = Vec::new();
        let mut reader = stream.reader;
        std::io::Read::read_to_end(&mut reader, &mut out).unwrap();
        out
    }

    /// Bodies past SQLite's 1 GB blob limit (issue 13): a 3 GiB object from three 1 GiB parts
    /// (sparse files, linked into the state: the test writes almost nothing) and a 2 GiB
    /// single PUT outlive their handle, read back at their ends and across a part boundary, are
    /// copied (CopyObject, UploadPartCopy of ranges) by linking their files, never read whole
    /// (a whole-body read in memory is refused with 501), and their files go with them.
    #[test]
    fn bodies_past_a_gib_are_files_linked_on_copy_and_removed_with_their_rows() {
        use crate::backend::{CopyObject, ObjectRef, PutObject};
        let (sim, dir) = world(UploadLimits::default());
        let gib = 1u64 << 30;
        let id = sim.create_upload(&new("big")).unwrap().id;
        let mut listed = Vec::new();
        for n in 1..=3u8 {
            let file = staged(
                dir.path(),
                &format!("part{n}"),
                gib,
                &[(0, &[n; 4]), (gib - 4, &[n; 4])],
                n,
            );
            let part = sim
                .upload_part(&id, u32::from(n), PartBody::File(&file))
                .unwrap();
            // serve removes its staged file once the call returns: the part keeps its bytes.
            std::fs::remove_file(&file.path).unwrap();
            listed.push((u32::from(n), part.etag));
        }
        assert_eq!(body_files(dir.path()), 3);
        let done = sim.complete_upload(&id, &listed).unwrap();
        assert_eq!(done.etag, multipart_etag(&[[1; 16], [2; 16], [3; 16]]));
        // Complete hands the parts' files to the object: nothing copied, nothing left.
        assert_eq!(body_files(dir.path()), 3);
        let single = staged(
            dir.path(),
            "single",
            2 * gib + 1,
            &[(2 * gib - 3, b"end!")],
            9,
        );
        sim.put_object_file(
            PutObject {
                bucket: "bkt".into(),
                key: "single".into(),
                ..PutObject::default()
            },
            &single,
        )
        .unwrap();
        std::fs::remove_file(&single.path).unwrap();
        drop(sim);

        let sim = Simulator::open(dir.path())
            .unwrap()
            .without_client_retries();
        assert_eq!(sim.head_object("bkt", "big", None).unwrap().size, 3 * gib);
        assert_eq!(
            read_range(&sim, "big", 3 * gib - 6..3 * gib),
            [0, 0, 3, 3, 3, 3]
        );
        assert_eq!(
            read_range(&sim, "big", gib - 4..gib + 4),
            [1, 1, 1, 1, 2, 2, 2, 2]
        );
        assert_eq!(
            read_range(&sim, "single", 2 * gib - 3..2 * gib + 1),
            b"end!"
        );
        let whole = sim.get_object("bkt", "big", None).unwrap_err();
        assert_eq!(
            (whole.code.as_str(), whole.status),
            ("NotImplemented", Some(501))
        );

        // CopyObject of the 2 GiB object links its file: same ETag, same bytes.
        let copied = sim
            .copy_object_with(&CopyObject {
                source: ObjectRef {
                    bucket: "bkt".into(),
                    key: "single".into(),
                    version_id: None,
                },
                bucket: "bkt".into(),
                key: "single-copy".into(),
                ..CopyObject::default()
            })
            .unwrap();
        assert_eq!(copied.etag, format!("\"{}\"", hex::encode([9u8; 16])));
        assert_eq!(
            read_range(&sim, "single-copy", 2 * gib - 3..2 * gib + 1),
            b"end!"
        );
        assert_eq!(body_files(dir.path()), 5);

        // UploadPartCopy of ranges of the 3 GiB object: 5 MiB across the first boundary, then
        // its last 6 bytes; the part's ETag is the MD5 of the bytes copied.
        let mib = 1024 * 1024;
        let opened = sim
            .open_object(
                &crate::backend::GetObject {
                    bucket: "bkt".into(),
                    key: "big".into(),
                    ..Default::default()
                },
                None,
            )
            .unwrap();
        let copy_id = sim.create_upload(&new("ranges")).unwrap().id;
        let first = gib - 4..gib - 4 + 5 * mib;
        let one = sim
            .upload_part_copy(&copy_id, 1, &opened.source, first.clone())
            .unwrap();
        let mut expected = vec![0u8; 5 * mib as usize];
        expected[..8].copy_from_slice(&[1, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(one.etag, s3::etag_of(&expected));
        let two = sim
            .upload_part_copy(&copy_id, 2, &opened.source, 3 * gib - 6..3 * gib)
            .unwrap();
        let done = sim
            .complete_upload(&copy_id, &[(1, one.etag), (2, two.etag)])
            .unwrap();
        assert!(done.etag.ends_with("-2\""), "{}", done.etag);
        expected.extend_from_slice(&[0, 0, 3, 3, 3, 3]);
        assert_eq!(sim.get_object("bkt", "ranges", None).unwrap(), expected);
        // 3 + 2 (the 2 GiB object and its copy) + the parts' links: the first range spans
        // two of the source's files, so it is two links.
        assert_eq!(body_files(dir.path()), 8);

        // The source goes: the copies keep their bytes; then every file goes with its object.
        sim.delete_object("bkt", "big", None).unwrap();
        assert_eq!(body_files(dir.path()), 5);
        assert_eq!(sim.get_object("bkt", "ranges", None).unwrap(), expected);
        for key in ["single", "single-copy", "ranges"] {
            sim.delete_object("bkt", key, None).unwrap();
        }
        assert_eq!(body_files(dir.path()), 0);
    }

    /// What AWS refuses of a multipart upload's sizes: a part over 5 GiB (EntityTooLarge,
    /// announced by a staged body's length), parts under 5 MiB but the last (EntityTooSmall),
    /// a Complete naming a part never uploaded (InvalidPart), an object over 5 TiB
    /// (EntityTooLarge); none leaves a file behind; 5 TiB itself is taken.
    #[test]
    fn oversized_parts_are_refused_and_leave_no_file() {
        let (sim, dir) = world(UploadLimits {
            max_uploads: 10,
            max_bytes: u64::MAX,
        });
        let id = sim.create_upload(&new("k")).unwrap().id;
        let too_big = staged(dir.path(), "huge", s3::MAX_PART_SIZE + 1, &[], 1);
        let refused = sim
            .upload_part(&id, 1, PartBody::File(&too_big))
            .unwrap_err();
        assert_eq!(
            (refused.code.as_str(), refused.status),
            ("EntityTooLarge", Some(400))
        );
        std::fs::remove_file(&too_big.path).unwrap();
        assert_eq!(body_files(dir.path()), 0);
        let small = staged(dir.path(), "small", 1024, &[], 2);
        let one = sim.upload_part(&id, 1, PartBody::File(&small)).unwrap();
        let two = sim.upload_part(&id, 2, PartBody::File(&small)).unwrap();
        let refused = sim
            .complete_upload(&id, &[(1, one.etag.clone()), (2, two.etag)])
            .unwrap_err();
        assert_eq!(refused.code, "EntityTooSmall");
        let refused = sim
            .complete_upload(&id, &[(1, one.etag), (3, String::new())])
            .unwrap_err();
        assert_eq!(refused.code, "InvalidPart");
        assert_eq!(body_files(dir.path()), 2);
        sim.abort_upload(&id).unwrap();
        assert_eq!(body_files(dir.path()), 0);

        // 1,025 parts of 5 GiB (one sparse file, linked 1,025 times): 5 TiB and 5 GiB, past
        // AWS's largest object; Complete refuses it and keeps the upload.
        let id = sim.create_upload(&new("huge")).unwrap().id;
        let part = staged(dir.path(), "part", s3::MAX_PART_SIZE, &[], 3);
        let listed: Vec<(u32, String)> = (1..=1_025)
            .map(|n| {
                (
                    n,
                    sim.upload_part(&id, n, PartBody::File(&part)).unwrap().etag,
                )
            })
            .collect();
        let refused = sim.complete_upload(&id, &listed).unwrap_err();
        assert_eq!(
            (refused.code.as_str(), refused.status),
            ("EntityTooLarge", Some(400))
        );
        let (_, parts, _) = sim.list_parts(&id, 0, 1_000).unwrap();
        assert_eq!(parts.len(), 1_000);
        // Without its last part it is 5 TiB exactly, which AWS takes.
        let done = sim.complete_upload(&id, &listed[..1_024]).unwrap();
        assert!(done.etag.ends_with("-1024\""), "{}", done.etag);
        assert_eq!(
            sim.head_object("bkt", "huge", None).unwrap().size,
            s3::MAX_OBJECT_SIZE
        );
        assert_eq!(body_files(dir.path()), 1_024);
    }
}
