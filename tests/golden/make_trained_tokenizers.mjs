// Trains small real tokenizers with Hugging Face tokenizers (the npm
// `tokenizers` package, the Rust library) on tests/golden/tokenizer_corpus.txt
// and writes them to tests/golden/tokenizers/<name>/tokenizer.json, laid out
// like the model directories they imitate:
//   roberta-bpe       byte-level BPE as RoBERTa / GPT-2: ByteLevel
//                     pre-tokenizer, RobertaProcessing, ByteLevel decoder,
//                     <s> <pad> </s> <unk> (normalized) and <mask> (lstrip)
//   llama-bpe         BPE with byte_fallback, fuse_unk and unk_token as
//                     Llama 2: Prepend("▁") + Replace(" ", "▁") normalizer, no
//                     pre-tokenizer, "<s> $A" template, Replace / ByteFallback
//                     / Fuse / Strip decoders
//   unigram-metaspace Unigram with NFKC and Metaspace (prepend_scheme
//                     "first"), "<s> $A </s>" / "... $B:1 </s>:1" template
//   wordpiece         WordPiece with BertNormalizer, BertPreTokenizer,
//                     BertProcessing, WordPiece decoder
//   xlmr-sentencepiece  made by make_sentencepiece_tokenizer.py (sentencepiece
//                     Unigram + Precompiled charsmap); loaded and saved again
//                     here so its layout is the library's own
// The library's default trainers run (the npm package exposes no trainer
// options); the results are then cut to a few thousand pieces (a BPE keeps
// its first merges, which is what training with a smaller vocab_size gives;
// a Unigram keeps its highest-scored pieces and every single character) and
// special tokens are added. Each file is loaded back by the library and saved
// by it, so the layout is the real one.
//
//   cd tests/golden && npm install --ignore-scripts && \
//     /usr/bin/python3 make_sentencepiece_tokenizer.py && node make_trained_tokenizers.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tokenizers from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.join(here, 'tokenizer_corpus.txt');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnserve-train-'));

function trained(name, tokenizer) {
  tokenizer.train([corpus]);
  const file = path.join(tmp, `${name}.json`);
  tokenizer.save(file, false);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function write(name, json, extraFiles = {}) {
  const dir = path.join(here, 'tokenizers', name);
  fs.mkdirSync(dir, { recursive: true });
  // Load it with the library (which validates every section) and let it save.
  const tokenizer = tokenizers.Tokenizer.fromString(JSON.stringify(json));
  tokenizer.save(path.join(dir, 'tokenizer.json'), false);
  for (const [file, content] of Object.entries(extraFiles)) {
    fs.writeFileSync(path.join(dir, file), JSON.stringify(content, null, 2) + '\n');
  }
  console.log(`${name}: ${tokenizer.getVocabSize(true)} tokens`);
}

const added = (id, content, { lstrip = false, normalized = false, special = true } = {}) => ({
  id, content, single_word: false, lstrip, rstrip: false, normalized, special,
});
const pairsOf = (merges) => merges.map((m) => (Array.isArray(m) ? m : m.split(' ')));

// GPT-2's byte -> character map (bytes_to_unicode), in byte order.
function byteAlphabet() {
  const printable = [];
  for (let b = 0x21; b <= 0x7e; ++b) printable.push(b);
  for (let b = 0xa1; b <= 0xac; ++b) printable.push(b);
  for (let b = 0xae; b <= 0xff; ++b) printable.push(b);
  const out = [];
  let extra = 0;
  for (let b = 0; b < 256; ++b) {
    out.push(String.fromCodePoint(printable.includes(b) ? b : 256 + extra++));
  }
  return out;
}

// A BPE vocabulary: the given first pieces, then the merge results in order.
function bpeVocab(first, merges) {
  const vocab = {};
  for (const p of first) if (!(p in vocab)) vocab[p] = Object.keys(vocab).length;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  return vocab;
}

// ---- roberta-bpe ----
{
  const t = new tokenizers.Tokenizer(tokenizers.BPE.empty());
  t.setPreTokenizer(tokenizers.byteLevelPreTokenizer(false, true));
  const merges = pairsOf(trained('roberta-bpe', t).model.merges).slice(0, 2500);
  const vocab = bpeVocab(['<s>', '<pad>', '</s>', '<unk>', ...byteAlphabet()], merges);
  const mask = Object.keys(vocab).length;
  vocab['<mask>'] = mask;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  write('roberta-bpe', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<s>', { normalized: true }), added(1, '<pad>', { normalized: true }),
      added(2, '</s>', { normalized: true }), added(3, '<unk>', { normalized: true }),
      added(mask, '<mask>', { lstrip: true })],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true,
      add_prefix_space: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  }, {
    'tokenizer_config.json': { tokenizer_class: 'RobertaTokenizer', model_max_length: 512, bos_token: '<s>',
      eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>',
      mask_token: '<mask>', add_prefix_space: false },
  });
}

// ---- llama-bpe ----
{
  const normalizer = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' },
    { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
  const t = tokenizers.Tokenizer.fromString(JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer, pre_tokenizer: null,
    post_processor: null, decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [] },
  }));
  const merges = pairsOf(trained('llama-bpe', t).model.merges).slice(0, 1500);
  const bytes = [];
  for (let b = 0; b < 256; ++b) bytes.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  // Llama keeps only frequent characters: the corpus' characters seen at
  // least 3 times; the others go through byte_fallback.
  const counts = new Map();
  for (const c of fs.readFileSync(corpus, 'utf8').replaceAll(' ', '▁')) counts.set(c, (counts.get(c) || 0) + 1);
  const chars = [...counts.keys()].filter((c) => counts.get(c) >= 3 && c !== '\n');
  const known = new Set(chars);
  const usable = merges.filter(([a, b]) => [...a + b].every((c) => known.has(c)));
  const vocab = bpeVocab(['<unk>', '<s>', '</s>', ...bytes, ...chars], usable);
  write('llama-bpe', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
    normalizer,
    pre_tokenizer: null,
    post_processor: { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: usable },
  }, {
    'tokenizer_config.json': { tokenizer_class: 'LlamaTokenizerFast', model_max_length: 2048, bos_token: '<s>',
      eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false },
  });
}

// ---- unigram-metaspace ----
{
  const t = new tokenizers.Tokenizer(tokenizers.Unigram.empty());
  t.setNormalizer(tokenizers.nfkcNormalizer());
  t.setPreTokenizer(tokenizers.metaspacePreTokenizer('▁', 'first', true));
  const pieces = trained('unigram-metaspace', t).model.vocab;
  const single = pieces.filter(([p]) => [...p].length === 1);
  const multi = pieces.filter(([p]) => [...p].length > 1).sort((a, b) => b[1] - a[1]).slice(0, 2000);
  const keep = new Set([...single, ...multi].map(([p]) => p));
  const vocab = [['<s>', 0], ['<pad>', 0], ['</s>', 0], ['<unk>', 0],
    ...pieces.filter(([p]) => keep.has(p) && !['<s>', '<pad>', '</s>', '<unk>'].includes(p))];
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true };
  write('unigram-metaspace', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<s>'), added(1, '<pad>'), added(2, '</s>'), added(3, '<unk>')],
    normalizer: { type: 'NFKC' },
    pre_tokenizer: metaspace,
    post_processor: { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '</s>', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] },
        '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } } },
    decoder: metaspace,
    model: { type: 'Unigram', unk_id: 3, vocab, byte_fallback: false },
  }, {
    'tokenizer_config.json': { tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 512,
      bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: '<pad>' },
  });
}

// ---- wordpiece ----
{
  const t = new tokenizers.Tokenizer(tokenizers.WordPiece.empty());
  t.setNormalizer(tokenizers.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }));
  t.setPreTokenizer(tokenizers.bertPreTokenizer());
  const pieces = Object.entries(trained('wordpiece', t).model.vocab).sort((a, b) => a[1] - b[1])
    .map(([p]) => p).slice(0, 2500);
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const vocab = {};
  for (const p of [...specials, ...pieces]) if (!(p in vocab)) vocab[p] = Object.keys(vocab).length;
  write('wordpiece', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: specials.map((s, i) => added(i, s)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null,
      lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
      max_input_chars_per_word: 100, vocab },
  }, {
    'tokenizer_config.json': { tokenizer_class: 'BertTokenizer', model_max_length: 512, do_lower_case: true,
      unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' },
  });
}

// ---- xlmr-sentencepiece (converted by make_sentencepiece_tokenizer.py) ----
{
  const file = path.join(here, 'tokenizers', 'xlmr-sentencepiece', 'tokenizer.json');
  write('xlmr-sentencepiece', JSON.parse(fs.readFileSync(file, 'utf8')));
}
fs.rmSync(tmp, { recursive: true });
