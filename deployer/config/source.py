"""``deployer.yaml`` as written: the YAML document, where each key and list item sits (line and
column, for the problems ``config check`` lists), and keys set twice in one mapping, which YAML
loaders otherwise resolve silently in favour of the last."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from deployer.config.reading import key_step

#: ``agents[0].promote_to.agent`` → ``agents[0].promote_to``: the field one level up.
_LAST_STEP = re.compile(r"(?:\.[^.\[]*|\[\d+\])$")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Source:
    """The document read from the file, the position of every field, and the keys set twice."""

    document: object
    #: ``agents[0].name`` → (line, column), both counted from 1, as editors show them.
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: ``agents[1].repository: set twice (lines 10 and 11)`` for each repeated key.
    duplicates: list[str] = field(default_factory=list)

    def locate(self, where: str) -> tuple[int, int] | None:
        """Where the field ``where`` is written, else the nearest enclosing one that is (a
        missing field is reported at the mapping that lacks it)."""
        while where:
            if where in self.positions:
                return self.positions[where]
            shorter = _LAST_STEP.sub("", where)
            if shorter == where:
                return None
            where = shorter
        return None


def read_source(text: str) -> Source:
    """Parse ``text`` (raises ``yaml.YAMLError`` when it is not YAML)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        source = Source(document=None)
        if node is not None:
            _walk(node, "", source, loader.construct_object)
            # construct after the walk: constructing merges ``<<`` keys into the node in place
            source = Source(loader.construct_document(node), source.positions, source.duplicates)
        return source
    finally:
        loader.dispose()


def _walk(node: yaml.Node, where: str, source: Source, construct: Callable[[yaml.Node], object]) -> None:
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk_at(item, item, f"{where}[{i}]", source, construct)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.tag == _MERGE_TAG or not isinstance(key, yaml.ScalarNode):
                continue
            if key.tag != _STR_TAG:
                path = where + key_step(construct(key))
            else:
                path = f"{where}.{key.value}" if where else str(key.value)
            if path in source.positions:
                first = source.positions[path][0]
                line = key.start_mark.line + 1
                source.duplicates.append(f"{path}: set twice (lines {first} and {line}); keep one")
                continue
            _walk_at(key, value, path, source, construct)


def _walk_at(
    mark: yaml.Node, node: yaml.Node, path: str, source: Source, construct: Callable[[yaml.Node], object]
) -> None:
    source.positions[path] = (mark.start_mark.line + 1, mark.start_mark.column + 1)
    _walk(node, path, source, construct)
