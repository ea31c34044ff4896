"""Parameters bound into a statement's text, the way PyMySQL binds them, but only outside
quoted text: ``%s`` and ``%(name)s`` become the escaped values, ``%%`` becomes ``%``, and
everything between backticks or quotes is sent as written. So a name quoted with
:func:`rig.quote_identifier` may hold ``%`` (``50%_off``) beside parameters, where PyMySQL's
``sql % args`` would fail ("unsupported format character") or bind into the name."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_TOKEN = re.compile(
    r"`[^`]*`"                      # a quoted identifier (`` doubles a backtick: two tokens)
    r"|'(?:[^'\\]|\\.)*'"           # a string, with backslash escapes
    r'|"(?:[^"\\]|\\.)*"'           # a string in double quotes
    r"|%\((?P<name>[^)]*)\)s"       # a named parameter
    r"|%s|%%",
    re.DOTALL,
)


def bind(sql: str, args: Sequence[Any] | Mapping[str, Any],
         escape: Callable[[Any], str]) -> str:
    """``sql`` with its placeholders outside quotes replaced by ``escape(value)``.

    :raises TypeError: when the placeholders and ``args`` do not match (too few or too many
        values, a name missing, positional placeholders with a mapping or the other way).
    """
    values = iter(()) if isinstance(args, Mapping) else iter(args)
    used = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        token = match.group()
        if token == "%%":
            return "%"
        if token == "%s":
            if isinstance(args, Mapping):
                raise TypeError("%s placeholder with named parameters")
            try:
                value = next(values)
            except StopIteration:
                raise TypeError("not enough arguments for the statement") from None
            used += 1
            return escape(value)
        name = match.group("name")
        if name is not None:
            if not isinstance(args, Mapping):
                raise TypeError(f"%({name})s placeholder without named parameters")
            if name not in args:
                raise TypeError(f"no parameter named {name!r}")
            return escape(args[name])
        return token  # quoted text, as written

    bound = _TOKEN.sub(replace, sql)
    if not isinstance(args, Mapping) and used != len(args):
        raise TypeError("not all arguments were used in the statement")
    return bound
