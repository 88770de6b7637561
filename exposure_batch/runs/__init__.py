"""Runs: what one invocation does over a list of photos, without the command line.

    runs.lock       one run per output folder (OutputLock)
    runs.batch      a `process` run: plan_jobs, plan_dry_run, BatchRun (manifest, shoot plan, engine or Ray)
    runs.manifest   the resumable run log (OUTDIR/.exposure-batch/manifest.jsonl), resume and dry-run plans
"""
