"""Where evaluations run: Ray start-up (``ray_runtime``), the sandboxed evaluation worker
(``workers``) and its spec built from a run config (``worker_config``), the async evaluator
the loop awaits (``evaluator``) and the small protocols the controller needs from its
collaborators (``protocols``). Import from the modules themselves.
"""
