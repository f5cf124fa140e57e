"""The README's claims, checked by scripts/readme_check.py: one table, :data:`CLAIMS`.

Each :class:`Claim` names README commands by a pattern and says either how to run them and
what must come out (:class:`Run`), or why they are not run. A README command no claim
matches fails the check; so does a claim no README command matches. Regular expressions
are searched in stdout + stderr (or a file's text); ``{db}`` is the run's archive and
``{champion}`` (or the README's example id ``9ea93c4a``) its champion's id prefix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """How to run a README command and what must come out of it.

    ``command``: what is run (None: the README command itself), with ``{db}``, ``{champion}``
    filled in; ``add``: flags appended (printed as what the check adds); ``exit``: the exit
    status; ``output``: regular expressions that must match stdout + stderr; ``absent``:
    ones that must not; ``counts``: (regular expression, how many times it matches);
    ``json``: stdout is one JSON object holding these keys (dotted: nested; ``"=shape:NAME"``:
    exactly the README's documented keys of that shape); ``files``: paths that must exist
    afterwards, each with regular expressions its text must match; ``lines``: (file, count)
    JSON lines a file must hold; ``server``: paths to fetch from the URL the command prints
    (then it is stopped), each with regular expressions the reply must match; ``timeout``
    in seconds."""

    command: str | None = None
    add: str = ""
    exit: int = 0
    output: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()
    json: tuple[str, ...] = ()
    files: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lines: tuple[tuple[str, int], ...] = ()
    server: tuple[tuple[str, tuple[str, ...]], ...] = ()
    timeout: float = 600.0  # only against a hang: a CLI command takes 2-25 s (idle to a load average of 50)
    makes_run: bool = False


@dataclass(frozen=True)
class Claim:
    """README commands matching ``pattern`` (a regular expression, searched): ``runs`` to
    make and check, or ``skip``, the reason they are not run."""

    pattern: str
    runs: tuple[Run, ...] = ()
    skip: str = ""
    setup: str = ""  # a fixture the check writes first (see _fixture)

    def __post_init__(self) -> None:
        if isinstance(self.runs, Run):  # one run without its tuple's trailing comma
            object.__setattr__(self, "runs", (self.runs,))


SIM = r"SIMULATED"
SIX = (
    r"coverage",
    r"convex_hull_volume",
    r"min_pairwise_distance",
    r"mean_pairwise_distance",
    r"dispersion",
    r"kl_divergence",
)
COLUMNS = (
    r"coverage↑",
    r"hull_vol↑",
    r"min_dist↑",
    r"mean_dist↑",
    r"dispersion↓",
    r"kl↓",
)  # the final table's
INSPECT = (
    "summary",
    "top",
    "lineage {champion}",
    "grid",
    "rare",
    "holes",
    "front",
    "diff seed:sobol {champion}",
)


def _inspect_runs() -> tuple[Run, ...]:
    out = []
    for cmd in INSPECT:
        name = cmd.split()[0]
        base = f"persona-evolve inspect --db {{db}} {cmd}"
        out.append(Run(command=base, output=(SIM,)))
        out.append(Run(command=base + " --json", json=(f"=shape:{name}",)))
    return tuple(out)


CLAIMS: tuple[Claim, ...] = (
    # ---- The two commands
    Claim(
        r"^scripts/run\b",
        skip="installs into .venv (pip) and evolves for ~5 minutes; its run is "
        "`persona-evolve run` in the clone's venv, checked below with `run --world literal`",
    ),
    Claim(r"^scripts/test\b", skip="the whole test suite, which runs this check"),
    # ---- The simulated world
    Claim(
        r"^persona-evolve worlds$",
        runs=(
            Run(
                output=(
                    r"(?m)^\s*default\b",
                    r"(?m)^\s*literal\b",
                    r"(?m)^\s*other-words\b",
                    r"(?m)^\s*collapsed\b",
                    r"(?m)^\s*yea-sayer\b",
                    r"(?m)^\s*extreme-responder\b",
                    r"(?m)^\s*chatty\b",
                )
            ),
        ),
    ),
    Claim(
        r"^persona-evolve run --world literal$",
        runs=(
            Run(
                add="--budget-evals 3",
                makes_run=True,
                timeout=1800,
                output=(
                    SIM,
                    r"literal",
                    r"expect about .* on this machine \(measured on the seeds: [\d.]+ s per evaluation\)",
                    r"report\.md",
                    r"runs/\d{8}-\d{6}/",
                    r"(?m)^validation:",
                    r"(?m)^test:",
                    r"floor",
                    r"random",
                )
                + COLUMNS,
                files=(("runs/*/report.md", (SIM,)), ("runs/*/archive.db", ())),
            )
        ),
    ),
    Claim(
        r"^persona-evolve generate --generator seed:batch --context airline_rebooking_desk --world chatty$",
        runs=(Run(output=(r'"description"', r'"persona_evolve"')),),
    ),
    # ---- Running against a real model
    Claim(
        r"persona-evolve run --config run.toml --print-config$",
        setup="run.toml",
        runs=(
            Run(
                output=(r"openai/gpt-4o-mini", r"hosted_vllm/qwen2\.5-7b", r"dollars = 20", r"minutes = 120")
            ),
        ),
    ),
    Claim(
        r"persona-evolve run --config run.toml --estimate$",
        setup="run.toml",
        runs=(
            Run(
                output=(
                    r"expected calls",
                    r"upper bound",
                    r"\$20 buys about 275 evaluations",
                    r"Whole run \(275 evaluations\)",
                    r"the 120-minute cap is not estimated",
                    r"(?m)^preflight",
                    r"(?m)^proposals",
                    r"(?m)^test\b",
                ),
            ),
        ),
    ),
    Claim(
        r"persona-evolve run --config run.toml$",
        setup="run.toml",
        runs=(
            Run(
                exit=1,
                output=(
                    r"error: pre-flight failed: roles? [\w, ]+, model openai/gpt-4o-mini: environment "
                    r"variable OPENAI_API_KEY is not set",
                ),
                absent=(r"Traceback",),
            ),
        ),
    ),  # no key in the scratch environment: the one line the README quotes
    Claim(
        (
            r"persona-evolve run --model openai/my-model --api-base http://127\.0\.0\.1:8000/v1 "
            r"--budget-evals 50$"
        ),
        runs=(
            Run(
                exit=1,
                output=(
                    r"error: pre-flight failed: roles? [\w, ]+, model openai/my-model: cannot connect at "
                    r"http://127\.0\.0\.1:8000/v1",
                ),
                absent=(r"Traceback",),
            ),
        ),
    ),  # nothing listens on 127.0.0.1:8000 here
    # ---- Resume
    Claim(
        r"persona-evolve run --db runs/<timestamp>/archive\.db --resume$",
        runs=(Run(output=(r"finished",), absent=(r"Traceback",)),),
    ),
    # ---- Export
    Claim(
        r"export --db runs/<stamp>/archive\.db --best --out my_generator\.py$",
        runs=(
            Run(
                files=(
                    (
                        "my_generator.py",
                        (
                            r"!!! SIMULATED SCORES !!!",
                            r"# EVOLVE-BLOCK-START",
                            r"EXPORT_INFO",
                            r"def generate\(",
                        ),
                    ),
                )
            ),
        ),
    ),
    Claim(
        r"export --db runs/<stamp>/archive\.db --program 9ea93c4a --out gen\.py$",
        runs=(Run(files=(("gen.py", (r"!!! SIMULATED SCORES !!!", r"def generate\(")),)),),
    ),
    Claim(
        r"export --db runs/<stamp>/archive\.db --program seed:sobol --out sobol\.py$",
        runs=(Run(files=(("sobol.py", (r"seed:sobol", r"def generate\(")),)),),
    ),
    Claim(
        r"export --db runs/<stamp>/archive\.db --max-tokens-per-persona 300 --out cheap\.py$",
        runs=(Run(files=(("cheap.py", (r"!!! SIMULATED SCORES !!!",)),)),),
    ),
    Claim(r"^export OPENAI_API_KEY=", skip="sets a real provider key"),
    Claim(
        r"^python my_generator\.py --context ctx\.json -n 25 --model openai/gpt-4o-mini",
        skip="calls a real provider (OpenAI key)",
    ),
    Claim(
        r"^python my_generator\.py --context ctx\.json -n 25 --model hosted_vllm/my-model",
        skip="needs a model server on 127.0.0.1:8000; the module is run against a stub in "
        "tests/evolve/test_export_fresh_venv.py",
    ),
    # ---- Inspect
    Claim(
        r"^persona-evolve inspect --db runs/<stamp>/archive\.db COMMAND \[options\] \[--json\]$",
        runs=_inspect_runs(),
    ),
    Claim(
        r"inspect --db runs/<stamp>/archive\.db holes --context airline_rebooking_desk$",
        runs=(Run(output=(SIM, r"airline_rebooking_desk")),),
    ),
    # ---- View
    Claim(
        r"^persona-evolve view --db runs/<stamp>/archive\.db$",
        runs=(
            Run(
                add="--port 0",
                server=(("/", (SIM,)), ("/api/references", (r'"floor"', r'"random"')), ("/report", (SIM,))),
            ),
        ),
    ),
    # ---- Speed on a large archive
    Claim(
        r"scripts/bench_archive\.py --inspect$",
        skip="a benchmark: builds a 10,000-evaluation archive (~45 s idle, minutes loaded)",
    ),
    # ---- Other commands
    Claim(
        r"^persona-evolve contexts list$",
        runs=(
            Run(
                output=(r"(?m)^50 contexts$",),
                counts=(
                    (r"(?m)^\w+\s+train\s", 30),
                    (r"(?m)^\w+\s+validation\s", 10),
                    (r"(?m)^\w+\s+test\s", 10),
                ),
            ),
        ),
    ),
    Claim(
        r"^persona-evolve contexts show airline_rebooking_desk --out ctx\.json$",
        runs=(Run(files=(("ctx.json", (r'"axes"', r"airline_rebooking_desk")),)),),
    ),
    Claim(
        r"^persona-evolve contexts validate my_context\.json$",
        setup="my_context.json",
        runs=(Run(exit=1, output=(r"my_context\.json: \$\.\S*: ",), absent=(r"Traceback",)),),
    ),
    Claim(
        r'^persona-evolve contexts draft --description "night-shift nurses" --axes 3 --out nurses\.json$',
        runs=(Run(files=(("nurses.json", (r'"axes"', SIM)),)),),
    ),
    Claim(
        r"^persona-evolve generate --generator seed:sobol --context airline_rebooking_desk -n 25 "
        r"--out personas\.jsonl$",
        runs=(
            Run(
                lines=(("personas.jsonl", 25),),
                files=(("personas.jsonl", (r'"persona_evolve"', r'"name"', r'"description"')),),
            ),
        ),
    ),
    Claim(
        r"^persona-evolve score --personas personas\.jsonl --context airline_rebooking_desk --json$",
        runs=(
            Run(
                json=("simulated", "metrics", "references.floor", "references.random"),
                output=(r'"simulated": true',),
            ),
        ),
    ),
    # ---- Concordia
    Claim(
        r"^scripts/concordia_env$",
        skip="makes .venv-concordia (Python 3.12 and gdm-concordia from the "
        "registries); scripts/test makes it",
    ),
    Claim(
        r"^persona-evolve contexts import concordia_questionnaires/ --out ctx/$",
        setup="concordia_questionnaires",
        runs=(Run(files=(("ctx/*.json", (r'"axes"',)),)),),
    ),
    Claim(
        r"generate --generator concordia:persona_generator_one\.py",
        skip="needs the paper's generator file "
        "(not shipped) and .venv-concordia; tests/generators/test_concordia*.py run the same path on "
        "fixtures",
    ),
    Claim(
        r"^persona-evolve run --config seeded\.toml$",
        skip="a whole run with a Concordia seed (needs the paper's generator file and .venv-concordia)",
    ),
    Claim(
        r"export --db runs/<stamp>/archive\.db --best --format concordia --out champion\.py$",
        runs=(Run(files=(("champion.py", (r"PersonaEvolveGenerator", r"SIMULATED")),)),),
    ),
)
