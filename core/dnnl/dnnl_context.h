#ifndef ATTNSERVE_CORE_DNNL_DNNL_CONTEXT_H_
#define ATTNSERVE_CORE_DNNL_DNNL_CONTEXT_H_

#include <list>
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
  // The cache keeps the `capacity()` most recently used primitives, so
  // requests of ever new shapes cannot grow memory without bound; an evicted
  // primitive stays valid for whoever still holds it (primitives are shared
  // handles).
  template <class P>
  P GetOrCreate(const std::string& key, absl::FunctionRef<P()> create) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return *static_cast<const P*>(it->second->second.get());
    }
    auto p = std::make_shared<P>(create());
    lru_.emplace_front(key, p);
    cache_.emplace(key, lru_.begin());
    while (lru_.size() > capacity_) {
      cache_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return *p;
  }

  size_t cached_primitives() const;
  size_t capacity() const;
  void set_capacity(size_t capacity);  // >= 1

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
  using Entry = std::pair<std::string, std::shared_ptr<dnnl::primitive>>;
  size_t capacity_ = 1024;  // guarded by mu_
  std::list<Entry> lru_;    // guarded by mu_; most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator>
      cache_;  // guarded by mu_
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_DNNL_DNNL_CONTEXT_H_
