// Golden outputs for the BERT tokenizer pipeline (tests/core/tokenizer/bert_golden_test.cc).
// Two independent references run on the same corpus and the test models that
// make_test_tokenizers.mjs writes:
//   - transformers.js (@huggingface/transformers, AutoTokenizer on the local
//     model dir, no remote access): ids.
//   - Hugging Face tokenizers (npm `tokenizers`, the Rust library's bindings):
//     ids and offsets. Its offsets are code point offsets; they are converted
//     here to UTF-8 byte offsets, which is what attnserve reports.
// The C++ test expects the Rust library's ids (the reference); where
// transformers.js disagrees the case lists both and says why.
//
//   cd tests/golden && npm install --ignore-scripts && node make_test_tokenizers.mjs \
//     && node gen_tokenizer.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env } from '@huggingface/transformers';
import tokenizers from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.join(here, 'tokenizers');

const corpus = [
  '',
  '   ',
  '\t\n\r ',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  'hello world',
  'HELLO WORLD',
  'unaffable',
  'Tokenizers tokenize sentences into tokens; tokenization matters.',
  'xylophone zzzqqq',
  'café naïve Ångström',
  'RÉSUMÉ ÉCOLE Crème brûlée à la mode',
  'CAFÉ Café café cafe\u0301',
  'İstanbul is in Türkiye',
  'ΟΔΟΣ ΟΔΟΣ. Σ ΣΟΦΙΑ',
  'ß STRASSE straße',
  'Привет, мир!',
  '我爱北京天安门',
  '中文测试，你好！',
  'BERT模型很好用',
  'こんにちは世界',
  'カタカナとひらがな',
  '東京は日本の首都です。',
  '한국어',
  'I ❤️ NLP 🚀🚀',
  '👍🏽 😀😂 ✨🎉🔥',
  '!!!???...',
  '--==--',
  '“Quoted” ‘text’ — dash… «guillemets» ¿Qué? ¡Hola!',
  '「括弧」（かっこ）、。',
  'a\u0000b',
  'x\u0001y\u001Fz\u007Fw',
  'zero\u200Bwidth soft\u00ADhyphen bom\uFEFFhere',
  '\uFFFDreplacement\uFFFD',
  'tab\tsep\nnew\r\nline',
  'nbsp\u00A0here ideo\u3000space line\u2028sep para\u2029sep',
  '\u0085nel\u000Bvt\u000Cff',
  'private\uE000use',
  'a'.repeat(100),
  'a'.repeat(101),
  'supercalifragilisticexpialidocious',
  'supercalifragilisticexpialidocious'.repeat(3),
  'é'.repeat(101),
  'ab'.repeat(60) + ' end',
  '3.14159 1,000,000 2024-01-01 42%',
  '$100.00 #1 @home 50/50 a+b=c',
  'https://www.example.com/path?query=1&x=y#frag',
  'user@example.org',
  'Hello世界123abc',
  'naïve café 東京 🚀 ok',
  'Hello [MASK] world',
  '[CLS] already [SEP]',
  '[mask] lowercase',
  '[MASK][MASK]',
  'x[UNK]y',
  'e\u0301 a\u0308 combining',
  '\u0301 lone mark',
  'ǅ ǆ Ǆ digraphs',
  'ﬁ ligature ① circled',
  'Ａｂｃ fullwidth',
  'The, the; THE: tHe!',
  'don\'t won\'t it\'s',
  'multiple   spaces\t\ttabs',
  '  leading and trailing  ',
  '\u3042\u3044\u3046 \u30a2\u30a4\u30a6',
  'mixed: English, 中文, 日本語, 한국어, Русский, ελληνικά, emoji 🎉.',
  'New York and London and Paris',
  'A BERT model for NLP',
  'Λόγος σοφία',
  '\u{20000}\u{20001} ext-B \u{2A700}',
];

// Where the references disagree, attnserve follows HF tokenizers (Rust).
const knownDivergences = [
  { pattern: /Σ/u, follow: 'tokenizers',
    why: 'final sigma: JS toLowerCase and Python str.lower map a word-final Σ to ς; Rust tokenizers lowercases per char (σ)' },
  { pattern: /[\u{20000}-\u{2FA1F}]/u, follow: 'tokenizers',
    why: 'CJK outside the BMP: transformers.js walks UTF-16 units and misses them; Python and Rust split them as ideographs' },
];

function byteOffsets(text, charOffsets) {
  const chars = [...text];
  const bytePos = [0];
  for (const c of chars) bytePos.push(bytePos[bytePos.length - 1] + Buffer.byteLength(c, 'utf8'));
  return charOffsets.map(([s, e]) => [bytePos[s], bytePos[e]]);
}

const models = ['bert-mini-uncased', 'bert-mini-cased', 'bert-mini-uncased-keep-accents'];
const output = { generator: 'tests/golden/gen_tokenizer.mjs', models: {} };
let disagreements = 0;
for (const model of models) {
  const js = await AutoTokenizer.from_pretrained(model);
  const rust = tokenizers.Tokenizer.fromFile(path.join(here, 'tokenizers', model, 'tokenizer.json'));
  const cases = [];
  for (const text of corpus) {
    const idsJs = js.encode(text, { add_special_tokens: true });
    const encoding = await rust.encode(text);
    const idsRust = encoding.getIds();
    const tokensOf = (ids) => ids.map((i) => js.model.vocab[i]);
    let entry;
    if (JSON.stringify(idsJs) === JSON.stringify(idsRust)) {
      entry = { text, ids: idsJs, tokens: tokensOf(idsJs), offsets: byteOffsets(text, encoding.getOffsets()) };
    } else {
      const known = knownDivergences.find((d) => d.pattern.test(text));
      if (!known) throw new Error(`${model}: unexplained disagreement on ${JSON.stringify(text)}`);
      ++disagreements;
      const ids = known.follow === 'tokenizers' ? idsRust : idsJs;
      entry = { text, ids, tokens: tokensOf(ids), follows: known.follow, why: known.why,
                ids_transformers_js: idsJs, ids_tokenizers: idsRust };
      if (known.follow === 'tokenizers') entry.offsets = byteOffsets(text, encoding.getOffsets());
      console.log(`${model}: references disagree on ${JSON.stringify(text)}; following ${known.follow}`);
    }
    cases.push(entry);
  }
  output.models[model] = cases;
}
fs.writeFileSync(path.join(here, 'tokenizer_golden.json'), JSON.stringify(output) + '\n');
console.log(`wrote tokenizer_golden.json: ${models.length} models x ${corpus.length} texts, ${disagreements} disagreements`);
