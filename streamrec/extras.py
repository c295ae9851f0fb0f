"""Optional dependencies, imported where they are needed, with an install hint.

The base install runs the embedded engine; everything else is an install extra
(``models``, ``kafka``, ``redis``, ``postgres``, ``spark``). A command or adapter
that needs one imports it through :func:`import_extra`, so a missing extra is a
:class:`MissingExtra` naming what to install (the CLI prints it and exits 2),
never a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from streamrec.errors import ConfigError


class MissingExtra(ConfigError):
    """An optional dependency is not installed; the message says which extra has it."""

    def __init__(self, purpose: str, module: str, extra: str) -> None:
        super().__init__(
            f"{purpose} needs {module.split('.')[0]}, which is not installed: "
            f"pip install 'streamrec[{extra}]'"
        )
        self.extra = extra


def import_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, which the install extra ``extra`` provides.

    Parameters
    ----------
    module
        The module to import (a third-party module, or a streamrec adapter module
        that imports one).
    extra
        The streamrec install extra that brings it.
    purpose
        What needs it, for the message ("the Kafka event log").

    Raises
    ------
    MissingExtra
        If the module, or a dependency it imports, is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        raise MissingExtra(purpose, missing, extra) from exc
