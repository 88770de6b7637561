"""Grouping a shoot into scenes: capture time, visual similarity, folders, or a user's groups file.

* time: frames sorted by capture time (camera clock, sub-seconds included); a gap of more than `gap` seconds starts
  a new group. Frames without a capture time are each a group of their own.
* similarity: a signature of each frame that ignores what harmonising will undo (exposure and white balance drift)
  and tolerates a few percent of framing shift: a 16x16 grid of the whole frame's log luminance and log chroma
  (R/G, B/G), with the frame's median / mean removed, blurred by one cell, compared at the best one-cell shift, plus
  the frame's overall colour beyond what white balance drift moves. Frames are joined by average-linkage
  clustering (UPGMA) while the mean signature distance stays under `threshold` (log2 units).
* time+similarity (the default): time groups, each split by similarity; frames without a capture time are grouped
  by similarity among themselves. Two cameras shooting the same moments end up in one time group and are
  separated by what they show.
* folder: one group per folder.
* a groups file (`--groups FILE`) overrides all: JSON {"group name": ["file", ...], ...} or CSV/text lines
  `file,group`; file names match by path or by base name; files it does not name are grouped as `by` says.

Scale: grouping reads only small records (`Signed`: path, capture time, folder, a 5 kB signature), blocks by
folder and capture-time runs first, and compares signatures only inside a block, in windows of SIMILARITY_WINDOW
frames (never all pairs): its time and memory grow linearly with the number of photos.

Exports: GroupingOptions, Grouping, Signed, signed, group_records, group_surveys, signature, signature_distance,
signature_distances, read_groups_file, GROUP_BY, SIMILARITY_WINDOW.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..color import LUMA_WEIGHTS

GROUP_BY = ("time+similarity", "time", "similarity", "folder", "none")
#: Default largest gap (seconds) between consecutive frames of one scene.
DEFAULT_GAP_S = 30.0
#: Default largest mean signature distance inside a group (log2 units). Measured on bursts from 20 training photos
#: (same scene, +/-0.7 EV, +/-8% R/B, 92% crops shifted by up to 8%): median 0.09, 99th percentile 0.24, max 0.27;
#: between different photos: min 0.38, 1st percentile 0.57, median 1.2 (24 training photos, other seeds: same-scene
#: pairs up to 0.45 in detailed pictures, different photos down to 0.18 for two plain textures).
DEFAULT_THRESHOLD = 0.3
_GRID = 16


@dataclass(frozen=True)
class GroupingOptions:
    by: str = "time+similarity"
    gap: float = DEFAULT_GAP_S
    threshold: float = DEFAULT_THRESHOLD
    groups_file: str | None = None

    def __post_init__(self):
        if self.by not in GROUP_BY:
            raise ValueError(f"group-by {self.by!r}: choose one of {', '.join(GROUP_BY)}")

    @property
    def enabled(self) -> bool:
        return self.by != "none" or bool(self.groups_file)


@dataclass
class Grouping:
    """groups: lists of indices into the surveyed files, in capture (or input) order; names: one per group."""

    groups: list[list[int]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def group_of(self) -> dict[int, int]:
        return {i: g for g, members in enumerate(self.groups) for i in members}


# ---------------------------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------------------------
def signature(image_lin: np.ndarray) -> np.ndarray:
    """(5, 16, 16) float32 signature of a linear ProPhoto image: planes 0-2 are log2 luminance minus its median and
    log2 R/G, B/G chroma minus their means (exposure and white balance gains drop out), blurred by one cell;
    planes 3-4 hold the means of log2 R/G and B/G (the frame's overall colour, which white balance drift moves only a
    little: it tells a brown wood texture from grey blinds)."""
    from ..render.preview import _resize_area  # noqa: PLC0415

    small = _resize_area(np.ascontiguousarray(image_lin, np.float32), _GRID, _GRID).astype(np.float64)
    small = np.maximum(small, 1e-4)
    lum = np.log2(small @ LUMA_WEIGHTS.astype(np.float64))
    lum = np.clip(lum - np.median(lum), -5.0, 3.0)
    log_rgb = np.log2(small)
    chroma = [log_rgb[..., 0] - log_rgb[..., 1], log_rgb[..., 2] - log_rgb[..., 1]]
    # chroma centred on its mean, not its median: in a half-sky, half-sand frame the median jumps between the two
    # with a few percent of framing
    chroma = [np.clip(c, -4.0, 4.0) for c in chroma]
    planes = [lum] + [np.clip(c - c.mean(), -2.0, 2.0) for c in chroma]
    overall = [np.full(lum.shape, c.mean()) for c in chroma]
    return np.stack([_blur(p) for p in planes] + overall).astype(np.float32)


def _blur(plane: np.ndarray) -> np.ndarray:
    """3x3 box blur with edge replication (framing shifts of a few percent move content by under one cell)."""
    p = np.pad(plane, 1, mode="edge")
    h, w = plane.shape
    return sum(p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0


#: Overall colour difference (log2 R/G or B/G) that white balance drift within a scene stays under (two frames
#: +/-8% apart in red or blue differ by up to 0.23, plus what framing changes).
COLOUR_TOLERANCE = 0.3


def signature_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance of two signatures (log2 units): RMS difference of the pictures at the best of the shifts by up to
    one cell (framing moves; chroma counts half as much as luminance), combined with how far the overall colours
    differ beyond COLOUR_TOLERANCE."""
    weights = np.array([1.0, 0.5, 0.5])[:, None, None]
    n = a.shape[1]
    best = np.inf
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            pa = a[:3, max(dy, 0):n + min(dy, 0), max(dx, 0):n + min(dx, 0)]
            pb = b[:3, max(-dy, 0):n + min(-dy, 0), max(-dx, 0):n + min(-dx, 0)]
            best = min(best, float(np.mean(weights * (pa - pb) ** 2) / weights.mean()))
    colour = max(0.0, float(np.max(np.abs(a[3:, 0, 0] - b[3:, 0, 0]))) - COLOUR_TOLERANCE)
    return float(np.sqrt(best + colour ** 2))


def signature_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) matrix of signature_distance between stacks of signatures a (na, 5, 16, 16) and b, computed
    as matrix products (for every shift: |x|^2 + |y|^2 - 2 x.y), in float64: thousands of pairs per millisecond."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na, nb = len(a), len(b)
    if not na or not nb:
        return np.zeros((na, nb))
    n = a.shape[2]
    weights = np.sqrt(np.array([1.0, 0.5, 0.5]))[None, :, None, None]
    best = np.full((na, nb), np.inf)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            pa = (weights * a[:, :3, max(dy, 0):n + min(dy, 0), max(dx, 0):n + min(dx, 0)]).reshape(na, -1)
            pb = (weights * b[:, :3, max(-dy, 0):n + min(-dy, 0), max(-dx, 0):n + min(-dx, 0)]).reshape(nb, -1)
            sq = (pa * pa).sum(1)[:, None] + (pb * pb).sum(1)[None, :] - 2.0 * (pa @ pb.T)
            best = np.minimum(best, sq / pa.shape[1] / (2.0 / 3.0))
    colour = np.abs(a[:, None, 3:, 0, 0] - b[None, :, 3:, 0, 0]).max(axis=-1)
    colour = np.maximum(0.0, colour - COLOUR_TOLERANCE)
    return np.sqrt(np.maximum(best, 0.0) + colour ** 2)


#: Frames clustered together at most (a similarity pass never compares more than this many frames at once, plus
#: the recent members of the clusters still open from the previous window).
SIMILARITY_WINDOW = 64
#: Members of an open cluster a new window's clusters are compared with (its most recent ones).
_OPEN_MEMBERS = 32


def _cluster(signatures: Sequence[np.ndarray], threshold: float) -> list[list[int]]:
    """Average-linkage clusters with mean distance <= threshold, bounded: frames (in the order given: capture time
    or file name) are clustered in windows of SIMILARITY_WINDOW; each window's cluster then joins the nearest
    cluster still open from the previous two windows when their mean distance (to its last _OPEN_MEMBERS members)
    is <= threshold. Cost and memory grow linearly with the frame count. Each cluster in index order, clusters by
    first member."""
    n = len(signatures)
    if n <= 1:
        return [list(range(n))]
    sigs = np.asarray(signatures, np.float32)
    clusters: list[list[int]] = []
    recent: list[list[int]] = [[], []]  # clusters touched by the previous two windows
    for start in range(0, n, SIMILARITY_WINDOW):
        idx = list(range(start, min(n, start + SIMILARITY_WINDOW)))
        local = average_linkage(signature_distances(sigs[idx], sigs[idx]), threshold)
        touched: list[int] = []
        open_ = list(dict.fromkeys(recent[0] + recent[1]))
        for c in sorted(local, key=lambda c: c[0]):
            members = [idx[k] for k in c]
            best, best_d = None, threshold
            for j in open_:
                d = float(signature_distances(sigs[members], sigs[clusters[j][-_OPEN_MEMBERS:]]).mean())
                if d <= best_d:
                    best, best_d = j, d
            if best is None:
                clusters.append(members)
                best = len(clusters) - 1
            else:
                clusters[best] += members
            touched.append(best)
        recent = [recent[1], touched]
    return sorted((sorted(c) for c in clusters), key=lambda c: c[0])


def average_linkage(dist: np.ndarray, threshold: float) -> list[list[int]]:
    """Agglomerative clustering with average linkage (UPGMA): repeatedly join the two clusters with the smallest
    mean pairwise distance while it is <= threshold (Lance-Williams update of the cluster distance matrix).
    dist: (n, n) symmetric. Returns clusters as sorted index lists. (SciPy's linkage is not a dependency of the
    default install.)"""
    n = len(dist)
    d = np.array(dist, np.float64)
    np.fill_diagonal(d, np.inf)
    members = {i: [i] for i in range(n)}
    alive = np.ones(n, bool)
    while alive.sum() > 1:
        masked = np.where(alive[:, None] & alive[None, :], d, np.inf)
        i, j = np.unravel_index(int(np.argmin(masked)), masked.shape)
        if masked[i, j] > threshold:
            break
        ni, nj = len(members[i]), len(members[j])
        d[i, :] = d[:, i] = (ni * d[i, :] + nj * d[j, :]) / (ni + nj)
        d[i, i] = np.inf
        alive[j] = False
        members[i] += members.pop(j)
    return [sorted(members[i]) for i in np.flatnonzero(alive)]


# ---------------------------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Signed:
    """What grouping needs of one frame (a few kB, whatever the photo's size): path, capture time (epoch seconds,
    camera clock; None without EXIF), folder, camera, and its signature ((5, 16, 16) float32, `signature`)."""

    path: str
    time: float | None
    folder: str
    signature: np.ndarray = field(repr=False)
    camera: str = ""
    decoded: bool = False  # its survey spooled the full decode for the edit (shoot.work)


def signed(survey) -> Signed:
    """The Signed record of a shoot.survey.Survey (its `signature` attribute when it has one, else computed from
    its image)."""
    sig = getattr(survey, "signature", None)
    if sig is None:
        sig = signature(survey.image)
    return Signed(survey.path, survey.time, survey.folder, sig, getattr(survey, "camera", ""))


def group_surveys(surveys: Sequence, options: GroupingOptions = GroupingOptions()) -> Grouping:
    """Group surveyed frames (shoot.survey.Survey: .path, .time, .folder, .image) into scenes (group_records on
    their signatures)."""
    return group_records([signed(s) for s in surveys], options)


def group_records(records: Sequence[Signed], options: GroupingOptions = GroupingOptions()) -> Grouping:
    """Group frames (Signed records) into scenes. Blocked first by folder, then by capture-time runs (a gap of
    more than options.gap seconds ends a run); similarity is compared only inside a run (or, for frames without a
    capture time, inside one folder), in windows of SIMILARITY_WINDOW frames (_cluster): time and memory grow
    linearly with the number of frames."""
    n = len(records)
    fixed: dict[int, str] = {}
    if options.groups_file:
        fixed = _assign_from_file(read_groups_file(options.groups_file), [r.path for r in records])
    rest = [i for i in range(n) if i not in fixed]
    groups: list[list[int]] = []
    names: list[str] = []
    by_name: dict[str, list[int]] = {}
    for i, name in fixed.items():
        by_name.setdefault(name, []).append(i)
    for name, members in by_name.items():
        groups.append(sorted(members))
        names.append(name)
    for members in _group_rest(records, rest, options):
        groups.append(members)
        names.append("")
    order = sorted(range(len(groups)), key=lambda g: _sort_key(records, groups[g]))
    groups = [groups[g] for g in order]
    names = [names[g] or f"g{k + 1:03d}" for k, g in enumerate(order)]
    return Grouping(groups, names)


def _sort_key(records, members):
    first = min(members, key=lambda i: (records[i].time is None, records[i].time or 0.0, i))
    return (records[first].time is None, records[first].time or 0.0, first)


def _by_folder(records, indices: list[int]) -> list[list[int]]:
    folders: dict[str, list[int]] = {}
    for i in indices:
        folders.setdefault(records[i].folder, []).append(i)
    return list(folders.values())


def _group_rest(records, indices: list[int], options: GroupingOptions) -> list[list[int]]:
    if not indices:
        return []
    by = options.by
    if by == "none":
        return [[i] for i in indices]
    out: list[list[int]] = []
    for folder in _by_folder(records, indices):
        if by == "folder":
            out.append(_by_time(records, folder))
            continue
        if by == "similarity":
            out += _by_similarity(records, folder, options.threshold)
            continue
        timed = [i for i in folder if records[i].time is not None]
        untimed = [i for i in folder if records[i].time is None]
        for run in _time_runs(records, timed, options.gap):
            out += [run] if by == "time" else _by_similarity(records, run, options.threshold)
        if by == "time":
            out += [[i] for i in untimed]
        else:
            out += _by_similarity(records, untimed, options.threshold)
    return out


def _by_time(records, members: list[int]) -> list[int]:
    return sorted(members, key=lambda i: (records[i].time is None, records[i].time or 0.0, i))


def _time_runs(records, indices: list[int], gap: float) -> list[list[int]]:
    """Consecutive frames (by capture time) closer than `gap` seconds."""
    runs: list[list[int]] = []
    last = None
    for i in _by_time(records, indices):
        t = records[i].time
        if last is None or t - last > gap:
            runs.append([])
        runs[-1].append(i)
        last = t
    return runs


def _by_similarity(records, indices: list[int], threshold: float) -> list[list[int]]:
    """Similarity clusters of `indices` (in the order given), bounded windows (_cluster)."""
    if len(indices) <= 1:
        return [list(indices)] if indices else []
    sigs = [records[i].signature for i in indices]
    return [[indices[k] for k in cluster] for cluster in _cluster(sigs, threshold)]


# ---------------------------------------------------------------------------------------------------------------
# Groups file
# ---------------------------------------------------------------------------------------------------------------
def read_groups_file(path: str) -> dict[str, str]:
    """{file (as written in the file): group name} from JSON {"group": [files]} / {"file": "group"} or CSV lines
    `file,group` (a header line `file,group` is skipped; '#' comments allowed). Raises ValueError naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise ValueError(f"{path}: cannot read groups file ({err.strerror})") from None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
        out: dict[str, str] = {}
        for key, value in data.items():
            if isinstance(value, list):
                out.update({str(f): str(key) for f in value})
            elif isinstance(value, str):
                out[str(key)] = value
            else:
                raise ValueError(f"{path}: group {key!r} must list files")
        return out
    out = {}
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for row in csv.reader(lines):
        if len(row) < 2 or not row[0].strip():
            raise ValueError(f"{path}: line {row!r} is not 'file,group'")
        if (row[0].strip().lower(), row[1].strip().lower()) == ("file", "group"):
            continue
        out[row[0].strip()] = row[1].strip()
    return out


def _assign_from_file(mapping: dict[str, str], paths: Sequence[str]) -> dict[int, str]:
    """Index -> group name for the paths the mapping names (by absolute path, relative path or base name)."""
    by_abs = {os.path.abspath(k): v for k, v in mapping.items()}
    by_base = {os.path.basename(k): v for k, v in mapping.items()}
    out = {}
    for i, p in enumerate(paths):
        name = mapping.get(p) or by_abs.get(os.path.abspath(p)) or by_base.get(os.path.basename(p))
        if name:
            out[i] = name
    return out
