"""Corpus-scale jobs on Dask: input shards, a per-worker cache of loaded pipelines, and
an engine that runs shards in this process or on a Dask cluster, resumably."""

from .cache import cached, path_signature
from .engine import JobSummary, ShardError, ShardJob, run_job, run_shard
from .shards import Shard, plan_shards

__all__ = ["JobSummary", "Shard", "ShardError", "ShardJob", "cached", "path_signature",
           "plan_shards", "run_job", "run_shard"]
