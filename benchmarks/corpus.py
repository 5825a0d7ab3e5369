"""The benchmark corpus: about 1.27 M lines of real Python.

    full/stdlib      *.py of this interpreter's standard library (site-packages skipped)
    full/django      *.py of Django 5.2.19 (wheel from PyPI, hash-checked)
    full/sqlalchemy  *.py of SQLAlchemy 2.1.9 (cp311 manylinux wheel, hash-checked)
    sub10/           every 10th file of full/ (sorted by path), same layout

With CPython 3.11.7 this is 2,933 files and 1,271,582 lines (other 3.11.x differ slightly).
``python benchmarks/corpus.py DIR`` builds it (needs pip able to reach PyPI); an existing
corpus with this layout is reused as it is.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

WHEELS = {
    "django": (
        "django==5.2.19",
        "5965d974a5218a2b68a11dd1276434707f23886525c23f0598eccedaf4f4ca00",
    ),
    "sqlalchemy": (
        "sqlalchemy==2.1.9",
        "3a24b459e52b3ac138f6a05e99a4bd0589443a1ae18041a59c1cfdee12134a2b",
    ),
}


def python_files(root: Path) -> list[Path]:
    """Every ``*.py`` under ``root``, sorted by path (byte order)."""
    return sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix().encode())


def is_built(corpus: Path) -> bool:
    """Whether ``corpus`` already holds the layout."""
    return (
        all((corpus / "full" / part).is_dir() for part in ("stdlib", *WHEELS))
        and (corpus / "sub10").is_dir()
    )


def build(corpus: Path) -> None:
    """Build the corpus under ``corpus`` (replacing what is there)."""
    full = corpus / "full"
    if corpus.exists():
        shutil.rmtree(corpus)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for source in python_files(stdlib):
        relative = source.relative_to(stdlib)
        if relative.parts[0] == "site-packages":
            continue
        target = full / "stdlib" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    with tempfile.TemporaryDirectory() as download:
        requirements = Path(download) / "requirements.txt"
        requirements.write_text(
            "".join(f"{spec} --hash=sha256:{digest}\n" for spec, digest in WHEELS.values())
        )
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--require-hashes", "--only-binary", ":all:",
                "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
                "--implementation", "cp", "--abi", "cp311",
                "-d", download, "-r", str(requirements),
            ],
            check=True,
        )  # fmt: skip
        for name in WHEELS:
            (wheel,) = Path(download).glob(f"{name}-*.whl")
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.namelist():
                    if member.endswith(".py"):
                        archive.extract(member, full / name)
    files = python_files(full)
    for index, source in enumerate(files):
        if index % 10 == 0:
            target = corpus / "sub10" / source.relative_to(full)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def ensure(corpus: Path) -> Path:
    """Reuse the corpus at ``corpus`` or build it there."""
    if not is_built(corpus):
        print(f"building the corpus in {corpus} ...", file=sys.stderr)
        build(corpus)
    return corpus


def main() -> int:
    """Build (or check) the corpus and print its size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=Path("bench-corpus"))
    args = parser.parse_args()
    ensure(args.corpus)
    for part in ("full", "sub10"):
        files = python_files(args.corpus / part)
        lines = sum(f.read_bytes().count(b"\n") for f in files)
        print(f"{part}: files={len(files)} lines={lines}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
