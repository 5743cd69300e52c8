//! `batch::preflight` — the binding of `crate::ops::preflight`: the spec map read as written
//! (an EXPEDITED tier included, so the check can report it), the findings returned as maps.

use rhai::Map;
use rhai::plugin::*;

use crate::api::object;
use crate::ops::preflight::Finding;

/// A finding as the map scripts see: `#{ level, code, message }`.
fn finding_map(f: &Finding) -> Map {
    object([
        ("level", f.level.as_str().into()),
        ("code", f.code.clone().into()),
        ("message", f.message.clone().into()),
    ])
}

#[export_module]
pub mod preflight_api {
    use rhai::{Array, Map, NativeCallContext};

    use super::finding_map;
    use crate::api::batch::parse_spec_as_written;
    use crate::api::{RhaiResult, support};
    use crate::ops::preflight::{self as ops, Finding};

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
        support::call(&ctx, |host| {
            let findings = match parse_spec_as_written(spec) {
                Ok(spec) => ops::preflight(host.backend.as_ref(), &spec)?,
                // What cannot be read is the one finding: nothing else can be checked.
                Err(e) => vec![Finding::error(&e.code, e.message)],
            };
            Ok(findings.iter().map(|f| finding_map(f).into()).collect())
        })
    }
}
