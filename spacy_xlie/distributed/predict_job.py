"""``spacy-xlie predict --workers N / --scheduler ADDRESS``: relation extraction by shard."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from spacy.language import Language

from ..corpora.base import input_kind
from ..corpora.shards import Shard, plan_shards, split_docbin_input
from ..entities import entity_components
from ..predict import PIPELINE, load_pipeline, predict_shard
from ..util.cache import cached
from ..util.io import write_json
from .engine import run_job

SHARD_FORMATS = {"spacy": ".spacy", "jsonl": ".jsonl"}


@dataclass
class PredictJob:
    """Run a pipeline (loaded by name or path, once per worker) over one input file."""

    model: str
    input_path: str
    entities: str = PIPELINE
    lang: Optional[str] = None
    batch_size: int = 64
    skip_invalid: bool = False
    suffix: str = ".spacy"
    name: str = "predict"

    @property
    def inputs(self) -> List[str]:
        return [self.input_path]

    @property
    def resources(self) -> List[str]:
        """The pipeline and, for ``kb:PATH`` / ``patterns:PATH``, the entity source."""
        extra = self.entities.split(":", 1)[1:] if ":" in self.entities else []
        return [self.model, *extra]

    @property
    def settings(self) -> Dict[str, Any]:
        return {"model": self.model, "entities": self.entities, "lang": self.lang,
                "batch_size": self.batch_size, "skip_invalid": self.skip_invalid,
                "format": self.suffix}

    def pipeline(self) -> Language:
        nlp = cached("predict", self.model, self.entities,
                     lambda: load_pipeline(self.model, self.entities))
        if not entity_components(nlp) and input_kind(Path(self.input_path)) == "text":
            raise ValueError(f"{self.model}: the pipeline sets no entities and plain text has "
                             "none: pass --entities kb:PATH or --entities patterns:PATH")
        return nlp

    def run(self, shard: Shard, out: Path) -> Dict[str, Any]:
        nlp = self.pipeline()
        report = predict_shard(nlp, Path(self.input_path), out, lang=self.lang,
                               batch_size=self.batch_size, skip_invalid=self.skip_invalid,
                               shard=shard)
        return {"docs": report.docs, "skipped": report.skipped, "errors": report.errors,
                "stats": {"entities": report.entities, "relations": dict(report.relations)}}


def predict_distributed(
    model: str,
    input_path: Path,
    output_dir: Path,
    *,
    entities: str,
    lang: Optional[str],
    batch_size: int,
    skip_invalid: bool,
    workers: int,
    scheduler: Optional[str],
    shard_size: int,
    shard_format: str,
) -> Dict[str, Any]:
    """Predict by shards: ``OUTPUT/shard-NNNNN.{spacy,jsonl}``, the manifest and
    ``OUTPUT/report.json``; returns the report (the engine's summary under ``"run"``).
    Raises ``ValueError`` on bad settings, the engine's errors on bad input."""
    input_kind(input_path)  # an unknown input type fails before any worker starts
    if shard_format not in SHARD_FORMATS:
        raise ValueError(f"--shard-format: expected one of {', '.join(SHARD_FORMATS)}, "
                         f"got {shard_format!r}")
    if output_dir.suffix.lower() in SHARD_FORMATS.values():
        raise ValueError(f"{output_dir}: with --workers/--scheduler OUTPUT is a directory of "
                         "shards (pick their format with --shard-format)")
    model_path = Path(model)
    job = PredictJob(str(model_path.resolve()) if model_path.exists() else model,
                     str(input_path.resolve()), entities=entities, lang=lang,
                     batch_size=batch_size, skip_invalid=skip_invalid,
                     suffix=SHARD_FORMATS[shard_format])
    shards = split_docbin_input(plan_shards(input_path, shard_size), output_dir)
    summary = run_job(job, shards, output_dir,
                      workers=workers, scheduler=scheduler)
    report = {"docs": summary.docs, "skipped": summary.skipped,
              "entities": summary.stats.get("entities", 0),
              "relations": summary.stats.get("relations", {}), "errors": summary.errors,
              "run": summary.to_dict()}
    write_json(report, output_dir / "report.json")
    return report
