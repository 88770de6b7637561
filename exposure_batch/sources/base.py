"""Who decides the edit: the RecipeSource protocol, the picklable SourceSpec every process builds its source from,
and the one registry of source kinds.

A source kind is a `module:function` string in SOURCES, imported only when a spec of that kind is built, so this
room never imports the rooms above it (look, shoot) and a worker loads only what its run needs:

    "recipe"   a saved recipe applied to every photo (FixedRecipe)
    "classic"  the classic automatic edit (agent.classic)
    "learned"  the learned Exposure agent (agent.policy, NumPy inference)
    "profile"  a studio profile: its agent, then its look (look.profile)
    "planned"  a shoot plan's harmonised recipes, the wrapped spec's source for the rest (shoot.plan)

`build(spec)` looks `spec.kind` up and calls the function with the spec. `register(kind, ref)` adds a kind (a
plug-in's own decider).

Exports: RecipeSource, FixedRecipe, SourceSpec, SOURCES, register, build, make_source.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from ..errors import ModelError
from ..recipe import Recipe, load_recipe

#: kind -> "module:function" building that kind's source from a SourceSpec (imported lazily).
SOURCES: dict[str, str] = {
    "recipe": "exposure_batch.sources.base:fixed_recipe",
    "classic": "exposure_batch.sources.classic:build",
    "learned": "exposure_batch.sources.learned:build",
    "profile": "exposure_batch.look.profile:build_source",
    "planned": "exposure_batch.shoot.plan:build_source",
}

#: the kinds a user names as --agent (the rest come from --recipe, --profile or a plan).
AGENTS = ("classic", "learned")


class RecipeSource(Protocol):
    """Whoever decides edits: a fixed recipe, the classic agent, the learned one, a profile or a shoot plan."""

    #: agent input it needs: 'preview' (64x64 centre crop), 'thumbnail' (whole frame) or None; both linear ProPhoto.
    wants: str | None

    def decide(self, inputs: Sequence, infos: Sequence | None = None) -> list[Recipe]:
        """One Recipe per agent input (batched)."""


class FixedRecipe:
    """Apply one saved recipe (a studio's look) to every photo."""

    wants = None

    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.model_id = recipe.model_id

    def decide(self, inputs, infos=None) -> list[Recipe]:
        return [self.recipe for _ in inputs]


@dataclass(frozen=True)
class SourceSpec:
    """How to build the recipe source in any process (picklable): a saved recipe wins over a profile, a profile over
    an agent (a profile runs the agent it was learned on, `model_path` for a learned one, then its look)."""

    agent: str = "classic"
    recipe_path: str | None = None
    model_path: str | None = None
    profile_path: str | None = None  # a studio profile (exposure_batch.look): its agent, then its look

    @property
    def kind(self) -> str:
        """The SOURCES entry that builds this spec's source."""
        if self.recipe_path:
            return "recipe"
        if self.profile_path:
            return "profile"
        return self.agent

    def build(self) -> RecipeSource:
        return build(self)


def register(kind: str, ref: str) -> None:
    """Add (or replace) a source kind: `ref` is "package.module:function", function(spec) -> RecipeSource."""
    if ":" not in ref:
        raise ValueError(f"source {kind!r}: {ref!r} is not 'module:function'")
    SOURCES[kind] = ref


def builder(kind: str) -> Callable[[SourceSpec], RecipeSource]:
    """The function that builds `kind` (ModelError naming the valid agents for an unknown one)."""
    ref = SOURCES.get(kind)
    if ref is None:
        raise ModelError(f"unknown agent {kind!r}; choose {' or '.join(repr(a) for a in AGENTS)}")
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def build(spec: SourceSpec) -> RecipeSource:
    """The recipe source `spec` describes (loads its model, recipe or profile now)."""
    return builder(spec.kind)(spec)


def make_source(agent: str = "classic", recipe_path: str | None = None, model_path: str | None = None,
                profile_path: str | None = None) -> RecipeSource:
    """The recipe source named on the command line: build(SourceSpec(...))."""
    return build(SourceSpec(agent, recipe_path, model_path, profile_path))


def fixed_recipe(spec: SourceSpec) -> FixedRecipe:
    """"recipe": the saved recipe at spec.recipe_path for every photo."""
    return FixedRecipe(load_recipe(spec.recipe_path))
