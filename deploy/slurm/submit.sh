#!/bin/bash
# Submits the labeling array and the merge that waits for it: bash submit.sh
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p logs
array=$(sbatch --parsable label-array.sbatch)
merge=$(sbatch --parsable --dependency=afterok:"$array" label-merge.sbatch)
echo "labeling array $array, merge $merge"
