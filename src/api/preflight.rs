//! `batch::preflight` — everything that would make a restore job fail or surprise, found before
//! the job is created: the role's trust and permissions, the manifest, the report location, the
//! objects' classes and restore states, and the tier/days rules.

use std::collections::BTreeMap;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::api::batch::parse_spec;
use crate::api::{Host, object};
use crate::backend::*;
use crate::errors::Result;
use crate::formats::inventory::{InventoryDataReader, InventoryManifest};
use crate::formats::manifest::CsvManifestReader;
use crate::formats::report::report_prefix;
use crate::ops::restore::{State, state_of_head as state_of};
use crate::policy::{Decision, PolicyDocument};

/// Objects whose class, state and permission are checked one by one; beyond this, a warning
/// says the rest was not.
const CHECKED_OBJECTS: usize = 10_000;

struct Findings(Array);

impl Findings {
    fn push(&mut self, level: &str, code: &str, message: String) {
        self.0.push(Dynamic::from_map(object([
            ("level", level.into()),
            ("code", code.into()),
            ("message", message.into()),
        ])));
    }
    fn error(&mut self, code: &str, message: String) {
        self.push("error", code, message);
    }
    fn warning(&mut self, code: &str, message: String) {
        self.push("warning", code, message);
    }
}

fn allowed(host: &Host, role: &str, action: &str, resource: &str) -> Result<Option<Decision>> {
    match host
        .backend
        .simulate_principal_policy(role, action, resource)
    {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.code == "NoSuchEntity" => Ok(None),
        Err(e) => Err(e),
    }
}

/// The manifest's rows (at most `limit`), or why they cannot be read.
fn manifest_rows(
    host: &Host,
    location: &ManifestLocation,
    limit: usize,
) -> std::result::Result<(Vec<ObjectRef>, bool), String> {
    let body = host
        .backend
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
                let data = host
                    .backend
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

/// Runs every check on a job spec map.
pub fn preflight(host: &Host, mut spec: Map) -> Result<Array> {
    let mut f = Findings(Array::new());
    // Expedited is refused by CreateJob: report it and check the rest as if Standard.
    if let Some(op) = spec.get_mut("operation")
        && let Some(mut map) = op.clone().try_cast::<Map>()
        && map
            .get("tier")
            .is_some_and(|t| t.to_string().eq_ignore_ascii_case("EXPEDITED"))
    {
        f.error("ExpeditedInJob", "Batch Operations jobs support the STANDARD and BULK tiers only: CreateJob refuses EXPEDITED (use restore::direct for Expedited retrievals)".into());
        map.insert("tier".into(), "STANDARD".into());
        *op = Dynamic::from_map(map);
    }
    let spec = match parse_spec(spec) {
        Ok(spec) => spec,
        Err(e) => {
            f.error(&e.code, e.message);
            return Ok(f.0);
        }
    };
    let role_name = spec.role_arn.rsplit('/').next().unwrap_or_default();
    match host.backend.get_role(role_name) {
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
    // The manifest: readable by the role, and unchanged since its ETag was taken.
    let m = &spec.manifest;
    match host.backend.head_object(&m.bucket, &m.key, m.version_id.as_deref()) {
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
        if allowed(host, &spec.role_arn, action, &m.arn())? != Some(Decision::Allowed) {
            f.error(
                "ManifestPermission",
                format!("the role may not {action} the manifest {}", m.arn()),
            );
        }
    }
    if let Some(report) = &spec.report {
        let probe = ListObjects {
            bucket: report.bucket.clone(),
            max_keys: Some(1),
            ..ListObjects::default()
        };
        if let Err(e) = host.backend.list_objects(&probe) {
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
            host,
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
    let (rows, more) = match manifest_rows(host, m, CHECKED_OBJECTS) {
        Ok(rows) => rows,
        Err(why) => {
            f.error(
                "ManifestInvalid",
                format!("the manifest {} cannot be parsed: {why}", m.arn()),
            );
            return Ok(f.0);
        }
    };
    if rows.is_empty() {
        f.error("ManifestEmpty", "the manifest lists no objects".into());
        return Ok(f.0);
    }
    if more {
        f.warning(
            "NotAllChecked",
            format!("only the first {CHECKED_OBJECTS} objects were checked one by one"),
        );
    }
    let JobOperation::InitiateRestore { days, .. } = spec.operation;
    let mut denied: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
    let mut tally = |code: &'static str, key: &str| {
        let entry = denied.entry(code).or_insert((0, key.to_string()));
        entry.0 += 1;
    };
    for row in &rows {
        if allowed(
            host,
            &spec.role_arn,
            "s3:RestoreObject",
            &object_arn(&row.bucket, &row.key),
        )? != Some(Decision::Allowed)
        {
            tally("TargetPermission", &row.key);
        }
    }
    for (row, head) in rows.iter().zip(host.backend.head_objects(&rows, 64)) {
        match state_of(&head) {
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
    for (code, (count, key)) in denied {
        let (level, what) = match code {
            "TargetPermission" => (
                "error",
                "the role lacks s3:RestoreObject on them: their tasks would fail with AccessDenied",
            ),
            "DaysOnIntelligentTiering" => (
                "error",
                "they are Intelligent-Tiering archive objects, which take no days: their tasks would fail (omit days, or use a separate job)",
            ),
            "DaysRequired" => (
                "error",
                "they are GLACIER/DEEP_ARCHIVE objects, which need days: their tasks would fail",
            ),
            "MissingObjects" => (
                "warning",
                "they do not exist: their tasks would fail with NoSuchKey",
            ),
            "NotArchived" => (
                "warning",
                "they are not archived: their tasks would fail with InvalidObjectState",
            ),
            "AlreadyRestored" => (
                "warning",
                "they are already restored: their tasks only extend the expiry (200)",
            ),
            _ => (
                "warning",
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

#[export_module]
pub mod preflight_api {
    use rhai::{Array, Map, NativeCallContext};

    use crate::api::located;
    use crate::api::{RhaiResult, host};

    /// Checks a job spec (the map `batch::create_job` takes) before creating the job and
    /// returns findings `#{ level: "error" or "warning", code, message }`; empty means ready.
    /// Errors: the role missing or not trusting Batch Operations (`RoleTrust`), no permission
    /// on the manifest, the targets or the report prefix, an unreadable or changed manifest
    /// (`ManifestEtagStale`), `EXPEDITED` in a job, days on Intelligent-Tiering objects or none
    /// on GLACIER ones. Warnings: objects missing, not archived, already restored or being
    /// restored.
    ///
    /// ```rhai
    /// let findings = batch::preflight(spec);
    /// for f in findings { print(`${f.level}: ${f.code}: ${f.message}`); }
    /// if findings.filter(|f| f.level == "error").is_empty() { batch::create_job(spec); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn preflight(ctx: NativeCallContext, spec: Map) -> RhaiResult<Array> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Array> {
                let host = host(&ctx)?;
                Ok(super::preflight(&host, spec)?)
            })(),
        )
    }
}
