// The image list of a labeling run as a stream (DESIGN.md "Scale": memory flat in the number
// of images): the unlabeled images are sorted by id with an external merge sort (sorted runs
// of a few thousand entries in scratch files, then a k-way merge), written as the frozen
// `images.jsonl` while hashed, and read back line by line by whoever needs them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeAtomically } from '@omnidistill/coco';
import { OmniRangeError } from '@omnidistill/core';
import type { ImageEntry } from './shards.js';

/** An image list read in order, as often as needed, without being held. */
export interface ImageList {
  /** Number of images. */
  count: number;
  /** The images in run order (a new pass on each call). */
  entries(): AsyncIterable<ImageEntry>;
}

/** An in-memory list as an {@link ImageList}. */
export function arrayImageList(images: readonly ImageEntry[]): ImageList {
  return {
    count: images.length,
    async *entries() {
      yield* images;
    },
  };
}

/** Entries sorted in memory per run of the external sort (about 1 MB of entries). */
const SORT_RUN = 8192;
/** Runs merged at once (one read buffer each); more runs are merged in several levels. */
const MERGE_FAN_IN = 64;
const READ_BUFFER = 64 << 10;

/** One line of `images.jsonl` (also the line format of the sort's scratch runs). */
export function manifestLine(im: ImageEntry): string {
  return `${JSON.stringify({ id: im.imageId, file_name: im.fileName })}\n`;
}

function parseManifestLine(line: string, where: string): ImageEntry {
  let v: { id?: unknown; file_name?: unknown };
  try {
    v = JSON.parse(line) as typeof v;
  } catch (error) {
    throw new Error(`${where}: not a JSON line (${(error as Error).message}); freeze the image list again with a new --out`);
  }
  if (typeof v?.id !== 'number' || !Number.isInteger(v.id) || typeof v.file_name !== 'string') {
    throw new Error(`${where}: expected {"id": integer, "file_name": string}; freeze the image list again with a new --out`);
  }
  return { imageId: v.id, fileName: v.file_name };
}

/** The entries of an `images.jsonl`-format file, line by line. */
export async function* readImageLines(file: string): AsyncGenerator<ImageEntry> {
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: READ_BUFFER }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line !== '') yield parseManifestLine(line, `${file}:${n}`);
  }
}

/** An entry on its way through the sort, with its position in the input (ties, error messages). */
export interface PositionedEntry extends ImageEntry {
  /** 0-based position in the input stream. */
  position: number;
}

/** Writes a scratch run, one `[id, position, fileName]` line per entry (not an output: no atomic path, the folder is removed). */
async function writeRun(file: string, entries: Iterable<PositionedEntry> | AsyncIterable<PositionedEntry>): Promise<void> {
  const fh = await open(file, 'w');
  try {
    let text = '';
    for await (const e of entries) {
      text += `${JSON.stringify([e.imageId, e.position, e.fileName])}\n`;
      if (text.length >= READ_BUFFER) {
        await fh.write(text);
        text = '';
      }
    }
    if (text !== '') await fh.write(text);
  } finally {
    await fh.close();
  }
}

async function* readRun(file: string): AsyncGenerator<PositionedEntry> {
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: READ_BUFFER }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const [imageId, position, fileName] = JSON.parse(line) as [number, number, string];
    yield { imageId, position, fileName };
  }
}

interface Head {
  entry: PositionedEntry;
  source: number;
}

/** k-way merge of sorted entry streams by (image id, input position): a binary min-heap of one entry per stream. */
async function* mergeSorted(streams: AsyncIterator<PositionedEntry>[]): AsyncGenerator<PositionedEntry> {
  const heap: Head[] = [];
  const less = (a: Head, b: Head) => byId(a.entry, b.entry) < 0;
  const push = (h: Head) => {
    heap.push(h);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): Head => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  const pull = async (source: number) => {
    const r = await streams[source].next();
    if (!r.done) push({ entry: r.value, source });
  };
  for (let s = 0; s < streams.length; s++) await pull(s);
  while (heap.length > 0) {
    const head = pop();
    yield head.entry;
    await pull(head.source);
  }
}

const byId = (a: PositionedEntry, b: PositionedEntry) => a.imageId - b.imageId || a.position - b.position;

/**
 * `images` sorted by id (equal ids in input order), holding at most `limits.runSize`
 * entries (default 8192, plus one read buffer per merged run): larger inputs are cut into
 * sorted runs in a scratch folder under `scratchParent`, merged in levels of
 * `limits.fanIn` (default 64) runs, and the folder is removed when the stream ends or is
 * abandoned.
 */
export async function* sortImagesById(
  images: AsyncIterable<ImageEntry> | Iterable<ImageEntry>,
  scratchParent: string,
  limits: { runSize?: number; fanIn?: number } = {},
): AsyncGenerator<PositionedEntry> {
  const runSize = limits.runSize ?? SORT_RUN;
  const fanIn = limits.fanIn ?? MERGE_FAN_IN;
  if (!Number.isInteger(runSize) || runSize < 1) throw new RangeError(`limits.runSize: expected a positive integer, received ${runSize}`);
  if (!Number.isInteger(fanIn) || fanIn < 2) throw new RangeError(`limits.fanIn: expected an integer >= 2, received ${fanIn}`);
  let buffer: PositionedEntry[] = [];
  let position = 0;
  let runs: string[] = [];
  let scratch: string | null = null;
  try {
    for await (const im of images) {
      buffer.push({ imageId: im.imageId, fileName: im.fileName, position: position++ });
      if (buffer.length < runSize) continue;
      if (scratch === null) {
        await mkdir(scratchParent, { recursive: true });
        scratch = await mkdtemp(join(scratchParent, '.omnidistill-sort-'));
      }
      const file = join(scratch, `run-${runs.length}.jsonl`);
      await writeRun(file, buffer.sort(byId));
      runs.push(file);
      buffer = [];
    }
    buffer.sort(byId);
    if (scratch === null) {
      yield* buffer;
      return;
    }
    let level = 0;
    while (runs.length + 1 > fanIn) {
      const next: string[] = [];
      for (let i = 0; i < runs.length; i += fanIn) {
        const file = join(scratch, `level-${level}-${next.length}.jsonl`);
        await writeRun(file, mergeSorted(runs.slice(i, i + fanIn).map((f) => readRun(f))));
        next.push(file);
      }
      runs = next;
      level++;
    }
    const streams = [...runs.map((f) => readRun(f)), (async function* () {
      yield* buffer;
    })()];
    yield* mergeSorted(streams);
  } finally {
    if (scratch !== null) await rm(scratch, { recursive: true, force: true });
  }
}
