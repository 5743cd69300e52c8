//! `manifest::` — the list of objects a job acts on, as a host-backed `Manifest` value
//! (a million rows never become a million Rhai maps), read and written in AWS's CSV format.

use std::rc::Rc;

use rhai::plugin::*;

use crate::errors::{Error, Result};
use crate::formats::manifest::ManifestEntry;

/// A manifest: rows of bucket, key and optional version id. Clones share rows until one is
/// changed.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    entries: Rc<Vec<ManifestEntry>>,
}

impl Manifest {
    pub fn from_entries(entries: Vec<ManifestEntry>) -> Manifest {
        Manifest {
            entries: Rc::new(entries),
        }
    }

    pub fn entries(&self) -> &[ManifestEntry] {
        &self.entries
    }

    pub fn has_versions(&self) -> bool {
        self.entries.first().is_some_and(|e| e.version_id.is_some())
    }

    /// Adds a row, keeping AWS's rule that every row has a version id or none does.
    pub fn push(&mut self, entry: ManifestEntry) -> Result<()> {
        if entry.bucket.is_empty() || entry.key.is_empty() {
            return Err(Error::invalid_argument(
                "a manifest row needs a bucket and a key",
            ));
        }
        if !self.entries.is_empty() && self.has_versions() != entry.version_id.is_some() {
            return Err(Error::new(
                "ManifestInvalid",
                "every row of a manifest has a version id or none does",
            )
            .bucket(&entry.bucket)
            .key(&entry.key));
        }
        Rc::make_mut(&mut self.entries).push(entry);
        Ok(())
    }

    /// The rows as AWS's CSV manifest.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        crate::formats::manifest::write_csv(&mut out, self.entries.iter())
            .map_err(|e| Error::new("ManifestInvalid", e.to_string()))?;
        Ok(out)
    }

    /// "3 objects in 1 bucket".
    pub fn describe(&self) -> String {
        let mut buckets: Vec<&str> = self.entries.iter().map(|e| e.bucket.as_str()).collect();
        buckets.sort_unstable();
        buckets.dedup();
        format!(
            "Manifest({} object{} in {} bucket{}{})",
            self.entries.len(),
            if self.entries.len() == 1 { "" } else { "s" },
            buckets.len(),
            if buckets.len() == 1 { "" } else { "s" },
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
    let entries = Rc::make_mut(&mut manifest.entries);
    for entry in crate::formats::manifest::CsvManifestReader::new(bytes) {
        let entry = entry.map_err(|e| {
            Error::new("ManifestInvalid", format!("{source}: {e}")).hint(
                "manifest rows are `bucket,key` or `bucket,key,version_id` with URL-encoded keys",
            )
        })?;
        entries.push(entry);
    }
    Ok(manifest)
}

#[export_module]
pub mod manifest_api {
    use crate::api::located;
    use rhai::{Array, Map, NativeCallContext};

    use super::{Manifest, parse_csv};
    use crate::api::{RhaiResult, host, object};
    use crate::backend::{ManifestFormat, PutObject, object_arn};
    use crate::errors::Error;
    use crate::formats::manifest::ManifestEntry;

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
            manifest.push(ManifestEntry {
                bucket: bucket.to_string(),
                key: key.to_string(),
                version_id: None,
            })?;
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
                if manifest.entries().is_empty() {
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
    use crate::formats::manifest::ManifestEntry;

    /// Adds an object to the manifest.
    ///
    /// ```rhai
    /// m.add("my-archive", "photo.jpg");
    /// ```
    #[rhai_fn(global, name = "add", return_raw)]
    pub fn add(manifest: &mut Manifest, bucket: &str, key: &str) -> RhaiResult<()> {
        Ok(manifest.push(ManifestEntry {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: None,
        })?)
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
        Ok(manifest.push(ManifestEntry {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: Some(version_id.to_string()),
        })?)
    }

    /// The number of objects listed.
    ///
    /// ```rhai
    /// print(m.len());
    /// ```
    #[rhai_fn(global, name = "len", pure)]
    pub fn len(manifest: &mut Manifest) -> i64 {
        manifest.entries().len() as i64
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
            .entries()
            .iter()
            .take(limit.max(0) as usize)
            .map(|e| {
                let row: Map = object([
                    ("bucket", e.bucket.clone().into()),
                    ("key", e.key.clone().into()),
                    ("version_id", opt_str(e.version_id.clone())),
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
