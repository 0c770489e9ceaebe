"""Guessing against a budget until its longest window ends (core.limits)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core import clock, limits


@dataclass
class Guessing:
    checked: int  # guesses the service checked (answered with the refusal of a wrong guess)
    waits: list[int]  # each Retry-After met, in seconds, in turn


def guess_through_the_longest_window(
    guess: Callable[[], object], budget: str, throttled: str, time_machine
) -> Guessing:
    """Guess on the stopped process clock until the budget's longest window ends, waiting out
    each refusal (`throttled`, with its Retry-After)."""
    time_machine.move_to(clock.now(), tick=False)
    ends = time.time() + limits.windows(budget)[-1].get_expiry()
    result = Guessing(0, [])
    while time.time() < ends:
        answer = guess()
        if answer.status_code != 429:
            result.checked += 1
            continue
        assert answer.get_json()["code"] == throttled
        result.waits.append(int(answer.headers["Retry-After"]))
        time_machine.shift(result.waits[-1])
    return result
