"""Reading hook mappings: the same safe YAML loader as blueprints, then the core's checks, every problem located.

Not here: what a mapping means (``core.hook_mapping``).
"""

from __future__ import annotations

from dataclasses import replace

from onboarding.adapters.blueprint_files import load_yaml
from onboarding.core.hook_mapping import HookMapping, check_mapping
from onboarding.errors import BlueprintInvalid, HookMappingInvalid, Problem

MAX_MAPPING_BYTES = 256 * 1024


class YamlMappings:
    """Hook mappings from YAML text (the real ``MappingReader``)."""

    def parse(self, text: str, *, source: str) -> HookMapping:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_MAPPING_BYTES:
            problem = Problem(
                "file-too-large",
                f"the mapping is {size:,} bytes; the limit is {MAX_MAPPING_BYTES:,}",
                hint="a mapping names a few fields: keep it short",
            )
            raise HookMappingInvalid(source, (problem,))
        try:
            document = load_yaml(text, source=source)
        except BlueprintInvalid as error:  # what stops reading: syntax, refused tags, alias bombs
            raise HookMappingInvalid(source, tuple(map(_for_mappings, error.problems))) from None
        try:
            mapping = check_mapping(document.data)
        except HookMappingInvalid as error:
            raise HookMappingInvalid(source, document.problems + tuple(map(document.locate, error.problems))) from None
        if document.problems:
            raise HookMappingInvalid(source, document.problems)
        return mapping


def _for_mappings(problem: Problem) -> Problem:
    """A problem of reading YAML, its hint about mappings rather than blueprints."""
    if problem.code == "yaml-not-mapping":
        return replace(problem, hint="a mapping has blueprint:, customer:, kickoff:, external_id: and bindings:")
    return problem
