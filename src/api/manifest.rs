//! `manifest::` — the bindings of the manifest row store (`crate::ops::manifest`): a
//! host-backed `Manifest` value, read and written in AWS's CSV format.

use rhai::plugin::*;

pub use crate::ops::manifest::{Listed, Manifest, Row, parse_csv};

/// The list of objects a job acts on: built from keys or a listing, read and written as AWS's
/// CSV manifest, uploaded where a job can read it.
#[export_module]
pub mod manifest_api {
    use rhai::{Array, Map, NativeCallContext};

    use super::{Manifest, parse_csv};
    use crate::api::batch::location_map;
    use crate::api::{Opts, RhaiResult, support};
    use crate::backend::StorageClass;
    use crate::errors::Error;
    use crate::ops::manifest::{self as ops, ListingFilter};

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
    pub fn from_keys(ctx: NativeCallContext, bucket: &str, keys: Array) -> RhaiResult<Manifest> {
        support::pure(&ctx, || {
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
        })
    }

    /// Reads a local CSV manifest in AWS's format (URL-encoded keys). A malformed file fails
    /// with `ManifestInvalid` naming the line.
    ///
    /// ```rhai
    /// let m = manifest::read("manifest.csv");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read(ctx: NativeCallContext, path: &str) -> RhaiResult<Manifest> {
        support::pure(&ctx, || {
            let bytes = std::fs::read(path).map_err(|e| {
                Error::invalid_argument(format!("manifest::read: cannot read `{path}`: {e}"))
            })?;
            Ok(parse_csv(path, &bytes)?)
        })
    }

    /// A manifest of the objects in a bucket, built by listing it page by page (millions of
    /// keys stay in Rust, never as script values). Options: `prefix`, `storage_classes`
    /// (array; default: every class), `versions` (default `false`: current versions only,
    /// without version ids; `true`: every version, with version ids, delete markers skipped),
    /// `needs_restore` (default `false`; `true`: only objects with neither a restore running
    /// nor a restored copy, from the same listing's `RestoreStatus`: what a restore job still
    /// has to request; not with `versions`).
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
        support::call(&ctx, |host| {
            let mut o = Opts::new("manifest::from_listing", options);
            let filter = ListingFilter {
                prefix: o.string("prefix")?,
                storage_classes: o.parse_list::<StorageClass>("storage_classes")?,
                versions: o.bool("versions")?.unwrap_or(false),
                needs_restore: o.bool("needs_restore")?.unwrap_or(false),
            };
            o.finish()?;
            Ok(ops::from_listing(host.backend.as_ref(), bucket, &filter)?)
        })
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
        support::call(&ctx, |host| {
            let location = ops::inventory(host.backend.as_ref(), bucket, manifest_json_key)?;
            Ok(location_map(&location))
        })
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
        support::call(&ctx, |host| {
            let location = ops::upload(host.backend.as_ref(), &manifest, bucket, key)?;
            Ok(location_map(&location))
        })
    }
}

#[export_module]
pub mod manifest_methods {
    use rhai::{Array, Map, NativeCallContext};

    use super::Manifest;
    use crate::api::{RhaiResult, object, opt_str, support};
    use crate::errors::Error;

    /// Adds an object to the manifest.
    ///
    /// ```rhai
    /// m.add("my-archive", "photo.jpg");
    /// ```
    #[rhai_fn(global, name = "add", return_raw)]
    pub fn add(
        ctx: NativeCallContext,
        manifest: &mut Manifest,
        bucket: &str,
        key: &str,
    ) -> RhaiResult<()> {
        support::pure(&ctx, || Ok(manifest.push(bucket, key, None)?))
    }

    /// Adds one version of an object (every row then needs a version id).
    ///
    /// ```rhai
    /// m.add("my-archive", "photo.jpg", "PZ9ibn9D5lP6p298B7S9_ceqx1n5EJ0p");
    /// ```
    #[rhai_fn(global, name = "add", return_raw)]
    pub fn add_version(
        ctx: NativeCallContext,
        manifest: &mut Manifest,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> RhaiResult<()> {
        support::pure(&ctx, || Ok(manifest.push(bucket, key, Some(version_id))?))
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
    pub fn write(ctx: NativeCallContext, manifest: &mut Manifest, path: &str) -> RhaiResult<()> {
        support::pure(&ctx, || {
            let csv = manifest.to_csv()?;
            super::write_atomic(std::path::Path::new(path), &csv).map_err(|e| {
                Error::invalid_argument(format!("m.write: cannot write `{path}`: {e}")).into()
            })
        })
    }

    #[rhai_fn(global, name = "to_string", pure)]
    pub fn to_string(manifest: &mut Manifest) -> String {
        manifest.describe()
    }

    #[rhai_fn(global, name = "to_debug", pure)]
    pub fn to_debug(manifest: &mut Manifest) -> String {
        format!("Manifest({})", manifest.describe())
    }
}

/// Writes a file whole or not at all: a temporary file in the same directory, synced, then
/// renamed over `path` (a kill mid-write leaves the old file, never a partial one).
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
