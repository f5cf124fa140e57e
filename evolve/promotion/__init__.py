"""Promotion: how a child becomes an island's elite and a champion is crowned.

The race rule deciding a promotion from paired scores (``race_rule``), the racer that
evaluates replicates until the rule decides (``racer``), the validated champion and its
interval (``champion``), robust selection across simulated worlds at the end
(``robust``), races that pay for themselves by skipping the hopeless and stopping the
settled (``reach``) and re-scoring programs under every simulated world
(``world_rescore``). Import from the modules themselves.
"""
