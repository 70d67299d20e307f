// Heatmap ensembling across transforms and Mask R-CNN keypoint decoding (TS reference + native backends).
export {};
