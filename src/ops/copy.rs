//! Copy-back: a permanent copy of each readable object of a manifest, before the restored
//! copies expire. `direct` issues CopyObject concurrently, paced under throttling like
//! `restore::direct`; `job` runs a Batch Operations `S3PutObjectCopy` job over the objects that
//! still need a copy and reads its completion report. Both skip copies already made, so a
//! re-run after a crash copies only what is missing, and count what is not readable instead of
//! failing the run.

use std::collections::VecDeque;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::backend::{
    Backend, Conditions, CopyObject, CopyOperation, JobManifest, JobOperation, JobSpec, JobStatus,
    MAX_COPY_SIZE, ObjectHead, ObjectRef, RETRIES, Replaced, ReportScope, ReportSpec, StorageClass,
    multipart_part_size,
};
use crate::errors::{Error, Result};
use crate::formats::report::TaskStatus;
use crate::ops::Progress;
use crate::ops::manifest::Manifest;
use crate::ops::pace::Pacer;
use crate::ops::restore::{Failure, State, state_of_head};

/// Objects HEADed per round trip.
const CHUNK: usize = 1_000;
/// CopyObject's rate: where the adaptive rate starts and its bounds (S3 takes 3,500 PUT/COPY
/// requests per second per prefix).
const START_RATE: f64 = 500.0;
const MIN_RATE: f64 = 10.0;
const MAX_RATE: f64 = 3_500.0;
/// Attempts per object for transient failures before it is reported failed.
const MAX_ATTEMPTS: u32 = 8;
/// Where `via: "job"` keeps the manifests and reports of its copy jobs, in the target bucket.
pub const JOB_FILES: &str = "s3thaw-copy";

/// How copies are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// CopyObject from this client.
    Direct,
    /// A Batch Operations `S3PutObjectCopy` job.
    Job,
}

impl std::str::FromStr for Via {
    type Err = Error;
    fn from_str(s: &str) -> Result<Via> {
        match s {
            "direct" => Ok(Via::Direct),
            "job" => Ok(Via::Job),
            other => Err(Error::invalid_argument(format!(
                "restore::copy: via must be \"direct\" or \"job\", not `{other}`"
            ))),
        }
    }
}

/// Options of [`copy`].
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// The class of the copies.
    pub storage_class: StorageClass,
    /// The target bucket (`None`: each object's own bucket).
    pub bucket: Option<String>,
    /// Prepended to each key (`None`: the same key).
    pub prefix: Option<String>,
    pub via: Via,
    /// Requests in flight at once (direct).
    pub concurrency: usize,
    /// The role of the copy job (`via: Job`).
    pub role_arn: Option<String>,
    /// How long to wait for the copy job.
    pub timeout: Duration,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            storage_class: StorageClass::Standard,
            bucket: None,
            prefix: None,
            via: Via::Direct,
            concurrency: 64,
            role_arn: None,
            timeout: Duration::from_secs(7 * 86_400),
        }
    }
}

/// What [`copy`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopyOutcome {
    /// Copies made now.
    pub copied: u64,
    /// Bytes of the copies made now.
    pub bytes: u64,
    /// Objects whose permanent copy already existed (same size and ETag, the wanted class).
    pub skipped: u64,
    /// Archived objects not readable (never restored, restore running, or copy expired).
    pub not_readable: u64,
    pub failed: Vec<Failure>,
    /// The copy job, when `via: Job` ran one.
    pub job_id: Option<String>,
    /// Throttled answers seen (each retried).
    pub throttled: u64,
    /// Time spent, on the backend's clock.
    pub seconds: f64,
}

/// Where one row goes.
fn target_of(options: &CopyOptions, bucket: &str) -> CopyOperation {
    CopyOperation {
        target_bucket: options.bucket.clone().unwrap_or_else(|| bucket.to_string()),
        target_prefix: options.prefix.clone().filter(|p| !p.is_empty()),
        storage_class: Some(options.storage_class),
        metadata_directive: None,
    }
}

/// The metadata entry (`x-amz-meta-s3thaw-source-etag`) a multipart copy records its source's
/// ETag in: a multipart copy's ETag is the MD5 of its parts' MD5s, which nothing but the bytes
/// tells, so a re-run recognises the copy by the source ETag it was made from.
pub const SOURCE_ETAG_META: &str = "s3thaw-source-etag";

/// Whether `target` is already the permanent copy of `source`: the wanted class, the same size,
/// and the same bytes as far as the ETags tell. A single-request copy (CopyObject) has the
/// MD5 of its bytes, so the source's ETag when the source is not multipart; a multipart copy
/// (over 5 GB) records the source's ETag in [`SOURCE_ETAG_META`]; a single-request copy of a
/// multipart source has an MD5 nothing can be compared with, so the size decides.
pub fn is_copy_of(target: &ObjectHead, source: &ObjectHead, class: StorageClass) -> bool {
    let multipart = |etag: &str| etag.trim_matches('"').contains('-');
    let bare = |etag: &str| etag.trim_matches('"').to_string();
    target.storage_class == class
        && target.size == source.size
        && (target.etag == source.etag
            || target
                .metadata
                .get(SOURCE_ETAG_META)
                .is_some_and(|e| bare(e) == bare(&source.etag))
            || (multipart(&source.etag) && !multipart(&target.etag)))
}

fn failure(m: &Manifest, i: usize, error: Error) -> Failure {
    let row = m.row(i);
    Failure {
        bucket: row.bucket.to_string(),
        key: row.key.to_string(),
        version_id: row.version_id.map(str::to_string),
        error,
    }
}

fn check_interrupt(observer: &dyn Progress) -> Result<()> {
    if observer.interrupted() {
        return Err(Error::new("Interrupted", "interrupted"));
    }
    Ok(())
}

/// The rows of `indices` that still need a copy: reads each source and each target, counting
/// the skipped, the not readable and the failed into `out`.
fn plan(
    backend: &dyn Backend,
    m: &Manifest,
    indices: &[usize],
    options: &CopyOptions,
    out: &mut CopyOutcome,
    observer: &mut dyn Progress,
) -> Result<Vec<(usize, u64)>> {
    let mut todo = Vec::new();
    for chunk in indices.chunks(CHUNK) {
        check_interrupt(observer)?;
        let sources: Vec<ObjectRef> = chunk.iter().map(|&i| m.object_ref(i)).collect();
        let heads = backend.head_objects(&sources, options.concurrency);
        let mut candidates = Vec::new();
        for ((&i, source), head) in chunk.iter().zip(&sources).zip(heads) {
            match state_of_head(&head) {
                State::NotRequested | State::InProgress => {
                    out.not_readable += 1;
                    continue;
                }
                State::Missing | State::Unknown => {
                    let e = head.err().unwrap_or_else(|| {
                        Error::new("Unknown", "the object's state could not be read")
                    });
                    out.failed.push(failure(m, i, e));
                    continue;
                }
                State::NotArchived | State::Restored => {}
            }
            let Ok(head) = head else { continue };
            let target = target_of(options, &source.bucket);
            if target.is_in_place(&source.bucket, &source.key) {
                if head.storage_class == options.storage_class {
                    out.skipped += 1;
                } else {
                    todo.push((i, head.size));
                }
                continue;
            }
            candidates.push((i, head, target));
        }
        let targets: Vec<ObjectRef> = candidates
            .iter()
            .map(|(i, _, t)| ObjectRef {
                bucket: t.target_bucket.clone(),
                key: t.target_key(m.row(*i).key),
                version_id: None,
            })
            .collect();
        let existing = backend.head_objects(&targets, options.concurrency);
        for ((i, source, _), target) in candidates.into_iter().zip(existing) {
            match target {
                Ok(t) if is_copy_of(&t, &source, options.storage_class) => out.skipped += 1,
                _ => todo.push((i, source.size)),
            }
        }
    }
    Ok(todo)
}

/// A permanent copy of each readable object among the rows `indices` of `m` (all: `None`).
pub fn copy(
    backend: &dyn Backend,
    m: &Manifest,
    indices: Option<&[usize]>,
    options: &CopyOptions,
    observer: &mut dyn Progress,
) -> Result<CopyOutcome> {
    let all: Vec<usize> = match indices {
        Some(i) => i.to_vec(),
        None => (0..m.len()).collect(),
    };
    let started = backend.pace_now()?;
    let mut out = CopyOutcome::default();
    let todo = plan(backend, m, &all, options, &mut out, observer)?;
    match options.via {
        Via::Direct => direct(backend, m, &todo, options, &mut out, observer)?,
        Via::Job => job(backend, m, &todo, options, &mut out)?,
    }
    out.seconds = (backend.pace_now()? - started).as_seconds_f64().max(0.001);
    Ok(out)
}

/// CopyObject for each row of `todo`, paced by AIMD under throttling.
fn direct(
    backend: &dyn Backend,
    m: &Manifest,
    todo: &[(usize, u64)],
    options: &CopyOptions,
    out: &mut CopyOutcome,
    observer: &mut dyn Progress,
) -> Result<()> {
    let mut queue: VecDeque<(usize, u64)> = VecDeque::new();
    let mut large = Vec::new();
    for &(i, size) in todo {
        if size > MAX_COPY_SIZE {
            large.push((i, size));
        } else {
            queue.push_back((i, size));
        }
    }
    for (i, size) in large {
        check_interrupt(observer)?;
        match multipart(backend, m, i, options, out) {
            Ok(()) => {
                out.copied += 1;
                out.bytes += size;
            }
            Err(e) if e.code == "InvalidObjectState" => out.not_readable += 1,
            Err(e) => out.failed.push(failure(m, i, e)),
        }
        observer.set(out.copied + out.skipped + out.not_readable + out.failed.len() as u64);
    }
    let mut attempts = vec![0u32; m.len()];
    let mut pacer = Pacer::new(START_RATE, MIN_RATE, MAX_RATE);
    while !queue.is_empty() {
        check_interrupt(observer)?;
        let tick_started = backend.pace_now()?;
        let batch: Vec<(usize, u64)> = queue.drain(..pacer.batch(queue.len())).collect();
        let requests: Vec<(ObjectRef, CopyOperation)> = batch
            .iter()
            .map(|&(i, _)| {
                let row = m.row(i);
                (m.object_ref(i), target_of(options, row.bucket))
            })
            .collect();
        let answers = backend.copy_objects(&requests, options.concurrency);
        let mut throttled = 0;
        for (&(i, size), answer) in batch.iter().zip(answers) {
            match answer {
                Ok(_) => {
                    out.copied += 1;
                    out.bytes += size;
                }
                Err(e) if e.code == "InvalidObjectState" => out.not_readable += 1,
                Err(e) if e.is_transient() && attempts[i] + 1 < MAX_ATTEMPTS => {
                    attempts[i] += 1;
                    if e.is_throttle() {
                        out.throttled += 1;
                        throttled += 1;
                    }
                    queue.push_back((i, size));
                }
                Err(e) => out.failed.push(failure(m, i, e)),
            }
        }
        pacer.learn(batch.len(), throttled);
        observer.set(out.copied + out.skipped + out.not_readable + out.failed.len() as u64);
        if !queue.is_empty() {
            pacer.wait(backend, tick_started)?;
        }
    }
    Ok(())
}

/// A copy of row `i` over 5 GB by multipart upload (UploadPartCopy), with part sizes chosen
/// as the AWS CLI chooses them ([`multipart_part_size`]): the source's content type, metadata
/// and headers, plus its ETag under [`SOURCE_ETAG_META`], and only from the source as it was
/// read (`x-amz-copy-source-if-match`). Transient failures are retried after the SDK's backoff.
fn multipart(
    backend: &dyn Backend,
    m: &Manifest,
    i: usize,
    options: &CopyOptions,
    out: &mut CopyOutcome,
) -> Result<()> {
    let row = m.row(i);
    let target = target_of(options, row.bucket);
    let mut attempt = 1;
    loop {
        let answer = backend
            .head_object(row.bucket, row.key, row.version_id)
            .and_then(|source| {
                let mut metadata = source.metadata.clone();
                metadata.insert(SOURCE_ETAG_META.to_string(), source.etag.clone());
                let request = CopyObject {
                    source: m.object_ref(i),
                    bucket: target.target_bucket.clone(),
                    key: target.target_key(row.key),
                    storage_class: target.storage_class,
                    replace: Some(Replaced {
                        content_type: source.content_type.clone(),
                        metadata,
                        headers: source.headers.clone(),
                    }),
                    conditions: Conditions {
                        if_match: Some(source.etag.clone()),
                        ..Conditions::default()
                    },
                };
                backend.copy_object_multipart(&request, multipart_part_size(source.size))
            });
        match answer {
            Ok(_) => return Ok(()),
            Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                if e.is_throttle() {
                    out.throttled += 1;
                }
                backend.pace(RETRIES.backoff(attempt, 0.5))?;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// An `S3PutObjectCopy` job over the rows of `todo`, one per target bucket and prefix: the
/// manifest and report live under [`JOB_FILES`] in the target bucket, and the job's token is
/// derived from what it copies, so a re-run after a crash finds the same job instead of
/// starting another.
fn job(
    backend: &dyn Backend,
    m: &Manifest,
    todo: &[(usize, u64)],
    options: &CopyOptions,
    out: &mut CopyOutcome,
) -> Result<()> {
    if todo.is_empty() {
        return Ok(());
    }
    let role_arn = options.role_arn.clone().ok_or_else(|| {
        Error::invalid_argument("restore::copy: via \"job\" needs role_arn (the copy job's role)")
            .hint("create one with iam::create_role(name, iam::batch_trust_policy()) and iam::copy_policy(..)")
    })?;
    // One job per target bucket (a job has one TargetResource).
    let mut by_target: std::collections::BTreeMap<String, Vec<(usize, u64)>> = Default::default();
    for &(i, size) in todo {
        let row = m.row(i);
        let target = target_of(options, row.bucket).target_bucket;
        by_target.entry(target).or_default().push((i, size));
    }
    for (target, rows) in by_target {
        let mut manifest = Manifest::default();
        for &(i, _) in &rows {
            let row = m.row(i);
            manifest.push(row.bucket, row.key, row.version_id)?;
        }
        let csv = manifest.to_csv()?;
        let mut hash = Sha256::new();
        hash.update(&csv);
        hash.update(format!(
            "{target}\n{:?}\n{}\n{role_arn}",
            options.prefix, options.storage_class
        ));
        let digest = hex::encode(hash.finalize());
        let token = format!("s3thaw-copy-{}", &digest[..40]);
        let location = crate::ops::manifest::upload(
            backend,
            &manifest,
            &target,
            &format!("{JOB_FILES}/manifests/{}.csv", &digest[..16]),
        )?;
        let operation = JobOperation::copy(CopyOperation {
            target_bucket: target.clone(),
            target_prefix: options.prefix.clone().filter(|p| !p.is_empty()),
            storage_class: Some(options.storage_class),
            metadata_directive: None,
        })?;
        let spec = JobSpec {
            manifest: JobManifest::Location(location),
            operation,
            role_arn: role_arn.clone(),
            priority: 10,
            report: Some(ReportSpec {
                bucket: target.clone(),
                prefix: Some(format!("{JOB_FILES}/reports")),
                scope: ReportScope::AllTasks,
            }),
            description: Some(format!("s3thaw restore::copy to {target}")),
            confirmation_required: false,
            tags: Default::default(),
            client_request_token: token,
        };
        let id = backend.create_job(&spec)?;
        out.job_id = Some(id.clone());
        let job = wait_job(backend, &id, options.timeout)?;
        if job.status != JobStatus::Complete {
            let reasons: Vec<String> = job
                .failure_reasons
                .iter()
                .map(|r| format!("{}: {}", r.code, r.reason))
                .collect();
            return Err(Error::new(
                "CopyJobFailed",
                format!("copy job {id} ended {}: {}", job.status, reasons.join("; ")),
            )
            .job_id(&id));
        }
        let report = crate::ops::report::load_for_job(backend, &id)?;
        let sizes: std::collections::HashMap<(&str, &str), u64> = rows
            .iter()
            .map(|&(i, size)| ((m.row(i).bucket, m.row(i).key), size))
            .collect();
        report.for_each_row(&mut |row| {
            match (row.status, row.error_code.as_deref()) {
                (TaskStatus::Succeeded, _) => {
                    out.copied += 1;
                    out.bytes += sizes
                        .get(&(row.bucket.as_str(), row.key.as_str()))
                        .copied()
                        .unwrap_or(0);
                }
                (_, Some("InvalidObjectState")) => out.not_readable += 1,
                (_, code) => out.failed.push(Failure {
                    bucket: row.bucket.clone(),
                    key: row.key.clone(),
                    version_id: row.version_id.clone(),
                    error: Error::new(code.unwrap_or("Failed"), row.message.clone())
                        .status(row.http_status)
                        .bucket(&row.bucket)
                        .key(&row.key)
                        .job_id(&id),
                }),
            }
            Ok(true)
        })?;
    }
    Ok(())
}

/// Waits until job `id` ends (virtual time jumps on the simulator).
fn wait_job(backend: &dyn Backend, id: &str, timeout: Duration) -> Result<crate::backend::Job> {
    let deadline = backend.now()? + timeout;
    loop {
        let job = backend.describe_job(id)?;
        if job.status.is_terminal() {
            return Ok(job);
        }
        if backend.now()? >= deadline {
            return Err(Error::new(
                "Timeout",
                format!("copy job {id} is still {} at the deadline", job.status),
            )
            .job_id(id));
        }
        backend.wait_step(Duration::from_secs(30), deadline)?;
    }
}

/// What [`copy_as_ready`] did: the copies' outcome summed over its waves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WavesOutcome {
    pub outcome: CopyOutcome,
    /// Copy rounds that copied something.
    pub waves: u64,
}

/// Copies each object as soon as it is readable, in waves: reads where every object stands
/// (`restore::status`'s reads), copies the readable ones not copied yet, then waits for the
/// next change, until no restore is running among the rest. Objects never requested (or whose
/// copy expired) are counted `not_readable`, not waited for. Early copies are made while their
/// restored copies live, instead of after the slowest restore.
pub fn copy_as_ready(
    backend: &dyn Backend,
    m: &Manifest,
    options: &CopyOptions,
    poll: Duration,
    observer: &mut dyn Progress,
) -> Result<WavesOutcome> {
    use crate::ops::restore::{ReadOptions, status};
    let deadline = backend.now()? + options.timeout;
    let mut done = vec![false; m.len()];
    let mut total = WavesOutcome::default();
    let started = backend.now()?;
    loop {
        check_interrupt(observer)?;
        let read = ReadOptions {
            concurrency: options.concurrency,
            ..ReadOptions::default()
        };
        let st = status(backend, m, read, &mut crate::ops::restore::Silent)?;
        let mut ready: Vec<usize> = st.indices(State::Restored);
        ready.extend(st.indices(State::NotArchived));
        ready.retain(|&i| !done[i]);
        ready.sort_unstable();
        if !ready.is_empty() {
            let wave = copy(backend, m, Some(&ready), options, observer)?;
            for &i in &ready {
                done[i] = true;
            }
            let o = &mut total.outcome;
            o.copied += wave.copied;
            o.not_readable += wave.not_readable;
            o.bytes += wave.bytes;
            o.skipped += wave.skipped;
            o.throttled += wave.throttled;
            o.failed.extend(wave.failed);
            if wave.job_id.is_some() {
                o.job_id = wave.job_id;
            }
            total.waves += 1;
        }
        let waiting = st
            .indices(State::InProgress)
            .into_iter()
            .chain(st.indices(State::Unknown))
            .filter(|&i| !done[i])
            .count();
        if waiting == 0 {
            let o = &mut total.outcome;
            o.not_readable += st
                .indices(State::NotRequested)
                .into_iter()
                .filter(|&i| !done[i])
                .count() as u64;
            o.failed.extend(
                st.indices(State::Missing)
                    .into_iter()
                    .filter(|&i| !done[i])
                    .map(|i| {
                        let row = m.row(i);
                        failure(m, i, Error::no_such_key(row.bucket, row.key))
                    }),
            );
            break;
        }
        if backend.now()? >= deadline {
            return Err(Error::new(
                "Timeout",
                format!("{waiting} objects were still being restored at the deadline"),
            ));
        }
        backend.wait_step(poll, deadline)?;
    }
    total.outcome.seconds = (backend.now()? - started).as_seconds_f64().max(0.001);
    Ok(total)
}
