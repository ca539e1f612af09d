"""What the web app keeps of `changes[]` is exactly what can lock an attribute."""

from __future__ import annotations

from service.contract.records import LOCKING_PROPERTIES
from workers.apply.locks import PROPERTIES


def test_the_queue_keeps_every_property_that_locks_and_no_other() -> None:
    assert set(PROPERTIES) == LOCKING_PROPERTIES
