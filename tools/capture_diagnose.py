#!/usr/bin/env python3
"""Where the known capture errors' share is lost: the capture estimate, stage by stage (issue 21).

For each photo of --photos (never the held-out split when tuning) and each known capture error (agent.evaluate's
KNOWN_ERRORS, clipped at white as a capture), the learned agent's capture correction is rebuilt one stage at a time
and the share of the error taken back (1 - CIEDE2000(edit, original) / CIEDE2000(input, original), display sRGB) is
measured after each stage:

  raw        the ensemble's mean estimate without the dead zones (the flat-frame trust is 1 on real photos), as
             correction_steps undo it (their clamps to the filters' ranges included);
  deadzone   + the dead zones: exposure, tone and (models that have one) cast (CaptureModel.estimate);
  gentler    + the low-confidence scaling (policy.LOW_CONFIDENCE);
  guard      + the white-balance guard as the model card says (policy.CAPTURE_GUARDS): the capture correction
             exactly as the policy applies it;
  final      + the actor's steps and the no-op pruning: the recipe `decide` returns.

Also the estimates themselves (median estimated EV and temperature / tint per error) against the truth.

Usage: python tools/capture_diagnose.py --photos DIR [--model DIR] [--max-side 384] [-o diag.json]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def _share(edit_lin, original_disp, base):
    from exposure_batch.agent.data import display_np
    from exposure_batch.agent.evaluate import ciede2000

    return 1.0 - ciede2000(display_np(edit_lin), original_disp) / max(base, 1e-6)


def _steps_for(estimate, preview, guard: bool, reference: bool = True):
    """Capture correction steps for a Degradation estimate, optionally with the white-balance guard (applied, as
    the policy does, on the preview after the steps before it; `reference`: its reference rule too)."""
    from exposure_batch.agent.capture import correction_steps
    from exposure_batch.agent.policy import _apply_exact, guard_white_balance

    image = np.array(preview, np.float64)
    out = []
    for step in correction_steps(estimate):
        if guard and step.filter == "white_balance":
            step = guard_white_balance(step, image, reference=reference)
        if dict(step.params) == step.spec.identity():
            continue
        out.append(step)
        image = _apply_exact(step, image)
    return out


def diagnose(policy, originals, log=print) -> dict:
    """originals: [(name, linear ProPhoto image)] -> {error: {stage: median share, ...}, "estimates": ...}."""
    from exposure_batch.agent.capture import FIELDS, confidence, gentler
    from exposure_batch.agent.data import Degradation, display_np
    from exposure_batch.agent.evaluate import KNOWN_ERRORS, apply_known_error, ciede2000
    from exposure_batch.agent.policy import GENTLE_FLOOR, LOW_CONFIDENCE
    from exposure_batch.recipe import Recipe
    from exposure_batch.render import render
    from exposure_batch.render.preview import make_preview

    cap = policy.capture
    zones = (cap.dead_zone_ev, cap.dead_zone_tone, cap.dead_zone_cast)
    reference = policy.capture_guard == "reference"
    result = {}
    for error in KNOWN_ERRORS:
        stages = {k: [] for k in ("raw", "deadzone", "gentler", "guard", "final")}
        est_rows, conf_rows = [], []
        for name, orig in originals:
            ref = display_np(orig)
            x = apply_known_error(orig, error)
            base = ciede2000(display_np(x), ref)
            preview = make_preview(x)
            cap.dead_zone_ev, cap.dead_zone_tone, cap.dead_zone_cast = 0.0, 0.0, 0.0
            raw = cap.estimate_with_spread(preview[None])[0][0]
            cap.dead_zone_ev, cap.dead_zone_tone, cap.dead_zone_cast = zones
            est, spread = cap.estimate_with_spread(preview[None])
            conf = confidence(spread[0])
            est_rows.append(raw)
            conf_rows.append(conf)

            def as_deg(e):
                return Degradation(tone=min(2.0 ** e[1], 1.0), saturation=min(2.0 ** e[2], 1.0),
                                   temperature=float(e[3]), tint=float(e[4]), ev=float(e[0]))

            d_raw, d_dz = as_deg(raw), as_deg(est[0])
            d_gentle = d_dz
            if conf < LOW_CONFIDENCE and d_dz != Degradation():
                d_gentle = gentler(d_dz, GENTLE_FLOOR + (1.0 - GENTLE_FLOOR) * conf / LOW_CONFIDENCE)
            for stage, d, guard in (("raw", d_raw, False), ("deadzone", d_dz, False), ("gentler", d_gentle, False),
                                    ("guard", d_gentle, True)):
                steps = _steps_for(d, preview, guard, reference)
                stages[stage].append(_share(render(Recipe(tuple(steps)), x.copy()), ref, base))
            recipe = policy.decide([preview])[0]
            stages["final"].append(_share(render(recipe, x.copy()), ref, base))
        est_rows = np.array(est_rows)
        result[error] = {"median_share": {k: float(np.median(v)) for k, v in stages.items()},
                         "mean_share": {k: float(np.mean(v)) for k, v in stages.items()},
                         "median_estimate": dict(zip(FIELDS, map(float, np.median(est_rows, axis=0)))),
                         "median_confidence": float(np.median(conf_rows)),
                         "gentler_share_of_photos": float(np.mean(np.array(conf_rows) < LOW_CONFIDENCE))}
        r = result[error]
        log(f"{error:<9} " + " ".join(f"{k} {v:5.2f}" for k, v in r["median_share"].items())
            + f" | est ev {r['median_estimate']['ev']:+.2f} temp {r['median_estimate']['temperature']:+.3f} "
              f"tint {r['median_estimate']['tint']:+.3f} conf {r['median_confidence']:.2f} "
              f"gentler {r['gentler_share_of_photos']:.2f}")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--max-side", type=int, default=384)
    ap.add_argument("-o", "--output")
    args = ap.parse_args(argv)

    from exposure_batch.agent.data import list_images
    from exposure_batch.agent.policy import load_policy
    from exposure_batch.io import decode
    from exposure_batch.render.preview import thumbnail

    policy = load_policy(args.model)
    originals = [(p, thumbnail(decode(p).rgb_lin, args.max_side)) for p in list_images(args.photos)]
    print(f"{len(originals)} photos, model {policy.model_id} {policy.model_version}", file=sys.stderr)
    result = diagnose(policy, originals, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
