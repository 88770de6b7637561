"""Run the per-file pipeline over many files, in this process or in spawned worker processes.

Workers are started with the *spawn* method (rawpy/LibRaw + fork + OpenMP can deadlock) and build their recipe
source once (one model load per worker).

Exports: SourceSpec, run_batch.
"""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Callable, Sequence

from .pipeline import OutputOptions, Result, make_source, process_one


@dataclass(frozen=True)
class SourceSpec:
    """How to build the recipe source in any process (picklable)."""

    agent: str = "classic"
    recipe_path: str | None = None
    model_path: str | None = None

    def build(self):
        return make_source(self.agent, self.recipe_path, self.model_path)


_WORKER_SOURCE = None


def _init_worker(spec: SourceSpec) -> None:
    global _WORKER_SOURCE
    _WORKER_SOURCE = spec.build()


def _work(path: str, out_path: str, opts: OutputOptions) -> Result:
    result = process_one(path, out_path, _WORKER_SOURCE, opts)
    result.recipe = result.recipe  # recipes are small and picklable
    return result


def run_batch(
    jobs: Sequence[tuple[str, str]],
    spec: SourceSpec,
    opts: OutputOptions,
    n_workers: int = 1,
    on_result: Callable[[Result], None] | None = None,
    source=None,
) -> list[Result]:
    """Process (input_path, output_path) pairs; call on_result as each finishes; return results in input order."""
    results: dict[str, Result] = {}
    if n_workers <= 1 or len(jobs) <= 1:
        source = source or spec.build()
        for path, out_path in jobs:
            r = process_one(path, out_path, source, opts)
            results[path] = r
            if on_result:
                on_result(r)
    else:
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker, initargs=(spec,)) as pool:
            futures = {pool.submit(_work, p, o, opts): p for p, o in jobs}
            for fut in as_completed(futures):
                path = futures[fut]
                try:
                    r = fut.result()
                except Exception as err:  # noqa: BLE001  (a crashed worker fails only its file)
                    r = Result(path, "failed", f"worker crashed: {type(err).__name__}: {err}")
                results[path] = r
                if on_result:
                    on_result(r)
    return [results[p] for p, _ in jobs]
