// The tokenizer pipeline's throughput (BERT WordPiece) on long texts, with the
// golden test model (tests/golden/tokenizers/bert-mini-uncased, ~2,200 pieces).
//   build/bin/tokenizer_bench [--benchmark_filter=...]
// Counters: tokens/s (output tokens) and bytes/s (input text).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

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

void BM_Encode(benchmark::State& state, const std::string& text) {
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

void BM_English(benchmark::State& s) { BM_Encode(s, EnglishText()); }
void BM_Mixed(benchmark::State& s) { BM_Encode(s, MixedText()); }
BENCHMARK(BM_English)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Mixed)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace attnserve::core

BENCHMARK_MAIN();
