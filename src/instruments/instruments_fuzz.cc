// libFuzzer target for everything that parses instrument data a site may supply: definitions,
// text packs, FHIR Questionnaires (import) and QuestionnaireResponses. Malformed input must
// produce problems, never a crash, a hang or undefined behaviour. Run with `make fuzz`; the
// corpus and kept crashers replay in `make test` (fuzz_replay_instruments).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "instruments/catalog.h"
#include "instruments/fhir_import.h"
#include "instruments/scoring.h"
#include "instruments/textpack.h"

namespace {

const rapport::instruments::Catalog& Shipped() {
  static const rapport::instruments::Catalog catalog = [] {
    auto loaded = rapport::instruments::Catalog::Load(
        rapport::instruments::Catalog::SourcesFor(rapport::instruments::DefaultDataDir()));
    return loaded.ok() ? std::move(loaded).value() : rapport::instruments::Catalog();
  }();
  return catalog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace instruments = rapport::instruments;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const instruments::Catalog& catalog = Shipped();

  // A definition; when it loads, score a few answer vectors through it.
  auto definition = instruments::ParseDefinition(text, "fuzz.json");
  if (definition.ok()) {
    (void)definition->HasWording();
    std::vector<rapport::domain::ItemAnswer> answers;
    for (size_t i = 0; i < definition->items.size(); ++i) {
      const instruments::Item& item = definition->items[i];
      answers.push_back({item.id, i % 3 == 0 ? std::optional<double>() : item.max});
    }
    (void)instruments::Score(*definition, answers);
  }

  // A text pack, checked against every shipped instrument it could word.
  auto pack = instruments::ParseTextPack(text, "fuzz.json");
  if (pack.ok()) {
    if (const instruments::Definition* target = catalog.Find(pack->instrument_id)) {
      if (instruments::CheckTextPack(*pack, *target).empty()) {
        (void)instruments::ApplyTextPack(*target, *pack);
      }
    }
    (void)instruments::TextPackToJson(*pack);
  }

  // An imported form, by its own code and as each standard instrument.
  (void)instruments::ImportQuestionnaire(text, "fuzz.json", catalog);
  (void)instruments::ImportQuestionnaire(text, "fuzz.json", catalog,
                                         {.instrument_id = "phq-9", .language = "en"});

  // A QuestionnaireResponse to the PHQ-9 and to the client alliance check-in.
  const nlohmann::json response = nlohmann::json::parse(text, nullptr, false);
  if (!response.is_discarded()) {
    for (const char* id : {"phq-9", "rapport-alliance-client"}) {
      if (const instruments::Definition* target = catalog.Find(id)) {
        auto answers = instruments::AnswersFromQuestionnaireResponse(*target, nullptr, response);
        if (answers.ok()) (void)instruments::Score(*target, *answers);
      }
    }
  }
  return 0;
}
