"""``xlie_relation_extractor``: a trainable pipe that predicts relations between entities.

Candidates are pairs of the predicted doc's entities (``doc.ents`` or a span group, see
:mod:`spacy_xlie.pipeline.candidates`); gold relations come from ``example.reference``
and are matched by character offsets, so reference and predicted docs may be tokenised
differently. To classify relations between gold entities (as KBP37/RELX are reported),
read the corpus with ``spacy_xlie.RelationCorpus.v1`` and ``gold_ents = true``.

Three decoding modes:

* ``exclusive`` (default): one softmax decision per unordered pair over ``no_relation``
  and every label in both directions (1 + 2 × 18 = 37 classes for KBP37), the KBP37/RELX
  task formulation;
* ``directed``: each unordered pair is scored in both orders, each order with one
  softmax over ``no_relation`` and the labels (19 classes for KBP37), so a type's
  examples share one layout (head features first) whichever way the text orders its
  arguments; of the two orders' relations the likelier one is kept, at most one relation
  per pair as in ``exclusive``;
* ``multilabel``: every ordered pair gets one independent sigmoid per label, and each
  label scoring at least ``threshold`` is added, for data where a pair holds several
  relations.

Predicted relations carry ``source="predicted"`` and the probability as their score;
they replace earlier predicted relations and leave relations from other sources alone.

In training, a doc whose gold arguments sit in the span group
:data:`~spacy_xlie.relations.GOLD_ARGUMENTS_KEY` (``spacy_xlie.JointCorpus.v1``) is learned
from the pairs of its gold arguments *and* of the entities a recognizer predicted on it
(with ``ner`` in ``[training.annotating_components]``): a predicted span that overlaps a
gold argument carries that argument's relation, so the extractor learns to hold up on an
NER's boundaries, and every other pair is a negative, so it learns that most pairs of
names in a sentence hold no relation (on raw text it scores them all).

``class_weight_power`` weights each training pair's loss by how rare its gold relation
type is: a type seen ``n`` times in the training data weighs ``(n / mean n) ** -power``
(``no_relation`` weighs 1). At 0 (the default) every pair counts the same, as in plain
cross-entropy; at 0.5 a type 10 times rarer than the mean weighs about 3. Macro-F counts
every type the same however rare it is, and cross-entropy spends the model's capacity on
the frequent ones.

``label_smoothing`` mixes each pair's one-hot target with the uniform distribution over
the classes (``(1 - e) * one_hot + e / classes``; in ``multilabel`` mode each sigmoid's
0/1 target moves ``e / 2`` toward 0.5), as in Szegedy et al. (2016), so that noisy labels
are not learnt with full confidence. At 0 (the default) the loss is plain cross-entropy;
0.1 lowered KBP37 dev macro-F on the e5small recipe (the comment in
``configs/e5small.cfg``), so no shipped config smooths.

``argument_types`` (``spacy_xlie.argument_types.v1``, or ``.v2`` to check the head's type
alone) forbids the relation types whose argument types do not fit the entity labels:
behind a typed recognizer a ``per:*`` relation never gets an ``ORG`` head. Untyped entities
(``ENT``) fit every type.

A gold relation whose pair is not a candidate (an argument is not an entity of the
predicted doc, or the pair falls outside ``max_distance``, ``max_candidates``,
``same_sentence`` or ``allowed_label_pairs``) can be neither learned nor predicted:
``initialize`` counts such relations in the training data and logs them, and the scorer
counts them as missed.
"""

import logging
from itertools import islice
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Floats2d, Ints2d

from ..ml import relation_model  # noqa: F401  (registers spacy_xlie.RelationClassifier.v1)
from ..relations import GOLD_ARGUMENTS_KEY, Relation, add_relations, clear_relations
from ..scorers import PREDICTED, relation_keys, score_relations
from .candidates import CandidatePairs

MODES = ("exclusive", "directed", "multilabel")
SOURCE = PREDICTED

logger = logging.getLogger("spacy")

DEFAULT_REL_MODEL_CONFIG = """
[model]
@architectures = "spacy_xlie.RelationClassifier.v1"
hidden_width = 256
dropout = 0.2
pooling = "mean_max"
use_context = true

[model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = false

[model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 4
window_size = 1
maxout_pieces = 3
"""

DEFAULT_MODEL = Config().from_str(DEFAULT_REL_MODEL_CONFIG)["model"]

#: Per doc: the pairs scored, as (first/head, second/tail) spans.
PairLists = List[List[Tuple[Span, Span]]]


@Language.factory(
    "xlie_relation_extractor",
    requires=["doc.ents"],
    assigns=["doc._.relations"],
    default_config={
        "model": DEFAULT_MODEL,
        "candidates": {"@misc": "spacy_xlie.candidate_pairs.v2"},
        "mode": "exclusive",
        "threshold": 0.5,
        "argument_types": None,
        "class_weight_power": 0.0,
        "label_smoothing": 0.0,
        "scorer": {"@scorers": "spacy_xlie.relation_scorer.v1"},
    },
    default_score_weights={
        "rel_macro_f": 1.0,
        "rel_micro_f": 0.0,
        "rel_micro_p": 0.0,
        "rel_micro_r": 0.0,
        "rel_f_per_type": None,
    },
)
def make_relation_extractor(
    nlp: Language,
    name: str,
    model: Model,
    candidates: CandidatePairs,
    mode: str,
    threshold: float,
    argument_types: Optional[Callable[[str, str, str], bool]],
    class_weight_power: float,
    label_smoothing: float,
    scorer: Optional[Callable],
) -> "RelationExtractor":
    """Create an ``xlie_relation_extractor`` (see the module docstring)."""
    return RelationExtractor(
        nlp.vocab, model, name, candidates=candidates, mode=mode, threshold=threshold,
        argument_types=argument_types, class_weight_power=class_weight_power,
        label_smoothing=label_smoothing, scorer=scorer,
    )


class RelationExtractor(TrainablePipe):
    """Scores candidate entity pairs with one model pass per batch of docs."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "xlie_relation_extractor",
        *,
        candidates: CandidatePairs,
        mode: str = "exclusive",
        threshold: float = 0.5,
        argument_types: Optional[Callable[[str, str, str], bool]] = None,
        class_weight_power: float = 0.0,
        label_smoothing: float = 0.0,
        scorer: Optional[Callable] = score_relations,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if class_weight_power < 0:
            raise ValueError(
                f"class_weight_power must be 0 or more, not {class_weight_power!r}"
            )
        if not 0 <= label_smoothing < 1:
            raise ValueError(
                f"label_smoothing must be at least 0 and below 1, not {label_smoothing!r}"
            )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.candidates = candidates
        self.argument_types = argument_types
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "labels": [], "mode": mode, "threshold": threshold,
            "class_weight_power": class_weight_power,
            "label_smoothing": label_smoothing,
            # One loss weight per label, set by initialize from the training data
            "label_weights": [],
        }

    @property
    def labels(self) -> Tuple[str, ...]:
        """The relation types (without direction; ``no_relation`` is implicit)."""
        return tuple(self.cfg["labels"])

    @property
    def mode(self) -> str:
        return self.cfg["mode"]

    @property
    def n_classes(self) -> int:
        """Output width: 1 + 2 × labels (exclusive), 1 + labels (directed) or one per
        label (multilabel)."""
        n = len(self.labels)
        return {"exclusive": 1 + 2 * n, "directed": 1 + n}.get(self.mode, n)

    def add_label(self, label: str) -> int:
        """Add a relation type; 0 if it is known already. Not possible once trained."""
        if not isinstance(label, str) or not label:
            raise ValueError(f"Relation labels must be non-empty strings, not {label!r}")
        if label in self.labels:
            return 0
        output = self.model.get_ref("output_layer")
        if output.has_dim("nO") and output.get_dim("nO") == self.n_classes:
            raise ValueError(
                f"Cannot add label {label!r} to '{self.name}': its output layer is already "
                "sized for its labels. Add labels before initialization."
            )
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    # ---- candidates and model input -------------------------------------------------

    def scored_pairs(self, doc: Doc) -> List[Tuple[Span, Span]]:
        """The pairs the model scores: unordered (exclusive) or both orders, consecutive
        (directed, multilabel)."""
        return self._ordered(self.candidates(doc))

    def _ordered(self, pairs: List[Tuple[Span, Span]]) -> List[Tuple[Span, Span]]:
        if self.mode == "exclusive":
            return pairs
        return [p for first, second in pairs for p in ((first, second), (second, first))]

    def training_pairs(self, eg: Example) -> List[Tuple[Span, Span]]:
        """The pairs learned from ``eg``: the predicted doc's candidates or, when the
        reference keeps its gold arguments in :data:`GOLD_ARGUMENTS_KEY`, the candidates
        among those arguments and the predicted entities, except pairs of two readings of
        one mention (overlapping spans)."""
        doc = eg.predicted
        if GOLD_ARGUMENTS_KEY not in eg.reference.spans:
            return self.scored_pairs(doc)
        gold = []
        for span in eg.reference.spans[GOLD_ARGUMENTS_KEY]:
            copy = doc.char_span(span.start_char, span.end_char, label=span.label,
                                 alignment_mode="expand")
            if copy is not None:
                gold.append(copy)
        found = {(s.start, s.end): s for s in self.candidates.entities(doc)}
        found.update({(s.start, s.end): s for s in gold})
        ents = [found[key] for key in sorted(found)]
        pairs = [(a, b) for a, b in self.candidates.pairs(doc, ents) if a.end <= b.start]
        return self._ordered(pairs)

    def unreachable_gold(self, examples: Iterable[Example]) -> Tuple[int, int]:
        """``(missed, total)``: gold relations of ``examples`` whose pair is not one of
        :meth:`training_pairs` (the predicted doc's candidates, plus the gold arguments'
        pairs where the reference keeps them apart), and all gold relations (matched by
        character offsets)."""
        missed = total = 0
        for eg in examples:
            pairs = {
                frozenset(((a.start_char, a.end_char), (b.start_char, b.end_char)))
                for a, b in self.training_pairs(eg)
            }
            for head_start, head_end, tail_start, tail_end, _ in relation_keys(eg.reference):
                total += 1
                pair = frozenset(((head_start, head_end), (tail_start, tail_end)))
                missed += pair not in pairs
        return missed, total

    def _model_input(
        self, docs: Sequence[Doc], pair_lists: Optional[PairLists] = None
    ) -> Tuple[Tuple[List[Doc], List[Ints2d]], PairLists]:
        if pair_lists is None:
            pair_lists = [self.scored_pairs(doc) for doc in docs]
        arrays = [
            numpy.array(
                [[a.start, a.end, b.start, b.end] for a, b in pairs], dtype="int32"
            ).reshape(-1, 4)
            for pairs in pair_lists
        ]
        return (list(docs), arrays), pair_lists

    def _probabilities(self, logits: Floats2d) -> Floats2d:
        if self.mode != "multilabel":
            return self.model.ops.softmax(logits)
        return self.model.ops.sigmoid(logits)

    # ---- prediction -----------------------------------------------------------------

    def predict(self, docs: Iterable[Doc]) -> Tuple[PairLists, Floats2d]:
        """The scored pairs of every doc and their probabilities (one row per pair)."""
        docs = list(docs)
        inputs, pair_lists = self._model_input(docs)
        if not any(pair_lists):
            return pair_lists, self.model.ops.alloc2f(0, self.n_classes)
        return pair_lists, self._probabilities(self.model.predict(inputs))

    def set_annotations(self, docs: Iterable[Doc], predictions: Tuple[PairLists, Floats2d]) -> None:
        """Replace each doc's predicted relations with the decoded ones."""
        pair_lists, probs = predictions
        probs = self.model.ops.to_numpy(probs)
        key = self.candidates.spans_key
        # A batch's pairs repeat a few entity label pairs: one type mask for each
        type_masks: Dict[Tuple[str, str], numpy.ndarray] = {}
        # One decision per row, or per two rows (a pair's two orders) in directed mode
        step = 2 if self.mode == "directed" else 1
        row = 0
        for doc, pairs in zip(docs, pair_lists):
            clear_relations(doc, source=SOURCE)
            decoded = []
            for i in range(0, len(pairs), step):
                if self.mode == "directed":
                    found = self._decode_directed(pairs[i:i + step], probs[row:row + step],
                                                  type_masks)
                else:
                    found = self._decode(*pairs[i], probs[row], type_masks)
                decoded.extend(Relation(head, tail, label, score, SOURCE, key)
                               for head, tail, label, score in found)
                row += step
            add_relations(doc, decoded)

    def _type_mask(self, first_label: str, second_label: str) -> numpy.ndarray:
        """1 for the output classes whose relation type fits the two entity labels (in
        the class's direction), 0 for the others; all 1 without ``argument_types``."""
        fits = self.argument_types
        mask = numpy.ones(self.n_classes, dtype="float32")
        if fits is None:
            return mask
        for i, label in enumerate(self.labels):
            if self.mode == "multilabel":
                mask[i] = fits(label, first_label, second_label)
            elif self.mode == "directed":
                mask[1 + i] = fits(label, first_label, second_label)
            else:
                mask[1 + 2 * i] = fits(label, first_label, second_label)
                mask[2 + 2 * i] = fits(label, second_label, first_label)
        return mask

    def _decode(self, first: Span, second: Span, probs: numpy.ndarray,
                type_masks: Dict[Tuple[str, str], numpy.ndarray]):
        """The relations one pair's probabilities say hold (exclusive, multilabel), types
        that do not fit the entity labels (``argument_types``) left out. ``type_masks``
        caches :meth:`_type_mask` by entity label pair."""
        mask = self._cached_mask(first, second, type_masks)
        labels = self.labels
        if self.mode == "multilabel":
            threshold = self.cfg["threshold"]
            for i, label in enumerate(labels):
                if mask[i] and probs[i] >= threshold:
                    yield first, second, label, float(probs[i])
            return
        probs = probs * mask
        best = int(probs.argmax())
        if best == 0:
            return
        label = labels[(best - 1) // 2]
        head, tail = (first, second) if best % 2 == 1 else (second, first)
        yield head, tail, label, float(probs[best])

    def _decode_directed(self, pairs: List[Tuple[Span, Span]], rows: numpy.ndarray,
                         type_masks: Dict[Tuple[str, str], numpy.ndarray]):
        """At most one relation for a pair scored in both orders (``pairs`` and their
        ``rows``, directed mode): each order's likeliest class among the types that fit
        the entity labels, and of the orders whose class is a relation, the likelier."""
        best: Optional[Tuple[Span, Span, str, float]] = None
        for (head, tail), probs in zip(pairs, rows):
            probs = probs * self._cached_mask(head, tail, type_masks)
            k = int(probs.argmax())
            if k and (best is None or probs[k] > best[3]):
                best = (head, tail, self.labels[k - 1], float(probs[k]))
        if best is not None:
            yield best

    def _cached_mask(self, first: Span, second: Span,
                     type_masks: Dict[Tuple[str, str], numpy.ndarray]) -> numpy.ndarray:
        """:meth:`_type_mask` for the two spans' labels, from ``type_masks`` once made."""
        labels_key = (first.label_, second.label_)
        if labels_key not in type_masks:
            type_masks[labels_key] = self._type_mask(*labels_key)
        return type_masks[labels_key]

    # ---- training -------------------------------------------------------------------

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch: candidates from ``eg.predicted``, gold from ``eg.reference``."""
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "RelationExtractor.update")
        inputs, pair_lists = self._model_input(
            [eg.predicted for eg in examples], [self.training_pairs(eg) for eg in examples]
        )
        set_dropout_rate(self.model, drop)
        if not any(pair_lists):
            self._pass_encoder_gradients(inputs[0])
            return losses
        logits, backprop = self.model.begin_update(inputs)
        loss, d_logits = self.get_loss(examples, (pair_lists, logits))
        backprop(d_logits)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def _pass_encoder_gradients(self, docs: List[Doc]) -> None:
        """Run the encoder's backward pass with a zero gradient from this pipe. With a
        shared encoder (a listener) the last listener's backward is what updates it with
        every listener's gradients, so a batch without pairs (entity-only docs) must
        still make it, or the other tasks' gradients for the batch are lost."""
        tok2vec = self.model.get_ref("tok2vec")
        vectors, backprop = tok2vec.begin_update(docs)
        backprop([self.model.ops.alloc2f(*v.shape) for v in vectors])

    def _truth(self, examples: Sequence[Example], pair_lists: PairLists) -> numpy.ndarray:
        """Gold targets: class indices (exclusive, directed) or a multi-hot matrix
        (multilabel)."""
        index = {label: i for i, label in enumerate(self.labels)}
        rows = []
        for eg, pairs in zip(examples, pair_lists):
            gold: Dict[Tuple[int, int, int, int], List[str]] = {}
            for *spans, label in relation_keys(eg.reference):
                gold.setdefault(tuple(spans), []).append(label)
            for first, second in pairs:
                a = (first.start_char, first.end_char)
                b = (second.start_char, second.end_char)
                forward = [index[lab] for lab in _gold_labels(gold, a, b) if lab in index]
                if self.mode == "multilabel":
                    target = numpy.zeros(len(index), dtype="float32")
                    target[forward] = 1.0
                    rows.append(target)
                    continue
                if self.mode == "directed":
                    rows.append(1 + min(forward) if forward else 0)
                    continue
                backward = [index[lab] for lab in _gold_labels(gold, b, a) if lab in index]
                if forward:
                    rows.append(1 + 2 * min(forward))
                elif backward:
                    rows.append(2 + 2 * min(backward))
                else:
                    rows.append(0)
        if self.mode == "multilabel":
            return numpy.array(rows, dtype="float32").reshape(-1, len(index))
        return numpy.array(rows, dtype="int64")

    def get_loss(
        self, examples: Iterable[Example], scores: Tuple[PairLists, Floats2d]
    ) -> Tuple[float, Floats2d]:
        """Cross-entropy (exclusive, directed) or binary cross-entropy (multilabel) on
        the logits against the targets (smoothed by ``label_smoothing``), averaged over
        pairs; returns the loss and its gradient for the logits."""
        examples = list(examples)
        validate_examples(examples, "RelationExtractor.get_loss")
        pair_lists, logits = scores
        ops = self.model.ops
        probs = ops.to_numpy(self._probabilities(logits))
        truth = self._truth(examples, pair_lists)
        n_pairs = max(len(probs), 1)
        eps = 1e-9
        weights = self._pair_weights(truth)
        smoothing = self.cfg["label_smoothing"]
        if self.mode != "multilabel":
            target = numpy.full_like(probs, smoothing / probs.shape[1])
            target[numpy.arange(len(truth)), truth] += 1.0 - smoothing
            losses = -(target * numpy.log(probs + eps)).sum(axis=1)
        else:
            target = truth * (1.0 - smoothing) + smoothing / 2
            losses = -(target * numpy.log(probs + eps)
                       + (1 - target) * numpy.log(1 - probs + eps)).sum(axis=1)
        d_logits = weights[:, None] * (probs - target) / n_pairs
        return float((weights * losses).sum() / n_pairs), ops.asarray2f(d_logits)

    def _pair_weights(self, truth: numpy.ndarray) -> numpy.ndarray:
        """Each pair's loss weight: its gold relation type's (the largest of them in
        multilabel mode), 1 for a pair with none or before initialize weighed the types."""
        label_weights = numpy.asarray([1.0, *self.cfg["label_weights"]], dtype="float32")
        if len(label_weights) == 1:
            return numpy.ones(len(truth), dtype="float32")
        if self.mode == "exclusive":
            return label_weights[(truth + 1) // 2]
        if self.mode == "directed":
            return label_weights[truth]
        positive = truth > 0
        return numpy.where(positive.any(axis=1),
                           (positive * label_weights[1:]).max(axis=1, initial=0.0),
                           1.0).astype("float32")

    def _weigh_labels(self, examples: Iterable[Example]) -> None:
        """Set ``cfg["label_weights"]`` from how often each relation type occurs in the
        training data (see ``class_weight_power`` in the module docstring)."""
        power = self.cfg["class_weight_power"]
        if not power:
            self.cfg["label_weights"] = []
            return
        counts = dict.fromkeys(self.labels, 0)
        for eg in examples:
            for rel in eg.reference._.relations:
                if rel.label in counts:
                    counts[rel.label] += 1
        seen = [n for n in counts.values() if n]
        mean = sum(seen) / len(seen) if seen else 1.0
        self.cfg["label_weights"] = [
            (n / mean) ** -power if n else 1.0 for n in counts.values()
        ]
        logger.info("'%s' loss weights by relation type: %s", self.name,
                    {label: round(w, 2) for label, w in
                     zip(self.labels, self.cfg["label_weights"])})

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Take the labels from the data (or ``labels``) and size the model's output."""
        validate_get_examples(get_examples, "RelationExtractor.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        else:
            found = set()
            for eg in get_examples():
                found.update(rel.label for rel in eg.reference._.relations)
            for label in sorted(found):
                self.add_label(label)
        self.log_unreachable_gold(get_examples())
        if not self.labels:
            raise ValueError(
                f"'{self.name}' found no relation labels: the training data has no "
                "doc._.relations and no labels were given"
            )
        self._weigh_labels(get_examples())
        self.model.get_ref("output_layer").set_dim("nO", self.n_classes)
        sample = list(islice(get_examples(), 10))
        inputs, _ = self._model_input([eg.predicted for eg in sample],
                                      [self.training_pairs(eg) for eg in sample])
        self.model.initialize(X=inputs)

    def log_unreachable_gold(self, examples: Iterable[Example]) -> int:
        """Count the training data's gold relations that are not candidates and log them
        (a warning when there are any: the model can never learn or predict them)."""
        missed, total = self.unreachable_gold(examples)
        cands = self.candidates
        message = (
            f"'{self.name}': {missed} of {total} gold relations in the training data are "
            f"not candidate pairs (max_distance={cands.max_distance}, "
            f"max_candidates={cands.max_candidates}, same_sentence={cands.same_sentence}, "
            "allowed_label_pairs, or an argument that is not an entity of the predicted "
            "doc): they cannot be learned, and count as missed in evaluation"
        )
        logger.log(logging.WARNING if missed else logging.INFO, message)
        return missed

    def score(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
        """Relation scores (``rel_*``); see :mod:`spacy_xlie.scorers`."""
        validate_examples(examples, "RelationExtractor.score")
        return super().score(examples, **kwargs)


def _gold_labels(
    gold: Dict[Tuple[int, int, int, int], List[str]], head: Tuple[int, int],
    tail: Tuple[int, int],
) -> List[str]:
    """Labels of the gold relations from ``head`` to ``tail`` (character offsets): those
    with exactly these arguments or, failing that, with arguments that ``head`` and
    ``tail`` overlap (a predicted entity reads its gold argument's relation)."""
    exact = gold.get(head + tail)
    if exact is not None:
        return exact
    return [label for (h0, h1, t0, t1), labels in gold.items()
            if head[0] < h1 and h0 < head[1] and tail[0] < t1 and t0 < tail[1]
            for label in labels]
