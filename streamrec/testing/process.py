"""Start a server process, wait until it answers, and always stop it."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from streamrec.errors import BackendUnavailable, ConfigError

_PR_SET_PDEATHSIG = 1
_LOG_TAIL_CHARS = 3000


class MissingBinary(ConfigError):
    """A server binary is not installed; the message says what to install."""


class ServerStartError(BackendUnavailable):
    """A server was launched but did not become ready (the message holds its log)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def find_binary(name: str, install_hint: str, candidates: Sequence[Path] = ()) -> Path:
    """The first of ``candidates`` that exists, else ``name`` on ``PATH``.

    Raises
    ------
    MissingBinary
        If neither is found; the message names ``install_hint``.
    """
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found is None:
        raise MissingBinary(f"{name} is not installed: {install_hint}")
    return Path(found)


def command_succeeds(argv: Sequence[str | Path], timeout_s: float = 5.0) -> bool:
    """Whether ``argv`` exits 0 within ``timeout_s`` (output discarded)."""
    try:
        result = subprocess.run(
            [str(a) for a in argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def _die_with_parent() -> None:
    """Ask the kernel to stop the child when the launching thread dies (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def log_tail(path: Path) -> str:
    """The last few thousand characters of a server log ('' if there is none)."""
    if not path.is_file():
        return ""
    return path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]


@contextmanager
def running(
    name: str,
    argv: Sequence[str | Path],
    *,
    log_path: Path,
    ready: Callable[[], bool],
    timeout_s: float = 30.0,
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the ``with`` block ends, once ``ready()`` returns True.

    Parameters
    ----------
    name
        What the server is, for error messages.
    argv
        The command line.
    log_path
        File receiving the server's stdout and stderr.
    ready
        Probe called every 50 ms until it returns True.
    timeout_s
        How long the server gets to become ready.
    user
        OS user to run the server as (needs root), e.g. ``postgres``.
    stop_signal
        Signal asking the server to stop; it is killed if still alive 15 s later.
    cwd
        Working directory of the server.

    Raises
    ------
    ServerStartError
        If the server exits or is not ready in time; the message holds its log tail.
    """
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            user=user,
            preexec_fn=_die_with_parent,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if process.poll() is not None:
                raise ServerStartError(
                    f"{name} exited with status {process.returncode} while starting:\n"
                    f"{log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"{name} was not ready after {timeout_s:.0f} s:\n{log_tail(log_path)}"
                )
            time.sleep(0.05)
        yield process
    finally:
        stop(process, stop_signal)


def stop(process: subprocess.Popen[bytes], stop_signal: int = signal.SIGTERM) -> None:
    """Signal ``process`` to stop, wait up to 15 s, then kill it."""
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
