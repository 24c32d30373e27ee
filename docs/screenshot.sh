#!/usr/bin/env bash
# The README's picture, made by the commands a user runs: docs/examples.jsonl (hand-annotated
# German, Arabic and Chinese sentences, relations with source "gold") plus, when a pipeline
# is given, its predictions for the same entities (`spacy-xlie predict --entities given`),
# drawn by `spacy-xlie show` and photographed by Debian's headless Chromium.
#
# With --raw, the picture is of raw German and French text (docs/raw_examples.jsonl, no
# entities given) through a pipeline that finds its own entities (`xx_xlie_e5small`):
# docs/relations_raw.png.
#
#   bash docs/screenshot.sh [PIPELINE]
#   bash docs/screenshot.sh --raw PIPELINE
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
work=bench/work/screenshot
width=()
mkdir -p "$work"
src=docs/examples.jsonl
png=docs/relations.png
if [ "${1:-}" = "--raw" ]; then
    "$python" -m spacy_xlie predict "$2" docs/raw_examples.jsonl "$work/raw.spacy"
    src="$work/raw.spacy"
    png=docs/relations_raw.png
    width=(--width 680)  # the raw sentences' rows wrap inside the 760-pixel window
elif [ $# -ge 1 ]; then
    "$python" -m spacy_xlie predict "$1" "$src" "$work/examples.spacy" --entities given
    src="$work/examples.spacy"
fi
"$python" -m spacy_xlie show "$src" --out "$work/relations.html" "${width[@]}"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=760,700 \
    --screenshot="$png" "file://$PWD/$work/relations.html" 2>/dev/null
ls -l "$png"
