"""The dashboard's plots of horizontal bars: cooperations per phase, the programme's money,
its loans."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from api.web.charts.draw import (
    ARREARS_STYLE,
    BUDGET_STYLE,
    COMMITTED_STYLE,
    FREED_STYLE,
    OPEN_STYLE,
    OUTCOME_STYLE,
    PHASE_STYLE,
    RELEASED_STYLE,
    WRITTEN_OFF_STYLE,
    Bar,
    Chart,
    Table,
    amount_of,
    bar_chart,
    capitalised,
    count_of,
    empty_chart,
    in_order,
    keyed_table,
    percent_of,
)
from domain.programme import PHASE_ORDER, Outcome
from i18n import Formats, Words


def phase_funnel(
    dashboard: Mapping[str, Any], words: Words, *, chart_id: str = "chart-phases"
) -> Chart:
    """Cooperations funded by the programme per phase (`cooperations_per_phase`), one
    horizontal bar per phase in the domain's order (emergence → structuring), then the
    outcomes (completed, abandoned), then any other code the data holds; phases with none
    show 0."""
    fmt = Formats(words.locale)
    title = words("web.chart.phases.title")
    raw = dashboard.get("cooperations_per_phase") or {}
    counts = {str(k): count_of(v) for k, v in raw.items()}
    phases = [p.value for p in PHASE_ORDER]
    outcomes = [o.value for o in Outcome]
    codes = in_order([*phases, *outcomes], list(counts))
    total = sum(counts.values())
    if total <= 0:
        return empty_chart(chart_id, title, words("web.chart.phases.empty"))

    def label(code: str) -> str:
        return capitalised(words.word("phase", code))

    def part(code: str) -> str:
        n = counts.get(code, 0)
        key = f"web.chart.phases.part.{code}"
        if words.has(f"{key}.other"):
            return words.plural(key, n, count=fmt.number(n))
        return words("web.chart.phases.part_unknown", phase=code, count=fmt.number(n))

    description = words.plural(
        "web.chart.phases.description",
        total,
        count=fmt.number(total),
        parts=fmt.joined(part(c) for c in codes if counts.get(c, 0) > 0),
    )
    bars = [
        Bar(
            label=label(code),
            value=Decimal(counts.get(code, 0)),
            value_text=fmt.number(counts.get(code, 0)),
            pattern_id=f"{chart_id}-phase" if code not in outcomes else f"{chart_id}-outcome",
            style=PHASE_STYLE if code not in outcomes else OUTCOME_STYLE,
            key=code,
        )
        for code in codes
    ]
    table = Table(
        caption=title,
        head=[words("web.chart.phases.head_phase"), words("web.chart.phases.head_count")],
        rows=[[label(c), fmt.number(counts.get(c, 0))] for c in codes]
        + [[words("web.chart.total"), fmt.number(total)]],
    )
    return bar_chart(chart_id, title, description, bars, table)


# ---------------------------------------------------------------------------------------
# The programme's money


def money_flow(
    dashboard: Mapping[str, Any], words: Words, *, chart_id: str = "chart-money"
) -> Chart:
    """The programme's money: the budget (a hollow dashed bar, and a dashed line through the
    other bars as their reference), committed, released and freed at a close, each with its
    share of the budget."""
    fmt = Formats(words.locale)
    currency = str(dashboard.get("currency") or "EUR")
    title = words("web.chart.money.title")
    keys = ("budget", "committed", "released", "freed")
    values = {k: amount_of(dashboard.get(k)) for k in keys}
    if not any(values.values()):
        return empty_chart(chart_id, title, words("web.chart.money.empty"))
    budget = values["budget"]
    remaining = (
        amount_of(dashboard["remaining"])
        if dashboard.get("remaining") is not None
        else budget - values["committed"]
    )

    def money(value: Decimal) -> str:
        return fmt.money(value, currency)

    def share(key: str) -> str:
        return percent_of(values[key], budget, fmt)

    if budget > 0:
        description = words(
            "web.chart.money.description",
            budget=money(budget),
            committed=money(values["committed"]),
            committed_share=share("committed"),
            released=money(values["released"]),
            released_share=share("released"),
            freed=money(values["freed"]),
            remaining=money(remaining),
        )
    else:
        description = words(
            "web.chart.money.description_no_budget",
            committed=money(values["committed"]),
            released=money(values["released"]),
            freed=money(values["freed"]),
        )
    styles = {
        "budget": BUDGET_STYLE,
        "committed": COMMITTED_STYLE,
        "released": RELEASED_STYLE,
        "freed": FREED_STYLE,
    }
    bars = [
        Bar(
            label=words(f"web.chart.money.{k}"),
            value=values[k],
            value_text=(
                words("web.chart.money.value", amount=money(values[k]), share=share(k))
                if budget > 0
                else money(values[k])
            ),
            pattern_id=f"{chart_id}-{k}",
            style=styles[k],
            key=k,
        )
        for k in keys
    ]
    table = keyed_table(
        title,
        words,
        "web.chart.money",
        ("item", "amount", "share"),
        {k: [money(values[k]), share(k) if budget > 0 else "—"] for k in keys},
    )
    return bar_chart(chart_id, title, description, bars, table, reference=budget)


# ---------------------------------------------------------------------------------------
# Loans


def loans(dashboard: Mapping[str, Any], words: Words, *, chart_id: str = "chart-loans") -> Chart:
    """Loans still running: all of them, then those with an installment in arrears, each bar
    as long as the amount still owed; then the loans written off (settled by their funder),
    as long as what was written off. Each bar is labelled with its number of loans and that
    amount."""
    fmt = Formats(words.locale)
    currency = str(dashboard.get("currency") or "EUR")
    title = words("web.chart.loans.title")
    data = dashboard.get("loans") or {}
    open_count, arrears_count = count_of(data.get("open")), count_of(data.get("in_arrears"))
    outstanding = amount_of(data.get("outstanding"))
    arrears = amount_of(data.get("outstanding_in_arrears"))
    lost_count, lost = count_of(data.get("written_off_count")), amount_of(data.get("written_off"))
    if open_count <= 0 and outstanding <= 0 and lost_count <= 0 and lost <= 0:
        return empty_chart(chart_id, title, words("web.chart.loans.empty"))

    def money(value: Decimal) -> str:
        return fmt.money(value, currency)

    def how_many(n: int) -> str:
        return words.plural("web.chart.loans.count", n, count=fmt.number(n))

    if arrears_count > 0 or arrears > 0:
        description = words(
            "web.chart.loans.description",
            loans=how_many(open_count),
            outstanding=money(outstanding),
            arrears=how_many(arrears_count),
            arrears_outstanding=money(arrears),
            share=percent_of(arrears, outstanding, fmt),
        )
    else:
        description = words(
            "web.chart.loans.description_no_arrears",
            loans=how_many(open_count),
            outstanding=money(outstanding),
        )
    if lost_count > 0 or lost > 0:
        description += " " + words.plural(
            "web.chart.loans.description_written_off",
            lost_count,
            count=fmt.number(lost_count),
            amount=money(lost),
        )
    rows = [
        ("open", open_count, outstanding, OPEN_STYLE),
        ("in_arrears", arrears_count, arrears, ARREARS_STYLE),
        ("written_off", lost_count, lost, WRITTEN_OFF_STYLE),
    ]
    bars = [
        Bar(
            label=words(f"web.chart.loans.{key}"),
            value=amount,
            value_text=words("web.chart.loans.value", loans=how_many(n), amount=money(amount)),
            pattern_id=f"{chart_id}-{key}",
            style=style,
            key=key,
        )
        for key, n, amount, style in rows
    ]
    table = keyed_table(
        title,
        words,
        "web.chart.loans",
        ("item", "count", "amount"),
        {key: [fmt.number(n), money(amount)] for key, n, amount, _ in rows},
    )
    return bar_chart(chart_id, title, description, bars, table)
