"""Programme specs: what a funder configures (DESIGN.md, "Programme spec")."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from domain.durations import IsoDuration, parse
from domain.money import Amount, DecimalText

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]


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


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoanTerms(_Spec):
    annual_rate: DecimalText
    grace: IsoDuration
    term: IsoDuration
    installment_every: IsoDuration
    reminder_before: IsoDuration = "P14D"

    @model_validator(mode="after")
    def _coherent(self) -> LoanTerms:
        if self.annual_rate < 0:
            raise ValueError("annual_rate must not be negative")
        if parse(self.installment_every).is_zero():
            raise ValueError("installment_every must be a positive duration")
        if parse(self.term).is_zero():
            raise ValueError("term must be a positive duration")
        return self


class LoanInstrument(_Spec):
    loan: LoanTerms


class Elapsed(_Spec):
    elapsed: IsoDuration


class AcceptedCheckIns(_Spec):
    accepted_check_ins: PositiveInt


Trigger = Literal["entry", "approval"] | Elapsed | AcceptedCheckIns


class Repeat(_Spec):
    every: IsoDuration
    times: PositiveInt

    @model_validator(mode="after")
    def _positive(self) -> Repeat:
        if parse(self.every).is_zero():
            raise ValueError("every must be a positive duration")
        return self


class TrancheSpec(_Spec):
    id: Slug
    amount: Amount
    purpose: Purpose
    instrument: Literal["grant"] | LoanInstrument = "grant"
    when: Trigger
    repeat: Repeat | None = None

    @property
    def loan(self) -> LoanTerms | None:
        return self.instrument.loan if isinstance(self.instrument, LoanInstrument) else None

    @property
    def potential(self) -> Decimal:
        """What this tranche can ever pay: every repeat occurrence included."""
        return self.amount * (1 + (self.repeat.times if self.repeat else 0))

    @model_validator(mode="after")
    def _loan_once(self) -> TrancheSpec:
        if self.loan is not None and self.repeat is not None:
            raise ValueError("a loan disburses once: it cannot repeat")
        return self


class PhaseSpec(_Spec):
    check_in_every: IsoDuration
    check_in_grace: IsoDuration = "P14D"
    reminder_before: IsoDuration = "P7D"
    report_every: IsoDuration = "P6M"
    max_duration: IsoDuration | None = None
    tranches: list[TrancheSpec]

    @model_validator(mode="after")
    def _positive_cadences(self) -> PhaseSpec:
        for name in ("check_in_every", "report_every"):
            if parse(getattr(self, name)).is_zero():
                raise ValueError(f"{name} must be a positive duration")
        return self


class ProgrammeSpec(_Spec):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    funder: Slug
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    budget: Amount
    locale: Locale = Locale.fr
    requires_lead: bool = False
    cap_per_cooperation: Amount | None = None
    phases: dict[Phase, PhaseSpec]

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
        """Every tranche with its phase, phases in lifecycle order, tranches in spec order."""
        return [
            (phase, tranche)
            for phase in PHASE_ORDER
            if phase in self.phases
            for tranche in self.phases[phase].tranches
        ]

    def tranche(self, tranche_id: str) -> tuple[Phase, TrancheSpec] | None:
        for phase, tranche in self.tranches():
            if tranche.id == tranche_id:
                return phase, tranche
        return None

    @property
    def potential(self) -> Decimal:
        """The whole amount a line of this programme can ever pay (rule 9)."""
        return sum((t.potential for _, t in self.tranches()), Decimal("0.00"))


class ProgrammeVersion(BaseModel):
    """A stored version of a spec: a funding line keeps the version it was attached with."""

    model_config = ConfigDict(frozen=True)

    version: PositiveInt
    spec: ProgrammeSpec
