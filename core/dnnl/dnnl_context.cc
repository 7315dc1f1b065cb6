#include "core/dnnl/dnnl_context.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>

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

dnnl::primitive_attr DnnlContext::DefaultAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory DnnlContext::ThreadScratchpad(const dnnl::primitive& p) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> data{nullptr, &std::free};
    size_t size = 0;
  };
  thread_local Buffer buffer;
  const dnnl::memory::desc desc(*dnnl_primitive_desc_query_md(
      p.get_primitive_desc(), dnnl_query_scratchpad_md, 0));
  const size_t bytes = desc.get_size();
  if (buffer.size < bytes) {
    const size_t rounded = (bytes + 4095) / 4096 * 4096;
    buffer.data.reset(std::aligned_alloc(64, rounded));
    if (buffer.data == nullptr) throw std::bad_alloc();
    buffer.size = rounded;
  }
  return dnnl::memory(desc, engine_, buffer.data.get());
}

size_t DnnlContext::cached_primitives() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

size_t DnnlContext::capacity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capacity_;
}

void DnnlContext::set_capacity(size_t capacity) {
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = std::max<size_t>(1, capacity);
  while (lru_.size() > capacity_) {
    cache_.erase(lru_.back().first);
    lru_.pop_back();
  }
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
  return isa == dnnl::cpu_isa::avx512_core_bf16 ||
         isa == dnnl::cpu_isa::avx512_core_amx;
}

}  // namespace attnserve::core
