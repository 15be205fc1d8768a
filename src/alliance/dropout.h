// Early-session features of an episode for the dropout model (DESIGN.md §5 "early dropout
// risk"; SCIENCE.md §6.1: a weaker early alliance predicts dropout, Sharf, Primavera & Diener
// 2010). The same features train the model on ended episodes (src/alerts) and score an ongoing
// one (the dropout-risk signal). Pure; no I/O.
//
// Features, from the client's own ratings in sessions numbered 1 to `early_sessions`, with
// scores on the percent-of-maximum scale (0–100) so that instruments of any length mix:
//   first_alliance   the first client-rated alliance total
//   alliance_change  the latest minus the first of those (needs two ratings)
//   intake_severity  the first outcome total, turned so that higher means more severe
//   outcome_change   improvement from the first to the latest outcome rating (needs two)
//   missed_sessions  sessions in the window marked no-show or cancelled
//   perspective_gap  a clinician's alliance rating minus the client's, at the first session in
//                    the window both rated (positive: the clinician sees a better alliance than
//                    the client; DESIGN.md §5 "perspective gap")
// A feature the episode has no data for is NaN (the model then counts it as average). The
// client's ratings are those with the client's respondent id and the client perspective.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "alliance/signals.h"

namespace rapport::alliance {

// The feature names, in the order DropoutFeatures returns them.
const std::vector<std::string>& DropoutFeatureNames();

std::vector<double> DropoutFeatures(const EpisodeHistory& history, const DefinitionLookup& find,
                                    std::string_view client_id, int early_sessions);

}  // namespace rapport::alliance
