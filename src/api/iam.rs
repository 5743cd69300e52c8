//! `iam::` — the job role: its trust policy, its least-privilege permissions, its lifecycle.

use rhai::plugin::*;

use crate::api::Opts;
use crate::errors::Error;

fn bucket_list(function: &str, o: &mut Opts, key: &'static str) -> Result<Vec<String>, Error> {
    let Some(items) = o.take(key) else {
        return Ok(Vec::new());
    };
    let items = if items.is_array() {
        items.into_array().unwrap_or_default()
    } else {
        vec![items]
    };
    items
        .into_iter()
        .map(|b| {
            b.into_immutable_string()
                .map(|s| s.to_string())
                .map_err(|t| {
                    Error::invalid_argument(format!(
                        "{function}: `{key}` must hold bucket names, not {t}"
                    ))
                })
        })
        .collect()
}

/// The `manifest_generator` option of the policy functions: the same map a job spec takes.
fn generator_option(o: &mut Opts) -> Result<Option<crate::backend::ManifestGenerator>, Error> {
    match o.take("manifest_generator") {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => {
            let map = v.try_cast::<rhai::Map>().ok_or_else(|| {
                Error::invalid_argument(
                    "`manifest_generator` is the map the job spec takes: #{ source_bucket, prefix?, .., output? }",
                )
            })?;
            crate::api::batch::parse_generator(map).map(Some)
        }
    }
}

/// A job role's permission document: `statements` plus, as every Batch Operations job needs,
/// reading the manifest in `manifest_bucket` and writing the report into `report_bucket`.
/// With a manifest generator (`generator`), also listing its source bucket and, when it writes
/// the manifest it generated, putting objects under its output prefix (`PREFIX/job-*`).
fn job_policy(
    mut statements: Vec<serde_json::Value>,
    manifest_bucket: Option<&str>,
    report_bucket: Option<&str>,
    generator: Option<&crate::backend::ManifestGenerator>,
) -> serde_json::Value {
    let objects = |b: &str| format!("{}/*", crate::backend::bucket_arn(b));
    if let Some(g) = generator {
        statements.push(serde_json::json!({
            "Sid": "ListForManifestGenerator",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [crate::backend::bucket_arn(&g.source_bucket)]
        }));
        if let Some(o) = &g.output {
            let prefix = crate::formats::report::report_prefix(o.prefix.as_deref(), "*");
            statements.push(serde_json::json!({
                "Sid": "WriteGeneratedManifest",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetBucketLocation"],
                "Resource": [crate::backend::object_arn(&o.bucket, &prefix)]
            }));
        }
    }
    if let Some(bucket) = manifest_bucket {
        statements.push(serde_json::json!({
            "Sid": "ReadManifest",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation"],
            "Resource": [objects(bucket)]
        }));
    }
    if let Some(bucket) = report_bucket {
        statements.push(serde_json::json!({
            "Sid": "WriteCompletionReport",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetBucketLocation"],
            "Resource": [objects(bucket)]
        }));
    }
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The role Batch Operations assumes: its trust policy, least-privilege permissions, and policy
/// simulation to check them.
#[export_module]
pub mod iam_api {
    use rhai::{Array, Dynamic, Map, NativeCallContext};
    use serde_json::json;

    use super::bucket_list;
    use crate::api::{Opts, RhaiResult, dynamic_of, json_of, object, string_map, support};
    use crate::backend::bucket_arn;
    use crate::errors::Error;

    /// The trust policy that lets S3 Batch Operations (`batchoperations.s3.amazonaws.com`)
    /// assume a role.
    ///
    /// ```rhai
    /// let role = iam::create_role("restore-role", iam::batch_trust_policy());
    /// ```
    pub fn batch_trust_policy() -> Dynamic {
        dynamic_of(&json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "batchoperations.s3.amazonaws.com" },
                "Action": "sts:AssumeRole"
            }]
        }))
    }

    /// The least-privilege permissions of a restore job's role, as AWS documents them:
    /// `s3:RestoreObject` on every target bucket's objects, `s3:GetObject`/`s3:GetObjectVersion`
    /// on the manifest bucket, `s3:PutObject` on the report bucket. Options: `targets` (bucket
    /// names), `manifest_bucket`, `report_bucket` (optional), `manifest_generator` (the job's
    /// generator map: adds `s3:ListBucket` on its source bucket, which is then the default
    /// target, and `s3:PutObject` under its output prefix when it writes the manifest).
    ///
    /// ```rhai
    /// let doc = iam::restore_policy(#{ targets: ["my-archive"], manifest_bucket: "my-archive", report_bucket: "my-archive" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn restore_policy(ctx: NativeCallContext, options: Map) -> RhaiResult<Dynamic> {
        support::pure(&ctx, || {
            let mut o = Opts::new("iam::restore_policy", options);
            let mut targets = bucket_list("iam::restore_policy", &mut o, "targets")?;
            let manifest = o.string("manifest_bucket")?;
            let report = o.string("report_bucket")?;
            let generator = super::generator_option(&mut o)?;
            o.finish()?;
            if let Some(g) = &generator
                && targets.is_empty()
            {
                targets.push(g.source_bucket.clone());
            }
            if targets.is_empty() {
                return Err(Error::invalid_argument(
                    "iam::restore_policy: `targets` must name at least one bucket",
                )
                .into());
            }
            let objects = |b: &String| format!("{}/*", bucket_arn(b));
            let statements = vec![json!({
                "Sid": "RestoreArchivedObjects",
                "Effect": "Allow",
                "Action": ["s3:RestoreObject"],
                "Resource": targets.iter().map(objects).collect::<Vec<_>>()
            })];
            Ok(dynamic_of(&super::job_policy(
                statements,
                manifest.as_deref(),
                report.as_deref(),
                generator.as_ref(),
            )))
        })
    }

    /// The least-privilege permissions of a copy job's role (`S3PutObjectCopy`) or of
    /// `restore::copy`: `s3:GetObject`/`s3:GetObjectVersion` on the source buckets' objects,
    /// `s3:PutObject` on the target (under `target_prefix` when given), and, as for restores,
    /// reading the manifest and writing the report. Options: `sources` (bucket names),
    /// `target_bucket`, `target_prefix`, `manifest_bucket`, `report_bucket` (optional),
    /// `manifest_generator` (as for `iam::restore_policy`; its source bucket is then the
    /// default source).
    ///
    /// ```rhai
    /// let doc = iam::copy_policy(#{ sources: ["my-archive"], target_bucket: "kept", manifest_bucket: "my-archive", report_bucket: "my-archive" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn copy_policy(ctx: NativeCallContext, options: Map) -> RhaiResult<Dynamic> {
        support::pure(&ctx, || {
            let mut o = Opts::new("iam::copy_policy", options);
            let mut sources = bucket_list("iam::copy_policy", &mut o, "sources")?;
            let target = o.string("target_bucket")?;
            let prefix = o.string("target_prefix")?.unwrap_or_default();
            let manifest = o.string("manifest_bucket")?;
            let report = o.string("report_bucket")?;
            let generator = super::generator_option(&mut o)?;
            o.finish()?;
            if let Some(g) = &generator
                && sources.is_empty()
            {
                sources.push(g.source_bucket.clone());
            }
            let Some(target) = target.filter(|_| !sources.is_empty()) else {
                return Err(Error::invalid_argument(
                    "iam::copy_policy: `sources` must name at least one bucket and `target_bucket` the bucket copies go to",
                )
                .into());
            };
            let objects = |b: &String| format!("{}/*", bucket_arn(b));
            let statements = vec![
                json!({
                    "Sid": "ReadCopySources",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"],
                    "Resource": sources.iter().map(objects).collect::<Vec<_>>()
                }),
                json!({
                    "Sid": "WriteCopies",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:PutObjectTagging"],
                    "Resource": [format!("{}/{prefix}*", bucket_arn(&target))]
                }),
            ];
            Ok(dynamic_of(&super::job_policy(
                statements,
                manifest.as_deref(),
                report.as_deref(),
                generator.as_ref(),
            )))
        })
    }

    /// Creates a role with a trust policy (a map or JSON text). Options: `description`,
    /// `tags` (map). Returns `#{ name, arn, id }`.
    ///
    /// ```rhai
    /// let role = iam::create_role("restore-role", iam::batch_trust_policy(), #{ description: "restores" });
    /// print(role.arn);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn create_role(
        ctx: NativeCallContext,
        name: &str,
        trust_policy: Dynamic,
        options: Map,
    ) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("iam::create_role", options);
            let description = o.string("description")?;
            let tags = o
                .map("tags")?
                .map(|t| string_map("tags", t))
                .transpose()?
                .unwrap_or_default();
            o.finish()?;
            let trust = json_of("the trust policy", &trust_policy)?;
            let role = host
                .backend
                .create_role(name, &trust, description.as_deref(), &tags)?;
            Ok(object([
                ("name", role.name.into()),
                ("arn", role.arn.into()),
                ("id", role.id.into()),
            ]))
        })
    }

    /// Creates a role with a trust policy.
    ///
    /// ```rhai
    /// let role = iam::create_role("restore-role", iam::batch_trust_policy());
    /// ```
    #[rhai_fn(name = "create_role", return_raw)]
    pub fn create_role_default(
        ctx: NativeCallContext,
        name: &str,
        trust_policy: Dynamic,
    ) -> RhaiResult<Map> {
        create_role(ctx, name, trust_policy, Map::new())
    }

    /// Reads a role: `#{ name, arn, id, description, trust_policy, attached: [policy arn..],
    /// inline: [policy name..] }`.
    ///
    /// ```rhai
    /// let role = iam::get_role("restore-role");
    /// print(role.attached);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn get_role(ctx: NativeCallContext, name: &str) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let role = host.backend.get_role(name)?;
            let attached: Array = host
                .backend
                .list_attached_role_policies(name)?
                .into_iter()
                .map(Into::into)
                .collect();
            let inline: Array = host
                .backend
                .list_role_policies(name)?
                .into_iter()
                .map(Into::into)
                .collect();
            Ok(object([
                ("name", role.name.into()),
                ("arn", role.arn.into()),
                ("id", role.id.into()),
                ("description", crate::api::opt_str(role.description)),
                ("trust_policy", dynamic_of(&role.trust_policy)),
                ("attached", attached.into()),
                ("inline", inline.into()),
            ]))
        })
    }

    /// Creates a customer-managed policy from a document (a map or JSON text).
    /// Returns `#{ name, arn }`.
    ///
    /// ```rhai
    /// let p = iam::create_policy("restore-policy", iam::restore_policy(#{ targets: ["my-archive"] }));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn create_policy(ctx: NativeCallContext, name: &str, document: Dynamic) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let document = json_of("the policy document", &document)?;
            let policy = host.backend.create_policy(name, &document)?;
            Ok(object([
                ("name", policy.name.into()),
                ("arn", policy.arn.into()),
            ]))
        })
    }

    /// Attaches a managed policy to a role.
    ///
    /// ```rhai
    /// iam::attach_role_policy("restore-role", policy.arn);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn attach_role_policy(
        ctx: NativeCallContext,
        role: &str,
        policy_arn: &str,
    ) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            Ok(host.backend.attach_role_policy(role, policy_arn)?)
        })
    }

    /// Detaches a managed policy from a role.
    ///
    /// ```rhai
    /// iam::detach_role_policy("restore-role", policy.arn);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn detach_role_policy(
        ctx: NativeCallContext,
        role: &str,
        policy_arn: &str,
    ) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            Ok(host.backend.detach_role_policy(role, policy_arn)?)
        })
    }

    /// Adds or replaces an inline policy of a role.
    ///
    /// ```rhai
    /// iam::put_role_policy("restore-role", "restore", iam::restore_policy(#{ targets: ["my-archive"] }));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn put_role_policy(
        ctx: NativeCallContext,
        role: &str,
        name: &str,
        document: Dynamic,
    ) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            let document = json_of("the policy document", &document)?;
            Ok(host.backend.put_role_policy(role, name, &document)?)
        })
    }

    /// Deletes an inline policy of a role.
    ///
    /// ```rhai
    /// iam::delete_role_policy("restore-role", "restore");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn delete_role_policy(ctx: NativeCallContext, role: &str, name: &str) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            Ok(host.backend.delete_role_policy(role, name)?)
        })
    }

    /// Deletes a managed policy; `DeleteConflict` while it is attached.
    ///
    /// ```rhai
    /// iam::delete_policy(policy.arn);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn delete_policy(ctx: NativeCallContext, arn: &str) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            crate::api::confirm_destructive(host, &format!("Delete the policy {arn}"))?;
            Ok(host.backend.delete_policy(arn)?)
        })
    }

    /// Evaluates a role's permission policies (inline and attached) for one action on one
    /// resource, as IAM's SimulatePrincipalPolicy does: `"allowed"`, `"implicitDeny"` (no
    /// statement allows it) or `"explicitDeny"` (a Deny statement matches).
    ///
    /// ```rhai
    /// let d = iam::simulate(role.arn, "s3:RestoreObject", "arn:aws:s3:::my-archive/photo.jpg");
    /// if d != "allowed" { print(`the role cannot restore: ${d}`); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn simulate(
        ctx: NativeCallContext,
        role_arn: &str,
        action: &str,
        resource: &str,
    ) -> RhaiResult<String> {
        support::call(&ctx, |host| {
            let decision = host
                .backend
                .simulate_principal_policy(role_arn, action, resource)?;
            Ok(decision.as_str().to_string())
        })
    }

    /// Deletes a role; `DeleteConflict` while policies are attached or inline policies exist.
    ///
    /// ```rhai
    /// iam::delete_role("restore-role");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn delete_role(ctx: NativeCallContext, name: &str) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            crate::api::confirm_destructive(host, &format!("Delete the role {name}"))?;
            Ok(host.backend.delete_role(name)?)
        })
    }
}
