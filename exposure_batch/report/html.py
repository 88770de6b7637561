"""Static HTML batch report: one `index.html` + `thumbs/` + `report.json`, opens from disk, no server.

Per photo: a before/after pair (slider and toggle), its steps and parameters, a luminance histogram (before/after)
and the recipe's tone curve, links to its outputs (image, recipe, sidecars), or the failure reason. On top: batch
figures (counts, time per photo). The page renders from JSON embedded in index.html, one page of cards at a time
(pagination), and every image is `loading="lazy"`, so 1,000 photos stay fast.

Incremental use (the `process --report` option, the watch daemon):

    writer = ReportWriter("report/")          # picks up an existing report.json in that folder
    writer.add(result)                       # a pipeline.Result; thumbnails from result.thumb_lin or a re-decode
    writer.flush()                           # rewrites report.json and index.html atomically

Exports: ReportWriter, write_report, THUMB_SIDE.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import html
import json
import logging
import os
import statistics
import time
import urllib.parse
from typing import Iterable

import numpy as np
from PIL import Image

from ..io import decode
from ..io.write import atomic_write
from ..names import shown
from ..render.preview import thumbnail
from ..render import render
from . import plots
from .strip import save_image

log = logging.getLogger(__name__)

#: Long side (px) of report thumbnails; pass it to OutputOptions(thumbnail=THUMB_SIDE) so results carry one.
THUMB_SIDE = 400
STATE_FILE = "report.json"
STATE_VERSION = 1


class ReportWriter:
    """Builds and keeps current a static report in `folder` (created if missing).

    Args:
        folder: report folder; index.html, report.json and thumbs/ live there.
        title: page title.
        page_size: photo cards per page.
        autoflush_s: when set, `add` also flushes if the last flush is older than this many seconds.
    """

    def __init__(self, folder: str | os.PathLike, title: str = "exposure-batch report", page_size: int = 60,
                 autoflush_s: float | None = None):
        self.folder = os.path.abspath(os.fspath(folder))
        self.thumbs = os.path.join(self.folder, "thumbs")
        os.makedirs(self.thumbs, exist_ok=True)
        self.title = title
        self.page_size = page_size
        self.autoflush_s = autoflush_s
        self._last_flush = time.monotonic()
        self.last_error: str | None = None  # why the latest try_flush failed (None after a good flush)
        self.entries: dict[str, dict] = self._load_state()

    # --- state ----------------------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, dict]:
        """Entries of an earlier run in this folder (so a restarted daemon keeps its report), keyed by id."""
        path = os.path.join(self.folder, STATE_FILE)
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("version") == STATE_VERSION:
                return {e["id"]: e for e in data.get("photos", [])}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return {}

    # --- adding results ---------------------------------------------------------------------------------------
    def add(self, result, before_lin: np.ndarray | None = None) -> dict:
        """Add (or replace, by input path) one pipeline.Result. Never raises for a bad photo.

        Args:
            result: pipeline.Result (path, status, reason, outputs, seconds, recipe; optional thumb_lin).
            before_lin: (h, w, 3) float32 linear ProPhoto thumbnail of the input; default result.thumb_lin, else
                the input is decoded again (done results only). result.thumb_lin is released afterwards.
        Returns: the entry dict stored in report.json.
        """
        entry = _base_entry(result, self.folder)
        if before_lin is None:
            before_lin = getattr(result, "thumb_lin", None)
        if hasattr(result, "thumb_lin"):
            result.thumb_lin = None  # thumbnails can be big in a 1,000-photo batch: keep only the JPEGs
        if result.status == "done" and result.recipe is not None:
            try:
                if before_lin is None:
                    before_lin = _decode_thumb(result.path)
                entry.update(self._write_thumbs(entry["id"], result.recipe, before_lin))
            except Exception as err:  # noqa: BLE001  (a report problem must never stop a batch)
                log.debug("report thumbnails for %s failed", result.path, exc_info=True)
                entry["note"] = f"no preview: {_one_line(err)}"
        self.entries.pop(entry["id"], None)  # re-added photos move to the end (newest last)
        self.entries[entry["id"]] = entry
        if self.autoflush_s is not None and time.monotonic() - self._last_flush >= self.autoflush_s:
            self.try_flush()
        return entry

    def try_flush(self) -> str | None:
        """flush(), but a write error (disk full, folder gone read-only) is logged, not raised: the report never
        stops a batch, and the next flush writes everything again. Returns index.html's path, or None."""
        try:
            return self.flush()
        except Exception as err:  # noqa: BLE001  (a report problem must never stop a batch)
            self._last_flush = time.monotonic()
            self.last_error = _one_line(err)
            log.warning("report: cannot write %s (%s); retried at the next flush", shown(self.folder),
                        shown(self.last_error))
            return None

    def _write_thumbs(self, entry_id: str, recipe, before_lin: np.ndarray) -> dict:
        """Before/after JPEG thumbnails and the plots PNG; returns their report-relative URLs and sizes."""

        before_lin = np.asarray(before_lin, dtype=np.float32)
        if max(before_lin.shape[:2]) > THUMB_SIDE:
            before_lin = thumbnail(before_lin, THUMB_SIDE)
        after_lin = render(recipe, before_lin, threads=1)
        stamp = format(int(time.time() * 1000) % 10**10, "x")  # cache buster when a photo is re-added
        urls = {}
        for kind, img in (("before", plots.to_display_u8(before_lin)), ("after", plots.to_display_u8(after_lin))):
            name = f"{entry_id}-{kind}.jpg"
            save_image(Image.fromarray(img), os.path.join(self.thumbs, name), quality=85)
            urls[kind] = f"thumbs/{name}?v={stamp}"
        name = f"{entry_id}-plots.png"
        save_image(_plots_image(recipe, before_lin, after_lin), os.path.join(self.thumbs, name))
        urls["plots"] = f"thumbs/{name}?v={stamp}"
        h, w = before_lin.shape[:2]
        return {"thumbs": urls, "thumb_size": [int(w), int(h)]}

    # --- writing ----------------------------------------------------------------------------------------------
    def flush(self) -> str:
        """Rewrite report.json and index.html atomically; returns the index.html path."""

        photos = list(self.entries.values())
        state = {"version": STATE_VERSION, "title": self.title, "photos": photos}
        with atomic_write(os.path.join(self.folder, STATE_FILE), "w") as fh:
            json.dump(state, fh, ensure_ascii=False)
        index = os.path.join(self.folder, "index.html")
        with atomic_write(index, "w") as fh:
            fh.write(render_html(self.title, photos, self.page_size))
        self._last_flush = time.monotonic()
        self.last_error = None
        return index

    def __enter__(self) -> "ReportWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.flush()


def write_report(folder: str | os.PathLike, results: Iterable, title: str = "exposure-batch report") -> str:
    """One-shot report for a list of pipeline.Result; returns the path of index.html."""
    writer = ReportWriter(folder, title)
    for r in results:
        writer.add(r)
    return writer.flush()


# ---------------------------------------------------------------------------------------------------------------
# Entries
# ---------------------------------------------------------------------------------------------------------------
def _entry_id(path: str) -> str:
    """Stable id for an input path (the same photo re-processed replaces its card)."""
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in os.path.splitext(os.path.basename(path))[0])[:40]
    return f"{stem}-{hashlib.sha1(os.fsencode(os.path.abspath(path))).hexdigest()[:10]}"


def _href(target: str, folder: str) -> str:
    """Relative, URL-quoted link from the report folder to a file (the name's exact bytes, %-encoded)."""
    rel = os.path.relpath(os.path.abspath(target), folder)
    return urllib.parse.quote(os.fsencode(rel.replace(os.sep, "/")))


def _base_entry(result, folder: str) -> dict:
    """Everything about a result that needs no pixels."""
    recipe = result.recipe
    entry = {
        "id": _entry_id(result.path),
        "name": shown(os.path.basename(result.path)),  # names are shown escaped: no control characters or
        "path": shown(result.path),  # undecodable bytes reach report.json or the page
        "status": result.status,
        "reason": shown(result.reason),
        "seconds": round(float(result.seconds), 3),
        "outputs": [{"name": shown(os.path.basename(p)), "href": _href(p, folder)} for p in result.outputs],
        "added": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    if recipe is not None:
        if getattr(recipe, "group", None):
            entry["group"] = dict(recipe.group)
        entry["model"] = f"{recipe.model_id} {recipe.model_version}"
        familiarity = ((getattr(recipe, "extra", None) or {}).get("profile") or {}).get("familiarity")
        if familiarity:
            entry["familiarity"] = dict(familiarity)
        entry["steps"] = [{"filter": s.filter, "label": s.spec.label, "text": s.describe(),
                           "params": _round_params(s.params)} for s in recipe.steps]
        capture = (getattr(recipe, "extra", None) or {}).get("capture")
        if isinstance(capture, dict) and "confidence" in capture:
            entry["confidence"] = float(capture["confidence"])
            if capture.get("note"):
                entry["capture_note"] = str(capture["note"])
    return entry


def _round_params(params) -> dict:
    """Parameters rounded to 4 significant digits for display."""
    out = {}
    for k, v in params.items():
        out[k] = [float(f"{x:.4g}") for x in v] if isinstance(v, (list, tuple)) else float(f"{v:.4g}")
    return out


def _decode_thumb(path: str) -> np.ndarray:
    """Decode the input again (half size when that still covers THUMB_SIDE) -> (h, w, 3) float32 linear ProPhoto
    thumbnail, long side <= THUMB_SIDE."""

    rgb_lin = decode(path, half_size=True).rgb_lin
    if max(rgb_lin.shape[:2]) < THUMB_SIDE:
        rgb_lin = decode(path).rgb_lin
    return thumbnail(rgb_lin, THUMB_SIDE)


def _plots_image(recipe, before_lin: np.ndarray, after_lin: np.ndarray) -> Image.Image:
    """Histogram (before/after luminance) and the recipe's tone curve side by side, 300x90 px."""
    hist = plots.draw_histogram(plots.luminance_hist(before_lin), plots.luminance_hist(after_lin), (204, 90))
    curve = plots.draw_curve(*plots.recipe_curve(recipe.steps), 90, "curve")
    im = Image.new("RGB", (300, 90), plots.BG)
    im.paste(hist, (0, 0))
    im.paste(curve, (210, 0))
    return im


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# ---------------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------------
#: How many photos the report lists as most worth a look (lowest capture-estimate confidence first).
WORTH_A_LOOK = 10


def worth_a_look(photos: list[dict], n: int = WORTH_A_LOOK) -> list[dict]:
    """The done photos whose edit the learned agent was least sure of (recipe extra "capture"."confidence",
    lowest first; ties by name), at most n: [{"id", "name", "confidence", "note"?}]."""
    rated = [p for p in photos if p["status"] == "done" and p.get("confidence") is not None]
    rated.sort(key=lambda p: (p["confidence"], p["name"]))
    return [{k: p[k] for k in ("id", "name", "confidence", "capture_note") if k in p} for p in rated[:n]]


def summary(photos: list[dict]) -> dict:
    """Batch figures: counts per status, total and per-photo seconds (done photos), the photos most worth a look."""
    counts = {s: sum(1 for p in photos if p["status"] == s) for s in ("done", "skipped", "failed")}
    secs = [p["seconds"] for p in photos if p["status"] == "done"]
    grouped = [p["group"] for p in photos if p.get("group")]
    return {
        "total": len(photos),
        **counts,
        "scenes": len({g["id"] for g in grouped}) if grouped else None,
        "harmonised": len({g["id"] for g in grouped if g.get("frames", 1) > 1}) if grouped else None,
        "split_off": sum(1 for g in grouped if g.get("split_from")) if grouped else None,
        "seconds_total": round(sum(p["seconds"] for p in photos), 2),
        "seconds_mean": round(statistics.fmean(secs), 3) if secs else None,
        "seconds_median": round(statistics.median(secs), 3) if secs else None,
        "seconds_max": round(max(secs), 3) if secs else None,
        "worth_a_look": worth_a_look(photos),
    }


def _figures_html(s: dict) -> str:
    """Static header figures (readable without JavaScript)."""
    def fig(label: str, value, cls: str = "") -> str:
        return f'<div class="fig {cls}"><b>{html.escape(str(value))}</b><span>{html.escape(label)}</span></div>'

    per = "–" if s["seconds_mean"] is None else f'{s["seconds_mean"]:.2f} s'
    med = "–" if s["seconds_median"] is None else f'{s["seconds_median"]:.2f} s'
    return "".join([
        fig("photos", s["total"]), fig("done", s["done"], "done"), fig("skipped", s["skipped"], "skipped"),
        fig("failed", s["failed"], "failed"), fig("mean per photo", per), fig("median per photo", med),
        fig("total time", f'{s["seconds_total"]:.1f} s'),
        *([fig("scenes", s["scenes"]), fig("harmonised groups", s["harmonised"]),
           fig("split off", s["split_off"], "failed" if s["split_off"] else "")] if s.get("scenes") else []),
    ])


def _worth_a_look_html(rows: list[dict]) -> str:
    """The photos most worth a look, as a static list (readable without JavaScript), folded (the header stays
    short)."""
    if not rows:
        return ""
    items = "".join(f'<li><a href="#p-{html.escape(r["id"])}">{html.escape(r["name"])}</a> · confidence '
                    f'{r["confidence"]:.2f}{(" · " + html.escape(r["capture_note"])) if r.get("capture_note") else ""}'
                    f'</li>' for r in rows)
    return (f'<details class="review" id="worth-a-look"><summary>Worth a look: {len(rows)} photo(s) the learned agent '
            f'was least sure of (lowest confidence first)</summary><ol>{items}</ol></details>')


#: How many photos the "review first" list shows at most.
REVIEW_FIRST = 20


def review_first(photos: list[dict]) -> list[dict]:
    """Done photos a studio profile is least sure about (familiarity level low or medium: far from the profile's
    training pairs), farthest first."""
    far = [p for p in photos if p["status"] == "done" and p.get("familiarity", {}).get("level") in ("low", "medium")]
    return sorted(far, key=lambda p: -float(p["familiarity"]["distance"]))[:REVIEW_FIRST]


def _review_html(photos: list[dict]) -> str:
    """Static list of the photos to review first (readable without JavaScript); empty without a profile."""
    first = review_first(photos)
    if not first:
        return ""
    items = "".join(f'<li><a href="#{html.escape(p["id"])}">{html.escape(p["name"])}</a> '
                    f'<span>{html.escape(p["familiarity"]["level"])}, distance '
                    f'{float(p["familiarity"]["distance"]):.1f}</span></li>' for p in first)
    return ('<div class="review"><b>Review first</b> (unlike the studio profile\'s training pairs, farthest first)'
            f'<ol>{items}</ol></div>')


def _json_for_script(data) -> str:
    """JSON safe inside <script>: no '</' or '<!--' sequences, no raw U+2028/2029."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_html(title: str, photos: list[dict], page_size: int = 60) -> str:
    """The complete index.html for `photos` (entries as stored in report.json)."""
    s = summary(photos)
    generated = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    return (_TEMPLATE
            .replace("@TITLE@", html.escape(title))
            .replace("@FIGURES@", _figures_html(s))
            .replace("@REVIEW@", _review_html(photos) + _worth_a_look_html(s.get("worth_a_look") or []))
            .replace("@GENERATED@", generated)
            .replace("@PAGE_SIZE@", str(int(page_size)))
            .replace("@DATA@", _json_for_script(photos)))


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="exposure-batch">
<title>@TITLE@</title>
<style>
:root { color-scheme: dark; --bg:#18181b; --card:#27272a; --fg:#e4e4e7; --dim:#a1a1aa; --acc:#fbbf24;
        --ok:#22c55e; --skip:#60a5fa; --bad:#ef4444; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { padding: 16px 20px 8px; }
h1 { font-size: 20px; margin: 0 0 10px; }
.figs { display: flex; flex-wrap: wrap; gap: 10px; }
.fig { background: var(--card); border-radius: 6px; padding: 6px 12px; min-width: 90px; }
.fig b { display: block; font-size: 18px; } .fig span { color: var(--dim); font-size: 12px; }
.review { margin-top: 10px; background: var(--card); border-radius: 6px; padding: 6px 12px; }
.review ol { margin: 4px 0 0; } .review span { color: var(--dim); font-size: 12px; }
.fig.done b { color: var(--ok); } .fig.skipped b { color: var(--skip); } .fig.failed b { color: var(--bad); }
.bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 8px 20px; position: sticky; top: 0;
       background: var(--bg); z-index: 2; border-bottom: 1px solid #3f3f46; }
button, select, input[type=search] { background: var(--card); color: var(--fg); border: 1px solid #52525b; border-radius: 5px;
       padding: 4px 10px; font: inherit; cursor: pointer; }
button.on { border-color: var(--acc); color: var(--acc); }
.pages { margin-left: auto; display: flex; gap: 4px; align-items: center; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 14px; padding: 14px 20px; }
.card { background: var(--card); border-radius: 8px; padding: 10px; min-width: 0; }
.card.failed { border-left: 4px solid var(--bad); } .card.skipped { border-left: 4px solid var(--skip); }
.card h2 { font-size: 14px; margin: 0 0 6px; overflow-wrap: anywhere; display: flex; gap: 6px; align-items: baseline; }
.card h2 .t { margin-left: auto; color: var(--dim); font-weight: normal; font-size: 12px; white-space: nowrap; }
.st { font-size: 11px; padding: 1px 6px; border-radius: 3px; background: #3f3f46; }
.st.done { color: var(--ok); } .st.skipped { color: var(--skip); } .st.failed { color: var(--bad); }
.cmp { position: relative; background: #111; line-height: 0; user-select: none; height: 260px; }
.cmp img { width: 100%; height: 100%; object-fit: contain; display: block; }
.cmp img.after { position: absolute; inset: 0; }
.cmp .lbl { position: absolute; top: 6px; line-height: 1; font-size: 11px; padding: 2px 5px; border-radius: 3px;
            background: rgba(0,0,0,.6); }
.cmp .lbl[hidden] { display: none; } .cmp .lbl.b { right: 6px; } .cmp .lbl.a { left: 6px; color: var(--acc); }
.ctl { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
.ctl input[type=range] { flex: 1; accent-color: var(--acc); }
.reason { color: var(--bad); overflow-wrap: anywhere; }
.note { color: var(--dim); }
ol.steps { margin: 4px 0; padding-left: 20px; } ol.steps li { margin: 1px 0; }
details { color: var(--dim); font-size: 12px; } details table { border-collapse: collapse; width: 100%; }
details td { border-top: 1px solid #3f3f46; padding: 2px 4px; vertical-align: top; overflow-wrap: anywhere; }
.plots { width: 100%; height: auto; margin-top: 6px; border-radius: 4px; }
.out a { color: var(--acc); margin-right: 8px; overflow-wrap: anywhere; }
footer { color: var(--dim); padding: 8px 20px 20px; font-size: 12px; }
#groups { padding: 4px 20px; } #groups h3 { font-size: 15px; margin: 10px 0 4px; }
.gstrip { background: var(--card); border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
.gstrip .gh { display: flex; gap: 10px; align-items: baseline; font-size: 13px; }
.gstrip .gh b { color: var(--acc); } .gstrip .gh .dim { color: var(--dim); }
.gstrip .frames { display: flex; gap: 6px; overflow-x: auto; padding-top: 6px; }
.gstrip figure { margin: 0; flex: 0 0 auto; text-align: center; font-size: 11px; color: var(--dim); }
.gstrip figure img { height: 110px; width: auto; display: block; border-radius: 3px; }
.gstrip.split { border-left: 4px solid var(--bad); } .gstrip .why { color: var(--bad); }
.grp { font-size: 12px; color: var(--dim); margin: 2px 0 4px; } .grp.split { color: var(--bad); }
</style>
</head>
<body>
<header>
<h1>@TITLE@</h1>
<div class="figs">@FIGURES@</div>
@REVIEW@
</header>
<div class="bar">
  <span>show</span>
  <button type="button" data-filter="all" class="on">all</button>
  <button type="button" data-filter="done">done</button>
  <button type="button" data-filter="skipped">skipped</button>
  <button type="button" data-filter="failed">failed</button>
  <input type="search" id="q" placeholder="file name…" aria-label="filter by file name">
  <select id="sort" aria-label="order">
    <option value="added">as processed</option><option value="name">by name</option>
    <option value="slowest">slowest first</option><option value="failed">failures first</option>
  </select>
  <button type="button" id="all-before" title="show every photo before (key b)">before</button>
  <button type="button" id="all-after" title="show every photo after (key a)">after</button>
  <div class="pages" id="pages"></div>
</div>
<noscript><p style="padding:0 20px">This report draws its photo cards with JavaScript; please enable it.</p></noscript>
<section id="groups" hidden></section>
<main class="grid" id="grid"></main>
<footer>Generated by exposure-batch on @GENERATED@. Thumbnails are sRGB; histograms show luminance
(0.27 R + 0.67 G + 0.06 B) on the sRGB-encoded axis; curves show what the recipe does to a grey ramp.</footer>
<script id="data" type="application/json">@DATA@</script>
<script>
"use strict";
const PHOTOS = JSON.parse(document.getElementById("data").textContent);
const PAGE_SIZE = @PAGE_SIZE@;
const state = {filter: "all", q: "", page: 0, sort: "added"};
const ORDER = {
  added: null,
  name: (a, b) => a.name.localeCompare(b.name, undefined, {numeric: true}),
  slowest: (a, b) => b.seconds - a.seconds,
  failed: (a, b) => (b.status === "failed") - (a.status === "failed"),
};
const grid = document.getElementById("grid"), pagesEl = document.getElementById("pages");

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k) e.append(k);
  return e;
}

function setSplit(card, v) {
  // v = 100: all "after"; v = 0: all "before". The after image is clipped from the right.
  v = Math.max(0, Math.min(100, Number(v)));
  const after = card.querySelector("img.after"), range = card.querySelector("input[type=range]");
  if (!after) return;
  after.style.clipPath = "inset(0 " + (100 - v) + "% 0 0)";
  range.value = v;
  card.dataset.showing = v >= 50 ? "after" : "before";
  card.querySelector("button.toggle").textContent = v >= 50 ? "show before" : "show after";
  card.querySelector(".lbl.a").hidden = v === 0;
  card.querySelector(".lbl.b").hidden = v === 100;
}

function compare(p) {
  const [w, h] = p.thumb_size;
  const box = el("div", {class: "cmp"},
    el("img", {class: "before", src: p.thumbs.before, alt: "before: " + p.name, loading: "lazy", width: w, height: h}),
    el("img", {class: "after", src: p.thumbs.after, alt: "after: " + p.name, loading: "lazy", width: w, height: h}),
    el("span", {class: "lbl a", text: "after"}), el("span", {class: "lbl b", text: "before"}));
  const range = el("input", {type: "range", min: 0, max: 100, value: 100, "aria-label": "before/after split"});
  const toggle = el("button", {type: "button", class: "toggle", text: "show before"});
  return [box, el("div", {class: "ctl"}, toggle, range)];
}

function stepsBlock(p) {
  if (!p.steps) return null;
  if (!p.steps.length) return el("p", {class: "note", text: "no edit (empty recipe)"});
  const ol = el("ol", {class: "steps"});
  for (const s of p.steps) ol.append(el("li", {text: s.text}));
  const table = el("table");
  for (const s of p.steps) {
    const params = Object.entries(s.params).map(([k, v]) => k + " = " + (Array.isArray(v) ? "[" + v.join(", ") + "]" : v));
    table.append(el("tr", {}, el("td", {text: s.filter}), el("td", {text: params.join("; ")})));
  }
  return [ol, el("details", {}, el("summary", {text: "parameters · model " + (p.model || "?")}), table)];
}

function card(p) {
  const c = el("article", {class: "card " + p.status, id: "p-" + p.id});
  c.append(el("h2", {}, el("span", {class: "st " + p.status, text: p.status}), el("span", {text: p.name}),
                      el("span", {class: "t", text: p.seconds.toFixed(2) + " s"})));
  if (p.group) c.append(groupLine(p.group));
  if (p.thumbs) c.append(...compare(p));
  if (p.reason) c.append(el("p", {class: "reason", text: p.reason}));
  if (p.note) c.append(el("p", {class: "note", text: p.note}));
  if (p.capture_note) c.append(el("p", {class: "note", text: p.capture_note}));
  const st = stepsBlock(p);
  if (st) c.append(...(Array.isArray(st) ? st : [st]));
  if (p.thumbs) c.append(el("img", {class: "plots", src: p.thumbs.plots, alt: "histogram and curve", loading: "lazy",
                                    width: 300, height: 90}));
  if (p.outputs.length) {
    const out = el("div", {class: "out"});
    for (const o of p.outputs) out.append(el("a", {href: o.href, text: o.name}));
    c.append(out);
  }
  if (p.thumbs) setSplit(c, globalSplit);
  return c;
}

let globalSplit = 100;

function groupLine(g) {
  if (g.split_from) return el("p", {class: "grp split", text: "split off from scene " + g.split_from + ": " + (g.reason || "")});
  const txt = "scene " + g.id + (g.frames > 1 ? " · frame " + g.index + " of " + g.frames + " · harmonised" : " · alone");
  return el("p", {class: "grp", text: txt});
}

function drawGroups() {
  // One strip per harmonised scene (its frames after the edit, in order) and per frame split off from a scene.
  const box = document.getElementById("groups"), scenes = new Map();
  for (const p of PHOTOS) {
    if (!p.group || (p.group.frames < 2 && !p.group.split_from)) continue;
    if (!scenes.has(p.group.id)) scenes.set(p.group.id, []);
    scenes.get(p.group.id).push(p);
  }
  if (!scenes.size) { box.hidden = true; return; }
  box.hidden = false;
  box.replaceChildren(el("h3", {text: "Scenes (" + scenes.size + " strips)"}));
  for (const [id, members] of scenes) {
    members.sort((a, b) => (a.group.index || 0) - (b.group.index || 0));
    const g = members[0].group, split = !!g.split_from;
    const head = el("div", {class: "gh"}, el("b", {text: "scene " + id}),
      el("span", {text: split ? "split off from scene " + g.split_from : members.length + " frames"}),
      g.consistency != null ? el("span", {class: "dim", text: "frame-to-frame ΔE2000 " + g.consistency}) : null,
      split ? el("span", {class: "why", text: g.reason || ""}) : null);
    const frames = el("div", {class: "frames"});
    for (const p of members) {
      const fig = el("figure", {});
      if (p.thumbs) fig.append(el("img", {src: p.thumbs.after, alt: p.name, loading: "lazy"}));
      fig.append(el("figcaption", {text: p.name}));
      frames.append(fig);
    }
    box.append(el("div", {class: "gstrip" + (split ? " split" : "")}, head, frames));
  }
}

function visible() {
  const q = state.q.toLowerCase();
  const list = PHOTOS.filter(p => (state.filter === "all" || p.status === state.filter) && (!q || p.name.toLowerCase().includes(q)));
  return ORDER[state.sort] ? list.sort(ORDER[state.sort]) : list;
}

function draw() {
  const list = visible(), pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const frag = document.createDocumentFragment();
  for (const p of list.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE)) frag.append(card(p));
  grid.replaceChildren(frag);
  pagesEl.replaceChildren();
  if (pages > 1) {
    const go = n => () => { state.page = n; draw(); window.scrollTo(0, 0); };
    const prev = el("button", {type: "button", text: "‹ prev"}); prev.onclick = go(Math.max(0, state.page - 1));
    const next = el("button", {type: "button", text: "next ›"}); next.onclick = go(Math.min(pages - 1, state.page + 1));
    pagesEl.append(prev, el("span", {id: "pageinfo", text: "page " + (state.page + 1) + " / " + pages}), next);
  } else {
    pagesEl.append(el("span", {text: list.length + " photo" + (list.length === 1 ? "" : "s")}));
  }
  location.replace("#" + new URLSearchParams({f: state.filter, p: state.page + 1, q: state.q, s: state.sort}));
}

grid.addEventListener("input", e => {
  if (e.target.type === "range") setSplit(e.target.closest(".card"), e.target.value);
});
grid.addEventListener("click", e => {
  if (!e.target.classList.contains("toggle")) return;
  const c = e.target.closest(".card");
  setSplit(c, c.dataset.showing === "after" ? 0 : 100);
});
function setAll(v) {
  globalSplit = v;
  for (const c of grid.querySelectorAll(".card")) if (c.querySelector("img.after")) setSplit(c, v);
  document.getElementById("all-before").classList.toggle("on", v === 0);
  document.getElementById("all-after").classList.toggle("on", v === 100);
}
document.getElementById("all-before").onclick = () => setAll(0);
document.getElementById("all-after").onclick = () => setAll(100);
document.addEventListener("keydown", e => {
  if (e.target.tagName === "INPUT") return;
  if (e.key === "b") setAll(0); else if (e.key === "a") setAll(100);
  else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
    state.page += e.key === "ArrowRight" ? 1 : -1; state.page = Math.max(0, state.page); draw();
  }
});
for (const b of document.querySelectorAll("[data-filter]")) {
  b.onclick = () => {
    state.filter = b.dataset.filter; state.page = 0;
    for (const o of document.querySelectorAll("[data-filter]")) o.classList.toggle("on", o === b);
    draw();
  };
}
document.getElementById("q").addEventListener("input", e => { state.q = e.target.value; state.page = 0; draw(); });
document.getElementById("sort").addEventListener("change", e => { state.sort = e.target.value; state.page = 0; draw(); });
(function restore() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (["all", "done", "skipped", "failed"].includes(h.get("f"))) state.filter = h.get("f");
  state.page = Math.max(0, (parseInt(h.get("p"), 10) || 1) - 1);
  state.q = h.get("q") || "";
  if (h.get("s") in ORDER) state.sort = h.get("s");
  document.getElementById("sort").value = state.sort;
  document.getElementById("q").value = state.q;
  for (const o of document.querySelectorAll("[data-filter]")) o.classList.toggle("on", o.dataset.filter === state.filter);
})();
setAll(100);
drawGroups();
draw();
</script>
</body>
</html>
"""
