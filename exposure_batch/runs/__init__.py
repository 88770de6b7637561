"""Runs: what one invocation does over a list of photos, without the command line.

    runs.manifest   the resumable run log (OUTDIR/.exposure-batch/manifest.jsonl), resume and dry-run plans
"""
