"""srsly's msgpack codec look-ups are cached on ``import spacy_xlie``: no entry-point scan
per call, the same codecs, and codecs registered later are still used."""

import catalogue
import spacy
import srsly
from spacy.tokens import Doc

import spacy_xlie  # noqa: F401  (installs the cache)
from spacy_xlie import add_entities, add_relation
from spacy_xlie.patches.msgpack_codecs import cache_msgpack_codecs


def test_no_entry_point_scan_per_call(monkeypatch):
    srsly.msgpack_loads(srsly.msgpack_dumps({"warm": 1}))
    scans = []
    original = catalogue.Registry.get_entry_points

    def counting(self):
        scans.append(self.namespace)
        return original(self)

    monkeypatch.setattr(catalogue.Registry, "get_entry_points", counting)
    for i in range(20):
        assert srsly.msgpack_loads(srsly.msgpack_dumps({"n": i})) == {"n": i}
    assert scans == []


def test_codec_registered_later_is_used():
    class Point:
        def __init__(self, x):
            self.x = x

    def encode(obj, chain=None):
        if isinstance(obj, Point):
            return {"__point__": obj.x}
        return obj if chain is None else chain(obj)

    def decode(obj, chain=None):
        if isinstance(obj, dict) and "__point__" in obj:
            return ("point", obj["__point__"])
        return obj if chain is None else chain(obj)

    cache_msgpack_codecs()  # idempotent: a second call changes nothing
    srsly.msgpack_dumps([1])  # fill the cache before registering
    srsly.msgpack_encoders.register("xlie_test_point", func=encode)
    srsly.msgpack_decoders("xlie_test_point")(decode)  # the decorator form
    assert srsly.msgpack_loads(srsly.msgpack_dumps([Point(3)])) == [("point", 3)]


def test_doc_round_trip_keeps_relations():
    nlp = spacy.blank("en")
    doc = nlp("Marie Curie married Pierre Curie in Paris.")
    head, tail = add_entities(doc, [doc.char_span(0, 11, "PER"), doc.char_span(20, 32, "PER")])
    add_relation(doc, head, tail, "per:spouse", score=0.5, source="test")
    copy = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert [(r.head.text, r.label, r.tail.text, r.score, r.source) for r in copy._.relations] \
        == [("Marie Curie", "per:spouse", "Pierre Curie", 0.5, "test")]
