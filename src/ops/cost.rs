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
    let mut missing = 0;
    let indices: Vec<usize> = (0..m.len()).collect();
    for chunk in indices.chunks(CHUNK) {
        let mut ask = Vec::new();
        for &i in chunk {
            match m.listed(i) {
                Some(l) if l.storage_class != StorageClass::IntelligentTiering => f(&ObjectFacts {
                    class: l.storage_class,
                    access_tier: None,
                    size: l.size,
                    last_modified: l.last_modified,
                }),
                _ => ask.push(m.object_ref(i)),
            }
        }
        for head in backend.head_objects(&ask, 64) {
            if state_of_head(&head) == State::Missing {
                missing += 1;
                continue;
            }
            let h = head?;
            f(&ObjectFacts {
                class: h.storage_class,
                access_tier: h.archive_status,
                size: h.size,
                last_modified: h.last_modified,
            });
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
    let mut objects = Vec::new();
    let mut classes = std::collections::BTreeSet::new();
    let missing = for_each_object(backend, m, progress, |facts| {
        classes.insert(facts.class);
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
    let classes: Vec<StorageClass> = classes.into_iter().collect();
    if let Some(warning) = crate::backend::short_days_warning(request.days, tier, &classes) {
        notes.push(warning);
    }
    notes.push(format!(
        "while archived, each GLACIER/DEEP_ARCHIVE object also bills 32 KB at the archive rate and 8 KB at Standard: ${:.4} per month for these",
        round_usd(e.archive_overhead_usd_per_month)
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
    Ok(RestoreEstimate {
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
    })
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
