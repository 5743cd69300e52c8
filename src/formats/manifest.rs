//! The Batch Operations CSV manifest (`S3BatchOperations_CSV_20180820`): rows `bucket,key` or
//! `bucket,key,version_id`, no header, keys URL-encoded.

use std::borrow::Borrow;
use std::io::{Read, Write};

use super::keys::{decode_key, encode_key};
use super::{CsvRows, FormatError};

/// One object named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Bucket name.
    pub bucket: String,
    /// Object key, decoded.
    pub key: String,
    /// Version id, when the manifest names versions.
    pub version_id: Option<String>,
}

/// Streams the entries of a CSV manifest, checking each row as S3 does when it prepares a job.
pub struct CsvManifestReader<R: Read> {
    rows: CsvRows<R>,
    /// Whether rows carry version ids and the line that decided it (the first data row).
    versioned: Option<(bool, u64)>,
}

impl<R: Read> CsvManifestReader<R> {
    /// Reads a manifest from `reader` (buffered internally).
    pub fn new(reader: R) -> Self {
        Self {
            rows: CsvRows::new(reader, "malformed manifest row"),
            versioned: None,
        }
    }
}

fn parse_row(
    line: u64,
    rec: &csv::StringRecord,
    versioned: &mut Option<(bool, u64)>,
) -> Result<ManifestEntry, FormatError> {
    if rec.len() != 2 && rec.len() != 3 {
        return Err(FormatError::at(
            line,
            format!(
                "expected 2 or 3 columns (bucket,key[,version_id]), found {}",
                rec.len()
            ),
        ));
    }
    let bucket = &rec[0];
    if bucket.is_empty() {
        return Err(FormatError::at(line, "empty bucket name"));
    }
    if rec[1].is_empty() {
        return Err(FormatError::at(line, "empty object key"));
    }
    let key = decode_key(&rec[1]).map_err(|e| FormatError::at(line, e))?;
    let version_id = rec.get(2).filter(|v| !v.is_empty()).map(str::to_owned);
    match *versioned {
        None => *versioned = Some((version_id.is_some(), line)),
        Some((first_has, first)) if first_has != version_id.is_some() => {
            let (this, that) = if first_has {
                ("no version id", "has one")
            } else {
                ("a version id", "has none")
            };
            return Err(FormatError::at(
                line,
                format!(
                    "mixed version ids: this row has {this} but the first row (line {first}) \
                     {that}; either every row has a version id or none does"
                ),
            ));
        }
        Some(_) => {}
    }
    Ok(ManifestEntry {
        bucket: bucket.to_owned(),
        key,
        version_id,
    })
}

impl<R: Read> Iterator for CsvManifestReader<R> {
    type Item = Result<ManifestEntry, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.rows
                .next_record()?
                .and_then(|(line, rec)| parse_row(line, rec, &mut self.versioned)),
        )
    }
}

/// Writes `entries` as a CSV manifest (keys encoded, a third column only for entries with a
/// version id) and returns the number of rows written.
///
/// Refuses entries that mix rows with and without version ids, since S3 would reject the
/// manifest when preparing the job.
pub fn write_csv<W, I, E>(w: W, entries: I) -> Result<u64, FormatError>
where
    W: Write,
    I: IntoIterator<Item = E>,
    E: Borrow<ManifestEntry>,
{
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .flexible(true)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(w);
    let mut rows = 0u64;
    let mut versioned = None;
    for entry in entries {
        let entry = entry.borrow();
        rows += 1;
        let has_version = entry.version_id.is_some();
        if *versioned.get_or_insert(has_version) != has_version {
            return Err(FormatError::at(
                rows,
                "mixed version ids: either every entry has a version id or none does",
            ));
        }
        let key = encode_key(&entry.key);
        let result = match &entry.version_id {
            Some(v) => csv.write_record([entry.bucket.as_str(), &key, v]),
            None => csv.write_record([entry.bucket.as_str(), &key]),
        };
        result.map_err(|e| FormatError::at(rows, format!("writing manifest: {e}")))?;
    }
    csv.flush()
        .map_err(|e| FormatError::whole(format!("writing manifest: {e}")))?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        super::super::fixture(&format!("manifests/{name}"))
    }

    fn read_all(data: &[u8]) -> Result<Vec<ManifestEntry>, FormatError> {
        CsvManifestReader::new(data).collect()
    }

    fn entry(key: &str, version_id: Option<&str>) -> ManifestEntry {
        ManifestEntry {
            bucket: "examplebucket".into(),
            key: key.into(),
            version_id: version_id.map(Into::into),
        }
    }

    #[test]
    fn plain_manifest_decodes_every_key() {
        let entries = read_all(&fixture("plain.csv")).unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let expected = String::from_utf8(fixture("plain.keys.txt")).unwrap();
        let expected: Vec<&str> = expected.lines().collect();
        assert_eq!(keys, expected);
        assert!(
            entries
                .iter()
                .all(|e| e.bucket == "examplebucket" && e.version_id.is_none())
        );
    }

    #[test]
    fn versioned_manifest_has_four_version_ids() {
        let entries = read_all(&fixture("versioned.csv")).unwrap();
        assert_eq!(entries.len(), 4);
        assert!(entries.iter().all(|e| e.version_id.is_some()));
        assert_eq!(
            entries[3],
            entry(
                "object key with spaces",
                Some("9HkPvDaZY5MVbMhn6TMn1YTb5ArQAo3w")
            )
        );
    }

    #[test]
    fn mixed_version_ids_fail_on_the_offending_line() {
        let err = read_all(&fixture("mixed-versions.csv")).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("mixed version ids"), "{err}");
        // An empty third column is no version id, so it mixes with versioned rows too.
        let err = read_all(b"b,k1,v1\nb,k2,\n").unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn broken_escape_fails_on_its_line() {
        let err = read_all(&fixture("bad-encoding.csv")).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.to_string().contains("`%G1`"), "{err}");
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let cases: [(&[u8], &str); 4] = [
            (b"b,k\nb,k,v,x\n", "found 4"),
            (b"b,k\nb\n", "found 1"),
            (b"b,k\n,k\n", "empty bucket"),
            (b"b,k\nb,\n", "empty object key"),
        ];
        for (data, needle) in cases {
            let err = read_all(data).unwrap_err();
            assert_eq!(err.line, Some(2), "{err}");
            assert!(err.message.contains(needle), "{err}");
        }
        let err = read_all(b"b,k\nb,\xff\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
    }

    #[test]
    fn blank_lines_inside_the_file_keep_line_numbers_right() {
        let cases: [(&[u8], u64); 3] = [
            (b"b,k\n\nb,\n", 3),
            (b"b,k\r\n\r\n\r\nb,\r\n", 4),
            (b"b,\"k\n\n\"\n\n\nb,\n", 6),
        ];
        for (data, line) in cases {
            let err = read_all(data).unwrap_err();
            assert_eq!(err.line, Some(line), "{data:?}: {err}");
        }
        // Far beyond the csv crate's 8 KiB buffer.
        let mut big = "b,k\n\n".repeat(5000);
        big.push_str("b,%zz\n");
        assert_eq!(read_all(big.as_bytes()).unwrap_err().line, Some(10_001));
    }

    #[test]
    fn quoting_crlf_and_blank_trailing_lines() {
        let entries = read_all(b"\"b\",\"a%20b\"\r\nb,c+d\r\n\n\n").unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].key, "a b");
        assert_eq!(entries[1].key, "c d");
        assert_eq!(read_all(b"").unwrap(), vec![]);
    }

    #[test]
    fn write_then_read_round_trips() {
        let keys = [
            "a b",
            "x,y",
            "1+1=2",
            "100%",
            "say \"hi\"",
            "line\nbreak\r",
            "café/menü",
            "日本",
        ];
        for versioned in [false, true] {
            let entries: Vec<ManifestEntry> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| entry(k, versioned.then(|| format!("v{i}")).as_deref()))
                .collect();
            let mut out = Vec::new();
            assert_eq!(write_csv(&mut out, &entries).unwrap(), keys.len() as u64);
            let text = String::from_utf8(out.clone()).unwrap();
            assert_eq!(text.lines().count(), keys.len());
            assert!(!text.contains('"'));
            assert_eq!(read_all(&out).unwrap(), entries);
        }
    }

    #[test]
    fn writes_aws_rows() {
        let mut out = Vec::new();
        write_csv(
            &mut out,
            [
                entry("object key with spaces", None),
                entry("a+b=c.txt", None),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            b"examplebucket,object%20key%20with%20spaces\nexamplebucket,a%2Bb%3Dc.txt\n"
        );
        let err = write_csv(Vec::new(), [entry("a", None), entry("b", Some("v"))]).unwrap_err();
        assert!(err.message.contains("mixed version ids"));
    }
}
