#!/bin/bash
# Data distillation with bring-your-own teachers of every keypoint layout (issue 13's proof), the
# paper's protocol on the synthetic people (96 px; 200 labeled / 800 unlabeled / 300 val, synth
# seed 1, the demo's quick split). For each layout and each seed s:
#   1. teacher: trained in torch on the labeled images (train_keypoints.py, T steps, seed s),
#      exported with torch.onnx + manifest; from here the CLI: check-model;
#   2. `omnidistill label` on the unlabeled images: the multi-transform plan below + count-matched
#      selection (the label command's calibration); the generated labels are scored against the
#      synthetic truth of the unlabeled images (proof.py labels: precision / recall at OKS 0.5);
#   3. student: fresh init, trained in torch on labeled ∪ generated in mixed minibatches (6:4
#      labeled:generated in every batch) for 2T steps (the paper's students train longer than
#      their teachers);
#   4. supervised baseline: the same 2T steps on the labeled images only (is the teacher
#      under-trained? is the student's gain only its longer schedule?);
#   4b. for the layouts in $STRONG (default topdown-heatmap; STRONG= for none): that baseline as a
#      stronger teacher — its labels, and a fresh student of the same 2T steps on them;
#   5. `omnidistill predict` single pass and multi-transform + `omnidistill eval` (keypoint AP)
#      for the teacher, the student and the baseline (and 4b's student).
# The person boxes of the top-down layouts (val and unlabeled images) are the seed-1 yolo-pose
# teacher's box channels exported as a `yolo` detector (--detector): the numbers are end to end.
# All models are torch-trained (the CLI's own trainer is not what this measures).
#
# Usage: [QUICK=1] [SEEDS="1 2"] [OUT=DIR] bash tools/teachers/keypoint-teachers.sh [LAYOUT...]
#   full (default): layouts topdown-heatmap simcc yolo-pose, seeds 1 2, AP on all 300 val images
#   QUICK=1: topdown-heatmap, seed 1, the first 150 val images (about 10 min on a free core;
#   OUT default /tmp/omnidistill-teachers-quick)
#   keypointrcnn by name (not a default: 50 min for seeds 1 and 2 as two invocations side by side
#   at load 1-19 on 2 shared cores, most of it in `label` and `predict`: the R-CNN runs 0.4
#   images/s with flip)
# Writes under $OUT (default /tmp/omnidistill-teachers): $OUT/table.json (per seed, mean ± std,
# label quality, steps, load average) and a markdown table on stdout. Runs under nice; reruns
# skip finished steps.
set -euo pipefail
# (the quick run has an OUT of its own: results are cached by model name, for one val subset)
if [ "${QUICK:-0}" = 1 ]; then
  OUT=${OUT:-/tmp/omnidistill-teachers-quick}; DEFAULT_LAYOUTS="topdown-heatmap"; SEEDS=${SEEDS:-1}; VAL_EVAL=${VAL_EVAL:-150}
else
  OUT=${OUT:-/tmp/omnidistill-teachers}; DEFAULT_LAYOUTS="topdown-heatmap simcc yolo-pose"; SEEDS=${SEEDS:-1 2}; VAL_EVAL=${VAL_EVAL:-300}
fi
LAYOUTS=${*:-$DEFAULT_LAYOUTS}
# layouts that also get a stronger teacher: the supervised model (2T steps) labels the unlabeled
# images, and a fresh student trains on them for the same 2T steps (its gain is then the labels')
STRONG=${STRONG-topdown-heatmap}
source "$(dirname "$0")/common.sh"
PROOF="/usr/bin/python3 $ROOT/tools/teachers/proof.py"
G_IMAGES=$D/unlabeled/images
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Teacher steps T (batch: 32 crops for the top-down layouts, 16 images for yolo-pose, 4 for
# keypointrcnn); students and supervised baselines train 2T steps of the same batch.
declare -A TEACHER_STEPS=([topdown-heatmap]=400 [simcc]=400 [yolo-pose]=600 [keypointrcnn]=300)
# multi-transform plan: the crop models take the flip (measured on the topdown-heatmap teacher with
# the val boxes as RoIs: single 32.3, flip 37.4, 0.9x,1.1x ± flip 38.1 at 3x the cost, the auto
# plan's 0.625x…1.875x crops cut the person off: 27.1); yolo-pose: scales within its training
# range (0.75…1.5); keypointrcnn: its graph resizes every input (scales are undone): flip
declare -A MULTI=([topdown-heatmap]="--plan flip" [simcc]="--plan flip" [yolo-pose]="--scales 0.8x,1.25x" [keypointrcnn]="--plan flip")

synth_people 800
V=$(val_subset "$VAL_EVAL")

claim() { # file → true when this run is to make it; false when it exists (waits while another run of
  # this script, side by side on the same $OUT, makes it; a lock left by a dead run is taken over)
  local lock=$1.lock pid
  while [ ! -e "$1" ]; do
    if mkdir "$lock" 2> /dev/null; then echo $$ > "$lock/pid"; return 0; fi
    pid=$(cat "$lock/pid" 2> /dev/null || true)
    if [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null; then rm -rf "$lock"; else sleep 10; fi
  done
  return 1
}

train() { # layout, seed, kind (teacher|student|supervised|studentofsup) → $OUT/models/LAYOUT-sSEED-KIND.onnx, once
  local m=$OUT/models/$1-s$2-$3 steps=${TEACHER_STEPS[$1]} gen=""
  [ "$3" = teacher ] || steps=$((2 * steps))
  [ "$3" = student ] && gen="--generated $OUT/label-$1-s$2/generated.json --generated-images $G_IMAGES"
  [ "$3" = studentofsup ] && gen="--generated $OUT/label-$1-s$2-fromsup/generated.json --generated-images $G_IMAGES"
  claim "$m.onnx" || return 0
  $PY "$1" "$m" $L $gen --steps "$steps" --seed "$2" > "$OUT/logs/$1-s$2-$3.log" 2>&1
  rm -rf "$m.onnx.lock"
}

boxes_flags() { # layout → the RoI source of a top-down model (the seed-1 yolo-pose teacher's boxes)
  case $1 in topdown-heatmap|simcc) train yolo-pose 1 teacher; echo "--detector $OUT/models/yolo-pose-s1-teacher-detector.onnx" ;; *) echo "" ;; esac
}

ap() { # layout, model base, single|multi → keypoint AP (%) on the val images, cached in results/
  local name=$(basename "$2")-$3 plan="--plan single"
  [ "$3" = multi ] && plan=${MULTI[$1]}
  local r=$OUT/results/$name.json
  claim "$r" && { $O predict --model "$2.onnx" --images "$D/val/images" --image-list "$V" $(boxes_flags "$1") $plan --out "$r" > "$OUT/logs/predict-$name.log" 2>&1; rm -rf "$r.lock"; }
  keypoint_ap "$V" "$r"
}

label() { # layout, seed[, supervised] → $OUT/label-LAYOUT-sSEED[-fromsup]/generated.json (multi-transform +
  # count matching) by the teacher, or by the 2T-step supervised model as a stronger teacher; once
  local T=$OUT/models/$1-s$2-${3:-teacher} dir=$OUT/label-$1-s$2${3:+-fromsup} log=$1-s$2${3:+-fromsup}
  $O check-model --model "$T.onnx" $L > "$OUT/logs/$log-check.txt" 2>&1 || true
  mkdir -p "$dir"; claim "$dir/generated.json" || return 0
  $O label --task keypoints --teacher "$T.onnx" --unlabeled "$D/unlabeled/annotations.json" \
    --images "$G_IMAGES" --labeled "$D/labeled/annotations.json" --labeled-images "$D/labeled/images" $(boxes_flags "$1") ${MULTI[$1]} \
    --threads 1 --out "$dir" > "$OUT/logs/$log-label.log" 2>&1
  rm -rf "$dir/generated.json.lock"
}

ROWS=$OUT/rows-$(echo $LAYOUTS s$SEEDS | tr " " "-").tsv  # one per invocation: lanes may run side by side
: > "$ROWS"
for layout in $LAYOUTS; do
  for seed in $SEEDS; do
    train "$layout" "$seed" supervised & supervised=$!  # needs no teacher: side by side
    train "$layout" "$seed" teacher
    label "$layout" "$seed"
    quality=$($PROOF labels "$D/unlabeled/annotations.hidden.json" "$OUT/label-$layout-s$seed/generated.json")
    train "$layout" "$seed" student
    wait $supervised
    row="$layout	$seed"
    for kind in teacher student supervised; do
      for pass in single multi; do row="$row	$(ap "$layout" "$OUT/models/$layout-s$seed-$kind" $pass)"; done
    done
    row="$row	$quality"
    if [[ " $STRONG " == *" $layout "* ]]; then  # the stronger teacher: the supervised model (2T steps)
      label "$layout" "$seed" supervised
      train "$layout" "$seed" studentofsup
      for pass in single multi; do row="$row	$(ap "$layout" "$OUT/models/$layout-s$seed-studentofsup" $pass)"; done
      row="$row	$($PROOF labels "$D/unlabeled/annotations.hidden.json" "$OUT/label-$layout-s$seed-fromsup/generated.json")"
    fi
    printf '%s\n' "$row" | tee -a "$ROWS"
  done
done

steps=$(for l in $LAYOUTS; do printf '"%s": %s, ' "$l" "${TEACHER_STEPS[$l]}"; done)
META=$(cat <<JSON
{"metric": "keypoint AP (%) on the first $VAL_EVAL synthetic val images (omnidistill eval), end to end",
 "protocol": "teacher T steps; label: multi-transform + count matching; student: fresh init, labeled ∪ generated 6:4 in every minibatch, 2T steps; supervised: labeled only, 2T steps; studentofsup (layouts: $STRONG): the supervised model labels, a fresh student trains 2T steps on them",
 "teacherSteps": {${steps%, }}, "multiPlan": {$(for l in $LAYOUTS; do printf '"%s": "%s", ' "$l" "${MULTI[$l]}"; done | sed 's/, $//')},
 "seeds": [$(echo $SEEDS | tr ' ' ',')], "loadAverageStart": "$LOAD_START", "loadAverageEnd": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "labels": "generated labels against the unlabeled images' synthetic truth: count, precision/recall at OKS 0.5 and 0.75 (greedy matching)"}
JSON
)
$PROOF table "$OUT/table.json" "$ROWS" "$META"
