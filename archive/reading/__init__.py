"""The reads behind :class:`archive.reader.ArchiveReader`, one concept per module.

Each module holds the frozen values it returns and plain functions over a SQLAlchemy
``Connection`` and a run id (or over values already read); none writes, none opens an
engine. ``ArchiveReader`` (``archive/reader.py``) owns the read-only engine and the
connections, and its methods delegate here:

* :mod:`.errors` -- ReaderError / UnknownProgramError and one-line messages;
* :mod:`.connect` -- opening a read-only engine at a run, picking a run;
* :mod:`.runs` -- runs, status, counters, LLM spend;
* :mod:`.events` -- the event log and the proposal evaluations the budget counts;
* :mod:`.budget` -- use of each budget cap;
* :mod:`.labels` -- simulated-world and weak-sandbox labels;
* :mod:`.programs` -- program ids, labels, seeds, lineage;
* :mod:`.evaluations` -- choosing a program's best / latest evaluation;
* :mod:`.champion` -- which program is the run's champion;
* :mod:`.contexts` -- persona texts and positions per context.

Import the public names from :mod:`archive.reader`; these modules are its internals.
"""
