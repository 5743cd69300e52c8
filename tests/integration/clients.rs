//! The S3 clients people point at an endpoint, driving `s3thaw serve` as they would drive AWS:
//! s3cmd and boto3 (from PyPI) and rclone (from the OS packages). Each archives objects in
//! GLACIER, lists them, restores them, and reads them once the (virtual) restore is done.
//!
//! `.ci/run` installs s3cmd and boto3 into `target/pyclients` and rclone with the OS package
//! manager when it has one, and exports `S3THAW_S3CMD`, `S3THAW_BOTO3_PYTHON`, `S3THAW_RCLONE`.
//! A test skips, saying why, when `.ci/run` reported its client unavailable
//! (`S3THAW_PYCLIENTS_UNAVAILABLE`, `S3THAW_RCLONE_UNAVAILABLE`), or outside CI when nobody
//! installed it. Every client talks path-style to 127.0.0.1 with SigV4, checked by serve.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;
use crate::support::serve::*;

/// The client at `$var`, else at `local` under the project root; `None` (after saying why the
/// test skips) when neither exists outside CI.
fn client(test: &str, var: &str, local: &str, unavailable: &str) -> Option<PathBuf> {
    let given = std::env::var_os(var).map(PathBuf::from);
    if let Some(path) = given
        .into_iter()
        .chain([project_root().join(local)])
        .find(|p| p.is_file())
    {
        return Some(path);
    }
    if let Ok(why) = std::env::var(unavailable) {
        eprintln!("SKIPPED {test}: {why}");
        return None;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: the client is missing: .ci/run installs it and exports {var}");
    }
    eprintln!("SKIPPED {test}: no client at ${var} or {local}; .ci/run installs it");
    None
}

/// A finished command that must have succeeded: its stdout.
fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Moves serve's virtual clock forward: `POST /_s3thaw/clock/advance`, signed like any request.
fn advance(serve: &Serve, seconds: u64) {
    let authority = serve.url.trim_start_matches("http://").to_string();
    let query = format!("seconds={seconds}");
    let headers = vec![("host".to_string(), authority.clone())];
    let signed = s3thaw::sigv4::sign(
        &s3thaw::sigv4::SignedRequest {
            method: "POST",
            raw_path: "/_s3thaw/clock/advance",
            raw_query: &query,
            headers: &headers,
            body: b"",
        },
        &s3thaw::sigv4::Credentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
        },
        None,
        "us-east-1",
        "s3",
        time::OffsetDateTime::now_utc(),
    );
    let mut request =
        format!("POST /_s3thaw/clock/advance?{query} HTTP/1.1\r\nhost: {authority}\r\n");
    for (name, value) in signed {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    let mut stream = std::net::TcpStream::connect(&authority).expect("connect to serve");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn write(path: &Path, body: &str) -> String {
    std::fs::write(path, body).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn s3cmd_archives_lists_restores_and_reads() {
    let test = "s3cmd_archives_lists_restores_and_reads";
    let Some(s3cmd) = client(
        test,
        "S3THAW_S3CMD",
        "target/pyclients/bin/s3cmd",
        "S3THAW_PYCLIENTS_UNAVAILABLE",
    ) else {
        return;
    };
    let serve = Serve::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let config = write(
        &home.path().join("s3cfg"),
        &format!(
            "[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\nhost_base = {host}\n\
             host_bucket = {host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n",
            host = serve.url.trim_start_matches("http://")
        ),
    );
    let run = |args: &[&str]| {
        Command::new(&s3cmd)
            .arg("-c")
            .arg(&config)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .output()
            .expect("run s3cmd")
    };
    let s3 = |args: &[&str]| ok(&format!("s3cmd {}", args.join(" ")), run(args));
    s3(&["mb", "s3://cmd-archive"]);
    for name in ["a.txt", "b.txt"] {
        let file = write(&home.path().join(name), &format!("body of {name}\n"));
        s3(&[
            "put",
            "--storage-class=GLACIER",
            &file,
            &format!("s3://cmd-archive/cold/{name}"),
        ]);
    }
    // `ls` is ListObjects version 1 (with a delimiter).
    let listed = s3(&["ls", "s3://cmd-archive/cold/"]);
    assert!(listed.contains("s3://cmd-archive/cold/a.txt"), "{listed}");
    assert!(listed.contains("s3://cmd-archive/cold/b.txt"), "{listed}");
    let dirs = s3(&["ls", "s3://cmd-archive/"]);
    assert!(
        dirs.contains("DIR") && dirs.contains("s3://cmd-archive/cold/"),
        "{dirs}"
    );
    let info = s3(&["info", "s3://cmd-archive/cold/a.txt"]);
    assert!(info.contains("GLACIER"), "{info}");
    // Archived: GET refused until restored.
    let out = home.path().join("out.txt");
    let refused = run(&["get", "s3://cmd-archive/cold/a.txt", out.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("InvalidObjectState"),
        "{}",
        text(&refused.stderr)
    );
    let restored = s3(&[
        "restore",
        "--recursive",
        "--restore-days=2",
        "--restore-priority=bulk",
        "s3://cmd-archive/cold/",
    ]);
    assert_eq!(restored.matches("restore:").count(), 2, "{restored}");
    // Bulk restores of GLACIER objects take 5 to 12 hours.
    advance(&serve, 13 * 3600);
    s3(&["get", "s3://cmd-archive/cold/a.txt", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "body of a.txt\n");
}

#[test]
fn rclone_lists_copies_and_restores() {
    let test = "rclone_lists_copies_and_restores";
    // rclone comes from the OS packages: $S3THAW_RCLONE, else the one on PATH.
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("rclone"))
            .find(|p| p.is_file())
    });
    let Some(rclone) = std::env::var_os("S3THAW_RCLONE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or(on_path)
    else {
        if let Ok(why) = std::env::var("S3THAW_RCLONE_UNAVAILABLE") {
            eprintln!("SKIPPED {test}: {why}");
            return;
        }
        if std::env::var_os("CI").is_some() {
            panic!("{test}: rclone is missing: .ci/run installs it and exports S3THAW_RCLONE");
        }
        eprintln!(
            "SKIPPED {test}: no rclone on PATH (the OS package `rclone`; .ci/run installs it)"
        );
        return;
    };
    let serve = Serve::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(&rclone)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("RCLONE_CONFIG", home.path().join("rclone.conf"))
            .env("RCLONE_CONFIG_SIM_TYPE", "s3")
            .env("RCLONE_CONFIG_SIM_PROVIDER", "Other")
            .env("RCLONE_CONFIG_SIM_ACCESS_KEY_ID", ACCESS_KEY)
            .env("RCLONE_CONFIG_SIM_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("RCLONE_CONFIG_SIM_ENDPOINT", &serve.url)
            .env("RCLONE_CONFIG_SIM_REGION", "us-east-1")
            .env("RCLONE_CONFIG_SIM_FORCE_PATH_STYLE", "true")
            .output()
            .expect("run rclone")
    };
    let rc = |args: &[&str]| ok(&format!("rclone {}", args.join(" ")), run(args));
    let local = home.path().join("upload");
    std::fs::create_dir(&local).unwrap();
    for name in ["a.txt", "b.txt"] {
        write(&local.join(name), &format!("body of {name}\n"));
    }
    // rclone creates the bucket itself (re-creating your own bucket in us-east-1 is a 200).
    rc(&[
        "copy",
        local.to_str().unwrap(),
        "sim:rc-archive/cold",
        "--s3-storage-class",
        "GLACIER",
    ]);
    let mut listed: Vec<String> = rc(&["lsf", "-R", "sim:rc-archive"])
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(listed, ["cold/", "cold/a.txt", "cold/b.txt"]);
    let restored = rc(&[
        "backend",
        "restore",
        "sim:rc-archive/cold",
        "-o",
        "priority=Bulk",
        "-o",
        "lifetime=2",
    ]);
    let statuses: serde_json::Value = serde_json::from_str(&restored).expect("rclone's JSON");
    let statuses = statuses.as_array().unwrap();
    assert_eq!(statuses.len(), 2, "{restored}");
    assert!(statuses.iter().all(|s| s["Status"] == "OK"), "{restored}");
    // A second request while the restores run: S3's 409, reported per object.
    let again = rc(&[
        "backend",
        "restore",
        "sim:rc-archive/cold",
        "-o",
        "priority=Bulk",
        "-o",
        "lifetime=2",
    ]);
    assert!(again.contains("RestoreAlreadyInProgress"), "{again}");
    let help = rc(&["backend", "help", "s3"]);
    if help.contains("### restore-status") {
        let status = rc(&["backend", "restore-status", "sim:rc-archive/cold"]);
        assert!(status.contains("IsRestoreInProgress"), "{status}");
    }
    advance(&serve, 13 * 3600);
    let back = home.path().join("back");
    rc(&["copy", "sim:rc-archive/cold", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("b.txt")).unwrap(),
        "body of b.txt\n"
    );
}

/// A boto3 script as users write it: archive, list with `OptionalObjectAttributes`, restore
/// every archived object, wait for the restores (moving serve's clock, as `s3thaw`'s own
/// backend does), then read.
const BOTO3_SCRIPT: &str = r#"
import json, sys, time
import boto3, botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
import urllib.request

endpoint, key, secret = sys.argv[1:4]
session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")
s3 = session.client("s3", endpoint_url=endpoint,
                    config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

def advance(seconds):
    request = AWSRequest(method="POST", url=f"{endpoint}/_s3thaw/clock/advance?seconds={seconds}", data=b"")
    SigV4Auth(session.get_credentials(), "s3", "us-east-1").add_auth(request)
    urllib.request.urlopen(urllib.request.Request(request.url, data=b"", method="POST", headers=dict(request.headers))).read()

s3.create_bucket(Bucket="boto-archive")
for i in range(3):
    s3.put_object(Bucket="boto-archive", Key=f"cold/{i}.txt", Body=f"body {i}".encode(), StorageClass="GLACIER")
s3.put_object(Bucket="boto-archive", Key="warm.txt", Body=b"warm")

def listing():
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="boto-archive", OptionalObjectAttributes=["RestoreStatus"])
    return [o for page in pages for o in page.get("Contents", [])]

out = {"before": {o["Key"]: o.get("RestoreStatus") for o in listing()}}
archived = [o["Key"] for o in listing() if o["StorageClass"] == "GLACIER"]
for k in archived:
    s3.restore_object(Bucket="boto-archive", Key=k, RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}})
try:
    s3.get_object(Bucket="boto-archive", Key=archived[0])
    out["early_read"] = "ok"
except botocore.exceptions.ClientError as e:
    out["early_read"] = e.response["Error"]["Code"]
out["during"] = {o["Key"]: o.get("RestoreStatus") for o in listing()}
waited = 0
while any('ongoing-request="true"' in s3.head_object(Bucket="boto-archive", Key=k).get("Restore", "") for k in archived):
    advance(60)
    waited += 60
    if waited > 3600:
        raise SystemExit("restores never finished")
out["waited_minutes"] = waited // 60
out["after"] = {o["Key"]: o.get("RestoreStatus") for o in listing()}
out["read"] = s3.get_object(Bucket="boto-archive", Key=archived[0])["Body"].read().decode()
print(json.dumps(out, default=str))
"#;

#[test]
fn boto3_lists_restore_status_restores_and_waits() {
    let test = "boto3_lists_restore_status_restores_and_waits";
    let Some(python) = client(
        test,
        "S3THAW_BOTO3_PYTHON",
        "target/pyclients/bin/python",
        "S3THAW_PYCLIENTS_UNAVAILABLE",
    ) else {
        return;
    };
    let serve = Serve::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let script = write(&home.path().join("restore.py"), BOTO3_SCRIPT);
    let out = Command::new(&python)
        .args([&script, &serve.url, ACCESS_KEY, SECRET_KEY])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run python");
    let json: serde_json::Value =
        serde_json::from_str(&ok("the boto3 script", out)).expect("the script's JSON");
    // Before any restore: no RestoreStatus on any entry.
    assert!(
        json["before"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.is_null()),
        "{json}"
    );
    assert_eq!(json["early_read"], "InvalidObjectState");
    assert_eq!(
        json["during"]["cold/0.txt"]["IsRestoreInProgress"], true,
        "{json}"
    );
    assert!(json["during"]["warm.txt"].is_null(), "{json}");
    // Expedited: 1 to 5 minutes.
    let waited = json["waited_minutes"].as_i64().unwrap();
    assert!((1..=5).contains(&waited), "{json}");
    assert_eq!(
        json["after"]["cold/2.txt"]["IsRestoreInProgress"], false,
        "{json}"
    );
    assert!(
        json["after"]["cold/2.txt"]["RestoreExpiryDate"].is_string(),
        "{json}"
    );
    assert_eq!(json["read"], "body 0");
}
