"""The argument parser of rig's subcommands: errors become a :class:`UsageError` (exit 4)."""

from __future__ import annotations

import argparse

from rig.errors import UsageError


class SubcommandParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that raises instead of printing usage and exiting."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(add_help=False, allow_abbrev=False, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"see {self.prog} --help")
