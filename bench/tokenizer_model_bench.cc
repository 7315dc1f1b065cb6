// The tokenizer models alone (core/tokenizer/models: BPE, Unigram) on the
// words of ~1 MB of mixed-language text (tests/golden/tokenizer_corpus.txt
// repeated, split at spaces and newlines, each word spelled "▁word" as a
// Metaspace pre-tokenizer gives it), with the trained test tokenizers of
// tests/golden/tokenizers/. Whole-pipeline numbers against the peers are in
// tokenizer_bench.cc / tokenizer_peers.mjs.
//   build/bin/tokenizer_model_bench [--benchmark_filter=...]
// Counters: tokens/s (output pieces) and bytes/s (input words).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/tokenizer/models/bpe.h"
#include "core/tokenizer/models/unigram.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {
namespace {

const std::filesystem::path kGolden =
    std::filesystem::path(__FILE__).parent_path().parent_path() /
    "tests/golden";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

template <class M>
std::unique_ptr<M> LoadModel(const std::string& name) {
  const nlohmann::json json = nlohmann::json::parse(
      ReadFile(kGolden / "tokenizers" / name / "tokenizer.json"));
  auto model = M::FromJson(json["model"]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*model);
}

const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = [] {
    const std::string corpus = ReadFile(kGolden / "tokenizer_corpus.txt");
    std::vector<std::string> out;
    size_t bytes = 0;
    while (bytes < (1 << 20)) {
      size_t start = 0;
      for (size_t i = 0; i <= corpus.size(); ++i) {
        if (i == corpus.size() || corpus[i] == ' ' || corpus[i] == '\n') {
          if (i > start) {
            out.push_back("\xe2\x96\x81" + corpus.substr(start, i - start));
            bytes += out.back().size();
          }
          start = i + 1;
        }
      }
    }
    return out;
  }();
  return words;
}

void Run(benchmark::State& state, const Model& model) {
  const std::vector<std::string>& words = Words();
  size_t tokens = 0, bytes = 0;
  std::vector<ModelToken> out;
  for (auto _ : state) {
    for (const std::string& word : words) {
      out.clear();
      if (!model.Tokenize(word, &out).ok()) state.SkipWithError("failed");
      tokens += out.size();
      bytes += word.size();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(int64_t(bytes));
}

void BM_BpeLlama(benchmark::State& state) {
  static const auto model = LoadModel<Bpe>("llama-bpe");
  Run(state, *model);
}
void BM_UnigramMetaspace(benchmark::State& state) {
  static const auto model = LoadModel<Unigram>("unigram-metaspace");
  Run(state, *model);
}
void BM_UnigramXlmr(benchmark::State& state) {
  static const auto model = LoadModel<Unigram>("xlmr-sentencepiece");
  Run(state, *model);
}
BENCHMARK(BM_BpeLlama)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_UnigramMetaspace)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_UnigramXlmr)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace attnserve::core::tokenizers

BENCHMARK_MAIN();
