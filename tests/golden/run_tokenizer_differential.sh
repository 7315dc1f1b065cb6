#!/usr/bin/env bash
# The long randomized differential run (issue 15): COUNT random strings per
# trained tokenizer (default 10,000) from Hugging Face tokenizers (npm
# `tokenizers`, diff_tokenizers.mjs) compared with attnserve's tokenizers by
# build/bin/tokenizer_differential_test. Needs `npm install --ignore-scripts`
# here and a built tree.
#   tests/golden/run_tokenizer_differential.sh [COUNT] [SEED] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${1:-10000}
SEED=${2:-1}
BUILD=$(cd "${3:-../../build}" && pwd)
OUT=$(mktemp --suffix=.json)
trap 'rm -f "$OUT"' EXIT
node diff_tokenizers.mjs --count "$COUNT" --seed "$SEED" --out "$OUT"
ATTNSERVE_TOKENIZER_DIFFERENTIAL="$OUT" "$BUILD/bin/tokenizer_differential_test"
