// Peer timings for bench/tokenizer_bench.cc: the same texts and test model
// through transformers.js and Hugging Face tokenizers (Rust, npm bindings).
// Uses the packages installed for the golden generator:
//   (cd tests/golden && npm install --ignore-scripts)
//   node bench/tokenizer_peers.mjs && build/bin/tokenizer_bench
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

async function time(name, fn) {
  let tokens = 0;
  for (let i = 0; i < 3; ++i) await fn();  // warm-up
  const start = process.hrtime.bigint();
  let iterations = 0;
  while (Number(process.hrtime.bigint() - start) < 2e9) {
    tokens += await fn();
    ++iterations;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${name.padEnd(34)} ${(seconds / iterations * 1e3).toFixed(2).padStart(8)} ms/text ` +
              `${(tokens / seconds / 1e6).toFixed(3)} M tokens/s`);
}

for (const [label, text] of [['english', english], ['mixed', mixed]]) {
  await time(`transformers.js ${label}`, async () => js.encode(text).length);
  await time(`tokenizers (Rust) ${label}`, async () => (await rust.encode(text)).getIds().length);
}
