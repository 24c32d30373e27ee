"""Label maps: from KB relations (Wikidata properties) to the label scheme being trained.

A map is a plain ``{kb_relation: label}`` dict. Files hold it as a JSON object or as TSV
(``P108<TAB>per:employee_of``). ``wikidata-kbp37`` names the built-in map below.
"""

from pathlib import Path
from typing import Dict, Union

import srsly

from ..errors import XlieDataError

#: Wikidata properties whose direction and meaning match a KBP37 relation (subject = e1).
#: Properties without a faithful KBP37 counterpart are left out on purpose: a wrong
#: mapping teaches the wrong relation, a missing one only costs data.
WIKIDATA_TO_KBP37: Dict[str, str] = {
    "P26": "per:spouse",
    "P27": "per:origin",
    "P108": "per:employee_of",
    "P112": "org:founded_by",
    "P159": "org:city_of_headquarters",
    "P169": "org:top_members/employees",
    "P355": "org:subsidiaries",
    "P488": "org:top_members/employees",
}

BUILTIN_MAPS: Dict[str, Dict[str, str]] = {"wikidata-kbp37": WIKIDATA_TO_KBP37}


def load_label_map(source: Union[str, Path]) -> Dict[str, str]:
    """A label map from a built-in name, a ``.json`` object file or a two-column TSV file."""
    if str(source) in BUILTIN_MAPS:
        return dict(BUILTIN_MAPS[str(source)])
    path = Path(source)
    if path.suffix.lower() == ".json":
        data = srsly.read_json(path)
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
        ):
            raise XlieDataError("expected a JSON object {relation: label}", path)
        return data
    mapping: Dict[str, str] = {}
    with open(path, encoding="utf8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = [c.strip() for c in line.split("\t")]
            if len(cols) != 2 or not all(cols):
                raise XlieDataError("expected 'RELATION<TAB>LABEL'", path, line_no)
            mapping[cols[0]] = cols[1]
    return mapping
