"""The simulated world (model name ``sim``): a seeded, deterministic simulator of an
instruction-following LLM with known pathologies (mode collapse, softened extremes,
run-to-run noise, cross-axis leakage, batch anchoring). A labelled test bed: every text it
writes says ``[SIMULATED]``. Its text is authenticated: its readers believe only trait
sentences it wrote in the same evaluation (:mod:`generators.sim.ledger`).
"""

from generators.sim.inprocess import SimProgramLLM, load_program, run_program
from generators.sim.knobs import SimKnobs
from generators.sim.ledger import SimLedger
from generators.sim.llm import SimLLM
from generators.sim.text import SIM_TAG, decode_traits, default_point

__all__ = [
    "SIM_TAG",
    "SimKnobs",
    "SimLLM",
    "SimLedger",
    "SimProgramLLM",
    "decode_traits",
    "default_point",
    "load_program",
    "run_program",
]
