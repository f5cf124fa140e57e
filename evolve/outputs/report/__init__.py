"""The run report (report.md and its figures, next to the database): the writer and
figures (``writer``), the content shared with the viewer's report page (``content``) and
the cost/diversity front section (``front``). Import from the modules themselves.
"""
