"""What a run is made of, shared by the config, the loop, the budget and the promotion.

The train/validation/test context sets (``context_sets``), the common-random-number seeds
of evaluations (``evaluation_seeds``), the ``[search]`` switches (``search``), the seed
programs a run starts from (``seed_programs``) and the run's counters (``run_stats``).
A leaf: nothing here imports the loop, the budget, the promotion or the outputs (the config
imports it, so it must stay below everything that reads the config). Import from the
modules themselves.
"""
