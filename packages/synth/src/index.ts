// Seeded procedural keypoint and detection datasets written as PNG + COCO.
export { generateSplits, GENERATOR_VERSION, DEMO_SETTINGS } from './generate.js';
export { encodePng, writeFileAtomic } from './image-job.js';
export type { GenerateOptions, GenerateProgress, GenerateResult, SplitOutput, SplitStats, SynthCocoFile } from './generate.js';
export {
  renderSample, categoriesFor, imageId, imageFileName,
  SYNTH_STYLES, SPLIT_NAMES, SPLIT_INFO, ID_STRIDE, OCCLUDED_LABEL_PROB,
} from './sample.js';
export type { SynthStyle, SplitName, SampleKey, Sample, SynthImage, SynthAnnotation, SynthCategory } from './sample.js';
export { renderKeypointScene, maskStats } from './keypoint-scene.js';
export type { KeypointScene, KeypointInstance, KeypointSceneOptions } from './keypoint-scene.js';
export { renderObjectScene, OBJECT_CATEGORIES, OBJECT_STYLE } from './object-scene.js';
export type { ObjectScene, ObjectInstance, ObjectStyle, ObjectCategory } from './object-scene.js';
export { KEYPOINT_STYLE, SHIFTED_STYLE, KEYPOINT_STYLES } from './styles.js';
export type { KeypointStyle } from './styles.js';
export { KeypointState } from './figure.js';
export type { PoseParams, FigurePaints } from './figure.js';
export { renderContactSheet, writeContactSheet, composeContactSheet } from './contact-sheet.js';
export type { ContactSheetOptions, SheetTile } from './contact-sheet.js';
export { Rng, hashWords } from './rng.js';
export type { Canvas, Paint, Texture } from './raster.js';
