// An instrument definition: the structure of a FHIR R4 Questionnaire plus Rapport's scoring
// block (DESIGN.md §4). Definitions are data (data/instruments/*.json); the format is documented
// in docs/instruments.md. Loading and validation live in catalog.h, scoring in scoring.h.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::instruments {

enum class Direction { kHigherIsBetter, kHigherIsWorse };
enum class Aggregation { kSum, kMean };
enum class ItemType { kChoice, kInteger, kDecimal };

// One response option of a choice item. `value` is the number scored.
struct Option {
  double value = 0;
  std::string code;
  std::string display;  // empty for scoring-only definitions
};

struct Item {
  std::string id;    // the Questionnaire item's linkId
  std::string code;  // LOINC code of the item (Questionnaire item.code), used to match imports
  ItemType type = ItemType::kChoice;
  std::string text;  // in the definition's language; empty for scoring-only definitions
  bool required = true;
  double min = 0;
  double max = 0;
  double step = 1;  // answers must lie on min + k·step
  bool reverse = false;
  std::vector<Option> options;  // choice items only, ordered by value
  std::string min_label;        // anchors for integer/decimal (slider) items
  std::string max_label;
};

struct Subscale {
  std::string id;
  Aggregation method = Aggregation::kMean;
  std::vector<std::string> item_ids;
};

// Inclusive [min, max]. A total t falls in the first band whose successor starts above t, so a
// prorated total between two bands belongs to the lower one.
struct Band {
  std::string label;
  double min = 0;
  double max = 0;
};

// A published or project threshold on the total, with its source.
struct Cutoff {
  double value = 0;
  std::string comparison;  // "<", "<=", ">=" or ">": the side that is of concern
  std::string meaning;     // e.g. "caseness", "alliance concern"
  std::string source;
};

struct ReliableChange {
  double value = 0;       // points on the total's scale (or on each item's, when per_item)
  bool per_item = false;  // true for instruments whose items are tracked one by one (GBO goals)
  std::string source;
};

enum class FlagCondition {
  kItemAtLeast,   // the named item ≥ value
  kItemAtMost,    // the named item ≤ value
  kTotalBelow,    // total < value
  kTotalAtLeast,  // total ≥ value
  kAnyItemBelow,  // any answered item (optionally restricted to `item_ids`) < value
  kAnyItemAtMin,  // any answered item at its lowest option (after reverse keying: worst)
};

struct FlagRule {
  std::string id;
  FlagCondition condition = FlagCondition::kItemAtLeast;
  std::string item_id;  // kItemAtLeast, kItemAtMost
  std::vector<std::string> item_ids;
  double value = 0;
  bool urgent = false;
  std::string source;
};

// How missing answers are handled for the total and for each subscale.
struct MissingRule {
  // Score a (sub)scale when at least this fraction of its items is answered, prorating
  // sums (mean of answered × item count); otherwise the score is missing. 1.0: no missing
  // items allowed. SCIENCE.md §1.7 rule 3 recommends 0.8.
  double min_answered_fraction = 1.0;
  // When positive, replaces the fraction: score when at least this many items are answered.
  // For instruments whose items are optional slots, such as up to three goals.
  int min_answered_items = 0;
};

struct Definition {
  std::string id;
  std::string version;
  std::string title;
  std::string language;  // BCP 47 of the wording carried by the definition: its default
  // Languages the instrument is offered in, the default first. Own instruments declare every
  // language the project ships a text pack for; `rapport instruments check` verifies them.
  std::vector<std::string> languages;
  std::string loinc;  // panel code, empty when none
  std::string kind;   // "alliance", "outcome", "progress", "goals", "expectancy", "collateral"
  std::string perspective;  // "client", "clinician", "collateral", "observer"
  std::string wording;      // "own" (worded by the project) or "site-supplied"
  std::string status;       // "published" or "not-externally-validated"
  std::string licence;
  std::vector<std::string> citations;
  std::string description;
  Direction direction = Direction::kHigherIsBetter;
  Aggregation total_method = Aggregation::kSum;
  MissingRule missing;
  std::vector<Item> items;
  std::vector<Subscale> subscales;
  std::vector<Band> bands;
  std::optional<Cutoff> cutoff;
  std::optional<ReliableChange> reliable_change;
  std::vector<FlagRule> flags;
  std::string source_file;

  // The item with this linkId, or null.
  const Item* FindItem(const std::string& item_id) const;
  // True when every item and option carries display text, so it can be shown to a respondent.
  bool HasWording() const;
  // Lowest and highest possible total.
  double TotalMin() const;
  double TotalMax() const;
};

// A BCP 47 language tag of the simple kind Rapport uses: a 2–3 letter lower-case language,
// optionally followed by -Script or -REGION subtags ("en", "es", "pt-BR", "zh-Hant").
bool IsLanguageTag(std::string_view tag);

}  // namespace rapport::instruments
