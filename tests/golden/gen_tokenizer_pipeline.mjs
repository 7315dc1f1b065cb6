// Golden outputs of whole tokenizers (tests/core/tokenizer_pipeline_golden_test.cc)
// on the tokenizers make_trained_tokenizers.mjs trained: for a few hundred
// texts and text pairs, the ids, type ids, tokens, byte offsets and special
// tokens mask that Hugging Face tokenizers (npm `tokenizers`, the Rust
// library; the reference) gives, and its decode of the ids (with and without
// skip_special_tokens).
//
// Second opinions, recorded but not asserted: transformers.js ids
// (@huggingface/transformers on the same directory) and, for
// xlmr-sentencepiece, the pieces sentencepiece itself (python3-sentencepiece)
// gives on the texts. The file lists how many texts each agrees on.
//
// The npm package reports code point offsets (per sequence for pairs); they
// are converted to UTF-8 byte offsets of that sequence's text here.
//
//   cd tests/golden && npm install --ignore-scripts && node gen_tokenizer_pipeline.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env } from '@huggingface/transformers';
import tokenizers from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.join(here, 'tokenizers');

export const TOKENIZERS = ['roberta-bpe', 'llama-bpe', 'unigram-metaspace', 'wordpiece', 'xlmr-sentencepiece'];

const corpusLines = fs.readFileSync(path.join(here, 'tokenizer_corpus.txt'), 'utf8').split('\n').filter((l) => l);
export const EDGE_TEXTS = [
  '', ' ', '   ', '\t\n\r ', '  leading and trailing  ', 'multiple   spaces\t\ttabs\n\nnewlines',
  'a\u0000b', '\u0000', 'x\u0001y\u001Fz\u007Fw\u0085v', 'zero\u200Bwidth soft\u00ADhyphen bom\uFEFFhere',
  '\uFFFD', '\uFFFDreplacement\uFFFD', 'nbsp\u00A0here ideo\u3000space line\u2028sep para\u2029sep',
  'e\u0301 a\u0308 \u0301 lone mark', 'ǅ ǆ Ǆ ﬁ ① Ａｂｃ ｶﾀｶﾅ ㍻ ㌀', 'ΟΔΟΣ Σ ß İ ǰ',
  '👨‍👩‍👧‍👦👩‍❤️‍👨🏳️‍🌈🇫🇷👍🏽', '😀', '\u{1F600}\u{1F601}\u{1F602}', '\u{20000}\u{2A700} 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'x'.repeat(300), 'é'.repeat(150), 'ab'.repeat(200), '中'.repeat(120), 'supercalifragilisticexpialidocious'.repeat(5),
  'Hello <mask> world', '<s> already </s>', '<unk><pad>', '[CLS] [MASK] [SEP] [UNK]', 'x[MASK]y', 'a<mask>b',
  '<0x41>', '▁▁ ▁leading meta', 'don\'t won\'t it\'s I\'m we\'ll they\'d', '3.14159 1,000,000 2024-01-01 42%',
  'https://www.example.com/a/b?c=d&e=f#g', 'CamelCaseWord snake_case_word kebab-case-word',
  'مرحبا 123 עולם', 'हिन्दी क्षत्रिय', 'ﷺ ﷽', 'Ⅻ ½ ¹²³ ℃ ™', '\r\n\r\n', 'end.',
];
export const PAIRS = [
  ['What is the capital of France?', 'The capital of France is Paris.'],
  ['', ''], ['', 'only the second'], ['only the first', ''], ['  spaces  ', '\tand tabs\t'],
  ['東京は日本の首都です。', 'Tokyo is the capital of Japan.'], ['😀 emoji', '👨‍👩‍👧‍👦 family'],
  ['Hello <mask>', '<s> and </s>'], ['a\u0000b', '\uFFFD'],
];
for (let i = 0; i + 1 < corpusLines.length; i += 4) PAIRS.push([corpusLines[i], corpusLines[i + 1]]);

export function byteOffsets(text, [start, end]) {
  const pos = [0];
  for (const c of text) pos.push(pos[pos.length - 1] + Buffer.byteLength(c, 'utf8'));
  if (start > pos.length - 1 || end > pos.length - 1) throw new Error(`offsets ${start},${end} past ${JSON.stringify(text)}`);
  return [pos[start], pos[end]];
}

// One encoding as recorded: ids, type ids, tokens, byte offsets, special mask.
export async function record(tokenizer, text, pair) {
  const e = pair === undefined ? await tokenizer.encode(text) : await tokenizer.encode(text, pair);
  const seq = e.getSequenceIds();
  const offsets = e.getOffsets().map((o, i) => (seq[i] === 1 ? byteOffsets(pair, o) : seq[i] === 0 ? byteOffsets(text, o) : o));
  return { ids: e.getIds(), type_ids: e.getTypeIds(), tokens: e.getTokens(), offsets,
    special_tokens_mask: e.getSpecialTokensMask() };
}

function sentencepiecePieces(texts) {
  const script = `
import json, sys
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
print(json.dumps([sp.encode(t, out_type=str) for t in json.load(sys.stdin)]))`;
  const model = path.join(here, 'tokenizers', 'xlmr-sentencepiece', 'sentencepiece.bpe.model');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, model], { input: JSON.stringify(texts) }));
}

async function main() {
  const texts = [...corpusLines, ...EDGE_TEXTS];
  const output = { generator: 'tests/golden/gen_tokenizer_pipeline.mjs', tokenizers: {} };
  for (const name of TOKENIZERS) {
    const tokenizer = tokenizers.Tokenizer.fromFile(path.join(here, 'tokenizers', name, 'tokenizer.json'));
    const singles = [];
    for (const text of texts) {
      const r = await record(tokenizer, text);
      r.text = text;
      r.decoded = await tokenizer.decode(r.ids, false);
      r.decoded_skip_special = await tokenizer.decode(r.ids, true);
      singles.push(r);
    }
    const pairs = [];
    for (const [a, b] of PAIRS) pairs.push({ text: a, pair: b, ...(await record(tokenizer, a, b)) });

    const opinions = {};
    try {
      const js = await AutoTokenizer.from_pretrained(name);
      const differ = singles.filter((s) => JSON.stringify(js.encode(s.text)) !== JSON.stringify(s.ids));
      opinions.transformers_js = { agree: singles.length - differ.length, of: singles.length,
        differ_on: differ.map((s) => s.text).slice(0, 20) };
    } catch (e) {
      opinions.transformers_js = { error: String(e.message || e).slice(0, 200) };
    }
    if (name === 'xlmr-sentencepiece') {
      const pieces = sentencepiecePieces(texts);
      const differ = singles.filter((s, i) => JSON.stringify(s.tokens.filter((_, k) => !s.special_tokens_mask[k])) !==
        JSON.stringify(pieces[i]));
      opinions.sentencepiece = { agree: singles.length - differ.length, of: singles.length,
        differ_on: differ.map((s) => s.text).slice(0, 20) };
    }
    output.tokenizers[name] = { opinions, singles, pairs };
    console.log(`${name}: ${singles.length} texts, ${pairs.length} pairs; second opinions ${JSON.stringify(
      Object.fromEntries(Object.entries(opinions).map(([k, v]) => [k, v.error ? 'error' : `${v.agree}/${v.of}`])))}`);
  }
  fs.writeFileSync(path.join(here, 'tokenizer_pipeline_golden.json'), JSON.stringify(output) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
