"""Shared fixtures: the misbehaving backends registered for this test session (and its subprocesses)."""

from __future__ import annotations

import pytest

from tests.fake_backends import ENV_VALUE


@pytest.fixture
def fake_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_EXTRA_BACKENDS", ENV_VALUE)
