"""Registering a cooperation: who is in it, who may be paid, which funders it asks
(DESIGN.md, "Cooperation fields").

The registration input may name people's groups and organisations; the state keeps only ids
and legal forms (`Member`), so names never reach workflow history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from domain.allocation import Share, shares_total
from domain.errors import InvalidInput
from domain.limits import at_the_door, storable
from domain.money import Amount
from domain.programme import Phase, ProgrammeSpec, Slug

INFORMAL = "informal"


class Kind(StrEnum):
    modelled = "modelled"
    non_modelled = "non_modelled"
    systemic = "systemic"


class EconomicModel(StrEnum):
    market = "market"
    non_market = "non_market"
    hybrid = "hybrid"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    _storable = field_validator("*")(storable)


def is_informal(legal_form: str) -> bool:
    return legal_form.strip().lower() == INFORMAL


class MemberSpec(_Input):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    legal_form: Annotated[str, Field(min_length=1, max_length=100)]

    @property
    def informal(self) -> bool:
        return is_informal(self.legal_form)


class Member(BaseModel):
    """A member as the state keeps it: no name."""

    model_config = ConfigDict(frozen=True)

    id: str
    legal_form: str
    informal: bool

    @classmethod
    def of(cls, spec: MemberSpec) -> Member:
        return cls(id=spec.id, legal_form=spec.legal_form, informal=spec.informal)


class _MemberLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def informal(self) -> bool: ...


class Angle(_Input):
    """How the project is shown to one funder: what its reports put first."""

    summary: Annotated[str, Field(min_length=1, max_length=2000)]
    indicators: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    members: list[str] = []


def check_allocation(value: list[Share] | None, info: ValidationInfo) -> list[Share] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("an allocation needs at least one payee (or leave it out)")
    payees = [s.payee for s in value]
    if len(set(payees)) != len(payees):
        raise ValueError("a payee appears twice in the allocation")
    # At the door exactly as the split adds them (rule 10): a sum that is 1 only once rounded
    # to 28 digits would pass and be refused at the first release. Recorded allocations were
    # checked at 28 digits: they must still load as they were.
    total = shares_total(value) if at_the_door(info) else sum((s.share for s in value), Decimal(0))
    if total != 1:
        raise ValueError(f"allocation shares must add up to 1, not {total}")
    return value


class LineRequest(_Input):
    """A funding line asked of one programme; the line is named by the programme id."""

    programme: Slug
    angle: Angle | None = None
    # The schema says what check_allocation refuses of an empty list; its message stays.
    allocation: Annotated[list[Share], Field(json_schema_extra={"minItems": 1})] | None = None
    amount: Amount | None = None
    """Rule 17: the amount granted, for a line taken as accepted (a scenario's) of a granted
    programme; a proposal names none (its funder gives it when accepting)."""

    _allocation = field_validator("allocation")(check_allocation)


def _line_request(value: Any) -> Any:
    return {"programme": value} if isinstance(value, str) else value


LineRequestOrId = Annotated[LineRequest, BeforeValidator(_line_request)]


def allowed_payees(members: Iterable[_MemberLike], fiscal_host: str | None) -> set[str]:
    """Money only ever goes to legal entities: the fiscal host or non-informal members."""
    payees = {m.id for m in members if not m.informal}
    if fiscal_host is not None:
        payees.add(fiscal_host)
    return payees


def default_allocation(
    members: Sequence[_MemberLike], fiscal_host: str | None
) -> list[Share] | None:
    """The fiscal host, else the only legal-entity member, else none (an allocation is needed)."""
    if fiscal_host is not None:
        return [Share(payee=fiscal_host, share=Decimal(1))]
    legal = [m.id for m in members if not m.informal]
    if len(legal) == 1:
        return [Share(payee=legal[0], share=Decimal(1))]
    return None


def _allocation_problem(
    request: LineRequest, members: Sequence[_MemberLike], fiscal_host: str | None
) -> str | None:
    if request.allocation is None:
        if default_allocation(members, fiscal_host) is None:
            return (
                "allocation is required: there is no fiscal host and not exactly one member "
                "that is a legal entity to pay by default"
            )
        return None
    allowed = allowed_payees(members, fiscal_host)
    for share in request.allocation:
        if share.payee not in allowed:
            return (
                f"payee {share.payee!r} is neither the fiscal host nor a member that is a "
                "legal entity (money never goes to an informal member)"
            )
    return None


def _angle_problem(request: LineRequest, members: Sequence[_MemberLike]) -> str | None:
    if request.angle is None:
        return None
    ids = {m.id for m in members}
    unknown = [m for m in request.angle.members if m not in ids]
    return f"angle names unknown members {unknown}" if unknown else None


class CooperationSpec(_Input):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Kind
    # Validated with the default so that a modelled cooperation without a model is refused.
    model: Annotated[str | None, Field(validate_default=True, max_length=200)] = None
    economic_model: EconomicModel
    members: Annotated[list[MemberSpec], Field(min_length=1)]
    lead: str | None = None
    fiscal_host: Annotated[Slug | None, Field(validate_default=True)] = None
    facilitator: Slug | None = None
    start_phase: Phase = Phase.emergence
    funding_lines: list[LineRequestOrId] = []

    @field_validator("model")
    @classmethod
    def _model_iff_modelled(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind is None:
            return value
        if kind == Kind.modelled and not value:
            raise ValueError("model is required when kind is modelled")
        if kind != Kind.modelled and value is not None:
            raise ValueError("model is only given when kind is modelled")
        return value

    @field_validator("members")
    @classmethod
    def _unique_members(cls, value: list[MemberSpec]) -> list[MemberSpec]:
        ids = [m.id for m in value]
        if len(set(ids)) != len(ids):
            raise ValueError("member ids must be unique")
        return value

    @field_validator("lead")
    @classmethod
    def _lead_is_member(cls, value: str | None, info: ValidationInfo) -> str | None:
        members: list[MemberSpec] | None = info.data.get("members")
        if value is not None and members is not None and value not in {m.id for m in members}:
            raise ValueError(f"lead {value!r} is not a member")
        return value

    @field_validator("fiscal_host")
    @classmethod
    def _someone_can_be_paid(cls, value: str | None, info: ValidationInfo) -> str | None:
        members: list[MemberSpec] | None = info.data.get("members")
        if members is None:
            return value
        if value is None and all(m.informal for m in members):
            raise ValueError(
                "a fiscal host is required when every member is informal: someone must be "
                "able to receive money"
            )
        host = next((m for m in members if m.id == value), None)
        if host is not None and host.informal:
            raise ValueError(f"fiscal host {value!r} is an informal member: it cannot be paid")
        return value

    @field_validator("funding_lines")
    @classmethod
    def _lines(cls, value: list[LineRequest], info: ValidationInfo) -> list[LineRequest]:
        members: list[MemberSpec] | None = info.data.get("members")
        programmes = [line.programme for line in value]
        if len(set(programmes)) != len(programmes):
            raise ValueError("a programme is named twice: one funding line per programme")
        if members is None or "fiscal_host" not in info.data:
            return value
        fiscal_host: str | None = info.data["fiscal_host"]
        for i, line in enumerate(value):
            problem = _allocation_problem(line, members, fiscal_host) or _angle_problem(
                line, members
            )
            if problem:
                raise ValueError(f"funding_lines[{i}] ({line.programme}): {problem}")
        return value


def resolve_line(
    request: LineRequest,
    programme: ProgrammeSpec,
    members: Sequence[_MemberLike],
    fiscal_host: str | None,
    lead: str | None,
    field: str = "",
) -> list[Share]:
    """The allocation a line will pay, after the checks that need the programme or the state.

    Raises InvalidInput naming `field` + the part at fault.
    """
    problem = _allocation_problem(request, members, fiscal_host)
    if problem:
        raise InvalidInput(problem, f"{field}allocation")
    problem = _angle_problem(request, members)
    if problem:
        raise InvalidInput(problem, f"{field}angle")
    allocation = request.allocation or default_allocation(members, fiscal_host)
    assert allocation is not None  # _allocation_problem refused the case without a default
    if programme.requires_lead and lead is None:
        raise InvalidInput(
            f"programme {programme.id!r} requires a lead (chef de file): name a member as lead",
            "lead",
        )
    loans = [t.id for _, t in programme.tranches() if t.loan is not None]
    if loans and len(allocation) != 1:
        raise InvalidInput(
            f"programme {programme.id!r} lends ({', '.join(loans)}): a loan needs exactly one "
            f"payee, the borrower, not {len(allocation)}",
            f"{field}allocation",
        )
    return allocation
