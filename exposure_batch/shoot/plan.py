"""The shoot plan: survey -> groups -> harmonised recipes, made before the engine renders anything.

    plan = stream.make_plan(paths, spec, GroupingOptions()) # survey (cheap decode + EXIF), group, harmonise:
                                                            # all in spawned workers (shoot.work)
    spec = PlannedSpec.wrapping(SourceSpec(agent), plan)   # what the engine's workers build their source from

The engine then runs as always; its recipe source is a `PlannedSource`: for a frame of a harmonised group it
returns the planned recipe (the agent's own decision for that frame is not needed), for any other file it asks the
wrapped source as before and only adds `recipe.group`. So a singleton (or `--group-by none`, which makes no plan
at all) gets exactly today's per-photo recipe.

Plans live in memory (`Plan`, pickled into worker processes with the spec), travel with each edit task (`TaskPlan`:
the streamed run, shoot.stream.run_grouped) or, for the watch daemon, live in a folder (`PlanStore`: one JSON file
per input, written before the file is handed to a worker, so a restarted daemon keeps the decisions).

Exports: PlanEntry, Plan, PlanStore, TaskPlan, PlannedSource, PlannedSpec, build_source (the "planned" recipe source),
plan_entries, harmonised_entries, group_entries, singleton_entry (make_plan and the streamed run: shoot.stream).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..recipe import Recipe
from ..sources import SourceSpec
from .grouping import GroupingOptions, group_surveys
from .harmonise import Harmonised, harmonise_groups

log = logging.getLogger(__name__)


@dataclass
class PlanEntry:
    """recipe: the frame's harmonised recipe (group attached), or None when the source decides alone;
    group: the recipe's `group` block; sha256: of the file planned (checked when the engine knows it)."""

    recipe: Recipe | None
    group: Mapping[str, Any]
    sha256: str | None = None

    def to_json(self) -> str:
        return json.dumps({"recipe": self.recipe.to_dict() if self.recipe else None, "group": dict(self.group),
                           "sha256": self.sha256})

    @classmethod
    def from_json(cls, text: str) -> "PlanEntry":
        data = json.loads(text)
        recipe = Recipe.from_dict(data["recipe"]) if data.get("recipe") else None
        return cls(recipe, data["group"], data.get("sha256"))


@dataclass
class Plan:
    """In-memory plan: absolute input path -> PlanEntry; groups: one summary dict per group (id, files,
    consistency, split_from / reason for frames split off); seconds: what planning took."""

    entries: dict[str, PlanEntry] = field(default_factory=dict)
    groups: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def lookup(self, path: str) -> PlanEntry | None:
        return self.entries.get(os.path.abspath(path))

    @property
    def split_count(self) -> int:
        return sum(1 for g in self.groups if g.get("split_from"))


class PlanStore:
    """Plan entries as files in `folder` (NAME = SHA-1 of the input's absolute path): shared with worker
    processes and kept across restarts."""

    def __init__(self, folder: str):
        self.folder = os.path.abspath(folder)

    def _file(self, path: str) -> str:
        return os.path.join(self.folder, hashlib.sha1(os.path.abspath(path).encode()).hexdigest() + ".json")

    def put(self, path: str, entry: PlanEntry) -> None:
        from ..io.write import atomic_write  # noqa: PLC0415

        os.makedirs(self.folder, exist_ok=True)
        with atomic_write(self._file(path), "w") as fh:
            fh.write(entry.to_json())

    def lookup(self, path: str) -> PlanEntry | None:
        try:
            with open(self._file(path), encoding="utf-8") as fh:
                return PlanEntry.from_json(fh.read())
        except (OSError, ValueError, KeyError):
            return None


class TaskPlan:
    """The plan entries a worker was handed with its edit tasks (the streamed run sends each photo's entry with its
    edit: shoot.work.EDIT_PLANNED), held in memory for the few tasks in flight: at most HELD entries, oldest
    dropped first (a worker holds a handful of tasks at a time)."""

    HELD = 256

    def __init__(self):
        self.entries: dict[str, PlanEntry] = {}

    def hold(self, path: str, entry: PlanEntry) -> None:
        key = os.path.abspath(path)
        self.entries.pop(key, None)
        self.entries[key] = entry
        while len(self.entries) > self.HELD:
            del self.entries[next(iter(self.entries))]

    def lookup(self, path: str) -> PlanEntry | None:
        return self.entries.get(os.path.abspath(path))


class PlannedSource:
    """A recipe source that returns planned recipes for planned frames and asks `inner` for the rest."""

    def __init__(self, inner, plan):
        self.inner = inner
        self.plan = plan
        self.wants = inner.wants

    def __getattr__(self, name):  # model_id, model_dir, variations, ... of the wrapped source
        if name == "inner":  # not set yet (copy / unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def _entry(self, info) -> PlanEntry | None:
        if info is None or self.plan is None:
            return None
        entry = self.plan.lookup(info.path)
        if entry is not None and entry.sha256 and getattr(info, "sha256", None) and entry.sha256 != info.sha256:
            return None  # the file changed since it was planned
        return entry

    def decide(self, inputs: Sequence, infos: Sequence | None = None) -> list[Recipe]:
        infos = list(infos) if infos is not None else [None] * len(inputs)
        entries = [self._entry(i) for i in infos]
        out: list[Recipe | None] = [e.recipe if e is not None else None for e in entries]
        todo = [k for k, r in enumerate(out) if r is None]
        if todo:
            decided = self.inner.decide([inputs[k] for k in todo], [infos[k] for k in todo])
            for k, recipe in zip(todo, decided):
                out[k] = recipe.with_group(entries[k].group) if entries[k] is not None else recipe
        return out


@dataclass(frozen=True)
class PlannedSpec(SourceSpec):
    """SourceSpec whose built source follows `plan` (a Plan or a PlanStore)."""

    plan: Any = None

    @classmethod
    def wrapping(cls, spec: SourceSpec, plan) -> "PlannedSpec":
        """`spec` (every field: agent, recipe, model, profile, ...) following `plan`."""
        fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(SourceSpec)}
        return cls(**fields, plan=plan)

    @property
    def kind(self) -> str:
        return "planned"

    def inner(self) -> SourceSpec:
        """The wrapped spec (without the plan)."""
        return SourceSpec(**{f.name: getattr(self, f.name) for f in dataclasses.fields(SourceSpec)})


def build_source(spec: PlannedSpec):
    """sources.SOURCES["planned"]: the wrapped spec's source, following spec.plan when there is one."""
    inner = spec.inner().build()
    return PlannedSource(inner, spec.plan) if spec.plan is not None else inner


# ---------------------------------------------------------------------------------------------------------------
# Making a plan
# ---------------------------------------------------------------------------------------------------------------
def plan_entries(surveys: Sequence, source, options: GroupingOptions) -> tuple[list[tuple[int, PlanEntry]], list[dict]]:
    """Group and harmonise surveyed frames: ([(index, PlanEntry)], group summaries). Indices into `surveys`."""
    grouping = group_surveys(surveys, options)
    per_group, summaries = harmonised_entries(
        [(name, [surveys[i] for i in members]) for name, members in zip(grouping.names, grouping.groups)], source)
    entries = [(members[k], e) for members, got in zip(grouping.groups, per_group) for k, e in got]
    return entries, summaries


def singleton_entry(name: str) -> PlanEntry:
    """The plan entry of a photo that is a scene of its own: the source decides for it as without grouping."""
    return PlanEntry(None, {"id": name, "frames": 1, "index": 1})


def harmonised_entries(named_groups: Sequence[tuple[str, Sequence]], source
                       ) -> tuple[list[list[tuple[int, PlanEntry]]], list[dict]]:
    """Harmonise groups given as (name, [Survey, ...]): per group, [(position in the group, PlanEntry)], and the
    group summaries (a group's frames split off get summaries of their own). One batched agent call for all."""
    harmonised = harmonise_groups(source, [list(frames) for _, frames in named_groups])
    return group_entries([(name, [f.path for f in frames], h) for (name, frames), h in zip(named_groups, harmonised)])


def group_entries(groups: Sequence[tuple[str, Sequence[str], Harmonised]]
                  ) -> tuple[list[list[tuple[int, PlanEntry]]], list[dict]]:
    """Plan entries and summaries of harmonised groups given as (name, the frames' paths, Harmonised), as
    harmonised_entries returns them (what the streamed run's harmonise tasks send back)."""
    per_group: list[list[tuple[int, PlanEntry]]] = []
    summaries: list[dict] = []
    for name, paths, h in groups:
        got: list[tuple[int, PlanEntry]] = []
        per_group.append(got)
        h = h if len(paths) >= 2 else None
        kept = list(h.members if h else range(len(paths)))
        summary = {"id": name, "files": [paths[k] for k in kept],
                   "consistency": None if h is None or h.consistency is None else round(h.consistency, 2)}
        if h is not None and h.reference is not None:
            summary["reference"] = os.path.basename(paths[h.reference])
        summaries.append(summary)
        for pos, k in enumerate(kept, 1):
            block = {"id": name, "frames": len(kept), "index": pos}
            recipe = None
            if h is not None and k in h.recipes:
                block.update({"consistency": summary["consistency"], "reference": summary.get("reference"),
                              "capture_deviation_log2": [round(float(v), 3) for v in h.deviation[k]]})
                recipe = h.recipes[k].with_group(block)
            got.append((k, PlanEntry(recipe, block)))
        if h is not None:
            for n, (k, reason) in enumerate(sorted(h.split.items()), 1):
                split_id = f"{name}-split{n}"
                block = {"id": split_id, "frames": 1, "index": 1, "split_from": name, "reason": reason}
                summaries.append({"id": split_id, "files": [paths[k]], "consistency": None,
                                  "split_from": name, "reason": reason})
                got.append((k, PlanEntry(None, block)))
    return per_group, summaries
