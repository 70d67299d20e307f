// IoU, NMS family, box voting, weighted boxes fusion and OKS-NMS on typed arrays.
export {};
