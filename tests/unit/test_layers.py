"""The import layers are enforced by ruff (TID251, ``chalicelib/{services,domain}/ruff.toml``).

Services and the domain may not import an SDK (boto3, botocore, stripe, pynamodb) nor an
adapter; the domain may not import services, routes or the wiring either.  Each case below
hands ruff a module *as if* it were at that path (``--stdin-filename``: ruff picks the
configuration of the path), so the rule is shown to fail on an offender, and to let the same
import through where it belongs.  The tree itself must have no offender.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


def banned(path: str, source: str) -> str:
    """ruff's TID251 findings for ``source`` placed at ``path`` (empty when it passes)."""
    done = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", "TID251", "--stdin-filename", path, "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout if done.returncode else ""


@pytest.mark.parametrize(
    ("path", "source", "module"),
    [
        ("chalicelib/services/offender.py", "import boto3\n", "boto3"),
        ("chalicelib/services/offender.py", "from botocore.config import Config\n", "botocore"),
        ("chalicelib/services/offender.py", "def f() -> None:\n    import stripe\n", "stripe"),
        ("chalicelib/services/offender.py", "from pynamodb.models import Model\n", "pynamodb"),
        (
            "chalicelib/services/offender.py",
            "from chalicelib.adapters.memory import InMemoryRepository\n",
            "chalicelib.adapters",
        ),
        ("chalicelib/domain/offender.py", "import boto3\n", "boto3"),
        ("chalicelib/domain/offender.py", "import stripe\n", "stripe"),
        (
            "chalicelib/domain/offender.py",
            "from pynamodb.attributes import Attribute\n",
            "pynamodb",
        ),
        (
            "chalicelib/domain/offender.py",
            "from chalicelib.services.ports import Clock\n",
            "chalicelib.services",
        ),
        (
            "chalicelib/domain/offender.py",
            "from chalicelib.services import auth\n",
            "chalicelib.services",
        ),
        (
            "chalicelib/domain/offender.py",
            "from chalicelib.adapters.clock import FixedClock\n",
            "chalicelib.adapters",
        ),
    ],
)
def test_an_sdk_or_an_outer_layer_imported_inward_fails_the_lint(
    path: str, source: str, module: str
) -> None:
    assert f"`{module}` is banned" in banned(path, source)


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("chalicelib/adapters/offender.py", "import boto3\nimport stripe\nimport pynamodb\n"),
        ("chalicelib/services/offender.py", "from chalicelib.services.ports import Clock\n"),
        ("chalicelib/services/offender.py", "from chalicelib.domain.account import Account\n"),
        ("chalicelib/domain/offender.py", "from chalicelib.domain.errors import InvalidInput\n"),
    ],
)
def test_the_same_imports_pass_where_they_belong(path: str, source: str) -> None:
    assert banned(path, source) == ""


def test_no_module_of_the_tree_breaks_the_layers() -> None:
    done = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", "TID251", "chalicelib", "app.py"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout
