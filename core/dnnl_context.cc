#include "core/dnnl_context.h"

namespace attnserve::core {

DnnlContext& DnnlContext::Get() {
  static DnnlContext* context = new DnnlContext();
  return *context;
}

DnnlContext::DnnlContext() : engine_(dnnl::engine::kind::cpu, 0) {}

dnnl::stream& DnnlContext::stream() {
  thread_local dnnl::stream stream(Get().engine());
  return stream;
}

size_t DnnlContext::cached_primitives() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

std::string DnnlContext::CpuIsaName() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    default:
      return "other";
  }
}

bool DnnlContext::HasNativeBF16() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

}  // namespace attnserve::core
