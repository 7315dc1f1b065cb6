// Peer timings for bench/tokenizer_bench.cc: the same texts and test models
// through transformers.js and Hugging Face tokenizers (Rust, npm bindings):
// the BERT WordPiece model on 64 KB texts, then a WordPiece, a byte-level BPE
// and a sentencepiece Unigram tokenizer on 1 MB and on one short text.
// Uses the packages installed for the golden generator:
//   (cd tests/golden && npm install --ignore-scripts)
//   node bench/tokenizer_peers.mjs && build/bin/tokenizer_bench
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(path.join(root, 'tests/golden/package.json'));
const { AutoTokenizer, env } = await import(pathToFileURL(
  path.join(root, 'tests/golden/node_modules/@huggingface/transformers/dist/transformers.node.mjs')).href);
const tokenizers = require('tokenizers');

const modelDir = path.join(root, 'tests/golden/tokenizers');
env.allowRemoteModels = false;
env.localModelPath = modelDir;

const repeat = (paragraph, bytes) => {
  let text = '';
  while (Buffer.byteLength(text) < bytes) text += paragraph;
  return text;
};
const english = repeat(
  'The quick brown fox jumps over the lazy dog. People often think that ' +
  'a tokenizer is simple, but every rule matters: punctuation, numbers ' +
  'like 3.14 and 2024, URLs such as https://www.example.com/path, and ' +
  'words the vocabulary does not know, which become several pieces. ', 64 * 1024);
const mixed = repeat(
  'Café naïve Ångström RÉSUMÉ — 我爱北京天安门，东京は日本の首都です。 ' +
  'I ❤️ NLP 🚀 Привет, мир! ', 64 * 1024);

const js = await AutoTokenizer.from_pretrained('bert-mini-uncased');
const rust = tokenizers.Tokenizer.fromFile(path.join(modelDir, 'bert-mini-uncased', 'tokenizer.json'));

// Wall and process CPU time per call (CPU time is the fairer number on a
// shared machine; the npm binding encodes on a libuv worker thread).
async function time(name, fn, warmups = 3) {
  let tokens = 0;
  for (let i = 0; i < warmups; ++i) await fn();
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let iterations = 0;
  while (Number(process.hrtime.bigint() - start) < 2e9) {
    tokens += await fn();
    ++iterations;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`${name.padEnd(34)} ${(seconds / iterations * 1e3).toFixed(2).padStart(8)} ms/text ` +
              `(cpu ${(cpuSeconds / iterations * 1e3).toFixed(2)} ms) ` +
              `${(tokens / seconds / 1e6).toFixed(3)} M tokens/s (cpu ${(tokens / cpuSeconds / 1e6).toFixed(3)})`);
}

for (const [label, text] of [['english', english], ['mixed', mixed]]) {
  await time(`transformers.js ${label}`, async () => js.encode(text).length);
  await time(`tokenizers (Rust) ${label}`, async () => (await rust.encode(text)).getIds().length);
}

// ---- Whole tokenizers of each model type (bench/tokenizer_bench.cc BM_Pipeline*) ----
// The trained test tokenizers (tests/golden/tokenizers/): WordPiece, byte-level
// BPE, sentencepiece Unigram. Throughput on ~1 MB of mixed-language text
// (tests/golden/tokenizer_corpus.txt repeated, lines joined by spaces) in one
// call, and the latency of one short text (16 tokens or so; each tokenizer's
// count is printed). Single thread: one encode call at a time.

const corpusLines = fs.readFileSync(path.join(root, 'tests/golden/tokenizer_corpus.txt'), 'utf8')
  .split('\n').filter((l) => l);
let megabyte = '';
for (let i = 0; Buffer.byteLength(megabyte) < (1 << 20); ++i) megabyte += corpusLines[i % corpusLines.length] + ' ';
const short = 'The quick brown fox jumps over the lazy dog near the river.';

async function latency(name, fn) {
  for (let i = 0; i < 200; ++i) await fn();  // warm-up
  const samples = [];
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  while (Number(process.hrtime.bigint() - start) < 2e9) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  const cpu = process.cpuUsage(cpuStart);
  samples.sort((a, b) => a - b);
  console.log(`${name.padEnd(34)} p50 ${samples[samples.length >> 1].toFixed(1).padStart(7)} us ` +
              `p99 ${samples[Math.floor(samples.length * 0.99)].toFixed(1).padStart(7)} us ` +
              `cpu ${((cpu.user + cpu.system) / samples.length).toFixed(1)} us/call`);
}

for (const name of ['wordpiece', 'roberta-bpe', 'xlmr-sentencepiece']) {
  const rustModel = tokenizers.Tokenizer.fromFile(path.join(modelDir, name, 'tokenizer.json'));
  const jsModel = await AutoTokenizer.from_pretrained(name);
  const shortTokens = (await rustModel.encode(short)).getIds().length;
  console.log(`${name}: 1 MB -> ${(await rustModel.encode(megabyte)).getIds().length} tokens; ` +
              `short text -> ${shortTokens} tokens`);
  await time(`tokenizers (Rust) ${name} 1MB`, async () => (await rustModel.encode(megabyte)).getIds().length, 1);
  if (name === 'xlmr-sentencepiece') {
    // transformers.js takes time quadratic in the text here (1 K chars 43 ms,
    // 4 K 318 ms, 16 K 3.2 s): one 1 MB call would take hours. Time 16 K.
    const part = megabyte.slice(0, 16 * 1024);
    await time(`transformers.js ${name} 16K chars`, async () => jsModel.encode(part).length, 0);
  } else {
    await time(`transformers.js ${name} 1MB`, async () => jsModel.encode(megabyte).length, 1);
  }
  await latency(`tokenizers (Rust) ${name} short`, async () => rustModel.encode(short));
  await latency(`transformers.js ${name} short`, async () => jsModel.encode(short));
}
