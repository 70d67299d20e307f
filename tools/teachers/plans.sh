#!/bin/bash
# Measures test-time plans on a demo-like teacher (96 px synthetic people, 200 labeled images,
# 400 steps, the demo --quick teacher): keypoint AP on the val split with the labeled boxes as
# RoIs, through the CLI (train → check-model → predict → eval). Writes under $OUT (default
# /tmp/omnidistill-plans). Usage: bash tools/teachers/plans.sh   (about 15 min on 2 cores)
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/omnidistill-plans}
mkdir -p $OUT
cd $ROOT/packages/cli
O="node --import tsx --conditions=source src/bin.ts"
D=$OUT/data
[ -d $D/val ] || node --import tsx --conditions=source -e "import('@omnidistill/synth').then((s) => s.generateSplits({ outDir: '$D', imageSize: 96, counts: { labeled: 200, val: 300 }, seed: 1, hiddenLabels: false }))"
[ -f $OUT/model/keypoints.onnx ] || $O train --task keypoints --labeled $D/labeled/annotations.json --images $D/labeled/images --steps 400 --out $OUT/model > $OUT/train.log 2>&1
M=$OUT/model/keypoints.onnx
$O check-model --model $M --labeled $D/labeled/annotations.json --images $D/labeled/images > $OUT/check.txt 2>&1
measure() { # name, image list, plan flags...
  local name=$1 list=$2; shift 2
  local s=$(date +%s.%N)
  $O predict --model $M --images $D/val/images --image-list $list --boxes $list --out $OUT/r-$name.json "$@" > $OUT/p-$name.log 2>&1
  local e=$(date +%s.%N)
  local ap=$($O eval --gt $list --results $OUT/r-$name.json --iou-type keypoints --json | python3 -c "import json,sys; print(round(json.load(sys.stdin)['stats'][0]*100,1))")
  echo "$name AP=$ap seconds=$(python3 -c "print(round($e-$s,1))")"
}
python3 - <<PY
import json
d=json.load(open('$OUT/data/val/annotations.json'))
ids=set(i['id'] for i in d['images'][:50])
d['images']=[i for i in d['images'] if i['id'] in ids]; d['annotations']=[a for a in d['annotations'] if a['image_id'] in ids]
json.dump(d,open('$OUT/val50.json','w'))
PY
V=$D/val/annotations.json
measure single $V --plan single
measure flip $V --plan flip
measure demo $V --scales 0.75x,1.25x,1.5x
measure auto $V --plan auto
measure single50 $OUT/val50.json --plan single
measure auto50 $OUT/val50.json --plan auto
measure paperabs50 $OUT/val50.json --plan paper-absolute
