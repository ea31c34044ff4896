"""``rig plugins install`` and ``rig plugins uninstall``: pip, run inside rig's own Python.

Running ``sys.executable -m pip`` puts a plugin where this rig can import it, whichever
virtual environment or pipx installation rig lives in; a bare ``pip`` on PATH may belong to
another Python.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from rig.errors import ExitCode, UsageError
from rig.subcommands import ArgumentParser

DISTRIBUTION_PREFIX = "rig-plugin-"
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip")
_SPECIFIER = re.compile(r"[\[=<>!~;@ ]")


def _install_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        "rig plugins install",
        description="Install plugins with pip into the Python rig runs in "
        f"({sys.executable}). NAME becomes the distribution {DISTRIBUTION_PREFIX}NAME "
        "(a name that already starts with it is kept); a PATH (a directory, wheel or sdist) "
        "is installed as it is. Arguments after -- go to pip unchanged.")
    parser.add_argument("targets", nargs="+", metavar="NAME|PATH")
    parser.add_argument("-U", "--upgrade", action="store_true", help="upgrade if installed")
    parser.add_argument("-e", "--editable", action="store_true",
                        help="install PATH in editable mode (for plugin development)")
    return parser


def _uninstall_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        "rig plugins uninstall",
        description="Uninstall plugins with pip from the Python rig runs in "
        f"({sys.executable}). NAME is what --plugin takes or the distribution's name.")
    parser.add_argument("names", nargs="+", metavar="NAME")
    return parser


def _split_passthrough(args: list[str]) -> tuple[list[str], list[str]]:
    if "--" in args:
        index = args.index("--")
        return args[:index], args[index + 1:]
    return args, []


def _is_path(target: str, cwd: Path) -> bool:
    return ("/" in target or "\\" in target or target.startswith(".")
            or target.endswith(_ARCHIVE_SUFFIXES) or (cwd / target).exists())


def pip_target(target: str, cwd: Path) -> str:
    """What pip is given for ``target``: a path as it is, a name as a rig-plugin distribution
    (``acme`` → ``rig-plugin-acme``, ``acme==0.2`` → ``rig-plugin-acme==0.2``)."""
    if _is_path(target, cwd):
        # pip reads a bare word as a requirement name even when such a directory exists.
        return target if re.search(r"[/\\]", target) else f"./{target}"
    name = _SPECIFIER.split(target, maxsplit=1)[0]
    if not name:
        raise UsageError(f"rig plugins install: {target!r} is neither a plugin name nor a path",
                         hint="give a NAME (e.g. acme) or a PATH (e.g. ./rig-plugin-acme)")
    normalized = re.sub(r"[-_.]+", "-", name).lower()
    if normalized.startswith(DISTRIBUTION_PREFIX):
        return target
    return DISTRIBUTION_PREFIX + target


def run_pip(arguments: list[str], *, cwd: Path, stdout: TextIO) -> None:
    """Run ``sys.executable -m pip ARGUMENTS``, copying its output to ``stdout``; a failure
    is a :class:`UsageError` naming the Python."""
    command = [sys.executable, "-m", "pip", *arguments]
    print(f"rig: running {' '.join(command)}", file=stdout, flush=True)
    try:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        raise UsageError(f"cannot run {sys.executable}: {exc.strerror}") from None
    assert process.stdout is not None
    for line in process.stdout:
        stdout.write(line)
    code = process.wait()
    if code != 0:
        raise UsageError(f"pip {arguments[0]} failed (pip exit code {code}); see pip's "
                         "output above",
                         hint=f"check the name or path; rig runs in {sys.executable}")


def install_command(args: list[str], *, cwd: Path, stdout: TextIO) -> int:
    """Run ``rig plugins install``."""
    from rig.host.discovery import installed_plugins

    own, passthrough = _split_passthrough(args)
    parser = _install_parser()
    if any(arg in ("-h", "--help") for arg in own):
        print(parser.format_help(), file=stdout)
        return int(ExitCode.OK)
    options = parser.parse_args(own)
    targets = [pip_target(target, cwd) for target in options.targets]
    if options.editable:
        if not all(_is_path(target, cwd) for target in targets):
            raise UsageError("rig plugins install -e takes a PATH",
                             hint="e.g. rig plugins install -e ./rig-plugin-acme")
        targets = [item for target in targets for item in ("-e", target)]
    before = {info.name for info in installed_plugins()}
    run_pip(["install", *(["--upgrade"] if options.upgrade else []), *targets, *passthrough],
            cwd=cwd, stdout=stdout)
    added = sorted({info.name for info in installed_plugins()} - before)
    if added:
        print(f"rig: new plugins: {', '.join(added)} (see rig plugins)", file=stdout)
    return int(ExitCode.OK)


def uninstall_command(args: list[str], *, cwd: Path, stdout: TextIO) -> int:
    """Run ``rig plugins uninstall``."""
    from rig.host.discovery import installed_plugins

    parser = _uninstall_parser()
    if any(arg in ("-h", "--help") for arg in args):
        print(parser.format_help(), file=stdout)
        return int(ExitCode.OK)
    options = parser.parse_args(args)
    installed = installed_plugins()
    by_name = {}
    for info in installed:
        if info.distribution:
            by_name[_normalize(info.name)] = info.distribution
            by_name[_normalize(info.distribution)] = info.distribution
    distributions = []
    for name in options.names:
        distribution = by_name.get(_normalize(name))
        if distribution is None:
            listed = ", ".join(info.name for info in installed) or "none"
            raise UsageError(f"no installed rig plugin is named {name!r}; installed: {listed}",
                             hint="give a name that rig plugins lists")
        if distribution not in distributions:
            distributions.append(distribution)
    run_pip(["uninstall", "--yes", *distributions], cwd=cwd, stdout=stdout)
    return int(ExitCode.OK)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
