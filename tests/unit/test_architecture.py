"""The functional core imports no client library (STYLE.md habit 1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import streamrec

CLIENT_LIBRARIES = {
    "redis",
    "confluent_kafka",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
}
CORE = [
    "events.py",
    "config.py",
    "ids.py",
    "errors.py",
    "processing",
    "recommend",
    "evaluation",
    "models",
]
PACKAGE = Path(streamrec.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _internal_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("streamrec")
    }


def _core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def test_core_modules_import_no_client_library() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imports(path) & CLIENT_LIBRARIES)
        for path in _core_files()
        if _imports(path) & CLIENT_LIBRARIES
    }
    assert offenders == {}


def test_core_modules_do_not_reach_into_adapters_or_serving() -> None:
    shells = (
        "streamrec.serving",
        "streamrec.log.kafka",
        "streamrec.state.redis",
        "streamrec.history.postgres",
    )
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in _internal_imports(path) if m.startswith(shells)
        )
        for path in _core_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_client_loads_no_server_library() -> None:
    """``streamrec.client`` speaks HTTP only: it loads no server framework and no engine."""
    probe = "import sys, streamrec.client; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    modules = set(result.stdout.split())
    libraries = {name.split(".")[0] for name in modules}
    assert "httpx" in libraries
    assert libraries & (CLIENT_LIBRARIES - {"httpx"}) == set()
    assert {"streamrec.engine", "streamrec.serving.app"} & modules == set()
