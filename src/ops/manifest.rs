//! The manifest row store: the list of objects a job acts on, kept compactly in Rust (a million
//! rows never become a million script values), built from keys or a listing, read and written
//! as AWS's CSV manifest and uploaded where a job can read it. No script types here.

use std::rc::Rc;

use crate::backend::{
    Backend, ListObjects, ManifestField, ManifestFormat, ManifestLocation, ObjectRef, PutObject,
    StorageClass,
};
use crate::errors::{Error, Result};
use crate::formats::inventory::InventoryManifest;
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
    /// Index of each bucket in `buckets`: a manifest of 200,000 buckets is interned in linear
    /// time, not by a search per row.
    bucket_index: std::collections::HashMap<String, u32>,
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

    /// Row `i` as an object reference, as the backend's calls take it.
    pub fn object_ref(&self, i: usize) -> ObjectRef {
        let row = self.row(i);
        ObjectRef {
            bucket: row.bucket.to_string(),
            key: row.key.to_string(),
            version_id: row.version_id.map(str::to_string),
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
        // Rows of one bucket usually come together: the last row's bucket first, no hashing.
        let bucket_index = match rows.bucket_of.last() {
            Some(&last) if rows.buckets[last as usize] == bucket => last,
            _ => match rows.bucket_index.get(bucket) {
                Some(&i) => i,
                None => {
                    let i = u32::try_from(rows.buckets.len()).map_err(|_| {
                        Error::new("ManifestInvalid", "a manifest names too many buckets")
                    })?;
                    rows.buckets.push(bucket.to_string());
                    rows.bucket_index.insert(bucket.to_string(), i);
                    i
                }
            },
        };
        rows.bucket_of.push(bucket_index);
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

    /// "3 objects in 1 bucket", "4,000 objects in 2 buckets, with version ids": as people
    /// write it, so `print(`Listed ${m}.`)` reads.
    pub fn describe(&self) -> String {
        let buckets = self.rows.buckets.len();
        format!(
            "{} object{} in {} bucket{}{}",
            crate::readiness::thousands(self.len() as u64),
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

/// Which objects of a bucket [`from_listing`] takes.
#[derive(Debug, Clone, Default)]
pub struct ListingFilter {
    pub prefix: Option<String>,
    /// `None`: every class.
    pub storage_classes: Option<Vec<StorageClass>>,
    /// Every version (with version ids, delete markers skipped) instead of current objects.
    pub versions: bool,
    /// Only objects with neither a restore running nor a restored copy, as the listing's
    /// `RestoreStatus` says (current objects only): what a restore request is still needed for.
    pub needs_restore: bool,
}

/// A manifest of the objects in `bucket`, listed page by page, with each row's listing facts.
pub fn from_listing(
    backend: &dyn Backend,
    bucket: &str,
    filter: &ListingFilter,
) -> Result<Manifest> {
    let wanted = |class: Option<StorageClass>| match (&filter.storage_classes, class) {
        (None, _) => true,
        (Some(list), Some(class)) => list.contains(&class),
        (Some(_), None) => false,
    };
    if filter.versions && filter.needs_restore {
        return Err(Error::invalid_argument(
            "needs_restore reads the restore status of current objects: it cannot be combined with versions",
        ));
    }
    let mut manifest = Manifest::default();
    let mut next: Option<String> = None;
    loop {
        if filter.versions {
            let page =
                backend.list_object_versions(bucket, filter.prefix.as_deref(), next.as_deref())?;
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
            let page = backend.list_objects(&ListObjects {
                bucket: bucket.to_string(),
                prefix: filter.prefix.clone(),
                continuation: next.take(),
                restore_status: filter.needs_restore,
                ..ListObjects::default()
            })?;
            for o in page.items.iter().filter(|o| {
                wanted(Some(o.storage_class)) && !(filter.needs_restore && o.restore.is_some())
            }) {
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
}

/// Uploads `manifest` as AWS's CSV to `bucket`/`key` and returns the location a job needs.
pub fn upload(
    backend: &dyn Backend,
    manifest: &Manifest,
    bucket: &str,
    key: &str,
) -> Result<ManifestLocation> {
    if manifest.is_empty() {
        return Err(Error::new(
            "ManifestInvalid",
            "manifest::upload: the manifest is empty",
        ));
    }
    let written = backend.put_object(PutObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        body: manifest.to_csv()?,
        content_type: Some("text/csv".into()),
        ..PutObject::default()
    })?;
    let mut fields = vec![ManifestField::Bucket, ManifestField::Key];
    if manifest.has_versions() {
        fields.push(ManifestField::VersionId);
    }
    Ok(ManifestLocation {
        bucket: bucket.to_string(),
        key: key.to_string(),
        etag: written.etag,
        version_id: written.version_id,
        format: ManifestFormat::BatchOperationsCsv,
        fields,
    })
}

/// The location of an S3 Inventory report (its `manifest.json`) as a job's manifest, checked to
/// parse and to list data files.
pub fn inventory(
    backend: &dyn Backend,
    bucket: &str,
    manifest_json_key: &str,
) -> Result<ManifestLocation> {
    let json = backend.get_object(bucket, manifest_json_key, None)?;
    let inventory = InventoryManifest::parse(&json).map_err(|e| {
        Error::new(
            "ManifestInvalid",
            format!("{bucket}/{manifest_json_key}: {e}"),
        )
        .bucket(bucket)
        .key(manifest_json_key)
    })?;
    let head = backend.head_object(bucket, manifest_json_key, None)?;
    if inventory.files.is_empty() {
        return Err(Error::new(
            "ManifestInvalid",
            format!("{bucket}/{manifest_json_key} lists no data files"),
        ));
    }
    Ok(ManifestLocation {
        bucket: bucket.to_string(),
        key: manifest_json_key.to_string(),
        etag: head.etag,
        version_id: head.version_id,
        format: ManifestFormat::InventoryCsv,
        fields: Vec::new(),
    })
}
