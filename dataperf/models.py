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

    def rules(self) -> list[str]:
        """Return the model's rules: its procedure, every parameter with its value, and what a
        seed varies (one paragraph each). Default: the class documentation and the parameters."""
        params = ", ".join(f"{k} = {v!r}" for k, v in self.params().items())
        return [" ".join((type(self).__doc__ or "").split()), f"Parameters: {params}."]

    def params(self) -> dict[str, Any]:
        """Return the model's parameters and their values (every field but ``name``)."""
        fields = getattr(self, "__dataclass_fields__", {})
        return {k: getattr(self, k) for k in fields if k != "name"}

    def rows_per_fit(self, n: int) -> int:
        """Return how many of ``n`` training rows one fit uses (all of them unless subsampled)."""
        return n


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

    def rules(self) -> list[str]:
        """Return the procedure, the parameters and what a seed varies."""
        return [
            "scikit-learn's LogisticRegression (the version is in every result's provenance) with its "
            f"defaults but C = {self.C!r} and max_iter = {self.max_iter!r}: L2 penalty, lbfgs solver, "
            "tolerance 1e-4, an intercept, multinomial loss for more than two classes; inputs are the "
            "embeddings as float64. A fit that has not converged after max_iter iterations is used as it is.",
            "Prediction: for two classes, class 1 when x . w + b > 0 (else class 0); for more, the class of "
            "the largest x . w + b.",
            (
                f"Each seed s fits on a share subsample = {self.subsample!r} of the n training rows, taken in the "
                "training set's order: when subsample < 1, k = max(1, round(n * subsample)) rows (round half to "
                "even) at the positions sorted(numpy.random.default_rng(s).choice(n, size=k, replace=False)); when "
                "subsample = 1, every row, and the seed changes nothing. The spread over seeds therefore measures "
                "how much a score rests on a few rows."
            ),
            (
                "If the rows a fit uses hold a single class, the fitted model predicts that class for every row "
                "(no error; a kind may refuse such a training set before)."
            ),
        ]

    def rows_per_fit(self, n: int) -> int:
        """Return the rows one fit uses: the seeded ``subsample`` share of ``n``."""
        return len(_subsample(n, self.subsample, 0))

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

    def rules(self) -> list[str]:
        """Return the two parts, the parameters and what a seed varies."""
        return [
            "Two parts, fitted on every training row (no subsample), inputs as float64: scikit-learn's "
            f"SVC with an RBF kernel (gamma 'scale'), C = {self.C!r} and probability estimates; and "
            f"LogisticRegression with C = {self.lr_C!r}, max_iter = {self.max_iter!r} (L2, lbfgs). Soft voting: "
            "the prediction is the class with the largest mean of the two parts' class probabilities.",
            "What a seed varies: only the SVC's probability estimates. scikit-learn calibrates them (Platt "
            "scaling) with an internal 5-fold cross-validation whose folds are shuffled with random_state = "
            "the seed; the SVC's decision function and the logistic regression are the same for every seed.",
            (
                "If the rows a fit uses hold a single class, the fitted model predicts that class for every row "
                "(no error; a kind may refuse such a training set before)."
            ),
        ]

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

    def rules(self) -> list[str]:
        """Return the procedure, the parameters and what a seed varies."""
        return [
            "Multinomial logistic regression over the classes present in the rows used, in PyTorch, "
            "float64: weights W (dim x classes) and intercepts b start at zero; "
            f"epochs = {self.epochs!r} full-batch gradient-descent steps with learning rate lr = {self.lr!r} on "
            f"mean cross-entropy(x W + b) + weight_decay * sum(W * W), weight_decay = {self.weight_decay!r} "
            "(b is not decayed). Prediction: the class of the largest x W + b.",
            (
                f"Each seed s fits on a share subsample = {self.subsample!r} of the n training rows, taken in the "
                "training set's order: when subsample < 1, k = max(1, round(n * subsample)) rows (round half to "
                "even) at the positions sorted(numpy.random.default_rng(s).choice(n, size=k, replace=False)); when "
                "subsample = 1, every row, and the seed changes nothing. The spread over seeds therefore measures "
                "how much a score rests on a few rows."
            ),
            f"device = {self.device!r}: 'auto' fits on CUDA when a GPU is present, else on the CPU; the two "
            "agree to within float64 rounding.",
            (
                "If the rows a fit uses hold a single class, the fitted model predicts that class for every row "
                "(no error; a kind may refuse such a training set before)."
            ),
        ]

    def rows_per_fit(self, n: int) -> int:
        """Return the rows one fit uses: the seeded ``subsample`` share of ``n``."""
        return len(_subsample(n, self.subsample, 0))

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


@dataclass(frozen=True)
class Network(Fitted):
    """A fitted :class:`TorchMLP`: ``argmax(relu(x @ w1 + b1) @ w2 + b2)`` over ``classes``
    (``argmax(x @ w2 + b2)`` when linear: ``w1`` is None). Float64, on the host."""

    w1: np.ndarray | None
    b1: np.ndarray | None
    w2: np.ndarray
    b2: np.ndarray
    classes: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Return the (n, classes) output scores for the rows of ``x``."""
        h = x.astype(np.float64)
        if self.w1 is not None and self.b1 is not None:
            h = np.maximum(h @ self.w1 + self.b1, 0.0)
        return h @ self.w2 + self.b2

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return predicted labels for ``x``."""
        return self.classes[self.logits(x).argmax(axis=1)]


class _Deterministic:
    """Context in which torch runs deterministic algorithms on one CPU thread (restored after)."""

    def __enter__(self) -> None:
        import torch

        self.threads = torch.get_num_threads()
        self.strict = torch.are_deterministic_algorithms_enabled()
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_num_threads(self.threads)
        torch.use_deterministic_algorithms(self.strict)


@dataclass(frozen=True)
class TorchMLP(FixedModel):
    """A network with one hidden ReLU layer of ``hidden`` units (0: a linear model), in
    PyTorch, float64, trained by plain minibatch SGD on the mean cross-entropy.

    Initial weights: uniform in ``±1/sqrt(fan_in)`` from NumPy's generator seeded with
    ``[seed, 0]``. Each epoch visits the rows in a NumPy permutation (seeded by the caller)
    in batches of ``batch_size``; no other randomness. :meth:`train` continues from given
    weights, so a model can be updated stage after stage. ``device``: ``cpu``, ``cuda`` or
    ``auto`` (CUDA when a GPU is present); on the CPU the fit runs on one thread with torch's
    deterministic algorithms, so it is the same bit for bit on every run. Predictions are made
    on the host from the weights.
    """

    hidden: int = 64
    epochs: int = 30
    lr: float = 0.05
    batch_size: int = 32
    device: str = "auto"
    name: str = "torch-mlp"

    def resolved_device(self) -> str:
        """Return the device fits run on: 'cuda' if asked for (or auto) and present, else 'cpu'."""
        import torch

        if self.device not in ("auto", "cpu", "cuda"):
            raise SpecError(param_error("device", "model 'torch-mlp'", "'auto', 'cpu' or 'cuda'", self.device))
        return "cuda" if self.device != "cpu" and torch.cuda.is_available() else "cpu"

    def __post_init__(self) -> None:
        for key, ok, want in (
            ("hidden", self.hidden >= 0, "an int >= 0 (0: linear)"),
            ("epochs", self.epochs >= 0, "an int >= 0"),
            ("lr", self.lr > 0, "a float > 0"),
            ("batch_size", self.batch_size >= 1, "an int >= 1"),
        ):
            if not ok:
                raise SpecError(param_error(key, "model 'torch-mlp'", want, getattr(self, key)))

    def rules(self) -> list[str]:
        """Return the network, its training schedule, the parameters and what a seed varies."""
        shape = (
            "a linear model argmax(x W2 + b2)"
            if self.hidden == 0
            else f"argmax(relu(x W1 + b1) W2 + b2) with hidden = {self.hidden!r} hidden units"
        )
        return [
            f"A network in PyTorch, float64: {shape}, over the classes present in the training rows.",
            "Initial weights and biases: uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] drawn from "
            "numpy.random.default_rng([seed, 0]), W1 then b1 then W2 then b2 (each row-major).",
            f"Training: epochs = {self.epochs!r} epochs of plain minibatch SGD, learning rate lr = {self.lr!r}, "
            f"batches of batch_size = {self.batch_size!r} rows (the last may be smaller) on the batch's mean "
            "cross-entropy; each epoch visits the rows in the order of one permutation drawn from a generator "
            "numpy.random.default_rng(order) made once per fit (order = [seed, 1] for a plain fit; a kind that "
            "trains in stages states its own). Every weight moves from the same forward pass.",
            "What a seed varies: the initial weights and the batch order; nothing else is random.",
            f"device = {self.device!r}: 'auto' trains on CUDA when a GPU is present, else on one CPU thread "
            "with deterministic algorithms.",
            (
                "If the rows a fit uses hold a single class, the fitted model predicts that class for every row "
                "(no error; a kind may refuse such a training set before)."
            ),
        ]

    def init(self, dim: int, classes: np.ndarray, seed: int) -> Network:
        """Return the seeded initial network for ``dim`` inputs and the labels ``classes``."""
        rng = np.random.default_rng([seed, 0])

        def layer(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
            bound = 1.0 / np.sqrt(n_in)
            return rng.uniform(-bound, bound, (n_in, n_out)), rng.uniform(-bound, bound, n_out)

        k = len(classes)
        if self.hidden == 0:
            w2, b2 = layer(dim, k)
            return Network(None, None, w2, b2, np.asarray(classes, dtype=np.int64))
        w1, b1 = layer(dim, self.hidden)
        w2, b2 = layer(self.hidden, k)
        return Network(w1, b1, w2, b2, np.asarray(classes, dtype=np.int64))

    def train(self, start: Network, x: np.ndarray, y: np.ndarray, order: list[int]) -> Network:
        """Return ``start`` trained for :attr:`epochs` on (x, y); ``order`` seeds the batch order.

        Each step takes the gradient of the batch's mean cross-entropy in closed form
        (``softmax - one_hot``, back through the ReLU layer) and moves every weight by ``lr``
        times it, all weights from the same forward pass.
        """
        import torch

        if len(y) == 0 or self.epochs == 0:
            return start
        rng = np.random.default_rng(order)
        dev = self.resolved_device()
        with _Deterministic():
            xt = torch.as_tensor(np.asarray(x, dtype=np.float64), device=dev)
            one_hot = torch.as_tensor(np.eye(len(start.classes))[np.searchsorted(start.classes, y)], device=dev)
            deep = start.w1 is not None and start.b1 is not None
            arrays = [start.w1, start.b1] if deep else []
            w = [
                torch.tensor(a, dtype=torch.float64, device=dev) for a in [*arrays, start.w2, start.b2] if a is not None
            ]
            for _ in range(self.epochs):
                perm = torch.as_tensor(rng.permutation(len(y)), device=dev)
                for lo in range(0, len(y), self.batch_size):
                    batch = perm[lo : lo + self.batch_size]
                    xb = xt[batch]
                    h = xb
                    if deep:
                        h = torch.addmm(w[1], xb, w[0]).clamp_(min=0.0)
                    g = (torch.softmax(torch.addmm(w[-1], h, w[-2]), dim=1) - one_hot[batch]) / len(batch)
                    if deep:
                        gh = (g @ w[2].T) * (h > 0)
                        w[0].sub_(xb.T @ gh, alpha=self.lr)
                        w[1].sub_(gh.sum(dim=0), alpha=self.lr)
                    w[-2].sub_(h.T @ g, alpha=self.lr)
                    w[-1].sub_(g.sum(dim=0), alpha=self.lr)
            out = [p.cpu().numpy() for p in w]
        if deep:
            return Network(out[0], out[1], out[2], out[3], start.classes)
        return Network(None, None, out[0], out[1], start.classes)

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
        """Return the network trained from its seeded start (or :class:`Constant` for one class)."""
        classes = np.unique(y)
        if len(classes) < 2:
            return Constant(int(classes[0]) if len(classes) else 0)
        return self.train(self.init(x.shape[1], classes, seed), x, y, [seed, 1])


MODELS: PluginRegistry[Callable[..., FixedModel]] = PluginRegistry("fixed model", group="dataperf.models")
MODELS.add("logreg", LogReg)
MODELS.add("svc-lr-vote", SvcLrVote)
MODELS.add("torch-linear", TorchLinear)
MODELS.add("torch-mlp", TorchMLP)


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
