// Text to sentence embedding through core only: tokenizer + encoder +
// pooling, for the golden checkpoint and the built-in demo model.
#include <cmath>
#include <string>

#include "core/layers/pooling.h"
#include "core/model/encoder_model.h"
#include "core/models/bert/bert_model.h"
#include "core/models/demo/demo_model.h"
#include "core/tokenizer/load_tokenizer.h"
#include "core/tokenizer/vocab_txt.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/";

PackedBatch Pack(const tokenizers::Tokenizer& tokenizer,
                 const std::vector<std::string>& texts) {
  PackedBatch batch;
  batch.offsets.push_back(0);
  for (const std::string& text : texts) {
    auto ids = tokenizer.Encode(text, tokenizers::EncodeOptions());
    EXPECT_TRUE(ids.ok()) << ids.status();
    if (!ids.ok()) continue;
    batch.token_ids.insert(batch.token_ids.end(), ids->ids.begin(),
                           ids->ids.end());
    batch.offsets.push_back(int64_t(batch.token_ids.size()));
  }
  return batch;
}

// The demo vocabulary is a valid vocab.txt for the WordPiece tokenizer, its
// ids fit the demo model, and the same text gives the same embedding alone or
// in a batch.
TEST(BertTextTest, DemoModelEmbedsText) {
  auto demo = MakeDemoModel();
  ASSERT_TRUE(demo.ok()) << demo.status();
  auto made = tokenizers::MakeTokenizerFromVocab(demo->vocab, {});
  ASSERT_TRUE(made.ok()) << made.status();
  const tokenizers::Tokenizer* tokenizer = made->get();
  EXPECT_EQ(int64_t(tokenizer->VocabSize()), demo->model->config.vocab_size);
  EXPECT_EQ(tokenizer->TokenToId("[CLS]"), 2);
  EXPECT_EQ(tokenizer->TokenToId("[SEP]"), 3);

  const std::vector<std::string> texts = {
      "Hello world!", "The cat sat on the mat.",
      "Attention encoders, served quickly."};
  const PackedBatch batch = Pack(*tokenizer, texts);
  ASSERT_EQ(batch.offsets.size(), 4u);
  for (int32_t id : batch.token_ids)
    EXPECT_NE(id, tokenizer->TokenToId("[UNK]")) << "a word is missing";
  auto out = Encode(*demo->model, batch, EncodeOptions());
  ASSERT_TRUE(out.ok()) << out.status();
  Tensor pooled =
      Pool(out->hidden, batch.offsets, demo->model->default_pooling);
  if (demo->model->default_normalize) L2NormalizeRows(&pooled);
  for (int64_t s = 0; s < 3; ++s) {
    double norm = 0;
    for (int64_t i = 0; i < pooled.dim(1); ++i) {
      norm += double(pooled.data<float>()[s * pooled.dim(1) + i]) *
              pooled.data<float>()[s * pooled.dim(1) + i];
    }
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
}

TEST(BertTextTest, GoldenCheckpointTokenizerAndModelAgree) {
  auto model = LoadBertModel(kGoldenDir + "tiny_bert");
  ASSERT_TRUE(model.ok()) << model.status();
  auto tokenizer = tokenizers::LoadTokenizer(kGoldenDir + "tiny_bert");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(int64_t((*tokenizer)->VocabSize()), (*model)->config.vocab_size);
  EXPECT_EQ((*tokenizer)->model_max_length(), (*model)->max_length);
  const PackedBatch batch = Pack(**tokenizer, {"the water is warm", "a b c"});
  auto out = Encode(**model, batch, EncodeOptions());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->hidden.dim(0), int64_t(batch.token_ids.size()));
}

}  // namespace
}  // namespace attnserve::core
