// Attention kernels through core::Attend (validation included), on the
// OpenMP team (OMP_NUM_THREADS, default: all cores). "Time" is wall time,
// "CPU" the whole process's CPU time. Counters: GFLOP/s of 4*B*H*Sq*Sk*D
// (global) or 4*B*H*Sq*(window keys)*D (local, the work actually needed).
//   ./build/bin/attention_bench --benchmark_filter=Global
// bench/compare_attention.py runs the same shapes in torch side by side.
#include <cstdint>
#include <random>

#include "benchmark/benchmark.h"
#include "core/attention/attention.h"
#include "core/attention/dense_dnnl_attention.h"
#include "core/attention/fused_attention.h"
#include "core/base/parallel.h"
#include "core/dnnl/dnnl_context.h"

namespace attnserve::core {
namespace {

Tensor RandomTensor(std::vector<int64_t> shape, DType dtype,
                    std::mt19937_64& rng) {
  Tensor t(DType::kFP32, std::move(shape));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < t.num_elements(); ++i)
    t.data<float>()[i] = normal(rng);
  return t.To(dtype);
}

void RunAttend(benchmark::State& state, const AttentionSpec& spec,
               const AttentionInputs& in, double flops) {
  AttentionOutputs out;
  for (auto _ : state) {
    const absl::Status status = Attend(spec, in, &out);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(out.output.raw_data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = ComputeThreads();
  state.SetLabel(DnnlContext::CpuIsaName());
}

// Args: seq_len, bf16 (0/1). B=8, H=12, D=64, no mask.
void BM_GlobalSoft(benchmark::State& state) {
  const int64_t batch = 8, heads = 12, seq = state.range(0), dim = 64;
  const DType dtype = state.range(1) ? DType::kBF16 : DType::kFP32;
  std::mt19937_64 rng(1);
  AttentionInputs in;
  in.query = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.key = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.value = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.compute_dtype = dtype;
  RunAttend(state, AttentionSpec{}, in, 4.0 * batch * heads * seq * seq * dim);
}
BENCHMARK(BM_GlobalSoft)
    ->ArgNames({"S", "bf16"})
    ->ArgsProduct({{128, 512, 2048}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Args: seq_len, bf16. B=1, H=12, D=64, LOCAL window 128 keys each side.
void BM_LocalSoft(benchmark::State& state) {
  const int64_t batch = 1, heads = 12, seq = state.range(0), dim = 64,
                window = 128;
  const DType dtype = state.range(1) ? DType::kBF16 : DType::kFP32;
  std::mt19937_64 rng(2);
  AttentionInputs in;
  in.query = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.key = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.value = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.compute_dtype = dtype;
  AttentionSpec spec;
  spec.scope = AttentionSpec::Scope::kLocal;
  spec.window_left = spec.window_right = window;
  RunAttend(state, spec, in,
            4.0 * batch * heads * seq * (2 * window + 1) * dim);
}
BENCHMARK(BM_LocalSoft)
    ->ArgNames({"S", "bf16"})
    ->ArgsProduct({{4096, 16384}, {0}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// One implementation called directly (RunAttention: no validation, no
// choice), for the fused-vs-dense crossover. Args: kernel (0 dense_dnnl,
// 1 fused), batch, seq_len, bf16, causal, head_dim. H=12, no weights.
void BM_Kernel(benchmark::State& state) {
  static const DenseDnnlAttention* dense = new DenseDnnlAttention();
  static const FusedAttention* fused =
      new FusedAttention(FusedAttention::Coverage::kEverywhere);
  const AttentionImplementation& impl =
      state.range(0) ? static_cast<const AttentionImplementation&>(*fused)
                     : *dense;
  const int64_t batch = state.range(1), heads = 12, seq = state.range(2),
                dim = state.range(5);
  const DType dtype = state.range(3) ? DType::kBF16 : DType::kFP32;
  AttentionSpec spec;
  spec.causal = state.range(4) != 0;
  std::mt19937_64 rng(3);
  AttentionInputs in;
  in.query = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.key = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.value = RandomTensor({batch, heads, seq, dim}, dtype, rng);
  in.compute_dtype = dtype;
  if (!impl.Supports(spec, in)) {
    state.SkipWithError("not supported on this CPU");
    return;
  }
  AttentionOutputs out;
  for (auto _ : state) {
    const absl::Status status = RunAttention(impl, spec, in, &out);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(out.output.raw_data());
  }
  const double visible_fraction = spec.causal ? 0.5 : 1.0;
  state.counters["GFLOP/s"] = benchmark::Counter(
      4.0 * batch * heads * seq * seq * dim * visible_fraction * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = ComputeThreads();
  state.SetLabel(std::string(impl.name()));
}
BENCHMARK(BM_Kernel)
    ->ArgNames({"fused", "B", "S", "bf16", "causal", "D"})
    ->ArgsProduct(
        {{0, 1}, {1}, {8, 16, 32, 64, 128, 256, 512}, {0, 1}, {0}, {64}})
    ->ArgsProduct({{0, 1}, {8, 32}, {128, 512}, {0, 1}, {0}, {64}})
    ->ArgsProduct({{0, 1}, {1}, {1024, 2048, 4096}, {0, 1}, {0}, {64}})
    ->ArgsProduct({{0, 1}, {1}, {512, 2048}, {0, 1}, {1}, {64}})
    ->ArgsProduct({{0, 1}, {1}, {128, 1024}, {0, 1}, {0}, {32, 80, 128}})
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace
}  // namespace attnserve::core

BENCHMARK_MAIN();
