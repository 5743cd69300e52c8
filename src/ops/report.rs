//! Completion reports of jobs, read from the report bucket or a local file (the format itself is
//! parsed by `crate::formats::report`): counts, failures by error code, the summary line, the
//! failed and succeeded tasks as manifests, and the retry plan that sorts the failures into
//! transient ones (retry them) and permanent ones (fix them first).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::backend::{Backend, GetObject, JobStatus};
use crate::errors::{Error, Result, is_transient_code};
use crate::formats::report::{
    ReportManifest, ReportResultFile, ReportRow, ReportRowReader, ReportRowRef, TaskStatus,
    report_prefix,
};
use crate::ops::manifest::Manifest;

/// A completion report. Its rows are never all held parsed: reading it streams them once for
/// the counts and failures by error code, noting in each results file where its first row of
/// each outcome is; each query (filtered rows, manifests, the retry plan) streams them again
/// from the source, starting there, skipping files without rows of the outcome asked for and
/// stopping after the last one, so memory stays flat in the row count (see BENCHMARKS.md).
#[derive(Debug, Clone)]
pub struct Report {
    inner: Rc<ReportData>,
}

#[derive(Debug)]
struct ReportData {
    job_id: Option<String>,
    source: Source,
    totals: Totals,
}

/// Where the rows are streamed from.
#[derive(Debug)]
enum Source {
    /// Local results files, re-read for each pass.
    Files(Vec<LocalFile>),
    /// Results files streamed from a bucket into a temporary directory (checked against their
    /// MD5 on the way), re-read from there for each pass: one GET each, memory flat in the
    /// row count.
    Spilled(Vec<LocalFile>, #[allow(dead_code)] SpillDir),
    /// Results files in memory.
    #[cfg(test)]
    Fetched(Vec<(String, Vec<u8>)>),
}

/// A results file on disk and what it looked like when it was counted, so that a later pass
/// notices a file changed under it instead of reading rows from the wrong offsets.
#[derive(Debug)]
struct LocalFile {
    path: PathBuf,
    /// What errors call it: the path, or the bucket and key it was downloaded from.
    name: String,
    stamp: Option<(u64, Option<std::time::SystemTime>)>,
}

impl LocalFile {
    fn new(path: PathBuf) -> LocalFile {
        let name = path.display().to_string();
        LocalFile::named(path, name)
    }

    fn named(path: PathBuf, name: String) -> LocalFile {
        LocalFile {
            path,
            name,
            stamp: None,
        }
    }

    fn stamp(file: &std::fs::File) -> Option<(u64, Option<std::time::SystemTime>)> {
        let meta = file.metadata().ok()?;
        Some((meta.len(), meta.modified().ok()))
    }

    /// Opens the file; the first time notes its size and modification time, later times check
    /// them.
    fn open(&mut self) -> Result<std::fs::File> {
        let file = self.open_unchecked()?;
        self.stamp = LocalFile::stamp(&file);
        Ok(file)
    }

    fn open_checked(&self) -> Result<std::fs::File> {
        let file = self.open_unchecked()?;
        if LocalFile::stamp(&file) != self.stamp {
            return Err(invalid(format!(
                "`{}` changed since the report was read: read the report again",
                self.name
            )));
        }
        Ok(file)
    }

    fn open_unchecked(&self) -> Result<std::fs::File> {
        std::fs::File::open(&self.path)
            .map_err(|e| Error::invalid_argument(format!("cannot read `{}`: {e}", self.name)))
    }
}

/// A temporary directory removed with the report (held, never read: its `Drop` removes it).
#[derive(Debug)]
struct SpillDir(PathBuf);

impl SpillDir {
    fn new() -> Result<SpillDir> {
        let dir =
            std::env::temp_dir().join(format!("s3thaw-report-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::internal(format!(
                "cannot create a temporary directory for the report ({}): {e}",
                dir.display()
            ))
        })?;
        Ok(SpillDir(dir))
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one pass over the rows counts.
#[derive(Debug, Default)]
struct Totals {
    total: usize,
    succeeded: usize,
    failed: usize,
    by_error: BTreeMap<String, i64>,
    /// The bucket of the first failed task of each error code (for hints).
    first_bucket: BTreeMap<String, String>,
    /// One per results file, in order.
    files: Vec<FileTally>,
}

/// The rows of one outcome in one results file: how many, and where the first one starts.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    count: usize,
    /// Byte offset and line of the first row.
    first: (u64, u64),
}

#[derive(Debug, Default, Clone, Copy)]
struct FileTally {
    succeeded: Tally,
    failed: Tally,
}

impl FileTally {
    fn of(&mut self, status: TaskStatus) -> &mut Tally {
        match status {
            TaskStatus::Succeeded => &mut self.succeeded,
            TaskStatus::Failed => &mut self.failed,
        }
    }
}

impl Totals {
    /// Counts `row`, read from the results file counted in `file`.
    fn add(&mut self, file: &mut FileTally, row: &ReportRowRef) {
        self.total += 1;
        let tally = file.of(row.status);
        if tally.count == 0 {
            tally.first = (row.offset, row.line);
        }
        tally.count += 1;
        match row.status {
            TaskStatus::Succeeded => self.succeeded += 1,
            TaskStatus::Failed => {
                self.failed += 1;
                let code = row.error_code.unwrap_or("Unknown");
                match self.by_error.get_mut(code) {
                    Some(n) => *n += 1,
                    None => {
                        self.by_error.insert(code.to_string(), 1);
                        self.first_bucket
                            .insert(code.to_string(), row.bucket.to_string());
                    }
                }
            }
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new("ReportInvalid", message)
}

/// Which rows of a results file a pass reads.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// Byte offset and line of the first row to read.
    from: (u64, u64),
    /// Rows with the outcome asked for (all rows: `None`); the pass ends after the last.
    status: Option<TaskStatus>,
    rows: usize,
}

impl Span {
    const WHOLE: Span = Span {
        from: (0, 1),
        status: None,
        rows: usize::MAX,
    };

    /// The rows of `status` (all: `None`) in a file counted as `tally`; `None` when it has none.
    fn of(tally: Option<&FileTally>, status: Option<TaskStatus>) -> Option<Span> {
        match (tally, status) {
            (Some(tally), Some(status)) => {
                let mut tally = *tally;
                let t = tally.of(status);
                (t.count > 0).then_some(Span {
                    from: t.first,
                    status: Some(status),
                    rows: t.count,
                })
            }
            _ => Some(Span::WHOLE),
        }
    }
}

/// Streams the rows of `span` in one results file into `f`, which answers whether to go on.
fn stream(
    source: &str,
    mut reader: impl Read + Seek,
    span: Span,
    f: &mut dyn FnMut(&ReportRowRef) -> Result<bool>,
) -> Result<bool> {
    let (offset, line) = span.from;
    if offset > 0 {
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::invalid_argument(format!("cannot read `{source}`: {e}")))?;
    }
    let mut rows = if offset > 0 {
        ReportRowReader::resume(reader, offset, line)
    } else {
        ReportRowReader::new(reader)
    };
    let mut left = span.rows;
    while let Some(row) = rows.next_ref() {
        let row = row.map_err(|e| invalid(format!("{source}: {e}")))?;
        if span.status.is_some_and(|s| s != row.status) {
            continue;
        }
        if !f(&row)? {
            return Ok(false);
        }
        left -= 1;
        if left == 0 {
            break;
        }
    }
    Ok(true)
}

/// Counts the rows of one results file (`source` names it in errors) into `totals`.
fn count_rows(totals: &mut Totals, source: &str, reader: impl Read) -> Result<()> {
    let mut file = FileTally::default();
    let mut rows = ReportRowReader::new(reader);
    while let Some(row) = rows.next_ref() {
        totals.add(
            &mut file,
            &row.map_err(|e| invalid(format!("{source}: {e}")))?,
        );
    }
    totals.files.push(file);
    Ok(())
}

impl Report {
    /// A report over `source`, counted in one pass (which also checks every row parses).
    fn new(job_id: Option<String>, mut source: Source) -> Result<Report> {
        let mut totals = Totals::default();
        match &mut source {
            Source::Files(files) | Source::Spilled(files, _) => {
                for file in files {
                    let mut reader = file.open()?;
                    count_rows(&mut totals, &file.name, &mut reader)?;
                }
            }
            #[cfg(test)]
            Source::Fetched(files) => {
                for (key, body) in files {
                    count_rows(&mut totals, key, &mut body.as_slice())?;
                }
            }
        }
        Ok(Report::counted(job_id, source, totals))
    }

    /// A report over `source`, whose rows `totals` counted.
    fn counted(job_id: Option<String>, source: Source, totals: Totals) -> Report {
        Report {
            inner: Rc::new(ReportData {
                job_id,
                source,
                totals,
            }),
        }
    }

    /// The job the report belongs to, when its key or file name says.
    pub fn job_id(&self) -> Option<&str> {
        self.inner.job_id.as_deref()
    }

    /// How many tasks the report has.
    pub fn total(&self) -> usize {
        self.inner.totals.total
    }

    /// Streams every row, in file order, into `f` until it answers `false`.
    pub fn for_each_row(&self, f: &mut dyn FnMut(ReportRow) -> Result<bool>) -> Result<()> {
        self.inner.scan(None, &mut |row| f(row.to_row()))
    }

    /// The rows with `status` (all: `None`), at most `limit` of them.
    pub fn rows(&self, status: Option<TaskStatus>, limit: usize) -> Result<Vec<ReportRow>> {
        let mut rows = Vec::new();
        if limit == 0 {
            return Ok(rows);
        }
        self.inner.scan(status, &mut |row| {
            rows.push(row.to_row());
            Ok(rows.len() < limit)
        })?;
        Ok(rows)
    }

    pub fn count(&self, status: TaskStatus) -> usize {
        match status {
            TaskStatus::Succeeded => self.inner.totals.succeeded,
            TaskStatus::Failed => self.inner.totals.failed,
        }
    }

    pub fn by_error(&self) -> BTreeMap<String, i64> {
        self.inner.totals.by_error.clone()
    }

    /// The bucket of the first task that failed with `code` (for its hint).
    pub fn first_bucket_of(&self, code: &str) -> Option<&str> {
        self.inner.totals.first_bucket.get(code).map(String::as_str)
    }

    /// The tasks with `status` as a manifest.
    pub fn manifest_of(&self, status: TaskStatus) -> Result<Manifest> {
        let mut manifest = Manifest::default();
        self.inner.scan(Some(status), &mut |row| {
            manifest.push(row.bucket, row.key, row.version_id)?;
            Ok(true)
        })?;
        Ok(manifest)
    }

    /// What to do about the failed tasks: see [`RetryPlan`].
    pub fn retry_plan(&self) -> Result<RetryPlan> {
        let mut plan = RetryPlan {
            retry: Manifest::default(),
            permanent: Vec::new(),
            in_progress: 0,
        };
        self.inner.scan(Some(TaskStatus::Failed), &mut |row| {
            let code = row.error_code.unwrap_or("Unknown");
            if code == "RestoreAlreadyInProgress" {
                plan.in_progress += 1;
            } else if is_transient_code(code) || row.http_status >= 500 {
                plan.retry.push(row.bucket, row.key, row.version_id)?;
            } else {
                let fix = crate::hints::for_task(code, row.bucket, None)
                    .unwrap_or_else(|| "look at the message; retrying will not help".into());
                plan.permanent.push(PermanentFailure {
                    bucket: row.bucket.to_string(),
                    key: row.key.to_string(),
                    version_id: row.version_id.map(str::to_string),
                    error_code: code.to_string(),
                    message: row.message.to_string(),
                    fix,
                });
            }
            Ok(true)
        })?;
        Ok(plan)
    }

    pub fn summary(&self) -> String {
        let mut text = format!(
            "Completion report{}: {} tasks, {} succeeded, {} failed",
            self.inner
                .job_id
                .as_ref()
                .map(|id| format!(" of job {id}"))
                .unwrap_or_default(),
            crate::readiness::thousands(self.total() as u64),
            crate::readiness::thousands(self.count(TaskStatus::Succeeded) as u64),
            crate::readiness::thousands(self.count(TaskStatus::Failed) as u64)
        );
        for (code, count) in &self.inner.totals.by_error {
            text.push_str(&format!(
                "\n  {code}: {}",
                crate::readiness::thousands((*count).max(0) as u64)
            ));
        }
        text
    }
}

impl ReportData {
    /// Streams the rows with `status` (all: `None`), in file order, into `f` until it answers
    /// `false`: each file from its first such row to its last, files without any skipped.
    fn scan(
        &self,
        status: Option<TaskStatus>,
        f: &mut dyn FnMut(&ReportRowRef) -> Result<bool>,
    ) -> Result<()> {
        let tallies = &self.totals.files;
        match &self.source {
            Source::Files(files) | Source::Spilled(files, _) => {
                for (i, file) in files.iter().enumerate() {
                    let Some(span) = Span::of(tallies.get(i), status) else {
                        continue;
                    };
                    let reader = file.open_checked()?;
                    if !stream(&file.name, reader, span, f)? {
                        break;
                    }
                }
            }
            #[cfg(test)]
            Source::Fetched(files) => {
                for (i, (key, body)) in files.iter().enumerate() {
                    let Some(span) = Span::of(tallies.get(i), status) else {
                        continue;
                    };
                    if !stream(key, std::io::Cursor::new(body), span, f)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The job id in a report key `.../job-ID/manifest.json`.
fn job_id_in(key: &str) -> Option<String> {
    key.split('/')
        .find_map(|part| part.strip_prefix("job-"))
        .map(str::to_string)
}

/// Reads a report through its `manifest.json` in a bucket: each results file is streamed
/// (`Backend::get_object_stream`) into a temporary file, its MD5 checked and its rows counted on
/// the way (one read of the object, no second pass over the file), then queried from there, so
/// memory stays flat whatever the row count.
pub fn read_from_bucket(backend: &dyn Backend, bucket: &str, key: &str) -> Result<Report> {
    let json = backend.get_object(bucket, key, None)?;
    let manifest =
        ReportManifest::parse(&json).map_err(|e| invalid(format!("{bucket}/{key}: {e}")))?;
    let dir = SpillDir::new()?;
    let mut files = Vec::new();
    let mut totals = Totals::default();
    for (i, file) in manifest.results.iter().enumerate() {
        let path = dir.0.join(format!("{i}.csv"));
        let mut spilled = LocalFile::named(path, format!("{}/{}", file.bucket, file.key));
        spill(backend, file, &mut spilled, &mut totals)?;
        files.push(spilled);
    }
    Ok(Report::counted(
        job_id_in(key),
        Source::Spilled(files, dir),
        totals,
    ))
}

/// Streams one results file into `to`, checking its MD5 against the report's and counting its
/// rows into `totals` as they pass.
fn spill(
    backend: &dyn Backend,
    file: &ReportResultFile,
    to: &mut LocalFile,
    totals: &mut Totals,
) -> Result<()> {
    use md5::Digest;
    let (bucket, key) = (file.bucket.as_str(), file.key.as_str());
    let stream = backend.get_object_stream(
        &GetObject {
            bucket: bucket.to_string(),
            key: key.to_string(),
            ..GetObject::default()
        },
        None,
    )?;
    let out = std::fs::File::create(&to.path)
        .map_err(|e| Error::internal(format!("cannot write `{}`: {e}", to.path.display())))?;
    let mut tee = Tee {
        inner: stream.reader,
        out,
        md5: md5::Md5::new(),
        failed: None,
    };
    let counted = count_rows(totals, &to.name, &mut tee);
    // The rest of the object after a bad row, for the checksum: a corrupted download is
    // reported as that rather than as the row it broke.
    if counted.is_err() && tee.failed.is_none() {
        let _ = std::io::copy(&mut tee, &mut std::io::sink());
    }
    match tee.failed {
        Some(TeeFailure::Read(e)) => {
            return Err(Error::new(
                "ServiceUnavailable",
                format!("reading {bucket}/{key} failed: {e}"),
            )
            .bucket(bucket)
            .key(key));
        }
        Some(TeeFailure::Write(e)) => {
            return Err(Error::internal(format!(
                "cannot write `{}`: {e}",
                to.path.display()
            )));
        }
        None => {}
    }
    let got = hex::encode(tee.md5.finalize());
    if !got.eq_ignore_ascii_case(&file.md5_checksum) {
        return Err(invalid(format!(
            "{bucket}/{key}: MD5 {got} does not match the report's {}",
            file.md5_checksum
        )));
    }
    counted?;
    to.stamp = LocalFile::stamp(&tee.out);
    Ok(())
}

/// Passes what it reads through to a file and an MD5, noting the first failure of either side
/// (the row reader only sees an I/O error).
struct Tee<R> {
    inner: R,
    out: std::fs::File,
    md5: md5::Md5,
    failed: Option<TeeFailure>,
}

enum TeeFailure {
    Read(std::io::Error),
    Write(std::io::Error),
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use md5::Digest;
        use std::io::Write;
        let n = self.inner.read(buf).inspect_err(|e| {
            if e.kind() != std::io::ErrorKind::Interrupted {
                self.failed = Some(TeeFailure::Read(std::io::Error::new(
                    e.kind(),
                    e.to_string(),
                )));
            }
        })?;
        self.md5.update(&buf[..n]);
        self.out.write_all(&buf[..n]).inspect_err(|e| {
            self.failed = Some(TeeFailure::Write(std::io::Error::new(
                e.kind(),
                e.to_string(),
            )));
        })?;
        Ok(n)
    }
}

/// Reads a local results CSV, or a local `manifest.json` with its `results/` folder beside it.
/// The results files are streamed from disk, now and for each query.
pub fn read_local(path: &str) -> Result<Report> {
    if !path.ends_with(".json") {
        return Report::new(
            job_id_in(path),
            Source::Files(vec![LocalFile::new(PathBuf::from(path))]),
        );
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Error::invalid_argument(format!("cannot read `{path}`: {e}")))?;
    let manifest = ReportManifest::parse(&bytes).map_err(|e| invalid(format!("{path}: {e}")))?;
    let dir = Path::new(path).parent().unwrap_or(Path::new("."));
    let files = manifest
        .results
        .iter()
        .map(|file| {
            let name = file.key.rsplit('/').next().unwrap_or(&file.key);
            LocalFile::new(dir.join("results").join(name))
        })
        .collect();
    let job_id =
        job_id_in(path).or_else(|| manifest.results.first().and_then(|f| job_id_in(&f.key)));
    Report::new(job_id, Source::Files(files))
}

/// Reads the completion report of a job from its report bucket.
pub fn load_for_job(backend: &dyn Backend, job_id: &str) -> Result<Report> {
    let job = backend.describe_job(job_id)?;
    let Some(spec) = job.report else {
        return Err(invalid(format!(
            "job {job_id} was created without a completion report"
        ))
        .job_id(job_id));
    };
    if !matches!(
        job.status,
        JobStatus::Complete | JobStatus::Failed | JobStatus::Cancelled
    ) {
        return Err(invalid(format!(
            "job {job_id} is {}: its completion report is written when it ends",
            job.status
        ))
        .job_id(job_id)
        .hint("wait for it first: batch::wait(id)"));
    }
    let key = format!(
        "{}/manifest.json",
        report_prefix(spec.prefix.as_deref(), job_id)
    );
    read_from_bucket(backend, &spec.bucket, &key).map_err(|e| {
        if e.code == "NoSuchKey" {
            invalid(format!(
                "job {job_id} has no completion report at s3://{}/{key}",
                spec.bucket
            ))
            .job_id(job_id)
            .hint("Batch Operations writes a report only when at least one task ran")
        } else {
            e.job_id(job_id)
        }
    })
}

/// The failed tasks of a report, sorted by what to do about them. Transient failures (the
/// one list in `crate::errors`: throttling, 5xx, time-outs) are worth retrying unchanged;
/// restores already running are only counted; the rest would fail again.
#[derive(Debug, Clone)]
pub struct RetryPlan {
    /// The transiently failed tasks, as a manifest for a new job.
    pub retry: Manifest,
    pub permanent: Vec<PermanentFailure>,
    /// Tasks that failed with `RestoreAlreadyInProgress`.
    pub in_progress: u64,
}

/// A failed task that would fail again, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermanentFailure {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub error_code: String,
    pub message: String,
    pub fix: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::report::ReportRowWriter;

    fn failed(key: &str, code: &str, http_status: u16) -> ReportRow {
        ReportRow {
            bucket: "b".into(),
            key: key.into(),
            version_id: None,
            status: TaskStatus::Failed,
            http_status,
            error_code: Some(code.into()),
            message: format!("{code} happened"),
        }
    }

    #[test]
    fn queries_read_only_the_files_and_rows_of_their_outcome() {
        let write = |rows: &[ReportRow]| {
            let mut w = ReportRowWriter::new(Vec::new());
            for row in rows {
                w.write(row).expect("written");
            }
            w.finish().expect("finished")
        };
        let mut ok = failed("ok", "", 202);
        ok.status = TaskStatus::Succeeded;
        ok.error_code = None;
        let files: Vec<Vec<ReportRow>> = vec![
            vec![ok.clone(); 3],
            vec![failed("denied", "AccessDenied", 403)],
            vec![
                ok.clone(),
                failed("slow", "SlowDown", 503),
                ok.clone(),
                failed("running", "RestoreAlreadyInProgress", 409),
                ok.clone(),
            ],
        ];
        let all: Vec<ReportRow> = files.iter().flatten().cloned().collect();
        let mut bodies: Vec<(String, Vec<u8>)> = files
            .iter()
            .enumerate()
            .map(|(i, rows)| (format!("{i}.csv"), write(rows)))
            .collect();
        let report = Report::new(None, Source::Fetched(bodies.clone())).expect("a report");
        for status in [TaskStatus::Succeeded, TaskStatus::Failed] {
            let want: Vec<ReportRow> = all.iter().filter(|r| r.status == status).cloned().collect();
            assert_eq!(report.rows(Some(status), usize::MAX).expect("rows"), want);
            assert_eq!(report.rows(Some(status), 2).expect("rows"), want[..2]);
        }
        assert_eq!(report.rows(None, usize::MAX).expect("rows"), all);
        let plan = report.retry_plan().expect("a plan");
        assert_eq!(
            plan.retry.iter().map(|r| r.key).collect::<Vec<_>>(),
            ["slow"]
        );
        assert_eq!(plan.permanent[0].key, "denied");
        assert_eq!(plan.in_progress, 1);
        // Offsets found by the first pass are where the rows are: corrupting a file's rows
        // before its first failed row changes nothing for the failed rows.
        bodies[2].1[0] = b'\n';
        let shifted = ReportData {
            job_id: None,
            source: Source::Fetched(bodies),
            totals: Totals {
                files: report.inner.totals.files.clone(),
                ..Totals::default()
            },
        };
        let mut keys = Vec::new();
        shifted
            .scan(Some(TaskStatus::Failed), &mut |row| {
                keys.push(row.key.to_string());
                Ok(true)
            })
            .expect("a pass");
        assert_eq!(keys, ["denied", "slow", "running"]);
    }

    #[test]
    fn a_local_file_changed_after_reading_is_refused_not_misread() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("results.csv");
        std::fs::write(
            &path,
            "b,k,,succeeded,202,,Successful\nb,x,,failed,403,AccessDenied,No\n",
        )
        .expect("written");
        let report = read_local(&path.display().to_string()).expect("a report");
        assert_eq!(
            report.rows(Some(TaskStatus::Failed), 1).expect("rows")[0].key,
            "x"
        );
        std::fs::write(&path, "b,k,,succeeded,202,,Successful\n").expect("written");
        let err = report.rows(Some(TaskStatus::Failed), 1).unwrap_err();
        assert_eq!(err.code, "ReportInvalid");
        assert!(
            err.message.contains("changed since the report was read"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_retry_plan_retries_what_errors_calls_transient() {
        let mut ok = failed("fine", "", 202);
        ok.status = TaskStatus::Succeeded;
        ok.error_code = None;
        let rows = vec![
            ok,
            failed("slow", "SlowDown", 503),
            failed("timeout", "RequestTimeout", 400),
            failed("throttled", "ThrottlingException", 400),
            failed("odd", "Mystery", 500),
            failed("denied", "AccessDenied", 403),
            failed("running", "RestoreAlreadyInProgress", 409),
        ];
        let mut w = ReportRowWriter::new(Vec::new());
        for row in &rows {
            w.write(row).expect("written");
        }
        let csv = w.finish().expect("finished");
        let report = Report::new(
            Some("job-1".into()),
            Source::Fetched(vec![("results.csv".into(), csv)]),
        )
        .expect("a report");
        assert_eq!(report.rows(None, usize::MAX).expect("rows"), rows);
        assert_eq!(
            report.rows(Some(TaskStatus::Failed), 2).expect("rows"),
            rows[1..3]
        );
        assert_eq!(report.first_bucket_of("AccessDenied"), Some("b"));
        let plan = report.retry_plan().expect("a plan");
        let retried: Vec<&str> = plan.retry.iter().map(|r| r.key).collect();
        assert_eq!(retried, ["slow", "timeout", "throttled", "odd"]);
        assert_eq!(plan.in_progress, 1);
        assert_eq!(plan.permanent.len(), 1);
        assert_eq!(plan.permanent[0].key, "denied");
        assert!(plan.permanent[0].fix.contains("s3:RestoreObject"));
        assert_eq!(report.by_error().get("SlowDown"), Some(&1));
        assert!(
            report
                .summary()
                .starts_with("Completion report of job job-1: 7 tasks, 1 succeeded, 6 failed")
        );
    }
}
