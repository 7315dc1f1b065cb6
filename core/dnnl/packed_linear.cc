#include "core/dnnl/packed_linear.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/huge_pages.h"
#include "core/dnnl/dnnl_context.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {
namespace {

using dnnl::memory;

// Rows of the matmul used to ask oneDNN for its preferred weight layout. The
// blocked layout depends on the weight shape and dtype, not on this count.
constexpr int64_t kPackRows = 128;

memory::data_type ToDnnl(DType dtype) {
  return dtype == DType::kFP32 ? memory::data_type::f32
                               : memory::data_type::bf16;
}

dnnl::matmul::primitive_desc MakeMatmulDesc(int64_t rows, int64_t in,
                                            int64_t out,
                                            memory::data_type src_type,
                                            const memory::desc& weights_desc,
                                            memory::data_type dst_type,
                                            LinearActivation activation) {
  const memory::desc src_desc({rows, in}, src_type, memory::format_tag::ab);
  const memory::desc bias_desc({1, out}, memory::data_type::f32,
                               memory::format_tag::ab);
  const memory::desc dst_desc({rows, out}, dst_type, memory::format_tag::ab);
  dnnl::primitive_attr attr = DnnlContext::DefaultAttr();
  if (activation != LinearActivation::kNone) {
    dnnl::post_ops post_ops;
    // swish is x * sigmoid(alpha x): alpha 1 is SiLU.
    const dnnl::algorithm algorithm =
        activation == LinearActivation::kGeluErf
            ? dnnl::algorithm::eltwise_gelu_erf
        : activation == LinearActivation::kGeluTanh
            ? dnnl::algorithm::eltwise_gelu_tanh
            : dnnl::algorithm::eltwise_swish;
    post_ops.append_eltwise(1.0f, algorithm,
                            activation == LinearActivation::kSilu ? 1.0f : 0.0f,
                            0.0f);
    attr.set_post_ops(post_ops);
  }
  return dnnl::matmul::primitive_desc(
      dnnl::matmul::desc(src_desc, weights_desc, bias_desc, dst_desc), attr,
      DnnlContext::Get().engine());
}

// weight: [out, in] in `dtype`, row-major. Returns it reordered into the
// layout oneDNN's matmul prefers for `dtype` sources, in memory that
// *buffer owns (huge-page backed: the matmuls stream through it).
memory PackWeights(const void* weight, int64_t in, int64_t out, DType dtype,
                   std::shared_ptr<void>* buffer) {
  DnnlContext& context = DnnlContext::Get();
  const memory::data_type type = ToDnnl(dtype);
  const memory::desc any_desc({in, out}, type, memory::format_tag::any);
  const auto pd =
      MakeMatmulDesc(kPackRows, in, out, type, any_desc, memory::data_type::f32,
                     LinearActivation::kNone);
  memory plain(memory::desc({in, out}, type, memory::format_tag::ba),
               context.engine(), const_cast<void*>(weight));
  *buffer = AllocateHugePageBacked(pd.weights_desc().get_size());
  memory packed(pd.weights_desc(), context.engine(), buffer->get());
  dnnl::stream& stream = context.stream();
  dnnl::reorder(plain, packed).execute(stream, plain, packed);
  stream.wait();
  return packed;
}

}  // namespace

int64_t PaddedRows(int64_t rows) {
  return rows <= 16 ? rows : (rows + 15) / 16 * 16;
}

absl::StatusOr<PackedLinear> PackedLinear::Create(const Tensor& weight,
                                                  const Tensor& bias) {
  if (weight.dtype() != DType::kFP32 || weight.rank() != 2 ||
      (!bias.empty() && (bias.dtype() != DType::kFP32 || bias.rank() != 1 ||
                         bias.dim(0) != weight.dim(0)))) {
    return absl::InvalidArgumentError(
        "PackedLinear::Create expects an FP32 weight [out, in] and bias [out] "
        "or none");
  }
  PackedLinear linear;
  linear.out_ = weight.dim(0);
  linear.in_ = weight.dim(1);
  try {
    linear.weights_fp32_ =
        PackWeights(weight.data<float>(), linear.in_, linear.out_, DType::kFP32,
                    &linear.weights_fp32_buffer_);
    linear.bias_ = memory(memory::desc({1, linear.out_}, memory::data_type::f32,
                                       memory::format_tag::ab),
                          DnnlContext::Get().engine());
    // No bias adds zeros: the same primitives serve both kinds of layer.
    if (bias.empty()) {
      std::memset(linear.bias_.get_data_handle(), 0,
                  size_t(linear.out_) * sizeof(float));
    } else {
      std::memcpy(linear.bias_.get_data_handle(), bias.data<float>(),
                  bias.num_bytes());
    }
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN failed to pack a [",
                                            linear.out_, ", ", linear.in_,
                                            "] weight: ", e.what()));
  }
  // CPUs without AVX-512 have no oneDNN BF16 matmul: the layer then serves
  // FP32 only and Apply() reports BF16 as unsupported.
  try {
    Tensor weight_bf16(DType::kBF16, {linear.out_, linear.in_});
    ConvertToBF16(weight.data<float>(), weight_bf16.data<BF16>(),
                  weight.num_elements());
    linear.weights_bf16_ =
        PackWeights(weight_bf16.data<BF16>(), linear.in_, linear.out_,
                    DType::kBF16, &linear.weights_bf16_buffer_);
  } catch (const dnnl::error&) {
    linear.weights_bf16_ = memory();
  }
  return linear;
}

absl::Status PackedLinear::Apply(DType src_dtype, const void* src, int64_t rows,
                                 DType dst_dtype, void* dst,
                                 LinearActivation activation) const {
  DnnlContext& context = DnnlContext::Get();
  const memory& weights =
      src_dtype == DType::kFP32 ? weights_fp32_ : weights_bf16_;
  if (!weights) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compute_dtype BF16 is not supported on this CPU (oneDNN ISA ",
        DnnlContext::CpuIsaName(), "); use FP32"));
  }
  const size_t src_row_bytes = size_t(in_) * DTypeSize(src_dtype);
  const size_t dst_row_bytes = size_t(out_) * DTypeSize(dst_dtype);
  // Row blocks of at most kMaxPrimitiveRows, each padded to PaddedRows(): a
  // bounded set of primitives (per weight shape and dtype) serves any batch.
  for (int64_t begin = 0; begin < rows; begin += kMaxPrimitiveRows) {
    const int64_t block_rows =
        PaddedRows(std::min(kMaxPrimitiveRows, rows - begin));
    try {
      const std::string key = absl::StrCat(
          "linear:", block_rows, ":", in_, ":", out_, ":", DTypeName(src_dtype),
          ":", DTypeName(dst_dtype), ":", static_cast<int>(activation));
      auto matmul = context.GetOrCreate<dnnl::matmul>(key, [&] {
        return dnnl::matmul(
            MakeMatmulDesc(block_rows, in_, out_, ToDnnl(src_dtype),
                           weights.get_desc(), ToDnnl(dst_dtype), activation));
      });
      memory src_memory(memory::desc({block_rows, in_}, ToDnnl(src_dtype),
                                     memory::format_tag::ab),
                        context.engine(),
                        const_cast<char*>(static_cast<const char*>(src) +
                                          begin * src_row_bytes));
      memory dst_memory(memory::desc({block_rows, out_}, ToDnnl(dst_dtype),
                                     memory::format_tag::ab),
                        context.engine(),
                        static_cast<char*>(dst) + begin * dst_row_bytes);
      const memory scratchpad = context.ThreadScratchpad(matmul);
      dnnl::stream& stream = context.stream();
      matmul.execute(stream, {{DNNL_ARG_SRC, src_memory},
                              {DNNL_ARG_WEIGHTS, weights},
                              {DNNL_ARG_BIAS, bias_},
                              {DNNL_ARG_DST, dst_memory},
                              {DNNL_ARG_SCRATCHPAD, scratchpad}});
      stream.wait();
    } catch (const dnnl::error& e) {
      return absl::InternalError(absl::StrCat("oneDNN matmul [", block_rows,
                                              ", ", in_, "] x [", in_, ", ",
                                              out_, "] failed: ", e.what()));
    }
  }
  return absl::OkStatus();
}

}  // namespace attnserve::core
