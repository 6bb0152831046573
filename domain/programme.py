"""Programme specs: what a funder configures (DESIGN.md, "Programme spec")."""

from __future__ import annotations

import weakref
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Decimal, localcontext
from decimal import Context as DecimalContext
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails

from domain.durations import IsoDuration, parse
from domain.limits import (
    MAX_AMOUNT,
    MAX_INSTALLMENTS,
    MAX_OCCURRENCES,
    SHARE_PLACES,
    at_the_door,
    door_check,
    storable,
)
from domain.money import Amount, DecimalText
from domain.tranche_terms import (
    Instrument,
    LoanInstrument,
    LoanTerms,
    Repeat,
    Spec,
    Trigger,
    short_notice,
    whole_days,
    whole_days_or_none,
)

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]


def _as_before(**unused: Any) -> Any:
    """A spec's serializer leaving out each field of `unused` that holds the value saying it is
    not used (None: not given). Fields that later rules added to specs appear only where a spec
    uses them: one using none of them dumps, hashes (store.programmes: an identical spec
    published again changes nothing) and shows exactly as before them."""

    def serialize(self: BaseModel, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name, value in unused.items():
            if name in data and (data[name] is None if value is None else data[name] == value):
                del data[name]
        return data

    return model_serializer(mode="wrap")(serialize)


class Phase(StrEnum):
    emergence = "emergence"
    experimentation = "experimentation"
    structuring = "structuring"

    @property
    def rank(self) -> int:
        return PHASE_ORDER.index(self)


PHASE_ORDER: tuple[Phase, ...] = (Phase.emergence, Phase.experimentation, Phase.structuring)


class Outcome(StrEnum):
    completed = "completed"
    abandoned = "abandoned"


class Purpose(StrEnum):
    animation = "animation"
    investment = "investment"
    operating = "operating"


class Locale(StrEnum):
    fr = "fr"
    en = "en"


class TrancheSpec(Spec):
    id: Slug
    amount: Amount | None = None
    """Required in a `fixed` programme, and for a loan; a grant tranche of a `granted`
    programme gives a `share` instead (rule 17)."""
    share: DecimalText | None = None
    """Rule 17: the part of the amount granted that each occurrence of this grant pays."""
    purpose: Purpose
    instrument: Instrument = "grant"
    when: Trigger
    repeat: Repeat | None = None

    _rule_17_as_before = _as_before(amount=None, share=None)

    @property
    def loan(self) -> LoanTerms | None:
        return self.instrument.loan if isinstance(self.instrument, LoanInstrument) else None

    @property
    def potential(self) -> Decimal:
        """What this tranche can ever pay at its fixed amount, every repeat occurrence
        included (a share pays what the line's amount granted makes of it: nothing here)."""
        return (self.amount or Decimal("0.00")) * self.occurrences

    @property
    def occurrences(self) -> int:
        """Its first release and each repeat."""
        return 1 + (self.repeat.times if self.repeat else 0)

    @field_validator("share")
    @classmethod
    def _fraction(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is None:
            return None
        if not value.is_finite() or not 0 < value <= 1:
            raise ValueError("a share must be a decimal greater than 0 and at most 1")
        if at_the_door(info) and value != value.quantize(_SHARE_STEP):
            raise ValueError(f"a share has at most {SHARE_PLACES} decimal places")
        return value

    @model_validator(mode="after")
    def _loan_once(self) -> TrancheSpec:
        if self.loan is not None and self.repeat is not None:
            raise ValueError("a loan disburses once: it cannot repeat")
        return self

    @door_check
    def _bounded(self) -> None:
        if self.loan is not None and self.amount == 0:
            # A loan of nothing has no schedule: its release would fail.
            raise ValueError("amount: a loan lends a positive amount, not 0.00")
        if self.amount is not None and self.potential > MAX_AMOUNT:
            raise ValueError(
                f"amount: {self.amount} × {self.occurrences} occurrences is {self.potential}, "
                f"more than {MAX_AMOUNT}"
            )


_SHARE_STEP = Decimal(1).scaleb(-SHARE_PLACES)
# Shares add up exactly, whatever their digits (as allocation shares do, rule 10).
_EXACT = DecimalContext(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class Amounts(StrEnum):
    """Rule 17: `fixed` (each tranche its amount) or `granted` (the funder grants an amount
    when it accepts a line; each grant tranche pays its share of it)."""

    fixed = "fixed"
    granted = "granted"


class GrantBounds(Spec):
    """Rule 17: the amounts a funder may grant a line of a `granted` programme."""

    min: Amount | None = None
    max: Amount | None = None

    @field_validator("max")
    @classmethod
    def _above_min(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("min")
        if value is not None and low is not None and value < low:
            raise ValueError(f"{value} is below min {low}")
        if value is not None and value == 0:
            raise ValueError("a grant of at most 0.00 grants nothing")
        return value


class PhaseSpec(Spec):
    check_in_every: IsoDuration
    check_in_grace: IsoDuration = "P14D"
    reminder_before: IsoDuration = "P7D"
    report_every: IsoDuration = "P6M"
    max_duration: IsoDuration | None = None
    tranches: list[TrancheSpec]
    expected_duration: IsoDuration | None = None
    """The forecast's assumption only (`domain.forecast`): a stint in this phase is left this
    long after it starts; absent, never. No lifecycle rule reads it."""

    _calendar = field_validator("check_in_every", "report_every")(whole_days)
    _expected = field_validator("expected_duration")(whole_days_or_none)

    _forecast_as_before = _as_before(expected_duration=None)

    _shortshort_notice = field_validator("check_in_grace", "reminder_before")(short_notice)

    @model_validator(mode="after")
    def _positive_cadences(self) -> PhaseSpec:
        for name in ("check_in_every", "report_every"):
            if parse(getattr(self, name)).is_zero():
                raise ValueError(f"{name} must be a positive duration")
        if self.expected_duration is not None and parse(self.expected_duration).is_zero():
            raise ValueError("expected_duration must be a positive duration")
        return self


def _amount_fault(t: TrancheSpec, granted: bool) -> tuple[str, str] | None:
    """Rule 17: the field of a tranche that gives the wrong kind of amount for its programme
    (a granted one or not), and why; None when it gives the right one."""
    if not granted or t.loan is not None:
        if t.share is not None:
            return "share", (
                "a share is for a grant tranche of a programme with amounts: granted; "
                "give an amount"
            )
        return None if t.amount is not None else ("amount", "Field required")
    if t.amount is not None:
        return "amount", (
            "with amounts: granted a grant tranche gives a share of the amount granted, "
            "not an amount"
        )
    if t.share is None:
        return "share", "required with amounts: granted (a decimal, e.g. 0.5)"
    return None


class ProgrammeSpec(Spec):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    funder: Slug
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    budget: Amount
    locale: Locale = Locale.fr
    requires_lead: bool = False
    cap_per_cooperation: Amount | None = None
    amounts: Amounts = Amounts.fixed
    grant: GrantBounds | None = None
    convention: Literal["required"] | None = None
    """Rule 18: `required` holds a line's releases until its funder records its convention."""
    phases: dict[Phase, PhaseSpec]
    # Rule 19 (rules 3): each versement is due by its order + payment_within (whole days:
    # a due date is a date).
    payment_within: IsoDuration | None = None

    _storable = field_validator("name")(storable)
    _payment_days = field_validator("payment_within")(whole_days_or_none)

    _rules_17_to_19_as_before = _as_before(
        amounts=Amounts.fixed, grant=None, convention=None, payment_within=None
    )

    @model_validator(mode="after")
    def _amounts_or_shares(self) -> ProgrammeSpec:
        """Rule 17: a fixed programme's tranches give amounts; a granted programme's grant
        tranches give shares summing to exactly 1 (each occurrence counted), its loans
        amounts. Each fault is named at its field."""
        faults: list[tuple[tuple[str | int, ...], str]] = []
        granted = self.amounts == Amounts.granted
        if not granted and self.grant is not None:
            faults.append((("grant",), "bounds a granted amount: only with amounts: granted"))
        shares: list[Decimal] = []
        for phase, spec in self.phases.items():
            for i, t in enumerate(spec.tranches):
                fault = _amount_fault(t, granted)
                if fault is not None:
                    field, text = fault
                    faults.append((("phases", phase.value, "tranches", i, field), text))
                elif granted and t.loan is None and t.share is not None:
                    shares.extend([t.share] * t.occurrences)
        if granted and not faults:
            with localcontext(_EXACT):
                total = sum(shares, Decimal(0))
            if not shares:
                faults.append((("amounts",), "granted: the programme has no grant tranche"))
            elif total != 1:
                faults.append(
                    (
                        ("amounts",),
                        f"granted: the grant tranches' shares, each repeat occurrence counted, "
                        f"add up to {total}, not 1",
                    )
                )
        if faults:
            raise ValidationError.from_exception_data(
                "ProgrammeSpec",
                [
                    InitErrorDetails(
                        type="value_error", loc=loc, input=None, ctx={"error": ValueError(text)}
                    )
                    for loc, text in faults
                ],
            )
        return self

    @property
    def granted(self) -> bool:
        return self.amounts == Amounts.granted

    @field_validator("phases")
    @classmethod
    def _bounded_schedule(
        cls, value: dict[Phase, PhaseSpec], info: ValidationInfo
    ) -> dict[Phase, PhaseSpec]:
        # What one line of this programme can commit and add to the cooperation's state.
        if not at_the_door(info):
            return value
        tranches = [t for spec in value.values() for t in spec.tranches]
        potential = sum((t.potential for t in tranches), Decimal(0))
        if potential > MAX_AMOUNT:
            raise ValueError(
                f"the tranches can pay {potential} in all (repeats included), more than "
                f"{MAX_AMOUNT}"
            )
        occurrences = sum(t.occurrences for t in tranches)
        if occurrences > MAX_OCCURRENCES:
            raise ValueError(
                f"the tranches release up to {occurrences} times (repeats included): at most "
                f"{MAX_OCCURRENCES}"
            )
        installments = sum(t.loan.installments for t in tranches if t.loan is not None)
        if installments > MAX_INSTALLMENTS:
            raise ValueError(
                f"the loans hold up to {installments} installments in all: at most "
                f"{MAX_INSTALLMENTS}"
            )
        return value

    @model_validator(mode="after")
    def _unique_tranches(self) -> ProgrammeSpec:
        seen: set[str] = set()
        for phase, spec in self.phases.items():
            for tranche in spec.tranches:
                if tranche.id in seen:
                    raise ValueError(
                        f"tranche id {tranche.id!r} is used twice (again in {phase.value})"
                    )
                seen.add(tranche.id)
        return self

    def phase(self, phase: Phase) -> PhaseSpec | None:
        return self.phases.get(phase)

    def tranches(self) -> list[tuple[Phase, TrancheSpec]]:
        """Every tranche with its phase, phases in lifecycle order, tranches in spec order
        (the same list each time for the same spec: read it, never change it)."""
        # The clock lists them at every wakeup; a spec is frozen, so its list is kept, by
        # the spec's identity, while the spec lives: held weakly, a spec decoded once (each
        # registration's, before the worker shares an equal one) is not kept for ever with it.
        key = id(self)
        kept = _TRANCHES.get(key)
        if kept is not None and kept[0]() is self:
            return kept[1]
        found = [
            (phase, tranche)
            for phase in PHASE_ORDER
            if phase in self.phases
            for tranche in self.phases[phase].tranches
        ]
        if len(_TRANCHES) >= _TRANCHES_KEPT:
            _TRANCHES.clear()
        _TRANCHES[key] = (weakref.ref(self, lambda _: _TRANCHES.pop(key, None)), found)
        return found

    def tranche(self, tranche_id: str) -> tuple[Phase, TrancheSpec] | None:
        for phase, tranche in self.tranches():
            if tranche.id == tranche_id:
                return phase, tranche
        return None

    @property
    def potential(self) -> Decimal:
        """The whole amount a line of this programme can ever pay (rule 9) at the tranches'
        fixed amounts: in a granted programme, its loans only (a line adds the amount
        granted it, `domain.lifecycle.granted.line_potential`)."""
        return sum((t.potential for _, t in self.tranches()), Decimal("0.00"))


_TRANCHES: dict[int, tuple[weakref.ref[ProgrammeSpec], list[tuple[Phase, TrancheSpec]]]] = {}
_TRANCHES_KEPT = 1024


class ProgrammeVersion(BaseModel):
    """A stored version of a spec: a funding line keeps the version it was attached with."""

    model_config = ConfigDict(frozen=True)

    version: PositiveInt
    spec: ProgrammeSpec
