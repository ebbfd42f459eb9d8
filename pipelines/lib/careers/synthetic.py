"""Synthetic FSQ exports and Compass evaluations for the demo trust.

Called by the trust generator after it has written the returns. Levels follow
research/domain.md §6.4 (Compass) and §7 (FSQ); answers depend on each pupil's latent
`readiness`, which also drives the generator's destinations, so readiness -> destination
links are real in the demo data. Deterministic for a given seed.
"""
from __future__ import annotations

import math
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl

from pipelines.lib.careers.fsq_config import load_fsq_config
from pipelines.lib.upn import make_upn

FSQ_LAUNCH_YEAR = 2021          # FSQ launched September 2021
COMPASS_FIRST_YEAR = 2018       # first academic year with Compass history here
FRAMEWORK_2025_FROM = date(2025, 9, 1)
SUMMER_YEAR_GROUPS = {11, 13}  # summer round (before leaving); autumn: see _autumn_groups (small scale)

# Item difficulty: (logit at Year 7 for an average pupil, growth per year group, readiness weight).
# Tuned so Year 11 levels are near the national 2024/25 figures (domain §7): 83% have thought
# about pathways, apprenticeships 79% vs A levels 83%, ~twice Year 7; Creativity +12pp, Problem
# Solving +6pp from Year 7 to Year 11.
ITEM_PARAMS = {
    "CK01": (0.00, 0.42, 3.0), "CK02": (0.25, 0.36, 3.0), "CK03": (-0.40, 0.44, 3.0),
    "CK04": (-1.10, 0.38, 3.0), "CK05": (0.20, 0.22, 3.0), "CK06": (-0.60, 0.28, 3.0),
    "CR01": (0.20, 0.15, 3.5), "CR02": (0.40, 0.10, 3.5), "CR03": (-1.40, 0.30, 3.0),
    "CR04": (0.00, 0.24, 3.0),
    "ES01": (1.00, 0.05, 1.5), "ES02": (0.30, 0.08, 1.5), "ES03": (0.60, 0.08, 1.5),
    "ES04": (0.40, 0.15, 1.5), "ES05": (0.50, 0.04, 1.8), "ES06": (0.70, 0.06, 1.8),
    "ES07": (0.50, 0.06, 1.5), "ES08": (1.10, 0.04, 1.5),
}
DEFAULT_ITEM = (0.3, 0.15, 2.0)

# Compass: national % of institutions fully achieving each benchmark, 2022/23 (domain §6.4).
NATIONAL_BM_2223 = {1: 0.662, 2: 0.816, 3: 0.541, 4: 0.763, 5: 0.80, 6: 0.64, 7: 0.522, 8: 0.752}
CRITERIA = {"2018": {1: 6, 2: 4, 3: 4, 4: 3, 5: 3, 6: 3, 7: 4, 8: 3},
            "2025": {1: 7, 2: 5, 3: 6, 4: 4, 5: 4, 6: 4, 7: 5, 8: 4}}
# Slope (logit / year) after 2022/23: BM3 and BM7 gained most, BM8 dipped, BM6 stays hardest.
LATE_SLOPE = {1: 0.2, 2: 0.15, 3: 0.45, 4: 0.2, 5: 0.2, 6: 0.0, 7: 0.45, 8: -0.1}
EARLY_SLOPE = 0.42
SPREAD_STRENGTH, SPREAD_BM, SPREAD_EVAL = 0.6, 0.7, 0.25
FRAMEWORK_DROP = 1.0            # the longer 2025 evaluation starts lower
T_2223 = 4.5                    # years from Sept 2018 to spring 2023

STYLES = ("long_csv", "wide_xlsx", "wide_csv_cp1252", "long_csv_bom")


def _rng(seed: int, *keys) -> np.random.Generator:
    return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _year_label(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def _truthy(v) -> bool:
    return str(v).strip().upper() in {"Y", "YES", "TRUE", "1"}


def _year_groups(phase: str, has_sixth_form: bool, urn_leavers: pl.DataFrame) -> list[int]:
    ks = set(urn_leavers["key_stage"].to_list()) if urn_leavers.height else set()
    groups = []
    if phase != "16-19" or "KS4" in ks:
        groups += [7, 8, 9, 10, 11]
    if has_sixth_form or phase == "16-19" or "16-18" in ks:
        groups += [12, 13]
    return groups


def _autumn_groups(groups: list[int], academy_index: int, start: int) -> list[int]:
    """Year groups an academy surveys in the autumn (small scale): Year 7 (baseline), the leaving
    years 11 and 13 (they are surveyed again in the summer), and one further year group (8, 9,
    10, or 12 where there is a sixth form) that rotates by academy and year, as academies choose
    the FSQ for selected year groups rather than every pupil every term."""
    pool = [g for g in (8, 9, 10, 12) if g in groups]
    extra = {pool[(academy_index + start) % len(pool)]} if pool else set()
    return [g for g in groups if g in {7, 11, 13} | extra]


class _Cohorts:
    """Pupils of one academy by (key stage, leaving-year start): given leavers or generated ones."""

    def __init__(self, seed, urn, la, estab, leavers: pl.DataFrame):
        self.seed, self.urn, self.la, self.estab = seed, urn, la, estab
        self.leavers = leavers
        self.cache: dict[tuple[str, int], pl.DataFrame] = {}
        self.serial = 0
        self.pool = (leavers["readiness"].to_numpy() if leavers.height
                     else _rng(seed, urn, "pool").beta(5, 3, 500))
        sizes = {ks: leavers.filter(pl.col("key_stage") == ks).group_by("leaving_year").len()["len"]
                 for ks in ("KS4", "16-18")} if leavers.height else {}
        self.size = {ks: int(np.median(sizes[ks].to_numpy())) if ks in sizes and len(sizes[ks]) else d
                     for ks, d in (("KS4", 120), ("16-18", 50))}

    def _new_upn(self) -> str:
        # serials >= 900 never collide with the trust generator's serials
        k = self.serial
        self.serial += 1
        return make_upn(self.la, self.estab, (10 + k // 100) % 100, 900 + k % 100)

    def get(self, ks: str, start: int) -> pl.DataFrame:
        key = (ks, start)
        if key in self.cache:
            return self.cache[key]
        given = self.leavers.filter((pl.col("key_stage") == ks) & (pl.col("leaving_year") == _year_label(start)))
        if given.height:
            given = given.unique("upn", keep="first", maintain_order=True)  # one row per pupil
            df = given.select("upn", "readiness", "sex", "disadvantaged", "sen_provision").with_columns(
                is_leaver=pl.lit(True))
        else:
            r = _rng(self.seed, self.urn, ks, start, "cohort")
            n = max(5, int(round(self.size[ks] * r.uniform(0.9, 1.1))))
            df = pl.DataFrame({
                "upn": [self._new_upn() for _ in range(n)],
                "readiness": r.choice(self.pool, n).astype(float),
                "sex": r.choice(["M", "F"], n).tolist(),
                "disadvantaged": (r.random(n) < 0.27).tolist(),
                "sen_provision": r.choice(["N", "K", "E"], n, p=[0.84, 0.13, 0.03]).tolist(),
                "is_leaver": [False] * n,
            })
        df = df.with_columns(key_stage=pl.lit(ks), leaving_year=pl.lit(_year_label(start)))
        self.cache[key] = df
        return df


def _answers(cfg, rng, readiness, yg, summer, academy_effect, year_trend, completion):
    """Scale labels (or '' for not answered) for each pupil x item."""
    items = list(cfg.items)
    n = len(readiness)
    responded = rng.random(n) < np.clip(completion + 0.15 * (readiness - 0.5), 0.05, 0.98)
    eff_year = min(yg, 11) - 7 + 0.5 * max(0, yg - 11)
    labels = cfg.labels  # low to high, 5-point
    out = {}
    for item in items:
        base, growth, weight = ITEM_PARAMS.get(item, DEFAULT_ITEM)
        logit = (base + growth * eff_year + weight * (readiness - 0.5) + academy_effect
                 + year_trend + (0.15 if summer else 0.0))
        pos = rng.random(n) < _sigmoid(logit)
        strong = rng.random(n) < 0.4
        neg_pick = rng.choice([2, 1, 0], n, p=[0.5, 0.35, 0.15])  # neither / disagree / strongly
        idx = np.where(pos, np.where(strong, 4, 3), neg_pick)
        if len(labels) != 5:  # other scales: map onto the configured positive / other labels
            idx = np.clip(np.round(idx * (len(labels) - 1) / 4).astype(int), 0, len(labels) - 1)
        skipped = rng.random(n) < 0.03
        vals = np.array(labels, dtype=object)[idx]
        vals[~responded | skipped] = ""
        out[item] = vals
    return out


def _write_fsq(path: Path, style: str, cfg, rows: pl.DataFrame, answers: dict, survey_date: date):
    """One survey export: rows = invited pupils (upn, year_group), answers = item -> labels."""
    items = list(answers)
    code_of = {v: k for k, v in cfg.scale.items()}
    if style.startswith("long"):
        n = rows.height
        frame = pl.DataFrame({
            "upn": np.repeat(rows["upn"].to_numpy(), len(items)),
            "year_group": np.repeat(rows["year_group"].to_numpy(), len(items)),
            "item": np.tile(items, n),
            "response": np.column_stack([answers[i] for i in items]).reshape(-1),
        })
        if style == "long_csv":
            frame = frame.with_columns(survey_date=pl.lit(survey_date.isoformat())).select(
                pl.col("upn").alias("UPN"), pl.col("year_group").alias("Year Group"),
                pl.col("survey_date").alias("Survey Date"), pl.col("item").alias("Item ID"),
                pl.col("response").alias("Response"))
            path.write_text(frame.write_csv(), encoding="utf-8")
        else:  # BOM, UK dates, numeric codes
            frame = frame.with_columns(
                survey_date=pl.lit(survey_date.strftime("%d/%m/%Y")),
                response=pl.col("response").replace_strict(
                    {**{k: str(v) for k, v in code_of.items()}, "": ""}, return_dtype=pl.String))
            frame = frame.select(pl.col("upn").alias("Unique Pupil Number"), pl.col("year_group").alias("NC Year"),
                                 pl.col("survey_date").alias("Date"), pl.col("item").alias("Question ID"),
                                 pl.col("response").alias("Answer"))
            path.write_bytes(b"\xef\xbb\xbf" + frame.write_csv().encode("utf-8"))
        return
    wide = {"upn": rows["upn"].to_list(), "year_group": rows["year_group"].to_list()}
    if style == "wide_xlsx":
        import xlsxwriter
        wb = xlsxwriter.Workbook(str(path))
        wb.set_properties({"created": datetime(survey_date.year, survey_date.month, survey_date.day)})  # stable bytes
        about = wb.add_worksheet("About")
        about.write(0, 0, "Future Skills Questionnaire export")
        ws = wb.add_worksheet("Responses")
        ws.write(0, 0, f"FSQ results exported {survey_date.isoformat()}")  # title row above the header
        header = ["UPN", "Year", "Date completed"] + items
        ws.write_row(2, 0, header)
        for r in range(rows.height):
            vals = [wide["upn"][r], int(wide["year_group"][r]), survey_date.isoformat()]
            vals += [answers[i][r] for i in items]
            ws.write_row(3 + r, 0, vals)
        wb.close()
        return
    # wide CSV, cp1252, numeric codes and a tutor-group column with an en dash
    lines = [",".join(["UPN", "Year Group", "Form", "Survey Date"] + items)]
    for r in range(rows.height):
        yg = int(wide["year_group"][r])
        vals = [wide["upn"][r], str(yg), f"{yg}\u2013{'ABC'[r % 3]}", survey_date.strftime("%d/%m/%Y")]
        vals += [str(code_of[answers[i][r]]) if answers[i][r] else "" for i in items]
        lines.append(",".join(vals))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def _compass_evaluations(seed, urn, strength, first_year, last_year):
    """Benchmark and criterion rows for termly evaluations of one academy."""
    nd = NormalDist()
    z_bm = {b: _rng(seed, urn, "bm", b).normal(0, SPREAD_BM) for b in range(1, 9)}
    sd = math.sqrt(SPREAD_STRENGTH ** 2 + SPREAD_BM ** 2 + SPREAD_EVAL ** 2)
    crit_u = {}  # fixed per criterion so met criteria tend to stay met
    rows = []
    for start in range(first_year, last_year + 1):
        r = _rng(seed, urn, "compass", start)
        terms = [date(start, 10, 15) + timedelta(days=int(r.integers(0, 20))),
                 date(start + 1, 3, 5) + timedelta(days=int(r.integers(0, 20))),
                 date(start + 1, 6, 20) + timedelta(days=int(r.integers(0, 20)))]
        for d in terms:
            if start == last_year and d.month < 9:
                continue  # the last year has only its autumn evaluation
            fw = "2025" if d >= FRAMEWORK_2025_FROM else "2018"
            t = (d - date(2018, 9, 1)).days / 365.25
            for b in range(1, 9):
                n = CRITERIA[fw][b]
                thr = math.log((n - 0.5) / 0.5)  # logit((n-0.5)/n): all criteria met above this
                n18 = CRITERIA["2018"][b]
                base = (math.log((n18 - 0.5) / 0.5) + nd.inv_cdf(NATIONAL_BM_2223[b]) * sd
                        - EARLY_SLOPE * T_2223)
                m = base + EARLY_SLOPE * min(t, T_2223) + LATE_SLOPE[b] * max(0.0, t - T_2223)
                if fw == "2025":
                    yrs = (d - FRAMEWORK_2025_FROM).days / 365.25
                    m += thr - math.log((n18 - 0.5) / 0.5) - FRAMEWORK_DROP + 0.4 * yrs
                m += strength + z_bm[b] + r.normal(0, SPREAD_EVAL)
                k = n if m >= thr else min(n - 1, int(round(n / (1 + math.exp(-m)))))
                # which criteria are met: a fixed order per academy x benchmark, so met ones stay met
                order = crit_u.setdefault((fw, b), np.argsort(_rng(seed, urn, "crit", fw, b).random(n)))
                rank = np.empty(n, dtype=int)
                rank[order] = np.arange(n)
                rows.append({"date": d, "fw": fw, "benchmark": b, "criterion": None, "status": None,
                             "percent": round(100 * k / n)})
                for c in range(n):
                    st = ("Fully achieved" if rank[c] < k else "In progress" if rank[c] < k + 2
                          else "Not started")
                    rows.append({"date": d, "fw": fw, "benchmark": b, "criterion": f"{b}.{c + 1}",
                                 "status": st, "percent": {"Fully achieved": 100, "In progress": 50,
                                                           "Not started": 0}[st]})
    return rows


def _write_compass(path: Path, urn: str, evals: list[dict], with_criteria: bool, xlsx: bool):
    rows = [e for e in evals if with_criteria or e["criterion"] is None]
    header = ["URN", "Evaluation Date", "Framework Version", "Benchmark", "Percent Achieved"]
    if with_criteria:
        header += ["Criterion", "Criterion Status"]
    data = []
    for e in rows:
        rec = [urn, e["date"].isoformat(), e["fw"], f"BM{e['benchmark']}" if xlsx else str(e["benchmark"]),
               e["percent"]]
        if with_criteria:
            rec += [e["criterion"] or "", e["status"] or ""]
        data.append(rec)
    if xlsx:
        import xlsxwriter
        wb = xlsxwriter.Workbook(str(path))
        d0 = rows[0]["date"]
        wb.set_properties({"created": datetime(d0.year, d0.month, d0.day)})  # stable bytes
        ws = wb.add_worksheet("Compass results")
        ws.write_row(0, 0, header)
        for i, rec in enumerate(data, start=1):
            ws.write_row(i, 0, rec)
        wb.close()
    else:
        path.write_text("\n".join(",".join(str(v) for v in rec) for rec in [header] + data) + "\n",
                        encoding="utf-8")


def generate_careers_data(out_dir: Path, academies: pl.DataFrame, leavers: pl.DataFrame,
                          seed: int, scale: str = "small") -> dict:
    """Write raw/fsq/<URN>/<YYYY-YY>/<file> and raw/compass/<URN>/<file> under out_dir.

    `academies`: the register (urn, la_code, phase, has_sixth_form, ...). `leavers`: one row
    per leaver (academy_urn, upn, leaving_year, key_stage, sex, disadvantaged, sen_provision,
    readiness, ...). Returns counts of what was written.
    """
    out_dir = Path(out_dir)
    cfg = load_fsq_config()
    leavers = leavers.with_columns(pl.col("academy_urn").cast(pl.String), pl.col("readiness").cast(pl.Float64))
    starts = sorted({int(y[:4]) for y in leavers["leaving_year"].to_list()}) or [2024]
    # the current academic year (only its autumn round has happened): the generator marks its
    # pupils is_current; otherwise the year after the latest leaving year
    current = (leavers.filter(pl.col("is_current"))["leaving_year"].str.slice(0, 4).cast(int).max()
               if "is_current" in leavers.columns and leavers["is_current"].any() else None) or max(starts) + 1
    fsq_years = [y for y in range(max(min(starts), FSQ_LAUNCH_YEAR), current + 1)]
    compass_first = max(COMPASS_FIRST_YEAR, min(starts) - 1)
    compass_last = current  # up to the autumn evaluation of the current year
    # Bigger scales stay tractable: fewer year groups surveyed (large), and at national scale
    # only ~30% of academies use the FSQ (as nationally: 1,425 schools in 2024/25), Years 11/13
    # in the summer of the last two years, with one Compass file per academy (summer evaluations).
    survey_groups_cap = {"large": {7, 9, 11, 12, 13}, "national": {11, 13}}.get(scale)
    national = scale == "national"
    if national:
        fsq_years = fsq_years[-3:-1] or fsq_years[-1:]
    stats = {"fsq_files": 0, "fsq_rows": 0, "fsq_pupils": 0, "compass_files": 0, "compass_rows": 0}
    truth = []
    acads = academies.with_columns(pl.col("urn").cast(pl.String)).sort("urn")
    for i, a in enumerate(acads.iter_rows(named=True)):
        urn = a["urn"]
        la = int(str(a.get("la_code") or 999)[:3])
        laestab = str(a.get("laestab") or "")
        estab = int(laestab[-4:]) if laestab[-4:].isdigit() and len(laestab) >= 7 else 6900 + i
        phase = str(a.get("phase") or "secondary")
        own = leavers.filter(pl.col("academy_urn") == urn)
        groups = _year_groups(phase, _truthy(a.get("has_sixth_form")), own)
        if survey_groups_cap:
            groups = [g for g in groups if g in survey_groups_cap]
        r_acad = _rng(seed, urn, "academy")
        strength = float(r_acad.normal(0, SPREAD_STRENGTH))
        completion = float(r_acad.uniform(0.70, 0.85))
        style = STYLES[i % len(STYLES)]
        cohorts = _Cohorts(seed, urn, la, estab, own)
        uses_fsq = not national or r_acad.random() < 0.3
        for start in (fsq_years if uses_fsq else []):
            year = _year_label(start)
            folder = out_dir / "raw" / "fsq" / urn / year
            folder.mkdir(parents=True, exist_ok=True)
            r_year = _rng(seed, urn, "fsq", start)
            rounds = [("autumn", date(start, 10, 6) + timedelta(days=int(r_year.integers(0, 25))), groups),
                      ("summer", date(start + 1, 5, 6) + timedelta(days=int(r_year.integers(0, 20))),
                       [g for g in groups if g in SUMMER_YEAR_GROUPS])]
            if scale == "small":  # a realistic selection, not every year group every term
                rounds[0] = (rounds[0][0], rounds[0][1], _autumn_groups(groups, i, start))
            if start == current:
                rounds = rounds[:1]  # the current year: autumn only
            if national:
                rounds = rounds[1:]
            for rnd, sdate, ygs in rounds:
                parts, answers = [], {}
                for yg in ygs:
                    ks, lstart = ("KS4", start + 11 - yg) if yg <= 11 else ("16-18", start + 13 - yg)
                    pupils = cohorts.get(ks, lstart)
                    ans = _answers(cfg, _rng(seed, urn, start, rnd, yg), pupils["readiness"].to_numpy(), yg,
                                   rnd == "summer", 0.4 * strength, 0.05 * (start - FSQ_LAUNCH_YEAR), completion)
                    parts.append(pupils.with_columns(year_group=pl.lit(yg)))
                    for k, v in ans.items():
                        answers.setdefault(k, []).append(v)
                    n_pos = np.zeros(pupils.height)
                    n_ans = np.zeros(pupils.height)
                    for k, v in ans.items():
                        if cfg.constructs[cfg.items[k]["construct"]].get("in_readiness_score"):
                            n_ans += v != ""
                            n_pos += np.isin(v, list(cfg.positive))
                    truth.append(pupils.select("upn", "readiness", "is_leaver", "key_stage", "leaving_year")
                                 .with_columns(academy_urn=pl.lit(urn), academic_year=pl.lit(year),
                                               survey_round=pl.lit(rnd), survey_date=pl.lit(sdate),
                                               year_group=pl.lit(yg),
                                               readiness_answered=pl.Series(n_ans.astype(int)),
                                               readiness_positive=pl.Series(n_pos.astype(int))))
                if not parts:
                    continue
                rows = pl.concat(parts)
                answers = {k: np.concatenate(v) for k, v in answers.items()}
                keep = rows["upn"].is_first_distinct().to_numpy()  # a pupil once per survey
                rows = rows.filter(pl.Series(keep))
                answers = {k: v[keep] for k, v in answers.items()}
                ext = "xlsx" if style == "wide_xlsx" else "csv"
                _write_fsq(folder / f"fsq_{rnd}_{sdate.isoformat()}.{ext}", style, cfg, rows, answers, sdate)
                stats["fsq_files"] += 1
                stats["fsq_rows"] += rows.height * (len(answers) if style.startswith("long") else 1)
        # Compass: termly; criterion rows for every other academy
        evals = _compass_evaluations(seed, urn, strength, compass_first, compass_last)
        folder = out_dir / "raw" / "compass" / urn
        folder.mkdir(parents=True, exist_ok=True)
        if national:
            evals = [e for e in evals if e["date"].month in (6, 7) and e["criterion"] is None]
            _write_compass(folder / "compass_results.csv", urn, evals, with_criteria=False, xlsx=False)
            stats["compass_files"] += 1
            stats["compass_rows"] += len(evals)
            evals = []
        for d in sorted({e["date"] for e in evals}):
            one = [e for e in evals if e["date"] == d]
            xlsx = i % 3 == 1
            _write_compass(folder / f"compass_{d.isoformat()}.{'xlsx' if xlsx else 'csv'}", urn, one,
                           with_criteria=i % 2 == 0, xlsx=xlsx)
            stats["compass_files"] += 1
            stats["compass_rows"] += sum(1 for e in one if i % 2 == 0 or e["criterion"] is None)
    if truth:
        t = pl.concat(truth, how="diagonal_relaxed")
        stats["fsq_pupils"] = t["upn"].n_unique()
        (out_dir / "_truth").mkdir(parents=True, exist_ok=True)
        t.write_parquet(out_dir / "_truth" / "fsq_pupils.parquet")
    return stats
