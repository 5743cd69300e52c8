//! Completion reports of jobs, read from the report bucket or a local file (the format itself is
//! parsed by `crate::formats::report`): counts, failures by error code, the summary line, the
//! failed and succeeded tasks as manifests, and the retry plan that sorts the failures into
//! transient ones (retry them) and permanent ones (fix them first).

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::backend::{Backend, GetObject, JobStatus};
use crate::errors::{Error, Result, is_transient_code};
use crate::formats::report::{
    ReportManifest, ReportRow, ReportRowReader, TaskStatus, report_prefix,
};
use crate::ops::manifest::Manifest;

/// A completion report. Its rows are never all held parsed: reading it streams them once for
/// the counts and failures by error code, and each query (filtered rows, manifests, the retry
/// plan) streams them again from the source, so memory stays flat in the row count (see
/// BENCHMARKS.md).
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
    Files(Vec<PathBuf>),
    /// Results files streamed from a bucket into a temporary directory (checked against their
    /// MD5 on the way), re-read from there for each pass: one GET each, memory flat in the
    /// row count.
    Spilled(Vec<PathBuf>, #[allow(dead_code)] SpillDir),
    /// Results files in memory.
    #[cfg(test)]
    Fetched(Vec<(String, Vec<u8>)>),
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
}

impl Totals {
    fn add(&mut self, row: &ReportRow) {
        self.total += 1;
        match row.status {
            TaskStatus::Succeeded => self.succeeded += 1,
            TaskStatus::Failed => {
                self.failed += 1;
                let code = row.error_code.as_deref().unwrap_or("Unknown");
                match self.by_error.get_mut(code) {
                    Some(n) => *n += 1,
                    None => {
                        self.by_error.insert(code.to_string(), 1);
                        self.first_bucket
                            .insert(code.to_string(), row.bucket.clone());
                    }
                }
            }
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new("ReportInvalid", message)
}

/// Streams the rows of one results file into `f`, which answers whether to go on.
fn stream(
    source: &str,
    reader: impl Read,
    f: &mut dyn FnMut(ReportRow) -> Result<bool>,
) -> Result<bool> {
    for row in ReportRowReader::new(reader) {
        if !f(row.map_err(|e| invalid(format!("{source}: {e}")))?)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|e| Error::invalid_argument(format!("cannot read `{}`: {e}", path.display())))
}

impl Report {
    /// A report over `source`, counted in one pass (which also checks every row parses).
    fn new(job_id: Option<String>, source: Source) -> Result<Report> {
        let mut data = ReportData {
            job_id,
            source,
            totals: Totals::default(),
        };
        let mut totals = Totals::default();
        data.for_each_row(&mut |row| {
            totals.add(&row);
            Ok(true)
        })?;
        data.totals = totals;
        Ok(Report {
            inner: Rc::new(data),
        })
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
        self.inner.for_each_row(f)
    }

    /// The rows with `status` (all: `None`), at most `limit` of them.
    pub fn rows(&self, status: Option<TaskStatus>, limit: usize) -> Result<Vec<ReportRow>> {
        let mut rows = Vec::new();
        if limit == 0 {
            return Ok(rows);
        }
        self.for_each_row(&mut |row| {
            if status.is_none_or(|s| row.status == s) {
                rows.push(row);
            }
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
        self.for_each_row(&mut |row| {
            if row.status == status {
                manifest.push(&row.bucket, &row.key, row.version_id.as_deref())?;
            }
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
        self.for_each_row(&mut |row| {
            if row.status != TaskStatus::Failed {
                return Ok(true);
            }
            let code = row.error_code.as_deref().unwrap_or("Unknown");
            if code == "RestoreAlreadyInProgress" {
                plan.in_progress += 1;
            } else if is_transient_code(code) || row.http_status >= 500 {
                plan.retry
                    .push(&row.bucket, &row.key, row.version_id.as_deref())?;
            } else {
                let fix = crate::hints::for_task(code, &row.bucket, None)
                    .unwrap_or_else(|| "look at the message; retrying will not help".into());
                let error_code = code.to_string();
                plan.permanent.push(PermanentFailure {
                    bucket: row.bucket,
                    key: row.key,
                    version_id: row.version_id,
                    error_code,
                    message: row.message,
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
    fn for_each_row(&self, f: &mut dyn FnMut(ReportRow) -> Result<bool>) -> Result<()> {
        match &self.source {
            Source::Files(paths) => {
                for path in paths {
                    if !stream(&path.display().to_string(), open(path)?, f)? {
                        break;
                    }
                }
            }
            Source::Spilled(paths, _) => {
                for path in paths {
                    if !stream(&path.display().to_string(), open(path)?, f)? {
                        break;
                    }
                }
            }
            #[cfg(test)]
            Source::Fetched(files) => {
                for (key, body) in files {
                    if !stream(key, body.as_slice(), f)? {
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
/// (`Backend::get_object_stream`) into a temporary file while its MD5 is checked, then counted
/// and queried from there, so memory stays flat whatever the row count.
pub fn read_from_bucket(backend: &dyn Backend, bucket: &str, key: &str) -> Result<Report> {
    let json = backend.get_object(bucket, key, None)?;
    let manifest =
        ReportManifest::parse(&json).map_err(|e| invalid(format!("{bucket}/{key}: {e}")))?;
    let dir = SpillDir::new()?;
    let mut files = Vec::new();
    for (i, file) in manifest.results.iter().enumerate() {
        let path = dir.0.join(format!("{i}.csv"));
        spill(backend, &file.bucket, &file.key, &file.md5_checksum, &path)?;
        files.push(path);
    }
    Report::new(job_id_in(key), Source::Spilled(files, dir))
}

/// Streams one results file into `path`, checking its MD5 against the report's.
fn spill(backend: &dyn Backend, bucket: &str, key: &str, md5_hex: &str, path: &Path) -> Result<()> {
    use md5::Digest;
    use std::io::Write;
    let mut stream = backend.get_object_stream(
        &GetObject {
            bucket: bucket.to_string(),
            key: key.to_string(),
            ..GetObject::default()
        },
        None,
    )?;
    let file = std::fs::File::create(path)
        .map_err(|e| Error::internal(format!("cannot write `{}`: {e}", path.display())))?;
    let mut out = std::io::BufWriter::new(file);
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = stream.reader.read(&mut buf).map_err(|e| {
            Error::new(
                "ServiceUnavailable",
                format!("reading {bucket}/{key} failed: {e}"),
            )
            .bucket(bucket)
            .key(key)
        })?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    out.flush()?;
    let got = hex::encode(md5.finalize());
    if !got.eq_ignore_ascii_case(md5_hex) {
        return Err(invalid(format!(
            "{bucket}/{key}: MD5 {got} does not match the report's {md5_hex}"
        )));
    }
    Ok(())
}

/// Reads a local results CSV, or a local `manifest.json` with its `results/` folder beside it.
/// The results files are streamed from disk, now and for each query.
pub fn read_local(path: &str) -> Result<Report> {
    if !path.ends_with(".json") {
        return Report::new(job_id_in(path), Source::Files(vec![PathBuf::from(path)]));
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
            dir.join("results").join(name)
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
