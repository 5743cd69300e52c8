//! Completion reports of jobs, read from the report bucket or a local file (the format itself is
//! parsed by `crate::formats::report`): counts, failures by error code, the summary line, the
//! failed and succeeded tasks as manifests, and the retry plan that sorts the failures into
//! transient ones (retry them) and permanent ones (fix them first).

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use crate::backend::{Backend, JobStatus};
use crate::errors::{Error, Result, is_transient_code};
use crate::formats::report::{
    ReportManifest, ReportRow, ReportRowReader, TaskStatus, report_prefix,
};
use crate::ops::manifest::Manifest;

/// A completion report: its rows stay in Rust, however many there are.
#[derive(Debug, Clone)]
pub struct Report {
    inner: Rc<ReportData>,
}

#[derive(Debug)]
struct ReportData {
    job_id: Option<String>,
    rows: Vec<ReportRow>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new("ReportInvalid", message)
}

impl Report {
    fn new(job_id: Option<String>, rows: Vec<ReportRow>) -> Report {
        Report {
            inner: Rc::new(ReportData { job_id, rows }),
        }
    }

    /// The job the report belongs to, when its key or file name says.
    pub fn job_id(&self) -> Option<&str> {
        self.inner.job_id.as_deref()
    }

    pub fn rows(&self) -> &[ReportRow] {
        &self.inner.rows
    }

    pub fn count(&self, status: TaskStatus) -> usize {
        self.inner
            .rows
            .iter()
            .filter(|r| r.status == status)
            .count()
    }

    pub fn by_error(&self) -> BTreeMap<String, i64> {
        let mut counts = BTreeMap::new();
        for row in self
            .inner
            .rows
            .iter()
            .filter(|r| r.status == TaskStatus::Failed)
        {
            let code = row.error_code.clone().unwrap_or_else(|| "Unknown".into());
            *counts.entry(code).or_insert(0) += 1;
        }
        counts
    }

    /// The tasks with `status` as a manifest.
    pub fn manifest_of(&self, status: TaskStatus) -> Result<Manifest> {
        let mut manifest = Manifest::default();
        for row in self.rows().iter().filter(|r| r.status == status) {
            manifest.push(&row.bucket, &row.key, row.version_id.as_deref())?;
        }
        Ok(manifest)
    }

    /// What to do about the failed tasks: see [`RetryPlan`].
    pub fn retry_plan(&self) -> Result<RetryPlan> {
        let mut plan = RetryPlan {
            retry: Manifest::default(),
            permanent: Vec::new(),
            in_progress: 0,
        };
        for row in self
            .rows()
            .iter()
            .filter(|r| r.status == TaskStatus::Failed)
        {
            let code = row.error_code.as_deref().unwrap_or("Unknown");
            if code == "RestoreAlreadyInProgress" {
                plan.in_progress += 1;
            } else if is_transient_code(code) || row.http_status >= 500 {
                plan.retry
                    .push(&row.bucket, &row.key, row.version_id.as_deref())?;
            } else {
                let fix = crate::hints::for_task(code, &row.bucket, None)
                    .unwrap_or_else(|| "look at the message; retrying will not help".into());
                plan.permanent.push(PermanentFailure {
                    bucket: row.bucket.clone(),
                    key: row.key.clone(),
                    version_id: row.version_id.clone(),
                    error_code: code.to_string(),
                    message: row.message.clone(),
                    fix,
                });
            }
        }
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
            self.inner.rows.len(),
            self.count(TaskStatus::Succeeded),
            self.count(TaskStatus::Failed)
        );
        for (code, count) in self.by_error() {
            text.push_str(&format!("\n  {code}: {count}"));
        }
        text
    }
}

fn parse_rows(source: &str, bytes: &[u8], rows: &mut Vec<ReportRow>) -> Result<()> {
    for row in ReportRowReader::new(bytes) {
        rows.push(row.map_err(|e| invalid(format!("{source}: {e}")))?);
    }
    Ok(())
}

/// The job id in a report key `.../job-ID/manifest.json`.
fn job_id_in(key: &str) -> Option<String> {
    key.split('/')
        .find_map(|part| part.strip_prefix("job-"))
        .map(str::to_string)
}

/// Reads a report through its `manifest.json` in a bucket, checking each results file's MD5.
pub fn read_from_bucket(backend: &dyn Backend, bucket: &str, key: &str) -> Result<Report> {
    let json = backend.get_object(bucket, key, None)?;
    let manifest =
        ReportManifest::parse(&json).map_err(|e| invalid(format!("{bucket}/{key}: {e}")))?;
    let mut rows = Vec::new();
    for file in &manifest.results {
        let body = backend.get_object(&file.bucket, &file.key, None)?;
        let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&body));
        if !md5.eq_ignore_ascii_case(&file.md5_checksum) {
            return Err(invalid(format!(
                "{}/{}: MD5 {md5} does not match the report's {}",
                file.bucket, file.key, file.md5_checksum
            )));
        }
        parse_rows(&file.key, &body, &mut rows)?;
    }
    Ok(Report::new(job_id_in(key), rows))
}

/// Reads a local results CSV, or a local `manifest.json` with its `results/` folder beside it.
pub fn read_local(path: &str) -> Result<Report> {
    let read = |p: &Path| {
        std::fs::read(p)
            .map_err(|e| Error::invalid_argument(format!("cannot read `{}`: {e}", p.display())))
    };
    let bytes = read(Path::new(path))?;
    let mut rows = Vec::new();
    if !path.ends_with(".json") {
        parse_rows(path, &bytes, &mut rows)?;
        return Ok(Report::new(job_id_in(path), rows));
    }
    let manifest = ReportManifest::parse(&bytes).map_err(|e| invalid(format!("{path}: {e}")))?;
    let dir = Path::new(path).parent().unwrap_or(Path::new("."));
    for file in &manifest.results {
        let name = file.key.rsplit('/').next().unwrap_or(&file.key);
        let local = dir.join("results").join(name);
        let body = read(&local)?;
        parse_rows(&local.display().to_string(), &body, &mut rows)?;
    }
    let job_id =
        job_id_in(path).or_else(|| manifest.results.first().and_then(|f| job_id_in(&f.key)));
    Ok(Report::new(job_id, rows))
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
        let report = Report::new(
            Some("job-1".into()),
            vec![
                ok,
                failed("slow", "SlowDown", 503),
                failed("timeout", "RequestTimeout", 400),
                failed("throttled", "ThrottlingException", 400),
                failed("odd", "Mystery", 500),
                failed("denied", "AccessDenied", 403),
                failed("running", "RestoreAlreadyInProgress", 409),
            ],
        );
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
