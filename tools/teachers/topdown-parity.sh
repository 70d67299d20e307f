#!/bin/bash
# Does `omnidistill train --model … --reinit` train a top-down model as well as PyTorch does?
# The 66 k-parameter topdown-heatmap model of train_keypoints.py is trained on the synthetic
# people (the demo's --quick split: 96 px, 200 labeled, 300 val, seed 1) for 800 steps × 16 crops
# (the demo's student schedule): in torch (train_keypoints.py, seeds $SEEDS) and by the CLI from
# the same graph re-initialised (seeds $SEEDS), once per crop augmentation in $AUGMENTATIONS
# (the manifest's training.augmentation: default, mmpose, none, or s25 = scaleFactor 0.25).
# Keypoint AP on the 300 val images with their GT boxes as the crops (`predict --boxes`),
# single pass and ± flip. Runs under nice; reruns skip finished steps. Writes under $OUT
# (default /tmp/omnidistill-topdown-parity): results.tsv, one line per model.
#   bash tools/teachers/topdown-parity.sh            # about 4 min per training on a free core
set -euo pipefail
OUT=${OUT:-/tmp/omnidistill-topdown-parity}
SEEDS=${SEEDS:-"1 2"}
AUGMENTATIONS=${AUGMENTATIONS:-"default"}
STEPS=${STEPS:-800}
source "$(dirname "$0")/common.sh"
# (`synth` needs at least one unlabeled image; the other splits do not depend on their count:
# each split is its own seeded stream)
synth_people 1
V=$D/val/annotations.json

ap() { # model base, name → "single flip" keypoint AP (%) with the val GT boxes
  local line=""
  for plan in single flip; do
    local r=$OUT/results/$2-$plan.json
    [ -f "$r" ] || $O predict --model "$1.onnx" --manifest "$1.json" --images "$D/val/images" --boxes "$V" --plan $plan --out "$r" > "$OUT/logs/predict-$2-$plan.log" 2>&1
    line="$line $(keypoint_ap "$V" "$r")"
  done
  echo "$line"
}

# The graph the CLI re-initialises: a 1-step torch model (an untrained export would do, but torch.onnx
# merges its equal-valued initializers — BatchNorm bias and running mean both 0 — into one tensor).
G=$OUT/models/graph
[ -f "$G.onnx" ] || $PY topdown-heatmap "$G" $L --steps 1 --lr 1e-12 > "$OUT/logs/graph.log" 2>&1

with_augmentation() { # augmentation → manifest path
  local m=$OUT/models/graph-$1.json
  [ -f "$m" ] || /usr/bin/python3 - "$G.json" "$1" "$m" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
a = sys.argv[2]
m['training'] = {'augmentation': {'scaleFactor': 0.25} if a == 's25' else a}
json.dump(m, open(sys.argv[3], 'w'), indent=2)
PY
  echo "$m"
}

: > "$OUT/results.tsv"
for seed in $SEEDS; do
  m=$OUT/models/torch-s$seed
  [ -f "$m.onnx" ] || $PY topdown-heatmap "$m" $L --steps "$STEPS" --batch 16 --seed "$seed" > "$OUT/logs/torch-s$seed.log" 2>&1
  printf 'torch\tnone (flip, jitter)\t%s\t%s\n' "$seed" "$(ap "$m" "torch-s$seed")" | tee -a "$OUT/results.tsv"
  for aug in $AUGMENTATIONS; do
    name=cli-$aug-s$seed
    if [ ! -f "$OUT/models/$name/student.onnx" ]; then
      $O train --model "$G.onnx" --manifest "$(with_augmentation "$aug")" --reinit $L --steps "$STEPS" --batch 16 \
        --seed "$seed" --threads 1 --out "$OUT/models/$name" --name student > "$OUT/logs/$name.log" 2>&1
    fi
    printf 'cli\t%s\t%s\t%s\n' "$aug" "$seed" "$(ap "$OUT/models/$name/student" "$name")" | tee -a "$OUT/results.tsv"
  done
done
