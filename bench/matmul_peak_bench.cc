// The machine's practical matmul peak: one large oneDNN matmul, FP32 and
// BF16 (BF16 inputs, FP32 output), on the calling thread's OpenMP team.
// Achieved GFLOP/s of the encoder and attention benchmarks are read against
// it.  OMP_NUM_THREADS=2 build/bin/matmul_peak_bench
// The inputs are random in [-1, 1], like real activations and weights: all
// zero inputs switch fewer bits and can run faster than real data would.
// GFLOP/s is per wall second. GFLOP/cpu_s is per second of the process's CPU
// time (all threads); on a busy machine, where the threads do not get their
// cores all the time, GFLOP/cpu_s x threads is the steadier estimate of the
// dedicated-core peak (with OMP_WAIT_POLICY=PASSIVE, so waiting threads do
// not spin). encoder_timing's cpu_ms reads against it.
#include <benchmark/benchmark.h>

#include <ctime>
#include <random>
#include <vector>

#include "core/base/dtype.h"
#include "core/dnnl/dnnl_context.h"

namespace attnserve::core {
namespace {

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

// Fills `m` (plain row-major [rows, cols], f32 or bf16) with uniform values
// in [-1, 1].
void FillRandom(dnnl::memory& m, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const dnnl::memory::desc desc = m.get_desc();
  const size_t n =
      desc.get_size() / dnnl::memory::data_type_size(desc.data_type());
  std::vector<float> values(n);
  for (float& v : values) v = uniform(rng);
  if (desc.data_type() == dnnl::memory::data_type::f32) {
    std::copy(values.begin(), values.end(),
              static_cast<float*>(m.get_data_handle()));
  } else {
    FloatToBF16(values.data(), static_cast<BF16*>(m.get_data_handle()), n);
  }
}

void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool bf16 = state.range(1) != 0;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine& engine = DnnlContext::Get().engine();
  const dt in = bf16 ? dt::bf16 : dt::f32;
  dnnl::memory::desc a_md({n, n}, in, tag::ab);
  dnnl::memory::desc b_any({n, n}, in, tag::any);
  dnnl::memory::desc c_md({n, n}, dt::f32, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md),
                                  DnnlContext::DefaultAttr(), engine);
  dnnl::matmul matmul(pd);
  dnnl::memory a(a_md, engine), b(pd.weights_desc(), engine), c(c_md, engine);
  dnnl::memory b_plain(dnnl::memory::desc({n, n}, in, tag::ab), engine);
  std::mt19937 rng(1);
  FillRandom(a, rng);
  FillRandom(b_plain, rng);
  dnnl::stream& stream = DnnlContext::Get().stream();
  dnnl::reorder(b_plain, b).execute(stream, b_plain, b);
  stream.wait();
  dnnl::memory scratch = DnnlContext::Get().ThreadScratchpad(matmul);
  const double cpu_start = ProcessCpuSeconds();
  for (auto _ : state) {
    matmul.execute(stream, {{DNNL_ARG_SRC, a},
                            {DNNL_ARG_WEIGHTS, b},
                            {DNNL_ARG_DST, c},
                            {DNNL_ARG_SCRATCHPAD, scratch}});
    stream.wait();
  }
  const double flop = 2.0 * double(n) * n * n;
  state.counters["GFLOP/cpu_s"] = flop * 1e-9 * double(state.iterations()) /
                                  (ProcessCpuSeconds() - cpu_start);
  state.counters["GFLOP/s"] = benchmark::Counter(
      flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(bf16 ? "bf16" : "fp32");
}
BENCHMARK(BM_Matmul)->Args({2048, 0})->Args({2048, 1})->UseRealTime()->MinTime(
    2);

}  // namespace
}  // namespace attnserve::core

BENCHMARK_MAIN();
