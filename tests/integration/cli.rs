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
fn unknown_vars_are_usage_errors_before_anything_runs() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.rhai"),
        "fn days() { arg(\"days\", 1) }\n",
    )
    .unwrap();
    let path = script(
        &dir,
        "tier.rhai",
        "import \"m\" as m;\nprint(\"started\");\nprint(arg(\"tier\", \"STANDARD\"));\n",
    );
    let out = world.cli(&["run", &path, "--var", "teir=BULK"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "", "nothing ran");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown variable `--var teir`"), "{stderr}");
    assert!(stderr.contains("did you mean `--var tier`?"), "{stderr}");
    // A variable only an imported module asks for is known.
    let out = world.cli(&["run", &path, "--var", "days=3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A name that is not a literal: any --var may be asked for, so a typo only warns after.
    let path = script(
        &dir,
        "dyn.rhai",
        "let n = \"tier\"; print(arg(n, \"STANDARD\"));\n",
    );
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
            sim::set_clock(#{ frozen: true }); // the job stays New however slow the machine
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

/// Issue 15 item 3: a wrong tier or days fails before anything exists; restore-prefix shows
/// its preflight findings before it asks the money question, and a preflight error stops it
/// before the question.
#[test]
fn playbooks_validate_first_and_check_before_they_ask() {
    let world = World::new();
    let out = world.cli(&["run", "scripts/restore.rhai", "--var", "tier=FAST"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let e = world.eval("s3::list_buckets().len()").unwrap();
    assert_eq!(
        e.as_int().unwrap(),
        0,
        "no bucket was created for a wrong tier"
    );

    world.run(
        r#"s3::create_bucket("arch");
        sim::seed_objects("arch", 5, #{ prefix: "2019/", storage_class: "GLACIER" });"#,
    );
    // Without --yes and without a terminal, confirm() answers no: the preflight came first.
    let out = world.cli(&[
        "run",
        "restore-prefix",
        "--var",
        "bucket=arch",
        "--var",
        "prefix=2019/",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Preflight: no problems found"), "{stdout}");
    assert!(stderr.contains("[y/N] no"), "{stderr}");
    assert!(
        stdout.contains("Stopped before creating the job"),
        "{stdout}"
    );
    let jobs = world.eval("batch::list().len()").unwrap();
    assert_eq!(jobs.as_int().unwrap(), 0);

    // A role that Batch Operations cannot assume: preflight fails, and nothing is asked.
    world.run(
        r#"iam::create_role("lambda-only", #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow",
            Principal: #{ Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] }, #{});"#,
    );
    let out = world.cli(&[
        "run",
        "restore-prefix",
        "--var",
        "bucket=arch",
        "--var",
        "prefix=2019/",
        "--var",
        "role=lambda-only",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("preflight error"), "{stdout}");
    assert!(stderr.contains("PreflightFailed"), "{stderr}");
    assert!(
        !stderr.contains("[y/N]"),
        "asked before the preflight: {stderr}"
    );
}

/// Issue 15 item 4: a mistyped --profile is named as the AWS CLI names it, before any request,
/// with the profiles that exist.
#[test]
fn unknown_profile_is_named_as_the_aws_cli_names_it() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[default]\nregion = us-east-1\n[profile prod]\nregion = eu-west-1\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = script(&dir, "hello.rhai", "print(\"hello\");\n");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    for (var, _) in std::env::vars() {
        if var.starts_with("AWS_") || var == "S3THAW_BACKEND" {
            cmd.env_remove(var);
        }
    }
    let out = cmd
        .args(["run", &path, "--backend", "aws", "--profile", "prdo"])
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("The config profile (prdo) could not be found"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean --profile prod?"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
}

/// Issue 15 item 1: `s3thaw playbooks --copy DIR` writes editable copies (never over a file),
/// and the shipped path `scripts/NAME.rhai` runs the embedded playbook outside a checkout.
#[test]
fn playbooks_are_copied_to_edit_and_run_outside_a_checkout() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let copies = dir.path().join("playbooks");
    let out = world.cli(&["playbooks", "--copy", copies.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copied = std::fs::read_to_string(copies.join("restore-prefix.rhai")).unwrap();
    assert_eq!(
        copied,
        std::fs::read_to_string(project_root().join("scripts/restore-prefix.rhai")).unwrap()
    );
    let again = world.cli(&["playbooks", "--copy", copies.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("not overwritten"),
        "{}",
        text(&again.stderr)
    );

    // From a folder with no scripts/ in it, as after `cargo install`.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"))
        .args([
            "run",
            "scripts/restore.rhai",
            "--var",
            "tier=BULK",
            "--state",
        ])
        .arg(world.state())
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", world.state())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Glacier restore tutorial"));
    let missing = world.cli(&["run", "no-such-playbook"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("the embedded playbooks are estimate, restore"),
        "{}",
        text(&missing.stderr)
    );
}

/// Issue 15 item 7: the 8 characters `s3thaw jobs` shows name a job in `batch::describe` too,
/// and a manifest prints as people write it.
#[test]
fn short_ids_and_manifests_read_as_people_write_them() {
    let world = World::new();
    let r = world.map(
        r#"s3::create_bucket("bkt");
        for k in ["a", "b", "c"] { s3::put_object("bkt", k, "x", #{ storage_class: "GLACIER" }); }
        let m = manifest::from_listing("bkt", #{});
        let location = manifest::upload(m, "bkt", "m.csv");
        let role = iam::create_role("r", iam::batch_trust_policy());
        let job = batch::create_job(#{ manifest: location, operation: batch::restore_operation(#{ days: 1 }),
            role_arn: role.arn, priority: 1, report: false });
        #{ id: job.id, short: batch::describe(job.id.sub_string(0, 8)).id, text: `${m}` }"#,
    );
    assert_eq!(r["short"].to_string(), r["id"].to_string());
    assert_eq!(r["text"].to_string(), "3 objects in 1 bucket");
}

/// Issue 15 item 7: `s3thaw jobs` fits 80 columns without a terminal (ids cut to the 8
/// characters every command accepts, the description cut); `--wide` shows them whole.
#[test]
fn jobs_fit_80_columns_and_wide_shows_everything() {
    let world = World::new();
    let id = world
        .eval(
            r#"s3::create_bucket("narrow-jobs");
            s3::put_object("narrow-jobs", "a", "x", #{ storage_class: "GLACIER" });
            let location = manifest::upload(manifest::from_listing("narrow-jobs", #{}), "narrow-jobs", "m.csv");
            let role = iam::create_role("narrow-role", iam::batch_trust_policy());
            let job = batch::create_job(#{ manifest: location, operation: batch::restore_operation(#{ days: 1 }),
                role_arn: role.arn, priority: 10, report: false,
                description: "a description long enough to push any table past eighty columns of a terminal" });
            job.id"#,
        )
        .unwrap()
        .to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"))
            .args(args)
            .env("S3THAW_STATE", world.state())
            .env_remove("COLUMNS")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let narrow = run(&["jobs"]);
    for line in narrow.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(
        narrow.contains(&id[..8]) && !narrow.contains(&id),
        "{narrow}"
    );
    assert!(narrow.contains("a description"), "{narrow}");
    let wide = run(&["jobs", "--wide"]);
    assert!(wide.contains(&id), "{wide}");
    assert!(wide.contains("eighty columns of a terminal"), "{wide}");
    // The short id is accepted where ids are: report resolves it to the whole id (this job
    // was made without a completion report, which report then says).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"))
        .args(["report", &id[..8]])
        .env("S3THAW_STATE", world.state())
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains(&id), "{}", text(&out.stdout));
}

/// Issue 15 item 8 (part): `s3thaw status` draws the expiry calendar of the restored copies.
#[test]
fn status_draws_the_expiry_calendar() {
    let world = World::new();
    world.run(
        r#"s3::create_bucket("calendar");
        sim::seed_objects("calendar", 30, #{ prefix: "a/", storage_class: "GLACIER" });
        let m = manifest::from_listing("calendar", #{ prefix: "a/" });
        restore::direct(m, #{ days: 3, tier: "BULK" });
        restore::wait(m, #{});"#,
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"))
        .args(["status", "s3://calendar/a/"])
        .env("S3THAW_STATE", world.state())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("expiry calendar"), "{stdout}");
    let days: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("    20") && l.contains('█'))
        .collect();
    assert!(!days.is_empty(), "{stdout}");
    let counted: u64 = days
        .iter()
        .map(|l| {
            l.rsplit("GLACIER ")
                .next()
                .unwrap()
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(counted, 30, "{stdout}");
}
