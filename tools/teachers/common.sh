# The setup shared by the experiment scripts of tools/teachers (sourced, after the script has set
# $OUT): the output folders, the CLI and the torch trainer under nice (long CPU jobs on a shared
# machine), the synthetic people under $OUT/data and the keypoint AP of a results file.
#   ROOT  the repository;  the working directory becomes packages/cli (the CLI runs from its sources)
#   O     `omnidistill` (nice 10);  PY  tools/teachers/train_keypoints.py (nice 10)
#   D     $OUT/data;  L  the labeled split as --labeled/--images flags
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$OUT/models" "$OUT/results" "$OUT/logs"
cd "$ROOT/packages/cli"
O="nice -n 10 node --import tsx --conditions=source src/bin.ts"
PY="nice -n 10 /usr/bin/python3 $ROOT/tools/teachers/train_keypoints.py"
D=$OUT/data
L="--labeled $D/labeled/annotations.json --images $D/labeled/images"

synth_people() { # unlabeled count → the synthetic people under $D, once (96 px; 200 labeled, 300 val, seed 1: the demo's quick split)
  [ -f "$D/val/annotations.json" ] || $O synth --task keypoints --out "$D" --labeled 200 --unlabeled "$1" --val 300 --seed 1 > "$OUT/logs/synth.log"
}

val_subset() { # N → prints the path of the first N val images' annotations ($OUT/val-N.json, written once)
  local v=$OUT/val-$1.json
  [ -f "$v" ] || /usr/bin/python3 - "$D/val/annotations.json" "$1" "$v" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ids = {i['id'] for i in d['images'][:int(sys.argv[2])]}
d['images'] = [i for i in d['images'] if i['id'] in ids]
d['annotations'] = [a for a in d['annotations'] if a['image_id'] in ids]
json.dump(d, open(sys.argv[3], 'w'))
PY
  echo "$v"
}

keypoint_ap() { # ground truth, results → keypoint AP (%, one decimal) by `omnidistill eval`
  $O eval --gt "$1" --results "$2" --iou-type keypoints --json 2> /dev/null \
    | /usr/bin/python3 -c "import json,sys; print(round(json.load(sys.stdin)['stats'][0]*100,1))"
}
