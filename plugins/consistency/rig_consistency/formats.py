"""History files: Jepsen's EDN (``history.edn``, one operation map per line) and elle-cli's JSON
lines, read into :class:`~rig_consistency.history.Op` and written back.

The reader detects the format from the first form in the file (``{:`` or ``{"``). EDN is read
by our own tokenizer for the subset histories use (maps, vectors, lists, sets, keywords,
strings, integers, floats, ``nil``, booleans, ``;`` comments, commas as whitespace); a line
without strings or tags first goes through a C-speed translation to JSON, which is what keeps
a 100 000-transaction history within a second or two. Keywords read as their name (``:x`` is
``"x"``); operations of processes that are not integers (Jepsen's ``:nemesis``) are skipped.
A malformed file raises :class:`ValueError` naming the line and what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from rig_consistency.gcpause import paused
from rig_consistency.history import Element, Mop, Op

__all__ = ["Writer", "parse_history", "read_history", "write_edn", "write_jsonl", "writer_for"]

_OP_TYPES = ("invoke", "ok", "fail", "info")
_ELEMENT_TYPES = {int, str}
_MOP_KINDS = ("append", "r", "w")

# --- EDN ------------------------------------------------------------------------------------

_KEYWORD_CHARS = r"[A-Za-z0-9*+!?<>=/._'$%&-]"
_KEYWORD_NAME = re.compile(rf"[A-Za-z*+!?<>=._'$%&-]{_KEYWORD_CHARS}*\Z")
_TOKEN = re.compile(
    r"""(?P<ws>[\s,]+)|(?P<comment>;[^\n]*)
      |(?P<open>\#\{|[\[({])|(?P<close>[\])}])
      |(?P<string>"(?:[^"\\]|\\.)*")
      |(?P<keyword>::?""" + _KEYWORD_CHARS + r"""+)
      |(?P<number>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?[NM]?(?![A-Za-z0-9]))
      |(?P<tag>\#_|\#[A-Za-z][\w.\-/]*)
      |(?P<symbol>[A-Za-z*+!?<>=._'$%&/-]""" + _KEYWORD_CHARS + r"""*)
      |(?P<bad>.)""",
    re.VERBOSE | re.DOTALL)
# keywords the fast path would mangle: ending in nil (it turns bare nil into null)
_FAST_UNSAFE = re.compile(r":[^\s,\[\](){}]*nil(?=[\s,\[\](){}]|\Z)")
_FAST_KEYWORD = re.compile(r'"[^\s,\[\](){}"]+')  # a keyword, once its ':' became '"'

_MAP_MARK = "#map"
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class _MapForm(list[Any]):
    """A map's keys and values in order, until the map closes."""


class _SetForm(list[Any]):
    """A set's elements in order, until the set closes."""


def _unescape(token: str) -> str:
    return re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


def _edn_forms(text: str) -> Iterator[tuple[int, Any]]:
    """The top-level forms of an EDN text, each with the line it starts on."""
    stack: list[tuple[str, list[Any], int]] = []
    discard = 0
    start_line = line = 1
    counted = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind in ("ws", "comment"):
            continue
        line += text.count("\n", counted, match.start())
        counted = match.start()
        value: Any
        if kind == "open":
            if not stack:
                start_line = line
            container: list[Any] = (_MapForm() if token == "{" else
                                    _SetForm() if token == "#{" else [])
            stack.append((token, container, line))
            continue
        if kind == "close":
            if not stack:
                raise ValueError(f"line {line}: {token!r} closes nothing")
            opener, container, opened = stack.pop()
            if _CLOSERS[opener] != token:
                raise ValueError(f"line {line}: {token!r} closes the {opener!r} of line "
                                 f"{opened}")
            value = _close(container, opened)
        elif kind == "string":
            value = _unescape(token)
        elif kind == "keyword":
            value = token.lstrip(":")
        elif kind == "number":
            value = _number(token, line)
        elif kind == "tag":
            if token == "#_":
                discard += 1
            continue
        elif kind == "symbol":
            if token not in ("nil", "true", "false"):
                raise ValueError(f"line {line}: unexpected symbol {token!r}: EDN histories "
                                 f"hold keywords (:{token}), numbers and strings")
            value = None if token == "nil" else token == "true"
        else:
            raise ValueError(f"line {line}: unexpected character {token!r}")
        if discard:
            discard -= 1
            continue
        if stack:
            stack[-1][1].append(value)
        else:
            yield (line if kind != "close" else start_line), value
    if stack:
        opener, _, opened = stack[-1]
        raise ValueError(f"line {opened}: {opener!r} is never closed (the file ends first)")


def _close(container: list[Any], line: int) -> Any:
    if isinstance(container, _MapForm):
        if len(container) % 2:
            raise ValueError(f"line {line}: a map has a key without a value")
        return {_hashable(k): v for k, v in zip(container[::2], container[1::2], strict=True)}
    if isinstance(container, _SetForm):
        return frozenset(_hashable(v) for v in container)
    return container


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


def _number(token: str, line: int) -> int | float:
    body = token.rstrip("NM")
    try:
        return int(body) if re.fullmatch(r"[-+]?\d+", body) else float(body)
    except ValueError:
        raise ValueError(f"line {line}: bad number {token!r}") from None


def _closed(keyword: re.Match[str]) -> str:
    return keyword.group() + '"'


def _fast_edn(text: str) -> list[tuple[int, Any]] | None:
    """The operation maps of an EDN history written the way Jepsen and rig write it (one
    flat map a line, the usual keywords, no strings or tags), translated to JSON with
    C-speed replacements and read by the C parser; ``None`` when the text needs the full
    tokenizer."""
    if any(c in text for c in '"#;\\\t') or _FAST_UNSAFE.search(text):
        return None
    maps = text.count("{")
    for end in " ,]}\n":
        text = text.replace(f"nil{end}", f"null{end}")
    text = text.replace(":", '"')  # a keyword opens a string...
    text = _FAST_KEYWORD.sub(_closed, text)  # ...that closes after its last character
    text = (text.replace("{", f'["{_MAP_MARK}" ').replace("}", "]")
            .replace("(", "[").replace(")", "]").replace(", ", " ").replace(" ", ","))
    text = text.replace("[,", "[").replace(",]", "]")
    numbers, lines = [], []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip(",")
        if line:
            numbers.append(number)
            lines.append(line)
    try:
        parsed = json.loads(f"[{','.join(lines)}]")  # one call: the C parser does it all
    except ValueError:
        return None
    forms: list[tuple[int, Any]] = []
    for number, form in zip(numbers, parsed, strict=True):
        if not isinstance(form, list) or not form or form[0] != _MAP_MARK or len(form) % 2 == 0:
            return None
        forms.append((number, dict(zip(form[1::2], form[2::2], strict=True))))
    return forms if len(forms) == maps else None  # a nested map: the tokenizer reads it


def _edn_ops(text: str) -> Iterator[tuple[int, Any]]:
    fast = _fast_edn(text)
    if fast is not None:
        yield from fast
    else:
        yield from _edn_forms(text)


# --- JSON lines ------------------------------------------------------------------------------

def _json_ops(text: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            reason = str(exc).split(":")[0]
            raise ValueError(f"line {number}: not a JSON object ({reason})") from None


# --- operations ------------------------------------------------------------------------------

def _element(value: Any, line: int, what: str) -> Element:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"line {line}: {what} is {_show(value)}: keys and values must be "
                         f"integers or keywords")
    return value


def _show(value: Any) -> str:
    return "nil" if value is None else repr(value)


def _mop(raw: Any, line: int) -> Mop:
    # the usual shapes first, checked by exact type (bool is no int here): one call each
    if type(raw) is list and len(raw) == 3:
        f, key, value = raw
        if type(key) in _ELEMENT_TYPES:
            if f == "r":
                if value is None:
                    return Mop("r", key, None)
                if type(value) is list and all(type(e) is int for e in value):
                    return Mop("r", key, tuple(value))
            elif f in _MOP_KINDS and type(value) in _ELEMENT_TYPES:
                return Mop(f, key, value)
    return _checked_mop(raw, line)


def _checked_mop(raw: Any, line: int) -> Mop:
    if not isinstance(raw, list | tuple) or len(raw) != 3:
        raise ValueError(f"line {line}: micro-operation {_show(raw)} is not [f key value]")
    f, key, value = raw
    if f not in _MOP_KINDS:
        raise ValueError(f"line {line}: micro-operation {_show(raw)} has f {_show(f)}: "
                         f"expected append, r or w")
    key = _element(key, line, "a key")
    if f != "r":
        return Mop(f, key, _element(value, line, "a written value"))
    if value is None:
        return Mop("r", key, None)
    if isinstance(value, list | tuple):
        if not set(map(type, value)) <= _ELEMENT_TYPES:
            for element in value:
                _element(element, line, "a read element")
        return Mop("r", key, tuple(value))
    return Mop("r", key, _element(value, line, "a read value"))


def _op(raw: Any, line: int, position: int) -> Op | None:
    if not isinstance(raw, dict):
        raise ValueError(f"line {line}: expected an operation map, found {_show(raw)}")
    process = raw.get("process")
    if not isinstance(process, int) or isinstance(process, bool):
        return None  # the nemesis, or another non-client process
    kind = raw.get("type")
    if kind not in _OP_TYPES:
        raise ValueError(f"line {line}: type is {_show(kind)}: expected invoke, ok, fail or "
                         f"info")
    index = raw.get("index", position)
    if not isinstance(index, int) or isinstance(index, bool):
        raise ValueError(f"line {line}: index is {_show(index)}: expected an integer")
    time = raw.get("time", index)
    if not isinstance(time, int) or isinstance(time, bool):
        raise ValueError(f"line {line}: time is {_show(time)}: expected an integer")
    value = raw.get("value")
    if value is None:
        value = []
    if not isinstance(value, list | tuple):
        raise ValueError(f"line {line}: value is {_show(value)}: expected a list of "
                         f"micro-operations")
    f = raw.get("f", "txn")
    error = raw.get("error")
    return Op(index=index, type=kind, process=process, time=time,
              value=tuple(_mop(m, line) for m in value), f=str(f),
              error=None if error is None else error if isinstance(error, str)
              else _edn_text(error))


def parse_history(text: str) -> list[Op]:
    """The operations of a history text in either format (detected from its first form).

    Raises :class:`ValueError` (``line N: what is wrong``) for a malformed text.
    """
    first = next((line.strip() for line in text.split("\n")
                  if line.strip() and not line.strip().startswith(";")), "")
    forms = _json_ops(text) if first.startswith('{"') or first == "{}" else _edn_ops(text)
    ops: list[Op] = []
    with paused():
        for position, (line, raw) in enumerate(forms):
            op = _op(raw, line, position)
            if op is not None:
                ops.append(op)
    return ops


def read_history(path: Path) -> list[Op]:
    """The operations of the history file ``path`` (EDN or JSON lines).

    Raises :class:`OSError` when it cannot be read and :class:`ValueError` (``line N: …``)
    when it is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not a text file (byte {exc.start} is not UTF-8)") from None
    return parse_history(text)


# --- writers ---------------------------------------------------------------------------------

def _edn_text(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if _KEYWORD_NAME.match(value) and value not in ("nil", "true", "false"):
            return ":" + value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_edn_text(k)} {_edn_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, frozenset | set):
        return "#{" + " ".join(_edn_text(v) for v in value) + "}"
    return "[" + " ".join(_edn_text(v) for v in value) + "]"


def _mop_list(mop: Mop) -> list[Any]:
    value = list(mop.value) if isinstance(mop.value, tuple) else mop.value
    return [mop.f, mop.key, value]


def _op_map(op: Op) -> dict[str, Any]:
    fields: dict[str, Any] = {"index": op.index, "time": op.time, "type": op.type,
                              "process": op.process, "f": op.f,
                              "value": [_mop_list(m) for m in op.value]}
    if op.error is not None:
        fields["error"] = op.error
    return fields


def write_edn(ops: Iterable[Op], file: TextIO) -> None:
    """Write ``ops`` as Jepsen's ``history.edn``: one operation map per line, keywords for
    the fields and the micro-operations' functions (``[:append 5 1]``); string keys and
    values become keywords (``:x``) when they can, else EDN strings."""
    for op in ops:
        fields = _op_map(op)
        parts = [f":{name} {_edn_text(value)}" for name, value in fields.items()
                 if name != "value"]
        mops = " ".join("[" + " ".join(_edn_text(x) for x in mop) + "]"
                        for mop in fields["value"])
        parts.insert(5, f":value [{mops}]")
        file.write("{" + ", ".join(parts) + "}\n")


def write_jsonl(ops: Iterable[Op], file: TextIO) -> None:
    """Write ``ops`` as elle-cli's JSON lines: one object per line
    (``{"index": 0, "type": "invoke", "f": "txn", "value": [["append", 5, 1]], …}``)."""
    for op in ops:
        file.write(json.dumps(_op_map(op), separators=(",", ":")) + "\n")


Writer = Callable[[Iterable[Op], TextIO], None]
"""A history writer: :func:`write_edn` or :func:`write_jsonl`."""


def writer_for(path: Path) -> Writer:
    """:func:`write_edn` for a ``.edn`` file, :func:`write_jsonl` for ``.jsonl`` or ``.json``.

    Raises :class:`ValueError` for another suffix.
    """
    suffix = path.suffix.lower()
    if suffix == ".edn":
        return write_edn
    if suffix in (".jsonl", ".json"):
        return write_jsonl
    raise ValueError(f"{path.name}: unknown history format {suffix or '(no suffix)'!r}: "
                     f"name the file .edn (Jepsen's EDN) or .jsonl (JSON lines)")
