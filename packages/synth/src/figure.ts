// Frontal articulated stick figures carrying the 17 COCO-person keypoints. The figure faces the
// camera, so the person's left side is drawn on the image's right (+x). Left and right limbs
// share one colour: only geometry tells them apart.
import { fillCapsule, fillEllipse, fillPolygon, type Canvas, type DrawTarget, type Paint } from './raster.js';
import type { Rng } from './rng.js';

/** Keypoint indices in COCO-person order (see COCO_PERSON in @omnidistill/core). */
export const KP = {
  nose: 0, leftEye: 1, rightEye: 2, leftEar: 3, rightEar: 4,
  leftShoulder: 5, rightShoulder: 6, leftElbow: 7, rightElbow: 8, leftWrist: 9, rightWrist: 10,
  leftHip: 11, rightHip: 12, leftKnee: 13, rightKnee: 14, leftAnkle: 15, rightAnkle: 16,
} as const;

/** Body parts; a pixel's owner code says which part of which figure is on top there. */
export const PART = {
  torso: 0, head: 1, leftUpperArm: 2, leftForearm: 3, rightUpperArm: 4, rightForearm: 5,
  leftThigh: 6, leftShin: 7, rightThigh: 8, rightShin: 9,
} as const;

/** Owner codes: 0 = background/clutter, OCCLUDER_CODE = an occluder, else figure/part. */
export const OCCLUDER_CODE = 0xffff;
const PARTS_PER_FIGURE = 16;

/** The owner code of part `part` of figure `figure` (0-based). */
export function ownerCode(figure: number, part: number): number {
  return 1 + figure * PARTS_PER_FIGURE + part;
}

const bit = (p: number): number => 1 << p;
/** For each keypoint, the parts that may legitimately be on top at its pixel when it is visible. */
const KEYPOINT_PARTS: readonly number[] = [
  bit(PART.head), bit(PART.head), bit(PART.head), bit(PART.head), bit(PART.head),
  bit(PART.torso) | bit(PART.leftUpperArm), bit(PART.torso) | bit(PART.rightUpperArm),
  bit(PART.leftUpperArm) | bit(PART.leftForearm), bit(PART.rightUpperArm) | bit(PART.rightForearm),
  bit(PART.leftForearm), bit(PART.rightForearm),
  bit(PART.torso) | bit(PART.leftThigh), bit(PART.torso) | bit(PART.rightThigh),
  bit(PART.leftThigh) | bit(PART.leftShin), bit(PART.rightThigh) | bit(PART.rightShin),
  bit(PART.leftShin), bit(PART.rightShin),
];

/** Ranges that shape the pose distribution of a style (angles in radians). */
export interface PoseParams {
  /** Whole-body lean: standard deviation. */
  readonly tiltSd: number;
  /** Upper-arm angle from hanging straight down, outward positive: [lo, hi]. */
  readonly armAngle: readonly [number, number];
  /** Probability that an arm is raised above the shoulder line instead. */
  readonly armRaiseProb: number;
  /** Elbow bend relative to the upper arm: [lo, hi]. */
  readonly elbowBend: readonly [number, number];
  /** Leg spread from vertical, outward positive: [lo, hi]. */
  readonly legAngle: readonly [number, number];
  /** Knee bend: [lo, hi]. */
  readonly kneeBend: readonly [number, number];
  /** Head yaw: standard deviation (clipped to ±1.45); larger turns hide eyes and ears. */
  readonly headYawSd: number;
  /** Smallest out-of-plane foreshortening factor of a limb segment. */
  readonly foreshortenMin: number;
  /** Shoulder/hip width relative to the height: [lo, hi] multiplier. */
  readonly aspect: readonly [number, number];
  /** Limb thickness multiplier: [lo, hi]. */
  readonly thickness: readonly [number, number];
}

/** Colours and textures of one figure. */
export interface FigurePaints {
  readonly torso: Paint;
  readonly arms: Paint;
  readonly legs: Paint;
  readonly skin: Paint;
  readonly features: Paint;
  readonly ears: Paint;
}

/** A figure's geometry in image coordinates, ready to draw and to annotate. */
export interface FigureGeometry {
  /** 17 × 2 keypoint coordinates (continuous; pixel x spans [x, x + 1)). */
  readonly keypoints: Float64Array;
  /** Face points turned away from the camera (hidden by the head itself). */
  readonly selfHidden: readonly boolean[];
  readonly headCentre: readonly [number, number];
  readonly headRadius: number;
  readonly neck: readonly [number, number];
  readonly torsoPolygon: readonly number[];
  readonly torsoRound: number;
  readonly neckRadius: number;
  readonly armRadius: number;
  readonly legRadius: number;
  /** Draw order of limbs: arms after the head when true (a raised arm in front of the face). */
  readonly armsOverHead: boolean;
  readonly frontLeg: 'left' | 'right';
  readonly frontArm: 'left' | 'right';
}

/** Where and how large a figure is: pelvis position and height in pixels. */
export interface FigurePlacement {
  readonly x: number;
  readonly y: number;
  readonly height: number;
}

/** Face points on the head sphere: azimuth (radians, + towards the person's left) and elevation. */
const FACE = [
  { kp: KP.nose, az: 0, el: -0.2, depth: 1.15 },
  { kp: KP.leftEye, az: 0.45, el: 0.18, depth: 1 },
  { kp: KP.rightEye, az: -0.45, el: 0.18, depth: 1 },
  { kp: KP.leftEar, az: 1.3, el: 0, depth: 1 },
  { kp: KP.rightEar, az: -1.3, el: 0, depth: 1 },
] as const;
/** A face point is hidden when it faces the camera less than this (cos of its turned azimuth). */
const FACING_MIN = 0.12;

/** Samples a pose and lays the figure out in image coordinates. */
export function sampleFigure(rng: Rng, place: FigurePlacement, pose: PoseParams): FigureGeometry {
  const H = place.height;
  const tilt = rng.normal(0, pose.tiltSd);
  const cosT = Math.cos(tilt);
  const sinT = Math.sin(tilt);
  // Body frame: origin at the pelvis, +x = person's left (image right), +y = down.
  const toImage = (bx: number, by: number): [number, number] => [place.x + bx * cosT - by * sinT, place.y + bx * sinT + by * cosT];
  const aspect = rng.uniform(pose.aspect[0], pose.aspect[1]);
  const thick = rng.uniform(pose.thickness[0], pose.thickness[1]);
  const torsoLen = 0.3 * H * rng.uniform(0.92, 1.08);
  const shoulderHalf = 0.115 * H * aspect;
  const hipHalf = 0.075 * H * aspect;
  const armRadius = Math.max(0.9, 0.034 * H * thick);
  const legRadius = Math.max(1.0, 0.042 * H * thick);
  const headRadius = Math.max(2, 0.078 * H * rng.uniform(0.9, 1.12));
  const neckLen = 0.035 * H;
  const fs = (): number => rng.uniform(pose.foreshortenMin, 1);

  const kps = new Float64Array(34);
  const setKp = (k: number, p: readonly [number, number]): void => {
    kps[2 * k] = p[0];
    kps[2 * k + 1] = p[1];
  };

  // Shoulders, elbows, wrists. side = +1 for the person's left (image right).
  const shoulderY = -torsoLen + 0.03 * H;
  const limb = (side: 1 | -1, start: [number, number], angle: number, bend: number, l1: number, l2: number): [[number, number], [number, number]] => {
    const a1 = angle;
    const a2 = angle + bend;
    const mid: [number, number] = [start[0] + side * Math.sin(a1) * l1, start[1] + Math.cos(a1) * l1];
    const end: [number, number] = [mid[0] + side * Math.sin(a2) * l2, mid[1] + Math.cos(a2) * l2];
    return [mid, end];
  };
  const armAngle = (): number => (rng.chance(pose.armRaiseProb) ? rng.uniform(1.7, 2.9) : rng.uniform(pose.armAngle[0], pose.armAngle[1]));
  for (const side of [1, -1] as const) {
    const shoulder: [number, number] = [side * shoulderHalf, shoulderY];
    const [elbow, wrist] = limb(side, shoulder, armAngle(), rng.uniform(pose.elbowBend[0], pose.elbowBend[1]), 0.165 * H * fs(), 0.15 * H * fs());
    setKp(side === 1 ? KP.leftShoulder : KP.rightShoulder, toImage(...shoulder));
    setKp(side === 1 ? KP.leftElbow : KP.rightElbow, toImage(...elbow));
    setKp(side === 1 ? KP.leftWrist : KP.rightWrist, toImage(...wrist));
    const hip: [number, number] = [side * hipHalf, 0];
    const [knee, ankle] = limb(side, hip, rng.uniform(pose.legAngle[0], pose.legAngle[1]), rng.uniform(pose.kneeBend[0], pose.kneeBend[1]), 0.235 * H * fs(), 0.225 * H * fs());
    setKp(side === 1 ? KP.leftHip : KP.rightHip, toImage(...hip));
    setKp(side === 1 ? KP.leftKnee : KP.rightKnee, toImage(...knee));
    setKp(side === 1 ? KP.leftAnkle : KP.rightAnkle, toImage(...ankle));
  }

  // Head: a sphere turned by `yaw`; face points project by their turned azimuth.
  const neckBody: [number, number] = [0, -torsoLen];
  const headBody: [number, number] = [rng.normal(0, 0.01 * H), -torsoLen - neckLen - headRadius];
  const yaw = Math.max(-1.45, Math.min(1.45, rng.normal(0, pose.headYawSd)));
  const roll = rng.normal(0, 0.12);
  const selfHidden: boolean[] = new Array<boolean>(17).fill(false);
  const cr = Math.cos(roll);
  const sr = Math.sin(roll);
  for (const f of FACE) {
    const az = f.az + yaw;
    const u = headRadius * Math.sin(az) * Math.cos(f.el) * f.depth;
    const v = -headRadius * Math.sin(f.el);
    selfHidden[f.kp] = Math.cos(az) < FACING_MIN;
    setKp(f.kp, toImage(headBody[0] + u * cr - v * sr, headBody[1] + u * sr + v * cr));
  }

  // Torso: a rounded quadrilateral from shoulders to hips.
  const round = 0.025 * H;
  const torsoBody: [number, number][] = [
    [-shoulderHalf - armRadius * 0.3 + round, -torsoLen + round],
    [shoulderHalf + armRadius * 0.3 - round, -torsoLen + round],
    [hipHalf + legRadius * 0.8 - round, 0.04 * H - round],
    [-hipHalf - legRadius * 0.8 + round, 0.04 * H - round],
  ];
  const torsoPolygon = torsoBody.flatMap((p) => toImage(...p));
  return {
    keypoints: kps,
    selfHidden,
    headCentre: toImage(...headBody),
    headRadius,
    neck: toImage(...neckBody),
    torsoPolygon,
    torsoRound: round,
    neckRadius: Math.max(0.8, 0.03 * H * thick),
    armRadius,
    legRadius,
    armsOverHead: rng.chance(0.25),
    frontLeg: rng.chance(0.5) ? 'left' : 'right',
    frontArm: rng.chance(0.5) ? 'left' : 'right',
  };
}

function kp(g: FigureGeometry, k: number): [number, number] {
  return [g.keypoints[2 * k] as number, g.keypoints[2 * k + 1] as number];
}

/**
 * Draws a figure. `mask` (optional) receives its silhouette coverage; `owner` receives the
 * part codes of figure number `index`.
 */
export function drawFigure(canvas: Canvas, g: FigureGeometry, paints: FigurePaints, index: number, mask?: Uint8Array, owner?: Uint16Array): void {
  const t = (part: number): DrawTarget => ({ mask, owner, code: ownerCode(index, part) });
  const seg = (a: number, b: number, r: number, paint: Paint, part: number): void => {
    const [ax, ay] = kp(g, a);
    const [bx, by] = kp(g, b);
    fillCapsule(canvas, ax, ay, bx, by, r, paint, t(part));
  };
  const leg = (side: 'left' | 'right'): void => {
    if (side === 'left') {
      seg(KP.leftHip, KP.leftKnee, g.legRadius, paints.legs, PART.leftThigh);
      seg(KP.leftKnee, KP.leftAnkle, g.legRadius * 0.9, paints.legs, PART.leftShin);
    } else {
      seg(KP.rightHip, KP.rightKnee, g.legRadius, paints.legs, PART.rightThigh);
      seg(KP.rightKnee, KP.rightAnkle, g.legRadius * 0.9, paints.legs, PART.rightShin);
    }
  };
  const arm = (side: 'left' | 'right'): void => {
    if (side === 'left') {
      seg(KP.leftShoulder, KP.leftElbow, g.armRadius, paints.arms, PART.leftUpperArm);
      seg(KP.leftElbow, KP.leftWrist, g.armRadius * 0.9, paints.arms, PART.leftForearm);
    } else {
      seg(KP.rightShoulder, KP.rightElbow, g.armRadius, paints.arms, PART.rightUpperArm);
      seg(KP.rightElbow, KP.rightWrist, g.armRadius * 0.9, paints.arms, PART.rightForearm);
    }
  };
  const other = (s: 'left' | 'right'): 'left' | 'right' => (s === 'left' ? 'right' : 'left');

  leg(other(g.frontLeg));
  leg(g.frontLeg);
  fillPolygon(canvas, g.torsoPolygon, paints.torso, t(PART.torso), g.torsoRound);
  const [hx, hy] = g.headCentre;
  fillCapsule(canvas, g.neck[0], g.neck[1], hx, hy, g.neckRadius, paints.skin, t(PART.torso));
  const arms = (): void => {
    arm(other(g.frontArm));
    arm(g.frontArm);
  };
  if (!g.armsOverHead) arms();
  drawHead(canvas, g, paints, t(PART.head));
  if (g.armsOverHead) arms();
}

function drawHead(canvas: Canvas, g: FigureGeometry, paints: FigurePaints, target: DrawTarget): void {
  const r = g.headRadius;
  const [hx, hy] = g.headCentre;
  fillEllipse(canvas, hx, hy, r, r * 1.05, 0, paints.skin, target);
  // Ears facing the camera stick out at the side of the head.
  for (const k of [KP.leftEar, KP.rightEar]) {
    if (g.selfHidden[k]) continue;
    const [x, y] = kp(g, k);
    fillEllipse(canvas, x, y, Math.max(0.7, r * 0.2), Math.max(0.9, r * 0.3), 0, paints.ears, target);
  }
  // Eyes (dark dots) and the nose, only when turned towards the camera.
  for (const k of [KP.leftEye, KP.rightEye]) {
    if (g.selfHidden[k]) continue;
    const [x, y] = kp(g, k);
    fillEllipse(canvas, x, y, Math.max(0.6, r * 0.17), Math.max(0.6, r * 0.17), 0, paints.features, target);
  }
  if (!g.selfHidden[KP.nose]) {
    const [x, y] = kp(g, KP.nose);
    fillEllipse(canvas, x, y, Math.max(0.5, r * 0.12), Math.max(0.5, r * 0.12), 0, paints.ears, target);
  }
}

/** Keypoint states: visible, occluded (inside the image, something else on top) or outside. */
export type KeypointState = 0 | 1 | 2;
export const KeypointState = { Outside: 0, Occluded: 1, Visible: 2 } as const;

/**
 * Decides each keypoint's state after everything is drawn: outside the image; occluded when
 * the head hides it (face turned away) or when the pixel's top owner is not one of the
 * keypoint's own parts of this figure; visible otherwise.
 */
export function keypointStates(g: FigureGeometry, index: number, owner: Uint16Array, width: number, height: number): KeypointState[] {
  const states: KeypointState[] = [];
  for (let k = 0; k < 17; k++) {
    const x = g.keypoints[2 * k] as number;
    const y = g.keypoints[2 * k + 1] as number;
    if (!(x >= 0 && x < width && y >= 0 && y < height)) {
      states.push(KeypointState.Outside);
      continue;
    }
    if (g.selfHidden[k]) {
      states.push(KeypointState.Occluded);
      continue;
    }
    const code = owner[Math.floor(y) * width + Math.floor(x)] as number;
    const base = ownerCode(index, 0);
    const part = code - base;
    const mine = part >= 0 && part < PARTS_PER_FIGURE && ((KEYPOINT_PARTS[k] as number) & (1 << part)) !== 0;
    states.push(mine ? KeypointState.Visible : KeypointState.Occluded);
  }
  return states;
}
