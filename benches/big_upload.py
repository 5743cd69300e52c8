#!/usr/bin/env python3
"""Peak RSS of `s3thaw serve` under one big signed PUT and one big multipart upload (issue 13).

Standard library only (no boto3, no AWS CLI): SigV4 by hand, bodies streamed from a file.

    python3 benches/big_upload.py [--serve target/debug/s3thaw] [--mb 400] [--part-mb 8]
                                  [--skip-put | --stop-after-put] [--chunked]

Starts `serve` on a fresh state in a temporary directory, creates a bucket, then
  1. PUTs one MB-sized object signed over its SHA-256 (`x-amz-content-sha256: <hash>`),
  2. uploads the same bytes as a multipart upload of part-mb parts (each part signed over its
     hash) and completes it,
reads each back to check its bytes (streamed, hashed), and prints serve's peak RSS
(`VmHWM`) after each upload and after each read. Nothing here is timed against a limit; the figures go to
BENCHMARKS.md.
"""
import argparse, datetime, hashlib, hmac, http.client, os, re, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET

KEY_ID = "S3THAWTESTKEY0000001"
SECRET = "s3thaw/test/secret/0000000000000000000000"
REGION = "us-east-1"


def sign(method, path, query, headers, payload_hash, host):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = dict(headers)
    headers["host"] = host
    headers["x-amz-date"] = amz_date
    headers["x-amz-content-sha256"] = payload_hash
    names = sorted(h.lower() for h in headers)
    canonical_headers = "".join(f"{n}:{str(headers[n]).strip()}\n" for n in names)
    signed = ";".join(names)
    cq = "&".join(
        f"{k}={v}" for k, v in sorted(tuple(p.split("=", 1)) if "=" in p else (p, "") for p in query.split("&") if p)
    )
    creq = "\n".join([method, path, cq, canonical_headers, signed, payload_hash])
    scope = f"{day}/{REGION}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders={signed}, Signature={sig}"
    )
    return headers


def chunk_signer(headers, amz_date):
    """Signs each chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body over the previous
    signature, starting from the request's own."""
    seed = headers["authorization"].rsplit("Signature=", 1)[1]
    day = amz_date[:8]
    scope = f"{day}/{REGION}/s3/aws4_request"
    k = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    empty = hashlib.sha256(b"").hexdigest()
    state = {"previous": seed}

    def sign_chunk(data):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, state["previous"], empty,
                         hashlib.sha256(data).hexdigest()])
        state["previous"] = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        return state["previous"]

    return sign_chunk


def put_chunked(port, path, data, size, chunk):
    """A PUT in signed aws-chunked framing, streamed from the file."""
    host = f"127.0.0.1:{port}"
    h = sign("PUT", path, "", {"content-encoding": "aws-chunked",
                              "x-amz-decoded-content-length": str(size)},
             "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", host)
    sign_chunk = chunk_signer(h, h["x-amz-date"])
    sizes = [min(chunk, size - o) for o in range(0, size, chunk)] + [0]
    h["content-length"] = str(sum(len(f"{n:x};chunk-signature=") + 64 + 4 + n for n in sizes))

    def frames():
        with open(data, "rb") as f:
            for n in sizes:
                piece = f.read(n)
                yield f"{n:x};chunk-signature={sign_chunk(piece)}\r\n".encode() + piece + b"\r\n"

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("PUT", path, body=frames(), headers=h)
    return conn.getresponse()


def file_range_hash(path, offset, length):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while left:
            b = f.read(min(left, 1 << 20))
            h.update(b)
            left -= len(b)
    return h.hexdigest()


class Range:
    """A file slice that http.client streams (it reads bodies with .read(blocksize))."""

    def __init__(self, path, offset, length):
        self.f = open(path, "rb")
        self.f.seek(offset)
        self.left = length

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        b = self.f.read(n)
        self.left -= len(b)
        return b


def request(port, method, path, query="", body=None, length=0, payload_hash=None, headers=None):
    host = f"127.0.0.1:{port}"
    if payload_hash is None:
        payload_hash = hashlib.sha256(body if isinstance(body, bytes) else b"").hexdigest()
    h = sign(method, path, query, headers or {}, payload_hash, host)
    h["content-length"] = str(length if not isinstance(body, bytes) else len(body))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(method, path + ("?" + query if query else ""), body=body, headers=h)
    resp = conn.getresponse()
    return resp, conn


def read_all(resp):
    data = resp.read()
    if resp.status >= 300:
        sys.exit(f"{resp.status}: {data[:500]!r}")
    return data


def peak(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return -1


def get_hash(port, path):
    resp, _ = request(port, "GET", path)
    if resp.status != 200:
        sys.exit(f"GET {path}: {resp.status} {resp.read()[:300]!r}")
    h = hashlib.sha256()
    n = 0
    while True:
        b = resp.read(1 << 20)
        if not b:
            break
        n += len(b)
        h.update(b)
    return h.hexdigest(), n


def tail_range(port, path, data, size):
    """GETs the last 10 bytes (`Range: bytes=-10`) and compares them with the file's."""
    resp, _ = request(port, "GET", path, headers={"range": "bytes=-10"})
    got = resp.read()
    if resp.status != 206:
        sys.exit(f"range GET {path}: {resp.status} {got[:300]!r}")
    with open(data, "rb") as f:
        f.seek(size - 10)
        assert got == f.read(10), "the range read back differs"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", default="target/debug/s3thaw")
    ap.add_argument("--mb", type=int, default=400)
    ap.add_argument("--part-mb", type=int, default=8)
    ap.add_argument("--skip-put", action="store_true", help="only the multipart upload")
    ap.add_argument("--stop-after-put", action="store_true", help="only the single PUT")
    ap.add_argument("--chunked", action="store_true",
                    help="send the single PUT in signed aws-chunked framing (64 KiB chunks)")
    args = ap.parse_args()
    size = args.mb * 1000 * 1000
    work = tempfile.mkdtemp(prefix="s3thaw-big-")
    data = os.path.join(work, "data")
    with open(data, "wb") as f:
        block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB of non-zero bytes
        left = size
        while left:
            f.write(block[: min(left, len(block))])
            left -= min(left, len(block))
    whole = file_range_hash(data, 0, size)
    state = os.path.join(work, "state")
    serve = subprocess.Popen(
        [args.serve, "serve", "--bind", "127.0.0.1:0", "--state", state],
        stderr=subprocess.PIPE, text=True,
    )
    port = None
    for line in serve.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    # Keep reading serve's log so it never blocks on a full pipe.
    import threading
    threading.Thread(target=lambda: [None for _ in serve.stderr], daemon=True).start()
    try:
        print(f"serve pid {serve.pid} port {port}; idle peak {peak(serve.pid)} MB")
        read_all(request(port, "PUT", "/big")[0])
        if not args.skip_put:
            t = time.time()
            if args.chunked:
                resp = put_chunked(port, "/big/put", data, size, 64 * 1024)
            else:
                resp, _ = request(port, "PUT", "/big/put", body=Range(data, 0, size), length=size,
                                  payload_hash=whole)
            read_all(resp)
            took = time.time() - t
            how = "in signed 64 KiB chunks" if args.chunked else "signed over its SHA-256"
            print(f"{args.mb} MB PUT {how}: {took:.1f} s; serve peak {peak(serve.pid)} MB")
            got, n = get_hash(port, "/big/put")
            assert (got, n) == (whole, size), "PUT read back differs"
            print(f"  GET of it: read back identical; serve peak {peak(serve.pid)} MB")
            tail_range(port, "/big/put", data, size)
            print(f"  10-byte range GET at its end: identical; serve peak {peak(serve.pid)} MB")
            if args.stop_after_put:
                return
        t = time.time()
        resp, _ = request(port, "POST", "/big/mpu", query="uploads=")
        upload = ET.fromstring(read_all(resp)).findtext("{http://s3.amazonaws.com/doc/2006-03-01/}UploadId")
        part = args.part_mb * 1024 * 1024
        parts = []
        offset, number = 0, 1
        while offset < size:
            n = min(part, size - offset)
            resp, _ = request(port, "PUT", "/big/mpu", query=f"partNumber={number}&uploadId={upload}",
                              body=Range(data, offset, n), length=n,
                              payload_hash=file_range_hash(data, offset, n))
            read_all(resp)
            parts.append((number, resp.getheader("etag")))
            offset += n
            number += 1
        doc = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts
        ) + "</CompleteMultipartUpload>"
        resp, _ = request(port, "POST", "/big/mpu", query=f"uploadId={upload}", body=doc.encode())
        read_all(resp)
        took = time.time() - t
        print(f"multipart {args.mb} MB ({len(parts)} parts of {args.part_mb} MiB): {took:.1f} s; "
              f"serve peak {peak(serve.pid)} MB")
        got, n = get_hash(port, "/big/mpu")
        assert (got, n) == (whole, size), "multipart read back differs"
        print(f"  GET of it: read back identical; serve peak {peak(serve.pid)} MB")
        tail_range(port, "/big/mpu", data, size)
        print(f"  10-byte range GET at its end: identical; serve peak {peak(serve.pid)} MB")
    finally:
        serve.terminate()
        serve.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
