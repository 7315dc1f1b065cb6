#ifndef ATTNSERVE_CORE_MODELS_BERT_BERT_CONFIG_H_
#define ATTNSERVE_CORE_MODELS_BERT_BERT_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve::core {

// GELU variants of Hugging Face `hidden_act`.
enum class Activation {
  // "gelu": x * Phi(x), the exact erf form
  kGeluErf,
  // "gelu_new", "gelu_pytorch_tanh", "gelu_fast": the tanh approximation
  kGeluTanh,
};

// The fields of a BERT-family config.json that the encoder uses.
struct BertConfig {
  std::string architecture;  // architectures[0], or "BertModel" when absent
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  Activation activation = Activation::kGeluErf;
  float layer_norm_eps = 1e-12f;
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 0;
  int64_t vocab_size = 0;
  // Added to a token's position to index the position table: 0 for BERT;
  // pad_token_id + 1 for the RoBERTa family (RobertaEmbeddings'
  // create_position_ids_from_input_ids), whose longest sequence is therefore
  // max_position_embeddings - position_offset (514 - 2 = 512).
  int64_t position_offset = 0;

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t max_length() const {
    return max_position_embeddings - position_offset;
  }
};

// Parses and validates the text of a config.json. Accepts BERT-family models:
// `model_type` "bert", "roberta", "xlm-roberta" or "camembert", or an
// `architectures` entry starting with Bert, Roberta, XLMRoberta or Camembert
// (RoBERTa, XLM-R and CamemBERT are BERT layers with a position offset).
// Sizes are range-checked before anything is allocated. Messages start with
// "config.json: " and name the field, e.g.
//   config.json: hidden_act is "relu6", expected one of gelu, gelu_new, ...
// Pure function, no I/O.
absl::StatusOr<BertConfig> ParseBertConfig(absl::string_view json_text);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_BERT_BERT_CONFIG_H_
