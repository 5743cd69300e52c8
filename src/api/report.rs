//! `report::` — completion reports, read from the report bucket or a local file, as a
//! host-backed `Report` value with counts, rows and the failed tasks as a manifest.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use rhai::plugin::*;

use crate::backend::{Backend, JobStatus};
use crate::errors::{Error, Result};
use crate::formats::report::{
    ReportManifest, ReportRow, ReportRowReader, TaskStatus, report_prefix,
};

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

/// Completion reports of jobs: counts, failures by error code, rows, and the failed tasks as a
/// manifest to retry.
#[export_module]
pub mod report_api {
    use crate::api::located;
    use rhai::{Dynamic, NativeCallContext};

    use super::{Report, load_for_job, read_from_bucket, read_local};
    use crate::api::batch::job_id_of;
    use crate::api::{RhaiResult, host};

    /// The completion report of a job (a job map or id), read from its report bucket.
    ///
    /// ```rhai
    /// let r = report::load(job);
    /// print(r.summary());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn load(ctx: NativeCallContext, job: Dynamic) -> RhaiResult<Report> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Report> {
                let host = host(&ctx)?;
                Ok(load_for_job(host.backend.as_ref(), &job_id_of(&job)?)?)
            })(),
        )
    }

    /// A report read through its `manifest.json` in a bucket.
    ///
    /// ```rhai
    /// let r = report::read("my-archive", "reports/job-0f6b.../manifest.json");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read(
        ctx: NativeCallContext,
        bucket: &str,
        manifest_json_key: &str,
    ) -> RhaiResult<Report> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Report> {
                let host = host(&ctx)?;
                Ok(read_from_bucket(
                    host.backend.as_ref(),
                    bucket,
                    manifest_json_key,
                )?)
            })(),
        )
    }

    /// A report from a local results CSV, or a local `manifest.json` with its `results/`
    /// folder beside it.
    ///
    /// ```rhai
    /// let r = report::parse("job-f8fb9d89/manifest.json");
    /// print(r.by_error());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse(path: &str) -> RhaiResult<Report> {
        Ok(read_local(path)?)
    }
}

#[export_module]
pub mod report_methods {
    use rhai::{Array, Dynamic, Map};

    use super::Report;
    use crate::api::manifest::Manifest;
    use crate::api::{Opts, RhaiResult, object, opt_str};
    use crate::errors::Error;
    use crate::formats::report::TaskStatus;

    /// The job the report belongs to (`()` when unknown).
    #[rhai_fn(global, get = "job_id", pure)]
    pub fn job_id(report: &mut Report) -> Dynamic {
        opt_str(report.inner.job_id.clone())
    }

    /// The number of tasks reported.
    #[rhai_fn(global, get = "total", pure)]
    pub fn total(report: &mut Report) -> i64 {
        report.rows().len() as i64
    }

    /// The number of succeeded tasks.
    #[rhai_fn(global, get = "succeeded", pure)]
    pub fn succeeded(report: &mut Report) -> i64 {
        report.count(TaskStatus::Succeeded) as i64
    }

    /// The number of failed tasks.
    #[rhai_fn(global, get = "failed", pure)]
    pub fn failed(report: &mut Report) -> i64 {
        report.count(TaskStatus::Failed) as i64
    }

    /// Failed tasks counted by error code.
    ///
    /// ```rhai
    /// for (count, code) in r.by_error() { print(`${code}: ${count}`); }
    /// ```
    #[rhai_fn(global, name = "by_error", pure)]
    pub fn by_error(report: &mut Report) -> Map {
        report
            .by_error()
            .into_iter()
            .map(|(code, count)| (code.into(), count.into()))
            .collect()
    }

    /// Rows as `#{ bucket, key, version_id, status, http_status, error_code, message }` (keys
    /// decoded). Options: `status` (`"succeeded"` or `"failed"`), `limit`.
    ///
    /// ```rhai
    /// for row in r.rows(#{ status: "failed", limit: 20 }) { print(`${row.key}: ${row.error_code}`); }
    /// ```
    #[rhai_fn(global, name = "rows", pure, return_raw)]
    pub fn rows(report: &mut Report, options: Map) -> RhaiResult<Array> {
        let mut o = Opts::new("r.rows", options);
        let status = o
            .string("status")?
            .map(|s| {
                s.parse::<TaskStatus>()
                    .map_err(|e| Error::invalid_argument(format!("r.rows: {e}")))
            })
            .transpose()?;
        let limit = o.int("limit")?.map_or(usize::MAX, |l| l.max(0) as usize);
        o.finish()?;
        Ok(report
            .rows()
            .iter()
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .map(|r| {
                Dynamic::from_map(object([
                    ("bucket", r.bucket.clone().into()),
                    ("key", r.key.clone().into()),
                    ("version_id", opt_str(r.version_id.clone())),
                    ("status", r.status.as_str().into()),
                    ("http_status", (r.http_status as i64).into()),
                    ("error_code", opt_str(r.error_code.clone())),
                    ("message", r.message.clone().into()),
                ]))
            })
            .collect())
    }

    /// Every row.
    ///
    /// ```rhai
    /// for row in r.rows() { print(`${row.key} ${row.status}`); }
    /// ```
    #[rhai_fn(global, name = "rows", pure, return_raw)]
    pub fn rows_all(report: &mut Report) -> RhaiResult<Array> {
        rows(report, Map::new())
    }

    /// The failed tasks as a manifest, to retry them in a new job.
    ///
    /// ```rhai
    /// let retry = r.failed_manifest();
    /// print(retry.len());
    /// ```
    #[rhai_fn(global, name = "failed_manifest", pure, return_raw)]
    pub fn failed_manifest(report: &mut Report) -> RhaiResult<Manifest> {
        let mut manifest = Manifest::default();
        for row in report
            .rows()
            .iter()
            .filter(|r| r.status == TaskStatus::Failed)
        {
            manifest.push(&row.bucket, &row.key, row.version_id.as_deref())?;
        }
        Ok(manifest)
    }

    /// The succeeded tasks as a manifest: the objects whose restores the job started.
    ///
    /// ```rhai
    /// restore::wait(r.succeeded_manifest());
    /// ```
    #[rhai_fn(global, name = "succeeded_manifest", pure, return_raw)]
    pub fn succeeded_manifest(report: &mut Report) -> RhaiResult<Manifest> {
        let mut manifest = Manifest::default();
        for row in report
            .rows()
            .iter()
            .filter(|r| r.status == TaskStatus::Succeeded)
        {
            manifest.push(&row.bucket, &row.key, row.version_id.as_deref())?;
        }
        Ok(manifest)
    }

    /// What to do about the failed tasks: `#{ retry: Manifest, permanent: [#{ bucket, key,
    /// version_id, error_code, message, fix }], in_progress }`. Transient failures (throttling,
    /// 5xx) go into `retry`, a manifest for a new job; permanent ones (AccessDenied, NoSuchKey,
    /// InvalidObjectState, ...) would fail again, so they are listed with their fix; restores
    /// already running are only counted.
    ///
    /// ```rhai
    /// let plan = r.retry_plan();
    /// for p in plan.permanent { print(`${p.key}: ${p.error_code}: ${p.fix}`); }
    /// if plan.retry.len() > 0 { /* upload plan.retry and create a job */ }
    /// ```
    #[rhai_fn(global, name = "retry_plan", pure, return_raw)]
    pub fn retry_plan(report: &mut Report) -> RhaiResult<Map> {
        let mut retry = Manifest::default();
        let mut permanent = Array::new();
        let mut in_progress = 0i64;
        for row in report
            .rows()
            .iter()
            .filter(|r| r.status == TaskStatus::Failed)
        {
            let code = row.error_code.as_deref().unwrap_or("Unknown");
            let transient = matches!(
                code,
                "SlowDown"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "TooManyRequests"
                    | "RequestTimeout"
                    | "Throttling"
            ) || row.http_status >= 500;
            if code == "RestoreAlreadyInProgress" {
                in_progress += 1;
            } else if transient {
                retry.push(&row.bucket, &row.key, row.version_id.as_deref())?;
            } else {
                let fix = crate::hints::for_task(code, &row.bucket, None)
                    .unwrap_or_else(|| "look at the message; retrying will not help".into());
                permanent.push(Dynamic::from_map(object([
                    ("bucket", row.bucket.clone().into()),
                    ("key", row.key.clone().into()),
                    ("version_id", opt_str(row.version_id.clone())),
                    ("error_code", code.into()),
                    ("message", row.message.clone().into()),
                    ("fix", fix.into()),
                ])));
            }
        }
        Ok(object([
            ("retry", Dynamic::from(retry)),
            ("permanent", permanent.into()),
            ("in_progress", in_progress.into()),
        ]))
    }

    /// A short human-readable summary: counts and failures by error code.
    ///
    /// ```rhai
    /// print(r.summary());
    /// ```
    #[rhai_fn(global, name = "summary", pure)]
    pub fn summary(report: &mut Report) -> String {
        report.summary()
    }

    #[rhai_fn(global, name = "to_string", pure)]
    pub fn to_string(report: &mut Report) -> String {
        report.summary()
    }

    #[rhai_fn(global, name = "to_debug", pure)]
    pub fn to_debug(report: &mut Report) -> String {
        report.summary()
    }
}
