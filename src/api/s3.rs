//! `s3::` — buckets and objects: create, upload, read, inspect, restore, copy, delete.

use rhai::plugin::*;

/// Maps of S3 answers, shared with other areas.
pub mod maps {
    use rhai::{Dynamic, Map};

    use crate::api::{map_of_strings, object, opt_str, opt_time, time_of};
    use crate::backend::{BucketInfo, ObjectHead, ObjectSummary, ObjectWritten, RestoreState};

    pub fn bucket(b: &BucketInfo) -> Map {
        object([
            ("name", b.name.clone().into()),
            ("region", b.region.clone().into()),
            ("arn", b.arn().into()),
            ("created", time_of(b.created)),
        ])
    }

    pub fn written(o: &ObjectWritten) -> Map {
        object([
            ("bucket", o.bucket.clone().into()),
            ("key", o.key.clone().into()),
            ("etag", o.etag.clone().into()),
            ("version_id", opt_str(o.version_id.clone())),
            ("storage_class", o.storage_class.as_str().into()),
        ])
    }

    /// `x-amz-restore` or a listing's `RestoreStatus`: `()` or `#{ ongoing, expiry }`.
    pub fn restore(r: Option<&RestoreState>) -> Dynamic {
        match r {
            None => Dynamic::UNIT,
            Some(r) => object([
                ("ongoing", r.ongoing.into()),
                ("expiry", opt_time(r.expiry)),
            ])
            .into(),
        }
    }

    pub fn head(h: &ObjectHead) -> Map {
        let restore = restore(h.restore.as_ref());
        object([
            ("bucket", h.bucket.clone().into()),
            ("key", h.key.clone().into()),
            ("version_id", opt_str(h.version_id.clone())),
            ("size", (h.size as i64).into()),
            ("etag", h.etag.clone().into()),
            ("storage_class", h.storage_class.as_str().into()),
            ("last_modified", time_of(h.last_modified)),
            ("content_type", opt_str(h.content_type.clone())),
            ("metadata", map_of_strings(&h.metadata).into()),
            (
                "archive_status",
                opt_str(h.archive_status.map(|a| a.as_str())),
            ),
            ("restore", restore),
        ])
    }

    /// A listing entry; with `restore_status`, also its `restore`.
    pub fn summary(o: &ObjectSummary, restore_status: bool) -> Map {
        let mut map = object([
            ("key", o.key.clone().into()),
            ("size", (o.size as i64).into()),
            ("etag", o.etag.clone().into()),
            ("storage_class", o.storage_class.as_str().into()),
            ("last_modified", time_of(o.last_modified)),
        ]);
        if restore_status {
            map.insert("restore".into(), restore(o.restore.as_ref()));
        }
        map
    }
}

use rhai::{Blob, Dynamic, Map};

use crate::api::{Host, Opts, RhaiResult, string_map};
use crate::backend::{PutObject, StorageClass};
use crate::errors::Error;

fn body_bytes(body: Dynamic) -> Result<Vec<u8>, Error> {
    if body.is_string() {
        return Ok(body.to_string().into_bytes());
    }
    body.try_cast::<Blob>().ok_or_else(|| {
        Error::invalid_argument("s3::put_object: the body must be a string or a blob")
    })
}

fn put(
    host: &Host,
    function: &'static str,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    options: Map,
) -> RhaiResult<Map> {
    let mut o = Opts::new(function, options);
    let storage_class = o.parse::<StorageClass>("storage_class")?;
    let content_type = o.string("content_type")?;
    let metadata = o
        .map("metadata")?
        .map(|m| string_map("metadata", m))
        .transpose()?
        .unwrap_or_default();
    let conditions = crate::backend::Conditions {
        if_match: o.string("if_match")?,
        if_none_match: o.string("if_none_match")?,
        ..Default::default()
    };
    o.finish()?;
    let written = host.backend.put_object(PutObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        body,
        storage_class,
        content_type,
        metadata,
        headers: Default::default(),
        conditions,
    })?;
    Ok(maps::written(&written))
}

/// `s3::get_object`'s options: `version_id` and the preconditions `if_match`, `if_none_match`,
/// `if_modified_since`, `if_unmodified_since` (RFC 3339 timestamps).
fn get_options(bucket: &str, key: &str, options: Map) -> Result<crate::backend::GetObject, Error> {
    let mut o = Opts::new("s3::get_object", options);
    let version_id = o.string("version_id")?;
    let date = |o: &mut Opts, name: &'static str| -> Result<_, Error> {
        o.string(name)?
            .map(|t| crate::timefmt::parse_rfc3339(&t))
            .transpose()
    };
    let conditions = crate::backend::Conditions {
        if_match: o.string("if_match")?,
        if_none_match: o.string("if_none_match")?,
        if_modified_since: date(&mut o, "if_modified_since")?,
        if_unmodified_since: date(&mut o, "if_unmodified_since")?,
    };
    o.finish()?;
    Ok(crate::backend::GetObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id,
        conditions,
    })
}

/// GetObject's body; options as `s3::get_object`.
fn object_bytes(host: &Host, bucket: &str, key: &str, options: Map) -> Result<Vec<u8>, Error> {
    let request = get_options(bucket, key, options)?;
    Ok(host.backend.get_object_with(&request)?.1)
}

fn version_option(function: &'static str, options: Map) -> Result<Option<String>, Error> {
    let mut o = Opts::new(function, options);
    let version_id = o.string("version_id")?;
    o.finish()?;
    Ok(version_id)
}

/// Buckets and objects: create, upload, read, inspect, restore one object, copy, delete.
#[export_module]
pub mod s3_api {
    use std::collections::BTreeMap;

    use rhai::{Array, Blob, Dynamic, Map, NativeCallContext};

    use super::{body_bytes, maps, object_bytes, put, version_option};
    use crate::api::{Opts, RhaiResult, support};
    use crate::backend::{ListObjects, ObjectId, RestoreRequest, StorageClass, Tier};
    use crate::errors::Error;

    /// Creates a bucket. Options: `region` (default: the backend's region), `versioning`
    /// (default `false`). Returns `#{ name, region, arn, created }`.
    ///
    /// ```rhai
    /// let b = s3::create_bucket("my-archive", #{ versioning: false });
    /// print(b.arn);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn create_bucket(ctx: NativeCallContext, name: &str, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("s3::create_bucket", options);
            let region = o.string("region")?;
            let versioning = o.bool("versioning")?.unwrap_or(false);
            o.finish()?;
            crate::backend::validate_bucket_name(name)?;
            let bucket = host.backend.create_bucket(name, region.as_deref())?;
            if versioning {
                host.backend.put_bucket_versioning(name, true)?;
            }
            Ok(maps::bucket(&bucket))
        })
    }

    /// Creates a bucket in the backend's region, without versioning.
    ///
    /// ```rhai
    /// s3::create_bucket("my-archive");
    /// ```
    #[rhai_fn(name = "create_bucket", return_raw)]
    pub fn create_bucket_default(ctx: NativeCallContext, name: &str) -> RhaiResult<Map> {
        create_bucket(ctx, name, Map::new())
    }

    /// Deletes an empty bucket; `BucketNotEmpty` if objects or versions remain
    /// (see `s3::empty_bucket`).
    ///
    /// ```rhai
    /// s3::delete_bucket("my-archive");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn delete_bucket(ctx: NativeCallContext, name: &str) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            crate::api::confirm_destructive(host, &format!("Delete the bucket {name}"))?;
            Ok(host.backend.delete_bucket(name)?)
        })
    }

    /// Lists your buckets as `#{ name, region, arn, created }` maps.
    ///
    /// ```rhai
    /// for b in s3::list_buckets() { print(b.name); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn list_buckets(ctx: NativeCallContext) -> RhaiResult<Array> {
        support::call(&ctx, |host| {
            let buckets = host.backend.list_buckets()?;
            Ok(buckets.iter().map(|b| maps::bucket(b).into()).collect())
        })
    }

    /// Uploads an object. `body` is a string or a blob. Options: `storage_class` (default
    /// `"STANDARD"`; `"GLACIER"`, `"DEEP_ARCHIVE"`, ...), `content_type`, `metadata` (a map),
    /// `if_none_match` (`"*"`: never replace an existing object) and `if_match` (an ETag: replace
    /// only that version), refused with 412 `PreconditionFailed` (404 `NoSuchKey` when
    /// `if_match` finds no object). Returns `#{ bucket, key, etag, version_id, storage_class }`.
    ///
    /// ```rhai
    /// s3::put_object("my-archive", "logs/2019.txt", "hello", #{ storage_class: "GLACIER" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn put_object(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        body: Dynamic,
        options: Map,
    ) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            put(
                host,
                "s3::put_object",
                bucket,
                key,
                body_bytes(body)?,
                options,
            )
        })
    }

    /// Uploads an object in the STANDARD class.
    ///
    /// ```rhai
    /// s3::put_object("my-archive", "notes.txt", "hello");
    /// ```
    #[rhai_fn(name = "put_object", return_raw)]
    pub fn put_object_default(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        body: Dynamic,
    ) -> RhaiResult<Map> {
        put_object(ctx, bucket, key, body, Map::new())
    }

    /// Uploads a local file; options as `s3::put_object`.
    ///
    /// ```rhai
    /// s3::upload_file("my-archive", "manifest.csv", "./manifest.csv", #{});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn upload_file(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        path: &str,
        options: Map,
    ) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let body = std::fs::read(path).map_err(|e| {
                Error::invalid_argument(format!("s3::upload_file: cannot read `{path}`: {e}"))
            })?;
            // One PutObject has no byte progress to show: a spinner says what is going on.
            let _spinner = (body.len() >= crate::progress::LONG_UPLOAD_BYTES).then(|| {
                crate::progress::Spinner::new(
                    host.quiet,
                    format!(
                        "uploading {path} ({} bytes) to s3://{bucket}/{key}",
                        body.len()
                    ),
                )
            });
            put(host, "s3::upload_file", bucket, key, body, options)
        })
    }

    /// Uploads a local file in the STANDARD class.
    ///
    /// ```rhai
    /// s3::upload_file("my-archive", "photo.jpg", "./photo.jpg");
    /// ```
    #[rhai_fn(name = "upload_file", return_raw)]
    pub fn upload_file_default(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        path: &str,
    ) -> RhaiResult<Map> {
        upload_file(ctx, bucket, key, path, Map::new())
    }

    /// Downloads an object as a blob. Options: `version_id`, and preconditions as HTTP's
    /// conditional GET: `if_match`, `if_none_match` (ETags, or `"*"`), `if_modified_since`,
    /// `if_unmodified_since` (RFC 3339). A failed `if_match`/`if_unmodified_since` is
    /// `PreconditionFailed` (412), a failed `if_none_match`/`if_modified_since` is `NotModified`
    /// (304). An archived object that is not restored fails with `InvalidObjectState` (403).
    ///
    /// ```rhai
    /// let bytes = s3::get_object("my-archive", "photo.jpg", #{});
    /// print(bytes.len());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn get_object(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        options: Map,
    ) -> RhaiResult<Blob> {
        support::call(&ctx, |host| Ok(object_bytes(host, bucket, key, options)?))
    }

    /// Downloads the current version of an object as a blob.
    ///
    /// ```rhai
    /// let bytes = s3::get_object("my-archive", "photo.jpg");
    /// ```
    #[rhai_fn(name = "get_object", return_raw)]
    pub fn get_object_default(ctx: NativeCallContext, bucket: &str, key: &str) -> RhaiResult<Blob> {
        get_object(ctx, bucket, key, Map::new())
    }

    /// Downloads an object as UTF-8 text. Options as `s3::get_object`: `version_id`, `if_match`,
    /// `if_none_match`, `if_modified_since`, `if_unmodified_since`.
    ///
    /// ```rhai
    /// print(s3::get_text("my-archive", "notes.txt", #{}));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn get_text(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        options: Map,
    ) -> RhaiResult<String> {
        support::call(&ctx, |host| {
            let bytes = object_bytes(host, bucket, key, options)?;
            String::from_utf8(bytes).map_err(|_| {
                Error::invalid_argument(format!("s3::get_text: {bucket}/{key} is not UTF-8 text"))
                    .bucket(bucket)
                    .key(key)
                    .into()
            })
        })
    }

    /// Downloads the current version of an object as UTF-8 text.
    ///
    /// ```rhai
    /// print(s3::get_text("my-archive", "notes.txt"));
    /// ```
    #[rhai_fn(name = "get_text", return_raw)]
    pub fn get_text_default(ctx: NativeCallContext, bucket: &str, key: &str) -> RhaiResult<String> {
        get_text(ctx, bucket, key, Map::new())
    }

    /// Reads an object's metadata without its body: `#{ bucket, key, version_id, size, etag,
    /// storage_class, last_modified, archive_status, restore }`, where `restore` is `()` when no
    /// restore was requested, else `#{ ongoing, expiry }`. Option: `version_id`.
    ///
    /// ```rhai
    /// let h = s3::head_object("my-archive", "photo.jpg", #{});
    /// if h.restore != () && !h.restore.ongoing { print(`readable until ${h.restore.expiry}`); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn head_object(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        options: Map,
    ) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let version_id = version_option("s3::head_object", options)?;
            let head = host
                .backend
                .head_object(bucket, key, version_id.as_deref())?;
            Ok(maps::head(&head))
        })
    }

    /// Reads the current version's metadata.
    ///
    /// ```rhai
    /// print(s3::head_object("my-archive", "photo.jpg").storage_class);
    /// ```
    #[rhai_fn(name = "head_object", return_raw)]
    pub fn head_object_default(ctx: NativeCallContext, bucket: &str, key: &str) -> RhaiResult<Map> {
        head_object(ctx, bucket, key, Map::new())
    }

    /// Lists current objects as `#{ key, size, etag, storage_class, last_modified }`, in key
    /// order, following every page. Options: `prefix`, `storage_classes` (array; default all),
    /// `limit` (default: no limit), `restore_status` (default `false`; `true` adds `restore`
    /// to each row as in `s3::head_object`, from ListObjectsV2's `RestoreStatus`: one request
    /// per 1,000 objects instead of a HEAD each).
    ///
    /// ```rhai
    /// let archived = s3::list_objects("my-archive", #{ prefix: "2019/", storage_classes: ["GLACIER"] });
    /// print(archived.len());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn list_objects(ctx: NativeCallContext, bucket: &str, options: Map) -> RhaiResult<Array> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("s3::list_objects", options);
            let prefix = o.string("prefix")?;
            let classes = o.parse_list::<StorageClass>("storage_classes")?;
            let limit = o.int("limit")?;
            let restore_status = o.bool("restore_status")?.unwrap_or(false);
            o.finish()?;
            let limit = match limit {
                None => usize::MAX,
                Some(n) if n >= 0 => n as usize,
                Some(_) => {
                    return Err(Error::invalid_argument(
                        "s3::list_objects: `limit` cannot be negative",
                    )
                    .into());
                }
            };
            let mut request = ListObjects {
                bucket: bucket.to_string(),
                prefix,
                restore_status,
                ..ListObjects::default()
            };
            let mut out = Array::new();
            // Shown from the second page on: one-page listings print nothing.
            let mut counter = crate::progress::Counter::new(
                host.quiet,
                format!("objects listed in s3://{bucket}"),
            );
            let mut scanned = 0u64;
            while out.len() < limit {
                let page = host.backend.list_objects(&request)?;
                scanned += page.items.len() as u64;
                for object in &page.items {
                    if classes
                        .as_ref()
                        .is_none_or(|c| c.contains(&object.storage_class))
                    {
                        out.push(maps::summary(object, restore_status).into());
                        if out.len() == limit {
                            break;
                        }
                    }
                }
                match page.next {
                    Some(next) => request.continuation = Some(next),
                    None => break,
                }
                counter.set(scanned);
                if host.interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(Error::new("Interrupted", "interrupted while listing")
                        .bucket(bucket)
                        .into());
                }
            }
            Ok(out)
        })
    }

    /// Lists every current object of a bucket.
    ///
    /// ```rhai
    /// for o in s3::list_objects("my-archive") { print(`${o.key} ${o.storage_class}`); }
    /// ```
    #[rhai_fn(name = "list_objects", return_raw)]
    pub fn list_objects_default(ctx: NativeCallContext, bucket: &str) -> RhaiResult<Array> {
        list_objects(ctx, bucket, Map::new())
    }

    /// Starts a restore of one archived object (RestoreObject). Options: `days` (how long the
    /// restored copy lives; default 1 for GLACIER/DEEP_ARCHIVE, none for Intelligent-Tiering
    /// archive tiers, which must not be given days), `tier` (`"STANDARD"` default, `"BULK"`,
    /// `"EXPEDITED"`), `version_id`. Returns `#{ status: 202 }` when a restore starts and
    /// `#{ status: 200 }` when a restored copy already existed (its expiry is recomputed);
    /// `RestoreAlreadyInProgress` (409) while one runs.
    ///
    /// ```rhai
    /// let r = s3::restore_object("my-archive", "photo.jpg", #{ days: 3, tier: "BULK" });
    /// print(r.status);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn restore_object(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        options: Map,
    ) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("s3::restore_object", options);
            let days = o.int("days")?;
            let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::Standard);
            let version_id = o.string("version_id")?;
            o.finish()?;
            let days = match days {
                Some(d) => Some(crate::backend::restore_days(
                    "s3::restore_object: `days`",
                    d,
                )?),
                None => {
                    let head = host
                        .backend
                        .head_object(bucket, key, version_id.as_deref())?;
                    (head.storage_class != StorageClass::IntelligentTiering).then_some(1)
                }
            };
            let outcome = host.backend.restore_object(
                bucket,
                key,
                version_id.as_deref(),
                RestoreRequest { days, tier },
            )?;
            let mut map = Map::new();
            map.insert("status".into(), (outcome.http_status() as i64).into());
            Ok(map)
        })
    }

    /// Starts a Standard restore with the default days.
    ///
    /// ```rhai
    /// s3::restore_object("my-archive", "photo.jpg");
    /// ```
    #[rhai_fn(name = "restore_object", return_raw)]
    pub fn restore_object_default(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
    ) -> RhaiResult<Map> {
        restore_object(ctx, bucket, key, Map::new())
    }

    /// Copies an object (the source must be readable: restore archived objects first).
    /// Options: `storage_class` of the copy (default `"STANDARD"`), `version_id` of the source.
    /// Returns the copy like `s3::put_object`.
    ///
    /// ```rhai
    /// s3::copy_object("my-archive", "photo.jpg", "my-archive", "photo.jpg", #{ storage_class: "STANDARD" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn copy_object(
        ctx: NativeCallContext,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        options: Map,
    ) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("s3::copy_object", options);
            let class = o.parse::<StorageClass>("storage_class")?;
            let version_id = o.string("version_id")?;
            o.finish()?;
            let written = host.backend.copy_object(
                (src_bucket, src_key, version_id.as_deref()),
                (dst_bucket, dst_key),
                class,
            )?;
            Ok(maps::written(&written))
        })
    }

    /// Copies an object into the STANDARD class.
    ///
    /// ```rhai
    /// s3::copy_object("my-archive", "a.txt", "my-archive", "b.txt");
    /// ```
    #[rhai_fn(name = "copy_object", return_raw)]
    pub fn copy_object_default(
        ctx: NativeCallContext,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> RhaiResult<Map> {
        copy_object(ctx, src_bucket, src_key, dst_bucket, dst_key, Map::new())
    }

    /// Deletes an object. Option: `version_id` (in a versioned bucket, the version to remove;
    /// without it a delete marker is added).
    ///
    /// ```rhai
    /// s3::delete_object("my-archive", "notes.txt", #{});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn delete_object(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        options: Map,
    ) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            let version_id = version_option("s3::delete_object", options)?;
            host.backend
                .delete_object(bucket, key, version_id.as_deref())?;
            Ok(())
        })
    }

    /// Deletes the current version of an object.
    ///
    /// ```rhai
    /// s3::delete_object("my-archive", "notes.txt");
    /// ```
    #[rhai_fn(name = "delete_object", return_raw)]
    pub fn delete_object_default(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
    ) -> RhaiResult<()> {
        delete_object(ctx, bucket, key, Map::new())
    }

    /// Deletes every object version and delete marker of a bucket, 1,000 at a time, and
    /// reports the early-deletion charge incurred by archived objects deleted before their
    /// minimum storage duration: `#{ deleted, early_deletion_usd }`.
    ///
    /// ```rhai
    /// let r = s3::empty_bucket("my-archive");
    /// print(`deleted ${r.deleted}, early deletion ${usd(r.early_deletion_usd)}`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn empty_bucket(ctx: NativeCallContext, bucket: &str) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            crate::api::confirm_destructive(
                host,
                &format!("Delete every object version in the bucket {bucket}"),
            )?;
            let now = host.backend.now()?;
            let mut deleted = 0i64;
            let mut charge = 0.0f64;
            let mut failures: BTreeMap<String, String> = BTreeMap::new();
            let mut counter = crate::progress::Counter::new(
                host.quiet,
                format!("object versions deleted from s3://{bucket}"),
            );
            // Whether the last page was full: more follow, so the work is long enough to show,
            // and to stop with Ctrl-C between pages.
            let mut full_page = false;
            loop {
                if full_page {
                    counter.set(deleted as u64);
                    if host.interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(Error::new(
                            "Interrupted",
                            format!("interrupted after deleting {deleted} object versions"),
                        )
                        .bucket(bucket)
                        .into());
                    }
                }
                // Always restart from the top: what was deleted is gone from the listing.
                let page = host.backend.list_object_versions(bucket, None, None)?;
                if page.items.is_empty() {
                    break;
                }
                let ids: Vec<ObjectId> = page
                    .items
                    .iter()
                    .map(|v| ObjectId {
                        key: v.key.clone(),
                        version_id: Some(v.version_id.clone().unwrap_or_else(|| "null".into())),
                    })
                    .collect();
                for version in &page.items {
                    if let Some(class) = version.storage_class {
                        let age_days = (now - version.last_modified).as_seconds_f64() / 86_400.0;
                        charge += crate::pricing::early_deletion_usd(class, version.size, age_days);
                    }
                }
                full_page = ids.len() >= 1_000;
                let results = host.backend.delete_objects(bucket, &ids)?;
                let before = failures.len();
                for (id, result) in ids.iter().zip(results) {
                    match result {
                        Ok(_) => deleted += 1,
                        Err(e) => {
                            failures.insert(id.key.clone(), e.to_string());
                        }
                    }
                }
                if failures.len() > before {
                    let (key, why) = failures
                        .iter()
                        .next()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .unwrap_or_default();
                    return Err(Error::new(
                    "DeleteFailed",
                    format!("s3::empty_bucket: {} objects could not be deleted; first: {key}: {why}", failures.len()),
                )
                .bucket(bucket)
                .key(key)
                .into());
                }
            }
            let mut map = Map::new();
            map.insert("deleted".into(), deleted.into());
            map.insert(
                "early_deletion_usd".into(),
                crate::pricing::round_usd(charge).into(),
            );
            Ok(map)
        })
    }
}
