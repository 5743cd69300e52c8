//! Object bodies through the real `serve` on 127.0.0.1 (issue 13): streamed to a file in the
//! state directory while hashed, `aws-chunked` decoded with each chunk's signature checked,
//! refused with AWS's code and nothing stored when they do not match, and multipart uploads
//! kept in the state so that they survive a restart of `serve`. Behaviour only: the memory
//! these take is measured by `benches/big_upload.py` (BENCHMARKS.md).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use md5::{Digest, Md5};
use s3thaw::sigv4::{ChunkSigning, Credentials, SignedRequest, sign_payload};
use time::OffsetDateTime;

use crate::support::serve::*;

fn credentials() -> Credentials {
    Credentials {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
    }
}

/// An answer: status, lower-case headers, body bytes.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn element(&self, name: &str) -> String {
        let text = self.text();
        text.split(&format!("<{name}>"))
            .nth(1)
            .and_then(|rest| rest.split(&format!("</{name}>")).next())
            .unwrap_or_else(|| panic!("no <{name}> in {text}"))
            .to_string()
    }
}

/// Adds SigV4 headers (signed with the test credentials, now) for `method path?query` with the
/// given payload hash to `headers`, which must already hold every header to sign.
fn sign_into(
    headers: &mut Vec<(String, String)>,
    method: &str,
    path: &str,
    query: &str,
    hash: &str,
) {
    let signed = sign_payload(
        &SignedRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers,
            body: b"",
        },
        hash,
        &credentials(),
        None,
        "us-east-1",
        "s3",
        OffsetDateTime::now_utc(),
    );
    headers.extend(signed);
}

/// Sends one request, signed over `payload_hash` (the hash of `signed_body` unless given),
/// with `body` as the bytes actually sent, and reads the whole answer.
fn send(
    serve: &Serve,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    payload_hash: Option<&str>,
    body: &[u8],
) -> Answer {
    let addr = serve.url.trim_start_matches("http://").to_string();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut all: Vec<(String, String)> = vec![("host".into(), addr.clone())];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let hash = payload_hash
        .map(str::to_string)
        .unwrap_or_else(|| hex::encode(sha2::Sha256::digest(body)));
    sign_into(&mut all, method, path, query, &hash);
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (n, v) in &all {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut stream = TcpStream::connect(&addr).expect("connect to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    stream.write_all(head.as_bytes()).expect("send the head");
    // A refused body may be cut short by the server: what matters is its answer.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(&answer)));
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: answer[split + 4..].to_vec(),
    }
}

/// Bytes that are not all alike, so a shifted or reordered piece would show.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// A body in signed `aws-chunked` framing, `chunk` bytes a chunk, signed from the request's
/// own signature (its `authorization` header) on.
fn signed_chunks(data: &[u8], chunk: usize, authorization: &str, amz_date: &str) -> Vec<u8> {
    let mut signing = ChunkSigning::new(authorization, amz_date, &credentials()).unwrap();
    let mut body = Vec::new();
    for piece in data.chunks(chunk).chain(std::iter::once(&[][..])) {
        let signature = signing.sign_next(piece);
        body.extend(format!("{:x};chunk-signature={signature}\r\n", piece.len()).into_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    body
}

/// Signed `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` PUT of `data`; `tamper` may change the framed
/// body after it was signed.
fn put_streaming(
    serve: &Serve,
    target: &str,
    data: &[u8],
    tamper: impl Fn(&mut Vec<u8>),
) -> Answer {
    let addr = serve.url.trim_start_matches("http://").to_string();
    let decoded = data.len().to_string();
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), addr),
        ("content-encoding".into(), "aws-chunked".into()),
        ("x-amz-decoded-content-length".into(), decoded.clone()),
    ];
    sign_into(
        &mut headers,
        "PUT",
        target,
        "",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let mut body = signed_chunks(data, 64 * 1024, &find("authorization"), &find("x-amz-date"));
    tamper(&mut body);
    // Sent with exactly the headers signed (`send` would sign again).
    raw(serve, "PUT", target, &headers, &body)
}

/// Sends a request with exactly these headers (already signed) and body.
fn raw(
    serve: &Serve,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Answer {
    let addr = serve.url.trim_start_matches("http://").to_string();
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut stream = TcpStream::connect(&addr).expect("connect to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    stream.write_all(head.as_bytes()).expect("send the head");
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    Answer {
        status,
        headers: Vec::new(),
        body: answer[split + 4..].to_vec(),
    }
}

/// A signed request to the multipart upload `id` of `object` (`/bucket/key`): list its parts
/// (GET), complete (POST) or abort it (DELETE).
fn on_upload(serve: &Serve, method: &str, object: &str, id: &str, body: &[u8]) -> Answer {
    send(
        serve,
        method,
        &format!("{object}?uploadId={id}"),
        &[],
        None,
        body,
    )
}

fn get(serve: &Serve, target: &str) -> Answer {
    send(serve, "GET", target, &[], None, b"")
}

/// A signed 3 MB PUT is stored byte for byte (ETag the MD5); one whose bytes are not those
/// its `x-amz-content-sha256` declares is refused with `XAmzContentSHA256Mismatch`, and one
/// whose `Content-MD5` does not match with `BadDigest`: neither leaves anything behind.
#[test]
fn signed_bodies_round_trip_and_mismatches_store_nothing() {
    let state = tempfile::tempdir().unwrap();
    let serve = Serve::start_with_state(state.path());
    assert_eq!(send(&serve, "PUT", "/bodies", &[], None, b"").status, 200);
    let data = pattern(3_000_000, 1);
    let put = send(&serve, "PUT", "/bodies/big", &[], None, &data);
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        put.header("etag"),
        Some(format!("\"{}\"", hex::encode(Md5::digest(&data))).as_str())
    );
    let back = get(&serve, "/bodies/big");
    assert_eq!(back.status, 200);
    assert!(
        back.body == data,
        "the object's bytes differ from the PUT's"
    );

    // Signed over one body, sent another of the same length.
    let other = pattern(3_000_000, 2);
    let hash = hex::encode(sha2::Sha256::digest(&data));
    let refused = send(&serve, "PUT", "/bodies/swapped", &[], Some(&hash), &other);
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused
            .text()
            .contains("<Code>XAmzContentSHA256Mismatch</Code>"),
        "{}",
        refused.text()
    );
    assert_eq!(get(&serve, "/bodies/swapped").status, 404);

    let wrong_md5 = send(
        &serve,
        "PUT",
        "/bodies/digest",
        &[("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")],
        None,
        &other,
    );
    assert_eq!(wrong_md5.status, 400, "{}", wrong_md5.text());
    assert!(wrong_md5.text().contains("<Code>BadDigest</Code>"));
    assert_eq!(get(&serve, "/bodies/digest").status, 404);

    // UNSIGNED-PAYLOAD is taken on the request's signature.
    let unsigned = send(
        &serve,
        "PUT",
        "/bodies/unsigned",
        &[],
        Some("UNSIGNED-PAYLOAD"),
        &other,
    );
    assert_eq!(unsigned.status, 200, "{}", unsigned.text());
    assert!(get(&serve, "/bodies/unsigned").body == other);
    // Nothing staged is left in the state directory's tmp/.
    let staged: Vec<_> = std::fs::read_dir(state.path().join("tmp"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(staged.is_empty(), "{staged:?}");
}

/// A body in signed chunks is decoded as it arrives and every chunk's signature checked: the
/// object is the decoded bytes; one changed byte in the third chunk is `SignatureDoesNotMatch`
/// and stores nothing.
#[test]
fn signed_chunks_are_checked_as_they_arrive() {
    let serve = Serve::start(&[]);
    assert_eq!(send(&serve, "PUT", "/chunks", &[], None, b"").status, 200);
    let data = pattern(300_000, 3);
    let ok = put_streaming(&serve, "/chunks/good", &data, |_| {});
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(get(&serve, "/chunks/good").body == data);
    let bad = put_streaming(&serve, "/chunks/bad", &data, |body| {
        let at = 3 * 64 * 1024;
        body[at] ^= 1;
    });
    assert_eq!(bad.status, 403, "{}", bad.text());
    assert!(
        bad.text().contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        bad.text()
    );
    assert_eq!(get(&serve, "/chunks/bad").status, 404);
}

/// Issue 13.2: an upload lives in the state directory, not in `serve`'s memory. Parts sent to
/// one `serve`, completed through another on the same `--state`, make the object byte for
/// byte, with S3's multipart ETag (`-2`).
#[test]
fn multipart_uploads_survive_a_restart_of_serve() {
    let state = tempfile::tempdir().unwrap();
    let first = pattern(5 * 1024 * 1024, 4);
    let second = pattern(123_457, 5);
    let (id, etags) = {
        let serve = Serve::start_with_state(state.path());
        assert_eq!(send(&serve, "PUT", "/restart", &[], None, b"").status, 200);
        let created = send(&serve, "POST", "/restart/obj?uploads", &[], None, b"");
        assert_eq!(created.status, 200, "{}", created.text());
        let id = created.element("UploadId");
        let mut etags = Vec::new();
        for (n, part) in [(1, &first), (2, &second)] {
            let put = send(
                &serve,
                "PUT",
                &format!("/restart/obj?partNumber={n}&uploadId={id}"),
                &[],
                None,
                part,
            );
            assert_eq!(put.status, 200, "{}", put.text());
            etags.push(put.header("etag").expect("an ETag").to_string());
        }
        let (status, _) = serve.stop();
        assert!(status.success());
        (id, etags)
    };
    let serve = Serve::start_with_state(state.path());
    let parts = on_upload(&serve, "GET", "/restart/obj", &id, b"");
    assert_eq!(parts.status, 200, "{}", parts.text());
    assert_eq!(
        parts.text().matches("<Part>").count(),
        2,
        "{}",
        parts.text()
    );
    let listed = send(&serve, "GET", "/restart?uploads", &[], None, b"");
    assert!(listed.text().contains(&id), "{}", listed.text());
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        etags[0], etags[1]
    );
    let done = on_upload(&serve, "POST", "/restart/obj", &id, complete.as_bytes());
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(
        done.element("ETag").ends_with("-2&quot;") || done.element("ETag").ends_with("-2\""),
        "{}",
        done.text()
    );
    let back = get(&serve, "/restart/obj");
    assert_eq!(back.status, 200);
    let mut expected = first;
    expected.extend_from_slice(&second);
    assert!(back.body == expected, "the completed object's bytes differ");
    let after = send(&serve, "GET", "/restart?uploads", &[], None, b"");
    assert!(!after.text().contains(&id), "{}", after.text());
}

/// A `kill -9` while a part's body is arriving keeps the parts already stored and nothing of
/// the one cut short: after a restart the upload lists one part and completes with it.
#[test]
fn a_kill_mid_part_keeps_the_stored_parts_whole() {
    let state = tempfile::tempdir().unwrap();
    let first = pattern(5 * 1024 * 1024, 6);
    let (id, etag) = {
        let serve = Serve::start_with_state(state.path());
        assert_eq!(send(&serve, "PUT", "/killed", &[], None, b"").status, 200);
        let id = send(&serve, "POST", "/killed/obj?uploads", &[], None, b"").element("UploadId");
        let one = send(
            &serve,
            "PUT",
            &format!("/killed/obj?partNumber=1&uploadId={id}"),
            &[],
            None,
            &first,
        );
        assert_eq!(one.status, 200, "{}", one.text());
        // Part 2 announces 6 MiB, sends half, and serve is killed while it waits for the rest.
        let addr = serve.url.trim_start_matches("http://").to_string();
        let target = format!("/killed/obj?partNumber=2&uploadId={id}");
        let mut stream = TcpStream::connect(&addr).unwrap();
        let head = format!(
            "PUT {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n",
            6 * 1024 * 1024
        );
        let mut all: Vec<(String, String)> = vec![("host".into(), addr.clone())];
        sign_into(
            &mut all,
            "PUT",
            "/killed/obj",
            &format!("partNumber=2&uploadId={id}"),
            "UNSIGNED-PAYLOAD",
        );
        let mut request = head.into_bytes();
        for (n, v) in all
            .iter()
            .filter(|(n, _)| n != "host" && n != "x-amz-content-sha256")
        {
            request.extend(format!("{n}: {v}\r\n").into_bytes());
        }
        request.extend_from_slice(b"\r\n");
        request.extend(pattern(3 * 1024 * 1024, 7));
        stream.write_all(&request).unwrap();
        stream.flush().unwrap();
        // Another request answered meanwhile gives serve time to be staging the half body
        // (connections are served in parallel); however far it got, the cut part must not
        // appear after the restart.
        assert_eq!(get(&serve, "/killed?uploads").status, 200);
        serve.kill();
        (id, one.header("etag").unwrap().to_string())
    };
    let serve = Serve::start_with_state(state.path());
    let parts = on_upload(&serve, "GET", "/killed/obj", &id, b"");
    assert_eq!(parts.status, 200, "{}", parts.text());
    assert_eq!(
        parts.text().matches("<Part>").count(),
        1,
        "{}",
        parts.text()
    );
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let done = on_upload(&serve, "POST", "/killed/obj", &id, complete.as_bytes());
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(get(&serve, "/killed/obj").body == first);
}

/// The files under a state's `bodies/` (one per stored body or piece of one).
fn body_files(state: &std::path::Path) -> usize {
    std::fs::read_dir(state.join("bodies")).map_or(0, |d| d.count())
}

/// Uploads `parts` to a new upload of `/bkt/key` and returns its id and the parts' ETags.
fn upload_parts(serve: &Serve, target: &str, parts: &[&[u8]]) -> (String, Vec<String>) {
    let created = send(serve, "POST", &format!("{target}?uploads"), &[], None, b"");
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.element("UploadId");
    let etags = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let put = send(
                serve,
                "PUT",
                &format!("{target}?partNumber={}&uploadId={id}", i + 1),
                &[],
                None,
                part,
            );
            assert_eq!(put.status, 200, "{}", put.text());
            put.header("etag").expect("an ETag").to_string()
        })
        .collect();
    (id, etags)
}

fn complete_doc(etags: &[String]) -> String {
    let parts: String = etags
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{e}</ETag></Part>",
                i + 1
            )
        })
        .collect();
    format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>")
}

/// Issue 13: bodies are files in the state directory. UploadPartCopy of ranges of a stored
/// (not seeded) object, across the boundary of its parts and at its very end, copies exactly
/// those bytes with the MD5 of them as the part's ETag; after a restart of `serve` the objects
/// read back whole and in ranges at their end; deleting them removes every file.
#[test]
fn part_copies_of_stored_bodies_survive_a_restart_and_leave_no_file() {
    let state = tempfile::tempdir().unwrap();
    let first = pattern(5 * 1024 * 1024, 11);
    let second = pattern(3 * 1024 * 1024 + 17, 12);
    let mut source = first.clone();
    source.extend_from_slice(&second);
    {
        let serve = Serve::start_with_state(state.path());
        assert_eq!(send(&serve, "PUT", "/files", &[], None, b"").status, 200);
        let (id, etags) = upload_parts(&serve, "/files/source", &[&first, &second]);
        let done = on_upload(
            &serve,
            "POST",
            "/files/source",
            &id,
            complete_doc(&etags).as_bytes(),
        );
        assert_eq!(done.status, 200, "{}", done.text());
        // Part 1: 5 MiB from 2 MiB before the source's part boundary; part 2: its last 10 bytes.
        let created = send(&serve, "POST", "/files/copy?uploads", &[], None, b"");
        let copy_id = created.element("UploadId");
        let from = 3 * 1024 * 1024;
        let ranges = [
            (from, from + 5 * 1024 * 1024 - 1),
            (source.len() - 10, source.len() - 1),
        ];
        let mut copy_etags = Vec::new();
        for (n, (lo, hi)) in ranges.iter().enumerate() {
            let range = format!("bytes={lo}-{hi}");
            let put = send(
                &serve,
                "PUT",
                &format!("/files/copy?partNumber={}&uploadId={copy_id}", n + 1),
                &[
                    ("x-amz-copy-source", "/files/source"),
                    ("x-amz-copy-source-range", &range),
                ],
                None,
                b"",
            );
            assert_eq!(put.status, 200, "{}", put.text());
            let etag = put.element("ETag").replace("&quot;", "\"");
            assert_eq!(
                etag,
                format!("\"{}\"", hex::encode(Md5::digest(&source[*lo..=*hi])))
            );
            copy_etags.push(etag);
        }
        let done = send(
            &serve,
            "POST",
            &format!("/files/copy?uploadId={copy_id}"),
            &[],
            None,
            complete_doc(&copy_etags).as_bytes(),
        );
        assert_eq!(done.status, 200, "{}", done.text());
        let (status, _) = serve.stop();
        assert!(status.success());
    }
    let mut expected = source[3 * 1024 * 1024..8 * 1024 * 1024].to_vec();
    expected.extend_from_slice(&source[source.len() - 10..]);
    let serve = Serve::start_with_state(state.path());
    assert!(get(&serve, "/files/source").body == source);
    assert!(get(&serve, "/files/copy").body == expected);
    let tail = send(
        &serve,
        "GET",
        "/files/source",
        &[("range", "bytes=-7")],
        None,
        b"",
    );
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, &source[source.len() - 7..]);
    assert!(body_files(state.path()) >= 4);
    for key in ["source", "copy"] {
        let deleted = send(&serve, "DELETE", &format!("/files/{key}"), &[], None, b"");
        assert_eq!(deleted.status, 204, "{}", deleted.text());
    }
    assert_eq!(body_files(state.path()), 0);
}

/// A `kill -9` while CompleteMultipartUpload runs leaves either the upload with its parts
/// (a retried Complete then makes the object) or the object whole (the retry answers the same):
/// never half of either, and after the restart no file outlives what names it.
#[test]
fn a_kill_during_complete_leaves_the_upload_or_the_object_whole() {
    let parts: Vec<Vec<u8>> = (0..3)
        .map(|i| pattern(5 * 1024 * 1024 + i * 1000, 20 + i as u8))
        .collect();
    let whole: Vec<u8> = parts.concat();
    for delay_ms in [0u64, 5, 50] {
        let state = tempfile::tempdir().unwrap();
        let (id, etags) = {
            let serve = Serve::start_with_state(state.path());
            assert_eq!(send(&serve, "PUT", "/killed", &[], None, b"").status, 200);
            let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let (id, etags) = upload_parts(&serve, "/killed/obj", &slices);
            // Complete on its own connection, and serve killed without waiting for the answer.
            let addr = serve.url.trim_start_matches("http://").to_string();
            let doc = complete_doc(&etags);
            let target = format!("/killed/obj?uploadId={id}");
            let sender = std::thread::spawn({
                let doc = doc.clone();
                let target = target.clone();
                move || {
                    let _ = std::panic::catch_unwind(|| {
                        let mut stream = TcpStream::connect(&addr).unwrap();
                        let head = format!(
                            "POST {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            doc.len()
                        );
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(doc.as_bytes());
                        let mut sink = Vec::new();
                        let _ = stream.read_to_end(&mut sink);
                    });
                }
            });
            std::thread::sleep(Duration::from_millis(delay_ms));
            serve.kill();
            let _ = sender.join();
            (id, etags)
        };
        let serve = Serve::start_with_state(state.path());
        let listed = on_upload(&serve, "GET", "/killed/obj", &id, b"");
        let object = get(&serve, "/killed/obj");
        match (listed.status, object.status) {
            // Not completed: the upload and all its parts are there, and the object is not.
            (200, 404) => assert_eq!(listed.text().matches("<Part>").count(), 3),
            // Completed: the upload is gone and the object is whole.
            (404, 200) => assert!(object.body == whole, "a half-completed object"),
            other => panic!("after the kill: ListParts {}, GET {}", other.0, other.1),
        }
        // The client's retry succeeds either way.
        let retried = on_upload(
            &serve,
            "POST",
            "/killed/obj",
            &id,
            complete_doc(&etags).as_bytes(),
        );
        assert_eq!(retried.status, 200, "{}", retried.text());
        assert!(get(&serve, "/killed/obj").body == whole);
        assert_eq!(
            body_files(state.path()),
            3,
            "one file per part, now the object's"
        );
        let deleted = send(&serve, "DELETE", "/killed/obj", &[], None, b"");
        assert_eq!(deleted.status, 204);
        assert_eq!(body_files(state.path()), 0);
    }
}

/// AWS's limit on one request's body, 5 GiB: a PutObject or UploadPart announcing more is
/// 400 `EntityTooLarge` from its headers, before a byte of it is read or stored.
#[test]
fn bodies_over_5_gib_are_refused_from_their_length() {
    let serve = Serve::start(&[]);
    assert_eq!(send(&serve, "PUT", "/limits", &[], None, b"").status, 200);
    let id = send(&serve, "POST", "/limits/obj?uploads", &[], None, b"").element("UploadId");
    let addr = serve.url.trim_start_matches("http://").to_string();
    for (query, size) in [
        (String::new(), (5u64 << 30) + 1),
        (format!("partNumber=1&uploadId={id}"), (5u64 << 30) + 1),
    ] {
        let mut all: Vec<(String, String)> = vec![("host".into(), addr.clone())];
        sign_into(&mut all, "PUT", "/limits/obj", &query, "UNSIGNED-PAYLOAD");
        let target = if query.is_empty() {
            "/limits/obj".to_string()
        } else {
            format!("/limits/obj?{query}")
        };
        let mut head = format!("PUT {target} HTTP/1.1\r\ncontent-length: {size}\r\n");
        for (n, v) in &all {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&[0u8; 1024]).unwrap();
        let mut answer = [0u8; 4096];
        let n = stream.read(&mut answer).unwrap_or(0);
        let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("<Code>EntityTooLarge</Code>"), "{answer}");
    }
    assert_eq!(get(&serve, "/limits/obj").status, 404);
}

/// `serve --uploads-max-mib` sets how much uploads in progress may hold together: with 8 MiB,
/// a second 5 MiB part is refused with 400 `EntityTooLarge`, the first stays, and once the
/// upload is aborted the room comes back. A bad value is a usage error.
#[test]
fn uploads_max_mib_bounds_the_parts_held_by_uploads_in_progress() {
    let serve = Serve::start(&["--uploads-max-mib", "8"]);
    assert_eq!(send(&serve, "PUT", "/bounded", &[], None, b"").status, 200);
    let part = pattern(5 * 1024 * 1024, 6);
    let upload = |key: &str| {
        let created = send(
            &serve,
            "POST",
            &format!("/bounded/{key}?uploads"),
            &[],
            None,
            b"",
        );
        assert_eq!(created.status, 200, "{}", created.text());
        created.element("UploadId")
    };
    let put_part = |key: &str, id: &str, n: u32| {
        send(
            &serve,
            "PUT",
            &format!("/bounded/{key}?partNumber={n}&uploadId={id}"),
            &[],
            None,
            &part,
        )
    };
    let id = upload("big");
    assert_eq!(put_part("big", &id, 1).status, 200);
    let refused = put_part("big", &id, 2);
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("<Code>EntityTooLarge</Code>"),
        "{}",
        refused.text()
    );
    let listed = on_upload(&serve, "GET", "/bounded/big", &id, b"");
    assert!(
        listed.text().contains("<PartNumber>1</PartNumber>"),
        "{}",
        listed.text()
    );
    assert!(
        !listed.text().contains("<PartNumber>2</PartNumber>"),
        "{}",
        listed.text()
    );
    let aborted = on_upload(&serve, "DELETE", "/bounded/big", &id, b"");
    assert_eq!(aborted.status, 204, "{}", aborted.text());
    let again = upload("again");
    assert_eq!(put_part("again", &again, 1).status, 200);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3thaw"))
        .args(["serve", "--uploads-max-mib", "0"])
        .output()
        .expect("run s3thaw");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--uploads-max-mib"),
        "{out:?}"
    );
}
