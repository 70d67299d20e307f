// Seeded procedural keypoint and detection datasets written as PNG + COCO.
export {};
