"""The budget: the caps a run stops at and what it has spent.

The caps and the allowance gate that keeps in-flight work under them (``caps``), the upper
bounds charged for evaluations killed before they could report (``killed``), the estimate of
a run before it starts (``estimate``) and the LLM-call ledger by stage and role (``spend``).
Import from the modules themselves.
"""
