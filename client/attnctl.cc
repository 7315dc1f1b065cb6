// attnctl: the command-line client of attnserve.
//
//   attnctl [flags] encode "text" ...        pooled embeddings as JSON
//   attnctl [flags] tokenize "text" ...      tokens with byte offsets as JSON
//   attnctl [flags] models                   the served models as JSON
//   attnctl [flags] rerank "query" "text" ...  texts ranked by a cross-encoder
//   attnctl [flags] classify "text" ...      label scores (--pairs: text, pair,
//   ...) attnctl [flags] detokenize ID ...        the ids decoded to text
//   attnctl [flags] health [SERVICE]         SERVING / NOT_SERVING (exit 0 / 1)
//   attnctl [flags] attend --query q.npy [--key k.npy] [--value v.npy] [--mask
//   m.npy]
//                          --out out.npy [--weights w.npy]
//
// Connection flags: --address, --timeout, --tls, --tls_ca, --tls_cert,
// --tls_key,
// --tls_server_name. Exit codes: 0 ok, 1 call failed (status on stderr), 2
// usage.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/client.h"
#include "client/npy.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "attnserve gRPC target: host:port, dns:///name:port or "
          "ipv4:host:port,host:port (round_robin over the addresses)");
ABSL_FLAG(double, timeout, 30, "seconds per call; 0 = none");
ABSL_FLAG(bool, tls, false, "use TLS (implied by --tls_ca / --tls_cert)");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM file of the CA that signed the server certificate");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mTLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM client key (mTLS)");
ABSL_FLAG(std::string, tls_server_name, "",
          "name to check the server certificate against");
// encode / tokenize
ABSL_FLAG(std::string, model, "", "model name (empty: the default model)");
ABSL_FLAG(std::string, pooling, "",
          "cls | mean | max | last | splade (empty: the model's default)");
ABSL_FLAG(std::string, prompt_name, "",
          "encode: a prompt of the model's config_sentence_transformers.json");
// rerank / classify / detokenize
ABSL_FLAG(uint32_t, top_n, 0, "rerank: keep the n best (0 = all)");
ABSL_FLAG(bool, raw_scores, false,
          "rerank / classify: logits instead of sigmoid / softmax");
ABSL_FLAG(bool, return_text, false, "rerank: include each text");
ABSL_FLAG(bool, pairs, false,
          "classify: the texts are pairs: text, second segment, text, ...");
ABSL_FLAG(bool, skip_special, false, "detokenize: drop special tokens");
ABSL_FLAG(bool, normalize, false, "L2-normalise pooled embeddings");
ABSL_FLAG(bool, truncate, false, "cut texts to the model's max length");
ABSL_FLAG(bool, token_embeddings, false, "encode: also print token embeddings");
ABSL_FLAG(std::vector<std::string>, layers, {},
          "encode: attention maps of these layers (-1 = last)");
ABSL_FLAG(bool, bf16, false, "compute in BF16");
ABSL_FLAG(bool, special_tokens, true, "tokenize: add [CLS] and [SEP]");
// attend
ABSL_FLAG(std::string, query, "",
          "attend: query .npy, [batch, (heads,) q_len, head_dim]");
ABSL_FLAG(std::string, key, "", "attend: key .npy (default: query)");
ABSL_FLAG(std::string, value, "", "attend: value .npy (default: key)");
ABSL_FLAG(std::string, mask, "", "attend: additive mask .npy");
ABSL_FLAG(std::string, out, "out.npy", "attend: where to write the output");
ABSL_FLAG(std::string, weights, "",
          "attend: where to write the attention weights (optional)");
ABSL_FLAG(bool, hard, false, "attend: HARD weighting (top_k)");
ABSL_FLAG(uint32_t, top_k, 1, "attend: keys kept per query with --hard");
ABSL_FLAG(bool, sample, false,
          "attend: sample top_k keys from the soft distribution");
ABSL_FLAG(uint64_t, seed, 0, "attend: sampling seed");
ABSL_FLAG(bool, local, false, "attend: LOCAL scope");
ABSL_FLAG(uint32_t, window_left, 0, "attend: LOCAL window to the left");
ABSL_FLAG(uint32_t, window_right, 0, "attend: LOCAL window to the right");
ABSL_FLAG(std::vector<std::string>, global_positions, {},
          "attend: LOCAL global key positions");
ABSL_FLAG(float, sigma, 0, "attend: LOCAL Gaussian sigma (0 = off)");
ABSL_FLAG(bool, causal, false, "attend: causal");
ABSL_FLAG(float, scale, 0, "attend: score scale (0 = 1/sqrt(head_dim))");
ABSL_FLAG(std::vector<std::string>, key_lengths, {},
          "attend: valid keys per batch item");

namespace attnserve::client {
namespace {

using nlohmann::json;

int Fail(const grpc::Status& status) {
  std::fprintf(stderr, "attnctl: %d %s\n",
               static_cast<int>(status.error_code()),
               status.error_message().c_str());
  return 1;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "attnctl: %s (see --help)\n", message.c_str());
  return 2;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return out ? absl::OkStatus()
             : absl::UnavailableError(absl::StrCat("cannot write ", path));
}

template <class T>
absl::StatusOr<std::vector<T>> ParseList(const std::vector<std::string>& items,
                                         absl::string_view flag) {
  std::vector<T> out;
  for (const std::string& item : items) {
    T v;
    if (!absl::SimpleAtoi(item, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": '", item, "' is not a number"));
    }
    out.push_back(v);
  }
  return out;
}

ClientOptions Options() {
  ClientOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.timeout =
      std::chrono::milliseconds(int64_t(absl::GetFlag(FLAGS_timeout) * 1e3));
  const std::string ca = absl::GetFlag(FLAGS_tls_ca),
                    cert = absl::GetFlag(FLAGS_tls_cert),
                    key = absl::GetFlag(FLAGS_tls_key);
  options.use_tls = absl::GetFlag(FLAGS_tls) || !ca.empty() || !cert.empty();
  for (auto [path, pem] : {std::pair{&ca, &options.root_certs_pem},
                           std::pair{&cert, &options.client_cert_pem},
                           std::pair{&key, &options.client_key_pem}}) {
    if (path->empty()) continue;
    auto bytes = ReadFile(*path);
    if (!bytes.ok()) {
      std::fprintf(stderr, "attnctl: %s\n",
                   std::string(bytes.status().message()).c_str());
      std::exit(2);
    }
    *pem = *bytes;
  }
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  return options;
}

json TensorJson(const v1::Tensor& t) {
  std::vector<float> values(t.values().begin(), t.values().end());
  if (values.empty() && t.dtype() != v1::BF16 && t.dtype() != v1::FP16) {
    values.resize(t.raw().size() / sizeof(float));
    std::memcpy(values.data(), t.raw().data(), values.size() * sizeof(float));
  } else if (values.empty() && t.dtype() == v1::BF16) {
    for (size_t i = 0; i + 1 < t.raw().size(); i += 2) {
      uint32_t bits = uint32_t(uint8_t(t.raw()[i])) << 16 |
                      uint32_t(uint8_t(t.raw()[i + 1])) << 24;
      float f;
      std::memcpy(&f, &bits, sizeof(f));
      values.push_back(f);
    }
  }
  return json{
      {"shape", std::vector<int64_t>(t.shape().begin(), t.shape().end())},
      {"values", values}};
}

NpyArray TensorToNpy(const v1::Tensor& t) {
  json j = TensorJson(t);
  return NpyArray{j["shape"].get<std::vector<int64_t>>(),
                  j["values"].get<std::vector<float>>()};
}

absl::StatusOr<v1::Tensor> NpyTensor(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  auto array = ParseNpy(*bytes, path);
  if (!array.ok()) return array.status();
  v1::Tensor t;
  for (int64_t d : array->shape) t.add_shape(d);
  t.set_dtype(v1::FP32);
  t.set_raw(std::string(reinterpret_cast<const char*>(array->values.data()),
                        array->values.size() * sizeof(float)));
  return t;
}

int Encode(Client& client, const std::vector<std::string>& texts) {
  if (texts.empty()) return Usage("encode needs at least one text");
  v1::EncodeRequest request;
  request.set_model(absl::GetFlag(FLAGS_model));
  for (const std::string& text : texts) request.add_texts(text);
  const std::string pooling = absl::GetFlag(FLAGS_pooling);
  if (pooling == "cls") {
    request.set_pooling(v1::CLS);
  } else if (pooling == "mean") {
    request.set_pooling(v1::MEAN);
  } else if (pooling == "max") {
    request.set_pooling(v1::MAX);
  } else if (pooling == "last") {
    request.set_pooling(v1::LAST);
  } else if (pooling == "splade") {
    request.set_pooling(v1::SPLADE);
  } else if (!pooling.empty()) {
    return Usage("--pooling is " + pooling +
                 ", expected cls, mean, max, last or splade");
  }
  request.set_prompt_name(absl::GetFlag(FLAGS_prompt_name));
  request.set_normalize(absl::GetFlag(FLAGS_normalize));
  request.set_truncate(absl::GetFlag(FLAGS_truncate));
  request.set_return_token_embeddings(absl::GetFlag(FLAGS_token_embeddings));
  auto layers = ParseList<int32_t>(absl::GetFlag(FLAGS_layers), "layers");
  if (!layers.ok()) return Usage(std::string(layers.status().message()));
  for (int32_t l : *layers) request.add_attention_layers(l);
  if (absl::GetFlag(FLAGS_bf16)) request.set_compute_dtype(v1::BF16);
  v1::EncodeResponse response;
  grpc::Status status = client.Encode(request, &response);
  if (!status.ok()) return Fail(status);
  json out{{"model", response.model()},
           {"total_tokens", response.total_tokens()}};
  for (const v1::Embedding& e : response.embeddings()) {
    json item{
        {"num_tokens", e.num_tokens()},
        {"pooled", std::vector<float>(e.pooled().begin(), e.pooled().end())}};
    if (e.has_token_embeddings())
      item["token_embeddings"] = TensorJson(e.token_embeddings());
    for (const v1::Tensor& a : e.attention())
      item["attention"].push_back(TensorJson(a));
    out["embeddings"].push_back(item);
  }
  std::cout << out.dump() << "\n";
  return 0;
}

int Tokenize(Client& client, const std::vector<std::string>& texts) {
  if (texts.empty()) return Usage("tokenize needs at least one text");
  v1::TokenizeRequest request;
  request.set_model(absl::GetFlag(FLAGS_model));
  request.set_add_special_tokens(absl::GetFlag(FLAGS_special_tokens));
  for (const std::string& text : texts) request.add_texts(text);
  v1::TokenizeResponse response;
  grpc::Status status = client.Tokenize(request, &response);
  if (!status.ok()) return Fail(status);
  json out = json::array();
  for (const v1::Tokenization& t : response.results()) {
    json tokens = json::array();
    for (const v1::Token& token : t.tokens()) {
      tokens.push_back({{"id", token.id()},
                        {"text", token.text()},
                        {"start", token.start()},
                        {"end", token.end()},
                        {"special", token.special()}});
    }
    out.push_back(tokens);
  }
  std::cout << out.dump() << "\n";
  return 0;
}

int Models(Client& client) {
  v1::ListModelsResponse response;
  grpc::Status status = client.ListModels(&response);
  if (!status.ok()) return Fail(status);
  json out{{"default_model", response.default_model()},
           {"models", json::array()}};
  for (const v1::ModelInfo& m : response.models()) {
    out["models"].push_back(
        {{"name", m.name()},
         {"architecture", m.architecture()},
         {"hidden_size", m.hidden_size()},
         {"num_layers", m.num_layers()},
         {"num_heads", m.num_heads()},
         {"max_length", m.max_length()},
         {"vocab_size", m.vocab_size()},
         {"default_pooling", v1::Pooling_Name(m.default_pooling())},
         {"tasks",
          std::vector<std::string>(m.tasks().begin(), m.tasks().end())},
         {"labels",
          std::vector<std::string>(m.labels().begin(), m.labels().end())},
         {"prompt_names", std::vector<std::string>(m.prompt_names().begin(),
                                                   m.prompt_names().end())},
         {"tokenizer", m.tokenizer()}});
  }
  std::cout << out.dump(1) << "\n";
  return 0;
}

int Rerank(Client& client, const std::vector<std::string>& args) {
  if (args.size() < 2) return Usage("rerank needs a query and texts");
  v1::RerankRequest request;
  request.set_model(absl::GetFlag(FLAGS_model));
  request.set_query(args[0]);
  for (size_t i = 1; i < args.size(); ++i) request.add_texts(args[i]);
  request.set_truncate(absl::GetFlag(FLAGS_truncate));
  request.set_raw_scores(absl::GetFlag(FLAGS_raw_scores));
  request.set_return_text(absl::GetFlag(FLAGS_return_text));
  request.set_top_n(absl::GetFlag(FLAGS_top_n));
  if (absl::GetFlag(FLAGS_bf16)) request.set_compute_dtype(v1::BF16);
  v1::RerankResponse response;
  grpc::Status status = client.Rerank(request, &response);
  if (!status.ok()) return Fail(status);
  json out{{"model", response.model()},
           {"total_tokens", response.total_tokens()},
           {"ranks", json::array()}};
  for (const v1::Rank& r : response.ranks()) {
    json rank{{"index", r.index()}, {"score", r.score()}};
    if (request.return_text()) rank["text"] = r.text();
    out["ranks"].push_back(rank);
  }
  std::cout << out.dump() << "\n";
  return 0;
}

int Classify(Client& client, const std::vector<std::string>& args) {
  if (args.empty()) return Usage("classify needs at least one text");
  const bool pairs = absl::GetFlag(FLAGS_pairs);
  if (pairs && args.size() % 2 != 0) {
    return Usage("classify --pairs needs text, pair, text, pair, ...");
  }
  v1::ClassifyRequest request;
  request.set_model(absl::GetFlag(FLAGS_model));
  for (size_t i = 0; i < args.size(); i += pairs ? 2 : 1) {
    request.add_texts(args[i]);
    if (pairs) request.add_text_pairs(args[i + 1]);
  }
  request.set_truncate(absl::GetFlag(FLAGS_truncate));
  request.set_raw_scores(absl::GetFlag(FLAGS_raw_scores));
  if (absl::GetFlag(FLAGS_bf16)) request.set_compute_dtype(v1::BF16);
  v1::ClassifyResponse response;
  grpc::Status status = client.Classify(request, &response);
  if (!status.ok()) return Fail(status);
  json out{{"model", response.model()},
           {"total_tokens", response.total_tokens()},
           {"results", json::array()}};
  for (const v1::Classification& c : response.results()) {
    json scores = json::array();
    for (const v1::LabelScore& s : c.scores()) {
      scores.push_back({{"label", s.label()}, {"score", s.score()}});
    }
    out["results"].push_back(scores);
  }
  std::cout << out.dump() << "\n";
  return 0;
}

int Detokenize(Client& client, const std::vector<std::string>& args) {
  if (args.empty()) return Usage("detokenize needs token ids");
  auto ids = ParseList<int32_t>(args, "ids");
  if (!ids.ok()) return Usage(std::string(ids.status().message()));
  v1::DetokenizeRequest request;
  request.set_model(absl::GetFlag(FLAGS_model));
  request.set_skip_special_tokens(absl::GetFlag(FLAGS_skip_special));
  v1::TokenIds* sequence = request.add_token_ids();  // the ids are one text
  for (int32_t id : *ids) sequence->add_ids(id);
  v1::DetokenizeResponse response;
  grpc::Status status = client.Detokenize(request, &response);
  if (!status.ok()) return Fail(status);
  std::cout << json(response.texts(0)).dump() << "\n";
  return 0;
}

int Health(Client& client, const std::vector<std::string>& args) {
  bool serving = false;
  grpc::Status status = client.Health(args.empty() ? "" : args[0], &serving);
  if (!status.ok()) return Fail(status);
  std::cout << (serving ? "SERVING" : "NOT_SERVING") << "\n";
  return serving ? 0 : 1;
}

int Attend(Client& client) {
  if (absl::GetFlag(FLAGS_query).empty())
    return Usage("attend needs --query FILE.npy");
  v1::AttendRequest request;
  // mutable_*() marks a field as set, so it is called only for given files.
  using Setter = v1::Tensor* (v1::AttendRequest::*)();
  for (auto [flag, setter] :
       {std::pair<std::string, Setter>{absl::GetFlag(FLAGS_query),
                                       &v1::AttendRequest::mutable_query},
        {absl::GetFlag(FLAGS_key), &v1::AttendRequest::mutable_key},
        {absl::GetFlag(FLAGS_value), &v1::AttendRequest::mutable_value},
        {absl::GetFlag(FLAGS_mask), &v1::AttendRequest::mutable_mask}}) {
    if (flag.empty()) continue;
    auto t = NpyTensor(flag);
    if (!t.ok()) return Usage(std::string(t.status().message()));
    *(request.*setter)() = std::move(*t);
  }
  v1::AttentionSpec* spec = request.mutable_spec();
  if (absl::GetFlag(FLAGS_hard)) {
    spec->set_weighting(v1::AttentionSpec::HARD);
    spec->set_top_k(absl::GetFlag(FLAGS_top_k));
    spec->set_sample(absl::GetFlag(FLAGS_sample));
    spec->set_seed(absl::GetFlag(FLAGS_seed));
  }
  if (absl::GetFlag(FLAGS_local)) {
    spec->set_scope(v1::AttentionSpec::LOCAL);
    spec->set_window_left(absl::GetFlag(FLAGS_window_left));
    spec->set_window_right(absl::GetFlag(FLAGS_window_right));
    spec->set_gaussian_sigma(absl::GetFlag(FLAGS_sigma));
    auto globals = ParseList<uint32_t>(absl::GetFlag(FLAGS_global_positions),
                                       "global_positions");
    if (!globals.ok()) return Usage(std::string(globals.status().message()));
    for (uint32_t g : *globals) spec->add_global_positions(g);
  }
  spec->set_causal(absl::GetFlag(FLAGS_causal));
  spec->set_scale(absl::GetFlag(FLAGS_scale));
  auto lengths =
      ParseList<uint32_t>(absl::GetFlag(FLAGS_key_lengths), "key_lengths");
  if (!lengths.ok()) return Usage(std::string(lengths.status().message()));
  for (uint32_t l : *lengths) request.add_key_lengths(l);
  const std::string weights_path = absl::GetFlag(FLAGS_weights);
  request.set_return_weights(!weights_path.empty());
  if (absl::GetFlag(FLAGS_bf16)) request.set_compute_dtype(v1::BF16);
  v1::AttendResponse response;
  grpc::Status status = client.Attend(request, &response);
  if (!status.ok()) return Fail(status);
  for (auto [path, tensor] :
       {std::pair{absl::GetFlag(FLAGS_out), &response.output()},
        std::pair{weights_path, &response.weights()}}) {
    if (path.empty()) continue;
    if (absl::Status s = WriteFile(path, SerializeNpy(TensorToNpy(*tensor)));
        !s.ok()) {
      return Usage(std::string(s.message()));
    }
  }
  std::printf("wrote %s\n", absl::GetFlag(FLAGS_out).c_str());
  return 0;
}

int Run(std::vector<std::string> args) {
  if (args.empty())
    return Usage(
        "missing command: encode, tokenize, models, rerank, classify, "
        "detokenize, health or attend");
  const std::string command = args[0];
  args.erase(args.begin());
  Client client(Options());
  if (command == "encode") return Encode(client, args);
  if (command == "tokenize") return Tokenize(client, args);
  if (command == "models") return Models(client);
  if (command == "rerank") return Rerank(client, args);
  if (command == "classify") return Classify(client, args);
  if (command == "detokenize") return Detokenize(client, args);
  if (command == "health") return Health(client, args);
  if (command == "attend") return Attend(client);
  return Usage("unknown command " + command);
}

}  // namespace
}  // namespace attnserve::client

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "attnctl [flags] encode|tokenize|classify TEXT... | rerank QUERY "
      "TEXT... | detokenize ID... | models | health [SERVICE] | attend "
      "--query q.npy");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  return attnserve::client::Run(
      std::vector<std::string>(positional.begin() + 1, positional.end()));
}
