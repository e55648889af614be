"""The on-disk compile cache: content-addressed, private, atomic.

Layout: ``<root>/<k[:2]>/<k>/`` holds the generated C files, the built
library and ``meta.json`` (the key and the SHA-256 of the library).  The
key hashes the generated source and every build input (see
:func:`algebrac.cpu.build.toolchain_id`), so a change to the renderer, the
compiler, the flags or the host CPU gives a new entry; nothing needs a manual
version bump.

A second, small tier maps a *formula key* (a hash of the SymPy input, the
options and algebrac's own source) to an entry key, so a warm hit in a fresh
process skips simplification, lowering and rendering (``index/``).

Safety: the root is created ``0700``; an entry is loaded only if it is owned
by the current user, not writable by anyone else, and its extension's hash
matches the ``meta.json`` written when it was built.  Entries are built in a
private temporary directory next to their final place and published with one
``rename``, under a per-key file lock, so concurrent processes neither see a
half-written entry nor build the same kernel twice.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from filelock import FileLock

from .. import config
from ..errors import CacheError, CompileError

__all__ = ["root", "entry_dir", "lock", "is_valid", "publish", "clear", "file_digest",
           "build_once"]


def root(create: bool = True) -> Path:
    """The cache root, created private (0700) if missing; refuses foreign or open dirs."""
    path = config.cache_dir()
    if create:
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise CacheError(f"cannot create the compile cache {path}: {err}") from err
    _check_private(path)
    return path


def _check_private(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid != os.getuid():
        raise CacheError(f"the compile cache {path} belongs to another user (uid {st.st_uid}); "
                         "set ALGEBRAC_CACHE_DIR to a directory of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheError(f"the compile cache {path} is writable by other users; run "
                         f"`chmod go-w {path}` or set ALGEBRAC_CACHE_DIR to a private directory")


def entry_dir(key: str) -> Path:
    return root() / key[:2] / key


def _shard(key: str) -> Path:
    shard = root() / key[:2]
    shard.mkdir(mode=0o700, exist_ok=True)
    return shard


def lock(key: str) -> FileLock:
    return FileLock(str(_shard(key) / f"{key}.lock"))


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def is_valid(entry: Path, key: str, artifact: str) -> bool:
    """True when ``entry`` is a complete entry this user wrote for ``key``."""
    meta_path = entry / "meta.json"
    so_path = entry / artifact
    try:
        if not all(_ours(p) for p in (entry, meta_path, so_path)):
            return False
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    return meta.get("key") == key and meta.get("sha256") == file_digest(so_path)


def _ours(path: Path) -> bool:
    """``path`` is no symlink, is owned by this user and writable by nobody else."""
    st = path.lstat()
    return not (stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid()
                or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def new_build_dir(key: str) -> Path:
    """A private temporary directory beside the entry's final place."""
    return Path(tempfile.mkdtemp(prefix=f".tmp-{key[:16]}-", dir=_shard(key)))


def publish(build_dir: Path, key: str, artifact: str, extra: dict) -> Path:
    """Write ``meta.json`` and move ``build_dir`` into place atomically."""
    meta = dict(extra, key=key, sha256=file_digest(build_dir / artifact))
    (build_dir / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    # is_valid refuses group/world-writable files, which a umask of 002 produces.
    for p in build_dir.iterdir():
        p.chmod(stat.S_IMODE(p.stat().st_mode) & ~(stat.S_IWGRP | stat.S_IWOTH))
    final = entry_dir(key)
    if final.is_symlink() or final.is_file():  # planted, never followed (is_valid refused it)
        final.unlink()
    elif final.exists():  # a stale or invalid entry (we hold the lock): replace it
        shutil.rmtree(final, ignore_errors=True)
    os.rename(build_dir, final)
    return final


def build_once(key: str, artifact: str, build, extra: dict) -> tuple[Path, str]:
    """``(entry, how)``: the valid entry of ``key``, or one ``build(build_dir)`` (which
    writes ``artifact`` there) makes and :func:`publish` puts in place, under the key's
    lock so that concurrent processes build it once.  A ``CompileError`` keeps its
    build directory (the error's ``source_path`` points into it)."""
    entry = entry_dir(key)
    if is_valid(entry, key, artifact):
        return entry, "cache hit"
    with lock(key):
        if is_valid(entry, key, artifact):  # another process built it meanwhile
            return entry, "cache hit (after waiting)"
        build_dir = new_build_dir(key)
        try:
            build(build_dir)
        except CompileError:
            raise
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
        return publish(build_dir, key, artifact, extra), "cache miss, built"


def _index_path(formula_key: str) -> Path:
    return root() / "index" / formula_key[:2] / f"{formula_key}.json"


def index_lookup(formula_key: str) -> str | None:
    """The entry key recorded for a formula key, if this user recorded one."""
    path = _index_path(formula_key)
    try:
        if not _ours(path):
            return None
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    key = record.get("entry") if isinstance(record, dict) else None
    return key if isinstance(key, str) and len(key) == 64 else None


def index_store(formula_key: str, key: str) -> None:
    """Record (atomically) that ``formula_key`` compiles to the entry ``key``."""
    path = _index_path(formula_key)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump({"entry": key}, f)
    os.replace(tmp, path)


def clear() -> None:
    """Delete every entry of the compile cache (the directory itself stays).

    >>> import algebrac
    >>> algebrac.cache.clear()
    """
    path = config.cache_dir()
    if not path.exists():
        return
    _check_private(path)
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
