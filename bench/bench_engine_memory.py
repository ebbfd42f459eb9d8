"""What the process that runs the disclosure engine holds, part by part, at each step of each partition.

    .venv/bin/python bench/bench_engine_memory.py --warehouse W.duckdb [--workers N] [--objects]
        [--tracemalloc] [--csv OUT.csv]

Runs the dbt model int_disclosure__cells itself (its `model(dbt, session)`, a first build: the cells go
to a DuckDB temp table as in dbt) on a copy of W's marts (schema `marts`; a mart W lacks is read
empty), in this process, and records at each step of the engine (partition k: structure started /
built, small blocks done, waiting for the large blocks, result frame made, cells to DuckDB / stored;
the run done; dbt's copy of the temp table):

- rss: this process's resident memory (MB), anon: its anonymous part, peak: the highest RSS sampled
  (every 0.1 s) since the previous step;
- glibc: mallinfo2 in use (uordblks + hblkhd: may count pages never touched) and free kept in its
  arenas (fordblks); trimmed: what malloc_trim(0) then gave back (the RSS drop: resident free memory
  glibc kept; the engine trims after each structure and partition);
- duckdb: duckdb_memory() total and temporary storage; its jemalloc's allocated and resident; its
  memory_limit then;
- arrow: pyarrow's default pool's bytes allocated;
- py.arena / py.used: Python's small-object allocator (pymalloc): its arenas, and the bytes of live
  objects in them (an arena is given back only when all of its objects are freed);
- rest: anon - trimmed - duckdb's jemalloc - arrow - pymalloc's arenas: polars' own allocator (jemalloc
  in the Linux wheels, built without statistics), glibc's live allocations (numpy arrays, SQLite's
  cache), thread stacks;
- with --objects: the live polars frames (estimated_size; frames that share columns each count
  them), numpy arrays and long lists found by gc (a slow count, a few seconds a step), and the three
  largest;
- with --tracemalloc: Python's heap (tracemalloc current; slows the run, and adds its own memory).

The warehouse is only read. To get two large partitions from a one-leaving-year warehouse, copy it
and insert each mart's rows again under another leaving_year (the structure of each is the same; for memory only).
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402

from pipelines.lib.disclosure import engine  # noqa: E402
from pipelines.lib.disclosure.structure import MARTS  # noqa: E402

MB = 1 << 20
MODEL = ROOT / "dbt_project/models/intermediate/disclosure/int_disclosure__cells.py"


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _glibc() -> tuple[int, int]:
    """(bytes in use, bytes free kept in the arenas) of glibc's malloc: every arena (mallinfo2)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _Mallinfo2
    m = libc.mallinfo2()
    return m.uordblks + m.hblkhd, m.fordblks


def _pymalloc() -> tuple[int, int]:
    """(bytes of Python's small-object arenas, bytes in their allocated blocks): sys._debugmallocstats.
    An arena goes back to the system only when every object in it is freed."""
    with tempfile.TemporaryFile("w+") as f:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(f.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read()
    got = {}
    for line in text.splitlines():
        k, _, v = line.partition("=")
        if "bytes/arena" in k:
            got["arenas"] = int(v.replace(",", ""))
        elif k.strip() == "# bytes in allocated blocks":
            got["used"] = int(v.replace(",", ""))
    return got.get("arenas", -1), got.get("used", -1)


def _duckdb_jemalloc():
    """DuckDB's bundled jemalloc's mallctl (exported as duckdb_je_mallctl), or None."""
    path = getattr(sys.modules.get("duckdb._duckdb") or sys.modules.get("_duckdb"), "__file__", None)
    if path is None:
        path = next((p for p in open("/proc/self/maps").read().split() if "_duckdb" in p and p.endswith(".so")), None)
    try:
        f = ctypes.CDLL(path).duckdb_je_mallctl
    except (OSError, AttributeError, TypeError):
        return None
    f.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p, ctypes.c_size_t]
    return f


def _je(mallctl, names: tuple[str, ...]) -> list[int]:
    e = ctypes.c_uint64(1)
    n = ctypes.c_size_t(8)
    mallctl(b"epoch", ctypes.byref(e), ctypes.byref(n), ctypes.byref(e), 8)
    out = []
    for name in names:
        v = ctypes.c_size_t()
        n = ctypes.c_size_t(ctypes.sizeof(v))
        out.append(v.value if mallctl(name.encode(), ctypes.byref(v), ctypes.byref(n), None, 0) == 0 else -1)
    return out


def _objects() -> tuple[int, int, int, str]:
    """Bytes of the live polars frames / series, numpy arrays and lists of >= 10,000 items (each
    counted once), and the three largest of them."""
    gc.collect()
    seen: set[int] = set()
    frames = arrays = lists = 0
    big: list[tuple[int, str]] = []
    tracked = gc.get_objects()
    for o in tracked:
        for x in [o, *(gc.get_referents(o) if isinstance(o, (dict, list, tuple)) else ())]:
            if id(x) in seen:
                continue
            if isinstance(x, (pl.DataFrame, pl.Series)):
                seen.add(id(x))
                b = x.estimated_size()
                frames += b
                big.append((b, f"{type(x).__name__} {x.shape}"))
            elif isinstance(x, np.ndarray) and x.base is None:
                seen.add(id(x))
                arrays += x.nbytes
                big.append((x.nbytes, f"ndarray {x.dtype}{x.shape}"))
            elif isinstance(x, list) and len(x) >= 10_000:
                seen.add(id(x))
                b = sys.getsizeof(x) + 28 * len(x)   # the list and (at most) an int or a pointer's target each
                lists += b
                big.append((b, f"list[{len(x)}] of {type(x[0]).__name__}"))
    del tracked
    big.sort(reverse=True)
    return frames, arrays, lists, "; ".join(f"{d} {b // MB}" for b, d in big[:3])


class Recorder:
    """The rows of the table: one per step; a thread samples RSS for each step's peak."""

    def __init__(self, con, objects: bool, traced: bool) -> None:
        self.con, self.objects, self.traced = con, objects, traced
        self.rows: list[dict] = []
        self.peak = 0
        self.je = _duckdb_jemalloc()
        self.stop = threading.Event()
        self.t0 = time.perf_counter()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, _status()["VmRSS"])

    def mark(self, step: str) -> None:
        s = _status()
        glibc_used, glibc_free = _glibc()
        row = {"t": time.perf_counter() - self.t0, "step": step, "rss": s["VmRSS"], "anon": s["RssAnon"],
               "peak": max(self.peak, s["VmRSS"]), "glibc": glibc_used, "glibc_free": glibc_free}
        self.peak = 0
        try:   # another cursor: the model's connection may be inside a query of its own thread
            cur = self.con.cursor()
            mem, tmp = cur.execute("select sum(memory_usage_bytes), sum(temporary_storage_bytes) "
                                   "from duckdb_memory()").fetchone()
            row["limit"] = cur.execute("select current_setting('memory_limit')").fetchone()[0]
            cur.close()
        except duckdb.Error:
            mem = tmp = -1
            row["limit"] = "?"
        row["duckdb"], row["duckdb_tmp"] = mem, tmp
        row["duckdb_je"], row["duckdb_je_res"] = _je(self.je, ("stats.allocated", "stats.resident")) \
            if self.je else (-1, -1)
        row["arrow"] = pa.total_allocated_bytes()
        row["py_arenas"], row["py_used"] = _pymalloc()
        if self.traced:
            import tracemalloc
            row["py_heap"] = tracemalloc.get_traced_memory()[0]
        if self.objects:
            row["frames"], row["arrays"], row["lists"], row["largest"] = _objects()
        engine.release_freed_memory()   # what glibc kept and could give back
        row["trimmed"] = row["rss"] - _status()["VmRSS"]
        row["rest"] = row["anon"] - row["trimmed"] - max(row["duckdb_je_res"], 0) - row["arrow"] - row["py_arenas"]
        self.rows.append(row)
        print(self.line(row), flush=True)

    HEAD = ("t s", "step", "rss", "peak", "anon", "glibc", "gl.free", "trimmed", "duckdb", "dk.tmp", "dk.je",
            "dk.je.res", "arrow", "py.arena", "py.used", "rest")

    def header(self) -> str:
        extra = (["py_heap"] if self.traced else []) + (["frames", "arrays", "lists"] if self.objects else [])
        return " | ".join([f"{self.HEAD[0]:>6}", f"{self.HEAD[1]:<34}", *(f"{h:>9}" for h in self.HEAD[2:]),
                           *(f"{h:>8}" for h in extra), "dk.limit"]) + (" | largest (MB)" if self.objects else "")

    def line(self, r: dict) -> str:
        keys = ("rss", "peak", "anon", "glibc", "glibc_free", "trimmed", "duckdb", "duckdb_tmp", "duckdb_je",
                "duckdb_je_res", "arrow", "py_arenas", "py_used", "rest")
        extra = (["py_heap"] if self.traced else []) + (["frames", "arrays", "lists"] if self.objects else [])
        return " | ".join([f"{r['t']:6.1f}", f"{r['step']:<34}", *(f"{r[k] / MB:9.0f}" for k in keys),
                           *(f"{r[k] / MB:8.0f}" for k in extra), r["limit"]]) \
            + (f" | {r['largest']}" if self.objects else "")


def _hook(rec: Recorder) -> None:
    """Marks at the engine's steps, by wrapping the functions _run_by_partition calls."""
    k = {"n": 0}
    build, suppress = engine.build_structure, engine.suppress

    def build_structure(frames):
        k["n"] += 1
        rec.mark(f"p{k['n']} structure started")
        st = build(frames)
        rec.mark(f"p{k['n']} structure built")
        return st

    def suppress_(*a, **kw):
        got = suppress(*a, **kw)
        n = k["n"]
        rec.mark(f"p{n} small blocks done")
        if not kw.get("defer"):
            return got
        fin, done = got

        def finish(queue=None, **kw):
            rec.mark(f"p{n} waiting for large blocks")
            res = fin(queue, **kw)
            rec.mark(f"p{n} result frame made")
            return res
        return finish, done
    engine.build_structure, engine.suppress = build_structure, suppress_
    store_partition = engine.BlockCache.store_partition

    def stored(self, label, *a, **kw):   # the partition's blob in the cache
        store_partition(self, label, *a, **kw)
        rec.mark(f"p{k['n']} cache blob written")
    engine.BlockCache.store_partition = stored


class _Config(dict):
    def __call__(self, **kw) -> None:   # dbt.config(materialized=...)
        pass


class _Dbt:
    """The part of dbt's python-model object int_disclosure__cells uses: a first build."""

    def __init__(self, con, schema: str) -> None:
        self.con, self.schema = con, schema
        self.config = _Config(min_cohort=engine.MIN_COHORT, min_count=engine.MIN_COUNT)
        self.is_incremental = False
        self.this = "main.int_disclosure__cells"

    def ref(self, name: str):
        return self.con.table(f"{self.schema}.{name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--objects", action="store_true", help="count live frames, arrays and lists at each step")
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--memory-limit", default=os.environ.get("DESTINATIONS_DUCKDB_MEMORY", "4GB"),
                    help="DuckDB's memory_limit (the profile's)")
    ap.add_argument("--model", default=str(MODEL), help="the model file to run (e.g. another tree's, for an A/B)")
    ap.add_argument("--csv")
    ap.add_argument("--cells-out", help="the table made, as Parquet (to compare two runs)")
    args = ap.parse_args()
    if args.workers is not None:
        os.environ["DESTINATIONS_DISCLOSURE_WORKERS"] = str(args.workers)
    if args.tracemalloc:
        import tracemalloc
        tracemalloc.start()
    tmp = tempfile.mkdtemp(prefix="m46-mem-")
    try:
        path = os.path.join(tmp, "w.duckdb")
        shutil.copy(args.warehouse, path)
        con = duckdb.connect(path, config={"memory_limit": args.memory_limit, "threads": 2})
        have = {t for (t,) in con.execute("select table_name from information_schema.tables "
                                          "where table_schema = 'marts'").fetchall()}
        for spec in MARTS:   # a mart the warehouse lacks: read empty (int_disclosure__cells refs them all)
            if spec.name not in have:
                raise SystemExit(f"{args.warehouse}: no table marts.{spec.name} (add it empty)")
        os.environ.pop("DESTINATIONS_DISCLOSURE_CACHE", None)   # a cold run, as a first build
        spec = importlib.util.spec_from_file_location("int_disclosure__cells", args.model)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        rec = Recorder(con, args.objects, args.tracemalloc)
        print(rec.header(), flush=True)
        rec.mark("start")
        _hook(rec)
        store_run = mod.run

        def run(frames, **kw):
            rec.mark("frames read")
            store = kw["on_partition"]
            n = {"k": 0, "label": None}

            def on_partition(label, digest, cells):   # a partition's cells, in one call or in slices
                if label != n["label"]:
                    n["k"] += 1
                    n["label"] = label
                    rec.mark(f"p{n['k']} cells to DuckDB")
                store(label, digest, cells)
                rec.mark(f"p{n['k']} cells stored")
            kw["on_partition"] = on_partition
            res = store_run(frames, **kw)
            rec.mark("run done")
            return res
        mod.run = run
        c0 = time.process_time()
        rel = mod.model(_Dbt(con, "marts"), con)
        rec.mark("model returned")
        con.execute(f"create table {_Dbt(con, 'marts').this} as select * from rel")   # dbt's copy
        rec.mark("dbt's copy made")
        cells, hidden = con.execute(f"select count(*), count(*) filter (hidden) from {_Dbt(con, 'marts').this}"
                                    ).fetchone()
        rec.stop.set()
        if args.cells_out:
            con.execute(f"copy {_Dbt(con, 'marts').this} to '{args.cells_out}' (format parquet)")
        print(f"cells {cells:,}, hidden {hidden:,}; CPU-s here {time.process_time() - c0:.1f}; "
              f"peak RSS {max(r['peak'] for r in rec.rows) / MB:.0f} MB", flush=True)
        if args.csv:
            pl.DataFrame([{k: v for k, v in r.items()} for r in rec.rows]).write_csv(args.csv)
        con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
