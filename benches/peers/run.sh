#!/usr/bin/env bash
# Peer harness: times client-side restores of N archived objects by s3thaw and its peers
# (rclone, s3cmd, boto3, the AWS CLI) side by side, each against a fresh `s3thaw serve` world on
# 127.0.0.1 seeded the same way, and prints one table: objects/s, peak RSS, verified count.
#
#   cargo build --release --bin s3thaw
#   benches/peers/run.sh                       # N=2000, no faults, 3 runs each (medians)
#   N=20000 THROTTLE=0.01 RUNS=1 benches/peers/run.sh
#   N=20000 COMPETE=5000 RUNS=1 TOOLS=s3thaw benches/peers/run.sh   # with a competing boto3 client
#
# Installs what is missing where it can: rclone from the Debian package (apt-get, as root);
# boto3, the AWS CLI and s3cmd from PyPI into a venv under target/peers-venv. A tool that cannot
# be installed is reported as such in the table and skipped.
#
# The serve clock runs at wall-clock speed (not frozen), so its 1,000 RestoreObject/s limit is
# the real ceiling for every client. THROTTLE injects that share of 503 SlowDown answers on top
# (sim::set_faults). "verified" is read back afterwards on the simulator (restore::status): the
# objects whose restore is in progress or done. The AWS CLI (one process per object) only does
# the first AWSCLI_N objects (default 50); its objects/s is over those.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
S3THAW=${S3THAW:-$root/target/release/s3thaw}
N=${N:-2000}
RUNS=${RUNS:-3}
THROTTLE=${THROTTLE:-0}
AWSCLI_N=${AWSCLI_N:-50}
# COMPETE=M: a boto3 client (32 threads) restores M objects of another bucket at the same time,
# started just before each measured tool; the table then also gives both clients' combined rate.
COMPETE=${COMPETE:-0}
TOOLS=${TOOLS:-"s3thaw rclone rclone-c32 boto3-32 s3cmd awscli"}
PORT=${PORT:-18733}
venv=$root/target/peers-venv
work=$(mktemp -d /tmp/s3thaw-peers.XXXXXX)
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
serve_pid=

export AWS_ACCESS_KEY_ID=S3THAWTESTKEY0000001
export AWS_SECRET_ACCESS_KEY=s3thaw/test/secret/0000000000000000000000
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
url=http://127.0.0.1:$PORT
# A CA bundle from the environment makes rclone refuse its plain-HTTP transport; serve is http.
unset AWS_CA_BUNDLE

[ -x "$S3THAW" ] || { echo "no $S3THAW: cargo build --release --bin s3thaw" >&2; exit 2; }

install() {
    if ! command -v rclone >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get install -y -q rclone >/dev/null 2>&1 || echo "rclone: apt-get install failed" >&2
    fi
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" || echo "venv: python3 -m venv failed" >&2
    fi
    if [ -x "$venv/bin/pip" ]; then
        for pkg in boto3 awscli s3cmd; do
            "$venv/bin/python" -c "import importlib,sys; sys.exit(0 if importlib.util.find_spec('${pkg/awscli/awscli}') else 1)" 2>/dev/null \
                || "$venv/bin/pip" install -q "$pkg" >/dev/null 2>&1 \
                || echo "$pkg: pip install failed" >&2
        done
    fi
}

have() {
    case $1 in
        s3thaw) true ;;
        rclone|rclone-c32) command -v rclone >/dev/null ;;
        boto3-32) "$venv/bin/python" -c "import boto3" 2>/dev/null ;;
        s3cmd) [ -x "$venv/bin/s3cmd" ] ;;
        awscli) [ -x "$venv/bin/aws" ] ;;
    esac
}

# A fresh world: N GLACIER objects in bucket `peers`, optional faults, then serve on $PORT.
start_world() {
    rm -rf "$work/world"
    cat > "$work/seed.rhai" <<RHAI
s3::create_bucket("peers");
sim::seed_objects("peers", $N, #{ prefix: "o/", storage_class: "GLACIER" });
if $COMPETE > 0 { s3::create_bucket("rivals"); sim::seed_objects("rivals", $COMPETE, #{ prefix: "r/", storage_class: "GLACIER" }); }
if $THROTTLE > 0.0 { sim::set_faults(#{ throttle_rate: $THROTTLE, error_rate: 0.0, seed: 7 }); }
RHAI
    "$S3THAW" run "$work/seed.rhai" --state "$work/world" >/dev/null
    "$S3THAW" serve --bind "127.0.0.1:$PORT" --state "$work/world" >"$work/serve.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 100); do
        grep -q listening "$work/serve.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "serve did not start: $(cat "$work/serve.log")" >&2
    exit 1
}

stop_world() {
    kill -INT "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
}

verified() {
    cat > "$work/verify.rhai" <<'RHAI'
let s = restore::status(manifest::from_listing("peers"));
print(s.in_progress + s.restored);
RHAI
    "$S3THAW" run "$work/verify.rhai" --state "$work/world" 2>/dev/null | tail -1
}

# boto3 with 32 threads: lists a bucket (argv[2], default peers) and restores every object.
boto_script() {
    cat > "$work/boto.py" <<'PY'
import sys, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], config=Config(max_pool_connections=32, s3={"addressing_style": "path"}))
bucket = sys.argv[2] if len(sys.argv) > 2 else "peers"
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in p.get("Contents", [])]
def restore(k):
    s3.restore_object(Bucket=bucket, Key=k, RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Bulk"}})
with ThreadPoolExecutor(32) as pool:
    list(pool.map(restore, keys))
PY
}

# Runs one tool against the current world under /usr/bin/time; prints "seconds rss_kib objects".
run_tool() {
    local tool=$1 n=$N
    local -a cmd
    case $tool in
        s3thaw)
            cat > "$work/direct.rhai" <<'RHAI'
let r = restore::direct(manifest::from_listing("peers"), #{ days: 1, tier: "BULK", concurrency: 32 });
print(`s3thaw: ${r.requested} requested, ${r.throttled} throttled, ${r.failed.len()} failed, ${r.rate} requests/s`);
RHAI
            cmd=("$S3THAW" run "$work/direct.rhai" --backend aws --endpoint-url "$url") ;;
        rclone|rclone-c32)
            cmd=(rclone backend restore ":s3,provider=Other,endpoint='$url',access_key_id=$AWS_ACCESS_KEY_ID,secret_access_key='$AWS_SECRET_ACCESS_KEY',region=us-east-1,force_path_style=true,list_version=2:peers" -o priority=Bulk -o lifetime=1)
            [ "$tool" = rclone-c32 ] && cmd+=(--checkers 32) ;;
        boto3-32)
            boto_script
            cmd=("$venv/bin/python" "$work/boto.py" "$url") ;;
        s3cmd)
            cmd=("$venv/bin/s3cmd" --no-ssl --host="127.0.0.1:$PORT" --host-bucket="127.0.0.1:$PORT"
                 --access_key="$AWS_ACCESS_KEY_ID" --secret_key="$AWS_SECRET_ACCESS_KEY" --region=us-east-1
                 restore --recursive --restore-days=1 --restore-priority=bulk s3://peers/) ;;
        awscli)
            n=$(( AWSCLI_N < N ? AWSCLI_N : N ))
            cat > "$work/awscli.sh" <<SH
for i in \$(seq 0 $((n - 1))); do
  key=\$(printf 'o/%0${#N}d' "\$i")
  "$venv/bin/aws" s3api restore-object --endpoint-url "$url" --bucket peers --key "\$key" \
    --restore-request '{"Days":1,"GlacierJobParameters":{"Tier":"Bulk"}}' >/dev/null
done
SH
            cmd=(bash "$work/awscli.sh") ;;
    esac
    local start end rival=
    if [ "$COMPETE" -gt 0 ]; then
        boto_script
        ( "$venv/bin/python" "$work/boto.py" "$url" rivals >/dev/null 2>&1; date +%s.%N > "$work/rival_end" ) &
        rival=$!
    fi
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/time" "${cmd[@]}" >"$work/out" 2>&1 || echo "$tool exited non-zero: $(tail -3 "$work/out")" >&2
    end=$(date +%s.%N)
    if [ -n "$rival" ]; then
        wait "$rival" || true
        local rend last
        rend=$(cat "$work/rival_end" 2>/dev/null || date +%s.%N)
        last=$(echo "if ($rend > $end) $rend else $end" | bc)
        echo "competing boto3: $COMPETE objects done $(echo "$rend - $start" | bc) s after the start; $tool done after $(echo "$end - $start" | bc) s; together $(echo "($n + $COMPETE) / ($last - $start)" | bc) objects/s" >&2
    fi
    echo "$(echo "$end - $start" | bc) $(tail -1 "$work/time") $n"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

install
printf '%-12s %10s %10s %12s %14s  %s\n' tool objects/s seconds "peak RSS" verified note
for tool in $TOOLS; do
    if ! have "$tool"; then
        printf '%-12s %10s %10s %12s %14s  %s\n' "$tool" - - - - "not installed"
        continue
    fi
    : > "$work/runs"
    for _ in $(seq "$RUNS"); do
        start_world
        read -r secs rss n < <(run_tool "$tool")
        stop_world
        echo "$secs $rss $n $(verified)" >> "$work/runs"
        [ "$tool" = s3thaw ] && grep -h "^s3thaw:" "$work/out" >&2 || true
    done
    secs=$(cut -d' ' -f1 "$work/runs" | median)
    rss=$(cut -d' ' -f2 "$work/runs" | median)
    n=$(head -1 "$work/runs" | cut -d' ' -f3)
    ver=$(cut -d' ' -f4 "$work/runs" | sort -u | paste -sd/)
    printf '%-12s %10.0f %10.2f %9d MiB %14s  %s\n' "$tool" "$(echo "$n / $secs" | bc -l)" "$secs" $((rss / 1024)) "$ver/$n" \
        "median of $RUNS, N=$N, throttle=$THROTTLE"
done
