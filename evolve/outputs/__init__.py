"""Everything a run shows or writes for people: the live progress panel (``progress``), the
report next to the database (``report/``), the standalone export of a program (``export``
and the runner it embeds, ``export_runner``), read-only inspection of an archive
(``inspect/``), the local web viewer (``viewer/``), the SIMULATED / WEAK SANDBOX label texts
(``labels``) and escaping of untrusted text (``safe_text``). Import from the modules themselves.
"""
