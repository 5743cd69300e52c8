#!/usr/bin/env bash
# Direct copies through `serve`: N seeded STANDARD objects (1 KiB) copied by `restore::copy`
# (via "direct", CopyObject paced like restore::direct) to another bucket as STANDARD_IA, the
# aws backend against one `s3thaw serve` on 127.0.0.1. Prints the outcome and the client's and
# the server's time and CPU.
#   cargo build --release --bin s3thaw
#   N=20000 benches/direct_copy.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
S3THAW=${S3THAW:-$root/target/release/s3thaw}
N=${N:-20000}
PORT=${PORT:-18744}
work=$(mktemp -d /tmp/s3thaw-copy.XXXXXX)
serve_pid=
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=S3THAWTESTKEY0000001
export AWS_SECRET_ACCESS_KEY=s3thaw/test/secret/0000000000000000000000
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
cat > "$work/seed.rhai" <<RHAI
s3::create_bucket("src"); s3::create_bucket("kept");
sim::seed_objects("src", $N, #{ prefix: "o/", storage_class: "STANDARD", size: 1024 });
RHAI
cat > "$work/copy.rhai" <<'RHAI'
let m = manifest::from_listing("src");
let r = restore::copy(m, #{ storage_class: "STANDARD_IA", bucket: "kept", via: "direct" });
print(`copied ${r.copied}, skipped ${r.skipped}, failed ${r.failed.len()}, ${r.seconds} s of copying`);
RHAI
"$S3THAW" run "$work/seed.rhai" --state "$work/world" >/dev/null
/usr/bin/time -f "serve: %U s user + %S s system CPU" -o "$work/serve.time" \
    "$S3THAW" serve --bind "127.0.0.1:$PORT" --state "$work/world" >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
start=$(date +%s.%N)
/usr/bin/time -f "client: %e s wall, %U s user + %S s system CPU, %M KiB peak RSS" \
    "$S3THAW" run "$work/copy.rhai" --backend aws --endpoint-url "http://127.0.0.1:$PORT"
end=$(date +%s.%N)
echo "objects/s: $(echo "$N / ($end - $start)" | bc)"
# /usr/bin/time ignores SIGINT while it waits: stop serve itself, its child.
pkill -INT -P "$serve_pid" || true; wait "$serve_pid" 2>/dev/null || true; serve_pid=
cat "$work/serve.time"
