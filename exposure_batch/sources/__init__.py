"""Recipe sources: who decides each photo's Recipe (a saved recipe, the classic edit, the learned agent, a studio
profile, a shoot plan). Everything downstream (pipeline, engine, renderers, sidecars) sees only the Recipe.

    sources.base      RecipeSource protocol, FixedRecipe, SourceSpec, the lazy SOURCES registry, build(spec)
    sources.classic   "classic" builder
    sources.learned   "learned" builder

Exports: RecipeSource, FixedRecipe, SourceSpec, SOURCES, register, build, make_source.
"""
from .base import FixedRecipe, RecipeSource, SOURCES, SourceSpec, build, make_source, register

__all__ = ["RecipeSource", "FixedRecipe", "SourceSpec", "SOURCES", "register", "build", "make_source"]
