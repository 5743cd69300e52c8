//! AWS's file formats read through the script API: the fixtures in tests/fixtures/.

use crate::common::*;

#[test]
fn completion_report_fixture_parses_with_counts_and_decoded_rows() {
    let world = World::new();
    let path = fixture("reports/job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/manifest.json");
    let result = world.map(&format!(
        r#"let r = report::parse("{path}");
        #{{ job_id: r.job_id, total: r.total, succeeded: r.succeeded, failed: r.failed,
           by_error: r.by_error(), failed_rows: r.rows(#{{ status: "failed" }}),
           retry: r.failed_manifest().len(), summary: r.summary() }}"#
    ));
    assert_eq!(s(&result, "job_id"), "f8fb9d89-a3aa-461d-bddc-ea6a1b131955");
    assert_eq!(
        (
            i(&result, "total"),
            i(&result, "succeeded"),
            i(&result, "failed")
        ),
        (7, 4, 3)
    );
    let by_error = m(&result, "by_error");
    for code in [
        "AccessDenied",
        "InvalidObjectState",
        "RestoreAlreadyInProgress",
    ] {
        assert_eq!(i(&by_error, code), 1, "{code}");
    }
    let rows = result["failed_rows"].clone().into_array().unwrap();
    let messages: Vec<String> = rows
        .iter()
        .map(|r| s(&r.clone().try_cast::<rhai::Map>().unwrap(), "message"))
        .collect();
    assert!(messages.contains(
        &"Restore is not allowed for the object's current storage class, \"STANDARD\"".to_string()
    ));
    assert!(
        messages
            .iter()
            .any(|m| m.contains("in progress\n(requested tier"))
    );
    assert_eq!(i(&result, "retry"), 3);
    assert!(s(&result, "summary").contains("4 succeeded, 3 failed"));

    // A single results file parses too, with keys decoded.
    let csv = fixture(
        "reports/job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/6217b0fab0de85c408b4be96aeaca9b195a7daa5.csv",
    );
    let keys = world
        .eval(&format!(r#"report::parse("{csv}").rows().map(|r| r.key)"#))
        .unwrap();
    assert!(
        keys.to_string()
            .contains("photos/2019/object key with spaces.jpg"),
        "{keys}"
    );
}

#[test]
fn manifest_fixtures_parse_and_invalid_ones_name_the_line() {
    let world = World::new();
    let plain = fixture("manifests/plain.csv");
    let keys = world
        .eval(&format!(
            r#"manifest::read("{plain}").rows(100).map(|r| r.key)"#
        ))
        .unwrap()
        .into_array()
        .unwrap();
    let expected = std::fs::read_to_string(fixture("manifests/plain.keys.txt")).unwrap();
    let got: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    assert_eq!(got, expected.lines().collect::<Vec<_>>());

    let versioned = fixture("manifests/versioned.csv");
    let v = world
        .eval(&format!(
            r#"let m = manifest::read("{versioned}"); [m.len(), m.has_versions()]"#
        ))
        .unwrap();
    assert_eq!(v.to_string(), "[4, true]");

    for (file, needle) in [
        ("manifests/mixed-versions.csv", "line 2"),
        ("manifests/bad-encoding.csv", "line 2"),
    ] {
        let e = world.error(&format!(r#"manifest::read("{}")"#, fixture(file)));
        assert_eq!(e.code, "ManifestInvalid", "{file}");
        assert!(e.message.contains(needle), "{file}: {}", e.message);
    }
    let e = world.error(&format!(
        r#"manifest::read("{}")"#,
        fixture("manifests/bad-encoding.csv")
    ));
    assert!(e.message.contains("%G1"), "{}", e.message);
}

#[test]
fn manifests_round_trip_awkward_keys_through_a_job() {
    let world = World::new();
    let result = world.map(
        r#"
        s3::create_bucket("odd-keys");
        let long = "deep/";
        while long.len() < 1024 { long += "y"; }
        let keys = ["a+b=c.txt", "report, 2019.csv", "café/menü.txt", "100% done", long];
        for k in keys { s3::put_object("odd-keys", k, k, #{ storage_class: "GLACIER" }); }
        let m = manifest::from_keys("odd-keys", keys);
        let loc = manifest::upload(m, "odd-keys", "manifest.csv");
        let role = iam::create_role("odd-role", iam::batch_trust_policy());
        iam::put_role_policy("odd-role", "p", iam::restore_policy(#{ targets: ["odd-keys"], manifest_bucket: "odd-keys", report_bucket: "odd-keys" }));
        let job = batch::create_job(#{ manifest: loc, operation: batch::restore_operation(#{ days: 1 }), role_arn: role.arn,
            confirmation_required: false, report: #{ bucket: "odd-keys", scope: "AllTasks" } });
        job = batch::wait(job.id);
        let r = report::load(job);
        let reported = r.rows().map(|row| row.key);
        reported.sort();
        keys.sort();
        #{ status: job.status, succeeded: job.progress.succeeded, same: reported == keys,
           csv: s3::get_text("odd-keys", "manifest.csv") }"#,
    );
    assert_eq!(s(&result, "status"), "Complete");
    assert_eq!(i(&result, "succeeded"), 5);
    assert!(result["same"].as_bool().unwrap());
    let csv = s(&result, "csv");
    assert!(csv.contains("odd-keys,a%2Bb%3Dc.txt\n"), "{csv}");
    assert!(csv.contains("odd-keys,report%2C%202019.csv\n"), "{csv}");
    assert!(csv.contains("odd-keys,caf%C3%A9/men%C3%BC.txt\n"), "{csv}");
    assert!(csv.contains("odd-keys,100%25%20done\n"), "{csv}");
}

/// A report in a bucket whose results files split the outcomes (as AWS's do): queries for one
/// outcome read only the files that hold it, from its first row to its last, and a broken
/// file is named by its bucket and key, a corrupted one by its checksum.
#[test]
fn completion_reports_from_a_bucket_answer_each_query_from_the_files_that_hold_it() {
    use md5::{Digest, Md5};
    let world = World::new();
    let succeeded =
        "rep,ok/1,,succeeded,202,,Successful\r\nrep,ok/2,,succeeded,200,,Successful\n\n";
    let mixed = "rep,a%20b,,failed,403,AccessDenied,\"Access Denied\n(two lines, \"\"quoted\"\")\"\n\
                 rep,ok/3,,succeeded,202,,Successful\n\
                 rep,slow+1,,failed,503,SlowDown,Please reduce your request rate.\n\
                 rep,ok/4,,succeeded,202,,Successful\n";
    let bad = "rep,ok/1,,succeeded,202,,Successful\nrep,ok/2,,done,202,,Successful\n";
    let entry = |status: &str, key: &str, body: &str| {
        format!(
            r#"#{{ TaskExecutionStatus: "{status}", Bucket: "rep", MD5Checksum: "{}", Key: "{key}" }}"#,
            hex::encode(Md5::digest(body))
        )
    };
    // Bodies go through files: a script literal would not keep the \r\n.
    let file = |name: &str, body: &str| {
        let path = world.state().join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let setup = format!(
        r#"s3::create_bucket("rep");
        fn manifest(files) {{
            to_json(#{{ Format: "Report_CSV_20180820", ReportCreationDate: "2026-12-01T00:00:00.000Z",
                        Results: files, ReportSchema: "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage" }})
        }}
        s3::upload_file("rep", "r/job-j1/results/ok.csv", "{ok_file}");
        s3::upload_file("rep", "r/job-j1/results/mixed.csv", "{mixed_file}");
        s3::put_object("rep", "r/job-j1/manifest.json", manifest([{ok}, {mix}]));
        s3::upload_file("rep", "r/job-j2/results/bad.csv", "{bad_file}");
        s3::put_object("rep", "r/job-j2/manifest.json", manifest([{bad_entry}]));
        s3::put_object("rep", "r/job-j3/manifest.json", manifest([{corrupt}]));
        "#,
        ok_file = file("ok.csv", succeeded),
        mixed_file = file("mixed.csv", mixed),
        bad_file = file("bad.csv", bad),
        ok = entry("succeeded", "r/job-j1/results/ok.csv", succeeded),
        mix = entry("failed", "r/job-j1/results/mixed.csv", mixed),
        bad_entry = entry("failed", "r/job-j2/results/bad.csv", bad),
        corrupt = entry("failed", "r/job-j1/results/mixed.csv", "something else"),
    );
    let r = world.map(&format!(
        r#"{setup}
        let r = report::read("rep", "r/job-j1/manifest.json");
        let plan = r.retry_plan();
        #{{ total: r.total, failed: r.failed, job: r.job_id, by_error: r.by_error(),
           failed_keys: r.rows(#{{ status: "failed" }}).map(|row| `${{row.key}}:${{row.message}}`),
           first_ok: r.rows(#{{ status: "succeeded", limit: 3 }}).map(|row| row.key),
           all: r.rows().map(|row| row.key),
           retry: plan.retry.rows(10).map(|row| row.key), permanent: plan.permanent.map(|p| p.key),
           succeeded: r.succeeded_manifest().rows(10).map(|row| row.key) }}"#
    ));
    assert_eq!((i(&r, "total"), i(&r, "failed")), (6, 2));
    assert_eq!(s(&r, "job"), "j1");
    assert_eq!(i(&m(&r, "by_error"), "SlowDown"), 1);
    assert_eq!(
        strings(&r["failed_keys"]),
        [
            "a b:Access Denied\n(two lines, \"quoted\")",
            "slow 1:Please reduce your request rate."
        ]
    );
    assert_eq!(strings(&r["first_ok"]), ["ok/1", "ok/2", "ok/3"]);
    assert_eq!(
        strings(&r["all"]),
        ["ok/1", "ok/2", "a b", "ok/3", "slow 1", "ok/4"]
    );
    assert_eq!(strings(&r["retry"]), ["slow 1"]);
    assert_eq!(strings(&r["permanent"]), ["a b"]);
    assert_eq!(strings(&r["succeeded"]), ["ok/1", "ok/2", "ok/3", "ok/4"]);

    let bad_row = world.error(&format!(
        r#"{setup} report::read("rep", "r/job-j2/manifest.json")"#
    ));
    assert_eq!(bad_row.code, "ReportInvalid");
    assert!(
        bad_row
            .message
            .contains("rep/r/job-j2/results/bad.csv: line 2: unknown task status `done`"),
        "{}",
        bad_row.message
    );
    let corrupt = world.error(&format!(
        r#"{setup} report::read("rep", "r/job-j3/manifest.json")"#
    ));
    assert_eq!(corrupt.code, "ReportInvalid");
    assert!(
        corrupt.message.contains("does not match the report's"),
        "{}",
        corrupt.message
    );
}
