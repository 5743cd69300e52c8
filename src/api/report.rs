//! `report::` — the bindings of `crate::ops::report`: completion reports as a host-backed
//! `Report` value with counts, rows, the failed tasks as a manifest and a retry plan.

use rhai::plugin::*;

pub use crate::ops::report::{
    PermanentFailure, Report, RetryPlan, load_for_job, read_from_bucket, read_local,
};

/// Completion reports of jobs: counts, failures by error code, rows, and the failed tasks as a
/// manifest to retry.
#[export_module]
pub mod report_api {
    use rhai::{Dynamic, NativeCallContext};

    use super::{Report, load_for_job, read_from_bucket, read_local};
    use crate::api::batch::job_id_of;
    use crate::api::{RhaiResult, support};

    /// The completion report of a job (a job map or id), read from its report bucket.
    ///
    /// ```rhai
    /// let r = report::load(job);
    /// print(r.summary());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn load(ctx: NativeCallContext, job: Dynamic) -> RhaiResult<Report> {
        support::call(&ctx, |host| {
            Ok(load_for_job(host.backend.as_ref(), &job_id_of(&job)?)?)
        })
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
        support::call(&ctx, |host| {
            Ok(read_from_bucket(
                host.backend.as_ref(),
                bucket,
                manifest_json_key,
            )?)
        })
    }

    /// A report from a local results CSV, or a local `manifest.json` with its `results/`
    /// folder beside it.
    ///
    /// ```rhai
    /// let r = report::parse("job-f8fb9d89/manifest.json");
    /// print(r.by_error());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse(ctx: NativeCallContext, path: &str) -> RhaiResult<Report> {
        support::pure(&ctx, || Ok(read_local(path)?))
    }
}

#[export_module]
pub mod report_methods {
    use rhai::{Array, Dynamic, Map, NativeCallContext};

    use super::Report;
    use crate::api::manifest::Manifest;
    use crate::api::{Opts, RhaiResult, object, opt_str, support};
    use crate::errors::Error;
    use crate::formats::report::TaskStatus;

    /// The job the report belongs to (`()` when unknown).
    #[rhai_fn(global, get = "job_id", pure)]
    pub fn job_id(report: &mut Report) -> Dynamic {
        opt_str(report.job_id())
    }

    /// The number of tasks reported.
    #[rhai_fn(global, get = "total", pure)]
    pub fn total(report: &mut Report) -> i64 {
        report.total() as i64
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
    pub fn rows(ctx: NativeCallContext, report: &mut Report, options: Map) -> RhaiResult<Array> {
        support::pure(&ctx, || {
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
                .rows(status, limit)?
                .into_iter()
                .map(|r| {
                    Dynamic::from_map(object([
                        ("status", r.status.as_str().into()),
                        ("http_status", (r.http_status as i64).into()),
                        ("bucket", r.bucket.into()),
                        ("key", r.key.into()),
                        ("version_id", opt_str(r.version_id)),
                        ("error_code", opt_str(r.error_code)),
                        ("message", r.message.into()),
                    ]))
                })
                .collect())
        })
    }

    /// Every row.
    ///
    /// ```rhai
    /// for row in r.rows() { print(`${row.key} ${row.status}`); }
    /// ```
    #[rhai_fn(global, name = "rows", pure, return_raw)]
    pub fn rows_all(ctx: NativeCallContext, report: &mut Report) -> RhaiResult<Array> {
        rows(ctx, report, Map::new())
    }

    /// The failed tasks as a manifest, to retry them in a new job.
    ///
    /// ```rhai
    /// let retry = r.failed_manifest();
    /// print(retry.len());
    /// ```
    #[rhai_fn(global, name = "failed_manifest", pure, return_raw)]
    pub fn failed_manifest(ctx: NativeCallContext, report: &mut Report) -> RhaiResult<Manifest> {
        support::pure(&ctx, || Ok(report.manifest_of(TaskStatus::Failed)?))
    }

    /// The succeeded tasks as a manifest: the objects whose restores the job started.
    ///
    /// ```rhai
    /// restore::wait(r.succeeded_manifest());
    /// ```
    #[rhai_fn(global, name = "succeeded_manifest", pure, return_raw)]
    pub fn succeeded_manifest(ctx: NativeCallContext, report: &mut Report) -> RhaiResult<Manifest> {
        support::pure(&ctx, || Ok(report.manifest_of(TaskStatus::Succeeded)?))
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
    pub fn retry_plan(ctx: NativeCallContext, report: &mut Report) -> RhaiResult<Map> {
        support::pure(&ctx, || {
            let plan = report.retry_plan()?;
            let permanent: Array = plan
                .permanent
                .into_iter()
                .map(|p| {
                    Dynamic::from_map(object([
                        ("bucket", p.bucket.into()),
                        ("key", p.key.into()),
                        ("version_id", opt_str(p.version_id)),
                        ("error_code", p.error_code.into()),
                        ("message", p.message.into()),
                        ("fix", p.fix.into()),
                    ]))
                })
                .collect();
            Ok(object([
                ("retry", Dynamic::from(plan.retry)),
                ("permanent", permanent.into()),
                ("in_progress", (plan.in_progress as i64).into()),
            ]))
        })
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
