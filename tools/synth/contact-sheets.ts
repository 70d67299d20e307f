// Renders the contact sheets committed under packages/synth/docs/ (4 × 4 samples of each style
// with their labels drawn on top). Run: cd tools/bench && node --import tsx ../synth/contact-sheets.ts
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeContactSheet } from '../../packages/synth/src/index.js';

const docs = join(dirname(fileURLToPath(import.meta.url)), '../../packages/synth/docs');
const sheets = [
  { file: 'sheet-keypoints.png', style: 'keypoints', scale: 2 },
  { file: 'sheet-shifted.png', style: 'shifted', scale: 1 },
  { file: 'sheet-objects.png', style: 'objects', scale: 1 },
] as const;
for (const s of sheets) {
  const path = join(docs, s.file);
  await writeContactSheet(path, { style: s.style, imageSize: 96, seed: 1, scale: s.scale });
  console.log(`${path}: ${(statSync(path).size / 1024).toFixed(0)} KB`);
}
