#!/usr/bin/python3
"""Share of the server's CPU spent tokenizing under 64-client Encode load (issue 15).

  chrt -r 10 /usr/bin/python3 bench/tokenize_share.py [--build_dir build] [--duration 10]

For each tokenizer type (the trained test tokenizers of tests/golden/tokenizers/: wordpiece,
roberta-bpe (byte-level BPE), xlmr-sentencepiece (Unigram + Precompiled)), attnserve serves a
MiniLM-L6-sized BERT (random weights, hidden 384, 6 layers, 12 heads, FFN 1536, the
tokenizer's vocabulary size) with that tokenizer.json in its directory. attnbench drives it
with --clients closed-loop clients, one text per call, two workloads:
  words: attnbench's own texts (English words, 8..64 of them);
  mixed: 1..4 consecutive lines of tests/golden/tokenizer_corpus.txt (the multilingual corpus
         the tokenizers were trained on: English, accents, CJK, Arabic, Hindi, emoji, ...).
Measured over the whole attnbench run (warm-up included):
  tokenize CPU: attnserve_tokenize_cpu_seconds_total{model}, the CPU time of the gRPC threads
                inside the tokenizer (a thread CPU clock read around each Encode call);
  process CPU:  utime + stime of the server process (/proc/PID/stat), every thread.
Prints a Markdown table (for bench/RESULTS.md).
"""
import argparse
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

SOURCE_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SOURCE_DIR / "bench" / "peers"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
from attnserve_process import AttnServe, metric, scrape  # noqa: E402
from torch_bert import random_bert_dir  # noqa: E402

MINILM = dict(hidden=384, layers=6, heads=12, intermediate=1536)
TOKENIZERS = SOURCE_DIR / "tests" / "golden" / "tokenizers"


def vocab_size(tokenizer_json):
    spec = json.loads(tokenizer_json.read_text())
    vocab = spec["model"]["vocab"]
    ids = list(vocab.values()) if isinstance(vocab, dict) else [len(vocab) - 1]
    ids += [token["id"] for token in spec.get("added_tokens", [])]
    return max(ids) + 1


def write_model(path, tokenizer):
    source = TOKENIZERS / tokenizer
    random_bert_dir(path, vocab=vocab_size(source / "tokenizer.json"), **MINILM)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if (source / name).exists():
            shutil.copy(source / name, pathlib.Path(path) / name)


def write_mixed_texts(path, count=2000, seed=1):
    lines = [line for line in (SOURCE_DIR / "tests" / "golden" / "tokenizer_corpus.txt")
             .read_text().splitlines() if line.strip()]
    rng = random.Random(seed)
    with open(path, "w") as out:
        for _ in range(count):
            start, n = rng.randrange(len(lines)), rng.randint(1, 4)
            out.write(" ".join(lines[(start + k) % len(lines)] for k in range(n)) + "\n")


def process_cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(args, tokenizer, model_dir, texts_file):
    server = AttnServe(args.build_dir, ["--model", f"m={model_dir}"], metrics=True)
    try:
        results = {}
        for workload, flags in (("words", []), ("mixed", ["--texts_file", str(texts_file)])):
            before_metrics = scrape(server.metrics_address)
            before_cpu = process_cpu_seconds(server.process.pid)
            argv = [str(args.build_dir / "bin" / "attnbench"), "--address", server.address,
                    "--metrics_address", server.metrics_address, "--method", "encode",
                    "--concurrency", str(args.clients), "--duration", str(args.duration),
                    "--warmup", str(args.warmup), "--json", *flags]
            done = subprocess.run(argv, capture_output=True, text=True,
                                  timeout=args.duration * 4 + 120)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr}")
            report = json.loads(done.stdout)
            after_metrics = scrape(server.metrics_address)
            cpu = process_cpu_seconds(server.process.pid) - before_cpu
            delta = lambda name: (metric(after_metrics, name, model="m") -
                                  metric(before_metrics, name, model="m"))
            tokenize = delta("attnserve_tokenize_cpu_seconds_total")
            row = dict(tokenizer=tokenizer, workload=workload,
                       requests_per_s=report["requests_per_s"],
                       tokens=delta("attnserve_tokens_total"),
                       process_cpu_s=cpu, tokenize_cpu_s=tokenize,
                       share=tokenize / cpu, loadavg=os.getloadavg()[0])
            print(f"  {tokenizer} {workload}: {row['requests_per_s']:.1f} req/s, "
                  f"tokenize {tokenize:.3f} s of {cpu:.2f} s CPU = {100 * row['share']:.2f}%",
                  flush=True)
            results[workload] = row
        return results
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build_dir", type=pathlib.Path, default=SOURCE_DIR / "build")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--tokenizers", default="wordpiece,roberta-bpe,xlmr-sentencepiece")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = pathlib.Path(tmp) / "mixed.txt"
        write_mixed_texts(texts_file)
        for tokenizer in args.tokenizers.split(","):
            model_dir = pathlib.Path(tmp) / tokenizer
            write_model(model_dir, tokenizer)
            rows += measure(args, tokenizer, model_dir, texts_file).values()
    print("\n| tokenizer | workload | calls/s | tokens/s | server CPU s | tokenizing CPU s "
          "| share | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tokenizer']} | {r['workload']} | {r['requests_per_s']:.1f} | "
              f"{r['tokens'] / (args.duration + args.warmup):.0f} | {r['process_cpu_s']:.2f} | "
              f"{r['tokenize_cpu_s']:.3f} | {100 * r['share']:.2f}% | {r['loadavg']:.1f} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
