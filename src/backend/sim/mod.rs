//! The embedded simulator of S3, Glacier restores, Batch Operations and IAM.
//!
//! There is no daemon. State lives in one SQLite database under the state directory; every call
//! opens a transaction, first brings the simulated world up to the virtual "now" (job steps that
//! are due run, in time order), then answers, then commits. A crash therefore never leaves half a
//! job, and separate processes (one `s3thaw run` creates a job, the next confirms it) see one world.
//!
//! Time is virtual: it passes with the wall clock plus an offset kept in the state; waiting
//! advances the offset to the next event instead of sleeping. Restore durations are drawn from
//! AWS's documented ranges by a generator seeded from the state's seed and the object, so runs
//! are reproducible.
//!
//! The rules (what AWS does) live in `objects.rs` (S3 and restores), `jobs.rs` (Batch
//! Operations) and `iam.rs` (roles, policies, evaluation); this file only holds the plumbing.

mod acl;
mod bodies;
mod clock;
mod control;
mod faults;
mod iam;
pub mod identity;
mod s3;
mod store;
mod uploads;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction};
use serde_json::Value as Json;
use time::OffsetDateTime;

use super::*;
use crate::errors::{Error, Result};

pub use acl::{ALL_USERS, AUTHENTICATED_USERS, Acl, Grant, Grantee, LOG_DELIVERY, Permission};
pub use bodies::StoredFile;
pub use clock::Millis;
pub use identity::{Access, Caller};
pub use s3::{
    BodySource, MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MAX_PUT_SIZE, MIN_PART_SIZE,
    OpenedObject, SyntheticBody, check_part_sizes, multipart_etag, part_copy_range,
    synthetic_part_md5,
};
pub use uploads::{
    CompletedUpload, NewUpload, PartBody, PartInfo, UPLOAD_EXPIRY, UploadInfo, UploadLimits,
};

/// A stored body read a chunk at a time (see [`Simulator::read_body`]), [`STORED_CHUNK`]
/// bytes per read of the store: each read reopens the blob, and SQLite walks its overflow
/// pages from the start to the offset, so small reads of a big body cost much more.
struct StoredReader<'a> {
    sim: &'a Simulator,
    source: BodySource,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    at: usize,
}

/// Bytes of a stored body read from the store at once by [`StoredReader`].
const STORED_CHUNK: u64 = 8 * 1024 * 1024;

impl std::io::Read for StoredReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            let want = (self.end - self.pos).min(STORED_CHUNK) as usize;
            if want == 0 {
                return Ok(0);
            }
            self.buf.resize(want, 0);
            self.at = 0;
            let mut filled = 0;
            while filled < want {
                let n = self
                    .sim
                    .read_body(&self.source, self.pos, &mut self.buf[filled..])
                    .map_err(std::io::Error::other)?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the stored body ended early",
                    ));
                }
                filled += n;
                self.pos += n as u64;
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The default account and region of a new simulated world.
pub const DEFAULT_ACCOUNT_ID: &str = "111122223333";
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long a call waits for another process's (or `serve` thread's) transaction on the same
/// state before it gives up with `StateBusy` (exit code 1); `S3THAW_BUSY_LIMIT` (seconds)
/// changes it. Every transaction of the
/// simulator's own is bounded by [`SLICE`] (seeding excepted, see [`Simulator::seed_objects`]),
/// so this is only reached when another program holds the database.
pub const BUSY_LIMIT: Duration = Duration::from_secs(60);

/// [`BUSY_LIMIT`], or `S3THAW_BUSY_LIMIT` seconds (0 and up) from the environment.
fn busy_limit() -> Duration {
    std::env::var("S3THAW_BUSY_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(BUSY_LIMIT)
}

/// How long one slice of catch-up work (job steps and tasks due by now) may hold the state's
/// write lock. A call that finds more due work commits it slice by slice, lets other
/// processes and threads in between, and checks for Ctrl-C after each.
pub const SLICE: Duration = Duration::from_millis(250);

/// At most this many job tasks run in one slice, whatever the time.
pub const SLICE_TASKS: u64 = 200_000;

/// One try at the write lock waits this long (SQLite's busy handler, which backs off from 1 to
/// 100 ms between polls) before s3thaw checks for Ctrl-C and [`BUSY_LIMIT`] and tries again.
const BUSY_TRY: Duration = Duration::from_millis(250);

/// The simulator: a handle on one state directory. Handles made by [`Simulator::acting_as`]
/// share the connection and differ only in who they act as.
pub struct Simulator {
    conn: Arc<Mutex<Connection>>,
    dir: PathBuf,
    /// Set by Ctrl-C (the session's flag): long calls stop between slices.
    interrupt: OnceLock<Arc<AtomicBool>>,
    slices: Slices,
    /// How long to wait for another process's transaction (`BUSY_LIMIT`, or
    /// `S3THAW_BUSY_LIMIT` seconds).
    busy_limit: Duration,
    /// Whether injected faults are retried here as the AWS SDK would retry them (see
    /// [`Simulator::without_client_retries`]).
    client_retries: bool,
    /// Retries so far: the jitter of each backoff is drawn from it.
    retries: Arc<AtomicU64>,
    /// Who S3 requests act as; `None`: the world's own account (what scripts act as).
    caller: Option<Caller>,
    /// How many multipart uploads, and how many bytes of parts, may wait.
    upload_limits: UploadLimits,
}

/// What one transaction sees: the connection and the virtual time of the call.
pub(crate) struct World<'a> {
    pub tx: &'a Transaction<'a>,
    pub now: Millis,
    pub account_id: String,
    pub region: String,
    pub seed: u64,
    /// Who the call acts as (the world's own account unless a handle says otherwise).
    pub caller: Caller,
}

/// How much catch-up work one transaction may do: [`SLICE`] of time and [`SLICE_TASKS`] tasks.
pub(crate) struct Budget {
    deadline: Option<Instant>,
    tasks: std::cell::Cell<u64>,
    /// Ctrl-C's flag, for the steps that cannot stop at a slice's end (a job's preparation).
    interrupt: Option<Arc<AtomicBool>>,
}

impl Budget {
    fn slice(limits: Slices, interrupt: Option<Arc<AtomicBool>>) -> Budget {
        Budget {
            deadline: Some(Instant::now() + limits.time),
            tasks: std::cell::Cell::new(limits.tasks.max(1)),
            interrupt,
        }
    }

    pub(crate) fn unlimited() -> Budget {
        Budget {
            deadline: None,
            tasks: std::cell::Cell::new(u64::MAX),
            interrupt: None,
        }
    }

    /// Whether Ctrl-C was pressed.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// Whether the slice is used up: the work stops at its next consistent point.
    pub(crate) fn spent(&self) -> bool {
        self.tasks.get() == 0 || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// How many more tasks this slice may run (at least one).
    pub(crate) fn tasks_left(&self) -> u64 {
        self.tasks.get().max(1)
    }

    /// Counts `n` tasks run.
    pub(crate) fn ran(&self, n: u64) {
        self.tasks.set(self.tasks.get().saturating_sub(n));
    }
}

/// Ctrl-C stopped the simulator's work at a consistent point.
fn interrupted_error() -> Error {
    Error::new(
        "Interrupted",
        "stopped by Ctrl-C between two slices of the simulator's work; what was done is saved and the next call carries on",
    )
}

/// The bounds of one slice of work (see [`Simulator::with_slices`]).
#[derive(Clone, Copy, Debug)]
struct Slices {
    time: Duration,
    tasks: u64,
}

impl<'a> World<'a> {
    fn load(tx: &'a Transaction<'a>) -> Result<World<'a>> {
        let account_id = store::meta(tx, "account_id")?;
        Ok(World {
            now: clock::now(tx)?,
            caller: Caller::Account(Owner {
                id: account_id.clone(),
                display_name: identity::DEFAULT_DISPLAY_NAME.to_string(),
            }),
            account_id,
            region: store::meta(tx, "region")?,
            seed: store::meta(tx, "seed")?.parse().unwrap_or(0),
            tx,
        })
    }
}

impl Simulator {
    /// Opens (creating if needed) the simulated world stored in `dir`.
    pub fn open(dir: &Path) -> Result<Simulator> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::invalid_argument(format!(
                "cannot create the state directory {}: {e}",
                dir.display()
            ))
        })?;
        let conn = store::open(&dir.join("sim.sqlite3"), BUSY_TRY, busy_limit())?;
        // Body files a kill left without a row (see `bodies.rs`).
        bodies::sweep(&conn)?;
        Ok(Simulator {
            conn: Arc::new(Mutex::new(conn)),
            dir: dir.to_path_buf(),
            interrupt: OnceLock::new(),
            slices: Slices {
                time: SLICE,
                tasks: SLICE_TASKS,
            },
            busy_limit: busy_limit(),
            client_retries: true,
            retries: Arc::new(AtomicU64::new(0)),
            caller: None,
            upload_limits: UploadLimits::default(),
        })
    }

    /// A handle on the same world whose S3 requests act as `caller`: what `serve` does for
    /// each request, with the identity it was signed with (or `Caller::Anonymous`). Owners,
    /// ACLs and bucket policies decide what it may do ([`identity::authorize`]).
    /// `None` acts as the world's own account, as scripts do.
    pub fn acting_as(&self, caller: Option<Caller>) -> Simulator {
        let interrupt = OnceLock::new();
        if let Some(flag) = self.interrupt.get() {
            let _ = interrupt.set(flag.clone());
        }
        Simulator {
            conn: self.conn.clone(),
            dir: self.dir.clone(),
            interrupt,
            slices: self.slices,
            busy_limit: self.busy_limit,
            client_retries: self.client_retries,
            retries: self.retries.clone(),
            caller,
            upload_limits: self.upload_limits,
        }
    }

    /// Refuses what this handle's caller may not do to a bucket or object (`AccessDenied`,
    /// `NoSuchBucket`...): the check every S3 call makes, for requests `serve` keeps itself
    /// (multipart uploads in progress).
    pub fn authorize(
        &self,
        bucket: &str,
        key: Option<(&str, Option<&str>)>,
        access: Access,
    ) -> Result<()> {
        self.with_world(|w| allow(w, bucket, key, access))
    }

    /// Who this handle acts as (the owner of what it creates: `Caller::owner`).
    pub fn caller(&self) -> Result<Caller> {
        match &self.caller {
            Some(c) => Ok(c.clone()),
            None => self.with_world(|w| Ok(w.caller.clone())),
        }
    }

    /// A simulator that answers injected faults to its caller instead of retrying them: for
    /// `serve`, whose clients (the SDKs, the AWS CLI) retry by themselves. In-process callers
    /// (scripts) keep the default, which rehearses the SDK's retries (`RETRIES`) on the virtual
    /// clock, so a rehearsal under `sim::set_faults` behaves as the real run would.
    pub fn without_client_retries(mut self) -> Simulator {
        self.client_retries = false;
        self
    }

    /// Waits out the SDK's backoff after failed try `attempt`, on the virtual clock.
    fn back_off(&self, attempt: u32) -> Result<()> {
        let n = self.retries.fetch_add(1, Ordering::Relaxed);
        let jitter = faults::jitter(n);
        let wait = RETRIES.backoff(attempt, jitter);
        let ms = Millis::try_from(wait.as_millis()).unwrap_or(Millis::MAX);
        self.transact(ms.max(1), |_| Ok(()))
    }

    /// The same simulator with other bounds on multipart uploads in progress.
    pub fn with_upload_limits(mut self, limits: UploadLimits) -> Simulator {
        self.upload_limits = limits;
        self
    }

    /// PutObject of a body staged in a file: copied into the store without being held in
    /// memory (see [`BodyFile`]); every rule is PutObject's.
    pub fn put_object_file(&self, request: PutObject, body: &BodyFile) -> Result<ObjectWritten> {
        self.s3(faults::Request::S3, |w| {
            allow_put(w, &request)?;
            s3::put_object_file(w, request, body)
        })
    }

    /// CreateMultipartUpload, by this handle's caller (the upload's initiator), who must be
    /// able to write into the bucket.
    pub fn create_upload(&self, new: &NewUpload) -> Result<UploadInfo> {
        let limits = self.upload_limits;
        self.s3(faults::Request::S3, |w| {
            allow(w, &new.bucket, Some((&new.key, None)), Access::Write)?;
            uploads::create(w, limits, new)
        })
    }

    /// UploadPart: stores (or replaces) part `number` of upload `id`.
    pub fn upload_part(&self, id: &str, number: u32, body: PartBody) -> Result<PartInfo> {
        let limits = self.upload_limits;
        self.s3(faults::Request::S3, |w| {
            uploads::put_part(w, limits, id, number, body)
        })
    }

    /// ListParts: the upload, its parts after `marker` (at most `max`), whether more follow.
    pub fn list_parts(
        &self,
        id: &str,
        marker: u32,
        max: usize,
    ) -> Result<(UploadInfo, Vec<PartInfo>, bool)> {
        self.s3(faults::Request::S3, |w| {
            uploads::list_parts(w, id, marker, max)
        })
    }

    /// ListMultipartUploads of `bucket` (see `uploads::list_uploads`).
    pub fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        key_marker: &str,
        id_marker: &str,
        max: usize,
    ) -> Result<(Vec<UploadInfo>, bool)> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, None, Access::List)?;
            uploads::list_uploads(w, bucket, prefix, key_marker, id_marker, max)
        })
    }

    /// CompleteMultipartUpload with the listed `(part number, ETag)`s.
    pub fn complete_upload(&self, id: &str, listed: &[(u32, String)]) -> Result<CompletedUpload> {
        self.s3(faults::Request::S3, |w| uploads::complete(w, id, listed))
    }

    /// AbortMultipartUpload.
    pub fn abort_upload(&self, id: &str) -> Result<()> {
        self.s3(faults::Request::S3, |w| uploads::abort(w, id))
    }

    /// GetObject's rules for a streamed read: the head, the bytes to return and where they are;
    /// read them with [`Simulator::read_body`] a chunk at a time.
    pub fn open_object(
        &self,
        request: &GetObject,
        range: Option<RangeRequest>,
    ) -> Result<OpenedObject> {
        self.s3(faults::Request::S3, |w| {
            let key = Some((request.key.as_str(), request.version_id.as_deref()));
            allow(w, &request.bucket, key, Access::Read)?;
            s3::open_object(w, request, range)
        })
    }

    /// Reads the bytes of an opened object from `offset` into `buf`: a synthetic body is
    /// computed, a stored one read from the store (only those bytes).
    pub fn read_body(&self, source: &BodySource, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match source {
            BodySource::Synthetic { pattern_key } => {
                let mut body = SyntheticBody::new(pattern_key, offset..offset + buf.len() as u64);
                Ok(std::io::Read::read(&mut body, buf)?)
            }
            BodySource::Stored { id, etag } => {
                let conn = self
                    .conn
                    .lock()
                    .map_err(|_| Error::internal("simulator state lock poisoned"))?;
                s3::read_stored(&conn, *id, etag, offset, buf)
            }
            // Files are never modified and their names never reused: no need to ask the
            // database (a file gone means the object was deleted or replaced).
            BodySource::Files { files, .. } => {
                bodies::read_at(&self.dir.join(bodies::DIR), files, offset, buf)
            }
        }
    }

    /// UploadPartCopy: part `number` of upload `id` is the bytes `range` of the opened object
    /// `source` (see [`Simulator::open_object`]). A seeded source's range is kept as a range;
    /// a stored one's bytes are hashed here, outside any transaction, a chunk at a time, then
    /// its files are linked (or its blob streamed to a file) in the part's transaction.
    pub fn upload_part_copy(
        &self,
        id: &str,
        number: u32,
        source: &BodySource,
        range: std::ops::Range<u64>,
    ) -> Result<PartInfo> {
        let (object, etag) = match source {
            BodySource::Synthetic { pattern_key } => {
                return self.upload_part(
                    id,
                    number,
                    PartBody::Synthetic {
                        pattern_key: pattern_key.clone(),
                        range,
                    },
                );
            }
            BodySource::Stored { id, etag } | BodySource::Files { id, etag, .. } => (*id, etag),
        };
        if range.end - range.start > MAX_PART_SIZE {
            return Err(Error::new(
                "EntityTooLarge",
                format!("a part is at most {MAX_PART_SIZE} bytes"),
            )
            .status(400));
        }
        let mut md5 = <md5::Md5 as md5::Digest>::new();
        let mut reader = self.body_reader(source.clone(), range.clone());
        uploads::copy(
            &mut reader,
            &mut s3::HashWriter(&mut md5),
            range.end - range.start,
        )?;
        self.upload_part(
            id,
            number,
            PartBody::Stored {
                id: object,
                etag: etag.clone(),
                range,
                md5: md5::Digest::finalize(md5).into(),
            },
        )
    }

    /// The bytes `range` of an opened object, read outside any transaction.
    fn body_reader(
        &self,
        source: BodySource,
        range: std::ops::Range<u64>,
    ) -> Box<dyn std::io::Read + Send + '_> {
        match source {
            BodySource::Synthetic { pattern_key } => {
                Box::new(SyntheticBody::new(&pattern_key, range))
            }
            BodySource::Files { files, .. } => Box::new(bodies::FilesReader::new(
                self.dir.join(bodies::DIR),
                files,
                range,
            )),
            source @ BodySource::Stored { .. } => Box::new(StoredReader {
                sim: self,
                source,
                pos: range.start,
                end: range.end,
                buf: Vec::new(),
                at: 0,
            }),
        }
    }

    /// PutObject of `size` synthetic bytes of `pattern_key`'s pattern with `etag` (`request`'s
    /// body is ignored): see `s3::put_synthetic`.
    pub fn put_synthetic(
        &self,
        request: &PutObject,
        pattern_key: &str,
        size: u64,
        etag: &str,
    ) -> Result<ObjectWritten> {
        self.s3(faults::Request::S3, |w| {
            allow_put(w, request)?;
            s3::put_synthetic(w, request, pattern_key, size, etag)
        })
    }

    /// Gives the object just written (`written`) another ETag: a multipart upload's
    /// (`md5-of-part-md5s-N`), which its assembled bytes' MD5 is not.
    pub fn set_etag(&self, written: &ObjectWritten, etag: &str) -> Result<()> {
        self.with_world(|w| {
            w.tx.execute(
                "UPDATE objects SET etag = ?4 WHERE bucket = ?1 AND key = ?2 AND version_id IS ?3
                 AND is_latest = 1",
                rusqlite::params![written.bucket, written.key, written.version_id, etag],
            )?;
            Ok(())
        })
    }

    pub fn state_dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` in one transaction after bringing the world up to now.
    pub(crate) fn with_world<T>(&self, f: impl FnOnce(&World) -> Result<T>) -> Result<T> {
        self.transact(0, f)
    }

    /// Like `with_world`, but first moves the clock forward by `advance` milliseconds.
    ///
    /// The world is first brought up to now in slices of at most [`SLICE`], each its own
    /// transaction: a slice leaves the state whole (a job's tasks run in order and its counts
    /// say how far it got), so a kill between slices loses nothing and the next call carries on.
    /// `f` runs in the transaction of the last slice, on a world that is up to date.
    fn transact<T>(&self, advance: Millis, f: impl FnOnce(&World) -> Result<T>) -> Result<T> {
        let mut advance = advance;
        let mut f = Some(f);
        loop {
            let conn = self
                .conn
                .lock()
                .map_err(|_| Error::internal("simulator state lock poisoned"))?;
            let tx = self.begin(&conn)?;
            bodies::begin();
            // Body files made by a transaction that does not commit go with it.
            let ran = (|| {
                if advance > 0 {
                    clock::advance(&tx, advance)?;
                    advance = 0;
                }
                let mut world = World::load(&tx)?;
                let budget = Budget::slice(self.slices, self.interrupt.get().cloned());
                // Jobs run as the world's own account, whoever's request brought the world up
                // to now.
                if control::advance_all(&world, &budget)? {
                    if let Some(caller) = &self.caller {
                        world.caller = caller.clone();
                    }
                    return Ok(Some(f.take().map(|f| f(&world)).transpose()?));
                }
                Ok(None)
            })()
            .and_then(|out| Ok((out, bodies::take_dead(&tx)?)));
            let (out, dead) = match ran.and_then(|done| Ok(tx.commit().map(|()| done)?)) {
                Ok(done) => done,
                Err(e) => {
                    bodies::rolled_back();
                    return Err(e);
                }
            };
            bodies::committed();
            bodies::remove(&self.dir.join(bodies::DIR), &dead);
            if let Some(out) = out {
                return out.ok_or_else(|| Error::internal("a simulator call ran twice"));
            }
            // Due work is left: this slice is committed; let others in, and stop here on
            // Ctrl-C.
            drop(conn);
            self.check_interrupt()?;
            std::thread::yield_now();
        }
    }

    /// Smaller slices of catch-up work than [`SLICE`] and [`SLICE_TASKS`]: for tests and
    /// benchmarks of what happens between slices.
    pub fn with_slices(mut self, time: Duration, tasks: u64) -> Simulator {
        self.slices = Slices { time, tasks };
        self
    }

    /// Ctrl-C's flag, from the session that runs scripts on this simulator.
    pub fn watch_interrupt(&self, flag: Arc<AtomicBool>) {
        let _ = self.interrupt.set(flag);
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .get()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    fn check_interrupt(&self) -> Result<()> {
        if self.interrupted() {
            return Err(interrupted_error());
        }
        Ok(())
    }

    /// Takes the state's write lock, waiting up to [`BUSY_LIMIT`] while another process holds
    /// it, in tries of [`BUSY_TRY`] with Ctrl-C checked between them.
    fn begin<'c>(&self, conn: &'c Connection) -> Result<Transaction<'c>> {
        let started = Instant::now();
        loop {
            match Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate) {
                Ok(tx) => return Ok(tx),
                Err(e) if store::is_busy(&e) => {
                    self.check_interrupt()?;
                    if started.elapsed() >= self.busy_limit {
                        return Err(Error::state_busy(format!(
                            "the simulator state {} stayed locked by another process for {} s",
                            self.dir.display(),
                            self.busy_limit.as_secs_f64()
                        )));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// An S3 request: first admitted (or refused) by the fault injector and rate limits, whose
    /// counters are kept even when the request is refused.
    /// Injected faults are retried as the SDK would ([`RETRIES`]) unless
    /// `without_client_retries`; `f` runs at most once, in the admitted try.
    /// An S3 call only the bucket's owner may make (its settings: ACL, policy, ownership…).
    fn as_bucket_owner<T>(&self, bucket: &str, f: impl FnOnce(&World) -> Result<T>) -> Result<T> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, None, Access::BucketOwner)?;
            f(w)
        })
    }

    fn s3<T>(&self, request: faults::Request, f: impl FnOnce(&World) -> Result<T>) -> Result<T> {
        let mut f = Some(f);
        let mut attempt = 1;
        loop {
            let answer = self.with_world(|w| match faults::admit(w, request)? {
                Some(fault) => Ok(Err(fault)),
                None => match f.take() {
                    Some(f) => f(w).map(Ok),
                    None => Err(Error::internal("a simulated request ran twice")),
                },
            })?;
            match answer {
                Err(_) if self.client_retries && attempt < RETRIES.max_attempts => {
                    self.back_off(attempt)?;
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }

    /// Moves an Intelligent-Tiering object into an archive access tier (`None`: back to the
    /// frequent tier), as 90 or 180 days without access would.
    pub fn set_access_tier(
        &self,
        bucket: &str,
        key: &str,
        tier: Option<ArchiveAccessTier>,
    ) -> Result<()> {
        self.with_world(|w| s3::set_access_tier(w, bucket, key, tier))
    }

    /// Sets a bucket's ACL, canned or explicit grants (S3's PutBucketAcl): WRITE_ACP on the
    /// bucket (its owner has it).
    pub fn put_bucket_acl(&self, bucket: &str, acl: impl Into<Acl>) -> Result<()> {
        let acl = acl.into();
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, None, Access::WriteAcp)?;
            acl::put_bucket_acl(w, bucket, &acl)
        })
    }

    /// A bucket's owner and grants (a canned ACL's expanded; `private` unless set): READ_ACP
    /// on the bucket (its owner has it).
    pub fn get_bucket_acl(&self, bucket: &str) -> Result<(Owner, Vec<Grant>)> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, None, Access::ReadAcp)?;
            let owner = identity::bucket_owner(w, bucket)?;
            let grants = acl::bucket_grants(w, bucket)?;
            Ok((owner.clone(), acl::listed(w, grants, &[&owner])?))
        })
    }

    /// HeadBucket: the bucket, if the caller may list it (403 otherwise, 404 if missing).
    pub fn head_bucket(&self, bucket: &str) -> Result<BucketInfo> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, None, Access::List)?;
            s3::bucket_info(w, bucket)
        })
    }

    /// Sets an object version's ACL, canned or explicit grants (S3's PutObjectAcl): WRITE_ACP
    /// on the object (its owner has it).
    pub fn put_object_acl(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        acl: impl Into<Acl>,
    ) -> Result<()> {
        let acl = acl.into();
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, Some((key, version_id)), Access::WriteAcp)?;
            acl::put_object_acl(w, bucket, key, version_id, &acl)
        })
    }

    /// An object version's owner and grants (a canned ACL's expanded; `private` unless set):
    /// READ_ACP on the object (its owner has it).
    pub fn get_object_acl(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(Owner, Vec<Grant>)> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, Some((key, version_id)), Access::ReadAcp)?;
            let object = s3::find(w, bucket, key, version_id)?;
            let owner = identity::object_owner(w, object.id)?;
            let bucket_owner = identity::bucket_owner(w, bucket)?;
            let grants = acl::object_grants_by_id(w, bucket, object.id)?;
            Ok((
                owner.clone(),
                acl::listed(w, grants, &[&owner, &bucket_owner])?,
            ))
        })
    }

    /// Refuses an ACL the bucket does not accept before anything is written: unknown grantees
    /// (`InvalidArgument` "Invalid id"), Object Ownership, Block Public Access.
    pub fn check_acl(&self, bucket: &str, acl: &Acl) -> Result<()> {
        self.with_world(|w| acl::check(w, bucket, acl))
    }

    /// Refuses grantees S3 would not resolve (`InvalidArgument` "Invalid id"…), before the
    /// bucket exists: CreateBucket's ACL.
    pub fn check_grantees(&self, bucket: &str, acl: &Acl) -> Result<()> {
        self.with_world(|w| acl::check_grantees(w, bucket, acl))
    }

    /// Makes these accounts known as grantees of ACLs (by canonical id): the identities
    /// `serve` accepts. The world's own account is always known.
    pub fn register_accounts(&self, accounts: &[Owner]) -> Result<()> {
        self.with_world(|w| acl::register_accounts(w, accounts))
    }

    /// Put (`Some`) or delete (`None`) a bucket's Object Ownership control.
    pub fn put_ownership_controls(
        &self,
        bucket: &str,
        ownership: Option<ObjectOwnership>,
    ) -> Result<()> {
        self.as_bucket_owner(bucket, |w| s3::put_ownership(w, bucket, ownership))
    }

    /// A bucket's Object Ownership control, if set.
    pub fn get_ownership_controls(&self, bucket: &str) -> Result<Option<ObjectOwnership>> {
        self.as_bucket_owner(bucket, |w| s3::ownership(w, bucket))
    }

    /// Put (`Some`) or delete (`None`) a bucket's Block Public Access configuration.
    pub fn put_public_access_block(
        &self,
        bucket: &str,
        block: Option<PublicAccessBlock>,
    ) -> Result<()> {
        self.as_bucket_owner(bucket, |w| s3::put_public_access_block(w, bucket, block))
    }

    /// A bucket's Block Public Access configuration, if set.
    pub fn get_public_access_block(&self, bucket: &str) -> Result<Option<PublicAccessBlock>> {
        self.as_bucket_owner(bucket, |w| s3::public_access_block(w, bucket))
    }

    /// Put (`Some`, a JSON policy document) or delete (`None`) a bucket policy.
    pub fn put_bucket_policy(&self, bucket: &str, policy: Option<&str>) -> Result<()> {
        self.as_bucket_owner(bucket, |w| s3::put_bucket_policy(w, bucket, policy))
    }

    /// A bucket's policy document, if set.
    pub fn get_bucket_policy(&self, bucket: &str) -> Result<Option<String>> {
        self.as_bucket_owner(bucket, |w| s3::bucket_policy(w, bucket))
    }

    /// Whether an unsigned request may list a bucket, read an object or write into a bucket,
    /// by their ACLs.
    pub fn anonymous_allowed(
        &self,
        bucket: &str,
        key: Option<&str>,
        access: AnonymousAccess,
    ) -> Result<bool> {
        self.with_world(|w| identity::anonymous_allowed(w, bucket, key, access))
    }

    /// Sets the virtual time (never backwards) and whether it stands still between waits.
    pub fn set_clock(&self, at: Option<OffsetDateTime>, frozen: bool) -> Result<OffsetDateTime> {
        // Bring the world up to the current time first, so nothing due is skipped; the steps
        // the new time makes due then run in slices, in time order, as after any jump.
        self.with_world(|_| Ok(()))?;
        let target = {
            let conn = self
                .conn
                .lock()
                .map_err(|_| Error::internal("simulator state lock poisoned"))?;
            let tx = self.begin(&conn)?;
            control::advance_all(&World::load(&tx)?, &Budget::unlimited())?;
            let target = clock::set(&tx, at.map(clock::from_datetime), frozen)?;
            tx.commit()?;
            target
        };
        self.with_world(|_| Ok(()))?;
        Ok(clock::to_datetime(target))
    }

    /// How many jobs may be Active at once (0: no limit, the default).
    pub fn set_capacity(&self, jobs: u32) -> Result<()> {
        self.with_world(|w| control::set_capacity(w, jobs))
    }

    /// Makes some S3 requests fail with 503 `SlowDown` or 500 `InternalError` (0 turns off).
    pub fn set_faults(&self, faults: Faults) -> Result<()> {
        self.with_world(|w| faults::set(w, faults))
    }

    /// Moves the virtual clock forward and returns the new time.
    pub fn advance(&self, by: Duration) -> Result<OffsetDateTime> {
        let ms = Millis::try_from(by.as_millis()).map_err(|_| {
            Error::invalid_argument("advancing the clock: the duration is too long")
        })?;
        self.transact(ms, |w| Ok(clock::to_datetime(w.now)))
    }

    /// The next time something changes on its own (a job step, a restore finishing or
    /// expiring), if anything is scheduled.
    pub fn next_event(&self) -> Result<Option<OffsetDateTime>> {
        self.with_world(|w| Ok(next_event(w)?.map(clock::to_datetime)))
    }

    /// Empties the world, keeping its account, region and seed.
    pub fn reset(&self) -> Result<()> {
        self.with_world(store::reset)
    }

    /// Sets the seed that restore durations are drawn with.
    pub fn set_seed(&self, seed: u64) -> Result<()> {
        self.with_world(|w| store::set_meta(w.tx, "seed", &seed.to_string()))
    }

    /// Bulk-creates `count` synthetic objects named `prefix` + zero-padded index.
    ///
    /// All or nothing: the objects appear together in one transaction, so a kill or Ctrl-C
    /// (checked every few thousand objects: the seed then rolls back) leaves none of them, and
    /// running the same call again gives the same objects. It is the one transaction of the
    /// simulator longer than a [`SLICE`] (about 2 s per million objects on a release build);
    /// other processes wait for it, up to [`BUSY_LIMIT`].
    pub fn seed_objects(
        &self,
        bucket: &str,
        count: u64,
        prefix: &str,
        storage_class: StorageClass,
        size: u64,
    ) -> Result<u64> {
        let stop = || {
            if self.interrupted() {
                return Err(Error::new(
                    "Interrupted",
                    "stopped by Ctrl-C: the seed was rolled back, no object of it was created",
                ));
            }
            Ok(())
        };
        self.with_world(|w| s3::seed(w, bucket, count, prefix, storage_class, size, &stop))
    }
}

/// The controls are the simulator's own methods above.
impl SimControls for Simulator {
    fn advance(&self, by: Duration) -> Result<OffsetDateTime> {
        Simulator::advance(self, by)
    }

    fn set_clock(&self, at: Option<OffsetDateTime>, frozen: bool) -> Result<OffsetDateTime> {
        Simulator::set_clock(self, at, frozen)
    }

    fn next_event(&self) -> Result<Option<OffsetDateTime>> {
        Simulator::next_event(self)
    }

    fn reset(&self) -> Result<()> {
        Simulator::reset(self)
    }

    fn set_seed(&self, seed: u64) -> Result<()> {
        Simulator::set_seed(self, seed)
    }

    fn seed_objects(
        &self,
        bucket: &str,
        count: u64,
        prefix: &str,
        storage_class: StorageClass,
        size: u64,
    ) -> Result<u64> {
        Simulator::seed_objects(self, bucket, count, prefix, storage_class, size)
    }

    fn set_faults(&self, faults: Faults) -> Result<()> {
        Simulator::set_faults(self, faults)
    }

    fn set_capacity(&self, jobs: u32) -> Result<()> {
        Simulator::set_capacity(self, jobs)
    }

    fn set_access_tier(
        &self,
        bucket: &str,
        key: &str,
        tier: Option<ArchiveAccessTier>,
    ) -> Result<()> {
        Simulator::set_access_tier(self, bucket, key, tier)
    }
}

/// The one access rule ([`identity::authorize`]) for the caller of this call.
fn allow(w: &World, bucket: &str, key: Option<(&str, Option<&str>)>, access: Access) -> Result<()> {
    identity::authorize(w, &w.caller, bucket, key, access)
}

/// A PUT's access: write on the target key.
fn allow_put(w: &World, request: &PutObject) -> Result<()> {
    allow(
        w,
        &request.bucket,
        Some((&request.key, None)),
        Access::Write,
    )
}

/// A copy's access: read on the source (version), write on the target.
fn allow_copy(w: &World, request: &CopyObject) -> Result<()> {
    let src = &request.source;
    let source = Some((src.key.as_str(), src.version_id.as_deref()));
    allow(w, &src.bucket, source, Access::Read)?;
    allow(
        w,
        &request.bucket,
        Some((&request.key, None)),
        Access::Write,
    )
}

fn next_event(w: &World) -> Result<Option<Millis>> {
    let candidates = [control::next_event(w)?, s3::next_event(w)?];
    Ok(candidates.into_iter().flatten().min())
}

impl Backend for Simulator {
    fn kind(&self) -> &'static str {
        "sim"
    }

    fn account_id(&self) -> Result<String> {
        self.with_world(|w| Ok(w.account_id.clone()))
    }

    fn region(&self) -> String {
        self.with_world(|w| Ok(w.region.clone()))
            .unwrap_or_else(|_| DEFAULT_REGION.to_string())
    }

    fn now(&self) -> Result<OffsetDateTime> {
        self.with_world(|w| Ok(clock::to_datetime(w.now)))
    }

    fn sleep(&self, duration: Duration) -> Result<()> {
        self.advance(duration).map(drop)
    }

    /// In process, no one else reads this clock: pacing runs on virtual time.
    fn pace_now(&self) -> Result<OffsetDateTime> {
        self.now()
    }

    fn pace(&self, duration: Duration) -> Result<()> {
        self.sleep(duration)
    }

    fn wait_step(&self, _poll: Duration, deadline: OffsetDateTime) -> Result<()> {
        let deadline = clock::from_datetime(deadline);
        let (now, target) = self.with_world(|w| {
            let target = next_event(w)?.map_or(deadline, |event| event.min(deadline));
            Ok((w.now, target))
        })?;
        // Always advance at least a millisecond so a caller polling in a loop makes progress.
        self.transact((target - now).max(1), |_| Ok(()))
    }

    fn sim_controls(&self) -> Option<&dyn SimControls> {
        Some(self)
    }

    fn watch_interrupt(&self, flag: Arc<AtomicBool>) {
        Simulator::watch_interrupt(self, flag);
    }

    fn create_bucket(&self, name: &str, region: Option<&str>) -> Result<BucketInfo> {
        validate_bucket_name(name)?;
        self.s3(faults::Request::S3, |w| s3::create_bucket(w, name, region))
    }

    fn put_bucket_versioning(&self, bucket: &str, enabled: bool) -> Result<()> {
        self.as_bucket_owner(bucket, |w| s3::put_bucket_versioning(w, bucket, enabled))
    }

    fn get_bucket_versioning(&self, bucket: &str) -> Result<Option<VersioningStatus>> {
        self.as_bucket_owner(bucket, |w| s3::get_bucket_versioning(w, bucket))
    }

    fn delete_bucket(&self, name: &str) -> Result<()> {
        self.s3(faults::Request::S3, |w| {
            allow(w, name, None, Access::BucketOwner)?;
            s3::delete_bucket(w, name)
        })
    }

    fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.s3(faults::Request::S3, s3::list_buckets)
    }

    fn put_object(&self, request: PutObject) -> Result<ObjectWritten> {
        self.s3(faults::Request::S3, |w| {
            allow_put(w, &request)?;
            s3::put_object(w, request)
        })
    }

    fn get_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Vec<u8>> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, Some((key, version_id)), Access::Read)?;
            s3::get_object(w, bucket, key, version_id)
        })
    }

    fn head_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<ObjectHead> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, Some((key, version_id)), Access::Read)?;
            s3::head_object(w, bucket, key, version_id)
        })
    }

    fn list_objects(&self, request: &ListObjects) -> Result<Page<ObjectSummary>> {
        self.s3(faults::Request::S3, |w| {
            allow(w, &request.bucket, None, Access::List)?;
            s3::list_objects(w, request)
        })
    }

    fn list_object_versions(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<&str>,
    ) -> Result<Page<ObjectVersion>> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, None, Access::List)?;
            s3::list_object_versions(w, bucket, prefix, continuation)
        })
    }

    fn copy_object_with(&self, request: &CopyObject) -> Result<ObjectWritten> {
        self.s3(faults::Request::S3, |w| {
            allow_copy(w, request)?;
            s3::copy_object(w, request)
        })
    }

    fn get_object_with(&self, request: &GetObject) -> Result<(ObjectHead, Vec<u8>)> {
        self.s3(faults::Request::S3, |w| {
            let key = Some((request.key.as_str(), request.version_id.as_deref()));
            allow(w, &request.bucket, key, Access::Read)?;
            s3::get_object_with(w, request)
        })
    }

    fn get_object_stream(
        &self,
        request: &GetObject,
        range: Option<RangeRequest>,
    ) -> Result<ObjectStream<'_>> {
        let opened = self.open_object(request, range)?;
        let reader = self.body_reader(opened.source, opened.range.clone());
        Ok(ObjectStream {
            head: opened.head,
            range: opened.range,
            reader,
        })
    }

    fn copy_object_multipart(&self, request: &CopyObject, part_size: u64) -> Result<ObjectWritten> {
        self.s3(faults::Request::S3, |w| {
            allow_copy(w, request)?;
            s3::copy_object_multipart(w, request, part_size)
        })
    }

    fn head_object_with(&self, request: &GetObject) -> Result<ObjectHead> {
        self.s3(faults::Request::S3, |w| {
            let key = Some((request.key.as_str(), request.version_id.as_deref()));
            allow(w, &request.bucket, key, Access::Read)?;
            s3::head_object_with(w, request)
        })
    }

    fn delete_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Deleted> {
        self.s3(faults::Request::S3, |w| {
            allow(w, bucket, Some((key, None)), Access::Delete)?;
            s3::delete_object(w, bucket, key, version_id)
        })
    }

    fn delete_objects(&self, bucket: &str, ids: &[ObjectId]) -> Result<Vec<Result<Deleted>>> {
        self.s3(faults::Request::S3, |w| {
            s3::require_bucket(w, bucket)?;
            Ok(ids
                .iter()
                .map(|id| {
                    allow(w, bucket, Some((&id.key, None)), Access::Delete)?;
                    s3::delete_object(w, bucket, &id.key, id.version_id.as_deref())
                })
                .collect())
        })
    }

    fn restore_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        request: RestoreRequest,
    ) -> Result<RestoreOutcome> {
        self.s3(faults::Request::Restore, |w| {
            allow(w, bucket, Some((key, version_id)), Access::ObjectOwner)?;
            s3::restore_object(w, bucket, key, version_id, request)
        })
    }

    /// One transaction per round for the whole batch (the simulator has no network to
    /// overlap); objects refused by an injected fault are retried in the next round, after the
    /// SDK's backoff, as each of AWS's concurrent HEADs would be.
    fn head_objects(&self, objects: &[ObjectRef], _concurrency: usize) -> Vec<Result<ObjectHead>> {
        let mut answers: Vec<Option<Result<ObjectHead>>> = vec![None; objects.len()];
        let mut todo: Vec<usize> = (0..objects.len()).collect();
        let mut attempt = 1;
        while !todo.is_empty() {
            let round = self.with_world(|w| {
                todo.iter()
                    .map(|&i| {
                        let o = &objects[i];
                        Ok(match faults::admit(w, faults::Request::S3)? {
                            Some(fault) => (i, Err(fault), true),
                            None => {
                                let key = Some((o.key.as_str(), o.version_id.as_deref()));
                                let head = allow(w, &o.bucket, key, Access::Read).and_then(|()| {
                                    s3::head_object(w, &o.bucket, &o.key, o.version_id.as_deref())
                                });
                                (i, head, false)
                            }
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            });
            let round = match round {
                Ok(round) => round,
                Err(e) => todo.iter().map(|&i| (i, Err(e.clone()), false)).collect(),
            };
            let retry = self.client_retries && attempt < RETRIES.max_attempts;
            todo.clear();
            for (i, answer, faulted) in round {
                if faulted && retry {
                    todo.push(i);
                } else {
                    answers[i] = Some(answer);
                }
            }
            if !todo.is_empty() {
                if let Err(e) = self.back_off(attempt) {
                    for &i in &todo {
                        answers[i] = Some(Err(e.clone()));
                    }
                    break;
                }
                attempt += 1;
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(Error::internal("a HEAD went unanswered"))))
            .collect()
    }

    fn restore_objects(
        &self,
        requests: &[(ObjectRef, RestoreRequest)],
        _concurrency: usize,
    ) -> Vec<Result<RestoreOutcome>> {
        // Each restore is its own savepoint, so a failed one leaves nothing behind.
        let answers = self.with_world(|w| {
            requests
                .iter()
                .map(|(o, request)| {
                    if let Some(fault) = faults::admit(w, faults::Request::Restore)? {
                        return Ok(Err(fault));
                    }
                    w.tx.execute_batch("SAVEPOINT restore_one")?;
                    let key = Some((o.key.as_str(), o.version_id.as_deref()));
                    let answer = allow(w, &o.bucket, key, Access::ObjectOwner).and_then(|()| {
                        s3::restore_object(w, &o.bucket, &o.key, o.version_id.as_deref(), *request)
                    });
                    w.tx.execute_batch(if answer.is_ok() {
                        "RELEASE restore_one"
                    } else {
                        "ROLLBACK TO restore_one; RELEASE restore_one"
                    })?;
                    Ok(answer)
                })
                .collect::<Result<Vec<_>>>()
        });
        answers.unwrap_or_else(|e| requests.iter().map(|_| Err(e.clone())).collect())
    }

    /// CopyObject's rules per object (as an `S3PutObjectCopy` task: a seeded source's copy
    /// stays synthetic), one transaction per batch, each copy its own savepoint.
    fn copy_objects(
        &self,
        requests: &[(ObjectRef, CopyOperation)],
        _concurrency: usize,
    ) -> Vec<Result<ObjectWritten>> {
        let answers = self.with_world(|w| {
            requests
                .iter()
                .map(|(o, copy)| {
                    if let Some(fault) = faults::admit(w, faults::Request::S3)? {
                        return Ok(Err(fault));
                    }
                    w.tx.execute_batch("SAVEPOINT copy_one")?;
                    let key = Some((o.key.as_str(), o.version_id.as_deref()));
                    let target = copy.target_key(&o.key);
                    let answer = allow(w, &o.bucket, key, Access::Read)
                        .and_then(|()| {
                            allow(w, &copy.target_bucket, Some((&target, None)), Access::Write)
                        })
                        .and_then(|()| {
                            s3::copy_for_job(w, &o.bucket, &o.key, o.version_id.as_deref(), copy)
                        });
                    w.tx.execute_batch(if answer.is_ok() {
                        "RELEASE copy_one"
                    } else {
                        "ROLLBACK TO copy_one; RELEASE copy_one"
                    })?;
                    Ok(answer)
                })
                .collect::<Result<Vec<_>>>()
        });
        answers.unwrap_or_else(|e| requests.iter().map(|_| Err(e.clone())).collect())
    }

    fn create_job(&self, spec: &JobSpec) -> Result<String> {
        self.with_world(|w| control::create(w, spec))
    }

    fn describe_job(&self, job_id: &str) -> Result<Job> {
        self.with_world(|w| control::describe(w, job_id))
    }

    fn list_jobs(&self, statuses: &[JobStatus], next: Option<&str>) -> Result<Page<JobSummary>> {
        self.with_world(|w| control::list(w, statuses, next))
    }

    fn update_job_status(
        &self,
        job_id: &str,
        requested: RequestedJobStatus,
        reason: Option<&str>,
    ) -> Result<JobStatus> {
        self.with_world(|w| control::update_status(w, job_id, requested, reason))
    }

    fn update_job_priority(&self, job_id: &str, priority: i32) -> Result<i32> {
        self.with_world(|w| control::update_priority(w, job_id, priority))
    }

    fn get_job_tagging(&self, job_id: &str) -> Result<BTreeMap<String, String>> {
        self.with_world(|w| control::get_tags(w, job_id))
    }

    fn put_job_tagging(&self, job_id: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        self.with_world(|w| control::put_tags(w, job_id, tags))
    }

    fn create_role(
        &self,
        name: &str,
        trust_policy: &Json,
        description: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Role> {
        self.with_world(|w| iam::create_role(w, name, trust_policy, description, tags))
    }

    fn get_role(&self, name: &str) -> Result<Role> {
        self.with_world(|w| iam::get_role(w, name))
    }

    fn delete_role(&self, name: &str) -> Result<()> {
        self.with_world(|w| iam::delete_role(w, name))
    }

    fn create_policy(&self, name: &str, document: &Json) -> Result<Policy> {
        self.with_world(|w| iam::create_policy(w, name, document))
    }

    fn get_policy(&self, arn: &str) -> Result<Policy> {
        self.with_world(|w| iam::get_policy(w, arn))
    }

    fn delete_policy(&self, arn: &str) -> Result<()> {
        self.with_world(|w| iam::delete_policy(w, arn))
    }

    fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        self.with_world(|w| iam::attach_role_policy(w, role, policy_arn))
    }

    fn detach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        self.with_world(|w| iam::detach_role_policy(w, role, policy_arn))
    }

    fn list_attached_role_policies(&self, role: &str) -> Result<Vec<String>> {
        self.with_world(|w| iam::list_attached_role_policies(w, role))
    }

    fn put_role_policy(&self, role: &str, name: &str, document: &Json) -> Result<()> {
        self.with_world(|w| iam::put_role_policy(w, role, name, document))
    }

    fn delete_role_policy(&self, role: &str, name: &str) -> Result<()> {
        self.with_world(|w| iam::delete_role_policy(w, role, name))
    }

    fn list_role_policies(&self, role: &str) -> Result<Vec<String>> {
        self.with_world(|w| iam::list_role_policies(w, role))
    }

    fn simulate_principal_policy(
        &self,
        role_arn: &str,
        action: &str,
        resource: &str,
    ) -> Result<crate::policy::Decision> {
        self.with_world(|w| iam::simulate(w, role_arn, action, resource))
    }
}

#[cfg(test)]
mod tests {
    use md5::{Digest, Md5};

    use super::*;

    fn world() -> (Simulator, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sim = Simulator::open(dir.path()).expect("a simulator");
        sim.create_bucket("bkt", None).expect("a bucket");
        (sim, dir)
    }

    fn copy(source: &str, key: &str) -> CopyObject {
        CopyObject {
            source: ObjectRef {
                bucket: "bkt".into(),
                key: source.into(),
                version_id: None,
            },
            bucket: "bkt".into(),
            key: key.into(),
            ..CopyObject::default()
        }
    }

    #[test]
    fn part_copies_follow_aws_rules() {
        let gib = 1024 * 1024 * 1024;
        assert_eq!(part_copy_range(None, 10).unwrap(), 0..10);
        assert_eq!(part_copy_range(Some("bytes=2-5"), 10).unwrap(), 2..6);
        for bad in ["2-5", "bytes=a-5", "bytes=5", "bytes=-5"] {
            assert_eq!(
                part_copy_range(Some(bad), 10).unwrap_err().code,
                "InvalidArgument",
                "{bad}"
            );
        }
        for outside in ["bytes=5-2", "bytes=0-10", "bytes=10-12"] {
            assert_eq!(
                part_copy_range(Some(outside), 10).unwrap_err().code,
                "InvalidRange",
                "{outside}"
            );
        }
        let whole = format!("bytes=0-{}", 5 * gib);
        assert_eq!(
            part_copy_range(Some(&whole), 6 * gib).unwrap_err().code,
            "EntityTooLarge"
        );
        assert!(check_part_sizes(&[MIN_PART_SIZE, MIN_PART_SIZE, 1]).is_ok());
        assert_eq!(
            check_part_sizes(&[MIN_PART_SIZE, 1, 1]).unwrap_err().code,
            "EntityTooSmall"
        );
        assert_eq!(
            check_part_sizes(&vec![MIN_PART_SIZE; 10_001])
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
        // The AWS CLI's part sizes: 8 MiB, doubled to stay within 10,000 parts.
        assert_eq!(multipart_part_size(6 * gib), 8 * 1024 * 1024);
        assert_eq!(multipart_part_size(1024 * gib), 128 * 1024 * 1024);
        assert!((5 * 1024 * gib).div_ceil(multipart_part_size(5 * 1024 * gib)) <= 10_000);
    }

    #[test]
    fn multipart_copies_have_multipart_etags_and_refuse_what_aws_refuses() {
        let (sim, _dir) = world();
        let mib = 1024 * 1024;
        let body: Vec<u8> = (0..11 * mib).map(|i| (i % 251) as u8).collect();
        sim.put_object(PutObject {
            bucket: "bkt".into(),
            key: "stored".into(),
            body: body.clone(),
            ..PutObject::default()
        })
        .unwrap();
        // 5 MiB parts: 5 + 5 + 1; the ETag is the MD5 of the parts' MD5s, and the bytes are
        // the source's.
        let written = sim
            .copy_object_multipart(&copy("stored", "copy"), 5 * mib)
            .unwrap();
        let md5s: Vec<[u8; 16]> = body
            .chunks(5 * mib as usize)
            .map(|c| Md5::digest(c).into())
            .collect();
        assert_eq!(written.etag, multipart_etag(&md5s));
        assert!(written.etag.ends_with("-3\""), "{}", written.etag);
        assert_eq!(sim.get_object("bkt", "copy", None).unwrap(), body);
        assert_eq!(
            sim.head_object("bkt", "copy", None).unwrap().etag,
            written.etag
        );
        // Parts under 5 MiB (but the last): EntityTooSmall, and nothing written.
        let e = sim
            .copy_object_multipart(&copy("stored", "small-parts"), mib)
            .unwrap_err();
        assert_eq!(e.code, "EntityTooSmall");
        assert_eq!(
            sim.head_object("bkt", "small-parts", None)
                .unwrap_err()
                .code,
            "NoSuchKey"
        );
        // An archived source not restored: InvalidObjectState.
        sim.seed_objects("bkt", 1, "cold/", StorageClass::Glacier, 6 << 30)
            .unwrap();
        let e = sim
            .copy_object_multipart(&copy("cold/000000", "cold-copy"), 8 * mib)
            .unwrap_err();
        assert_eq!(e.code, "InvalidObjectState");
        // A seeded 6 GB source stays synthetic: same bytes at any offset, 768 parts.
        sim.seed_objects("bkt", 1, "six/", StorageClass::Standard, 6 << 30)
            .unwrap();
        let written = sim
            .copy_object_multipart(&copy("six/000000", "six-copy"), 8 * mib)
            .unwrap();
        assert!(written.etag.ends_with("-768\""), "{}", written.etag);
        let read = |key: &str| {
            let request = GetObject {
                bucket: "bkt".into(),
                key: key.into(),
                ..GetObject::default()
            };
            let mut s = sim
                .get_object_stream(
                    &request,
                    Some(RangeRequest::FromTo(5 << 30, (5 << 30) + 99)),
                )
                .unwrap();
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut s.reader, &mut out).unwrap();
            out
        };
        assert_eq!(read("six-copy"), read("six/000000"));
        assert_eq!(read("six-copy").len(), 100);
        // CopyObject refuses it: over 5 GB.
        let e = sim
            .copy_object_with(&copy("six/000000", "direct"))
            .unwrap_err();
        assert_eq!(e.code, "InvalidRequest");
    }
}
