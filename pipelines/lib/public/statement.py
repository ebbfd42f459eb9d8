"""Each academy's public destinations statement: self-contained accessible HTML and a PDF.

Every figure is a `public_text` cell of the public_destination_statement mart (the
public-release rules are applied there); this module only lays them out.
"""
from __future__ import annotations

import base64
import dataclasses
import html
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.lib.report.built import BuiltDocuments
from pipelines.lib.report.serving import read_served
from pipelines.lib.report.documents import Batch, draw_batch, drawn

MART = "public_destination_statement"
KS_HEADINGS = {"KS4": ("After Year 11 (key stage 4)", "pupils who left Year 11"),
               "16-18": ("After sixth form or college (16 to 18 study)", "students who finished 16 to 18 study")}
CHART_MEASURES = ["positive", "school_sixth_form", "sixth_form_college", "further_education",
                  "higher_education", "apprenticeship", "employment", "neet"]


class StatementDataError(RuntimeError):
    """The serving snapshot cannot give statements for this year (message says why)."""


@dataclass
class KeyStageBlock:
    key_stage: str
    years: list[str]                         # oldest first, the statement year last
    leavers: dict[str, int | None]
    rows: list[dict]                         # one per measure: label, texts per year, national
    national_year: str | None = None
    national_publication: str | None = None
    leavers_text: dict[str, str] = field(default_factory=dict)


@dataclass
class Statement:
    academy_urn: str
    academy_name: str
    year: str
    round: str
    blocks: list[KeyStageBlock] = field(default_factory=list)
    rules: tuple[int, int, int] = (10, 5, 5)
    trust_name: str = ""
    generated_on: str = ""


def load_rows(serving: Path) -> list[dict]:
    rows = read_served(serving, MART, "director")
    if not rows and not (Path(serving) / f"{MART}.parquet").exists():
        raise StatementDataError(f"No {MART} in the serving snapshot {serving}: run `destinations run` first.")
    return rows


def statement_years(rows: list[dict]) -> list[str]:
    return sorted({r["leaving_year"] for r in rows}, reverse=True)


def _nat_text(v) -> str:
    return "-" if v is None else f"{round(float(v)):d}%"


def build_statements(rows: list[dict], year: str, trust_name: str = "", generated_on: str | None = None,
                     years_shown: int = 3) -> list[Statement]:
    years = statement_years(rows)
    if year not in years:
        raise StatementDataError(f"No actual destinations for leaving year {year} in {MART}. "
                                 f"Years with data: {', '.join(sorted(years)) or 'none'}.")
    shown_years = sorted(y for y in years if y <= year)[-years_shown:]
    by_academy: dict[str, list[dict]] = {}
    for r in rows:
        by_academy.setdefault(r["academy_urn"], []).append(r)
    out = []
    for urn in sorted(by_academy):
        ar = by_academy[urn]
        if not any(r["leaving_year"] == year for r in ar):
            continue  # no actual return for this year (not an academy with leavers that year)
        latest = [r for r in ar if r["leaving_year"] == year]
        st = Statement(urn, latest[0].get("academy_name") or f"Academy {urn}", year, latest[0].get("round") or "",
                       rules=(latest[0].get("rule_min_cohort"), latest[0].get("rule_min_count"),
                              latest[0].get("rule_round_pct_to")),
                       trust_name=trust_name, generated_on=generated_on or date.today().isoformat())
        for ks in ("KS4", "16-18"):
            ks_rows = [r for r in ar if r["key_stage"] == ks and r["leaving_year"] in shown_years]
            if not any(r["leaving_year"] == year for r in ks_rows):
                continue
            yrs = [y for y in shown_years if any(r["leaving_year"] == y for r in ks_rows)]
            cell = {(r["leaving_year"], r["measure"]): r for r in ks_rows}
            measures = sorted({(r["measure_order"], r["measure"], r["measure_label"]) for r in ks_rows})
            block = KeyStageBlock(ks, yrs, {y: next((r["leavers"] for r in ks_rows if r["leaving_year"] == y), None)
                                            for y in yrs}, [],
                                  leavers_text={y: next((r.get("leavers_text") or "not published" for r in ks_rows
                                                         if r["leaving_year"] == y), "-") for y in yrs})
            for _, m, label in measures:
                cur = cell.get((year, m), {})
                block.rows.append({
                    "measure": m, "label": label,
                    "texts": [cell[(y, m)]["public_text"] if (y, m) in cell else "-" for y in yrs],
                    "pcts": [cell[(y, m)]["public_pct"] if (y, m) in cell else None for y in yrs],
                    "national": cur.get("national_pct"),
                })
                if cur.get("national_pct") is not None and block.national_year is None:
                    block.national_year = cur.get("national_leaving_year")
                    block.national_publication = cur.get("national_publication")
            st.blocks.append(block)
        out.append(st)
    return out


def summary_sentences(st: Statement, b: KeyStageBlock) -> list[str]:
    """Plain words from the printed cells only."""
    who = KS_HEADINGS[b.key_stage][1]
    rows = {r["measure"]: r for r in b.rows}
    n = b.leavers.get(st.year)
    out = []
    if n is None:
        out.append(f"Too few {who} in {st.year} to publish figures without identifying them.")
        return out
    pos = rows.get("positive")
    if pos:
        text = pos["texts"][-1]
        nat = f" (England: {_nat_text(pos['national'])})" if pos["national"] is not None else ""
        out.append(f"Of the {n} {who} in {st.year}, {text} went on to education, an apprenticeship, "
                   f"employment or training{nat}." if text.endswith("%") else
                   f"There were {n} {who} in {st.year}. The share who went on to education, an apprenticeship, "
                   f"employment or training is not published, so that no pupil can be identified.")
    parts = []
    for m in ("school_sixth_form", "sixth_form_college", "further_education", "higher_education",
              "apprenticeship", "employment"):
        r = rows.get(m)
        if r and r["texts"][-1].endswith("%") and r["pcts"][-1]:
            parts.append(f"{r['texts'][-1]} {r['label'][0].lower() + r['label'][1:]}")
    if parts:
        out.append("Where they went: " + "; ".join(parts) + ".")
    return out


# ------------------------------------------------------------------------------ HTML

CSS = """
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;margin:0;background:#fff;line-height:1.45}
main{max-width:60rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.9rem;margin:.2rem 0 1rem;color:#1f3c6e}
h2{font-size:1.4rem;margin:2rem 0 .6rem;color:#1f3c6e;border-bottom:2px solid #1f3c6e;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.8rem 0}
caption{text-align:left;font-weight:bold;padding:.4rem 0}
th,td{border-bottom:1px solid #b1b4b6;padding:.45rem .5rem;text-align:right;vertical-align:top}
th[scope=row],thead th:first-child{text-align:left}
thead th{background:#1f3c6e;color:#fff}
.note{font-size:.92rem;color:#383f43}
img{max-width:100%;height:auto}
a{color:#1d70b8}
"""


def _chart_svg(st: Statement, b: KeyStageBlock) -> tuple[str, str] | None:
    """(data URI of an SVG bar chart, alt text) from the printed shares of the statement year."""
    rows = [r for r in b.rows if r["measure"] in CHART_MEASURES and r["pcts"][-1] is not None]
    if not rows:
        return None
    bar_h, gap, left, width = 22, 10, 330, 300
    height = len(rows) * (bar_h + gap) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 70}" height="{height}" '
             f'font-family="Arial" font-size="13">']
    alt_bits = []
    for i, r in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        w = width * float(r["pcts"][-1]) / 100
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{html.escape(r["label"][:50])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#1f3c6e"/>')
        parts.append(f'<text x="{left + w + 5:.1f}" y="{y + 16}">{html.escape(r["texts"][-1])}</text>')
        bit = f"{r['label']} {r['texts'][-1]}"
        if r["national"] is not None:
            nx = left + width * float(r["national"]) / 100
            parts.append(f'<line x1="{nx:.1f}" x2="{nx:.1f}" y1="{y - 3}" y2="{y + bar_h + 3}" '
                         f'stroke="#d4351c" stroke-width="3"/>')
            bit += f" (England {_nat_text(r['national'])})"
        alt_bits.append(bit)
    parts.append(f'<text x="{left}" y="{height - 8}" fill="#d4351c">| red line: England</text></svg>')
    uri = "data:image/svg+xml;base64," + base64.b64encode("".join(parts).encode()).decode()
    alt = (f"Bar chart of where {KS_HEADINGS[b.key_stage][1]} in {st.year} went: " + "; ".join(alt_bits) + ".")
    return uri, alt


def _table_html(st: Statement, b: KeyStageBlock, idx: int) -> str:
    heads = "".join(f'<th scope="col">{html.escape(y)} leavers</th>' for y in b.years)
    nat_head = (f'<th scope="col">England ({html.escape(b.national_year)} leavers)</th>'
                if b.national_year else '<th scope="col">England</th>')
    body = []
    lv = "".join(f"<td>{html.escape(b.leavers_text.get(y, '-'))}</td>" for y in b.years)
    body.append(f'<tr><th scope="row">Number of leavers</th>{lv}<td>-</td></tr>')
    for r in b.rows:
        cells = "".join(f"<td>{html.escape(t)}</td>" for t in r["texts"])
        body.append(f'<tr><th scope="row">{html.escape(r["label"])}</th>{cells}<td>{_nat_text(r["national"])}</td></tr>')
    cap = (f"Table {idx}: where {KS_HEADINGS[b.key_stage][1]} from {html.escape(st.academy_name)} went, "
           f"{html.escape(b.years[0])} to {html.escape(b.years[-1])}, with England")
    return (f'<table id="table-{b.key_stage.lower()}"><caption>{cap}</caption>'
            f'<thead><tr><th scope="col">Destination</th>{heads}{nat_head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def render_html(st: Statement) -> str:
    e = html.escape
    out = [f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<title>Where our leavers went: {e(st.academy_name)}</title><style>{CSS}</style></head><body><main>',
           f'<h1>Where our leavers went: {e(st.academy_name)}</h1>',
           f'<p>What our pupils did after leaving us, for the last {len(st.blocks[0].years) if st.blocks else 0} '
           f'years up to those who left in {e(st.year)}, recorded in the autumn after they left. '
           f'Figures are rounded to the nearest {st.rules[2]}% and groups of fewer than {st.rules[1]} pupils '
           f'are not shown, so that no pupil can be identified.</p>']
    if not st.blocks:
        out.append("<p>No destinations can be published for this year.</p>")
    for i, b in enumerate(st.blocks, start=1):
        out.append(f"<h2>{e(KS_HEADINGS[b.key_stage][0])}</h2>")
        for s in summary_sentences(st, b):
            out.append(f"<p>{e(s)}</p>")
        chart = _chart_svg(st, b)
        if chart:
            out.append(f'<figure><img src="{chart[0]}" alt="{e(chart[1])}"><figcaption class="note">'
                       f'{e(st.year)} leavers; the red line marks England.</figcaption></figure>')
        out.append(_table_html(st, b, i))
    out.append("<h2>About these figures</h2>")
    notes = [f"Source: {st.academy_name}'s own records of where each leaver was in the autumn after leaving "
             f"(actual destinations, collection round {st.round}), collected by {st.trust_name or 'the trust'}. "
             f"Published {st.generated_on}."]
    pubs = sorted({b.national_publication for b in st.blocks if b.national_publication})
    if pubs:
        notes.append("England figures: Department for Education, " + "; ".join(pubs) + ". These count "
                     "destinations sustained for two terms and are published about two years after pupils "
                     "leave, so they are for an earlier year and the comparison is a guide only. Contains "
                     "public sector information licensed under the Open Government Licence v3.0.")
    notes.append(f"'Fewer than {st.rules[1]} pupils' means between 1 and {st.rules[1] - 1}; 'not published' "
                 f"means the figure is withheld so that no pupil can be identified, or could be worked out "
                 f"from other figures. Years with fewer than {st.rules[0]} leavers show no figures.")
    out += [f'<p class="note">{e(n)}</p>' for n in notes]
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------- PDF

def render_pdf(st: Statement, path: Path) -> Path:
    from pipelines.lib.public.pdfdoc import save_pdf
    from pipelines.lib.report.pdf import draw_pdf

    return save_pdf(draw_pdf(lambda core: _draw_pdf(st, core)), path)


def _draw_pdf(st: Statement, core_fonts: bool):
    from pipelines.lib.public.pdfdoc import new_pdf
    from pipelines.lib.report.model import Column, Table
    from pipelines.lib.report.pdf import _heading, _para, render_table

    pdf = new_pdf(f"Where our leavers went: {st.academy_name}", st.trust_name,
                  f"{st.academy_name} - leavers' destinations {st.year} - public statement", core_fonts)
    pdf.add_page()
    _heading(pdf, f"Where our leavers went: {st.academy_name}", 16)
    _para(pdf, f"What our pupils did after leaving us, recorded in the autumn after they left. Figures are rounded "
               f"to the nearest {st.rules[2]}% and groups of fewer than {st.rules[1]} pupils are not shown.", 9.5)
    for b in st.blocks:
        _heading(pdf, KS_HEADINGS[b.key_stage][0], 12)
        for s in summary_sentences(st, b):
            _para(pdf, s, 9.5)
        cols = [Column("m", "Destination", "text", 3.2)] + [Column(y, f"{y} leavers", "pct", 1.2) for y in b.years] \
            + [Column("nat", f"England ({b.national_year or '-'} leavers)", "pct", 1.4)]
        rows = [["Number of leavers"] + [b.leavers_text.get(y, "-") for y in b.years] + ["-"]]
        rows += [[r["label"], *r["texts"], _nat_text(r["national"])] for r in b.rows]
        render_table(pdf, Table(f"public_{b.key_stage}", f"Where {KS_HEADINGS[b.key_stage][1]} went", cols, rows),
                     font_size=8)
    _heading(pdf, "About these figures", 11)
    pubs = sorted({b.national_publication for b in st.blocks if b.national_publication})
    _para(pdf, f"Source: the academy's own records of actual destinations (round {st.round}), collected by "
               f"{st.trust_name or 'the trust'}. Published {st.generated_on}."
               + (f" England: Department for Education, {'; '.join(pubs)} (sustained destinations, an earlier "
                  "year; Open Government Licence v3.0)." if pubs else ""), 8)
    return pdf


def write_statement(job: tuple) -> None:
    """Write one statement's HTML and PDF (each a temp file, renamed): (statement, html path, pdf path)."""
    st, h, p = job
    tmp = h.with_name(f".{h.name}.tmp")
    tmp.write_text(render_html(st), encoding="utf-8")
    tmp.replace(h)
    render_pdf(st, p)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def write_statements(serving: Path, year: str, out_dir: Path, trust_name: str = "") -> list[dict]:
    """Write <URN>-<name>.html and .pdf per academy and an index.html; returns what was written.
    A statement whose content is unchanged (the publication date aside) is not drawn again."""
    return draw_batch(statement_batch(serving, year, out_dir, trust_name))


def statement_batch(serving: Path, year: str, out_dir: Path, trust_name: str = "") -> Batch:
    """The statements to draw (see write_statements), as a batch for report.documents; its
    finish writes the index and gives the list write_statements returns."""
    statements = build_statements(load_rows(serving), year, trust_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, todo = [], []
    built = BuiltDocuments(out_dir)
    for st in statements:
        stem = f"{st.academy_urn}-{slug(st.academy_name)}"
        h, p = out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"
        # the publication date aside, same statement: keep the files (and the date they were published)
        digest = built.digest(dataclasses.replace(st, generated_on=""))
        same = built.unchanged(stem, digest, h, p)
        written.append({"academy_urn": st.academy_urn, "academy_name": st.academy_name, "html": h, "pdf": p,
                        "rendered": not same})
        if not same:
            todo.append(((st, h, p), stem, digest))

    def finish(results: list) -> list[dict]:
        for (_, stem, digest), r in zip(todo, results):      # recorded once its files are written
            if drawn(r):
                built.record(stem, digest)
        built.save()
        links = "".join(f'<li><a href="{w["html"].name}">{html.escape(w["academy_name"])}</a> '
                        f'(<a href="{w["pdf"].name}">PDF</a>)</li>' for w in written)
        (out_dir / "index.html").write_text(
            f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>Leavers\' destinations {year}'
            f'</title><style>{CSS}</style></head><body><main><h1>Leavers\' destinations {year}: public statements'
            f'</h1><ul>{links}</ul></main></body></html>\n', encoding="utf-8")
        return written
    return Batch("public statements", write_statement, [job for job, _, _ in todo], finish)
