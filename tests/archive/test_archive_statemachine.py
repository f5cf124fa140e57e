"""Stateful property test: random adds, migrations, resets and reopen cycles keep the
archive equal to a reference model, and close/reopen gives identical elites and stats."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from archive import AddStatus, Archive, ArchiveConfig, DescriptorSpec, program_id
from archive.binning import cell_of
from archive.testing import synthetic_candidate, synthetic_code, synthetic_personas

CFG = ArchiveConfig(
    islands=3,
    descriptors=(DescriptorSpec("a", 0, 1, 3), DescriptorSpec("b", 1, 100, 3, log=True)),
    migration_interval=4,
    migration_count=2,
    stagnation_evals=3,
    reset_fraction=0.5,
)
PERSONAS = synthetic_personas(3, chars=20)

item = st.tuples(
    st.integers(0, 24),  # program (small pool: duplicates happen)
    st.integers(0, 2),  # island
    st.floats(-0.2, 1.2, allow_nan=False),  # a (may clip)
    st.floats(0.5, 150, allow_nan=False),  # b (may clip)
    st.none() | st.floats(-1, 1, allow_nan=False),  # fitness (None -> failed)
)


class ArchiveMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="archive_sm_"))
        self.path = self.dir / "sm.db"
        self.arch = Archive.create(url_or_path=self.path, config=CFG, run_config={"t": 1}, seed=0)
        self.model: dict[tuple[int, tuple[int, ...]], tuple[str, float]] = {}
        self.known: set[str] = set()
        self.rng = np.random.default_rng(0)
        self.clipped = 0

    def teardown(self):
        self.arch.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _sync(self):
        self.model = {(e.island, e.cell): (e.program_id, e.fitness) for e in self.arch.grid().elites}

    @rule(items=st.lists(item, min_size=1, max_size=4))
    def add(self, items):
        cands = []
        for code_i, island, a, b, fit in items:
            c = synthetic_candidate(
                code_i,
                self.rng,
                contexts=1,
                personas=3,
                axes=2,
                island=island,
                descriptors={"a": a, "b": b},
                fitness=0.0 if fit is None else fit,
                code=synthetic_code(code_i, body_lines=2),
                persona_dicts=PERSONAS,
            )
            if fit is None:
                c = type(c)(c.program, c.evaluation, c.descriptors, error="boom")
            cands.append(c)
        results = self.arch.add(cands)
        assert len(results) == len(cands)
        for (code_i, island, a, b, fit), r in zip(items, results):
            pid = program_id(synthetic_code(code_i, body_lines=2))
            assert r.program_id == pid
            if pid in self.known:
                assert r.status is AddStatus.DUPLICATE
                continue
            self.known.add(pid)
            if fit is None:
                assert r.status is AddStatus.FAILED and r.error == "boom"
                continue
            cell, clipped = cell_of(CFG.descriptors, {"a": a, "b": b})
            assert r.cell == cell and r.clipped == clipped
            self.clipped += len(clipped)
            cur = self.model.get((island, cell))
            if cur is None:
                assert r.status is AddStatus.NEW_CELL
                self.model[(island, cell)] = (pid, fit)
            elif fit > cur[1]:
                assert r.status is AddStatus.IMPROVED
                self.model[(island, cell)] = (pid, fit)
            else:
                assert r.status is AddStatus.NOT_IMPROVED

    @rule()
    def migrate(self):
        before = dict(self.model)
        n = self.arch.migrate()
        self._sync()
        changed = {k for k in self.model if before.get(k) != self.model[k]}
        assert len(changed) == n
        for k in changed:  # a migrant only takes an empty cell or beats the incumbent
            assert k not in before or self.model[k][1] > before[k][1]
        migrants = [e for e in self.arch.grid().elites if e.migrant_from is not None]
        for e in migrants:
            assert e.island == (e.migrant_from + 1) % CFG.islands or self._is_reset_seed(e)

    def _is_reset_seed(self, e):
        return any(
            ev["program_id"] == e.program_id and ev["island"] == e.island
            for ev in self.arch.events(kind="reset")
        )

    @rule(extra=st.integers(0, 6))
    def reset(self, extra):
        best = max((v[1] for v in self.model.values()), default=None)
        islands = self.arch.reset_stagnant_islands(now=self.arch.clock + extra)
        self._sync()
        for i in islands:
            cells = [v for (isl, _), v in self.model.items() if isl == i]
            assert len(cells) == 1 and cells[0][1] == best

    @rule()
    def reopen(self):
        snap = (
            self.arch.grid(),
            self.arch.qd_stats(),
            self.arch.counts(),
            [v.id for v in self.arch.top(5)],
            self.arch.clock,
        )
        self.arch.close()
        self.arch = Archive.open(url_or_path=self.path)
        assert (
            self.arch.grid(),
            self.arch.qd_stats(),
            self.arch.counts(),
            [v.id for v in self.arch.top(5)],
            self.arch.clock,
        ) == snap
        assert self.arch._grids.elites() == list(self.arch.grid().elites)

    @invariant()
    def grid_matches_model(self):
        got = {(e.island, e.cell): (e.program_id, e.fitness) for e in self.arch.grid().elites}
        assert got == self.model
        assert self.arch._grids.elites() == list(self.arch.grid().elites)  # cache == database
        assert sum(self.arch.counts()["clipped"].values()) == self.clipped
        assert self.arch.qd_stats()["filled"] == len(self.model)


ArchiveMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestArchiveMachine = ArchiveMachine.TestCase
