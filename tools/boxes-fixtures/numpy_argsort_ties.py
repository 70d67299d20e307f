"""Records NumPy's generic (non-SIMD) argsort on tie-heavy float64 arrays.

The boxes parity tests emulate it (packages/boxes/test/support/numpy-argsort.ts) to reproduce
ensemble_boxes' unstable tie order; this file is the evidence that the emulation is right.
The committed output came from Debian's NumPy 1.24.2 (/usr/bin/python3), whose argsort has no
SIMD path on this CPU; NumPy 2.4.6 with its SIMD sorts disabled
(NPY_DISABLE_CPU_FEATURES="X86_V3") gives identical orders. Regenerate with:

  /usr/bin/python3 tools/boxes-fixtures/numpy_argsort_ties.py \
      > packages/boxes/test/support/numpy-argsort-cases.json
"""
import json
import numpy as np

rng = np.random.default_rng(1)
cases = []
for n in (5, 16, 17, 18, 40, 130, 300, 1000):
    v = (rng.integers(0, 6, n) / 10).astype(float)
    cases.append({'values': v.tolist(), 'argsort': np.argsort(v).tolist()})
print(json.dumps({'numpy': np.__version__, 'cases': cases}))
