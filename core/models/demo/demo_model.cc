#include "core/models/demo/demo_model.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_split.h"
#include "core/base/status_macros.h"
#include "core/io/weight_source.h"

namespace attnserve::core {
namespace {

constexpr char kWords[] =
    "the of and to a in is it you that he was for on are with as his they be "
    "at one have "
    "this from or had by hot word but what some we can out other were all "
    "there when up use "
    "your how said an each she which do their time if will way about many then "
    "them write "
    "would like so these her long make thing see him two has look more day "
    "could go come did "
    "number sound no most people my over know water than call first who may "
    "down side been "
    "now find any new work part take get place made live where after back "
    "little only round "
    "man year came show every good me give our under name very through just "
    "form sentence "
    "great think say help low line turn cause much mean before move right boy "
    "old too same "
    "tell does set three want air well also play small end put home read hand "
    "port large "
    "spell add even land here must big high such follow act why ask men change "
    "went light "
    "kind off need house picture try us again animal point mother world near "
    "build self "
    "earth father head stand own page should country found answer school grow "
    "study still "
    "learn plant cover food sun four between state keep eye never last let "
    "thought city tree "
    "cross farm hard start might story saw far sea draw left late run don "
    "while press close "
    "night real life few north open seem together next white children begin "
    "got walk example "
    "paper group always music those both mark often letter until mile river "
    "car feet care "
    "second book carry took science eat room friend began idea fish mountain "
    "stop once base "
    "hear horse cut sure watch color face wood main enough plain girl usual "
    "young ready above "
    "ever red list though feel talk bird soon body dog family direct leave "
    "song measure door "
    "product black short class wind question happen complete ship area half "
    "rock order fire "
    "south problem piece told knew pass since top whole king space heard best "
    "hour better "
    "true during hundred five remember step early hold west ground interest "
    "reach fast sing "
    "listen six table travel less morning ten simple several toward war lay "
    "against pattern "
    "slow center love person money serve appear road map rain rule pull cold "
    "notice voice "
    "unit power town fine certain fly fall lead cry dark machine note wait "
    "plan figure star "
    "box field rest correct able done beauty drive stood contain front teach "
    "week final gave "
    "green quick develop ocean warm free minute strong special mind behind "
    "clear produce fact "
    "street nothing course stay wheel full force blue object decide surface "
    "deep moon island "
    "foot system busy test record boat common gold possible plane dry wonder "
    "laugh thousand "
    "ago ran check game shape miss brought heat snow bring yes distant fill "
    "east paint "
    "language among attention encoder model server token embedding vector "
    "search query "
    "document sentence hello world cat sat mat weather today sunny rainy "
    "computer data";

std::vector<std::string> DemoVocab() {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                    "[MASK]"};
  for (char c : std::string(".,!?;:'\"()-")) vocab.push_back(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) vocab.push_back(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) vocab.push_back(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) vocab.push_back("##" + std::string(1, c));
  for (const char* suffix :
       {"##s", "##ing", "##ed", "##er", "##ly", "##est", "##ment", "##ness"}) {
    vocab.push_back(suffix);
  }
  for (absl::string_view word :
       absl::StrSplit(kWords, ' ', absl::SkipEmpty())) {
    vocab.emplace_back(word);
  }
  return vocab;
}

// splitmix64 mapped to a uniform distribution with mean 0 and standard
// deviation 1: the same numbers on every platform, and fast enough to fill a
// BERT-base model in well under a second.
class UnitVarianceGenerator {
 public:
  explicit UnitVarianceGenerator(uint64_t seed) : state_(seed) {}
  float Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    // uniform in [-sqrt(3), sqrt(3)): variance 1
    return float((double(z >> 11) / 9007199254740992.0 * 2.0 - 1.0) *
                 1.7320508075688772);
  }

 private:
  uint64_t state_;
};

// Random weights of any requested shape: LayerNorm weights 1, biases 0, the
// rest 0.02 * unit-variance noise, drawn in the order they are asked for.
class RandomWeightSource : public WeightSource {
 public:
  explicit RandomWeightSource(uint64_t seed) : random_(seed) {}

  absl::StatusOr<Tensor> Get(const std::string& name,
                             absl::Span<const int64_t> shape) const override {
    const bool norm_weight = name.find("LayerNorm.weight") != std::string::npos;
    const bool bias = name.find(".bias") != std::string::npos;
    Tensor t(DType::kFP32, std::vector<int64_t>(shape.begin(), shape.end()));
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      p[i] = norm_weight ? 1.0f : bias ? 0.0f : 0.02f * random_.Next();
    }
    return t;
  }
  bool Contains(const std::string&) const override { return true; }

 private:
  mutable UnitVarianceGenerator random_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const BertModel>> MakeRandomBertModel(
    const BertConfig& config, uint64_t seed) {
  auto model = std::make_shared<BertModel>();
  model->config = config;
  model->max_length = config.max_position_embeddings;
  model->default_pooling = Pooling::kMean;
  model->default_normalize = true;
  RandomWeightSource source(seed);
  ASSIGN_OR_RETURN(model->weights, BuildBertWeights(config, source));
  return std::shared_ptr<const BertModel>(std::move(model));
}

absl::StatusOr<DemoModel> MakeDemoModel() {
  DemoModel demo;
  demo.vocab = DemoVocab();
  BertConfig config;
  config.architecture = "BertModel (demo, random weights)";
  config.hidden_size = 128;
  config.num_layers = 2;
  config.num_heads = 4;
  config.intermediate_size = 512;
  config.activation = Activation::kGeluErf;
  config.layer_norm_eps = 1e-12f;
  config.max_position_embeddings = 512;
  config.type_vocab_size = 2;
  config.vocab_size = static_cast<int64_t>(demo.vocab.size());
  ASSIGN_OR_RETURN(demo.model, MakeRandomBertModel(config, 20261127));
  return demo;
}

}  // namespace attnserve::core
