// Small hand-written SVG charts (line and bar), inlined in the HTML reports and written as
// .svg files beside results.json; no charting dependency.

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

/** A line chart as inline SVG: several named series of (x, y) points. */
export function lineChart(
  series: { name: string; points: [number, number][]; errors?: number[] }[],
  opts: { width?: number; height?: number; xLabel: string; yLabel: string; marker?: { x?: number; y?: number; label: string }[] },
): string {
  const W = opts.width ?? 520, H = opts.height ?? 260, L = 56, R = 12, T = 12, B = 40;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="10" y="20">no data</text></svg>`;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
  const tops = series.flatMap((s) => s.points.map(([, y], i) => y + (s.errors?.[i] ?? 0))).filter(Number.isFinite);
  const y0 = Math.min(0, ...ys), y1 = Math.max(...ys, ...tops) || 1;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y: number) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
  const ticks = (lo: number, hi: number) => [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`];
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`);
  for (const t of ticks(x0, x1)) parts.push(`<text x="${sx(t)}" y="${H - B + 14}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of ticks(y0, y1)) parts.push(`<text x="${L - 4}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text x="12" y="${(T + H - B) / 2}" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    const colour = COLOURS[i % COLOURS.length];
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.6" points="${pts.join(' ')}"/>`);
    // Few points (an experiment's variants): mark each, with its ± std bar when given.
    if (s.points.length <= 12) {
      s.points.forEach(([x, y], j) => {
        if (!Number.isFinite(x) || !Number.isFinite(y)) return;
        parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"/>`);
        const e = s.errors?.[j] ?? 0;
        if (e > 0) parts.push(`<line x1="${sx(x).toFixed(1)}" x2="${sx(x).toFixed(1)}" y1="${sy(y - e).toFixed(1)}" y2="${sy(y + e).toFixed(1)}" stroke="${colour}"/>`);
      });
    }
    parts.push(`<text x="${W - R - 4}" y="${T + 14 + 13 * i}" text-anchor="end" fill="${colour}">${esc(s.name)}</text>`);
  });
  for (const m of opts.marker ?? []) {
    if (m.x !== undefined) parts.push(`<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${T}" y2="${H - B}" stroke="#333" stroke-dasharray="4 3"/><text x="${sx(m.x) + 3}" y="${T + 12}">${esc(m.label)}</text>`);
    if (m.y !== undefined) parts.push(`<line x1="${L}" x2="${W - R}" y1="${sy(m.y)}" y2="${sy(m.y)}" stroke="#333" stroke-dasharray="2 3"/><text x="${L + 4}" y="${sy(m.y) - 3}">${esc(m.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toFixed(2);
}


/**
 * A grouped bar chart as inline SVG: one group per category (e.g. an experiment's
 * variants), one bar per series in each, with an optional ± error bar.
 */
export function barChart(
  categories: string[],
  series: { name: string; values: number[]; errors?: number[] }[],
  opts: { width?: number; height?: number; yLabel: string },
): string {
  const W = opts.width ?? Math.max(420, 90 + categories.length * (24 * series.length + 30)), H = opts.height ?? 300, L = 56, R = 12, T = 12 + 13 * series.length, B = 96;
  const tops = series.flatMap((s) => s.values.map((v, i) => v + (s.errors?.[i] ?? 0))).filter(Number.isFinite);
  const y1 = Math.max(0, ...tops) || 1;
  const sy = (y: number) => H - B - (Math.max(0, y) / y1) * (H - T - B);
  const group = (W - L - R) / Math.max(1, categories.length);
  const bar = Math.min(24, (group - 12) / Math.max(1, series.length));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`];
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${sy(0)}" y2="${sy(0)}" stroke="#999"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1].map((f) => f * y1)) {
    parts.push(`<text x="${L - 4}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text><line x1="${L}" x2="${W - R}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="12" y="${(T + H - B) / 2}" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  categories.forEach((c, g) => {
    const gx = L + g * group + (group - bar * series.length) / 2;
    series.forEach((s, i) => {
      const v = s.values[g];
      if (!Number.isFinite(v)) return;
      const x = gx + i * bar;
      const colour = COLOURS[i % COLOURS.length];
      parts.push(`<rect x="${x.toFixed(1)}" y="${sy(v).toFixed(1)}" width="${(bar - 2).toFixed(1)}" height="${(sy(0) - sy(v)).toFixed(1)}" fill="${colour}"><title>${esc(`${c} — ${s.name}: ${fmt(v)}`)}</title></rect>`);
      const e = s.errors?.[g] ?? 0;
      if (e > 0) {
        const cx = (x + (bar - 2) / 2).toFixed(1);
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${sy(v - e).toFixed(1)}" y2="${sy(v + e).toFixed(1)}" stroke="#222"/>`);
      }
    });
    const lx = L + (g + 0.5) * group;
    parts.push(`<text x="${lx.toFixed(1)}" y="${H - B + 12}" text-anchor="end" transform="rotate(-30 ${lx.toFixed(1)} ${H - B + 12})">${esc(c.length > 34 ? `${c.slice(0, 33)}…` : c)}</text>`);
  });
  series.forEach((s, i) => parts.push(`<text x="${W - R - 4}" y="${12 + 13 * i}" text-anchor="end" fill="${COLOURS[i % COLOURS.length]}">${esc(s.name)}</text>`));
  parts.push('</svg>');
  return parts.join('');
}
