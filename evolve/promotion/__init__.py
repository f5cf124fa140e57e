"""Promotion: how a child becomes an island's elite and a champion is crowned.

The race rule deciding a promotion from paired scores (``race_rule``), the racer that
evaluates replicates until the rule decides (``racer``), the validated champion and its
interval (``champion``), robust selection across simulated worlds at the end
(``robust``), races that pay for themselves: skip the hopeless, stop the settled (``reach``),
and re-scoring programs in
another world (``world_rescore``). Import from the modules themselves.
"""
