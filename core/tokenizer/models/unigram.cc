#include "core/tokenizer/models/unigram.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/tokenizer/models/model_json.h"

namespace attnserve::core::tokenizers {
namespace {

// sentencepiece's kUnkPenalty: an unknown character scores this much below
// the lowest piece.
constexpr double kUnkPenalty = 10.0;

}  // namespace

absl::StatusOr<std::unique_ptr<Unigram>> Unigram::FromJson(
    const nlohmann::json& model, absl::string_view path) {
  std::unique_ptr<Unigram> unigram(new Unigram());
  unigram->path_ = std::string(path);
  if (!model.is_object()) {
    return JsonError(path, "must be an object, got ", JsonKind(model));
  }
  if (auto type = model.find("type"); type != model.end()) {
    if (!type->is_string() || type->get<std::string>() != "Unigram") {
      return JsonError(JsonPath(path, "type"), "must be \"Unigram\", got ",
                       JsonKind(*type));
    }
  }
  absl::Status status =
      OptionalBool(model, path, "byte_fallback", &unigram->byte_fallback_);
  if (!status.ok()) return status;

  // vocab: [[piece, score], ...]; id = position.
  const std::string vocab_path = JsonPath(path, "vocab");
  auto vocab = model.find("vocab");
  if (vocab == model.end() || vocab->is_null()) {
    return JsonError(vocab_path, "is missing");
  }
  if (!vocab->is_array()) {
    return JsonError(vocab_path, "must be an array of [piece, score], got ",
                     JsonKind(*vocab));
  }
  if (vocab->size() >
      static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return JsonError(vocab_path, "has too many pieces");
  }
  unigram->pieces_.reserve(vocab->size());
  unigram->scores_.reserve(vocab->size());
  unigram->token_to_id_.reserve(vocab->size());
  double min_score = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < vocab->size(); ++i) {
    const nlohmann::json& entry = (*vocab)[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
        !entry[1].is_number() || !std::isfinite(entry[1].get<double>())) {
      return JsonError(absl::StrCat(vocab_path, "[", i, "]"),
                       "must be [piece, score] (a string and a finite "
                       "number), got ",
                       entry.is_array()
                           ? entry
                                 .dump(-1, ' ', false,
                                       nlohmann::json::error_handler_t::replace)
                                 .substr(0, 80)
                           : JsonKind(entry));
    }
    const double score = entry[1].get<double>();
    unigram->pieces_.push_back(entry[0].get<std::string>());
    unigram->scores_.push_back(score);
    // A repeated piece maps to its last id, as HF's token_to_ids.
    unigram->token_to_id_[unigram->pieces_.back()] = static_cast<int32_t>(i);
    min_score = std::min(min_score, score);
  }
  unigram->unk_score_ = min_score - kUnkPenalty;

  const std::string unk_path = JsonPath(path, "unk_id");
  if (auto unk = model.find("unk_id"); unk != model.end() && !unk->is_null()) {
    absl::StatusOr<int32_t> unk_id = JsonId(*unk, unk_path);
    if (!unk_id.ok()) return unk_id.status();
    if (unigram->pieces_.empty()) {
      return JsonError(vocab_path, "is empty but ", unk_path, " is set");
    }
    if (static_cast<size_t>(*unk_id) >= unigram->pieces_.size()) {
      return JsonError(unk_path, "is ", *unk_id, " but ", vocab_path, " has ",
                       unigram->pieces_.size(), " pieces");
    }
    unigram->unk_id_ = *unk_id;
  }
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    auto it = unigram->token_to_id_.find(absl::string_view(name));
    unigram->byte_ids_[byte] =
        it == unigram->token_to_id_.end() ? -1 : it->second;
  }
  unigram->BuildTrie();
  return unigram;
}

void Unigram::BuildTrie() {
  // children[node]: (byte, child) in insertion order, sorted when flattened.
  std::vector<std::vector<std::pair<unsigned char, uint32_t>>> children(1);
  std::vector<int32_t> ids(1, -1);
  for (size_t i = 0; i < pieces_.size(); ++i) {
    uint32_t node = 0;
    for (char c : pieces_[i]) {
      const auto byte = static_cast<unsigned char>(c);
      auto& edges = children[node];
      auto it = std::find_if(edges.begin(), edges.end(),
                             [byte](const auto& e) { return e.first == byte; });
      if (it != edges.end()) {
        node = it->second;
        continue;
      }
      const auto child = static_cast<uint32_t>(children.size());
      edges.emplace_back(byte, child);
      children.emplace_back();
      ids.push_back(-1);
      node = child;
    }
    ids[node] = static_cast<int32_t>(i);  // the last id of a repeated piece
  }
  nodes_.resize(children.size());
  for (size_t node = 0; node < children.size(); ++node) {
    auto& edges = children[node];
    std::sort(edges.begin(), edges.end());
    nodes_[node].first_edge = static_cast<uint32_t>(edges_.size());
    nodes_[node].num_edges = static_cast<uint32_t>(edges.size());
    nodes_[node].id = ids[node];
    for (const auto& [byte, child] : edges) {
      edges_.push_back(TrieEdge{byte, child});
    }
  }
  const TrieNode& root = nodes_[0];
  for (uint32_t e = root.first_edge; e < root.first_edge + root.num_edges;
       ++e) {
    root_children_[edges_[e].byte] = edges_[e].child;
  }
}

int64_t Unigram::Child(uint32_t node, unsigned char byte) const {
  if (node == 0) {
    const uint32_t child = root_children_[byte];
    return child == 0 ? int64_t{-1} : int64_t{child};
  }
  const TrieNode& n = nodes_[node];
  const TrieEdge* begin = edges_.data() + n.first_edge;
  const TrieEdge* end = begin + n.num_edges;
  const TrieEdge* it = std::lower_bound(
      begin, end, byte,
      [](const TrieEdge& e, unsigned char b) { return e.byte < b; });
  return it != end && it->byte == byte ? static_cast<int64_t>(it->child) : -1;
}

absl::Status Unigram::BestPath(absl::string_view word,
                               std::vector<Span>* spans) const {
  // best[i]: the best path over word[0, i): its score, where its last piece
  // starts (-1: no path yet) and that piece's id.
  struct Best {
    double score = 0;
    int64_t start = -1;
    int32_t id = 0;
  };
  const size_t size = word.size();
  std::vector<Best> best(size + 1);
  auto offer = [&best](size_t end, size_t start, double score, int32_t id) {
    Best& b = best[end];
    if (b.start < 0 || score > b.score) {
      b = Best{score, static_cast<int64_t>(start), id};
      return true;
    }
    return false;
  };
  size_t pos = 0;
  while (pos < size) {
    const double till_here = best[pos].score;
    const size_t char_len = std::min(Utf8CharLength(word[pos]), size - pos);
    bool has_single_char_piece = false;
    uint32_t node = 0;
    for (size_t k = pos; k < size; ++k) {
      const int64_t child = Child(node, static_cast<unsigned char>(word[k]));
      if (child < 0) break;
      node = static_cast<uint32_t>(child);
      const int32_t id = nodes_[node].id;
      if (id < 0) continue;
      offer(k + 1, pos, scores_[static_cast<size_t>(id)] + till_here, id);
      if (k + 1 - pos == char_len) has_single_char_piece = true;
    }
    if (!has_single_char_piece &&
        offer(pos + char_len, pos, unk_score_ + till_here,
              unk_id_.value_or(-1)) &&
        !unk_id_.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(JsonPath(path_, "unk_id"), " is null and no piece of ",
                       JsonPath(path_, "vocab"), " is the character at byte ",
                       pos, " of ", Quoted(word)));
    }
    pos += char_len;
  }
  spans->clear();
  size_t end = size;
  while (end > 0) {
    const Best& b = best[end];
    const auto start = static_cast<size_t>(b.start);
    const bool unknown = unk_id_.has_value() && b.id == *unk_id_;
    if (unknown && !spans->empty() && spans->back().unknown) {
      spans->back().start = start;  // fused with the unknown to its right
    } else {
      spans->push_back(Span{start, end, b.id, unknown});
    }
    end = start;
  }
  std::reverse(spans->begin(), spans->end());
  return absl::OkStatus();
}

absl::Status Unigram::Tokenize(std::string_view word_view,
                               std::vector<ModelToken>* out) const {
  const absl::string_view word(word_view.data(), word_view.size());
  if (word.empty()) return absl::OkStatus();
  std::vector<Span> spans;
  if (absl::Status status = BestPath(word, &spans); !status.ok()) {
    return status;
  }
  for (const Span& span : spans) {
    const absl::string_view piece =
        word.substr(span.start, span.end - span.start);
    if (!span.unknown) {
      out->push_back(
          ModelToken{span.id, std::string(piece), span.start, span.end});
      continue;
    }
    if (auto it = token_to_id_.find(piece); it != token_to_id_.end()) {
      out->push_back(
          ModelToken{it->second, std::string(piece), span.start, span.end});
      continue;
    }
    if (byte_fallback_ &&
        std::all_of(piece.begin(), piece.end(), [this](char b) {
          return byte_ids_[static_cast<unsigned char>(b)] >= 0;
        })) {
      for (char b : piece) {
        const auto byte = static_cast<unsigned char>(b);
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", byte);
        out->push_back(ModelToken{byte_ids_[byte], std::string(name),
                                  span.start, span.end});
      }
      continue;
    }
    if (!unk_id_.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(JsonPath(path_, "unk_id"), " is null and ",
                       Quoted(piece), " is not in ", JsonPath(path_, "vocab")));
    }
    out->push_back(
        ModelToken{*unk_id_, std::string(piece), span.start, span.end});
  }
  return absl::OkStatus();
}

std::optional<int32_t> Unigram::TokenToId(std::string_view token_view) const {
  const absl::string_view token(token_view.data(), token_view.size());
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> Unigram::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces_.size()) return std::nullopt;
  return pieces_[static_cast<size_t>(id)];
}

}  // namespace attnserve::core::tokenizers
