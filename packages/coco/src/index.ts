// COCO dataset/results types, validated streaming IO and an exact COCOeval for boxes and keypoints.
export {};
