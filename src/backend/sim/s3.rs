//! Buckets, objects, versions and restores: the S3 half of the simulator.
//!
//! Restore state is stored as instants (requested, done, expiry); whether a restore is ongoing,
//! complete or expired follows from comparing them with the virtual now, so nothing has to run
//! when a restore finishes or a restored copy expires.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use rusqlite::{OptionalExtension, Row, params};

use super::World;
use super::bodies::{self, FilesReader, StoredFile};
use super::clock::{self, Millis};
use super::identity;
use crate::backend::*;
use crate::errors::{Error, Result};

/// Listing page size, as S3's default `max-keys`.
const PAGE: u32 = 1_000;

/// One stored object version or delete marker.
#[derive(Debug, Clone)]
pub(super) struct StoredObject {
    pub id: i64,
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub is_latest: bool,
    pub is_delete_marker: bool,
    pub size: u64,
    pub etag: String,
    pub storage_class: StorageClass,
    pub archive_tier: Option<ArchiveAccessTier>,
    pub last_modified: Millis,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub has_body: bool,
    /// Whether the stored bytes are in files (see `bodies.rs`) rather than a blob.
    pub in_files: bool,
    /// A synthetic object's pattern key (see [`SyntheticBody`]): its own key when seeded, the
    /// source's when copied.
    pub synthetic: Option<String>,
    pub restore: Option<StoredRestore>,
    /// `owner_id`, `owner_name` (NULL: the world's own account).
    pub owner: (Option<String>, Option<String>),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct StoredRestore {
    pub tier: Tier,
    pub days: Option<u32>,
    pub done: Millis,
    pub expiry: Option<Millis>,
}

impl StoredRestore {
    /// The instants `restore_events` counts for this restore: when it finishes, when it expires.
    fn instants(restore: Option<StoredRestore>) -> (Option<Millis>, Option<Millis>) {
        restore.map_or((None, None), |r| (Some(r.done), r.expiry))
    }

    /// The restore in columns `first` to `first + 3` (tier, days, done, expiry): none when the
    /// tier is NULL.
    fn from_columns(r: &Row, first: usize) -> rusqlite::Result<Option<StoredRestore>> {
        let Some(tier) = r.get::<_, Option<String>>(first)? else {
            return Ok(None);
        };
        Ok(Some(StoredRestore {
            tier: tier.parse().map_err(|e| parse_err(first, e))?,
            days: r.get(first + 1)?,
            done: r.get(first + 2)?,
            expiry: r.get(first + 3)?,
        }))
    }
}

/// Where an object's restore stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum RestorePhase {
    NotRequested,
    Ongoing,
    Restored { expiry: Option<Millis> },
}

/// The columns `StoredObject::from_row` reads, as a macro so queries stay `&'static str`
/// (and their prepared statements are cached). Whether a body is stored is asked with
/// `typeof(body)`, which SQLite answers from the record header: `body IS NOT NULL` loads the
/// whole blob (a HEAD of a 56 MB object cost 55 MB of memory).
/// `object_columns!(joined)` reads the restore from `objects_with_restores!()`, for queries of
/// many rows; `object_columns!(alone)` reads none, for lookups of one object, which then read its
/// restore with [`with_restore`]: SQLite re-prepares a join each time the tables' sizes change
/// much (a copy job grows `objects` with every task), which cost a statement per lookup.
macro_rules! object_columns {
    (joined) => {
        object_columns!("r.tier, r.days, r.done, r.expiry")
    };
    (alone) => {
        object_columns!("NULL, NULL, NULL, NULL")
    };
    ($restore:literal) => {
        concat!(
            "id, bucket, key, version_id, is_latest, is_delete_marker, size, etag, \
             storage_class, archive_tier, last_modified, content_type, metadata, \
             typeof(body) <> 'null' OR segments IS NOT NULL, ",
            $restore,
            ", headers, synthetic, owner_id, owner_name, segments IS NOT NULL"
        )
    };
}

/// What `object_columns!(joined)` reads from: each object version with its restore, if any.
macro_rules! objects_with_restores {
    () => {
        " FROM objects LEFT JOIN restores r ON r.object_id = objects.id "
    };
}

/// `found` with its restore, if any (see `object_columns`).
fn with_restore(w: &World, found: Option<StoredObject>) -> Result<Option<StoredObject>> {
    let Some(mut object) = found else {
        return Ok(None);
    };
    object.restore =
        w.tx.prepare_cached("SELECT tier, days, done, expiry FROM restores WHERE object_id = ?1")?
            .query_row([object.id], |r| StoredRestore::from_columns(r, 0))
            .optional()?
            .flatten();
    Ok(Some(object))
}

/// A text column that does not parse as what it names.
fn parse_err(column: usize, e: Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
}

impl StoredObject {
    fn from_row(r: &Row) -> rusqlite::Result<StoredObject> {
        let class: String = r.get(8)?;
        let tier: Option<String> = r.get(9)?;
        let metadata: Option<String> = r.get(12)?;
        let headers: Option<String> = r.get(18)?;
        let restore = StoredRestore::from_columns(r, 14)?;
        Ok(StoredObject {
            id: r.get(0)?,
            bucket: r.get(1)?,
            key: r.get(2)?,
            version_id: r.get(3)?,
            is_latest: r.get(4)?,
            is_delete_marker: r.get(5)?,
            size: r.get::<_, i64>(6)? as u64,
            etag: r.get(7)?,
            storage_class: class.parse().map_err(|e| parse_err(8, e))?,
            archive_tier: tier
                .map(|t| t.parse())
                .transpose()
                .map_err(|e| parse_err(9, e))?,
            last_modified: r.get(10)?,
            content_type: r.get(11)?,
            metadata: metadata
                .and_then(|m| serde_json::from_str(&m).ok())
                .unwrap_or_default(),
            headers: headers
                .and_then(|h| serde_json::from_str(&h).ok())
                .unwrap_or_default(),
            has_body: r.get(13)?,
            in_files: r.get(22)?,
            synthetic: r.get(19)?,
            restore,
            owner: (r.get(20)?, r.get(21)?),
        })
    }

    pub(super) fn restore_phase(&self, now: Millis) -> RestorePhase {
        match self.restore {
            None => RestorePhase::NotRequested,
            Some(r) if now < r.done => RestorePhase::Ongoing,
            Some(r) if r.expiry.is_some_and(|e| now >= e) => RestorePhase::NotRequested,
            Some(r) => RestorePhase::Restored { expiry: r.expiry },
        }
    }

    /// The Intelligent-Tiering archive tier the object sits in now: a completed restore moves
    /// it back to the frequent access tier.
    pub(super) fn current_archive_tier(&self, now: Millis) -> Option<ArchiveAccessTier> {
        if self.storage_class != StorageClass::IntelligentTiering {
            return None;
        }
        match self.restore_phase(now) {
            RestorePhase::Restored { .. } => None,
            _ => self.archive_tier,
        }
    }

    pub(super) fn is_archived(&self, now: Millis) -> bool {
        self.storage_class.is_archive() || self.current_archive_tier(now).is_some()
    }

    /// Whether GET may read it now.
    pub(super) fn is_readable(&self, now: Millis) -> bool {
        !self.is_archived(now) || matches!(self.restore_phase(now), RestorePhase::Restored { .. })
    }
}

pub(super) fn require_bucket(w: &World, bucket: &str) -> Result<i64> {
    w.tx.prepare_cached("SELECT versioning FROM buckets WHERE name = ?1")?
        .query_row([bucket], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::no_such_bucket(bucket))
}

/// The object a request names: a given version, or the latest one (404 if that is a delete
/// marker, as S3 answers).
pub(super) fn find(
    w: &World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<StoredObject> {
    // The bucket is looked up only when no object is found (to tell NoSuchBucket from
    // NoSuchKey): a job's task finds its object with one statement.
    let found = match version_id {
        Some(v) => {
            let version = (v != "null").then_some(v);
            let found =
                w.tx.prepare_cached(concat!(
                    "SELECT ",
                    object_columns!(alone),
                    " FROM objects WHERE bucket = ?1 AND key = ?2 AND version_id IS ?3"
                ))?
                .query_row(params![bucket, key, version], StoredObject::from_row)
                .optional()?;
            let found = with_restore(w, found)?;
            match found {
                Some(found) => found,
                None => {
                    require_bucket(w, bucket)?;
                    return Err(Error::new(
                        "NoSuchVersion",
                        "The specified version does not exist.",
                    )
                    .status(404)
                    .bucket(bucket)
                    .key(key)
                    .version_id(Some(v)));
                }
            }
        }
        None => {
            let found =
                w.tx.prepare_cached(concat!(
                    "SELECT ",
                    object_columns!(alone),
                    " FROM objects WHERE bucket = ?1 AND key = ?2 AND is_latest = 1"
                ))?
                .query_row(params![bucket, key], StoredObject::from_row)
                .optional()?;
            let found = with_restore(w, found)?;
            match found {
                Some(found) => found,
                None => {
                    require_bucket(w, bucket)?;
                    return Err(Error::no_such_key(bucket, key));
                }
            }
        }
    };
    checked(found, bucket, key, version_id)
}

/// What `find` answers for the latest version of `key` from a lookup made beforehand for a
/// whole chunk of job tasks ([`latest_in_range_for_restore`]), the bucket known to exist.
pub(super) fn latest_found(
    bucket: &str,
    key: &str,
    found: Option<StoredObject>,
) -> Result<StoredObject> {
    let found = found.ok_or_else(|| Error::no_such_key(bucket, key))?;
    checked(found, bucket, key, None)
}

/// The latest versions of the keys from `first` to `last` (inclusive) of `bucket`, in key
/// order, as [`restore`]'s rules read them (only what they read): one range query for a chunk of a job's restore tasks
/// instead of one lookup per task. `None` when the range holds more than `limit` objects (a
/// sparse manifest: look each key up instead).
pub(super) fn latest_in_range_for_restore(
    w: &World,
    bucket: &str,
    first: &str,
    last: &str,
    limit: usize,
) -> Result<Option<Vec<StoredObject>>> {
    // `object_columns!`'s shape with only what the rules read: the rest (size, ETag, metadata,
    // body, owner...) is empty, so such an object serves a restore and nothing else. A job's
    // restore tasks read their objects so: half the columns, a tenth of the job.
    let mut stmt = w.tx.prepare_cached(
        "SELECT id, bucket, key, version_id, is_latest, is_delete_marker, 0, '', storage_class,
             archive_tier, 0, NULL, NULL, 0, r.tier, r.days, r.done, r.expiry, NULL, NULL,
             NULL, NULL, 0
         FROM objects LEFT JOIN restores r ON r.object_id = objects.id
         WHERE bucket = ?1 AND key >= ?2 AND key <= ?3 AND is_latest = 1
         ORDER BY key LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![bucket, first, last, limit as i64 + 1],
        StoredObject::from_row,
    )?;
    let mut found = Vec::with_capacity(limit.min(16_384));
    for row in rows {
        if found.len() == limit {
            return Ok(None);
        }
        found.push(row?);
    }
    Ok(Some(found))
}

/// `find`'s answer for what it found: a delete marker is not an object.
fn checked(
    found: StoredObject,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<StoredObject> {
    if found.is_delete_marker {
        // The current version is a delete marker: 404, saying so; naming a marker's version
        // is 405, as S3 answers.
        let marker = found.version_id.as_deref().unwrap_or("null");
        return Err(match version_id {
            None => Error::no_such_key(bucket, key),
            Some(_) => Error::new(
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
            .status(405)
            .bucket(bucket)
            .key(key),
        }
        .version_id(Some(marker))
        .on_delete_marker());
    }
    Ok(found)
}

/// CreateBucket. Bucket names are global: another account's name is 409
/// `BucketAlreadyExists`; re-creating your own is 200 in us-east-1 (S3's original answer,
/// changing nothing) and 409 `BucketAlreadyOwnedByYou` elsewhere. The caller owns the new bucket.
pub(super) fn create_bucket(w: &World, name: &str, region: Option<&str>) -> Result<BucketInfo> {
    let region = region.unwrap_or(&w.region).to_string();
    if require_bucket(w, name).is_ok() {
        if identity::bucket_owner(w, name)?.id != w.caller.owner().id {
            return Err(Error::new(
                "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            )
            .status(409)
            .bucket(name));
        }
        let existing = bucket_info(w, name)?;
        if existing.region == "us-east-1" && region == "us-east-1" {
            return Ok(existing);
        }
        return Err(Error::new(
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
        .status(409)
        .bucket(name));
    }
    if w.caller == identity::Caller::Anonymous {
        return Err(Error::access_denied("Access Denied").bucket(name));
    }
    let owner = w.caller.owner();
    w.tx.execute(
        "INSERT INTO buckets (name, region, created, owner_id, owner_name)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, region, w.now, owner.id, owner.display_name],
    )?;
    Ok(BucketInfo {
        name: name.to_string(),
        region,
        created: clock::to_datetime(w.now),
    })
}

pub(super) fn put_bucket_versioning(w: &World, bucket: &str, enabled: bool) -> Result<()> {
    require_bucket(w, bucket)?;
    // Suspending a bucket that was never versioned is allowed, and reported as Suspended.
    let state = if enabled { 1 } else { 2 };
    w.tx.execute(
        "UPDATE buckets SET versioning = ?2 WHERE name = ?1",
        params![bucket, state],
    )?;
    Ok(())
}

pub(super) fn get_bucket_versioning(w: &World, bucket: &str) -> Result<Option<VersioningStatus>> {
    Ok(match require_bucket(w, bucket)? {
        0 => None,
        1 => Some(VersioningStatus::Enabled),
        _ => Some(VersioningStatus::Suspended),
    })
}

pub(super) fn delete_bucket(w: &World, name: &str) -> Result<()> {
    require_bucket(w, name)?;
    let count: i64 = w.tx.query_row(
        "SELECT COUNT(*) FROM (SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1)",
        [name],
        |r| r.get(0),
    )?;
    if count > 0 {
        return Err(Error::new(
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty. You must delete all versions in the bucket.",
        )
        .status(409)
        .bucket(name));
    }
    w.tx.execute("DELETE FROM buckets WHERE name = ?1", [name])?;
    Ok(())
}

/// ListBuckets: the caller's buckets (the world's own account owns those without an owner).
pub(super) fn list_buckets(w: &World) -> Result<Vec<BucketInfo>> {
    let mut stmt = w.tx.prepare(
        "SELECT name, region, created FROM buckets
         WHERE COALESCE(owner_id, ?1) = ?2 ORDER BY name",
    )?;
    let rows = stmt.query_map(params![w.account_id, w.caller.owner().id], |r| {
        Ok(BucketInfo {
            name: r.get(0)?,
            region: r.get(1)?,
            created: clock::to_datetime(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One bucket, whoever owns it.
pub(super) fn bucket_info(w: &World, name: &str) -> Result<BucketInfo> {
    w.tx.prepare_cached("SELECT name, region, created FROM buckets WHERE name = ?1")?
        .query_row([name], |r| {
            Ok(BucketInfo {
                name: r.get(0)?,
                region: r.get(1)?,
                created: clock::to_datetime(r.get(2)?),
            })
        })
        .optional()?
        .ok_or_else(|| Error::no_such_bucket(name))
}

pub(super) fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(body)))
}

fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Makes room for a new current version of `key` and returns the version id it gets.
fn supersede(w: &World, bucket: &str, key: &str) -> Result<Option<String>> {
    let versioning = require_bucket(w, bucket)?;
    // Cached statements, and only those the bucket's versioning needs: a copy job runs this
    // once per task, a million times.
    if versioning != 1 {
        // Unversioned or suspended: the new object replaces the `null` version.
        w.tx.prepare_cached(
            "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL",
        )?
        .execute(params![bucket, key])?;
    }
    // A bucket never versioned holds only `null` versions, just deleted; with versioning
    // (enabled or suspended) older versions stay and stop being the latest.
    if versioning != 0 {
        w.tx.prepare_cached(
            "UPDATE objects SET is_latest = 0 WHERE bucket = ?1 AND key = ?2 AND is_latest = 1",
        )?
        .execute(params![bucket, key])?;
    }
    Ok((versioning == 1).then(new_version_id))
}

/// The largest body one PutObject (or UploadPart, or CopyObject) stores: 5 GiB, as AWS. A body
/// past it is 400 `EntityTooLarge`.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// The largest object: 5 TiB, as AWS (a multipart upload of up to 10,000 parts).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// What writes a new object's bytes into its blob.
pub(super) type BlobWriter<'a> = Box<dyn FnOnce(&mut rusqlite::blob::Blob<'_>) -> Result<()> + 'a>;

/// Where a new object's bytes come from.
pub(super) enum Fill<'a> {
    /// In memory (kept in the row up to [`bodies::INLINE_LIMIT`], else written to a file).
    Bytes(Vec<u8>),
    /// In memory, with this ETag (a copy's).
    Copied(Vec<u8>, String),
    /// `len` bytes written straight into the row's blob by `write` (from the small parts of
    /// a multipart upload), so no body is ever held whole in memory.
    Write {
        len: u64,
        etag: String,
        write: BlobWriter<'a>,
    },
    /// Body files made (or taken from upload parts) in this transaction, in order.
    Files {
        len: u64,
        etag: String,
        files: Vec<StoredFile>,
    },
}

pub(super) fn entity_too_large(bucket: &str, key: &str, size: u64, max: u64) -> Error {
    Error::new(
        "EntityTooLarge",
        format!(
            "Your proposed upload exceeds the maximum allowed size: {size} bytes, more than the {max} allowed"
        ),
    )
    .status(400)
    .bucket(bucket)
    .key(key)
}

pub(super) fn put_object(w: &World, mut request: PutObject) -> Result<ObjectWritten> {
    let body = std::mem::take(&mut request.body);
    let size = body.len() as u64;
    if size > MAX_PUT_SIZE {
        return Err(entity_too_large(
            &request.bucket,
            &request.key,
            size,
            MAX_PUT_SIZE,
        ));
    }
    let fill = if size > bodies::INLINE_LIMIT {
        let etag = etag_of(&body);
        let file = bodies::write_new(w.tx, &mut body.as_slice(), size)?;
        Fill::Files {
            len: size,
            etag,
            files: vec![file],
        }
    } else {
        Fill::Bytes(body)
    };
    store_object(w, request, fill)
}

/// PutObject of a body staged in a file (see [`BodyFile`]): the file becomes the object's
/// (a hard link, no copy); memory stays flat whatever its size.
pub(super) fn put_object_file(
    w: &World,
    request: PutObject,
    body: &BodyFile,
) -> Result<ObjectWritten> {
    if body.len > MAX_PUT_SIZE {
        return Err(entity_too_large(
            &request.bucket,
            &request.key,
            body.len,
            MAX_PUT_SIZE,
        ));
    }
    let name = bodies::link(w.tx, &body.path)?;
    store_object(
        w,
        request,
        Fill::Files {
            len: body.len,
            etag: format!("\"{}\"", hex::encode(body.md5)),
            files: vec![StoredFile {
                name,
                start: 0,
                len: body.len,
            }],
        },
    )
}

/// The rules of every new object (key, conditions, versions, size), then its row.
pub(super) fn store_object(w: &World, request: PutObject, fill: Fill) -> Result<ObjectWritten> {
    if request.key.is_empty() || request.key.len() > 1024 {
        return Err(Error::new(
            "KeyTooLongError",
            "Object keys must be 1 to 1,024 bytes long.",
        )
        .status(400)
        .bucket(&request.bucket));
    }
    let (size, etag) = match &fill {
        Fill::Bytes(body) => (body.len() as u64, etag_of(body)),
        Fill::Copied(body, etag) => (body.len() as u64, etag.clone()),
        Fill::Write { len, etag, .. } | Fill::Files { len, etag, .. } => (*len, etag.clone()),
    };
    if size > MAX_OBJECT_SIZE {
        return Err(entity_too_large(
            &request.bucket,
            &request.key,
            size,
            MAX_OBJECT_SIZE,
        ));
    }
    check_write(w, &request.bucket, &request.key, &request.conditions)?;
    let class = request.storage_class.unwrap_or(StorageClass::Standard);
    let version_id = supersede(w, &request.bucket, &request.key)?;
    let owner = identity::owner_of_new_object(w, &request.bucket)?;
    let metadata = serde_json::to_string(&request.metadata).map_err(Error::internal)?;
    let headers = (!request.headers.is_empty())
        .then(|| serde_json::to_string(&request.headers))
        .transpose()
        .map_err(Error::internal)?;
    let segments = match &fill {
        Fill::Files { files, .. } => Some(files.len() as i64),
        _ => None,
    };
    let insert = |body: &dyn rusqlite::ToSql| {
        w.tx.execute(
            "INSERT INTO objects (bucket, key, version_id, is_latest, size, etag, storage_class,
                 last_modified, content_type, metadata, body, headers, owner_id, owner_name,
                 segments)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                request.bucket,
                request.key,
                version_id,
                size as i64,
                etag,
                class.as_str(),
                w.now,
                request.content_type,
                metadata,
                body,
                headers,
                owner.id,
                owner.display_name,
                segments,
            ],
        )
    };
    match fill {
        Fill::Bytes(body) | Fill::Copied(body, _) => {
            insert(&body)?;
        }
        Fill::Files { files, .. } => {
            insert(&rusqlite::types::Null)?;
            bodies::attach_to_object(w.tx, w.tx.last_insert_rowid(), &files)?;
        }
        Fill::Write { write, .. } => {
            // Only small bodies are written into blobs (see `uploads::complete`).
            insert(&rusqlite::blob::ZeroBlob(size))?;
            let id = w.tx.last_insert_rowid();
            let mut blob = w.tx.blob_open("main", "objects", "body", id, false)?;
            write(&mut blob)?;
        }
    }
    Ok(ObjectWritten {
        bucket: request.bucket,
        key: request.key,
        etag,
        version_id,
        storage_class: class,
    })
}

/// The bytes of a synthetic object: its pattern key (its own key when seeded, the source's
/// when copied) and a newline, repeated to its size. Any range is computed from its offset,
/// so a 1 TB seeded object is read, ranged and copied without building its bytes.
#[derive(Debug, Clone)]
pub struct SyntheticBody {
    pattern: Vec<u8>,
    pos: u64,
    end: u64,
}

impl SyntheticBody {
    /// The bytes `range` of the synthetic object whose pattern key is `pattern_key`.
    pub fn new(pattern_key: &str, range: std::ops::Range<u64>) -> SyntheticBody {
        SyntheticBody {
            pattern: format!("{pattern_key}\n").into_bytes(),
            pos: range.start,
            end: range.end.max(range.start),
        }
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> u64 {
        self.end - self.pos
    }
}

impl std::io::Read for SyntheticBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = (self.remaining().min(buf.len() as u64)) as usize;
        let period = self.pattern.len() as u64;
        let mut filled = 0;
        while filled < want {
            let at = (self.pos % period) as usize;
            let n = (self.pattern.len() - at).min(want - filled);
            buf[filled..filled + n].copy_from_slice(&self.pattern[at..at + n]);
            filled += n;
            self.pos += n as u64;
        }
        Ok(filled)
    }
}

/// The key whose pattern a synthetic object repeats.
fn pattern_key(object: &StoredObject) -> &str {
    object.synthetic.as_deref().unwrap_or(&object.key)
}

/// What stands for the MD5 of `size` synthetic bytes of `pattern_key` from offset 0: the ETag
/// of a seeded object, and of a single-request copy of one (S3 gives such a copy the MD5 of its
/// bytes, which are the same). Seeding a million objects hashes nothing large.
pub(super) fn synthetic_etag(pattern_key: &str, size: u64) -> String {
    synthetic_etag_with(&mut String::new(), pattern_key, size)
}

/// [`synthetic_etag`] with a reused buffer for the hashed text (seeding's loop).
fn synthetic_etag_with(text: &mut String, pattern_key: &str, size: u64) -> String {
    use std::fmt::Write as _;
    text.clear();
    let _ = write!(text, "s3thaw-synthetic:{pattern_key}:{size}");
    etag_of(text.as_bytes())
}

/// The largest synthetic body the simulator builds in memory (`s3::get_object` and the other
/// calls that return a whole body): a seeded object can be 5 TB. Streamed reads
/// (`get_object_stream`, `serve`) and copies have no such limit.
pub(super) const MAX_SYNTHETIC_BODY: u64 = 512 * 1024 * 1024;

fn body_of(w: &World, object: &StoredObject) -> Result<Vec<u8>> {
    if object.in_files {
        if object.size > MAX_SYNTHETIC_BODY {
            return Err(Error::new(
                "NotImplemented",
                format!(
                    "the simulator does not read the {} bytes of `{}` into memory: whole bodies \
                     returned at once are limited to {MAX_SYNTHETIC_BODY} bytes",
                    object.size, object.key
                ),
            )
            .status(501)
            .bucket(&object.bucket)
            .key(&object.key)
            .hint(
                "read it in ranges or streamed (s3thaw serve streams GETs of any size), or copy it",
            ));
        }
        let mut body = Vec::with_capacity(object.size as usize);
        stored_reader(w, object, 0..object.size)?.read_to_end(&mut body)?;
        return Ok(body);
    }
    if !object.has_body {
        if object.size > MAX_SYNTHETIC_BODY {
            return Err(Error::new(
                "NotImplemented",
                format!(
                    "the simulator does not build the {} bytes of the seeded object `{}` in memory: \
                     whole synthetic bodies are limited to {MAX_SYNTHETIC_BODY} bytes",
                    object.size, object.key
                ),
            )
            .status(501)
            .bucket(&object.bucket)
            .key(&object.key)
            .hint("read it in ranges or streamed (s3thaw serve streams GETs of any size), or copy it"));
        }
        let mut body = Vec::with_capacity(object.size as usize);
        std::io::Read::read_to_end(
            &mut SyntheticBody::new(pattern_key(object), 0..object.size),
            &mut body,
        )?;
        return Ok(body);
    }
    Ok(w.tx
        .query_row("SELECT body FROM objects WHERE id = ?1", [object.id], |r| {
            r.get(0)
        })?)
}

/// GetObject's rules, with the body as a reader: a stored body is read from the database in
/// pieces (SQLite's incremental BLOB I/O), so a 200 MB manifest never sits in memory whole.
pub(super) fn open_body<'a>(
    w: &'a World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Box<dyn std::io::Read + 'a>> {
    let object = find(w, bucket, key, version_id)?;
    if !object.is_readable(w.now) {
        return Err(not_readable(&object));
    }
    if !object.has_body {
        return Ok(Box::new(std::io::Cursor::new(body_of(w, &object)?)));
    }
    Ok(Box::new(std::io::BufReader::with_capacity(
        256 * 1024,
        stored_reader(w, &object, 0..object.size)?,
    )))
}

/// The bytes `range` of a stored (not synthetic) object, from its files or its blob.
fn stored_reader<'a>(
    w: &'a World,
    object: &StoredObject,
    range: std::ops::Range<u64>,
) -> Result<Box<dyn std::io::Read + 'a>> {
    if object.in_files {
        let files = bodies::of_object(w.tx, object.id)?;
        return Ok(Box::new(FilesReader::new(
            bodies::dir_of(w.tx)?,
            std::sync::Arc::new(files),
            range,
        )));
    }
    let mut blob =
        w.tx.blob_open(rusqlite::MAIN_DB, "objects", "body", object.id, true)?;
    std::io::Seek::seek(&mut blob, std::io::SeekFrom::Start(range.start))?;
    Ok(Box::new(std::io::Read::take(blob, range.end - range.start)))
}

/// The MD5 of the bytes `range` of a stored object, read 1 MiB at a time.
fn md5_of_range(w: &World, object: &StoredObject, range: std::ops::Range<u64>) -> Result<[u8; 16]> {
    let mut md5 = Md5::new();
    let len = range.end - range.start;
    super::uploads::copy(
        &mut *stored_reader(w, object, range)?,
        &mut HashWriter(&mut md5),
        len,
    )?;
    Ok(md5.finalize().into())
}

/// Feeds what is written to a hash.
pub(super) struct HashWriter<'a>(pub &'a mut Md5);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A new object's bytes from a stored one, as a copy makes them: its files linked under new
/// names (no bytes read), or its blob (small ones in memory, others streamed to a file); the
/// copy's ETag is `etag`.
fn copied_fill(w: &World, source: &StoredObject, etag: String) -> Result<Fill<'static>> {
    if source.in_files {
        let files = bodies::link_range(w.tx, &bodies::of_object(w.tx, source.id)?, 0..source.size)?;
        return Ok(Fill::Files {
            len: source.size,
            etag,
            files,
        });
    }
    if source.size <= bodies::INLINE_LIMIT {
        return Ok(Fill::Copied(body_of(w, source)?, etag));
    }
    let file = bodies::write_new(
        w.tx,
        &mut *stored_reader(w, source, 0..source.size)?,
        source.size,
    )?;
    Ok(Fill::Files {
        len: source.size,
        etag,
        files: vec![file],
    })
}

/// The ETag of a single-request copy of `source`: the MD5 of its bytes (its own ETag unless
/// it was a multipart upload's, `…-N`, when the bytes are hashed).
fn copy_etag(w: &World, source: &StoredObject) -> Result<String> {
    if !source.etag.contains('-') {
        return Ok(source.etag.clone());
    }
    Ok(format!(
        "\"{}\"",
        hex::encode(md5_of_range(w, source, 0..source.size)?)
    ))
}

/// Where the bytes of an object being read come from.
#[derive(Debug, Clone, PartialEq)]
pub enum BodySource {
    /// The stored body of row `id`, as long as it still has `etag`.
    Stored { id: i64, etag: String },
    /// A synthetic body (see [`SyntheticBody`]).
    Synthetic { pattern_key: String },
    /// The body files of row `id` (which has `etag`), in order (see `bodies.rs`).
    Files {
        id: i64,
        etag: String,
        files: std::sync::Arc<Vec<StoredFile>>,
    },
}

/// An object opened for a streamed read: its head, the bytes to return, where they are.
#[derive(Debug, Clone)]
pub struct OpenedObject {
    pub head: ObjectHead,
    pub range: std::ops::Range<u64>,
    pub source: BodySource,
}

/// The object a read names, when its preconditions hold and it is readable (not archived, or
/// restored).
fn find_readable(w: &World, request: &GetObject) -> Result<StoredObject> {
    let object = find_for_read(w, request)?;
    if !object.is_readable(w.now) {
        return Err(not_readable(&object));
    }
    Ok(object)
}

/// GetObject's rules (preconditions, a readable object, a satisfiable range) for a read that
/// streams the bytes afterwards (see [`read_stored`]).
pub(super) fn open_object(
    w: &World,
    request: &GetObject,
    range: Option<RangeRequest>,
) -> Result<OpenedObject> {
    let object = find_readable(w, request)?;
    let range = match range {
        Some(r) => r.resolve(object.size).map_err(|e| {
            e.bucket(&object.bucket)
                .key(&object.key)
                .hint(format!("the object is {} bytes", object.size))
        })?,
        None => 0..object.size,
    };
    let source = if object.in_files {
        BodySource::Files {
            id: object.id,
            etag: object.etag.clone(),
            files: std::sync::Arc::new(bodies::of_object(w.tx, object.id)?),
        }
    } else if object.has_body {
        BodySource::Stored {
            id: object.id,
            etag: object.etag.clone(),
        }
    } else {
        BodySource::Synthetic {
            pattern_key: pattern_key(&object).to_string(),
        }
    };
    Ok(OpenedObject {
        head: head_of(w, object),
        range,
        source,
    })
}

/// Reads stored bytes of row `id` from `offset` into `buf` (SQLite's incremental blob I/O: only
/// those bytes are read), refusing if the row no longer holds the object with `etag` (it was
/// replaced or deleted during the read).
pub(super) fn read_stored(
    conn: &rusqlite::Connection,
    id: i64,
    etag: &str,
    offset: u64,
    buf: &mut [u8],
) -> Result<usize> {
    let current: Option<String> = conn
        .prepare_cached("SELECT etag FROM objects WHERE id = ?1 AND typeof(body) <> 'null'")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if current.as_deref() != Some(etag) {
        return Err(Error::new(
            "InternalError",
            "the object was replaced or deleted while it was being read",
        )
        .status(500));
    }
    let blob = conn.blob_open(rusqlite::MAIN_DB, "objects", "body", id, true)?;
    let offset = usize::try_from(offset).map_err(Error::internal)?;
    Ok(blob.read_at(buf, offset)?)
}

/// The largest part UploadPartCopy copies, and the smallest every part but the last must be
/// (checked at Complete); a multipart upload has at most [`MAX_PARTS`] parts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
pub const MAX_PARTS: u64 = 10_000;

/// UploadPartCopy's `x-amz-copy-source-range` against a source of `size` bytes: the bytes
/// `first..=last` it names (the whole source without one). Not `bytes=first-last`: 400
/// `InvalidArgument`; outside the source: 400 `InvalidRange`; over 5 GB: 400
/// `EntityTooLarge`. The one rule of part copies: the simulator's multipart copy and `serve`'s
/// UploadPartCopy both use it.
pub fn part_copy_range(header: Option<&str>, size: u64) -> Result<std::ops::Range<u64>> {
    let range = match header {
        None => 0..size,
        Some(value) => {
            let improper = || {
                Error::invalid_argument(format!(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, not `{value}`"
                ))
                .status(400)
            };
            let (first, last) = value
                .trim()
                .strip_prefix("bytes=")
                .and_then(|r| r.split_once('-'))
                .ok_or_else(improper)?;
            let first: u64 = first.trim().parse().map_err(|_| improper())?;
            let last: u64 = last.trim().parse().map_err(|_| improper())?;
            if first > last || last >= size {
                return Err(Error::new(
                    "InvalidRange",
                    format!(
                        "The requested range is not satisfiable: bytes={first}-{last} of a source of {size} bytes"
                    ),
                )
                .status(400));
            }
            first..last + 1
        }
    };
    if range.end - range.start > MAX_PART_SIZE {
        return Err(Error::new(
            "EntityTooLarge",
            format!(
                "Your proposed upload exceeds the maximum allowed size: a part copies at most {MAX_PART_SIZE} bytes, not {}",
                range.end - range.start
            ),
        )
        .status(400));
    }
    Ok(range)
}

/// CompleteMultipartUpload's size rules over the parts' sizes, in order: at least one part, at
/// most [`MAX_PARTS`], every part but the last at least [`MIN_PART_SIZE`] (400 `EntityTooSmall`).
pub fn check_part_sizes(sizes: &[u64]) -> Result<()> {
    if sizes.is_empty() {
        return Err(Error::new("MalformedXML", "You must specify at least one part").status(400));
    }
    if sizes.len() as u64 > MAX_PARTS {
        return Err(Error::invalid_argument(format!(
            "Part number must be an integer between 1 and {MAX_PARTS}, inclusive: {} parts",
            sizes.len()
        ))
        .status(400));
    }
    if let Some(i) = sizes[..sizes.len() - 1]
        .iter()
        .position(|&s| s < MIN_PART_SIZE)
    {
        return Err(Error::new(
            "EntityTooSmall",
            format!(
                "Your proposed upload is smaller than the minimum allowed object size: part {} is {} bytes, and every part but the last must be at least {MIN_PART_SIZE}",
                i + 1,
                sizes[i]
            ),
        )
        .status(400));
    }
    Ok(())
}

/// S3's ETag of a multipart object: the MD5 of its parts' MD5s, a dash and the part count.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut all = Md5::new();
    for md5 in part_md5s {
        all.update(md5);
    }
    format!("\"{}-{}\"", hex::encode(all.finalize()), part_md5s.len())
}

/// What stands for the MD5 of the bytes `range` of a synthetic object: the same bytes (same
/// pattern, offset within the pattern and length) give the same digest, and the whole object
/// from offset 0 gives its [`synthetic_etag`].
pub fn synthetic_part_md5(pattern_key: &str, range: &std::ops::Range<u64>) -> [u8; 16] {
    let period = pattern_key.len() as u64 + 1;
    let len = range.end - range.start;
    let text = match range.start % period {
        0 => format!("s3thaw-synthetic:{pattern_key}:{len}"),
        phase => format!("s3thaw-synthetic:{pattern_key}:{phase}:{len}"),
    };
    Md5::digest(text.as_bytes()).into()
}

fn not_readable(object: &StoredObject) -> Error {
    Error::new(
        "InvalidObjectState",
        "The operation is not valid for the object's storage class",
    )
    .status(403)
    .bucket(&object.bucket)
    .key(&object.key)
    .version_id(object.version_id.as_deref())
    .hint(format!(
        "the object is archived in {}; restore it first (s3::restore_object or a batch job) and wait until the restore completes",
        object.storage_class
    ))
}

/// Whether an `If-Match`/`If-None-Match` list names this ETag (`*` names any object).
fn etag_listed(list: &str, etag: &str) -> bool {
    let bare = |t: &str| {
        t.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_string()
    };
    list.split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

fn precondition_failed() -> Error {
    Error::new(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
    )
    .status(412)
}

/// Evaluates read preconditions in RFC 7232's order, as S3 does: `If-Match` (else
/// `If-Unmodified-Since`) failing is 412 `PreconditionFailed`; then `If-None-Match` (else
/// `If-Modified-Since`) failing is 304 `NotModified`, or 412 for a copy source. Dates compare at
/// the second, as `Last-Modified` travels.
pub(super) fn check_read(c: &Conditions, object: &StoredObject, copy_source: bool) -> Result<()> {
    if c.is_empty() {
        return Ok(());
    }
    let modified = object.last_modified.div_euclid(1000) * 1000;
    if let Some(list) = &c.if_match {
        if !etag_listed(list, &object.etag) {
            return Err(precondition_failed());
        }
    } else if let Some(t) = c.if_unmodified_since
        && modified > clock::from_datetime(t)
    {
        return Err(precondition_failed());
    }
    let not_modified = match &c.if_none_match {
        Some(list) => etag_listed(list, &object.etag),
        None => c
            .if_modified_since
            .is_some_and(|t| modified <= clock::from_datetime(t)),
    };
    if not_modified {
        return Err(if copy_source {
            precondition_failed()
        } else {
            Error::new("NotModified", "Not Modified").status(304)
        });
    }
    Ok(())
}

/// Conditional writes: `If-Match` needs a current object with a listed ETag (none: 404
/// `NoSuchKey`), `If-None-Match` (`*` or an ETag) refuses to replace a matching one (412).
fn check_write(w: &World, bucket: &str, key: &str, c: &Conditions) -> Result<()> {
    if c.if_match.is_none() && c.if_none_match.is_none() {
        return Ok(());
    }
    let current = match find(w, bucket, key, None) {
        Ok(o) => Some(o),
        Err(e) if e.code == "NoSuchKey" => None,
        Err(e) => return Err(e),
    };
    if let Some(list) = &c.if_match {
        match &current {
            None => return Err(Error::no_such_key(bucket, key)),
            Some(o) if !etag_listed(list, &o.etag) => return Err(precondition_failed()),
            _ => {}
        }
    }
    if let (Some(list), Some(o)) = (&c.if_none_match, &current)
        && etag_listed(list, &o.etag)
    {
        return Err(precondition_failed());
    }
    Ok(())
}

/// GetObject with preconditions: the head and the bytes, in one transaction.
pub(super) fn get_object_with(w: &World, request: &GetObject) -> Result<(ObjectHead, Vec<u8>)> {
    let object = find_readable(w, request)?;
    let body = body_of(w, &object)?;
    Ok((head_of(w, object), body))
}

pub(super) fn head_object_with(w: &World, request: &GetObject) -> Result<ObjectHead> {
    Ok(head_of(w, find_for_read(w, request)?))
}

/// The object (or version) a GET or HEAD names, when its preconditions hold.
fn find_for_read(w: &World, request: &GetObject) -> Result<StoredObject> {
    let object = find(
        w,
        &request.bucket,
        &request.key,
        request.version_id.as_deref(),
    )?;
    check_read(&request.conditions, &object, false)?;
    Ok(object)
}

pub(super) fn get_object(
    w: &World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Vec<u8>> {
    let object = find(w, bucket, key, version_id)?;
    if !object.is_readable(w.now) {
        return Err(not_readable(&object));
    }
    body_of(w, &object)
}

pub(super) fn head_object(
    w: &World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<ObjectHead> {
    Ok(head_of(w, find(w, bucket, key, version_id)?))
}

fn head_of(w: &World, object: StoredObject) -> ObjectHead {
    let restore = match object.restore_phase(w.now) {
        RestorePhase::NotRequested => None,
        RestorePhase::Ongoing => Some(RestoreState {
            ongoing: true,
            expiry: None,
        }),
        RestorePhase::Restored { expiry } => Some(RestoreState {
            ongoing: false,
            expiry: expiry.map(clock::to_datetime),
        }),
    };
    ObjectHead {
        archive_status: object.current_archive_tier(w.now),
        bucket: object.bucket,
        key: object.key,
        version_id: object.version_id,
        size: object.size,
        etag: object.etag,
        storage_class: object.storage_class,
        last_modified: clock::to_datetime(object.last_modified),
        content_type: object.content_type,
        metadata: object.metadata,
        headers: object.headers,
        restore,
    }
}

fn setting(w: &World, bucket: &str, name: &str) -> Result<Option<String>> {
    require_bucket(w, bucket)?;
    Ok(w.tx
        .query_row(
            "SELECT value FROM bucket_settings WHERE bucket = ?1 AND name = ?2",
            params![bucket, name],
            |r| r.get(0),
        )
        .optional()?)
}

fn set_setting(w: &World, bucket: &str, name: &str, value: Option<&str>) -> Result<()> {
    require_bucket(w, bucket)?;
    match value {
        Some(v) => w.tx.execute(
            "INSERT INTO bucket_settings (bucket, name, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (bucket, name) DO UPDATE SET value = excluded.value",
            params![bucket, name, v],
        )?,
        None => w.tx.execute(
            "DELETE FROM bucket_settings WHERE bucket = ?1 AND name = ?2",
            params![bucket, name],
        )?,
    };
    Ok(())
}

/// PutBucketOwnershipControls (`Some`) and DeleteBucketOwnershipControls (`None`).
pub(super) fn put_ownership(w: &World, bucket: &str, o: Option<ObjectOwnership>) -> Result<()> {
    set_setting(w, bucket, "ownership", o.map(ObjectOwnership::as_str))
}

pub(super) fn ownership(w: &World, bucket: &str) -> Result<Option<ObjectOwnership>> {
    setting(w, bucket, "ownership")?
        .map(|o| o.parse())
        .transpose()
}

/// PutPublicAccessBlock (`Some`) and DeletePublicAccessBlock (`None`).
pub(super) fn put_public_access_block(
    w: &World,
    bucket: &str,
    block: Option<PublicAccessBlock>,
) -> Result<()> {
    let json = block
        .map(|b| serde_json::to_string(&b))
        .transpose()
        .map_err(Error::internal)?;
    set_setting(w, bucket, "public_access_block", json.as_deref())
}

pub(super) fn public_access_block(w: &World, bucket: &str) -> Result<Option<PublicAccessBlock>> {
    setting(w, bucket, "public_access_block")?
        .map(|j| serde_json::from_str(&j).map_err(Error::internal))
        .transpose()
}

pub(super) fn bucket_policy_document(
    w: &World,
    bucket: &str,
) -> Result<Option<crate::policy::PolicyDocument>> {
    setting(w, bucket, "policy")?
        .map(|json| crate::policy::PolicyDocument::parse(&json).map_err(|e| Error::internal(e.0)))
        .transpose()
}

/// PutBucketPolicy (`Some`) and DeleteBucketPolicy (`None`). The document must parse as a
/// policy (400 `MalformedPolicy`); a public one (granting anonymous callers any of ListBucket,
/// GetObject, PutObject) is refused (403) under Block Public Access's `block_public_policy`.
pub(super) fn put_bucket_policy(w: &World, bucket: &str, json: Option<&str>) -> Result<()> {
    if let Some(json) = json {
        crate::policy::PolicyDocument::parse(json).map_err(|e| {
            Error::new(
                "MalformedPolicy",
                format!("Policy has invalid syntax: {}", e.0),
            )
            .status(400)
            .bucket(bucket)
        })?;
        // Public, as Block Public Access reads it: an Allow to every principal (`*`) without
        // a Condition narrowing it.
        let value: serde_json::Value = serde_json::from_str(json).map_err(Error::internal)?;
        let statements = match &value["Statement"] {
            serde_json::Value::Array(list) => list.clone(),
            one => vec![one.clone()],
        };
        let public = statements.iter().any(|st| {
            let everyone = match &st["Principal"] {
                serde_json::Value::String(p) => p == "*",
                serde_json::Value::Object(m) => m.get("AWS").is_some_and(|a| {
                    a == "*" || a.as_array().is_some_and(|l| l.iter().any(|x| x == "*"))
                }),
                _ => false,
            };
            st["Effect"] == "Allow" && everyone && st.get("Condition").is_none()
        });
        if public && public_access_block(w, bucket)?.is_some_and(|b| b.block_public_policy) {
            return Err(Error::access_denied("Access Denied").bucket(bucket));
        }
    }
    set_setting(w, bucket, "policy", json)
}

pub(super) fn bucket_policy(w: &World, bucket: &str) -> Result<Option<String>> {
    setting(w, bucket, "policy")
}

/// The smallest string greater than every string starting with `prefix`, for range scans.
pub(super) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

pub(super) fn list_objects(w: &World, request: &ListObjects) -> Result<Page<ObjectSummary>> {
    require_bucket(w, &request.bucket)?;
    let limit = request.max_keys.unwrap_or(PAGE).clamp(1, PAGE);
    let prefix = request.prefix.clone().unwrap_or_default();
    // One lower bound, so each page is an index range scan (two bounds made SQLite scan from
    // the prefix on every page: quadratic in the listing's length).
    let lower = match request
        .continuation
        .as_ref()
        .or(request.start_after.as_ref())
    {
        Some(after) if after.as_str() >= prefix.as_str() => format!("{after}\0"),
        _ => prefix.clone(),
    };
    // Restores are read only when asked for (a plain listing joins nothing).
    let mut stmt = w.tx.prepare_cached(if request.restore_status {
        "SELECT key, size, etag, storage_class, last_modified, r.done, r.expiry,
                owner_id, owner_name
         FROM objects LEFT JOIN restores r ON r.object_id = objects.id
         WHERE bucket = ?1 AND is_latest = 1 AND is_delete_marker = 0
           AND key >= ?2 AND key < ?3
         ORDER BY key LIMIT ?4"
    } else {
        "SELECT key, size, etag, storage_class, last_modified, NULL, NULL, owner_id, owner_name
         FROM objects
         WHERE bucket = ?1 AND is_latest = 1 AND is_delete_marker = 0
           AND key >= ?2 AND key < ?3
         ORDER BY key LIMIT ?4"
    })?;
    let rows = stmt.query_map(
        params![request.bucket, lower, prefix_end(&prefix), limit + 1],
        |r| {
            let class: String = r.get(3)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                class,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<Millis>>(5)?,
                r.get::<_, Option<Millis>>(6)?,
                (
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ),
            ))
        },
    )?;
    let mut items = Vec::new();
    for row in rows {
        let (key, size, etag, class, modified, done, expiry, (owner_id, owner_name)) = row?;
        // The same phases as HEAD's x-amz-restore (StoredObject::restore_phase).
        let restore = match done {
            Some(done) => {
                if w.now < done {
                    Some(RestoreState {
                        ongoing: true,
                        expiry: None,
                    })
                } else if expiry.is_some_and(|e| w.now >= e) {
                    None
                } else {
                    Some(RestoreState {
                        ongoing: false,
                        expiry: expiry.map(clock::to_datetime),
                    })
                }
            }
            _ => None,
        };
        items.push(ObjectSummary {
            key,
            size: size as u64,
            etag,
            storage_class: class.parse()?,
            last_modified: clock::to_datetime(modified),
            restore,
            owner: Some(identity::owner_from(w, owner_id, owner_name)),
        });
    }
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|o| o.key.clone())
    } else {
        None
    };
    Ok(Page { items, next })
}

pub(super) fn list_object_versions(
    w: &World,
    bucket: &str,
    prefix: Option<&str>,
    continuation: Option<&str>,
) -> Result<Page<ObjectVersion>> {
    require_bucket(w, bucket)?;
    let prefix = prefix.unwrap_or_default();
    // The token is "KEY\0ID": versions come by key, newest (highest id) first.
    let (after_key, after_id) = match continuation.and_then(|c| c.rsplit_once('\0')) {
        Some((key, id)) => (Some(key.to_string()), id.parse::<i64>().unwrap_or(i64::MAX)),
        None => (None, i64::MAX),
    };
    // First the rest of the key the last page stopped in, then the keys after it: each an
    // index range scan.
    let mut stored = Vec::new();
    if let Some(key) = &after_key {
        let mut rest = w.tx.prepare_cached(concat!(
            "SELECT ",
            object_columns!(joined),
            objects_with_restores!(),
            "WHERE bucket = ?1 AND key = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4"
        ))?;
        let rows = rest.query_map(
            params![bucket, key, after_id, PAGE + 1],
            StoredObject::from_row,
        )?;
        stored = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    }
    let lower = match &after_key {
        Some(after) if after.as_str() >= prefix => format!("{after}\0"),
        _ => prefix.to_string(),
    };
    let mut stmt = w.tx.prepare_cached(concat!(
        "SELECT ",
        object_columns!(joined),
        objects_with_restores!(),
        "WHERE bucket = ?1 AND key >= ?2 AND key < ?3
         ORDER BY key, id DESC LIMIT ?4"
    ))?;
    let wanted = (PAGE as usize + 1).saturating_sub(stored.len());
    let rows = stmt.query_map(
        params![bucket, lower, prefix_end(prefix), wanted as i64],
        StoredObject::from_row,
    )?;
    stored.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    let next = if stored.len() > PAGE as usize {
        stored.truncate(PAGE as usize);
        stored.last().map(|o| format!("{}\0{}", o.key, o.id))
    } else {
        None
    };
    let items = stored
        .into_iter()
        .map(|o| ObjectVersion {
            key: o.key,
            version_id: o.version_id,
            is_latest: o.is_latest,
            is_delete_marker: o.is_delete_marker,
            size: o.size,
            etag: (!o.is_delete_marker).then_some(o.etag),
            storage_class: (!o.is_delete_marker).then_some(o.storage_class),
            last_modified: clock::to_datetime(o.last_modified),
            owner: Some(identity::owner_from(w, o.owner.0, o.owner.1)),
        })
        .collect();
    Ok(Page { items, next })
}

/// CopyObject's rules: preconditions on the source, a readable source, and no copy of the
/// current version onto itself that changes nothing (400 `InvalidRequest`): a copy in place must
/// change the storage class or replace the metadata.
pub(super) fn copy_object(w: &World, request: &CopyObject) -> Result<ObjectWritten> {
    let src = &request.source;
    let source = find(w, &src.bucket, &src.key, src.version_id.as_deref())?;
    check_read(&request.conditions, &source, true)?;
    if !source.is_readable(w.now) {
        return Err(not_readable(&source));
    }
    require_bucket(w, &request.bucket)?;
    let class = request.storage_class.unwrap_or(StorageClass::Standard);
    let in_place = src.bucket == request.bucket && src.key == request.key && source.is_latest;
    if in_place && request.replace.is_none() && class == source.storage_class {
        return Err(Error::new(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        )
        .status(400)
        .bucket(&request.bucket)
        .key(&request.key));
    }
    if source.size > MAX_COPY_SIZE {
        return Err(copy_source_too_large(&source));
    }
    // A seeded source's copy stays synthetic; a single-request copy's ETag is the MD5 of its
    // bytes on S3: the source's own ETag.
    let etag = if source.has_body {
        copy_etag(w, &source)?
    } else {
        synthetic_etag(pattern_key(&source), source.size)
    };
    write_copy(w, request, &source, class, etag)
}

/// Writes the copy of `source` that `request` asks for, with `etag` (the caller's: a single
/// copy's or the multipart form of a copy made of parts): a seeded source's copy stays
/// synthetic, a stored one shares the source's body; metadata is the source's unless replaced.
fn write_copy(
    w: &World,
    request: &CopyObject,
    source: &StoredObject,
    class: StorageClass,
    etag: String,
) -> Result<ObjectWritten> {
    let Replaced {
        content_type,
        metadata,
        headers,
    } = request.attributes(&source.content_type, &source.metadata, &source.headers);
    if !source.has_body {
        return insert_synthetic(
            w,
            Synthetic {
                bucket: &request.bucket,
                key: &request.key,
                pattern_key: pattern_key(source),
                size: source.size,
                etag: &etag,
                class,
                content_type,
                metadata: &metadata,
                headers: &headers,
            },
        );
    }
    let fill = copied_fill(w, source, etag)?;
    store_object(
        w,
        PutObject {
            bucket: request.bucket.clone(),
            key: request.key.clone(),
            body: Vec::new(),
            storage_class: Some(class),
            content_type,
            metadata,
            headers,
            conditions: Conditions::default(),
        },
        fill,
    )
}

/// A copy by multipart upload, as a client makes one for objects over 5 GB:
/// CreateMultipartUpload, one UploadPartCopy per `part_size` bytes of the source
/// (`x-amz-copy-source-range`), CompleteMultipartUpload, with their rules ([`part_copy_range`],
/// [`check_part_sizes`]), in one transaction. The copy has the multipart ETag of its parts
/// (`…-N`); a seeded source's copy stays synthetic. Metadata is the source's unless replaced
/// (the client reads it and gives it to CreateMultipartUpload).
pub(super) fn copy_object_multipart(
    w: &World,
    request: &CopyObject,
    part_size: u64,
) -> Result<ObjectWritten> {
    let src = &request.source;
    let source = find(w, &src.bucket, &src.key, src.version_id.as_deref())?;
    check_read(&request.conditions, &source, true)?;
    if !source.is_readable(w.now) {
        return Err(not_readable(&source));
    }
    require_bucket(w, &request.bucket)?;
    if request.key.is_empty() || request.key.len() > 1024 {
        return Err(Error::new(
            "KeyTooLongError",
            "Object keys must be 1 to 1,024 bytes long.",
        )
        .status(400)
        .bucket(&request.bucket));
    }
    if part_size == 0 {
        return Err(Error::invalid_argument("the part size must be at least 1 byte").status(400));
    }
    let mut ranges = Vec::new();
    let mut start = 0u64;
    loop {
        let end = start.saturating_add(part_size).min(source.size);
        let header = format!("bytes={start}-{}", end.saturating_sub(1));
        let range = if source.size == 0 {
            part_copy_range(None, 0)
        } else {
            part_copy_range(Some(&header), source.size)
        }
        .map_err(|e| e.bucket(&source.bucket).key(&source.key))?;
        ranges.push(range);
        start = end;
        if start >= source.size {
            break;
        }
    }
    let sizes: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
    check_part_sizes(&sizes).map_err(|e| e.bucket(&request.bucket).key(&request.key))?;
    let class = request.storage_class.unwrap_or(StorageClass::Standard);
    let md5s = if source.has_body {
        ranges
            .iter()
            .map(|r| md5_of_range(w, &source, r.clone()))
            .collect::<Result<Vec<[u8; 16]>>>()?
    } else {
        ranges
            .iter()
            .map(|r| synthetic_part_md5(pattern_key(&source), r))
            .collect()
    };
    write_copy(w, request, &source, class, multipart_etag(&md5s))
}

pub(super) fn delete_object(
    w: &World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Deleted> {
    let versioning = require_bucket(w, bucket)?;
    if let Some(v) = version_id {
        // Deleting one version for good; a missing version is not an error in S3.
        let version = (v != "null").then_some(v);
        let removed: Option<(bool, bool)> =
            w.tx.query_row(
                "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 AND version_id IS ?3
                 RETURNING is_latest, is_delete_marker",
                params![bucket, key, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((true, _)) = removed {
            w.tx.execute(
                "UPDATE objects SET is_latest = 1 WHERE id =
                     (SELECT MAX(id) FROM objects WHERE bucket = ?1 AND key = ?2)",
                params![bucket, key],
            )?;
        }
        return Ok(Deleted {
            key: key.to_string(),
            version_id: Some(v.to_string()),
            delete_marker: removed.is_some_and(|(_, marker)| marker),
        });
    }
    if versioning == 0 {
        w.tx.execute(
            "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
            params![bucket, key],
        )?;
        return Ok(Deleted {
            key: key.to_string(),
            version_id: None,
            delete_marker: false,
        });
    }
    // Versioned (or suspended) bucket: the delete adds a marker that becomes the current version.
    let marker_version = supersede(w, bucket, key)?;
    let owner = identity::owner_of_new_object(w, bucket)?;
    w.tx.execute(
        "INSERT INTO objects (bucket, key, version_id, is_latest, is_delete_marker, last_modified,
             owner_id, owner_name)
         VALUES (?1, ?2, ?3, 1, 1, ?4, ?5, ?6)",
        params![
            bucket,
            key,
            marker_version,
            w.now,
            owner.id,
            owner.display_name
        ],
    )?;
    Ok(Deleted {
        key: key.to_string(),
        version_id: Some(marker_version.unwrap_or_else(|| "null".to_string())),
        delete_marker: true,
    })
}

/// A deterministic draw in `[0, 1)` from the world's seed and the request.
fn draw(seed: u64, object: &StoredObject, at: Millis) -> f64 {
    // FNV-1a over the identity, then splitmix64 to spread the bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    let parts = [
        object.bucket.as_bytes(),
        object.key.as_bytes(),
        object.version_id.as_deref().unwrap_or("").as_bytes(),
        &at.to_le_bytes(),
    ];
    for part in parts {
        for &b in part {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// When a restore requested at `at` finishes: a whole minute drawn from AWS's documented
/// range for the tier (SEMANTICS.md), never before its start nor after its end. Restores finish
/// on whole minutes, so a job's millions of restores finish at a few hundred instants
/// (`restore_events`).
pub(super) fn restore_done_at(
    seed: u64,
    object: &StoredObject,
    tier: Tier,
    at: Millis,
    from_batch: bool,
) -> Millis {
    const MINUTE: Millis = 60_000;
    let deep = is_deep(object.storage_class, object.archive_tier);
    let (low, high) = restore_window(deep, tier, from_batch);
    let (low, high) = (
        at + low.as_millis() as Millis,
        at + high.as_millis() as Millis,
    );
    // The whole minutes inside the window (every documented window holds several).
    let (first, last) = (
        (low + MINUTE - 1).div_euclid(MINUTE),
        high.div_euclid(MINUTE),
    );
    if last < first {
        return low;
    }
    let minutes = last - first + 1;
    let drawn = ((minutes as f64 * draw(seed, object, at)) as Millis).min(minutes - 1);
    (first + drawn) * MINUTE
}

/// What restores write, held until [`RestoreWrites::write`]: the rows of restores started
/// (many to a statement) and the changes to `restore_events`, summed per instant, so a chunk of
/// a job's tasks writes one statement per instant its restores finish or expire at, not one per
/// object. Every change of a restore's instants goes through [`RestoreWrites::replace`]; a
/// restore removed (its object deleted, moved to another Intelligent-Tiering tier) takes its
/// instants away by the trigger on `restores`. Held rows are not seen by reads until written: a
/// caller whose next restore may be of the same object writes first.
#[derive(Default)]
pub(super) struct RestoreWrites {
    /// Instant: (change of restores finishing, change of restored copies expiring).
    changes: std::collections::HashMap<Millis, (i64, i64)>,
    /// Restores started, to be written into `restores`.
    started: Vec<Started>,
}

/// A restore started: (object id, tier, days, requested, done, expiry).
type Started = (i64, Tier, Option<u32>, Millis, Millis, Option<Millis>);

/// Restores started written by one `INSERT`, in statements of these many rows (few distinct
/// statements, so they stay prepared; their texts, by which rusqlite's cache finds them, are
/// built once).
const STARTED_ROWS: [usize; 3] = [128, 16, 1];
static STARTED_SQL: std::sync::LazyLock<[String; 3]> =
    std::sync::LazyLock::new(|| STARTED_ROWS.map(started_sql));

/// The `INSERT` of `rows` restores started, each replacing what an earlier (expired) restore of
/// its object left: each row's object id, tier, days, requested, done, expiry.
fn started_sql(rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::from(
        "INSERT INTO restores (object_id, tier, days, requested, done, expiry) VALUES ",
    );
    for n in 0..rows {
        let sep = if n == 0 { "" } else { ", " };
        let p = 1 + 6 * n;
        let _ = write!(
            sql,
            "{sep}(?{p}, ?{}, ?{}, ?{}, ?{}, ?{})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5
        );
    }
    sql.push_str(
        " ON CONFLICT (object_id) DO UPDATE SET tier = excluded.tier, days = excluded.days,
             requested = excluded.requested, done = excluded.done, expiry = excluded.expiry",
    );
    sql
}

impl RestoreWrites {
    /// An object's restore instants (finish, expiry) go from `old` to `new`.
    fn replace(
        &mut self,
        old: (Option<Millis>, Option<Millis>),
        new: (Option<Millis>, Option<Millis>),
    ) {
        if old.0 != new.0 {
            self.change(old.0, (-1, 0));
            self.change(new.0, (1, 0));
        }
        if old.1 != new.1 {
            self.change(old.1, (0, -1));
            self.change(new.1, (0, 1));
        }
    }

    fn change(&mut self, at: Option<Millis>, (finishing, expiring): (i64, i64)) {
        if let Some(at) = at {
            let counts = self.changes.entry(at).or_default();
            counts.0 += finishing;
            counts.1 += expiring;
        }
    }

    /// Writes what is held, in the caller's transaction.
    pub(super) fn write(&mut self, w: &World) -> Result<()> {
        let mut rest = self.started.as_slice();
        for (rows, sql) in STARTED_ROWS.iter().zip(STARTED_SQL.iter()) {
            while rest.len() >= *rows {
                let (these, after) = rest.split_at(*rows);
                let mut update = w.tx.prepare_cached(sql)?;
                for (n, (id, tier, days, requested, done, expiry)) in these.iter().enumerate() {
                    let p = 1 + 6 * n;
                    update.raw_bind_parameter(p, id)?;
                    update.raw_bind_parameter(p + 1, tier.as_str())?;
                    update.raw_bind_parameter(p + 2, days)?;
                    update.raw_bind_parameter(p + 3, requested)?;
                    update.raw_bind_parameter(p + 4, done)?;
                    update.raw_bind_parameter(p + 5, expiry)?;
                }
                update.raw_execute()?;
                rest = after;
            }
        }
        self.started.clear();
        if self.changes.is_empty() {
            return Ok(());
        }
        let mut add = w.tx.prepare_cached(
            "INSERT INTO restore_events (at, finishing, expiring) VALUES (?1, ?2, ?3)
             ON CONFLICT (at) DO UPDATE SET finishing = finishing + excluded.finishing,
                 expiring = expiring + excluded.expiring",
        )?;
        for (at, (finishing, expiring)) in self.changes.drain() {
            if (finishing, expiring) != (0, 0) {
                add.execute(params![at, finishing, expiring])?;
            }
        }
        Ok(())
    }
}

/// RestoreObject's rules for one object, shared by the direct call and by batch tasks.
/// What it writes is held in `events` until the caller writes it.
pub(super) fn restore(
    w: &World,
    object: &StoredObject,
    request: RestoreRequest,
    (from_batch, at): (bool, Millis),
    events: &mut RestoreWrites,
) -> Result<RestoreOutcome> {
    let fail = |code: &str, status: u16, message: String| {
        Err(Error::new(code, message)
            .status(status)
            .bucket(&object.bucket)
            .key(&object.key)
            .version_id(object.version_id.as_deref()))
    };
    let intelligent = object.storage_class == StorageClass::IntelligentTiering;
    if intelligent && object.current_archive_tier(at).is_none() {
        return fail(
            "ObjectAlreadyInActiveTierError",
            403,
            "Restore is not allowed, as object is already in the active tier".into(),
        );
    }
    if !object.is_archived(at) {
        return fail(
            "InvalidObjectState",
            403,
            format!(
                "Restore is not allowed for the object's current storage class, \"{}\"",
                object.storage_class
            ),
        );
    }
    let deep = object.storage_class == StorageClass::DeepArchive
        || object.archive_tier == Some(ArchiveAccessTier::DeepArchiveAccess);
    if deep && request.tier == Tier::Expedited {
        return fail(
            "InvalidArgument",
            400,
            "Expedited retrieval is not available for objects in Deep Archive".into(),
        );
    }
    match (intelligent, request.days) {
        (true, Some(_)) => {
            return fail(
                "InvalidArgument",
                400,
                "Days must not be specified for objects in the Intelligent-Tiering archive access tiers".into(),
            );
        }
        (false, None) => {
            return fail(
                "InvalidArgument",
                400,
                format!(
                    "Days is required to restore objects in {}",
                    object.storage_class
                ),
            );
        }
        (false, Some(days)) => {
            if let Err(e) = restore_days("Days", i64::from(days)) {
                return fail("InvalidArgument", 400, e.message);
            }
        }
        _ => {}
    }
    let expiry = request.days.map(|d| clock::expiry_after(at, d));
    match (object.restore_phase(at), object.restore) {
        (RestorePhase::Ongoing, Some(current)) => {
            let upgrade = request.tier.speed_rank() < current.tier.speed_rank()
                && request.days == current.days;
            if !upgrade {
                return fail(
                    "RestoreAlreadyInProgress",
                    409,
                    "Object restore is already in progress".into(),
                );
            }
            let done = current.done.min(restore_done_at(
                w.seed,
                object,
                request.tier,
                at,
                from_batch,
            ));
            w.tx.prepare_cached("UPDATE restores SET tier = ?2, done = ?3 WHERE object_id = ?1")?
                .execute(params![object.id, request.tier.as_str(), done])?;
            events.replace(
                (Some(current.done), current.expiry),
                (Some(done), current.expiry),
            );
            Ok(RestoreOutcome::Accepted)
        }
        (RestorePhase::Restored { .. }, _) => {
            w.tx.prepare_cached("UPDATE restores SET days = ?2, expiry = ?3 WHERE object_id = ?1")?
                .execute(params![object.id, request.days, expiry])?;
            let old = StoredRestore::instants(object.restore);
            events.replace(old, (old.0, expiry));
            Ok(RestoreOutcome::AlreadyRestored)
        }
        _ => {
            let done = restore_done_at(w.seed, object, request.tier, at, from_batch);
            events
                .started
                .push((object.id, request.tier, request.days, at, done, expiry));
            // What an earlier (expired) restore left in the row is replaced.
            events.replace(
                StoredRestore::instants(object.restore),
                (Some(done), expiry),
            );
            Ok(RestoreOutcome::Accepted)
        }
    }
}

pub(super) fn restore_object(
    w: &World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    request: RestoreRequest,
) -> Result<RestoreOutcome> {
    let object = find(w, bucket, key, version_id)?;
    let mut events = RestoreWrites::default();
    let outcome = restore(w, &object, request, (false, w.now), &mut events)?;
    events.write(w)?;
    Ok(outcome)
}

pub(super) fn set_access_tier(
    w: &World,
    bucket: &str,
    key: &str,
    tier: Option<ArchiveAccessTier>,
) -> Result<()> {
    let object = find(w, bucket, key, None)?;
    if object.storage_class != StorageClass::IntelligentTiering {
        return Err(Error::invalid_argument(format!(
            "{bucket}/{key} is {}: only INTELLIGENT_TIERING objects have access tiers",
            object.storage_class
        ))
        .bucket(bucket)
        .key(key));
    }
    w.tx.execute(
        "UPDATE objects SET archive_tier = ?2 WHERE id = ?1",
        params![object.id, tier.map(|t| t.as_str())],
    )?;
    // Its restore goes, and with it its instants (`restore_events`' trigger).
    w.tx.execute("DELETE FROM restores WHERE object_id = ?1", [object.id])?;
    Ok(())
}

/// The next instant a restore finishes or a restored copy expires.
pub(super) fn next_event(w: &World) -> Result<Option<Millis>> {
    Ok(w.tx
        .prepare_cached(
            "SELECT at FROM restore_events WHERE at > ?1 AND (finishing > 0 OR expiring > 0)
             ORDER BY at LIMIT 1",
        )?
        .query_row([w.now], |r| r.get(0))
        .optional()?)
}

/// Bulk-creates synthetic objects. Their ETags derive from key and size (not the MD5 of the
/// bytes), so seeding a million objects hashes nothing large.
#[allow(clippy::too_many_arguments)]
pub(super) fn seed(
    w: &World,
    bucket: &str,
    count: u64,
    prefix: &str,
    storage_class: StorageClass,
    size: u64,
    stop: &dyn Fn() -> Result<()>,
) -> Result<u64> {
    if require_bucket(w, bucket)? == 1 {
        return Err(Error::not_supported(
            "seeding objects into a versioned bucket is not supported",
        )
        .bucket(bucket));
    }
    let width = count.saturating_sub(1).to_string().len().max(6);
    // Re-seeding replaces what is there; into an empty prefix (the usual case) nothing is
    // looked up per object.
    let existing: bool = w.tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = ?1 AND key >= ?2 AND key < ?2 || x'ffff')",
        params![bucket, prefix],
        |r| r.get(0),
    )?;
    let mut delete = w.tx.prepare_cached(
        "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL",
    )?;
    // Rows go in SEED_ROWS at a time, one multi-row `INSERT` each (a statement per object was
    // most of seeding's time); what all rows share is bound once per statement.
    let batch_sql = seed_insert_sql(SEED_ROWS);
    let mut batch = w.tx.prepare_cached(&batch_sql)?;
    let mut single = w.tx.prepare_cached(&seed_insert_sql(1))?;
    let shared: [&dyn rusqlite::ToSql; 4] =
        [&bucket, &(size as i64), &storage_class.as_str(), &w.now];
    let mut keys: Vec<String> = Vec::with_capacity(SEED_ROWS);
    let mut etags: Vec<String> = Vec::with_capacity(SEED_ROWS);
    let mut text = String::new();
    let mut i = 0u64;
    while i < count {
        let rows = (count - i).min(SEED_ROWS as u64) as usize;
        keys.clear();
        etags.clear();
        for n in 0..rows as u64 {
            if (i + n).is_multiple_of(4096) {
                stop()?;
            }
            use std::fmt::Write as _;
            let mut key = String::with_capacity(prefix.len() + width);
            let _ = write!(key, "{prefix}{:0width$}", i + n);
            etags.push(synthetic_etag_with(&mut text, &key, size));
            if existing {
                delete.execute(params![bucket, key])?;
            }
            keys.push(key);
        }
        let stmt = if rows == SEED_ROWS {
            &mut batch
        } else {
            &mut single
        };
        if rows == SEED_ROWS {
            for (n, value) in shared.iter().enumerate() {
                stmt.raw_bind_parameter(n + 1, value)?;
            }
            for (n, (key, etag)) in keys.iter().zip(&etags).enumerate() {
                stmt.raw_bind_parameter(5 + 2 * n, key)?;
                stmt.raw_bind_parameter(6 + 2 * n, etag)?;
            }
            stmt.raw_execute()?;
        } else {
            for (key, etag) in keys.iter().zip(&etags) {
                for (n, value) in shared.iter().enumerate() {
                    stmt.raw_bind_parameter(n + 1, value)?;
                }
                stmt.raw_bind_parameter(5, key)?;
                stmt.raw_bind_parameter(6, etag)?;
                stmt.raw_execute()?;
            }
        }
        i += rows as u64;
    }
    Ok(count)
}

/// Objects inserted by one statement while seeding.
const SEED_ROWS: usize = 128;

/// `INSERT` of `rows` seeded objects: `?1` bucket, `?2` size, `?3` storage class, `?4` time,
/// then each row's key and ETag.
fn seed_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO objects (bucket, key, is_latest, size, etag, storage_class, last_modified) VALUES ",
    );
    for n in 0..rows {
        use std::fmt::Write as _;
        let sep = if n == 0 { "" } else { ", " };
        let _ = write!(
            sql,
            "{sep}(?1, ?{}, 1, ?2, ?{}, ?3, ?4)",
            5 + 2 * n,
            6 + 2 * n
        );
    }
    sql
}

/// CopyObject's (and so an `S3PutObjectCopy` task's) refusal of a source over 5 GB.
fn copy_source_too_large(source: &StoredObject) -> Error {
    Error::new(
        "InvalidRequest",
        format!(
            "The specified copy source is larger than the maximum allowable size for a copy source: {MAX_COPY_SIZE}"
        ),
    )
    .status(400)
    .bucket(&source.bucket)
    .key(&source.key)
    .hint("copy objects over 5 GB by multipart upload (UploadPartCopy): restore::copy(m, #{ via: \"direct\" }) does")
}

/// One `S3PutObjectCopy` task: CopyObject's rules for a job's copy of `bucket`/`key` (a
/// readable source, at most 5 GB, no copy onto itself that changes nothing), then the copy.
/// A seeded object's copy stays synthetic (size and ETag of the source, no stored bytes), so a
/// million-object copy job costs no bodies.
pub(super) fn copy_for_job(
    w: &World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    copy: &CopyOperation,
) -> Result<ObjectWritten> {
    let source = find(w, bucket, key, version_id)?;
    if !source.is_readable(w.now) {
        return Err(not_readable(&source));
    }
    if source.size > MAX_COPY_SIZE {
        return Err(copy_source_too_large(&source));
    }
    // A missing target bucket is found by `supersede` (NoSuchBucket) before anything is
    // written; a copy in place has its bucket.
    if copy.is_in_place(bucket, key) && !copy.changes(source.storage_class) {
        return Err(Error::new(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        )
        .status(400)
        .bucket(bucket)
        .key(key));
    }
    let class = copy.storage_class.unwrap_or(StorageClass::Standard);
    let replace = copy.metadata_directive == Some(MetadataDirective::Replace);
    let (content_type, metadata, headers) = if replace {
        (None, BTreeMap::new(), BTreeMap::new())
    } else {
        (
            source.content_type.clone(),
            source.metadata.clone(),
            source.headers.clone(),
        )
    };
    let target_key = copy.target_key(key);
    if source.has_body {
        let fill = copied_fill(w, &source, copy_etag(w, &source)?)?;
        return store_object(
            w,
            PutObject {
                bucket: copy.target_bucket.clone(),
                key: target_key,
                body: Vec::new(),
                storage_class: Some(class),
                content_type,
                metadata,
                headers,
                conditions: Conditions::default(),
            },
            fill,
        );
    }
    insert_synthetic(
        w,
        Synthetic {
            bucket: &copy.target_bucket,
            key: &target_key,
            pattern_key: pattern_key(&source),
            size: source.size,
            etag: &synthetic_etag(pattern_key(&source), source.size),
            class,
            content_type,
            metadata: &metadata,
            headers: &headers,
        },
    )
}

/// PutObject of a synthetic body (`serve` completing a multipart upload whose parts all copied
/// one seeded object, in order, from its first byte): PutObject's rules, no stored bytes.
pub(super) fn put_synthetic(
    w: &World,
    request: &PutObject,
    pattern_key: &str,
    size: u64,
    etag: &str,
) -> Result<ObjectWritten> {
    if request.key.is_empty() || request.key.len() > 1024 {
        return Err(Error::new(
            "KeyTooLongError",
            "Object keys must be 1 to 1,024 bytes long.",
        )
        .status(400)
        .bucket(&request.bucket));
    }
    check_write(w, &request.bucket, &request.key, &request.conditions)?;
    insert_synthetic(
        w,
        Synthetic {
            bucket: &request.bucket,
            key: &request.key,
            pattern_key,
            size,
            etag,
            class: request.storage_class.unwrap_or(StorageClass::Standard),
            content_type: request.content_type.clone(),
            metadata: &request.metadata,
            headers: &request.headers,
        },
    )
}

/// A new synthetic object version: no stored bytes, `size` bytes of `pattern_key`'s pattern.
struct Synthetic<'a> {
    bucket: &'a str,
    key: &'a str,
    pattern_key: &'a str,
    size: u64,
    etag: &'a str,
    class: StorageClass,
    content_type: Option<String>,
    metadata: &'a BTreeMap<String, String>,
    headers: &'a BTreeMap<String, String>,
}

fn insert_synthetic(w: &World, s: Synthetic) -> Result<ObjectWritten> {
    let version = supersede(w, s.bucket, s.key)?;
    let metadata_text = serde_json::to_string(s.metadata).map_err(Error::internal)?;
    let headers_text = (!s.headers.is_empty())
        .then(|| serde_json::to_string(s.headers))
        .transpose()
        .map_err(Error::internal)?;
    // A pattern key equal to the key is left implicit (NULL), as seeded objects have it.
    let pattern = (s.pattern_key != s.key).then_some(s.pattern_key);
    let owner = identity::owner_of_new_object(w, s.bucket)?;
    w.tx.prepare_cached(
        "INSERT INTO objects (bucket, key, version_id, is_latest, size, etag, storage_class,
             last_modified, content_type, metadata, headers, synthetic, owner_id, owner_name)
         VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        s.bucket,
        s.key,
        version,
        s.size as i64,
        s.etag,
        s.class.as_str(),
        w.now,
        s.content_type,
        metadata_text,
        headers_text,
        pattern,
        owner.id,
        owner.display_name,
    ])?;
    Ok(ObjectWritten {
        bucket: s.bucket.to_string(),
        key: s.key.to_string(),
        etag: s.etag.to_string(),
        version_id: version,
        storage_class: s.class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `restore_events` holds what the objects' rows hold, whatever changes them: restores of
    /// every class and tier, asked for one by one and a chunk at a time (as a job does), again
    /// while running (upgrades), again once done (new expiry) and once expired, objects
    /// overwritten, deleted and moved between Intelligent-Tiering tiers, with the clock moving
    /// through finishes and expiries. After every step `next_event` is the earliest instant
    /// after now that the rows hold, and every restore finishes on a whole minute inside its
    /// tier's documented window.
    #[test]
    fn restore_events_follow_the_objects_rows() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sim = super::super::Simulator::open(dir.path()).expect("a simulator");
        sim.with_world(|w| {
            create_bucket(w, "bkt", None)?;
            let classes = [
                StorageClass::Glacier,
                StorageClass::DeepArchive,
                StorageClass::IntelligentTiering,
            ];
            for class in classes {
                seed(w, "bkt", 12, &format!("{class}/"), class, 1, &|| Ok(()))?;
            }
            let keys: Vec<String> = classes
                .iter()
                .flat_map(|c| (0..12).map(move |n| format!("{c}/{n:06}")))
                .collect();
            let mut rng: u64 = 0x5eed;
            let mut next = |n: u64| {
                rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (rng >> 33) % n
            };
            let mut now = w.now;
            let tiers = [Tier::Expedited, Tier::Standard, Tier::Bulk];
            for step in 0..600 {
                let at = World {
                    tx: w.tx,
                    now,
                    account_id: w.account_id.clone(),
                    region: w.region.clone(),
                    seed: w.seed,
                    caller: w.caller.clone(),
                };
                let key = &keys[next(keys.len() as u64) as usize];
                let intelligent = key.starts_with("INTELLIGENT");
                let request = RestoreRequest {
                    days: (!intelligent).then(|| 1 + next(3) as u32),
                    tier: tiers[next(3) as usize],
                };
                // Refusals (not archived, already in progress, no such key) change nothing.
                match next(10) {
                    0..=3 => drop(restore_object(&at, "bkt", key, None, request)),
                    4 => {
                        // A chunk of a job, as `control::prefetch` gives it: the objects of
                        // a key range read at once, restored in key order, written at once.
                        let start = next(keys.len() as u64 - 6) as usize;
                        let (first, last) = (&keys[start], &keys[start + 5]);
                        let objects = latest_in_range_for_restore(&at, "bkt", first, last, 64)?
                            .expect("a narrow range");
                        let mut writes = RestoreWrites::default();
                        for object in objects.iter().filter(|o| !o.is_delete_marker) {
                            let request = RestoreRequest {
                                days: (!object.key.starts_with("INTELLIGENT")).then_some(2),
                                tier: Tier::Bulk,
                            };
                            drop(restore(&at, object, request, (true, now), &mut writes));
                        }
                        writes.write(&at)?;
                    }
                    5 => drop(delete_object(&at, "bkt", key, None)),
                    6 if intelligent => {
                        let tier = [None, Some(ArchiveAccessTier::ArchiveAccess)][next(2) as usize];
                        drop(set_access_tier(&at, "bkt", key, tier));
                    }
                    6 => {
                        seed(&at, "bkt", 1, key, StorageClass::Glacier, 1, &|| Ok(()))?;
                    }
                    _ => now += [60_000, 3_600_000, 5 * 3_600_000, 86_400_000][next(4) as usize],
                }
                let at = World { now, ..at };
                let held: Vec<(Millis, i64, i64)> =
                    w.tx.prepare(
                        "SELECT at, SUM(f), SUM(e) FROM (
                             SELECT done AS at, 1 AS f, 0 AS e FROM restores
                             UNION ALL SELECT expiry, 0, 1 FROM restores WHERE expiry IS NOT NULL)
                         GROUP BY at ORDER BY at",
                    )?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let counted: Vec<(Millis, i64, i64)> =
                    w.tx.prepare(
                        "SELECT at, finishing, expiring FROM restore_events
                         WHERE finishing <> 0 OR expiring <> 0 ORDER BY at",
                    )?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                assert_eq!(counted, held, "step {step}");
                let expected = held.iter().map(|e| e.0).find(|&t| t > now);
                assert_eq!(next_event(&at)?, expected, "step {step}");
                let restores: Vec<(Millis, Millis, String, String, Option<String>)> =
                    w.tx.prepare(
                        "SELECT requested, done, tier, storage_class, archive_tier
                         FROM restores JOIN objects ON objects.id = restores.object_id",
                    )?
                    .query_map([], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                for (requested, done, tier, class, archive) in restores {
                    let class: StorageClass = class.parse().expect("a class");
                    let archive = archive.map(|a| a.parse().expect("a tier"));
                    let deep = is_deep(class, archive);
                    // An upgrade finishes in the faster tier's window from its own request:
                    // between the class's fastest and slowest windows from the first request.
                    let windows: Vec<_> = [true, false]
                        .iter()
                        .flat_map(|&batch| tiers.map(|t| restore_window(deep, t, batch)))
                        .collect();
                    let fastest = windows.iter().map(|w| w.0).min().expect("windows");
                    let slowest = windows.iter().map(|w| w.1).max().expect("windows");
                    assert_eq!(
                        done % 60_000,
                        0,
                        "step {step}: {done} is not a whole minute"
                    );
                    assert!(
                        done - requested >= fastest.as_millis() as Millis
                            && done - requested <= slowest.as_millis() as Millis,
                        "step {step}: a {tier} restore of {class} took {} ms",
                        done - requested
                    );
                }
            }
            Ok(())
        })
        .expect("the world");
    }
}
