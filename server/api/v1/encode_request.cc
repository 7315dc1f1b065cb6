#include "server/api/v1/encode_request.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/api/v1/proto_convert.h"

namespace attnserve::server {
namespace {

// Unset (POOLING_UNSPECIFIED): the model's default.
absl::StatusOr<std::optional<core::Pooling>> PoolingFromProto(int pooling) {
  switch (pooling) {
    case v1::POOLING_UNSPECIFIED:
      return std::optional<core::Pooling>();
    case v1::CLS:
      return core::Pooling::kCls;
    case v1::MEAN:
      return core::Pooling::kMean;
    case v1::MAX:
      return core::Pooling::kMax;
    case v1::LAST:
      return core::Pooling::kLast;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "pooling is ", pooling, ", expected CLS, MEAN, MAX, LAST or SPLADE"));
  }
}

}  // namespace

absl::StatusOr<PreparedEncode> PrepareEncode(const v1::EncodeRequest& request,
                                             const ServedModel& model) {
  EmbedRequest embed;
  embed.sparse = request.pooling() == v1::SPLADE;
  if (!embed.sparse) {
    ASSIGN_OR_RETURN(embed.pooling, PoolingFromProto(request.pooling()));
  }
  embed.prompt_name = request.prompt_name();
  if (request.has_chunking()) {
    embed.chunking = core::ChunkingOptions{request.chunking().max_tokens(),
                                           request.chunking().overlap()};
  }
  ASSIGN_OR_RETURN(
      embed.compute_dtype,
      ComputeDTypeFromProto(request.compute_dtype(), "compute_dtype"));
  embed.normalize = request.normalize();
  embed.truncate = request.truncate();
  embed.return_token_embeddings = request.return_token_embeddings();
  embed.attention_layers.assign(request.attention_layers().begin(),
                                request.attention_layers().end());
  embed.texts.assign(request.texts().begin(), request.texts().end());
  embed.token_ids.reserve(request.token_ids_size());
  for (const v1::TokenIds& ids : request.token_ids()) {
    embed.token_ids.emplace_back(ids.ids().data(), ids.ids().size());
  }
  if (request.has_attention()) {
    ASSIGN_OR_RETURN(embed.attention,
                     SpecFromProto(request.attention(), "attention"));
  }
  return PrepareEmbed(embed, model);
}

absl::Status FillEncodeResponse(const PreparedEncode& prepared,
                                const EncodeWork& work,
                                const ServedModel& model,
                                v1::EncodeResponse* response) {
  ASSIGN_OR_RETURN(EmbedResult result, FinishEmbed(prepared, work));
  response->set_model(model.name);
  for (const EmbedSequence& sequence : result.sequences) {
    v1::Embedding* embedding = response->add_embeddings();
    embedding->set_num_tokens(sequence.num_tokens);
    if (!sequence.pooled.empty()) {
      const float* pooled = sequence.pooled.data<float>();
      embedding->mutable_pooled()->Add(pooled,
                                       pooled + sequence.pooled.num_elements());
    }
    if (prepared.sparse != nullptr) {
      v1::SparseVector* sparse = embedding->mutable_sparse();
      sparse->mutable_indices()->Add(sequence.sparse.indices.begin(),
                                     sequence.sparse.indices.end());
      sparse->mutable_values()->Add(sequence.sparse.values.begin(),
                                    sequence.sparse.values.end());
    }
    if (!sequence.token_embeddings.empty()) {
      TensorToProto(sequence.token_embeddings,
                    embedding->mutable_token_embeddings());
    }
    for (const core::Tensor& map : sequence.attention) {
      TensorToProto(map, embedding->add_attention());
    }
    for (const EmbedChunk& chunk : sequence.chunks) {
      v1::Chunk* out = embedding->add_chunks();
      const float* p = chunk.pooled.data<float>();
      out->mutable_pooled()->Add(p, p + chunk.pooled.num_elements());
      out->set_start(chunk.start);
      out->set_end(chunk.end);
      out->set_num_tokens(chunk.num_tokens);
    }
  }
  response->set_total_tokens(result.total_tokens);
  return absl::OkStatus();
}

}  // namespace attnserve::server
