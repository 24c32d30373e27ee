"""Corpus-scale jobs on Dask: an engine that runs the shards of an input
(:mod:`spacy_xlie.corpora.shards`) in this process or on a Dask cluster, resumably, and
the predict, label and project jobs it runs."""

from .engine import JobSummary, ShardError, ShardJob, run_job, run_shard

__all__ = ["JobSummary", "ShardError", "ShardJob", "run_job", "run_shard"]
