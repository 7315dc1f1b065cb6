#include "core/tokenizer/models/bpe.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/tokenizer/models/model_json.h"

namespace attnserve::core::tokenizers {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
         static_cast<uint32_t>(right);
}

// A merge waiting in the queue (HF's word::Merge): popped lowest rank first,
// then leftmost.
struct QueuedMerge {
  uint32_t pos;
  uint32_t rank;
  int32_t new_id;
};
struct PopsLater {
  bool operator()(const QueuedMerge& a, const QueuedMerge& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Bpe>> Bpe::FromJson(const nlohmann::json& model,
                                                   absl::string_view path) {
  std::unique_ptr<Bpe> bpe(new Bpe());
  bpe->path_ = std::string(path);
  if (!model.is_object()) {
    return JsonError(path, "must be an object, got ", JsonKind(model));
  }
  if (auto type = model.find("type"); type != model.end()) {
    if (!type->is_string() || type->get<std::string>() != "BPE") {
      return JsonError(JsonPath(path, "type"), "must be \"BPE\", got ",
                       JsonKind(*type));
    }
  }
  std::optional<double> dropout;
  absl::Status status = OptionalNumber(model, path, "dropout", &dropout);
  if (!status.ok()) return status;
  if (dropout.has_value() && !(*dropout >= 0.0 && *dropout <= 1.0)) {
    return JsonError(JsonPath(path, "dropout"), "must be in [0, 1], got ",
                     *dropout);
  }
  status = OptionalString(model, path, "unk_token", &bpe->unk_token_);
  if (status.ok())
    status = OptionalString(model, path, "continuing_subword_prefix",
                            &bpe->continuing_subword_prefix_);
  if (status.ok())
    status = OptionalString(model, path, "end_of_word_suffix",
                            &bpe->end_of_word_suffix_);
  if (status.ok())
    status = OptionalBool(model, path, "fuse_unk", &bpe->fuse_unk_);
  if (status.ok())
    status = OptionalBool(model, path, "byte_fallback", &bpe->byte_fallback_);
  if (status.ok())
    status = OptionalBool(model, path, "ignore_merges", &bpe->ignore_merges_);
  if (!status.ok()) return status;

  // vocab: {piece: id}.
  const std::string vocab_path = JsonPath(path, "vocab");
  auto vocab = model.find("vocab");
  if (vocab == model.end() || vocab->is_null()) {
    return JsonError(vocab_path, "is missing");
  }
  if (!vocab->is_object()) {
    return JsonError(vocab_path, "must be an object {piece: id}, got ",
                     JsonKind(*vocab));
  }
  bpe->vocab_.reserve(vocab->size());
  int64_t max_id = -1;
  for (const auto& [piece, id] : vocab->items()) {
    absl::StatusOr<int32_t> value =
        JsonId(id, absl::StrCat(vocab_path, "[", Quoted(piece), "]"));
    if (!value.ok()) return value.status();
    bpe->vocab_[piece] = *value;
    max_id = std::max<int64_t>(max_id, *value);
  }
  const int64_t max_allowed =
      4 * static_cast<int64_t>(bpe->vocab_.size()) + 65536;
  if (max_id > max_allowed) {
    return JsonError(vocab_path, "has id ", max_id, " for ", bpe->vocab_.size(),
                     " pieces: ids this sparse are not supported");
  }
  bpe->vocab_r_.resize(static_cast<size_t>(max_id + 1));
  // Two pieces with one id: the later in key order names it (HF's choice
  // depends on hash order).
  for (const auto& [piece, id] : vocab->items()) {
    bpe->vocab_r_[static_cast<size_t>(id.get<int64_t>())] = piece;
  }
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    auto it = bpe->vocab_.find(absl::string_view(name));
    bpe->byte_ids_[byte] = it == bpe->vocab_.end() ? -1 : it->second;
  }

  // merges: ["a b", ...] or [["a", "b"], ...]; rank = position.
  const std::string merges_path = JsonPath(path, "merges");
  auto merges = model.find("merges");
  if (merges == model.end() || merges->is_null()) {
    return JsonError(merges_path, "is missing");
  }
  if (!merges->is_array()) {
    return JsonError(merges_path,
                     "must be an array of \"a b\" strings or [a, b] pairs, "
                     "got ",
                     JsonKind(*merges));
  }
  // HF reads the array as all pairs, else as all strings.
  const bool tuples =
      std::all_of(merges->begin(), merges->end(), [](const nlohmann::json& m) {
        return m.is_array() && m.size() == 2 && m[0].is_string() &&
               m[1].is_string();
      });
  const size_t prefix_len = bpe->continuing_subword_prefix_.has_value()
                                ? bpe->continuing_subword_prefix_->size()
                                : 0;
  bpe->merges_.reserve(merges->size());
  uint32_t rank = 0;
  for (size_t i = 0; i < merges->size(); ++i) {
    const nlohmann::json& merge = (*merges)[i];
    const std::string merge_path = absl::StrCat(merges_path, "[", i, "]");
    std::string left, right;
    if (tuples) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      if (!merge.is_string()) {
        return JsonError(merge_path,
                         "must be a \"a b\" string (or every merge an [a, b] "
                         "pair of strings), got ",
                         JsonKind(merge));
      }
      const std::string& line = merge.get_ref<const std::string&>();
      if (line.rfind("#version", 0) == 0) continue;
      std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
      if (parts.size() != 2) {
        return JsonError(merge_path, Quoted(line),
                         " is not two pieces separated by one space");
      }
      left = std::string(parts[0]);
      right = std::string(parts[1]);
    }
    auto left_id = bpe->vocab_.find(left);
    if (left_id == bpe->vocab_.end()) {
      return JsonError(merge_path, Quoted(left), " is not in ", vocab_path);
    }
    auto right_id = bpe->vocab_.find(right);
    if (right_id == bpe->vocab_.end()) {
      return JsonError(merge_path, Quoted(right), " is not in ", vocab_path);
    }
    // The merged piece drops the right piece's first prefix_len bytes (its
    // continuing_subword_prefix), whether or not they are that prefix.
    if (right.size() < prefix_len) {
      return JsonError(merge_path, Quoted(right),
                       " is shorter than the continuing_subword_prefix");
    }
    const std::string merged = left + right.substr(prefix_len);
    auto merged_id = bpe->vocab_.find(merged);
    if (merged_id == bpe->vocab_.end()) {
      return JsonError(merge_path, "the merged piece ", Quoted(merged),
                       " is not in ", vocab_path);
    }
    // A repeated pair keeps its last rank (HF collects into a hash map).
    bpe->merges_[PairKey(left_id->second, right_id->second)] =
        Merge{rank, merged_id->second};
    ++rank;
  }
  return bpe;
}

std::optional<int32_t> Bpe::TokenToId(std::string_view token_view) const {
  const absl::string_view token(token_view.data(), token_view.size());
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> Bpe::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_r_.size() ||
      !vocab_r_[static_cast<size_t>(id)].has_value()) {
    return std::nullopt;
  }
  return *vocab_r_[static_cast<size_t>(id)];
}

const Bpe::Merge* Bpe::FindMerge(int32_t left, int32_t right) const {
  auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

absl::Status Bpe::SplitChars(absl::string_view word,
                             std::vector<Symbol>* symbols) const {
  auto add = [symbols](int32_t id, size_t len) {
    const int32_t index = static_cast<int32_t>(symbols->size());
    if (!symbols->empty()) symbols->back().next = index;
    symbols->push_back(Symbol{id, index - 1, -1, static_cast<uint32_t>(len)});
  };
  // A pending unknown: its id and byte length (HF adds it once the next known
  // character, or the end, is reached, so fused unknowns grow in place).
  int32_t unk_id = -1;  // -1: none pending
  size_t unk_len = 0;
  std::string piece;
  size_t i = 0;
  while (i < word.size()) {
    const size_t len = std::min(Utf8CharLength(word[i]), word.size() - i);
    const bool is_first = i == 0;
    const bool is_last = i + len == word.size();
    absl::string_view ch = word.substr(i, len);
    i += len;
    absl::string_view s = ch;
    if ((!is_first && continuing_subword_prefix_.has_value()) ||
        (is_last && end_of_word_suffix_.has_value())) {
      piece.clear();
      if (!is_first && continuing_subword_prefix_.has_value()) {
        piece += *continuing_subword_prefix_;
      }
      piece.append(ch.data(), ch.size());
      if (is_last && end_of_word_suffix_.has_value()) {
        piece += *end_of_word_suffix_;
      }
      s = piece;
    }
    if (auto it = vocab_.find(s); it != vocab_.end()) {
      if (unk_id >= 0) {
        add(unk_id, unk_len);
        unk_id = -1;
      }
      add(it->second, len);
      continue;
    }
    if (byte_fallback_ && std::all_of(s.begin(), s.end(), [this](char b) {
          return byte_ids_[static_cast<unsigned char>(b)] >= 0;
        })) {
      // As HF: the pieces of every byte of `s` (prefix and suffix included),
      // each 1 byte long; a pending unknown stays pending.
      for (char b : s) add(byte_ids_[static_cast<unsigned char>(b)], 1);
      continue;
    }
    if (!unk_token_.has_value()) continue;  // dropped, as HF does
    if (unk_id >= 0 && fuse_unk_) {
      unk_len += len;
      continue;
    }
    std::string error;
    std::optional<int32_t> id = UnkId(&error);
    if (!id.has_value()) return absl::InvalidArgumentError(error);
    if (unk_id >= 0) add(unk_id, unk_len);
    unk_id = *id;
    unk_len = len;
  }
  if (unk_id >= 0) add(unk_id, unk_len);
  return absl::OkStatus();
}

std::optional<int32_t> Bpe::UnkId(std::string* error) const {
  auto it = vocab_.find(*unk_token_);
  if (it != vocab_.end()) return it->second;
  *error = absl::StrCat(JsonPath(path_, "unk_token"), " ", Quoted(*unk_token_),
                        " is not in ", JsonPath(path_, "vocab"),
                        " and the word has a character that is not");
  return std::nullopt;
}

void Bpe::MergeAll(std::vector<Symbol>* symbols_ptr) const {
  std::vector<Symbol>& symbols = *symbols_ptr;
  const size_t n = symbols.size();
  std::vector<QueuedMerge> queue;
  queue.reserve(n);
  for (size_t i = 0; i + 1 < n; ++i) {
    if (const Merge* m = FindMerge(symbols[i].id, symbols[i + 1].id)) {
      queue.push_back(
          QueuedMerge{static_cast<uint32_t>(i), m->rank, m->new_id});
    }
  }
  std::make_heap(queue.begin(), queue.end(), PopsLater());
  auto push = [&queue](uint32_t pos, const Merge& m) {
    queue.push_back(QueuedMerge{pos, m.rank, m.new_id});
    std::push_heap(queue.begin(), queue.end(), PopsLater());
  };
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), PopsLater());
    const QueuedMerge top = queue.back();
    queue.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next == -1) continue;
    const size_t next_pos = static_cast<size_t>(left.next);
    const Symbol right = symbols[next_pos];
    // Skip entries that no longer describe the pair at this position.
    const Merge* current = FindMerge(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;
    left.id = top.new_id;
    left.len += right.len;
    left.next = right.next;
    symbols[next_pos].len = 0;
    if (right.next > -1 && static_cast<size_t>(right.next) < n) {
      symbols[static_cast<size_t>(right.next)].prev =
          static_cast<int32_t>(top.pos);
    }
    if (left.prev >= 0) {
      const size_t prev = static_cast<size_t>(left.prev);
      if (const Merge* m = FindMerge(symbols[prev].id, left.id)) {
        push(static_cast<uint32_t>(prev), *m);
      }
    }
    if (left.next >= 0) {
      if (const Merge* m =
              FindMerge(left.id, symbols[static_cast<size_t>(left.next)].id)) {
        push(top.pos, *m);
      }
    }
  }
  symbols.erase(std::remove_if(symbols.begin(), symbols.end(),
                               [](const Symbol& s) { return s.len == 0; }),
                symbols.end());
}

absl::Status Bpe::Tokenize(std::string_view word_view,
                           std::vector<ModelToken>* out) const {
  const absl::string_view word(word_view.data(), word_view.size());
  if (word.empty()) return absl::OkStatus();
  if (ignore_merges_) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      out->push_back(
          ModelToken{it->second, std::string(word_view), 0, word.size()});
      return absl::OkStatus();
    }
  }
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  if (absl::Status status = SplitChars(word, &symbols); !status.ok()) {
    return status;
  }
  MergeAll(&symbols);
  size_t start = 0;
  for (const Symbol& s : symbols) {
    out->push_back(ModelToken{s.id, *vocab_r_[static_cast<size_t>(s.id)], start,
                              start + s.len});
    start += s.len;
  }
  return absl::OkStatus();
}

}  // namespace attnserve::core::tokenizers
