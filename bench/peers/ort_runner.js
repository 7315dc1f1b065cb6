// Times an exported encoder in onnxruntime-node (CPU). Usage:
//   node ort_runner.js MODEL.onnx THREADS REPS B S [B S ...]   -> one JSON line per shape
//   node ort_runner.js MODEL.onnx THREADS turns B S
//     -> reads a count K per line on stdin, runs K timed calls of [B, S] back to back and
//        prints {"ms": [...]} per line (turns taken in alternation with another peer)
//   node ort_runner.js MODEL.onnx THREADS feeds FEEDS.json REPS
//     -> FEEDS.json maps each input name to a [batch, seq] array of integers (int64 feeds);
//        prints {"ms": [every timed run], "output": [the first output, flattened]}
// Inputs are input_ids and attention_mask (all ones), int64. Prints the median ms.
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, reps, ...dims] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential'});
  if (reps === 'turns') return turns(session, Number(dims[0]), Number(dims[1]));
  if (reps === 'feeds') return fromFeeds(session, dims[0], Number(dims[1]));
  for (let i = 0; i + 1 < dims.length; i += 2) {
    const b = Number(dims[i]), s = Number(dims[i + 1]);
    const ids = new BigInt64Array(b * s).map((_, j) => BigInt(1000 + (j * 7919) % 20000));
    const feeds = {
      input_ids: new ort.Tensor('int64', ids, [b, s]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(b * s).fill(1n), [b, s])};
    for (let w = 0; w < 2; ++w) await session.run(feeds);
    const times = [];
    for (let r = 0; r < Number(reps); ++r) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((x, y) => x - y);
    console.log(JSON.stringify({batch: b, seq: s, ms: times[Math.floor(times.length / 2)]}));
  }
}
function feedsFor(b, s) {
  const ids = new BigInt64Array(b * s).map((_, j) => BigInt(1000 + (j * 7919) % 20000));
  return {
    input_ids: new ort.Tensor('int64', ids, [b, s]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(b * s).fill(1n), [b, s])};
}

async function turns(session, b, s) {
  const feeds = feedsFor(b, s);
  for (let w = 0; w < 2; ++w) await session.run(feeds);
  const lines = require('readline').createInterface({input: process.stdin});
  for await (const line of lines) {
    const times = [];
    for (let r = 0; r < Number(line); ++r) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(JSON.stringify({ms: times}));
  }
}

async function fromFeeds(session, path, reps) {
  const feeds = {};
  for (const [name, rows] of Object.entries(JSON.parse(require('fs').readFileSync(path)))) {
    const flat = rows.flat().map((v) => BigInt(v));
    feeds[name] = new ort.Tensor('int64', BigInt64Array.from(flat), [rows.length, rows[0].length]);
  }
  let output = null;
  for (let w = 0; w < 2; ++w) output = await session.run(feeds);
  const times = [];
  for (let r = 0; r < reps; ++r) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const first = output[session.outputNames[0]].data;
  console.log(JSON.stringify({ms: times, output: Array.from(first, Number)}));
}

main().catch((e) => { console.error(e); process.exit(1); });
