//! The Batch Operations completion report (`Report_CSV_20180820`): a `manifest.json` listing one
//! results CSV per outcome, under `PREFIX/job-JOBID/`.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::FormatError;
use super::keys::{decode_key_into, encode_key};

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
        // AWS's spelling first: millions of rows are parsed.
        if s == "succeeded" {
            Ok(TaskStatus::Succeeded)
        } else if s == "failed" {
            Ok(TaskStatus::Failed)
        } else if s.eq_ignore_ascii_case("succeeded") {
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

/// One row of a results file as the reader holds it: fields borrowed from its buffers, the key
/// already decoded, nothing allocated. [`ReportRowRef::to_row`] makes an owned [`ReportRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRowRef<'a> {
    /// 1-based line where the row starts.
    pub line: u64,
    /// Byte offset of the row in the file; [`ReportRowReader::resume`] starts there.
    pub offset: u64,
    pub bucket: &'a str,
    /// Object key, decoded.
    pub key: &'a str,
    pub version_id: Option<&'a str>,
    pub status: TaskStatus,
    pub http_status: u16,
    pub error_code: Option<&'a str>,
    pub message: &'a str,
}

impl ReportRowRef<'_> {
    /// The row, owned.
    pub fn to_row(&self) -> ReportRow {
        ReportRow {
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
            version_id: self.version_id.map(str::to_owned),
            status: self.status,
            http_status: self.http_status,
            error_code: self.error_code.map(str::to_owned),
            message: self.message.to_owned(),
        }
    }
}

/// How much of a results file is read at a time.
const READ_SIZE: usize = 256 * 1024;

/// The longest row accepted: AWS's rows are a few hundred bytes, so a longer one is a broken
/// file (an unclosed quote swallows every following line into one field), refused before it
/// fills memory.
const MAX_ROW: usize = 16 * 1024 * 1024;

const WHAT: &str = "malformed report row";

/// Streams the rows of a results CSV, in either order of the HTTP status and error code columns.
///
/// Rows are parsed as the csv crate would (RFC 4180 quotes, `\r\n`, `\n` or `\r` line ends, blank
/// lines skipped, a UTF-8 BOM at the start ignored) but cheaply: a row without a quote or a stray
/// `\r` (every row AWS writes for a succeeded task) is split at its commas in place, and only
/// quoted rows go through csv-core. Nothing is allocated per row: [`next_ref`](Self::next_ref)
/// lends the row from the reader's buffers; the [`Iterator`] gives owned rows.
pub struct ReportRowReader<R: Read> {
    inner: R,
    /// Read input; `buf[pos..end]` is not parsed yet.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Offset in the file of `buf[0]`.
    base: u64,
    /// Line of `buf[pos]`.
    line: u64,
    /// At the start of the file, where a UTF-8 BOM is skipped.
    at_file_start: bool,
    eof: bool,
    /// After an I/O error or an over-long row, where the position can no longer be trusted.
    done: bool,
    /// Quoted rows: the parser, the unquoted fields and where each ends.
    core: csv_core::Reader,
    record: Vec<u8>,
    ends: Vec<usize>,
    /// The decoded key, when it had escapes.
    key: Vec<u8>,
}

/// Where the fields of the current row are.
#[derive(Clone, Copy)]
enum Fields {
    /// `buf[start..end]`, with `fields` fields; the first commas are at `cuts`.
    Plain {
        start: usize,
        end: usize,
        cuts: [usize; COLUMNS],
        fields: usize,
    },
    /// `record[..ends[n - 1]]`, the first `n` ends, from csv-core.
    Quoted(usize),
}

impl<R: Read> ReportRowReader<R> {
    /// Reads a results file from `reader` (buffered internally).
    pub fn new(reader: R) -> Self {
        let mut rows = Self::resume(reader, 0, 1);
        rows.at_file_start = true;
        rows
    }

    /// Reads on from a row start found by an earlier pass: `reader` is positioned at byte
    /// `offset` of the file, which is on line `line` (both from [`ReportRowRef`]).
    pub fn resume(reader: R, offset: u64, line: u64) -> Self {
        let mut core = csv_core::Reader::new();
        // csv-core drops a BOM from its first input; the BOM is handled here (at the file
        // start only), so that first input is a blank line it skips.
        core.read_record(b"\n", &mut [], &mut []);
        Self {
            inner: reader,
            buf: vec![0; READ_SIZE],
            pos: 0,
            end: 0,
            base: offset,
            line,
            at_file_start: false,
            eof: false,
            done: false,
            core,
            record: vec![0; 1024],
            ends: vec![0; 16],
            key: Vec::new(),
        }
    }

    /// The next row, lent until the next call; `None` at the end, and after an I/O error or an
    /// over-long row. A row with a wrong column count or bad values is an error and reading
    /// goes on.
    pub fn next_ref(&mut self) -> Option<Result<ReportRowRef<'_>, FormatError>> {
        if self.done {
            return None;
        }
        let (line, offset, fields) = match self.next_record() {
            Ok(Some(found)) => found,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let mut columns = [""; COLUMNS];
        let mut n = 0;
        match fields {
            Fields::Plain {
                start,
                end,
                cuts,
                fields,
            } => {
                // A comma never falls inside a UTF-8 sequence: a valid line splits into valid
                // fields, at char boundaries.
                let Ok(text) = std::str::from_utf8(&self.buf[start..end]) else {
                    return Some(Err(not_utf8(line)));
                };
                let mut from = 0;
                for (i, column) in columns.iter_mut().enumerate().take(fields) {
                    let to = if i + 1 < fields {
                        cuts[i] - start
                    } else {
                        text.len()
                    };
                    *column = &text[from..to];
                    from = to + 1;
                }
                n = fields;
            }
            Fields::Quoted(count) => {
                let mut start = 0;
                for &end in &self.ends[..count] {
                    let Ok(field) = std::str::from_utf8(&self.record[start..end]) else {
                        return Some(Err(not_utf8(line)));
                    };
                    if n < COLUMNS {
                        columns[n] = field;
                    }
                    n += 1;
                    start = end;
                }
            }
        }
        Some(parse_row(line, offset, n, columns, &mut self.key))
    }

    /// Finds the next row: its line, offset and fields.
    fn next_record(&mut self) -> Result<Option<(u64, u64, Fields)>, FormatError> {
        // Blank lines (and a BOM at the start) are skipped, as the csv crate does.
        loop {
            if self.end - self.pos < 3 && !self.eof {
                self.fill()?;
                continue;
            }
            if self.at_file_start {
                self.at_file_start = false;
                if self.buf[self.pos..self.end].starts_with(b"\xef\xbb\xbf") {
                    self.pos += 3;
                }
                continue;
            }
            match self.buf[self.pos..self.end].first() {
                // Fewer than 3 bytes are left only at the end of the input.
                None => return Ok(None),
                Some(b'\n') => {
                    self.line += 1;
                    self.pos += 1;
                }
                Some(b'\r') => self.pos += 1,
                Some(_) => break,
            }
        }
        let (line, offset) = (self.line, self.base + self.pos as u64);
        // The line's end, reading on until it is in the buffer.
        let mut scanned = 0;
        let newline = loop {
            let from = self.pos + scanned;
            if let Some(i) = memchr::memchr(b'\n', &self.buf[from..self.end]) {
                break Some(from + i);
            }
            scanned = self.end - self.pos;
            if self.eof {
                break None;
            }
            if scanned > MAX_ROW {
                return Err(self.too_long(line));
            }
            self.fill()?;
        };
        let line_end = newline.unwrap_or(self.end);
        let mut text_end = line_end;
        if text_end > self.pos && self.buf[text_end - 1] == b'\r' {
            text_end -= 1;
        }
        // Commas found on the way; a quote or a stray \r sends the row to csv-core. (A byte loop:
        // rows are short, memchr calls per comma cost more.)
        let mut cuts = [0; COLUMNS];
        let mut commas = 0;
        let mut plain = true;
        for (i, &b) in self.buf[self.pos..text_end].iter().enumerate() {
            if b == b',' {
                if commas < COLUMNS {
                    cuts[commas] = self.pos + i;
                }
                commas += 1;
            } else if b == b'"' || b == b'\r' {
                plain = false;
                break;
            }
        }
        if plain {
            let fields = Fields::Plain {
                start: self.pos,
                end: text_end,
                cuts,
                fields: commas + 1,
            };
            match newline {
                Some(i) => {
                    self.pos = i + 1;
                    self.line += 1;
                }
                None => self.pos = self.end,
            }
            return Ok(Some((line, offset, fields)));
        }
        let count = self.read_quoted(line)?;
        Ok(Some((line, offset, Fields::Quoted(count))))
    }

    /// Parses one row with quotes (maybe over several lines) with csv-core; how many fields.
    fn read_quoted(&mut self, line: u64) -> Result<usize, FormatError> {
        use csv_core::ReadRecordResult::*;
        let (mut out, mut fields, mut consumed) = (0, 0, 0);
        loop {
            if self.pos == self.end && !self.eof {
                self.fill()?;
            }
            let input = &self.buf[self.pos..self.end];
            let (result, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.record[out..], &mut self.ends[fields..]);
            self.line += memchr::memchr_iter(b'\n', &input[..nin]).count() as u64;
            self.pos += nin;
            consumed += nin;
            out += nout;
            fields += nend;
            if consumed > MAX_ROW {
                return Err(self.too_long(line));
            }
            match result {
                InputEmpty => {}
                OutputFull => self.record.resize(self.record.len() * 2, 0),
                OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                Record | End => return Ok(fields),
            }
        }
    }

    /// Reads more after the unparsed bytes (moved to the front; the buffer grows when they
    /// fill it); sets `eof` at the end of the input.
    fn fill(&mut self) -> Result<(), FormatError> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(FormatError {
                        line: Some(self.line),
                        message: format!("{WHAT}: reading failed: {e}"),
                    });
                }
            }
        }
    }

    fn too_long(&self, line: u64) -> FormatError {
        FormatError::at(
            line,
            format!(
                "{WHAT}: longer than {} MiB (an unclosed quote?)",
                MAX_ROW / (1024 * 1024)
            ),
        )
    }
}

fn not_utf8(line: u64) -> FormatError {
    FormatError::at(line, format!("{WHAT}: row is not valid UTF-8"))
}

fn parse_row<'a>(
    line: u64,
    offset: u64,
    n: usize,
    rec: [&'a str; COLUMNS],
    key_buf: &'a mut Vec<u8>,
) -> Result<ReportRowRef<'a>, FormatError> {
    let err = |message: String| FormatError::at(line, message);
    if n != COLUMNS {
        return Err(err(format!(
            "expected {COLUMNS} columns (Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, \
             ErrorCode, ResultMessage), found {n}"
        )));
    }
    if rec[0].is_empty() || rec[1].is_empty() {
        return Err(err("empty bucket name or object key".into()));
    }
    let key = if rec[1].bytes().any(|b| b == b'%' || b == b'+') {
        decode_key_into(rec[1], key_buf).map_err(err)?
    } else {
        rec[1]
    };
    let status = rec[3].parse::<TaskStatus>().map_err(err)?;
    // AWS writes HTTPStatusCode before ErrorCode, against its own schema line; accept both.
    let (http_status, error_code) = match (http_status(rec[4]), http_status(rec[5])) {
        (Some(code), _) => (code, rec[5]),
        (None, Some(code)) => (code, rec[4]),
        (None, None) => {
            return Err(err(format!(
                "no HTTP status code: neither column 5 (`{}`) nor column 6 (`{}`) is a \
                 3-digit number",
                rec[4], rec[5]
            )));
        }
    };
    Ok(ReportRowRef {
        line,
        offset,
        bucket: rec[0],
        key,
        version_id: non_empty(rec[2]),
        status,
        http_status,
        error_code: non_empty(error_code),
        message: rec[6],
    })
}

fn http_status(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() == 3 && b.iter().all(u8::is_ascii_digit) {
        Some(b.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
    } else {
        None
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl<R: Read> Iterator for ReportRowReader<R> {
    type Item = Result<ReportRow, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_ref()?.map(|row| row.to_row()))
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

    /// Rows as the csv crate reads them (what this reader replaced), each with its line.
    fn reference(data: &[u8]) -> Vec<Result<(u64, ReportRow), FormatError>> {
        let mut csv = super::super::CsvRows::new(data, WHAT);
        let mut out = Vec::new();
        let mut key = Vec::new();
        while let Some(next) = csv.next_record() {
            let (line, rec) = match next {
                Ok(found) => found,
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            };
            let mut columns = [""; COLUMNS];
            for (i, field) in rec.iter().take(COLUMNS).enumerate() {
                columns[i] = field;
            }
            out.push(parse_row(line, 0, rec.len(), columns, &mut key).map(|r| (line, r.to_row())));
        }
        out
    }

    /// A reader that hands out at most `step` bytes per read, to cross buffer boundaries.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn ours(
        reader: impl Read,
        offset: u64,
        line: u64,
    ) -> Vec<Result<(u64, ReportRow), FormatError>> {
        let mut rows = if offset == 0 {
            ReportRowReader::new(reader)
        } else {
            ReportRowReader::resume(reader, offset, line)
        };
        let mut out = Vec::new();
        while let Some(row) = rows.next_ref() {
            out.push(row.map(|r| (r.line, r.to_row())));
        }
        out
    }

    #[test]
    fn reads_what_the_csv_crate_reads_from_any_split_of_the_input() {
        const PIECES: [&[u8]; 24] = [
            b"b",
            b"k",
            b"k%20x+y",
            b"%zz",
            b",",
            b",",
            b",",
            b"\"",
            b"\"\"",
            b"\r",
            b"\n",
            b"\r\n",
            b"\n\n",
            b"succeeded",
            b"failed",
            b"202",
            b"403",
            b"AccessDenied",
            b" ",
            "é".as_bytes(),
            b"\xff",
            b"\xc3",
            b"\xef\xbb\xbf",
            b"v1",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let good = b"b,k%2Bx,v1,failed,403,AccessDenied,\"Access, \"\"denied\"\"\nline 2\"\n";
        for case in 0..1500 {
            let mut data = Vec::new();
            for _ in 0..next() % 30 {
                if next() % 4 == 0 {
                    data.extend_from_slice(good);
                } else if next() % 3 == 0 {
                    data.extend_from_slice(b"b,k,,succeeded,202,,Successful\n");
                } else {
                    data.extend_from_slice(PIECES[(next() % PIECES.len() as u64) as usize]);
                }
            }
            let mut want = reference(&data);
            // The csv crate stops at a row that is not UTF-8; this reader goes on.
            let cut = want
                .iter()
                .position(|r| r.is_err())
                .map_or(want.len(), |i| i + 1);
            let step = 1 + (next() % 9) as usize;
            let mut got = ours(
                Trickle(&data, if case % 2 == 0 { step } else { usize::MAX }),
                0,
                1,
            );
            got.truncate(cut.min(got.len()));
            want.truncate(cut);
            // Where a lone \r splits a line, the csv crate's line numbers are those of the
            // next line, and after a BOM and blank lines it says line 1; ours are the lines
            // the rows start on.
            if data.contains(&b'\r') || data.starts_with(b"\xef\xbb\xbf") {
                let strip = |v: Vec<Result<(u64, ReportRow), FormatError>>| -> Vec<_> {
                    v.into_iter()
                        .map(|r| r.map(|(_, row)| row).map_err(|e| e.message))
                        .collect()
                };
                assert_eq!(
                    strip(got),
                    strip(want),
                    "case {case}: {:?}",
                    String::from_utf8_lossy(&data)
                );
            } else {
                assert_eq!(
                    got,
                    want,
                    "case {case}: {:?}",
                    String::from_utf8_lossy(&data)
                );
            }
        }
    }

    #[test]
    fn resumes_at_any_row_it_read() {
        let data = b"\xef\xbb\xbfb,k,,succeeded,202,,Successful\r\n\r\nb,k%20x,,failed,403,AccessDenied,\"a\nb\"\n\nb,k2,v,succeeded,200,,Successful\nb,k3,,failed,503,SlowDown,\"x, y\"";
        let all = ours(&data[..], 0, 1);
        assert_eq!(all.len(), 4);
        let lines: Vec<u64> = all.iter().map(|r| r.as_ref().unwrap().0).collect();
        assert_eq!(lines, [1, 3, 6, 7]);
        let mut rows = ReportRowReader::new(&data[..]);
        let mut offsets = Vec::new();
        while let Some(row) = rows.next_ref() {
            let row = row.unwrap();
            offsets.push((row.offset, row.line));
        }
        for (i, &(offset, line)) in offsets.iter().enumerate() {
            let rest = ours(Trickle(&data[offset as usize..], 3), offset, line);
            assert_eq!(rest, all[i..], "from row {i}");
        }
    }

    #[test]
    fn an_unclosed_quote_is_refused_before_it_fills_memory() {
        let mut data = b"b,k,,failed,403,X,\"never closed\n".to_vec();
        data.resize(MAX_ROW + 2 * READ_SIZE, b'a');
        let mut rows = ReportRowReader::new(&data[..]);
        let err = rows.next_ref().unwrap().unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("longer than 16 MiB"), "{err}");
        assert!(rows.next_ref().is_none());
        let long_line = vec![b'x'; MAX_ROW + 2 * READ_SIZE];
        let err = read_all(&long_line).unwrap_err();
        assert!(err.message.contains("longer than 16 MiB"), "{err}");
    }

    #[test]
    fn task_status_round_trips() {
        for s in [TaskStatus::Succeeded, TaskStatus::Failed] {
            assert_eq!(s.as_str().parse::<TaskStatus>(), Ok(s));
        }
        assert_eq!("FAILED".parse::<TaskStatus>(), Ok(TaskStatus::Failed));
    }
}
