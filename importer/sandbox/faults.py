"""The sandbox's bad days: injected faults and provider latency, drawn from a seeded generator."""

from __future__ import annotations

import random
from enum import Enum

from importer.sandbox.config import SandboxConfig


class Fault(Enum):
    NONE = "none"
    TIMEOUT = "408"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    DROP = "drop"


def draw_fault(rng: random.Random, config: SandboxConfig) -> Fault:
    """One draw per create request, whatever the probabilities, so a seed replays exactly."""
    roll = rng.random()
    for fault, probability in (
        (Fault.TIMEOUT, config.p408),
        (Fault.SERVER_ERROR, config.p500),
        (Fault.BAD_GATEWAY, config.p502),
        (Fault.DROP, config.p_drop),
    ):
        if roll < probability:
            return fault
        roll -= probability
    return Fault.NONE


def draw_latency(rng: random.Random, config: SandboxConfig) -> float:
    """Seconds of provider work: ``latency_mean`` ± ``latency_jitter`` (a fraction), uniform."""
    if config.latency_jitter == 0.0:
        return config.latency_mean
    spread = config.latency_mean * config.latency_jitter
    return rng.uniform(config.latency_mean - spread, config.latency_mean + spread)
