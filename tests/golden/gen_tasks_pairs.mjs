// Rerank / classify inputs for tests/golden/gen_tasks.py: (query, text) pairs encoded by
// HF's Rust tokenizers (npm `tokenizers`) with the pair template, untruncated and with
// truncation=True at the model's max length (LongestFirst), for the tokenizer of each
// golden classifier in tasks/. Writes tasks/pairs.json.
//   cd tests/golden && npm install --ignore-scripts && node gen_tasks_pairs.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tokenizers from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));

// model directory -> [tokenizer, the max length the server uses (min of the encoder's
// positions and tokenizer_config.json's model_max_length)]
export const MODELS = {
  bert_rerank: ['bert-mini-uncased', 64],
  xlmr_nli: ['xlmr-sentencepiece', 64],
  modernbert_rerank: ['roberta-bpe', 96],
};

const corpus = fs.readFileSync(path.join(here, 'tokenizer_corpus.txt'), 'utf8').split('\n').filter((l) => l);
export const QUERY = 'What is the capital of France?';
export const TEXTS = [
  'The capital of France is Paris.', 'Paris is the capital of France.', '', 'Berlin is in Germany.',
  'The capital of France is Paris.',  // a tie with texts[0]
  corpus.slice(0, 6).join(' '),       // longer than every max length: truncated longest-first
  corpus[7], corpus[8], 'Hello <mask> world', '東京は日本の首都です。',
];
// Both segments long, and a long query with a short text: LongestFirst takes from both.
// Then pairs whose segments are both longer than every max length: with truncation, HF
// tokenizes each segment only until it has max_length tokens, pre-token by pre-token
// (tokenize_with_limit, tokenizers >= 0.23), so LongestFirst compares those lengths, not the
// full ones; and a segment full of added tokens (which never end that early exit).
export const LONG_PAIRS = [[corpus.slice(10, 14).join(' '), corpus.slice(14, 18).join(' ')],
  [corpus.slice(20, 26).join(' '), 'short text'],
  ...Array.from({ length: 10 }, (_, i) => [corpus.slice(30 + 3 * i, 38 + 3 * i + (i % 3)).join(' '),
    corpus.slice(60 + 2 * i, 68 + 2 * i + (i % 2)).join(' ')]),
  ['<mask> [MASK] '.repeat(40) + corpus[90], corpus.slice(91, 100).join(' ')]];

async function encode(tokenizer, a, b) {
  const e = await tokenizer.encode(a, b);
  return { ids: e.getIds(), type_ids: e.getTypeIds() };
}

async function main() {
  const out = { generator: 'tests/golden/gen_tasks_pairs.mjs', query: QUERY, texts: TEXTS,
    long_pairs: LONG_PAIRS, models: {} };
  for (const [model, [name, maxLength]] of Object.entries(MODELS)) {
    const file = path.join(here, 'tokenizers', name, 'tokenizer.json');
    const plain = tokenizers.Tokenizer.fromFile(file);
    const truncating = tokenizers.Tokenizer.fromFile(file);
    truncating.setTruncation(maxLength, { strategy: 'LongestFirst' });
    const entry = { tokenizer: name, max_length: maxLength, untruncated: [], truncated: [] };
    const pairs = [...TEXTS.map((t) => [QUERY, t]), ...LONG_PAIRS];
    for (const [a, b] of pairs) {
      entry.untruncated.push(await encode(plain, a, b));
      entry.truncated.push(await encode(truncating, a, b));
    }
    out.models[model] = entry;
    console.log(`${model}: ${pairs.length} pairs, lengths ${entry.untruncated.map((e) => e.ids.length)}`);
  }
  fs.writeFileSync(path.join(here, 'tasks', 'pairs.json'), JSON.stringify(out) + '\n');
}

await main();
