"""Concordia interoperability (Google DeepMind's Concordia, the Persona Generators paper).

* :mod:`generators.concordia.environment` — which Python (>= 3.12, with gdm-concordia)
  runs Concordia generators, and the one-line error when there is none;
* :mod:`generators.concordia.questionnaire` — Concordia questionnaire JSON -> contexts;
* :mod:`generators.concordia.wrap` — ``concordia:FILE.py[:Class]`` -> an evolvable program
  whose ``generate(context, n, llm, rng)`` drives the class through a ``LanguageModel``
  adapter over the sandbox's ``llm`` proxy (``generators/sandbox/inside/sandbox_concordia.py``).
"""
