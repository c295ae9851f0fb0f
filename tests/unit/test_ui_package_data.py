"""Every file the dashboard serves ships in the wheel: pyproject's package-data globs
cover each template and asset under streamrec/ui, licences included."""

from __future__ import annotations

import tomllib
from pathlib import Path

import streamrec.ui

UI = Path(streamrec.ui.__file__).parent
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_package_data_covers_every_template_and_asset() -> None:
    globs = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]
    patterns = globs["streamrec.ui"]
    shipped = {path for pattern in patterns for path in UI.glob(pattern)}
    assets = {
        path
        for path in UI.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert assets, "the dashboard has templates and assets"
    assert sorted(map(str, assets - shipped)) == []
    assert {p.name for p in shipped if p.parent.parent.name == "vendor"} >= {"LICENSE"}
