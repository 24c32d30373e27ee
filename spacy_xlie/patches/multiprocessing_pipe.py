"""Cheap doc transport for ``nlp.pipe(n_process=N)`` in pipelines with spacy-xlie components.

spaCy's multiprocessing sends every ``Doc`` input to its worker as ``Doc.to_bytes()`` and
every processed doc back the same way, rebuilt with ``Doc.from_bytes`` in the main
process. That round trip costs about as much as labelling a sentence or projecting one
pair (``bench/results/scale_out.md``): ``to_dict`` walks every token through Python
``Token`` objects eight times for its string table and once more for ``doc.text``, and
``from_dict`` indexes a NumPy array per token twice and calls the morphology table per
token. On 2 cores the main process, which decodes, competes with the two workers, so
``n_process=2`` gained little (labeler, relation extractor) or lost (projection).

This module replaces ``Language._multiprocessing_pipe`` (spaCy 3.8, whose logic it keeps:
the same batching, flow control, order, contexts, error handler and worker exit) with one
that moves each batch of docs as one pickled payload:

- the token attributes ``Doc.to_bytes`` keeps (``Doc._get_array_attrs()``), as one array
  for the whole batch (``Doc.to_array``, C);
- the strings behind the hashes in that array and in span groups, each sent once per
  worker and direction: a string the other side has already received is not sent again;
- per doc: user data as it is (pickled: tuples stay tuples, as with ``n_process=1``),
  and, only where they differ from a new doc's, the tensor, ``cats``, ``sentiment``, span
  groups and ``has_unknown_spaces``; the context as spaCy sends it;

and rebuilds docs as ``Doc(vocab, words=ORTH hashes, spaces)`` plus ``Doc.from_array`` for
the other attributes (a column that is 0 throughout the batch, as a new doc has it, is
left out: ``MORPH`` costs a Python call per token). The cyclic garbage collector pauses
while a batch is packed or rebuilt. The rebuilt doc has the same ``to_bytes()`` and user
data as the worker's. A batch that cannot be pickled (an unpicklable user-data value)
falls back to spaCy's ``Doc.to_bytes``; a value neither can carry (a function) is a
``ValueError`` that names it. The caller's heap is frozen (``gc.freeze``) while
the workers run, so that the collections that rebuilding docs triggers do not walk it
again and again.

The main process is one of the ``n_process``: it starts ``n_process - 1`` workers, keeps
each of them two batches ahead, and while the next result in input order is not back it
runs the following batch through the pipeline itself (output order, contexts and error
handling as for a worker's batch). With 2 processes on 2 cores, spaCy's layout ran
three (two workers and a main process rebuilding docs) and sent every doc both ways;
now about half the docs never travel, and two processes share the two cores.

Workers freeze the objects they inherit (``gc.freeze``), so that the garbage collector
never walks the parent's heap again (nor copies its pages, after ``fork``), and cap
torch's intra-op threads at ``cpu_count // n_process`` so N workers do not each start one
thread per core.

It applies to pipelines with at least one spacy-xlie component; any other pipeline keeps
spaCy's own implementation. ``XLIE_FAST_PIPE=0`` turns it off. :func:`install` runs on
``import spacy_xlie`` (components loaded through entry points import the package).
"""

import gc
import multiprocessing as mp
import os
import pickle
import queue
import sys
import threading
import traceback
import warnings
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import numpy
import srsly
from spacy.about import __version__ as spacy_version
from spacy.attrs import (
    DEP,
    ENT_ID,
    ENT_KB_ID,
    ENT_TYPE,
    LEMMA,
    LENGTH,
    MORPH,
    NORM,
    ORTH,
    SENT_START,
    SPACY,
    TAG,
)
from spacy.errors import Errors, Warnings
from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens.underscore import Underscore
from spacy.util import minibatch

ENV_VAR = "XLIE_FAST_PIPE"
#: The spaCy versions whose private API (below) this module was written against.
SPACY_VERSIONS = ((3, 8),)
#: The private spaCy API this module replaces or calls: (owner, name).
PRIVATE_API = ((Language, "_multiprocessing_pipe"), (Language, "_ensure_doc_with_context"),
               (Doc, "_get_array_attrs"), (Underscore, "get_state"),
               (Underscore, "load_state"))
#: Attributes whose values are string hashes (POS and ENT_IOB are enums, HEAD an offset).
_STRING_ATTRS = (ORTH, NORM, LEMMA, TAG, MORPH, DEP, ENT_TYPE, ENT_KB_ID, ENT_ID)
#: The token attributes ``Doc.to_bytes`` keeps, in its order (none on a spaCy without
#: ``Doc._get_array_attrs``: :func:`install` then refuses).
ATTRS: Tuple[int, ...] = tuple(getattr(Doc, "_get_array_attrs", tuple)())
_COL = {attr: i for i, attr in enumerate(ATTRS)}
_STRING_COLS = [_COL[a] for a in _STRING_ATTRS if a in _COL]
#: Columns set with ``from_array`` (LENGTH, SPACY and ORTH come from the words).
_SET_COLS = [i for i, a in enumerate(ATTRS) if a not in (LENGTH, SPACY, ORTH)]
_ORTH_COL, _SPACY_COL, _SENT_START_COL = (_COL.get(a, -1) for a in (ORTH, SPACY, SENT_START))
_ATTRS_LIST = list(ATTRS)
_EMPTY_TENSOR_SHAPE = (0,)
_FLOAT32 = numpy.dtype("float32")
_PROTOCOL = pickle.HIGHEST_PROTOCOL
#: A packer forgets what it has sent past this many strings (they are sent again).
_MAX_SENT = 2_000_000

_ORIGINAL: Optional[Callable] = None
#: Seconds a worker gets to exit once the run is over before it is terminated.
_JOIN_SECONDS = 10.0


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def applies(nlp: Language) -> bool:
    """Whether ``nlp.pipe(n_process=N)`` uses this transport for ``nlp``."""
    return enabled() and any(
        type(proc).__module__.startswith("spacy_xlie.") for _name, proc in nlp.pipeline)


# -- the codec ------------------------------------------------------------------------------
class DocPacker:
    """Packs batches of docs for one receiver, remembering which strings it has sent."""

    def __init__(self) -> None:
        self.sent: Set[int] = set()

    def pack(self, docs: Sequence[Doc]) -> bytes:
        """One pickled payload for ``docs``; :func:`unpack_docs` rebuilds them."""
        with _no_gc():
            return self._pack(docs)

    def _pack(self, docs: Sequence[Doc]) -> bytes:
        if docs:
            # (a list of 15 attributes: 2-d for any doc; a list is cheaper than a tuple)
            array = numpy.concatenate([doc.to_array(_ATTRS_LIST) for doc in docs])
        else:
            array = numpy.zeros((0, len(ATTRS)), dtype="uint64")
        # A new doc's tokens hold 0 in every column but SENT_START (1 on the first token):
        # columns that are 0 throughout the batch need not travel.
        cols = [i for i in _SET_COLS if i == _SENT_START_COL or array[:, i].any()]
        kept = set(cols)
        string_cols = [i for i in _STRING_COLS if i == _ORTH_COL or i in kept]
        hashes = numpy.unique(array[:, string_cols]).tolist()
        metas = []
        for doc in docs:
            extra = None
            tensor = doc.tensor
            if (tensor.shape != _EMPTY_TENSOR_SHAPE or tensor.dtype is not _FLOAT32
                    or doc.cats or doc.sentiment or doc.spans):
                extra = {"cats": doc.cats, "sentiment": doc.sentiment, "tensor": tensor}
                if doc.spans:
                    extra["spans"] = doc.spans.to_bytes()
                    hashes.extend(_span_hashes(doc))
            metas.append((len(doc), doc.has_unknown_spaces, doc.user_data or None, extra,
                          doc._context))
        new = list(set(hashes).difference(self.sent))
        body = numpy.ascontiguousarray(array[:, [_ORTH_COL, _SPACY_COL] + cols])
        payload = pickle.dumps(
            (_lookup(new, docs), [ATTRS[i] for i in cols], body.tobytes(), metas),
            protocol=_PROTOCOL)
        if len(self.sent) + len(new) > _MAX_SENT:
            self.sent.clear()
        self.sent.update(new)  # only once the payload exists: it will be delivered
        return payload


def _lookup(hashes: List[int], docs: Sequence[Doc]) -> List[str]:
    """The strings of ``hashes`` that the docs' vocabs know (0 is the empty string)."""
    stores = {id(doc.vocab.strings): doc.vocab.strings for doc in docs}
    out = []
    for key in hashes:
        if not key:
            continue
        for store in stores.values():
            if key in store:
                out.append(store[key])
                break
    return out


def _span_hashes(doc: Doc) -> List[int]:
    strings = doc.vocab.strings
    out = []
    for group in doc.spans.values():
        for span in group:
            out.append(span.label)
            if span.kb_id in strings:
                out.append(span.kb_id)
            if span.id in strings:
                out.append(span.id)
    return out


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is built: unpickling a batch's
    user data makes thousands of containers at once, and the collections they trigger
    (generations 0 and 1 traversed again and again, and a full one over the heap of the
    KB or model) cost the labeler's main process as much as building the docs (42 of
    88 us/doc). They are all reachable; the next collection sees them once."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _freeze_heap() -> bool:
    """Move the objects that exist now out of the collector's reach (``gc.freeze``) and
    say so, unless something else froze objects already (then leave theirs alone). A full
    collection in the main process walks every object it holds, and rebuilding docs
    triggers such collections again and again."""
    if gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def unpack_docs(vocab: Any, payload: bytes) -> List[Doc]:
    """The docs of a :meth:`DocPacker.pack` payload, in ``vocab``; ``doc._context`` set."""
    with _no_gc():
        return _unpack_docs(vocab, payload)


def _unpack_docs(vocab: Any, payload: bytes) -> List[Doc]:
    strings, attrs, body, metas = pickle.loads(payload)
    add = vocab.strings.add
    for string in strings:
        add(string)
    array = numpy.frombuffer(body, dtype="uint64").reshape(-1, 2 + len(attrs))
    orths = array[:, 0].tolist()
    spaces = array[:, 1].tolist()
    values = array[:, 2:]
    docs = []
    start = 0
    for n_tokens, unknown_spaces, user_data, extra, context in metas:
        end = start + n_tokens
        doc = Doc(vocab, words=orths[start:end], spaces=spaces[start:end])
        if n_tokens and attrs:
            doc.from_array(attrs, values[start:end])
        start = end
        if unknown_spaces:
            doc.has_unknown_spaces = True
        if extra is not None:
            doc.cats = extra["cats"]
            doc.sentiment = extra["sentiment"]
            doc.tensor = extra["tensor"]
            if "spans" in extra:
                doc.spans.from_bytes(extra["spans"])
        if user_data:
            doc.user_data.update(user_data)
        if context is not None:
            doc._context = context
        docs.append(doc)
    return docs


# -- messages -------------------------------------------------------------------------------
# Main -> worker: (texts, packed docs or None, contexts); texts[i] is None where item i is
# a Doc (taken in order from the packed docs), else the str or bytes spaCy accepts.
# Worker -> main: ("docs", payload, padding) | ("bytes", [(bytes, context)], padding) |
# ("error", msgpack'd traceback, padding); padding = items the components dropped.
def _pack_inputs(packer: DocPacker, batch: List[Tuple[Any, Any]]) -> tuple:
    texts, docs = [], []
    contexts = []
    for doc_like, context in batch:
        if isinstance(doc_like, Doc):
            texts.append(None)
            docs.append(doc_like)
        else:
            texts.append(doc_like)
        contexts.append(context)
    if not docs:
        return texts, None, contexts
    try:
        return texts, packer.pack(docs), contexts
    except Exception:
        # e.g. a user-data value that pickle refuses: spaCy's own serialisation
        docs_iter = iter(_spacy_bytes(docs))
        return [next(docs_iter) if text is None else text for text in texts], None, contexts


def _unpack_inputs(vocab: Any, message: tuple) -> List[Tuple[Any, Any]]:
    texts, payload, contexts = message
    docs = iter(unpack_docs(vocab, payload) if payload is not None else [])
    return [(next(docs) if text is None else text, context)
            for text, context in zip(texts, contexts)]


def _pack_outputs(packer: DocPacker, docs: List[Doc], padding: int) -> tuple:
    try:
        return ("docs", packer.pack(docs), padding)
    except Exception:
        # e.g. a user-data value that pickle refuses: spaCy's own serialisation
        return ("bytes", list(zip(_spacy_bytes(docs), [doc._context for doc in docs])),
                padding)


def _spacy_bytes(docs: Sequence[Doc]) -> List[bytes]:
    """``Doc.to_bytes`` of each doc; a ``ValueError`` naming the user-data value when
    neither pickle nor spaCy's msgpack can carry it to another process (a function, an
    open file...), instead of msgpack's bare ``TypeError``."""
    out = []
    for i, doc in enumerate(docs):
        try:
            out.append(doc.to_bytes())
        except Exception as err:
            raise ValueError(
                f"doc {i} of the batch cannot go to or from a worker process: "
                f"{_unsendable(doc)} ({err}); keep such values out of doc.user_data or "
                "use n_process=1") from None
    return out


def _unsendable(doc: Doc) -> str:
    """The first user-data entry of ``doc`` that pickle refuses, for an error message."""
    for key, value in doc.user_data.items():
        try:
            pickle.dumps(value, protocol=_PROTOCOL)
        except Exception:
            return f"user_data[{key!r}] is a {type(value).__name__}"
    return "its user data"


def _limit_threads(n_process: int) -> None:
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        want = max(1, (os.cpu_count() or 1) // n_process)
        if torch.get_num_threads() > want:
            torch.set_num_threads(want)


def _apply_pipes(
    ensure_doc: Callable[[Any, Any], Doc],
    pipes: Iterable[Callable[..., Iterator[Doc]]],
    receiver: Any,
    sender: Any,
    underscore_state: Tuple[dict, dict, dict],
    n_process: int,
    readers: Sequence[Any] = (),
) -> None:
    """Worker: spaCy's ``_apply_pipes`` with the payloads above. ``readers`` are the main
    process's ends of the result pipes, which a forked worker inherits: it closes its
    copies, or a send would never fail once the main process has closed its own end (the
    caller stopped early) and the worker would wait on a full pipe forever."""
    for reader in readers:
        reader.close()
    vocab = ensure_doc.__self__.vocab  # type: ignore[attr-defined]  # the pipeline's
    Underscore.load_state(underscore_state)
    # The objects inherited from the parent (the pipeline, its KB or model, spaCy itself)
    # live as long as the worker: frozen, no collection walks them again. Unfrozen, the
    # worker's first full collection walks them all and copies every page it touches
    # (copy-on-write after fork): 0.7 s more in collections and 26,000 more page faults
    # per worker over 4,000 projection pairs.
    gc.freeze()
    _limit_threads(n_process)
    packer = DocPacker()
    # Batches go back from a thread: the main process reads the workers' pipes in turn,
    # so a worker done before its turn would otherwise wait in send() (a batch is larger
    # than the pipe's buffer) instead of starting its next batch.
    outbox: queue.Queue[Optional[tuple]] = queue.Queue()
    closed = threading.Event()
    thread = threading.Thread(target=_send_loop, args=(outbox, sender, closed), daemon=True)
    thread.start()
    try:
        while not closed.is_set():
            message = receiver.get()
            if message is None:  # end of work
                break
            n_items = len(message[0])
            try:
                docs = (ensure_doc(doc_like, context)
                        for doc_like, context in _unpack_inputs(vocab, message))
                for pipe in pipes:
                    docs = pipe(docs)
                done = list(docs)
                data = _pack_outputs(packer, done, n_items - len(done))
            except Exception:
                data = ("error", srsly.msgpack_dumps(traceback.format_exc()), n_items - 1)
            outbox.put(data)
    finally:
        outbox.put(None)
        thread.join()
        sender.close()
        receiver.close()


def _send_loop(outbox: "queue.Queue[Optional[tuple]]", sender: Any,
               closed: threading.Event) -> None:
    """Send the worker's results in order until ``None``; stop at a closed pipe (the main
    process's error handler stopped the run)."""
    while True:
        data = outbox.get()
        if data is None:
            return
        if closed.is_set():
            continue
        try:
            sender.send(data)
        except OSError:  # BrokenPipeError included
            closed.set()


def _results(vocab: Any, data: tuple) -> Iterator[Tuple[Optional[Doc], Any, Optional[bytes]]]:
    """(doc, context, error) per input item of one batch, as spaCy's worker sends them."""
    kind, body, padding = data
    if kind == "docs":
        for doc in unpack_docs(vocab, body):
            yield doc, doc._context, None
    elif kind == "bytes":
        for byte_doc, context in body:
            yield Doc(vocab).from_bytes(byte_doc), context, None
    else:
        yield None, None, body
    for _ in range(padding):
        yield None, None, None


def _worker_batch(vocab: Any, data: tuple) -> Tuple[List[Doc], Optional[BaseException]]:
    """A worker's batch as the main process's own (:func:`_process_here`): the docs, with
    their contexts, and the error for the handler (a failed batch has no docs)."""
    docs: List[Doc] = []
    failure: Optional[BaseException] = None
    for doc, context, error in _results(vocab, data):
        if doc is not None:
            doc._context = context
            docs.append(doc)
        elif error is not None:
            failure = ValueError(Errors.E871.format(error=srsly.msgpack_loads(error)))
    return docs, failure


#: Batches each worker holds ahead of the main process (spaCy keeps 2 in flight too).
_DEPTH = 2
#: Batches the main process may process ahead of a worker's result it waits for.
_LOCAL_AHEAD = 2


class _Slot:
    """One batch in input order: sent to ``worker`` (``None``: processed here), with its
    docs and error once known; the error is reported when the batch's turn comes."""

    __slots__ = ("worker", "docs", "error")

    def __init__(self, worker: Optional[int], docs: Optional[List[Doc]] = None,
                 error: Optional[BaseException] = None) -> None:
        self.worker, self.docs, self.error = worker, docs, error


def _process_here(
    nlp: Language, pipes: Sequence[Callable[..., Iterator[Doc]]], batch: List[Tuple[Any, Any]]
) -> Tuple[List[Doc], Optional[BaseException]]:
    """A batch through the pipes in the main process, as a worker would run it: an error
    drops the batch and goes to the error handler in the same form as a worker's."""
    try:
        docs = (nlp._ensure_doc_with_context(doc_like, context) for doc_like, context in batch)
        for pipe in pipes:
            docs = pipe(docs)
        return list(docs), None
    except Exception:
        return [], ValueError(Errors.E871.format(error=traceback.format_exc()))


@contextmanager
def _threads_for(n_process: int) -> Iterator[None]:
    """Cap torch's threads in the main process while it is one of ``n_process``."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    _limit_threads(n_process)
    try:
        yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)


@contextmanager
def _tokenizers_told_of_fork() -> Iterator[None]:
    """Start the workers with ``TOKENIZERS_PARALLELISM=false`` (unless the user set it).
    A worker forked after the parent ran a Hugging Face fast tokenizer turns the
    tokenizer's threads off by itself, and prints a four-line warning to the user's
    stderr for each worker when the variable is unset; set, the same happens quietly.
    The parent's own setting is restored once the workers have started."""
    name = "TOKENIZERS_PARALLELISM"
    told = name in os.environ
    os.environ.setdefault(name, "false")
    try:
        yield
    finally:
        if not told:
            del os.environ[name]


def _multiprocessing_pipe(
    self: Language,
    texts: Iterable[Any],
    pipes: Iterable[Callable[..., Iterator[Doc]]],
    n_process: int,
    batch_size: int,
) -> Iterator[Doc]:
    """``Language._multiprocessing_pipe`` with the payloads above (see the module), and the
    main process as one of the ``n_process``: ``n_process - 1`` workers are each kept
    ``_DEPTH`` batches ahead, and while the main process waits for the next result in
    input order it runs the following batch itself (at most ``_LOCAL_AHEAD`` ahead)."""
    if not applies(self):
        assert _ORIGINAL is not None
        yield from _ORIGINAL(self, texts, pipes, n_process, batch_size)
        return
    pipes = list(pipes)
    n_workers = max(1, n_process - 1)
    items = ((t, t._context if isinstance(t, Doc) else None) for t in texts)
    batches = iter(minibatch(items, batch_size))
    texts_q: List[Any] = [mp.Queue() for _ in range(n_workers)]
    recv_ch, send_ch = zip(*[mp.Pipe(False) for _ in range(n_workers)])
    packers = [DocPacker() for _ in range(n_workers)]
    in_flight = [0] * n_workers
    order: deque[_Slot] = deque()
    exhausted = False

    def next_batch() -> Optional[List[Tuple[Any, Any]]]:
        nonlocal exhausted
        batch = next(batches, None)
        if batch is None:
            exhausted = True
        return batch

    def feed() -> None:
        """Send batches, in input order, to the workers with fewer than ``_DEPTH``."""
        while not exhausted:
            worker = min(range(n_workers), key=in_flight.__getitem__)
            if in_flight[worker] >= _DEPTH:
                return
            batch = next_batch()
            if batch is None:
                return
            texts_q[worker].put(_pack_inputs(packers[worker], batch))
            in_flight[worker] += 1
            order.append(_Slot(worker))

    feed()
    procs = [
        mp.Process(target=_apply_pipes,
                   args=(self._ensure_doc_with_context, pipes, rch, sch,
                         Underscore.get_state(), n_process, recv_ch))
        for rch, sch in zip(texts_q, send_ch)
    ]
    with _tokenizers_told_of_fork():
        for proc in procs:
            proc.start()
    # Close the writing ends, so that reading does not block once a worker has closed.
    for tx in send_ch:
        tx.close()
    # The caller's heap (the input docs, the pipeline) outlives the run: frozen, the
    # collections that rebuilding docs triggers do not walk it again and again.
    thaw = _freeze_heap()
    try:
        with _threads_for(n_process):
            while order or not exhausted:
                head = order[0] if order else None
                if head is not None and (
                        head.worker is None or exhausted or recv_ch[head.worker].poll()
                        or sum(slot.worker is None for slot in order) >= _LOCAL_AHEAD):
                    order.popleft()
                    if head.worker is not None:
                        head.docs, head.error = _worker_batch(
                            self.vocab, recv_ch[head.worker].recv())
                        in_flight[head.worker] -= 1
                        feed()
                    if head.error is not None:
                        self.default_error_handler(None, None, None, head.error)
                    yield from head.docs or ()
                    continue
                # the next result is not back yet: run the next batch here meanwhile
                batch = next_batch()
                if batch is not None:
                    order.append(_Slot(None, *_process_here(self, pipes, batch)))
    finally:
        if thaw:
            gc.unfreeze()
        # Orderly stop: the queues are empty, the sentinel ends each worker. Stop early (the
        # caller's break, an error): the sentinel comes last, and closing our ends makes a
        # worker's next send fail, so it exits; a worker still inside a long batch is
        # terminated after _JOIN_SECONDS, and inputs it never read are dropped rather than
        # waited on.
        for q in texts_q:
            q.put(None)
            q.close()
            q.cancel_join_thread()
        for r in recv_ch:
            r.close()
        for proc in procs:
            proc.join(_JOIN_SECONDS)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        if not all(proc.exitcode == 0 for proc in procs):
            warnings.warn(Warnings.W127, stacklevel=2)


def unsupported() -> List[str]:
    """What this spaCy lacks or changed of what the module relies on (empty: nothing)."""
    problems = [f"{owner.__name__}.{name}" for owner, name in PRIVATE_API
                if not hasattr(owner, name)]
    needed = {ORTH, SPACY, LENGTH, SENT_START, *_STRING_ATTRS}
    if ATTRS and not needed <= set(ATTRS):
        problems.append("Doc._get_array_attrs() without the token attributes it had")
    version = tuple(int(part) for part in spacy_version.split(".")[:2] if part.isdigit())
    if version not in SPACY_VERSIONS:
        problems.append(f"spaCy {spacy_version} (written for "
                        f"{', '.join('.'.join(map(str, v)) for v in SPACY_VERSIONS)})")
    return problems


def install() -> None:
    """Route ``Language._multiprocessing_pipe`` through this module (idempotent), unless
    this spaCy lacks or changed the private API it replaces: then spaCy's own stays, with
    a warning."""
    global _ORIGINAL
    problems = unsupported()
    if problems:
        warnings.warn("spacy-xlie's multiprocessing transport is off, spaCy's own is used: "
                      f"it relies on private spaCy API ({'; '.join(problems)})", stacklevel=2)
        return
    current = Language._multiprocessing_pipe
    if current is _multiprocessing_pipe:
        return
    _ORIGINAL = current
    Language._multiprocessing_pipe = _multiprocessing_pipe  # type: ignore[method-assign]
