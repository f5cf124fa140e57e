"""The runner of exported generator modules (both ``export`` formats), as a real module.

``persona-evolve export`` copies the part of this file below the ``PE-RUNNER`` marker,
verbatim, into the exported module after the program's code, then adds ``EXPORT_INFO``
and the entry points (see :mod:`evolve.outputs.export`). So this code is imported, linted and
tested as code here, and is the same text in every export. Rules for the copied part:
standard library only at module level (numpy, litellm and, for ``--model sim``,
persona-evolve are imported on first use), every name starts with ``_pe`` / ``_PE``, and
nothing runs at import.

Reproducibility: :func:`_pe_run` seeds the program's ``rng`` and every model call exactly
as ``persona-evolve generate`` does (``generators.evaluation.call_seed``: the rng from
``(seed, "rng", context id)``, the k-th prompt of the run from ``(seed, 0, k)``), so with the
same model and ``--seed`` the exported module and ``persona-evolve generate --generator``
give the same personas (for ``sim``, exactly; for a real model, as far as the provider
honours ``seed``).

Concordia: :class:`_PEConcordiaGenerator` satisfies the protocol of Concordia's persona
generation (built with a ``LanguageModel``; stage 1
``generate_diverse_persona_characteristics(initial_context, diversity_axes, num_personas)``
runs the evolved program through a ``LanguageModel`` -> ``llm`` adapter and returns
characteristics dicts with ``name``; stage 2 ``generate_single_persona_memories`` returns the
persona's description and memories as a list of strings). It needs no concordia import.
"""

# ---- PE-RUNNER: everything below is copied into exported modules ----


class _PEError(Exception):
    """A one-line failure of the runner."""


def _pe_first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pe_seed(base, *parts):
    """A deterministic 63-bit seed from ``base`` and labels (same as persona-evolve's call_seed)."""
    import hashlib

    digest = hashlib.sha256(repr((base,) + parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class _PEAxis:
    """One diversity axis as a generator sees it: name, description, low and high poles."""

    __slots__ = ("name", "description", "low", "high")

    def __init__(self, name, description, low, high):
        for key, value in zip(self.__slots__, (name, description, low, high)):
            object.__setattr__(self, key, value)

    def __setattr__(self, key, value):
        raise AttributeError(f"the context is read-only (cannot set {key!r})")

    def __repr__(self):
        return f"AxisView(name={self.name!r})"


class _PEContext:
    """Read-only context: id, description and axes (never the questionnaire items)."""

    __slots__ = ("id", "description", "axes")

    def __init__(self, id, description, axes):
        for key, value in zip(self.__slots__, (id, description, tuple(axes))):
            object.__setattr__(self, key, value)

    def __setattr__(self, key, value):
        raise AttributeError(f"the context is read-only (cannot set {key!r})")

    @property
    def axis_names(self):
        return tuple(a.name for a in self.axes)

    def __repr__(self):
        return f"ContextView(id={self.id!r}, axes={list(self.axis_names)!r})"


def _pe_context_from_dict(data, where):
    """A _PEContext from a context dict (the persona-evolve JSON format; items ignored)."""
    if not isinstance(data, dict):
        raise _PEError(f"{where}: expected a JSON object with id, description and axes")
    for key in ("id", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _PEError(f"{where}: '{key}' must be a non-empty string")
    axes = data.get("axes")
    if not isinstance(axes, list) or not axes:
        raise _PEError(f"{where}: 'axes' must be a non-empty list")
    views = []
    for i, axis in enumerate(axes):
        if not isinstance(axis, dict):
            raise _PEError(f"{where}: axes[{i}] must be an object")
        for key in ("name", "description", "low", "high"):
            if not isinstance(axis.get(key), str) or not axis[key].strip():
                raise _PEError(f"{where}: axes[{i}]: '{key}' must be a non-empty string")
        views.append(_PEAxis(axis["name"], axis["description"], axis["low"], axis["high"]))
    return _PEContext(data["id"], data["description"], views)


def _pe_load_context(path):
    """A _PEContext from a context JSON file (the persona-evolve format; items ignored)."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise _PEError(f"--context: cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _PEError(f"--context: {path} is not a JSON file ({_pe_first_line(exc)})") from None
    return _pe_context_from_dict(data, f"--context: {path}")


def _pe_context_from_axes(initial_context, diversity_axes):
    """A _PEContext from Concordia's stage-1 arguments: the shared context text and bare axis
    names. An axis written ``low/high`` (``introversion/extroversion``) gets those poles;
    any other gets the neutral poles ``low <axis>`` / ``high <axis>``."""
    import re

    axes = []
    for raw in diversity_axes:
        name = str(raw).strip()
        if not name:
            continue
        parts = [p.strip() for p in name.split("/")]
        low, high = (
            (parts[0], parts[1]) if len(parts) == 2 and all(parts) else (f"low {name}", f"high {name}")
        )
        axes.append(_PEAxis(name, name, low, high))
    if not axes:
        raise _PEError("diversity_axes: need at least one axis name")
    ident = re.sub(r"[^a-z0-9_-]+", "_", str(initial_context).lower())[:40].strip("_") or "concordia"
    return _PEContext(ident, str(initial_context), axes)


def _pe_retriable(exc):
    """Rate limits, timeouts, connection and server errors are worth another try."""
    status = getattr(exc, "status_code", None)
    if status in (408, 409, 429, 500, 502, 503, 504):
        return True
    name = type(exc).__name__
    return any(
        word in name
        for word in ("RateLimit", "Timeout", "APIConnection", "ServiceUnavailable", "InternalServer")
    )


class _PESeededLLM:
    """Base of the ``llm`` handles: numbers the prompts of a run (the k-th prompt gets seed
    ``_pe_seed(seed, 0, k)``, in the order they are asked, a ``complete_many`` in list order)
    and runs ``complete_many`` on ``workers`` threads. Subclasses define ``_call``."""

    def __init__(self, *, seed=0, workers=16):
        import threading

        self.seed = int(seed)
        self.workers = max(1, int(workers))
        self.calls = 0
        self._lock = threading.Lock()

    def _take(self, count):
        with self._lock:
            start = self.calls
            self.calls += count
        return start

    def _call(self, messages, *, temperature, max_tokens, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _messages(prompt, system):
        return ([{"role": "system", "content": str(system)}] if system else []) + [
            {"role": "user", "content": str(prompt)}
        ]

    def complete(self, prompt, *, system=None, temperature=None, max_tokens=None):
        """One prompt -> the reply text."""
        k = self._take(1)
        return self._call(
            self._messages(prompt, system),
            temperature=temperature,
            max_tokens=max_tokens,
            seed=_pe_seed(self.seed, 0, k),
        )

    def complete_many(self, prompts, *, system=None, temperature=None, max_tokens=None):
        """Many prompts -> their replies in order, ``workers`` calls at a time."""
        if isinstance(prompts, str):
            raise TypeError("llm.complete_many: prompts must be a list of strings, got a str")
        prompts = list(prompts)
        start = self._take(len(prompts))
        jobs = [(self._messages(p, system), _pe_seed(self.seed, 0, start + i)) for i, p in enumerate(prompts)]
        if len(jobs) <= 1:
            return [self._call(m, temperature=temperature, max_tokens=max_tokens, seed=s) for m, s in jobs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(self.workers, len(jobs))) as pool:
            return list(
                pool.map(
                    lambda job: self._call(
                        job[0], temperature=temperature, max_tokens=max_tokens, seed=job[1]
                    ),
                    jobs,
                )
            )


class _PELiteLLM(_PESeededLLM):
    """The ``llm`` handle over litellm (imported on first use); each call sends its seed."""

    def __init__(
        self,
        model,
        *,
        api_base=None,
        api_key_env="OPENAI_API_KEY",
        temperature=None,
        max_tokens=None,
        timeout_s=120.0,
        workers=16,
        retries=2,
        seed=0,
    ):
        super().__init__(seed=seed, workers=workers)
        self.model = model
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.retries = retries
        self._completion = None

    def _backend(self):
        if self._completion is None:
            import os

            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
            try:
                import litellm
            except ImportError:
                raise _PEError(f"model {self.model!r} needs litellm: pip install litellm") from None
            litellm.suppress_debug_info = True
            self._completion = litellm.completion
        return self._completion

    def _call(self, messages, *, temperature, max_tokens, seed):
        import os

        completion = self._backend()
        kwargs = {"model": self.model, "messages": messages, "timeout": self.timeout_s, "seed": int(seed)}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            kwargs["api_key"] = key
        elif self.api_base:
            kwargs["api_key"] = "sk-no-key"  # local servers ignore it; the OpenAI client insists on one
        temperature = self.temperature if temperature is None else temperature
        if temperature is not None:
            kwargs["temperature"] = float(temperature)
        max_tokens = self.max_tokens if max_tokens is None else max_tokens
        if max_tokens is not None:
            kwargs["max_tokens"] = int(max_tokens)
        for attempt in range(self.retries + 1):
            try:
                response = completion(**kwargs)
                break
            except Exception as exc:
                if attempt < self.retries and _pe_retriable(exc):
                    import time

                    time.sleep(min(8.0, 0.5 * 2**attempt))
                    continue
                raise _PEError(
                    f"model call failed ({self.model}): {type(exc).__name__}: {_pe_first_line(exc)}"
                ) from None
        return response.choices[0].message.content or ""


class _PESimLLM(_PESeededLLM):
    """The ``llm`` handle over persona-evolve's simulated world (needs persona-evolve)."""

    def __init__(self, *, seed=0, workers=16):
        super().__init__(seed=seed, workers=workers)
        try:
            from generators.sim import SimLLM
        except ImportError:
            raise _PEError(
                "--model sim needs persona-evolve installed (the simulated world lives there); "
                "use a real model, e.g. --model openai/gpt-4o-mini"
            ) from None
        self._sim = SimLLM()

    def _call(self, messages, *, temperature, max_tokens, seed):
        return self._sim.respond("persona", messages, seed=seed)


class _PEModelLLM(_PESeededLLM):
    """The ``llm`` handle over a Concordia ``LanguageModel`` (``sample_text``); the system
    text, if any, is put before the prompt. Seeds are passed to ``sample_text``."""

    def __init__(self, model, *, seed=0, workers=16, max_tokens=4000):
        super().__init__(seed=seed, workers=workers)
        self.model = model
        self.default_max_tokens = int(max_tokens)

    def _call(self, messages, *, temperature, max_tokens, seed):
        prompt = "\n\n".join(m["content"] for m in messages)
        kwargs = {"max_tokens": int(max_tokens or self.default_max_tokens), "seed": int(seed) % (2**31)}
        if temperature is not None:
            kwargs["temperature"] = float(temperature)
        return str(self.model.sample_text(prompt, **kwargs))


def _pe_json_default(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _pe_check(result, n):
    """The personas as plain JSON-able dicts; each must be a dict with non-empty name and
    description. Raises _PEError naming the first problem."""
    import json

    if not isinstance(result, list):
        raise _PEError(f"generate() returned {type(result).__name__}, expected a list of dicts")
    out = []
    for i, persona in enumerate(result):
        if not isinstance(persona, dict):
            raise _PEError(f"persona {i}: is {type(persona).__name__}, expected a dict")
        for key in ("name", "description"):
            if not isinstance(persona.get(key), str) or not persona[key].strip():
                raise _PEError(f"persona {i}: '{key}' must be a non-empty string")
        try:
            out.append(
                json.loads(json.dumps(persona, ensure_ascii=False, default=_pe_json_default, allow_nan=False))
            )
        except (TypeError, ValueError) as exc:
            raise _PEError(f"persona {i}: not JSON-serialisable ({exc})") from None
    return out


def _pe_run(generate, context, n, llm, seed):
    """``generate(context, n, llm, rng)`` with the rng seeded as persona-evolve seeds it;
    returns the checked personas."""
    try:
        import numpy
    except ImportError:
        raise _PEError("numpy is not installed: pip install numpy") from None
    rng = numpy.random.default_rng(_pe_seed(int(seed), "rng", context.id))
    try:
        result = generate(context, int(n), llm, rng)
    except _PEError:
        raise
    except Exception as exc:
        raise _PEError(f"generate() failed: {type(exc).__name__}: {_pe_first_line(exc)}") from None
    return _pe_check(result, n)


def _pe_make_llm(args):
    import sys

    if args.model == "sim":
        llm = _PESimLLM(seed=args.seed, workers=args.workers)
        print(
            (
                "note: SIMULATED WORLD (model 'sim'): personas come from persona-evolve's test bed, not a "
                "real LLM"
            ),
            file=sys.stderr,
        )
        return llm
    import os

    keyless = args.model.split("/", 1)[0] in ("ollama", "ollama_chat")  # local servers need no key
    if args.api_key_env and not args.api_base and not keyless and not os.environ.get(args.api_key_env):
        raise _PEError(
            f"environment variable {args.api_key_env} is not set: it holds the API key for "
            f"{args.model} (export it, name another with --api-key-env, or use --api-base for a "
            "local server)"
        )
    return _PELiteLLM(
        args.model,
        api_base=args.api_base,
        api_key_env=args.api_key_env,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        timeout_s=args.timeout,
        workers=args.workers,
        seed=args.seed,
    )


def _pe_main(argv, generate, info, api_key_env):
    """Command line: run generate() on a context JSON file, write personas as JSONL.
    Returns the exit code (0 ok, 1 error with one 'error: ...' line on stderr)."""
    import argparse
    import json
    import sys

    program = (info or {}).get("program", {})
    parser = argparse.ArgumentParser(
        description=f"Exported persona-evolve generator {program.get('id', '')}"
        + (" [scores SIMULATED]" if (info or {}).get("simulated") else "")
        + ": write n personas for a context as JSONL."
    )
    parser.add_argument("--context", required=True, help="context JSON file (id, description, axes)")
    parser.add_argument("-n", type=int, default=25, help="number of personas (default 25)")
    parser.add_argument(
        "--model", required=True, help="litellm model string (e.g. openai/gpt-4o-mini), or 'sim'"
    )
    parser.add_argument("--api-base", help="base URL of an OpenAI-compatible server")
    parser.add_argument(
        "--api-key-env",
        default=api_key_env,
        help=f"environment variable holding the API key (default {api_key_env})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the program's rng and model calls (default 0)"
    )
    parser.add_argument("--out", help="output JSONL file (default: stdout)")
    parser.add_argument("--temperature", type=float, help="default temperature of the model calls")
    parser.add_argument("--max-tokens", type=int, help="default max_tokens of the model calls")
    parser.add_argument("--workers", type=int, default=16, help="concurrent model calls (default 16)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per model call (default 120)")
    args = parser.parse_args(argv)
    try:
        if args.n < 1:
            raise _PEError("-n must be >= 1")
        context = _pe_load_context(args.context)
        llm = _pe_make_llm(args)
        personas = _pe_run(generate, context, args.n, llm, args.seed)
        if len(personas) != args.n:
            print(
                f"warning: generate() returned {len(personas)} personas, {args.n} were asked for",
                file=sys.stderr,
            )
        text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in personas)
        if args.out:
            try:
                with open(args.out, "w", encoding="utf-8") as fh:
                    fh.write(text)
            except OSError as exc:
                raise _PEError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
            print(f"wrote {len(personas)} personas to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    except _PEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


class _PEConcordiaGenerator:
    """A Concordia persona generator over an evolved ``generate(context, n, llm, rng)``.

    Subclasses set ``_pe_generate`` (the program's function). ``model`` is a Concordia
    ``LanguageModel``; ``seed`` seeds the program's rng and the model calls; ``workers``
    bounds concurrent ``sample_text`` calls."""

    _pe_generate = None

    def __init__(self, model, *, seed=0, workers=16):
        self._model = model
        self._seed = int(seed)
        self._workers = int(workers)

    def generate_diverse_persona_characteristics(
        self, initial_context, diversity_axes, num_personas, questionnaire=None
    ):
        """Stage 1: the evolved program writes ``num_personas`` personas for the context and
        axes; each is returned as its characteristics dict (``name``, ``description`` and the
        program's extra fields, plus ``initial_context``)."""
        context = _pe_context_from_axes(initial_context, diversity_axes)
        llm = _PEModelLLM(self._model, seed=self._seed, workers=self._workers)
        generate = type(self)._pe_generate
        personas = _pe_run(generate, context, int(num_personas), llm, self._seed)
        for persona in personas:
            persona["initial_context"] = str(initial_context)
        return personas

    def generate_single_persona_memories(self, persona_details):
        """Stage 2: the persona's description (the evolved program already expanded it) and
        any memories it wrote, as a list of strings."""
        out = []
        description = persona_details.get("description")
        if isinstance(description, str) and description.strip():
            out.append(description.strip())
        memories = persona_details.get("memories")
        if isinstance(memories, (list, tuple)):
            out.extend(str(m) for m in memories if str(m).strip())
        return out
