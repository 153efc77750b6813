"""Just enough Bicep reading for the infra tests (stdlib only; the real parser lives in infra/check.sh).

Strings and comments are masked (replaced by spaces, same length) before braces are counted, so a
``{`` inside ``'${name}'`` or a comment never unbalances a block; positions still map to the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def mask(text: str, *, strings: bool = True) -> str:
    """``text`` with comments and (unless ``strings`` is false) string literals blanked out."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif text.startswith("'''", i):
            j = text.find("'''", i + 3)
            j = n if j < 0 else j + 3
            if strings:
                blank(i + 1, j - 1)
            i = j
        elif text[i] == "'":
            j = i + 1
            while j < n and text[j] != "'":
                if text[j] == "\\":
                    j += 2
                elif text.startswith("${", j):
                    depth, j = 1, j + 2
                    while j < n and depth:
                        depth += {"{": 1, "}": -1}.get(text[j], 0)
                        j += 1
                else:
                    j += 1
            if strings:
                blank(i + 1, j)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def without_comments(text: str) -> str:
    """``text`` with ``//`` and ``/* */`` comments blanked out (strings kept)."""
    return mask(text, strings=False)


@dataclass(frozen=True)
class Block:
    """A ``{ ... }`` or ``[ ... ]`` span of a file: ``start`` is the opening bracket."""

    text: str
    masked: str
    start: int
    end: int  # index just past the closing bracket

    @property
    def body(self) -> str:
        return self.text[self.start : self.end]

    def top_level_keys(self) -> list[str]:
        """Keys of an object block, at its own level only (nested objects are not looked into)."""
        keys: list[str] = []
        depth = 0
        line_start = True
        i = self.start
        while i < self.end:
            ch = self.masked[i]
            if ch in "{[(":
                depth += 1
            elif ch in "}])":
                depth -= 1
            elif ch == "\n":
                line_start = True
                i += 1
                continue
            elif line_start and not ch.isspace() and depth == 1:
                match = re.match(r"'?([A-Za-z_][\w.-]*)'?\s*:", self.text[i : self.end])
                if match:
                    keys.append(match.group(1))
            if not ch.isspace():
                line_start = False
            i += 1
        return keys


def block_after(text: str, pattern: str, *, masked: str | None = None) -> Block:
    """The bracketed block that follows the first match of ``pattern`` (a regex)."""
    masked = mask(text) if masked is None else masked
    match = re.search(pattern, masked, re.MULTILINE)
    if match is None:
        raise AssertionError(f"pattern not found: {pattern}")
    opening = min(p for p in (masked.find("{", match.end()), masked.find("[", match.end())) if p >= 0)
    pairs = {"{": "}", "[": "]"}
    stack: list[str] = []
    for i in range(opening, len(masked)):
        ch = masked[i]
        if ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return Block(text, masked, opening, i + 1)
    raise AssertionError(f"unbalanced block after: {pattern}")


def params(text: str) -> dict[str, bool]:
    """``param`` name -> whether it has a default value."""
    found: dict[str, bool] = {}
    for match in re.finditer(r"^param\s+(\w+)\s+[\w.]+(\s*=)?", mask(text), re.MULTILINE):
        found[match.group(1)] = bool(match.group(2))
    return found


def outputs(text: str) -> set[str]:
    return set(re.findall(r"^output\s+(\w+)\s", mask(text), re.MULTILINE))


@dataclass(frozen=True)
class ModuleUse:
    symbol: str
    source: str
    params: list[str]


def modules(text: str) -> list[ModuleUse]:
    """Every ``module sym 'source' = {...}`` with the keys of its ``params`` block."""
    masked = mask(text)
    uses = []
    for match in re.finditer(r"^module\s+(\w+)\s+'([^']+)'", text, re.MULTILINE):
        body = block_after(text, rf"^module\s+{match.group(1)}\s", masked=masked)
        inner_masked = masked[body.start : body.end]
        keys: list[str] = []
        if re.search(r"^\s*params\s*:", inner_masked, re.MULTILINE):
            relative = block_after(body.body, r"^\s*params\s*:", masked=inner_masked)
            keys = relative.top_level_keys()
        uses.append(ModuleUse(match.group(1), match.group(2), keys))
    return uses


def resources(text: str, type_prefix: str) -> list[tuple[str, int]]:
    """``(symbol, line number)`` of every resource whose type starts with ``type_prefix``."""
    found = []
    for match in re.finditer(rf"^resource\s+(\w+)\s+'{re.escape(type_prefix)}[^']*'", text, re.MULTILINE):
        found.append((match.group(1), text.count("\n", 0, match.start()) + 1))
    return found
