"""Training and evaluation data for the learned agent (NumPy only; no TensorFlow here).

* Crop cache: every photo is decoded once (exposure_batch.io.decode -> linear ProPhoto), shrunk to a working
  thumbnail, and cut into random square crops resized to 80x80 (area average), as the reference does (4 random
  short-edge squares -> 80x80; we also vary the crop side to get more distinct crops from few photos). The crops
  are cached in an .npz keyed by the file list and settings, so epochs never re-decode.
* Batches: random 64x64 crops of the 80x80 crops, flipped horizontally with probability 0.5 (pairs get the same
  crop and flip).
* Training degradations (`sample_training_degradation`): a share of inputs left as they are and a share mildly
  degraded (the agent must leave good photos alone), the rest real-capture degradations with sensor-like noise.
* Degradation sampler: turns a well-edited photo (linear) into a realistic *unedited capture* in linear space --
  flattened tone, lower saturation, white-balance shift (temperature + tint), exposure error in [-3, +1.5] EV.

Exports: CROP_SIZE, PATCH_SIZE, list_images, load_crops, pair_by_stem, random_patches, Degradation, sample_degradation,
degrade, as_captured, sample_training_degradation, TrainData.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from dataclasses import dataclass

import numpy as np

from .. import color
from ..render.preview import _resize_area, thumbnail

CROP_SIZE = 80
PATCH_SIZE = 64
WORK_SIDE = 768  # photos are first shrunk to this long side (area average) before cropping
CACHE_VERSION = 1


def list_images(folder: str) -> list[str]:
    """Supported image files directly in `folder` (sorted, symlinks followed)."""
    from ..io import is_supported  # noqa: PLC0415

    names = sorted(os.listdir(folder))
    return [os.path.join(folder, n) for n in names if is_supported(os.path.join(folder, n)) and not n.startswith(".")]


def _crop_boxes(h: int, w: int, n: int, rng: np.random.Generator, min_frac: float) -> list[tuple[float, float, float]]:
    """n square crops as fractions (top, left, side) of the image, side in [min_frac, 1] x short edge."""
    boxes = []
    side0 = min(h, w)
    for i in range(n):
        frac = 1.0 if i == 0 else float(rng.uniform(min_frac, 1.0))
        side = frac * side0
        top = float(rng.uniform(0, h - side)) / h
        left = float(rng.uniform(0, w - side)) / w
        boxes.append((top, left, side / side0))
    return boxes


def _cut(img: np.ndarray, box: tuple[float, float, float], size: int) -> np.ndarray:
    h, w = img.shape[:2]
    side = max(1, int(round(box[2] * min(h, w))))
    top = min(int(round(box[0] * h)), h - side)
    left = min(int(round(box[1] * w)), w - side)
    return _resize_area(np.ascontiguousarray(img[top : top + side, left : left + side]), size, size)


def _decode_small(path: str) -> np.ndarray:
    """Decode to linear ProPhoto and shrink to WORK_SIDE (RAWs at half size: faster, plenty for 80 px crops)."""
    from ..io import decode, formats  # noqa: PLC0415

    half = formats.is_raw(path)
    return thumbnail(decode(path, half_size=half).rgb_lin, WORK_SIDE)


def _cache_key(paths, n_crops, min_frac, seed, extra="") -> str:
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    h.update(f"{n_crops}|{min_frac}|{seed}|{CROP_SIZE}|{WORK_SIDE}|{CACHE_VERSION}|{extra}".encode())
    return h.hexdigest()[:16]


def load_crops(paths: list[str], n_crops: int = 4, min_frac: float = 1.0, seed: int = 0, cache_dir: str | None = None,
               pair_paths: list[str | None] | None = None, log=print) -> dict:
    """Decode `paths` once and cut `n_crops` square crops per photo, 80x80 linear ProPhoto float32.

    With `pair_paths` (same length, None where unpaired) the paired photo is cut with the same boxes.
    Returns {"crops": (N, 80, 80, 3), "pairs": (N, 80, 80, 3) (zeros where unpaired), "has_pair": (N,) bool,
    "source": (N,) int photo index, "names": list}. Unreadable photos are skipped with a one-line message.
    """
    pair_paths = pair_paths or [None] * len(paths)
    key = _cache_key(paths, n_crops, min_frac, seed, json.dumps([p or "" for p in pair_paths]))
    cache = os.path.join(cache_dir, f"crops-{key}.npz") if cache_dir else None
    if cache and os.path.exists(cache):
        with np.load(cache) as z:
            return {k: z[k] for k in z.files} | {"names": list(paths)}
    rng = np.random.default_rng(seed)
    crops, pairs, has_pair, source = [], [], [], []
    for i, (path, pair) in enumerate(zip(paths, pair_paths)):
        try:
            img = _decode_small(path)
            pimg = _decode_small(pair) if pair else None
        except Exception as err:  # noqa: BLE001 - one bad photo must not stop training
            log(f"{path}: skipped ({str(err).splitlines()[0] if str(err) else type(err).__name__})")
            continue
        for box in _crop_boxes(*img.shape[:2], n_crops, rng, min_frac):
            crops.append(_cut(img, box, CROP_SIZE))
            pairs.append(_cut(pimg, box, CROP_SIZE) if pimg is not None else np.zeros((CROP_SIZE, CROP_SIZE, 3), np.float32))
            has_pair.append(pimg is not None)
            source.append(i)
    if not crops:
        raise ValueError("no readable images")
    out = {"crops": np.stack(crops).astype(np.float32), "pairs": np.stack(pairs).astype(np.float32),
           "has_pair": np.array(has_pair), "source": np.array(source, np.int32)}
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = cache + ".tmp.npz"
        np.savez(tmp, **out)
        os.replace(tmp, cache)
    return out | {"names": list(paths)}


def pair_by_stem(inputs: list[str], targets: list[str], csv_path: str | None = None) -> list[str | None]:
    """For each input, the target file with the same stem (or as listed in a CSV `input,target`), else None."""
    if csv_path:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = {os.path.basename(r[0]): r[1] for r in csv.reader(fh) if len(r) >= 2}
        by_name = {os.path.basename(t): t for t in targets}
        return [by_name.get(os.path.basename(rows.get(os.path.basename(p), "")), None) for p in inputs]
    stems = {os.path.splitext(os.path.basename(t))[0]: t for t in targets}
    return [stems.get(os.path.splitext(os.path.basename(p))[0]) for p in inputs]


def random_patches(crops: np.ndarray, idx: np.ndarray, rng: np.random.Generator, others=()) -> list[np.ndarray]:
    """64x64 random crops (+ horizontal flip p=0.5) of crops[idx]; arrays in `others` get the same crop/flip."""
    n = len(idx)
    off = rng.integers(0, CROP_SIZE - PATCH_SIZE + 1, size=(n, 2))
    flip = rng.random(n) < 0.5
    outs = []
    for arr in (crops, *others):
        batch = np.empty((n, PATCH_SIZE, PATCH_SIZE, 3), np.float32)
        for j, (i, (y, x)) in enumerate(zip(idx, off)):
            p = arr[i, y : y + PATCH_SIZE, x : x + PATCH_SIZE]
            batch[j] = p[:, ::-1] if flip[j] else p
        outs.append(batch)
    return outs


@dataclass(frozen=True)
class Degradation:
    """One 'unedited capture' transform, all in linear ProPhoto.

    tone: power on luminance around middle grey (< 1 flattens), saturation: chroma scale (< 1 desaturates),
    temperature / tint: log2 gains (red up & blue down for warm; green for tint), luminance-neutral,
    ev: exposure error in stops.
    """

    tone: float = 1.0
    saturation: float = 1.0
    temperature: float = 0.0
    tint: float = 0.0
    ev: float = 0.0
    noise: float = 0.0  # sensor-like noise: standard deviation (linear) of a mid-grey pixel after the exposure error

    def to_dict(self) -> dict:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def sample_degradation(rng: np.random.Generator) -> Degradation:
    """Random degradation: EV in [-3, +1.5], temperature +-0.5 and tint +-0.25 (log2 gains), tone 0.6..1,
    saturation 0.55..1. Each of the colour/tone parts is skipped with probability 0.2 (some captures are fine)."""
    on = rng.random(4) > 0.2
    return Degradation(**_drawn(rng, on, (0.6, 1.0), (0.55, 1.0), (-0.5, 0.5), (-0.25, 0.25), (-3.0, 1.5)))


def _drawn(rng: np.random.Generator, on, tone, saturation, temperature, tint, ev) -> dict:
    """Degradation fields drawn uniformly from their (low, high) ranges, in this order (the generator's stream
    decides which sample each gets); a part whose `on` flag is false stays the identity; ev is always drawn."""
    return {"tone": float(rng.uniform(*tone)) if on[0] else 1.0,
            "saturation": float(rng.uniform(*saturation)) if on[1] else 1.0,
            "temperature": float(rng.uniform(*temperature)) if on[2] else 0.0,
            "tint": float(rng.uniform(*tint)) if on[3] else 0.0,
            "ev": float(rng.uniform(*ev))}


def degrade(rgb_lin: np.ndarray, d: Degradation, rng: np.random.Generator | None = None) -> np.ndarray:
    """(..., 3) linear ProPhoto well-edited image -> (..., 3) linear 'unedited capture' (float32, not clipped).
    Noise (d.noise > 0) needs `rng`: per channel, variance proportional to the signal (shot noise) plus a floor
    (read noise), as a sensor's, at the degraded exposure."""
    x = np.maximum(np.asarray(rgb_lin, dtype=np.float32), 0.0)
    lum = np.maximum(color.luminance(x), 1e-6)[..., None]
    x = x * ((color.MIDDLE_GREY * (lum / color.MIDDLE_GREY) ** d.tone) / lum)  # flatten tone, keep hue and chroma ratios
    lum = color.luminance(x)[..., None]
    x = np.maximum(lum + (x - lum) * d.saturation, 0.0)
    gains = np.exp2(np.array([d.temperature, d.tint, -d.temperature], np.float32))
    gains /= float(gains @ color.LUMA_WEIGHTS)
    x = (x * gains * np.float32(2.0 ** d.ev)).astype(np.float32)
    if d.noise > 0 and rng is not None:
        # sigma(0.18) = d.noise: 90% shot noise (variance ~ x), 10% read noise floor
        var = d.noise**2 * (0.9 * np.maximum(x, 0.0) / 0.18 + 0.1)
        x = np.maximum(x + rng.standard_normal(x.shape).astype(np.float32) * np.sqrt(var).astype(np.float32), 0.0)
    return x


def as_captured(rgb_lin: np.ndarray) -> np.ndarray:
    """(..., 3) linear ProPhoto -> the same as a camera file holds it: each channel clipped at white in linear sRGB
    (an overexposed capture's highlights clip; out-of-gamut negatives are kept). float32."""
    srgb = color.convert_linear(np.asarray(rgb_lin, np.float32), color.WORKING_SPACE, color.Space.SRGB)
    return color.convert_linear(np.minimum(srgb, 1.0), color.Space.SRGB, color.WORKING_SPACE).astype(np.float32)


def sample_training_degradation(rng: np.random.Generator, identity: float = 0.2, mild: float = 0.2) -> Degradation:
    """Training captures: with probability `identity` none at all (the target is the input: a good photo must be
    left alone), with probability `mild` a small one (+-0.3 EV, slight cast, slightly flat or dull: restored, but
    gently), else a real capture's: `sample_degradation`'s ranges widened a little (temperature +-0.6 along the
    warm/cool axis, tint +-0.25, tone 0.5..1, saturation 0.45..1, EV -3..+1.5) plus sensor-like noise on half."""
    u = rng.random()
    if u < identity:
        return Degradation()
    if u < identity + mild:
        on = rng.random(4) > 0.4
        return Degradation(**_drawn(rng, on, (0.88, 1.0), (0.85, 1.0), (-0.12, 0.12), (-0.06, 0.06), (-0.3, 0.3)))
    on = rng.random(5) > 0.2
    drawn = _drawn(rng, on, (0.5, 1.0), (0.45, 1.0), (-0.6, 0.6), (-0.25, 0.25), (-3.0, 1.5))
    noise = float(np.exp(rng.uniform(np.log(0.002), np.log(0.02)))) if on[4] and rng.random() < 0.6 else 0.0
    return Degradation(**drawn, noise=noise)


def display_np(rgb_lin: np.ndarray) -> np.ndarray:
    """Fixed last stage: (..., 3) linear ProPhoto -> sRGB primaries -> sRGB transfer, float32 in [0, 1]."""
    return color.srgb_encode(color.convert_linear(rgb_lin, color.WORKING_SPACE, color.Space.SRGB))


class TrainData:
    """Batches for training.

    inputs(n) -> (x_lin (n,64,64,3), pair_lin (n,64,64,3), has_pair (n,) float32): agent inputs, linear ProPhoto.
      With `degrade_inputs` the inputs are fresh random degradations of the input crops (free paired data); the
      truth is the paired target crop where the input has one (e.g. a DNG made from a photo, paired with that
      photo by stem: the RAW path learns to restore the photo), else the input crop itself. Without it, pairs come
      from paired target files (by stem / CSV).
    targets(n) -> (n,64,64,3) display-encoded sRGB in [0, 1]: the "real" samples for the critic.
    `correct`: None, or a function (n,64,64,3) linear -> same applied to every input batch (a capture estimate's
    correction: the actor then learns what is left after it).
    """

    def __init__(self, inputs: dict, targets: dict, degrade_inputs: bool = False, seed: int = 0,
                 identity: float = 0.2, mild: float = 0.2, correct=None):
        self.inp, self.tgt, self.degrade_inputs = inputs, targets, degrade_inputs
        self.correct = correct
        self.identity, self.mild = identity, mild
        self.rng = np.random.default_rng(seed)
        self.tgt_disp = display_np(targets["crops"])

    @property
    def paired(self) -> bool:
        return self.degrade_inputs or bool(self.inp["has_pair"].any())

    def inputs(self, n: int):
        idx = self.rng.integers(0, len(self.inp["crops"]), n)
        if self.degrade_inputs:
            orig, pair = random_patches(self.inp["crops"], idx, self.rng, (self.inp["pairs"],))
            ds = [sample_training_degradation(self.rng, self.identity, self.mild) for _ in orig]
            x = np.stack([degrade(o, d, self.rng) for o, d in zip(orig, ds)])
            truth = np.where(self.inp["has_pair"][idx][:, None, None, None], pair, orig)
            return self._corrected(x), truth, np.ones(n, np.float32)
        x, pair = random_patches(self.inp["crops"], idx, self.rng, (self.inp["pairs"],))
        return self._corrected(x), pair, self.inp["has_pair"][idx].astype(np.float32)

    def _corrected(self, x: np.ndarray) -> np.ndarray:
        return x if self.correct is None else self.correct(x)

    def targets(self, n: int) -> np.ndarray:
        idx = self.rng.integers(0, len(self.tgt_disp), n)
        (t,) = random_patches(self.tgt_disp, idx, self.rng)
        return t


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
