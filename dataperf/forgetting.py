"""Measures of a model updated stage after stage, read from its accuracy matrix.

``R[i, j]`` is the accuracy on stage ``j``'s test split after training stage ``i`` (stages
counted from 1 to ``T`` below; arrays are 0-based). With ``b[j]`` a reference model's
accuracy on stage ``j`` and ``R*[k]`` the accuracy on stage ``k`` of a model trained jointly
on everything up to stage ``k`` (Lopez-Paz & Ranzato 2017; Chaudhry et al. 2018):

- ACC = mean_j R[T, j]
- BWT = mean_{j<T} (R[T, j] - R[j, j])            (negative: forgetting)
- FWT = mean_{j>=2} (R[j-1, j] - b[j])
- forgetting = mean_{j<T} (max_{l<T} R[l, j] - R[T, j])
- intransigence = mean_{k} (R*[k] - R[k, k])      (over k = 1..T)
"""

from __future__ import annotations

import numpy as np

MEASURES = ("acc", "bwt", "fwt", "forgetting", "intransigence")
"""The measures :func:`measures` returns, in the order they are shown."""


def measures(r: np.ndarray, initial: np.ndarray, joint: np.ndarray) -> dict[str, float]:
    """Return ACC, BWT, FWT, forgetting and intransigence of the (T, T) matrix ``r``, with
    ``initial[j]`` the reference accuracies of FWT and ``joint[k]`` those of intransigence.

    Raises ValueError unless ``r`` is square with T >= 2 and both references have T entries.
    """
    r = np.asarray(r, dtype=np.float64)
    t = r.shape[0]
    if r.ndim != 2 or r.shape[1] != t or t < 2 or len(initial) != t or len(joint) != t:
        raise ValueError(f"need a square matrix of at least 2 stages and references of its size, got {r.shape}")
    last = r[t - 1]
    diag = np.diag(r)
    return {
        "acc": float(last.mean()),
        "bwt": float((last[:-1] - diag[:-1]).mean()),
        "fwt": float(np.mean([r[j - 1, j] - initial[j] for j in range(1, t)])),
        "forgetting": float((r[:-1, :-1].max(axis=0) - last[:-1]).mean()),
        "intransigence": float((np.asarray(joint, dtype=np.float64) - diag).mean()),
    }
