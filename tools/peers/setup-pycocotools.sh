#!/usr/bin/env bash
# Maintainer setup: builds pycocotools from source OUTSIDE the repository, for the benchmarks
# that run it as a peer (tools/bench/cocoeval.bench.ts). Nothing in CI needs it.
#
#   bash tools/peers/setup-pycocotools.sh SOURCE [DEST]
#
# SOURCE: a checkout or a bare git directory of github.com/ppwwyyxx/cocoapi (the maintained fork:
#         the original cocodataset/cocoapi uses np.float, removed in numpy 1.24).
# DEST:   where to build (default $OMNI_PEERS_DIR or ~/.cache/omnidistill/peers); the package ends
#         up in DEST/cocoapi/PythonAPI, which the benchmark puts on PYTHONPATH.
# Needs Debian's python3-dev, cython3 and python3-numpy:  apt-get install python3-dev cython3 python3-numpy
set -euo pipefail
src=${1:?usage: setup-pycocotools.sh SOURCE [DEST] (SOURCE: a git directory or checkout of ppwwyyxx/cocoapi)}
dest=${2:-${OMNI_PEERS_DIR:-$HOME/.cache/omnidistill/peers}}
python=${OMNI_PYTHON:-/usr/bin/python3}

for mod in Cython numpy; do
  "$python" -c "import $mod" 2>/dev/null || { echo "setup-pycocotools: $python cannot import $mod; run: apt-get install python3-dev cython3 python3-numpy" >&2; exit 2; }
done

rm -rf "$dest/cocoapi"
mkdir -p "$dest/cocoapi"
# A bare git directory (e.g. a mirror) is exported with git archive; a checkout is copied.
if git --git-dir="$src" rev-parse --verify -q HEAD >/dev/null 2>&1 && [ ! -d "$src/PythonAPI" ]; then
  git --git-dir="$src" archive HEAD PythonAPI common | tar -x -C "$dest/cocoapi"
  rev=$(git --git-dir="$src" rev-parse HEAD)
else
  cp -r "$src/PythonAPI" "$src/common" "$dest/cocoapi/"
  rev=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
fi
# The fork's PythonAPI/common is a symbolic link to ../common; make sure it resolves.
[ -e "$dest/cocoapi/PythonAPI/common" ] || ln -sfn ../common "$dest/cocoapi/PythonAPI/common"

(cd "$dest/cocoapi/PythonAPI" && "$python" setup.py build_ext --inplace >build.log 2>&1) || {
  echo "setup-pycocotools: build failed, see $dest/cocoapi/PythonAPI/build.log" >&2; exit 1; }
echo "$rev" >"$dest/cocoapi/REVISION"
PYTHONPATH="$dest/cocoapi/PythonAPI" "$python" -c 'import pycocotools.cocoeval, pycocotools.coco' 
echo "pycocotools built at $dest/cocoapi/PythonAPI (cocoapi $rev)"
