"""Whatever passes the door runs for years: no valid input poisons a cooperation.

Generated programmes (1 to 3: phases, cadences, graces, reminder leads, report periods,
overrun limits, tranches of every trigger, repeats, loans, caps, leads), a generated
cooperation (formal and informal members, fiscal host, allocations with awkward shares,
angles, start phase) and years of generated commands go through the door (`at_door`). What the
door refuses is counted, not run. For the rest, over up to eight years with one timer on
`next_wakeup` as a workflow keeps:

- `decide` raises nothing but DomainError (a refusal), and never a CalendarOverflow;
- `tick` and `next_wakeup` raise nothing at all;
- every decision is storable: its events are JSON a PostgreSQL jsonb takes (UTF-8, no NUL,
  no NaN), its amounts fit numeric(18, 2), the state round-trips, and every command still
  loads from history without the door's context.

The command generator reads the state (it reviews the latest submitted check-in, approves a
tranche of the current phase that waits for approval, repays part of what a loan still owes,
resumes only when paused…), so most commands are accepted: the seeded companion test measures
the accepted share over 100 fixed seeds and holds it above a floor.

One plan builder serves both tests through `Draw`: Hypothesis's draws (which shrink toward the
first option and toward "no") or a seeded `random.Random`.
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.domain.never_poisons_inputs import HypothesisDraw, SeededDraw
from tests.domain.never_poisons_run import MODELS, Outcome, run_plan

# ---------------------------------------------------------------------------------------
# The properties


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_nothing_that_passes_the_door_poisons_a_cooperation(data: st.DataObject) -> None:
    outcome = Outcome()
    run_plan(HypothesisDraw(data), outcome)
    event(f"inputs refused at the door: {outcome.specs_refused}")
    event("registered" if outcome.registered else "not registered")
    event(f"commands accepted: {outcome.accepted // 10 * 10}+ of {outcome.attempted // 10 * 10}+")
    # Per example: a plan the state allows is mostly accepted (wild commands aside).
    if outcome.attempted >= 10:
        assert outcome.accepted >= 0.3 * outcome.attempted, outcome.kinds


SEEDS = range(100)


def test_generated_plans_are_mostly_valid_and_mostly_accepted() -> None:
    """The same generator on fixed seeds: the property above is not vacuous."""
    outcome = Outcome()
    registered = 0
    began = time.perf_counter()
    for seed in SEEDS:
        one = Outcome()
        run_plan(SeededDraw(seed), one)
        registered += one.registered
        outcome.specs += one.specs
        outcome.specs_refused += one.specs_refused
        outcome.commands_refused += one.commands_refused
        outcome.attempted += one.attempted
        outcome.accepted += one.accepted
        for kind, (tried, taken) in one.kinds.items():
            done = outcome.kinds.setdefault(kind, [0, 0])
            done[0] += tried
            done[1] += taken
    share = outcome.accepted / outcome.attempted
    print(
        f"\n{len(SEEDS)} seeds in {time.perf_counter() - began:.1f}s: "
        f"{outcome.specs_refused}/{outcome.specs} inputs and {outcome.commands_refused} "
        "commands refused at the door, "
        f"{registered} cooperations registered, {outcome.accepted}/{outcome.attempted} "
        f"commands accepted ({share:.0%}); by kind [tried, accepted]: {outcome.kinds}"
    )
    # Measured on these seeds: 15 % of inputs refused at the door (the wrong values sown on
    # purpose and loans whose grace leaves no installment), 88 of 100 registered, 93 % of
    # commands accepted. The floors leave room for the rules and the generator to move.
    assert outcome.specs_refused <= 0.3 * outcome.specs
    assert registered >= 0.75 * len(SEEDS)
    assert share >= 0.75
    # Every kind of command is tried, and each is accepted at times.
    assert set(outcome.kinds) == set(MODELS) | {"register"}
    assert all(taken for _, taken in outcome.kinds.values()), outcome.kinds
