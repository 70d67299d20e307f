#!/usr/bin/python3
"""Helpers of tools/teachers/keypoint-teachers.sh (issue 13's proof).

    proof.py labels GT.json GENERATED.json   → JSON: how good a `label` run's generated labels are
    proof.py table OUT.json ROWS.tsv META     → mean ± std per layout over seeds; markdown on stdout

`labels` matches the generated people to the true ones of the same images (the synthetic
unlabeled split keeps its truth in annotations.hidden.json) greedily by OKS (COCO sigmas, the
true person's area) and reports the count, precision and recall at OKS 0.5 and 0.75 and the
mean OKS of the matches — the quality of what the student learns from, beside the teacher's AP.
"""
import json
import os
import statistics
import sys

import numpy as np

SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
THRESHOLDS = (0.5, 0.75)


def by_image(annotations):
    out = {}
    for a in annotations:
        if not a.get('iscrowd', 0):
            out.setdefault(a['image_id'], []).append(a)
    return out


def oks(gt, dt):
    """OKS of one generated person against one true person (COCO's formula, visible true keypoints)."""
    g = np.array(gt['keypoints'], dtype=float).reshape(-1, 3)
    d = np.array(dt['keypoints'], dtype=float).reshape(-1, 3)
    visible = g[:, 2] > 0
    if not visible.any():
        return 0.0
    area = gt.get('area') or gt['bbox'][2] * gt['bbox'][3]
    e = ((g[:, 0] - d[:, 0]) ** 2 + (g[:, 1] - d[:, 1]) ** 2) / (2 * SIGMAS ** 2 * 2 * (area + np.spacing(1)))
    return float(np.exp(-e[visible]).mean())


def greedy_matches(gts, dts):
    """OKS of the pairs matched greedily, best first (each person at most once)."""
    pairs = sorted(((oks(g, d), i, j) for i, g in enumerate(gts) for j, d in enumerate(dts)), reverse=True)
    used_g, used_d, matched = set(), set(), []
    for o, i, j in pairs:
        if i not in used_g and j not in used_d:
            used_g.add(i)
            used_d.add(j)
            matched.append(o)
    return matched


def label_quality(gt_path, generated_path):
    gt = by_image(json.load(open(gt_path))['annotations'])
    dt = by_image(json.load(open(generated_path))['annotations'])
    n_gt = sum(len(v) for v in gt.values())
    n_dt = sum(len(v) for v in dt.values())
    matched = [o for image in set(gt) | set(dt) for o in greedy_matches(gt.get(image, []), dt.get(image, []))]
    out = {'generated': n_dt, 'true': n_gt, 'meanMatchedOks': round(float(np.mean(matched)), 3) if matched else None}
    for t in THRESHOLDS:
        hits = sum(o >= t for o in matched)
        out[f'precision@{t}'] = round(hits / max(n_dt, 1), 3)
        out[f'recall@{t}'] = round(hits / max(n_gt, 1), 3)
    return out


COLUMNS = ['teacher single', 'teacher multi', 'student single', 'student multi', 'supervised single', 'supervised multi']
# the stronger-teacher stage (keypoint-teachers.sh $STRONG): the supervised model's student
STRONG = ['student of supervised single', 'student of supervised multi']


def mean_std(values):
    return {'mean': round(statistics.mean(values), 2), 'std': round(statistics.stdev(values), 2) if len(values) > 1 else None, 'seeds': values}


def table(out_path, rows_path, meta_json):
    """ROWS.tsv: layout, seed, the six APs, the label-quality JSON[, the two APs of the supervised
    model's student and its labels' quality JSON], tab-separated."""
    per_layout = {}
    for line in open(rows_path):
        f = line.rstrip('\n').split('\t')
        if len(f) < 9:
            continue
        run = {'seed': int(f[1]), **dict(zip(COLUMNS, map(float, f[2:8]))), 'labels': json.loads(f[8])}
        if len(f) >= 12:
            run.update({**dict(zip(STRONG, map(float, f[9:11]))), 'labels of supervised': json.loads(f[11])})
        per_layout.setdefault(f[0], []).append(run)
    rows = []
    for layout, runs in per_layout.items():
        runs.sort(key=lambda r: r['seed'])
        row = {'layout': layout, 'seeds': [r['seed'] for r in runs], **{c: mean_std([r[c] for r in runs]) for c in COLUMNS}}
        row['student - teacher (multi)'] = mean_std([round(r['student multi'] - r['teacher multi'], 1) for r in runs])
        row['student - supervised (multi)'] = mean_std([round(r['student multi'] - r['supervised multi'], 1) for r in runs])
        row['labels'] = [r['labels'] for r in runs]
        if all(STRONG[0] in r for r in runs):
            row.update({c: mean_std([r[c] for r in runs]) for c in STRONG})
            row['student of supervised - supervised (multi)'] = mean_std([round(r[STRONG[1]] - r['supervised multi'], 1) for r in runs])
            row['labels of supervised'] = [r['labels of supervised'] for r in runs]
        rows.append(row)
    result = {**json.loads(meta_json), 'rows': rows}
    with open(out_path + '.tmp', 'w') as f:
        json.dump(result, f, indent=2)
        f.write('\n')
    os.replace(out_path + '.tmp', out_path)

    def cell(v):
        return f"{v['mean']:.1f}" + (f" ± {v['std']:.1f}" if v['std'] is not None else '')
    def pr(labels):
        return ', '.join(f"{q['precision@0.5']:.2f} / {q['recall@0.5']:.2f}" for q in labels)
    columns = COLUMNS + ['student - teacher (multi)', 'student - supervised (multi)']
    print('| layout (seeds) | ' + ' | '.join(columns) + ' | generated labels: P / R @ OKS 0.5 |')
    print('|---' * (len(columns) + 2) + '|')
    for r in rows:
        print(f"| {r['layout']} ({','.join(map(str, r['seeds']))}) | " + ' | '.join(cell(r[c]) for c in columns) + f" | {pr(r['labels'])} |")
    strong = [r for r in rows if STRONG[0] in r]
    if strong:  # the stronger-teacher stage, below: the supervised model is the teacher
        columns = ['supervised single', 'supervised multi'] + STRONG + ['student of supervised - supervised (multi)']
        print('\n| layout (seeds): the supervised model as teacher | ' + ' | '.join(columns) + ' | its labels: P / R @ OKS 0.5 |')
        print('|---' * (len(columns) + 2) + '|')
        for r in strong:
            print(f"| {r['layout']} ({','.join(map(str, r['seeds']))}) | " + ' | '.join(cell(r[c]) for c in columns) + f" | {pr(r['labels of supervised'])} |")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'labels':
        print(json.dumps(label_quality(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) == 5 and sys.argv[1] == 'table':
        table(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
