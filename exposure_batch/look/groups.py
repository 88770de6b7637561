"""Which pairs show the same picture: groups that never straddle the held-out split.

A held-out figure is only honest when no held-out pair shows a picture that training saw: another crop of the same
photo, or a burst frame taken a second later. Pairs are linked (single linkage: a chain of overlapping crops is one
group) when
- their befores show the same content: a template from the middle of one (shrunk by each relative zoom in SCALES),
  found anywhere in the other by normalised cross-correlation of log luminance >= CONTENT_MIN (invariant to an
  exposure shift, a tone power and most of a colour cast), in either direction; crops of one photo at other zooms
  and positions match, and so do burst frames;
- their capture times (EXIF) lie within BURST_SECONDS of each other, or within SERIES_SECONDS with content that
  matches at the looser SERIES_CONTENT_MIN (a series shot on one set-up);
- they share a scene the user gave (a sub-folder, the pairs CSV's scene column).
`learn --scenes CSV` (rows `before,scene`) replaces all of this.

Exports: SCALES, CONTENT_MIN, BURST_SECONDS, content_signature, content_match, group_pairs, read_scenes_csv,
bootstrap_interval.
"""
from __future__ import annotations

import csv
import os

import numpy as np

from .. import color
from ..errors import ProfileError

#: Long side of the log-luminance signature the content match compares (pixels).
SIGNATURE_SIDE = 32
#: Relative zooms tried (the template's picture shrunk by this factor before it is searched for in the other).
SCALES = (1.0, 0.87, 0.76, 0.66, 0.57, 0.5)
#: Side of the patches matched (signature pixels), the grid they are taken on, the smallest normalised
#: cross-correlation that counts as a patch found, and the fewest textured patches that can make a match.
PATCH, PATCH_STRIDE, PATCH_MIN, MIN_PATCHES = 6, 4, 0.85, 4
#: Smallest share of one picture's patches found in the other at one common offset that links two pairs.
CONTENT_MIN = 0.3
#: Capture times this close (seconds) link two pairs whatever they show (a burst).
BURST_SECONDS = 2.0
#: Capture times this close link two pairs whose content matches at SERIES_CONTENT_MIN (one set-up, a series).
SERIES_SECONDS = 120.0
SERIES_CONTENT_MIN = 0.15
#: Patches flatter than this (standard deviation, in units of their picture's) carry no evidence of content.
MIN_TEXTURE = 0.25


def content_signature(lin: np.ndarray) -> np.ndarray:
    """(h, w, 3) linear image -> (h', w') float64 log2 luminance, long side SIGNATURE_SIDE (area-averaged), in units
    of its own standard deviation (a tone power or a flat capture changes the contrast, not the content)."""
    from ..render.preview import _resize_area  # noqa: PLC0415

    h, w = lin.shape[:2]
    scale = SIGNATURE_SIDE / max(h, w)
    small = _resize_area(np.ascontiguousarray(lin, np.float32), max(4, round(w * scale)), max(4, round(h * scale)))
    sig = np.log2(np.maximum(small @ color.LUMA_WEIGHTS, 1e-4)).astype(np.float64)
    return (sig - sig.mean()) / max(float(sig.std()), 1e-3)


def _windows(sig: np.ndarray, size: int = None) -> tuple[np.ndarray, np.ndarray]:
    """All size x size windows of sig, each zero-mean and unit-norm: ((n, size^2) float64, (n, 2) top-left
    positions); flat windows (standard deviation < MIN_TEXTURE) get a zero row."""
    from numpy.lib.stride_tricks import sliding_window_view  # noqa: PLC0415

    size = size or PATCH
    win = sliding_window_view(sig, (size, size))
    nh, nw = win.shape[:2]
    flat = win.reshape(nh * nw, size * size)
    flat = flat - flat.mean(axis=1, keepdims=True)
    std = flat.std(axis=1)
    norm = np.linalg.norm(flat, axis=1)
    rows = np.where((std >= MIN_TEXTURE)[:, None], flat / np.maximum(norm, 1e-12)[:, None], 0.0)
    pos = np.stack(np.meshgrid(np.arange(nh), np.arange(nw), indexing="ij"), axis=-1).reshape(-1, 2)
    return rows, pos


def _patches(sig: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Textured PATCH x PATCH patches of sig shrunk by `scale`, on a PATCH_STRIDE grid: (k, PATCH^2) rows and
    (k, 2) positions."""
    from ..render.preview import _resize_area  # noqa: PLC0415

    h, w = sig.shape
    sh, sw = max(PATCH, round(h * scale)), max(PATCH, round(w * scale))
    small = sig if scale == 1.0 else \
        _resize_area(np.repeat(sig[..., None], 3, axis=2).astype(np.float32), sw, sh)[..., 0].astype(np.float64)
    rows, pos = _windows(small)
    keep = (np.abs(rows).sum(axis=1) > 0) & (pos[:, 0] % PATCH_STRIDE == 0) & (pos[:, 1] % PATCH_STRIDE == 0)
    return rows[keep], pos[keep]


class _Index:
    """Every picture's windows (padded to one count per picture), for matching patches against all at once."""

    def __init__(self, sigs: list[np.ndarray]):
        parts = [_windows(s) for s in sigs]
        width = max(len(p[0]) for p in parts)
        self.n = len(sigs)
        self.rows = np.zeros((self.n, width, PATCH * PATCH), np.float32)
        self.pos = np.full((self.n, width, 2), -1000)
        for j, (rows, pos) in enumerate(parts):
            self.rows[j, : len(rows)], self.pos[j, : len(pos)] = rows, pos
        self.flat = self.rows.reshape(-1, PATCH * PATCH)

    def votes(self, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """(n,) share of the patches that land, each at its best match inside picture j (NCC >= PATCH_MIN), at
        one common offset (+-1 pixel): geometric agreement that random textures do not give; 0 when fewer than
        MIN_PATCHES agree."""
        k = len(rows)
        if k < MIN_PATCHES:
            return np.zeros(self.n)
        scores = (rows.astype(np.float32) @ self.flat.T).reshape(k, self.n, -1)
        best = np.argmax(scores, axis=2)  # (k, n)
        good = np.take_along_axis(scores, best[..., None], axis=2)[..., 0] >= PATCH_MIN
        off = self.pos[np.arange(self.n)[None, :], best] - pos[:, None, :]  # (k, n, 2)
        near = np.abs(off[:, None] - off[None, :]).max(axis=3) <= 1  # (k, k, n)
        agree = (near & good[:, None, :] & good[None, :, :]).sum(axis=1).max(axis=0)  # (n,)
        return np.where(agree >= MIN_PATCHES, agree / k, 0.0)


def content_links(sigs: list[np.ndarray]) -> np.ndarray:
    """(n, n) content-match score of every two pictures (symmetric, the better of both directions and all
    SCALES): the share of one picture's textured patches found in the other at one common offset."""
    index = _Index(sigs)
    score = np.zeros((len(sigs), len(sigs)))
    for i, sig in enumerate(sigs):
        for s in SCALES:
            score[i] = np.maximum(score[i], index.votes(*_patches(sig, s)))
    np.fill_diagonal(score, 0.0)
    return np.maximum(score, score.T)


def content_match(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """content_links for two pictures."""
    return float(content_links([sig_a, sig_b])[0, 1])


def _union_find(n: int):
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i, j):
        parent[root(i)] = root(j)

    return root, join


def group_pairs(befores_lin: list[np.ndarray], times: list[float | None], given: list[str | None]) -> list[int]:
    """One group index per pair (0..k-1, in order of first appearance) from content, capture time and given scenes
    (see the module docstring)."""
    n = len(befores_lin)
    root, join = _union_find(n)
    sigs = [content_signature(b) for b in befores_lin]
    links = content_links(sigs) if n > 1 else np.zeros((n, n))
    by_scene: dict[str, int] = {}
    for i, scene in enumerate(given):
        if scene is not None:
            if scene in by_scene:
                join(i, by_scene[scene])
            by_scene.setdefault(scene, i)
    for i in range(n):
        for j in range(i + 1, n):
            if root(i) == root(j):
                continue
            dt = abs(times[i] - times[j]) if times[i] is not None and times[j] is not None else None
            if dt is not None and dt <= BURST_SECONDS:
                join(i, j)
                continue
            need = SERIES_CONTENT_MIN if dt is not None and dt <= SERIES_SECONDS else CONTENT_MIN
            if links[i, j] >= need:
                join(i, j)
    labels: dict[int, int] = {}
    return [labels.setdefault(root(i), len(labels)) for i in range(n)]


def read_csv_rows(path: str, header: tuple[str, ...]) -> list[list[str]]:
    """The non-blank rows of a user's CSV (UTF-8), without a first row naming the columns `header` (any case).
    ProfileError names the file when it cannot be read."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except OSError as err:
        raise ProfileError(f"{path}: cannot read ({err.strerror})") from None
    if rows and [c.strip().lower() for c in rows[0][:len(header)]] == list(header):
        rows = rows[1:]
    return rows


def read_scenes_csv(path: str) -> dict[str, str]:
    """`--scenes CSV`: rows before,scene (before = a file name, or a path relative to the before folder; a header
    row `before,scene` allowed) -> {before: scene}. ProfileError names the file and row."""
    out = {}
    for i, row in enumerate(read_csv_rows(path, ("before", "scene")), 1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ProfileError(f"{path}: row {i} needs before,scene")
        out[os.path.normpath(row[0].strip())] = row[1].strip()
    return out


def scene_from_csv(scenes: dict[str, str], before_path: str, before_dir: str) -> str | None:
    """The CSV's scene for one before file (matched by path relative to the before folder, then by file name)."""
    rel = os.path.normpath(os.path.relpath(before_path, before_dir))
    return scenes.get(rel, scenes.get(os.path.basename(before_path)))


def bootstrap_interval(values: np.ndarray, groups: list, n: int = 2000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (one per pair), resampling whole groups (pairs of one
    picture move together) with replacement; seeded."""
    values = np.asarray(values, np.float64)
    keys = sorted(set(groups))
    members = [np.flatnonzero(np.array([g == k for g in groups])) for k in keys]
    sums = np.array([values[m].sum() for m in members])
    counts = np.array([len(m) for m in members], np.float64)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(keys), size=(n, len(keys)))
    means = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    lo, hi = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)
