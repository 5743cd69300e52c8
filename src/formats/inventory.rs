//! S3 Inventory reports used as manifests (`S3InventoryReport_CSV_20161130`): a `manifest.json`
//! listing gzipped CSV data files whose columns its `fileSchema` names.

use std::io::Read;

use flate2::read::MultiGzDecoder;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::keys::decode_key;
use super::manifest::ManifestEntry;
use super::{CsvRows, FormatError};

/// An inventory report's `manifest.json`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InventoryManifest {
    /// The bucket the inventory lists.
    #[serde(rename = "sourceBucket")]
    pub source_bucket: String,
    /// ARN of the bucket holding the report, e.g. `arn:aws:s3:::inventory-bucket`.
    #[serde(rename = "destinationBucket")]
    pub destination_bucket: String,
    /// Manifest format version, `2016-11-30`.
    pub version: String,
    /// Milliseconds since the epoch, as a string.
    #[serde(rename = "creationTimestamp")]
    pub creation_timestamp: String,
    /// `CSV`, `ORC` or `Parquet`; only CSV can serve as a Batch Operations manifest here.
    #[serde(rename = "fileFormat")]
    pub file_format: String,
    /// Comma-separated column names of the data files.
    #[serde(rename = "fileSchema")]
    pub file_schema: String,
    /// The gzipped data files.
    pub files: Vec<InventoryFile>,
}

/// One data file listed in an inventory `manifest.json`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InventoryFile {
    /// Key of the gzipped CSV in the destination bucket.
    pub key: String,
    /// Size in bytes of the gzipped file.
    pub size: u64,
    /// Hex MD5 of the gzipped file.
    #[serde(rename = "MD5checksum")]
    pub md5_checksum: String,
}

impl InventoryManifest {
    /// Parses a `manifest.json`, refusing non-CSV reports and schemas without Bucket and Key.
    pub fn parse(json: &[u8]) -> Result<Self, FormatError> {
        let manifest: Self = serde_json::from_slice(json).map_err(|e| FormatError {
            line: Some(e.line() as u64),
            message: format!("inventory manifest.json: {e}"),
        })?;
        if !manifest.file_format.eq_ignore_ascii_case("CSV") {
            return Err(FormatError::whole(format!(
                "inventory manifest.json: fileFormat `{}` is not supported, only CSV",
                manifest.file_format
            )));
        }
        let columns = manifest.columns();
        for needed in ["Bucket", "Key"] {
            if !columns.iter().any(|c| c == needed) {
                return Err(FormatError::whole(format!(
                    "inventory manifest.json: fileSchema has no {needed} column"
                )));
            }
        }
        Ok(manifest)
    }

    /// The column names of the data files, in order.
    pub fn columns(&self) -> Vec<String> {
        self.file_schema
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect()
    }
}

/// One object listed in an inventory data file.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryRow {
    /// Bucket, decoded key and version id (none for unversioned buckets).
    pub entry: ManifestEntry,
    /// `IsLatest`, when the schema has it.
    pub is_latest: Option<bool>,
    /// `IsDeleteMarker`, when the schema has it.
    pub is_delete_marker: Option<bool>,
    /// `Size` in bytes, when present.
    pub size: Option<u64>,
    /// `StorageClass`, e.g. `GLACIER`, when present.
    pub storage_class: Option<String>,
    /// `IntelligentTieringAccessTier`, e.g. `ARCHIVE_ACCESS`, when present.
    pub intelligent_tiering_access_tier: Option<String>,
}

/// Column positions of the fields we use; the others are ignored.
#[derive(Debug, Clone)]
struct Columns {
    count: usize,
    bucket: usize,
    key: usize,
    version_id: Option<usize>,
    is_latest: Option<usize>,
    is_delete_marker: Option<usize>,
    size: Option<usize>,
    storage_class: Option<usize>,
    tier: Option<usize>,
}

impl Columns {
    fn new(schema: &[String]) -> Result<Self, FormatError> {
        let find = |name: &str| schema.iter().position(|c| c.trim() == name);
        let required = |name: &str| {
            find(name)
                .ok_or_else(|| FormatError::whole(format!("inventory schema has no {name} column")))
        };
        Ok(Self {
            count: schema.len(),
            bucket: required("Bucket")?,
            key: required("Key")?,
            version_id: find("VersionId"),
            is_latest: find("IsLatest"),
            is_delete_marker: find("IsDeleteMarker"),
            size: find("Size"),
            storage_class: find("StorageClass"),
            tier: find("IntelligentTieringAccessTier"),
        })
    }
}

/// Streams the rows of one gzipped CSV inventory data file.
pub struct InventoryDataReader<R: Read> {
    rows: CsvRows<MultiGzDecoder<R>>,
    /// A schema without Bucket or Key is reported by the first `next()`, since `new` cannot fail.
    columns: Result<Columns, FormatError>,
    failed: bool,
}

impl<R: Read> InventoryDataReader<R> {
    /// Reads gzipped CSV from `gzipped`, whose columns are `schema_columns`
    /// (see [`InventoryManifest::columns`]).
    pub fn new(gzipped: R, schema_columns: &[String]) -> Self {
        Self {
            rows: CsvRows::new(MultiGzDecoder::new(gzipped), "inventory data file"),
            columns: Columns::new(schema_columns),
            failed: false,
        }
    }
}

fn parse_row(
    line: u64,
    rec: &csv::StringRecord,
    cols: &Columns,
) -> Result<InventoryRow, FormatError> {
    if rec.len() != cols.count {
        return Err(FormatError::at(
            line,
            format!(
                "expected {} columns as the schema names, found {}",
                cols.count,
                rec.len()
            ),
        ));
    }
    let field = |i: Option<usize>| i.and_then(|i| rec.get(i)).filter(|v| !v.is_empty());
    let flag = |name: &str, i: Option<usize>| match field(i) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(FormatError::at(
            line,
            format!("{name}: expected true or false, found `{v}`"),
        )),
    };
    let (bucket, key) = (&rec[cols.bucket], &rec[cols.key]);
    if bucket.is_empty() || key.is_empty() {
        return Err(FormatError::at(line, "empty bucket name or object key"));
    }
    let size = field(cols.size)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                FormatError::at(line, format!("Size: expected a byte count, found `{v}`"))
            })
        })
        .transpose()?;
    Ok(InventoryRow {
        entry: ManifestEntry {
            bucket: bucket.to_owned(),
            key: decode_key(key).map_err(|e| FormatError::at(line, e))?,
            version_id: field(cols.version_id).map(str::to_owned),
        },
        is_latest: flag("IsLatest", cols.is_latest)?,
        is_delete_marker: flag("IsDeleteMarker", cols.is_delete_marker)?,
        size,
        storage_class: field(cols.storage_class).map(str::to_owned),
        intelligent_tiering_access_tier: field(cols.tier).map(str::to_owned),
    })
}

impl<R: Read> Iterator for InventoryDataReader<R> {
    type Item = Result<InventoryRow, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let cols = match &self.columns {
            Ok(cols) => cols,
            Err(err) => {
                self.failed = true;
                return Some(Err(err.clone()));
            }
        };
        Some(
            self.rows
                .next_record()?
                .and_then(|(line, rec)| parse_row(line, rec, cols)),
        )
    }
}

/// Checks `data` against a hex MD5 from a manifest (`MD5checksum`), in either letter case.
pub fn verify_md5(data: &[u8], expected_hex: &str) -> Result<(), FormatError> {
    let actual = hex::encode(Md5::digest(data));
    if actual.eq_ignore_ascii_case(expected_hex.trim()) {
        Ok(())
    } else {
        Err(FormatError::whole(format!(
            "MD5 mismatch: expected {expected_hex}, computed {actual}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn manifest() -> InventoryManifest {
        InventoryManifest::parse(&super::super::fixture("inventory/manifest.json")).unwrap()
    }

    fn data_file(manifest: &InventoryManifest) -> Vec<u8> {
        let name = manifest.files[0].key.rsplit('/').next().unwrap();
        super::super::fixture(&format!("inventory/data/{name}"))
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap()
    }

    fn columns(names: &str) -> Vec<String> {
        names.split(',').map(|c| c.trim().to_owned()).collect()
    }

    #[test]
    fn fixture_manifest_and_checksum() {
        let m = manifest();
        assert_eq!(m.source_bucket, "example-source-bucket");
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.columns().len(), 18);
        assert_eq!(m.columns()[8], "StorageClass");
        let data = data_file(&m);
        assert_eq!(data.len() as u64, m.files[0].size);
        verify_md5(&data, &m.files[0].md5_checksum).unwrap();
        let err = verify_md5(b"other", &m.files[0].md5_checksum).unwrap_err();
        assert!(err.message.contains("MD5 mismatch"), "{err}");
    }

    #[test]
    fn fixture_rows() {
        let m = manifest();
        let rows: Vec<InventoryRow> = InventoryDataReader::new(&data_file(&m)[..], &m.columns())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 6);
        let count = |class: &str| {
            rows.iter()
                .filter(|r| r.storage_class.as_deref() == Some(class))
                .count()
        };
        assert_eq!(
            (count("GLACIER"), count("DEEP_ARCHIVE"), count("STANDARD")),
            (3, 1, 2)
        );
        assert_eq!(rows[1].entry.key, "2019/01/scan 0002.tif");
        assert_eq!(rows[2].entry.key, "2019/02/café.tif");
        let first = &rows[0];
        assert_eq!(first.entry.bucket, "example-source-bucket");
        assert_eq!(first.entry.version_id, None);
        assert_eq!(
            (first.is_latest, first.is_delete_marker),
            (Some(true), Some(false))
        );
        assert_eq!(first.size, Some(10_485_760));
        assert_eq!(first.intelligent_tiering_access_tier, None);
    }

    #[test]
    fn maps_columns_by_schema_names() {
        let cols =
            columns("Key, Extra, StorageClass, IntelligentTieringAccessTier, VersionId, Bucket");
        let data = gzip("\"a%2Bb+c\",x,INTELLIGENT_TIERING,ARCHIVE_ACCESS,v1,bkt\n");
        let rows: Vec<_> = InventoryDataReader::new(&data[..], &cols).collect();
        let row = rows[0].clone().unwrap();
        assert_eq!(row.entry.key, "a+b c");
        assert_eq!(row.entry.version_id.as_deref(), Some("v1"));
        assert_eq!(row.entry.bucket, "bkt");
        assert_eq!(
            row.intelligent_tiering_access_tier.as_deref(),
            Some("ARCHIVE_ACCESS")
        );
        assert_eq!((row.size, row.is_latest), (None, None));
    }

    #[test]
    fn bad_rows_and_files_are_errors() {
        let cols = columns("Bucket, Key, IsLatest, Size");
        let cases = [
            ("b,k,true,1\nb,k,maybe,1\n", "IsLatest"),
            ("b,k,true,1\nb,k,true,-1\n", "Size"),
            ("b,k,true,1\nb,k\n", "found 2"),
            ("b,k,true,1\nb,%4,true,1\n", "broken percent escape"),
        ];
        for (text, needle) in cases {
            let err = InventoryDataReader::new(&gzip(text)[..], &cols)
                .collect::<Result<Vec<_>, _>>()
                .unwrap_err();
            assert_eq!(err.line, Some(2), "{err}");
            assert!(err.message.contains(needle), "{err}");
        }
        let mut not_gzip = InventoryDataReader::new(&b"b,k,true,1\n"[..], &cols);
        assert!(not_gzip.next().unwrap().is_err());
        assert!(not_gzip.next().is_none());
        let mut no_key =
            InventoryDataReader::new(std::io::Cursor::new(gzip("b\n")), &columns("Bucket"));
        assert!(no_key.next().unwrap().unwrap_err().message.contains("Key"));
        assert!(no_key.next().is_none());
    }

    #[test]
    fn manifest_checks() {
        let json = String::from_utf8(super::super::fixture("inventory/manifest.json")).unwrap();
        let orc = json.replace("\"CSV\"", "\"ORC\"");
        assert!(
            InventoryManifest::parse(orc.as_bytes())
                .unwrap_err()
                .message
                .contains("ORC")
        );
        let no_key = json.replace("Bucket, Key,", "Bucket,");
        let err = InventoryManifest::parse(no_key.as_bytes()).unwrap_err();
        assert!(err.message.contains("no Key column"), "{err}");
        let err = InventoryManifest::parse(b"{\n  \"files\": 3\n}").unwrap_err();
        assert!(err.line.is_some());
    }
}
