"""Past one machine: the same per-file stages as a Ray Data pipeline (`exposure-batch process --ray ADDRESS`).

    from_items(jobs) -> map(decode: prepare_stage, CPU) -> map_batches(AgentActor: decide_prepared, one model load
    per actor, a GPU when the cluster has one) -> map(render + write: finish_stage, CPU) -> Results streamed back

Rows carry the decoded full-size image as a tensor column (linear ProPhoto: float32 values in `image`, or a RAW's
uint16 linear codes in `codes`, half the bytes; a column keeps one dtype), the small agent input, and the image
info / recipe / Result pickled. Every stage catches per-file errors (pipeline.failed_result), so one bad file
becomes a failed Result and never aborts the run; Ray Data's streaming executor bounds how many images are in flight
(object store backpressure, spilled to disk beyond it). Ray is an optional extra: `pip install 'exposure-batch[ray]'`.

Exports: run_ray, connect, agent_wants, RAY_INSTALL_HINT.
"""
from __future__ import annotations

import logging
import os
import pickle
import time
import warnings
from typing import Callable, Sequence

import numpy as np

from ..errors import SetupError
from ..failures import Failure, Kind
from ..pipeline.options import OutputOptions
from ..pipeline.result import Result
from ..pipeline.stages import Prepared, decide_prepared, finish_stage, prepare_stage

log = logging.getLogger(__name__)

RAY_INSTALL_HINT = "Ray is not installed: pip install 'exposure-batch[ray]'  (or: pip install 'ray[data]')"
#: Previews per agent call on an actor (images stay in Ray's object store meanwhile).
DEFAULT_BATCH = 16
#: CPU share reserved by a CPU-only agent actor (the classic agent is cheap; decode/render need the cores).
AGENT_ACTOR_CPUS = 0.25
#: Most input blocks (tasks) for the file list: 100,000 files need no 100,000 scheduler entries.
MAX_BLOCKS = 1000
_EMPTY = np.zeros((1, 1, 3), dtype=np.float32)  # image / agent-input placeholder for rows without one
_EMPTY_CODES = np.zeros((1, 1, 3), dtype=np.uint16)  # codes placeholder: a tensor column keeps one dtype


def _ray():
    try:
        import ray  # noqa: PLC0415
        import ray.data  # noqa: F401, PLC0415
    except ImportError as err:
        raise SetupError(RAY_INSTALL_HINT) from err
    return ray


def connect(address: str | None):
    """Attach to a Ray cluster. 'auto': the running cluster (RAY_ADDRESS or `ray start --head` on this machine);
    'local': start a private instance with this machine's CPUs; 'HOST:PORT' / 'ray://HOST:10001': that cluster;
    None: use the instance already initialised in this process (tests). Returns the ray module."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    kwargs = {"log_to_driver": False, "include_dashboard": False, "logging_level": logging.WARNING}
    for name in ("ray", "ray.data"):  # keep the CLI's output to our summary and one line per failed file
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        if address in (None, "local"):
            ray.init(**kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise SetupError(f"cannot connect to the Ray cluster at {address!r}: {' '.join(str(err).split())}"
                         f"{_token_hint(address)}") from err
    return ray


def _token_hint(address: str | None) -> str:
    """A clause for a failed connection to a cluster from a machine that has no Ray token anywhere Ray looks for
    one: a cluster with token authentication refuses such a driver, and Ray's own message does not say so."""
    if address in (None, "local") or os.environ.get("RAY_AUTH_TOKEN"):
        return ""
    token_file = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    if os.path.isfile(token_file):
        return ""
    return (f"; this machine has no Ray token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, {token_file}): if the cluster "
            "uses token authentication, copy its token file here (docs/ray.md)")


class _Wants:
    """Stand-in source for the decode stage: only `.wants` is read (agent_input), no model is loaded."""

    def __init__(self, wants):
        self.wants = wants


def agent_wants(spec) -> str | None:
    """What the recipe source looks at ('preview' | 'thumbnail' | None) without loading a model where possible."""
    if spec.recipe_path:
        return None
    if spec.agent == "classic" and not getattr(spec, "profile_path", None):
        from ..agent.classic import ClassicAgent  # noqa: PLC0415

        return ClassicAgent.wants
    return spec.build().wants


# ---------------------------------------------------------------------------------------------------------------
# Stage functions run on the cluster (module level: importable by Ray workers)
# ---------------------------------------------------------------------------------------------------------------
def _row(index, path, out, status, *, image=_EMPTY, codes=_EMPTY_CODES, agent_in=_EMPTY, info=b"", recipe=b"",
         result=b"") -> dict:
    return {"index": int(index), "path": path, "out": out, "status": status, "image": image, "codes": codes,
            "coded": codes is not _EMPTY_CODES, "agent_in": agent_in,
            "info": info, "recipe": recipe, "result": result}


def decode_row(row: dict, wants: str | None, opts: OutputOptions) -> dict:
    """CPU map: prepare_stage (existing-output check, full decode, agent input) for one file."""
    item = prepare_stage(_Wants(wants), row["path"], row["out"], opts)
    if isinstance(item, Result):
        return _row(row["index"], row["path"], row["out"], "finished", result=pickle.dumps(item))
    agent_in = _EMPTY if item.agent_in is None else np.ascontiguousarray(item.agent_in, dtype=np.float32)
    pixels = item.decoded.pixels  # RAWs: uint16 linear codes (half the bytes through the object store)
    image = {"codes": pixels} if pixels.dtype == np.uint16 else {"image": pixels}
    return _row(row["index"], row["path"], row["out"], "decoded", **image, agent_in=agent_in,
                info=pickle.dumps(item.decoded.info))


class AgentActor:
    """map_batches actor: builds the recipe source once (model load per actor), decides a batch of previews with
    pipeline.decide_prepared (one agent call; if it fails, one by one, so one bad input fails only itself)."""

    def __init__(self, spec, wants: str | None):
        self.source = spec.build()
        self.wants = wants

    def __call__(self, batch: dict) -> dict:
        from ..io.decode import Decoded  # noqa: PLC0415

        status, results, recipes = list(batch["status"]), list(batch["result"]), [b""] * len(batch["status"])
        todo = [i for i, s in enumerate(status) if s == "decoded"]
        items = [Prepared(str(batch["path"][i]), "", Decoded(_EMPTY, pickle.loads(batch["info"][i])),
                          None if self.wants is None else np.asarray(batch["agent_in"][i]), time.perf_counter())
                 for i in todo]
        for i, decided in zip(todo, decide_prepared(self.source, items)):
            if isinstance(decided, Result):
                results[i], status[i] = pickle.dumps(decided), "finished"
            else:
                recipes[i] = pickle.dumps(decided)
        batch["status"] = np.array(status, dtype=object)
        batch["recipe"] = np.array(recipes, dtype=object)
        batch["result"] = np.array(results, dtype=object)
        return batch


def render_row(row: dict, opts: OutputOptions) -> dict:
    """CPU map: full-resolution render, encode, atomic write (finish_stage); the image column is dropped."""
    from ..io.decode import Decoded  # noqa: PLC0415

    if row["status"] == "decoded":
        pixels = np.asarray(row["codes"] if row["coded"] else row["image"])  # not modified: read-only is fine
        decoded = Decoded(pixels, pickle.loads(row["info"]))
        item = Prepared(row["path"], row["out"], decoded, None, time.perf_counter())
        result = finish_stage(item, pickle.loads(row["recipe"]), opts)
    else:
        result = pickle.loads(row["result"])
    return {"index": int(row["index"]), "result": pickle.dumps(result)}


# ---------------------------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------------------------
def run_ray(
    jobs: Sequence[tuple[str, str]],
    spec,
    opts: OutputOptions,
    address: str | None = "auto",
    on_result: Callable[[Result], None] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    actors: int | None = None,
) -> list[Result]:
    """Run the stages over a Ray cluster; call on_result as Results stream back; return them in input order.

    Args:
        jobs: (input_path, output_path) pairs; paths must be readable/writable on every node (shared storage).
        spec: engine.SourceSpec (picklable) for the agent actors.
        address: see `connect`.
        batch_size: previews per agent call.
        actors: agent actors (default: one per GPU when the agent runs in TensorFlow -- the learned agent with
            EXPOSURE_BATCH_AGENT_BACKEND=tf -- and the cluster has GPUs, else 1).
    """
    given = [str(p) for p, _ in jobs]
    jobs = [(os.path.abspath(p), os.path.abspath(o)) for p, o in jobs]
    if not jobs:
        return []
    ray = connect(address)
    ray.data.DataContext.get_current().enable_progress_bars = False
    wants = agent_wants(spec)
    from ..agent.policy import default_backend  # noqa: PLC0415

    uses_gpu = spec.agent == "learned" and not spec.recipe_path and default_backend() == "tf"
    gpus = float(ray.cluster_resources().get("GPU", 0)) if uses_gpu else 0.0
    n_actors = actors or (max(1, int(gpus)) if gpus else 1)
    actor_res = {"num_gpus": 1} if gpus else {"num_cpus": AGENT_ACTOR_CPUS}
    items = [{"index": i, "path": p, "out": o} for i, (p, o) in enumerate(jobs)]
    # One file per block up to MAX_BLOCKS; beyond, blocks of several files (decode tasks then yield ~128 MB output
    # blocks as they go, so memory stays bounded by Ray Data's streaming backpressure).
    ds = ray.data.from_items(items, override_num_blocks=min(len(items), MAX_BLOCKS))
    ds = ds.map(decode_row, fn_kwargs={"wants": wants, "opts": opts}, num_cpus=1)
    # A private local instance loses no nodes: its agent actors need no restarts, and without them Ray does not log
    # an error-level line (actor arguments in the object store + max_restarts > 0) on runs that succeed. Ray Data
    # takes max_restarts only as an extra remote argument, which Ray 2.60 marks deprecated: that warning is muted.
    restarts = {"max_restarts": 0} if address == "local" else {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
        ds = ds.map_batches(AgentActor, fn_constructor_args=(spec, wants), batch_size=batch_size,
                            batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=n_actors), **actor_res,
                            **restarts)
    ds = ds.map(render_row, fn_kwargs={"opts": opts}, num_cpus=1)
    results: dict[int, Result] = {}
    for row in ds.iter_rows():
        result = pickle.loads(row["result"])
        result.path = given[int(row["index"])]  # report paths as the caller gave them
        results[int(row["index"])] = result
        if on_result:
            on_result(result)
    for i, (path, _) in enumerate(jobs):  # a row lost by the cluster still gets a line in the summary
        if i not in results:
            results[i] = Result.failed(given[i], Failure(Kind.CRASH, "ray", "lost by the Ray pipeline (no result came back)"))
    return [results[i] for i in range(len(jobs))]
