#include "core/dnnl/dnnl_context.h"

#include <string>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

dnnl::eltwise_forward MakeRelu(int64_t n) {
  const dnnl::engine& engine = DnnlContext::Get().engine();
  dnnl::memory::desc md({n}, dnnl::memory::data_type::f32,
                        dnnl::memory::format_tag::a);
  return dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                  dnnl::algorithm::eltwise_relu, md, 0.f),
      engine));
}

TEST(DnnlContextTest, CacheReusesAndEvictsLeastRecentlyUsed) {
  DnnlContext& context = DnnlContext::Get();
  const size_t old_capacity = context.capacity();
  context.set_capacity(3);
  int created = 0;
  auto get = [&](int64_t n) {
    return context.GetOrCreate<dnnl::eltwise_forward>(
        "test_relu_" + std::to_string(n), [&] {
          ++created;
          return MakeRelu(n);
        });
  };
  get(1);
  get(2);
  get(1);  // hit: 1 is now the most recent
  EXPECT_EQ(created, 2);
  get(3);
  get(4);  // evicts 2, the least recently used
  EXPECT_EQ(context.cached_primitives(), 3u);
  get(1);
  EXPECT_EQ(created, 4);
  get(2);  // was evicted: created again
  EXPECT_EQ(created, 5);
  context.set_capacity(old_capacity);
}

}  // namespace
}  // namespace attnserve::core
