"""generate_trust: write a synthetic multi-academy trust in the landing layout."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.config import destination_codes, leaving_year_label

from . import calibration as C
from .details import destination_details
from .model import intended_destinations, ks4_cohort, ks5_cohort, september_guarantee
from .register import build_register, register_csv_frame
from .writers import file_name, render, write_file

SCALES = ("small", "large", "national")
TODAY = date(2026, 11, 25)           # the demo's "today": 2026-27 R1 is open, due 15 Dec
CURRENT_START = 2026                  # current leaving year 2026-27
LAST_COMPLETE_START = 2025            # last complete leaving year 2025-26
ROUNDS = ("R1", "R2", "R3")
DUE = {"R1": (12, 15, 0), "R2": (5, 31, 1), "R3": (11, 30, 1)}   # month, day, year offset
# Window in which a round's destinations are ascertained: (month, day, year offset) from/to.
WINDOW = {"R1": ((9, 20, 0), (12, 10, 0)), "R2": ((2, 1, 1), (5, 25, 1)),
          "R3": ((9, 10, 1), (11, 25, 1))}
# Messy academies (register position -> file format) at small and large scale.
MESSY = {1: "mis_labels", 6: "cp1252", 7: "xlsx", 8: "utf8_bom"}
MARKER = "generator.json"


class GenerateError(ValueError):
    """Bad arguments or an output directory that is not safe to write."""


def _d(start: int, mdo: tuple[int, int, int]) -> date:
    m, d, off = mdo
    return date(start + off, m, d)


def due_date(start: int, round_id: str) -> date:
    return _d(start, DUE[round_id])


def _prepare(out: Path) -> None:
    """Refuse to overwrite real data; clear a previous generation's files."""
    truth = out / "_truth"
    returns = out / "raw" / "returns"
    has_returns = returns.exists() and any(returns.iterdir())
    if has_returns and not (truth / MARKER).exists():
        raise GenerateError(f"{out} already holds returns that this generator did not write; "
                            "choose an empty --out directory")
    for p in (returns, out / "raw" / "fsq", out / "raw" / "compass", truth):
        if p.exists() and (truth / MARKER).exists():
            shutil.rmtree(p)
    (out / "raw" / "academies.csv").unlink(missing_ok=True)


def _schedule(reg: pl.DataFrame, starts: list[int], seed: int, scale: str) -> dict:
    """(academy_idx, start, round) -> (format, submitted datetime) for every file written."""
    rng = np.random.default_rng([seed, 31])
    n = reg.height
    joined = [date.fromisoformat(j) for j in reg["joined_trust"].to_list()]
    phases = reg["phase"].to_list()
    fmt = {i: (MESSY.get(i, "csv") if scale != "national" else "csv") for i in range(n)}
    past = [s for s in starts if s < CURRENT_START]
    # One mainstream academy misses one round in a past year (R2 of the first year it is in).
    mainstream = [i for i in range(n) if phases[i] == "secondary"]
    missing = set()
    if past and mainstream:
        i = mainstream[min(len(mainstream) - 1, 5)]
        first = next((s for s in past if due_date(s, "R1") >= joined[i]), None)
        if first is not None:
            missing.add((i, first, "R2"))
    # A couple of named late files, plus ~2% at random at large/national scale.
    late = set()
    if past:
        late.add((min(1, n - 1), past[len(past) // 2], "R3" if past[len(past) // 2] < LAST_COMPLETE_START else "R2"))
        late.add((min(5, n - 1), past[-1], "R2"))
    sched = {}
    for i in range(n):
        for s in starts:
            if due_date(s, "R1") < joined[i]:
                continue  # not yet in the trust when this cohort's collection started
            rounds = ROUNDS if s < CURRENT_START else ("R1",)
            for r in rounds:
                u = rng.random(4)
                if (i, s, r) in missing:
                    continue
                due = due_date(s, r)
                if s == CURRENT_START:
                    if u[0] > 0.6:
                        continue  # has not submitted yet (due 15 December)
                    day = TODAY - timedelta(days=1 + int(u[1] * 30))
                else:
                    is_late = (i, s, r) in late or (scale != "small" and u[0] < 0.02)
                    day = due + timedelta(days=3 + int(u[1] * 25)) if is_late \
                        else due - timedelta(days=1 + int(u[1] * 20))
                    day = min(day, TODAY - timedelta(days=1))
                when = datetime(day.year, day.month, day.day, 9 + int(u[2] * 8), int(u[3] * 60),
                                tzinfo=timezone.utc)
                sched[(i, s, r)] = (fmt[i], when)
    return sched


def _year_rounds(reg: pl.DataFrame, cohort: pl.DataFrame, start: int, seed: int) -> dict[str, pl.DataFrame]:
    """Per round, every cohort pupil's row (clean canonical values) before file selection."""
    rng = np.random.default_rng([seed, 21, start])
    n = cohort.height
    groups = {c: r["destination_group"] for c, r in destination_codes().items()}
    actual = cohort["actual_code"].to_numpy().astype("<U3")
    negative = cohort["actual_code"].replace_strict(groups).is_in(
        ["neet", "not_known", "other", "excluded"]).to_numpy()
    z = cohort["z"].to_numpy()
    ks = cohort["key_stage"].to_numpy().astype("<U5")
    yg = cohort["year_group"].to_numpy()
    male = cohort["male"].to_numpy()
    acad = cohort["academy_idx"].to_numpy()
    r1, r2 = intended_destinations(rng, actual, z, ks, negative)
    own_sf = cohort["own_sixth_form"].to_numpy()
    det3 = destination_details(rng, actual, male, ks, acad, reg, own_sf)
    det2 = destination_details(rng, r2, male, ks, acad, reg, own_sf)
    det1 = destination_details(rng, r1, male, ks, acad, reg, own_sf)
    keep2 = pl.Series((r2 == actual) & (rng.random(n) < 0.9))
    keep1 = pl.Series((r1 == r2) & (rng.random(n) < 0.9))
    det2 = pl.select(pl.when(keep2).then(det3[c]).otherwise(det2[c]).alias(c) for c in det3.columns)
    det1 = pl.select(pl.when(keep1).then(det2[c]).otherwise(det1[c]).alias(c) for c in det3.columns)
    sg1 = september_guarantee(rng, "R1", r1, negative, yg)
    sg2 = september_guarantee(rng, "R2", r2, negative, yg)
    consent = rng.random(n) < C.CONSENT_SHARE
    u = rng.random(n)
    m1 = C.MISSING_FROM_ROUND["R1"]
    m2 = m1 + C.MISSING_FROM_ROUND["R2"]
    m3 = m2 + C.MISSING_FROM_ROUND["R3"]
    absent = {"R1": u < m1, "R2": (u >= m1) & (u < m2), "R3": (u >= m2) & (u < m3)}
    day_u = rng.random(n)
    base = cohort.select(
        "academy_idx", "upn", "year_group", "key_stage",
        pl.when(pl.col("male")).then(pl.lit("M")).otherwise(pl.lit("F")).alias("sex"),
        "disadvantaged",
        pl.col("sen").replace_strict({0: "N", 1: "K", 2: "E"}, return_dtype=pl.Utf8).alias("sen_provision"),
        "fsm_eligible", "looked_after", "ethnicity", "readiness",
    ).with_columns(pl.Series("consent_follow_up", consent), pl.Series("_day_u", day_u))
    out = {}
    for r, code, det, sg in (("R1", r1, det1, sg1), ("R2", r2, det2, sg2), ("R3", actual, det3, None)):
        df = base.with_columns(
            pl.Series("destination_code", code.astype(str)),
            *det.get_columns(),
            pl.Series("september_guarantee", sg if sg is not None else np.full(n, "")),
            pl.Series("_absent", absent[r]),
        )
        out[r] = df
    return out


def _date_ascertained(u: np.ndarray, start: int, round_id: str, submitted: np.ndarray) -> pl.Series:
    """A date in the round's window, before the file was submitted (u uniform in [0, 1))."""
    lo = np.datetime64(_d(start, WINDOW[round_id][0]), "D")
    hi = np.minimum(np.datetime64(_d(start, WINDOW[round_id][1]), "D"), submitted - np.timedelta64(1, "D"))
    lo = np.minimum(lo, hi - np.timedelta64(7, "D"))
    span = (hi - lo).astype(np.int64) + 1
    days = np.floor(u * span).astype(np.int64)
    return pl.Series("date_ascertained", np.datetime_as_string(lo + days, unit="D").astype(str))


def _yn(col: str) -> pl.Expr:
    return pl.when(pl.col(col)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias(col)


# Synthetic pupil names for the optional `pupil_name` column (cp1252-safe: the messy files use it).
FORENAMES = ("Ada", "Bilal", "Carys", "Dev", "Eilidh", "Farah", "Gethin", "Hana", "Idris", "Jaya",
             "Kofi", "Lowri", "Mateo", "Niamh", "Oskar", "Priya", "Quinn", "Rhys", "Siân", "Tomasz",
             "Uma", "Viktor", "Wren", "Xanthe", "Yusuf", "Zoë")
SURNAMES = ("Quillfeather", "Ashdown-Pryce", "Brackenbury", "Corrigall", "Dunstaple", "Esterhay",
            "Fairweather", "Gathercole", "Holloway-Reed", "Inchbald", "Jessamy", "Kettleby", "Larkspur",
            "Merriweather", "Nettlefold", "Oakenshaw", "Penhaligon", "Quarrendon", "Rookwood", "Saltonstall",
            "Thistlewood", "Underhay", "Vellacott", "Wetherby", "Yardley", "Zennor")


def pupil_names(upn: pl.Series) -> pl.Series:
    """A stable made-up name per UPN (same pupil, same name in every round)."""
    h = upn.hash(11).to_numpy()
    first = np.array(FORENAMES)[h % len(FORENAMES)]
    last = np.array(SURNAMES)[(h // len(FORENAMES)) % len(SURNAMES)]
    return pl.Series("pupil_name", np.char.add(np.char.add(first, " "), last), dtype=pl.Utf8)


def _as_file_frame(df: pl.DataFrame) -> pl.DataFrame:
    blank = lambda c: pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)  # noqa: E731
    return df.select(
        "upn", pl.col("year_group").cast(pl.Utf8), "sex", _yn("disadvantaged"), "sen_provision",
        "destination_code", _yn("fsm_eligible"), _yn("looked_after"), "ethnicity",
        blank("route"), blank("provider"), blank("provider_id"), blank("level"),
        blank("september_guarantee"), _yn("consent_follow_up"), "date_ascertained",
    ).with_columns(pupil_names(df["upn"]))


def _write_round(out: Path, ff: pl.DataFrame, acad: np.ndarray, files: dict, urns: list[str],
                 names: list[str], ly: str, r: str) -> int:
    """Write one round's files. Plain-text formats are cut from one CSV of the whole round
    (rows grouped by academy), so tens of thousands of files stay fast."""
    bounds = np.flatnonzero(np.diff(acad)) + 1
    starts = np.concatenate([[0], bounds]) if len(acad) else np.array([], int)
    ends = np.concatenate([bounds, [len(acad)]]) if len(acad) else np.array([], int)
    lines = ff.write_csv().split("\n")
    header, body = lines[0], lines[1:]
    for a0, a1 in zip(starts.tolist(), ends.tolist()):
        ai = int(acad[a0])
        fmt, when = files[ai]
        rel = Path("raw", "returns", urns[ai], ly, r, file_name(fmt, urns[ai], ly, r))
        if fmt in ("csv", "utf8_bom", "cp1252"):
            eol = "\r\n" if fmt == "cp1252" else "\n"
            text = eol.join([header, *body[a0:a1]]) + eol
            data = text.encode("cp1252") if fmt == "cp1252" else text.encode("utf-8")
            data = (b"\xef\xbb\xbf" + data) if fmt == "utf8_bom" else data
        else:
            data = render(ff.slice(a0, a1 - a0), fmt,
                          title=f"{names[ai]} ({urns[ai]}) – leaving year {ly}, round {r}",
                          created=when.replace(tzinfo=None))
        write_file(out / rel, data, when.timestamp())
    return len(starts)


def generate_trust(out: Path, *, academies: int | None = None, years: int = 4, seed: int = 42,
                   scale: str = "small", with_careers: bool = True) -> dict:
    """Write a synthetic trust (register, returns, truth) under out; returns a summary.

    with_careers=False skips the FSQ/Compass hook (pipelines.lib.careers.synthetic)."""
    if scale not in SCALES:
        raise GenerateError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    if academies is not None and not (1 <= academies <= 20000):
        raise GenerateError("--academies must be between 1 and 20000")
    if not (1 <= years <= 15):
        raise GenerateError("--years must be between 1 and 15")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _prepare(out)
    reg = build_register(scale, academies, seed)
    first = LAST_COMPLETE_START - years + 1
    starts = list(range(first, CURRENT_START + 1))
    ks4 = {s: ks4_cohort(reg, s, seed) for s in range(first - 3, CURRENT_START + 1)}
    sched = _schedule(reg, starts, seed, scale)
    urns = reg["urn"].to_list()
    names = reg["name"].to_list()
    joined = [date.fromisoformat(j) for j in reg["joined_trust"].to_list()]
    leaver_rows = []
    truth = out / "_truth"
    parts_dir = truth / "_parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    return_rows = 0
    files_written = 0
    pupils_per_year: dict[str, int] = {}
    for s in starts:
        ly = leaving_year_label(s)
        ks5 = ks5_cohort(reg, s, seed, ks4, current=(s == CURRENT_START))
        cohort = pl.concat([
            ks4[s].drop("sixth_form_years"),
            ks5.with_columns(pl.lit(False).alias("own_sixth_form")),
        ], how="vertical_relaxed")
        # Only academies in the trust when this cohort's collection began.
        in_trust = np.array([due_date(s, "R1") >= j for j in joined])
        cohort = cohort.filter(pl.Series(in_trust[cohort["academy_idx"].to_numpy()]))
        pupils_per_year[ly] = cohort.height
        per_round = _year_rounds(reg, cohort, s, seed)
        lv = per_round["R3"].select(
            pl.col("academy_idx"), "upn", "year_group", "key_stage", "sex", "disadvantaged",
            "sen_provision", "fsm_eligible", "looked_after", "ethnicity", "readiness",
            pl.col("destination_code") if s < CURRENT_START else pl.lit(None, pl.Utf8).alias("destination_code"),
        ).with_columns(pl.lit(ly).alias("leaving_year"), pl.lit(s == CURRENT_START).alias("is_current"))
        leaver_rows.append(lv)
        for r, df in per_round.items():
            if s == CURRENT_START and r != "R1":
                continue
            files = {ai: v for (ai, s2, r2), v in sched.items() if s2 == s and r2 == r}
            if not files:
                continue
            df = df.filter(~pl.col("_absent") & pl.col("academy_idx").is_in(list(files)))
            day_of = np.full(reg.height, np.datetime64("1970-01-01"), dtype="datetime64[D]")
            for ai, (_, when) in files.items():
                day_of[ai] = np.datetime64(when.date(), "D")
            sub_day = day_of[df["academy_idx"].to_numpy()]
            df = df.with_columns(_date_ascertained(df["_day_u"].to_numpy(), s, r, sub_day))
            meta = pl.DataFrame({
                "academy_idx": np.array(list(files), dtype=np.int64),
                "source_file": [Path("raw", "returns", urns[ai], ly, r,
                                     file_name(files[ai][0], urns[ai], ly, r)).as_posix() for ai in files],
                "submitted_at": [files[ai][1].isoformat() for ai in files],
            })
            df = df.join(meta, on="academy_idx", how="left", maintain_order="left")
            df = df.sort("academy_idx", maintain_order=True)
            files_written += _write_round(out, _as_file_frame(df), df["academy_idx"].to_numpy(),
                                          files, urns, names, ly, r)
            # Truth rows go to disk per round, so national scale never holds them all.
            part = df.drop("_absent", "_day_u").with_columns(
                reg["urn"].gather(df["academy_idx"]).alias("academy_urn"),
                pl.lit(ly).alias("leaving_year"), pl.lit(r).alias("round")).drop("academy_idx")
            part = part.select("academy_urn", "leaving_year", "round",
                               *[c for c in part.columns if c not in ("academy_urn", "leaving_year", "round")])
            parts.append(parts_dir / f"{s}_{r}.parquet")
            part.write_parquet(parts[-1])
            return_rows += part.height
            del part, df
        del per_round, cohort, ks5
        ks4.pop(s - 3, None)  # no later sixth-form cohort needs it
    # Register and truth.
    stamp = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc).timestamp()
    reg_csv = register_csv_frame(reg)
    write_file(out / "raw" / "academies.csv", reg_csv.write_csv().encode("utf-8"), stamp)
    urn_map = pl.DataFrame({"academy_idx": np.arange(reg.height, dtype=np.int64), "academy_urn": urns})
    leavers = (pl.concat(leaver_rows, how="vertical_relaxed").join(urn_map, on="academy_idx")
               .drop("academy_idx"))
    leavers = leavers.select("academy_urn", "upn", "leaving_year", "key_stage", "year_group", "sex",
                             "disadvantaged", "sen_provision", "fsm_eligible", "looked_after",
                             "ethnicity", "readiness", "destination_code", "is_current")
    pl.scan_parquet(parts).sink_parquet(truth / "pupils.parquet")
    shutil.rmtree(parts_dir)
    leavers.write_parquet(truth / "leavers.parquet")
    reg.write_parquet(truth / "academies.parquet")
    summary = {
        "out": str(out), "scale": scale, "seed": seed,
        "academies": reg.height,
        "leaving_years": [leaving_year_label(s) for s in starts if s < CURRENT_START],
        "current_year": leaving_year_label(CURRENT_START),
        "files_written": files_written,
        "pupils_per_year": pupils_per_year,
        "return_rows": return_rows,
    }
    marker = {k: v for k, v in summary.items() if k != "out"}  # byte-identical wherever written
    (truth / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for p in truth.iterdir():
        import os
        os.utime(p, (stamp, stamp))
    if with_careers:
        summary["careers"] = _careers_hook(out, reg_csv, leavers, seed, scale)
    return summary


def _careers_hook(out: Path, register: pl.DataFrame, leavers: pl.DataFrame, seed: int, scale: str):
    """FSQ / Compass data from the careers generator, when that module is installed."""
    import importlib

    try:
        mod = importlib.import_module("pipelines.lib.careers.synthetic")
    except ImportError as exc:
        # only "the careers generator is not there"; its own broken imports surface
        if getattr(exc, "name", None) in ("pipelines.lib.careers", "pipelines.lib.careers.synthetic"):
            return None
        raise
    if not hasattr(mod, "generate_careers_data"):
        return None
    return mod.generate_careers_data(out_dir=out, academies=register, leavers=leavers, seed=seed, scale=scale)
