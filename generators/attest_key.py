"""The key that attests sim text outside an evaluation (``generate`` -> file -> ``score``).

One 32-byte key per user, in ``$XDG_CACHE_HOME/persona-evolve/sim-attestation.key`` (or
``~/.cache/persona-evolve/...`` when ``XDG_CACHE_HOME`` is unset or not absolute), written as
64 hex characters on first use by ``generate --model sim``: directory 0700, file 0600, owned
by the user. A sandboxed program never reads it: Landlock leaves only the program's temporary
directory and the interpreter's libraries readable, the child runs under its own uid when the
worker is root, and the key's directory is among
:func:`generators.sandbox.child_paths.deny_read_prefixes` (the weak sandbox's guard).

A key file that others may read or write, that is not a regular file of this user or that
does not hold 64 hex characters is refused with one line (:class:`AttestationKeyError`),
never silently replaced: replacing it would void every file attested with it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

__all__ = ["AttestationKeyError", "KEY_FILE", "key_dir", "key_path", "load_key"]

KEY_FILE = "sim-attestation.key"
_KEY_BYTES = 32


class AttestationKeyError(Exception):
    """The key file exists but cannot be trusted or read (one-line message naming the file)."""


def key_dir() -> Path:
    """``$XDG_CACHE_HOME/persona-evolve`` (when set and absolute), else ``~/.cache/persona-evolve``.
    Read at every call; nothing is created."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "persona-evolve"


def key_path() -> Path:
    """Where the attestation key lives (:func:`key_dir` / :data:`KEY_FILE`)."""
    return key_dir() / KEY_FILE


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise AttestationKeyError(f"{path}: cannot open the sim attestation key ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise AttestationKeyError(f"{path}: the sim attestation key is not a regular file")
        if st.st_uid != os.getuid():
            raise AttestationKeyError(
                f"{path}: the sim attestation key belongs to uid {st.st_uid}, not to you"
            )
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise AttestationKeyError(
                f"{path}: the sim attestation key is open to others (mode {mode:04o}); "
                f"run 'chmod 600 {path}' (or delete it: a new key voids files attested with this one)"
            )
        raw = os.read(fd, 4 * _KEY_BYTES)
    finally:
        os.close(fd)
    text = raw.decode("ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise AttestationKeyError(
            f"{path}: not a sim attestation key (expected {2 * _KEY_BYTES} hex characters)"
        )
    return key


def _create(path: Path) -> None:
    """Write a fresh key at ``path`` atomically (0600); if another process made one first, keep it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, (secrets.token_hex(_KEY_BYTES) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if a key appeared meanwhile: that one wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def load_key(*, create: bool) -> bytes | None:
    """The 32-byte attestation key. Missing: made first when ``create`` (``generate``), else
    None (``score``: nothing can be verified). Raises :class:`AttestationKeyError` (one line)
    for a key file that cannot be trusted or read."""
    path = key_path()
    if not os.path.lexists(path):
        if not create:
            return None
        try:
            _create(path)
        except OSError as exc:
            raise AttestationKeyError(
                f"{path}: cannot create the sim attestation key ({exc.strerror})"
            ) from None
    return _read(path)
