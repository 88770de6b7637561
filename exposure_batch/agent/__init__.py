"""The agents: the classic automatic edit and the learned Exposure agent (both NumPy at inference; TensorFlow only
trains), plus training, capture estimation and evaluation. Every agent maps linear previews to Recipes; nothing
downstream sees a model. Build one through `exposure_batch.sources` (SourceSpec("classic" | "learned")).
"""
