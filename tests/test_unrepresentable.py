"""doc._.xlie_unrepresentable: plain data that survives what doc._.relations survives."""

import pickle

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from spacy_xlie.unrepresentable import add_unrepresentable, get_unrepresentable

RECORD = {"label": "org:subsidiaries", "head": "TK", "tail": "", "reason": "empty entity marker"}


def test_round_trips():
    doc = Doc(Vocab(), words=["TK", "owns", "."])
    assert get_unrepresentable(doc) == [] and doc._.xlie_unrepresentable is None
    assert add_unrepresentable(doc, "org:subsidiaries", head="TK", tail="",
                               reason="empty entity marker") == RECORD
    docbin = DocBin(store_user_data=True)
    docbin.add(doc)
    (from_bin,) = DocBin().from_bytes(docbin.to_bytes()).get_docs(Vocab())
    copies = [from_bin, Doc(Vocab()).from_bytes(doc.to_bytes()), pickle.loads(pickle.dumps(doc)),
              doc.copy()]
    for copy in copies:
        assert get_unrepresentable(copy) == [RECORD]
    # a second record is appended, not replacing the first (also after a DocBin)
    add_unrepresentable(from_bin, "per:spouse", reason="empty entity marker")
    assert [r["label"] for r in get_unrepresentable(from_bin)] == ["org:subsidiaries",
                                                                   "per:spouse"]
