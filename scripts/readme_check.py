"""Run every ```bash command of README.md and check what the README says it does.

    .venv/bin/python scripts/readme_check.py [--readme README.md] [--keep] [--venv DIR]
    scripts/readme_check                      # the same, with the clone's .venv

Each command runs in one fresh scratch directory (a temporary folder holding ``.venv``
and ``scripts/`` as links to the clone's, ``HOME`` and ``XDG_CACHE_HOME`` inside it, no
provider key in the environment), in README order, so files one command writes are there
for the next (``ctx.json``, ``runs/<stamp>/``). The claims it checks are in one table,
``CLAIMS`` in scripts/readme_claims.py: a pattern matching a README command, then either how it is run and
what must come out (exit status, text in its output, JSON keys, files written), or why it is
not run. A README command no claim matches fails the check ("README block at line N is
not covered"), and so does a claim that matches no README command (stale).

Budget: the one evolution run (the README's ``persona-evolve run --world literal``) gets
``--budget-evals 3`` added, and every command that inspects, exports or views a run uses
its archive (those run two at a time: ``--jobs``). ``<stamp>``/``<timestamp>`` in a path
mean that run's folder, and the id prefix ``9ea93c4a`` its champion. What the check adds
to a command is printed beside it, and the commands not run are listed with their reason.

Exit status 0 when every claim holds; 1 otherwise, with one line per problem.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_claims import CLAIMS, Claim, Run  # noqa: E402  (the table of claims, beside this file)

# --------------------------------------------------------------------------- README parsing


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, the line of its opening fence (1-based) and its lines."""

    lang: str
    line: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    """One command of a bash block: its text (continuations joined, comment removed) and the
    README line it starts on."""

    text: str
    line: int
    block: int


def blocks(readme: str) -> list[Block]:
    """Every fenced block of a Markdown text, in order."""
    out, lang, start, body = [], None, 0, []
    for i, line in enumerate(readme.splitlines(), 1):
        fence = re.match(r"^```(\S*)\s*$", line)
        if fence and lang is None:
            lang, start, body = fence.group(1), i, []
        elif line.startswith("```") and lang is not None:
            out.append(Block(lang, start, tuple(body)))
            lang = None
        elif lang is not None:
            body.append(line)
    return out


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands(block: Block) -> list[Command]:
    """The commands of a bash block: backslash continuations joined, comments and blank lines dropped."""
    out: list[Command] = []
    pending, first = "", 0
    for offset, raw in enumerate(block.lines, 1):
        line = _strip_comment(raw)
        if not pending:
            first = block.line + offset
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        text = (pending + line.strip()).strip()
        pending = ""
        if text:
            out.append(Command(text, first, block.line))
    return out


def json_shapes(readme: str) -> dict[str, set[str]]:
    """The top-level keys of each documented ``inspect --json`` shape: the blocks after
    "`NAME`:" (or "`NAME` (...):") in the section "JSON shapes (stable)"."""
    section = readme.split("#### JSON shapes (stable)", 1)[-1].split("\n## ", 1)[0]
    shapes: dict[str, set[str]] = {}
    previous = 0
    for match in re.finditer(r"^```\n(.*?)\n```$", section, flags=re.S | re.M):
        paragraph = section[previous : match.start()].strip().split("\n\n")[-1]
        named = re.match(r"`(\w+)`", paragraph)
        if named:
            shapes[named.group(1)] = _top_level_keys(match.group(1))
        previous = match.end()
    return shapes


def _top_level_keys(text: str) -> set[str]:
    text = "\n".join(_strip_comment(line) for line in text.splitlines())
    keys, depth, i = set(), 0, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            end = text.index('"', i + 1)
            if depth == 1 and re.match(r"\s*:", text[end + 1 :]):
                keys.add(text[i + 1 : end])
            i = end + 1
            continue
        depth += ch in "{["
        depth -= ch in "}]"
        i += 1
    return keys


def _readme_toml(readme: str, name: str) -> str:
    """The README's toml block whose first line is ``# NAME``."""
    for block in blocks(readme):
        if block.lang == "toml" and block.lines and block.lines[0].strip() == f"# {name}":
            return "\n".join(block.lines) + "\n"
    raise LookupError(f"no ```toml block starting with '# {name}' in the README")


def _fixture(name: str, scratch: Path, readme: str) -> str:
    """Write fixture ``name`` into ``scratch``; returns what it is (printed)."""
    if name == "run.toml":
        (scratch / name).write_text(_readme_toml(readme, name))
        return "run.toml: the README's own ```toml block"
    if name == "my_context.json":
        ctx = json.loads((ROOT / "generators/contexts/train/airline_rebooking_desk.json").read_text())
        del ctx["axes"][0]["name"]
        (scratch / name).write_text(json.dumps(ctx, indent=2))
        return "my_context.json: a shipped context with its first axis's name removed"
    if name == "concordia_questionnaires":
        folder = scratch / name
        folder.mkdir(exist_ok=True)
        shutil.copy(ROOT / "docs/examples/night_market_questionnaire.json", folder)
        return "concordia_questionnaires/: docs/examples/night_market_questionnaire.json"
    raise KeyError(name)


# --------------------------------------------------------------------------- running


@dataclass
class State:
    scratch: Path
    env: dict[str, str]
    readme: str
    run_dir: Path | None = None
    champion: str | None = None
    problems: list[str] = field(default_factory=list)
    fixtures: set[str] = field(default_factory=set)
    without_run: list[str] = field(default_factory=list)
    """Commands not run because the run they read failed (reported once, not one by one)."""


def scratch_env(scratch: Path, venv: Path) -> dict[str, str]:
    """The environment of every command: the clone's venv first on PATH, HOME and the cache
    inside the scratch folder, the clone's packages first on PYTHONPATH, no provider key."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.endswith("_API_KEY") or k.startswith(("OPENAI", "ANTHROPIC", "AZURE", "RAY_ADDRESS")))
    }
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        PATH=f"{venv}/bin:{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_AUTH_MODE="disabled",
        RAY_USAGE_STATS_ENABLED="0",
        COLUMNS="80",
        PYTHONUNBUFFERED="1",
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def _fill(text: str, state: State) -> str:
    if state.run_dir is not None:
        text = re.sub(r"runs/<(?:stamp|timestamp)>", f"runs/{state.run_dir.name}", text)
        text = text.replace("{db}", f"runs/{state.run_dir.name}/archive.db")
    if state.champion:
        text = text.replace("9ea93c4a", state.champion[:8]).replace("{champion}", state.champion[:8])
    return text


def _needs_run(text: str) -> bool:
    return bool(re.search(r"<(stamp|timestamp)>|\{db\}|\{champion\}", text))


def _champion(run_dir: Path, env: dict[str, str]) -> str | None:
    out = subprocess.run(
        ["persona-evolve", "inspect", "--db", str(run_dir / "archive.db"), "summary", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    try:
        return json.loads(out.stdout)["champion"]["id"]
    except (ValueError, KeyError, TypeError):
        return None


def _glob(scratch: Path, pattern: str) -> list[Path]:
    return sorted(scratch.glob(pattern))


def _check_files(run: Run, state: State, where: str) -> None:
    for pattern, regexes in run.files:
        found = _glob(state.scratch, pattern)
        if not found:
            state.problems.append(f"{where}: wrote no {pattern}")
            continue
        for path in found:
            text = path.read_text(errors="replace") if path.suffix != ".db" else ""
            for rx in regexes:
                if not re.search(rx, text):
                    state.problems.append(f"{where}: {path.relative_to(state.scratch)} lacks /{rx}/")
    for pattern, count in run.lines:
        found = _glob(state.scratch, pattern)
        if not found:
            state.problems.append(f"{where}: wrote no {pattern}")
            continue
        rows = [line for line in found[0].read_text().splitlines() if line.strip()]
        if len(rows) != count:
            state.problems.append(f"{where}: {pattern} has {len(rows)} lines, not {count}")
        for row in rows:
            try:
                json.loads(row)
            except ValueError:
                state.problems.append(f"{where}: {pattern} holds a line that is not JSON: {row[:60]!r}")
                break


def _check_output(run: Run, state: State, where: str, code: int, out: str, err: str) -> None:
    both = out + "\n" + err
    if code != run.exit:
        tail = " | ".join((err or out).strip().splitlines()[-3:])
        state.problems.append(f"{where}: exit status {code}, not {run.exit} ({tail[:300]})")
    for rx in run.output:
        if not re.search(rx, both):
            state.problems.append(f"{where}: output lacks /{rx}/")
    for rx in run.absent:
        if re.search(rx, both):
            state.problems.append(f"{where}: output has /{rx}/")
    for rx, count in run.counts:
        found = len(re.findall(rx, both))
        if found != count:
            state.problems.append(f"{where}: /{rx}/ matches {found} times, not {count}")
    if run.json:
        try:
            obj = json.loads(out)
        except ValueError:
            state.problems.append(f"{where}: stdout is not one JSON object")
            return
        for key in run.json:
            if key.startswith("=shape:"):
                name = key.split(":", 1)[1]
                documented = json_shapes(state.readme).get(name)
                if documented is None:
                    state.problems.append(f"{where}: the README documents no JSON shape for {name!r}")
                elif set(obj) != documented:
                    state.problems.append(
                        f"{where}: JSON keys differ from the README's shape: "
                        f"undocumented {sorted(set(obj) - documented)}, "
                        f"missing {sorted(documented - set(obj))}"
                    )
            else:
                node: Any = obj
                for part in key.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    state.problems.append(f"{where}: JSON lacks key {key!r}")


def _serve(cmd: str, run: Run, state: State, where: str) -> None:
    """Start a server command, fetch ``run.server``'s paths from the URL it prints, stop it."""
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {cmd}"],
        cwd=state.scratch,
        env=state.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url, deadline, buffer = None, time.monotonic() + run.timeout, b""
        assert proc.stdout is not None
        while url is None and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([proc.stdout], [], [], left)
            chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                break  # the command ended, or the time is up
            buffer += chunk
            match = re.search(rb"(http://127\.0\.0\.1:\d+)/", buffer)
            url = match.group(1).decode() if match else None
        seen = buffer.decode("utf-8", "replace").strip().splitlines()
        if url is None:
            state.problems.append(
                f"{where}: printed no URL within {run.timeout:.0f} s ({' | '.join(seen[-3:])})"
            )
            return
        for path, regexes in run.server:
            try:
                with urllib.request.urlopen(url + path, timeout=60) as reply:
                    body = reply.read().decode("utf-8", "replace")
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                state.problems.append(f"{where}: GET {path} failed: {exc}")
                continue
            for rx in regexes:
                if not re.search(rx, body):
                    state.problems.append(f"{where}: GET {path} lacks /{rx}/")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def execute(cmd: Command, claim: Claim, run: Run, state: State, log: Callable[[str], None]) -> None:
    text = run.command if run.command is not None else cmd.text
    where = f"README line {cmd.line}: `{cmd.text}`" + (f" (as `{run.command}`)" if run.command else "")
    if _needs_run(text) and (state.run_dir is None or state.champion is None):
        state.without_run.append(f"line {cmd.line}")
        return
    if claim.setup and claim.setup not in state.fixtures:
        log(f"  fixture {_fixture(claim.setup, state.scratch, state.readme)}")
        state.fixtures.add(claim.setup)
    full = _fill(text, state) + (f" {run.add}" if run.add else "")
    log(f"$ {full}" + (f"    # the check adds: {run.add}" if run.add else ""))
    before = set(state.scratch.glob("runs/*"))
    t0 = time.monotonic()
    if run.server:
        _serve(full, run, state, where)
        log(f"  {time.monotonic() - t0:.1f} s")
        return
    proc = subprocess.Popen(
        ["bash", "-c", full],
        cwd=state.scratch,
        env=state.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=run.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the command's whole process group (its own session)
        proc.communicate()
        state.problems.append(f"{where}: still running after {run.timeout:.0f} s")
        return
    log(f"  exit {proc.returncode}, {time.monotonic() - t0:.1f} s")
    _check_output(run, state, where, proc.returncode, out, err)
    if run.makes_run:
        made = sorted(set(state.scratch.glob("runs/*")) - before)
        if len(made) != 1:
            state.problems.append(f"{where}: made {len(made)} folders in runs/, not one")
        elif proc.returncode == 0:  # a failed run is one problem above, not one per command reading it
            state.run_dir = made[0]
            state.champion = _champion(made[0], state.env)
            if state.champion is None:
                state.problems.append(f"{where}: the run has no champion")
    elif set(state.scratch.glob("runs/*")) - before:
        state.problems.append(f"{where}: wrote a run folder")
    _check_files(run, state, where)


def coverage(readme: str) -> tuple[list[tuple[Command, Claim]], list[str]]:
    """Every bash command of the README with the claim that covers it, and the problems:
    commands no claim (or more than one) matches, claims no command matches."""
    pairs, problems, used = [], [], set()
    for block in blocks(readme):
        if block.lang != "bash":
            continue
        for cmd in commands(block):
            matching = [c for c in CLAIMS if re.search(c.pattern, cmd.text)]
            if not matching:
                problems.append(
                    f"README block at line {cmd.block} is not covered: line {cmd.line}: `{cmd.text}` "
                    "(add it to CLAIMS in scripts/readme_claims.py: what it must do, or why it is not run)"
                )
            elif len(matching) > 1:
                problems.append(f"README line {cmd.line}: `{cmd.text}` matches {len(matching)} claims")
            else:
                pairs.append((cmd, matching[0]))
                used.add(matching[0].pattern)
    problems += [
        f"claim /{c.pattern}/ matches no README command (stale: remove it)"
        for c in CLAIMS
        if c.pattern not in used
    ]
    return pairs, problems


def check(
    readme_path: Path, *, venv: Path, scratch: Path, log: Callable[[str], None] = print, jobs: int = 2
) -> list[str]:
    """Run the README's commands in ``scratch`` (an empty folder) with ``venv``, the ones
    that only read the run's archive ``jobs`` at a time; returns the problems found (empty:
    every claim holds)."""
    readme = readme_path.read_text()
    pairs, problems = coverage(readme)
    (scratch / ".venv").symlink_to(venv)
    (scratch / "scripts").symlink_to(ROOT / "scripts")
    state = State(scratch=scratch, env=scratch_env(scratch, venv), readme=readme, problems=problems)
    skipped = [f"  line {cmd.line}: `{cmd.text}`: {claim.skip}" for cmd, claim in pairs if claim.skip]
    tasks = [(cmd, claim, run) for cmd, claim in pairs if not claim.skip for run in claim.runs]
    i = 0
    while i < len(tasks):
        j = i
        while j < len(tasks) and _reads_the_run(tasks[j]):
            j += 1
        if j == i:
            execute(*tasks[i], state, log)
            i += 1
            continue

        # commands that only read the run's archive (each writing its own file) run `jobs` at a time
        def buffered(task: tuple[Command, Claim, Run]) -> list[str]:
            lines: list[str] = []
            execute(*task, state, lines.append)
            return lines

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for lines in pool.map(buffered, tasks[i:j]):
                for line in lines:
                    log(line)
        i = j
    log("not run:\n" + "\n".join(skipped))
    if state.without_run:
        state.problems.append(
            f"{len(state.without_run)} commands that read the run were not run, as it failed "
            f"(README {', '.join(dict.fromkeys(state.without_run))})"
        )
    return state.problems


def _reads_the_run(task: tuple[Command, Claim, Run]) -> bool:
    """A command that only reads the run's archive (inspect, export, view), so it may run
    beside others of its kind: not the run itself, not a resume (it may write)."""
    cmd, claim, run = task
    text = run.command if run.command is not None else cmd.text
    return _needs_run(text) and "--resume" not in text and not run.makes_run and not claim.setup


def default_venv() -> Path:
    """The clone's ``.venv``, else the venv of the interpreter running this."""
    own = ROOT / ".venv"
    return own if (own / "bin" / "persona-evolve").exists() else Path(sys.prefix)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument(
        "--venv", type=Path, default=None, help="venv holding persona-evolve (default: the clone's)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print its path")
    parser.add_argument("--list", action="store_true", help="only list each README command and its claim")
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="commands reading the run's archive run this many at a time (default 2)",
    )
    args = parser.parse_args(argv)
    if args.list:
        pairs, problems = coverage(args.readme.read_text())
        for cmd, claim in pairs:
            print(
                f"line {cmd.line}: {cmd.text}\n    "
                + (f"not run: {claim.skip}" if claim.skip else f"{len(claim.runs)} run(s)")
            )
        for p in problems:
            print(f"problem: {p}")
        return 1 if problems else 0
    venv = (args.venv or default_venv()).resolve()
    if not (venv / "bin" / "persona-evolve").exists():
        print(
            f"error: {venv} has no bin/persona-evolve (install the project, or pass --venv)", file=sys.stderr
        )
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="readme-check-"))
    t0 = time.monotonic()
    try:
        problems = check(
            args.readme, venv=venv, scratch=scratch, log=lambda s: print(s, flush=True), jobs=args.jobs
        )
    finally:
        if args.keep:
            print(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"readme check: {len(problems)} problem(s) in {time.monotonic() - t0:.0f} s")
    for p in problems:
        print(f"problem: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
