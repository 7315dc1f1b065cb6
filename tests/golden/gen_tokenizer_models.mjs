// Golden outputs for the tokenizer models alone (tests/core/bpe_test.cc and
// unigram_test.cc): small synthetic BPE and Unigram "model" sections covering
// every option (continuing_subword_prefix, end_of_word_suffix, unk_token,
// fuse_unk, byte_fallback, ignore_merges, "a b" and [a, b] merges, repeated
// merges and pieces, merges that rebuild an existing piece, tied Unigram
// scores, unk_id null), each run by Hugging Face tokenizers (the npm
// `tokenizers` package, the Rust library) on random words. The model is
// wrapped in a tokenizer.json without normalizer, pre-tokenizer or
// post-processor, so encode(word) is the model's output for that word.
//
// Each token is [id, value, code point start, end, byte start, end]. The npm
// package reports code point offsets (converted from the model's byte offsets
// by NormalizedString::convert_offsets and BytesToCharOffsetConverter, lossy
// inside a character).
// Byte offsets are rebuilt here as HF's BPE computes them (the running sum of
// symbol lengths: 1 for a byte-fallback piece, the piece's characters without
// prefix / suffix otherwise) or, for Unigram, from whole characters, and kept
// only when they map back to the reported code point offsets; otherwise the
// word's tokens carry code point offsets only (the test then compares those,
// converting its byte offsets with the same rule).
//
//   cd tests/golden && npm install --ignore-scripts && node gen_tokenizer_models.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tokenizers from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));

// mulberry32: a small seeded generator, so the file regenerates identically.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r, list) => list[Math.floor(r() * list.length)];
const utf8Len = (s) => Buffer.byteLength(s, 'utf8');
const byteName = (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

// Known characters (1 to 4 UTF-8 bytes) and characters no model knows.
const ALPHABET = ['a', 'b', 'c', 'd', 'e', 'é', 'ñ', 'я', '中', '文', 'あ', '😀', '\u0301'];
const UNKNOWN = ['x', 'ü', '🙂', '\u0000', '日'];

function tokenizerJson(model) {
  return JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: null, post_processor: null, decoder: null, model,
  });
}

function randomWords(r, pieces, count) {
  const words = [];
  for (let i = 0; i < count; ++i) {
    const kind = r();
    if (kind < 0.15 && pieces.length > 0) {
      words.push(pick(r, pieces));  // a whole piece (ignore_merges, exact matches)
      continue;
    }
    const len = 1 + Math.floor(r() * (kind < 0.9 ? 6 : 24));
    let w = '';
    for (let j = 0; j < len; ++j) {
      w += r() < 0.12 ? pick(r, UNKNOWN) : (r() < 0.3 && pieces.length > 0 ? pick(r, pieces) : pick(r, ALPHABET));
    }
    words.push(w);
  }
  return words;
}

// What HF's pipeline reports for a model token at bytes [start, end) of a
// word without normalizer: NormalizedString::convert_offsets widens the range
// to whole characters (each byte aligns to its character), an empty range or
// one past the end stays as is; then BytesToCharOffsetConverter gives code
// points.
function reportedOffsets(word, [start, end]) {
  const charStart = [], charEnd = [];
  let b = 0;
  for (const c of word) {
    for (let k = 0; k < utf8Len(c); ++k) { charStart.push(b); charEnd.push(b + utf8Len(c)); }
    b += utf8Len(c);
  }
  if (start < end && end <= charStart.length) [start, end] = [charStart[start], charEnd[end - 1]];
  return toCharOffsets(word, [start, end]);
}

// Code point offsets of byte offsets, as tokenizers' BytesToCharOffsetConverter.
function toCharOffsets(word, [start, end]) {
  const map = new Map();
  let b = 0;
  [...word].forEach((c, i) => { for (let k = 0; k < utf8Len(c); ++k) map.set(b + k, i); b += utf8Len(c); });
  const s = map.get(start);
  if (s === undefined) return [start, end];
  const e = map.get(end);
  if (e !== undefined) return [s, e];
  const last = map.get(end - 1);
  return [s, (last === undefined ? s + 1 : last) + 1];
}

async function run(name, model, words, isByteToken) {
  const tokenizer = tokenizers.Tokenizer.fromString(tokenizerJson(model));
  const cases = [];
  for (const word of words) {
    let encoding;
    try {
      encoding = await tokenizer.encode(word);
    } catch (e) {
      cases.push({ word, error: String(e.message || e) });
      continue;
    }
    const ids = encoding.getIds();
    const values = encoding.getTokens();
    const charOffsets = encoding.getOffsets();
    const bytePos = [0];
    for (const c of word) bytePos.push(bytePos[bytePos.length - 1] + utf8Len(c));
    const tokens = [];
    let exact = true;
    let pos = 0;
    for (let i = 0; i < ids.length; ++i) {
      const [cs, ce] = charOffsets[i];
      let start, end;
      if (model.type === 'Unigram') {
        [start, end] = [bytePos[cs], bytePos[ce]];  // whole characters, byte pieces too
      } else {
        // HF's BPE offsets are the running sum of its symbols' byte lengths.
        const v = values[i];
        let len;
        if (isByteToken(v)) len = 1;
        else if (v === model.unk_token) len = bytePos[ce] - bytePos[cs];
        else {
          len = utf8Len(v);
          // The alphabet has no '#', '<' or '/': a prefix or suffix on a value
          // is the model's decoration.
          if (model.continuing_subword_prefix && v.startsWith(model.continuing_subword_prefix)) {
            len -= utf8Len(model.continuing_subword_prefix);
          }
          if (model.end_of_word_suffix && v.endsWith(model.end_of_word_suffix)) {
            len -= utf8Len(model.end_of_word_suffix);
          }
        }
        start = pos;
        end = pos + len;
        pos = end;
      }
      const back = reportedOffsets(word, [start, end]);
      if (back[0] !== cs || back[1] !== ce) exact = false;
      tokens.push([ids[i], values[i], cs, ce, start, end]);
    }
    if (!exact) {
      ++inexact;
      for (const t of tokens) t.splice(4, 2);  // code point offsets only
    }
    cases.push({ word, tokens });
  }
  return { name, model, cases };
}

// ---- BPE ----
function makeBpe(seed, { prefix = null, suffix = null, unk = null, fuseUnk = false, byteFallback = false,
  allBytes = true, ignoreMerges = false, legacy = false, numMerges = 120, dropout = null, unkInVocab = true }) {
  const r = rng(seed);
  const vocab = new Map();
  const add = (p) => { if (!vocab.has(p)) vocab.set(p, vocab.size); };
  if (unk !== null && unkInVocab) add(unk);
  if (byteFallback) for (let b = 0; b < 256; ++b) if (allBytes || b % 3 !== 0) add(byteName(b));
  // The word-initial, continuing and word-final spellings of each character.
  const starts = [], conts = [];
  for (const c of ALPHABET) {
    for (const p of [c, prefix !== null ? prefix + c : null]) {
      if (p === null) continue;
      add(p);
      (p === c ? starts : conts).push(p);
      if (suffix !== null) { add(p + suffix); (p === c ? starts : conts).push(p + suffix); }
    }
  }
  const merges = [];
  const pieces = [...starts, ...conts];
  for (let i = 0; i < numMerges; ++i) {
    if (i > 10 && r() < 0.05) { merges.push(merges[Math.floor(r() * merges.length)]); continue; }  // repeated pair
    let a = pick(r, pieces);
    let b = prefix !== null ? pick(r, conts) : pick(r, pieces);
    if (suffix !== null && a.endsWith(suffix) && r() < 0.8) a = pick(r, pieces);
    const merged = a + b.slice(prefix === null ? 0 : prefix.length);
    if (legacy && (a.includes(' ') || b.includes(' '))) continue;
    merges.push([a, b]);
    add(merged);
    pieces.push(merged);
    (a.startsWith(prefix ?? '\u0000') ? conts : starts).push(merged);
  }
  const model = {
    type: 'BPE', dropout, unk_token: unk, continuing_subword_prefix: prefix, end_of_word_suffix: suffix,
    fuse_unk: fuseUnk, byte_fallback: byteFallback, ignore_merges: ignoreMerges,
    vocab: Object.fromEntries(vocab), merges: legacy ? merges.map(([a, b]) => `${a} ${b}`) : merges,
  };
  if (legacy) model.merges.unshift('#version: 0.2');
  return { model, pieces: [...vocab.keys()].filter((p) => !/^<0x/.test(p)) };
}

const isBpeByte = (model) => (v) => model.byte_fallback && /^<0x[0-9A-F]{2}>$/.test(v);
const bpeConfigs = [
  ['bpe_plain', 1, {}],
  ['bpe_legacy_merges', 2, { legacy: true }],
  ['bpe_unk', 3, { unk: '<unk>' }],
  ['bpe_unk_fused', 4, { unk: '<unk>', fuseUnk: true }],
  ['bpe_prefix', 5, { prefix: '##', unk: '[UNK]' }],
  ['bpe_suffix', 6, { suffix: '</w>', unk: '<unk>' }],
  ['bpe_prefix_suffix', 7, { prefix: '##', suffix: '</w>' }],
  ['bpe_byte_fallback', 8, { byteFallback: true, unk: '<unk>', fuseUnk: true }],
  ['bpe_byte_fallback_partial', 9, { byteFallback: true, allBytes: false, unk: '<unk>' }],
  ['bpe_byte_fallback_prefix', 10, { byteFallback: true, prefix: '##', unk: '<unk>', fuseUnk: true }],
  ['bpe_ignore_merges', 11, { ignoreMerges: true, unk: '<unk>' }],
  ['bpe_many_merges', 12, { numMerges: 600, unk: '<unk>', fuseUnk: true }],
  ['bpe_dropout_ignored', 13, { dropout: 0.0, unk: '<unk>' }],
  ['bpe_unk_not_in_vocab', 14, { unk: '<unk>', unkInVocab: false }],
];

// ---- Unigram ----
function makeUnigram(seed, { unkId = 0, byteFallback = false, tiedScores = false, missingChars = 3, duplicate = false }) {
  const r = rng(seed);
  const vocab = [];
  if (unkId !== null) vocab.push(['<unk>', 0]);
  const score = () => tiedScores ? -(1 + Math.floor(r() * 3)) : -Math.round(r() * 1000) / 100;
  ALPHABET.slice(missingChars).forEach((c) => vocab.push([c, score()]));
  const seen = new Set(vocab.map(([p]) => p));
  for (let i = 0; i < 150; ++i) {
    const len = 2 + Math.floor(r() * 4);
    let p = '';
    for (let j = 0; j < len; ++j) p += pick(r, ALPHABET);
    if (seen.has(p) && !duplicate) continue;
    seen.add(p);
    vocab.push([p, score()]);
  }
  if (byteFallback) for (let b = 0; b < 256; ++b) vocab.push([byteName(b), -50]);
  if (duplicate) vocab.push([vocab[5][0], -0.5]);
  if (unkId !== null && unkId !== 0) {
    const [unk] = vocab.splice(0, 1);
    vocab.splice(unkId, 0, unk);
  }
  const model = { type: 'Unigram', unk_id: unkId, vocab, byte_fallback: byteFallback };
  return { model, pieces: vocab.map(([p]) => p).filter((p) => !/^<0x/.test(p)).concat(['<unk>']) };
}
const isUnigramByte = (model) => (v) => model.byte_fallback && /^<0x[0-9A-F]{2}>$/.test(v);
const unigramConfigs = [
  ['unigram_plain', 21, {}],
  ['unigram_tied_scores', 22, { tiedScores: true }],
  ['unigram_all_chars', 23, { missingChars: 0 }],
  ['unigram_byte_fallback', 24, { byteFallback: true }],
  ['unigram_unk_id_5', 25, { unkId: 5 }],
  ['unigram_no_unk', 26, { unkId: null, missingChars: 0 }],
  ['unigram_duplicate_pieces', 27, { duplicate: true, tiedScores: true }],
];

let inexact = 0;
const output = { generator: 'tests/golden/gen_tokenizer_models.mjs', tokenizers_version: '0.23.2', models: [] };
let words = 0;
for (const [name, seed, options] of bpeConfigs) {
  const { model, pieces } = makeBpe(seed, options);
  const list = randomWords(rng(seed + 1000), pieces, 100);
  output.models.push(await run(name, model, ['', ...list], isBpeByte(model)));
  words += list.length + 1;
}
for (const [name, seed, options] of unigramConfigs) {
  const { model, pieces } = makeUnigram(seed, options);
  const list = randomWords(rng(seed + 1000), pieces, 100);
  output.models.push(await run(name, model, ['', ...list], isUnigramByte(model)));
  words += list.length + 1;
}
fs.writeFileSync(path.join(here, 'tokenizer_models.json'), JSON.stringify(output) + '\n');
console.log(`wrote tokenizer_models.json: ${output.models.length} models, ${words} words (${inexact} with code point offsets only)`);
