"""The verdict on one fault's effect: what fails a run and what is only reported."""

from __future__ import annotations

from typing import Any

import pytest

from rig_chaos.verdict import failed


def effect(first: float | None, recovery: float | None,
           observed_after: float | None = None) -> dict[str, Any]:
    dip = None if observed_after is None else {"observed_after_s": observed_after}
    return {"first_success_after_s": first, "recovery_s": recovery, "dip": dip}


@pytest.mark.parametrize(("found", "fails"), [
    (effect(None, None), True),            # nothing succeeded after it: never came back
    (effect(0.1, 0.5), False),             # back within the limit
    (effect(0.1, 12.0), True),             # throughput back, but later than the limit
    (effect(0.1, None, observed_after=3.0), False),   # not back yet when the run ended soon
    (effect(0.1, None, observed_after=15.0), True),   # under the old level for the limit
])
def test_what_fails_a_run(found: dict[str, Any], fails: bool) -> None:
    assert failed(found, max_recovery_s=10.0) is fails
