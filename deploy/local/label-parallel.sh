#!/bin/bash
# Sharded labeling on one big machine: N shard processes side by side, then the merge.
#   deploy/local/label-parallel.sh N OUT label --task … --teacher … (every label flag but --out)
# The one-liners it runs (copy either):
#   seq 0 $((N-1)) | xargs -P N -I{} omnidistill label … --out OUT --shard-index {} --shard-count N && omnidistill label merge --out OUT
#   parallel -j N omnidistill label … --out OUT --shard-index {} --shard-count N ::: $(seq 0 $((N-1))) && omnidistill label merge --out OUT
# Give each process a share of the cores (e.g. OMP/ORT threads) when N is large.
set -euo pipefail
N=$1 OUT=$2
shift 2
OMNIDISTILL=${OMNIDISTILL:-omnidistill}
seq 0 $((N - 1)) | xargs -P "$N" -I{} $OMNIDISTILL "$@" --out "$OUT" --shard-index {} --shard-count "$N"
$OMNIDISTILL label merge --out "$OUT"
