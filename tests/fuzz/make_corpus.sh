#!/usr/bin/env bash
# Writes the seed corpora of the fuzz harnesses into tests/fuzz/corpus/<name>/
# from text-format protos and the test data in tests/golden. Rerun after
# changing it; crash-* files (regression cases) are kept.
# Each seed starts with the harness's selector byte (see each *_fuzzer.cc).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
GOLDEN=$ROOT/tests/golden
C=corpus

# seed DIR NAME SELECTOR_BYTE FILE: writes the byte then the file.
seed() { { printf "\\x$(printf %02x "$3")"; cat "$4"; } > "$C/$1/$2"; }
# proto NAME SELECTOR MESSAGE TEXT: the text-format MESSAGE, binary-encoded.
proto() {
  local tmp
  tmp=$(mktemp)
  printf '%s' "$4" | protoc -I "$ROOT/proto" --encode="attnserve.v1.$3" \
    "$ROOT/proto/attnserve/v1/attnserve.proto" > "$tmp"
  seed proto_request "$1" "$2" "$tmp"
  rm -f "$tmp"
}

mkdir -p $C/proto_request $C/attention_spec $C/tokenizer $C/model_files $C/tokenizer_files \
  $C/tokenizer_model $C/tokenizer_json
find $C -type f ! -name 'crash-*' -delete

# ---- proto_request: 0 Attend, 1 MultiHeadAttend, 2 Encode, 3 Rerank, 4 Classify,
# 5 Detokenize ----
T3='shape: [1, 2, 2] values: [0.1, 0.2, 0.3, 0.4]'
proto attend_self 0 AttendRequest "query { $T3 } return_weights: true"
proto attend_rank4_hard 0 AttendRequest \
  "query { shape: [1, 1, 2, 2] values: [1, 2, 3, 4] }
   key { shape: [1, 1, 3, 2] values: [1, 0, 0, 1, 1, 1] }
   spec { weighting: HARD top_k: 2 sample: true seed: 7 } return_weights: true"
proto attend_local_mask 0 AttendRequest \
  "query { shape: [1, 3, 2] values: [1, 2, 3, 4, 5, 6] }
   spec { scope: LOCAL window_left: 1 window_right: 0 global_positions: [0]
          gaussian_sigma: 1.5 causal: true scale: 0.5 }
   mask { shape: [3, 3] values: [0, -1, 0, 0, 0, -2, 0, 0, 0] }
   key_lengths: [2] compute_dtype: BF16 output_dtype: BF16"
proto attend_raw_bf16 0 AttendRequest \
  'query { shape: [1, 1, 2] dtype: BF16 raw: "\x80\x3f\x00\x40" }'
proto attend_raw_fp16 0 AttendRequest \
  'query { shape: [1, 1, 2] dtype: FP16 raw: "\x00\x3c\x00\x40" }'
proto attend_raw_fp32 0 AttendRequest \
  'query { shape: [1, 1, 1] dtype: FP32 raw: "\x00\x00\x80\x3f" } key_lengths: [1]'
proto multihead_self 1 MultiHeadAttendRequest \
  "layer: 1 hidden { shape: [1, 1, 4] values: [0.1, 0.2, 0.3, 0.4] } return_weights: true"
proto multihead_context 1 MultiHeadAttendRequest \
  "hidden { shape: [1, 1, 2] values: [1, 2] } context { shape: [1, 2, 2] values: [1, 2, 3, 4] }
   lengths: [1] spec { weighting: HARD top_k: 1 }"
proto encode_texts 2 EncodeRequest \
  'texts: "Hello world, the quick brown fox!" texts: "[MASK] caf\303\251 \344\270\255"
   pooling: MEAN normalize: true truncate: true return_token_embeddings: true
   attention_layers: [-1, 0]'
proto encode_ids 2 EncodeRequest \
  'token_ids { ids: [2, 10, 11, 3] } attention { scope: LOCAL window_left: 1 window_right: 1 }
   compute_dtype: BF16 pooling: CLS'
proto encode_prompt_chunking 2 EncodeRequest \
  'texts: "a long text" prompt_name: "query" pooling: LAST chunking { max_tokens: 4 overlap: 1 }'
proto rerank_pairs 3 RerankRequest \
  'query: "What is the capital of France?" texts: "Paris." texts: "" texts: "Berlin is in Germany."
   truncate: true top_n: 2 return_text: true'
proto classify_pairs 4 ClassifyRequest \
  'texts: "A man is eating." texts: "caf\303\251" text_pairs: "Someone eats." text_pairs: "x"
   truncate: true'
proto detokenize_ids 5 DetokenizeRequest \
  'token_ids { ids: [0, 100, 200, 2] } token_ids { ids: [] } skip_special_tokens: true'

# ---- attention_spec: raw bytes read field by field (attention_spec_fuzzer.cc) ----
printf '\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x03\x03\x07\x00\x00\x01\x01\x2a\x00\x00\x00' > $C/attention_spec/soft_global
printf '\x01\x02\x01\x05\x00\x01\x01\x02\x01\x02\x01\x03\x02\x01\x00\x01\x01\x03\x05\x05\x05\x03\x3f\x01\x02\x03\x00\x01\x07\x00\x00\x00' > $C/attention_spec/hard_local
printf '\x00\x00\x00\x00\x01\x01\x01\x01\x02\x02\x01\x01\x03\x03\x01\x03\x01\x01\x07\x07\x07\x07\x21\x00\x00\x01\x09\x00\x00\x00' > $C/attention_spec/local_gaussian_mask

# ---- tokenizer: options byte, then the text ----
printf '\x04Hello, world! The quick brown fox jumps.' > $C/tokenizer/ascii
printf '\x0dCaf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 [MASK] \xf0\x9f\x98\x80 \xce\xa3\xce\x91\xce\xa3' > $C/tokenizer/unicode
printf '\x06ok \xff\xfe \xc3 broken \xed\xa0\x80 utf8' > $C/tokenizer/invalid_utf8
printf '\x2c\tcontrol\x01chars\x7f and\xe2\x80\x8bzero width unbelievably' > $C/tokenizer/controls

# ---- model_files: 0 model.safetensors, 1 config.json ----
seed model_files safetensors_dtypes 0 "$GOLDEN/safetensors_dtypes.safetensors"
seed model_files config_tiny_bert 1 "$GOLDEN/tiny_bert/config.json"
seed model_files config_prefixed 1 "$GOLDEN/tiny_bert_prefixed/config.json"

# ---- tokenizer_files: 0 vocab.txt, 1 tokenizer.json, 2 tokenizer_config.json,
# 3 special_tokens_map.json ----
seed tokenizer_files vocab_tiny_bert 0 "$GOLDEN/tiny_bert/vocab.txt"
seed tokenizer_files tokenizer_json 1 "$GOLDEN/tokenizers/bert-mini-uncased/tokenizer.json"
seed tokenizer_files tokenizer_config_cased 2 "$GOLDEN/tokenizers/bert-mini-cased/tokenizer_config.json"
seed tokenizer_files tokenizer_config_tiny 2 "$GOLDEN/tiny_bert/tokenizer_config.json"
seed tokenizer_files special_tokens_map 3 "$GOLDEN/tokenizers/bert-mini-cased/special_tokens_map.json"
# tokenizer.json files of the component goldens: byte-level, Metaspace, Split, added-token
# options, Roberta, the decoders.
for name in byte_level_prefix_regex metaspace_first_split split_regex_MergedWithNext_invert \
    added_tokens_options roberta_trim_prefix replace_prepend_metaspace_never; do
  /usr/bin/python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
t = [t for t in d['tokenizers'] if t['name'] == sys.argv[2]][0]['tokenizer']
sys.stdout.buffer.write(bytes([1]) + json.dumps(t, ensure_ascii=False).encode())" \
    "$GOLDEN/tokenizer_components_golden.json" "$name" > "$C/tokenizer_files/components_$name"
done

# ---- tokenizer_model: bit 0 BPE/Unigram, bit 1 encode/load, bits 2-3 the fixed model ----
for v in 0 1 2 3; do
  printf "\\x$(printf %02x $((v * 4)))abcab\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80x\xf0\x9f\x98\x80\xf0\x9f\x98\x80" \
    > $C/tokenizer_model/bpe_encode_$v
  printf "\\x$(printf %02x $((v * 4 + 1)))ab<unk>c\xc3\xa9\xe4\xb8\xadxyz\xf0\x9f\x98\x80\xf0\x9f\x98\x80" \
    > $C/tokenizer_model/unigram_encode_$v
done
# load: model sections of the golden synthetic models and trained tokenizers.
model_section() {  # NAME SELECTOR PYTHON-EXPRESSION-OF-d
  /usr/bin/python3 -c "import json, sys; d = json.load(open(sys.argv[1]));
sys.stdout.buffer.write(bytes([$2]) + json.dumps($3, ensure_ascii=False).encode())" "$4" \
    > $C/tokenizer_model/$1
}
model_section load_bpe_prefix_suffix 2 "[m for m in d['models'] if m['name'] == 'bpe_prefix_suffix'][0]['model']" \
  "$GOLDEN/tokenizer_models.json"
model_section load_bpe_byte_fallback 2 "[m for m in d['models'] if m['name'] == 'bpe_byte_fallback'][0]['model']" \
  "$GOLDEN/tokenizer_models.json"
model_section load_bpe_legacy 2 "[m for m in d['models'] if m['name'] == 'bpe_legacy_merges'][0]['model']" \
  "$GOLDEN/tokenizer_models.json"
model_section load_unigram_bytes 3 "[m for m in d['models'] if m['name'] == 'unigram_byte_fallback'][0]['model']" \
  "$GOLDEN/tokenizer_models.json"
model_section load_roberta 2 "d['model']" "$GOLDEN/tokenizers/roberta-bpe/tokenizer.json"
model_section load_unigram_metaspace 3 "d['model']" "$GOLDEN/tokenizers/unigram-metaspace/tokenizer.json"

# ---- tokenizer_json: bit 0 encode/load; encode: bits 1-3 the trained tokenizer, bit 4 pair
# (split at 0xFF), bits 5-7 max_length ----
for t in 0 1 2 3 4; do
  printf "\\x$(printf %02x $((t * 2)))Hello, world! caf\xc3\xa9  \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80\xe2\x80\x8d\xf0\x9f\x91\xa6 <mask> [MASK] <s>" \
    > $C/tokenizer_json/encode_$t
  printf "\\x$(printf %02x $((t * 2 + 16 + 64)))first text\xffsecond \xc3\xa9 text \x00 \xef\xbf\xbd" \
    > $C/tokenizer_json/pair_truncated_$t
done
for name in roberta-bpe llama-bpe unigram-metaspace wordpiece; do
  seed tokenizer_json "load_$name" 1 "$GOLDEN/tokenizers/$name/tokenizer.json"
done
