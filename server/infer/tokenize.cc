#include "server/infer/tokenize.h"

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::server {
namespace {

absl::Status Named(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(field, ": ", status.message()));
}

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * now.tv_nsec;
}

}  // namespace

TokenizeCpuTimer::TokenizeCpuTimer(const ServedModel& model)
    : counter_(model.tokenize_cpu_seconds) {
  if (counter_ != nullptr) start_seconds_ = ThreadCpuSeconds();
}

TokenizeCpuTimer::~TokenizeCpuTimer() {
  if (counter_ != nullptr) {
    counter_->Increment(ThreadCpuSeconds() - start_seconds_);
  }
}

absl::StatusOr<std::vector<Tokenization>> TokenizeTexts(
    const ServedModel& model, absl::Span<const absl::string_view> texts,
    bool add_special_tokens) {
  if (texts.empty()) {
    return absl::InvalidArgumentError("texts is empty, expected texts");
  }
  const ServedTokenizer& tokenizer = *model.tokenizer;
  core::tokenizers::EncodeOptions options;
  options.add_special_tokens = add_special_tokens;
  std::vector<Tokenization> result;
  result.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    absl::StatusOr<core::tokenizers::Encoding> encoding;
    {
      TokenizeCpuTimer timer(model);
      encoding = tokenizer.Encode(
          std::string_view(texts[i].data(), texts[i].size()), options);
    }
    if (!encoding.ok()) {
      return Named(absl::StrCat("texts[", i, "]"), encoding.status());
    }
    Tokenization& tokens = result.emplace_back();
    tokens.reserve(encoding->size());
    for (size_t k = 0; k < encoding->size(); ++k) {
      const int32_t id = encoding->ids[k];
      tokens.push_back(
          {id, std::string(tokenizer.IdToToken(id).value_or("")),
           encoding->offsets[k].start, encoding->offsets[k].end,
           encoding->special_tokens_mask[k] != 0 || tokenizer.IsSpecialId(id)});
    }
  }
  return result;
}

absl::StatusOr<core::tokenizers::Encoding> EncodeText(const ServedModel& model,
                                                      absl::string_view text,
                                                      absl::string_view field,
                                                      size_t max_length) {
  core::tokenizers::EncodeOptions options;
  options.max_length = max_length;
  absl::StatusOr<core::tokenizers::Encoding> encoding;
  {
    TokenizeCpuTimer timer(model);
    encoding = model.tokenizer->Encode(
        std::string_view(text.data(), text.size()), options);
  }
  if (!encoding.ok()) return Named(field, encoding.status());
  return encoding;
}

}  // namespace attnserve::server
