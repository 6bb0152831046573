"""A programme spec's tranches, listed once per spec and never keeping a spec alive."""

from __future__ import annotations

import gc
import weakref

from domain.programme import ProgrammeSpec
from tests.domain.helpers import grant, phases, programme


def _spec() -> ProgrammeSpec:
    return ProgrammeSpec.model_validate(
        programme(phases=phases(emergence=[grant("entree", "entry"), grant("suite", "approval")]))
    )


def test_a_spec_lists_its_tranches_once_in_lifecycle_order() -> None:
    spec = _spec()
    listed = spec.tranches()
    assert [(p.value, t.id) for p, t in listed] == [("emergence", "entree"), ("emergence", "suite")]
    assert spec.tranches() is listed
    # An equal spec that is another object has a list of its own (kept by identity).
    assert _spec().tranches() == listed


def test_a_spec_no_longer_used_is_not_kept_by_its_list() -> None:
    # A worker decodes a spec with each registration and then shares an equal one: the
    # decoded one must go, with its tranches, rather than stay in the list for ever.
    spec = _spec()
    spec.tranches()
    gone = weakref.ref(spec)
    tranche = weakref.ref(spec.tranches()[0][1])
    del spec
    gc.collect()
    assert gone() is None and tranche() is None
