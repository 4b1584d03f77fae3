"""curate audit: summary.json against DuckDB recomputations, the report in headless Chromium,
and ``--corpus`` on a Dolma file.

The main fixture runs ``curate run --stages ingest`` on real web JSONL and code, then plays the
later stages on its output (stage columns, ledger rows of every stage, quarantine rows, a
tokens manifest with a target mixture, consistent manifest counts), so every section of the
report has data whatever stages this checkout implements.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import select
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate import output
from curate.audit import command, report, scan, sketches, stats

duckdb = pytest.importorskip("duckdb")

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.corpora
LATER = [  # (stage, rule, share of the ingest survivors it removes)
    ("langid", "not_target_language", 0.05),
    ("filter", "gopher_min_words", 0.04),
    ("filter", "c4_javascript", 0.02),
    ("dedup", "minhash_near_duplicate", 0.05),
    ("quality", "below_threshold", 0.03),
]


def _h(ids: pl.Series, salt: int) -> np.ndarray:
    """A deterministic uniform number in [0, 1) per id."""
    return ((ids.hash(seed=salt).to_numpy() >> np.uint64(11)).astype(np.float64)) / float(1 << 53)


def _simulate_later_stages(root: Path) -> None:
    """Turn an ingest-only output into one that looks like a full run (see module docstring)."""
    text = pl.read_parquet(root / "text")
    ledger = pl.read_parquet(root / "ledger")
    quar = pl.read_parquet(root / "quarantine")
    u = _h(text["id"], 1)
    web = text["domain"] == "web"
    text = text.with_columns(
        language=pl.when(web).then(pl.Series(np.where(u < 0.8, "en", np.where(u < 0.9, "de", "fr")))).otherwise(pl.col("language")),
        language_score=pl.Series(0.5 + 0.5 * _h(text["id"], 2)).cast(pl.Float32),
        quality_score=pl.Series(_h(text["id"], 3) ** np.where(web.to_numpy(), 1.5, 0.7)).cast(pl.Float32),
        dup_group_size=pl.Series(np.where(u < 0.7, 1, 1 + (_h(text["id"], 4) * 12).astype(int))).cast(pl.Int32),
        repeat=pl.Series(np.where(web.to_numpy(), 1, 2)).cast(pl.Int32),
        num_tokens=(pl.col("text").str.len_bytes() // 4).cast(pl.Int64),
    )
    stats = {"ingest.docs_read": text.height, "ingest.docs_out": text.height, "ingest.quarantined": quar.height + 2, "ingest.files": 4}
    stats.update({f"ingest.removed.{r}": n for r, n in ledger.group_by("rule").len().iter_rows()})
    v = _h(text["id"], 5)
    lo, removed = 0.0, []
    for stage, rule, share in LATER:
        mask = (v >= lo) & (v < lo + share)
        gone = text.filter(pl.Series(mask))
        text = text.filter(pl.Series(~mask))
        v = v[~mask]
        lo += share
        removed.append(gone.select(
            "id", "source_id", stage=pl.lit(stage), rule=pl.lit(rule), value=pl.col("language_score").cast(pl.Float64), threshold=pl.lit(0.5),
            kept_id=pl.lit("0123456789abcdef") if stage == "dedup" else pl.lit(None, pl.String),
            domain="domain", source="source", url="url", path="path", offset="offset", language="language",
            language_score="language_score", chars=pl.col("text").str.len_chars().cast(pl.Int64), snippet=pl.col("text").str.slice(0, 200),
        ))
        stats[f"{stage}.removed.{rule}"] = gone.height
    prev = stats["ingest.docs_out"]
    for stage in ("langid", "filter", "dedup", "quality", "rebalance", "tokenize"):
        stats[f"{stage}.docs_in"] = prev
        prev -= sum(n for k, n in stats.items() if k.startswith(f"{stage}.removed."))
        stats[f"{stage}.docs_out"] = prev
    per_domain = dict(text.group_by("domain").agg((pl.col("num_tokens") * pl.col("repeat")).sum()).iter_rows())
    stats["tokenize.tokens"] = stats["rebalance.mix_tokens"] = sum(per_domain.values())
    ledger = pl.concat([ledger, *removed], how="vertical_relaxed").cast({"value": pl.Float64, "threshold": pl.Float64})
    quar = pl.concat([quar, pl.DataFrame({
        "path": ["broken.jsonl.gz", "broken.jsonl.gz"], "offset": [-1, 1234], "reason": ["truncated_gzip", "bad_json"],
        "detail": ["unexpected end of stream", "Expecting ',' delimiter"], "source": ["web", "web"], "domain": ["web", "web"],
        "source_id": [None, None]},
        schema=quar.schema)])
    for d in ("text", "ledger", "quarantine"):
        shutil.rmtree(root / d)
        (root / d).mkdir()
    entries = {}
    for kind, df in (("text", text), ("ledger", ledger), ("quarantine", quar)):  # two shards each
        key = "id" if kind != "quarantine" else "path"
        part = pl.Series(output.shard_index(df[key].to_arrow(), 2))
        entries[kind] = []
        for i in range(2):
            rel = output.shard_name(kind, i, 2)
            df.filter(part == i).sort(key).write_parquet(root / rel, compression="zstd")
            entries[kind].append({"kind": kind, "file": rel, "rows": int((part == i).sum()), "bytes": (root / rel).stat().st_size,
                                  "sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest()})
    stages = ["ingest", "langid", "filter", "dedup", "quality", "rebalance", "tokenize"]
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["config"]["run"]["stages"] = stages
    manifest.update(counts=output.stage_counts(stats, stages), stats=stats, outputs=entries)
    (root / "stats" / "run.json").write_text(json.dumps({"counts": manifest["counts"], "stats": stats}))
    (root / "tokens").mkdir()
    total = stats["tokenize.tokens"]  # as curate.stages.tokenize.manifest writes it
    mix = {d: {"achieved": n / total, "target": {"web": 0.6, "code": 0.4}[d]} for d, n in per_domain.items()}
    tok = {"format": "curate-tokens/1", "packed": False, "tokens": {"total": total, "per_domain": per_domain}, "mix": mix}
    (root / "tokens" / "manifest.json").write_text(json.dumps(tok))
    manifest["files"] = [{"file": p.relative_to(root).as_posix(), "bytes": p.stat().st_size} for p in sorted(root.rglob("*"))
                         if p.is_file() and p.name != "manifest.json" or p.parent.name == "tokens" and p.name == "manifest.json"]
    (root / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="session")
def curated(corpora, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audit") / "out"
    from tests.test_audit_verify import curate  # in this process: a subprocess paid Python's and Beam's imports

    r = curate("run", "--input", corpora / "web" / "*.jsonl*", "--domain", "web", "--input", corpora / "code" / "code_sample.jsonl.gz",
               "--domain", "code", "--output", root, "--stages", "ingest", "--progress", "off")
    assert r.returncode == 0, r.stderr
    _simulate_later_stages(root)
    assert command.main([str(root)]) == 0
    return root


@pytest.fixture(scope="session")
def summary(curated) -> dict:
    return json.loads((curated / "stats" / "summary.json").read_text())


def q(sql: str, params=None, **kw):
    return duckdb.connect().execute(sql.format(**kw), params).fetchall()


HOST_SQL = r"""nullif(regexp_replace(regexp_replace(lower(regexp_extract({col},
  '^(?:[A-Za-z][A-Za-z0-9+.\-]*://|//)?(?:[^@/?#]*@)?([^:/?#\s]+)', 1)), '\.$', ''), '^www\.', ''), '')"""


# ---------------------------------------------------------------- summary.json vs DuckDB


def test_documents_languages_characters(curated, summary):
    t = f"read_parquet('{curated}/text/*.parquet')"
    assert summary["documents"]["by_domain"] == dict(q("SELECT domain, count(*) FROM {t} GROUP BY 1", t=t))
    dl = {}
    for d, lang, n in q("SELECT domain, coalesce(language, 'und'), count(*) FROM {t} GROUP BY 1, 2", t=t):
        dl.setdefault(d, {})[lang] = n
    assert summary["documents"]["by_domain_language"] == dl
    assert summary["documents"]["by_language"] == dict(q("SELECT coalesce(language, 'und'), count(*) FROM {t} GROUP BY 1", t=t))
    assert summary["characters"]["by_domain"] == {d: int(n) for d, n in q("SELECT domain, sum(length(text)) FROM {t} GROUP BY 1", t=t)}
    tok = {d: (int(a), int(b)) for d, a, b in q("SELECT domain, sum(num_tokens), sum(num_tokens * coalesce(repeat, 1)) FROM {t} GROUP BY 1", t=t)}
    assert summary["tokens"]["unique_by_domain"] == {d: a for d, (a, _) in tok.items()}
    assert summary["tokens"]["in_mix_by_domain"] == {d: b for d, (_, b) in tok.items()}
    assert summary["mix_documents"]["by_domain"] == {d: int(n) for d, n in q("SELECT domain, sum(repeat) FROM {t} GROUP BY 1", t=t)}
    # a multilingual corpus's tokens per language (in the mix: copies counted), as the report's languages show them
    by_lang = q("SELECT coalesce(language, 'und'), sum(num_tokens * coalesce(repeat, 1)) FROM {t} WHERE num_tokens IS NOT NULL GROUP BY 1", t=t)
    assert summary["tokens"]["in_mix_by_language"] == {lang: int(n) for lang, n in by_lang}
    assert sum(summary["tokens"]["in_mix_by_language"].values()) == summary["tokens"]["in_mix"]
    n = max(n for _, n in by_lang)
    assert f"; {report.compact(int(n))} tok<" in (curated / "report.html").read_text()
    total = sum(b for _, b in tok.values())
    assert summary["domain_mix"] == {"measure": "tokens", "achieved": {d: b / total for d, (_, b) in sorted(tok.items())}, "target": {"code": 0.4, "web": 0.6}}


@pytest.mark.parametrize("key,expr", [("length_chars", "length(text)"), ("length_tokens", "num_tokens")])
def test_length_percentiles_within_stated_error(curated, summary, key, expr):
    t = f"read_parquet('{curated}/text/*.parquet')"
    err = summary["percentile_relative_error"]
    assert err <= 0.01
    ps = sketches.PERCENTILES
    quant = ", ".join(f"quantile_disc({expr}, {p / 100})" for p in ps)
    rows = q("SELECT domain, count(*), min({e}), max({e}), avg({e}), {quant} FROM {t} GROUP BY 1 UNION ALL "
             "SELECT 'all', count(*), min({e}), max({e}), avg({e}), {quant} FROM {t}", e=expr, quant=quant, t=t)
    for d, n, lo, hi, mean, *exact in rows:
        got = summary[key]["all" if d == "all" else "by_domain"]
        got = got if d == "all" else got[d]
        assert (got["count"], got["min"], got["max"]) == (n, lo, hi)
        assert got["mean"] == pytest.approx(mean)
        for p, x in zip(ps, exact):
            assert abs(got[f"p{p}"] - x) <= err * x + 0.01, (d, p, got[f"p{p}"], x)


def test_quality_histogram_and_duplicate_groups(curated, summary):
    t = f"read_parquet('{curated}/text/*.parquet')"
    hist = {}
    for d, b, n in q("SELECT domain, least(greatest(floor(quality_score::DOUBLE * 20), 0), 19)::INT, count(*) FROM {t} "
                     "WHERE quality_score IS NOT NULL GROUP BY ALL", t=t):
        hist.setdefault(d, [0] * 20)[b] = n
    assert {d: x["histogram"] for d, x in summary["quality_score"]["by_domain"].items()} == hist
    for d, mean in q("SELECT domain, avg(quality_score::DOUBLE) FROM {t} GROUP BY 1", t=t):
        assert summary["quality_score"]["by_domain"][d]["mean"] == pytest.approx(mean)
    dups: dict = {}
    for d, size, n in q("SELECT domain, dup_group_size, count(*) FROM {t} GROUP BY ALL", t=t):
        b = str((size - 1).bit_length())
        dups.setdefault(d, {})[b] = dups.get(d, {}).get(b, 0) + n
    assert summary["dup_group_size"]["by_domain"] == dups


def test_removals_examples_and_quarantine(curated, summary):
    led = f"read_parquet('{curated}/ledger/*.parquet', filename=true, file_row_number=true)"
    got = {(s, r, d): n for s, e in summary["removed"]["by_stage"].items() for r, x in e["rules"].items() for d, n in x["by_domain"].items()}
    assert got == {(s, r, d): n for s, r, d, n in q("SELECT stage, rule, domain, count(*) FROM {l} GROUP BY ALL", l=led)}
    assert {s for s, _, _ in got} == {"ingest", "langid", "filter", "dedup", "quality"}
    for s, e in summary["removed"]["by_stage"].items():
        for r, x in e["rules"].items():
            want = q("SELECT id, filename, file_row_number, snippet FROM {l} WHERE stage = ? AND rule = ? ORDER BY id LIMIT 3", [s, r], l=led)
            assert [(ex["id"], ex["file"], ex["row"], ex["snippet"]) for ex in x["examples"]] == [(i, os.path.relpath(f, curated), row, sn) for i, f, row, sn in want]
    quar = f"read_parquet('{curated}/quarantine/*.parquet')"
    assert {r: e["total"] for r, e in summary["quarantine"]["by_reason"].items()} == dict(q("SELECT reason, count(*) FROM {t} GROUP BY 1", t=quar))


def test_funnel_and_checks(curated, summary):
    manifest = json.loads((curated / "manifest.json").read_text())
    led = f"read_parquet('{curated}/ledger/*.parquet')"
    by_stage = dict(q("SELECT stage, count(*) FROM {l} GROUP BY 1", l=led))
    assert [e["stage"] for e in summary["funnel"]] == ["ingest", "langid", "filter", "dedup", "quality", "rebalance", "tokenize"]
    for e in summary["funnel"]:
        c = manifest["counts"][e["stage"]]
        assert (e["docs_in"], e["docs_out"]) == (c["docs_in"], c["docs_out"])
        assert e["removed"] == by_stage.get(e["stage"], 0)
    (n,), = q("SELECT count(*) FROM read_parquet('{d}/text/*.parquet')", d=curated)
    assert summary["funnel"][-1]["docs_out"] == n
    assert summary["funnel"][-1]["tokens_out"] == summary["tokens"]["in_mix"] == summary["tokens_written"]
    assert summary["checks"] and all(c["ok"] for c in summary["checks"])
    # deterministic: a second audit writes the same bytes; the report is a function of summary.json alone
    assert output.json_bytes(scan.audit_output(str(curated))) == (curated / "stats" / "summary.json").read_bytes()
    assert report.render(summary) == (curated / "report.html").read_text()


def test_tokens_say_which_count_a_training_run_reads(curated, summary):
    """summary.json's tokens ``total`` was text/'s documents' tokens each counted once, while
    tokens.json's ``total``, what a training run reads, counts every copy rebalance made: one
    word, two numbers (here the code's documents are in the mix twice). Now ``unique`` (each
    document once) and ``in_mix`` (every copy: tokens.json's total), and no ``total``."""
    t = f"read_parquet('{curated}/text/*.parquet')"
    (once, copies), = q("SELECT sum(num_tokens), sum(num_tokens * coalesce(repeat, 1)) FROM {t}", t=t)
    tok = summary["tokens"]
    assert "total" not in tok and "by_domain" not in tok
    assert tok["unique"] == once < copies == tok["in_mix"] == summary["tokens_written"]
    page = (curated / "report.html").read_text()
    assert "unique (each document once)" in page and "in the mix (what training reads)" in page


def test_top_and_distinct_hosts(curated, summary):
    t = f"read_parquet('{curated}/text/*.parquet')"
    h = summary["hosts"]
    assert h["top_max_undercount"] == 0 and h["distinct_exact"]
    want = q("SELECT h, count(*) n FROM (SELECT {host} h FROM {t}) WHERE h IS NOT NULL GROUP BY 1 ORDER BY n DESC, h LIMIT 25",
             host=HOST_SQL.format(col="url"), t=t)
    assert [tuple(x) for x in h["top"]] == want
    (distinct, with_host), = q("SELECT count(DISTINCT h), count(h) FROM (SELECT {host} h FROM {t})", host=HOST_SQL.format(col="url"), t=t)
    assert (h["distinct"], h["documents_with_host"]) == (distinct, with_host)


def test_target_mix_sources():
    tok = {"mix": {"web": {"achieved": 0.5, "target": 0.6}, "code": {"achieved": 0.5, "target": 0.4}}}
    assert scan.target_mix(tok, None, ["web", "code"]) == {"code": 0.4, "web": 0.6}
    stats = {"stats": {"rebalance.mix.web.target": 0.75, "rebalance.mix.code.target": 0.25, "rebalance.mix.web.tokens": 9}}
    assert scan.target_mix({"mix": {"web": {"achieved": 1.0}}}, stats, ["web", "code"]) == {"code": 0.25, "web": 0.75}
    assert scan.target_mix(None, {"config": {"rebalance": {"targets": {"web": 3, "books": 1}}}}, ["web"]) == {"books": 0.25, "web": 0.75}
    assert scan.target_mix(None, {"config": {"rebalance": {"targets": {}}}}, ["web"]) is None


# ---------------------------------------------------------------- sketches


def test_sketches_merge():
    rng = np.random.default_rng(0)
    x = rng.lognormal(7, 2, 20000).astype(np.int64)
    df = pl.DataFrame({"domain": ["web"] * len(x), "language": None, "host": [f"h{i % 3000}.org" if i % 5 else f"big{i % 7}.org" for i in range(len(x))], "chars": x})
    whole = stats.Partial().add_docs(df)
    parts = [stats.Partial().add_docs(df[i : i + 3000]) for i in range(0, len(x), 3000)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged.length["web"].bins == whole.length["web"].bins  # exact merge
    srt = np.sort(x)
    for p in sketches.PERCENTILES:
        exact = srt[max(1, math.ceil(p / 100 * len(x))) - 1]
        assert abs(merged.length["web"].quantile(p / 100) - exact) <= sketches.REL_ERROR * exact
    small = sketches.TopK(capacity=50)  # a summary that has to drop counters
    for p in range(0, len(x), 1000):
        small.merge(sketches.TopK(50).update(df[p : p + 1000].group_by("host").len().iter_rows()))
    truth = dict(df.group_by("host").len().iter_rows())
    assert small.error > 0
    for host, n in small.top(7):
        assert host.startswith("big") and n <= truth[host] <= n + small.error
    hll = sketches.HLL()
    hll.add_hashes(pl.Series([f"host-{i}" for i in range(100000)]).hash(seed=sketches.HASH_SEED).to_numpy())
    assert abs(hll.estimate() - 100000) < 3000


# ---------------------------------------------------------------- --corpus


def test_corpus_dolma(corpora, tmp_path):
    dolma = corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"
    out = tmp_path / "dolma-audit"
    assert command.main(["--corpus", str(dolma), "--output", str(out)]) == 0
    s = json.loads((out / "stats" / "summary.json").read_text())
    assert s["kind"] == "corpus" and s["fields"] == {"text": "text", "url": "metadata.url", "language": None, "domain": "corpus"}
    src = f"read_json('{dolma}', format='newline_delimited')"
    (n, chars), = q("SELECT count(*), sum(length(text)) FROM {s}", s=src)
    assert (s["documents"]["total"], s["characters"]["total"]) == (n, chars)
    (p50,), = q("SELECT quantile_disc(length(text), 0.5) FROM {s}", s=src)
    assert abs(s["length_chars"]["all"]["p50"] - p50) <= 0.01 * p50
    want = q("SELECT h, count(*) n FROM (SELECT {host} h FROM {s}) WHERE h IS NOT NULL GROUP BY 1 ORDER BY n DESC, h LIMIT 25",
             host=HOST_SQL.format(col="metadata.url"), s=src)
    assert [tuple(x) for x in s["hosts"]["top"]] == want and s["hosts"]["documents_without_host"] == 0
    html = (out / "report.html").read_text()
    assert 'id="chart-hosts"' in html and 'id="chart-lengths"' in html and "Not a curate output" in html
    # the CLI entry point, and a Parquet corpus with a domain column
    r = subprocess.run([sys.executable, "-m", "curate.cli", "audit", "--corpus", str(dolma), "--output", str(tmp_path / "cli")], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and "report:" in r.stdout
    assert command.main(["--corpus", str(dolma), "--text-field", "nope", "--output", str(tmp_path / "x")]) == 2


def test_corpus_parquet_matches_output(curated, summary, tmp_path):
    s = scan.audit_corpus([str(curated / "text" / "*.parquet")])
    assert s["documents"] == summary["documents"] and s["length_chars"] == summary["length_chars"] and s["hosts"] == summary["hosts"]


# ---------------------------------------------------------------- the report in Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--remote-debugging-pipe"]
CHART_JS = """[...document.querySelectorAll('figure.chart')].map(f => {
  const s = f.querySelector('svg'), r = s.getBoundingClientRect();
  const marks = [...s.querySelectorAll('rect.bar, polyline, circle')].filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; });
  const b = s.getBBox(), vb = s.viewBox.baseVal;
  return {id: f.id, width: r.width, height: r.height, marks: marks.length, overflow: b.x < -1 || b.x + b.width > vb.width + 1};
})"""


class Browser:
    """A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, user_data: Path):
        to_chrome, self._w = os.pipe()
        self._r, from_chrome = os.pipe()

        def fds():  # in the child: our pipe ends become fds 3 (commands) and 4 (replies)
            a, b = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={user_data}", "about:blank"], preexec_fn=fds,
                                     pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self.buf, self.events, self.next_id = b"", [], 0

    def _read(self, deadline):
        while b"\0" not in self.buf:
            if not select.select([self._r], [], [], max(deadline - time.time(), 0))[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, session=None, timeout=30, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params} | ({"sessionId": session} if session else {})
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                assert "error" not in m, m
                return m["result"]
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline))

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it: apt-get install chromium)")
def test_report_renders_in_chromium(curated, summary, tmp_path):
    page = curated / "report.html"
    html = page.read_text()
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    b = Browser(tmp_path / "chromium")
    try:
        target = b.send("Target.createTarget", url="about:blank")["targetId"]
        sid = b.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(f"{domain}.enable", session=sid)
        b.send("Emulation.setDeviceMetricsOverride", session=sid, width=1280, height=900, deviceScaleFactor=1, mobile=False)
        b.events.clear()  # only what the report page does counts
        b.send("Page.navigate", session=sid, url=page.as_uri())
        b.wait_event("Page.loadEventFired")
        charts = b.send("Runtime.evaluate", session=sid, expression=CHART_JS, returnByValue=True)["result"]["value"]
        height = b.send("Page.getLayoutMetrics", session=sid)["cssContentSize"]["height"]
        shot = b.send("Page.captureScreenshot", session=sid, format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1})
        (tmp_path / "report.png").write_bytes(base64.b64decode(shot["data"]))
    finally:
        b.close()
    errors = [e for e in b.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert not errors, errors
    requests = [e["params"]["request"]["url"] for e in b.events if e.get("method") == "Network.requestWillBeSent"]
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    expected = {"funnel", "tokens", "removals", "domains", "languages", "hosts", "quality", "dups", "lengths", "token-lengths"}
    assert {c["id"] for c in charts} == {f"chart-{x}" for x in expected}
    for c in charts:
        assert c["width"] > 200 and c["height"] > 30 and c["marks"] >= 2 and not c["overflow"], c
    assert (tmp_path / "report.png").stat().st_size > 50_000
    print(f"screenshot: {tmp_path / 'report.png'}")


def test_report_examples_show_your_own_id_and_a_lookup_that_runs(tmp_path):
    """An auditor finds a removed record by the id of their own data, and the report's lookup
    command works with what curate installs (polars), not a tool it does not ship."""
    import html
    import re

    from curate import cli

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    (inp / "mine.jsonl").write_text('{"id": "rec-1", "text": "   "}\n{"id": "rec-2", "text": "kept text here."}\n'
                                    '{"id": "rec-3", "text": null}\n')
    assert cli.main(["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", str(out), "--progress", "off"]) == 0
    assert cli.main(["audit", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "your id <code>rec-1</code>" in page
    assert "mine.jsonl @ 74 (your id <code>rec-3</code>) — text field &#x27;text&#x27; is null" in page  # quarantined
    cmd = html.unescape(re.search(r"Look one up: <code>(.*?)</code>", page).group(1))
    removed = pl.read_parquet(out / "ledger").row(0, named=True)["id"]
    cmd = cmd.replace("'ID'", repr(removed)).replace("python ", f"{sys.executable} ", 1)
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0 and "empty_text" in r.stdout and "rec-1" in r.stdout, r.stderr


def test_funnel_of_a_manifest_whose_counts_do_not_add_up_renders():
    """A manifest with removals but docs_in 0 (hand-edited, or written by another tool) is shown
    with its 'does not match' banner, not a ZeroDivisionError."""
    card = report.funnel_card({"funnel": [{"stage": "filter", "docs_in": 0, "docs_out": 0, "removed": 3, "quarantined": 0}]})
    assert "−3" in card and "%" not in card.split("−3")[1][:20]


def test_quality_per_language_counts_what_a_later_stage_removed(corpora, tmp_path):
    """The quality stage's per-language keep counts are what it kept, also the documents
    rebalance then sampled out (a ledger row of a later stage, no score): counted from the
    ledger and text with DuckDB, not only the documents left in text/."""
    import gzip

    from curate import cli

    # the file's first 200 of its 526 pages, the budget cut to match (89 sampled out, 34 languages
    # in text or ledger): the quality stage's scoring and ledger snippets are most of this test's CPU
    out, pages = tmp_path / "out", tmp_path / "cc.jsonl"
    with gzip.open(corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        pages.write_text("".join(line for _, line in zip(range(200), f)), encoding="utf-8")
    assert cli.main(["run", "--input", str(pages), "--domain", "web",
                     "--output", str(out), "--stages", "ingest,langid,quality,rebalance", "--languages", "all", "--progress", "off",
                     "--workers", "1", "--set", "quality.web.keep={top_fraction = 0.7}", "--set", "rebalance.budget=57000"]) == 0
    assert cli.main(["audit", str(out)]) == 0
    by = json.loads((out / "stats" / "summary.json").read_text())["quality_score"]["by_language"]
    t, led = f"read_parquet('{out}/text/*.parquet')", f"read_parquet('{out}/ledger/*.parquet')"
    sampled = dict(q("SELECT language, count(*) FROM {l} WHERE stage = 'rebalance' GROUP BY 1", l=led))
    assert sum(sampled.values()) > 50  # the budget sampled documents of many languages out
    in_text = {lang: (n, m) for lang, n, m in q("SELECT language, count(*), avg(quality_score::DOUBLE) FROM {t} GROUP BY 1", t=t)}
    removed = dict(q("SELECT language, count(*) FROM {l} WHERE stage = 'quality' GROUP BY 1", l=led))
    assert sorted(by) == sorted(set(in_text) | set(sampled) | set(removed))
    for lang, x in by.items():
        n, mean = in_text.get(lang, (0, None))
        assert (x["kept"], x["removed"], x["kept_in_output"]) == (n + sampled.get(lang, 0), removed.get(lang, 0), n), lang
        assert x["kept_mean"] == pytest.approx(mean), lang  # of the kept documents still in text/: the ledger has no score
    html = (out / "report.html").read_text()
    en = by["en"]
    share = report.pct(en["kept"] / (en["kept"] + en["removed"]))
    assert f"<td>en</td><td>{report.num(en['kept'] + en['removed'])}</td><td>{share}</td>" in html


def test_unlabelled_language_is_named_as_the_tokens_manifest_names_it(tmp_path):
    """A run without langid: the tokens manifest (as the README documents) counts its documents
    under `und`, the audit said `unknown`: two names for one group, so a join of the two came
    up empty. Both now say `und`; a summary.json written before (`unknown`) still renders."""
    from curate import cli

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    (inp / "p.jsonl").write_text("".join(json.dumps({"text": f"page {i} of words about the river and the mill"}) + "\n" for i in range(3)))
    assert cli.main(["run", "--input", str(inp), "--domain", "web", "--stages", "ingest,tokenize", "--output", str(out), "--progress", "off"]) == 0
    assert cli.main(["audit", str(out)]) == 0
    summary = json.loads((out / "stats" / "summary.json").read_text())
    path = next(p for p in (out / "tokens.json", out / "tokens" / "manifest.json") if p.exists())  # the layout is moving
    manifest = json.loads(path.read_text())
    assert summary["documents"]["by_language"] == manifest["documents_per_language"]["web"] == {"und": 3}, summary["documents"]
    assert summary["tokens"]["in_mix_by_language"] == manifest["tokens"]["per_language"]["web"]
    assert "incl. und" in (out / "report.html").read_text()
    old = json.loads(json.dumps(summary).replace('"und"', '"unknown"'))
    assert "incl. und" in report.render(old)


def test_length_histogram_counts_each_document_in_its_own_bin(tmp_path):
    """The length histogram's bins are [10**(k/4), 10**((k+1)/4)); each count was its fine log
    bin's, placed by the fine bin's middle, so a 9,979-character document counted in 10k-17.8k
    (found auditing the shared code sample: 31 documents shown where 32 were). Ground truth:
    integer arithmetic, k the largest with n**4 >= 10**k."""
    lengths = [1, 9, 10, 11, 99, 100, 177, 178, 999, 1000, 9979, 9999, 10000, 10001, 17782, 17783, 31622, 31623, 99999, 100000]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"text": "x" * n}) + "\n" for n in lengths))
    r = subprocess.run([sys.executable, "-m", "curate.cli", "audit", "--corpus", str(tmp_path / "c.jsonl"), "--output", str(tmp_path / "a")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    got = json.loads((tmp_path / "a" / "stats" / "summary.json").read_text())["length_chars"]["histogram"]
    assert got["per_decade"] == 4
    want: dict = {}
    for n in lengths:
        k = max(k for k in range(40) if n**4 >= 10**k)
        want[str(k)] = want.get(str(k), 0) + 1
    assert got["by_domain"]["corpus"] == want


@pytest.mark.parametrize("how", ["bz2", "xz", "lz4"])
def test_corpus_in_a_compression_curate_does_not_read_is_named(tmp_path, capsys, how):
    """`audit --corpus x.jsonl.bz2` (.xz, .lz4) said 'not a Parquet or JSONL file'; it names the
    compression in one line, as `curate run` does for an input."""
    import bz2
    import lzma

    raw = b'{"id": "1", "text": "The harbour and the river."}\n'
    packed = {"bz2": bz2.compress, "xz": lzma.compress,
              "lz4": lambda b: b"\x04\x22\x4d\x18" + b}[how](raw)  # lz4: its frame's magic bytes, what is checked
    path = tmp_path / f"x.jsonl.{how}"
    path.write_bytes(packed)
    from curate import cli

    assert cli.main(["audit", "--corpus", str(path)]) != 0
    err = capsys.readouterr().err
    name = {"bz2": "bzip2", "xz": "xz", "lz4": "lz4"}[how]
    assert f"{path} is compressed with {name}; curate reads gzip and zstd: recompress it" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_a_corpus_folder_holding_a_file_and_its_decompressed_copy_counts_it_once(tmp_path, capsys):
    """The audit's own hint (`gzip -dk d/x.jsonl.gz`) leaves d/x.jsonl beside the original, and
    `audit --corpus d` counted both: every document twice. A file beside its copy (the same
    bytes decompressed) is read once, with a warning naming both; one of that name holding
    other data is read."""
    import gzip

    d = tmp_path / "d"
    d.mkdir()
    lines = "".join(json.dumps({"text": f"record {i} of the harbour"}) + "\n" for i in range(20))
    (d / "x.jsonl").write_text(lines)
    (d / "x.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (d / "y.jsonl").write_text(lines)
    (d / "y.jsonl.gz").write_bytes(gzip.compress(lines.replace("harbour", "river").encode()))
    out = tmp_path / "a"
    assert command.main(["--corpus", str(d), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    s = json.loads((out / "stats" / "summary.json").read_text())
    assert s["documents"]["total"] == 60, s["documents"]
    assert f"{d / 'x.jsonl'} holds what {d / 'x.jsonl.gz'} holds, decompressed: read once" in err, err
    # the same folder as a file:// URI: on this disk too (every document of the pair was counted twice)
    assert command.main(["--corpus", f"file://{d}/", "--output", str(tmp_path / "u")]) == 0
    err = capsys.readouterr().err
    assert json.loads((tmp_path / "u" / "stats" / "summary.json").read_text())["documents"]["total"] == 60
    assert "x.jsonl.gz holds, decompressed: read once" in err, err


def test_a_file_and_its_copy_named_by_two_corpus_globs_are_counted_once(tmp_path, capsys):
    """`audit --corpus x.jsonl --corpus 'x.jsonl.g*'` (a file and its copy, each named by a glob
    of its own) and `--corpus x.jsonl --corpus x.jsonl` counted every document twice: read once,
    by the first --corpus, as curate run reads its inputs; a file of that name holding other
    data is read."""
    import gzip

    lines = "".join(json.dumps({"text": f"record {i} of the harbour"}) + "\n" for i in range(20))
    (tmp_path / "x.jsonl").write_text(lines)
    (tmp_path / "x.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (tmp_path / "y.jsonl").write_text(lines)
    (tmp_path / "y.jsonl.gz").write_bytes(gzip.compress(lines.replace("harbour", "river").encode()))
    x, y = tmp_path / "x.jsonl", tmp_path / "y.jsonl"
    for i, corpus in enumerate([[x, f"{x}.g*"], [x, x], [y, f"{y}.gz"]]):
        args = [a for c in corpus for a in ("--corpus", str(c))]
        assert command.main([*args, "--output", str(tmp_path / f"a{i}")]) == 0
        err = capsys.readouterr().err
        total = json.loads((tmp_path / f"a{i}" / "stats" / "summary.json").read_text())["documents"]["total"]
        assert total == (40 if corpus[0] == y else 20), (corpus, total)
        said = {0: f"{x}.gz holds what {x} holds, decompressed: read once", 1: f"{x} is named twice: read once"}.get(i)
        assert said is None and "read once" not in err or said in err, err


def test_a_home_folder_given_after_an_equals_sign_is_the_home_folder(tmp_path, monkeypatch, capsys):
    """`curate audit --corpus=~/c.jsonl --output=~/a` (no shell expands a ~ after =) said no such
    file, and --output=~/a wrote ./~/a, a folder named ~ (`rm -rf ~` removes the home folder):
    the home folder, as `curate run --output=~/x` takes it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "c.jsonl").write_text(json.dumps({"text": "a page about the harbour"}) + "\n")
    assert command.main(["--corpus=~/c.jsonl", "--output=~/a"]) == 0, capsys.readouterr().err
    assert (tmp_path / "home" / "a" / "stats" / "summary.json").is_file() and not (tmp_path / "~").exists()


@pytest.mark.parametrize("how", ["gz", "zst", "bz2"])
def test_a_compressed_parquet_corpus_is_told_to_be_decompressed(tmp_path, capsys, how):
    """`audit --corpus x.parquet.gz` (.zst) said 'not a Parquet or JSONL file': it is one,
    compressed whole, which neither polars nor pyarrow opens (Parquet compresses its columns
    inside); `curate run` quarantined it whole (read_error, 'Parquet magic bytes not found in
    footer'). One line names it and the command that decompresses it, before either reads, as
    for a .parquet.bz2; run as said, the copy is audited and curated."""
    import bz2
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    from curate import cli

    plain = tmp_path / "x y.parquet"  # a blank in the name: the command quotes it
    pq.write_table(pa.table({"id": ["1", "2"], "text": ["The harbour and the river.", "A second page."]}), plain)
    packed = tmp_path / f"x y.parquet.{how}"
    packed.write_bytes({"gz": gzip.compress, "zst": zstandard.ZstdCompressor().compress, "bz2": bz2.compress}[how](plain.read_bytes()))
    plain.unlink()
    assert cli.main(["audit", "--corpus", str(packed), "--output", str(tmp_path / "audit")]) == 2
    err = capsys.readouterr().err
    tool = {"gz": "gzip", "zst": "zstd", "bz2": "bzip2"}[how]
    assert err.startswith(f"curate audit: {packed} is compressed with {tool}; decompress it (curate reads Parquet as written: "
                          "it compresses its columns inside), e.g. "), err  # bz2: as other_compression_error says it
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    run = ["run", "--input", str(packed), "--domain", "web", "--stages", "ingest", "--output", str(tmp_path / "out"), "--progress", "off"]
    assert cli.main(run) == 2
    said = capsys.readouterr().err
    assert said.strip() == f"curate: config error: inputs[0]: {err.strip().removeprefix('curate audit: ')}", said
    if not shutil.which(tool):
        pytest.skip(f"needs the {tool} command")
    subprocess.run(err.split("e.g. ", 1)[1].strip(), shell=True, check=True, cwd=tmp_path)
    assert cli.main(["audit", "--corpus", str(plain), "--output", str(tmp_path / "audit")]) == 0
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == 2
    run[2] = str(plain)
    assert cli.main(run) == 0
    assert pl.read_parquet(tmp_path / "out" / "text").height == 2


@pytest.mark.skipif(not all(map(shutil.which, ["gzip", "zstd", "bzip2"])), reason="needs gzip, zstd and bzip2")
def test_the_decompress_hint_for_a_file_of_a_folder_corpus_run_as_said_lets_the_audit_read_it(tmp_path, capsys):
    """`audit --corpus d/` with a x.parquet.gz or a .jsonl.bz2 in d/: the hint decompressed it
    beside itself, and the next audit listed the original again and refused it again. The hint
    now says to move the original away (it kept it: no `gzip -d` or `&& rm` of the user's file);
    done as said, the audit reads the folder."""
    import bz2
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate import cli

    d = tmp_path / "d"
    d.mkdir()
    pq.write_table(pa.table({"text": ["The harbour and the river.", "A second page."]}), d / "p.parquet")
    (d / "p.parquet.gz").write_bytes(gzip.compress((d / "p.parquet").read_bytes()))
    (d / "p.parquet").unlink()
    (d / "l.jsonl.bz2").write_bytes(bz2.compress(b'{"text": "A third page."}\n'))
    said = []
    for _ in range(5):
        if cli.main(["audit", "--corpus", str(d), "--output", str(tmp_path / "audit")]) == 0:
            break
        hint, move = capsys.readouterr().err.strip().split("e.g. ", 1)[1].split(", then move the original", 1)
        move = move.split("; 1 other file to fix too", 1)[0]  # both files are named at once, the first's command said
        assert hint not in said and move == " out of the input's folder (its copy is read in its place)", hint
        said.append(hint)
        subprocess.run(hint, shell=True, check=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
        original = next(p for p in d.iterdir() if p.suffix in (".gz", ".bz2") and str(p) in hint)
        original.rename(tmp_path / original.name)  # as said
    assert len(said) == 2 and sorted(os.listdir(d)) == ["l.jsonl.zst", "p.parquet"], said
    assert gzip.decompress((tmp_path / "p.parquet.gz").read_bytes()) == (d / "p.parquet").read_bytes()  # kept
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == 3


@pytest.mark.parametrize("how,name,copy", [("zst", "bomb.jsonl.zst", "bomb.jsonl"), ("gz", "bomb.jsonl.gz", "bomb.jsonl"),
                                           ("gz", "bomb.jsonl", "bomb.decompressed.jsonl"), ("zst", "dump.JSON", "dump.decompressed.JSON")])
def test_a_corpus_decompression_bomb_is_refused_at_max_file_bytes(tmp_path, capsys, monkeypatch, how, name, copy):
    """`audit --corpus bomb.jsonl.zst` (KB decoding to GB) was decoded whole, by the pass looking
    for comment lines and by polars, where `curate run` stops at limits.max_file_bytes: refused
    in one line at that limit (made 1 MiB here; 4 GiB is too slow for a test), naming the
    command that decompresses it; the file decompressed is audited whole. A compressed file
    named without .gz/.zst (the compression is told by its bytes) was told to decompress onto
    itself (`gzip -dc bomb.jsonl > bomb.jsonl`: the shell empties it first, the dump is lost)."""
    import gzip

    import zstandard

    from curate import cli
    from curate.readers.common import Limits

    defaults = list(Limits.__init__.__defaults__)
    defaults[0] = 1 << 20  # max_file_bytes
    monkeypatch.setattr(Limits.__init__, "__defaults__", tuple(defaults))
    raw = b'{"text": "all work and no play makes Jack a dull boy"}\n' * ((4 << 20) // 55)  # 4 MiB decoded
    packed = zstandard.ZstdCompressor().compress(raw) if how == "zst" else gzip.compress(raw)
    path = tmp_path / name
    path.write_bytes(packed)
    assert len(packed) < 64 << 10
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) != 0
    err = capsys.readouterr().err
    assert f"{path}: decompresses to more than 1,048,576 bytes (curate run's limits.max_file_bytes" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    command = err.split("decompressed (", 1)[1].split(": read whole", 1)[0]
    subprocess.run(command, shell=True, check=True)
    assert path.read_bytes() == packed  # the file given is left as it was
    plain = tmp_path / copy
    assert plain.read_bytes() == raw and sorted(os.listdir(tmp_path)) == sorted([name, copy])
    assert cli.main(["audit", "--corpus", str(plain), "--output", str(tmp_path / "audit")]) == 0
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == raw.count(b"\n")


def test_a_corpus_bomb_is_refused_at_its_ratio_before_max_file_bytes(tmp_path, capsys, monkeypatch):
    """A bomb is stopped at BOMB_STOP to 1 past max_file_bytes/64 decoded, as curate run stops it:
    the one line said it decoded to more than max_file_bytes, which it was not read to."""
    import zstandard

    from curate import cli
    from curate.readers.common import Limits

    defaults = list(Limits.__init__.__defaults__)
    defaults[0] = 128 << 20  # max_file_bytes: judged past 2 MiB
    monkeypatch.setattr(Limits.__init__, "__defaults__", tuple(defaults))
    piece = b'{"text": "all work and no play makes Jack a dull boy"}\n' * ((1 << 20) // 55)
    c = zstandard.ZstdCompressor().compressobj()
    path = tmp_path / "bomb.jsonl.zst"
    path.write_bytes(b"".join(c.compress(piece) for _ in range(16)) + c.flush())  # 16 MiB, over 1,000 to 1
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) != 0
    err = capsys.readouterr().err
    assert f"{path}: decompresses at 1,000 to 1 or more past 2,097,152 bytes (curate run's stop for a bomb, past which it " \
           "reads no further): a decompression bomb" in err and len(err.strip().splitlines()) == 1, err


def test_the_decompress_command_for_a_bucket_file_reads_a_local_copy():
    """The bomb's hint for a bucket's file named the URL to gzip/zstd (which read local files) and
    wrote beside it (`> gs://b/d/x.jsonl`: a local path that does not exist)."""
    from curate.audit.scan import decompress_command

    assert decompress_command("gs://b/d/x.jsonl.gz", "gzip") == "copy it here, then gzip -dk x.jsonl.gz"
    assert decompress_command("s3://b/x.json", "zstd") == "copy it here, then zstd -d x.json -o x.decompressed.json"
    # a local file with :// after a folder (the folder 'a:') is here: no copy (review93: "copy it here, then")
    assert decompress_command("sub/a://x.jsonl.gz", "gzip") == f"gzip -dk {shlex.quote('sub/a://x.jsonl.gz')}"


@pytest.mark.parametrize("how", ["bz2", "xz"])
def test_the_recompress_hint_run_as_written_gives_a_file_curate_reads(tmp_path, capsys, how):
    """The one line for a .jsonl.bz2 (.xz) said 'e.g. bzip2 -dc FILE | zstd > FILE.zst': taken as
    written, x.jsonl.bz2.zst, a name `curate audit --corpus` refuses (not a Parquet or JSONL
    file) and `curate run` cannot place when the file starts with a comment line (give --format).
    It names the file and the copy now (x.jsonl.zst); the command, run as said, gives a file
    both read whole."""
    import bz2
    import lzma
    import shlex

    import pyarrow.parquet as pq

    from curate import cli

    tool = {"bz2": "bzip2", "xz": "xz"}[how]
    if not (shutil.which(tool) and shutil.which("zstd")):
        pytest.skip(f"needs the {tool} and zstd commands")
    raw = b"# exported by a tool\n" + b"".join(b'{"id": "%d", "text": "The harbour and the river %d."}\n' % (i, i) for i in range(5))
    path = tmp_path / f"x y.jsonl.{how}"  # a blank in the name: the command quotes it
    path.write_bytes({"bz2": bz2.compress, "xz": lzma.compress}[how](raw))
    assert cli.main(["audit", "--corpus", str(path)]) != 0
    err = capsys.readouterr().err
    command = err.split("e.g. ", 1)[1].strip()
    assert command.endswith("| zstd -q -o " + shlex.quote(str(tmp_path / "x y.jsonl.zst"))), err
    subprocess.run(command, shell=True, check=True, cwd=tmp_path)
    copy = tmp_path / "x y.jsonl.zst"
    assert cli.main(["audit", "--corpus", str(copy), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == 5
    assert cli.main(["run", "--input", str(copy), "--domain", "web", "--stages", "ingest", "--output", str(tmp_path / "out"),
                     "--progress", "off"]) == 0, capsys.readouterr().err
    assert pq.read_table(tmp_path / "out" / "text").num_rows == 5


@pytest.mark.parametrize("name, domain", [("book.txt", "books"), ("x.wet", "web"), ("x.parquet", "web"),
                                          # an XHTML page opens <?xml, a page IE saved a comment: neither tells HTML by content
                                          ("page.xhtml", "web"), ("page.htm", "web")])
def test_the_recompress_hint_for_a_book_wet_or_parquet_gives_a_file_curate_run_reads(tmp_path, capsys, name, domain):
    """The hint for an input in bzip2 names its copy for what it holds (FILE.zst), but curate run
    placed no .txt.zst by its name (a book's text tells nothing: 'cannot tell the format ...;
    give --format'), read a .wet.zst by its content as WARC (every record quarantined,
    no_records) and a .parquet.zst as Parquet (read_error: the whole file lost). .txt.zst and
    .wet.zst are read by name now; a Parquet file (compressed inside) is decompressed, not
    recompressed: bzip2 -dk x.parquet.bz2 (x.parquet). Each command run as said gives a file
    curate run reads whole. So were page.xhtml.zst and page.htm.zst (and page.xhtml.gz) not, by
    name: 'cannot tell the format'."""
    import bz2

    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate import cli

    if not (shutil.which("bzip2") and shutil.which("zstd")):
        pytest.skip("needs the bzip2 and zstd commands")
    text = "It was a bright cold day in April, and the clocks were striking thirteen. " * 20
    if name.endswith(".parquet"):
        buf = pa.BufferOutputStream()
        pq.write_table(pa.table({"id": ["a"], "text": [text]}), buf)
        raw = buf.getvalue().to_pybytes()
    elif name.endswith(".wet"):
        body = text.encode()
        raw = (b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: http://a.example/\r\nWARC-Date: 2020-01-01T00:00:00Z\r\n"
               b"WARC-Record-ID: <urn:uuid:1>\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n" % (len(body), body))
    elif name.endswith(".xhtml"):
        raw = ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>April</title>'
               f"</head><body><p>{text}</p></body></html>\n").encode()
    elif name.endswith(".htm"):
        raw = f"<!-- saved from url=(0022)http://a.example/x -->\n<html><body><p>{text}</p></body></html>\n".encode()
    else:
        raw = text.encode()
    path = tmp_path / f"{name}.bz2"
    path.write_bytes(bz2.compress(raw))
    run = ["--stages", "ingest", "--progress", "off"]
    assert cli.main(["run", "--input", str(path), "--domain", domain, *run, "--output", str(tmp_path / "no")]) == 2
    command = capsys.readouterr().err.split("e.g. ", 1)[1].strip()
    subprocess.run(command, shell=True, check=True, cwd=tmp_path)
    copy = str(path)[: -len(".bz2")] + ("" if name.endswith(".parquet") else ".zst")  # decompressed, or recompressed
    assert cli.main(["run", "--input", copy, "--domain", domain, *run, "--output", str(tmp_path / "out")]) == 0, \
        capsys.readouterr().err
    assert [t.split() for t in pq.read_table(tmp_path / "out" / "text").column("text").to_pylist()] == [text.split()]


def test_the_recompress_command_for_a_bucket_file_reads_a_local_copy(tmp_path):
    """The bzip2/xz hint for a bucket's file (audit --corpus gs://b/d/x.jsonl.bz2, an input or an
    evaluation set there) named the URL to bzip2 (which reads local files) and wrote to it
    (`| zstd > gs://b/d/x.jsonl.zst`: a local folder gs:, which does not exist). It says to copy
    the file here first, then the command on the copy, as the gzip bomb's hint does."""
    import bz2

    from curate.readers.common import other_compression_error

    local = tmp_path / "x.jsonl.bz2"
    local.write_bytes(bz2.compress(b'{"text": "The harbour."}\n'))
    for uri in ("gs://b/d/x.jsonl.bz2", "s3://b/x.jsonl.bz2"):
        said = other_compression_error(str(local), uri)
        assert said.startswith(f"{uri} is compressed with bzip2") and \
            said.endswith("e.g. copy it here, then bzip2 -t x.jsonl.bz2 && bzip2 -dc x.jsonl.bz2 | zstd -q -o x.jsonl.zst"), said


def test_the_report_says_the_inputs_as_the_run_was_given_them():
    """The manifest keeps the globs a run read as typed (``input_globs``: ``./data/``,
    ``a/../b/*.jsonl``) where its config holds them tidied, but `curate audit` showed neither: the
    summary's run and the report's heading name them now, as typed (and what ``..`` was read as)."""
    manifest = {"config_hash": "ab" * 32, "format": output.FORMAT,
                "config": {"inputs": [{"glob": "data", "domain": "web"}, {"glob": "b/*.jsonl", "domain": "code"}]},
                "input_globs": ["./data/", "a/../b/*.jsonl"]}
    run = scan.run_of(manifest, ["ingest", "filter"])
    assert run["input_globs"] == ["./data/", "a/../b/*.jsonl"] and run["stages"] == ["ingest", "filter"]
    assert run["inputs"] == ["data", "b/*.jsonl"]
    line = report.heading({"kind": "curate", "source": "out", "run": run})
    assert "inputs <code>&#x27;./data/&#x27;</code>, <code>&#x27;a/../b/*.jsonl&#x27; (read as &#x27;b/*.jsonl&#x27;)</code>" in line, line
    del manifest["input_globs"]  # typed as kept: no input_globs written, the config's are the typed ones
    assert scan.run_of(manifest, ["ingest"])["input_globs"] == ["data", "b/*.jsonl"]
    assert scan.run_of(None, ["ingest"]) == {"config_hash": None, "format": None, "stages": ["ingest"]}


@pytest.mark.parametrize("listed", [True, False])
def test_a_corpus_file_too_large_beside_its_copy_is_not_told_to_decompress_again(tmp_path, capsys, monkeypatch, listed):
    """`audit --corpus d` on a .gz past max_file_bytes said to run `gzip -dk d/x.jsonl.gz`; run,
    it leaves d/x.jsonl, and the audit said the same again, whose command then fails ("already
    exists"). Its copy is said instead, as `curate run` says a bzip2 file's: in a folder, move
    the original out; named alone, give --corpus the copy instead."""
    import gzip

    from curate import cli
    from curate.readers.common import Limits

    defaults = list(Limits.__init__.__defaults__)
    defaults[0] = 4096  # max_file_bytes
    monkeypatch.setattr(Limits.__init__, "__defaults__", tuple(defaults))
    d = tmp_path / "d"
    d.mkdir()
    rows = "".join(json.dumps({"text": f"record {i} of the harbour"}) + "\n" for i in range(400))
    (d / "x.jsonl.gz").write_bytes(gzip.compress(rows.encode()))
    corpus = d if listed else d / "x.jsonl.gz"
    args = ["audit", "--corpus", str(corpus), "--output", str(tmp_path / "a")]
    assert cli.main(args) != 0
    assert f"gzip -dk {d / 'x.jsonl.gz'}" in capsys.readouterr().err  # the hint, before its copy is there
    (d / "x.jsonl").write_text(rows)  # as `gzip -dk` leaves it
    assert cli.main(args) != 0
    err = capsys.readouterr().err
    assert "gzip -dk" not in err and len(err.strip().splitlines()) == 1, err
    todo = ("move the original out of the input's folder (its copy is read in its place)" if listed else
            f"give --corpus {d / 'x.jsonl'} instead")  # as curate run says it (was "audit the copy: --corpus ...")
    assert f"{d / 'x.jsonl.gz'}: decompresses to more than 4,096 bytes" in err and f"its copy {d / 'x.jsonl'} is beside it: {todo}" in err, err
