#!/bin/sh
# Start-up to the first script line (issue 15, item 10), without hyperfine: N runs of each
# command in a loop under /usr/bin/time; prints the wall and CPU (user + sys) time per run.
#
#     benches/startup.sh target/release/s3thaw 50
#
# The commands: `s3thaw --version` (process start and flag parsing), `s3thaw run first.rhai`
# (the state opened, the engine built, the script compiled and its `arg` calls checked, up to
# its first `print`), `s3thaw run restore-prefix --help` (an embedded playbook's variables).
B=${1:-target/release/s3thaw}; N=${2:-50}
dir=$(mktemp -d); printf 'print("first line");\n' > "$dir/first.rhai"
S3THAW_STATE=$dir/state "$B" run "$dir/first.rhai" >/dev/null   # creates the state once
for cmd in "--version" "run $dir/first.rhai" "run restore-prefix --help"; do
  /usr/bin/time -f "%e %U %S" -o "$dir/t" sh -c "i=0; while [ \$i -lt $N ]; do S3THAW_STATE=$dir/state $B $cmd >/dev/null || exit 1; i=\$((i+1)); done"
  read wall user sys < "$dir/t"
  echo "$cmd: $N runs, wall $wall s, user $user s, sys $sys s -> per run: wall $(echo "$wall*1000/$N" | bc -l | cut -c1-5) ms, cpu $(echo "($user+$sys)*1000/$N" | bc -l | cut -c1-5) ms"
done
rm -rf "$dir"
