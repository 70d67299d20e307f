// What a labeling run checks before trusting earlier work: the content of its inputs
// (streaming SHA-256), each shard's length and checksum, the identity of the images a shard
// was computed from (name, size, mtime), and that every image path stays inside the image
// folder.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { ImageEntry } from './shards.js';

/** SHA-256 (hex) of a file's bytes, read as a stream (constant memory whatever the size). */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A written shard as `run.json` records it: its byte length, checksum and image identity. */
export interface ShardRecord {
  bytes: number;
  sha256: string;
  /** {@link imageIdentity} of the shard's images when it was written. */
  images: string;
}

/** Byte length and SHA-256 of the UTF-8 text of a shard. */
export function digestText(text: string): { bytes: number; sha256: string } {
  const buf = Buffer.from(text, 'utf8');
  return { bytes: buf.byteLength, sha256: createHash('sha256').update(buf).digest('hex') };
}

/** Why `bytes` do not match `record`, or null when they do. */
export function shardDamage(bytes: Uint8Array, record: Pick<ShardRecord, 'bytes' | 'sha256'>): string | null {
  if (bytes.byteLength !== record.bytes) return `${bytes.byteLength} bytes, expected ${record.bytes}`;
  const sha = createHash('sha256').update(bytes).digest('hex');
  return sha === record.sha256 ? null : 'checksum mismatch';
}

/**
 * SHA-256 over each image's name, size and modification time (or `missing`): cheap (one stat
 * per image, no read) and changes when an image is replaced, edited, added back or removed.
 */
export async function imageIdentity(root: string, entries: readonly ImageEntry[]): Promise<string> {
  const hash = createHash('sha256');
  const stats = await Promise.all(entries.map((e) => stat(resolve(root, e.fileName)).catch(() => null)));
  entries.forEach((e, i) => {
    const s = stats[i];
    hash.update(`${e.imageId}\t${e.fileName}\t${s ? `${s.size}\t${s.mtimeMs}` : 'missing'}\n`);
  });
  return hash.digest('hex');
}

/**
 * The absolute path of `fileName` under `root`, or null when it escapes `root` (`../`, an
 * absolute path). The check is on the path text; links inside the folder are followed as usual.
 */
export function containedPath(root: string, fileName: string): string | null {
  const base = resolve(root);
  const full = resolve(base, fileName);
  const rel = relative(base, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  return full;
}

/** The first image whose `fileName` escapes `root` (see {@link containedPath}), if any. */
export function findEscapingImage(root: string, images: readonly ImageEntry[]): ImageEntry | undefined {
  return images.find((im) => containedPath(root, im.fileName) === null);
}
