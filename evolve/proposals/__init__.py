"""Proposals: what the mutator is asked and what comes back.

The mutation prompt (``prompts``) and its directives (``directives``), the SEARCH/REPLACE
diff and full-rewrite parsing (``diffs``), turning a mutator's reply into a checked child
program (``proposal``) and the cheap checks that reject one before it costs an evaluation
(``checks``). Import from the modules themselves.
"""
