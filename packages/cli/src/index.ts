// The omnidistill command: demo, label, train, eval, report.
export {};
