"""Fixed models: the part of a challenge participants cannot change.

A :class:`FixedModel` fits on (X, y, seed) and returns a :class:`Fitted` that predicts
labels. Linear fitted models expose their weights, so many of them can score one test set
in a single matrix product (the ratchet's batched path) with the same numbers as one by one.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dataperf.errors import SpecError, param_error
from dataperf.registry import PluginRegistry


class Fitted(ABC):
    """A fitted fixed model."""

    @abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return predicted class labels (int64) for the rows of ``x``."""


@dataclass(frozen=True)
class Linear(Fitted):
    """A linear classifier: ``argmax(x @ w + b)`` over ``classes`` (or ``x @ w + b > 0``, binary)."""

    w: np.ndarray
    """(d, k) weights, k = 1 for binary."""
    b: np.ndarray
    """(k,) intercepts."""
    classes: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return predicted labels for ``x``."""
        return decide(x.astype(np.float64) @ self.w + self.b, self.classes)


def decide(scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Return labels from decision scores (n, k): threshold at 0 if k == 1, else argmax."""
    if scores.shape[1] == 1:
        return classes[(scores[:, 0] > 0).astype(np.int64)]
    return classes[scores.argmax(axis=1)]


@dataclass(frozen=True)
class Constant(Fitted):
    """What any model learns from a single class: predict that class."""

    label: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return ``label`` for every row."""
        return np.full(len(x), self.label, dtype=np.int64)


@dataclass(frozen=True)
class Wrapped(Fitted):
    """A fitted scikit-learn estimator."""

    est: Any

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the estimator's predictions as int64."""
        return np.asarray(self.est.predict(x), dtype=np.int64)


class FixedModel(ABC):
    """A model with fixed hyper-parameters, trained on whatever data a submission gives."""

    name: str

    @abstractmethod
    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
        """Return the model fitted on (x, y) with ``seed`` fixing every random choice."""


def _subsample(n: int, fraction: float, seed: int) -> np.ndarray:
    if fraction >= 1.0:
        return np.arange(n)
    k = max(1, int(round(n * fraction)))
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


@dataclass(frozen=True)
class LogReg(FixedModel):
    """L2 logistic regression (lbfgs) on the embeddings.

    Each seed fits on a seeded ``subsample`` share of the rows, so the spread over seeds
    measures how much a training set's score rests on a few rows.
    """

    C: float = 1.0
    max_iter: int = 200
    subsample: float = 1.0
    name: str = "logreg"

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
        """Return a :class:`Linear` (or :class:`Constant` if one class is present)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        idx = _subsample(len(y), self.subsample, seed)
        xs, ys = x[idx], y[idx]
        classes = np.unique(ys)
        if len(classes) < 2:
            return Constant(int(classes[0]) if len(classes) else 0)
        est = LogisticRegression(C=self.C, max_iter=self.max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(xs.astype(np.float64), ys)
        return Linear(
            w=np.ascontiguousarray(est.coef_.T), b=est.intercept_.copy(), classes=est.classes_.astype(np.int64)
        )


@dataclass(frozen=True)
class SvcLrVote(FixedModel):
    """Soft-voting ensemble of an RBF SVC (with probabilities) and a logistic regression."""

    C: float = 1.0
    lr_C: float = 1.0
    max_iter: int = 500
    name: str = "svc-lr-vote"

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
        """Return the fitted ensemble (or :class:`Constant` if one class is present)."""
        from sklearn.ensemble import VotingClassifier
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import SVC

        classes = np.unique(y)
        if len(classes) < 2:
            return Constant(int(classes[0]) if len(classes) else 0)
        est = VotingClassifier(
            [
                ("svc", SVC(C=self.C, probability=True, random_state=seed)),
                ("lr", LogisticRegression(C=self.lr_C, max_iter=self.max_iter)),
            ],
            voting="soft",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)  # tiny classes: SVC's internal CV warns
            warnings.simplefilter("ignore", FutureWarning)  # SVC(probability=True), pinned sklearn
            est.fit(x.astype(np.float64), y)
        return Wrapped(est)


@dataclass(frozen=True)
class TorchLinear(FixedModel):
    """Multinomial logistic regression in PyTorch: zero-initialised weights, full-batch gradient
    descent in float64 for a fixed number of epochs (no randomness but the seeded subsample).

    ``device``: ``cpu``, ``cuda``, or ``auto`` (CUDA when a GPU is present, else the CPU). The
    CPU and CUDA fits agree to within float64 rounding (see docker/README.md for the measured
    tolerance); predictions are made on the host from the fitted weights.
    """

    epochs: int = 300
    lr: float = 0.5
    weight_decay: float = 1e-4
    subsample: float = 1.0
    device: str = "auto"
    name: str = "torch-linear"

    def resolved_device(self) -> str:
        """Return the device fits run on: 'cuda' if asked for (or auto) and present, else 'cpu'."""
        import torch

        if self.device not in ("auto", "cpu", "cuda"):
            raise SpecError(param_error("device", "model 'torch-linear'", "'auto', 'cpu' or 'cuda'", self.device))
        return "cuda" if self.device != "cpu" and torch.cuda.is_available() else "cpu"

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
        """Return a :class:`Linear` (or :class:`Constant` if one class is present)."""
        import torch

        idx = _subsample(len(y), self.subsample, seed)
        classes = np.unique(y[idx])
        if len(classes) < 2:
            return Constant(int(classes[0]) if len(classes) else 0)
        dev = self.resolved_device()
        xt = torch.as_tensor(np.asarray(x[idx], dtype=np.float64), device=dev)
        yt = torch.as_tensor(np.searchsorted(classes, y[idx]), device=dev)
        w = torch.zeros((xt.shape[1], len(classes)), dtype=torch.float64, device=dev, requires_grad=True)
        b = torch.zeros(len(classes), dtype=torch.float64, device=dev, requires_grad=True)
        for _ in range(self.epochs):
            loss = torch.nn.functional.cross_entropy(xt @ w + b, yt) + self.weight_decay * (w * w).sum()
            gw, gb = torch.autograd.grad(loss, (w, b))
            with torch.no_grad():
                w -= self.lr * gw
                b -= self.lr * gb
        return Linear(w=w.detach().cpu().numpy(), b=b.detach().cpu().numpy(), classes=classes.astype(np.int64))


MODELS: PluginRegistry[Callable[..., FixedModel]] = PluginRegistry("fixed model", group="dataperf.models")
MODELS.add("logreg", LogReg)
MODELS.add("svc-lr-vote", SvcLrVote)
MODELS.add("torch-linear", TorchLinear)


def build_model(name: str, params: dict[str, Any]) -> FixedModel:
    """Return the fixed model ``name`` built with ``params``.

    Raises RegistryError for an unknown name and SpecError for an unknown or mistyped param.
    """
    factory = MODELS.get(name)
    fields = getattr(factory, "__dataclass_fields__", {})
    for key, value in params.items():
        if key not in fields or key == "name":
            known = sorted(k for k in fields if k != "name")
            raise SpecError(f"model '{name}' has no parameter '{key}' (known: {', '.join(known)})")
        default = fields[key].default
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise SpecError(param_error(key, f"model '{name}'", f"a {type(default).__name__}", value))
    clean = {k: float(v) if isinstance(fields[k].default, float) else v for k, v in params.items()}
    return factory(**clean)
