// writeYoloTargets: the static centre-sampling assignment of YOLO students (onnx-yolo-student.ts).
import { describe, expect, it } from 'vitest';
import { yoloAnchorGrid } from '@omnidistill/artifacts';
import { writeYoloTargets, type LabeledBox } from '@omnidistill/models';

/** Assigns `boxes` on a 32×32 input with strides 8 and 16 (16 + 4 anchors), 2 classes. */
function assign(boxes: LabeledBox[], radius?: number) {
  const grid = yoloAnchorGrid(32, 32, [8, 16]);
  const out = { classes: new Float32Array(2 * grid.count), boxes: new Float32Array(4 * grid.count), foreground: new Float32Array(grid.count) };
  const n = writeYoloTargets(boxes, 2, grid, out, radius);
  const fg = Array.from(out.foreground.keys()).filter((i) => out.foreground[i] === 1);
  const box = (i: number) => [0, 1, 2, 3].map((c) => out.boxes[c * grid.count + i]);
  const label = (i: number) => (out.classes[i] === 1 ? 0 : out.classes[grid.count + i] === 1 ? 1 : -1);
  return { n, fg, box, label };
}

describe('writeYoloTargets', () => {
  it('takes the anchors inside a box and near its centre, with its class and cx, cy, w, h', () => {
    // Box 2..22 × 2..14 (centre 12, 8): stride-8 anchors at x 4, 12, 20 and y 4, 12 lie inside
    // (indices 0, 1, 2, 4, 5, 6); the stride-16 anchor (8, 8) too (index 16).
    const { n, fg, box, label } = assign([{ box: [2, 2, 22, 14], label: 1 }]);
    expect(fg).toEqual([0, 1, 2, 4, 5, 6, 16]);
    expect(n).toBe(7);
    expect(box(5)).toEqual([12, 8, 20, 12]);
    expect(fg.map(label)).toEqual(fg.map(() => 1));
  });

  it('keeps only anchors within centerRadius strides of the centre', () => {
    // Radius 0.6 strides from (12, 8): stride 8 reaches 4.8 px (x 12 only; y 4 and 12), stride 16
    // 9.6 px (the anchor at (8, 8) stays).
    expect(assign([{ box: [2, 2, 22, 14], label: 0 }], 0.6).fg).toEqual([1, 5, 16]);
  });

  it('gives an anchor claimed by two boxes to the smaller one', () => {
    const { fg, label, box } = assign([
      { box: [0, 0, 32, 32], label: 0 },
      { box: [8, 8, 18, 18], label: 1 },
    ]);
    expect(label(5)).toBe(1); // anchor (12, 12) lies in both
    expect(box(5)).toEqual([13, 13, 10, 10]);
    expect(label(0)).toBe(0);
    expect(fg).toContain(0);
  });

  it('gives a box smaller than its stride the finest-level anchor whose cell holds its centre', () => {
    // 2×2 box around (9, 18): no anchor centre inside; the stride-8 cell (1, 2) holds it → index 9.
    const { fg, box } = assign([{ box: [8, 17, 10, 19], label: 0 }]);
    expect(fg).toEqual([9]);
    expect(box(9)).toEqual([9, 18, 2, 2]);
  });

  it('skips empty boxes and labels outside the classes', () => {
    expect(assign([{ box: [4, 4, 4, 20], label: 0 }, { box: [0, 0, 16, 16], label: 2 }]).n).toBe(0);
  });
});
