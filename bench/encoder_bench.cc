// BERT encoder forward pass over packed batches, FP32 and BF16.
//   build/bin/encoder_bench [--benchmark_filter=...]
// Counters (per wall-clock second): tokens/s and GFLOP/s, counting 2 FLOPs per
// multiply-add: per layer 2*T*(4*H^2 + 2*H*I) for the projections and FFN plus
// 4*T*S*H for attention scores and weighted values (24*T*H^2 + 4*T*S*H when I =
// 4H).
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "core/models/demo/demo_model.h"
#include "core/model/encoder_model.h"
#include "core/dnnl/dnnl_context.h"

namespace attnserve::core {
namespace {

struct Shape {
  const char* name;
  int64_t hidden, layers, heads, intermediate;
};
const Shape kBertBase = {"bert_base", 768, 12, 12, 3072};
const Shape kMiniLm = {"minilm_l6", 384, 6, 12, 1536};

const BertModel& ModelFor(const Shape& shape) {
  static auto* models =
      new std::map<std::string, std::shared_ptr<const BertModel>>();
  auto it = models->find(shape.name);
  if (it != models->end()) return *it->second;
  BertConfig config;
  config.architecture = shape.name;
  config.hidden_size = shape.hidden;
  config.num_layers = shape.layers;
  config.num_heads = shape.heads;
  config.intermediate_size = shape.intermediate;
  config.max_position_embeddings = 512;
  config.type_vocab_size = 2;
  config.vocab_size = 30522;
  auto model = MakeRandomBertModel(config, 1);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", std::string(model.status().message()).c_str());
    std::abort();
  }
  return *models->emplace(shape.name, *model).first->second;
}

void BM_Encode(benchmark::State& state, Shape shape, DType dtype) {
  const int64_t batch = state.range(0), seq = state.range(1);
  const BertModel& model = ModelFor(shape);
  PackedBatch input;
  std::mt19937 rng(5);
  input.offsets.push_back(0);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < seq; ++i)
      input.token_ids.push_back(int32_t(rng() % 30522));
    input.offsets.push_back(int64_t(input.token_ids.size()));
  }
  EncodeOptions options;
  options.compute_dtype = dtype;
  for (auto _ : state) {
    auto out = Encode(model, input, options);
    if (!out.ok()) {
      state.SkipWithError(std::string(out.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(out->hidden.raw_data());
  }
  const double tokens = double(batch * seq);
  const double h = double(shape.hidden), inter = double(shape.intermediate);
  const double flops =
      shape.layers *
      (2 * tokens * (4 * h * h + 2 * h * inter) + 4 * tokens * double(seq) * h);
  state.counters["tokens/s"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(DnnlContext::CpuIsaName());
}

BENCHMARK_CAPTURE(BM_Encode, bert_base_fp32, kBertBase, DType::kFP32)
    ->Args({8, 128})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3);
BENCHMARK_CAPTURE(BM_Encode, bert_base_bf16, kBertBase, DType::kBF16)
    ->Args({8, 128})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3);
BENCHMARK_CAPTURE(BM_Encode, minilm_l6_fp32, kMiniLm, DType::kFP32)
    ->Args({1, 16})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Encode, minilm_l6_bf16, kMiniLm, DType::kBF16)
    ->Args({1, 16})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace attnserve::core

BENCHMARK_MAIN();
