#!/usr/bin/env bash
# Sharded labeling on a real Slurm cluster (single node, loopback): submits
# `omnidistill label ARGS` as an array job of TASKS tasks, cancels task KILL_TASK mid-run
# (scancel after it wrote its first chunk: Slurm kills the batch script and stops the label
# process with SIGTERM), resubmits it so it resumes, waits for every task, then runs
# `omnidistill label merge`. Daemons it starts are stopped on exit.
#
#   NODE=… BIN=…/packages/cli/dist/bin.js run.sh SCRATCH OUT -- label ARGS…  (ARGS without --out)
#
# Writes SCRATCH/killed-chunks.txt and SCRATCH/final-chunks.txt ("inode name" of task
# KILL_TASK's chunk files when it was killed / at the end): a resumed task keeps the chunks it
# had written (same inodes) and adds the rest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
S=$(mkdir -p "$1" && cd "$1" && pwd)
OUT=$2
shift 2
[ "$1" = "--" ] && shift
: "${NODE:?NODE: the node executable}" "${BIN:?BIN: the omnidistill bin.js}"
TASKS=${TASKS:-4}
KILL_TASK=${KILL_TASK:-1}
TIMEOUT=${TIMEOUT:-300}

"$here/cluster.sh" start "$S"
trap '"$here/cluster.sh" stop "$S"' EXIT
export SLURM_CONF=$S/slurm.conf

cat > "$S/job.sh" <<'JOB'
#!/bin/sh
# One array task: `omnidistill label` picks its shard from SLURM_ARRAY_TASK_ID/_COUNT. The first
# attempt of task $KILL_TASK stops itself once it has written a chunk, so that the kill lands
# mid-run at a known point rather than by luck.
if [ "$SLURM_ARRAY_TASK_ID" = "$KILL_TASK" ] && [ -z "${SLURM_RESTART_COUNT:-}" ]; then
  "$NODE" "$BIN" "$@" & pid=$!
  while ! ls "$SHARD_DIR"/shard-*.jsonl >/dev/null 2>&1 && kill -0 $pid 2>/dev/null; do sleep 0.02; done
  # `label` relaunches itself with its heap flags (runtime/heap-child.ts): pause that child too.
  kill -STOP $pid $(cat /proc/$pid/task/*/children 2>/dev/null)
  : > "$SCRATCH/stopped"
  wait $pid
else
  exec "$NODE" "$BIN" "$@"
fi
JOB
chmod +x "$S/job.sh"

shard_dir=$OUT/shards/shard-$KILL_TASK-of-$TASKS
export NODE BIN KILL_TASK SCRATCH=$S SHARD_DIR=$shard_dir
job=$(sbatch --parsable --array=0-$((TASKS - 1)) --chdir "$S" -o "$S/%A_%a.out" "$S/job.sh" "$@" --out "$OUT")
echo "submitted array job $job ($TASKS tasks)"

wait_for() { # wait_for DESCRIPTION COMMAND…
  local what=$1 t=0
  shift
  until "$@"; do
    t=$((t + 1))
    if [ $t -gt $((TIMEOUT * 10)) ]; then
      echo "timed out waiting for $what; squeue:" >&2
      squeue >&2 || true
      tail -n 20 "$S"/*.out >&2 || true
      exit 1
    fi
    sleep 0.1
  done
}
task_gone() { [ -z "$(squeue -h -j "${job}_$1" 2>/dev/null)" ]; }
# Done = every shard wrote DONE.json and no task of either job is left in the queue.
all_done() {
  for i in $(seq 0 $((TASKS - 1))); do [ -f "$OUT/shards/shard-$i-of-$TASKS/DONE.json" ] || return 1; done
  [ -z "$(squeue -h -j "$job,$retry" 2>/dev/null)" ]
}

wait_for "task $KILL_TASK to write its first chunk" test -f "$S/stopped"
[ -f "$shard_dir/DONE.json" ] && { echo "task $KILL_TASK finished before the kill: not a mid-run kill" >&2; exit 1; }
(cd "$shard_dir" && stat -c '%i %n' shard-*.jsonl) > "$S/killed-chunks.txt"
scancel --signal=KILL --full "${job}_$KILL_TASK"
wait_for "task $KILL_TASK to end" task_gone "$KILL_TASK"
echo "cancelled task $KILL_TASK mid-run with $(wc -l < "$S/killed-chunks.txt") chunk(s) written"
# Resubmit the cancelled task as its own job; OMNIDISTILL_SHARD_INDEX/COUNT win over the new
# job's array variables, so it redoes the same shard and resumes from the chunks on disk.
# (`scontrol requeue` of the cancelled task is the other way; here it sometimes left the queue
# without running again, so the test does not depend on it.)
retry=$(sbatch --parsable --array="$KILL_TASK" --chdir "$S" -o "$S/retry_%A_%a.out" \
  --export=ALL,OMNIDISTILL_SHARD_INDEX="$KILL_TASK",OMNIDISTILL_SHARD_COUNT="$TASKS",KILL_TASK=none "$S/job.sh" "$@" --out "$OUT")
echo "resubmitted task $KILL_TASK as job $retry"
wait_for "every task to finish" all_done
(cd "$shard_dir" && stat -c '%i %n' shard-*.jsonl) > "$S/final-chunks.txt"
for i in $(seq 0 $((TASKS - 1))); do
  [ -f "$OUT/shards/shard-$i-of-$TASKS/DONE.json" ] || { echo "task $i did not finish; its logs:" >&2; cat "$S/${job}_$i.out" "$S"/retry_*.out >&2; exit 1; }
done
"$NODE" "$BIN" label merge --out "$OUT"
