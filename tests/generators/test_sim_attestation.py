"""Attested sim text in population files (generators.sim.attestation, attest_key): what is
signed, what verifies after copying or editing, and the key file's rules."""

from __future__ import annotations

import os
import re
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.attest_key import AttestationKeyError, key_dir, key_path, load_key
from generators.population_record import RECORD_KEY, asked_n, origin_of, stamp
from generators.respondent import persona_text
from generators.sandbox.child_paths import deny_read_prefixes
from generators.sim import SimLedger, SimLLM, decode_traits
from generators.sim.attestation import attest, sentence_count, verify

DECL = (
    "- union_loyalty: loyalty to the union (low = goes it alone; high = union first)\n"
    "- automation_fear: fear of automation (low = welcomes cranes; high = fears losing the job)"
)
_DESC = re.compile(r"^Name: (?P<name>.+)\nDescription: (?P<desc>.+)$", re.MULTILINE)
KEY = bytes(range(32))
CTX_ID = "test_harbour"


def _population(
    rows: list[tuple[float, float]], *, population: str, seed: int = 0, key: bytes = KEY
) -> list[dict]:
    """Personas the sim writes for target rows, stamped and attested as ``generate`` does."""
    ledger = SimLedger()
    blocks = "\n".join(
        f"Persona {i + 1}: union_loyalty: {u:.2f}, automation_fear: {f:.2f}" for i, (u, f) in enumerate(rows)
    )
    reply = SimLLM(ledger=ledger).respond(
        "persona", [{"role": "user", "content": f"{DECL}\nBe extreme and vivid.\n{blocks}"}], seed=seed
    )
    personas = [{"name": m.group("name"), "description": m.group("desc")} for m in _DESC.finditer(reply)]
    assert len(personas) == len(rows)
    return attest(stamp(personas, context=CTX_ID, n=len(rows), population=population), ledger, key)


ROWS = [(0.0, 1.0), (1.0, 0.0), (0.2, 0.3), (0.8, 0.9), (0.5, 0.1)]


def test_attested_population_reads_as_the_sim_wrote_it():
    pop = _population(ROWS, population="a" * 16)
    checked = verify(pop, CTX_ID, KEY)
    assert checked.unverified_sentences == 0 and checked.unverified_personas == 0
    assert checked.stated == [decode_traits(persona_text(p)) for p in pop]
    assert all(len(s) == 2 for s in checked.stated)


def test_wrong_key_other_context_or_no_key_verifies_nothing():
    pop = _population(ROWS, population="a" * 16)
    total = sum(sentence_count(p) for p in pop)
    for key, ctx in ((bytes(32), CTX_ID), (KEY, "another_context"), (None, CTX_ID)):
        checked = verify(pop, ctx, key)
        assert checked.stated == [{}] * len(pop)
        assert checked.unverified_sentences == total and checked.unverified_personas == len(pop)


def test_a_sentence_moved_to_another_persona_verifies_nowhere():
    pop = _population(ROWS, population="a" * 16)
    sentence = re.search(r"When it comes to union_loyalty[^.]*\.", pop[0]["description"]).group(0)
    moved = [dict(p) for p in pop]
    moved[0]["description"] = pop[0]["description"].replace(sentence, "")
    moved[1]["description"] = sentence + " " + pop[1]["description"]
    checked = verify(moved, CTX_ID, KEY)
    assert checked.stated[0] == {} and checked.stated[1] == {}  # both MACs broken
    assert checked.stated[2:] == verify(pop, CTX_ID, KEY).stated[2:]


def test_text_around_the_sentences_may_change():
    pop = _population(ROWS, population="a" * 16)
    edited = [dict(p, description="Profile: " + p["description"] + " (kept as written)") for p in pop]
    assert verify(edited, CTX_ID, KEY).stated == verify(pop, CTX_ID, KEY).stated


def test_personas_copied_from_another_file_or_duplicated_do_not_verify():
    a = _population(ROWS, population="a" * 16, seed=1)
    b = _population([(1.0, 1.0)] * 5, population="b" * 16, seed=2)
    mixed = a[:3] + b[3:]  # indices 0-2 of a, then 3-4 of b
    checked = verify(mixed, CTX_ID, KEY)
    assert all(checked.stated[:3]) and checked.stated[3:] == [{}, {}]
    doubled = a + [a[0]]
    assert verify(doubled, CTX_ID, KEY).stated[-1] == {}
    assert asked_n(mixed) == 10 and asked_n(a) == 5  # two populations of 5 asked for


def test_a_forged_attestation_or_malformed_record_verifies_nothing():
    pop = _population(ROWS, population="a" * 16)
    forged = [dict(p) for p in pop]
    forged[0] = {**pop[0], RECORD_KEY: {**pop[0][RECORD_KEY], "index": 1}}
    forged[1] = {**pop[1], RECORD_KEY: {**pop[1][RECORD_KEY], "sim": {"sentences": [1, 0], "mac": "00"}}}
    forged[2] = {**pop[2], RECORD_KEY: {**pop[2][RECORD_KEY], "sim": {"sentences": [0, 1, 9], "mac": "x"}}}
    forged[3] = {k: v for k, v in pop[3].items() if k != RECORD_KEY}
    checked = verify(forged, CTX_ID, KEY)
    assert checked.stated[:4] == [{}] * 4 and checked.stated[4]
    with pytest.raises(ValueError, match="persona_evolve.n"):
        origin_of({RECORD_KEY: {"context": "c", "population": "p", "n": 0, "index": 0}})


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["swap", "copy_sentence", "dup", "from_b", "drop"]),
            st.integers(0, 4),
            st.integers(0, 4),
        ),
        max_size=6,
    )
)
def test_whatever_is_copied_a_verified_persona_reads_what_the_sim_wrote_at_its_index(ops):
    a = _population(ROWS, population="a" * 16, seed=3)
    b = _population([(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (0.5, 0.5)], population="b" * 16, seed=4)
    truth = {
        (p[RECORD_KEY]["population"], p[RECORD_KEY]["index"]): decode_traits(persona_text(p)) for p in a + b
    }
    pop = [dict(p) for p in a]
    for op, i, j in ops:
        i, j = i % len(pop), j % len(pop)
        if op == "swap":
            di, dj = pop[i]["description"], pop[j]["description"]
            pop[i], pop[j] = dict(pop[i], description=dj), dict(pop[j], description=di)
        elif op == "copy_sentence":
            found = re.findall(r"When it comes to [^.]*\.", pop[i]["description"])
            if found:
                pop[j] = dict(pop[j], description=found[-1] + " " + pop[j]["description"])
        elif op == "dup":
            pop.append(dict(pop[i]))
        elif op == "from_b":
            pop[i] = dict(b[i % len(b)])
        elif op == "drop" and len(pop) > 2:
            pop.pop(i)
    checked = verify(pop, CTX_ID, KEY)
    verified = [
        (p[RECORD_KEY]["population"], p[RECORD_KEY]["index"], s) for p, s in zip(pop, checked.stated) if s
    ]
    assert len({v[0] for v in verified}) <= 1  # one population
    assert len({v[1] for v in verified}) == len(verified)  # each index once
    for population, index, stated in verified:  # exactly what the sim wrote for that persona
        assert stated == truth[(population, index)]
    pairs = list(zip(pop, checked.stated))
    assert checked.unverified_sentences == sum(sentence_count(p) - len(s) for p, s in pairs)


# ---- the key file -------------------------------------------------------------------------


def test_key_is_made_once_private_and_in_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert key_path() == tmp_path / "cache" / "persona-evolve" / "sim-attestation.key"
    assert load_key(create=False) is None and not key_path().exists()
    key = load_key(create=True)
    assert key is not None and len(key) == 32 and load_key(create=False) == key
    assert stat.S_IMODE(key_path().stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir().stat().st_mode) == 0o700
    assert str(key_dir()) in deny_read_prefixes()  # the weak sandbox's guard refuses it too


def test_without_xdg_the_key_is_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert key_path() == tmp_path / ".cache" / "persona-evolve" / "sim-attestation.key"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # not absolute: ignored, as the spec says
    assert key_path().parent == tmp_path / ".cache" / "persona-evolve"


@pytest.mark.parametrize(
    "mode, content, message",
    [
        (0o644, "ab" * 32, "open to others (mode 0644); run 'chmod 600"),
        (0o660, "ab" * 32, "open to others (mode 0660)"),
        (0o600, "not a key", "not a sim attestation key (expected 64 hex characters)"),
    ],
)
def test_a_key_file_that_cannot_be_trusted_is_refused_in_one_line(
    tmp_path, monkeypatch, mode, content, message
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = key_path()
    path.parent.mkdir(parents=True)
    path.write_text(content)
    os.chmod(path, mode)
    for create in (True, False):
        with pytest.raises(AttestationKeyError) as exc:
            load_key(create=create)
        text = str(exc.value)
        assert str(path) in text and message in text and "\n" not in text
    assert path.read_text() == content  # never replaced


def test_a_symlinked_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    target = tmp_path / "elsewhere.key"
    target.write_text("ab" * 32)
    os.chmod(target, 0o600)
    key_path().parent.mkdir(parents=True)
    key_path().symlink_to(target)
    with pytest.raises(AttestationKeyError, match="cannot open"):
        load_key(create=True)
