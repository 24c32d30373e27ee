"""Shared fixtures: the local data mirror, offline Hugging Face, and small helpers."""

import logging
import os
from pathlib import Path
from typing import Iterator, List

import pytest
import spacy

import spacy_xlie  # noqa: F401  (registers doc._.relations)
from spacy_xlie.data import ENV_VAR, data_dir

# Never let a test reach for the model hub: a hub name would retry for ~50 s and fail.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets; tests that need them skip with the reason when absent."""
    path = data_dir()
    if path is None:
        pytest.skip(f"real data not found: set {ENV_VAR} to a folder like ../shared/data")
    return path


@pytest.fixture
def transformers_warnings() -> Iterator[List[str]]:
    """Warnings transformers logs during the test (its library logger does not propagate
    to the root logger, which pytest's caplog reads)."""
    messages: List[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def nlp_en():
    return spacy.blank("en")


@pytest.fixture(scope="session")
def tiny_xlmr(tmp_path_factory) -> Path:
    """A tiny random-weight XLM-R (SentencePiece tokenizer trained here), loaded by path."""
    from spacy_xlie.util.random_xlmr import build_random_xlmr

    return build_random_xlmr(tmp_path_factory.mktemp("tiny_xlmr"))


@pytest.fixture(scope="session")
def dask_scheduler():
    """Address of a Dask LocalCluster (2 single-threaded worker processes on 127.0.0.1),
    shared by the tests that run corpus jobs with ``--scheduler``."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address
