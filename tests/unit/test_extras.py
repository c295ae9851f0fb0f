"""A base install (no extras) runs the embedded engine; every other command explains
which extra it needs.

The CLI runs in a subprocess whose import system refuses every optional
dependency, as on a machine where ``pip install streamrec`` installed none of them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from streamrec.cli import build_parser
from streamrec.errors import ConfigError
from streamrec.extras import MissingExtra, import_extra
from streamrec.testing.process import free_port, running

#: Modules only the install extras bring.
OPTIONAL = (
    "matplotlib",
    "implicit",
    "hnswlib",
    "confluent_kafka",
    "redis",
    "hiredis",
    "psycopg",
    "pyspark",
    "pyarrow",
)

_NO_EXTRAS = textwrap.dedent(
    f"""
    import importlib.abc
    import sys

    class _NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {OPTIONAL!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, _NotInstalled())
    from streamrec.cli import main
    """
)
#: ``streamrec ARGS`` without the extras.
_BARE = _NO_EXTRAS + "sys.exit(main(sys.argv[1:]))\n"
#: ``streamrec C --help`` for each command C given, in one interpreter; prints
#: ``C <exit code>`` per command.
_HELPS = _NO_EXTRAS + textwrap.dedent(
    """
    import contextlib, io
    for command in sys.argv[1:]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main([*command.split(), "--help"])
            except SystemExit as stop:
                code = stop.code
        shown = "usage: streamrec" in out.getvalue()
        print(command or "-", code if shown else "no-usage", file=sys.stderr)
    """
)


def _bare(
    *args: str, script: str = _BARE, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def _commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_import_extra_names_the_extra() -> None:
    with pytest.raises(MissingExtra, match=r"pip install 'streamrec\[models\]'") as raised:
        import_extra("streamrec_absent_module", "models", "this feature")
    assert isinstance(raised.value, ConfigError) and raised.value.extra == "models"


def test_every_command_has_help_without_extras() -> None:
    commands = _commands()
    assert {"serve", "ingest", "train", "evaluate", "bench", "process", "archive"} <= set(commands)
    done = _bare("", *commands, script=_HELPS)
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == [word for c in ["-", *commands] for word in (c, "0")]


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (
            ["process", "--log", "kafka://127.0.0.1:9/t", "--state", "redis://127.0.0.1:9/0"],
            "kafka",
        ),
        (["rebase", "--state", "redis://127.0.0.1:9/0"], "redis"),
        (
            ["archive", "--log", "kafka://127.0.0.1:9/t", "--history", "postgresql://h:9/x"],
            "kafka",
        ),
        (["migrate", "--history", "postgresql://127.0.0.1:9/x"], "postgres"),
        (["serve", "--log", "kafka://127.0.0.1:9/t", "--state", "redis://127.0.0.1:9/0"], "kafka"),
        (["train", "--data-dir", "{tmp}"], "models"),
        (["train", "--trainer", "spark", "--data-dir", "{tmp}"], "spark"),
        (["evaluate", "--dataset", "{tmp}", "--out", "{tmp}/out"], "models"),
    ],
)
def test_a_command_without_its_extra_exits_2_with_the_hint(
    argv: list[str], extra: str, tmp_path: Path
) -> None:
    done = _bare(*[a.format(tmp=tmp_path) for a in argv])
    assert done.returncode == 2, done.stderr
    assert f"pip install 'streamrec[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_bare_install_ingests_and_recommends(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-c", _BARE, "serve", "--data-dir", str(tmp_path), "--port", str(port)]

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    log_path = tmp_path / "serve.log"
    with running("bare streamrec serve", argv, log_path=log_path, ready=ready, timeout_s=120):
        events = [
            {"user_id": "ann", "item_id": "tent", "type": "view"},
            {"user_id": "ann", "item_id": "stove", "type": "view"},
            {"user_id": "bob", "item_id": "tent", "type": "view"},
        ]
        posted = httpx.post(f"{url}/v1/events?wait=true", json={"events": events}, timeout=30)
        assert posted.status_code == 202, posted.text
        found = httpx.get(f"{url}/v1/users/bob/recommendations", timeout=30).json()
        assert [item["item_id"] for item in found["items"]][:1] == ["stove"]
    assert "Traceback" not in log_path.read_text()
