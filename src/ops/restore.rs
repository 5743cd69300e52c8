//! Restore tracking: where each object of a manifest stands (readable, being restored, never
//! requested or expired, not archived, gone, or unknown because it could not be read), read
//! cheaply from listings where the manifest covers a key range densely and by HEAD elsewhere;
//! waiting until every archived object is readable at one moment; extending restored copies;
//! and client-side restores paced under throttling.
//!
//! The promise of this module is honesty: no object is ever dropped from a count. An object
//! whose state could not be read is `Unknown` (and is read again while waiting), a restored copy
//! that expired is `NotRequested` again, and `complete` means every archived object is readable
//! at the instant it was said.
//!
//! No Rhai types here: the script bindings (`api::restore`) and the CLI (`s3thaw status`) call
//! these functions alike.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use crate::backend::{
    Backend, ListObjects, ObjectHead, ObjectRef, ObjectSummary, RestoreOutcome, RestoreRequest,
    StorageClass, Tier,
};
use crate::errors::{Error, Result};
use crate::ops::Progress;
use crate::ops::manifest::Manifest;

/// Objects asked about per round trip of the backend (HEADs in flight, listing page size).
const CHUNK: usize = 1_000;
/// A listing page is worth its request when it resolves at least this many manifest keys (a
/// LIST request costs about 12.5 HEADs at S3's prices); below that the next keys are HEADed.
const LIST_WORTH: usize = 10;
/// Keys HEADed in a sparse stretch before a listing is tried again.
const HEAD_RUN: usize = 100;
/// Extra reads of objects whose state could not be read (after the client's own retries).
const REREADS: u32 = 3;

/// Where one object stands. The names are the count names of the status map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Readable now: a restored copy exists (or an Intelligent-Tiering object came back).
    Restored,
    /// A restore is running.
    InProgress,
    /// Archived, no restore running and no restored copy: never requested, or the copy expired.
    NotRequested,
    /// Not in an archive class or tier: readable without a restore.
    NotArchived,
    /// The object (or its bucket, or its version) does not exist.
    Missing,
    /// Its state could not be read (throttling, errors, access denied) after retries.
    Unknown,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Restored,
        State::InProgress,
        State::NotRequested,
        State::NotArchived,
        State::Missing,
        State::Unknown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            State::Restored => "restored",
            State::InProgress => "in_progress",
            State::NotRequested => "not_requested",
            State::NotArchived => "not_archived",
            State::Missing => "missing",
            State::Unknown => "unknown",
        }
    }

    /// Readable by GET now.
    pub fn is_readable(self) -> bool {
        matches!(self, State::Restored | State::NotArchived)
    }
}

/// The state of an object from its HEAD answer (or failure).
pub fn state_of_head(head: &Result<ObjectHead>) -> State {
    let h = match head {
        Ok(h) => h,
        Err(e) if is_missing(e) => return State::Missing,
        Err(_) => return State::Unknown,
    };
    let archived = h.storage_class.is_archive() || h.archive_status.is_some();
    match (&h.restore, archived) {
        (Some(r), _) if r.ongoing => State::InProgress,
        (Some(_), _) => State::Restored,
        (None, true) => State::NotRequested,
        (None, false) => State::NotArchived,
    }
}

/// The state of an object from a listing entry with `RestoreStatus`; `None` when a listing
/// cannot tell (an Intelligent-Tiering object without a restore: archived or not is shown only
/// by HEAD's `x-amz-archive-status`).
pub fn state_of_listing(o: &ObjectSummary) -> Option<State> {
    match &o.restore {
        Some(r) if r.ongoing => Some(State::InProgress),
        Some(_) => Some(State::Restored),
        None if o.storage_class.is_archive() => Some(State::NotRequested),
        None if o.storage_class == StorageClass::IntelligentTiering => None,
        None => Some(State::NotArchived),
    }
}

fn is_missing(e: &Error) -> bool {
    matches!(
        e.code.as_str(),
        "NoSuchKey" | "NoSuchVersion" | "NoSuchBucket" | "NotFound"
    )
}

/// How states are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// Listings where the manifest covers a key range densely, HEAD for the rest.
    #[default]
    Auto,
    /// Listings for every unversioned row (HEAD only where a listing cannot tell).
    List,
    /// One HEAD per object.
    Head,
}

impl std::str::FromStr for Via {
    type Err = Error;
    fn from_str(s: &str) -> Result<Via> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Via::Auto),
            "list" => Ok(Via::List),
            "head" => Ok(Via::Head),
            _ => Err(Error::invalid_argument(format!(
                "unknown `via` `{s}`; expected one of auto, list, head"
            ))),
        }
    }
}

/// Counts of states.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub total: u64,
    pub restored: u64,
    pub in_progress: u64,
    pub not_requested: u64,
    pub not_archived: u64,
    pub missing: u64,
    pub unknown: u64,
}

impl Counts {
    pub fn add(&mut self, state: State) {
        self.total += 1;
        *self.slot(state) += 1;
    }

    fn slot(&mut self, state: State) -> &mut u64 {
        match state {
            State::Restored => &mut self.restored,
            State::InProgress => &mut self.in_progress,
            State::NotRequested => &mut self.not_requested,
            State::NotArchived => &mut self.not_archived,
            State::Missing => &mut self.missing,
            State::Unknown => &mut self.unknown,
        }
    }

    pub fn get(&self, state: State) -> u64 {
        match state {
            State::Restored => self.restored,
            State::InProgress => self.in_progress,
            State::NotRequested => self.not_requested,
            State::NotArchived => self.not_archived,
            State::Missing => self.missing,
            State::Unknown => self.unknown,
        }
    }

    /// Every archived object is readable, and every object's state is known.
    pub fn complete(&self) -> bool {
        self.in_progress == 0 && self.not_requested == 0 && self.unknown == 0
    }

    /// `name count` for every non-zero state, as people read it.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = State::ALL
            .iter()
            .filter(|s| self.get(**s) > 0)
            .map(|s| {
                format!(
                    "{} {}",
                    crate::readiness::thousands(self.get(*s)),
                    s.name().replace('_', " ")
                )
            })
            .collect();
        if parts.is_empty() {
            "no objects".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Requests made to read states.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Requests {
    pub list: u64,
    pub head: u64,
}

/// Where every object of a manifest stands, index by index.
#[derive(Debug, Clone)]
pub struct Status {
    pub counts: Counts,
    /// The earliest expiry of a restored copy (objects with an expiry only).
    pub earliest_expiry: Option<OffsetDateTime>,
    pub requests: Requests,
    /// When the states were read (the backend's clock: virtual on the simulator).
    pub at: OffsetDateTime,
    /// State of row i of the manifest.
    pub states: Vec<State>,
    /// Expiry of row i's restored copy, when it has one.
    pub expiries: Vec<Option<OffsetDateTime>>,
    /// Storage class of row i, when a read told it.
    pub classes: Vec<Option<StorageClass>>,
    /// When row i was first seen readable (restored) by the reads behind this status: the
    /// start of the read that found its copy. A wait's reads make this the readiness over
    /// time; a single read gives its own time to every restored object.
    pub readable_at: Vec<Option<OffsetDateTime>>,
}

impl Status {
    fn new(len: usize, at: OffsetDateTime) -> Status {
        Status {
            counts: Counts::default(),
            earliest_expiry: None,
            requests: Requests::default(),
            at,
            states: vec![State::Unknown; len],
            expiries: vec![None; len],
            classes: vec![None; len],
            readable_at: vec![None; len],
        }
    }

    /// Every archived object readable and every state known.
    pub fn complete(&self) -> bool {
        self.counts.complete()
    }

    /// Recomputes the counts and the earliest expiry from the per-object states, at `at`: a
    /// restored copy whose expiry has passed is gone, so its object is not requested again.
    fn recount(&mut self) {
        for ((state, expiry), readable) in self
            .states
            .iter_mut()
            .zip(self.expiries.iter_mut())
            .zip(self.readable_at.iter_mut())
        {
            if *state == State::Restored && expiry.is_some_and(|e| e <= self.at) {
                *state = State::NotRequested;
                *expiry = None;
                *readable = None;
            }
        }
        let mut counts = Counts::default();
        let mut earliest: Option<OffsetDateTime> = None;
        for (state, expiry) in self.states.iter().zip(&self.expiries) {
            counts.add(*state);
            if *state == State::Restored
                && let Some(e) = expiry
            {
                earliest = Some(earliest.map_or(*e, |x| x.min(*e)));
            }
        }
        self.counts = counts;
        self.earliest_expiry = earliest;
    }

    /// Indices in `state`.
    pub fn indices(&self, state: State) -> Vec<usize> {
        (0..self.states.len())
            .filter(|&i| self.states[i] == state)
            .collect()
    }

    /// Counts per storage class (`"unknown"` where no read told it).
    pub fn by_class(&self) -> std::collections::BTreeMap<String, Counts> {
        let mut out: std::collections::BTreeMap<String, Counts> = Default::default();
        for (state, class) in self.states.iter().zip(&self.classes) {
            let name = class.map_or("unknown", |c| c.as_str()).to_string();
            out.entry(name).or_default().add(*state);
        }
        out
    }
}

/// What a wait tells whoever watches, beyond the progress of each read (objects read so far,
/// through [`Progress`]).
pub trait Observer: Progress {
    fn waiting(&mut self, _status: &Status, _next_read: OffsetDateTime) {}
}

/// An observer that says nothing.
pub struct Silent;
impl Progress for Silent {
    fn set(&mut self, _done: u64) {}
}
impl Observer for Silent {}

/// An observer that only carries the Ctrl-C flag.
pub struct Interruptible<'a>(pub &'a AtomicBool);
impl Progress for Interruptible<'_> {
    fn set(&mut self, _done: u64) {}
    fn interrupted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
impl Observer for Interruptible<'_> {}

fn object_ref(m: &Manifest, i: usize) -> ObjectRef {
    let row = m.row(i);
    ObjectRef {
        bucket: row.bucket.to_string(),
        key: row.key.to_string(),
        version_id: row.version_id.map(str::to_string),
    }
}

/// Options of a status read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    pub via: Via,
    /// HEAD requests in flight at once (the aws backend).
    pub concurrency: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            via: Via::Auto,
            concurrency: 64,
        }
    }
}

/// Where every object of `m` stands now.
pub fn status(
    backend: &dyn Backend,
    m: &Manifest,
    options: ReadOptions,
    observer: &mut dyn Progress,
) -> Result<Status> {
    let mut status = Status::new(m.len(), backend.now()?);
    let all: Vec<usize> = (0..m.len()).collect();
    read_states(backend, m, &all, options, &mut status, observer)?;
    status.at = backend.now()?;
    status.recount();
    Ok(status)
}

/// Reads the states of the rows `indices` into `status`, retrying what could not be read.
fn read_states(
    backend: &dyn Backend,
    m: &Manifest,
    indices: &[usize],
    options: ReadOptions,
    status: &mut Status,
    observer: &mut dyn Progress,
) -> Result<()> {
    let mut reader = Reader {
        backend,
        m,
        options,
        read_at: backend.now()?,
        status,
        done: 0,
        total: indices.len() as u64,
    };
    reader.read(indices, observer)?;
    // What could not be read is read again, by HEAD, after a pause (the client already retried
    // each request; this outlasts a burst of throttling or a flaky stretch).
    for round in 0..REREADS {
        let unknown: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| reader.status.states[i] == State::Unknown)
            .collect();
        if unknown.is_empty() {
            break;
        }
        check_interrupt(observer)?;
        backend.pace(Duration::from_secs(1 << round))?;
        reader.head(&unknown, observer)?;
    }
    Ok(())
}

fn check_interrupt(observer: &dyn Progress) -> Result<()> {
    if observer.interrupted() {
        return Err(Error::new(
            "Interrupted",
            "stopped by Ctrl-C; nothing was lost: run it again to carry on",
        ));
    }
    Ok(())
}

struct Reader<'a> {
    backend: &'a dyn Backend,
    m: &'a Manifest,
    options: ReadOptions,
    /// When this read started, on the backend's clock.
    read_at: OffsetDateTime,
    status: &'a mut Status,
    done: u64,
    total: u64,
}

impl Reader<'_> {
    fn set(
        &mut self,
        i: usize,
        state: State,
        class: Option<StorageClass>,
        expiry: Option<OffsetDateTime>,
    ) {
        self.status.states[i] = state;
        self.status.expiries[i] = if state == State::Restored {
            expiry
        } else {
            None
        };
        if state == State::Restored {
            self.status.readable_at[i].get_or_insert(self.read_at);
        } else if state != State::Unknown {
            self.status.readable_at[i] = None;
        }
        if class.is_some() {
            self.status.classes[i] = class;
        }
    }

    fn progress(&mut self, n: usize, observer: &mut dyn Progress) {
        self.done = (self.done + n as u64).min(self.total);
        observer.set(self.done);
    }

    fn read(&mut self, indices: &[usize], observer: &mut dyn Progress) -> Result<()> {
        if self.options.via == Via::Head {
            return self.head(indices, observer);
        }
        // Versioned rows name a version: only HEAD can read one. The rest, per bucket, in key
        // order (S3's listing order: bytes of UTF-8).
        let mut heads = Vec::new();
        let mut by_bucket: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for &i in indices {
            let row = self.m.row(i);
            if row.version_id.is_some() {
                heads.push(i);
            } else {
                by_bucket.entry(row.bucket).or_default().push(i);
            }
        }
        for (bucket, mut rows) in by_bucket {
            // Rows with the same key stay side by side and get the same state.
            rows.sort_by(|a, b| self.m.row(*a).key.cmp(self.m.row(*b).key));
            self.list_bucket(bucket, &rows, observer)?;
        }
        self.head(&heads, observer)
    }

    /// HEADs the rows `indices`, in chunks.
    fn head(&mut self, indices: &[usize], observer: &mut dyn Progress) -> Result<()> {
        for chunk in indices.chunks(CHUNK) {
            check_interrupt(observer)?;
            let refs: Vec<ObjectRef> = chunk.iter().map(|&i| object_ref(self.m, i)).collect();
            let answers = self.backend.head_objects(&refs, self.options.concurrency);
            self.status.requests.head += chunk.len() as u64;
            for (&i, answer) in chunk.iter().zip(&answers) {
                let state = state_of_head(answer);
                let (class, expiry) = match answer {
                    Ok(h) => (
                        Some(h.storage_class),
                        h.restore.as_ref().and_then(|r| r.expiry),
                    ),
                    Err(_) => (None, None),
                };
                self.set(i, state, class, expiry);
            }
            self.progress(chunk.len(), observer);
        }
        Ok(())
    }

    /// Reads the rows `rows` (sorted by key, one bucket) from listings where they lie densely,
    /// by HEAD where they do not.
    fn list_bucket(
        &mut self,
        bucket: &str,
        rows: &[usize],
        observer: &mut dyn Progress,
    ) -> Result<()> {
        let key = |i: usize| self.m.row(rows[i]).key;
        let n = rows.len();
        if n == 0 {
            return Ok(());
        }
        let prefix = common_prefix(key(0), key(n - 1)).to_string();
        let mut pos = 0;
        // Where the next listing starts (exclusive); `None`: at the prefix's start.
        let mut after: Option<String> = None;
        let mut failures = 0u32;
        while pos < n {
            check_interrupt(observer)?;
            if after.is_none() && pos > 0 {
                after = Some(key(pos - 1).to_string());
            }
            let start_after = after.clone().or_else(|| just_before(key(pos)));
            let page = self.backend.list_objects(&ListObjects {
                bucket: bucket.to_string(),
                prefix: (!prefix.is_empty()).then(|| prefix.clone()),
                start_after,
                max_keys: Some(CHUNK as u32),
                restore_status: true,
                ..ListObjects::default()
            });
            self.status.requests.list += 1;
            let page = match page {
                Ok(page) => page,
                Err(e) if e.is_transient() && failures < 2 => {
                    // The client retried already; one more pause, then HEAD this stretch.
                    failures += 1;
                    self.backend.pace(Duration::from_secs(1))?;
                    continue;
                }
                Err(_) => {
                    // Access denied to listing, or a listing that keeps failing: HEAD the rest,
                    // whose failures are counted as unknown, never dropped.
                    let rest: Vec<usize> = rows[pos..].to_vec();
                    return self.head(&rest, observer);
                }
            };
            failures = 0;
            if page.items.is_empty() && page.next.is_some() {
                // An empty page that says there is more gives no key to go on from: read the
                // rest by HEAD rather than guess.
                let rest: Vec<usize> = rows[pos..].to_vec();
                return self.head(&rest, observer);
            }
            // The page covers keys up to its last key, or to the end when it is the last page.
            let upper = if page.next.is_some() {
                page.items.last().map(|o| o.key.clone())
            } else {
                None
            };
            let mut follow_up = Vec::new();
            let mut items = page.items.iter().peekable();
            let start = pos;
            while pos < n && upper.as_deref().is_none_or(|u| key(pos) <= u) {
                let k = key(pos);
                while items.peek().is_some_and(|o| o.key.as_str() < k) {
                    items.next();
                }
                match items.peek() {
                    Some(o) if o.key == k => match state_of_listing(o) {
                        Some(state) => {
                            let expiry = o.restore.as_ref().and_then(|r| r.expiry);
                            self.set(rows[pos], state, Some(o.storage_class), expiry);
                        }
                        None => follow_up.push(rows[pos]),
                    },
                    // Inside the listed range and not listed: it does not exist (now).
                    _ => self.set(rows[pos], State::Missing, None, None),
                }
                pos += 1;
            }
            let hits = pos - start;
            self.progress(hits - follow_up.len(), observer);
            self.head(&follow_up, observer)?;
            after = upper;
            if page.next.is_none() {
                break;
            }
            if self.options.via == Via::Auto && hits < LIST_WORTH && pos < n {
                // A sparse stretch: HEAD the next keys, then try a listing again after them.
                let end = (pos + HEAD_RUN).min(n);
                let stretch: Vec<usize> = rows[pos..end].to_vec();
                self.head(&stretch, observer)?;
                pos = end;
                after = None;
            }
        }
        Ok(())
    }
}

/// The longest common prefix of two keys, on a character boundary.
fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let mut end = 0;
    for ((i, ca), cb) in a.char_indices().zip(b.chars()) {
        if ca != cb {
            break;
        }
        end = i + ca.len_utf8();
    }
    &a[..end]
}

/// A `StartAfter` that lists from `key` on: the key without its last character (a shorter
/// string sorts first); `None` for a one-character key (list from the prefix's start).
fn just_before(key: &str) -> Option<String> {
    let mut s = key.to_string();
    s.pop();
    (!s.is_empty()).then_some(s)
}

/// Options of [`wait`].
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub read: ReadOptions,
    pub timeout: Duration,
    pub poll: Duration,
    /// Restore what is neither readable nor being restored (never requested, or expired)
    /// instead of failing with `RestoreNotRequested`.
    pub request_missing: Option<RestoreRequest>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            read: ReadOptions::default(),
            timeout: Duration::from_secs(72 * 3600),
            poll: Duration::from_secs(15 * 60),
            request_missing: None,
        }
    }
}

/// How many times an object is re-requested by `request_missing` before the wait gives up on
/// it (a restore that keeps not starting is a problem to report, not to loop on).
const MAX_REQUESTS: u8 = 3;

/// Waits until every archived object of `m` is readable at one moment, and returns that
/// status (`complete()` is true). Never drops an object: what cannot be read is read again at
/// the next poll. Restored copies that expire during the wait count as not requested again.
///
/// Errors: `RestoreNotRequested` (with the counts and up to 10 keys) when an archived object
/// has no restore running and no readable copy, unless `request_missing` is set; `Timeout`
/// past `timeout`; `Interrupted` on Ctrl-C. Each error's message carries the counts.
pub fn wait(
    backend: &dyn Backend,
    m: &Manifest,
    options: WaitOptions,
    observer: &mut dyn Observer,
) -> Result<Status> {
    let started = backend.now()?;
    let deadline = started + options.timeout;
    let mut status = Status::new(m.len(), started);
    // Rows in listing order (bucket, then key), so a stretch of pending rows is one listing.
    let mut order: Vec<usize> = (0..m.len()).collect();
    order.sort_by(|a, b| {
        let (ra, rb) = (m.row(*a), m.row(*b));
        (ra.bucket, ra.key).cmp(&(rb.bucket, rb.key))
    });
    read_states(backend, m, &order, options.read, &mut status, observer)?;
    let full_every = options.poll.max(FULL_READ_EVERY);
    let mut last_full = started;
    let mut requested = vec![
        0u8;
        if options.request_missing.is_some() {
            m.len()
        } else {
            0
        }
    ];
    loop {
        let now = backend.now()?;
        // Counting at `now` turns restored copies whose expiry has passed into not requested.
        status.at = now;
        status.recount();
        if status.counts.not_requested > 0 {
            match options.request_missing {
                Some(request) => {
                    let missing = status.indices(State::NotRequested);
                    if let Some(&i) = missing.iter().find(|&&i| requested[i] >= MAX_REQUESTS) {
                        let row = m.row(i);
                        return Err(Error::new(
                            "RestoreNotRequested",
                            format!(
                                "s3://{}/{} was requested {MAX_REQUESTS} times and still has no restore running or readable copy ({})",
                                row.bucket, row.key, status.counts.describe()
                            ),
                        )
                        .bucket(row.bucket)
                        .key(row.key));
                    }
                    for &i in &missing {
                        requested[i] += 1;
                    }
                    let outcome = request_restores(
                        backend,
                        m,
                        &missing,
                        request,
                        options.read.concurrency,
                        observer,
                    )?;
                    if let Some(f) = outcome.failed.first() {
                        return Err(Error::new(
                            "RestoreNotRequested",
                            format!(
                                "{} objects could not be requested; the first: s3://{}/{}: {}: {} ({})",
                                outcome.failed.len(),
                                f.bucket,
                                f.key,
                                f.error.code,
                                f.error.message,
                                status.counts.describe()
                            ),
                        )
                        .bucket(&f.bucket)
                        .key(&f.key));
                    }
                    // Read them again rather than assume what the requests did.
                    read_states(backend, m, &missing, options.read, &mut status, observer)?;
                    continue;
                }
                None => return Err(not_requested_error(m, &status)),
            }
        }
        if status.complete() {
            return Ok(status);
        }
        check_interrupt(observer)?;
        if now >= deadline {
            return Err(Error::new(
                "Timeout",
                format!(
                    "not every archived object is readable after {}: {}",
                    crate::timefmt::human_duration(options.timeout.as_secs_f64()),
                    status.counts.describe()
                ),
            ));
        }
        // The next read: a poll from now, or later when nothing can change before then (on a
        // virtual clock the simulator says when its next restore finishes or copy expires).
        let mut next = (now + options.poll).min(deadline);
        if let Some(sim) = backend.sim_controls()
            && let Some(event) = sim.next_event()?
            && event > next
        {
            next = event.min(deadline);
        }
        observer.waiting(&status, next);
        let pause = (next - now).unsigned_abs();
        backend.sleep(pause)?;
        let pending: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| matches!(status.states[i], State::InProgress | State::Unknown))
            .collect();
        if (next - last_full).unsigned_abs() >= full_every || pending.len() <= CHUNK {
            // A full read: every pending object, so the counts shown are current.
            read_states(backend, m, &pending, options.read, &mut status, observer)?;
            last_full = next;
        } else {
            // Between full reads, read pending objects in order only up to the first stretch
            // still in progress: nothing can be complete before that stretch is, so reading
            // further would only repeat what the next full read tells.
            for stretch in pending.chunks(CHUNK) {
                read_states(backend, m, stretch, options.read, &mut status, observer)?;
                if stretch
                    .iter()
                    .any(|&i| status.states[i] == State::InProgress)
                {
                    break;
                }
            }
        }
    }
}

/// While waiting, every pending object is read at least this often (and at every poll when
/// polls are further apart); between full reads a poll reads only up to the first stretch of
/// objects still in progress.
const FULL_READ_EVERY: Duration = Duration::from_secs(3600);

fn not_requested_error(m: &Manifest, status: &Status) -> Error {
    let samples: Vec<String> = status
        .indices(State::NotRequested)
        .iter()
        .take(10)
        .map(|&i| {
            let row = m.row(i);
            format!("s3://{}/{}", row.bucket, row.key)
        })
        .collect();
    Error::new(
        "RestoreNotRequested",
        format!(
            "{} archived objects have no restore running and no readable copy (never requested, or the copy expired), so waiting would never end: {}; e.g. {}",
            status.counts.not_requested,
            status.counts.describe(),
            samples.join(", ")
        ),
    )
    .hint("request them: restore::wait(m, #{ request_missing: #{ days: 7, tier: \"BULK\" } }), restore::direct(m, ..) or a new batch job")
}

/// A failed request of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub error: Error,
}

/// What [`direct`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectOutcome {
    /// 202: restores started.
    pub requested: u64,
    /// 200: a restored copy existed; its expiry was recomputed.
    pub already_restored: u64,
    /// 409: a restore was already running.
    pub in_progress: u64,
    pub failed: Vec<Failure>,
    /// Throttled answers seen (each retried).
    pub throttled: u64,
    pub requests_sent: u64,
    /// Time spent, on the backend's clock.
    pub seconds: f64,
}

impl DirectOutcome {
    pub fn rate(&self) -> f64 {
        self.requests_sent as f64 / self.seconds.max(0.001)
    }
}

/// RestoreObject's account limit, and where the adaptive rate starts (it doubles each tick up
/// to the first throttle: 100, 200, 400, 800, 1,000/s, the ceiling after 0.4 s).
const MAX_RATE: f64 = 1_000.0;
const START_RATE: f64 = 100.0;
const MIN_RATE: f64 = 10.0;
/// Attempts per object for transient failures before it is reported failed.
const MAX_ATTEMPTS: u32 = 8;

/// Options of [`direct`].
#[derive(Debug, Clone, Copy)]
pub struct DirectOptions {
    /// `None`: 1 day for GLACIER/DEEP_ARCHIVE (Intelligent-Tiering archive objects take none).
    pub days: Option<u32>,
    pub tier: Tier,
    pub concurrency: usize,
}

/// Client-side restores of the rows `indices` of `m` (all rows: `None`), paced by AIMD: the
/// rate grows by a step every clean tick and falls with the share of throttled answers, so it
/// settles just under the account's limit.
pub fn direct(
    backend: &dyn Backend,
    m: &Manifest,
    indices: Option<&[usize]>,
    options: DirectOptions,
    observer: &mut dyn Progress,
) -> Result<DirectOutcome> {
    let all: Vec<usize> = match indices {
        Some(i) => i.to_vec(),
        None => (0..m.len()).collect(),
    };
    // Intelligent-Tiering archive objects take no days; others need them. Use the listing's
    // classes when the manifest has them, else ask.
    let mut classes: Vec<Option<StorageClass>> = vec![None; m.len()];
    let unknown: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| match m.listed(i) {
            Some(l) => {
                classes[i] = Some(l.storage_class);
                false
            }
            None => true,
        })
        .collect();
    for chunk in unknown.chunks(CHUNK) {
        let refs: Vec<ObjectRef> = chunk.iter().map(|&i| object_ref(m, i)).collect();
        for (&i, h) in chunk
            .iter()
            .zip(backend.head_objects(&refs, options.concurrency))
        {
            classes[i] = h.ok().map(|h| h.storage_class);
        }
    }
    let request_for = |i: usize| RestoreRequest {
        days: if classes[i] == Some(StorageClass::IntelligentTiering) {
            None
        } else {
            Some(options.days.unwrap_or(1))
        },
        tier: options.tier,
    };
    let mut queue: VecDeque<usize> = all.into_iter().collect();
    let mut attempts = vec![0u32; m.len()];
    let mut out = DirectOutcome::default();
    let mut pacer = crate::ops::pace::Pacer::new(START_RATE, MIN_RATE, MAX_RATE);
    let started = backend.pace_now()?;
    while !queue.is_empty() {
        check_interrupt(observer)?;
        // Pacing runs on the backend's pacing clock: real time on AWS and through `serve` (whose
        // shared clock it must not move), virtual time on the in-process simulator.
        let tick_started = backend.pace_now()?;
        let batch = pacer.batch(queue.len());
        let indices: Vec<usize> = queue.drain(..batch).collect();
        let requests: Vec<(ObjectRef, RestoreRequest)> = indices
            .iter()
            .map(|&i| (object_ref(m, i), request_for(i)))
            .collect();
        let answers = backend.restore_objects(&requests, options.concurrency);
        out.requests_sent += indices.len() as u64;
        let mut throttled_in_tick = 0usize;
        for (&i, answer) in indices.iter().zip(answers) {
            match answer {
                Ok(RestoreOutcome::Accepted) => out.requested += 1,
                Ok(RestoreOutcome::AlreadyRestored) => out.already_restored += 1,
                Err(e) if e.code == "RestoreAlreadyInProgress" => out.in_progress += 1,
                Err(e) if e.is_transient() && attempts[i] + 1 < MAX_ATTEMPTS => {
                    attempts[i] += 1;
                    if e.is_throttle() {
                        out.throttled += 1;
                        throttled_in_tick += 1;
                    }
                    queue.push_back(i);
                }
                Err(e) => {
                    let row = m.row(i);
                    out.failed.push(Failure {
                        bucket: row.bucket.to_string(),
                        key: row.key.to_string(),
                        version_id: row.version_id.map(str::to_string),
                        error: e,
                    });
                }
            }
        }
        pacer.learn(indices.len(), throttled_in_tick);
        let settled =
            out.requested + out.already_restored + out.in_progress + out.failed.len() as u64;
        observer.set(settled);
        if !queue.is_empty() {
            // Pace to the rate: wait out the rest of the tick.
            pacer.wait(backend, tick_started)?;
        }
    }
    out.seconds = (backend.pace_now()? - started).as_seconds_f64().max(0.001);
    Ok(out)
}

/// Requests restores of `indices` for `request_missing`.
fn request_restores(
    backend: &dyn Backend,
    m: &Manifest,
    indices: &[usize],
    request: RestoreRequest,
    concurrency: usize,
    observer: &mut dyn Progress,
) -> Result<DirectOutcome> {
    direct(
        backend,
        m,
        Some(indices),
        DirectOptions {
            days: request.days,
            tier: request.tier,
            concurrency,
        },
        observer,
    )
}

/// What [`extend`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtendOutcome {
    /// Restored copies whose expiry was recomputed from now (RestoreObject answered 200).
    pub extended: u64,
    /// Objects with no restored copy to extend (not archived, in progress, never requested,
    /// expired, missing or unknown): nothing was sent for them.
    pub not_restored: u64,
    /// Copies that expired between the read and the request: RestoreObject started a new
    /// restore (202) instead.
    pub restarted: u64,
    pub failed: Vec<Failure>,
    /// The earliest expiry after extending, read back.
    pub earliest_expiry: Option<OffsetDateTime>,
}

/// Re-issues RestoreObject for every restored object of `m` so its copy lives `days` from now
/// (AWS's 200 path recomputes the expiry); then reads the new expiries back.
pub fn extend(
    backend: &dyn Backend,
    m: &Manifest,
    days: u32,
    read: ReadOptions,
    observer: &mut dyn Progress,
) -> Result<ExtendOutcome> {
    let before = status(backend, m, read, observer)?;
    let restored: Vec<usize> = (0..m.len())
        .filter(|&i| {
            before.states[i] == State::Restored
                && before.classes[i] != Some(StorageClass::IntelligentTiering)
        })
        .collect();
    let direct_outcome = direct(
        backend,
        m,
        Some(&restored),
        DirectOptions {
            days: Some(days),
            tier: Tier::DEFAULT,
            concurrency: read.concurrency,
        },
        observer,
    )?;
    let mut after = Status::new(m.len(), backend.now()?);
    read_states(backend, m, &restored, read, &mut after, observer)?;
    let earliest = restored
        .iter()
        .filter(|&&i| after.states[i] == State::Restored)
        .filter_map(|&i| after.expiries[i])
        .min();
    Ok(ExtendOutcome {
        extended: direct_outcome.already_restored,
        not_restored: (m.len() - restored.len()) as u64,
        restarted: direct_outcome.requested + direct_outcome.in_progress,
        failed: direct_outcome.failed,
        earliest_expiry: earliest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes_and_start_points() {
        assert_eq!(common_prefix("logs/2019/a", "logs/2020/b"), "logs/20");
        assert_eq!(common_prefix("a", "b"), "");
        assert_eq!(common_prefix("é1", "é2"), "é");
        assert_eq!(just_before("logs/a").as_deref(), Some("logs/"));
        assert_eq!(just_before("a"), None);
        assert!(just_before("logs/a").unwrap().as_str() < "logs/a");
    }

    #[test]
    fn counts_describe_every_non_zero_state() {
        let mut c = Counts::default();
        for s in [
            State::Restored,
            State::Restored,
            State::Unknown,
            State::NotRequested,
        ] {
            c.add(s);
        }
        assert_eq!(c.describe(), "2 restored, 1 not requested, 1 unknown");
        assert!(!c.complete());
        let mut done = Counts::default();
        done.add(State::Restored);
        done.add(State::NotArchived);
        done.add(State::Missing);
        assert!(done.complete());
    }
}
