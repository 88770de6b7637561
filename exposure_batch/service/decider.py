"""Warm recipe sources and batched decisions across concurrent requests.

The learned agent (and any other source asked for) is built once and kept. Every decision goes through one queue;
a single consumer takes everything waiting (up to `max_batch`), groups it by source, and makes one batched
`pipeline.decide_inputs` call per group in a helper thread, so the event loop keeps answering while the model runs
and requests that arrive meanwhile form the next batch. A batch that fails is retried one input at a time, so one
bad input fails only its own request.

Exports: Decider, SourceChoice.
"""
from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass

from ..errors import ModelError

AGENTS = ("learned", "classic")


@dataclass(frozen=True)
class SourceChoice:
    """Which source decides: ('agent', 'learned' | 'classic') or ('profile', NAME)."""

    kind: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


class Decider:
    """Args: default_agent ('learned' | 'classic'); model_path (learned agent's model folder, None = shipped);
    profiles: name -> a studio profile folder (`exposure-batch learn`: its agent, then its look) or a recipe file
    (a saved look, applied as a fixed recipe); max_batch: inputs per call."""

    def __init__(self, default_agent: str = "learned", model_path: str | None = None, profiles: dict | None = None,
                 max_batch: int = 64):
        self.default_agent, self.model_path = default_agent, model_path
        self.profiles = dict(profiles or {})
        self.max_batch = max_batch
        self._sources: dict[SourceChoice, object] = {}
        self._build_lock = threading.Lock()
        self._queue: asyncio.Queue | None = None
        self._consumer: asyncio.Task | None = None
        self.batches: list[int] = []  # sizes of the last batches (health / benchmark)

    # -- sources ------------------------------------------------------------------------------------------------
    def choose(self, agent: str | None, profile: str | None) -> SourceChoice:
        """Validate a request's agent/profile. Raises ModelError (-> 422) for unknown names."""
        if profile:
            if profile not in self.profiles:
                known = ", ".join(sorted(self.profiles)) or "none configured"
                raise ModelError(f"unknown profile {profile!r} (known: {known})")
            return SourceChoice("profile", profile)
        agent = agent or self.default_agent
        if agent not in AGENTS:
            raise ModelError(f"unknown agent {agent!r}; choose {' or '.join(AGENTS)}")
        return SourceChoice("agent", agent)

    def source(self, choice: SourceChoice):
        """The built source for a choice (built on first use, then kept warm)."""
        with self._build_lock:
            src = self._sources.get(choice)
            if src is None:
                from ..sources import make_source  # noqa: PLC0415

                if choice.kind == "profile" and os.path.isdir(self.profiles[choice.name]):  # a studio profile
                    from ..look.profile import make_profile_source  # noqa: PLC0415

                    # built once per service and kept warm: checked against its agent here, warned once
                    src = make_profile_source(self.profiles[choice.name], self.model_path)
                elif choice.kind == "profile":  # a saved look
                    src = make_source(recipe_path=self.profiles[choice.name])
                else:
                    src = make_source(choice.name, model_path=self.model_path if choice.name == "learned" else None)
                self._sources[choice] = src
            return src

    def model_id(self) -> str:
        src = self.source(SourceChoice("agent", self.default_agent))
        return str(getattr(src, "model_id", self.default_agent))

    # -- batched decisions --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._consumer = asyncio.get_running_loop().create_task(self._consume())

    async def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()

    async def decide(self, choice: SourceChoice, agent_in, info):
        """The Recipe for one analysed photo (batched with whatever else is waiting)."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((choice, agent_in, info, future))
        return await future

    async def _consume(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [b for b in batch if not b[3].cancelled()]
            groups: dict[SourceChoice, list] = {}
            for item in batch:
                groups.setdefault(item[0], []).append(item)
            for choice, items in groups.items():
                self.batches = (self.batches + [len(items)])[-100:]
                outcomes = await asyncio.to_thread(self._decide_group, choice, items)
                for (_, _, _, future), (recipe, err) in zip(items, outcomes):
                    if future.done():
                        continue
                    if err is not None:
                        future.set_exception(err)
                    else:
                        future.set_result(recipe)

    def _decide_group(self, choice: SourceChoice, items: list) -> list[tuple]:
        from ..pipeline.stages import decide_inputs  # noqa: PLC0415

        try:
            source = self.source(choice)
            recipes = decide_inputs(source, [i[1] for i in items], [i[2] for i in items])
            return [(r, None) for r in recipes]
        except Exception as err:  # noqa: BLE001
            if len(items) == 1:
                return [(None, err)]
            return [self._decide_group(choice, [i])[0] for i in items]


def profiles_from_dir(folder: str | None) -> dict:
    """A folder's studio profiles (sub-folders with a profile.json, made by `exposure-batch learn`) and saved looks
    (NAME.recipe.json or NAME.json files) -> {NAME: path}."""
    if not folder:
        return {}
    out = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "profile.json")):
            out[name] = path
        elif name.endswith(".json") and os.path.isfile(path):
            out[name[: -len(".recipe.json")] if name.endswith(".recipe.json") else name[:-5]] = path
    return out
