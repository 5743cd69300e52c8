//! S3 Batch Operations in the simulator: the job lifecycle, its tasks and its completion report.
//!
//! A job advances by steps, each due at an instant (`jobs.next_at`); `advance_all` runs every
//! step that is due, in time order, whenever the world is touched. While a job is Active its
//! tasks run at a fixed simulated rate, so a partial look shows partial progress and a wait
//! jumps straight to the end.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::clock::{self, Millis, SECOND};
use super::iam::{self, AssumedRole};
use super::s3;
use super::{Budget, World};
use crate::backend::*;
use crate::errors::{Error, Result};
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::formats::inventory::{
    InventoryDataReader, InventoryFile, InventoryManifest, verify_md5,
};
use crate::formats::keys::encode_key;
use crate::formats::manifest::CsvManifestReader;
use crate::formats::report::{
    REPORT_FORMAT, REPORT_SCHEMA, ReportManifest, ReportResultFile, ReportRow, ReportRowWriter,
    TaskStatus, report_prefix, results_file_key,
};

/// Tasks per second of virtual time while a job is Active.
const TASK_RATE: i64 = 1_000;
/// Tasks handled per chunk, bounding memory whatever the job's size; a slice of work
/// (`sim::SLICE`) may end after any chunk.
const CHUNK: i64 = 2_000;
/// Rows per results file of a completion report (about 11 MB of CSV): a bigger job's report
/// has several files per status, each listed in its manifest.json (which has room for any
/// number of them).
const REPORT_FILE_ROWS: u64 = 200_000;
/// Batch Operations' failure threshold: after this many tasks, more than half failed fails the job.
const FAILURE_THRESHOLD_MIN_TASKS: i64 = 1_000;

/// The parts of a job spec stored as JSON (the rest has columns of its own).
#[derive(Serialize, Deserialize, PartialEq)]
struct StoredSpec {
    manifest_bucket: String,
    manifest_key: String,
    manifest_version_id: Option<String>,
    manifest_etag: String,
    manifest_format: String,
    manifest_fields: Vec<String>,
    days: Option<u32>,
    tier: String,
    /// An `S3PutObjectCopy` job's operation (absent: a restore job, as stored before copies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    copy: Option<StoredCopy>,
    /// A generator job's `S3JobManifestGenerator` (the `manifest_*` fields are then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generator: Option<StoredGenerator>,
    report: Option<StoredReport>,
    confirmation_required: bool,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct StoredCopy {
    target_bucket: String,
    target_prefix: Option<String>,
    storage_class: Option<String>,
    metadata_directive: Option<String>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct StoredGenerator {
    source_bucket: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    substrings: Vec<String>,
    storage_classes: Vec<String>,
    created_after: Option<Millis>,
    created_before: Option<Millis>,
    size_greater_than: Option<u64>,
    size_less_than: Option<u64>,
    output: Option<StoredOutput>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct StoredOutput {
    bucket: String,
    prefix: Option<String>,
}

impl StoredGenerator {
    fn from_generator(g: &ManifestGenerator) -> StoredGenerator {
        let f = &g.filter;
        StoredGenerator {
            source_bucket: g.source_bucket.clone(),
            prefixes: f.prefixes.clone(),
            suffixes: f.suffixes.clone(),
            substrings: f.substrings.clone(),
            storage_classes: f
                .storage_classes
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            created_after: f.created_after.map(clock::from_datetime),
            created_before: f.created_before.map(clock::from_datetime),
            size_greater_than: f.size_greater_than,
            size_less_than: f.size_less_than,
            output: g.output.as_ref().map(|o| StoredOutput {
                bucket: o.bucket.clone(),
                prefix: o.prefix.clone(),
            }),
        }
    }

    fn generator(&self) -> Result<ManifestGenerator> {
        Ok(ManifestGenerator {
            source_bucket: self.source_bucket.clone(),
            filter: GeneratorFilter {
                prefixes: self.prefixes.clone(),
                suffixes: self.suffixes.clone(),
                substrings: self.substrings.clone(),
                storage_classes: self
                    .storage_classes
                    .iter()
                    .map(|c| c.parse())
                    .collect::<Result<_>>()?,
                created_after: self.created_after.map(clock::to_datetime),
                created_before: self.created_before.map(clock::to_datetime),
                size_greater_than: self.size_greater_than,
                size_less_than: self.size_less_than,
            },
            output: self.output.as_ref().map(|o| ManifestOutput {
                bucket: o.bucket.clone(),
                prefix: o.prefix.clone(),
            }),
        })
    }
}

#[derive(Serialize, Deserialize, PartialEq)]
struct StoredReport {
    bucket: String,
    prefix: Option<String>,
    scope: String,
}

impl StoredSpec {
    fn from_spec(spec: &JobSpec) -> StoredSpec {
        let (days, tier, copy) = match &spec.operation {
            JobOperation::InitiateRestore { days, tier } => (*days, *tier, None),
            JobOperation::PutObjectCopy(c) => (
                None,
                Tier::DEFAULT,
                Some(StoredCopy {
                    target_bucket: c.target_bucket.clone(),
                    target_prefix: c.target_prefix.clone(),
                    storage_class: c.storage_class.map(|s| s.as_str().to_string()),
                    metadata_directive: c.metadata_directive.map(|m| m.as_str().to_string()),
                }),
            ),
        };
        let (location, generator) = match &spec.manifest {
            JobManifest::Location(l) => (Some(l), None),
            JobManifest::Generator(g) => (None, Some(StoredGenerator::from_generator(g))),
        };
        StoredSpec {
            manifest_bucket: location.map(|l| l.bucket.clone()).unwrap_or_default(),
            manifest_key: location.map(|l| l.key.clone()).unwrap_or_default(),
            manifest_version_id: location.and_then(|l| l.version_id.clone()),
            manifest_etag: location.map(|l| l.etag.clone()).unwrap_or_default(),
            manifest_format: location
                .map_or(ManifestFormat::BatchOperationsCsv, |l| l.format)
                .as_str()
                .to_string(),
            manifest_fields: location
                .map(|l| l.fields.iter().map(|f| f.as_str().to_string()).collect())
                .unwrap_or_default(),
            days,
            tier: tier.as_str().to_string(),
            copy,
            generator,
            report: spec.report.as_ref().map(|r| StoredReport {
                bucket: r.bucket.clone(),
                prefix: r.prefix.clone(),
                scope: r.scope.as_str().to_string(),
            }),
            confirmation_required: spec.confirmation_required,
        }
    }

    fn manifest(&self) -> Result<JobManifest> {
        if let Some(g) = &self.generator {
            return Ok(JobManifest::Generator(g.generator()?));
        }
        Ok(JobManifest::Location(ManifestLocation {
            bucket: self.manifest_bucket.clone(),
            key: self.manifest_key.clone(),
            version_id: self.manifest_version_id.clone(),
            etag: self.manifest_etag.clone(),
            format: self.manifest_format.parse()?,
            fields: self
                .manifest_fields
                .iter()
                .map(|f| f.parse())
                .collect::<Result<_>>()?,
        }))
    }

    fn operation(&self) -> Result<JobOperation> {
        if let Some(c) = &self.copy {
            return Ok(JobOperation::PutObjectCopy(CopyOperation {
                target_bucket: c.target_bucket.clone(),
                target_prefix: c.target_prefix.clone(),
                storage_class: c.storage_class.as_deref().map(str::parse).transpose()?,
                metadata_directive: c
                    .metadata_directive
                    .as_deref()
                    .map(str::parse)
                    .transpose()?,
            }));
        }
        Ok(JobOperation::InitiateRestore {
            days: self.days,
            tier: self.tier.parse()?,
        })
    }

    fn report(&self) -> Result<Option<ReportSpec>> {
        self.report
            .as_ref()
            .map(|r| {
                Ok(ReportSpec {
                    bucket: r.bucket.clone(),
                    prefix: r.prefix.clone(),
                    scope: r.scope.parse()?,
                })
            })
            .transpose()
    }
}

/// One row of the jobs table.
struct JobRow {
    id: String,
    status: JobStatus,
    priority: i32,
    description: Option<String>,
    role_arn: String,
    created: Millis,
    terminated: Option<Millis>,
    spec: StoredSpec,
    total: i64,
    succeeded: i64,
    failed: i64,
    failure_reasons: Vec<(String, String)>,
    status_update_reason: Option<String>,
    next_at: Option<Millis>,
    active_since: Option<Millis>,
    tasks_at_active: i64,
}

fn load(w: &World, job_id: &str) -> Result<JobRow> {
    let row =
        w.tx.prepare_cached(
            "SELECT id, status, priority, description, role_arn, created, terminated, spec, total,
                 succeeded, failed, failure_reasons, status_update_reason, next_at, active_since,
                 tasks_at_active
             FROM jobs WHERE id = ?1",
        )?
        .query_row([job_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i32>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Millis>(5)?,
                r.get::<_, Option<Millis>>(6)?,
                r.get::<_, String>(7)?,
                [
                    r.get::<_, i64>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, i64>(10)?,
                ],
                r.get::<_, String>(11)?,
                r.get::<_, Option<String>>(12)?,
                [
                    r.get::<_, Option<Millis>>(13)?,
                    r.get::<_, Option<Millis>>(14)?,
                ],
                r.get::<_, i64>(15)?,
            ))
        })
        .optional()?;
    let Some((
        id,
        status,
        priority,
        description,
        role_arn,
        created,
        terminated,
        spec,
        counts,
        reasons,
        sur,
        times,
        at_active,
    )) = row
    else {
        return Err(
            Error::new("NotFoundException", format!("No such job: {job_id}"))
                .status(404)
                .job_id(job_id),
        );
    };
    Ok(JobRow {
        id,
        status: status.parse()?,
        priority,
        description,
        role_arn,
        created,
        terminated,
        spec: serde_json::from_str(&spec).map_err(Error::internal)?,
        total: counts[0],
        succeeded: counts[1],
        failed: counts[2],
        failure_reasons: serde_json::from_str(&reasons).map_err(Error::internal)?,
        status_update_reason: sur,
        next_at: times[0],
        active_since: times[1],
        tasks_at_active: at_active,
    })
}

/// Writes a job's mutable columns back.
fn save(w: &World, job: &JobRow) -> Result<()> {
    w.tx.execute(
        "UPDATE jobs SET status = ?2, priority = ?3, terminated = ?4, total = ?5, succeeded = ?6,
             failed = ?7, failure_reasons = ?8, status_update_reason = ?9, next_at = ?10,
             active_since = ?11, tasks_at_active = ?12
         WHERE id = ?1",
        params![
            job.id,
            job.status.as_str(),
            job.priority,
            job.terminated,
            job.total,
            job.succeeded,
            job.failed,
            serde_json::to_string(&job.failure_reasons).map_err(Error::internal)?,
            job.status_update_reason,
            job.next_at,
            job.active_since,
            job.tasks_at_active,
        ],
    )?;
    Ok(())
}

fn validate(w: &World, spec: &JobSpec) -> Result<()> {
    // The operation's rules (tier, days; copy target) have one home: `JobOperation`.
    spec.operation.check()?;
    check_tags(&spec.tags)?;
    if spec.priority < 0 {
        return Err(Error::invalid_request("Priority must be 0 or greater"));
    }
    if spec.client_request_token.is_empty() || spec.client_request_token.len() > 64 {
        return Err(Error::invalid_request(
            "ClientRequestToken must be 1 to 64 characters long",
        ));
    }
    match &spec.manifest {
        JobManifest::Location(m) if m.etag.is_empty() => {
            return Err(Error::invalid_request(
                "the manifest location needs its ETag",
            ));
        }
        JobManifest::Location(_) => {}
        JobManifest::Generator(g) => {
            g.clone().check()?;
        }
    }
    let role_prefix = format!("arn:aws:iam::{}:role/", w.account_id);
    if !spec.role_arn.starts_with(&role_prefix) {
        return Err(Error::invalid_request(format!(
            "RoleArn `{}` is not a role of account {}",
            spec.role_arn, w.account_id
        )));
    }
    if let Some(description) = &spec.description
        && description.chars().count() > 256
    {
        return Err(Error::invalid_request(
            "Description is limited to 256 characters",
        ));
    }
    Ok(())
}

pub(super) fn create(w: &World, spec: &JobSpec) -> Result<String> {
    validate(w, spec)?;
    let stored = StoredSpec::from_spec(spec);
    let stored_text = serde_json::to_string(&stored).map_err(Error::internal)?;
    let existing: Option<String> =
        w.tx.query_row(
            "SELECT id FROM jobs WHERE client_request_token = ?1",
            [&spec.client_request_token],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        let job = load(w, &id)?;
        let same = job.spec == stored
            && job.role_arn == spec.role_arn
            && job.priority == spec.priority
            && job.description == spec.description;
        if same {
            return Ok(id);
        }
        return Err(Error::new(
            "IdempotencyException",
            "A job with this ClientRequestToken already exists with different parameters",
        )
        .status(409)
        .job_id(id));
    }
    let seq: i64 = super::store::meta(w.tx, "job_seq")?.parse().unwrap_or(0) + 1;
    super::store::set_meta(w.tx, "job_seq", &seq.to_string())?;
    let id = uuid::Uuid::new_v4().to_string();
    w.tx.execute(
        "INSERT INTO jobs (id, seq, status, priority, description, role_arn, created, spec,
             client_request_token, tags, next_at)
         VALUES (?1, ?2, 'New', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            seq,
            spec.priority,
            spec.description,
            spec.role_arn,
            w.now,
            stored_text,
            spec.client_request_token,
            serde_json::to_string(&spec.tags).map_err(Error::internal)?,
            w.now + SECOND,
        ],
    )?;
    Ok(id)
}

pub(super) fn describe(w: &World, job_id: &str) -> Result<Job> {
    let job = load(w, job_id)?;
    Ok(Job {
        progress: progress(&job),
        operation: job.spec.operation()?,
        manifest: job.spec.manifest()?,
        generated_manifest: generated_manifest(w, &job.id)?,
        report: job.spec.report()?,
        confirmation_required: job.spec.confirmation_required,
        id: job.id,
        status: job.status,
        priority: job.priority,
        description: job.description,
        role_arn: job.role_arn,
        creation_time: clock::to_datetime(job.created),
        termination_date: job.terminated.map(clock::to_datetime),
        failure_reasons: job
            .failure_reasons
            .into_iter()
            .map(|(code, reason)| FailureReason { code, reason })
            .collect(),
        status_update_reason: job.status_update_reason,
    })
}

fn progress(job: &JobRow) -> JobProgress {
    JobProgress {
        total: job.total as u64,
        succeeded: job.succeeded as u64,
        failed: job.failed as u64,
    }
}

pub(super) fn list(
    w: &World,
    statuses: &[JobStatus],
    next: Option<&str>,
) -> Result<Page<JobSummary>> {
    const PAGE: usize = 1_000;
    let before: i64 = next.and_then(|n| n.parse().ok()).unwrap_or(i64::MAX);
    let mut stmt =
        w.tx.prepare_cached("SELECT id, seq FROM jobs WHERE seq < ?1 ORDER BY seq DESC")?;
    let rows = stmt.query_map([before], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut items = Vec::new();
    let mut next = None;
    for row in rows {
        let (id, seq) = row?;
        let job = load(w, &id)?;
        if !statuses.is_empty() && !statuses.contains(&job.status) {
            continue;
        }
        if items.len() == PAGE {
            next = Some((seq + 1).to_string());
            break;
        }
        items.push(JobSummary {
            progress: progress(&job),
            id: job.id,
            status: job.status,
            priority: job.priority,
            description: job.description,
            operation: job.spec.operation()?.name(),
            creation_time: clock::to_datetime(job.created),
            termination_date: job.terminated.map(clock::to_datetime),
        });
    }
    Ok(Page { items, next })
}

fn status_error(job: &JobRow, requested: &str) -> Error {
    Error::new(
        "JobStatusException",
        format!(
            "Job {} is {}; it cannot be set to {requested}",
            job.id, job.status
        ),
    )
    .status(400)
    .job_id(&job.id)
}

pub(super) fn update_status(
    w: &World,
    job_id: &str,
    requested: RequestedJobStatus,
    reason: Option<&str>,
) -> Result<JobStatus> {
    let mut job = load(w, job_id)?;
    match requested {
        RequestedJobStatus::Ready => {
            if job.status != JobStatus::Suspended {
                return Err(status_error(&job, "Ready"));
            }
            job.status = JobStatus::Ready;
            job.next_at = Some(w.now + SECOND);
        }
        RequestedJobStatus::Cancelled => match job.status {
            s if s.is_terminal() => return Err(status_error(&job, "Cancelled")),
            JobStatus::Cancelling | JobStatus::Failing | JobStatus::Completing => {
                return Err(status_error(&job, "Cancelled"));
            }
            JobStatus::Active | JobStatus::Pausing | JobStatus::Paused => {
                job.status = JobStatus::Cancelling;
                job.next_at = Some(w.now + SECOND);
            }
            _ => {
                job.status = JobStatus::Cancelled;
                job.terminated = Some(w.now);
                job.next_at = None;
            }
        },
    }
    if let Some(reason) = reason {
        job.status_update_reason = Some(reason.to_string());
    }
    save(w, &job)?;
    schedule(w, w.now)?;
    Ok(job.status)
}

pub(super) fn update_priority(w: &World, job_id: &str, priority: i32) -> Result<i32> {
    if priority < 0 {
        return Err(Error::invalid_request("Priority must be 0 or greater").job_id(job_id));
    }
    let mut job = load(w, job_id)?;
    job.priority = priority;
    save(w, &job)?;
    schedule(w, w.now)?;
    Ok(priority)
}

pub(super) fn get_tags(w: &World, job_id: &str) -> Result<BTreeMap<String, String>> {
    load(w, job_id)?;
    let tags: String =
        w.tx.query_row("SELECT tags FROM jobs WHERE id = ?1", [job_id], |r| {
            r.get(0)
        })?;
    serde_json::from_str(&tags).map_err(Error::internal)
}

/// Tags a job may have, at CreateJob as at PutJobTagging.
fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 50 {
        return Err(Error::invalid_request("a job has at most 50 tags"));
    }
    Ok(())
}

pub(super) fn put_tags(w: &World, job_id: &str, tags: &BTreeMap<String, String>) -> Result<()> {
    load(w, job_id)?;
    check_tags(tags).map_err(|e| e.job_id(job_id))?;
    w.tx.execute(
        "UPDATE jobs SET tags = ?2 WHERE id = ?1",
        params![
            job_id,
            serde_json::to_string(tags).map_err(Error::internal)?
        ],
    )?;
    Ok(())
}

/// The next instant a job step is due.
pub(super) fn next_event(w: &World) -> Result<Option<Millis>> {
    Ok(w.tx.query_row(
        "SELECT MIN(next_at) FROM jobs WHERE next_at IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Runs every job step due by now, in time order, and the tasks of active jobs due by now.
/// Stops at a consistent point once `budget` is spent: `false` says due work is left for the
/// next slice (in its own transaction), `true` that the world is up to now.
pub(super) fn advance_all(w: &World, budget: &Budget) -> Result<bool> {
    loop {
        if budget.spent() {
            return Ok(false);
        }
        let due: Option<(String, Millis)> =
            w.tx.query_row(
                "SELECT id, next_at FROM jobs WHERE next_at IS NOT NULL AND next_at <= ?1
                 ORDER BY next_at, seq LIMIT 1",
                [w.now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((id, at)) = due else { break };
        let mut job = load(w, &id)?;
        step(w, &mut job, at, budget)?;
        save(w, &job)?;
        schedule(w, at)?;
    }
    // Active jobs whose end is still ahead have run part of their tasks by now.
    let mut stmt =
        w.tx.prepare_cached("SELECT id FROM jobs WHERE status = 'Active' ORDER BY seq")?;
    let active: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in active {
        let mut job = load(w, &id)?;
        let caught_up = run_tasks(w, &mut job, w.now, budget)?;
        save(w, &job)?;
        if !caught_up {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Performs the step of `job` due at `at` (an Active job's run of tasks may stop when `budget`
/// is spent: the step then stays due).
fn step(w: &World, job: &mut JobRow, at: Millis, budget: &Budget) -> Result<()> {
    job.next_at = None;
    match job.status {
        JobStatus::New => {
            job.status = JobStatus::Preparing;
            job.next_at = Some(at + 2 * SECOND);
        }
        JobStatus::Preparing => prepare(w, job, at, budget)?,
        // Ready jobs wait (next_at NULL) until `schedule` gives them capacity.
        JobStatus::Ready => {}
        JobStatus::Active => {
            let caught_up = run_tasks(w, job, at, budget)?;
            // Cut short by the slice's budget, the run stays due at the same instant.
            if !caught_up {
                job.next_at = Some(at);
            }
        }
        JobStatus::Pausing => job.status = JobStatus::Paused,
        JobStatus::Completing => finish(w, job, at, JobStatus::Complete)?,
        JobStatus::Failing => finish(w, job, at, JobStatus::Failed)?,
        JobStatus::Cancelling => finish(w, job, at, JobStatus::Cancelled)?,
        // Waiting for a caller (Suspended) or already over: nothing is due.
        _ => {}
    }
    Ok(())
}

/// How many jobs may be Active at once (`None`: as many as there are).
fn capacity(w: &World) -> Result<Option<i64>> {
    let n: i64 = super::store::meta(w.tx, "active_job_capacity")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((n > 0).then_some(n))
}

/// Sets how many jobs may run at once (0: no limit), so priorities can be rehearsed.
pub(super) fn set_capacity(w: &World, jobs: u32) -> Result<()> {
    super::store::set_meta(w.tx, "active_job_capacity", &jobs.to_string())
}

/// Gives capacity to waiting jobs (Ready, or Paused by a higher-priority job), highest priority
/// first, and pauses a lower-priority Active job when a higher-priority one waits for room.
fn schedule(w: &World, at: Millis) -> Result<()> {
    let capacity = capacity(w)?;
    loop {
        let waiting: Option<(String, i32)> =
            w.tx.prepare_cached(
                "SELECT id, priority FROM jobs
                 WHERE (status = 'Ready' AND next_at IS NULL) OR status = 'Paused'
                 ORDER BY priority DESC, seq LIMIT 1",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((id, priority)) = waiting else {
            return Ok(());
        };
        let busy: i64 = w.tx.query_row(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('Active', 'Pausing')",
            [],
            |r| r.get(0),
        )?;
        if capacity.is_none_or(|c| busy < c) {
            let mut job = load(w, &id)?;
            job.status = JobStatus::Active;
            job.active_since = Some(at);
            job.tasks_at_active = job.succeeded + job.failed;
            job.next_at = Some(at + run_length(job.total - job.tasks_at_active));
            save(w, &job)?;
            continue;
        }
        let pausing: i64 = w.tx.query_row(
            "SELECT COUNT(*) FROM jobs WHERE status = 'Pausing'",
            [],
            |r| r.get(0),
        )?;
        let lowest: Option<String> =
            w.tx.query_row(
                "SELECT id FROM jobs WHERE status = 'Active' AND priority < ?1
                 ORDER BY priority, seq DESC LIMIT 1",
                [priority],
                |r| r.get(0),
            )
            .optional()?;
        if let (0, Some(lowest)) = (pausing, lowest) {
            let mut job = load(w, &lowest)?;
            // The tasks due before the pause all run (a pause is rare and follows a caller).
            run_tasks(w, &mut job, at, &Budget::unlimited())?;
            if job.status == JobStatus::Active {
                job.status = JobStatus::Pausing;
                job.status_update_reason = Some(format!(
                    "Paused for a job with a higher priority ({priority} > {})",
                    job.priority
                ));
                job.next_at = Some(at + SECOND);
                save(w, &job)?;
            }
        }
        return Ok(());
    }
}

/// Virtual time `tasks` tasks take at the simulated rate.
fn run_length(tasks: i64) -> Millis {
    tasks * SECOND / TASK_RATE
}

fn fail(job: &mut JobRow, at: Millis, code: &str, reason: String) {
    job.failure_reasons.push((code.to_string(), reason));
    job.status = JobStatus::Failed;
    job.terminated = Some(at);
    job.next_at = None;
}

fn can_assume(w: &World, job: &JobRow) -> Result<Option<AssumedRole>> {
    let role = iam::assume(w, &job.role_arn)?;
    Ok(role.filter(AssumedRole::trusts_batch_operations))
}

/// Preparing: assume the role, read and check the manifest, create the tasks.
fn prepare(w: &World, job: &mut JobRow, at: Millis, budget: &Budget) -> Result<()> {
    let Some(role) = can_assume(w, job)? else {
        fail(
            job,
            at,
            "AccessDenied",
            format!(
                "Unable to assume role {}: the role does not exist or its trust policy does not allow {} to call sts:AssumeRole",
                job.role_arn,
                iam::BATCH_SERVICE
            ),
        );
        return Ok(());
    };
    let manifest = match job.spec.manifest()? {
        JobManifest::Location(manifest) => manifest,
        JobManifest::Generator(generator) => {
            return prepare_generated(w, job, &role, &generator, at);
        }
    };
    let mut readable = role.allows("s3:GetObject", &manifest.arn());
    if manifest.version_id.is_some() {
        readable = readable && role.allows("s3:GetObjectVersion", &manifest.arn());
    }
    if !readable {
        fail(
            job,
            at,
            "AccessDenied",
            format!(
                "Reading the manifest failed: the role {} is not allowed s3:GetObject on {}",
                job.role_arn,
                manifest.arn()
            ),
        );
        return Ok(());
    }
    let object = match s3::find(
        w,
        &manifest.bucket,
        &manifest.key,
        manifest.version_id.as_deref(),
    ) {
        Ok(object) => object,
        Err(e) => {
            fail(
                job,
                at,
                &e.code,
                format!(
                    "Reading the manifest {} failed: {}",
                    manifest.arn(),
                    e.message
                ),
            );
            return Ok(());
        }
    };
    if object.etag.trim_matches('"') != manifest.etag.trim_matches('"') {
        fail(
            job,
            at,
            "InvalidManifest",
            format!(
                "The manifest's ETag {} does not match the ETag {} given when the job was created: the manifest changed after the job was created",
                object.etag, manifest.etag
            ),
        );
        return Ok(());
    }
    if let Some(report) = job.spec.report()?
        && let Err(reason) = check_report_writable(w, &role, job, &report)
    {
        fail(job, at, "AccessDenied", reason);
        return Ok(());
    }
    // Read in pieces: a 10M-row manifest (180 MB) is never held whole.
    let body = s3::open_body(
        w,
        &manifest.bucket,
        &manifest.key,
        manifest.version_id.as_deref(),
    );
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            fail(
                job,
                at,
                &e.code,
                format!("Reading the manifest failed: {}", e.message),
            );
            return Ok(());
        }
    };
    // Ctrl-C while the tasks are read: the step's transaction rolls back whole (the job stays
    // Preparing) and the next call prepares it again.
    let stopped = std::cell::Cell::new(false);
    let stop = || {
        let interrupted = budget.interrupted();
        stopped.set(interrupted);
        interrupted
    };
    let loaded = load_tasks(w, job, &role, &manifest, body, &stop);
    if stopped.get() {
        return Err(super::interrupted_error());
    }
    match loaded {
        Ok(0) => {
            fail(
                job,
                at,
                "InvalidManifestContent",
                "The manifest lists no objects".into(),
            );
            return Ok(());
        }
        Ok(total) => job.total = total,
        Err(reason) => {
            delete_tasks(w, &job.id)?;
            fail(job, at, "InvalidManifestContent", reason);
            return Ok(());
        }
    }
    prepared(job, at);
    Ok(())
}

/// The tasks are in place: the job waits for confirmation or is ready to run.
fn prepared(job: &mut JobRow, at: Millis) {
    if job.spec.confirmation_required {
        job.status = JobStatus::Suspended;
    } else {
        job.status = JobStatus::Ready;
        job.next_at = Some(at + SECOND);
    }
}

/// Where a generator job writes its manifest: `PREFIX/job-ID/manifest.json` and one gzipped
/// CSV data file beside it, under `data/`.
fn generated_keys(output: &ManifestOutput, job_id: &str) -> (String, String) {
    let base = report_prefix(output.prefix.as_deref(), job_id);
    (format!("{base}/manifest.json"), format!("{base}/data/"))
}

/// The columns of a generated manifest's data file.
const GENERATED_SCHEMA: &str = "Bucket, Key, VersionId, Size, StorageClass";

/// Which restore-job objects AWS does not let one job mix: GLACIER/DEEP_ARCHIVE objects and
/// Intelligent-Tiering objects in an archive access tier, counted with a key of each.
#[derive(Default)]
struct ArchiveKinds {
    glacier: (u64, Option<String>),
    tiered: (u64, Option<String>),
}

impl ArchiveKinds {
    fn count(kind: &mut (u64, Option<String>), key: &str) {
        kind.0 += 1;
        if kind.1.is_none() {
            kind.1 = Some(key.to_string());
        }
    }

    /// AWS's rule, in its words, when both kinds are present.
    fn mixed(&self) -> Option<String> {
        let (glacier, tiered) = (&self.glacier, &self.tiered);
        (glacier.0 > 0 && tiered.0 > 0).then(|| {
            format!(
                "S3 Batch Operations restore jobs can operate either on S3 Glacier Flexible Retrieval and S3 Glacier Deep Archive objects or on S3 Intelligent-Tiering Archive Access and Deep Archive Access objects, but not both in the same job: the generated manifest lists {} GLACIER/DEEP_ARCHIVE objects (e.g. {}) and {} Intelligent-Tiering archive objects (e.g. {}); create separate jobs (filter on the storage class)",
                glacier.0,
                glacier.1.as_deref().unwrap_or_default(),
                tiered.0,
                tiered.1.as_deref().unwrap_or_default()
            )
        })
    }
}

/// Preparing a generator job: the source bucket is listed as it is now (current versions, the
/// filter applied, in key order) straight into the job's tasks in one pass, with bounded
/// memory; the generated manifest is written when asked (its data file is gzipped as it is
/// produced); a restore job mixing GLACIER/DEEP_ARCHIVE with Intelligent-Tiering archive tiers
/// fails before any restore is requested.
fn prepare_generated(
    w: &World,
    job: &mut JobRow,
    role: &AssumedRole,
    generator: &ManifestGenerator,
    at: Millis,
) -> Result<()> {
    let source = &generator.source_bucket;
    if let Err(e) = s3::require_bucket(w, source) {
        let reason = format!(
            "Generating the manifest failed: the source bucket {source} does not exist ({})",
            e.message
        );
        fail(job, at, &e.code, reason);
        return Ok(());
    }
    let source_arn = bucket_arn(source);
    if !role.allows("s3:ListBucket", &source_arn) {
        let reason = format!(
            "Generating the manifest failed: the role {} is not allowed s3:ListBucket on {source_arn}",
            job.role_arn
        );
        fail(job, at, "AccessDenied", reason);
        return Ok(());
    }
    let output = generator
        .output
        .as_ref()
        .map(|o| (o, generated_keys(o, &job.id)));
    if let Some((o, (manifest_key, _))) = &output {
        if s3::require_bucket(w, &o.bucket).is_err() {
            let reason = format!(
                "Writing the generated manifest failed: the bucket {} does not exist",
                o.bucket
            );
            fail(job, at, "NoSuchBucket", reason);
            return Ok(());
        }
        let arn = object_arn(&o.bucket, manifest_key);
        if !role.allows("s3:PutObject", &arn) {
            let reason = format!(
                "Writing the generated manifest failed: the role {} is not allowed s3:PutObject on {arn}",
                job.role_arn
            );
            fail(job, at, "AccessDenied", reason);
            return Ok(());
        }
    }
    if let Some(report) = job.spec.report()?
        && let Err(reason) = check_report_writable(w, role, job, &report)
    {
        fail(job, at, "AccessDenied", reason);
        return Ok(());
    }
    let restore = matches!(job.spec.operation()?, JobOperation::InitiateRestore { .. });
    let filter = &generator.filter;
    let prefix = filter.listing_prefix().unwrap_or("");
    let mut data = output
        .as_ref()
        .map(|_| GzEncoder::new(Vec::new(), Compression::fast()));
    let mut kinds = ArchiveKinds::default();
    let mut count = 0i64;
    {
        let mut select = w.tx.prepare_cached(
            "SELECT key, version_id, size, storage_class, archive_tier, last_modified, r.done
             FROM objects LEFT JOIN restores r ON r.object_id = objects.id
             WHERE bucket = ?1 AND is_latest = 1 AND is_delete_marker = 0
               AND key >= ?2 AND key < ?3
             ORDER BY key",
        )?;
        let mut tasks = TaskInserter::new(w, &job.id)?;
        let mut rows = select.query(params![source, prefix, s3::prefix_end(prefix)])?;
        while let Some(r) = rows.next()? {
            let key = r.get_ref(0)?.as_str().map_err(Error::internal)?;
            let size = r.get::<_, i64>(2)?.max(0) as u64;
            let class: StorageClass = r.get_ref(3)?.as_str().map_err(Error::internal)?.parse()?;
            let created = clock::to_datetime(r.get(5)?);
            if !filter.matches(key, size, class, created) {
                continue;
            }
            let version: Option<String> = r.get(1)?;
            tasks.add(source, key, version.as_deref())?;
            count += 1;
            if let Some(data) = &mut data {
                writeln!(
                    data,
                    "\"{source}\",\"{}\",\"{}\",\"{size}\",\"{class}\"",
                    encode_key(key),
                    version.as_deref().unwrap_or("")
                )
                .map_err(Error::internal)?;
            }
            if restore {
                let archive_tier = r
                    .get_ref(4)?
                    .as_str_or_null()
                    .map_err(Error::internal)?
                    .is_some();
                let restored = r
                    .get::<_, Option<Millis>>(6)?
                    .is_some_and(|done| done <= at);
                if class.is_archive() {
                    ArchiveKinds::count(&mut kinds.glacier, key);
                } else if class == StorageClass::IntelligentTiering && archive_tier && !restored {
                    ArchiveKinds::count(&mut kinds.tiered, key);
                }
            }
        }
        tasks.finish()?;
    }
    let refusal = if count == 0 {
        Some(format!(
            "The manifest generator found no objects in bucket {source} that match its filter"
        ))
    } else {
        kinds.mixed()
    };
    if let Some(reason) = refusal {
        delete_tasks(w, &job.id)?;
        fail(job, at, "InvalidManifestContent", reason);
        return Ok(());
    }
    job.total = count;
    if let (Some((o, (manifest_key, data_prefix))), Some(data)) = (output, data) {
        let data = data.finish().map_err(Error::internal)?;
        let written = write_generated(w, at, generator, o, (&manifest_key, &data_prefix), data)?;
        w.tx.execute(
            "UPDATE jobs SET generated_manifest = ?2 WHERE id = ?1",
            params![
                job.id,
                serde_json::to_string(&written).map_err(Error::internal)?
            ],
        )?;
    }
    prepared(job, at);
    Ok(())
}

/// A generated manifest as the jobs table keeps it.
#[derive(Serialize, Deserialize)]
struct StoredGenerated {
    bucket: String,
    key: String,
    version_id: Option<String>,
    etag: String,
}

/// Writes the generated manifest: the gzipped data file, then the `manifest.json` naming it
/// (S3 Inventory's layout, format `S3InventoryReport_CSV_20211130`).
fn write_generated(
    w: &World,
    at: Millis,
    generator: &ManifestGenerator,
    output: &ManifestOutput,
    (manifest_key, data_prefix): (&str, &str),
    data: Vec<u8>,
) -> Result<StoredGenerated> {
    let at_world = World {
        tx: w.tx,
        now: at,
        account_id: w.account_id.clone(),
        region: w.region.clone(),
        seed: w.seed,
        caller: w.caller.clone(),
    };
    let md5 = hex::encode(Md5::digest(&data));
    let data_key = format!("{data_prefix}{md5}.csv.gz");
    let size = data.len() as u64;
    s3::put_object(
        &at_world,
        PutObject {
            bucket: output.bucket.clone(),
            key: data_key.clone(),
            body: data,
            content_type: Some("application/x-gzip".into()),
            ..PutObject::default()
        },
    )?;
    let manifest = InventoryManifest {
        source_bucket: generator.source_bucket.clone(),
        destination_bucket: bucket_arn(&output.bucket),
        version: "2021-11-30".into(),
        creation_timestamp: at.to_string(),
        file_format: "CSV".into(),
        file_schema: GENERATED_SCHEMA.into(),
        files: vec![InventoryFile {
            key: data_key,
            size,
            md5_checksum: md5,
        }],
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(Error::internal)?;
    let written = s3::put_object(
        &at_world,
        PutObject {
            bucket: output.bucket.clone(),
            key: manifest_key.to_string(),
            body,
            content_type: Some("application/json".into()),
            ..PutObject::default()
        },
    )?;
    Ok(StoredGenerated {
        bucket: written.bucket,
        key: written.key,
        version_id: written.version_id,
        etag: written.etag,
    })
}

/// The manifest a generator job wrote, if it has.
fn generated_manifest(w: &World, job_id: &str) -> Result<Option<GeneratedManifest>> {
    let text: Option<String> =
        w.tx.prepare_cached("SELECT generated_manifest FROM jobs WHERE id = ?1")?
            .query_row([job_id], |r| r.get(0))
            .optional()?
            .flatten();
    let Some(text) = text else { return Ok(None) };
    let g: StoredGenerated = serde_json::from_str(&text).map_err(Error::internal)?;
    Ok(Some(GeneratedManifest {
        bucket: g.bucket,
        key: g.key,
        version_id: g.version_id,
        etag: g.etag,
    }))
}

fn check_report_writable(
    w: &World,
    role: &AssumedRole,
    job: &JobRow,
    report: &ReportSpec,
) -> std::result::Result<(), String> {
    if s3::require_bucket(w, &report.bucket).is_err() {
        return Err(format!(
            "The completion report bucket {} does not exist",
            report.bucket
        ));
    }
    let key = format!(
        "{}/manifest.json",
        report_prefix(report.prefix.as_deref(), &job.id)
    );
    if !role.allows("s3:PutObject", &object_arn(&report.bucket, &key)) {
        return Err(format!(
            "Unable to write the completion report: the role {} is not allowed s3:PutObject on {}",
            job.role_arn,
            object_arn(&report.bucket, &key)
        ));
    }
    Ok(())
}

/// Parses the whole manifest into tasks; any bad row fails the job before a task runs.
fn load_tasks(
    w: &World,
    job: &JobRow,
    role: &AssumedRole,
    manifest: &ManifestLocation,
    mut body: impl std::io::Read,
    stop: &dyn Fn() -> bool,
) -> std::result::Result<i64, String> {
    let mut tasks = TaskInserter::new(w, &job.id).map_err(|e| e.message)?;
    let mut add = |bucket: &str, key: &str, version: Option<&str>| {
        if tasks.count() % 8192 == 0 && stop() {
            return Err("interrupted".to_string());
        }
        tasks.add(bucket, key, version).map_err(|e| e.message)
    };
    match manifest.format {
        ManifestFormat::BatchOperationsCsv => {
            let wants_versions = manifest.fields.contains(&ManifestField::VersionId);
            for (row, entry) in CsvManifestReader::new(body).enumerate() {
                let entry = entry.map_err(|e| format!("Invalid manifest content: {e}"))?;
                if wants_versions && entry.version_id.is_none() {
                    return Err(format!(
                        "Invalid manifest content: line {} has no version id but the manifest fields name VersionId",
                        row + 1
                    ));
                }
                let version = entry.version_id.as_deref().filter(|_| wants_versions);
                add(&entry.bucket, &entry.key, version)?;
            }
        }
        ManifestFormat::InventoryCsv => {
            // A manifest.json: small, read whole.
            let mut json = Vec::new();
            body.read_to_end(&mut json)
                .map_err(|e| format!("Reading the inventory manifest.json failed: {e}"))?;
            let inventory = InventoryManifest::parse(&json)
                .map_err(|e| format!("Invalid inventory manifest.json: {e}"))?;
            let columns = inventory.columns();
            for file in &inventory.files {
                let arn = object_arn(&manifest.bucket, &file.key);
                if !role.allows("s3:GetObject", &arn) {
                    return Err(format!(
                        "Reading the inventory data file {arn} is not allowed for the role {}",
                        job.role_arn
                    ));
                }
                let data = s3::get_object(w, &manifest.bucket, &file.key, None).map_err(|e| {
                    format!(
                        "Reading the inventory data file {arn} failed: {}",
                        e.message
                    )
                })?;
                verify_md5(&data, &file.md5_checksum)
                    .map_err(|e| format!("Inventory data file {arn}: {e}"))?;
                for row in InventoryDataReader::new(data.as_slice(), &columns) {
                    let row = row.map_err(|e| format!("Invalid inventory data file {arn}: {e}"))?;
                    // Delete markers have nothing to restore.
                    if row.is_delete_marker == Some(true) {
                        continue;
                    }
                    let entry = row.entry;
                    add(&entry.bucket, &entry.key, entry.version_id.as_deref())?;
                }
            }
        }
    }
    tasks.finish().map_err(|e| e.message)
}

/// Tasks per row of `task_blocks`.
const TASK_BLOCK: usize = 1024;

/// A task as `task_blocks` holds it: bucket, key, version id.
type BlockTask = (String, String, Option<String>);

/// A job's tasks written TASK_BLOCK to a row of `task_blocks` (preparing a 10M-task job wrote
/// ten million rows).
struct TaskInserter<'a, 'w> {
    w: &'a World<'w>,
    job_id: &'a str,
    tasks: Vec<BlockTask>,
    count: i64,
}

impl<'a, 'w> TaskInserter<'a, 'w> {
    fn new(w: &'a World<'w>, job_id: &'a str) -> Result<Self> {
        Ok(TaskInserter {
            w,
            job_id,
            tasks: Vec::with_capacity(TASK_BLOCK),
            count: 0,
        })
    }

    /// Tasks added so far.
    fn count(&self) -> i64 {
        self.count + self.tasks.len() as i64
    }

    fn add(&mut self, bucket: &str, key: &str, version: Option<&str>) -> Result<()> {
        self.tasks.push((
            bucket.to_string(),
            key.to_string(),
            version.map(str::to_string),
        ));
        if self.tasks.len() == TASK_BLOCK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.tasks.is_empty() {
            return Ok(());
        }
        write_block(self.w.tx, self.job_id, self.count, &self.tasks)?;
        self.count += self.tasks.len() as i64;
        self.tasks.clear();
        Ok(())
    }

    /// Inserts what is left; the number of tasks.
    fn finish(mut self) -> Result<i64> {
        self.flush()?;
        Ok(self.count)
    }
}

/// One row of `task_blocks`: the tasks from number `seq` on.
fn write_block(
    tx: &rusqlite::Transaction,
    job_id: &str,
    seq: i64,
    tasks: &[BlockTask],
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(tasks)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    tx.prepare_cached("INSERT INTO task_blocks (job_id, seq, tasks) VALUES (?1, ?2, ?3)")?
        .execute(params![job_id, seq, json])?;
    Ok(())
}

/// The blocks of a job's tasks from the one holding task `from` on, in order: each block's
/// first task number and its tasks.
fn read_blocks<'s>(
    stmt: &'s mut rusqlite::CachedStatement,
    job_id: &str,
    from: i64,
) -> Result<impl Iterator<Item = Result<(i64, Vec<BlockTask>)>> + 's> {
    let rows = stmt.query_map(params![job_id, from - TASK_BLOCK as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    Ok(rows.map(|row| {
        let (seq, json) = row?;
        let tasks = serde_json::from_str(&json)
            .map_err(|e| Error::internal(format!("a block of tasks unreadable: {e}")))?;
        Ok((seq, tasks))
    }))
}

/// `read_blocks`' statement.
const BLOCKS_SQL: &str =
    "SELECT seq, tasks FROM task_blocks WHERE job_id = ?1 AND seq > ?2 ORDER BY seq";

/// Tasks `from` to `to - 1` of a job, with their numbers.
fn read_tasks(w: &World, job_id: &str, (from, to): (i64, i64)) -> Result<Vec<(i64, BlockTask)>> {
    let mut stmt = w.tx.prepare_cached(BLOCKS_SQL)?;
    let mut tasks = Vec::with_capacity((to - from).max(0) as usize);
    for block in read_blocks(&mut stmt, job_id, from)? {
        let (first, block) = block?;
        if first >= to {
            break;
        }
        let numbered = (first..).zip(block);
        tasks.extend(numbered.filter(|(seq, _)| (from..to).contains(seq)));
    }
    Ok(tasks)
}

/// A state from a build before `task_blocks` (a row of `tasks` per task, NULL until it ran,
/// 'succeeded' or 'failed'; or NULL for a task a run of `task_runs` holds): each of its jobs'
/// tasks go into blocks, the succeeded ones into runs, and only failed tasks keep their rows.
pub(super) fn tasks_into_blocks(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let jobs: Vec<String> = tx
        .prepare("SELECT DISTINCT job_id FROM tasks")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for job_id in jobs {
        let mut rows = tx.prepare(
            "SELECT seq, bucket, key, version_id, status, http_status FROM tasks
             WHERE job_id = ?1 ORDER BY seq",
        )?;
        let mut rows = rows.query([&job_id])?;
        let mut block = Vec::with_capacity(TASK_BLOCK);
        let mut first = 0;
        let mut run: Option<(i64, i64, u16)> = None;
        let end_run = |run: &mut Option<(i64, i64, u16)>| -> rusqlite::Result<()> {
            if let Some((start, end, http)) = run.take() {
                tx.execute(
                    "INSERT OR IGNORE INTO task_runs (job_id, seq_start, seq_end, http_status)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![job_id, start, end, http],
                )?;
            }
            Ok(())
        };
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            if block.is_empty() {
                first = seq;
            }
            block.push((r.get(1)?, r.get(2)?, r.get(3)?));
            if block.len() == TASK_BLOCK {
                write_block(tx, &job_id, first, &block)?;
                block.clear();
            }
            if r.get_ref(4)?.as_str_or_null()? == Some("succeeded") {
                let http: u16 = r.get(5)?;
                match &mut run {
                    Some((_, end, status)) if *end == seq && *status == http => *end += 1,
                    _ => {
                        end_run(&mut run)?;
                        run = Some((seq, seq + 1, http));
                    }
                }
            } else {
                end_run(&mut run)?;
            }
        }
        end_run(&mut run)?;
        if !block.is_empty() {
            write_block(tx, &job_id, first, &block)?;
        }
        tx.execute(
            "DELETE FROM tasks WHERE job_id = ?1 AND status IS NOT 'failed'",
            [&job_id],
        )?;
    }
    Ok(())
}

/// Runs the tasks due by `until` (at the simulated rate since the job became Active); `false`
/// when `budget` ran out first (the job's counts say how far it got: the rest runs next slice).
fn run_tasks(w: &World, job: &mut JobRow, until: Millis, budget: &Budget) -> Result<bool> {
    if job.status != JobStatus::Active {
        return Ok(true);
    }
    let since = job.active_since.unwrap_or(until);
    let due = (job.tasks_at_active + (until - since) * TASK_RATE / SECOND + 1).min(job.total);
    let role = can_assume(w, job)?;
    let request = match job.spec.operation()? {
        JobOperation::InitiateRestore { days, tier } => {
            TaskOp::Restore(RestoreRequest { days, tier })
        }
        JobOperation::PutObjectCopy(copy) => TaskOp::Copy(copy),
    };
    let mut faults = super::faults::Injector::load(w)?;
    let result = run_due_tasks(
        w,
        job,
        role.as_ref(),
        &request,
        faults.as_mut(),
        (since, due),
        budget,
    );
    if let Some(faults) = &faults {
        faults.save(w)?;
    }
    result
}

fn run_due_tasks(
    w: &World,
    job: &mut JobRow,
    role: Option<&AssumedRole>,
    request: &TaskOp,
    mut faults: Option<&mut super::faults::Injector>,
    (since, due): (Millis, i64),
    budget: &Budget,
) -> Result<bool> {
    let mut ran_a_chunk = false;
    loop {
        let done = job.succeeded + job.failed;
        if done >= due {
            break;
        }
        // At least one chunk per call, so every slice makes progress.
        if ran_a_chunk && budget.spent() {
            return Ok(false);
        }
        ran_a_chunk = true;
        let size = CHUNK.min(i64::try_from(budget.tasks_left()).unwrap_or(CHUNK));
        let chunk = read_tasks(w, &job.id, (done, (done + size).min(due)))?;
        if chunk.is_empty() {
            break;
        }
        budget.ran(chunk.len() as u64);
        let mut record = w.tx.prepare_cached(
            "INSERT INTO tasks (job_id, seq, bucket, key, version_id, status, http_status,
                 error_code, message)
             VALUES (?1, ?2, ?3, ?4, ?5, 'failed', ?6, ?7, ?8)",
        )?;
        // Runs of successes with one HTTP status are recorded by one statement each.
        let mut succeeded = SuccessRun::default();
        // What the chunk's restores write is written at its end when its tasks name distinct
        // objects (the prefetched case), else after each task (a later task may name the same
        // object and must see the restore).
        let mut writes = s3::RestoreWrites::default();
        let mut prefetched = prefetch(w, request, &chunk)?;
        for (seq, (bucket, key, version_id)) in chunk {
            let at = since + run_length(seq - job.tasks_at_active);
            let fault = faults.as_mut().and_then(|f| f.draw());
            let known = prefetched.as_mut().map(|objects| objects.take(&key));
            let outcome = match fault {
                Some(fault) => Err(fault),
                None => run_task(
                    w,
                    role,
                    (&bucket, &key, version_id.as_deref()),
                    known,
                    request,
                    at,
                    &mut writes,
                ),
            };
            if prefetched.is_none() {
                writes.write(w)?;
            }
            match outcome {
                Ok(http) => {
                    succeeded.add(w, &job.id, seq, http)?;
                    job.succeeded += 1;
                }
                Err(e) => {
                    succeeded.flush(w, &job.id)?;
                    let status = e.status.unwrap_or(500);
                    let message = format!(
                        "{} (Service: Amazon S3; Status Code: {status}; Error Code: {})",
                        e.message, e.code
                    );
                    record.execute(params![
                        job.id, seq, bucket, key, version_id, status, e.code, message
                    ])?;
                    job.failed += 1;
                }
            }
            let ran = job.succeeded + job.failed;
            if ran >= FAILURE_THRESHOLD_MIN_TASKS && job.failed * 2 > ran {
                succeeded.flush(w, &job.id)?;
                writes.write(w)?;
                job.failure_reasons.push((
                    "TaskFailureThresholdExceeded".into(),
                    format!(
                        "Job failed because more than 50% of its tasks failed ({} of {ran})",
                        job.failed
                    ),
                ));
                job.status = JobStatus::Failing;
                job.next_at = Some(at + SECOND);
                return Ok(true);
            }
        }
        succeeded.flush(w, &job.id)?;
        writes.write(w)?;
    }
    if job.succeeded + job.failed >= job.total {
        job.status = JobStatus::Completing;
        let last = since + run_length(job.total - job.tasks_at_active);
        job.next_at = Some(last + SECOND);
    }
    Ok(true)
}

/// Consecutive succeeded tasks with one HTTP status, not yet recorded: a run is one row of
/// `task_runs` (the tasks' own rows are left as they are).
#[derive(Default)]
struct SuccessRun {
    /// First and one-past-last task, and their status.
    run: Option<(i64, i64, u16)>,
}

impl SuccessRun {
    fn add(&mut self, w: &World, job_id: &str, seq: i64, http: u16) -> Result<()> {
        match &mut self.run {
            Some((_, end, status)) if *end == seq && *status == http => *end += 1,
            _ => {
                self.flush(w, job_id)?;
                self.run = Some((seq, seq + 1, http));
            }
        }
        Ok(())
    }

    fn flush(&mut self, w: &World, job_id: &str) -> Result<()> {
        if let Some((start, end, http)) = self.run.take() {
            w.tx.prepare_cached(
                "INSERT INTO task_runs (job_id, seq_start, seq_end, http_status) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![job_id, start, end, http])?;
        }
        Ok(())
    }
}

/// What each task of a job does.
enum TaskOp {
    Restore(RestoreRequest),
    Copy(CopyOperation),
}

/// The objects of a chunk of restore tasks looked up at once, when that gives what a lookup
/// per task would: unversioned tasks of one existing bucket whose keys strictly increase (so no
/// task sees an object an earlier task of the chunk changed), over a key range not much wider
/// than the chunk. `None`: each task looks its object up.
fn prefetch(w: &World, request: &TaskOp, chunk: &[(i64, BlockTask)]) -> Result<Option<Prefetched>> {
    let (Some((_, first)), Some((_, last))) = (chunk.first(), chunk.last()) else {
        return Ok(None);
    };
    let simple = matches!(request, TaskOp::Restore(_))
        && chunk.iter().all(|(_, t)| t.0 == first.0 && t.2.is_none())
        && chunk.windows(2).all(|pair| pair[0].1.1 < pair[1].1.1);
    if !simple || s3::require_bucket(w, &first.0).is_err() {
        return Ok(None);
    }
    let found =
        s3::latest_in_range_for_restore(w, &first.0, &first.1, &last.1, 2 * chunk.len() + 64)?;
    Ok(found.map(|objects| Prefetched(objects.into_iter().peekable())))
}

/// A chunk's objects in key order, taken by its tasks in key order (a merge of the two).
struct Prefetched(std::iter::Peekable<std::vec::IntoIter<s3::StoredObject>>);

impl Prefetched {
    /// The object of `key` (`None`: there is none), passing over objects no task names.
    fn take(&mut self, key: &str) -> Option<s3::StoredObject> {
        while self.0.next_if(|o| o.key.as_str() < key).is_some() {}
        self.0.next_if(|o| o.key == key)
    }
}

/// One task: the restore or copy as the job's role would issue it; the HTTP status of success.
/// `known`: the task's object (or its absence) when [`prefetch`] looked it up already.
fn run_task(
    w: &World,
    role: Option<&AssumedRole>,
    (bucket, key, version_id): (&str, &str, Option<&str>),
    known: Option<Option<s3::StoredObject>>,
    request: &TaskOp,
    at: Millis,
    writes: &mut s3::RestoreWrites,
) -> Result<u16> {
    let denied = || {
        Error::access_denied("Access Denied")
            .bucket(bucket)
            .key(key)
    };
    match request {
        TaskOp::Restore(request) => {
            let allowed =
                role.is_some_and(|r| r.allows("s3:RestoreObject", &object_arn(bucket, key)));
            if !allowed {
                return Err(denied());
            }
            let object = match known {
                Some(found) => s3::latest_found(bucket, key, found)?,
                None => s3::find(w, bucket, key, version_id)?,
            };
            Ok(s3::restore(w, &object, *request, (true, at), writes)?.http_status())
        }
        TaskOp::Copy(copy) => {
            let source = object_arn(bucket, key);
            let target_key = copy.target_key(key);
            let target = object_arn(&copy.target_bucket, &target_key);
            let allowed = role.is_some_and(|r| {
                r.allows("s3:GetObject", &source)
                    && (version_id.is_none() || r.allows("s3:GetObjectVersion", &source))
                    && r.allows("s3:PutObject", &target)
            });
            if !allowed {
                return Err(denied());
            }
            let at_world = World {
                tx: w.tx,
                now: at,
                account_id: w.account_id.clone(),
                region: w.region.clone(),
                seed: w.seed,
                caller: w.caller.clone(),
            };
            s3::copy_for_job(&at_world, bucket, key, version_id, copy)?;
            Ok(200)
        }
    }
}

/// Ends the job in `terminal` status, writing its completion report if tasks ran.
fn finish(w: &World, job: &mut JobRow, at: Millis, terminal: JobStatus) -> Result<()> {
    job.status = terminal;
    job.terminated = Some(at);
    job.next_at = None;
    let Some(report) = job.spec.report()? else {
        return Ok(());
    };
    if job.succeeded + job.failed == 0 {
        return Ok(());
    }
    let role = can_assume(w, job)?;
    let writable = match &role {
        Some(role) => check_report_writable(w, role, job, &report),
        None => Err(format!("Unable to assume role {}", job.role_arn)),
    };
    if let Err(reason) = writable {
        fail(job, at, "AccessDenied", reason);
        return Ok(());
    }
    write_report(w, job, &report, at)
}

/// Removes a job's tasks (a preparation that failed).
fn delete_tasks(w: &World, job_id: &str) -> Result<()> {
    w.tx.execute("DELETE FROM task_blocks WHERE job_id = ?1", [job_id])?;
    w.tx.execute("DELETE FROM tasks WHERE job_id = ?1", [job_id])?;
    w.tx.execute("DELETE FROM task_runs WHERE job_id = ?1", [job_id])?;
    Ok(())
}

/// The results files of one task status of a completion report, as they are written.
struct ResultsFiles<'a, 'w> {
    world: &'a World<'w>,
    report: &'a ReportSpec,
    job_id: &'a str,
    outcome: TaskStatus,
    file_rows: u64,
    results: &'a mut Vec<ReportResultFile>,
}

impl ResultsFiles<'_, '_> {
    /// Writes the rows `next` gives, in files of at most `file_rows` rows, so the report's
    /// memory stays bounded whatever the job's size; the report's manifest lists every file.
    fn write(&mut self, next: &mut dyn FnMut() -> Result<Option<ReportRow>>) -> Result<()> {
        let mut more = true;
        while more {
            let mut writer = ReportRowWriter::new(Vec::new());
            let mut rows = 0u64;
            while rows < self.file_rows {
                let Some(row) = next()? else {
                    more = false;
                    break;
                };
                writer.write(&row).map_err(Error::internal)?;
                rows += 1;
            }
            if rows == 0 {
                break;
            }
            let body = writer.finish().map_err(Error::internal)?;
            let md5 = hex::encode(Md5::digest(&body));
            let key = results_file_key(
                self.report.prefix.as_deref(),
                self.job_id,
                &md5,
                self.outcome,
            );
            s3::put_object(
                self.world,
                PutObject {
                    bucket: self.report.bucket.clone(),
                    key: key.clone(),
                    body,
                    content_type: Some("text/csv".into()),
                    ..PutObject::default()
                },
            )?;
            self.results.push(ReportResultFile {
                task_execution_status: self.outcome.as_str().to_string(),
                bucket: self.report.bucket.clone(),
                md5_checksum: md5,
                key,
            });
        }
        Ok(())
    }
}

fn write_report(w: &World, job: &JobRow, report: &ReportSpec, at: Millis) -> Result<()> {
    let at_world = World {
        tx: w.tx,
        now: at,
        account_id: w.account_id.clone(),
        region: w.region.clone(),
        seed: w.seed,
        caller: w.caller.clone(),
    };
    let mut results = Vec::new();
    let outcomes: &[TaskStatus] = match report.scope {
        ReportScope::AllTasks => &[TaskStatus::Succeeded, TaskStatus::Failed],
        ReportScope::FailedTasksOnly => &[TaskStatus::Failed],
    };
    // `report_file_rows` in the state's meta table sets a smaller size (tests of many files).
    let file_rows = super::store::meta(w.tx, "report_file_rows")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(REPORT_FILE_ROWS);
    for &outcome in outcomes {
        let mut files = ResultsFiles {
            world: &at_world,
            report,
            job_id: &job.id,
            outcome,
            file_rows,
            results: &mut results,
        };
        match outcome {
            // A task succeeded when a run of `task_runs` holds it: one pass over the tasks'
            // blocks beside one over the runs.
            TaskStatus::Succeeded => {
                let mut blocks = w.tx.prepare_cached(BLOCKS_SQL)?;
                let mut runs = w.tx.prepare_cached(
                    "SELECT seq_start, seq_end, http_status FROM task_runs WHERE job_id = ?1
                     ORDER BY seq_start",
                )?;
                let mut blocks = read_blocks(&mut blocks, &job.id, 0)?;
                let mut runs = runs.query([&job.id])?;
                let mut next_run = || -> Result<Option<(i64, i64, u16)>> {
                    Ok(match runs.next()? {
                        Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
                        None => None,
                    })
                };
                let mut run = next_run()?;
                let mut tasks = Vec::new().into_iter().zip(0..);
                files.write(&mut || {
                    loop {
                        let Some(((bucket, key, version_id), seq)) = tasks.next() else {
                            match blocks.next().transpose()? {
                                Some((first, block)) => tasks = block.into_iter().zip(first..),
                                None => return Ok(None),
                            }
                            continue;
                        };
                        while let Some((_, end, _)) = run
                            && end <= seq
                        {
                            run = next_run()?;
                        }
                        let Some((start, _, http)) = run else {
                            return Ok(None);
                        };
                        if start > seq {
                            continue;
                        }
                        return Ok(Some(ReportRow {
                            bucket,
                            key,
                            version_id,
                            status: TaskStatus::Succeeded,
                            http_status: http,
                            error_code: None,
                            message: "Successful".into(),
                        }));
                    }
                })?;
            }
            TaskStatus::Failed => {
                let mut stmt = w.tx.prepare_cached(
                    "SELECT bucket, key, version_id, http_status, error_code, message FROM tasks
                     WHERE job_id = ?1 AND status = 'failed' ORDER BY seq",
                )?;
                let mut query = stmt.query([&job.id])?;
                files.write(&mut || {
                    let Some(r) = query.next()? else {
                        return Ok(None);
                    };
                    Ok(Some(ReportRow {
                        bucket: r.get(0)?,
                        key: r.get(1)?,
                        version_id: r.get(2)?,
                        status: TaskStatus::Failed,
                        http_status: r.get(3)?,
                        error_code: r.get(4)?,
                        message: r.get(5)?,
                    }))
                })?;
            }
        }
    }
    let manifest = ReportManifest {
        format: REPORT_FORMAT.to_string(),
        report_creation_date: crate::timefmt::rfc3339_millis(clock::to_datetime(at)),
        results,
        report_schema: REPORT_SCHEMA.to_string(),
    };
    s3::put_object(
        &at_world,
        PutObject {
            bucket: report.bucket.clone(),
            key: format!(
                "{}/manifest.json",
                report_prefix(report.prefix.as_deref(), &job.id)
            ),
            body: manifest.to_json().into_bytes(),
            content_type: Some("application/json".into()),
            ..PutObject::default()
        },
    )?;
    Ok(())
}
