#ifndef ATTNSERVE_CORE_DNNL_CONTEXT_H_
#define ATTNSERVE_CORE_DNNL_CONTEXT_H_

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/functional/function_ref.h"
#include "dnnl.hpp"

namespace attnserve::core {

// The process-wide oneDNN CPU engine, a stream per thread, and a cache of
// primitives keyed by a string that encodes kind, shapes and dtypes. Creating
// a primitive costs far more than running a small one, so each shape is
// created once and reused.
class DnnlContext {
 public:
  static DnnlContext& Get();

  const dnnl::engine& engine() const { return engine_; }
  // A stream for the calling thread (oneDNN streams are not thread-safe).
  dnnl::stream& stream();

  // The primitive cached under `key`, created by `create` the first time.
  // P is a dnnl primitive type (dnnl::matmul, dnnl::softmax_forward, ...).
  template <class P>
  P GetOrCreate(const std::string& key, absl::FunctionRef<P()> create) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return *static_cast<const P*>(it->second.get());
    auto p = std::make_shared<P>(create());
    cache_.emplace(key, p);
    return *p;
  }

  size_t cached_primitives() const;

  // Attributes every cached primitive is created with: a user-managed
  // scratchpad. oneDNN's library-managed scratchpad is shared between
  // primitives (Debian's build has no DNNL_ENABLE_CONCURRENT_EXEC), so two
  // threads executing at once corrupt each other's results.
  static dnnl::primitive_attr DefaultAttr();
  // Scratchpad memory for executing `p` (created with DefaultAttr()) on the
  // calling thread, in a buffer the thread owns and reuses. Pass it as
  // DNNL_ARG_SCRATCHPAD.
  dnnl::memory ThreadScratchpad(const dnnl::primitive& p);
  // The ISA oneDNN dispatches to on this CPU, e.g. "avx512_core_bf16".
  static std::string CpuIsaName();
  // True when BF16 matmuls run on native hardware (avx512_bf16 or AMX).
  static bool HasNativeBF16();

 private:
  DnnlContext();
  dnnl::engine engine_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<dnnl::primitive>> cache_;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_DNNL_CONTEXT_H_
