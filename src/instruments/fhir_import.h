// Importing a site's FHIR R4 Questionnaire (for example its licensed copy of a LOINC panel) and
// answering through it.
//
// Rapport never takes scoring from an imported form. It recognises which shipped definition the
// form is (by its LOINC panel code, or as the caller says), matches the form's items and answer
// options to the definition's, and keeps only the wording: the result is a text pack that also
// records the form's linkIds and answer codes. So an imported form scores exactly like the
// scoring-only definition, and QuestionnaireResponses written against the form can be scored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "domain/types.h"
#include "instruments/catalog.h"
#include "instruments/textpack.h"

namespace rapport::instruments {

struct ImportOptions {
  std::string instrument_id;  // attach this definition's scoring; empty: recognise by LOINC code
  std::string language;       // the wording's language when the form has no `language`
  std::string source;         // recorded in the pack (default: the file name)
  std::string licence;        // recorded in the pack (default: the form's `copyright`, if any)
};

struct ImportedForm {
  std::string instrument_id;
  std::string matched_by;        // e.g. "LOINC 44249-1" or "--instrument phq-9"
  std::string items_matched_by;  // "code", "linkId" or "position"
  TextPack pack;  // pack.ignored_link_ids: the form's questions that are not scored (totals)
};

// Reads the Questionnaire in `json_text` (`file` names it in problems). Items may be nested in
// groups. Each of the definition's items is matched to a question of the form by its LOINC
// item code, else by linkId (the definition's item code or id, with or without a leading "/"),
// else — when nothing matched that way and the counts agree — by position. A choice item's
// options must score exactly the definition's values, read from the ordinalValue or itemWeight
// extension, valueInteger, a numeric code, or else their order. Errors: kInvalidArgument listing
// every problem (unknown panel, an item not found, option counts or values that differ,
// options only in an external ValueSet, missing wording, no language).
Result<ImportedForm> ImportQuestionnaire(std::string_view json_text, const std::string& file,
                                         const Catalog& catalog, const ImportOptions& options = {},
                                         std::vector<Problem>* problems = nullptr);

// The answers of a FHIR QuestionnaireResponse (items may be nested). linkIds are mapped through
// `pack` when it records the form's linkIds (null or no link ids: the definition's item ids);
// a valueCoding is mapped through the pack's option codes, else its code must be the scored
// number; valueInteger and valueDecimal are taken as scored values. Unknown linkIds are
// errors, except those the pack lists as ignored. The answers are not validated here: pass
// them to Score. Errors: kInvalidArgument naming the linkId and what is wrong.
Result<std::vector<domain::ItemAnswer>> AnswersFromQuestionnaireResponse(
    const Definition& definition, const TextPack* pack, const nlohmann::json& response);

}  // namespace rapport::instruments
