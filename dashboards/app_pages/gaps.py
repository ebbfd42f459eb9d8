"""Disadvantage and SEND gaps, against the national gaps for the same year."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from dashboards.lib.benchmarks import DEST_SOURCES, pick

ctx = ui.page("Disadvantage and SEND gaps", "trust_admin", "director", "academy",
              caption="Gap = the group's share minus the comparison group's share, in percentage "
                      "points (pp). For positive destinations a negative gap means the group does "
                      "worse; for NEET a positive gap does.")
GAPS = [("Disadvantage gap", "Disadvantage", "Disadvantaged", "Not disadvantaged"),
        ("SEN support gap", "SEN provision", "SEN support", "No SEN"),
        ("EHC plan gap", "SEN provision", "EHC plan", "No SEN")]
MEASURES = {"positive": "Positive destinations", "education": "Education",
            "apprenticeship": "Apprenticeship", "neet": "NEET"}
COLS = ["academy", "gap", "group_pct", "comparison_pct", "gap_pp", "national_gap_pp",
        "national_year", "national_source"]

gm = ctx.load("destination_gaps")
dm = ctx.load("destination_measures") if not gm.ok else None
base = gm if gm.ok else dm
if base is None or not base.ok:
    ui.not_published("Disadvantage and SEND gaps", gm)
    st.stop()
f = ui.standard_filters(ctx, base.frame)
measure = st.radio("Measure", list(MEASURES), horizontal=True, format_func=MEASURES.get,
                   key="w_gap_measure")

if gm.ok:  # the pipeline's gaps mart
    g = ui.label_academies(ctx, ui.apply(gm.frame, f, academy=False))
    g = g[g["measure"] == measure]
    if "gap_order" in g:
        g = g.sort_values(["level", "academy", "gap_order"], ascending=[False, True, True])
    tab = g.assign(national_year=g.get("latest_national_leaving_year") if "national_gap_pp" not in g
                   else g["leaving_year"].where(g["national_gap_pp"].notna(), None))
    if "latest_national_gap_pp" in tab:  # DfE publishes late: fall back to its latest year
        miss = tab["national_gap_pp"].isna() & tab["latest_national_gap_pp"].notna()
        tab.loc[miss, "national_gap_pp"] = tab.loc[miss, "latest_national_gap_pp"]
        tab.loc[miss, "national_year"] = tab.loc[miss, "latest_national_leaving_year"]
        tab.loc[miss, "national_source"] = tab.loc[miss, "latest_national_source"]
    published = gm.published
else:  # derive from destination_measures
    bm = ui.benchmarks(ctx)
    rows = ui.label_academies(ctx, ui.apply(dm.frame, f, academy=False))
    rows = rows[rows["breakdown_topic"].isin({x[1] for x in GAPS})]
    wide = rows.groupby(["level", "academy", "breakdown"], sort=False)[f"{measure}_pct"].first().unstack("breakdown")
    out = []
    for name, topic, grp, ref in GAPS:
        na = pick(bm, f"{measure}_pct", key_stage=f["ks"], leaving_year=f["year"], breakdown_topic=topic,
                  breakdown=grp, sources=DEST_SOURCES.get(f["ks"]))
        nb = pick(bm, f"{measure}_pct", key_stage=f["ks"], leaving_year=f["year"], breakdown_topic=topic,
                  breakdown=ref, sources=DEST_SOURCES.get(f["ks"]))
        nat = (na.value - nb.value) if na and nb and na.leaving_year == nb.leaving_year else None
        a = wide[grp] if grp in wide else pd.Series(float("nan"), index=wide.index)
        b = wide[ref] if ref in wide else pd.Series(float("nan"), index=wide.index)
        out.append(pd.DataFrame({"academy": wide.index.get_level_values("academy"),
                                 "level": wide.index.get_level_values("level"), "gap": name,
                                 "group_pct": a.to_numpy(), "comparison_pct": b.to_numpy(),
                                 "gap_pp": (a - b).to_numpy(),
                                 "national_gap_pp": nat if nat is not None else float("nan"),
                                 "national_year": na.leaving_year if na else None,
                                 "national_source": na.source if na else None}))
    tab = pd.concat(out, ignore_index=True).sort_values(["level", "academy"], ascending=[False, True],
                                                        kind="stable")
    published = dm.published

if tab.empty:
    st.info("No gaps for this selection.")
    st.stop()
want = ctx.academy_label(f["academy"]) if f["academy"] not in (None, ui.TRUST) else "Trust"
focus = tab[tab["academy"] == want]
if focus.empty:
    focus = tab[tab["level"] == "trust"]
head = focus[focus["gap"].astype(str).str.startswith("Disadvantage")]
if len(head) and pd.notna(head["gap_pp"].iloc[0]):
    gv, nv = float(head["gap_pp"].iloc[0]), head["national_gap_pp"].iloc[0]
    title = f"{head['academy'].iloc[0]}: disadvantage gap {gv:+.1f} pp" + (
        f", {'wider' if abs(gv) > abs(nv) else 'narrower'} than England's {float(nv):+.1f} pp"
        if pd.notna(nv) else "")
else:
    title = f"{MEASURES[measure]}: gaps against England"
plot = focus.melt(id_vars="gap", value_vars=["gap_pp", "national_gap_pp"], var_name="series",
                  value_name="pp").dropna()
plot["series"] = plot["series"].map({"gap_pp": "Trust / academy", "national_gap_pp": "England"})
if len(plot):
    st.plotly_chart(charts.bars(plot, "gap", "pp", title, color="series"), key="gaps_chart")
yrs = sorted(tab["national_year"].dropna().astype(str).unique()) if "national_year" in tab else []
ui.caveat((f"England gaps from DfE destination measures ({', '.join(yrs)}); where DfE has not yet "
           "published the same year the latest earlier year is shown. " if yrs else
           "No national gap published for this key stage yet. ") +
          ("NEET is compared with DfE's 'not sustained' share, the nearest national measure. "
           if measure == "neet" else "") + ui.BENCHMARK_CAVEAT +
          " Small groups make academy gaps swing from year to year.")
ui.table(tab, published, f"gaps_{measure}_{f['year']}_{f['round']}", key="gaps", columns=COLS,
         exclude={"national_year", "national_gap_pp"})
