// Opening the models the teacher commands (label, predict, check-model) are given: the ONNX
// file and its manifest, a session checked against the manifest, and the RoI source of a
// keypoint model. Every problem is a usage error (exit 2) naming the file and what to do.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createModelSession, layoutAdapter, loadManifest } from '@omnidistill/infer';
import type { DetectorSession, KeypointSession, ModelManifest, ModelSession, SessionOptions } from '@omnidistill/infer';
import type { KeypointRoiSource } from '../pipeline/label.js';
import { UsageError } from './types.js';

/** An ONNX model read from disk with its validated manifest. */
export interface OpenedModel {
  path: string;
  bytes: Uint8Array;
  manifest: ModelManifest;
  /** First 16 hex digits of the model's SHA-256 (run fingerprints). */
  fingerprint: string;
}

/** Reads `onnx` and its manifest (default: the same path with `.json`). */
export async function openModel(onnx: string, manifestPath?: string): Promise<OpenedModel> {
  const mpath = manifestPath ?? onnx.replace(/\.onnx$/i, '') + '.json';
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(onnx));
  } catch (err) {
    throw new UsageError(`cannot read model ${onnx}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let manifest: ModelManifest;
  try {
    manifest = await loadManifest(mpath);
  } catch (err) {
    throw new UsageError(`model manifest ${mpath}: ${(err as Error).message} (omnidistill inspect ${onnx} prints a manifest to start from)`);
  }
  return { path: onnx, bytes, manifest, fingerprint: createHash('sha256').update(bytes).digest('hex').slice(0, 16) };
}

/**
 * A session for an opened model, checked against its manifest; a model that does not fit
 * its manifest (names, ranks, dtypes) is a usage error that names the file.
 */
export async function openSession<M extends ModelManifest>(model: OpenedModel & { manifest: M }, options: SessionOptions = {}): Promise<ModelSession<M>> {
  try {
    return await createModelSession(model.path, model.manifest, options);
  } catch (err) {
    throw new UsageError(`${(err as Error).message} — run omnidistill inspect ${model.path} to see the model's inputs/outputs and a matching manifest`);
  }
}

/** The model of `flag` with the role the command needs. */
export async function openRoleModel(flag: string, path: string, role: 'detector' | 'keypoints', manifestPath?: string): Promise<OpenedModel> {
  const model = await openModel(path, manifestPath);
  if (model.manifest.role !== role) {
    throw new UsageError(`--${flag}: expected a ${role} model, received a ${model.manifest.role} model (${path}; its manifest's "role")`);
  }
  return model;
}

/** Where a keypoint model's RoIs come from: `--detector FILE` or `--boxes FILE`. */
export async function roiSourceFromFlags(v: Record<string, unknown>, options: SessionOptions = {}): Promise<KeypointRoiSource> {
  if (typeof v.detector === 'string' && typeof v.boxes === 'string') throw new UsageError('--detector and --boxes are alternatives; pass one');
  if (typeof v.detector === 'string') {
    const det = await openRoleModel('detector', v.detector, 'detector');
    return { kind: 'detector', detector: (await openSession(det, options)) as DetectorSession, fingerprint: det.fingerprint };
  }
  if (typeof v.boxes === 'string') return { kind: 'boxes', annotations: v.boxes };
  throw new UsageError('keypoints need RoIs: pass --detector FILE (a person detector) or --boxes FILE (a COCO file with boxes of the same images); teachers whose layout finds the people itself (torchvision-detection keypointrcnn, yolo pose) need neither');
}

/** Keypoint R-CNN / YOLO-pose find the people themselves: RoI flags are a mistake for them. */
function noRoiFlags(v: Record<string, unknown>, model: OpenedModel): null {
  if (typeof v.detector === 'string' || typeof v.boxes === 'string') {
    throw new UsageError(`--teacher ${model.path}: layout "${model.manifest.layout}" finds the people itself; drop --detector/--boxes`);
  }
  return null;
}

/** The session pair of a task, typed for the label/predict pipelines. */
export type TeacherSessions = { task: 'keypoints'; keypoints: { model: KeypointSession; rois: KeypointRoiSource | null } } | { task: 'detection'; detector: DetectorSession };

/** Opens the teacher for `task` (and, for keypoints, its RoI source). */
export async function openTeacher(
  task: 'keypoints' | 'detection',
  flag: string,
  path: string,
  manifestPath: string | undefined,
  v: Record<string, unknown>,
  options: SessionOptions = {},
): Promise<{ model: OpenedModel; sessions: TeacherSessions }> {
  const model = await openRoleModel(flag, path, task === 'keypoints' ? 'keypoints' : 'detector', manifestPath);
  return { model, sessions: await teacherSessions(model, v, options) };
}

/** The sessions of an opened model, its manifest's role deciding the task (predict, check-model). */
export async function teacherSessions(model: OpenedModel, v: Record<string, unknown>, options: SessionOptions = {}): Promise<TeacherSessions> {
  if (model.manifest.role === 'keypoints') {
    const rois = layoutAdapter(model.manifest.layout).traits.selfDetecting ? noRoiFlags(v, model) : await roiSourceFromFlags(v, options);
    return { task: 'keypoints', keypoints: { model: (await openSession(model, options)) as KeypointSession, rois } };
  }
  return { task: 'detection', detector: (await openSession(model, options)) as DetectorSession };
}
