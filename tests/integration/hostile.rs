//! Hostile input against the real binary and `serve` on 127.0.0.1 (issue 13): XML bombs,
//! unauthenticated bodies, unsigned `x-amz-*` headers, `--allow-remote` with the published
//! secret. Each case is bounded in size and time and stops by itself.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use s3thaw::sigv4::{Credentials, SignedRequest, sign};
use time::OffsetDateTime;

use crate::common::{World, text};
use crate::support::serve::*;

/// The `host:port` of a server's URL.
fn addr(serve: &Serve) -> String {
    serve.url.trim_start_matches("http://").to_string()
}

/// Sends raw bytes and reads the whole answer (the request asks to close the connection).
fn exchange(addr: &str, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    stream.write_all(request).expect("send the request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    (status, text)
}

/// A request's bytes: signed with the test credentials unless `sign_it` is false; `extra`
/// headers are added after signing (so they are not signed).
fn request_bytes(
    addr: &str,
    method: &str,
    target: &str,
    signed_headers: &[(&str, &str)],
    extra: &[(&str, &str)],
    body: &[u8],
    sign_it: bool,
) -> Vec<u8> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = vec![("host".into(), addr.to_string())];
    headers.extend(
        signed_headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string())),
    );
    if sign_it {
        let credentials = Credentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
        };
        let unsigned = SignedRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers: &headers,
            body,
        };
        let added = sign(
            &unsigned,
            &credentials,
            None,
            "us-east-1",
            "s3",
            OffsetDateTime::now_utc(),
        );
        headers.extend(added);
    }
    headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let mut out = format!("{method} {target} HTTP/1.1\r\n");
    for (n, v) in &headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    if !headers.iter().any(|(n, _)| n == "content-length") {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    out.push_str("connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn signed(serve: &Serve, method: &str, target: &str, body: &[u8]) -> (u16, String) {
    let a = addr(serve);
    exchange(&a, &request_bytes(&a, method, target, &[], &[], body, true))
}

fn nested(depth: usize) -> Vec<u8> {
    let mut body = "<RestoreRequest>".to_string();
    body.push_str(&"<a>".repeat(depth));
    body.push_str(&"</a>".repeat(depth));
    body.push_str("</RestoreRequest>");
    body.into_bytes()
}

/// Issue 13.1: 50,000 nested elements (350 KB) aborted `serve` with a stack overflow.
#[test]
fn deeply_nested_xml_is_malformed_not_a_crash() {
    for extra in [&[][..], &["--no-auth"][..]] {
        let serve = Serve::start(extra);
        assert_eq!(signed(&serve, "PUT", "/bomb", b"").0, 200);
        assert_eq!(signed(&serve, "PUT", "/bomb/k", b"x").0, 200);
        let (status, answer) = signed(&serve, "POST", "/bomb/k?restore", &nested(50_000));
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("MalformedXML"), "{answer}");
        // S3 Control's CreateJob reads XML too.
        let a = addr(&serve);
        let job = request_bytes(
            &a,
            "POST",
            "/v20180820/jobs",
            &[("x-amz-account-id", "111122223333")],
            &[],
            &nested(50_000),
            true,
        );
        let (status, answer) = exchange(&a, &job);
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("MalformedXML"), "{answer}");
        // 200,000 sibling elements: refused by count.
        let mut wide = b"<Delete>".to_vec();
        wide.extend(b"<Object/>".repeat(200_000));
        wide.extend(b"</Delete>");
        let (status, answer) = signed(&serve, "POST", "/bomb?delete", &wide);
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("MalformedXML"), "{answer}");
        // Still serving.
        assert_eq!(signed(&serve, "GET", "/bomb/k", b"").0, 200);
        let (status, log) = serve.stop();
        assert!(status.success(), "serve did not survive: {status:?}\n{log}");
    }
}

/// Issue 13.3: an unsigned PUT announcing 500 MB is refused from its headers, before a byte of
/// its body is read (it used to be buffered whole first).
#[test]
fn unauthenticated_bodies_are_refused_before_reading() {
    let serve = Serve::start(&[]);
    let a = addr(&serve);
    assert_eq!(signed(&serve, "PUT", "/big", b"").0, 200);
    let started = Instant::now();
    let mut head = format!(
        "PUT /big/k HTTP/1.1\r\nhost: {a}\r\ncontent-length: 500000000\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    head.extend_from_slice(&[b'x'; 1024]);
    let (status, answer) = exchange(&a, &head);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("AccessDenied"), "{answer}");
    // The same with a wrong signature over a declared hash.
    let mut forged = request_bytes(
        &a,
        "PUT",
        "/big/k",
        &[
            ("content-length", "500000000"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ],
        &[],
        b"",
        true,
    );
    let text = String::from_utf8(forged.clone()).unwrap();
    let tampered = text.replace("PUT /big/k", "PUT /big/other");
    forged = tampered.into_bytes();
    let (status, answer) = exchange(&a, &forged);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("SignatureDoesNotMatch"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refusals waited for bodies: {:?}",
        started.elapsed()
    );
}

/// Issue 13.4: an unsigned `x-amz-copy-source` turned a signed empty PUT into a copy, and an
/// unsigned `x-amz-storage-class` changed the class.
#[test]
fn unsigned_amz_headers_are_refused() {
    let serve = Serve::start(&[]);
    let a = addr(&serve);
    assert_eq!(signed(&serve, "PUT", "/hdr", b"").0, 200);
    assert_eq!(signed(&serve, "PUT", "/hdr/source", b"secret data").0, 200);
    let copy = request_bytes(
        &a,
        "PUT",
        "/hdr/target",
        &[],
        &[("x-amz-copy-source", "/hdr/source")],
        b"",
        true,
    );
    let (status, answer) = exchange(&a, &copy);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("AccessDenied"), "{answer}");
    assert!(answer.contains("x-amz-copy-source"), "{answer}");
    assert_eq!(signed(&serve, "GET", "/hdr/target", b"").0, 404);
    let class = request_bytes(
        &a,
        "PUT",
        "/hdr/classy",
        &[],
        &[("x-amz-storage-class", "DEEP_ARCHIVE")],
        b"data",
        true,
    );
    assert_eq!(exchange(&a, &class).0, 403);
    // Signed, the same headers are honoured.
    let copy = request_bytes(
        &a,
        "PUT",
        "/hdr/target",
        &[("x-amz-copy-source", "/hdr/source")],
        &[],
        b"",
        true,
    );
    let (status, answer) = exchange(&a, &copy);
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = signed(&serve, "GET", "/hdr/target", b"");
    assert_eq!(status, 200);
    assert!(answer.ends_with("secret data"), "{answer}");
}

/// Issue 13.12: `--allow-remote` with the published default secret is refused.
#[test]
fn allow_remote_needs_a_secret_of_ones_own() {
    let home = tempfile::tempdir().expect("temp dir");
    let state = home.path().join("state");
    let state = state.to_str().expect("utf-8 path");
    let refused = s3thaw(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--allow-remote",
            "--state",
            state,
        ],
        &[],
        home.path(),
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("default secret"), "{stderr}");
    let serve = Serve::start(&["--allow-remote", "--secret-access-key", "a-secret-of-mine"]);
    // Requests signed with the published secret are now refused.
    let (status, answer) = signed(&serve, "GET", "/", b"");
    assert_eq!(status, 403, "{answer}");
}

/// Issue 13.5: `sleep(3)` reached Rhai's built-in sleep: the virtual clock stood still and
/// `sleep(9223372036854775807)` hung for good. Every `sleep` is s3thaw's.
#[test]
fn every_sleep_is_ours_and_moves_the_virtual_clock() {
    let world = World::new();
    let moved = world.eval(
        r#"
        let before = now();
        let started = timestamp();
        sleep(3600);
        sleep(1.5);
        let after = now();
        [before, after, started.elapsed]
        "#,
    );
    let moved = match moved {
        Ok(v) => v.into_array().expect("an array"),
        Err(e) => panic!("script failed: {e:?}"),
    };
    let parse = |v: &rhai::Dynamic| {
        time::OffsetDateTime::parse(
            &v.to_string(),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("an RFC 3339 time")
    };
    let advanced = parse(&moved[1]) - parse(&moved[0]);
    assert!(
        advanced >= time::Duration::seconds(3601),
        "the virtual clock moved only {advanced}"
    );
    let real: f64 = moved[2].as_float().expect("elapsed seconds");
    assert!(real < 1.0, "the sleeps really slept {real}s");
    for huge in [
        "sleep(9223372036854775807)",
        "sleep(-1)",
        "sleep(1e300)",
        r#"sleep("999999999999999999999s")"#,
        r#"sim::advance("3650000d")"#,
    ] {
        let e = world.error(huge);
        assert_eq!(e.code, "InvalidArgument", "{huge}: {e:?}");
    }
}

/// Issue 13.6: `sim::advance("3650000d")` left every timestamp at 1970; repeated advances
/// overflowed the offset; the admin endpoint took `seconds=3e11`. The clock refuses to pass
/// year 9999 and stays usable.
#[test]
fn the_clock_refuses_to_overflow() {
    let world = World::new();
    for _ in 0..3 {
        // 100 years at a time: year 9999 is reached within 80 advances.
        let e = world.error(r#"for i in 0..100 { sim::advance("36500d"); }"#);
        assert_eq!(e.code, "InvalidArgument", "{e:?}");
    }
    let year = world
        .eval(r#"now()"#)
        .expect("the clock still reads")
        .to_string();
    assert!(year.starts_with("99"), "{year}");
    let serve = Serve::start(&["--no-auth"]);
    for seconds in ["3e11", "1e300", "-1", "NaN", "inf"] {
        let (status, answer) = signed(
            &serve,
            "POST",
            &format!("/_s3thaw/clock/advance?seconds={seconds}"),
            b"",
        );
        assert_eq!(status, 400, "{seconds}: {answer}");
        assert!(answer.contains("InvalidArgument"), "{answer}");
        assert!(!answer.contains("panicked"), "{answer}");
    }
    let (status, answer) = signed(&serve, "GET", "/_s3thaw/clock", b"");
    assert_eq!(status, 200);
    assert!(!answer.contains("1970-"), "{answer}");
}

/// The value of an XML element in an answer.
fn element(answer: &str, name: &str) -> String {
    answer
        .split(&format!("<{name}>"))
        .nth(1)
        .and_then(|rest| rest.split(&format!("</{name}>")).next())
        .unwrap_or_else(|| panic!("no <{name}> in {answer}"))
        .to_string()
}

/// Issue 13.2: a failed CompleteMultipartUpload deleted the whole upload, so the SDK's retry got
/// `NoSuchUpload`. Only a successful Complete or an Abort ends an upload.
#[test]
fn a_failed_complete_keeps_the_upload() {
    let serve = Serve::start(&[]);
    assert_eq!(signed(&serve, "PUT", "/mpu", b"").0, 200);
    let (status, answer) = signed(&serve, "POST", "/mpu/big?uploads", b"");
    assert_eq!(status, 200, "{answer}");
    let id = element(&answer, "UploadId");
    let (status, answer) = signed(
        &serve,
        "PUT",
        &format!("/mpu/big?partNumber=1&uploadId={id}"),
        b"the only part",
    );
    assert_eq!(status, 200, "{answer}");
    let etag = answer
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an ETag header")
        .trim()
        .to_string();
    let complete = |parts: &[(u32, &str)]| {
        let mut body = "<CompleteMultipartUpload>".to_string();
        for (n, e) in parts {
            body.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
            ));
        }
        body.push_str("</CompleteMultipartUpload>");
        signed(
            &serve,
            "POST",
            &format!("/mpu/big?uploadId={id}"),
            body.as_bytes(),
        )
    };
    let (status, answer) = complete(&[(1, "\"0123456789abcdef0123456789abcdef\"")]);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("InvalidPart"), "{answer}");
    let (status, answer) = complete(&[(2, &etag)]);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("InvalidPart"), "{answer}");
    // The retry with the right list succeeds: the parts were kept.
    let (status, answer) = complete(&[(1, &etag)]);
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = signed(&serve, "GET", "/mpu/big", b"");
    assert_eq!(status, 200);
    assert!(answer.ends_with("the only part"), "{answer}");
}

/// Issue 13.10: `%FF%FE` and `%FE%FF` decoded to the same key (lossily), so one PUT overwrote
/// the other. S3 refuses keys that are not UTF-8 once decoded.
#[test]
fn keys_that_are_not_utf8_are_refused() {
    let serve = Serve::start(&[]);
    assert_eq!(signed(&serve, "PUT", "/keys", b"").0, 200);
    for key in ["%FF%FE", "%FE%FF", "a%C3"] {
        let (status, answer) = signed(&serve, "PUT", &format!("/keys/{key}"), b"data");
        assert_eq!(status, 400, "{key}: {answer}");
        assert!(answer.contains("InvalidURI"), "{answer}");
    }
    let (status, answer) = signed(&serve, "PUT", "/keys/%C3%A9t%C3%A9", b"summer");
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = signed(&serve, "GET", "/keys?list-type=2", b"");
    assert_eq!(status, 200);
    assert!(answer.contains("<KeyCount>1</KeyCount>"), "{answer}");
    let a = addr(&serve);
    let copy = request_bytes(
        &a,
        "PUT",
        "/keys/copy",
        &[("x-amz-copy-source", "/keys/%FF%FE")],
        &[],
        b"",
        true,
    );
    let (status, answer) = exchange(&a, &copy);
    assert_eq!(status, 400, "{answer}");
}

/// Issue 13.10: `m.write` replaces its file whole (temporary file and rename), never leaving a
/// partial file or its temporary behind.
#[test]
fn manifest_writes_are_atomic() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("m.csv");
    std::fs::write(&path, "old contents\n").expect("seed the file");
    let script = format!(
        r#"let m = manifest::from_keys("b", ["a", "b", "c"]); m.write("{}");"#,
        path.display()
    );
    world.run(&script);
    let written = std::fs::read_to_string(&path).expect("the manifest");
    assert_eq!(written.lines().count(), 3, "{written}");
    assert!(!written.contains("old contents"));
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries.len(), 1, "temporary files left: {entries:?}");
    // A directory in the way: refused, nothing left behind.
    let e = world.error(&format!(
        r#"let m = manifest::from_keys("b", ["a"]); m.write("{}");"#,
        dir.path().display()
    ));
    assert_eq!(e.code, "InvalidArgument", "{e:?}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
}

/// Issue 13.8: with few file descriptors, 370 half-sent requests made `serve` log "accept
/// failed" 3 million times in 5 s. It backs off and logs once per burst, and closes idle and
/// slow-header connections after `--header-timeout`.
#[test]
fn connection_floods_back_off_and_time_out() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    let state = tempfile::tempdir().expect("temp dir");
    let command = format!(
        "ulimit -n 64 && exec '{}' serve --bind 127.0.0.1:0 --no-auth --header-timeout 2 --state '{}'",
        env!("CARGO_BIN_EXE_s3thaw"),
        state.path().display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &command])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let stderr = child.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let a = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("serve did not start: {}", log.lock().unwrap()));
    // 150 half-sent requests: more than the descriptors serve has.
    let mut flood: Vec<TcpStream> = (0..150)
        .filter_map(|_| TcpStream::connect(&a).ok())
        .collect();
    for stream in &mut flood {
        let _ = stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n");
    }
    std::thread::sleep(Duration::from_secs(5));
    let accept_lines = log.lock().unwrap().matches("accept failed").count();
    assert!(
        accept_lines <= 10,
        "{accept_lines} accept-failure lines:\n{}",
        log.lock().unwrap()
    );
    // The slow connections serve took were closed by the header timeout.
    let mut closed = 0;
    for stream in &mut flood {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        if stream.read(&mut buf).is_ok() {
            closed += 1;
        }
    }
    assert!(closed > 0, "no half-sent connection was closed");
    drop(flood);
    // An idle connection is closed too.
    let mut idle = TcpStream::connect(&a).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(0) = idle.read(&mut buf) {
            break;
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(14),
        "an idle connection stayed open"
    );
    // Serving again.
    let (status, _) = exchange(
        &a,
        format!("GET /_s3thaw/clock HTTP/1.1\r\nhost: {a}\r\nconnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 200);
    let _ = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status();
    let status = child.wait().expect("serve stops");
    assert!(status.success(), "{status:?}\n{}", log.lock().unwrap());
}

/// The byte at `offset` of the synthetic body of seeded key `key`: the key and a newline,
/// repeated.
fn synthetic_byte(key: &str, offset: u64) -> u8 {
    let pattern = format!("{key}\n").into_bytes();
    pattern[(offset % pattern.len() as u64) as usize]
}

/// The body of an answer (after the blank line).
fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Issue 13.9: GET, a 10-byte range GET or a copy of an object seeded with a 1 TB size aborted
/// `serve` (allocation failure), then were refused. Now ranges are computed from the offset and
/// whole bodies streamed: nothing is built, whatever the size.
#[test]
fn huge_seeded_objects_are_served_without_building_them() {
    const TB: u64 = 1_099_511_627_776;
    let world = World::new();
    world.run(
        r#"s3::create_bucket("huge");
           sim::seed_objects("huge", 1, #{ prefix: "tb-", size: 1099511627776, storage_class: "STANDARD" });
           sim::seed_objects("huge", 1, #{ prefix: "small-", size: 10, storage_class: "STANDARD" });"#,
    );
    let serve = Serve::start_with_state(world.state());
    let a = addr(&serve);
    let big = "tb-000000";
    // A 10-byte range far into the object: 206, its bytes, Content-Range and Content-Length.
    let (first, last) = (1_000_000_000_003u64, 1_000_000_000_012u64);
    let range = format!("bytes={first}-{last}");
    let (status, answer) = exchange(
        &a,
        &request_bytes(
            &a,
            "GET",
            &format!("/huge/{big}"),
            &[("range", &range)],
            &[],
            b"",
            true,
        ),
    );
    assert_eq!(status, 206, "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains(&format!("content-range: bytes {first}-{last}/{TB}")),
        "{answer}"
    );
    assert!(lower.contains("content-length: 10\r\n"), "{answer}");
    let expected: Vec<u8> = (first..=last).map(|o| synthetic_byte(big, o)).collect();
    assert_eq!(body_of(&answer).as_bytes(), expected.as_slice(), "{answer}");
    // The last bytes by a suffix range; past the end is 416 InvalidRange.
    let (status, answer) = exchange(
        &a,
        &request_bytes(
            &a,
            "GET",
            &format!("/huge/{big}"),
            &[("range", "bytes=-4")],
            &[],
            b"",
            true,
        ),
    );
    assert_eq!(status, 206, "{answer}");
    let expected: Vec<u8> = (TB - 4..TB).map(|o| synthetic_byte(big, o)).collect();
    assert_eq!(body_of(&answer).as_bytes(), expected.as_slice());
    let past = format!("bytes={TB}-");
    let (status, answer) = exchange(
        &a,
        &request_bytes(
            &a,
            "GET",
            &format!("/huge/{big}"),
            &[("range", &past)],
            &[],
            b"",
            true,
        ),
    );
    assert_eq!(status, 416, "{answer}");
    assert!(answer.contains("InvalidRange"), "{answer}");
    // HEAD tells the size; a whole GET starts streaming with the full Content-Length (read
    // its first bytes, then hang up: serve stops reading for it).
    let (status, answer) = signed(&serve, "HEAD", &format!("/huge/{big}"), b"");
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains(&format!("content-length: {TB}")),
        "{answer}"
    );
    {
        let mut stream = TcpStream::connect(&a).expect("connect to serve");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream
            .write_all(&request_bytes(
                &a,
                "GET",
                &format!("/huge/{big}"),
                &[],
                &[],
                b"",
                true,
            ))
            .expect("send");
        let mut got = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        while got.len() < 256 * 1024 {
            let n = stream.read(&mut buf).expect("read the streamed body");
            assert!(
                n > 0,
                "the stream ended early: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got).into_owned();
        assert!(
            text.starts_with("HTTP/1.1 200"),
            "{}",
            &text[..200.min(text.len())]
        );
        assert!(
            text.to_ascii_lowercase()
                .contains(&format!("content-length: {TB}"))
        );
        let body = body_of(&text);
        assert!(
            body.starts_with("tb-000000\ntb-000000\n"),
            "{}",
            &body[..40]
        );
    }
    // A copy of 1 TB is over CopyObject's 5 GB: AWS's 400 InvalidRequest, not a crash.
    let copy = request_bytes(
        &a,
        "PUT",
        "/huge/copy",
        &[("x-amz-copy-source", &format!("/huge/{big}"))],
        &[],
        b"",
        true,
    );
    let (status, answer) = exchange(&a, &copy);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("InvalidRequest"), "{answer}");
    // A copy of a small seeded object stays synthetic with the source's ETag (the MD5 of the
    // same bytes), and reads back the same bytes under its new key.
    let small = "small-000000";
    let copy = request_bytes(
        &a,
        "PUT",
        "/huge/small-copy",
        &[("x-amz-copy-source", &format!("/huge/{small}"))],
        &[],
        b"",
        true,
    );
    let (status, answer) = exchange(&a, &copy);
    assert_eq!(status, 200, "{answer}");
    let source_etag = signed(&serve, "HEAD", &format!("/huge/{small}"), b"").1;
    let etag_of = |head: &str| {
        head.lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("etag: ")
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no ETag in {head}"))
    };
    assert_eq!(
        element(&answer, "ETag").replace("&quot;", "\""),
        etag_of(&source_etag)
    );
    assert_eq!(
        etag_of(&signed(&serve, "HEAD", "/huge/small-copy", b"").1),
        etag_of(&source_etag)
    );
    let (status, answer) = signed(&serve, "GET", "/huge/small-copy", b"");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(body_of(&answer), "small-0000");
}

/// Day counts that overflow or that no timestamp can hold are refused by the one rule
/// (`backend::restore_days`), wherever they come from; a long but representable one works and
/// shows a real expiry, never 1970.
#[test]
fn restore_days_are_bounded_everywhere() {
    let world = crate::common::World::new();
    let r = world.map(
        r#"s3::create_bucket("days");
        s3::put_object("days", "a", "x", #{ storage_class: "GLACIER" });
        s3::put_object("days", "b", "x", #{ storage_class: "GLACIER" });
        let m = manifest::from_keys("days", ["b"]);
        let codes = [];
        for d in [4294967297, 4294967295, 1000001, 0, -1] {
            try { s3::restore_object("days", "a", #{ days: d }); codes.push("accepted"); } catch (e) { codes.push(e.code); }
            try { restore::direct(m, #{ days: d }); codes.push("accepted"); } catch (e) { codes.push(e.code); }
            try { batch::restore_operation(#{ days: d, tier: "BULK" }); codes.push("accepted"); } catch (e) { codes.push(e.code); }
        }
        s3::restore_object("days", "a", #{ days: 1000000, tier: "EXPEDITED" });
        sleep("1h");
        #{ codes: codes, expiry: s3::head_object("days", "a").restore.expiry }"#,
    );
    let codes: Vec<String> = crate::common::a(&r, "codes")
        .into_iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(codes.len(), 15);
    assert!(
        codes
            .iter()
            .all(|c| c == "InvalidArgument" || c == "InvalidRequest"),
        "{codes:?}"
    );
    let expiry = crate::common::s(&r, "expiry");
    assert!(expiry.as_str() > "4000-01-01", "{expiry}");
}

/// Another process holding the simulator's state: a run waits for it (SQLite's busy handler,
/// retried) and gets through once it lets go; past `S3THAW_BUSY_LIMIT` it stops with
/// `StateBusy` and exit code 1 (a runtime condition, not the usage code 2).
#[test]
fn a_busy_state_is_waited_for_then_refused_with_state_busy() {
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let world = World::new();
    world.run(r#"s3::create_bucket("busy");"#);
    let script = world.state().join("list.rhai");
    std::fs::write(&script, "print(`buckets: ${s3::list_buckets().len()}`);").unwrap();
    let run = |limit: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
        cmd.arg("run")
            .arg(&script)
            .arg("--state")
            .arg(world.state())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(limit) = limit {
            cmd.env("S3THAW_BUSY_LIMIT", limit);
        }
        cmd
    };
    let holder = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    // Held for longer than the run waits.
    let out = run(Some("1")).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("StateBusy"), "{stderr}");
    assert!(stderr.contains("stayed locked"), "{stderr}");

    // Held for a while, then let go: the run (default limit) waits and succeeds.
    let child = run(None).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    holder.execute_batch("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("buckets: 1"));
}

/// kill -9 during `sim::seed_objects`: the seed is one transaction, so a killed seed leaves
/// none of its objects, and the same call run again gives all of them (once each).
#[test]
fn a_seed_killed_midway_leaves_nothing_and_runs_again_whole() {
    use std::process::{Command, Stdio};
    use std::time::Duration;

    const N: i64 = 100_000;
    let world = World::new();
    world.run(r#"s3::create_bucket("seeded");"#);
    let script = world.state().join("seed.rhai");
    std::fs::write(
        &script,
        format!(
            r#"sim::seed_objects("seeded", {N}, #{{ prefix: "k/", storage_class: "GLACIER" }});"#
        ),
    )
    .unwrap();
    let count = || -> i64 {
        let conn = rusqlite::Connection::open(world.state().join("sim.sqlite3")).unwrap();
        conn.query_row(
            "SELECT COUNT(*) FROM objects WHERE bucket = 'seeded'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let seed = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
        cmd.arg("run")
            .arg(&script)
            .arg("--state")
            .arg(world.state())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };
    for delay_ms in [150u64, 600] {
        let mut child = seed().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let n = count();
        assert!(n == 0 || n == N, "a killed seed left {n} of {N} objects");
    }
    for _ in 0..2 {
        let out = seed().output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(count(), N);
    }
}

/// Stored bodies over 8 MiB are streamed out of the simulator a chunk at a time: the whole
/// body and a range across chunk boundaries come back byte for byte, with their lengths.
#[test]
fn large_stored_bodies_stream_back_whole_and_in_ranges() {
    let world = World::new();
    world.run(r#"s3::create_bucket("streamed");"#);
    let serve = Serve::start_with_state(world.state());
    let a = addr(&serve);
    // 9 MiB + 3 of ASCII digits, different at every offset modulo 10,007.
    let body: Vec<u8> = (0..9 * 1024 * 1024 + 3u32)
        .map(|i| (b'0' + ((i % 10_007) % 10) as u8) ^ (((i / 10_007) % 2) as u8))
        .collect();
    let (status, answer) = signed(&serve, "PUT", "/streamed/nine", &body);
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = signed(&serve, "GET", "/streamed/nine", b"");
    assert_eq!(status, 200, "{}", &answer[..300.min(answer.len())]);
    assert!(
        answer
            .to_ascii_lowercase()
            .contains(&format!("content-length: {}\r\n", body.len())),
        "{}",
        &answer[..300]
    );
    assert!(
        body_of(&answer).as_bytes() == body.as_slice(),
        "the streamed body differs"
    );
    // Over 8 MiB too, so streamed, and across chunk boundaries.
    let (first, last) = (1024 * 1024 - 5, body.len() - 2);
    let range = format!("bytes={first}-{last}");
    let (status, answer) = exchange(
        &a,
        &request_bytes(
            &a,
            "GET",
            "/streamed/nine",
            &[("range", &range)],
            &[],
            b"",
            true,
        ),
    );
    assert_eq!(status, 206, "{}", &answer[..300.min(answer.len())]);
    assert!(answer.to_ascii_lowercase().contains(&format!(
        "content-range: bytes {first}-{last}/{}",
        body.len()
    )));
    assert!(
        body_of(&answer).as_bytes() == &body[first..=last],
        "the streamed range differs"
    );
}
