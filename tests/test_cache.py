"""The on-disk compile cache (GUIDE: Caching; reliability matrix, item 6).

Every test works in a cache directory of its own (``private_cache`` or a
fresh one handed to child processes), and every formula carries a constant
of its own, so no test sees another's entries or the in-process memo.
Cross-process behaviour (concurrent builds, a killed build, hits in a fresh
process, hash-seed determinism) runs real ``python -c`` children: never
fork, libgomp is not fork-safe.  ``ALGEBRAC_DEBUG=1`` makes each build print
``algebrac: _ac_<key>: <how> in <t>s``, which is what the tests read; they
never assert on timings.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
import algebrac.ufunc as ufunc_mod
from algebrac import config
from algebrac.frontdoor import Memo
from algebrac.cpu import build, cache
from algebrac.cpu.render import Source

HOW = re.compile(r"algebrac: (_ac_[0-9a-f]{16}): (.+?) in [0-9.]+s$", re.MULTILINE)
KEY = re.compile(r"^[0-9a-f]{64}$")
TIMEOUT = 240  # generous: a hung child is a failure, a slow machine is not


def entries(root: Path) -> list:
    """Published entries (not the hidden build directories)."""
    return sorted(p for p in Path(root).glob("??/*") if KEY.match(p.name))


def only_entry(root: Path) -> Path:
    found = entries(root)
    assert len(found) == 1, found
    return found[0]


def artifact_of(entry: Path) -> Path:
    (so,) = [p for p in entry.iterdir() if p.name.endswith(build._EXT)]
    return so


def valid(entry: Path) -> bool:
    return cache.is_valid(entry, entry.name, f"_ac_{entry.name[:16]}{build._EXT}")


def hows(text: str) -> list:
    return [m.group(2) for m in HOW.finditer(text)]


def forget_in_process(monkeypatch):
    """Drop the in-process memos so the next compile goes to the disk cache."""
    monkeypatch.setattr(build, "_memo", {})
    monkeypatch.setattr(ufunc_mod, "_memo", Memo())


def formula(c: float):
    x, y = sp.symbols("x y")
    return [sp.sin(x) * y + c * sp.exp(-x * y), sp.cos(x) - c], [x, y]


def check(uf, c: float):
    xs = np.linspace(-1, 1, 101)
    got = uf(xs, 0.5)
    np.testing.assert_allclose(got[0], np.sin(xs) * 0.5 + c * np.exp(-xs * 0.5), rtol=1e-13)
    np.testing.assert_allclose(got[1], np.cos(xs) - c, rtol=1e-13)


# A child process: optional barrier, then compile ``formula(c)`` and check it.
CHILD = textwrap.dedent(r"""
    import os, sys, time
    from pathlib import Path
    import numpy as np, sympy as sp, algebrac as ac
    barrier = os.environ.get("AC_TEST_BARRIER")
    if barrier:
        folder, count = barrier.rsplit(":", 1)
        Path(folder, str(os.getpid())).touch()
        deadline = time.monotonic() + 200
        while len(os.listdir(folder)) < int(count):
            if time.monotonic() > deadline:
                sys.exit("barrier timeout")
            time.sleep(0.005)
    c = float(sys.argv[1])
    x, y = sp.symbols("x y")
    uf = ac.compile([sp.sin(x) * y + c * sp.exp(-x * y), sp.cos(x) - c], [x, y])
    xs = np.linspace(-1, 1, 101)
    got = uf(xs, 0.5)
    ok = (np.allclose(got[0], np.sin(xs) * 0.5 + c * np.exp(-xs * 0.5), rtol=1e-13, atol=0)
          and np.allclose(got[1], np.cos(xs) - c, rtol=1e-13, atol=0))
    print("RESULT", "ok" if ok else "WRONG", uf.backend)
""")


def child_env(cache_dir: Path, **extra) -> dict:
    env = dict(os.environ, ALGEBRAC_CACHE_DIR=str(cache_dir), ALGEBRAC_DEBUG="1",
               ALGEBRAC_PROGRESS="0", **extra)
    env.pop("ALGEBRAC_NOCACHE", None)
    return env


def run_child(cache_dir: Path, c: float, umask: int | None = None,
              **extra) -> subprocess.CompletedProcess:
    old = os.umask(umask) if umask is not None else None  # the child inherits it
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, repr(c)],
                              env=child_env(cache_dir, **extra),
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)
    finally:
        if old is not None:
            os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert "RESULT ok cpu" in proc.stdout, (proc.stdout, proc.stderr)
    return proc


# -- location, layout, modes ---------------------------------------------------

def test_default_cache_dir_is_per_user(monkeypatch, tmp_path):
    monkeypatch.delenv("ALGEBRAC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    import platformdirs

    expected = Path(platformdirs.user_cache_dir("algebrac", appauthor=False))
    assert config.cache_dir() == expected
    if sys.platform.startswith("linux"):
        assert expected == tmp_path / "xdg" / "algebrac"
    root = cache.root()
    assert root == expected and stat.S_IMODE(root.stat().st_mode) == 0o700
    monkeypatch.setenv("ALGEBRAC_CACHE_DIR", "~/somewhere-else")
    assert config.cache_dir() == Path.home() / "somewhere-else"


def test_cold_compile_creates_a_private_complete_entry(private_cache, monkeypatch, capfd):
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    assert not private_cache.exists()
    uf = ac.compile(*formula(0.1001))
    check(uf, 0.1001)
    assert isinstance(uf.ufunc, np.ufunc)
    assert hows(capfd.readouterr().err) == ["cache miss, built"]
    assert stat.S_IMODE(private_cache.stat().st_mode) == 0o700
    entry = only_entry(private_cache)
    key = entry.name
    assert entry.parent.name == key[:2]
    name = f"_ac_{key[:16]}"
    so = artifact_of(entry)
    assert so.name == name + build._EXT
    assert uf.source.startswith((entry / f"{name}.c").read_text())  # kept for tracebacks
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["key"] == key and meta["module"] == name
    assert meta["sha256"] == hashlib.sha256(so.read_bytes()).hexdigest()
    for p in [entry, *entry.iterdir()]:
        assert not p.is_symlink()
        assert not stat.S_IMODE(p.lstat().st_mode) & (stat.S_IWGRP | stat.S_IWOTH), p
    assert valid(entry)
    assert not [p for p in private_cache.rglob(".tmp-*")]  # no build leftovers


def test_nocache_writes_nothing(private_cache, monkeypatch, capfd):
    monkeypatch.setenv("ALGEBRAC_NOCACHE", "1")
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    uf = ac.compile(*formula(0.1002))
    check(uf, 0.1002)
    assert hows(capfd.readouterr().err) == ["built (ALGEBRAC_NOCACHE)"]
    assert not private_cache.exists() or not any(private_cache.iterdir())


# -- the key -------------------------------------------------------------------

def _mutations():
    def cflags(mp, tmp):
        mp.setattr(build, "CFLAGS", build.CFLAGS + ("-DALGEBRAC_TEST_FLAG=1",))

    def compiler_command(mp, tmp):
        mp.setenv("ALGEBRAC_CC", shutil.which("gcc") or "gcc")

    def compiler_version(mp, tmp):
        mp.setattr(build, "_compiler_version", lambda cc: "gcc (Test) 99.1.0")

    def numpy(mp, tmp):
        mp.setattr(build.np, "__version__", "0.0.test")

    def algebrac(mp, tmp):
        mp.setattr(ac, "__version__", "0.0.test")

    def python_abi(mp, tmp):
        mp.setattr(build, "_ABI", ".cpython-399-test.so")

    def host_cpu(mp, tmp):
        mp.setattr(build, "_host_cpu", lambda: "another-cpu")

    def header(name):
        def mutate(mp, tmp):
            for h in ("algebrac_math.h", "algebrac_threads.h"):
                text = (build.HERE / h).read_text()
                (tmp / h).write_text(text + "\n/* changed */\n" if h == name else text)
            mp.setattr(build, "HERE", tmp)
        mutate.__name__ = name.removeprefix("algebrac_").replace(".h", "_header")
        return mutate

    return [cflags, compiler_command, compiler_version, numpy, algebrac,
            python_abi, host_cpu, header("algebrac_math.h"), header("algebrac_threads.h")]


@pytest.mark.parametrize("mutate", _mutations(), ids=lambda f: f.__name__)
def test_key_covers_every_build_input(mutate, monkeypatch, tmp_path):
    monkeypatch.setenv("ALGEBRAC_CC", "cc")
    source = Source("# some generated module\nufunc = None\n", ("mvec", "m"))
    before = build._key(source)
    assert KEY.match(before) and build._key(source) == before  # deterministic
    with monkeypatch.context() as mp:
        mutate(mp, tmp_path)
        changed = build._key(source)
    assert changed != before
    assert build._key(source) == before  # and nothing sticks


def test_key_covers_source_and_libraries():
    base = Source("ufunc = None\n", ("m",))
    keys = {build._key(s) for s in (base, Source("ufunc = None \n", ("m",)),
                                    Source("ufunc = None\n", ("mvec", "m")))}
    assert len(keys) == 3


def test_same_formula_reuses_one_entry_and_new_flags_add_one(private_cache, monkeypatch,
                                                              capfd):
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    c = 0.1003

    def compile_over(names):
        a, b = sp.symbols(names)
        return ac.compile([sp.sin(a) * b + c * sp.exp(-a * b), sp.cos(a) - c], [a, b])

    first = compile_over("x y")
    assert hows(capfd.readouterr().err) == ["cache miss, built"]
    entry = only_entry(private_cache)
    # Another spelling of the same formula renders the same source: same entry.
    second = compile_over("p q")
    assert second.source == first.source
    forget_in_process(monkeypatch)
    third = compile_over("u v")
    assert hows(capfd.readouterr().err) == ["cache hit"]
    assert only_entry(private_cache) == entry
    check(third, c)
    # Different compiler flags: a different key, a second entry beside the first.
    forget_in_process(monkeypatch)
    monkeypatch.setattr(build, "CFLAGS", build.CFLAGS + ("-DALGEBRAC_TEST_FLAG=1",))
    fourth = compile_over("s t")
    assert hows(capfd.readouterr().err) == ["cache miss, built"]
    check(fourth, c)
    assert fourth.ufunc is not first.ufunc
    both = entries(private_cache)
    assert len(both) == 2 and entry in both and all(valid(e) for e in both)


# -- several processes ---------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["umask022", "umask002"])
def test_fresh_process_reports_a_cache_hit(tmp_path, umask):
    """Also with umask 002 (user-private groups): files come out group-writable."""
    root = tmp_path / "cache"
    c = 0.2001 + umask * 1e-6
    cold = run_child(root, c, umask)
    assert hows(cold.stderr) == ["cache miss, built"]
    warm = run_child(root, c, umask)
    assert re.search(r"^algebrac: _ac_[0-9a-f]{16}: cache hit in [0-9.]+s$", warm.stderr, re.MULTILINE), \
        warm.stderr
    assert hows(warm.stderr) == ["cache hit"]
    assert len(entries(root)) == 1


def test_eight_processes_build_one_entry(tmp_path):
    root, gate = tmp_path / "cache", tmp_path / "gate"
    gate.mkdir()
    env = child_env(root, AC_TEST_BARRIER=f"{gate}:8")
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, "0.2002"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    try:
        outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "RESULT ok cpu" in out, (out, err)
    built = [h for _, err in outputs for h in hows(err)]
    assert len(built) == 8
    assert built.count("cache miss, built") == 1, built  # nobody built it twice
    assert all(h.startswith("cache hit") for h in built if h != "cache miss, built"), built
    entry = only_entry(root)
    assert valid(entry)
    assert not [p for p in root.rglob(".tmp-*")]


def test_killed_build_leaves_nothing_that_loads(tmp_path):
    root, started = tmp_path / "cache", tmp_path / "started"
    cc = tmp_path / "cc"
    cc.write_text(textwrap.dedent("""\
        #!/bin/sh
        # With AC_TEST_HANG set: write half an extension, signal, and hang (to be killed).
        if [ "$1" != "--version" ] && [ -n "$AC_TEST_HANG" ]; then
            out=""; prev=""
            for a in "$@"; do
                if [ "$prev" = "-o" ]; then out="$a"; fi
                prev="$a"
            done
            printf 'half-written' > "$out"
            touch "$AC_TEST_HANG"
            exec sleep 300
        fi
        exec gcc "$@"
        """))
    cc.chmod(0o755)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, "0.2003"],
                            env=child_env(root, ALGEBRAC_CC=str(cc), AC_TEST_HANG=str(started)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not started.exists():
            assert proc.poll() is None, "the child ended before reaching the compiler"
            assert time.monotonic() < deadline, "the child never reached the compiler"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and its hanging 'compiler'
        proc.wait()
    # It died holding the lock, with half an extension in its build directory.
    assert entries(root) == []
    # (the per-dtype C files compile in parallel: each wrote half an object file)
    leftovers = [p for p in root.rglob("*") if p.is_file() and p.read_bytes() == b"half-written"]
    assert leftovers and all(p.parent.name.startswith(".tmp-") for p in leftovers)
    # The next process neither waits for the dead one nor loads its remains.
    after = run_child(root, 0.2003, ALGEBRAC_CC=str(cc))
    assert hows(after.stderr) == ["cache miss, built"]
    entry = only_entry(root)
    assert valid(entry)
    assert artifact_of(entry).read_bytes() != b"half-written"


def test_source_is_identical_across_hash_seeds(tmp_path):
    code = textwrap.dedent(r"""
        import hashlib, sympy as sp, algebrac as ac
        x, y, z = sp.symbols("x y z")
        a, b, c = sp.exp(-x * y), sp.sin(x + z), sp.sqrt(x * x + y * y + 1)
        f = a * b + c + sp.log(1 + c * c) * b
        outs = [f, sp.diff(f, x), sp.diff(f, y), sp.diff(f, z),
                sp.Piecewise((a / c, x > y), (b * c, z < 0), (a + b, True)),
                sp.Max(x, y, z) + sp.Min(a, b) + sp.Piecewise((c, sp.And(x > 0, y > 0)), (-c, True))]
        uf = ac.compile(outs, [x, y, z])
        assert "?" in uf.source and uf.source.count("_ac_t") > 4, uf.source
        print(hashlib.sha256(uf.source.encode()).hexdigest())
        print(hashlib.sha256(str(uf.kernel).encode()).hexdigest())
    """)
    root = tmp_path / "cache"
    digests = []
    for seed in ("0", "1", "4242"):
        proc = subprocess.run([sys.executable, "-c", code],
                              env=child_env(root, PYTHONHASHSEED=seed),
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)
        assert proc.returncode == 0, proc.stderr
        digests.append(proc.stdout.split())
    assert digests[0] == digests[1] == digests[2], digests
    assert len(entries(root)) == 1  # so also the same cache key


# -- never load what we did not write ------------------------------------------

def test_tampered_extension_is_rebuilt_in_a_fresh_process(tmp_path):
    root = tmp_path / "cache"
    run_child(root, 0.3001)
    entry = only_entry(root)
    so = artifact_of(entry)
    data = bytearray(so.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    so.write_bytes(bytes(data))
    assert not valid(entry)
    rebuilt = run_child(root, 0.3001)  # RESULT ok: it did not run the tampered code
    assert hows(rebuilt.stderr) == ["cache miss, built"]
    assert only_entry(root) == entry and valid(entry)
    assert artifact_of(entry).read_bytes() != bytes(data)
    again = run_child(root, 0.3001)
    assert hows(again.stderr) == ["cache hit"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A valid entry built once, copied by the tests that tamper with it."""
    root = tmp_path_factory.mktemp("pristine") / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALGEBRAC_CACHE_DIR", str(root))
        check(ac.compile(*formula(0.3002)), 0.3002)
    entry = only_entry(root)
    assert valid(entry)
    return entry


def _foreign_uid() -> int:
    return 65534 if os.getuid() != 65534 else 65533


def _give_away(path: Path, monkeypatch):
    """Make ``path`` look owned by someone else (chown as root, else pretend to be another uid)."""
    if os.getuid() == 0:
        os.chown(path, _foreign_uid(), -1, follow_symlinks=False)
    else:
        me = os.getuid()
        monkeypatch.setattr(cache.os, "getuid", lambda: me + 1)


def _tamper_so_bytes(entry, mp):
    so = artifact_of(entry)
    so.write_bytes(so.read_bytes() + b"\0")


def _tamper_meta_key(entry, mp):
    meta = json.loads((entry / "meta.json").read_text())
    meta["key"] = "0" * 64
    (entry / "meta.json").write_text(json.dumps(meta))


def _tamper_meta_digest(entry, mp):
    meta = json.loads((entry / "meta.json").read_text())
    meta["sha256"] = hashlib.sha256(b"something else").hexdigest()
    (entry / "meta.json").write_text(json.dumps(meta))


def _tamper_meta_garbage(entry, mp):
    (entry / "meta.json").write_text("{not json")


def _tamper_meta_missing(entry, mp):
    (entry / "meta.json").unlink()


def _tamper_so_missing(entry, mp):
    artifact_of(entry).unlink()


def _tamper_group_writable_entry(entry, mp):
    entry.chmod(0o770)


def _tamper_world_writable_so(entry, mp):
    so = artifact_of(entry)
    so.chmod(stat.S_IMODE(so.stat().st_mode) | stat.S_IWOTH)


def _tamper_group_writable_meta(entry, mp):
    (entry / "meta.json").chmod(0o660)


def _tamper_symlinked_entry(entry, mp):
    # a complete, hash-consistent copy elsewhere, linked into place
    elsewhere = entry.parent.parent.parent / "elsewhere"
    shutil.move(str(entry), elsewhere)
    entry.symlink_to(elsewhere, target_is_directory=True)


def _tamper_symlinked_so(entry, mp):
    so = artifact_of(entry)
    real = entry.parent.parent.parent / "real.so"
    shutil.move(str(so), real)
    so.symlink_to(real)


def _tamper_symlinked_meta(entry, mp):
    meta = entry / "meta.json"
    real = entry.parent.parent.parent / "meta.json"
    shutil.move(str(meta), real)
    meta.symlink_to(real)


def _tamper_foreign_so(entry, mp):
    so = artifact_of(entry)
    if os.getuid() == 0:
        os.chown(so, _foreign_uid(), -1)
    else:
        _give_away(so, mp)


def _tamper_foreign_entry(entry, mp):
    _give_away(entry, mp)


TAMPERINGS = [_tamper_so_bytes, _tamper_meta_key, _tamper_meta_digest, _tamper_meta_garbage,
              _tamper_meta_missing, _tamper_so_missing, _tamper_group_writable_entry,
              _tamper_world_writable_so, _tamper_group_writable_meta, _tamper_symlinked_entry,
              _tamper_symlinked_so, _tamper_symlinked_meta, _tamper_foreign_so,
              _tamper_foreign_entry]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__[len("_tamper_"):])
def test_refuses_entries_it_did_not_write(pristine, tamper, tmp_path, monkeypatch):
    root = tmp_path / "cache"
    copy = root / pristine.parent.name / pristine.name
    shutil.copytree(pristine, copy, symlinks=True)
    assert valid(copy)  # the copy itself is acceptable: same owner, modes and hash
    tamper(copy, monkeypatch)
    assert not valid(copy)


def test_world_writable_entry_is_rebuilt(private_cache, monkeypatch, capfd):
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    c = 0.3003
    ac.compile(*formula(c))
    entry = only_entry(private_cache)
    entry.chmod(0o777)
    forget_in_process(monkeypatch)
    capfd.readouterr()
    check(ac.compile(*formula(c)), c)
    assert hows(capfd.readouterr().err) == ["cache miss, built"]
    assert only_entry(private_cache) == entry and valid(entry)
    assert not stat.S_IMODE(entry.stat().st_mode) & (stat.S_IWGRP | stat.S_IWOTH)


def test_symlinked_entry_is_replaced_not_followed(private_cache, monkeypatch, capfd, recwarn):
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    c = 0.3004
    ac.compile(*formula(c))
    entry = only_entry(private_cache)
    elsewhere = private_cache.parent / "elsewhere"
    shutil.move(str(entry), elsewhere)
    entry.symlink_to(elsewhere, target_is_directory=True)
    forget_in_process(monkeypatch)
    capfd.readouterr()
    check(ac.compile(*formula(c)), c)
    assert hows(capfd.readouterr().err) == ["cache miss, built"]  # not "cache hit"
    assert not [w for w in recwarn if "unusable" in str(w.message)]
    assert not entry.is_symlink() and valid(entry)
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted(p.name for p in entry.iterdir())


def test_cache_root_writable_by_others_is_refused(private_cache, monkeypatch):
    private_cache.mkdir(mode=0o700)
    planted = private_cache / "planted"
    planted.write_text("not ours")
    private_cache.chmod(0o777)
    with pytest.raises(ac.CacheError, match=r"writable by other users.*chmod go-w"):
        cache.root()
    with pytest.raises(ac.CacheError):
        ac.cache.clear()
    assert planted.exists()
    # compile() still works: it warns and builds in a temporary directory
    monkeypatch.setattr(build, "_warned", set())
    with pytest.warns(RuntimeWarning, match=r"compile cache is unusable.*writable by other"):
        uf = ac.compile(*formula(0.3005))
    check(uf, 0.3005)
    assert entries(private_cache) == []


def test_cache_root_owned_by_someone_else_is_refused(private_cache, monkeypatch):
    private_cache.mkdir(mode=0o700)
    _give_away(private_cache, monkeypatch)
    with pytest.raises(ac.CacheError, match="belongs to another user"):
        cache.root()


def test_read_only_cache_root_still_serves_hits(private_cache, monkeypatch, capfd):
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    c = 0.3006
    ac.compile(*formula(c))
    private_cache.chmod(0o500)
    try:
        forget_in_process(monkeypatch)
        capfd.readouterr()
        check(ac.compile(*formula(c)), c)
        assert hows(capfd.readouterr().err) == ["cache hit"]
    finally:
        private_cache.chmod(0o700)


@pytest.mark.skipif(os.getuid() == 0, reason="running as root: permission bits do not stop "
                    "root from writing, so a 0500 cache cannot deny writes here (the fallback "
                    "itself is tested by test_unwritable_cache_falls_back_to_a_temporary_build)")
def test_read_only_cache_root_denies_writes(private_cache, monkeypatch):
    private_cache.mkdir(mode=0o700)
    private_cache.chmod(0o500)
    try:
        monkeypatch.setattr(build, "_warned", set())
        with pytest.warns(RuntimeWarning, match="compile cache is unusable"):
            uf = ac.compile(*formula(0.3007))
        check(uf, 0.3007)
        assert entries(private_cache) == []
    finally:
        private_cache.chmod(0o700)


def test_unwritable_cache_falls_back_to_a_temporary_build(private_cache, monkeypatch, capfd):
    """What a read-only cache does for a non-root user, simulated for any user."""
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    monkeypatch.setattr(build, "_warned", set())

    def denied(key):
        raise PermissionError(13, "Permission denied", str(private_cache / key[:2]))

    monkeypatch.setattr(cache, "new_build_dir", denied)
    with pytest.warns(RuntimeWarning, match="compile cache is unusable.*Permission denied"):
        uf = ac.compile(*formula(0.3008))
    check(uf, 0.3008)
    assert hows(capfd.readouterr().err) == ["built (cache unusable)"]
    assert entries(private_cache) == []


def test_clear_empties_the_cache(pristine, private_cache):
    ac.cache.clear()  # no cache yet: nothing to do, nothing created
    assert not private_cache.exists()
    shutil.copytree(pristine, private_cache / pristine.parent.name / pristine.name)
    (private_cache / "stray-file").write_text("x")
    (private_cache / ".tmp-something").mkdir()
    private_cache.chmod(0o700)
    assert entries(private_cache)
    ac.cache.clear()
    assert private_cache.is_dir() and list(private_cache.iterdir()) == []
    assert pristine.exists()  # only the configured cache was touched


# -- feedback ------------------------------------------------------------------

def test_progress_bar_on_cold_compiles_unless_silenced(private_cache, monkeypatch, capfd,
                                                       tmp_path):
    # a compiler that surely takes longer than the bar's 0.5 s delay
    slow_cc = tmp_path / "slow-cc"
    slow_cc.write_text('#!/bin/sh\n[ "$1" = "--version" ] || sleep 0.8\nexec gcc "$@"\n')
    slow_cc.chmod(0o755)
    monkeypatch.setenv("ALGEBRAC_CC", str(slow_cc))
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    monkeypatch.setenv("ALGEBRAC_PROGRESS", "1")
    check(ac.compile(*formula(0.4001)), 0.4001)
    err = capfd.readouterr().err
    # every phase is named, and stderr is not a terminal: plain lines, no "\r"
    assert "algebrac: compiling 2 outputs of (x, y): C compiler (_ac_" in err, err
    assert "algebrac: compiled 2 outputs of (x, y) in " in err and "\r" not in err
    assert hows(err) == ["cache miss, built"]
    v = ac.vector("v", ac.dim("n"))
    fn = ac.function([v], ac.sum(ac.exp(v) * 0.4003))
    assert float(fn(np.zeros(3))) == 3 * 0.4003
    err = capfd.readouterr().err   # a tensor program's report names it, not its module
    assert f"algebrac: compiling {fn.__name__}: C compiler (_ac_" in err, err
    monkeypatch.setenv("ALGEBRAC_PROGRESS", "0")
    check(ac.compile(*formula(0.4002)), 0.4002)
    err = capfd.readouterr().err
    assert hows(err) == ["cache miss, built"]  # a cold compile, and yet
    assert "algebrac: compiling" not in err


def test_formula_index_skips_the_front_end(private_cache):
    """A warm hit (fresh memos, as in a new process) loads the module without lowering."""
    from algebrac import ufunc as ufunc_mod
    from algebrac.cpu import build

    x, y = sp.symbols("x y")
    exprs = [sp.exp(x) * sp.cos(y) + sp.Rational(3, 17), sp.log(1 + x**2)]
    cold = ac.compile(exprs, [x, y])
    text = str(cold.source)
    ufunc_mod._memo.clear()
    build._memo.clear()
    warm = ac.compile(exprs, [x, y])
    assert warm is not cold and "_program" not in warm.__dict__
    np.testing.assert_array_equal(warm(0.5, 0.25)[0], cold(0.5, 0.25)[0])
    assert str(warm.source) == text  # rendered on demand, identical
    # A damaged index record is ignored: the formula compiles through the full path.
    for record in (private_cache / "index").rglob("*.json"):
        record.write_text("{not json")
    ufunc_mod._memo.clear()
    build._memo.clear()
    again = ac.compile(exprs, [x, y])
    assert "_program" in again.__dict__
    np.testing.assert_array_equal(again(0.5, 0.25)[1], cold(0.5, 0.25)[1])
