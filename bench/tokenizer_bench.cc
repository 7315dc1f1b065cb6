// BERT WordPiece throughput through the pipeline on long texts, with the golden
// test model (tests/golden/tokenizers/bert-mini-uncased, ~2,200 pieces); then
// whole tokenizer.json tokenizers of each model type (WordPiece, BPE, Unigram)
// on 1 MB of mixed-language text and on one short text (BM_Pipeline).
//   build/bin/tokenizer_bench [--benchmark_filter=...]
// Counters: tokens/s (output tokens) and bytes/s (input text).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/tokenizer/load_tokenizer.h"

namespace attnserve::core {
namespace {

const tokenizers::Tokenizer& Tokenizer() {
  static const std::shared_ptr<const tokenizers::Tokenizer> tokenizer = [] {
    const std::filesystem::path dir =
        std::filesystem::path(__FILE__).parent_path().parent_path() /
        "tests/golden/tokenizers/bert-mini-uncased";
    auto loaded = tokenizers::LoadTokenizer(dir.string());
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      std::exit(1);
    }
    return *loaded;
  }();
  return *tokenizer;
}

std::string Repeat(const std::string& paragraph, size_t bytes) {
  std::string text;
  while (text.size() < bytes) text += paragraph;
  return text;
}

const std::string& EnglishText() {
  static const std::string text = Repeat(
      "The quick brown fox jumps over the lazy dog. People often think that "
      "a tokenizer is simple, but every rule matters: punctuation, numbers "
      "like 3.14 and 2024, URLs such as https://www.example.com/path, and "
      "words the vocabulary does not know, which become several pieces. ",
      64 * 1024);
  return text;
}

const std::string& MixedText() {
  static const std::string text = Repeat(
      "Café naïve Ångström RÉSUMÉ — 我爱北京天安门，东京は日本の首都です。 "
      "I ❤️ NLP 🚀 Привет, мир! ",
      64 * 1024);
  return text;
}

void BM_Tokenize(benchmark::State& state, const std::string& text) {
  const tokenizers::Tokenizer& tokenizer = Tokenizer();
  size_t tokens = 0;
  for (auto _ : state) {
    auto encoding = tokenizer.Encode(text, {});
    tokens += encoding->size();
    benchmark::DoNotOptimize(encoding->ids.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}

void BM_English(benchmark::State& s) { BM_Tokenize(s, EnglishText()); }
void BM_Mixed(benchmark::State& s) { BM_Tokenize(s, MixedText()); }
BENCHMARK(BM_English)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Mixed)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- Whole tokenizers of each model type (peers: tokenizer_peers.mjs) ----
// The trained test tokenizers of tests/golden/tokenizers/ through the
// tokenizer.json pipeline: ~1 MB of mixed-language text
// (tests/golden/tokenizer_corpus.txt repeated, lines joined by spaces) in one
// Encode, and one short text (about 16 tokens).

const tokenizers::Tokenizer& Pipeline(const std::string& name) {
  static auto* const loaded =
      new std::map<std::string, std::shared_ptr<const tokenizers::Tokenizer>>();
  auto it = loaded->find(name);
  if (it == loaded->end()) {
    auto tokenizer = tokenizers::LoadTokenizer(
        (std::filesystem::path(__FILE__).parent_path().parent_path() /
         "tests/golden/tokenizers" / name)
            .string());
    if (!tokenizer.ok()) {
      std::fprintf(stderr, "%s\n", tokenizer.status().ToString().c_str());
      std::exit(1);
    }
    it = loaded->emplace(name, *tokenizer).first;
  }
  return *it->second;
}

const std::string& MixedMegabyte() {
  static const std::string text = [] {
    std::ifstream in(
        std::filesystem::path(__FILE__).parent_path().parent_path() /
        "tests/golden/tokenizer_corpus.txt");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    std::string out;
    for (size_t i = 0; out.size() < (1 << 20); ++i) {
      out += lines[i % lines.size()] + " ";
    }
    return out;
  }();
  return text;
}

constexpr char kShortText[] =
    "The quick brown fox jumps over the lazy dog near the river.";

void BM_Pipeline(benchmark::State& state, const std::string& name,
                 const std::string& text) {
  const tokenizers::Tokenizer& tokenizer = Pipeline(name);
  size_t tokens = 0;
  for (auto _ : state) {
    auto encoding = tokenizer.Encode(text, {});
    if (!encoding.ok()) state.SkipWithError("encode failed");
    tokens += encoding->ids.size();
    benchmark::DoNotOptimize(encoding->ids.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
  state.counters["tokens"] =
      double(tokens) / double(std::max<int64_t>(1, state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK_CAPTURE(BM_Pipeline, wordpiece_1MB, "wordpiece", MixedMegabyte())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Pipeline, bpe_1MB, "roberta-bpe", MixedMegabyte())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Pipeline, unigram_1MB, "xlmr-sentencepiece",
                  MixedMegabyte())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Pipeline, wordpiece_short, "wordpiece",
                  std::string(kShortText))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Pipeline, bpe_short, "roberta-bpe",
                  std::string(kShortText))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Pipeline, unigram_short, "xlmr-sentencepiece",
                  std::string(kShortText))
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace attnserve::core

BENCHMARK_MAIN();
