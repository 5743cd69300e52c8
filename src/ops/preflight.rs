//! Preflight of a restore job: everything that would make it fail or surprise, found before the
//! job is created: the role's trust and permissions, the manifest, the report location, the
//! objects' classes and restore states, and the tier/days rules. Typed findings in, typed
//! findings out; `batch::preflight` turns them into maps.

use std::collections::BTreeMap;

use crate::backend::*;
use crate::errors::Result;
use crate::formats::inventory::{InventoryDataReader, InventoryManifest};
use crate::formats::manifest::CsvManifestReader;
use crate::formats::report::report_prefix;
use crate::ops::restore::{State, state_of_head};
use crate::policy::{Decision, PolicyDocument};

/// Objects whose class, state and permission are checked one by one; beyond this, a warning
/// says the rest was not.
const CHECKED_OBJECTS: usize = 10_000;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The job would fail, or CreateJob would refuse it.
    Error,
    /// Some tasks would fail or do nothing.
    Warning,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// One thing that would make the job fail or surprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub code: String,
    pub message: String,
}

impl Finding {
    pub fn error(code: &str, message: String) -> Finding {
        Finding {
            level: Level::Error,
            code: code.to_string(),
            message,
        }
    }
}

struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, level: Level, code: &str, message: String) {
        self.0.push(Finding {
            level,
            code: code.to_string(),
            message,
        });
    }
    fn error(&mut self, code: &str, message: String) {
        self.push(Level::Error, code, message);
    }
    fn warning(&mut self, code: &str, message: String) {
        self.push(Level::Warning, code, message);
    }
}

fn allowed(
    backend: &dyn Backend,
    role: &str,
    action: &str,
    resource: &str,
) -> Result<Option<Decision>> {
    match backend.simulate_principal_policy(role, action, resource) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.code == "NoSuchEntity" => Ok(None),
        Err(e) => Err(e),
    }
}

/// The manifest's rows (at most `limit`), or why they cannot be read.
fn manifest_rows(
    backend: &dyn Backend,
    location: &ManifestLocation,
    limit: usize,
) -> std::result::Result<(Vec<ObjectRef>, bool), String> {
    let body = backend
        .get_object(
            &location.bucket,
            &location.key,
            location.version_id.as_deref(),
        )
        .map_err(|e| e.message)?;
    let mut rows = Vec::new();
    let mut more = false;
    let mut push = |bucket: String, key: String, version_id: Option<String>| {
        if rows.len() < limit {
            rows.push(ObjectRef {
                bucket,
                key,
                version_id,
            });
        } else {
            more = true;
        }
    };
    match location.format {
        ManifestFormat::BatchOperationsCsv => {
            for entry in CsvManifestReader::new(body.as_slice()) {
                let e = entry.map_err(|e| e.to_string())?;
                let version = e
                    .version_id
                    .filter(|_| location.fields.contains(&ManifestField::VersionId));
                push(e.bucket, e.key, version);
            }
        }
        ManifestFormat::InventoryCsv => {
            let inventory = InventoryManifest::parse(&body).map_err(|e| e.to_string())?;
            let columns = inventory.columns();
            for file in &inventory.files {
                let data = backend
                    .get_object(&location.bucket, &file.key, None)
                    .map_err(|e| e.message)?;
                for row in InventoryDataReader::new(data.as_slice(), &columns) {
                    let row = row.map_err(|e| e.to_string())?;
                    if row.is_delete_marker != Some(true) {
                        push(row.entry.bucket, row.entry.key, row.entry.version_id);
                    }
                }
            }
        }
    }
    Ok((rows, more))
}

/// A manifest location: readable by the role, and unchanged since its ETag was taken.
fn check_location(
    backend: &dyn Backend,
    spec: &JobSpec,
    m: &ManifestLocation,
    f: &mut Findings,
) -> Result<()> {
    match backend.head_object(&m.bucket, &m.key, m.version_id.as_deref()) {
        Err(e) => f.error("ManifestUnreadable", format!("the manifest {} cannot be read: {} ({})", m.arn(), e.message, e.code)),
        Ok(head) if head.etag.trim_matches('"') != m.etag.trim_matches('"') => f.error(
            "ManifestEtagStale",
            format!("the manifest {} changed: its ETag is {} but the job names {} (upload it again and use the new location)", m.arn(), head.etag, m.etag),
        ),
        Ok(_) => {}
    }
    let mut manifest_actions = vec!["s3:GetObject"];
    if m.version_id.is_some() {
        manifest_actions.push("s3:GetObjectVersion");
    }
    for action in manifest_actions {
        if allowed(backend, &spec.role_arn, action, &m.arn())? != Some(Decision::Allowed) {
            f.error(
                "ManifestPermission",
                format!("the role may not {action} the manifest {}", m.arn()),
            );
        }
    }
    Ok(())
}

/// A manifest generator: the source bucket exists and the role may list it; the output
/// location, when asked for, exists and the role may write there.
fn check_generator(
    backend: &dyn Backend,
    spec: &JobSpec,
    g: &ManifestGenerator,
    f: &mut Findings,
) -> Result<()> {
    if let Err(e) = g.clone().check() {
        f.error(&e.code, e.message);
    }
    let probe = |bucket: &str| {
        backend.list_objects(&ListObjects {
            bucket: bucket.to_string(),
            max_keys: Some(1),
            ..ListObjects::default()
        })
    };
    if let Err(e) = probe(&g.source_bucket) {
        f.error(
            "SourceBucketMissing",
            format!(
                "the manifest generator's source bucket {} cannot be listed: {} ({})",
                g.source_bucket, e.message, e.code
            ),
        );
    }
    let source = bucket_arn(&g.source_bucket);
    if allowed(backend, &spec.role_arn, "s3:ListBucket", &source)? != Some(Decision::Allowed) {
        f.error(
            "GeneratorPermission",
            format!("the role may not s3:ListBucket {source}: the job would fail while generating its manifest (iam::restore_policy and iam::copy_policy grant it given `manifest_generator`)"),
        );
    }
    if let Some(output) = &g.output {
        if let Err(e) = probe(&output.bucket) {
            f.error(
                "ManifestOutputBucketMissing",
                format!(
                    "the generated manifest's bucket {} cannot be used: {} ({})",
                    output.bucket, e.message, e.code
                ),
            );
        }
        let key = format!(
            "{}/manifest.json",
            report_prefix(output.prefix.as_deref(), "ID")
        );
        if allowed(
            backend,
            &spec.role_arn,
            "s3:PutObject",
            &object_arn(&output.bucket, &key),
        )? != Some(Decision::Allowed)
        {
            f.error("ManifestOutputPermission", format!(
                "the role may not s3:PutObject under {}: the job would fail when writing its generated manifest",
                object_arn(&output.bucket, &report_prefix(output.prefix.as_deref(), "*"))
            ));
        }
    }
    Ok(())
}

/// The objects a generator job would take now (at most `limit`, and whether there are more):
/// the current versions that pass its filter, listed as the job lists them. At most ten times
/// `limit` objects are listed, so a sparse filter over a huge bucket stays quick (the rest
/// counts as not checked).
fn generated_rows(
    backend: &dyn Backend,
    g: &ManifestGenerator,
    limit: usize,
) -> std::result::Result<(Vec<ObjectRef>, bool), String> {
    let mut rows = Vec::new();
    let mut request = ListObjects {
        bucket: g.source_bucket.clone(),
        prefix: g.filter.listing_prefix().map(str::to_string),
        ..ListObjects::default()
    };
    let mut scanned = 0usize;
    loop {
        if scanned >= limit.saturating_mul(10) {
            return Ok((rows, true));
        }
        let page = backend.list_objects(&request).map_err(|e| {
            format!(
                "listing bucket {} failed: {} ({})",
                g.source_bucket, e.message, e.code
            )
        })?;
        scanned += page.items.len();
        for o in page.items {
            if !g
                .filter
                .matches(&o.key, o.size, o.storage_class, o.last_modified)
            {
                continue;
            }
            if rows.len() == limit {
                return Ok((rows, true));
            }
            rows.push(ObjectRef {
                bucket: g.source_bucket.clone(),
                key: o.key,
                version_id: None,
            });
        }
        match page.next {
            Some(next) => request.continuation = Some(next),
            None => return Ok((rows, false)),
        }
    }
}

/// Runs every check on a job spec. The spec is taken as written: an operation CreateJob would
/// refuse (EXPEDITED) is reported, and the rest is checked as if it were STANDARD.
pub fn preflight(backend: &dyn Backend, spec: &JobSpec) -> Result<Vec<Finding>> {
    let mut f = Findings(Vec::new());
    let (days, tier, copy) = match &spec.operation {
        JobOperation::InitiateRestore { days, tier } => (*days, *tier, None),
        JobOperation::PutObjectCopy(c) => (None, Tier::DEFAULT, Some(c)),
    };
    if let Some(c) = copy {
        if let Err(e) = spec.operation.check() {
            f.error(&e.code, e.message);
            return Ok(f.0);
        }
        let probe = ListObjects {
            bucket: c.target_bucket.clone(),
            max_keys: Some(1),
            ..ListObjects::default()
        };
        if let Err(e) = backend.list_objects(&probe) {
            f.error(
                "TargetBucketMissing",
                format!(
                    "the copy target bucket {} cannot be used: {} ({})",
                    c.target_bucket, e.message, e.code
                ),
            );
        }
    }
    let days_given = days.map(i64::from);
    if tier == Tier::Expedited
        && let Err(e) = JobOperation::restore(days_given, tier)
    {
        let message = match &e.hint {
            Some(hint) => format!("{}: {hint}", e.message),
            None => e.message,
        };
        f.error("ExpeditedInJob", message);
    }
    // The rest as if the tier were one a job accepts.
    let tier = if tier == Tier::Expedited {
        Tier::DEFAULT
    } else {
        tier
    };
    if copy.is_none()
        && let Err(e) = JobOperation::restore(days_given, tier)
    {
        f.error(&e.code, e.message);
        return Ok(f.0);
    }
    let role_name = spec.role_arn.rsplit('/').next().unwrap_or_default();
    match backend.get_role(role_name) {
        Err(e) if e.code == "NoSuchEntity" => {
            f.error(
                "RoleNotFound",
                format!("the role {} does not exist", spec.role_arn),
            );
            return Ok(f.0);
        }
        Err(e) => return Err(e),
        Ok(role) => {
            let trusted =
                PolicyDocument::parse_trust(&role.trust_policy.to_string()).is_ok_and(|t| {
                    crate::policy::trust_allows_service(
                        &t,
                        "batchoperations.s3.amazonaws.com",
                        "sts:AssumeRole",
                    )
                });
            if !trusted {
                f.error("RoleTrust", format!(
                    "the role {} does not trust batchoperations.s3.amazonaws.com with sts:AssumeRole: the job would fail (use iam::batch_trust_policy())",
                    spec.role_arn
                ));
            }
        }
    }
    match &spec.manifest {
        JobManifest::Location(m) => check_location(backend, spec, m, &mut f)?,
        JobManifest::Generator(g) => check_generator(backend, spec, g, &mut f)?,
    }
    if let Some(report) = &spec.report {
        let probe = ListObjects {
            bucket: report.bucket.clone(),
            max_keys: Some(1),
            ..ListObjects::default()
        };
        if let Err(e) = backend.list_objects(&probe) {
            f.error(
                "ReportBucketMissing",
                format!(
                    "the report bucket {} cannot be used: {} ({})",
                    report.bucket, e.message, e.code
                ),
            );
        }
        let key = format!(
            "{}/manifest.json",
            report_prefix(report.prefix.as_deref(), "ID")
        );
        if allowed(
            backend,
            &spec.role_arn,
            "s3:PutObject",
            &object_arn(&report.bucket, &key),
        )? != Some(Decision::Allowed)
        {
            f.error("ReportPermission", format!(
                "the role may not s3:PutObject under {}: the job would fail when writing its completion report",
                object_arn(&report.bucket, &report_prefix(report.prefix.as_deref(), "*"))
            ));
        }
    }
    // The objects: permission, class and state, rule by rule.
    let listed = match &spec.manifest {
        JobManifest::Location(m) => manifest_rows(backend, m, CHECKED_OBJECTS)
            .map_err(|why| format!("the manifest {} cannot be parsed: {why}", m.arn())),
        JobManifest::Generator(g) => generated_rows(backend, g, CHECKED_OBJECTS),
    };
    let (rows, more) = match listed {
        Ok(rows) => rows,
        Err(why) => {
            f.error("ManifestInvalid", why);
            return Ok(f.0);
        }
    };
    if rows.is_empty() {
        let message = match &spec.manifest {
            JobManifest::Location(_) => "the manifest lists no objects".to_string(),
            JobManifest::Generator(g) => format!(
                "no object of bucket {} matches the manifest generator's filter: the job would fail",
                g.source_bucket
            ),
        };
        f.error("ManifestEmpty", message);
        return Ok(f.0);
    }
    if more {
        f.warning(
            "NotAllChecked",
            format!("only the first {CHECKED_OBJECTS} objects were checked one by one"),
        );
    }
    let mut denied: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
    let mut tally = |code: &'static str, key: &str| {
        let entry = denied.entry(code).or_insert((0, key.to_string()));
        entry.0 += 1;
    };
    for row in &rows {
        let source = object_arn(&row.bucket, &row.key);
        let Some(c) = copy else {
            if allowed(backend, &spec.role_arn, "s3:RestoreObject", &source)?
                != Some(Decision::Allowed)
            {
                tally("TargetPermission", &row.key);
            }
            continue;
        };
        let mut reads = vec!["s3:GetObject"];
        if row.version_id.is_some() {
            reads.push("s3:GetObjectVersion");
        }
        for action in reads {
            if allowed(backend, &spec.role_arn, action, &source)? != Some(Decision::Allowed) {
                tally("SourcePermission", &row.key);
                break;
            }
        }
        let target = object_arn(&c.target_bucket, &c.target_key(&row.key));
        if allowed(backend, &spec.role_arn, "s3:PutObject", &target)? != Some(Decision::Allowed) {
            tally("CopyTargetPermission", &row.key);
        }
    }
    let mut classes = std::collections::BTreeSet::new();
    // AWS's rule for restore jobs: GLACIER/DEEP_ARCHIVE or Intelligent-Tiering archive tiers,
    // never both in one job (a key of each, for the message).
    let (mut glacier, mut tiered) = ((0usize, None), (0usize, None));
    for (row, head) in rows.iter().zip(backend.head_objects(&rows, 64)) {
        if let Ok(h) = &head {
            classes.insert(h.storage_class);
            let kind = if h.storage_class.is_archive() {
                Some(&mut glacier)
            } else if h.storage_class == StorageClass::IntelligentTiering
                && h.archive_status.is_some()
            {
                Some(&mut tiered)
            } else {
                None
            };
            if let Some((count, first)) = kind {
                *count += 1;
                first.get_or_insert_with(|| row.key.clone());
            }
        }
        if let Some(c) = copy {
            match state_of_head(&head) {
                State::Missing => tally("MissingObjects", &row.key),
                State::NotRequested | State::InProgress => tally("NotReadable", &row.key),
                State::NotArchived | State::Restored | State::Unknown => {}
            }
            if let Ok(h) = &head {
                if h.size > MAX_COPY_SIZE {
                    tally("TooLargeForCopyJob", &row.key);
                }
                if c.is_in_place(&row.bucket, &row.key) && !c.changes(h.storage_class) {
                    tally("CopyChangesNothing", &row.key);
                }
            }
            continue;
        }
        match state_of_head(&head) {
            State::Missing => tally("MissingObjects", &row.key),
            State::NotArchived => tally("NotArchived", &row.key),
            State::Restored => tally("AlreadyRestored", &row.key),
            State::InProgress => tally("RestoreInProgress", &row.key),
            State::NotRequested | State::Unknown => {}
        }
        if let Ok(h) = &head {
            let intelligent =
                h.storage_class == StorageClass::IntelligentTiering && h.archive_status.is_some();
            if intelligent && days.is_some() {
                tally("DaysOnIntelligentTiering", &row.key);
            }
            if h.storage_class.is_archive() && days.is_none() {
                tally("DaysRequired", &row.key);
            }
        }
    }
    if copy.is_none()
        && let ((g, Some(g_key)), (t, Some(t_key))) = (&glacier, &tiered)
    {
        f.error(
            "MixedArchiveTiers",
            format!(
                "{g} GLACIER/DEEP_ARCHIVE objects (e.g. {g_key}) and {t} Intelligent-Tiering archive objects (e.g. {t_key}) in one restore job: S3 Batch Operations restores either kind, not both in the same job; create one job per kind (a manifest generator's storage_classes filter splits them)"
            ),
        );
    }
    if let Some(days) = days {
        let classes: Vec<StorageClass> = classes.into_iter().collect();
        if let Some(warning) = crate::backend::short_days_warning(days, tier, &classes) {
            f.warning("DaysShorterThanRestore", warning);
        }
    }
    for (code, (count, key)) in denied {
        let (level, what) = match code {
            "TargetPermission" => (
                Level::Error,
                "the role lacks s3:RestoreObject on them: their tasks would fail with AccessDenied",
            ),
            "DaysOnIntelligentTiering" => (
                Level::Error,
                "they are Intelligent-Tiering archive objects, which take no days: their tasks would fail (omit days, or use a separate job)",
            ),
            "SourcePermission" => (
                Level::Error,
                "the role lacks s3:GetObject (and s3:GetObjectVersion for versions) on them: their copy tasks would fail with AccessDenied (use iam::copy_policy)",
            ),
            "CopyTargetPermission" => (
                Level::Error,
                "the role lacks s3:PutObject on their copy target: their copy tasks would fail with AccessDenied (use iam::copy_policy)",
            ),
            "TooLargeForCopyJob" => (
                Level::Error,
                "they are larger than 5 GB: their copy tasks would fail with InvalidRequest (copy them with restore::copy via \"direct\", which uses multipart UploadPartCopy)",
            ),
            "CopyChangesNothing" => (
                Level::Error,
                "they would be copied onto themselves without a change of storage class or metadata: their tasks would fail with InvalidRequest",
            ),
            "NotReadable" => (
                Level::Warning,
                "they are archived and not restored (yet): their copy tasks would fail with InvalidObjectState",
            ),
            "DaysRequired" => (
                Level::Error,
                "they are GLACIER/DEEP_ARCHIVE objects, which need days: their tasks would fail",
            ),
            "MissingObjects" => (
                Level::Warning,
                "they do not exist: their tasks would fail with NoSuchKey",
            ),
            "NotArchived" => (
                Level::Warning,
                "they are not archived: their tasks would fail with InvalidObjectState",
            ),
            "AlreadyRestored" => (
                Level::Warning,
                "they are already restored: their tasks only extend the expiry (200)",
            ),
            _ => (
                Level::Warning,
                "a restore is running: their tasks fail with RestoreAlreadyInProgress unless this job's tier is faster with the same days",
            ),
        };
        f.push(
            level,
            code,
            format!(
                "{count} object{} (e.g. {key}): {what}",
                if count == 1 { "" } else { "s" }
            ),
        );
    }
    Ok(f.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::Simulator;

    fn spec(tier: Tier, days: Option<u32>) -> JobSpec {
        JobSpec {
            manifest: JobManifest::Location(ManifestLocation {
                bucket: "b".into(),
                key: "manifest.csv".into(),
                version_id: None,
                etag: "\"0\"".into(),
                format: ManifestFormat::BatchOperationsCsv,
                fields: vec![ManifestField::Bucket, ManifestField::Key],
            }),
            operation: JobOperation::InitiateRestore { days, tier },
            role_arn: "arn:aws:iam::111122223333:role/nobody".into(),
            priority: 10,
            report: None,
            description: None,
            confirmation_required: true,
            tags: Default::default(),
            client_request_token: "t".into(),
        }
    }

    fn codes(spec: &JobSpec) -> Vec<String> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sim = Simulator::open(dir.path()).expect("a simulator");
        preflight(&sim, spec)
            .expect("findings")
            .into_iter()
            .map(|f| format!("{}:{}", f.level.as_str(), f.code))
            .collect()
    }

    #[test]
    fn expedited_is_found_in_the_spec_and_the_rest_still_checked() {
        assert_eq!(
            codes(&spec(Tier::Expedited, Some(1))),
            ["error:ExpeditedInJob", "error:RoleNotFound"]
        );
        assert_eq!(codes(&spec(Tier::Bulk, Some(1))), ["error:RoleNotFound"]);
        assert_eq!(codes(&spec(Tier::Bulk, Some(0))), ["error:InvalidRequest"]);
    }
}
