// Reference teacher/student architectures (keypoints, detector) built with @omnidistill/artifacts.
export {};
