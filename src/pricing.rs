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
