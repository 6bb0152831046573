"""What every body and answer shares: strict bodies, texts, pages."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.limits import MAX_TEXT, always_storable

T = TypeVar("T")
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
# Every text of a body is bounded by MAX_TEXT (domain.limits, checked by `Body`): said here too.
LongText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Action = Literal["advance", "restart", "pivot", "pause", "resume", "close"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _storable = field_validator("*")(always_storable)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    """Pass it as `cursor` for the next page; none after the last."""
