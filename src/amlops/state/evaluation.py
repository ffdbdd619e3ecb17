"""The record of a rollout's offline evaluation, kept in the endpoint's `amlops.evaluation` tag.

Both models' figures stay with the rollout that used them, so `status`, a later apply and a person
in Azure ML studio can see why a candidate went live or did not. Compact JSON, within Azure's
256-character tag limit: figures beyond it are left out, the verdict never.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from amlops.state.record import MAX_TAG


@dataclass(frozen=True)
class Evaluated:
    """A verdict on a candidate model against the live one, with each metric's two figures."""

    candidate: str  # `name:version`
    live: str | None  # None: nothing live to compare with (a first rollout)
    passed: bool
    figures: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # metric -> (candidate, live)
    job: str | None = None  # the evaluation run, when one ran

    def encode(self) -> str:
        figures = dict(self.figures)
        while True:
            data = {"c": self.candidate, "l": self.live, "ok": int(self.passed), "j": self.job, "m": figures}
            text = json.dumps(data, separators=(",", ":"))
            if len(text) <= MAX_TAG or not figures:
                return text[:MAX_TAG]
            figures.pop(sorted(figures)[-1])

    @classmethod
    def decode(cls, text: str | None) -> Evaluated | None:
        try:
            data = json.loads(text or "")
            figures = {str(k): (v[0], v[1]) for k, v in dict(data.get("m") or {}).items()}
            return cls(str(data["c"]), data.get("l"), bool(data["ok"]), figures, data.get("j"))
        except (ValueError, KeyError, TypeError, IndexError):
            return None

    def describe(self) -> str:
        """One line for people: the verdict and both figures of every metric."""
        verdict = "passed" if self.passed else "failed"
        if self.live is None:
            return f"evaluation {verdict}: no live model to compare candidate {self.candidate} with"
        metrics = "; ".join(
            f"{metric} {_figure(c)} (candidate {self.candidate}) vs {_figure(live)} (live {self.live})"
            for metric, (c, live) in sorted(self.figures.items())
        )
        return f"evaluation {verdict}: {metrics or 'no figures'}"


def _figure(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4g}"
