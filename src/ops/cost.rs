//! What a restore of a manifest's objects will cost before it runs, and what deleting archived
//! objects early costs, from the one price table in `crate::pricing`. The estimate is a typed
//! value; the script binding turns it into a map, and `crate::output::estimate_text` draws the
//! breakdown table from it.

use std::collections::BTreeMap;

use crate::backend::{ArchiveAccessTier, Backend, StorageClass, Tier};
use crate::errors::{Error, Result};
use crate::ops::Progress;
use crate::ops::manifest::Manifest;
use crate::ops::restore::{State, state_of_head};
use crate::pricing::{PriceTable, Source, early_deletion_usd, round_usd};

const CHUNK: usize = 1_000;

/// What we know of each row: class, Intelligent-Tiering access tier, size, last modified.
/// Listing data is used where the manifest has it; otherwise (or for Intelligent-Tiering,
/// whose access tier listings do not show) each object is asked with HEAD.
pub struct ObjectFacts {
    pub class: StorageClass,
    pub access_tier: Option<ArchiveAccessTier>,
    pub size: u64,
    pub last_modified: time::OffsetDateTime,
}

/// Calls `f` with the facts of every row that exists; returns how many rows do not. `progress`
/// counts the rows looked at.
pub fn for_each_object(
    backend: &dyn Backend,
    m: &Manifest,
    progress: &mut dyn Progress,
    mut f: impl FnMut(&ObjectFacts),
) -> Result<u64> {
    for_rows(backend, m, None, progress, |_, facts| f(facts))
}

/// [`for_each_object`] over the rows `only` (all rows: `None`), with each row's index.
fn for_rows(
    backend: &dyn Backend,
    m: &Manifest,
    only: Option<&[bool]>,
    progress: &mut dyn Progress,
    mut f: impl FnMut(usize, &ObjectFacts),
) -> Result<u64> {
    let mut missing = 0;
    let indices: Vec<usize> = (0..m.len())
        .filter(|&i| only.is_none_or(|keep| keep.get(i).copied().unwrap_or(false)))
        .collect();
    for chunk in indices.chunks(CHUNK) {
        let mut ask = Vec::new();
        for &i in chunk {
            match m.listed(i) {
                Some(l) if l.storage_class != StorageClass::IntelligentTiering => f(
                    i,
                    &ObjectFacts {
                        class: l.storage_class,
                        access_tier: None,
                        size: l.size,
                        last_modified: l.last_modified,
                    },
                ),
                _ => ask.push(i),
            }
        }
        let refs: Vec<_> = ask.iter().map(|&i| m.object_ref(i)).collect();
        for (&i, head) in ask.iter().zip(backend.head_objects(&refs, 64)) {
            if state_of_head(&head) == State::Missing {
                missing += 1;
                continue;
            }
            let h = head?;
            f(
                i,
                &ObjectFacts {
                    class: h.storage_class,
                    access_tier: h.archive_status,
                    size: h.size,
                    last_modified: h.last_modified,
                },
            );
        }
        progress.set(chunk.last().map_or(0, |last| *last as u64 + 1));
    }
    Ok(missing)
}

/// The archive a restore reads from, or `None` for an object that is not archived.
fn source_of(facts: &ObjectFacts) -> Option<Source> {
    match (facts.class, facts.access_tier) {
        (StorageClass::Glacier, _) => Some(Source::Glacier),
        (StorageClass::DeepArchive, _) => Some(Source::DeepArchive),
        (StorageClass::IntelligentTiering, Some(ArchiveAccessTier::ArchiveAccess)) => {
            Some(Source::ArchiveAccess)
        }
        (StorageClass::IntelligentTiering, Some(ArchiveAccessTier::DeepArchiveAccess)) => {
            Some(Source::DeepArchiveAccess)
        }
        _ => None,
    }
}

/// How the restore would run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One Batch Operations job: its fees are added.
    Batch,
    /// Client-side RestoreObject calls (the only way to use Expedited).
    Direct,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Batch => "batch",
            Method::Direct => "direct",
        }
    }
}

/// What to price.
#[derive(Debug, Clone)]
pub struct EstimateRequest {
    pub tier: Tier,
    /// How long restored copies live, 1 or more.
    pub days: u32,
    /// `None`: a job, unless the tier is Expedited (which jobs refuse).
    pub method: Option<Method>,
    pub prices: PriceTable,
    /// The region the restore runs in, when the caller knows it (prices are one region's).
    pub region: Option<String>,
    /// Read where each object's restore stands first (listing pages) and price only the
    /// objects that need one: copies already readable and restores already running are
    /// counted in [`RestoreEstimate::already`], not priced.
    pub skip_restored: bool,
    /// Also price keeping the objects: a copy of each into this class, by a job (`true`) or
    /// directly.
    pub copy: Option<(StorageClass, bool)>,
}

/// Objects an estimate left out because they need no restore now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Already {
    /// Objects with a readable restored copy.
    pub restored: u64,
    /// Objects whose restore is running.
    pub in_progress: u64,
    /// Rows of the manifest the status read looked at.
    pub of: u64,
}

/// The requests that following the restore with `restore::wait` makes (its defaults: a poll
/// every 15 minutes, every pending object read at least once an hour): full status passes by
/// listing pages (1,000 keys a page), and at each poll between them at least the page of the
/// first objects still in progress; no HEAD per object. Objects spread thinly over many keys
/// take more pages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tracking {
    /// LIST pages one pass over the objects reads.
    pub pages_per_pass: u64,
    /// Full passes until the slowest class is readable: one at the start, then one an hour.
    pub passes: u64,
    /// LIST requests in all: the passes, and a page at each of the three polls an hour
    /// between them.
    pub list_requests: u64,
    pub usd: f64,
}

impl Tracking {
    /// Tracking `objects` objects for up to `hours` (the slowest restore window).
    pub fn new(objects: u64, hours: u64) -> Tracking {
        let pages_per_pass = objects.div_ceil(1000).max(1);
        let passes = hours + 1;
        let list_requests = pages_per_pass * passes + 3 * hours;
        Tracking {
            pages_per_pass,
            passes,
            list_requests,
            usd: round_usd(
                list_requests as f64 / 1000.0
                    * crate::pricing::put_usd_per_1000(StorageClass::Standard),
            ),
        }
    }
}

/// The cost of one archive class's share.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClassCost {
    pub objects: u64,
    pub bytes: u64,
    pub retrieval_usd: f64,
    pub request_usd: f64,
    pub restored_storage_usd: f64,
}

/// A restore's estimated cost. Amounts are in dollars, rounded as they are shown.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreEstimate {
    pub objects: u64,
    pub bytes: u64,
    pub retrieval_usd: f64,
    pub request_usd: f64,
    pub batch_usd: f64,
    pub restored_storage_usd: f64,
    pub total_usd: f64,
    pub archive_overhead_usd_per_month: f64,
    /// By archive class name (`GLACIER`, `INTELLIGENT_TIERING:ARCHIVE_ACCESS`, ...).
    pub by_class: BTreeMap<String, ClassCost>,
    pub not_archived: u64,
    pub unavailable: u64,
    pub missing: u64,
    pub tier: Tier,
    pub days: u32,
    pub method: Method,
    /// The price table used: "region (as of)".
    pub prices: String,
    pub notes: Vec<String>,
    /// Objects left out because they need no restore (with `skip_restored`).
    pub already: Option<Already>,
    /// Keeping the objects (with `copy`): its requests, fees and storage per month;
    /// `total_usd` then includes them (with the first month of storage).
    pub copy: Option<CopyCost>,
    /// What following the restore costs in requests.
    pub tracking: Option<Tracking>,
}

impl RestoreEstimate {
    /// The slowest restore window of the classes priced, from the start.
    pub fn slowest(&self) -> std::time::Duration {
        self.by_class
            .keys()
            .map(|class| {
                crate::backend::restore_window(
                    class.contains("DEEP_ARCHIVE"),
                    self.tier,
                    self.method == Method::Batch,
                )
                .1
            })
            .max()
            .unwrap_or_default()
    }
}

/// Prices restoring the objects of `m` as `request` says.
pub fn estimate(
    backend: &dyn Backend,
    m: &Manifest,
    request: &EstimateRequest,
    progress: &mut dyn Progress,
) -> Result<RestoreEstimate> {
    let tier = request.tier;
    let method = match request.method {
        None if tier == Tier::Expedited => Method::Direct,
        None => Method::Batch,
        Some(Method::Batch) if tier == Tier::Expedited => {
            return Err(Error::invalid_request(
                "Batch Operations jobs cannot use the EXPEDITED tier: use method \"direct\"",
            ));
        }
        Some(method) => method,
    };
    let prices = &request.prices;
    let (only, already) = if request.skip_restored {
        let status = crate::ops::restore::status(backend, m, Default::default(), progress)?;
        let keep: Vec<bool> = status
            .states
            .iter()
            .map(|s| !matches!(s, State::Restored | State::InProgress))
            .collect();
        let already = Already {
            restored: status.counts.restored,
            in_progress: status.counts.in_progress,
            of: status.counts.total,
        };
        (Some(keep), Some(already))
    } else {
        (None, None)
    };
    let mut objects = Vec::new();
    let mut classes = std::collections::BTreeSet::new();
    let (mut all_objects, mut all_bytes) = (0u64, 0u64);
    let missing = for_rows(backend, m, only.as_deref(), progress, |_, facts| {
        classes.insert(facts.class);
        all_objects += 1;
        all_bytes += facts.size;
        objects.push((source_of(facts), facts.size))
    })?;
    let e = crate::pricing::estimate(objects, tier, request.days, method == Method::Batch, prices);
    let mut notes = Vec::new();
    if let Some(region) = request.region.as_ref().filter(|r| **r != prices.region) {
        notes.push(format!(
            "prices are {}'s; {region} may differ",
            prices.region
        ));
    }
    if e.not_archived > 0 {
        notes.push(format!("{} objects are not archived: they need no restore (a job's task on them fails with InvalidObjectState)", e.not_archived));
    }
    if e.unavailable > 0 {
        notes.push(format!(
            "{} Deep Archive objects cannot be restored with EXPEDITED: not priced",
            e.unavailable
        ));
    }
    if missing > 0 {
        notes.push(format!("{missing} objects of the manifest do not exist"));
    }
    if let Some(a) = already.filter(|a| a.restored + a.in_progress > 0) {
        notes.insert(
            0,
            format!(
                "{} of {} already restored or in progress: not counted",
                crate::readiness::thousands(a.restored + a.in_progress),
                crate::readiness::thousands(a.of)
            ),
        );
    }
    let classes: Vec<StorageClass> = classes.into_iter().collect();
    if let Some(warning) = crate::backend::short_days_warning(request.days, tier, &classes) {
        notes.push(warning);
    }
    notes.push(format!(
        "while archived, each GLACIER/DEEP_ARCHIVE object also bills 32 KB at the archive rate and 8 KB at Standard: {} per month for these",
        crate::pricing::usd(e.archive_overhead_usd_per_month)
    ));
    let by_class = e
        .by_source
        .iter()
        .map(|(source, c)| {
            let cost = ClassCost {
                objects: c.objects,
                bytes: c.bytes,
                retrieval_usd: round_usd(c.retrieval_usd),
                request_usd: round_usd(c.request_usd),
                restored_storage_usd: round_usd(c.restored_storage_usd),
            };
            (source.name().to_string(), cost)
        })
        .collect();
    // Every object priced is copied, archived or not; objects already restored are copied too
    // (they are listed: their bytes are the listing's).
    let copy = request.copy.map(|(class, job)| {
        let (n, bytes) = match already {
            Some(_) => (
                m.len() as u64 - missing,
                total_bytes(m).unwrap_or(all_bytes),
            ),
            None => (all_objects, all_bytes),
        };
        copy_cost(n, bytes, class, job, prices)
    });
    let mut estimate = RestoreEstimate {
        objects: e.objects,
        bytes: e.bytes,
        retrieval_usd: round_usd(e.retrieval_usd),
        request_usd: round_usd(e.request_usd),
        batch_usd: round_usd(e.batch_usd),
        restored_storage_usd: round_usd(e.restored_storage_usd),
        total_usd: round_usd(e.total_usd()),
        archive_overhead_usd_per_month: round_usd(e.archive_overhead_usd_per_month),
        by_class,
        not_archived: e.not_archived,
        unavailable: e.unavailable,
        missing,
        tier,
        days: request.days,
        method,
        prices: format!("{} ({})", prices.region, prices.as_of),
        notes,
        already,
        copy,
        tracking: None,
    };
    if let Some(c) = &estimate.copy {
        estimate.total_usd = round_usd(estimate.total_usd + c.total_usd());
    }
    if estimate.objects > 0 {
        let hours = estimate.slowest().as_secs().div_ceil(3600);
        estimate.tracking = Some(Tracking::new(estimate.objects, hours));
    }
    Ok(estimate)
}

/// The bytes of every row, when the manifest has the listing's sizes for all of them.
fn total_bytes(m: &Manifest) -> Option<u64> {
    (0..m.len()).map(|i| m.listed(i).map(|l| l.size)).sum()
}

/// The early-deletion charge of deleting objects now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyDeletion {
    /// Dollars, rounded.
    pub usd: f64,
    /// Objects that would be charged.
    pub objects: u64,
}

/// What deleting the objects of `m` now would cost: the rest of each object's minimum storage
/// duration (GLACIER 90 days, DEEP_ARCHIVE 180, ...), pro rata.
pub fn early_deletion(
    backend: &dyn Backend,
    m: &Manifest,
    progress: &mut dyn Progress,
) -> Result<EarlyDeletion> {
    let now = backend.now()?;
    let (mut usd, mut objects) = (0.0, 0);
    for_each_object(backend, m, progress, |facts| {
        let age = (now - facts.last_modified).as_seconds_f64() / 86_400.0;
        let charge = early_deletion_usd(facts.class, facts.size, age);
        if charge > 0.0 {
            usd += charge;
            objects += 1;
        }
    })?;
    Ok(EarlyDeletion {
        usd: round_usd(usd),
        objects,
    })
}

/// What keeping restored objects costs: a copy of each into `class` (CopyObject requests at
/// the class's PUT rate, a Batch Operations job's fees when a job copies) and the copies'
/// storage per month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CopyCost {
    pub storage_class: StorageClass,
    pub request_usd: f64,
    pub batch_usd: f64,
    pub storage_usd_per_month: f64,
}

impl CopyCost {
    /// The requests, the job and the first month of storage.
    pub fn total_usd(&self) -> f64 {
        round_usd(self.request_usd + self.batch_usd + self.storage_usd_per_month)
    }
}

/// Prices copying `objects` objects of `bytes` in all into `class`, by a job or directly.
pub fn copy_cost(
    objects: u64,
    bytes: u64,
    class: StorageClass,
    job: bool,
    prices: &PriceTable,
) -> CopyCost {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    CopyCost {
        storage_class: class,
        request_usd: round_usd(objects as f64 / 1000.0 * crate::pricing::put_usd_per_1000(class)),
        batch_usd: if job && objects > 0 {
            round_usd(
                prices.batch_per_job + objects as f64 / 1e6 * prices.batch_per_million_objects,
            )
        } else {
            0.0
        },
        storage_usd_per_month: round_usd(
            bytes as f64 / GIB * crate::pricing::storage_usd_per_gb_month(class),
        ),
    }
}

#[cfg(test)]
mod copy_tests {
    use super::*;

    #[test]
    fn a_copy_is_priced_at_the_target_class() {
        let prices = PriceTable::default();
        // 1M objects of 1 GiB each into STANDARD_IA by a job: $10 of requests, $1.25 of job
        // fees, 1M GiB x $0.0125 a month.
        let c = copy_cost(1_000_000, 1 << 50, StorageClass::StandardIa, true, &prices);
        assert_eq!(c.request_usd, 10.0);
        assert_eq!(c.batch_usd, 1.25);
        assert_eq!(c.storage_usd_per_month, 13_107.2);
        let d = copy_cost(1_000, 0, StorageClass::Standard, false, &prices);
        assert_eq!((d.request_usd, d.batch_usd), (0.005, 0.0));
    }
}
