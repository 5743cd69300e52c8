//! The binary as a user meets it: exit codes, error reports with carets, bad input refused
//! without side effects.

use crate::common::*;

fn script(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn syntax_errors_exit_2_with_every_error_and_a_caret() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        &dir,
        "broken.rhai",
        "let a = 1;\nlet b = ;\nlet c = 3;\nlet d = (4;\nprint(a);\n",
    );
    for args in [vec!["check", path.as_str()], vec!["run", path.as_str()]] {
        let out = world.cli(&args);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("broken.rhai:2:"), "{stderr}");
        assert!(stderr.contains("broken.rhai:4:"), "{stderr}");
        assert!(stderr.contains("2 | let b = ;"), "{stderr}");
        assert!(stderr.contains("^"), "{stderr}");
        assert!(stderr.contains("2 syntax errors"), "{stderr}");
    }
    let good = script(&dir, "good.rhai", "print(1);\n");
    let out = world.cli(&["check", &good, "scripts/restore.rhai"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn runtime_errors_exit_1_with_code_message_line_and_caret() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        &dir,
        "fails.rhai",
        "s3::create_bucket(\"fine-bucket\");\n\ns3::get_object(\"fine-bucket\", \"missing.txt\");\n",
    );
    let out = world.cli(&["run", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[NoSuchKey]: The specified key does not exist."),
        "{stderr}"
    );
    assert!(stderr.contains("fails.rhai:3:"), "{stderr}");
    assert!(stderr.contains("3 | s3::get_object"), "{stderr}");
    assert!(stderr.contains("= key: missing.txt"), "{stderr}");
}

#[test]
fn errors_inside_stdlib_steps_name_the_module_and_the_calling_line() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        &dir,
        "steps.rhai",
        "import \"tutorial\" as t;\nlet cfg = t::config(\"STANDARD\", 1);\nt::upload_samples(cfg);\n",
    );
    let out = world.cli(&["run", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[NoSuchBucket]"), "{stderr}");
    assert!(stderr.contains("--> tutorial:"), "{stderr}");
    assert!(stderr.contains("steps.rhai:3:"), "{stderr}");
}

#[test]
fn vars_that_do_not_convert_are_named() {
    let world = World::new();
    let out = world.cli(&["run", "scripts/restore.rhai", "--var", "days=three"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[InvalidArgument]: --var days=three: `three` is not an integer"),
        "{stderr}"
    );
    // Nothing was created: the conversion failed before the first step.
    let e = world.eval("s3::list_buckets().len()").unwrap();
    assert_eq!(e.as_int().unwrap(), 0);

    let out = world.cli(&["run", "scripts/restore.rhai", "--var", "not a var"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("NAME=VALUE"));
}

#[test]
fn unused_vars_are_reported_as_probable_typos() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = script(&dir, "tier.rhai", "print(arg(\"tier\", \"STANDARD\"));\n");
    let out = world.cli(&["run", &path, "--var", "teir=BULK"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "STANDARD");
    assert!(text(&out.stderr).contains("--var teir was given but the script never asked for it"));
}

#[test]
fn arg_converts_to_the_type_of_the_default() {
    let world = World::new();
    let value = world
        .eval_with(
            r#"[arg("n", 1), arg("f", 0.5), arg("b", false), arg("s", "x"), arg("list", ["a"]), arg("nums", [0]), arg("absent", 7)]"#,
            &[("n", "42"), ("f", "2.5"), ("b", "yes"), ("s", "BULK"), ("list", "a, b,c"), ("nums", "1,2")],
        )
        .unwrap();
    assert_eq!(
        value.to_string(),
        r#"[42, 2.5, true, "BULK", ["a", "b", "c"], [1, 2], 7]"#
    );
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let world = World::new();
    for name in [
        "ab",
        "Upper-Case",
        "under_score",
        "-dash",
        "192.168.0.1",
        "a..b",
    ] {
        let e = world.error(&format!("s3::create_bucket(\"{name}\")"));
        assert_eq!(e.code, "InvalidBucketName", "{name}");
    }
    assert_eq!(
        world
            .eval("s3::list_buckets().len()")
            .unwrap()
            .as_int()
            .unwrap(),
        0
    );

    let _ = world.eval(r#"s3::create_bucket("good-bucket")"#).unwrap();
    let e =
        world.error(r#"s3::put_object("good-bucket", "k", "body", #{ storage_clas: "GLACIER" })"#);
    assert_eq!(e.code, "InvalidArgument");
    assert!(
        e.message.contains("unknown option `storage_clas`") && e.message.contains("storage_class"),
        "{}",
        e.message
    );
    let e =
        world.error(r#"s3::put_object("good-bucket", "k", "body", #{ storage_class: "GLACIAL" })"#);
    assert!(
        e.message.contains("unknown storage class `GLACIAL`"),
        "{}",
        e.message
    );
    let e = world.error(r#"s3::put_object("good-bucket", "k", 42)"#);
    assert!(e.message.contains("string or a blob"), "{}", e.message);
    let e = world.error(r#"s3::list_objects("good-bucket", #{ limit: "ten" })"#);
    assert!(
        e.message.contains("`limit` must be an integer"),
        "{}",
        e.message
    );
    let e = world.error(r#"batch::restore_operation(#{ tier: "BULK", days: 0 })"#);
    assert_eq!(e.code, "InvalidRequest");
    let e = world.error(r#"batch::wait("nope", #{ timeout: "soon" })"#);
    assert!(e.message.contains("not a duration"), "{}", e.message);
    let e = world.error(r#"iam::create_role("r", #{ Version: "2012-10-17", Statement: [#{ Effect: "Alow", Principal: "*", Action: "sts:AssumeRole" }] })"#);
    assert_eq!(e.code, "MalformedPolicyDocument");
    // None of the refused calls left anything behind.
    assert_eq!(
        world
            .eval(r#"s3::list_objects("good-bucket").len()"#)
            .unwrap()
            .as_int()
            .unwrap(),
        0
    );
    let e = world.error(r#"iam::get_role("r")"#);
    assert_eq!(e.code, "NoSuchEntity");
}

#[test]
fn every_function_with_options_also_works_without_them() {
    let world = World::new();
    let value = world
        .eval(
            r#"
            s3::create_bucket("plain-bucket");
            s3::put_object("plain-bucket", "a.txt", "A");
            let loc = manifest::upload(manifest::from_keys("plain-bucket", ["a.txt"]), "plain-bucket", "m.csv");
            let role = iam::create_role("plain-role", iam::batch_trust_policy());
            let job = batch::create_job(#{ manifest: loc, operation: batch::restore_operation(), role_arn: role.arn });
            [s3::get_text("plain-bucket", "a.txt"), s3::head_object("plain-bucket", "a.txt").size,
             s3::list_objects("plain-bucket").len(), batch::list().len(), batch::describe(job.id).status]"#,
        )
        .unwrap();
    assert_eq!(value.to_string(), r#"["A", 1, 2, 1, "New"]"#);
}

#[test]
fn errors_are_maps_scripts_can_branch_on() {
    let world = World::new();
    let value = world
        .eval(
            r#"
            s3::create_bucket("err-bucket", #{ region: "eu-west-1" });
            s3::put_object("err-bucket", "cold.bin", "x", #{ storage_class: "DEEP_ARCHIVE" });
            let codes = [];
            try { s3::get_object("err-bucket", "cold.bin"); } catch (e) { codes.push(e.code); codes.push(e.status); codes.push(e.key); }
            try { s3::restore_object("err-bucket", "cold.bin", #{ tier: "EXPEDITED", days: 1 }); } catch (e) { codes.push(e.code); }
            s3::restore_object("err-bucket", "cold.bin", #{ days: 1 });
            try { s3::restore_object("err-bucket", "cold.bin", #{ days: 1 }); } catch (e) { codes.push(e.code); codes.push(e.status); }
            try { s3::create_bucket("err-bucket", #{ region: "eu-west-1" }); } catch (e) { codes.push(e.code); }
            try { s3::delete_bucket("err-bucket"); } catch (e) { codes.push(e.code); }
            codes"#,
        )
        .unwrap();
    assert_eq!(
        value.to_string(),
        r#"["InvalidObjectState", 403, "cold.bin", "InvalidArgument", "RestoreAlreadyInProgress", 409, "BucketAlreadyOwnedByYou", "BucketNotEmpty"]"#
    );
}
