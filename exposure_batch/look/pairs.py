"""Before/after pairs for learning a look: pairing, decoding, alignment and sanity checks, scenes and the split.

Inputs (before) are any format the pipeline decodes (RAW, JPEG, PNG, TIFF; 8/16-bit, float; RAWs at half size);
targets (after) are an editor's exports (JPEG/TIFF/PNG), decoded with their ICC profile like any input (at half
size when their short side is at least 8x the thumbnail side). Both become linear ProPhoto
thumbnails on the same grid (the before's aspect ratio, long side `thumb_side`), area-averaged.

Exports: PairSpec, PairData, find_pairs, load_pair, same_picture_score, assign_scenes, split_by_scene,
MIN_PAIRS, ASPECT_TOLERANCE, SAME_PICTURE_MIN.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import color
from ..errors import ProfileError
from .groups import read_csv_rows

#: Fewest pairs `learn` accepts.
MIN_PAIRS = 10
#: Largest relative aspect-ratio difference between before and after that still aligns (export rounding).
ASPECT_TOLERANCE = 0.02
#: Smallest rank correlation of the two luminance maps for "the same picture" (a global look keeps the order of
#: brightness almost everywhere; another photo or a crop that does not register scores far lower).
SAME_PICTURE_MIN = 0.6
#: Grid (long side) on which the same-picture check compares the two images.
CHECK_SIDE = 32


@dataclass(frozen=True)
class PairSpec:
    before: str
    after: str
    scene: str | None = None

    @property
    def name(self) -> str:
        return os.path.basename(self.before)


@dataclass
class PairData:
    """A loaded pair. agent_in: what the agent looks at (pipeline.agent_input of the full decode); before_lin /
    after_lin: (h, w, 3) float32 linear ProPhoto thumbnails on the same grid."""

    spec: PairSpec
    agent_in: np.ndarray | None
    before_lin: np.ndarray
    after_lin: np.ndarray
    similarity: float
    capture_time: float | None = None  # EXIF capture time of the before (epoch seconds), when it has one

    @property
    def scene(self) -> str:
        return self.spec.scene or self.spec.name


def _images(folder: str) -> list[tuple[str, str]]:
    from ..pipeline.inputs import find_inputs  # noqa: PLC0415

    if not os.path.isdir(folder):
        raise ProfileError(f"{folder}: not a folder")
    return find_inputs([folder], recursive=True)


def find_pairs(before_dir: str, after_dir: str, csv_path: str | None = None) -> tuple[list[PairSpec], list[str]]:
    """Pairs by relative path stem (sub-folders kept: the folder is the pair's scene), or from a CSV with columns
    before,after[,scene] (names relative to the two folders, a header row allowed). Returns (pairs, notes)."""
    befores = _images(before_dir)
    afters = _images(after_dir)
    notes: list[str] = []
    if csv_path:
        return _pairs_from_csv(csv_path, before_dir, after_dir), notes
    by_stem: dict[str, str] = {}
    for path, rel in afters:
        stem = str(Path(rel).with_suffix(""))
        if stem in by_stem:
            notes.append(f"{rel}: a second target for {stem}; using {os.path.basename(by_stem[stem])}")
            continue
        by_stem[stem] = path
    pairs, missing = [], 0
    for path, rel in befores:
        stem = str(Path(rel).with_suffix(""))
        if stem not in by_stem:
            missing += 1
            continue
        parent = str(Path(rel).parent)
        pairs.append(PairSpec(path, by_stem[stem], None if parent == "." else parent))
    if missing:
        notes.append(f"{missing} photo(s) in {before_dir} have no target with the same name: left out")
    return pairs, notes


def _pairs_from_csv(csv_path: str, before_dir: str, after_dir: str) -> list[PairSpec]:
    pairs = []
    for i, row in enumerate(read_csv_rows(csv_path, ("before", "after")), 1):
        if len(row) < 2:
            raise ProfileError(f"{csv_path}: row {i} needs before,after[,scene]")
        before = os.path.join(before_dir, row[0].strip())
        after = os.path.join(after_dir, row[1].strip())
        for p in (before, after):
            if not os.path.isfile(p):
                raise ProfileError(f"{csv_path}: row {i}: {p} does not exist")
        scene = row[2].strip() if len(row) > 2 and row[2].strip() else None
        pairs.append(PairSpec(before, after, scene))
    return pairs


def _grid(h: int, w: int, side: int) -> tuple[int, int]:
    scale = side / max(h, w)
    return max(1, round(w * scale)), max(1, round(h * scale))


def same_picture_score(a_lin: np.ndarray, b_lin: np.ndarray) -> float:
    """Spearman rank correlation of the luminance of two linear images on the same grid (shrunk to CHECK_SIDE):
    insensitive to any monotone tone change, low for different pictures or crops that do not register."""
    from scipy.stats import spearmanr  # noqa: PLC0415

    from ..render.preview import _resize_area  # noqa: PLC0415

    h, w = a_lin.shape[:2]
    gw, gh = _grid(h, w, CHECK_SIDE)
    la = _resize_area(np.ascontiguousarray(a_lin, np.float32), gw, gh) @ color.LUMA_WEIGHTS
    lb = _resize_area(np.ascontiguousarray(b_lin, np.float32), gw, gh) @ color.LUMA_WEIGHTS
    if np.ptp(la) < 1e-6 or np.ptp(lb) < 1e-6:
        return 1.0 if np.ptp(la) < 1e-6 and np.ptp(lb) < 1e-6 else 0.0
    return float(spearmanr(la.ravel(), lb.ravel()).statistic)


def _large(path: str, side: int) -> bool:
    """True when the image's short side (from its header; False when unknown) is at least `side` pixels: then a
    half-size decode still gives a thumbnail from many pixels, for about half the decoding time."""
    from PIL import Image  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            return min(im.size) >= side
    except Exception:  # noqa: BLE001  (not a Pillow format: decode in full)
        return False


def load_pair(spec: PairSpec, source, thumb_side: int) -> PairData:
    """Decode both files, make the agent input (as `process` does) and the two thumbnails on one grid.

    Raises InputError for unreadable files and ProfileError for sizes that cannot be aligned or a target that is
    not the same picture."""
    from ..io import decode, formats  # noqa: PLC0415
    from ..pipeline.stages import agent_input  # noqa: PLC0415
    from ..render.preview import _resize_area, thumbnail  # noqa: PLC0415

    half = formats.is_raw(spec.before)
    before = decode(spec.before, half_size=half)
    after = decode(spec.after, half_size=_large(spec.after, 8 * thumb_side))
    hb, wb = before.pixels.shape[:2]
    ha, wa = after.pixels.shape[:2]
    ra, rb = wa / ha, wb / hb
    if abs(ra - rb) / rb > ASPECT_TOLERANCE:
        raise ProfileError(f"{spec.name}: sizes cannot be aligned: before {before.info.width}x{before.info.height}, "
                           f"after {after.info.width}x{after.info.height} ({os.path.basename(spec.after)}): "
                           "a crop or a rotation is not a global look")
    agent_in = agent_input(source, before.pixels)
    before_lin = thumbnail(before.pixels, thumb_side)
    th, tw = before_lin.shape[:2]
    after_lin = _resize_area(after.rgb_lin, tw, th)
    score = same_picture_score(before_lin, after_lin)
    from ..io.metadata import parse_capture_time  # noqa: PLC0415

    when = parse_capture_time((before.info.exif or {}).get("capture_time"))
    data = PairData(spec, agent_in, before_lin, after_lin, score, when)
    if score < SAME_PICTURE_MIN:
        raise ProfileError(f"{spec.name}: {os.path.basename(spec.after)} is not the same picture (rank correlation "
                           f"of brightness {score:.2f} < {SAME_PICTURE_MIN}): a different photo or a crop")
    return data


def assign_scenes(pairs: list[PairData], scenes_csv: dict[str, str] | None = None,
                  before_dir: str | None = None) -> list[PairData]:
    """Every pair's scene = its picture group (look.groups: content, capture time and the given scenes, strictly),
    named after its first pair's given scene or "group-K"; with `scenes_csv` (learn --scenes) the CSV's scene
    alone (pairs it does not list form their own group each)."""
    from .groups import group_pairs, scene_from_csv  # noqa: PLC0415

    if scenes_csv is not None:
        named = [scene_from_csv(scenes_csv, p.spec.before, before_dir or "") for p in pairs]
        return [replace(p, spec=replace(p.spec, scene=n or f"unlisted-{p.spec.name}")) for p, n in zip(pairs, named)]
    labels = group_pairs([p.before_lin for p in pairs], [p.capture_time for p in pairs], [p.spec.scene for p in pairs])
    names: dict[int, str] = {}
    for p, g in zip(pairs, labels):
        names.setdefault(g, p.spec.scene or f"group-{g:04d}")
    return [replace(p, spec=replace(p.spec, scene=names[g])) for p, g in zip(pairs, labels)]


def split_by_scene(pairs: list[PairData], val_share: float = 0.2, seed: int = 0
                   ) -> tuple[list[PairData], list[PairData], list[str]]:
    """Hold out whole scenes (about val_share of the pairs, at least one scene; seeded). Returns (train, val,
    notes). With a single scene the pairs themselves are split, with a note."""
    scenes = sorted({p.scene for p in pairs})
    rng = np.random.default_rng(seed)
    notes = []
    if len(scenes) < 2:
        idx = rng.permutation(len(pairs))
        n_val = max(2, int(round(val_share * len(pairs))))
        val_idx = set(idx[:n_val].tolist())
        notes.append("all pairs come from one scene: validation pairs are held out one by one, not by scene")
        return ([p for i, p in enumerate(pairs) if i not in val_idx], [p for i, p in enumerate(pairs) if i in val_idx],
                notes)
    order = [scenes[i] for i in rng.permutation(len(scenes))]
    want = max(2, int(round(val_share * len(pairs))))
    val_scenes: set[str] = set()
    count = 0
    for s in order:
        if count >= want or len(val_scenes) >= len(scenes) - 1:
            break
        val_scenes.add(s)
        count += sum(p.scene == s for p in pairs)
    return [p for p in pairs if p.scene not in val_scenes], [p for p in pairs if p.scene in val_scenes], notes
