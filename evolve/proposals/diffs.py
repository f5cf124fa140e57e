"""SEARCH/REPLACE edit blocks: parse them from an LLM answer and apply them to a program.

A mutator (LLM or offline) answers with one or more blocks::

    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE

or with a whole program in a ```python fence (a *full rewrite*). Only the lines between
``# EVOLVE-BLOCK-START`` and ``# EVOLVE-BLOCK-END`` may change; the marker lines themselves
never change. Every block that cannot be applied is reported as an :class:`EditFailure`
(with a reason readable by the next mutator prompt), never skipped silently.

Matching of a SEARCH text, first level that finds anything wins:

1. exact lines;
2. ignoring trailing whitespace;
3. additionally ignoring blank lines (in SEARCH and in the program);
4. additionally ignoring a common indentation: the SEARCH lines, dedented, equal the
   program lines dedented by their own common indent (relative indentation must agree);
   the REPLACE text is then re-indented to the indentation found in the program.

A SEARCH must match exactly one place at the first level where it matches at all.
SEARCH and REPLACE may include unchanged context lines outside an EVOLVE-BLOCK (marker
lines included): only the lines that actually change (after trimming the lines common to
both ends) must lie inside one region.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "EVOLVE_START",
    "EVOLVE_END",
    "DiffError",
    "EvolveBlockError",
    "EditBlock",
    "EditFailure",
    "ApplyResult",
    "parse_blocks",
    "parse_full_rewrite",
    "apply_edits",
    "check_full_rewrite",
    "evolve_regions",
    "unified_diff",
    "format_blocks",
]

EVOLVE_START = "# EVOLVE-BLOCK-START"
EVOLVE_END = "# EVOLVE-BLOCK-END"

_START_RE = re.compile(r"^\s*#\s*EVOLVE-BLOCK-START\b")
_END_RE = re.compile(r"^\s*#\s*EVOLVE-BLOCK-END\b")
_MARKER_RE = re.compile(r"#\s*EVOLVE-BLOCK-(?:START|END)\b")

_SEARCH_RE = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER_RE = re.compile(r"^\s*={5,9}\s*$")
_REPLACE_RE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE_RE = re.compile(r"^\s*```")
_FENCED_RE = re.compile(r"^```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)

_HEAD_CHARS = 80


class DiffError(ValueError):
    """An answer or an edit cannot be used at all (no blocks, malformed block, bad markers)."""


class EvolveBlockError(DiffError):
    """The program's EVOLVE-BLOCK markers are missing or unbalanced."""


@dataclass(frozen=True)
class EditBlock:
    """One SEARCH/REPLACE pair: each side is its lines joined by "\\n" (no trailing newline;
    a trailing "\\n" means a last blank line, tolerated when matching)."""

    search: str
    replace: str


@dataclass(frozen=True)
class EditFailure:
    """A block that was not applied.

    ``index`` is the 0-based position of the block in the answer (the sequence given to
    :func:`apply_edits`); ``reason`` is one line fit for feedback to a mutator (it counts
    blocks from 1, as a reader does); ``search_head`` is the start of the SEARCH text.
    """

    index: int
    reason: str
    search_head: str

    def __str__(self) -> str:
        return f"block {self.index + 1}: {self.reason} (SEARCH starts {self.search_head!r})"


@dataclass(frozen=True)
class ApplyResult:
    """Outcome of :func:`apply_edits`: the new ``code``, how many blocks were ``applied``
    and one :class:`EditFailure` per block that was not."""

    code: str
    applied: int
    failures: list[EditFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when at least one block applied and none failed."""
        return self.applied > 0 and not self.failures


# --------------------------------------------------------------------------- parsing


def parse_blocks(text: str) -> list[EditBlock]:
    """Parse every SEARCH/REPLACE block in an LLM answer.

    Prose and ``` fences around the blocks are ignored; markers may use 5 to 9 ``<``,
    ``=`` or ``>`` characters. A fence line directly after the SEARCH marker or directly
    before the REPLACE marker is dropped (some models fence the inside of a block).

    Raises :class:`DiffError` when no block is found or a block is not terminated.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[EditBlock] = []
    i = 0
    while i < len(lines):
        if not _SEARCH_RE.match(lines[i]):
            i += 1
            continue
        start_line = i + 1
        j = i + 1
        search: list[str] = []
        while j < len(lines) and not _DIVIDER_RE.match(lines[j]):
            if _SEARCH_RE.match(lines[j]) or _REPLACE_RE.match(lines[j]):
                raise DiffError(
                    f"block {len(blocks) + 1} (answer line {start_line}): SEARCH without ======= divider"
                )
            search.append(lines[j])
            j += 1
        if j >= len(lines):
            raise DiffError(
                f"block {len(blocks) + 1} (answer line {start_line}): SEARCH without ======= divider"
            )
        k = j + 1
        replace: list[str] = []
        while k < len(lines) and not _REPLACE_RE.match(lines[k]):
            if _SEARCH_RE.match(lines[k]):
                break
            replace.append(lines[k])
            k += 1
        if k >= len(lines) or not _REPLACE_RE.match(lines[k]):
            raise DiffError(
                f"block {len(blocks) + 1} (answer line {start_line}): no >>>>>>> REPLACE after the divider"
            )
        if search and _FENCE_RE.match(search[0]):
            search = search[1:]
        if replace and _FENCE_RE.match(replace[-1]):
            replace = replace[:-1]
        blocks.append(EditBlock(search="\n".join(search), replace="\n".join(replace)))
        i = k + 1
    if not blocks:
        raise DiffError("no SEARCH/REPLACE blocks found in the answer")
    return blocks


def parse_full_rewrite(text: str) -> str | None:
    """Return the program of a full-rewrite answer, or None.

    Takes the longest fenced block tagged ``python``/``py``/``python3``; failing that, the
    longest untagged fenced block that defines ``generate``. Fences holding SEARCH/REPLACE
    markers are not programs. The returned code ends with a newline.
    """
    text = text.replace("\r\n", "\n")
    tagged: list[str] = []
    untagged: list[str] = []
    for m in _FENCED_RE.finditer(text):
        lang = m.group(1).lower()
        body = m.group(2)
        if any(_SEARCH_RE.match(ln) for ln in body.split("\n")):
            continue  # SEARCH/REPLACE blocks in a fence, not a program
        if lang in ("python", "py", "python3"):
            tagged.append(body)
        elif not lang and "def generate" in body:
            untagged.append(body)
    pool = tagged or untagged
    if not pool:
        return None
    best = max(pool, key=len)
    if not best.strip():
        return None
    return best if best.endswith("\n") else best + "\n"


def format_blocks(blocks: Sequence[EditBlock]) -> str:
    """Render blocks as SEARCH/REPLACE text (7-character markers), separated by blank lines."""
    out = []
    for b in blocks:
        parts = ["<<<<<<< SEARCH"]
        if b.search:
            parts.append(b.search)
        parts.append("=======")
        if b.replace:
            parts.append(b.replace)
        parts.append(">>>>>>> REPLACE")
        out.append("\n".join(parts))
    return "\n\n".join(out) + ("\n" if out else "")


def unified_diff(a: str, b: str, *, a_name: str = "parent", b_name: str = "child", context: int = 3) -> str:
    """Unified diff of two programs as one string ("" when they are equal)."""
    return "".join(
        difflib.unified_diff(
            a.splitlines(keepends=True),
            b.splitlines(keepends=True),
            fromfile=a_name,
            tofile=b_name,
            n=context,
        )
    )


# --------------------------------------------------------------------------- regions


def evolve_regions(code: str) -> list[tuple[int, int]]:
    """Line numbers (1-based) of each ``(START marker, END marker)`` pair, in order.

    The editable lines of a region are ``start + 1 .. end - 1``. Raises
    :class:`EvolveBlockError` when there is no marker, a START is not closed, an END has
    no START, or blocks are nested.
    """
    regions: list[tuple[int, int]] = []
    open_at: int | None = None
    for n, line in enumerate(code.split("\n"), start=1):
        if _START_RE.match(line):
            if open_at is not None:
                raise EvolveBlockError(
                    f"nested EVOLVE-BLOCK-START at line {n} (block opened at line {open_at})"
                )
            open_at = n
        elif _END_RE.match(line):
            if open_at is None:
                raise EvolveBlockError(f"EVOLVE-BLOCK-END at line {n} without a START")
            regions.append((open_at, n))
            open_at = None
    if open_at is not None:
        raise EvolveBlockError(f"EVOLVE-BLOCK-START at line {open_at} has no EVOLVE-BLOCK-END")
    if not regions:
        raise EvolveBlockError("no EVOLVE-BLOCK markers in the program")
    return regions


def _outside_segments(code: str) -> list[list[str]]:
    """The code outside EVOLVE-BLOCKs (markers included), one segment per gap, normalised:
    trailing whitespace stripped and blank lines dropped."""
    lines = code.split("\n")
    regions = evolve_regions(code)
    segments: list[list[str]] = []
    prev = 0  # 0-based index of the first line of the current outside segment
    for start, end in regions:
        segments.append(lines[prev:start])  # up to and including the START marker
        prev = end - 1  # the END marker line starts the next segment
    segments.append(lines[prev:])
    return [[ln.rstrip() for ln in seg if ln.strip()] for seg in segments]


def check_full_rewrite(parent_code: str, new_code: str) -> str | None:
    """Why a full rewrite is not acceptable, or None when it is.

    The code outside EVOLVE-BLOCKs (marker lines included) must be identical to the
    parent's after normalising whitespace (trailing whitespace and blank lines are
    ignored; indentation counts), with the same number of blocks.
    """
    try:
        new_regions = evolve_regions(new_code)
    except EvolveBlockError as exc:
        return f"rewrite has bad EVOLVE-BLOCK markers: {exc}"
    parent_regions = evolve_regions(parent_code)
    if len(new_regions) != len(parent_regions):
        return f"rewrite has {len(new_regions)} EVOLVE-BLOCKs, the parent has {len(parent_regions)}"
    old_segs = _outside_segments(parent_code)
    new_segs = _outside_segments(new_code)
    for s, (old, new) in enumerate(zip(old_segs, new_segs)):
        if old == new:
            continue
        where = "before the first EVOLVE-BLOCK" if s == 0 else f"after EVOLVE-BLOCK {s}"
        ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        tag, i1, i2, j1, j2 = next(op for op in ops if op[0] != "equal")
        if tag == "replace":
            what = f"{old[i1].strip()!r} became {new[j1].strip()!r}"
        elif tag == "delete":
            what = f"{old[i1].strip()!r} was removed"
        else:
            what = f"{new[j1].strip()!r} was added"
        return f"code outside EVOLVE-BLOCKs changed ({where}): {what}"
    return None


# --------------------------------------------------------------------------- applying


def _split(text: str) -> list[str]:
    """Lines of a SEARCH/REPLACE text ("" is no line; "a\\n" is "a" and a blank line)."""
    text = text.replace("\r\n", "\n")
    return [] if text == "" else text.split("\n")


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _common_indent(lines: Sequence[str]) -> str:
    indents = [_indent_of(ln) for ln in lines if ln.strip()]
    if not indents:
        return ""
    common = indents[0]
    for ind in indents[1:]:
        k = 0
        while k < min(len(common), len(ind)) and common[k] == ind[k]:
            k += 1
        common = common[:k]
    return common


@dataclass(frozen=True)
class _Match:
    start: int  # 0-based first program line of the match
    end: int  # exclusive
    code_indent: str | None  # set for indentation-tolerant matches
    search_indent: str


def _find(code_lines: list[str], search: list[str]) -> tuple[list[_Match], str]:
    """All matches at the first tolerance level that finds any; and that level's name."""
    n = len(search)
    # 1. exact, 2. trailing whitespace
    for level, norm in (("exact", lambda s: s), ("trailing-whitespace", str.rstrip)):
        target = [norm(s) for s in search]
        normed = [norm(s) for s in code_lines]
        found = [
            _Match(i, i + n, None, "") for i in range(len(code_lines) - n + 1) if normed[i : i + n] == target
        ]
        if found:
            return found, level
    # 3./4. over non-blank lines only
    s_nb = [s.rstrip() for s in search if s.strip()]
    if not s_nb:
        return [], "empty"
    c_idx = [i for i, s in enumerate(code_lines) if s.strip()]
    c_nb = [code_lines[i].rstrip() for i in c_idx]
    m = len(s_nb)
    found = [
        _Match(c_idx[i], c_idx[i + m - 1] + 1, None, "")
        for i in range(len(c_nb) - m + 1)
        if c_nb[i : i + m] == s_nb
    ]
    if found:
        return found, "blank-lines"
    s_ind = _common_indent(s_nb)
    s_ded = [s[len(s_ind) :] for s in s_nb]
    found = []
    for i in range(len(c_nb) - m + 1):
        window = c_nb[i : i + m]
        c_ind = _common_indent(window)
        if [w[len(c_ind) :] for w in window] == s_ded:
            found.append(_Match(c_idx[i], c_idx[i + m - 1] + 1, c_ind, s_ind))
    return found, "indentation"


def _reindent(lines: list[str], search_indent: str, code_indent: str) -> list[str]:
    out = []
    for ln in lines:
        if not ln.strip():
            out.append("")
        elif ln.startswith(search_indent):
            out.append(code_indent + ln[len(search_indent) :])
        else:
            out.append(code_indent + ln.lstrip())
    return out


def _closest(code_lines: list[str], search: list[str]) -> str:
    """A hint naming the program line most similar to the first SEARCH line."""
    first = next((s.strip() for s in search if s.strip()), "")
    if not first:
        return ""
    best, best_i = 0.0, -1
    for i, ln in enumerate(code_lines):
        r = difflib.SequenceMatcher(None, first, ln.strip()).ratio()
        if r > best:
            best, best_i = r, i
    if best_i < 0 or best < 0.6:
        return ""
    return f"; closest program line {best_i + 1}: {code_lines[best_i].strip()[:60]!r}"


def _keep_context(old: list[str], new: list[str]) -> list[str]:
    """``new`` with its leading/trailing lines that equal ``old``'s up to trailing whitespace
    replaced by ``old``'s exact text (unchanged context stays byte-identical)."""
    new = list(new)
    p = 0
    while p < min(len(old), len(new)) and old[p].rstrip() == new[p].rstrip():
        new[p] = old[p]
        p += 1
    s = 0
    while s < min(len(old), len(new)) - p and old[-1 - s].rstrip() == new[-1 - s].rstrip():
        new[-1 - s] = old[-1 - s]
        s += 1
    return new


def _region_violation(code_lines: list[str], start: int, old: list[str], new: list[str]) -> str | None:
    """Check that replacing ``old`` (at 0-based ``start``) by ``new`` only changes region lines."""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    s = 0
    while s < min(len(old), len(new)) - p and old[len(old) - 1 - s] == new[len(new) - 1 - s]:
        s += 1
    ch_start, ch_end = start + p, start + len(old) - s  # changed program lines [ch_start, ch_end)
    added = new[p : len(new) - s]
    if ch_start == ch_end and not added:
        return None  # no-op block
    for ln in added:
        if _MARKER_RE.search(ln):
            return "REPLACE adds an EVOLVE-BLOCK marker line"
    regions = evolve_regions("\n".join(code_lines))
    for i in range(ch_start, ch_end):
        if _MARKER_RE.search(code_lines[i]) and (
            _START_RE.match(code_lines[i]) or _END_RE.match(code_lines[i])
        ):
            return f"edits an EVOLVE-BLOCK marker (line {i + 1}); markers cannot be removed or changed"
    for r_start, r_end in regions:  # 1-based marker lines; editable 0-based [r_start, r_end - 1)
        if ch_start == ch_end:
            if r_start <= ch_start <= r_end - 1:
                return None
        elif r_start <= ch_start and ch_end <= r_end - 1:
            return None
    if ch_start == ch_end:
        return f"edits outside EVOLVE-BLOCK (insertion before line {ch_start + 1})"
    return f"edits outside EVOLVE-BLOCK (lines {ch_start + 1}-{ch_end})"


def apply_edits(code: str, blocks: Sequence[EditBlock]) -> ApplyResult:
    """Apply blocks in order, each to the result of the previous ones.

    A block that does not match exactly one place, or that would change lines outside
    an EVOLVE-BLOCK (or a marker line), is not applied and is reported in ``failures``;
    the other blocks still apply. Raises :class:`DiffError` when ``blocks`` is empty and
    :class:`EvolveBlockError` when the program's markers are missing or unbalanced.
    """
    if not blocks:
        raise DiffError("no SEARCH/REPLACE blocks found in the answer")
    evolve_regions(code)
    lines = code.split("\n")
    applied = 0
    failures: list[EditFailure] = []
    for idx, block in enumerate(blocks):
        search = _split(block.search)
        replace = _split(block.replace)
        head = next((s.strip() for s in search if s.strip()), "")[:_HEAD_CHARS]

        def fail(reason: str, idx: int = idx, head: str = head) -> None:
            failures.append(EditFailure(index=idx, reason=reason, search_head=head))

        if not any(s.strip() for s in search):
            fail("empty SEARCH section")
            continue
        matches, _level = _find(lines, search)
        if not matches:
            fail(f"SEARCH of block {idx + 1} not found in the program{_closest(lines, search)}")
            continue
        if len(matches) > 1:
            where = ", ".join(str(m.start + 1) for m in matches[:6])
            fail(f"matches {len(matches)} places (lines {where}); add context lines to make SEARCH unique")
            continue
        m = matches[0]
        new = replace if m.code_indent is None else _reindent(replace, m.search_indent, m.code_indent)
        old = lines[m.start : m.end]
        new = _keep_context(old, new)
        violation = _region_violation(lines, m.start, old, new)
        if violation is not None:
            fail(violation)
            continue
        lines = lines[: m.start] + new + lines[m.end :]
        applied += 1
    return ApplyResult(code="\n".join(lines), applied=applied, failures=failures)
