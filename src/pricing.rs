//! Amazon S3 list prices (us-east-1, 2023-2024), kept in one table with its date and region, and
//! the early-deletion rule that uses them. The `cost::` module builds its estimates on this.

use crate::backend::StorageClass;

/// Where and when the prices below were read.
pub const PRICES_REGION: &str = "us-east-1";
pub const PRICES_AS_OF: &str = "2023-2024 list prices";

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
/// Each GLACIER/DEEP_ARCHIVE object bills 32 KB of index at the archive rate.
pub const ARCHIVE_OVERHEAD_BYTES: u64 = 32 * 1024;
/// ... and 8 KB of metadata at the STANDARD rate.
pub const STANDARD_OVERHEAD_BYTES: u64 = 8 * 1024;

/// Storage price in USD per GB-month, by class.
pub fn storage_usd_per_gb_month(class: StorageClass) -> f64 {
    match class {
        StorageClass::Standard | StorageClass::ReducedRedundancy => 0.023,
        StorageClass::StandardIa => 0.0125,
        StorageClass::OnezoneIa => 0.01,
        StorageClass::IntelligentTiering => 0.023,
        StorageClass::Glacier => 0.0036,
        StorageClass::GlacierIr => 0.004,
        StorageClass::DeepArchive => 0.00099,
    }
}

/// PUT, COPY, POST and LIST requests in USD per 1,000, by the class written (a CopyObject is
/// billed at the target class's rate).
pub fn put_usd_per_1000(class: StorageClass) -> f64 {
    match class {
        StorageClass::Standard
        | StorageClass::ReducedRedundancy
        | StorageClass::IntelligentTiering => 0.005,
        StorageClass::StandardIa | StorageClass::OnezoneIa => 0.01,
        StorageClass::GlacierIr => 0.02,
        StorageClass::Glacier => 0.03,
        StorageClass::DeepArchive => 0.05,
    }
}

/// Minimum storage duration in days: deleting earlier bills the rest.
pub fn minimum_days(class: StorageClass) -> f64 {
    match class {
        StorageClass::Glacier | StorageClass::GlacierIr => 90.0,
        StorageClass::DeepArchive => 180.0,
        StorageClass::StandardIa | StorageClass::OnezoneIa => 30.0,
        _ => 0.0,
    }
}

/// The charge for deleting an object of `size` bytes in `class` that is `age_days` old: the
/// remaining days of its minimum duration, pro rata at the class's monthly rate (30-day months),
/// counting the 32 KB archive overhead of GLACIER/DEEP_ARCHIVE objects.
pub fn early_deletion_usd(class: StorageClass, size: u64, age_days: f64) -> f64 {
    let remaining = (minimum_days(class) - age_days.max(0.0)).max(0.0);
    if remaining == 0.0 {
        return 0.0;
    }
    let billed = if class.is_archive() {
        size + ARCHIVE_OVERHEAD_BYTES
    } else {
        size
    };
    billed as f64 / GIB * storage_usd_per_gb_month(class) * remaining / 30.0
}

/// Dollars as people read them: cents (`$0.25`), thousands separators (`$1,234.57`), and
/// `<$0.01` for an amount that is not zero but rounds to it.
pub fn usd(amount: f64) -> String {
    if amount > 0.0 && amount < 0.005 {
        return "<$0.01".to_string();
    }
    let cents = (amount * 100.0).round() as u64;
    format!(
        "${}.{:02}",
        crate::readiness::thousands(cents / 100),
        cents % 100
    )
}

/// Rounds to a millionth of a dollar: sums print sensibly and small charges stay visible.
pub fn round_usd(usd: f64) -> f64 {
    (usd * 1_000_000.0).round() / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_deletion_is_pro_rata() {
        // 1 GiB of GLACIER deleted after 60 of 90 days: 30 days left = one month at $0.0036,
        // plus the 32 KB overhead.
        let usd = early_deletion_usd(
            StorageClass::Glacier,
            GIB as u64 - ARCHIVE_OVERHEAD_BYTES,
            60.0,
        );
        assert!((usd - 0.0036).abs() < 1e-12, "{usd}");
        // Past the minimum, or a class without one: nothing.
        assert_eq!(
            early_deletion_usd(StorageClass::Glacier, 1 << 30, 91.0),
            0.0
        );
        assert_eq!(
            early_deletion_usd(StorageClass::Standard, 1 << 30, 0.0),
            0.0
        );
        // DEEP_ARCHIVE deleted at once: 180 days = 6 months at $0.00099.
        let deep = early_deletion_usd(
            StorageClass::DeepArchive,
            GIB as u64 - ARCHIVE_OVERHEAD_BYTES,
            0.0,
        );
        assert!((deep - 6.0 * 0.00099).abs() < 1e-12, "{deep}");
    }
}

/// The prices a restore estimate uses: us-east-1 list prices of 2023-2024 by default,
/// overridable field by field (`cost::prices()` shows them; `cost::estimate(m, #{ prices })`
/// takes changed ones).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriceTable {
    pub region: String,
    pub as_of: String,
    /// Retrieval per GB and per 1,000 requests, GLACIER (Flexible Retrieval).
    pub glacier_expedited_per_gb: f64,
    pub glacier_expedited_per_1000: f64,
    pub glacier_standard_per_gb: f64,
    pub glacier_standard_per_1000: f64,
    pub glacier_bulk_per_gb: f64,
    pub glacier_bulk_per_1000: f64,
    /// Retrieval per GB and per 1,000 requests, DEEP_ARCHIVE (no Expedited).
    pub deep_archive_standard_per_gb: f64,
    pub deep_archive_standard_per_1000: f64,
    pub deep_archive_bulk_per_gb: f64,
    pub deep_archive_bulk_per_1000: f64,
    /// Batch Operations: per job and per million objects processed.
    pub batch_per_job: f64,
    pub batch_per_million_objects: f64,
    /// The restored copy is billed as S3 Standard for the days it lives.
    pub restored_copy_per_gb_month: f64,
    /// Storage per GB-month for the archive overhead.
    pub glacier_storage_per_gb_month: f64,
    pub deep_archive_storage_per_gb_month: f64,
    pub standard_storage_per_gb_month: f64,
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable {
            region: PRICES_REGION.into(),
            as_of: PRICES_AS_OF.into(),
            glacier_expedited_per_gb: 0.03,
            glacier_expedited_per_1000: 10.0,
            glacier_standard_per_gb: 0.01,
            glacier_standard_per_1000: 0.05,
            glacier_bulk_per_gb: 0.0,
            glacier_bulk_per_1000: 0.0,
            deep_archive_standard_per_gb: 0.02,
            deep_archive_standard_per_1000: 0.10,
            deep_archive_bulk_per_gb: 0.0025,
            deep_archive_bulk_per_1000: 0.025,
            batch_per_job: 0.25,
            batch_per_million_objects: 1.0,
            restored_copy_per_gb_month: 0.023,
            glacier_storage_per_gb_month: storage_usd_per_gb_month(StorageClass::Glacier),
            deep_archive_storage_per_gb_month: storage_usd_per_gb_month(StorageClass::DeepArchive),
            standard_storage_per_gb_month: storage_usd_per_gb_month(StorageClass::Standard),
        }
    }
}

/// Where an archived object's bytes come back from, for pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Glacier,
    DeepArchive,
    /// Intelligent-Tiering Archive Access (priced as GLACIER for Expedited, free otherwise).
    ArchiveAccess,
    /// Intelligent-Tiering Deep Archive Access (no Expedited, free otherwise).
    DeepArchiveAccess,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Glacier => "GLACIER",
            Source::DeepArchive => "DEEP_ARCHIVE",
            Source::ArchiveAccess => "INTELLIGENT_TIERING:ARCHIVE_ACCESS",
            Source::DeepArchiveAccess => "INTELLIGENT_TIERING:DEEP_ARCHIVE_ACCESS",
        }
    }
}

impl PriceTable {
    /// Retrieval price per GB and per 1,000 requests; `None` where the tier does not exist.
    pub fn retrieval(&self, source: Source, tier: crate::backend::Tier) -> Option<(f64, f64)> {
        use crate::backend::Tier::*;
        match (source, tier) {
            (Source::Glacier | Source::ArchiveAccess, Expedited) => Some((
                self.glacier_expedited_per_gb,
                self.glacier_expedited_per_1000,
            )),
            (Source::Glacier, Standard) => {
                Some((self.glacier_standard_per_gb, self.glacier_standard_per_1000))
            }
            (Source::Glacier, Bulk) => Some((self.glacier_bulk_per_gb, self.glacier_bulk_per_1000)),
            (Source::DeepArchive | Source::DeepArchiveAccess, Expedited) => None,
            (Source::DeepArchive, Standard) => Some((
                self.deep_archive_standard_per_gb,
                self.deep_archive_standard_per_1000,
            )),
            (Source::DeepArchive, Bulk) => Some((
                self.deep_archive_bulk_per_gb,
                self.deep_archive_bulk_per_1000,
            )),
            // Intelligent-Tiering's Standard and Bulk restores are free.
            (Source::ArchiveAccess | Source::DeepArchiveAccess, Standard | Bulk) => {
                Some((0.0, 0.0))
            }
        }
    }
}

/// Per-source totals of an estimate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceCost {
    pub objects: u64,
    pub bytes: u64,
    pub retrieval_usd: f64,
    pub request_usd: f64,
    pub restored_storage_usd: f64,
}

/// A restore's cost, itemised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    pub objects: u64,
    pub bytes: u64,
    pub retrieval_usd: f64,
    pub request_usd: f64,
    pub batch_usd: f64,
    pub restored_storage_usd: f64,
    pub archive_overhead_usd_per_month: f64,
    pub by_source: std::collections::BTreeMap<Source, SourceCost>,
    pub not_archived: u64,
    pub unavailable: u64,
}

impl Estimate {
    pub fn total_usd(&self) -> f64 {
        self.retrieval_usd + self.request_usd + self.batch_usd + self.restored_storage_usd
    }
}

/// Prices restoring `objects` (archive source, size; `None` for objects not archived) with
/// `tier` for `days`, through one Batch Operations job when `batch`.
pub fn estimate(
    objects: impl IntoIterator<Item = (Option<Source>, u64)>,
    tier: crate::backend::Tier,
    days: u32,
    batch: bool,
    prices: &PriceTable,
) -> Estimate {
    let mut e = Estimate::default();
    let mut processed = 0u64;
    for (source, size) in objects {
        processed += 1;
        let Some(source) = source else {
            e.not_archived += 1;
            continue;
        };
        let Some((per_gb, per_1000)) = prices.retrieval(source, tier) else {
            e.unavailable += 1;
            continue;
        };
        let gb = size as f64 / GIB;
        let entry = e.by_source.entry(source).or_default();
        entry.objects += 1;
        entry.bytes += size;
        entry.retrieval_usd += gb * per_gb;
        entry.request_usd += per_1000 / 1000.0;
        // Intelligent-Tiering objects come back to their frequent tier, not as a temporary copy.
        if matches!(source, Source::Glacier | Source::DeepArchive) {
            entry.restored_storage_usd +=
                gb * prices.restored_copy_per_gb_month * days as f64 / 30.0;
            let archive_rate = if source == Source::Glacier {
                prices.glacier_storage_per_gb_month
            } else {
                prices.deep_archive_storage_per_gb_month
            };
            e.archive_overhead_usd_per_month += ARCHIVE_OVERHEAD_BYTES as f64 / GIB * archive_rate
                + STANDARD_OVERHEAD_BYTES as f64 / GIB * prices.standard_storage_per_gb_month;
        }
    }
    for c in e.by_source.values() {
        e.objects += c.objects;
        e.bytes += c.bytes;
        e.retrieval_usd += c.retrieval_usd;
        e.request_usd += c.request_usd;
        e.restored_storage_usd += c.restored_storage_usd;
    }
    if batch && processed > 0 {
        e.batch_usd =
            prices.batch_per_job + processed as f64 / 1e6 * prices.batch_per_million_objects;
    }
    e
}

#[cfg(test)]
mod estimate_tests {
    use super::*;
    use crate::backend::Tier;

    #[test]
    fn one_terabyte_of_deep_archive_in_a_million_objects() {
        // 1 TB = 1,024 GB in 1,000,000 objects of 1,099,511 bytes (+ the rounding rest).
        let per_object = (1u64 << 40) / 1_000_000;
        let objects = (0..1_000_000).map(|_| (Some(Source::DeepArchive), per_object));
        let e = estimate(objects, Tier::Bulk, 7, true, &PriceTable::default());
        let gb = (per_object * 1_000_000) as f64 / GIB; // 1023.9999...
        assert!((gb - 1024.0).abs() < 0.001);
        assert!(
            (e.retrieval_usd - gb * 0.0025).abs() < 1e-6,
            "{}",
            e.retrieval_usd
        ); // $2.56
        assert!((e.request_usd - 25.0).abs() < 1e-6, "{}", e.request_usd); // 1,000 x $0.025
        assert!((e.batch_usd - 1.25).abs() < 1e-9); // $0.25 + 1M x $1/M
        assert!((e.restored_storage_usd - gb * 0.023 * 7.0 / 30.0).abs() < 1e-6); // $5.4955
        assert!((e.total_usd() - (2.56 + 25.0 + 1.25 + 1024.0 * 0.023 * 7.0 / 30.0)).abs() < 0.001);
        // Standard costs more: $0.02/GB + $0.10 per 1,000.
        let standard = estimate(
            (0..1_000_000).map(|_| (Some(Source::DeepArchive), per_object)),
            Tier::Standard,
            7,
            true,
            &PriceTable::default(),
        );
        assert!((standard.retrieval_usd - gb * 0.02).abs() < 1e-6);
        assert!((standard.request_usd - 100.0).abs() < 1e-6);
    }

    #[test]
    fn tiers_that_do_not_exist_and_free_ones() {
        let prices = PriceTable::default();
        let e = estimate(
            [
                (Some(Source::DeepArchive), 10),
                (Some(Source::ArchiveAccess), 1 << 30),
                (None, 5),
            ],
            Tier::Expedited,
            1,
            false,
            &prices,
        );
        assert_eq!((e.unavailable, e.not_archived, e.objects), (1, 1, 1));
        assert!((e.retrieval_usd - 0.03).abs() < 1e-12 && (e.request_usd - 0.01).abs() < 1e-12);
        assert_eq!(e.batch_usd, 0.0);
        let free = estimate(
            [(Some(Source::DeepArchiveAccess), 1 << 30)],
            Tier::Bulk,
            1,
            true,
            &prices,
        );
        assert_eq!(
            free.retrieval_usd + free.request_usd + free.restored_storage_usd,
            0.0
        );
    }
}
