"""``Closing``: ``with`` gives the object itself and closes it however the block ends."""

from __future__ import annotations

import pytest

from foundation.closing import Closing


class _Resource(Closing):
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_with_gives_the_object_and_closes_it_once_at_the_end() -> None:
    with _Resource() as resource:
        assert isinstance(resource, _Resource)
        assert resource.closed == 0
    assert resource.closed == 1


def test_an_error_in_the_block_closes_the_object_and_still_propagates() -> None:
    resource = _Resource()
    with pytest.raises(ValueError, match="boom"), resource:
        raise ValueError("boom")
    assert resource.closed == 1
