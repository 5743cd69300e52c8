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
