// attnbench: a load generator for attnserve, in the spirit of Triton's
// perf_analyzer and ghz.
//
//   attnbench --address 127.0.0.1:50051 --method encode --concurrency 64
//   --duration 10 attnbench --method encode --rate 200 --duration 10 (open
//   loop, Poisson arrivals)
//
// Closed loop keeps --concurrency calls outstanding; open loop starts calls at
// --rate per second with exponential gaps, however many are outstanding.
// Prints throughput, latency percentiles, errors by status code and the
// server's batch-size histogram (read from --metrics_address); --json for
// machines.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "attnserve/v1/attnserve.grpc.pb.h"
#include "client/client.h"
#include "client/http_get.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "attnserve gRPC target: host:port, dns:///name:port or "
          "ipv4:host:port,host:port (round_robin over the addresses)");
ABSL_FLAG(
    std::string, metrics_address, "127.0.0.1:9090",
    "attnserve metrics address, for the batch-size histogram; empty skips it");
ABSL_FLAG(std::string, method, "encode", "encode | stream | attend");
ABSL_FLAG(std::string, model, "", "model name (empty: the server's default)");
ABSL_FLAG(int, concurrency, 1, "closed loop: calls kept outstanding");
ABSL_FLAG(double, rate, 0,
          "open loop: calls started per second (Poisson); 0 = closed loop");
ABSL_FLAG(double, duration, 10, "seconds measured");
ABSL_FLAG(double, warmup, 1, "seconds of load before measuring");
ABSL_FLAG(int, texts_per_request, 1, "sequences per request");
ABSL_FLAG(int, min_tokens, 8,
          "shortest sequence, in tokens (specials included)");
ABSL_FLAG(int, max_tokens, 64,
          "longest sequence, in tokens (specials included)");
ABSL_FLAG(
    std::string, lengths_file, "",
    "file of token lengths (whitespace-separated), sampled instead of min/max");
ABSL_FLAG(std::string, texts_file, "",
          "file of texts, one a line, sampled instead of generated words "
          "(encode, stream)");
ABSL_FLAG(int, attend_heads, 12, "attend: heads");
ABSL_FLAG(int, attend_head_dim, 64, "attend: head dim");
ABSL_FLAG(double, deadline_ms, 0, "per-call deadline; 0 = none");
ABSL_FLAG(uint64_t, seed, 1, "random seed for lengths, texts and arrivals");
ABSL_FLAG(bool, json, false, "print one JSON object instead of the report");

namespace attnserve::client {
namespace {

using Clock = std::chrono::steady_clock;
using v1::AttendRequest;
using v1::AttendResponse;
using v1::EncodeRequest;
using v1::EncodeResponse;

// Each word is one WordPiece token in BERT vocabularies (and in the demo
// model).
constexpr const char* kWords[] = {
    "the",   "of",  "and",  "to",    "in",   "a",      "is",    "that",  "for",
    "it",    "as",  "was",  "with",  "be",   "by",     "on",    "not",   "he",
    "this",  "are", "or",   "his",   "from", "at",     "which", "but",   "have",
    "an",    "had", "they", "you",   "were", "their",  "one",   "all",   "we",
    "can",   "her", "has",  "there", "been", "if",     "more",  "when",  "will",
    "would", "who", "so",   "no",    "time", "people", "year",  "world", "day"};

struct Workload {
  std::vector<int> lengths;        // sampled from when non-empty
  std::vector<std::string> texts;  // sampled from when non-empty
  int min_tokens;
  int max_tokens;
  std::mt19937_64 rng;

  int NextLength() {
    if (!lengths.empty()) return lengths[rng() % lengths.size()];
    return min_tokens + int(rng() % uint64_t(max_tokens - min_tokens + 1));
  }
  std::string NextText() {  // tokens = words + [CLS] + [SEP]
    if (!texts.empty()) return texts[rng() % texts.size()];
    const int words = std::max(1, NextLength() - 2);
    std::string text;
    for (int i = 0; i < words; ++i) {
      if (i) text += ' ';
      text += kWords[rng() % std::size(kWords)];
    }
    return text;
  }
};

struct Results {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::map<std::string, int64_t> errors;
  int64_t requests = 0;
  int64_t sequences = 0;
  int64_t tokens = 0;

  void Record(const grpc::Status& status, double ms, int64_t seqs,
              int64_t toks) {
    std::lock_guard<std::mutex> lock(mu);
    if (status.ok()) {
      latencies_ms.push_back(ms);
      ++requests;
      sequences += seqs;
      tokens += toks;
    } else {
      ++errors[StatusCodeName(status.error_code())];
    }
  }

  static std::string StatusCodeName(grpc::StatusCode code) {
    static const char* kNames[] = {"OK",
                                   "CANCELLED",
                                   "UNKNOWN",
                                   "INVALID_ARGUMENT",
                                   "DEADLINE_EXCEEDED",
                                   "NOT_FOUND",
                                   "ALREADY_EXISTS",
                                   "PERMISSION_DENIED",
                                   "RESOURCE_EXHAUSTED",
                                   "FAILED_PRECONDITION",
                                   "ABORTED",
                                   "OUT_OF_RANGE",
                                   "UNIMPLEMENTED",
                                   "INTERNAL",
                                   "UNAVAILABLE",
                                   "DATA_LOSS",
                                   "UNAUTHENTICATED"};
    const int i = static_cast<int>(code);
    return i >= 0 && i < int(std::size(kNames)) ? kNames[i]
                                                : absl::StrCat("CODE_", i);
  }
};

// Issues calls of one method; Start() calls `done` once the call completes.
class CallIssuer {
 public:
  CallIssuer(std::shared_ptr<grpc::Channel> channel, Workload workload)
      : attention_(v1::AttentionService::NewStub(channel)),
        encoder_(v1::EncoderService::NewStub(channel)),
        workload_(std::move(workload)) {}

  // Waits until every call it started has been destroyed: gRPC destroys a
  // call's completion callback, and with it the call's state, on its own
  // thread after `done` has run; that must end before the stubs and the
  // channel go (ThreadSanitizer caught Run() returning during it).
  ~CallIssuer() {
    std::unique_lock<std::mutex> lock(live_mu_);
    no_live_calls_.wait(lock, [&] { return live_calls_ == 0; });
  }

  // Starts one unary call; `done(status, sequences, tokens)` runs on a gRPC
  // thread.
  void Start(std::function<void(const grpc::Status&, int64_t, int64_t)> done) {
    auto call = std::make_shared<UnaryCall>(this);
    SetDeadline(&call->context);
    if (absl::GetFlag(FLAGS_method) == "attend") {
      BuildAttend(&call->attend_request);
      const int64_t seqs = call->attend_request.query().shape(0);
      const int64_t toks = seqs * call->attend_request.query().shape(2);
      attention_->async()->Attend(
          &call->context, &call->attend_request, &call->attend_response,
          [call, done, seqs, toks](grpc::Status s) { done(s, seqs, toks); });
    } else {
      BuildEncode(&call->encode_request);
      encoder_->async()->Encode(
          &call->context, &call->encode_request, &call->encode_response,
          [call, done](grpc::Status s) {
            done(s, call->encode_response.embeddings_size(),
                 call->encode_response.total_tokens());
          });
    }
  }

  void BuildEncode(EncodeRequest* request) {
    std::lock_guard<std::mutex> lock(mu_);
    request->set_model(absl::GetFlag(FLAGS_model));
    request->set_truncate(true);
    for (int i = 0; i < absl::GetFlag(FLAGS_texts_per_request); ++i) {
      request->add_texts(workload_.NextText());
    }
  }

  std::unique_ptr<v1::EncoderService::Stub>& encoder() { return encoder_; }
  static void SetDeadline(grpc::ClientContext* context) {
    const double ms = absl::GetFlag(FLAGS_deadline_ms);
    if (ms > 0) {
      context->set_deadline(std::chrono::system_clock::now() +
                            std::chrono::microseconds(int64_t(ms * 1e3)));
    }
  }

 private:
  struct UnaryCall {
    explicit UnaryCall(CallIssuer* issuer) : issuer(issuer) {
      std::lock_guard<std::mutex> lock(issuer->live_mu_);
      ++issuer->live_calls_;
    }
    ~UnaryCall() {
      // Notify with the lock held: ~CallIssuer may return once it is released.
      std::lock_guard<std::mutex> lock(issuer->live_mu_);
      --issuer->live_calls_;
      issuer->no_live_calls_.notify_all();
    }
    CallIssuer* const issuer;
    grpc::ClientContext context;
    EncodeRequest encode_request;
    EncodeResponse encode_response;
    AttendRequest attend_request;
    AttendResponse attend_response;
  };

  void BuildAttend(AttendRequest* request) {
    std::lock_guard<std::mutex> lock(mu_);
    const int batch = absl::GetFlag(FLAGS_texts_per_request);
    const int len = workload_.NextLength();
    const int heads = absl::GetFlag(FLAGS_attend_heads);
    const int dim = absl::GetFlag(FLAGS_attend_head_dim);
    v1::Tensor* q = request->mutable_query();
    for (int64_t d :
         {int64_t(batch), int64_t(heads), int64_t(len), int64_t(dim)}) {
      q->add_shape(d);
    }
    q->set_dtype(v1::FP32);
    std::string raw(size_t(batch) * heads * len * dim * sizeof(float), '\0');
    std::normal_distribution<float> normal;
    for (size_t i = 0; i < raw.size() / sizeof(float); ++i) {
      const float x = normal(workload_.rng);
      std::memcpy(&raw[i * sizeof(float)], &x, sizeof(float));
    }
    q->set_raw(std::move(raw));
  }

  std::unique_ptr<v1::AttentionService::Stub> attention_;
  std::unique_ptr<v1::EncoderService::Stub> encoder_;
  std::mutex mu_;
  Workload workload_;
  std::mutex live_mu_;
  std::condition_variable no_live_calls_;  // live_calls_ reached 0
  int64_t live_calls_ = 0;                 // guarded by live_mu_
};

// One EncodeStream per closed-loop slot: write a request, read its response,
// repeat.
class StreamSlot
    : public grpc::ClientBidiReactor<EncodeRequest, EncodeResponse> {
 public:
  StreamSlot(CallIssuer* issuer, Results* results, std::atomic<bool>* measuring,
             std::atomic<bool>* stop)
      : issuer_(issuer), results_(results), measuring_(measuring), stop_(stop) {
    issuer_->encoder()->async()->EncodeStream(&context_, this);
    StartCall();
    WriteNext();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_; });
  }

  void OnWriteDone(bool ok) override {
    if (ok) StartRead(&response_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - sent_).count();
    if (measuring_->load()) {
      results_->Record(grpc::Status::OK, ms, response_.embeddings_size(),
                       response_.total_tokens());
    }
    if (stop_->load()) {
      StartWritesDone();
    } else {
      WriteNext();
    }
  }
  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && measuring_->load()) results_->Record(status, 0, 0, 0);
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    cv_.notify_all();
  }

 private:
  void WriteNext() {
    request_.Clear();
    issuer_->BuildEncode(&request_);
    sent_ = Clock::now();
    StartWrite(&request_);
  }

  CallIssuer* issuer_;
  Results* results_;
  std::atomic<bool>* measuring_;
  std::atomic<bool>* stop_;
  grpc::ClientContext context_;
  EncodeRequest request_;
  EncodeResponse response_;
  Clock::time_point sent_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
};

// Nearest-rank percentile of ascending `sorted` (0 when empty).
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * double(sorted.size()));
  const size_t i = std::min(sorted.size() - 1, size_t(std::max(1.0, rank)) - 1);
  return sorted[i];
}

// The server's attnserve_batch_size histogram of one model (or queue).
struct BatchSizeHistogram {
  // Bucket upper bound ("1", ..., "+Inf") -> cumulative count, in the order
  // the server lists them.
  std::vector<std::pair<std::string, double>> buckets;
  double sum = 0;
  double count = 0;
};

// The value of label `name` in a Prometheus sample line, or "" if absent.
std::string LabelValue(absl::string_view line, absl::string_view name) {
  const std::string key = absl::StrCat(name, "=\"");
  size_t begin = line.find(key);
  // Only a whole label name counts: preceded by '{' or ','.
  while (begin != absl::string_view::npos && begin > 0 &&
         line[begin - 1] != '{' && line[begin - 1] != ',') {
    begin = line.find(key, begin + 1);
  }
  if (begin == absl::string_view::npos) return "";
  begin += key.size();
  const size_t end = line.find('"', begin);
  if (end == absl::string_view::npos) return "";
  return std::string(line.substr(begin, end - begin));
}

// Model name -> batch-size histogram, read from the server's /metrics
// (cumulative since the server started). Empty if unreachable.
std::map<std::string, BatchSizeHistogram> ReadBatchSizeHistograms(
    const std::string& address) {
  std::map<std::string, BatchSizeHistogram> histograms;
  if (address.empty()) return histograms;
  auto body = HttpGet(address, "/metrics");
  if (!body.ok()) {
    std::fprintf(stderr, "attnbench: cannot read /metrics from %s: %s\n",
                 address.c_str(), std::string(body.status().message()).c_str());
    return histograms;
  }
  for (absl::string_view line : absl::StrSplit(*body, '\n')) {
    if (!absl::StartsWith(line, "attnserve_batch_size_")) continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      continue;
    }
    BatchSizeHistogram& h = histograms[LabelValue(line, "model")];
    if (absl::StartsWith(line, "attnserve_batch_size_bucket{")) {
      h.buckets.emplace_back(LabelValue(line, "le"), value);
    } else if (absl::StartsWith(line, "attnserve_batch_size_sum")) {
      h.sum = value;
    } else if (absl::StartsWith(line, "attnserve_batch_size_count")) {
      h.count = value;
    }
  }
  return histograms;
}

int Run() {
  const std::string method = absl::GetFlag(FLAGS_method);
  if (method != "encode" && method != "stream" && method != "attend") {
    std::fprintf(
        stderr,
        "attnbench: --method is %s, expected encode, stream or attend\n",
        method.c_str());
    return 2;
  }
  const double rate = absl::GetFlag(FLAGS_rate);
  if (rate > 0 && method == "stream") {
    std::fprintf(
        stderr, "attnbench: --rate (open loop) works with encode and attend\n");
    return 2;
  }
  Workload workload{{},
                    {},
                    absl::GetFlag(FLAGS_min_tokens),
                    absl::GetFlag(FLAGS_max_tokens),
                    std::mt19937_64(absl::GetFlag(FLAGS_seed))};
  if (workload.min_tokens < 3 || workload.max_tokens < workload.min_tokens) {
    std::fprintf(stderr,
                 "attnbench: expected 3 <= --min_tokens <= --max_tokens\n");
    return 2;
  }
  if (const std::string file = absl::GetFlag(FLAGS_lengths_file);
      !file.empty()) {
    std::ifstream in(file);
    for (int n; in >> n;) {
      if (n >= 3) workload.lengths.push_back(n);
    }
    if (workload.lengths.empty()) {
      std::fprintf(stderr, "attnbench: %s holds no lengths >= 3\n",
                   file.c_str());
      return 2;
    }
  }
  if (const std::string file = absl::GetFlag(FLAGS_texts_file); !file.empty()) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) workload.texts.push_back(line);
    }
    if (workload.texts.empty()) {
      std::fprintf(stderr, "attnbench: %s holds no texts\n", file.c_str());
      return 2;
    }
  }

  // round_robin over every address of the target, skipping replicas that are
  // not SERVING, with the client library's retry policy on UNAVAILABLE.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetServiceConfigJSON(ClientServiceConfig(ClientOptions()));
  auto channel = grpc::CreateCustomChannel(
      absl::GetFlag(FLAGS_address), grpc::InsecureChannelCredentials(), args);
  CallIssuer issuer(channel, std::move(workload));
  Results results;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> outstanding{0};
  std::mutex mu;
  std::condition_variable cv;

  std::function<void()> issue_closed;
  auto on_done = [&](Clock::time_point start, bool closed) {
    return [&, start, closed](const grpc::Status& status, int64_t seqs,
                              int64_t toks) {
      if (measuring.load()) {
        const double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - start)
                .count();
        results.Record(status, ms, seqs, toks);
      }
      if (closed && !stop.load()) {
        issue_closed();
      } else {
        std::lock_guard<std::mutex> lock(mu);
        --outstanding;
        cv.notify_all();
      }
    };
  };
  issue_closed = [&] { issuer.Start(on_done(Clock::now(), true)); };

  const auto warmup =
      std::chrono::duration<double>(absl::GetFlag(FLAGS_warmup));
  const auto duration =
      std::chrono::duration<double>(absl::GetFlag(FLAGS_duration));
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  std::vector<std::unique_ptr<StreamSlot>> streams;
  std::thread driver;
  const auto begin = Clock::now();
  if (method == "stream") {
    for (int i = 0; i < concurrency; ++i) {
      streams.push_back(
          std::make_unique<StreamSlot>(&issuer, &results, &measuring, &stop));
    }
  } else if (rate > 0) {
    driver = std::thread([&] {
      std::mt19937_64 rng(absl::GetFlag(FLAGS_seed) + 1);
      std::exponential_distribution<double> gap(rate);
      auto next = Clock::now();
      while (!stop.load()) {
        next += std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(gap(rng)));
        std::this_thread::sleep_until(next);
        {
          std::lock_guard<std::mutex> lock(mu);
          ++outstanding;
        }
        issuer.Start(on_done(Clock::now(), false));
      }
    });
  } else {
    outstanding = concurrency;
    for (int i = 0; i < concurrency; ++i) issue_closed();
  }

  std::this_thread::sleep_until(begin + warmup);
  measuring = true;
  const auto measure_start = Clock::now();
  std::this_thread::sleep_until(measure_start + duration);
  measuring = false;
  const double seconds =
      std::chrono::duration<double>(Clock::now() - measure_start).count();
  stop = true;
  if (driver.joinable()) driver.join();
  for (auto& s : streams) s->Wait();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(60),
                [&] { return outstanding.load() == 0; });
  }

  std::lock_guard<std::mutex> lock(results.mu);
  std::vector<double>& lat = results.latencies_ms;
  std::sort(lat.begin(), lat.end());
  const double p50 = Percentile(lat, 50), p90 = Percentile(lat, 90),
               p99 = Percentile(lat, 99);
  const double max = lat.empty() ? 0 : lat.back();
  const std::map<std::string, BatchSizeHistogram> histograms =
      ReadBatchSizeHistograms(absl::GetFlag(FLAGS_metrics_address));
  int64_t error_calls = 0;
  for (const auto& [code, n] : results.errors) error_calls += n;
  if (absl::GetFlag(FLAGS_json)) {
    std::string errors, buckets, means;
    for (const auto& [code, n] : results.errors) {
      absl::StrAppend(&errors, errors.empty() ? "" : ",", "\"", code, "\":", n);
    }
    for (const auto& [model, h] : histograms) {
      std::string model_buckets;
      for (const auto& [le, n] : h.buckets) {
        absl::StrAppend(&model_buckets, model_buckets.empty() ? "" : ",", "\"",
                        le, "\":", n);
      }
      absl::StrAppend(&buckets, buckets.empty() ? "" : ",", "\"", model, "\":{",
                      model_buckets, "}");
      absl::StrAppend(&means, means.empty() ? "" : ",", "\"", model,
                      "\":", h.count > 0 ? h.sum / h.count : 0.0);
    }
    std::printf(
        "{\"method\":\"%s\",\"concurrency\":%d,\"rate\":%.3f,"
        "\"seconds\":%.3f,\"requests\":%lld,\"sequences\":%lld,"
        "\"tokens\":%lld,\"error_calls\":%lld,\"requests_per_s\":%.2f,"
        "\"sequences_per_s\":%.2f,\"tokens_per_s\":%.1f,\"p50_ms\":%.3f,"
        "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":{%s},"
        "\"batch_size_buckets\":{%s},\"batch_size_mean\":{%s}}\n",
        method.c_str(), rate > 0 ? 0 : concurrency, rate, seconds,
        (long long)results.requests, (long long)results.sequences,
        (long long)results.tokens, (long long)error_calls,
        results.requests / seconds, results.sequences / seconds,
        results.tokens / seconds, p50, p90, p99, max, errors.c_str(),
        buckets.c_str(), means.c_str());
  } else {
    std::printf(
        "method %s, %s, %.1f s measured\n", method.c_str(),
        rate > 0
            ? absl::StrCat("open loop ", rate, "/s").c_str()
            : absl::StrCat("closed loop, concurrency ", concurrency).c_str(),
        seconds);
    std::printf(
        "throughput: %.1f requests/s, %.1f sequences/s, %.0f tokens/s\n",
        results.requests / seconds, results.sequences / seconds,
        results.tokens / seconds);
    std::printf(
        "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%zu ok calls)\n",
        p50, p90, p99, max, lat.size());
    for (const auto& [code, n] : results.errors) {
      std::printf("errors: %s %lld\n", code.c_str(), (long long)n);
    }
    for (const auto& [model, h] : histograms) {
      std::printf(
          "server batch sizes of %s (cumulative since server start, mean "
          "%.2f):",
          model.c_str(), h.count > 0 ? h.sum / h.count : 0.0);
      for (const auto& [le, n] : h.buckets) {
        std::printf(" <=%s:%.0f", le.c_str(), n);
      }
      std::printf("\n");
    }
  }
  return 0;
}

}  // namespace
}  // namespace attnserve::client

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "attnbench: load generator for attnserve (see --help)");
  absl::ParseCommandLine(argc, argv);
  return attnserve::client::Run();
}
