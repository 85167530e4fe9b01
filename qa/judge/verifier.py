"""The answer verifier: a logistic regression shipped as JSON, evaluated with numpy alone."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from qa.errors import QAError
from qa.judge.features import NAMES

WEIGHTS_NAME = "verifier.json"
DECISION = {"read_on": 0, "alternate_margin": 0.0, "unit_rule": False, "n_best": 1}


def shipped_weights() -> Path:
    """The verifier shipped with qa, or the file named by QA_VERIFIER_WEIGHTS."""
    import os

    if env := os.environ.get("QA_VERIFIER_WEIGHTS"):
        return Path(env).expanduser()
    return Path(str(resources.files("qa.judge") / "weights" / WEIGHTS_NAME))


class Verifier:
    """P(the reader's answer is right) from a feature vector, and the threshold by language pair to answer."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: float,
                 thresholds: dict[str, float], decision: dict | None = None):
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, float(intercept)
        self.thresholds = thresholds
        decision = {**DECISION, **(decision or {})}
        # How the judge uses the probability (calibrated with the thresholds; see CARD.md).
        self.read_on = int(decision["read_on"])  # top passages whose spans may answer when the chosen one fails
        self.alternate_margin = float(decision["alternate_margin"])  # the reader's own trust such a span needs
        self.unit_rule = bool(decision["unit_rule"])  # a Chinese number in the wrong measure word never answers
        self.n_best = int(decision["n_best"])  # spans of each such passage whose kind may fit the question

    @classmethod
    def load(cls, path: Path | None = None) -> Verifier:
        """Read the weights; a missing or corrupt file is a one-line QAError naming it."""
        path = Path(path) if path else shipped_weights()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("features") != list(NAMES):
                raise ValueError("its features are not the ones this version computes")
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            if any(a.shape != (len(NAMES),) for a in arrays) or not all(np.isfinite(a).all() for a in arrays):
                raise ValueError("its arrays do not hold one finite number per feature")
            thresholds = {str(k): float(v) for k, v in data["thresholds"].items()}
            if "*" not in thresholds:
                raise ValueError("it has no default threshold '*'")
            decision = data.get("decision", {})
            if not isinstance(decision, dict) or set(decision) - set(DECISION):
                raise ValueError(f"its decision holds keys other than {', '.join(DECISION)}")
            return cls(*arrays, float(data["intercept"]), thresholds,
                       {k: float(v) for k, v in decision.items()})
        except FileNotFoundError:
            raise QAError(f"verifier weights not found: {path}") from None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise QAError(f"verifier weights in {path} are unreadable ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:120]})") from None

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(right) for one feature vector or a matrix of them."""
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def threshold(self, pair: str) -> float:
        return self.thresholds.get(pair, self.thresholds["*"])


@lru_cache(maxsize=2)
def shared_verifier(path: Path | None = None) -> Verifier:
    """One loaded verifier per process and file."""
    return Verifier.load(path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
