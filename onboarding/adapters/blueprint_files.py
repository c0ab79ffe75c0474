"""Reading blueprint files: safe YAML with positions, then the core's checks.

The loader composes YAML with the C parser when it is there, then builds plain
Python values itself so that it can refuse what ``yaml.safe_load`` lets through
or never sees: repeated keys in a mapping (PyYAML keeps the last one silently),
object and other non-data tags, aliases that expand beyond reason (the "billion
laughs"), and files over a size limit. Every problem, from the YAML or from the
core's checks, gets the file, line and column of the node it concerns.

Not here: what a valid blueprint means (``core/checks.py``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from onboarding.core.checks import check_blueprint
from onboarding.errors import BlueprintInvalid, Loc, Problem, ProblemsError
from onboarding.services.ports import LoadedBlueprint

try:
    Composer: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    Composer = yaml.SafeLoader

DEFAULT_MAX_BYTES = 16 * 1024 * 1024

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_SCALARS = SafeConstructor()


@dataclass(frozen=True)
class YamlDocument:
    """Plain values of a YAML document, with its node tree kept for positions."""

    source: str
    data: Any
    root: Node

    def locate(self, problem: Problem) -> Problem:
        """The problem with line, column and a readable path filled in from the node tree."""
        node, display = _walk(self.root, problem.loc, to_key=problem.code == "unknown-field")
        mark = node.start_mark
        return replace(problem, line=mark.line + 1, column=mark.column + 1, loc=display)


class FileBlueprints:
    """Blueprints read from files (the real ``BlueprintSource``)."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def load(self, ref: str) -> LoadedBlueprint:
        return read_blueprint(Path(ref), max_bytes=self.max_bytes)


class InMemoryBlueprints:
    """Blueprints held as text under names (the in-memory twin, for tests)."""

    def __init__(self, texts: dict[str, str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.texts = dict(texts)
        self.max_bytes = max_bytes

    def load(self, ref: str) -> LoadedBlueprint:
        if ref not in self.texts:
            raise _single(ref, "file-not-found", "no such blueprint", f"known: {', '.join(sorted(self.texts))}")
        return parse_blueprint_text(self.texts[ref], source=ref, max_bytes=self.max_bytes)


def read_blueprint(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedBlueprint:
    """Read, parse and check a blueprint file; raise BlueprintInvalid listing every problem."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _single(
                source,
                "file-too-large",
                f"the file is {size:,} bytes; the limit is {max_bytes:,}",
                "split the blueprint or raise ONBOARDING_MAX_BLUEPRINT_BYTES",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _single(source, "file-not-found", "no such file", "check the path") from None
    except IsADirectoryError:
        raise _single(source, "file-not-found", "this is a folder, not a file", "name a .yaml file") from None
    except PermissionError:
        raise _single(
            source, "file-not-found", "the file cannot be read (permission denied)", "check the file's permissions"
        ) from None
    return parse_blueprint_text(raw, source=source, max_bytes=max_bytes)


def parse_blueprint_text(raw: bytes | str, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedBlueprint:
    """Parse and check blueprint text; raise BlueprintInvalid listing every problem."""
    if len(raw) > max_bytes:
        raise _single(
            source,
            "file-too-large",
            f"the text is {len(raw):,} bytes; the limit is {max_bytes:,}",
            "split the blueprint or raise ONBOARDING_MAX_BLUEPRINT_BYTES",
        )
    document = load_yaml(raw, source=source)
    try:
        blueprint = check_blueprint(document.data)
    except ProblemsError as exc:
        raise BlueprintInvalid(source, tuple(document.locate(p) for p in exc.problems)) from None
    return LoadedBlueprint(source=source, blueprint=blueprint)


def load_yaml(raw: bytes | str, *, source: str) -> YamlDocument:
    """Compose YAML safely and build plain values; raise BlueprintInvalid on any YAML problem."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _single(source, "not-utf8", f"byte {exc.start} is not UTF-8", "save the file as UTF-8") from None
    else:
        text = raw
    try:
        with _collector_paused():
            root = yaml.compose(text, Loader=Composer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = Problem(
            code="yaml-syntax",
            message=f"{exc.problem or exc.context}" + (f" ({exc.context})" if exc.context and exc.problem else ""),
            hint="fix the YAML syntax near this position (indentation, a missing ':' or an unclosed quote)",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
        raise BlueprintInvalid(source, (problem,)) from None
    except yaml.YAMLError as exc:
        raise _single(source, "yaml-syntax", str(exc), "fix the YAML syntax") from None
    if root is None:
        raise _single(source, "yaml-not-mapping", "the file is empty", "start from a file in blueprints/")
    if not isinstance(root, MappingNode):
        raise BlueprintInvalid(
            source,
            (
                _at(
                    root,
                    "yaml-not-mapping",
                    "the document is not a mapping",
                    "a blueprint starts with 'key:', 'version:', 'title:'",
                ),
            ),
        )
    builder = _Builder(source)
    builder.check_expansion(root)
    with _collector_paused():
        data = builder.build(root)
    if builder.problems:
        raise BlueprintInvalid(source, tuple(builder.problems))
    return YamlDocument(source=source, data=data, root=root)


class _Builder:
    """Builds plain values from nodes, collecting problems instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def check_expansion(self, root: Node) -> None:
        """Refuse documents whose aliases expand far beyond their written size."""
        sizes: dict[int, int] = {}
        distinct = 0

        def size(node: Node) -> int:
            nonlocal distinct
            known = sizes.get(id(node))
            if known is not None:
                return known
            distinct += 1
            total = 1
            if isinstance(node, SequenceNode):
                total += sum(size(item) for item in node.value)
            elif isinstance(node, MappingNode):
                total += sum(size(k) + size(v) for k, v in node.value)
            sizes[id(node)] = total
            return total

        expanded = size(root)
        limit = 10 * distinct + 10_000
        if expanded > limit:
            raise BlueprintInvalid(
                self.source,
                (
                    _at(
                        root,
                        "yaml-alias-bomb",
                        f"aliases expand {distinct:,} written nodes into {expanded:,}; the limit is {limit:,}",
                        "write the repeated parts out, or use fewer nested aliases",
                    ),
                ),
            )

    def build(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            if node.tag == _STR:
                return node.value
            if node.tag in _SCALAR_TAGS:
                return _SCALARS.construct_object(node)
            return self._unsafe(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                return self._unsafe(node)
            return [self.build(item) for item in node.value]
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                return self._unsafe(node)
            return self._mapping(node)
        return self._unsafe(node)  # pragma: no cover - no other node kinds

    def _mapping(self, node: MappingNode) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        seen: dict[Any, Node] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self._merge_source(value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    _at(key_node, "wrong-type", "a mapping key must be a plain word", "use a name such as 'title'")
                )
                continue
            key = self.build(key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if key in seen:
                first = seen[key].start_mark
                self.problems.append(
                    _at(
                        key_node,
                        "yaml-duplicate-key",
                        f"key {key!r} appears twice in this mapping",
                        f"remove one; the first is at line {first.line + 1} col {first.column + 1}",
                    )
                )
                continue
            seen[key] = key_node
            out[key] = self.build(value_node)
        for key, value in merged.items():
            out.setdefault(key, value)
        return out

    def _merge_source(self, node: Node) -> dict[Any, Any]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for item in sources:
            if not isinstance(item, MappingNode):
                self.problems.append(_at(item, "wrong-type", "'<<' merges mappings only", "merge a mapping alias"))
                continue
            for key, value in self._mapping(item).items():
                merged.setdefault(key, value)
        return merged

    def _unsafe(self, node: Node) -> None:
        self.problems.append(
            _at(
                node,
                "yaml-unsafe-tag",
                f"the tag {node.tag} is not allowed in a blueprint",
                "remove the tag; blueprints hold plain text, numbers, dates, lists and mappings",
            )
        )


def _walk(root: Node, loc: Loc, *, to_key: bool = False) -> tuple[Node, Loc]:
    """The node a path points at (or its nearest ancestor), and the path with item keys for indexes.

    ``to_key`` points at the last mapping key rather than its value (an unknown field).
    Pydantic's ``[key]`` part (a bad mapping key) does the same for the part before it.
    """
    node = root
    display: list[str | int] = []
    parts = list(loc)
    for i, part in enumerate(parts):
        if part == "[key]":
            break
        if isinstance(node, MappingNode):
            entry = _entry(node, part)
            if entry is None:
                if part == _scalar_of(node, "kind"):  # pydantic names the union member it tried
                    continue
                display.append(part)
                break
            display.append(part)
            last = i == len(parts) - 1
            at_key = (to_key and last) or (i + 1 < len(parts) and parts[i + 1] == "[key]")
            node = entry[0] if at_key else entry[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            key = _scalar_of(node, "key") if isinstance(node, MappingNode) else None
            if key is not None and display and isinstance(display[-1], str):
                display[-1] = f"{display[-1]}.{key}"
            else:
                display.append(part)
        else:
            display.append(part)
            break
    return node, tuple(display)


def _entry(node: MappingNode, part: object) -> tuple[Node, Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == str(part):
            return key_node, value_node
    return None


def _scalar_of(node: MappingNode, field: str) -> str | None:
    entry = _entry(node, field)
    if entry is not None and isinstance(entry[1], ScalarNode):
        return str(entry[1].value)
    return None


def _at(node: Node, code: str, message: str, hint: str) -> Problem:
    mark = node.start_mark
    return Problem(code=code, message=message, hint=hint, line=mark.line + 1, column=mark.column + 1)


def _single(source: str, code: str, message: str, hint: str) -> BlueprintInvalid:
    return BlueprintInvalid(source, (Problem(code=code, message=message, hint=hint),))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Building many small objects at once triggers the cyclic collector for nothing; pause it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
