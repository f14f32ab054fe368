"""The deployment zip as Lambda should load it: precompiled, and without what it never uses.

``make package`` runs ``python -m infra.slim_package build/<stage>/deployment.zip`` after
``chalice package``; the zip is rewritten in place:

* **precompiled**: every ``.py`` gets its ``__pycache__/<name>.cpython-311.pyc``, compiled by
  this interpreter, which must be the Lambda runtime's Python (``python3.11``, as in the
  template), with ``unchecked-hash`` invalidation (PEP 552): Lambda's ``/var/task`` is
  read-only, so a zip without bytecode compiles every module at every cold start, and a
  timestamp-checked ``.pyc`` would be thrown away (zip entries keep times to 2 s);
* **babel trimmed** to the locales the app speaks (:data:`LOCALES`: ``en``, ``fr``) and their
  parent ``root``, instead of 1,084;
* **phonenumbers without its geodata**: the app parses, validates and formats numbers
  (``domain/contact.py``) and never calls ``geocoder``, ``carrier`` or ``timezone``, so their
  modules and data (``geodata``, ``carrierdata``, ``tzdata``) go, which is what the
  ``phonenumberslite`` distribution is; the same code stays in the venv for the tests;
* **boto3 and botocore not shipped twice**: the Lambda Python runtime provides boto3,
  botocore, s3transfer and jmespath (``/var/runtime``); nothing here needs a newer botocore
  than the runtime's (PynamoDB 6.1 needs botocore >= 1.12.54; the calls made are DynamoDB,
  SES, SQS, Secrets Manager and standard retries, all years old), so the runtime's copy is
  used and the zip loses about 22 MB;
* existing ``__pycache__`` folders and ``.pyc`` of other Pythons are dropped, and so are C
  sources and headers vendored beside compiled extensions and type stubs (never read at run
  time).

The rewritten zip must stay under :data:`MAX_ZIP_BYTES` (the build fails otherwise); the
figures are printed.  ``tests/infra/test_package.py`` checks each point on a zip of the same
packages.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import py_compile
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

RUNTIME = "python3.11"
LOCALES = ("en", "fr")
BABEL_KEEP = frozenset({"root", *LOCALES})
PHONENUMBERS_DROP = ("geodata", "carrierdata", "tzdata", "geocoder.py", "carrier.py", "timezone.py")
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
BUILD_ONLY_SUFFIXES = frozenset({".c", ".h", ".pyx", ".pxd", ".pyi"})
MAX_ZIP_BYTES = 32 * 1024 * 1024
"""The bar for the zip (Lambda's direct-upload limit is 50 MB; unslimmed it was 46.4 MB)."""
TASK_ROOT = "/var/task"


@dataclass(frozen=True)
class Sizes:
    zipped: int
    unzipped: int
    files: int


def sizes(path: Path) -> Sizes:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    return Sizes(path.stat().st_size, sum(i.file_size for i in infos), len(infos))


def check_runtime(runtime: str = RUNTIME) -> None:
    """Bytecode is only valid for the Python that wrote it."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if here != runtime:
        raise SystemExit(f"the .pyc would be {here}'s; build with the runtime's {runtime}")


def _drop(relative: Path) -> bool:
    parts = relative.parts
    top = parts[0]
    if top.split("-")[0] in RUNTIME_PROVIDED and (len(parts) > 1 or top.endswith(".dist-info")):
        return True  # boto3/, botocore-1.44.8.dist-info/, ...
    if "__pycache__" in parts or relative.suffix == ".pyc":
        return True
    if relative.suffix in BUILD_ONLY_SUFFIXES:
        return True
    if parts[:2] == ("babel", "locale-data") and len(parts) == 3:
        return relative.stem not in BABEL_KEEP
    return top == "phonenumbers" and len(parts) > 1 and parts[1] in PHONENUMBERS_DROP


def slim_tree(root: Path) -> None:
    """Trim and precompile an unzipped package in place."""
    check_runtime()
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts)):
        if path.exists() and _drop(path.relative_to(root)):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    ok = compileall.compile_dir(
        str(root),
        ddir=TASK_ROOT,
        quiet=1,
        workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:  # a vendored file of another Python's syntax: it was never importable here
        print("compileall: some files did not compile (see above)", file=sys.stderr)


def write_zip(root: Path, path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo.from_file(file, file.relative_to(root).as_posix())
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if file.stat().st_mode & 0o111 else 0o644) << 16
            archive.writestr(info, file.read_bytes(), compresslevel=9)


def slim(path: Path, max_bytes: int = MAX_ZIP_BYTES) -> tuple[Sizes, Sizes]:
    """Rewrite the zip at ``path`` (see the module docstring); its sizes before and after."""
    before = sizes(path)
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        root = Path(tmp) / "task"
        with zipfile.ZipFile(path) as archive:
            archive.extractall(root)
        slim_tree(root)
        rewritten = Path(tmp) / "deployment.zip"
        write_zip(root, rewritten)
        shutil.move(rewritten, path)
    after = sizes(path)
    if after.zipped > max_bytes:
        raise SystemExit(
            f"{path}: {after.zipped / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB bar"
        )
    return before, after


def runtime_site(into: Path) -> Path:
    """A folder with what the Lambda runtime adds to the path (symlinks into this venv)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in (*RUNTIME_PROVIDED, "dateutil", "urllib3", "six"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        if not (into / source.name).exists():
            (into / source.name).symlink_to(source)
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zip", type=Path)
    args = parser.parse_args(argv)
    before, after = slim(args.zip)
    for label, s in (("before", before), ("after", after)):
        print(
            f"{args.zip} {label}: {s.zipped / 1e6:.1f} MB zipped, "
            f"{s.unzipped / 1e6:.1f} MB unzipped, {s.files} files"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
