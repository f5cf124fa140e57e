"""Persistent MAP-Elites archive with islands (SQLite through SQLAlchemy).

Schema: docs/SCHEMA.md. Entry point: ``Archive.create`` / ``Archive.open``.
"""

from .binning import DescriptorError, bin_edges, bin_index, cell_of
from .core import Archive, ArchiveReadOnlyError
from .identity import ProgramSyntaxError, normalise, program_id
from .migrations import SchemaError
from .records import (
    DEFAULT_DESCRIPTORS,
    METRIC_NAMES,
    STAGES,
    AddResult,
    AddStatus,
    ArchiveConfig,
    Candidate,
    ContextResult,
    ContextView,
    DescriptorSpec,
    EliteView,
    EvaluationRecord,
    EvaluationView,
    GridView,
    MutationInfo,
    PersonaView,
    ProgramRecord,
    ProgramView,
    declared_spec,
)
from .runlog import RunLog
from .schema import SCHEMA_VERSION
from .selection import ParentStrategy
from .store import ArchiveLockedError

__all__ = [
    "Archive",
    "ArchiveReadOnlyError",
    "RunLog",
    "ArchiveLockedError",
    "SchemaError",
    "SCHEMA_VERSION",
    "ProgramSyntaxError",
    "DescriptorError",
    "normalise",
    "program_id",
    "bin_edges",
    "bin_index",
    "cell_of",
    "DEFAULT_DESCRIPTORS",
    "METRIC_NAMES",
    "STAGES",
    "AddResult",
    "AddStatus",
    "ArchiveConfig",
    "Candidate",
    "ContextResult",
    "ContextView",
    "DescriptorSpec",
    "EliteView",
    "EvaluationRecord",
    "EvaluationView",
    "GridView",
    "MutationInfo",
    "PersonaView",
    "ProgramRecord",
    "ProgramView",
    "ParentStrategy",
    "declared_spec",
]
