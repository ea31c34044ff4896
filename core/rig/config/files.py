"""The TOML config file: where it is, and its entries, read once per run."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig.errors import ConfigError, os_reason

CONFIG_FILE_NAME = "rig.toml"


def find_config_file(explicit: str | None, cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """The config file of a run: ``--config FILE``, else ``./rig.toml``, else the user's
    ``$XDG_CONFIG_HOME/rig/rig.toml`` (``~/.config/rig/rig.toml``), else none."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            raise ConfigError(f"config file {path} is a directory",
                              hint="give the path of a TOML file to --config (or RIG_CONFIG)")
        if not path.exists():
            raise ConfigError(f"config file {path} not found", hint="check --config or RIG_CONFIG")
        return path
    local = cwd / CONFIG_FILE_NAME
    if local.is_file():
        return local
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    user = Path(base).expanduser() / "rig" / CONFIG_FILE_NAME
    return user if user.is_file() else None


def normalize_key(key: str) -> str:
    """A config key or option name as rig compares them: no leading dashes, ``-`` for ``_``,
    lower case."""
    return key.strip().lstrip("-").replace("_", "-").lower()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class ConfigEntry:
    """One key of the file, top-level or in a ``[table]``."""

    key: str
    """The key, normalised (``ping-count``)."""
    value: str | list[str]
    table: str | None = None
    """The table it sits in (``basic`` for ``[basic]``), normalised; ``None`` at the top."""

    @property
    def origin(self) -> str:
        """How the file spells it: ``key`` or ``[table] key``."""
        return f"[{self.table}] {self.key}" if self.table else self.key


@dataclass
class ConfigFile:
    """A parsed config file."""

    path: Path
    entries: list[ConfigEntry] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        """Read and parse ``path``; a missing, unreadable or malformed file is a ConfigError
        naming the file."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {os_reason(exc)}",
                              hint="check its permissions") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {path} is not UTF-8 text (byte "
                              f"0x{exc.object[exc.start]:02x} at offset {exc.start})",
                              hint="save it as UTF-8") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"config file {path} is not valid TOML ({exc})", hint="fix the syntax"
            ) from None
        parsed = cls(path)
        for key, value in data.items():
            if isinstance(value, dict):
                table = normalize_key(key).replace("-", "_")
                parsed.tables.append(table)
                for sub_key, sub_value in value.items():
                    parsed._add(sub_key, sub_value, table)
            else:
                parsed._add(key, value, None)
        return parsed

    def _add(self, key: str, value: Any, table: str | None) -> None:
        """Add one key; a shape that no option can take (a table or list within it, an array
        of tables) is a ConfigError naming the key and the file."""
        entry = ConfigEntry(normalize_key(key), "", table)
        if isinstance(value, dict):
            raise self._error(f"{entry.origin} is a table nested too deep",
                              "options sit at the top level or in a table named after their "
                              "plugin")
        if isinstance(value, list):
            if value and table is None and all(isinstance(item, dict) for item in value):
                name = normalize_key(key).replace("-", "_")
                raise self._error(f"[[{name}]] is an array of tables, which rig does not "
                                  "support", f"write [{name}]")
            for item in value:
                if isinstance(item, (dict, list)):
                    kind = "table" if isinstance(item, dict) else "list"
                    raise self._error(f"{entry.origin} holds a {kind} inside a list",
                                      "write a value or a list of values")
            self.entries.append(ConfigEntry(entry.key, [_scalar(item) for item in value], table))
        else:
            self.entries.append(ConfigEntry(entry.key, _scalar(value), table))

    def _error(self, cause: str, fix: str) -> ConfigError:
        return ConfigError(f"config file {self.path}: {cause}", hint=fix)
