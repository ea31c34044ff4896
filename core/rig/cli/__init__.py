"""The ``rig`` command: its entry point, subcommand dispatch, and the whole command as a
function, :func:`run` (used by ``main``, the test kit and programs that drive rig); it returns
the exit code and never raises for a failure a user can cause."""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from rig.errors import ExitCode, RigError
from rig.terminal import printable

_PROG = "rig"


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point. SIGTERM (``timeout``, a cancelled CI job) is handled like
    Ctrl-C: the run stops, cleans up (sandbox, cleanup states, scratch data) and writes its
    reports. The process is rig's, so loguru's default sink goes: rig adds its own.

    The handler goes in first, and everything after it answers a signal with exit 2 and one
    line; once the run has returned, a late signal no longer changes its exit code."""
    from rig import interrupts

    try:
        interrupts.install()  # a signal inside install() is answered below as well
        from loguru import logger

        logger.remove()
        code = run(argv)
    except KeyboardInterrupt:  # before run() handles it, or as it returns
        print(f"{_PROG}: interrupted", file=sys.stderr)
        code = int(ExitCode.INTERRUPTED)
    interrupts.ignore()
    raise SystemExit(code)


def run(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    plugins: Iterable[tuple[str, Any]] = (),
    cwd: Path | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run rig with ``argv``; returns the exit code.

    :param environ: the environment to read ``RIG_*`` from (default: ``os.environ``).
    :param plugins: extra ``(name, plugin)`` pairs registered as if installed (test kit).
    :param cwd: where to look for ``rig.toml`` (default: the current directory).
    :param stdout: where the summary goes (default: ``sys.stdout``).
    :param stderr: where logs and errors go (default: ``sys.stderr``).

    The calling program's loguru sinks, logging handlers and everything else rig touches are
    left as they were: rig adds its sinks for the run and removes them after.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ if environ is None else environ)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    verbose = _prescan_verbose(args, env)
    try:
        command = args[0] if args and not args[0].startswith("-") else None
        if command is None and "--version" in args:  # fast: no plugin is imported
            print("\n".join(version_lines()), file=out)
            return int(ExitCode.OK)
        if command == "plugins":
            from rig.cli.plugins import plugins_command

            return plugins_command(args[1:], environ=env, plugins=plugins,
                                   cwd=cwd or Path.cwd(), stdout=out, stderr=err)
        if command is not None:
            from rig.session.commands import run_command

            return run_command(args, environ=env, extra_plugins=plugins,
                               cwd=cwd or Path.cwd(), stdout=out, stderr=err)
        from rig.session.run import Session

        return Session(args, environ=env, extra_plugins=plugins, cwd=cwd or Path.cwd(),
                       stdout=out, stderr=err).run()
    except RigError as exc:
        report_error(exc, err, verbose=verbose)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=err)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:  # rig ... | head: the reader left; that is not an error
        _silence_broken_pipe(out)
        return int(ExitCode.OK)
    except Exception as exc:  # a bug in rig or a plugin: one line, traceback with -v
        print(printable(f"{_PROG}: internal error: {type(exc).__name__}: {exc} "
                        "(run with -v for the traceback)"), file=err)
        if verbose:
            traceback.print_exc(file=err)
        return int(ExitCode.INTERNAL)


def report_error(exc: BaseException, stream: TextIO, *, verbose: bool) -> None:
    """Print ``rig: error: <cause>: <fix>``; the traceback only with ``-v``."""
    print(printable(f"{_PROG}: error: {exc}"), file=stream)
    if verbose:
        traceback.print_exception(exc, file=stream)


def _silence_broken_pipe(stream: TextIO) -> None:
    """Point a closed stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _prescan_verbose(args: list[str], environ: Mapping[str, str]) -> bool:
    if any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args):
        return True
    return environ.get("RIG_VERBOSE", "0") not in ("", "0", "false")


def version_lines() -> list[str]:
    """``rig --version``: the core and each plugin's distribution and version, without
    importing any plugin."""
    import platform

    from rig.host.discovery import installed_plugins
    from rig.version import __version__

    lines = [f"rig {__version__} (rig-core) at {Path(__file__).parent.parent}, "
             f"Python {platform.python_version()}"]
    found = installed_plugins()
    lines.append("plugins:" if found else "plugins: none installed")
    lines += [f"  {info.name}  {info.distribution or '?'} {info.version or '?'}" for info in found]
    return lines
