// Test-time transform plans and forward/inverse maps for boxes, RoIs and keypoints.
export {};
