// Text packs: the wording of one instrument in one language, kept apart from its definition.
//
// Standard instruments ship as scoring only; a site that holds a licence supplies their wording
// as a text pack (or imports its licensed FHIR Questionnaire, which becomes one; see
// fhir_import.h). The project's own instruments carry English in the definition and ship their
// other languages as text packs in data/textpacks/. The format is documented in
// docs/instruments.md:
//
//   {"textpack": {"instrument": "phq-9", "instrument_version": "1", "language": "en",
//                 "source": "...", "licence": "..."},
//    "title": "...", "description": "...",
//    "items": {"1": {"text": "...", "options": ["...", "...", "...", "..."]},
//              "self": {"text": "...", "min_label": "...", "max_label": "..."}}}
//
// Options are listed from the lowest scored value to the highest. An option may also be an
// object {"display": "...", "code": "LA6568-5"} carrying the code a site's form uses, and an
// item may name its "link_id" in that form; imports record both so that answers given on the
// site's form can be mapped back (MapAnswerCodes).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "instruments/definition.h"
#include "instruments/problem.h"

namespace rapport::instruments {

struct OptionText {
  std::string display;
  std::string code;  // the site form's answer code; empty when none
};

struct ItemText {
  std::string link_id;  // the site form's linkId; empty when it equals the item id
  std::string text;
  std::vector<OptionText> options;  // choice items: one per option, lowest value first
  std::string min_label;            // slider items
  std::string max_label;
};

struct TextPack {
  std::string instrument_id;
  std::string instrument_version;  // empty: fits any version
  std::string language;
  std::string source;
  std::string licence;
  std::string title;
  std::string description;
  std::map<std::string, ItemText> items;  // by the definition's item id
  // linkIds of the site form's questions that Rapport does not score (an imported form's
  // difficulty question or total), so responses carrying them are accepted.
  std::vector<std::string> ignored_link_ids;
  std::string source_file;
};

// Parses a text pack; problems name the file, item and field. Does not need the definition.
// `partial`, when not null, receives what could be read even when there are problems, so that
// a caller can also check it against the definition and report every problem at once.
Result<TextPack> ParseTextPack(std::string_view json_text, const std::string& file,
                               std::vector<Problem>* problems = nullptr,
                               TextPack* partial = nullptr);

// Checks a pack against its definition and returns every problem: a different instrument or
// version, an item the definition lacks, an option count that differs, and every missing
// string (title; each item's text; each option; slider anchors the definition's own wording
// has). An empty result means the pack words the whole instrument.
std::vector<Problem> CheckTextPack(const TextPack& pack, const Definition& definition);

// The definition worded by the pack: same scoring, texts and language from the pack.
// REQUIRES: CheckTextPack(pack, definition) is empty.
Definition ApplyTextPack(const Definition& definition, const TextPack& pack);

// The pack as JSON in the documented format (what `rapport instruments import` writes).
std::string TextPackToJson(const TextPack& pack);

}  // namespace rapport::instruments
