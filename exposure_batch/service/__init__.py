"""`exposure-batch serve`: the local edit service that editor plugins (Lightroom Classic, darktable) call.

Data path per photo: (worker pool) decode -> agent input  ->  (this process) warm recipe source, batched across
requests -> Recipe -> editor settings (Lightroom develop table, darktable sidecar)  ->  optional (worker pool)
full-resolution render. Modules: security (token, roots, host/origin/size guard), engine (the one adapter to the
worker pool), tasks (what runs inside a worker), decider (warm agents, batching), edits (one photo's edit and its
editor outputs), jobs (many photos, progress, cancel), app (FastAPI routes).
"""
