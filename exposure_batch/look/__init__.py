"""Studio profiles: a look learned from before/after pairs, applied after the agent's per-photo correction.

    pairs.py    pairing, decoding, alignment and same-picture checks, scenes, the held-out split
    model.py    the look: a fixed sequence of existing filters, its parameter vector <-> recipe steps
    fit.py      Levenberg-Marquardt on CIELAB through the filters' NumPy ops; the 3x3 least-squares reference
    learn.py    `learn`: load, decide, fit, validate, write the profile
    profile.py  the profile folder (card, look recipe, history) and ProfileSource, the recipe source

NumPy and SciPy only: learning and applying a profile never import TensorFlow.
"""
