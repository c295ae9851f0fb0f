"""deploy/compose.yaml: every streamrec command in it is one the CLI accepts.

The file is parsed, not run (no container engine here): each service's shell
command is split at ``&&``, the ``$$VAR`` references are filled from the shared
environment block, and each ``streamrec …`` step goes through the real parser.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from streamrec.bootstrap.roles import require_archive_urls
from streamrec.cli import build_parser
from streamrec.config import load_settings

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"


def services() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return dict(parsed["services"])


def streamrec_steps(service: dict[str, Any]) -> list[list[str]]:
    """The ``streamrec`` invocations of a service's ``sh -c`` command, as argv lists."""
    shell, flag, script = service["command"]
    assert (shell, flag) == ("sh", "-c")
    for name, value in service["environment"].items():
        script = script.replace(f'"$${name}"', shlex.quote(value))
    steps = [shlex.split(step.strip()) for step in script.split("&&")]
    return [step[step.index("streamrec") + 1 :] for step in steps if "streamrec" in step[:2]]


def test_every_streamrec_command_parses() -> None:
    found = {
        name: streamrec_steps(service)
        for name, service in services().items()
        if "command" in service and "environment" in service
    }
    assert set(found) == {"processor", "api", "archive"}
    parser = build_parser()
    for steps in found.values():
        for argv in steps:
            parser.parse_args(argv)
    assert [argv[0] for argv in found["archive"]] == ["migrate", "archive"]


def test_the_archive_service_stores_the_topic_in_postgres_after_both_are_healthy() -> None:
    archive = services()["archive"]
    migrate, run = (build_parser().parse_args(argv) for argv in streamrec_steps(archive))
    assert migrate.history == run.history == archive["environment"]["STREAMREC_HISTORY__URL"]
    assert run.log == archive["environment"]["STREAMREC_LOG__URL"]
    require_archive_urls(load_settings(log={"url": run.log}, history={"url": run.history}))
    assert archive["depends_on"]["kafka"] == {"condition": "service_healthy"}
    assert archive["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert archive["restart"] == "unless-stopped"
