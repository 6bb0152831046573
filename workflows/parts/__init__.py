"""The parts the cooperation workflow is composed of, each owning what it keeps:

- `clock.Clock`: the run's time and the instant the rules next want to be woken;
- `rules.Rules`: the state, the rules that decide on it (guarded), their version;
- `answers.Answers`: request ids remembered, the latest events, answers kept for repeats;
- `courier.Courier`: the outbox, and the effects carried out of it in order, loans followed;
- `faults.Faults`: what the cooperation is flagged for (search attribute CoopFault);
- `search.Search`: the other search attributes (phase, programmes, overdue, facilitator);
- `lifetime.Lifetime`: how long a run may grow before it continues as new.

Outside the sandbox (passed through, not re-imported for every workflow: they hold no state
of their own at module level, every call goes through `temporalio.workflow` of the running
workflow).
"""
