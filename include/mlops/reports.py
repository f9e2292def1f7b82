"""Report pages for people: self-contained HTML (inline PNG plots) for drift (validation: GX's own Data Docs).

They return the page as a string; ``include.common.reports.write_report`` writes it (and the JSON
next to it) into the run's report folder.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

_STYLE = """<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}th{background:#f3f3f3}
.ok{color:#176f2c;font-weight:bold}.bad{color:#b00020;font-weight:bold}.warn{color:#a15c00;font-weight:bold}
code{background:#f6f6f6;padding:1px 4px}img{max-width:480px;margin:4px;border:1px solid #eee}
</style>"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return _e(value)


def _facts(facts: dict[str, Any]) -> str:
    """A two-column table of facts (name, value)."""
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts.items()) + "</table>"


def _page(title: str, body: str) -> str:
    """A complete HTML page with the shared style."""
    head = f"<meta charset='utf-8'><title>{_e(title)}</title>{_STYLE}"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=70)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def drift_plot(feature: str, reference: dict[str, Any], current, kind: str) -> str:
    """A base64 PNG comparing the reference and the batch for one feature."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    fig, ax = plt.subplots(figsize=(5, 3))
    if kind == "categorical":
        ref = pd.Series(reference["counts"], dtype="float64")
        cur = pd.Series(current).dropna().astype(str).value_counts().astype("float64")
        cats = sorted(set(ref.index) | set(cur.index))
        x = np.arange(len(cats))
        ax.bar(x - 0.2, [ref.get(c, 0) / max(ref.sum(), 1) for c in cats], 0.4, label="reference")
        ax.bar(x + 0.2, [cur.get(c, 0) / max(cur.sum(), 1) for c in cats], 0.4, label="batch")
        ax.set_xticks(x, cats, rotation=30)
        ax.set_ylabel("share")
    else:
        ref = np.asarray(reference["sample"], dtype="float64")
        cur = np.asarray(current, dtype="float64")
        cur = cur[~np.isnan(cur)]
        if len(cur) > 50_000:
            cur = np.random.default_rng(0).choice(cur, 50_000, replace=False)
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]) if len(cur) else ref, bins=30)
        ax.hist(ref, bins=bins, alpha=0.5, density=True, label="reference")
        if len(cur):
            ax.hist(cur, bins=bins, alpha=0.5, density=True, label="batch")
    ax.set_title(feature)
    ax.legend()
    return _png(fig)


def drift_html(report: dict[str, Any], plots: dict[str, str], context: dict[str, Any]) -> str:
    """The drift report page: verdict, per-feature table, prediction/performance, a plot per drifted feature."""
    verdict = (
        '<span class="bad">DATASET DRIFT</span>' if report["dataset_drift"] else '<span class="ok">no dataset drift</span>'
    )
    rows = []
    for f in report["features"]:
        status = '<span class="bad">drift</span>' if f["drifted"] else '<span class="ok">ok</span>'
        psi_cls = {"alert": "bad", "warn": "warn"}.get(f.get("psi_level") or "", "")
        rows.append(
            f"<tr><td>{_e(f['feature'])}</td><td>{_e(f['kind'])}</td><td>{_e(f['method'])}</td>"
            f"<td>{_fmt(f['statistic'])}</td><td>{_fmt(f.get('p_value'))}</td><td>{_fmt(f['threshold'])}</td>"
            f"<td class='{psi_cls}'>{_fmt(f.get('psi'))} {_e(f.get('psi_level') or '')}</td><td>{status}</td>"
            f"<td>{_e(f.get('note', ''))}</td></tr>"
        )
    extra = ""
    pred = report.get("prediction")
    if pred:
        extra += (
            f"<h2>Prediction drift</h2><p>{_e(pred['method'])} = {_fmt(pred['statistic'])} "
            f"(threshold {_fmt(pred['threshold'])}): {'drift' if pred['drifted'] else 'ok'}</p>"
        )
    perf = report.get("performance") or {}
    if perf:
        extra += (
            f"<h2>Performance</h2><p>{_e(perf['metric'])}: reference {_fmt(perf['reference'])}, batch "
            f"{_fmt(perf['current'])}, decay {_fmt(perf['decay'])} (threshold {_fmt(perf['threshold'])}): "
            f"{'<span class=bad>decayed</span>' if perf['decayed'] else 'ok'}</p>"
        )
    images = "".join(f"<div><img alt='{_e(k)}' src='data:image/png;base64,{v}'></div>" for k, v in plots.items())
    return _page(
        "Drift report",
        f"<h1>Drift: {verdict}</h1><p>{len(report['drifted_features'])} of {len(report['features'])} features drifted "
        f"(share {report['drift_share']:.2f}, threshold {report['threshold_share']}). Retrain requested: "
        f"<b>{'yes' if report['retrain'] else 'no'}</b>.</p>{_facts(context)}"
        "<h2>Features</h2><table><tr><th>feature</th><th>kind</th><th>method</th><th>statistic</th><th>p-value</th>"
        f"<th>threshold</th><th>PSI</th><th>result</th><th>note</th></tr>{''.join(rows)}</table>{extra}"
        f"<h2>Drifted features</h2>{images or '<p>none</p>'}",
    )
