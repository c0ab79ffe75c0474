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

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from onboarding.core.checks import check_and_compile
from onboarding.errors import BlueprintInvalid, Loc, Problem, ProblemsError
from onboarding.services.ports import LoadedBlueprint

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when libyaml is there


class Composer(_Base):  # type: ignore[misc]
    """The safe loader's parser and resolver, tuned for composing large blueprints.

    Implicit tags are resolved by the same YAML 1.1 rules as ``yaml.safe_load``;
    results are remembered per document, since blueprints repeat the same plain
    values (role names, dependency types, small numbers) thousands of times. Path
    resolvers are never registered, so their per-node hooks are skipped.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and len(value) <= 64:
            key = (value, implicit)
            tag = self._resolved.get(key)
            if tag is None:
                tag = self._resolved[key] = super().resolve(kind, value, implicit)
            return tag
        return str(super().resolve(kind, value, implicit))

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


DEFAULT_MAX_BYTES = 16 * 1024 * 1024

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
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
    problems: tuple[Problem, ...] = ()  # repeated keys: reported, the first value kept, reading goes on

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

    def parse(self, text: str, *, source: str) -> LoadedBlueprint:
        return parse_blueprint_text(text, source=source, max_bytes=self.max_bytes)


class InMemoryBlueprints:
    """Blueprints held as text under names (the in-memory twin, for tests)."""

    def __init__(self, texts: dict[str, str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.texts = dict(texts)
        self.max_bytes = max_bytes

    def load(self, ref: str) -> LoadedBlueprint:
        if ref not in self.texts:
            raise _single(ref, "file-not-found", "no such blueprint", f"known: {', '.join(sorted(self.texts))}")
        return parse_blueprint_text(self.texts[ref], source=ref, max_bytes=self.max_bytes)

    def parse(self, text: str, *, source: str) -> LoadedBlueprint:
        return parse_blueprint_text(text, source=source, max_bytes=self.max_bytes)


def read_blueprint(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedBlueprint:
    """Read, parse and check a blueprint file; raise BlueprintInvalid listing every problem."""
    source = str(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(source)
        size = path.stat().st_size
        raw = b""
        if size <= max_bytes:
            with path.open("rb") as file:  # one byte past the limit at most: a device or a pipe tells no size first
                raw = file.read(max_bytes + 1)
        if size > max_bytes or len(raw) > max_bytes:
            raise _single(
                source,
                "file-too-large",
                f"the file is {size:,} bytes; the limit is {max_bytes:,}"
                if size > max_bytes
                else f"the file goes on past the limit of {max_bytes:,} bytes",
                "split the blueprint or raise ONBOARDING_MAX_BLUEPRINT_BYTES",
            )
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
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise _single(
            source,
            "file-too-large",
            f"the text is {size:,} bytes; the limit is {max_bytes:,}",
            "split the blueprint or raise ONBOARDING_MAX_BLUEPRINT_BYTES",
        )
    document = load_yaml(raw, source=source)
    try:
        blueprint, graph = check_and_compile(document.data)
    except ProblemsError as exc:
        located = tuple(document.locate(p) for p in exc.problems)
        raise BlueprintInvalid(source, document.problems + located) from None
    if document.problems:
        raise BlueprintInvalid(source, document.problems)
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    return LoadedBlueprint(source=source, blueprint=blueprint, graph=graph, locate=document.locate, text=text)


def load_yaml(raw: bytes | str, *, source: str) -> YamlDocument:
    """Compose YAML safely and build plain values.

    Raises BlueprintInvalid for what stops reading (syntax, encoding, refused tags,
    alias bombs); repeated keys are kept in ``problems`` so the checks can go on.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _single(source, "not-utf8", f"byte {exc.start} is not UTF-8", "save the file as UTF-8") from None
    else:
        text = raw
    try:
        root = yaml.compose(text, Loader=Composer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        opened = exc.context_mark
        context = exc.context or ""
        if opened is not None and exc.problem_mark is not None and opened.line != exc.problem_mark.line:
            context += f" opened at line {opened.line + 1} col {opened.column + 1}"
        problem = Problem(
            code="yaml-syntax",
            message=f"{exc.problem or exc.context}" + (f" ({context})" if context and exc.problem else ""),
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
    if "&" in text:  # without an anchor there is no alias to expand
        builder.check_expansion(root)
    data = builder.build(root)
    problems = tuple(builder.problems)
    if any(p.code != "yaml-duplicate-key" for p in problems):
        raise BlueprintInvalid(source, problems)  # tags the loader refuses: read nothing further
    return YamlDocument(source=source, data=data, root=root, problems=problems)


class _Builder:
    """Builds plain values from nodes, collecting problems instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def check_expansion(self, root: Node) -> None:
        """Refuse documents whose aliases expand far beyond their written size."""
        sizes: dict[int, int] = {}
        inside: set[int] = set()  # the nodes being sized: an alias to one of them is a loop
        distinct = 0

        def size(node: Node) -> int:
            nonlocal distinct
            known = sizes.get(id(node))
            if known is not None:
                return known
            if id(node) in inside:
                raise BlueprintInvalid(
                    self.source,
                    (
                        _at(
                            node,
                            "yaml-alias-bomb",
                            "an alias refers to the node that holds it: it would expand without end",
                            "write the repeated part out instead of the alias",
                        ),
                    ),
                )
            inside.add(id(node))
            distinct += 1
            total = 1
            if isinstance(node, SequenceNode):
                total += sum(size(item) for item in node.value)
            elif isinstance(node, MappingNode):
                total += sum(size(k) + size(v) for k, v in node.value)
            inside.discard(id(node))
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
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _MAP and isinstance(node, MappingNode):
            return self._mapping(node)
        if tag == _SEQ and isinstance(node, SequenceNode):
            return [self.build(item) for item in node.value]
        if tag == _INT and isinstance(node, ScalarNode) and node.value.isascii() and node.value.isdigit():
            return int(node.value)  # plain decimal; other spellings (0x1f, 1_000, 0o7) go below
        if tag in _SCALAR_TAGS and isinstance(node, ScalarNode):
            return _SCALARS.construct_object(node)
        return self._unsafe(node)

    def _mapping(self, node: MappingNode) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] | None = None
        build = self.build
        for key_node, value_node in node.value:
            tag = key_node.tag
            if tag == _STR:
                key = key_node.value
            elif tag == _MERGE:
                merged = {**self._merge_source(value_node), **(merged or {})}
                continue
            elif isinstance(key_node, ScalarNode):
                key = build(key_node)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    key = str(key)
            else:
                self.problems.append(
                    _at(key_node, "wrong-type", "a mapping key must be a plain word", "use a name such as 'title'")
                )
                continue
            if key in out:
                self._duplicate(node, key_node, key)
                continue
            out[key] = build(value_node)
        if merged:
            for key, value in merged.items():
                out.setdefault(key, value)
        return out

    def _duplicate(self, node: MappingNode, key_node: Node, key: Any) -> None:
        first = next(k for k, _ in node.value if isinstance(k, ScalarNode) and k.value == key_node.value).start_mark
        self.problems.append(
            _at(
                key_node,
                "yaml-duplicate-key",
                f"key {key!r} appears twice in this mapping",
                f"remove one; the first is at line {first.line + 1} col {first.column + 1}",
            )
        )

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
