"""exposure-batch: the white-box Exposure photo editor (Hu et al., TOG 2018) as a batch pipeline.

Data path: decode -> linear ProPhoto RGB -> 64x64 preview -> agent -> Recipe -> full-res render -> atomic writes.
TensorFlow is imported lazily (only by the learned agent and by the filters' training ops).
"""
__version__ = "0.4.0"
