"""The audit's HTML report: one self-contained page rendered from ``stats/summary.json``.

No network, no script: inline CSS and hand-drawn inline SVG. Every chart is a
``<figure class="chart" id="chart-NAME" data-chart="NAME">`` holding one ``<svg>``; marks
carry ``<title>`` tooltips with exact numbers. ``render(summary)`` is a pure function of the
summary, so a report can be rebuilt from a summary.json alone.
"""
from __future__ import annotations

import glob
import math
import shlex
from html import escape

from curate import shell
from curate.audit.lookup import chars_removed
from curate.schema import STAGES, UNKNOWN_LANGUAGE

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b", "#9d755d"]
FIXED = {"web": PALETTE[0], "code": PALETTE[1], "books": PALETTE[2]}
KEPT, REMOVED, QUARANTINED, MUTED = "#4c78a8", "#e45756", "#9d755d", "#c9ced6"


def colors(domains) -> dict:
    free = [c for c in PALETTE if c not in FIXED.values()]
    out = {}
    for d in sorted(domains):
        out[d] = FIXED.get(d) or free[len([x for x in out if x not in FIXED]) % len(free)]
    return out


def num(n) -> str:
    return "–" if n is None else f"{n:,.0f}" if isinstance(n, (int, float)) and float(n).is_integer() else f"{n:,.2f}"


def compact(n) -> str:
    if n is None:
        return "–"
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e4, "k")):
        if abs(n) >= div:
            div = 1e3 if unit == "k" else div
            return f"{n / div:,.1f}{unit}"
    return f"{n:,.0f}"


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _e(x) -> str:
    return escape("" if x is None else str(x))


def anchor(*parts) -> str:
    return "-".join("".join(c if c.isalnum() else "_" for c in str(p)) for p in parts)


def figure(name: str, svg: str, caption: str = "", extra: str = "") -> str:
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="chart" id="chart-{name}" data-chart="{name}">{svg}{cap}{extra}</figure>'


def svg(w: int, h: int, body: str, label: str) -> str:
    return f'<svg class="chart-svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'


def legend(items: dict) -> str:
    return '<div class="legend">' + "".join(f'<span><i style="background:{c}"></i>{_e(k)}</span>' for k, c in items.items()) + "</div>"


# ---------------------------------------------------------------- chart primitives


HALF, WIDE = 540, 1150  # chart widths for a half-width and a full-width card


def hbars(rows: list[dict], series: dict, label: str, w: int = HALF, label_w: int | None = None, right: int = 90, fmt=num) -> str:
    """Stacked horizontal bars. A row: {label, values: {series: n}, href?, note?}."""
    bar_h, gap, char_w = 18, 7, 6.6
    longest = max((len(r["label"]) for r in rows), default=4)
    if label_w is None:  # as wide as the longest label, within limits
        label_w = math.ceil(min(max(longest * char_w + 14, 60), 240))
    fit = max(longest if longest * char_w + 14 <= label_w else int((label_w - 14) / char_w), 4)
    top = max((sum(r["values"].values()) for r in rows), default=0) or 1
    scale = (w - label_w - right) / top
    out = []
    for i, r in enumerate(rows):
        y = i * (bar_h + gap)
        lab = r["label"] if len(r["label"]) <= fit else r["label"][: fit - 1] + "…"
        text = f'<text class="lab" x="{label_w - 8}" y="{y + 13}" text-anchor="end">{_e(lab)}<title>{_e(r["label"])}</title></text>'
        if r.get("href"):
            text = f'<a href="{_e(r["href"])}">{text}</a>'
        out.append(text)
        x = label_w
        for s, v in r["values"].items():
            if v <= 0:
                continue
            bw = max(v * scale, 1.5)
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{bw:.1f}" height="{bar_h}" fill="{series[s]}"><title>{_e(r["label"])} · {_e(s)}: {fmt(v)}</title></rect>')
            x += bw
        total = sum(r["values"].values())
        out.append(f'<text class="val" x="{x + 6:.1f}" y="{y + 13}">{_e(r.get("note") or fmt(total))}</text>')
    h = max(len(rows) * (bar_h + gap) - gap, bar_h)
    return svg(w, h, "".join(out), label)


def histogram_panels(panels: list[tuple[str, list[int], str]], label: str, lo: float = 0.0, hi: float = 1.0) -> str:
    """Small multiples of vertical-bar histograms over equal bins on [lo, hi]."""
    pw, ph, pad, gap = 250, 120, 22, 24
    out = []
    for k, (title, counts, color) in enumerate(panels):
        x0, top = k * (pw + gap), max(max(counts), 1)
        bw = pw / len(counts)
        out.append(f'<text class="ptitle" x="{x0}" y="12">{_e(title)} · {num(sum(counts))} docs</text>')
        out.append(f'<line class="axis" x1="{x0}" x2="{x0 + pw}" y1="{ph + pad}" y2="{ph + pad}"/>')
        for i, c in enumerate(counts):
            bh = c / top * ph
            a, b = lo + (hi - lo) * i / len(counts), lo + (hi - lo) * (i + 1) / len(counts)
            out.append(f'<rect class="bar" x="{x0 + i * bw + 1:.1f}" y="{ph + pad - bh:.1f}" width="{bw - 2:.1f}" '
                       f'height="{max(bh, 0.5):.1f}" fill="{color}"><title>{a:.2f}–{b:.2f}: {num(c)}</title></rect>')
        for v in (lo, (lo + hi) / 2, hi):
            out.append(f'<text class="tick" x="{x0 + (v - lo) / (hi - lo) * pw:.1f}" y="{ph + pad + 14}" text-anchor="middle">{v:g}</text>')
    return svg(len(panels) * (pw + gap) - gap + 12, ph + pad + 20, f'<g transform="translate(6,0)">{"".join(out)}</g>', label)


def log_lines(series: dict, colors_: dict, label: str, per_decade: int = 4, unit: str = "") -> str:
    """Share of documents per log-width bin, one line per domain, log x axis."""
    w, h, l, r, t, b = WIDE, 240, 48, 12, 10, 40
    keys = sorted({int(k) for s in series.values() for k in s})
    if not keys:
        return svg(w, h, "", label)
    kmin, kmax = min(keys), max(keys) + 1
    shares = {d: {int(k): c / max(sum(s.values()), 1) for k, c in s.items()} for d, s in series.items()}
    ymax = max(max(s.values()) for s in shares.values()) or 1
    X = lambda k: l + (k - kmin) / max(kmax - kmin, 1) * (w - l - r)  # noqa: E731
    Y = lambda v: t + (1 - v / ymax) * (h - t - b)  # noqa: E731
    out = [f'<line class="axis" x1="{l}" x2="{w - r}" y1="{h - b}" y2="{h - b}"/>']
    for frac in (0.5, 1.0):
        out.append(f'<line class="grid" x1="{l}" x2="{w - r}" y1="{Y(ymax * frac):.1f}" y2="{Y(ymax * frac):.1f}"/>')
        out.append(f'<text class="tick" x="{l - 6}" y="{Y(ymax * frac) + 4:.1f}" text-anchor="end">{pct(ymax * frac)}</text>')
    for k in range(kmin, kmax + 1):
        if k % per_decade == 0 and k >= 0:
            out.append(f'<text class="tick" x="{X(k):.1f}" y="{h - b + 16}" text-anchor="middle">{compact(10 ** (k // per_decade))}</text>')
            out.append(f'<line class="axis" x1="{X(k):.1f}" x2="{X(k):.1f}" y1="{h - b}" y2="{h - b + 4}"/>')
    out.append(f'<text class="tick" x="{(l + w - r) / 2}" y="{h - 3}" text-anchor="middle">{_e(unit)} per document (log scale)</text>')
    for d, s in sorted(shares.items()):
        pts = [(X(k + 0.5), Y(s.get(k, 0.0)), k, s.get(k, 0.0)) for k in range(kmin, kmax)]
        out.append(f'<polyline class="line" fill="none" stroke="{colors_[d]}" stroke-width="2" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in pts)}"/>')
        for x, y, k, v in pts:
            if v > 0:
                rng = "0" if k < 0 else f"{compact(10 ** (k / per_decade))}–{compact(10 ** ((k + 1) / per_decade))}"
                out.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colors_[d]}"><title>{_e(d)}: {pct(v)} of documents at {rng} {unit}</title></circle>')
    return svg(w, h, "".join(out), label)


def mix_chart(mix: dict, colors_: dict) -> str:
    """Achieved share per domain as a bar, the target (if any) as a tick mark."""
    w, label_w, right, bar_h, gap = HALF, 90, 130, 20, 10
    target = mix.get("target") or {}
    domains = sorted(set(mix["achieved"]) | set(target))
    scale = w - label_w - right
    out = []
    for i, d in enumerate(domains):
        y, a = i * (bar_h + gap), mix["achieved"].get(d, 0.0)
        out.append(f'<text class="lab" x="{label_w - 8}" y="{y + 14}" text-anchor="end">{_e(d)}</text>')
        out.append(f'<rect class="track" x="{label_w}" y="{y}" width="{scale}" height="{bar_h}"/>')
        out.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{max(a * scale, 1.5):.1f}" height="{bar_h}" '
                   f'fill="{colors_.get(d, MUTED)}"><title>{_e(d)}: {pct(a)} of {mix["measure"]}</title></rect>')
        note = pct(a)
        if d in target:
            tx = label_w + target[d] * scale
            out.append(f'<line class="target" x1="{tx:.1f}" x2="{tx:.1f}" y1="{y - 3}" y2="{y + bar_h + 3}"><title>target {pct(target[d])}</title></line>')
            note += f" (target {pct(target[d])})"
        out.append(f'<text class="val" x="{label_w + scale + 6}" y="{y + 14}">{note}</text>')
    return svg(w, max(len(domains) * (bar_h + gap) - gap, bar_h), "".join(out), f"domain mix by {mix['measure']}")


# ---------------------------------------------------------------- sections


def card(title: str, body: str, wide: bool = False, sid: str = "", note: str = "") -> str:
    n = f'<p class="note">{note}</p>' if note else ""
    return f'<section class="card{" wide" if wide else ""}"{f" id={chr(34)}{sid}{chr(34)}" if sid else ""}><h2>{_e(title)}</h2>{n}{body}</section>'


def empty(text: str) -> str:
    return f'<p class="empty">{_e(text)}</p>'


def tiles(s: dict) -> str:
    fun = s.get("funnel") or []
    docs_in = fun[0]["docs_in"] if fun else s["documents"]["total"]
    kept = s["documents"]["total"]
    nfiles = s["files"].get("documents", 0)
    items = [("documents", compact(kept), f"{pct(kept / docs_in) if docs_in else '–'} of {compact(docs_in)}" if fun else f"in {nfiles} file{'s' if nfiles != 1 else ''}")]
    if fun:
        nstages, nreasons = len(s["removed"]["by_stage"]), len(s["quarantine"]["by_reason"])
        items += [("removed", compact(s["removed"]["total"]), f"in {nstages} stage{'s' if nstages != 1 else ''}"),
                  ("quarantined", compact(s["quarantine"]["total"]), f"{nreasons} reason{'s' if nreasons != 1 else ''}")]
    items += [
        ("characters", compact(s["characters"]["total"]), f"median {compact((s['length_chars'] or {}).get('all', {}).get('p50'))} / doc"),
    ]
    if s.get("tokens"):
        items.append(("tokens", compact(s["tokens"]["in_mix"]), f"in the mix; {compact(s['tokens']['unique'])} unique"))
    items += [
        ("domains", str(len(s["domains"])), ", ".join(s["domains"])),
        ("languages", str(len(s["documents"]["by_language"])), "incl. und (no label)" if {UNKNOWN_LANGUAGE, "unknown"} & s["documents"]["by_language"].keys() else ""),
        ("hosts", compact(s["hosts"]["distinct"]), "exact" if s["hosts"]["distinct_exact"] else "estimated (HyperLogLog)"),
    ]
    tile = '<div class="tile"><div class="k">{}</div><div class="v">{}</div><div class="d">{}</div></div>'
    return '<section class="tiles">' + "".join(tile.format(_e(k), _e(v), _e(d)) for k, v, d in items) + "</section>"


def checks_banner(s: dict) -> str:
    if not s.get("checks"):
        return ""
    bad = [c for c in s["checks"] if not c["ok"]]
    if not bad:
        return ('<p class="banner ok">✓ Every record is accounted for: text, ledger and quarantine rows match the manifest\'s counts for every stage'
                + ("; every file matches its size and sha256 in the manifest, and there is no other." if "detail" in s["checks"][0] else ".") + "</p>")
    items = "".join(f"<li>{_e(c['check'])}: expected {num(c['expected'])}, found {num(c['found'])}"
                    + (f" ({_e('; '.join(c['detail']))})" if c.get("detail") else "") + "</li>" for c in bad)
    return f'<div class="banner bad">✗ The output does not match its manifest:<ul>{items}</ul></div>'


def funnel_card(s: dict) -> str:
    fun = s.get("funnel")
    if not fun:
        return ""
    rows = []
    for e in fun:
        gone = e["removed"] + e["quarantined"]
        note = f"{num(e['docs_out'])} kept" + (f" · −{num(gone)}" + (f" ({pct(gone / e['docs_in'])})" if e["docs_in"] else "") if gone else "")
        values = {"kept": e["docs_out"], "removed": e["removed"], "quarantined": e["quarantined"]}
        rows.append({"label": e["stage"], "values": values, "note": note, "href": f"#rules-{anchor(e['stage'])}"})
    series = {"kept": KEPT, "removed": REMOVED, "quarantined": QUARANTINED}
    body = legend({"kept": KEPT, "removed (ledger)": REMOVED, "quarantined": QUARANTINED})
    body += figure("funnel", hbars(rows, series, "documents per stage", label_w=90, w=WIDE, right=280))
    tok = s.get("tokens")
    if tok:
        trows = [{"label": "unique (each document once)", "values": {"tokens": tok["unique"]}},
                 {"label": "in the mix (what training reads)", "values": {"tokens": tok["in_mix"]}, "note": f"{num(tok['in_mix'])} (with repeats)"}]
        if s.get("tokens_written") is not None:
            trows.append({"label": "written", "values": {"tokens": s["tokens_written"]}})
        body += "<h3>Tokens</h3>" + figure("tokens", hbars(trows, {"tokens": PALETTE[5]}, "tokens", label_w=90, w=WIDE, right=280, fmt=compact))
    note = "Documents entering each stage: kept (blue), written to the ledger (red), or quarantined as unreadable. Click a stage for its rules."
    return card("Stage funnel", body, wide=True, note=note)


def edits_card(s: dict) -> str:
    """In-place rewrites (lines cut, PII redacted) and repeated ids: changes that remove no
    document, so the funnel does not show them."""
    rows = []
    for e in s.get("funnel") or []:
        for name, n in sorted(e.get("rewrites", {}).items()):
            rows.append((e["stage"], name, n))
        if e.get("ids_renamed"):
            rows.append((e["stage"], "ids_renamed (one id, different texts: all kept under new ids)", e["ids_renamed"]))
        for kind, n in sorted(e.get("skipped_records", {}).items()):
            what = "JSON Lines comment lines (// or #: not records" if kind == "comment_line" else f"WARC {kind} records (not documents"
            rows.append((e["stage"], f"skipped_records: {what}; not read)", n))
    if not rows:
        return ""
    body = "".join(f"<tr><td>{_e(st)}</td><td>{_e(name)}</td><td>{num(n)}</td></tr>" for st, name, n in rows)
    table = f"<table class='num'><tr><th>stage</th><th>edit</th><th>count</th></tr>{body}</table>"
    return card("Edits and ids", table, note="Counts of changes inside kept documents, of input ids that repeated with different texts, "
                                            "and of input records that are not documents (a WARC's requests, metadata, resources; JSON Lines comment lines).")


def removals_card(s: dict, cols: dict) -> str:
    rows = []
    for st in sorted(s["removed"]["by_stage"], key=lambda x: STAGES.index(x) if x in STAGES else 99):
        rules = s["removed"]["by_stage"][st]["rules"]
        for rule, e in sorted(rules.items(), key=lambda kv: (-kv[1]["total"], kv[0])):
            rows.append({"label": f"{st} · {rule}", "values": {d: e["by_domain"].get(d, 0) for d in cols}, "href": f"#rule-{anchor(st, rule)}"})
    if not rows:
        return card("Removals by stage and rule", empty("Nothing was removed.")) if s.get("funnel") else ""
    chart = figure("removals", hbars(rows, cols, "removed documents by rule"))
    return card("Removals by stage and rule", legend(cols) + chart, note="Ledger rows per rule, by domain. Click a rule for examples.")


def languages_card(s: dict, cols: dict, top: int = 18) -> str:
    by = s["documents"]["by_language"]
    langs = sorted(by, key=lambda k: (-by[k], k))
    dl = s["documents"]["by_domain_language"]
    total = max(s["documents"]["total"], 1)
    toks = (s.get("tokens") or {}).get("in_mix_by_language") or {}

    def note(lang):  # documents, and the tokens in the mix where tokens were counted
        return f"{num(by[lang])}; {compact(toks.get(lang, 0))} tok" if toks else f"{num(by[lang])} ({pct(by[lang] / total)})"

    rows = [{"label": lang, "values": {d: dl.get(d, {}).get(lang, 0) for d in cols}, "note": note(lang)} for lang in langs[:top]]
    if len(langs) > top:
        rest = langs[top:]
        rows.append({"label": f"{len(rest)} others", "values": {d: sum(dl.get(d, {}).get(x, 0) for x in rest) for d in cols}})
    note = "Natural languages from langid; programming languages for code. “und” (“unknown” in a summary.json written before): no language (langid did not run), as the tokens manifest says."
    if toks:
        note += " Beside each bar: documents; tokens in the mix (copies counted)."
    if s["kind"] == "corpus":
        field = (s.get("fields") or {}).get("language")
        note = f"From the {field} column." if field else "The corpus has no language column (give one with --language-field)."
    bars = hbars(rows, cols, "documents per language", right=130 if toks else 90)  # room for the tokens beside each bar
    return card("Languages", legend(cols) + figure("languages", bars), note=note)


def _keep_cell(e: dict) -> str:
    if e["keep_rate"] is None:
        return ""
    return pct(e["keep_rate"]) + (f" ({num(e['below_threshold'])} unsure)" if e.get("below_threshold") else "")


def _rules_cell(rows: dict, stages: list, top: int = 3) -> str:
    """The rules that removed most of a language's documents, over all stages: "rule n, ..."."""
    rules = sorted(((n, st, r) for st in stages for r, n in (rows[st].get("rules") or {}).items()), key=lambda x: (-x[0], x[1], x[2]))
    more = len(rules) - top
    return ", ".join(f"{_e(r)} {num(n)}" for n, _, r in rules[:top]) + (f", {more} more" if more > 0 else "")


def language_keep_card(s: dict, top: int = 18) -> str:
    keep = s.get("language_keep")
    if not keep:
        return ""
    stages = [e["stage"] for e in s["funnel"] if e["stage"] in next(iter(keep.values()))]  # JSON sorts keys
    first = stages[0]
    langs = sorted(keep, key=lambda k: (-keep[k][first]["docs_in"], k))[:top]
    head = ("<tr><th>language</th><th>documents in</th>" + "".join(f"<th>{_e(st)}</th>" for st in stages)
            + "<th>removed by</th></tr>")
    body = "".join(
        f"<tr><td>{_e(lang)}</td><td>{num(keep[lang][first]['docs_in'])}</td>"
        + "".join(f"<td>{_keep_cell(keep[lang][st])}</td>" for st in stages)
        + f"<td class='rules'>{_rules_cell(keep[lang], stages)}</td></tr>"
        for lang in langs
    )
    note = ("Share of each language's documents entering a stage that the stage keeps (languages with most "
            "documents first; the language is langid's, also for documents a later stage removed). “unsure”: "
            "removals whose label scored under that language's threshold (langid's; at later stages, the one "
            "filter.trusted_language_score sets, from the ledger's language_score), the model's guess for text "
            "it could not place (often a language it does not know), not documents known to be in that language. "
            "“removed by”: the rules that removed most of the language's documents, over all stages (every rule "
            "per stage and language: summary.json's removed.by_stage_language_rule).")
    return card("Keep rate per language and stage", f"<table class='num pct'>{head}{body}</table>", note=note)


def sources_card(s: dict, top: int = 25) -> str:
    """Per input source: documents in, kept, keep rate, the rules that removed most, quarantined, tokens."""
    src = s.get("sources")
    if not src:
        return ""
    tok = any(e.get("tokens_in_mix") is not None for e in src.values())
    lost = any(e.get("characters_removed") is not None for e in src.values())  # absent: a ledger of an older run
    head = ("<tr><th>domain/source</th><th>documents in</th><th>kept</th><th>keep rate</th><th>removed by</th>"
            + ("<th>characters kept</th><th>characters removed</th>" if lost else "") + "<th>quarantined</th>"
            + ("<th>tokens (mix)</th>" if tok else "") + "</tr>")
    rows = sorted(src, key=lambda k: (-src[k]["docs_in"], k))[:top]
    body = ""
    for k in rows:
        e = src[k]
        rules = ", ".join(f"{_e(r)} {num(n)}" for r, n in e["removed_by"][:3]) + (f", {len(e['removed_by']) - 3} more" if len(e["removed_by"]) > 3 else "")
        body += (f"<tr><td>{_e(k)}</td><td>{num(e['docs_in'])}</td><td>{num(e['kept'])}</td><td>{pct(e['keep_rate']) if e['keep_rate'] is not None else ''}</td>"
                 f"<td class='rules'>{rules}</td>"
                 + (f"<td>{compact(e['characters'])}</td><td>{'≥ ' * bool(e.get('skipped_files_counted_by_snippet') or e.get('skipped_records_not_read'))}"
                    f"{compact(e.get('characters_removed') or 0)}</td>" if lost else "")
                 + f"<td>{num(e['quarantined'])}</td>" + (f"<td>{compact(e.get('tokens_in_mix') or 0)}</td>" if tok else "") + "</tr>")
    note = ("Documents per input source (its --source; the domain's files otherwise): in = kept + removed + quarantined, "
            "the rules that removed most of them over all stages (every rule: summary.json's sources.*.removed_by), "
            + ("the characters of the documents kept and of those removed (each as the stage that removed it read it; "
               "“≥”: a lower bound, the source's vendored, lock or oversized files, read no further than their start, counted by "
               "the snippet the ledger keeps, at most 1,000 characters, 4 KiB of an oversized one, and in an output written before 2026-12-05 its minified and unknown-language files: sources.*.skipped_files_counted_by_snippet; "
               "or its WARC responses removed unread, an error status or not HTML, counted as 0: sources.*.skipped_records_not_read), " if lost else "")
            + f"and tokens in the mix.{' The ' + str(top) + ' sources with most documents.' if len(src) > top else ''}")
    return card("Sources", f"<table class='num'>{head}{body}</table>", wide=True, note=note)


def domains_card(s: dict, cols: dict) -> str:
    mix = s["domain_mix"]
    by = s["documents"]["by_domain"]
    tok = s.get("tokens")
    table = "<table class='num'><tr><th>domain</th><th>documents</th><th>characters</th>" + ("<th>tokens (mix)</th>" if tok else "") + "</tr>"
    for d in s["domains"]:
        cells = [num(by[d]), compact(s["characters"]["by_domain"].get(d, 0))] + ([compact(tok["in_mix_by_domain"].get(d, 0))] if tok else [])
        table += f"<tr><td><i class='sw' style='background:{cols[d]}'></i>{_e(d)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    table += "</table>"
    found = " against the target mixture (black tick)." if mix.get("target") else "; no target mixture was found (tokens.json)."
    note = f"Share of {mix['measure']} per domain{found}"
    b = s.get("budget")
    if b:  # whole documents: the mix is a little off the budget asked, by this much
        note += (f" The mix has {b['mix_tokens']:,} tokens for rebalance.budget {b['tokens']:,} ({b['miss']:+.2%}; "
                 f"rebalance.tolerance {b['tolerance']:g}).")
    if s.get("source_mix"):  # rebalance.sources / .languages: each source's or language's share of the whole mix
        kinds = [h for h, mark in (("domain/source", "/"), ("domain:language", ":")) if any(mark in g for g in s["source_mix"])]
        table += (f"<table class='num'><tr><th>{' or '.join(kinds)}</th><th>target</th><th>achieved</th><th>tokens (mix)</th>"
                  "<th>epochs</th></tr>")
        for g, m in s["source_mix"].items():
            cells = [f"{m.get('target', 0):.1%}", f"{m.get('achieved', 0):.1%}", compact(m.get("tokens", 0)), f"{m.get('epochs', 0):.2f}"]
            table += f"<tr><td>{_e(g)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        table += "</table>"
        note += " " + " and ".join(w for w, mark in (("Sources (rebalance.sources)", "/"), ("languages (rebalance.languages)", ":"))
                                   if any(mark in g for g in s["source_mix"])).capitalize() + ": shares of the whole mix."
    return card("Domain mix", figure("domains", mix_chart(mix, cols)) + table, note=note)


def lengths_card(s: dict, key: str, title: str, unit: str, cols: dict) -> str:
    L = s.get(key)
    if not L:
        return ""
    ps = [f"p{p}" for p in sorted(int(k[1:]) for k in L["all"] if k[0] == "p" and k[1:].isdigit())]
    head = "<tr><th></th><th>docs</th><th>min</th>" + "".join(f"<th>{k}</th>" for k in ps) + "<th>max</th><th>mean</th></tr>"
    body = ""
    for d, x in list(L["by_domain"].items()) + [("all", L["all"])]:
        sw = f"<i class='sw' style='background:{cols[d]}'></i>" if d in cols else ""
        cells = [num(x["count"])] + [compact(x[k]) for k in ("min", *ps, "max", "mean")]
        body += f"<tr><td>{sw}{_e(d)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    chart = log_lines(L["histogram"]["by_domain"], cols, f"{title} distribution", L["histogram"]["per_decade"], unit)
    note = f"Share of each domain's documents per length bin (log scale). Percentiles within {pct(s['percentile_relative_error'])} (mergeable log-bin sketch)."
    name = "lengths" if key == "length_chars" else "token-lengths"
    body = legend({d: cols[d] for d in L["by_domain"]}) + figure(name, chart) + f"<table class='num pct'>{head}{body}</table>"
    return card(title, body, wide=True, note=note)


def quality_card(s: dict, cols: dict, top: int = 18) -> str:
    q = s.get("quality_score")
    if not q:
        return ""
    panels = [(d, x["histogram"], cols.get(d, MUTED)) for d, x in q["by_domain"].items()]
    means = " · ".join(f"{_e(d)} mean {x['mean']:.3f}" for d, x in q["by_domain"].items())
    chart = figure("quality", histogram_panels(panels, "quality-score histograms per domain"))
    note = f"Classifier score of the kept documents, per domain ({means})."
    by = q.get("by_language") or {}
    if len(by) > 1:  # a classifier's score is not comparable across languages: show each
        langs = sorted(by, key=lambda k: (-(by[k]["kept"] + by[k]["removed"]), k))[:top]
        fmt = lambda v: "" if v is None else f"{v:.3g}"  # noqa: E731
        head = "<tr><th>language</th><th>scored</th><th>kept</th><th>mean kept</th><th>mean removed</th><th>cutoff</th></tr>"
        body = "".join(
            f"<tr><td>{_e(lang)}</td><td>{num(x['kept'] + x['removed'])}</td><td>{pct(x['kept'] / max(x['kept'] + x['removed'], 1))}</td>"
            f"<td>{fmt(x['kept_mean'])}</td><td>{fmt(x['removed_mean'])}</td><td>{fmt(x['cutoff'])}</td></tr>"
            for lang, x in ((lang, by[lang]) for lang in langs)
        )
        chart += f"<table class='num pct'>{head}{body}</table>"
        note += (" Per language (most scored first): documents scored, the share the quality stage kept (with those a later"
                 " stage removed), mean scores (kept: of those still in the output), and the"
                 " cutoff its removals name (the threshold, or that language's own cutoff for a top fraction taken per language).")
    return card("Quality score", chart, note=note)


def dups_card(s: dict, cols: dict) -> str:
    g = s.get("dup_group_size")
    if not g:
        return ""
    buckets = sorted({int(b) for x in g["by_domain"].values() for b in x})
    label = lambda b: "1 (unique)" if b == 0 else "2" if b == 1 else f"{2 ** (b - 1) + 1}–{2 ** b}"  # noqa: E731
    rows = [{"label": label(b), "values": {d: g["by_domain"].get(d, {}).get(str(b), 0) for d in cols}} for b in buckets]
    chart = figure("dups", hbars(rows, cols, "kept documents by duplicate-group size"))
    return card("Duplicate-group sizes", legend(cols) + chart, note="How many copies each kept document stood for (itself included) before dedup.")


def hosts_card(s: dict) -> str:
    h = s["hosts"]
    if not h["top"]:
        return card("Top hosts", empty("No url column, or no document has a url."))
    rows = [{"label": host, "values": {"docs": n}} for host, n in h["top"][:20]]
    err = "" if not h["top_max_undercount"] else f" Counts may be up to {num(h['top_max_undercount'])} low (bounded top-k sketch)."
    note = f"{num(h['distinct'])} distinct hosts ({'exact' if h['distinct_exact'] else 'HyperLogLog estimate'}); {num(h['documents_without_host'])} documents without a url.{err}"
    return card("Top hosts", figure("hosts", hbars(rows, {"docs": PALETTE[5]}, "documents per host")), note=note)


def examples_card(s: dict) -> str:
    by = s["removed"]["by_stage"]
    if not by:
        return ""
    src = s.get("source", "DIR")
    parts = []
    for st in sorted(by, key=lambda x: STAGES.index(x) if x in STAGES else 99):
        parts.append(f'<h3 id="rules-{anchor(st)}" class="stage">{_e(st)} <span>{num(by[st]["total"])} removed</span></h3>')
        for rule, e in sorted(by[st]["rules"].items(), key=lambda kv: (-kv[1]["total"], kv[0])):
            rows = ""
            for x in e["examples"]:
                measured = " · ".join(f"{k} {_e(num(x[k]) if isinstance(x[k], (int, float)) else x[k])}"
                                      for k in ("value", "threshold", "kept_id", "language", "language_score") if x.get(k) is not None)
                where = x.get("url") or f"{x.get('path')} @ {x.get('offset')}"
                where = f'<span title="{_e(where)}">{_e(where if len(where) <= 90 else where[:89] + "…")}</span>'
                lines = [_e(" ".join(line.split())) for line in (x.get("snippet") or "").splitlines()]
                snippet = '<span class="nl">↵</span> '.join(line for line in lines if line) or "<em>(empty text)</em>"
                own = f'<div class="loc">your id <code>{_e(x["source_id"])}</code></div>' if x.get("source_id") is not None else ""
                rows += (f'<tr id="ledger-{_e(x["id"])}"><td><a href="#ledger-{_e(x["id"])}"><code>{_e(x["id"])}</code></a>{own}'
                         f'<div class="loc">{_e(x["file"])} · row {num(x["row"])}</div></td><td>{measured or "–"}<div class="loc">{_e(x.get("domain"))} · {where}</div></td>'
                         f'<td class="snip">{snippet}</td></tr>')
            parts.append(f'<h4 id="rule-{anchor(st, rule)}">{_e(rule)} <span>{num(e["total"])} documents</span></h4><table class="ex">'
                         f"<tr><th>ledger row</th><th>measured · origin</th><th>text (first 200 characters)</th></tr>{rows}</table>")
    # polars is installed with curate; the duckdb command-line tool is not
    ledger = glob.escape(src) + "/ledger/*.parquet"
    look = "python -c " + shlex.quote(f"import polars as pl; print(pl.read_parquet({ledger!r}).filter(pl.col('id') == 'ID').to_dicts())")
    hint = (f"Examples are the removed documents of smallest id per rule (“your id”: the record's own id field, the ledger's "
            f"<code>source_id</code>). Look one up: <code>{_e(look)}</code>, or with the copy a duplicate's <code>kept_id</code> "
            f"names: <code>{_e(shell.said(f'curate audit {shell.quote(src)} --why ID', src))}</code>.")
    return card("Removed examples", "".join(parts), wide=True, sid="examples", note=hint)


def inside_card(s: dict) -> str:
    """Line dedup and decontamination: what was cut out of kept documents, and the evaluation sets."""
    d = s.get("inside_documents") or {}
    edits = s.get("edits_in_output")
    if not d and not edits:
        return ""
    rows = []
    if edits:  # each document's trace (text's edits column), summed
        rows.append(("every stage", "kept documents changed", num(edits["documents"])))
        if edits.get("documents_not_recorded"):  # --corpus over older files beside newer ones
            rows.append(("every stage", "kept documents not recorded (no edits column: unknown, not unchanged)", num(edits["documents_not_recorded"])))
        rows += [(e["stage"], f"{e['rule']}: documents, matches, characters removed",
                  f"{num(e['documents'])}, {num(e['count'])}, {chars_removed(e['chars'], '')}") for e in edits["by_rule"]]
    if "linededup.lines_removed" in d:
        share = d.get("linededup.chars_removed_share")
        kept = s.get("linededup_in_output") or {}
        out = lambda k: f" ({num(kept[k])} in the output)" if k in kept else ""  # noqa: E731
        rows += [("linededup", "documents changed", num(d.get("linededup.docs_changed", 0)) + out("docs_changed")),
                 ("linededup", "boilerplate lines removed", num(d["linededup.lines_removed"]) + out("lines_removed")),
                 ("linededup", "distinct lines above max_docs", num(d.get("linededup.frequent_lines", 0))),
                 ("linededup", "characters removed", num(d.get("linededup.chars_removed", 0)) + (f" ({100 * share:.2f}%)" if share is not None else "")
                  + out("chars_removed"))]
    if "decontaminate.eval_items" in d:
        rows += [("decontaminate", "evaluation items", f"{num(d['decontaminate.eval_items'])} ({num(d.get('decontaminate.eval_items_too_short', 0))} too short to match)"),
                 ("decontaminate", "evaluation keys", num(d.get("decontaminate.eval_ngrams", 0)))]
    if "decontaminate.cut_docs" in d:
        rows += [("decontaminate", "documents with spans cut", num(d["decontaminate.cut_docs"])),
                 ("decontaminate", "characters cut", num(d.get("decontaminate.cut_chars", 0)))]
    body = "".join(f"<tr><td><code>{_e(a)}</code></td><td>{_e(b)}</td><td>{_e(c)}</td></tr>" for a, b, c in rows)
    table = f"<table class='num'><tr><th>stage</th><th>measure</th><th>value</th></tr>{body}</table>"
    return card("Inside documents", table, note="Text removed inside documents (boilerplate lines, contaminated spans), and the evaluation sets checked. Line dedup's counts are of every "
                                                     "document it changed, also those it then removed as too short (linededup_min_words, _min_chars); "
                                                     "“in the output”: of those in text/. Documents removed outright are in the funnel and the rules. "
                                                     "Which kept document a stage changed, by which rule and how many characters: text/'s <code>edits</code> "
                                                     "column, or <code>curate audit DIR --why ID</code>.")


def quarantine_card(s: dict) -> str:
    q = s["quarantine"]["by_reason"]
    if not q:
        return ""
    rows = ""
    for reason, e in sorted(q.items(), key=lambda kv: (-kv[1]["total"], kv[0])):
        ex = "".join(f"<div class='loc'>{_e(x['file'])}: {_e(x['path'])} @ {_e(x['offset'])}"
                     + (f" (your id <code>{_e(x['source_id'])}</code>)" if x.get("source_id") is not None else "")
                     + f" — {_e(x.get('detail'))}</div>" for x in e["examples"])
        rows += f"<tr><td><code>{_e(reason)}</code></td><td>{num(e['total'])}</td><td>{ex}</td></tr>"
    table = f"<table class='ex'><tr><th>reason</th><th>rows</th><th>first rows (by path, offset)</th></tr>{rows}</table>"
    return card("Quarantine", table, wide=True, note="Unreadable inputs or records, by reason.")


CSS = """
:root{--ink:#1f2430;--mute:#6b7280;--line:#e4e7ec;--bg:#f5f6f8}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 24px 48px}
header h1{font-size:24px;margin:0 0 4px}header p{margin:0;color:var(--mute)}header code{font-size:12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(135px,1fr));gap:12px;margin:20px 0 14px}
.tile{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.tile .k{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.tile .v{font-size:26px;font-weight:650;margin:2px 0}
.tile .d{color:var(--mute);font-size:12px}
.banner{border-radius:8px;padding:9px 14px;margin:0 0 14px}.banner.ok{background:#e8f5e9;color:#1b5e20}
.banner.bad{background:#fdecea;color:#8a1c14}.banner.info{background:#e8eef7;color:#1e3a66}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));grid-auto-flow:row dense;gap:14px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 18px;min-width:0}.card.wide{grid-column:1/-1}
.card h2{font-size:16px;margin:0 0 2px}.note{color:var(--mute);margin:0 0 10px;font-size:12.5px}.empty{color:var(--mute);font-style:italic}
figure{margin:0}figure+table,figure+h3{margin-top:12px}h3{font-size:14px;margin:16px 0 6px}
.chart-svg{display:block;max-width:100%;height:auto;overflow:visible}
.chart-svg text{font-size:11.5px;fill:var(--ink)}.chart-svg .val,.chart-svg .tick{fill:var(--mute)}.chart-svg .ptitle{font-weight:600}
.chart-svg .axis{stroke:#9aa1ad}.chart-svg .grid{stroke:var(--line);stroke-dasharray:3 3}.chart-svg .track{fill:#f0f2f5}
.chart-svg .target{stroke:#111;stroke-width:2.5}.chart-svg a text{fill:#2557a7}.chart-svg rect.bar:hover,.chart-svg circle:hover{opacity:.75}
.legend{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 8px;font-size:12px;color:var(--mute)}
.legend i,.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:12.5px}th{text-align:left;color:var(--mute);font-weight:500;border-bottom:1px solid var(--line);padding:4px 6px}
td{border-bottom:1px solid var(--line);padding:5px 6px;vertical-align:top}table.num td+td,table.num th+th{text-align:right;font-variant-numeric:tabular-nums}
.pct{display:block;overflow-x:auto}
h3.stage{font-size:15px;border-top:1px solid var(--line);padding-top:12px}h3 span,h4 span{color:var(--mute);font-weight:400;font-size:12px;margin-left:6px}
h4{margin:12px 0 4px;font-size:13px}table.ex{table-layout:fixed}table.ex th:first-child{width:250px}table.ex th:nth-child(2){width:280px}
.snip{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:11.5px;color:#374151;overflow-wrap:anywhere}
.nl{color:#b6bcc6}.loc{color:var(--mute);font-size:11.5px;margin-top:2px;overflow-wrap:anywhere}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
tr:target{background:#fff6d6}a{color:#2557a7;text-decoration:none}a:hover{text-decoration:underline}
footer{color:var(--mute);font-size:12px;margin-top:22px}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
"""


def heading(s: dict) -> str:
    """The line under the title: what was audited, the run's stages, config hash and inputs (each
    glob as typed, what it was read as where ``..`` or ``~`` went: ``config.glob_said``), a corpus's fields."""
    from curate.config import glob_said

    sub = f"{'curate output' if s['kind'] == 'curate' else 'corpus'} <code>{_e(s['source'])}</code>"
    run = s.get("run") or {}
    if run.get("config_hash"):
        sub += f" · stages {_e(', '.join(run['stages']))} · config <code>{_e(run['config_hash'][:12])}</code>"
    if run.get("inputs"):
        sub += " · inputs " + ", ".join(f"<code>{_e(glob_said(typed, tidy))}</code>"
                                        for typed, tidy in zip(run.get("input_globs") or run["inputs"], run["inputs"]))
    if s.get("fields"):
        sub += " · fields " + ", ".join(f"{k}=<code>{_e(v)}</code>" for k, v in s["fields"].items() if v)
    return sub


def render(s: dict) -> str:
    """The report page for a summary (``curate.audit.scan`` summary dict)."""
    cols = colors(s["domains"])
    sub = heading(s)
    warn = "".join(f'<p class="banner bad">{_e(w)}</p>' for w in s.get("warnings", []))
    cards = [
        funnel_card(s),
        removals_card(s, cols),
        edits_card(s),
        domains_card(s, cols),
        sources_card(s),
        languages_card(s, cols),
        language_keep_card(s),
        hosts_card(s),
        quality_card(s, cols),
        dups_card(s, cols),
        inside_card(s),
        lengths_card(s, "length_chars", "Document length (characters)", "characters", cols),
        lengths_card(s, "length_tokens", "Document length (tokens)", "tokens", cols),
        examples_card(s),
        quarantine_card(s),
    ]
    cards = [c for c in cards if c]
    if sum('class="card"' in c for c in cards) % 2:  # an odd number of half-width cards: widen the domain mix
        cards = [c.replace('class="card"', 'class="card wide"', 1) if 'id="chart-domains"' in c else c for c in cards]
    if not s.get("funnel"):
        warn += '<p class="banner info">Not a curate output: no stage funnel, ledger or quarantine. The statistics describe the corpus as it is.</p>'
    body = cards
    foot = (f"Generated by <code>curate audit</code> from <code>stats/summary.json</code> ({_e(s['format'])}). "
            f"Hosts: {_e(s['hosts']['definition'])}. Percentiles: {_e(s['percentile_method'])}.")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>Corpus audit — {_e(s['source'])}</title><style>{CSS}</style></head><body><main>"
            f"<header><h1>Corpus audit</h1><p>{sub}</p></header>{tiles(s)}{checks_banner(s)}{warn}"
            f'<div class="grid">{"".join(body)}</div><footer>{foot}</footer></main></body></html>\n')
