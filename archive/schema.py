"""SQLAlchemy 2 models of the archive database and its schema version.

Documented for humans in docs/SCHEMA.md. Table names are part of the public interface
(people query a run with plain SQL): keep them stable, and bump SCHEMA_VERSION (with an
entry in ``archive.migrations.MIGRATIONS``) on any change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Version of the schema this code writes. A database with a higher version is refused.
SCHEMA_VERSION = 3
#: Marker stored in ``meta`` so foreign SQLite files are recognised.
APPLICATION = "persona-evolve-archive"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Meta(Base):
    """Key/value facts about the database: ``application``, ``schema_version``, ``created_by``."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32), default="running")
    seed: Mapped[int] = mapped_column(Integer)
    run_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    archive_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_migration_evals: Mapped[int] = mapped_column(Integer, default=0)


class Island(Base):
    __tablename__ = "islands"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    island: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_improved_evals: Mapped[int] = mapped_column(Integer, default=0)
    resets: Mapped[int] = mapped_column(Integer, default=0)


class Program(Base):
    __tablename__ = "programs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    code: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    island: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(128))
    operator: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    directive: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)


class RunProgram(Base):
    """Which run has seen which program (programs are content-addressed and shared)."""

    __tablename__ = "run_programs"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)


class _MetricColumns:
    coverage: Mapped[float | None] = mapped_column(Float)
    convex_hull_volume: Mapped[float | None] = mapped_column(Float)
    min_pairwise_distance: Mapped[float | None] = mapped_column(Float)
    mean_pairwise_distance: Mapped[float | None] = mapped_column(Float)
    dispersion: Mapped[float | None] = mapped_column(Float)
    kl_divergence: Mapped[float | None] = mapped_column(Float)
    metrics_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Evaluation(_MetricColumns, Base):
    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    stage: Mapped[str] = mapped_column(String(16))
    fitness: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    wall_s: Mapped[float] = mapped_column(Float, default=0.0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    n_contexts: Mapped[int] = mapped_column(Integer, default=0)
    keep_personas: Mapped[bool] = mapped_column(Boolean, default=False)
    descriptors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    #: v3: the evaluation's base seed (every context's program rng, persona-call and
    #: respondent seeds derive from it and the context id; NULL before v3)
    seed: Mapped[int | None] = mapped_column(Integer)
    #: v3: the common-random-numbers replicate the seed belongs to (programs evaluated at
    #: the same replicate used the same seeds: paired); NULL = a fresh, unpaired draw
    replicate: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_evaluations_run_program", "run_id", "program_id"),
        Index("ix_evaluations_run_stage_fitness", "run_id", "stage", "fitness"),
    )


class ContextResultRow(_MetricColumns, Base):
    __tablename__ = "context_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    context_id: Mapped[str] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    missing_answers: Mapped[int] = mapped_column(Integer, default=0)
    wall_s: Mapped[float] = mapped_column(Float, default=0.0)
    n_personas: Mapped[int] = mapped_column(Integer, default=0)
    n_axes: Mapped[int] = mapped_column(Integer, default=0)
    positions: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: an additive index (no schema version of its own): per-context reads (``inspect rare``,
    #: ``holes``, the per-context counts) without scanning every row; created on the next
    #: writable open of an archive that lacks it (``migrations.ensure_indexes``)
    __table_args__ = (Index("ix_context_results_context", "context_id", "n_personas", "evaluation_id"),)


class Persona(Base):
    __tablename__ = "personas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    context_result_id: Mapped[int] = mapped_column(ForeignKey("context_results.id"))
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    context_id: Mapped[str] = mapped_column(String(128))
    idx: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str | None] = mapped_column(Text)  # JSON object of the other persona fields
    position: Mapped[str | None] = mapped_column(Text)  # JSON array of K floats in [0, 1]
    # v2: region key ("<bins>:<cell>") when kept as its region's exemplar (never pruned), else NULL
    exemplar: Mapped[str | None] = mapped_column(String(40))
    __table_args__ = (Index("ix_personas_context_program", "context_id", "program_id"),)


class Elite(Base):
    __tablename__ = "elites"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    island: Mapped[int] = mapped_column(Integer, primary_key=True)
    cell: Mapped[str] = mapped_column(String(64), primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    fitness: Mapped[float] = mapped_column(Float)
    descriptors: Mapped[dict[str, Any]] = mapped_column(JSON)
    migrant_from: Mapped[int | None] = mapped_column(Integer)
    improved_at: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[float] = mapped_column(Float)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    ts: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    program_id: Mapped[str | None] = mapped_column(String(64))
    island: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (
        Index("ix_events_run_program", "run_id", "program_id"),
        Index("ix_events_run_kind", "run_id", "kind"),
    )


class LLMCall(Base):
    __tablename__ = "llm_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    ts: Mapped[float] = mapped_column(Float)
    role: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    program_id: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (Index("ix_llm_calls_run_role", "run_id", "role"),)


class Counter(Base):
    """Per-run tallies updated in the same transaction as the rows they count."""

    __tablename__ = "counters"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


TABLES = Base.metadata.sorted_tables
