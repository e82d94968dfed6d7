"""Loading instance files: reading YAML or JSON (size limits, duplicate keys, no tags),
validating in one pass, and the messages of a failed validation.

An instance is validated in one pass by pydantic. Yearly series are resolved during
that pass into a mapping ``{year: value}`` that covers every planning year exactly once,
so the model never sees the shorthand forms (one number, ``2026-2030`` ranges).

Every problem is reported as an :class:`InstanceError` holding ``(path, message)``
pairs, where ``path`` is the dotted path of the field in the file
(``providers.microsoft.contracts.reserved_3y.term``)."""

from __future__ import annotations

from dataclasses import dataclass

import json
import os
import re
import select
import stat
import time
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InstanceError, clip, describe, show
from .schema import Instance, cross_checks
from .paths import set_along, settable_target
from .scaling import tiny_coefficients


#: Largest instance file the loader reads, in bytes.
MAX_FILE_BYTES = 10_000_000
#: Most values (scalars, lists and mappings) a document may hold, YAML aliases counted at
#: their expanded size; a "billion laughs" document fails as soon as it passes this.
MAX_NODES = 200_000


def _scenario_checks(inst: Instance, data: dict) -> list[tuple[str, str]]:
    """Probabilities, commit_years and every case's ``set``; builds ``inst.cases``."""
    scen = inst.scenarios
    problems = []
    total = sum(case.probability for case in scen.cases.values())
    if abs(total - 1.0) > 1e-9:
        problems.append(("scenarios.cases", f"probabilities must sum to 1 (±1e-9), they sum to {total:.12g}"))
    if scen.commit_years is not None and scen.commit_years > len(inst.year_list):
        problems.append(("scenarios.commit_years",
                         f"expected at most {len(inst.year_list)} (the planning years), got {scen.commit_years}"))
    base = {key: value for key, value in data.items() if key != "scenarios"}
    for name, case in scen.cases.items():
        where = f"scenarios.cases.{name}.set"
        case_data = dict(base)  # copied along each set path only: the rest is shared, never changed
        refused = False
        for path, value in case.set.items():
            parts, reason = settable_target(inst, str(path))
            if reason:
                problems.append((f"{where}.{path}", reason))
                refused = True
                continue
            set_along(case_data, parts, value)
        if refused:
            continue
        case_data["name"] = f"{inst.name or 'instance'}[{name}]"
        try:
            inst._cases[name] = _validate_document(case_data)
        except InstanceError as err:
            set_paths = sorted(map(str, case.set), key=len, reverse=True)
            for path, message in err.problems:
                owner = next((p for p in set_paths if path == p or path.startswith(p + ".")), None)
                problems.append((f"{where}.{path}" if owner else f"scenarios.cases.{name}: {path}", message))
    return problems


def _years_context(data: dict) -> list[int] | None:
    years = data.get("years")
    if (
        isinstance(years, (list, tuple))
        and len(years) == 2
        and all(isinstance(y, int) and not isinstance(y, bool) and 1 <= y <= 9999 for y in years)
        and years[0] <= years[1]
    ):
        return list(range(years[0], years[1] + 1))
    return None


def validate_instance(data: Any, name: str | None = None, source: str | None = None,
                      check_size: bool = True) -> Instance:
    """Validate a parsed instance document; raise :class:`InstanceError` on any problem.

    A document larger than the limits (:data:`MAX_NODES` values, an LP above
    :data:`MAX_VARIABLES` variables or :data:`MAX_CONSTRAINTS` constraints, see
    :func:`estimate_size`) is refused before anything is expanded or built.
    ``check_size=False`` skips that check, for a document known to be the size of one
    that passed it (a sweep's variant: other numbers, the same years and names)."""
    if not isinstance(data, dict):
        raise InstanceError(
            [("", f"expected a mapping of keys (name, years, workloads, ...), got {describe(data)}")], source
        )
    too_large = _size_problem(data) if check_size else None
    if too_large:
        raise InstanceError([too_large], source)
    return _validate_document(data, name, source)


def _validate_document(data: dict, name: str | None = None, source: str | None = None) -> Instance:
    try:
        inst = Instance.model_validate(data, context={"years": _years_context(data)})
    except ValidationError as err:
        raise InstanceError(_explain(err), source) from None
    problems = cross_checks(inst)
    if not problems:
        problems = tiny_coefficients(inst)
    if inst.scenarios is not None and not problems:
        problems = _scenario_checks(inst, data)
    if problems:
        raise InstanceError(problems, source)
    if inst.name is None:
        inst.name = name or "instance"
    return inst


# ---------------------------------------------------------------------------------------
# Size limits
# ---------------------------------------------------------------------------------------

#: The largest LP the planner builds: an instance whose estimate (:func:`estimate_size`)
#: is above either limit is refused before anything is built. At these sizes the model
#: takes a few GB of memory and minutes to build.
MAX_VARIABLES = 5_000_000
MAX_CONSTRAINTS = 5_000_000
#: Most values validated in all: a scenario instance validates the whole base once per case.
MAX_CASE_VALUES = 5_000_000


def count_nodes(data: Any, limit: int = MAX_NODES) -> int:
    """How many values (scalars, lists, mappings; keys included) ``data`` holds, shared
    parts counted each time they appear (a cycle once); counting stops just past ``limit``."""
    count, stack, on_path = 0, [(data, False)], set()
    while stack and count <= limit:
        value, leaving = stack.pop()
        if leaving:
            on_path.discard(id(value))
            continue
        count += 1
        if not isinstance(value, (dict, list, tuple, set, frozenset)) or id(value) in on_path:
            continue
        on_path.add(id(value))
        stack.append((value, True))
        if isinstance(value, dict):
            count += len(value)
            stack.extend((child, False) for child in value.values())
        else:
            stack.extend((child, False) for child in value)
    return count


def estimate_size(data: Any) -> dict[str, int]:
    """An upper estimate of the LP of a parsed instance document, from its sizes alone.

    Returns ``years``, ``providers``, ``workloads``, ``contracts`` (over all providers),
    ``builds`` (providers that build), ``uses`` (provider-workload pairs), ``cases`` and
    the estimated ``variables`` and ``constraints``: per case and year, one variable per
    contract, build, use and provider (its charge) plus cash and debt; one constraint per
    contract and build (``max_per_year``), eight per provider (reach, capacity, minimum
    capacity, two shares, decline, two for take-or-pay), two per workload (service floor
    and cap) and five for the year (cash balance, minimum cash, debt limit, peak, spare).
    Parts that are malformed count as empty (validation reports them).
    """
    data = data if isinstance(data, dict) else {}
    years = data.get("years")
    n_years = 0
    if isinstance(years, (list, tuple)) and len(years) == 2 and all(
        isinstance(y, int) and not isinstance(y, bool) for y in years
    ):
        n_years = max(0, min(years[1], 9999) - max(years[0], 1) + 1)
    workloads = data.get("workloads")
    n_workloads = len(workloads) if isinstance(workloads, dict) else 0
    providers = data.get("providers")
    providers = providers if isinstance(providers, dict) else {}
    contracts = builds = uses = 0
    for prov in providers.values():
        if not isinstance(prov, dict):
            continue
        if isinstance(prov.get("contracts"), dict):
            contracts += len(prov["contracts"])
        builds += prov.get("build") is not None
        listed = prov.get("workloads")
        uses += min(len(listed), n_workloads) if isinstance(listed, list) else n_workloads
    scenarios = data.get("scenarios")
    cases = scenarios.get("cases") if isinstance(scenarios, dict) else None
    n_cases = max(1, len(cases)) if isinstance(cases, dict) else 1
    n_providers = len(providers)
    per_year_vars = contracts + builds + uses + n_providers + 2
    per_year_cons = contracts + builds + 8 * n_providers + 2 * n_workloads + 5
    return {
        "years": n_years, "providers": n_providers, "workloads": n_workloads, "contracts": contracts,
        "builds": builds, "uses": uses, "cases": n_cases,
        "variables": n_cases * (n_years * per_year_vars + 2),
        "constraints": n_cases * n_years * per_year_cons,
    }


def _size_problem(data: dict) -> tuple[str, str] | None:
    """Why ``data`` is too large to validate or build, or None."""
    nodes = count_nodes(data)
    if nodes > MAX_NODES:
        return "", f"too large: the document holds more than {MAX_NODES:,} values; not read"
    size = estimate_size(data)
    sizes = (f"{size['years']:,} years x {size['providers']:,} providers x {size['workloads']:,} workloads"
             + (f" x {size['cases']:,} cases" if size["cases"] > 1 else "")
             + f", {size['contracts']:,} contracts")
    if size["variables"] > MAX_VARIABLES or size["constraints"] > MAX_CONSTRAINTS:
        return "", (f"too large: the LP would have about {size['variables']:,} variables and "
                    f"{size['constraints']:,} constraints ({sizes}); the limit is {MAX_VARIABLES:,} variables "
                    f"and {MAX_CONSTRAINTS:,} constraints")
    base = count_nodes({key: value for key, value in data.items() if key != "scenarios"})
    if size["cases"] > 1 and size["cases"] * base > MAX_CASE_VALUES:
        return "scenarios.cases", (f"too large: {size['cases']:,} cases x {base:,} values to validate is more "
                                   f"than {MAX_CASE_VALUES:,}")
    return None


#: What a mapping holds, by the name of the field (for "expected at least one ...").
_ENTRY_NOUN = {"workloads": "workload", "providers": "provider", "contracts": "contract"}


def _explain(err: ValidationError) -> list[tuple[str, str]]:
    """Turn pydantic's errors into ``(dotted path, what was expected)`` pairs, one per problem."""
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        kind = e["type"]
        value = e.get("input")
        if (loc and loc[-1] == "[key]") or kind == "invalid_key":
            # a mapping key that is not text (YAML reads `2025:` as a number, `yes:` as true):
            # name the mapping that holds it
            loc = loc[:-2] if loc and loc[-1] == "[key]" else loc[:-1]
            msg = f"expected names (text) as keys, got the key {describe(value)}; put it in quotes"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(loc)
            msg = "unknown key" + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
        elif kind == "missing":
            description = _field_description(loc)
            msg = "required field is missing" + (f" ({description})" if description else "")
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            msg = f"expected a mapping (key: value), got {describe(value)}"
        elif kind in ("list_type", "tuple_type"):
            msg = f"expected a list, got {describe(value)}"
        elif kind == "too_short" and isinstance(value, dict):
            noun = _ENTRY_NOUN.get(str(loc[-1]) if loc else "", "entry")
            msg = f"expected at least one {noun}, got none"
        elif kind == "string_type":
            msg = f"expected text, got {describe(value)}"
        elif kind == "bool_type":
            msg = f"expected true or false, got {describe(value)}"
        elif kind == "literal_error":
            msg = f"expected {e.get('ctx', {}).get('expected', 'one of the listed values')}, got {show(value)}"
        elif kind == "value_error":
            msg = e["msg"].removeprefix("Value error, ")
        else:
            msg = e["msg"]
            if not isinstance(value, (dict, list)):
                msg += f" (got {show(value)})"
        path = ".".join(str(part) for part in loc)
        problems.append((path, msg))
    return problems


def _field_description(loc: tuple) -> str | None:
    """The description of the field at ``loc`` (for "required field is missing")."""
    owner = _walk_type(tuple(loc[:-1]))
    if isinstance(owner, type) and issubclass(owner, BaseModel) and loc and str(loc[-1]) in owner.model_fields:
        return owner.model_fields[str(loc[-1])].description
    return None


def _unwrap(annotation):
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    if origin is dict:
        return _DictOf(_unwrap(typing.get_args(annotation)[1]))
    return annotation


class _DictOf:
    def __init__(self, value):
        self.value = value


def _walk_type(loc: tuple):
    model: Any = Instance
    i = 0
    while i < len(loc):
        if isinstance(model, _DictOf):
            model = model.value
            i += 1
            continue
        if isinstance(model, type) and issubclass(model, BaseModel) and str(loc[i]) in model.model_fields:
            model = _unwrap(model.model_fields[str(loc[i])].annotation)
            i += 1
            continue
        return None
    return model


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the model that owns the unknown key at ``loc``."""
    owner = _walk_type(tuple(loc[:-1]))
    if isinstance(owner, type) and issubclass(owner, BaseModel):
        return list(owner.model_fields)
    return []


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


def _duplicate_yaml_key(loader, node, path: tuple = (), seen: set | None = None) -> tuple[str, str] | None:
    """The first key given twice in one mapping of a composed YAML document, as a problem.

    Walks the node tree (each node once, so aliases and cycles cost nothing extra);
    keys brought in by a merge (``<<: *base``) may be overridden, as YAML allows.
    """
    seen = set() if seen is None else seen
    if id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_seen: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = _scalar_key(loader, key_node)
            if key is not None:
                if key in first_seen:
                    line1, line2 = first_seen[key], key_node.start_mark.line + 1
                    where = f"lines {line1} and {line2}" if line1 != line2 else f"twice on line {line1}"
                    if not path:
                        return str(key), f"given twice in the same mapping ({where})"
                    field = ".".join(str(p) for p in path)
                    return field, f"key {key!r} given twice in the same mapping ({where})"
                first_seen[key] = key_node.start_mark.line + 1
            found = _duplicate_yaml_key(loader, value_node, path + ((key if key is not None else "?"),), seen)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _duplicate_yaml_key(loader, item, path + (index,), seen)
            if found:
                return found
    return None


def _scalar_key(loader, node) -> Any:
    """A mapping key's value, for comparison (None for complex keys)."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    try:
        key = loader.construct_object(node)  # a scalar: constructed alone, cached for later
    except yaml.YAMLError:
        return node.value
    try:
        hash(key)
    except TypeError:
        return None
    return key


class _Pairs(dict):
    """A JSON object that remembers the keys it was given more than once."""

    repeated: list


def _keep_pairs(pairs):
    out = _Pairs()
    out.repeated = []
    for key, value in pairs:
        if key in out:
            out.repeated.append(key)
        out[key] = value
    return out


def _duplicate_json_key(value: Any, path: tuple = ()) -> tuple[str, str] | None:
    if isinstance(value, _Pairs) and value.repeated:
        key = value.repeated[0]
        if not path:
            return str(key), "given twice in the same object"
        return ".".join(str(p) for p in path), f"key {key!r} given twice in the same object"
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found = _duplicate_json_key(child, path + (key,))
        if found:
            return found
    return None


def _plain(value: Any) -> Any:
    """``value`` with every :class:`_Pairs` turned back into a plain dict."""
    if isinstance(value, dict):
        return {key: _plain(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_plain(child) for child in value]
    return value


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when installed: 50x faster
    """PyYAML's safe loader: plain data only (no ``!!python/...`` tags). A value that
    cannot be constructed (a date that does not exist, a number with thousands of
    digits) is a YAML error at its line instead of an exception from deep inside."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as err:
            value = node.value if isinstance(node.value, str) else ""
            reason = "a number with too many digits" if "digits" in str(err) else clip(str(err), 80)
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {show(value)}: {reason}", node.start_mark
            ) from None


# YAML 1.1 reads `010` as octal 8 and `1:30` as sexagesimal 90, and `1e308` (no dot, no
# sign in the exponent) as text. The loader reads numbers as YAML 1.2 does: a float may
# be written `1e308`; a number with a leading zero or a colon is refused as ambiguous.
_AMBIGUOUS_TAG = "tag:planner,2025:ambiguous-number"
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_AMBIGUOUS = re.compile(r"""^(?:[-+]?0[0-9_]+(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$""", re.X)


def _ambiguous_yaml_number(node, path: tuple = (), seen: set | None = None) -> tuple[str, str] | None:
    """The first plain scalar YAML 1.1 would read as an octal or sexagesimal number."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _AMBIGUOUS_TAG:
            field = ".".join(str(p) for p in path)
            return field, (f"{show(node.value)} (line {node.start_mark.line + 1}) is ambiguous: YAML 1.1 reads a "
                           "leading zero as octal and a colon as base 60; write a plain decimal number "
                           "(10, 90, 1.5), or put it in quotes if it is text")
        return None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            found = _ambiguous_yaml_number(key_node, path, seen)
            if found:
                return found
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            found = _ambiguous_yaml_number(value_node, path + (key,), seen)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _ambiguous_yaml_number(item, path + (index,), seen)
            if found:
                return found
    return None


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_AMBIGUOUS_TAG, _AMBIGUOUS, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?(?:0|[1-9][0-9_]*))$"),
    list("-+0123456789"),
)
_Loader.add_constructor(_AMBIGUOUS_TAG, lambda loader, node: loader.construct_scalar(node))


def _check_yaml_size(text: str) -> None:
    """Count the document's values from the parser's events, each alias at the size of
    what it stands for, and stop past :data:`MAX_NODES`: an alias bomb ("billion laughs")
    or a huge document fails after at most that many events, before anything is built."""
    events = _Loader(text)
    sizes: dict[str, int] = {}  # anchor -> size of the value it names, aliases expanded
    open_: list[list] = []  # the collections being read: [size so far, anchor]

    def add(size: int, event) -> None:
        running = open_[-1][0] + size if open_ else size
        if open_:
            open_[-1][0] = running
        if running > MAX_NODES:
            raise InstanceError([("", f"too large: the document holds more than {MAX_NODES:,} values "
                                      f"(aliases counted at their expanded size) by line "
                                      f"{event.start_mark.line + 1}; not read")])

    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor:
                    sizes[event.anchor] = 1
                add(1, event)
            elif isinstance(event, yaml.AliasEvent):
                add(sizes.get(event.anchor, 1), event)  # an anchor still open is a cycle: 1
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                open_.append([1, event.anchor])
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                size, anchor = open_.pop()
                if anchor:
                    sizes[anchor] = size
                add(size, event)
    finally:
        events.dispose()


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > 300:
        raise _JSONNumberError(text)
    return int(text)


class _JSONNumberError(ValueError):
    pass


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def parse_text(text: str, fmt: str = "yaml") -> Any:
    """Parse instance text (``fmt`` is ``yaml`` or ``json``); raise InstanceError if unreadable.

    A key given twice in one mapping is an error naming its dotted path.
    """
    if fmt == "json":
        try:
            data = json.loads(text, object_pairs_hook=_keep_pairs, parse_int=_json_int)
            duplicate = _duplicate_json_key(data)
            if duplicate:
                raise InstanceError([duplicate])
            return _plain(data)
        except json.JSONDecodeError as err:
            raise InstanceError([("", f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}")]) from None
        except _JSONNumberError as err:
            problem = f"not usable JSON: the number {show(str(err))} has more than 300 digits"
            raise InstanceError([("", problem)]) from None
        except RecursionError:
            raise InstanceError([("", "not usable JSON: nested too deeply")]) from None
    if not _encodable(text):
        raise InstanceError([("", "not valid text: it holds a lone surrogate (not UTF-8)")])
    try:
        _check_yaml_size(text)
    except yaml.YAMLError:
        pass  # reported with its line below, by the loader
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        duplicate = _duplicate_yaml_key(loader, node) or _ambiguous_yaml_number(node)
        if duplicate:
            raise InstanceError([duplicate])
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InstanceError([("", f"not valid YAML{where}: {problem}")]) from None
    except RecursionError:
        raise InstanceError([("", "not usable YAML: nested too deeply")]) from None
    finally:
        loader.dispose()


#: How long the loader waits for a named pipe that has no writer to get one and send data.
PIPE_WAIT_SECONDS = 5.0
_CHUNK = 1 << 16


def read_limited(path: Path) -> bytes | None:
    """The bytes of the file at ``path``, or None when it holds more than
    :data:`MAX_FILE_BYTES`; at most that many bytes plus one are ever read, whatever the
    kind of file (a regular file that grows, a pipe, ``/proc``).

    A device (``/dev/zero``, a terminal) is refused with an :class:`InstanceError`. The
    process's own standard input (``cat x.yaml | planner solve /dev/stdin``) is read until
    its writer closes it. Any other pipe is opened without blocking: when no writer sends
    data within :data:`PIPE_WAIT_SECONDS` it is refused instead of waited for forever."""
    info = os.stat(path)
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        raise InstanceError([("", "is a device, not an instance file; not read")])
    if stat.S_ISFIFO(info.st_mode):
        try:
            own = os.fstat(0)
        except OSError:
            own = None
        if own is not None and (own.st_dev, own.st_ino) == (info.st_dev, info.st_ino):
            return _read_fd(0, blocking=True)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            return _read_fd(fd, blocking=False)
        finally:
            os.close(fd)
    with open(path, "rb") as handle:
        return _read_fd(handle.fileno(), blocking=True)


def _read_fd(fd: int, blocking: bool) -> bytes | None:
    data = bytearray()
    deadline = time.monotonic() + PIPE_WAIT_SECONDS
    while len(data) <= MAX_FILE_BYTES:
        try:
            chunk = os.read(fd, min(_CHUNK, MAX_FILE_BYTES + 1 - len(data)))
        except BlockingIOError:  # a writer is connected and has nothing yet: wait for it
            select.select([fd], [], [], 1.0)
            continue
        if chunk:
            data += chunk
            continue
        if blocking or data:
            break
        # a pipe without a writer: one may still connect; wait a little, not forever
        if time.monotonic() > deadline:
            raise InstanceError([("", f"a pipe with no writer: nothing arrived within "
                                      f"{PIPE_WAIT_SECONDS:g} seconds; not read")])
        time.sleep(0.05)
    return None if len(data) > MAX_FILE_BYTES else bytes(data)


def load_instance(source: str | Path | dict) -> Instance:
    """Load and validate an instance from a file path (YAML or JSON) or a parsed mapping.

    Raises :class:`InstanceError` with the file name and the path of each problem.
    """
    if isinstance(source, dict):
        return validate_instance(source)
    return load_document(Path(source)).instance


@dataclass(frozen=True)
class Document:
    """An instance file read once: its text, the parsed data (with ``name``: the given one
    or the file's stem) and the validated :class:`Instance`."""

    text: str
    data: dict
    instance: Instance


def load_document(path: Path) -> Document:
    """Read the instance file at ``path`` once (within the limits of :func:`read_limited`),
    parse and validate it. Raises :class:`InstanceError` naming the file and fields."""
    path = Path(path)
    label = str(path)
    try:
        if not path.exists():
            raise InstanceError([("", "no such file")], label)
        if path.is_dir():
            raise InstanceError([("", "is a folder, not an instance file")], label)
        raw = read_limited(path)
        if raw is None:
            raise InstanceError([("", f"larger than {MAX_FILE_BYTES} bytes; not read")], label)
        text = raw.decode("utf-8-sig")  # a byte order mark is not part of the text
    except InstanceError as err:
        raise InstanceError(err.problems, label) from None
    except UnicodeDecodeError:
        raise InstanceError([("", "not a text file (not UTF-8)")], label) from None
    except OSError as err:
        raise InstanceError([("", f"cannot be read: {err.strerror or err}")], label) from None
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    try:
        data = parse_text(text, fmt)
        inst = validate_instance(data, name=path.stem, source=label)
    except InstanceError as err:
        err.source = label
        raise InstanceError(err.problems, label) from None
    return Document(text, {**data, "name": inst.name}, inst)


def instance_json_schema() -> dict:
    """The JSON Schema of the instance format, for editors."""
    schema = Instance.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "planner instance (MODEL.md §1)"
    return schema
