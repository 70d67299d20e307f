#!/bin/bash
# Data distillation with a torch teacher and students trained by the CLI's own trainer
# (`omnidistill train --model … --reinit`), for the crop layouts (topdown-heatmap, simcc): on the
# synthetic people (96 px; 200 labeled / 800 unlabeled / 300 val, synth seed 1), per seed s:
# the teacher in torch (train_keypoints.py, 400 steps × 32 crops, seed s); `omnidistill label`
# with its flip plan (--plan flip) and count matching on the unlabeled images, person boxes from
# the seed-1 yolo-pose teacher's box channels (a `yolo` detector, one identity pass); the
# student = the teacher's graph re-initialised and trained by the CLI on labeled ∪ generated
# (6:4) for 800 steps × 16 crops (the same crops as the teacher, twice the steps), and the
# supervised baseline = the same command on the labeled images only. Keypoint AP end to end
# (detector boxes) on the first $VAL_EVAL val images, single pass and ± flip.
# (keypoint-teachers.sh trains every model in torch; this is the CLI-trainer counterpart.)
#   [SEEDS="1 2"] [OUT=DIR] bash tools/teachers/topdown-cli-students.sh [LAYOUT...]
# Writes $OUT/results.tsv; runs under nice; reruns skip finished steps.
set -euo pipefail
OUT=${OUT:-/tmp/omnidistill-topdown-cli-students}
SEEDS=${SEEDS:-"1 2"}
VAL_EVAL=${VAL_EVAL:-150}
LAYOUTS=${*:-topdown-heatmap}
source "$(dirname "$0")/common.sh"
synth_people 800
V=$(val_subset "$VAL_EVAL")

DET=$OUT/models/yolo-pose-teacher
[ -f "$DET-detector.onnx" ] || $PY yolo-pose "$DET" $L --steps 600 > "$OUT/logs/yolo-pose-teacher.log" 2>&1
BOXES="--detector $DET-detector.onnx"

ap() { # model base → "single multi" keypoint AP (%), end to end
  local line="" name
  name=$(basename "$1")
  for plan in single flip; do
    local r=$OUT/results/$name-$plan.json
    [ -f "$r" ] || $O predict --model "$1.onnx" --images "$D/val/images" --image-list "$V" $BOXES --plan $plan --out "$r" > "$OUT/logs/predict-$name-$plan.log" 2>&1
    line="$line $(keypoint_ap "$V" "$r")"
  done
  echo "$line"
}

cli_train() { # layout, seed, kind (student|supervised) → trains it once
  local m=$OUT/models/$1-$3-s$2 gen=""
  [ "$3" = student ] && gen="--generated $OUT/label-$1-s$2/generated.json --generated-images $D/unlabeled/images"
  [ -f "$m.onnx" ] && return
  $O train --model "$OUT/models/$1-teacher-s$2.onnx" --manifest "$OUT/models/$1-teacher-s$2.json" --reinit --seed "$2" \
    $L $gen --steps 800 --batch 16 --threads 1 --out "$m.run" --name student > "$OUT/logs/$1-$3-s$2.log" 2>&1
  cp "$m.run/student.onnx" "$m.onnx"; cp "$m.run/student.json" "$m.json"
}

printf 'layout\tseed\tteacher single\tteacher flip\tstudent single\tstudent flip\tsupervised single\tsupervised flip\n' > "$OUT/results.tsv"
for layout in $LAYOUTS; do
  for seed in $SEEDS; do
    T=$OUT/models/$layout-teacher-s$seed
    [ -f "$T.onnx" ] || $PY "$layout" "$T" $L --steps 400 --seed "$seed" > "$OUT/logs/$layout-teacher-s$seed.log" 2>&1
    [ -f "$OUT/label-$layout-s$seed/generated.json" ] || $O label --task keypoints --teacher "$T.onnx" --unlabeled "$D/unlabeled/annotations.json" \
      --images "$D/unlabeled/images" --labeled "$D/labeled/annotations.json" --labeled-images "$D/labeled/images" $BOXES --plan flip \
      --out "$OUT/label-$layout-s$seed" > "$OUT/logs/$layout-label-s$seed.log" 2>&1
    cli_train "$layout" "$seed" student
    cli_train "$layout" "$seed" supervised
    row="$layout	$seed"
    for kind in teacher student supervised; do
      [ $kind = teacher ] && base=$T || base=$OUT/models/$layout-$kind-s$seed
      row="$row	$(ap "$base" | tr ' ' '\t' | sed 's/^\t//')"
    done
    echo "$row" | tee -a "$OUT/results.tsv"
  done
done
