// Randomized differential data for the tokenizers of tests/golden/tokenizers/
// (tests/core/tokenizer_differential_test.cc): random strings, half made of
// random code points (weighted towards scripts, combining marks, emoji and
// ZWJ, spaces and control characters, U+FFFD, NUL), half of random bytes
// decoded lossily (invalid sequences become U+FFFD); every tenth one is
// encoded as a pair with the next. Hugging Face tokenizers (npm `tokenizers`)
// gives ids, type ids, byte offsets and the decode of each (tokens and the
// special tokens mask are left out to keep the file small: the pipeline
// golden data checks those).
//
//   node diff_tokenizers.mjs
//       writes the checked-in sample tests/golden/tokenizer_differential.json
//       (200 strings per tokenizer), run by ctest;
//   node diff_tokenizers.mjs --count 10000 --out /tmp/tokenizer_diff.json
//   ATTNSERVE_TOKENIZER_DIFFERENTIAL=/tmp/tokenizer_diff.json \
//       build/bin/tokenizer_differential_test
//       the long run: 10,000 strings per tokenizer (run_tokenizer_differential.sh
//       [COUNT] [SEED] does both steps).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tokenizers from 'tokenizers';
import { TOKENIZERS, record } from './gen_tokenizer_pipeline.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const count = Number(arg('--count', 200));
const out = arg('--out', path.join(here, 'tokenizer_differential.json'));
const seed = Number(arg('--seed', 1));

function rng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// [first, last, weight]
const RANGES = [
  [0x20, 0x7e, 30], [0x00, 0x1f, 3], [0x7f, 0x9f, 1], [0xa0, 0x24f, 6], [0x300, 0x36f, 3],
  [0x370, 0x4ff, 4], [0x590, 0x6ff, 3], [0x900, 0x97f, 3], [0xe00, 0xe7f, 1], [0x1100, 0x11ff, 1],
  [0x2000, 0x206f, 3], [0x2100, 0x2bff, 2], [0x3000, 0x30ff, 4], [0x3400, 0x4dbf, 1], [0x4e00, 0x9fff, 5],
  [0xac00, 0xd7a3, 2], [0xe000, 0xf8ff, 1], [0xf900, 0xfaff, 1], [0xfb00, 0xfdff, 1], [0xfe00, 0xfe0f, 2],
  [0xfe10, 0xffef, 2], [0xfffd, 0xfffd, 2], [0x1d400, 0x1d7ff, 1], [0x1f1e6, 0x1f1ff, 1], [0x1f300, 0x1faff, 5],
  [0x200d, 0x200d, 3], [0x20000, 0x2a6df, 1], [0xe0000, 0xe007f, 1], [0x10000, 0x10ffff, 1],
];
const SPACES = [' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000'];
const totalWeight = RANGES.reduce((s, r) => s + r[2], 0);

function randomCodePoints(r) {
  const len = Math.floor(r() * (r() < 0.9 ? 24 : 120));
  let s = '';
  for (let i = 0; i < len; ++i) {
    if (r() < 0.15) { s += SPACES[Math.floor(r() * SPACES.length)]; continue; }
    let w = r() * totalWeight;
    let range = RANGES[0];
    for (const g of RANGES) { if ((w -= g[2]) < 0) { range = g; break; } }
    let cp = range[0] + Math.floor(r() * (range[1] - range[0] + 1));
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;  // no lone surrogates
    s += String.fromCodePoint(cp);
  }
  return s;
}

function randomBytes(r) {
  const len = Math.floor(r() * (r() < 0.9 ? 32 : 160));
  const bytes = Buffer.alloc(len);
  for (let i = 0; i < len; ++i) {
    const k = r();
    bytes[i] = k < 0.5 ? 0x20 + Math.floor(r() * 0x5f) : k < 0.6 ? 0x20 : Math.floor(r() * 256);
  }
  return bytes.toString('utf8');  // invalid sequences -> U+FFFD
}

const output = { generator: 'tests/golden/diff_tokenizers.mjs', seed, count, tokenizers: {} };
for (const name of TOKENIZERS) {
  const tokenizer = tokenizers.Tokenizer.fromFile(path.join(here, 'tokenizers', name, 'tokenizer.json'));
  const r = rng(seed * 7919 + name.length);
  const texts = [];
  for (let i = 0; i < count; ++i) texts.push(i % 2 === 0 ? randomCodePoints(r) : randomBytes(r));
  const cases = [];
  for (let i = 0; i < texts.length; ++i) {
    const isPair = i % 10 === 9 && i + 1 < texts.length;
    const c = isPair ? { text: texts[i], pair: texts[i + 1], ...(await record(tokenizer, texts[i], texts[i + 1])) }
      : { text: texts[i], ...(await record(tokenizer, texts[i])) };
    if (!isPair) c.decoded = await tokenizer.decode(c.ids, false);
    delete c.tokens;
    delete c.special_tokens_mask;
    cases.push(c);
  }
  output.tokenizers[name] = cases;
  console.log(`${name}: ${cases.length} cases`);
}
fs.writeFileSync(out, JSON.stringify(output) + '\n');
console.log(`wrote ${out}`);
