//! `manifest::` — the list of objects a job acts on, as a host-backed `Manifest` value
//! (a million rows never become a million Rhai maps), read and written in AWS's CSV format.

use std::rc::Rc;

use rhai::plugin::*;

use crate::backend::StorageClass;
use crate::errors::{Error, Result};
use crate::formats::manifest::ManifestEntry;

/// A manifest: rows of bucket, key and optional version id. Clones share rows until one is
/// changed.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    rows: Rc<Rows>,
}

/// Rows stored compactly: keys and version ids back to back in one string, buckets interned.
/// A million keys of ~12 bytes take ~25 MB instead of ~130 MB as separate strings.
#[derive(Debug, Clone, Default)]
struct Rows {
    buckets: Vec<String>,
    bucket_of: Vec<u32>,
    text: String,
    /// End of row i's key in `text`; its version id (if any) runs to `version_ends[i]`.
    key_ends: Vec<usize>,
    version_ends: Vec<usize>,
    versioned: bool,
    /// Size, class and age of each row when every row came from a listing (`None` otherwise),
    /// so estimates need no HEAD per object.
    listed: Option<Vec<Listed>>,
}

/// What a listing says about an object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listed {
    pub size: u64,
    pub storage_class: StorageClass,
    pub last_modified: time::OffsetDateTime,
}

/// One row of a manifest, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub version_id: Option<&'a str>,
}

impl Row<'_> {
    pub fn to_entry(self) -> ManifestEntry {
        ManifestEntry {
            bucket: self.bucket.to_string(),
            key: self.key.to_string(),
            version_id: self.version_id.map(str::to_string),
        }
    }
}

impl Manifest {
    pub fn len(&self) -> usize {
        self.rows.key_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn has_versions(&self) -> bool {
        self.rows.versioned
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> Row<'_> {
        let rows = &self.rows;
        let start = if i == 0 { 0 } else { rows.version_ends[i - 1] };
        let key_end = rows.key_ends[i];
        let version_end = rows.version_ends[i];
        Row {
            bucket: &rows.buckets[rows.bucket_of[i] as usize],
            key: &rows.text[start..key_end],
            version_id: rows.versioned.then(|| &rows.text[key_end..version_end]),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// What the listing said about row `i`, when the manifest was built from one.
    pub fn listed(&self, i: usize) -> Option<Listed> {
        self.rows.listed.as_ref().and_then(|l| l.get(i).copied())
    }

    /// Adds a row seen in a listing, with its size, class and age.
    pub fn push_listed(
        &mut self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        listed: Listed,
    ) -> Result<()> {
        let complete = self.is_empty() || self.rows.listed.is_some();
        self.push_row(bucket, key, version_id)?;
        let rows = Rc::make_mut(&mut self.rows);
        if complete {
            rows.listed.get_or_insert_with(Vec::new).push(listed);
        }
        Ok(())
    }

    /// Adds a row, keeping AWS's rule that every row has a version id or none does.
    pub fn push(&mut self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<()> {
        self.push_row(bucket, key, version_id)?;
        // Listing data is kept only when every row has it.
        Rc::make_mut(&mut self.rows).listed = None;
        Ok(())
    }

    fn push_row(&mut self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<()> {
        if bucket.is_empty() || key.is_empty() {
            return Err(Error::invalid_argument(
                "a manifest row needs a bucket and a key",
            ));
        }
        if !self.is_empty() && self.has_versions() != version_id.is_some() {
            return Err(Error::new(
                "ManifestInvalid",
                "every row of a manifest has a version id or none does",
            )
            .bucket(bucket)
            .key(key));
        }
        let rows = Rc::make_mut(&mut self.rows);
        rows.versioned = version_id.is_some();
        let bucket_index = match rows.buckets.iter().rposition(|b| b == bucket) {
            Some(i) => i,
            None => {
                rows.buckets.push(bucket.to_string());
                rows.buckets.len() - 1
            }
        };
        rows.bucket_of.push(bucket_index as u32);
        rows.text.push_str(key);
        rows.key_ends.push(rows.text.len());
        rows.text.push_str(version_id.unwrap_or_default());
        rows.version_ends.push(rows.text.len());
        Ok(())
    }

    pub fn push_entry(&mut self, entry: &ManifestEntry) -> Result<()> {
        self.push(&entry.bucket, &entry.key, entry.version_id.as_deref())
    }

    /// The rows as AWS's CSV manifest.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.rows.text.len() + self.len() * 24);
        crate::formats::manifest::write_csv(&mut out, self.iter().map(Row::to_entry))
            .map_err(|e| Error::new("ManifestInvalid", e.to_string()))?;
        Ok(out)
    }

    /// "3 objects in 1 bucket".
    pub fn describe(&self) -> String {
        let buckets = self.rows.buckets.len();
        format!(
            "Manifest({} object{} in {} bucket{}{})",
            self.len(),
            if self.len() == 1 { "" } else { "s" },
            buckets,
            if buckets == 1 { "" } else { "s" },
            if self.has_versions() {
                ", with version ids"
            } else {
                ""
            }
        )
    }
}

/// Parses a CSV manifest, turning format errors into `ManifestInvalid` with the line.
pub fn parse_csv(source: &str, bytes: &[u8]) -> Result<Manifest> {
    let mut manifest = Manifest::default();
    for entry in crate::formats::manifest::CsvManifestReader::new(bytes) {
        let entry = entry.map_err(|e| {
            Error::new("ManifestInvalid", format!("{source}: {e}")).hint(
                "manifest rows are `bucket,key` or `bucket,key,version_id` with URL-encoded keys",
            )
        })?;
        manifest.push_entry(&entry)?;
    }
    Ok(manifest)
}

/// The list of objects a job acts on: built from keys or a listing, read and written as AWS's
/// CSV manifest, uploaded where a job can read it.
#[export_module]
pub mod manifest_api {
    use crate::api::located;
    use rhai::{Array, Map, NativeCallContext};

    use super::{Listed, Manifest, parse_csv};
    use crate::api::{Opts, RhaiResult, host, object};
    use crate::backend::{ListObjects, ManifestFormat, PutObject, StorageClass, object_arn};
    use crate::errors::Error;
    use crate::formats::inventory::InventoryManifest;

    /// An empty manifest.
    ///
    /// ```rhai
    /// let m = manifest::new();
    /// m.add("my-archive", "photo.jpg");
    /// ```
    pub fn new() -> Manifest {
        Manifest::default()
    }

    /// A manifest of the given keys in one bucket.
    ///
    /// ```rhai
    /// let m = manifest::from_keys("my-archive", ["a.txt", "b.txt"]);
    /// print(m.len());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn from_keys(bucket: &str, keys: Array) -> RhaiResult<Manifest> {
        let mut manifest = Manifest::default();
        for key in keys {
            let key = key.into_immutable_string().map_err(|t| {
                Error::invalid_argument(format!(
                    "manifest::from_keys: keys must be strings, not {t}"
                ))
            })?;
            manifest.push(bucket, &key, None)?;
        }
        Ok(manifest)
    }

    /// Reads a local CSV manifest in AWS's format (URL-encoded keys). A malformed file fails
    /// with `ManifestInvalid` naming the line.
    ///
    /// ```rhai
    /// let m = manifest::read("manifest.csv");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read(path: &str) -> RhaiResult<Manifest> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::invalid_argument(format!("manifest::read: cannot read `{path}`: {e}"))
        })?;
        Ok(parse_csv(path, &bytes)?)
    }

    /// A manifest of the objects in a bucket, built by listing it page by page (millions of
    /// keys stay in Rust, never as script values). Options: `prefix`, `storage_classes`
    /// (array; default: every class), `versions` (default `false`: current versions only,
    /// without version ids; `true`: every version, with version ids, delete markers skipped).
    ///
    /// ```rhai
    /// let m = manifest::from_listing("my-archive", #{ prefix: "2019/", storage_classes: ["GLACIER", "DEEP_ARCHIVE"] });
    /// print(m);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn from_listing(
        ctx: NativeCallContext,
        bucket: &str,
        options: Map,
    ) -> RhaiResult<Manifest> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Manifest> {
                let mut o = Opts::new("manifest::from_listing", options);
                let prefix = o.string("prefix")?;
                let classes = o.parse_list::<StorageClass>("storage_classes")?;
                let versions = o.bool("versions")?.unwrap_or(false);
                o.finish()?;
                let host = host(&ctx)?;
                let wanted = |class: Option<StorageClass>| match (&classes, class) {
                    (None, _) => true,
                    (Some(list), Some(class)) => list.contains(&class),
                    (Some(_), None) => false,
                };
                let mut manifest = Manifest::default();
                let mut next: Option<String> = None;
                loop {
                    if versions {
                        let page = host.backend.list_object_versions(
                            bucket,
                            prefix.as_deref(),
                            next.as_deref(),
                        )?;
                        for v in page
                            .items
                            .iter()
                            .filter(|v| !v.is_delete_marker && wanted(v.storage_class))
                        {
                            let version = Some(v.version_id.as_deref().unwrap_or("null"));
                            let listed = Listed {
                                size: v.size,
                                storage_class: v.storage_class.unwrap_or(StorageClass::Standard),
                                last_modified: v.last_modified,
                            };
                            manifest.push_listed(bucket, &v.key, version, listed)?;
                        }
                        next = page.next;
                    } else {
                        let page = host.backend.list_objects(&ListObjects {
                            bucket: bucket.to_string(),
                            prefix: prefix.clone(),
                            continuation: next.take(),
                            ..ListObjects::default()
                        })?;
                        for o in page.items.iter().filter(|o| wanted(Some(o.storage_class))) {
                            let listed = Listed {
                                size: o.size,
                                storage_class: o.storage_class,
                                last_modified: o.last_modified,
                            };
                            manifest.push_listed(bucket, &o.key, None, listed)?;
                        }
                        next = page.next;
                    }
                    if next.is_none() {
                        return Ok(manifest);
                    }
                }
            })(),
        )
    }

    /// A manifest of every current object in a bucket.
    ///
    /// ```rhai
    /// let m = manifest::from_listing("my-archive");
    /// ```
    #[rhai_fn(name = "from_listing", return_raw)]
    pub fn from_listing_default(ctx: NativeCallContext, bucket: &str) -> RhaiResult<Manifest> {
        from_listing(ctx, bucket, Map::new())
    }

    /// The location of an S3 Inventory report (its `manifest.json`) to use as a job's manifest
    /// (format `S3InventoryReport_CSV_20161130`). The report's data files must sit under the
    /// keys its `files[].key` name.
    ///
    /// ```rhai
    /// let location = manifest::inventory("inventory-bucket", "source/daily/2026-11-25T00-00Z/manifest.json");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn inventory(
        ctx: NativeCallContext,
        bucket: &str,
        manifest_json_key: &str,
    ) -> RhaiResult<Map> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                let host = host(&ctx)?;
                let json = host.backend.get_object(bucket, manifest_json_key, None)?;
                let inventory = InventoryManifest::parse(&json).map_err(|e| {
                    Error::new(
                        "ManifestInvalid",
                        format!("{bucket}/{manifest_json_key}: {e}"),
                    )
                    .bucket(bucket)
                    .key(manifest_json_key)
                })?;
                let head = host.backend.head_object(bucket, manifest_json_key, None)?;
                if inventory.files.is_empty() {
                    return Err(Error::new(
                        "ManifestInvalid",
                        format!("{bucket}/{manifest_json_key} lists no data files"),
                    )
                    .into());
                }
                Ok(object([
                    ("bucket", bucket.into()),
                    ("key", manifest_json_key.into()),
                    ("etag", head.etag.into()),
                    ("version_id", crate::api::opt_str(head.version_id)),
                    ("arn", object_arn(bucket, manifest_json_key).into()),
                    ("format", ManifestFormat::InventoryCsv.as_str().into()),
                    ("fields", Array::new().into()),
                ]))
            })(),
        )
    }

    /// Uploads a manifest as AWS's CSV and returns the location a job needs:
    /// `#{ bucket, key, etag, version_id, arn, format, fields }`.
    ///
    /// ```rhai
    /// let location = manifest::upload(m, "my-archive", "manifest.csv");
    /// print(location.etag);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn upload(
        ctx: NativeCallContext,
        manifest: Manifest,
        bucket: &str,
        key: &str,
    ) -> RhaiResult<Map> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                if manifest.is_empty() {
                    return Err(Error::new(
                        "ManifestInvalid",
                        "manifest::upload: the manifest is empty",
                    )
                    .into());
                }
                let written = host(&ctx)?.backend.put_object(PutObject {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    body: manifest.to_csv()?,
                    content_type: Some("text/csv".into()),
                    ..PutObject::default()
                })?;
                let mut fields: Array = vec!["Bucket".into(), "Key".into()];
                if manifest.has_versions() {
                    fields.push("VersionId".into());
                }
                Ok(object([
                    ("bucket", bucket.into()),
                    ("key", key.into()),
                    ("etag", written.etag.into()),
                    ("version_id", crate::api::opt_str(written.version_id)),
                    ("arn", object_arn(bucket, key).into()),
                    ("format", ManifestFormat::BatchOperationsCsv.as_str().into()),
                    ("fields", fields.into()),
                ]))
            })(),
        )
    }
}

#[export_module]
pub mod manifest_methods {
    use rhai::{Array, Map};

    use super::Manifest;
    use crate::api::{RhaiResult, object, opt_str};
    use crate::errors::Error;

    /// Adds an object to the manifest.
    ///
    /// ```rhai
    /// m.add("my-archive", "photo.jpg");
    /// ```
    #[rhai_fn(global, name = "add", return_raw)]
    pub fn add(manifest: &mut Manifest, bucket: &str, key: &str) -> RhaiResult<()> {
        Ok(manifest.push(bucket, key, None)?)
    }

    /// Adds one version of an object (every row then needs a version id).
    ///
    /// ```rhai
    /// m.add("my-archive", "photo.jpg", "PZ9ibn9D5lP6p298B7S9_ceqx1n5EJ0p");
    /// ```
    #[rhai_fn(global, name = "add", return_raw)]
    pub fn add_version(
        manifest: &mut Manifest,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> RhaiResult<()> {
        Ok(manifest.push(bucket, key, Some(version_id))?)
    }

    /// The number of objects listed.
    ///
    /// ```rhai
    /// print(m.len());
    /// ```
    #[rhai_fn(global, name = "len", pure)]
    pub fn len(manifest: &mut Manifest) -> i64 {
        manifest.len() as i64
    }

    /// Whether the rows carry version ids.
    ///
    /// ```rhai
    /// print(m.has_versions());
    /// ```
    #[rhai_fn(global, name = "has_versions", pure)]
    pub fn has_versions(manifest: &mut Manifest) -> bool {
        manifest.has_versions()
    }

    /// The first `limit` rows as `#{ bucket, key, version_id }` maps.
    ///
    /// ```rhai
    /// for row in m.rows(10) { print(row.key); }
    /// ```
    #[rhai_fn(global, name = "rows", pure)]
    pub fn rows(manifest: &mut Manifest, limit: i64) -> Array {
        manifest
            .iter()
            .take(limit.max(0) as usize)
            .map(|e| {
                let row: Map = object([
                    ("bucket", e.bucket.into()),
                    ("key", e.key.into()),
                    ("version_id", opt_str(e.version_id)),
                ]);
                row.into()
            })
            .collect()
    }

    /// Writes the manifest to a local file as AWS's CSV (keys URL-encoded).
    ///
    /// ```rhai
    /// m.write("manifest.csv");
    /// ```
    #[rhai_fn(global, name = "write", pure, return_raw)]
    pub fn write(manifest: &mut Manifest, path: &str) -> RhaiResult<()> {
        let csv = manifest.to_csv()?;
        std::fs::write(path, csv).map_err(|e| {
            Error::invalid_argument(format!("m.write: cannot write `{path}`: {e}")).into()
        })
    }

    #[rhai_fn(global, name = "to_string", pure)]
    pub fn to_string(manifest: &mut Manifest) -> String {
        manifest.describe()
    }

    #[rhai_fn(global, name = "to_debug", pure)]
    pub fn to_debug(manifest: &mut Manifest) -> String {
        manifest.describe()
    }
}
