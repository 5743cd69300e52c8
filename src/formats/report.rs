//! The Batch Operations completion report (`Report_CSV_20180820`): a `manifest.json` listing one
//! results CSV per outcome, under `PREFIX/job-JOBID/`.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::keys::{decode_key, encode_key};
use super::{CsvRows, FormatError};

/// The `Format` of a completion report's `manifest.json`.
pub const REPORT_FORMAT: &str = "Report_CSV_20180820";

/// The `ReportSchema` line AWS writes (rows actually put `HTTPStatusCode` before `ErrorCode`).
pub const REPORT_SCHEMA: &str =
    "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage";

const COLUMNS: usize = 7;

/// The outcome of one task, as named in report rows and `TaskExecutionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// The operation was accepted (for restores: the restore request was).
    Succeeded,
    /// The operation failed; the row carries an error code.
    Failed,
}

impl TaskStatus {
    /// The lower-case spelling AWS uses in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = String;

    /// Accepts any letter case, since only the word matters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("succeeded") {
            Ok(TaskStatus::Succeeded)
        } else if s.eq_ignore_ascii_case("failed") {
            Ok(TaskStatus::Failed)
        } else {
            Err(format!(
                "unknown task status `{s}` (expected succeeded or failed)"
            ))
        }
    }
}

/// One row of a results file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// Bucket name.
    pub bucket: String,
    /// Object key, decoded.
    pub key: String,
    /// Version id, when the manifest named one.
    pub version_id: Option<String>,
    /// The task's outcome.
    pub status: TaskStatus,
    /// HTTP status of the operation (202 for a started restore, 200 when already restored).
    pub http_status: u16,
    /// S3 error code of a failed task, such as `AccessDenied`.
    pub error_code: Option<String>,
    /// Free text: `Successful`, or the error message.
    pub message: String,
}

/// Streams the rows of a results CSV, in either order of the HTTP status and error code columns.
pub struct ReportRowReader<R: Read> {
    rows: CsvRows<R>,
}

impl<R: Read> ReportRowReader<R> {
    /// Reads a results file from `reader` (buffered internally).
    pub fn new(reader: R) -> Self {
        Self {
            rows: CsvRows::new(reader, "malformed report row"),
        }
    }
}

fn parse_row(line: u64, rec: &csv::StringRecord) -> Result<ReportRow, FormatError> {
    let err = |message: String| FormatError::at(line, message);
    if rec.len() != COLUMNS {
        return Err(err(format!(
            "expected {COLUMNS} columns (Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, \
             ErrorCode, ResultMessage), found {}",
            rec.len()
        )));
    }
    if rec[0].is_empty() || rec[1].is_empty() {
        return Err(err("empty bucket name or object key".into()));
    }
    let key = decode_key(&rec[1]).map_err(err)?;
    let status = rec[3].parse::<TaskStatus>().map_err(err)?;
    // AWS writes HTTPStatusCode before ErrorCode, against its own schema line; accept both.
    let (http_status, error_code) = match (http_status(&rec[4]), http_status(&rec[5])) {
        (Some(code), _) => (code, &rec[5]),
        (None, Some(code)) => (code, &rec[4]),
        (None, None) => {
            return Err(err(format!(
                "no HTTP status code: neither column 5 (`{}`) nor column 6 (`{}`) is a \
                 3-digit number",
                &rec[4], &rec[5]
            )));
        }
    };
    Ok(ReportRow {
        bucket: rec[0].to_owned(),
        key,
        version_id: non_empty(&rec[2]),
        status,
        http_status,
        error_code: non_empty(error_code),
        message: rec[6].to_owned(),
    })
}

fn http_status(s: &str) -> Option<u16> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl<R: Read> Iterator for ReportRowReader<R> {
    type Item = Result<ReportRow, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.rows
                .next_record()?
                .and_then(|(line, rec)| parse_row(line, rec)),
        )
    }
}

/// Writes results rows the way AWS does: HTTP status before error code, keys encoded.
///
/// Fields are quoted when they hold a comma, quote, line break or space: AWS quotes messages
/// such as `"Access Denied (Service: Amazon S3; ...)"` that contain spaces but no comma, while
/// `Successful` and encoded keys stay bare.
pub struct ReportRowWriter<W: Write> {
    w: W,
    line: String,
}

impl<W: Write> ReportRowWriter<W> {
    /// Writes to `w`; wrap it in a `BufWriter` when it is a file or socket.
    pub fn new(w: W) -> Self {
        Self {
            w,
            line: String::new(),
        }
    }

    /// Appends one row.
    pub fn write(&mut self, row: &ReportRow) -> Result<(), FormatError> {
        let http = row.http_status.to_string();
        let key = encode_key(&row.key);
        let fields = [
            row.bucket.as_str(),
            &key,
            row.version_id.as_deref().unwrap_or(""),
            row.status.as_str(),
            &http,
            row.error_code.as_deref().unwrap_or(""),
            &row.message,
        ];
        self.line.clear();
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            push_field(&mut self.line, field);
        }
        self.line.push('\n');
        self.w
            .write_all(self.line.as_bytes())
            .map_err(|e| FormatError::whole(format!("writing report: {e}")))
    }

    /// Flushes and hands back the writer.
    pub fn finish(mut self) -> Result<W, FormatError> {
        self.w
            .flush()
            .map_err(|e| FormatError::whole(format!("writing report: {e}")))?;
        Ok(self.w)
    }
}

fn push_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r', ' ']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

/// The report's `manifest.json`, naming the results files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportManifest {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// ISO 8601 time with milliseconds, e.g. `2023-10-20T09:14:52.125Z`.
    pub report_creation_date: String,
    /// One entry per results file.
    pub results: Vec<ReportResultFile>,
    /// Normally [`REPORT_SCHEMA`].
    pub report_schema: String,
}

/// One results file listed in the report's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportResultFile {
    /// `succeeded` or `failed`: the outcome of every row in the file.
    pub task_execution_status: String,
    /// Bucket holding the file.
    pub bucket: String,
    /// Hex MD5 of the file's bytes.
    #[serde(rename = "MD5Checksum")]
    pub md5_checksum: String,
    /// The file's key.
    pub key: String,
}

impl ReportManifest {
    /// Parses a `manifest.json` and checks that it is a `Report_CSV_20180820` report.
    pub fn parse(json: &[u8]) -> Result<Self, FormatError> {
        let manifest: Self = serde_json::from_slice(json).map_err(|e| FormatError {
            line: Some(e.line() as u64),
            message: format!("report manifest.json: {e}"),
        })?;
        if manifest.format != REPORT_FORMAT {
            return Err(FormatError::whole(format!(
                "report manifest.json: unsupported format `{}` (expected {REPORT_FORMAT})",
                manifest.format
            )));
        }
        Ok(manifest)
    }

    /// Pretty JSON as AWS writes it: four-space indents and a final newline.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            serde_json::ser::PrettyFormatter::with_indent(b"    "),
        );
        self.serialize(&mut ser)
            .expect("strings and vectors always serialize to memory");
        out.push(b'\n');
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The folder of a job's report: `PREFIX/job-JOBID`, or `job-JOBID` without a prefix.
pub fn report_prefix(prefix: Option<&str>, job_id: &str) -> String {
    match prefix.map(|p| p.trim_end_matches('/')) {
        Some(p) if !p.is_empty() => format!("{p}/job-{job_id}"),
        _ => format!("job-{job_id}"),
    }
}

/// The key of a job's results file for one outcome: `PREFIX/job-JOBID/results/HASH.csv`.
///
/// AWS's file names are opaque 40-hex-digit strings; ours are the MD5 of `JOBID|status`
/// followed by 8 hex digits of the MD5 of the content checksum, so they are stable, unique per
/// job and outcome, and 40 lower-case hex digits whatever `content_md5_hex` holds.
pub fn results_file_key(
    prefix: Option<&str>,
    job_id: &str,
    content_md5_hex: &str,
    status: TaskStatus,
) -> String {
    let outcome = hex::encode(Md5::digest(format!("{job_id}|{status}")));
    let content = hex::encode(Md5::digest(content_md5_hex.to_ascii_lowercase()));
    format!(
        "{}/results/{outcome}{}.csv",
        report_prefix(prefix, job_id),
        &content[..8]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "f8fb9d89-a3aa-461d-bddc-ea6a1b131955";

    fn fixture(path: &str) -> Vec<u8> {
        super::super::fixture(&format!("reports/job-{JOB}/{path}"))
    }

    fn read_all(data: &[u8]) -> Result<Vec<ReportRow>, FormatError> {
        ReportRowReader::new(data).collect()
    }

    fn results_file(manifest: &ReportManifest, status: TaskStatus) -> Vec<u8> {
        let file = manifest
            .results
            .iter()
            .find(|f| f.task_execution_status == status.as_str())
            .unwrap();
        let name = file.key.rsplit('/').next().unwrap();
        let data = fixture(&format!("results/{name}"));
        assert_eq!(hex::encode(Md5::digest(&data)), file.md5_checksum);
        data
    }

    #[test]
    fn fixture_manifest_parses_and_reprints_identically() {
        let json = fixture("manifest.json");
        let manifest = ReportManifest::parse(&json).unwrap();
        assert_eq!(manifest.format, REPORT_FORMAT);
        assert_eq!(manifest.report_schema, REPORT_SCHEMA);
        assert_eq!(manifest.results.len(), 2);
        assert_eq!(manifest.results[0].bucket, "my-archive");
        assert_eq!(manifest.to_json().as_bytes(), json.as_slice());
        let bad = ReportManifest::parse(b"{\n\"Format\": 1}").unwrap_err();
        assert_eq!(bad.line, Some(2));
        let other = manifest.to_json().replace(REPORT_FORMAT, "Other");
        assert!(ReportManifest::parse(other.as_bytes()).is_err());
    }

    #[test]
    fn fixture_rows_decode() {
        let manifest = ReportManifest::parse(&fixture("manifest.json")).unwrap();
        let ok = read_all(&results_file(&manifest, TaskStatus::Succeeded)).unwrap();
        let failed = read_all(&results_file(&manifest, TaskStatus::Failed)).unwrap();
        assert_eq!(ok.len(), 4);
        assert_eq!(failed.len(), 3);
        assert!(
            ok.iter()
                .all(|r| r.status == TaskStatus::Succeeded && r.error_code.is_none())
        );
        assert!(failed.iter().all(|r| r.status == TaskStatus::Failed));
        assert_eq!(ok[2].key, "photos/2019/object key with spaces.jpg");
        assert_eq!(ok[2].http_status, 200);
        let codes: Vec<_> = failed
            .iter()
            .map(|r| r.error_code.as_deref().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "AccessDenied",
                "InvalidObjectState",
                "RestoreAlreadyInProgress"
            ]
        );
        assert_eq!(
            failed[1].message,
            "Restore is not allowed for the object's current storage class, \"STANDARD\""
        );
        assert_eq!(
            failed[2].message,
            "Object restore is already in progress\n(requested tier: STANDARD, expiration: 1 day)"
        );
        assert_eq!(failed[2].http_status, 409);
    }

    #[test]
    fn writing_fixture_rows_reproduces_the_files() {
        let manifest = ReportManifest::parse(&fixture("manifest.json")).unwrap();
        for status in [TaskStatus::Succeeded, TaskStatus::Failed] {
            let data = results_file(&manifest, status);
            let mut writer = ReportRowWriter::new(Vec::new());
            for row in read_all(&data).unwrap() {
                writer.write(&row).unwrap();
            }
            let out = writer.finish().unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(data).unwrap()
            );
        }
    }

    #[test]
    fn accepts_schema_column_order() {
        let aws = read_all(b"b,k%2Bx,v1,failed,403,AccessDenied,Denied\n").unwrap();
        let schema = read_all(b"b,k%2Bx,v1,failed,AccessDenied,403,Denied\n").unwrap();
        assert_eq!(aws, schema);
        assert_eq!(aws[0].key, "k+x");
        assert_eq!(aws[0].version_id.as_deref(), Some("v1"));
        let ok = read_all(b"b,k,,succeeded,,202,Successful\n").unwrap();
        assert_eq!((ok[0].http_status, ok[0].error_code.clone()), (202, None));
    }

    #[test]
    fn bad_rows_name_the_line_where_the_record_starts() {
        let data = b"b,k,,failed,409,Busy,\"two\nlines\"\nb,k,,failed,403,AccessDenied\n";
        let mut rows = ReportRowReader::new(&data[..]);
        assert!(rows.next().unwrap().is_ok());
        let err = rows.next().unwrap().unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("found 6"), "{err}");
        let cases: [(&[u8], &str); 3] = [
            (b"b,k,,done,202,,x\n", "unknown task status"),
            (b"b,k,,failed,Oops,4033,x\n", "no HTTP status"),
            (b"b,%zz,,failed,403,X,x\n", "broken percent escape"),
        ];
        for (data, needle) in cases {
            let err = read_all(data).unwrap_err();
            assert_eq!(err.line, Some(1));
            assert!(err.message.contains(needle), "{err}");
        }
    }

    #[test]
    fn writes_aws_rows_and_quotes_only_when_needed() {
        let row = ReportRow {
            bucket: "my-archive".into(),
            key: "a b,c".into(),
            version_id: Some("v1".into()),
            status: TaskStatus::Succeeded,
            http_status: 202,
            error_code: None,
            message: "Successful".into(),
        };
        let mut w = ReportRowWriter::new(Vec::new());
        w.write(&row).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(out, b"my-archive,a%20b%2Cc,v1,succeeded,202,,Successful\n");
        assert_eq!(read_all(&out).unwrap(), vec![row]);
    }

    #[test]
    fn report_keys() {
        assert_eq!(report_prefix(Some("reports"), "j1"), "reports/job-j1");
        assert_eq!(report_prefix(Some("reports/"), "j1"), "reports/job-j1");
        assert_eq!(report_prefix(Some(""), "j1"), "job-j1");
        assert_eq!(report_prefix(None, "j1"), "job-j1");
        let md5 = "104eca9389886c887a90a693e07f604b";
        let key = results_file_key(Some("reports/"), JOB, md5, TaskStatus::Succeeded);
        let hash = key
            .strip_prefix(&format!("reports/job-{JOB}/results/"))
            .and_then(|k| k.strip_suffix(".csv"))
            .unwrap();
        assert_eq!(hash.len(), 40);
        assert!(hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(
            key,
            results_file_key(Some("reports"), JOB, md5, TaskStatus::Succeeded)
        );
        assert_ne!(
            key,
            results_file_key(Some("reports"), JOB, md5, TaskStatus::Failed)
        );
        assert_ne!(
            key,
            results_file_key(Some("reports"), "other", md5, TaskStatus::Succeeded)
        );
        assert!(results_file_key(None, "j", "", TaskStatus::Failed).starts_with("job-j/results/"));
    }

    #[test]
    fn task_status_round_trips() {
        for s in [TaskStatus::Succeeded, TaskStatus::Failed] {
            assert_eq!(s.as_str().parse::<TaskStatus>(), Ok(s));
        }
        assert_eq!("FAILED".parse::<TaskStatus>(), Ok(TaskStatus::Failed));
    }
}
