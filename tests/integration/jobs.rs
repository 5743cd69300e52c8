//! Batch Operations restore jobs on the simulator: permissions, manifests, tiers and classes,
//! and jobs that live across processes.

use crate::common::*;

/// Creates a job from the tutorial's setup with `role_arn` and runs it to its end.
fn job_with_role(world: &World, role_setup: &str) -> rhai::Map {
    world.map(&format!(
        r#"{SETUP}
        {role_setup}
        let job = batch::create_job(#{{
            manifest: location, operation: batch::restore_operation(#{{ days: 1 }}),
            role_arn: role_arn, priority: 5, confirmation_required: false,
            report: #{{ bucket: cfg.bucket, prefix: "reports", scope: "AllTasks" }},
        }});
        job = batch::wait(job.id);
        let rows = if job.status == "Complete" {{ report::load(job).rows() }} else {{ [] }};
        #{{ job: job, rows: rows }}"#
    ))
}

#[test]
fn role_without_restore_permission_fails_every_task_access_denied() {
    let world = World::new();
    let result = job_with_role(
        &world,
        r#"let weak = iam::create_role("weak-role", iam::batch_trust_policy());
        // Reads the manifest and writes the report, but may not restore.
        iam::put_role_policy("weak-role", "no-restore", #{
            Version: "2012-10-17",
            Statement: [
                #{ Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: `arn:aws:s3:::${cfg.bucket}/manifests/*` },
                #{ Effect: "Allow", Action: "s3:PutObject", Resource: `arn:aws:s3:::${cfg.bucket}/reports/*` },
            ]
        });
        let role_arn = weak.arn;"#,
    );
    let job = m(&result, "job");
    assert_eq!(s(&job, "status"), "Complete");
    let progress = m(&job, "progress");
    assert_eq!((i(&progress, "succeeded"), i(&progress, "failed")), (0, 3));
    let rows = result["rows"].clone().into_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let row = row.try_cast::<rhai::Map>().unwrap();
        assert_eq!(s(&row, "status"), "failed");
        assert_eq!(s(&row, "error_code"), "AccessDenied");
        assert_eq!(i(&row, "http_status"), 403);
    }
}

#[test]
fn explicit_deny_beats_the_allow() {
    let world = World::new();
    let result = job_with_role(
        &world,
        r#"iam::put_role_policy(cfg.role, "deny-restore", #{
            Version: "2012-10-17",
            Statement: [#{ Effect: "Deny", Action: "s3:Restore*", Resource: "*" }]
        });
        let role_arn = role.arn;"#,
    );
    let progress = m(&m(&result, "job"), "progress");
    assert_eq!(i(&progress, "failed"), 3);
}

#[test]
fn role_that_does_not_trust_batch_operations_fails_the_job() {
    let world = World::new();
    let result = job_with_role(
        &world,
        r#"let lambda = iam::create_role("lambda-role", #{
            Version: "2012-10-17",
            Statement: [#{ Effect: "Allow", Principal: #{ Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }]
        });
        iam::attach_role_policy("lambda-role", role.policy_arn);
        let role_arn = lambda.arn;"#,
    );
    let job = m(&result, "job");
    assert_eq!(s(&job, "status"), "Failed");
    let reasons = job["failure_reasons"].clone().into_array().unwrap();
    let reason = reasons[0].clone().try_cast::<rhai::Map>().unwrap();
    assert!(
        s(&reason, "reason").contains("batchoperations.s3.amazonaws.com"),
        "{reason:?}"
    );
    assert_eq!(i(&m(&job, "progress"), "total"), 0);
}

#[test]
fn manifest_changed_after_upload_fails_at_preparation() {
    let world = World::new();
    let job = world.map(&format!(
        r#"{SETUP}
        // Someone rewrites the manifest after its location (and ETag) was taken.
        s3::put_object(cfg.bucket, cfg.manifest_key, cfg.bucket + ",tutorial/testfile-1.txt\n");
        let job = batch::create_job(#{{
            manifest: location, operation: batch::restore_operation(#{{ days: 1 }}),
            role_arn: role.arn, report: false,
        }});
        batch::wait(job.id)"#
    ));
    assert_eq!(s(&job, "status"), "Failed");
    let reason = job["failure_reasons"].clone().into_array().unwrap()[0].to_string();
    assert!(reason.contains("ETag"), "{reason}");
    assert!(job["termination_date"].is_string());
}

#[test]
fn malformed_manifest_row_fails_the_job_before_any_task() {
    let world = World::new();
    let job = world.map(&format!(
        r#"{SETUP}
        let bad = s3::put_object(cfg.bucket, "manifests/bad.csv", cfg.bucket + ",ok.txt\n" + cfg.bucket + ",broken%G1key\n");
        let job = batch::create_job(#{{
            manifest: #{{ bucket: cfg.bucket, key: "manifests/bad.csv", etag: bad.etag }},
            operation: batch::restore_operation(#{{ days: 1 }}), role_arn: role.arn,
        }});
        batch::wait(job.id)"#
    ));
    assert_eq!(s(&job, "status"), "Failed");
    let reason = job["failure_reasons"].clone().into_array().unwrap()[0].to_string();
    assert!(
        reason.contains("InvalidManifestContent") && reason.contains("line 2"),
        "{reason}"
    );
}

#[test]
fn expedited_is_refused_for_jobs() {
    let world = World::new();
    let e = world.error(r#"batch::restore_operation(#{ tier: "EXPEDITED", days: 1 })"#);
    assert_eq!(e.code, "InvalidRequest");
    // A hand-written operation map is refused at CreateJob, before anything is created.
    let e = world.error(&format!(
        r#"{SETUP}
        batch::create_job(#{{ manifest: location, role_arn: role.arn,
            operation: #{{ operation: "S3InitiateRestoreObject", tier: "EXPEDITED", days: 1 }} }})"#
    ));
    assert_eq!(e.code, "InvalidRequest");
    assert_eq!(
        world.eval("batch::list().len()").unwrap().as_int().unwrap(),
        0
    );
}

#[test]
fn standard_class_object_in_manifest_gives_a_failed_invalid_object_state_row() {
    let world = World::new();
    let result = world.map(&format!(
        r#"{SETUP}
        s3::put_object(cfg.bucket, "plain/readme.txt", "not archived");
        let m = manifest::from_keys(cfg.bucket, ["tutorial/testfile-1.txt", "plain/readme.txt"]);
        let loc = manifest::upload(m, cfg.bucket, "manifests/mixed.csv");
        let job = batch::create_job(#{{
            manifest: loc, operation: batch::restore_operation(#{{ days: 1 }}), role_arn: role.arn,
            report: #{{ bucket: cfg.bucket, prefix: "reports", scope: "FailedTasksOnly" }},
            confirmation_required: false,
        }});
        job = batch::wait(job.id);
        let r = report::load(job);
        #{{ job: job, rows: r.rows(), by_error: r.by_error() }}"#
    ));
    let progress = m(&m(&result, "job"), "progress");
    assert_eq!((i(&progress, "succeeded"), i(&progress, "failed")), (1, 1));
    // FailedTasksOnly: the report lists only the failure.
    let rows = result["rows"].clone().into_array().unwrap();
    assert_eq!(rows.len(), 1);
    let row = rows[0].clone().try_cast::<rhai::Map>().unwrap();
    assert_eq!(s(&row, "key"), "plain/readme.txt");
    assert_eq!(s(&row, "error_code"), "InvalidObjectState");
    assert_eq!(i(&row, "http_status"), 403);
    assert_eq!(i(&m(&result, "by_error"), "InvalidObjectState"), 1);
}

#[test]
fn report_is_written_in_aws_layout() {
    let world = World::new();
    let result = world.map(&format!(
        r#"{SETUP}
        let job = t::run_job(t::create_job(cfg, location, role));
        let keys = [];
        for o in s3::list_objects(cfg.bucket, #{{ prefix: "reports/" }}) {{ keys.push(o.key); }}
        let manifest = s3::get_text(cfg.bucket, `reports/job-${{job.id}}/manifest.json`);
        let results = s3::get_text(cfg.bucket, keys.filter(|k| k.ends_with(".csv"))[0]);
        #{{ id: job.id, keys: keys, manifest: manifest, results: results }}"#
    ));
    let id = s(&result, "id");
    let keys = result["keys"].clone().into_array().unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let csv_key = keys
        .iter()
        .map(|k| k.to_string())
        .find(|k| k.ends_with(".csv"))
        .unwrap();
    let name = csv_key
        .strip_prefix(&format!("reports/job-{id}/results/"))
        .unwrap();
    assert_eq!(name.len(), 44, "{name}");
    let manifest: serde_json::Value = serde_json::from_str(&s(&result, "manifest")).unwrap();
    assert_eq!(manifest["Format"], "Report_CSV_20180820");
    assert_eq!(
        manifest["ReportSchema"],
        "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
    );
    assert_eq!(manifest["Results"][0]["TaskExecutionStatus"], "succeeded");
    assert_eq!(manifest["Results"][0]["Key"], csv_key.as_str());
    let results = s(&result, "results");
    assert!(
        results
            .lines()
            .all(|l| l.ends_with(",,succeeded,202,,Successful")),
        "{results}"
    );
    assert!(
        results.starts_with("s3thaw-tutorial-111122223333-us-east-1,tutorial/testfile-1.txt,"),
        "{results}"
    );
}

#[test]
fn job_created_in_one_process_is_confirmed_and_awaited_from_later_ones() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let create = dir.path().join("create.rhai");
    std::fs::write(
        &create,
        format!(
            // The clock stands still between processes: on a busy machine a second of wall time
            // between confirming and describing would already have started the job.
            "{SETUP}\nsim::set_clock(#{{ frozen: true }});\nlet job = t::create_job(cfg, location, role);\nprint(`JOB=${{job.id}}`);\n"
        ),
    )
    .unwrap();
    let out = world.cli(&["run", create.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("JOB="))
        .expect("job id")
        .to_string();

    let confirm = dir.path().join("confirm.rhai");
    std::fs::write(
        &confirm,
        "let job = batch::confirm(arg(\"job\", \"\"));\nprint(job.status);\n",
    )
    .unwrap();
    let out = world.cli(&[
        "run",
        confirm.to_str().unwrap(),
        "--var",
        &format!("job={id}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "Ready");

    let wait = dir.path().join("wait.rhai");
    std::fs::write(&wait, "let job = batch::wait(arg(\"job\", \"\"));\nprint(`${job.status} ${job.progress.succeeded}/${job.progress.total}`);\n").unwrap();
    let out = world.cli(&["run", wait.to_str().unwrap(), "--var", &format!("job={id}")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "Complete 3/3");
}

#[test]
fn waiting_on_a_suspended_job_explains_instead_of_hanging() {
    let world = World::new();
    let e = world.error(&format!(
        r#"{SETUP}
        let job = t::create_job(cfg, location, role);
        batch::wait(job.id)"#
    ));
    assert_eq!(e.code, "Timeout");
    assert!(e.hint.unwrap().contains("batch::confirm"));
}

#[test]
fn cancelling_and_idempotent_creation() {
    let world = World::new();
    let result = world.map(&format!(
        r#"{SETUP}
        let spec = #{{ manifest: location, operation: batch::restore_operation(#{{ days: 1 }}),
            role_arn: role.arn, client_request_token: "tutorial-run-1" }};
        let a = batch::create_job(spec);
        let b = batch::create_job(spec);
        batch::wait(a.id, #{{ statuses: ["Suspended"] }});
        let cancelled = batch::cancel(a.id, "changed my mind");
        let err = "";
        try {{ batch::confirm(a.id); }} catch (e) {{ err = e.code; }}
        #{{ same: a.id == b.id, count: batch::list().len(), cancelled: cancelled, err: err,
           listed: batch::list(#{{ statuses: ["Cancelled"] }}).len() }}"#
    ));
    assert!(result["same"].as_bool().unwrap());
    assert_eq!(i(&result, "count"), 1);
    let cancelled = m(&result, "cancelled");
    assert_eq!(s(&cancelled, "status"), "Cancelled");
    assert_eq!(s(&cancelled, "status_update_reason"), "changed my mind");
    assert_eq!(s(&result, "err"), "JobStatusException");
    assert_eq!(i(&result, "listed"), 1);
}

/// A generator job on a versioned bucket: the tasks carry the version ids the listing saw,
/// delete markers and noncurrent versions are left out, suffix and substring filters apply,
/// and a role that may not write the output location fails the job before any task.
#[test]
fn generator_jobs_on_versioned_buckets_and_their_output_permission() {
    let world = World::new();
    let result = world.map(
        r#"
        s3::create_bucket("vgen", #{ versioning: true });
        s3::put_object("vgen", "a/one.log", "v1", #{ storage_class: "GLACIER" });
        let current = s3::put_object("vgen", "a/one.log", "v2", #{ storage_class: "GLACIER" });
        s3::put_object("vgen", "a/two.log", "x", #{ storage_class: "GLACIER" });
        s3::delete_object("vgen", "a/two.log");
        s3::put_object("vgen", "a/three.txt", "x", #{ storage_class: "GLACIER" });
        s3::put_object("vgen", "a/four-keep.log", "x", #{ storage_class: "GLACIER" });
        let gen = #{ source_bucket: "vgen", suffix: ".log", output: #{ bucket: "vgen", prefix: "gen" } };
        let role = iam::create_role("vgen-role", iam::batch_trust_policy());
        iam::put_role_policy("vgen-role", "p", iam::restore_policy(#{ manifest_generator: gen, report_bucket: "vgen" }));
        let job = batch::wait(batch::create_job(#{ manifest_generator: gen, role_arn: role.arn,
            confirmation_required: false, operation: batch::restore_operation(#{ days: 1 }),
            report: #{ bucket: "vgen", prefix: "reports" } }).id);
        let rows = report::load(job).rows();
        let versions = #{};
        for r in rows { versions[r.key] = r.version_id; }
        let narrow = #{ source_bucket: "vgen", substring: "keep" };
        let only = batch::wait(batch::create_job(#{ manifest_generator: narrow, role_arn: role.arn,
            confirmation_required: false, operation: batch::restore_operation(#{ days: 1 }), report: false }).id);
        // A role without s3:PutObject on the output location.
        let reader = iam::create_role("vgen-reader", iam::batch_trust_policy());
        iam::put_role_policy("vgen-reader", "p", iam::restore_policy(#{ manifest_generator: #{ source_bucket: "vgen" } }));
        let refused = batch::wait(batch::create_job(#{ manifest_generator: gen, role_arn: reader.arn,
            confirmation_required: false, operation: batch::restore_operation(#{ days: 1 }), report: false }).id);
        #{ status: job.status, total: job.progress.total, versions: versions, current: current.version_id,
           generated: job.generated_manifest.key, only: only.progress.total,
           refused: refused.status, reason: refused.failure_reasons[0].code,
           refused_message: refused.failure_reasons[0].reason, refused_generated: refused.generated_manifest == () }"#,
    );
    assert_eq!(s(&result, "status"), "Complete");
    // a/one.log (its current version) and a/four-keep.log; a/two.log is deleted, a/three.txt
    // is not a .log.
    assert_eq!(i(&result, "total"), 2);
    let versions = m(&result, "versions");
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(
        versions["a/one.log"].to_string(),
        s(&result, "current"),
        "the task names the current version"
    );
    assert!(s(&result, "generated").starts_with("gen/job-"));
    assert_eq!(i(&result, "only"), 1);
    assert_eq!(s(&result, "refused"), "Failed");
    assert_eq!(s(&result, "reason"), "AccessDenied");
    assert!(
        s(&result, "refused_message").contains("s3:PutObject"),
        "{}",
        s(&result, "refused_message")
    );
    assert!(b(&result, "refused_generated"));
}
