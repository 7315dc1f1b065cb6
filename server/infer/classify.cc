#include "server/infer/classify.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/infer/tasks.h"
#include "server/infer/tokenize.h"

namespace attnserve::server {
namespace {

absl::Status Named(absl::string_view field, size_t i,
                   const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(field, "[", i, "]: ", status.message()));
}

float Sigmoid(float x) { return float(1.0 / (1.0 + std::exp(-double(x)))); }

}  // namespace

absl::StatusOr<PreparedSequences> PrepareSequences(
    const ServedModel& model, absl::Span<const absl::string_view> firsts,
    absl::Span<const absl::string_view> seconds, bool truncate,
    absl::string_view first_field, absl::string_view second_field,
    core::DType compute_dtype) {
  const int64_t max_length = model.info.max_length;
  core::tokenizers::EncodeOptions options;
  options.max_length = truncate ? static_cast<size_t>(max_length) : 0;
  PreparedSequences prepared;
  prepared.options.compute_dtype = compute_dtype;
  prepared.token_ids.reserve(firsts.size());
  std::vector<std::vector<int32_t>> types;
  types.reserve(firsts.size());
  bool any_type = false;
  for (size_t i = 0; i < firsts.size(); ++i) {
    const std::string_view a(firsts[i].data(), firsts[i].size());
    absl::StatusOr<core::tokenizers::Encoding> encoding;
    {
      TokenizeCpuTimer timer(model);
      encoding =
          seconds.empty()
              ? model.tokenizer->Encode(a, options)
              : model.tokenizer->EncodePair(
                    a, std::string_view(seconds[i].data(), seconds[i].size()),
                    options);
    }
    const absl::string_view field =
        seconds.empty() ? first_field : second_field;
    if (!encoding.ok()) return Named(field, i, encoding.status());
    if (!truncate &&
        static_cast<int64_t>(encoding->untruncated_length) > max_length) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "] makes a sequence of ", encoding->untruncated_length,
          " tokens (special tokens included), more than the model's max "
          "length ",
          max_length, "; shorten it or set truncate"));
    }
    for (uint32_t t : encoding->type_ids) any_type |= t != 0;
    types.emplace_back(encoding->type_ids.begin(), encoding->type_ids.end());
    prepared.token_ids.push_back(std::move(encoding->ids));
  }
  // All-zero types are the default: models without token types get none.
  if (any_type) prepared.token_type_ids = std::move(types);
  return prepared;
}

absl::StatusOr<std::vector<std::vector<float>>> HeadLogits(
    const ServedModel& model, const EncodeWork& work,
    absl::string_view sequences_field) {
  std::vector<std::vector<float>> logits;
  logits.reserve(work.hidden.size());
  for (size_t s = 0; s < work.hidden.size(); ++s) {
    std::vector<float> l = model.classifier->Logits(work.hidden[s]);
    for (float v : l) {
      if (!std::isfinite(v)) {
        return absl::InternalError(absl::StrCat(
            "the classifier's logits for ", sequences_field, "[", s,
            "] are not finite (NaN or Inf); the model's weights or this "
            "input overflow FP32"));
      }
    }
    logits.push_back(std::move(l));
  }
  return logits;
}

uint64_t TotalTokens(const EncodeWork& work) {
  uint64_t total = 0;
  for (const auto& ids : work.token_ids()) total += ids.size();
  return total;
}

absl::StatusOr<PreparedSequences> PrepareClassify(
    const ClassifyRequest& request, const ServedModel& model) {
  RETURN_IF_ERROR(CheckServes(model, "classify", "Classify"));
  if (request.texts.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(request.texts_field, " is empty, expected texts"));
  }
  if (!request.text_pairs.empty() &&
      request.text_pairs.size() != request.texts.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        request.text_pairs_field, " has ", request.text_pairs.size(),
        " entries but ", request.texts_field, " has ", request.texts.size(),
        "; set one second segment per text, or none"));
  }
  return PrepareSequences(model, request.texts, request.text_pairs,
                          request.truncate, request.texts_field,
                          request.text_pairs_field, request.compute_dtype);
}

absl::StatusOr<ClassifyResult> FinishClassify(const ClassifyRequest& request,
                                              const EncodeWork& work,
                                              const ServedModel& model) {
  ASSIGN_OR_RETURN(std::vector<std::vector<float>> logits,
                   HeadLogits(model, work, request.texts_field));
  const core::ClassifierConfig& config = model.classifier->config();
  ClassifyResult result;
  result.total_tokens = TotalTokens(work);
  for (const std::vector<float>& l : logits) {
    std::vector<float> scores = l;
    if (!request.raw_scores) {
      if (config.multi_label) {
        for (float& s : scores) s = Sigmoid(s);
      } else {  // softmax, in double
        const double max = *std::max_element(l.begin(), l.end());
        double sum = 0;
        for (float v : l) sum += std::exp(double(v) - max);
        for (size_t k = 0; k < l.size(); ++k) {
          scores[k] = float(std::exp(double(l[k]) - max) / sum);
        }
      }
    }
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    std::vector<LabelScore>& out = result.results.emplace_back();
    for (size_t k : order) {
      out.push_back({config.labels[k], scores[k], static_cast<uint32_t>(k)});
    }
  }
  return result;
}

absl::StatusOr<PreparedSequences> PrepareRerank(const RerankRequest& request,
                                                const ServedModel& model) {
  RETURN_IF_ERROR(CheckServes(model, "rerank", "Rerank"));
  if (request.query.empty()) {
    return absl::InvalidArgumentError("query is empty, expected a query");
  }
  if (request.texts.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(request.texts_field, " is empty, expected texts to rank"));
  }
  const std::vector<absl::string_view> queries(request.texts.size(),
                                               request.query);
  return PrepareSequences(model, queries, request.texts, request.truncate,
                          "query", request.texts_field, request.compute_dtype);
}

absl::StatusOr<RerankResult> FinishRerank(const RerankRequest& request,
                                          const EncodeWork& work,
                                          const ServedModel& model) {
  ASSIGN_OR_RETURN(std::vector<std::vector<float>> logits,
                   HeadLogits(model, work, request.texts_field));
  RerankResult result;
  result.total_tokens = TotalTokens(work);
  result.ranks.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    const float logit = logits[i][0];
    result.ranks.push_back({static_cast<uint32_t>(i),
                            request.raw_scores ? logit : Sigmoid(logit)});
  }
  // Highest first; a stable sort keeps ties in index order.
  std::stable_sort(
      result.ranks.begin(), result.ranks.end(),
      [](const Rank& a, const Rank& b) { return a.score > b.score; });
  if (request.top_n > 0 && request.top_n < result.ranks.size()) {
    result.ranks.resize(request.top_n);
  }
  return result;
}

}  // namespace attnserve::server
