"""``seed-demo``: the demo accounts on the local stage, once; refused anywhere else (their
password is public), before anything is built or written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from msgspec.structs import replace

from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.cli import main
from chalicelib.config import get_settings
from chalicelib.seed import ALL_DEMO_EMAILS, SeedRefused, seed_demo
from chalicelib.wiring import Container, build_container


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """``get_settings`` reads the environment once: read it again here, and after."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_seed_demo_is_refused_outside_the_local_stage(
    stage: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_settings: None,
) -> None:
    monkeypatch.setenv("STAGE", "local")  # restored after the test (main sets STAGE)
    built: list[object] = []
    monkeypatch.setattr("chalicelib.wiring.build_container", lambda *a, **k: built.append(a))
    assert main(["--stage", stage, "seed-demo"]) == 2
    err = capsys.readouterr()
    assert f"seed-demo refused: STAGE={stage}" in err.err and err.out == ""
    assert built == []  # no container, so no table was touched


def test_seed_demo_writes_nothing_outside_local_even_when_called_directly(
    memory_box: Container,
) -> None:
    repo = InMemoryRepository()
    dev = build_container(
        replace(memory_box.settings, stage="dev"),
        repo=repo,
        mailer=memory_box.mailer,
        hasher=memory_box.hasher,
        clock=memory_box.clock,
        gateway=memory_box.gateway,
    )
    with pytest.raises(SeedRefused):
        seed_demo(dev)
    assert repo.accounts == {}


def test_seed_demo_on_the_local_stage_creates_each_demo_account_once(
    memory_box: Container,
) -> None:
    assert sorted(seed_demo(memory_box)) == sorted(ALL_DEMO_EMAILS)
    assert seed_demo(memory_box) == []
