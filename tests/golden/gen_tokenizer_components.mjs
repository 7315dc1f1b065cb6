// Golden outputs of HF tokenizers (npm `tokenizers`, the Rust library) for
// small tokenizer.json files, each exercising one normalizer, pre-tokenizer,
// post-processor, decoder or added-token option, for
// tests/core/tokenizer/components_golden_test.cc.
//
// Each tokenizer has a WordPiece model whose vocabulary is every character
// the pre-tokenizer produces on the corpus (plain and "##"-continued) plus
// the short words, so almost every token is one character and its offsets
// test the alignment of every normalized character with the original text.
// Offsets are recorded as UTF-8 byte offsets (the library reports code point
// offsets per sequence).
//
//   cd tests/golden && npm install --ignore-scripts && node gen_tokenizer_components.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tokenizers from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
const { Tokenizer } = tokenizers;
// sentencepiece's charsmaps (gen_precompiled_charsmaps.py). The golden file
// names them ("@nmt_nfkc") instead of repeating 300 kB of base64.
const charsmaps = JSON.parse(fs.readFileSync(path.join(here, 'precompiled_charsmaps.json'))).charsmaps;
const precompiled = (rule) => ({ type: 'Precompiled', precompiled_charsmap: '@' + rule });
function withCharsmaps(value) {
  if (Array.isArray(value)) return value.map(withCharsmaps);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === 'precompiled_charsmap' ? charsmaps[v.slice(1)] : withCharsmaps(v);
    }
    return out;
  }
  return value;
}

const corpus = [
  '',
  ' ',
  '   ',
  '\t\n\r ',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  '  leading and trailing  ',
  'multiple   spaces\t\ttabs\nnew\r\nline',
  'café naïve Ångström',
  'CAFÉ Café café cafe\u0301',
  'e\u0301 a\u0308 combining \u0301 lone mark',
  'a\u0323\u0301 o\u0301\u0323 order of marks',
  'İstanbul is in Türkiye',
  'ΟΔΟΣ ΟΔΟΣ. Σ ΣΟΦΙΑ',
  'ß STRASSE straße Ⱥ ȿ',
  'Привет, мир!',
  '我爱北京天安门',
  '中文测试，你好！BERT模型',
  'こんにちは世界 カタカナとひらがな',
  '한국어 한국어',
  '\u1100\u1161\u11A8 conjoining jamo',
  'mixed: English, 中文, 日本語, 한국어, Русский, ελληνικά.',
  'I ❤️ NLP 🚀🚀',
  '👍🏽 😀😂 ✨🎉🔥 👨‍👩‍👧 🇫🇷',
  '!!!???...',
  '“Quoted” ‘text’ — dash… «guillemets» ¿Qué? ¡Hola!',
  '「括弧」（かっこ）、。',
  'a\u0000b x\u0001y\u001Fz\u007Fw',
  'zero\u200Bwidth soft\u00ADhyphen bom\uFEFFhere',
  '\uFFFDreplacement\uFFFD',
  'nbsp\u00A0here ideo\u3000space line\u2028sep',
  '\u0085nel\u000Bvt\u000Cff',
  'ﬁ ligature ① circled ² ½ Ａｂｃ fullwidth ㎏ ǅ',
  'Ⅻ ‼ … ﹏ ｶﾀｶﾅ ﾊﾟ ㍻ ℡ ＡＢＣ　全角',
  '3.14159 1,000,000 2024-01-01 42% ٣٤ ⅷ',
  '$100.00 #1 @home 50/50 a+b=c',
  'https://www.example.com/path?query=1&x=y#frag',
  "don't won't it's I'm you're we've they'll I'd",
  'Hello [MASK] world',
  '[CLS] already [SEP]',
  '[mask] lowercase <mask> x<mask>y  <mask>  end',
  'hello<special>world',
  'New York and London',
  'supercalifragilisticexpialidocious',
  'ab'.repeat(40) + ' end',
  'x'.repeat(101) + ' too long for WordPiece',
  '\u{20000}\u{20001} ext-B \u{2B820}',
  'ابجد هوز عربي',
  'हिन्दी भाषा',
  '▁already▁meta space',
  // Newer than HF's normalization tables (unicode_differences.inc): not
  // decomposed (U+32FF, U+A7F2, U+10781, U+1FBF1; U+11938 and U+11935
  // U+11930 not composed), marks of combining class 0 (U+1DFA, U+08CA).
  // All older than Debian's Oniguruma tables (Unicode 14), which the
  // Whitespace pre-tokenizer's \w uses.
  'reiwa \u32FF \uA7F2 \u{10781}\u{1FBF1} \u{11938} \u{11935}\u{11930}',
  'a\u0301\u1DFA\u0323 o\u08CA\u0301\u0323 e\u0323\u0301',
  // Letters, digits and marks of Unicode 15.0-16.0 (HF's regexes have them,
  // Debian's Oniguruma does not; unicode_properties.inc): U+16D6B, U+11F04,
  // U+1E4F1, U+1E030, U+0897.
  '\u{16D6B}\u30D9 \u{11F04}x \u{1E4F1}\u{1E030} a\u0897b',
  // Unassigned default-ignorable code points are grapheme Controls (U+E0013
  // ends a grapheme: sentencepiece's charsmap then maps U+0340 U+FE00 as one).
  'a\u{E0013}\u0340\uFE00 b\u{E0013}\u0301c \u2065\u0301',
];

const pairs = [
  ['Hello, world!', 'How are you?'],
  ['', 'empty first'],
  ['empty second', ''],
  ['café naïve', 'ΟΔΟΣ 中文'],
  ['The quick brown fox jumps over the lazy dog.', 'short'],
  ['a b', 'c d e f g h i j k l'],
];

// Truncation cases: (text, pair or null, max_length).
const truncations = [
  ['The quick brown fox jumps over the lazy dog.', null, 6],
  ['The quick brown fox jumps over the lazy dog.', null, 3],
  ['a b c d e f g h', 'i j k', 7],
  ['a b c', 'd e f g h i j k', 7],
  ['a b c d', 'e f g h', 7],
  ['a b c d', 'e f g h', 8],
  ['a b c d e f g', 'h i', 9],
  ['a b c d e f g h i j', 'k l m n o p q r s t', 5],
  ['a', 'b c d e f g h i j k l m n', 6],
];

const bertSpecials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
function added(content, id, opts = {}) {
  return { id, content, single_word: false, lstrip: false, rstrip: false,
           normalized: false, special: true, ...opts };
}
const bertAdded = bertSpecials.map((t, i) => added(t, i));
const bertPost = { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] };
const wpDecoder = { type: 'WordPiece', prefix: '##', cleanup: true };
const robertaSpecials = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
const robertaAdded = robertaSpecials.map((t, i) =>
  added(t, i, t === '<mask>' ? { lstrip: true } : {}));
const template = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
           { SpecialToken: { id: '[SEP]', type_id: 0 } }],
  pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
         { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
         { SpecialToken: { id: '[SEP]', type_id: 1 } }],
  special_tokens: {
    '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
    '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
  },
};
const metaDecoder = (scheme) => ({ type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split: true });
const byteLevelPre = (aps, regex) => ({ type: 'ByteLevel', add_prefix_space: aps, trim_offsets: true, use_regex: regex });
const split = (pattern, behavior, invert) => ({ type: 'Split', pattern, behavior, invert });
const seqNorm = (...normalizers) => ({ type: 'Sequence', normalizers });
const seqPre = (...pretokenizers) => ({ type: 'Sequence', pretokenizers });
const bert = (opts) => ({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
                          strip_accents: null, lowercase: true, ...opts });

const configs = [
  { name: 'bert_uncased', normalizer: bert({}), pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: bertPost, decoder: wpDecoder },
  { name: 'bert_cased', normalizer: bert({ lowercase: false }), pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: template, decoder: wpDecoder },
  { name: 'bert_lower_keep_accents_no_cjk', normalizer: bert({ strip_accents: false, handle_chinese_chars: false }),
    pre_tokenizer: { type: 'BertPreTokenizer' }, post_processor: bertPost, decoder: wpDecoder },
  { name: 'bert_no_clean_strip_cased', normalizer: bert({ clean_text: false, lowercase: false, strip_accents: true }),
    pre_tokenizer: { type: 'BertPreTokenizer' }, post_processor: bertPost },
  { name: 'nfc_whitespace', normalizer: { type: 'NFC' }, pre_tokenizer: { type: 'Whitespace' } },
  { name: 'nfd_whitespace_split', normalizer: { type: 'NFD' }, pre_tokenizer: { type: 'WhitespaceSplit' } },
  { name: 'nfkc_punctuation', normalizer: { type: 'NFKC' },
    pre_tokenizer: seqPre({ type: 'WhitespaceSplit' }, { type: 'Punctuation', behavior: 'Isolated' }) },
  { name: 'nfkd_strip_accents_lowercase_digits',
    normalizer: seqNorm({ type: 'NFKD' }, { type: 'StripAccents' }, { type: 'Lowercase' }),
    pre_tokenizer: seqPre({ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }) },
  { name: 'lowercase_digits_contiguous', normalizer: { type: 'Lowercase' },
    pre_tokenizer: seqPre({ type: 'Whitespace' }, { type: 'Digits', individual_digits: false }) },
  ...['Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].map((behavior) => ({
    name: `punctuation_${behavior}`, normalizer: null,
    pre_tokenizer: seqPre({ type: 'WhitespaceSplit' }, { type: 'Punctuation', behavior }) })),
  { name: 'strip_both', normalizer: { type: 'Strip', strip_left: true, strip_right: true },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: false } },
  { name: 'strip_left_nfd', normalizer: seqNorm({ type: 'NFD' }, { type: 'Strip', strip_left: true, strip_right: false }),
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: false } },
  { name: 'strip_right', normalizer: { type: 'Strip', strip_left: false, strip_right: true },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: false } },
  { name: 'replace_prepend_metaspace_never',
    normalizer: seqNorm({ type: 'Replace', pattern: { String: ' ' }, content: '▁' },
                        { type: 'Prepend', prepend: '▁' },
                        { type: 'Replace', pattern: { Regex: '[0-9]+' }, content: '<num>' },
                        { type: 'Replace', pattern: { String: 'é' }, content: '' }),
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true },
    decoder: metaDecoder('never') },
  ...['first', 'always', 'never'].flatMap((scheme) => [true, false].map((splitFlag) => ({
    name: `metaspace_${scheme}_${splitFlag ? 'split' : 'nosplit'}`, normalizer: { type: 'NFKC' },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split: splitFlag },
    decoder: metaDecoder(scheme), added: [added('<special>', 0), added('<mask>', 1)] }))),
  ...[[true, true], [false, true], [true, false], [false, false]].map(([aps, regex]) => ({
    name: `byte_level_${aps ? 'prefix' : 'noprefix'}_${regex ? 'regex' : 'noregex'}`, normalizer: null,
    pre_tokenizer: byteLevelPre(aps, regex),
    post_processor: { type: 'ByteLevel', add_prefix_space: aps, trim_offsets: true, use_regex: regex },
    decoder: { type: 'ByteLevel', add_prefix_space: aps, trim_offsets: true, use_regex: regex },
    byteLevel: true })),
  ...[true, false].flatMap((trim) => [true, false].map((aps) => ({
    name: `roberta_${trim ? 'trim' : 'notrim'}_${aps ? 'prefix' : 'noprefix'}`, normalizer: null,
    pre_tokenizer: byteLevelPre(aps, true),
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: trim, add_prefix_space: aps },
    decoder: { type: 'ByteLevel', add_prefix_space: aps, trim_offsets: true, use_regex: true },
    byteLevel: true, added: robertaAdded }))),
  { name: 'byte_level_then_template', normalizer: null, pre_tokenizer: byteLevelPre(false, true),
    post_processor: { type: 'Sequence', processors: [
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, template] },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, byteLevel: true },
  ...['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].flatMap((behavior) =>
    [false, true].map((invert) => ({
      name: `split_regex_${behavior}_${invert ? 'invert' : 'plain'}`, normalizer: null,
      pre_tokenizer: split({ Regex: '\\s+|[\\p{P}]' }, behavior, invert) }))),
  { name: 'split_string', normalizer: null, pre_tokenizer: split({ String: 'a' }, 'Isolated', false) },
  { name: 'split_string_special_chars', normalizer: null, pre_tokenizer: split({ String: '.' }, 'Removed', false) },
  { name: 'split_gpt4_style', normalizer: { type: 'NFC' },
    pre_tokenizer: seqPre(split({ Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, 'Isolated', false),
                          byteLevelPre(false, false)),
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }, byteLevel: true },
  { name: 'added_tokens_options', normalizer: { type: 'Lowercase' }, pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: template, decoder: wpDecoder,
    added: [...bertAdded,
            added('<mask>', 5, { lstrip: true, rstrip: true }),
            added('<special>', 6, { single_word: true }),
            added('NYC', 7, { normalized: true, special: false }),
            added('world', 8, { normalized: false, special: false, single_word: true }),
            added('York', 9, { normalized: false, special: false, rstrip: true })] },
  { name: 'no_normalizer_no_pre_tokenizer', normalizer: null, pre_tokenizer: null },
  { name: 'nmt_char_delimiter', normalizer: { type: 'Nmt' },
    pre_tokenizer: { type: 'CharDelimiterSplit', delimiter: ' ' } },
  { name: 'byte_level_normalizer', normalizer: { type: 'ByteLevel' },
    pre_tokenizer: { type: 'CharDelimiterSplit', delimiter: 'Ġ' },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    byteLevel: true },
  // XLM-R's pipeline: sentencepiece's nmt_nfkc charsmap, runs of spaces
  // squeezed, Metaspace, <s> $A </s> </s> $B </s>.
  { name: 'precompiled_nmt_nfkc_xlmr',
    normalizer: seqNorm(precompiled('nmt_nfkc'), { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }),
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
               { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
             { SpecialToken: { id: '</s>', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } },
             { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] },
                        '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } } },
    decoder: metaDecoder('always'), added: robertaAdded },
  { name: 'precompiled_nmt_nfkc_cf', normalizer: precompiled('nmt_nfkc_cf'),
    pre_tokenizer: { type: 'WhitespaceSplit' } },
];

function byteOffsets(text, charOffsets) {
  const chars = [...text];
  const bytePos = [0];
  for (const c of chars) bytePos.push(bytePos[bytePos.length - 1] + Buffer.byteLength(c, 'utf8'));
  return charOffsets.map(([s, e]) => [bytePos[s], bytePos[e]]);
}

function tokenizerJson(config, vocab) {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: config.added ?? (config.post_processor?.type === 'RobertaProcessing' ? robertaAdded : bertAdded),
    normalizer: config.normalizer ?? null,
    pre_tokenizer: config.pre_tokenizer ?? null,
    post_processor: config.post_processor ?? null,
    decoder: config.decoder ?? null,
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
             max_input_chars_per_word: 100, vocab },
  };
}

function buildVocab(config) {
  const vocab = {};
  const specials = (config.added ?? (config.post_processor?.type === 'RobertaProcessing' ? robertaAdded : bertAdded));
  const add = (t) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  for (const t of bertSpecials) add(t);
  for (const t of specials) add(t.content);
  // A first tokenizer with the specials only gives the words.
  const probe = Tokenizer.fromString(JSON.stringify(withCharsmaps(tokenizerJson(config, { ...vocab }))));
  const normalizer = probe.getNormalizer();
  const preTokenizer = probe.getPreTokenizer();
  const words = [];
  for (const text of [...corpus, ...pairs.flat(), ...truncations.flatMap(([a, b]) => [a, b ?? ''])]) {
    const normalized = normalizer ? normalizer.normalizeString(text) : text;
    const pieces = preTokenizer ? preTokenizer.preTokenizeString(normalized).map(([w]) => w) : [normalized];
    words.push(...pieces);
  }
  if (config.byteLevel) {
    for (const c of tokenizers.byteLevelAlphabet()) { add(c); add('##' + c); }
  }
  for (const w of words) for (const c of w) { add(c); add('##' + c); }
  // Whole short words too (WordPiece's longest match), every other one.
  words.filter((w, i) => i % 2 === 0 && [...w].length > 1 && [...w].length <= 5).forEach(add);
  return vocab;
}

async function encodeCase(tok, text, pair, addSpecialTokens = true) {
  const e = await tok.encode(text, pair, { addSpecialTokens });
  const seq = e.getSequenceIds();
  const charOffsets = e.getOffsets();
  const texts = [text, pair ?? ''];
  const offsets = charOffsets.map(([s, t], i) => {
    if (seq[i] === null || seq[i] === undefined) return [s, t];
    return byteOffsets(texts[seq[i]], [[s, t]])[0];
  });
  return { ids: e.getIds(), type_ids: e.getTypeIds(), tokens: e.getTokens(), offsets,
           special_tokens_mask: e.getSpecialTokensMask() };
}

const output = { generator: 'tests/golden/gen_tokenizer_components.mjs', tokenizers: [] };
let count = 0;
for (const config of configs) {
  const vocab = buildVocab(config);
  const json = tokenizerJson(config, vocab);
  const tok = Tokenizer.fromString(JSON.stringify(withCharsmaps(json)));
  const entry = { name: config.name, tokenizer: json, cases: [], pairs: [], truncations: [] };
  for (const text of corpus) {
    const c = { text, ...(await encodeCase(tok, text, null)) };
    c.no_special_ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
    c.decoded = await tok.decode(c.ids, false);
    c.decoded_skip_special = await tok.decode(c.ids, true);
    entry.cases.push(c);
    ++count;
  }
  if (config.post_processor) {
    for (const [a, b] of pairs) {
      entry.pairs.push({ text: a, pair: b, ...(await encodeCase(tok, a, b)) });
      ++count;
    }
    for (const [a, b, maxLength] of truncations) {
      const t = Tokenizer.fromString(JSON.stringify(withCharsmaps(json)));
      t.setTruncation(maxLength, { strategy: tokenizers.TruncationStrategy.LongestFirst });
      entry.truncations.push({ text: a, pair: b, max_length: maxLength, ...(await encodeCase(t, a, b)) });
      ++count;
    }
  }
  output.tokenizers.push(entry);
}
// Decoders on their own: token lists decoded through a tokenizer whose
// vocabulary is those tokens.
const decoderTokens = [
  ['▁Hello', '▁wor', 'ld', '<0x21>', '▁', '<0xE2>', '<0x82>', '<0xAC>', '<0xFF>', 'x', '<0x41>', '<0x4g>', '<s>', '</s>'],
  ['hello</w>', 'wor', 'ld</w>', 'a', '</w>', '<s>', 'end</w>'],
  ['  two', 'spaces  ', '__x__', 'plain', '<s>'],
  ['Ġhello', 'Ġworld', 'Ã©', 'âĤ¬', '!', 'ĠðŁ', 'ĺ', 'Ģ', '<s>'],
  ['##a', 'b', '##c', ' .', 'don', "'", 't', ' ,', '<s>'],
];
const decoderConfigs = [
  { type: 'ByteFallback' },
  { type: 'Fuse' },
  { type: 'Strip', content: ' ', start: 1, stop: 2 },
  { type: 'Strip', content: '_', start: 2, stop: 1 },
  { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
  { type: 'Replace', pattern: { Regex: '[a-z]+' }, content: '*' },
  { type: 'BPEDecoder', suffix: '</w>' },
  { type: 'BPEDecoder', suffix: '' },
  { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  { type: 'WordPiece', prefix: '##', cleanup: true },
  { type: 'WordPiece', prefix: '##', cleanup: false },
  { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true },
  { type: 'Sequence', decoders: [
    { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
];
output.decoders = [];
for (const decoder of decoderConfigs) {
  for (const tokens of decoderTokens) {
    const vocab = { '[UNK]': 0 };
    for (const t of tokens) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
    const json = { version: '1.0', truncation: null, padding: null,
                   added_tokens: [added('<s>', vocab['<s>'])], normalizer: null, pre_tokenizer: null,
                   post_processor: null, decoder,
                   model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
                            max_input_chars_per_word: 100, vocab } };
    const tok = Tokenizer.fromString(JSON.stringify(json));
    const ids = tokens.map((t) => vocab[t]);
    output.decoders.push({ tokenizer: json, ids, decoded: await tok.decode(ids, false),
                           decoded_skip_special: await tok.decode(ids, true) });
    ++count;
  }
}
fs.writeFileSync(path.join(here, 'tokenizer_components_golden.json'), JSON.stringify(output) + '\n');
console.log(`wrote tokenizer_components_golden.json: ${configs.length} tokenizers, ${count} encodings`);
