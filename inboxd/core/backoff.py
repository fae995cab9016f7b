"""Capped, jittered exponential backoff. Pure (the random source is injectable)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 300.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        """The wait before the next attempt: full jitter over an exponentially growing ceiling."""
        ceiling = min(self.cap, self.base * self.factor ** self.failures)
        self.failures += 1
        # Never less than half the ceiling, so a dead server is not hammered by unlucky draws.
        return ceiling / 2 + self.rng.random() * ceiling / 2

    def reset(self) -> None:
        self.failures = 0


def retry_delay(attempts: int, base: float = 30.0, cap: float = 3600.0, rng: random.Random | None = None) -> float:
    """Delay before retrying a message that failed ``attempts`` times."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    draw = float((rng or random.Random()).random())
    return float(ceiling / 2 + draw * ceiling / 2)
