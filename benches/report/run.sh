#!/usr/bin/env bash
# Reading a completion report of N rows (default 1,000,000; 1% failed, half of them SlowDown,
# half AccessDenied): report::parse on a local results CSV, then the counts, by_error and the
# first 20 failed rows, and again with the retry plan, under /usr/bin/time (wall, CPU user+sys, peak RSS).
#
# With FROM=bucket the results file and a manifest.json are first put into a simulated
# bucket (not timed), and report::read streams them from there (what `report::load` and
# `s3thaw report JOB` do).
#
#   cargo build --release --bin s3thaw
#   benches/report/run.sh            # N=1000000
#   N=10000000 benches/report/run.sh
#   FROM=bucket N=3000000 benches/report/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
S3THAW=${S3THAW:-$root/target/release/s3thaw}
N=${N:-1000000}
work=$(mktemp -d /tmp/s3thaw-report.XXXXXX)
trap 'rm -rf "$work"' EXIT
awk -v n="$N" 'BEGIN {
  for (i = 0; i < n; i++) {
    if (i % 100 == 7) printf "archive,scans/%09d.tif,,failed,503,SlowDown,Please reduce your request rate.\n", i;
    else if (i % 100 == 57) printf "archive,scans/%09d.tif,,failed,403,AccessDenied,\"Access Denied (Service: Amazon S3; Status Code: 403)\"\n", i;
    else printf "archive,scans/%09d.tif,,succeeded,202,,Successful\n", i;
  }
}' > "$work/results.csv"
if [ "${FROM:-local}" = bucket ]; then
  md5=$(md5sum "$work/results.csv" | cut -d' ' -f1)
  cat > "$work/setup.rhai" <<RHAI
s3::create_bucket("reports");
s3::upload_file("reports", "r/job-bench/results/1.csv", "$work/results.csv");
s3::put_object("reports", "r/job-bench/manifest.json", \`{"Format":"Report_CSV_20180820","ReportCreationDate":"2026-12-01T00:00:00.000Z","Results":[{"TaskExecutionStatus":"failed","Bucket":"reports","MD5Checksum":"$md5","Key":"r/job-bench/results/1.csv"}],"ReportSchema":"Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"}\`);
RHAI
  "$S3THAW" run --state "$work/state" "$work/setup.rhai"
  open='report::read("reports", "r/job-bench/manifest.json")'
  state=(--state "$work/state")
else
  open="report::parse(\"$work/results.csv\")"
  state=()
fi
cat > "$work/summary.rhai" <<RHAI
let r = $open;
let plan = r.retry_plan();
let first = r.rows(#{ status: "failed", limit: 20 });
print(\`\${r.total} rows, \${r.succeeded} succeeded, \${r.failed} failed, by_error \${r.by_error()}, retry \${plan.retry.len()}, permanent \${plan.permanent.len()}, first \${first.len()}\`);
RHAI
cat > "$work/counts.rhai" <<RHAI
let r = $open;
let first = r.rows(#{ status: "failed", limit: 20 });
print(\`\${r.total} rows, \${r.succeeded} succeeded, \${r.failed} failed, by_error \${r.by_error()}, first \${first.len()}\`);
RHAI
echo "results.csv: $(du -h "$work/results.csv" | cut -f1), $N rows"
# Counts, by_error and the first failed rows: what is flat in the row count.
/usr/bin/time -f "counts: wall %e s, CPU %U+%S s, peak RSS %M KiB" taskset -c 0 "$S3THAW" run "${state[@]}" "$work/counts.rhai"
# Plus the retry plan, which holds every failed task (1% of the rows here).
/usr/bin/time -f "with retry plan: wall %e s, CPU %U+%S s, peak RSS %M KiB" taskset -c 0 "$S3THAW" run "${state[@]}" "$work/summary.rhai"
