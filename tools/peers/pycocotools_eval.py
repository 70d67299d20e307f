"""pycocotools side of tools/bench/cocoeval.bench.ts (a maintainer peer, not used by CI).

Two modes, run with the pycocotools built by tools/peers/setup-pycocotools.sh on PYTHONPATH:

  pycocotools_eval.py process GT.json RES.json bbox|keypoints
      What a user runs instead of `omnidistill eval`: load both files, evaluate, accumulate,
      summarize. Prints the summary and, last, one JSON line {"stats": [...]}; the caller
      times the whole process.

  pycocotools_eval.py serve
      A stdin/stdout server so the benchmark can interleave in-process timings with ours:
        -> {"gt": file, "results": file, "iouType": "bbox", "samples": 3}
        <- {"wall_s": [...], "cpu_s": [...], "stats": [...]}
      Each sample times evaluate() + accumulate() only (files are loaded once per pair).
"""
import contextlib, io, json, sys, time

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def quiet_coco(path):
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(path)


def evaluator(gt, dt, iou_type):
    e = COCOeval(gt, dt, iou_type)
    return e


def process(gt_file, res_file, iou_type):
    gt = quiet_coco(gt_file)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(res_file)
        e = evaluator(gt, dt, iou_type)
        e.evaluate()
        e.accumulate()
    e.summarize()
    print(json.dumps({'stats': [float(s) for s in e.stats]}))


def serve():
    loaded = {}
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        key = (req['gt'], req['results'])
        if key not in loaded:
            gt = quiet_coco(req['gt'])
            with contextlib.redirect_stdout(io.StringIO()):
                dt = gt.loadRes(req['results'])
            loaded[key] = (gt, dt)
        gt, dt = loaded[key]
        wall, cpu = [], []
        e = None
        for _ in range(int(req['samples'])):
            e = evaluator(gt, dt, req['iouType'])
            with contextlib.redirect_stdout(io.StringIO()):
                c0, t0 = time.process_time(), time.perf_counter()
                e.evaluate()
                e.accumulate()
                t1, c1 = time.perf_counter(), time.process_time()
                e.summarize()
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
        print(json.dumps({'wall_s': wall, 'cpu_s': cpu, 'stats': [float(s) for s in e.stats]}), flush=True)


if __name__ == '__main__':
    if sys.argv[1:2] == ['serve']:
        serve()
    elif sys.argv[1:2] == ['process'] and len(sys.argv) == 5:
        process(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit('usage: pycocotools_eval.py process GT RES bbox|keypoints | serve')
