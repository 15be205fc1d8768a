// Alliance ruptures and repairs in session-by-session ratings (SCIENCE.md §5.2), the
// sudden-loss variant (Tang & DeRubeis 1999 criteria as in the R package suddengains), and
// dips from the top of the scale. Pure functions; no I/O. Thread safety: none needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rapport::alliance {

// One rating of one rater on one instrument, higher = better. `session` is the session number
// as recorded (it labels results; the rules count ratings, not calendar sessions).
struct SeriesPoint {
  int64_t session = 0;
  double score = 0;
  // The dimension scores of the same rating, when the instrument has them.
  std::optional<double> bond;
  std::optional<double> goals;
  std::optional<double> tasks;
};

// Where the threshold T comes from (SCIENCE.md §5.2).
enum class ThresholdMode {
  kFixed,            // T = `threshold` points (an RCI-based value, or one the user gives)
  kIntraIndividual,  // T = k · SD(client's previous ratings), only with ≥ min_previous of them
  kCombined,         // T = max(fixed, intra) (Gumz et al. 2012); fixed alone with fewer ratings
};
// "fixed", "intra", "combined".
std::string_view Name(ThresholdMode mode);
Result<ThresholdMode> ParseThresholdMode(std::string_view text);

struct RuptureParams {
  ThresholdMode mode = ThresholdMode::kFixed;
  double threshold = 0;  // points; REQUIRED > 0 for kFixed and kCombined
  double intra_k = 2;    // 2 = strict (Stiles et al. 2004), 1 = Strauss et al. (2006)
  int intra_min_previous = 4;
  int window = 3;        // K: ratings within which a repair must come
  double tolerance = 0;  // R: a return to within R points of the pre-rupture level repairs
  // The pre-rupture level L: the previous rating (1), or the mean of the previous `baseline`
  // ratings (SCIENCE.md §5.2 optional baseline variant, m = 3), fewer at the series start.
  int baseline = 1;
};

// Errors: InvalidArgument naming the field ("threshold", "window", "tolerance", "intra_k",
// "baseline").
Status ValidateRuptureParams(const RuptureParams& params);

enum class RuptureStatus { kRepaired, kUnrepaired, kOpen };
// "repaired", "unrepaired", "open".
std::string_view Name(RuptureStatus status);

struct Rupture {
  size_t index = 0;      // position of the rupture rating in the series
  int64_t session = 0;   // its session number
  double level = 0;      // L = the previous rating (pre-rupture level)
  double score = 0;      // the rating at the rupture
  double drop = 0;       // level − score
  double threshold = 0;  // the T that applied
  RuptureStatus status = RuptureStatus::kOpen;
  std::optional<size_t> repaired_index;
  std::optional<int64_t> repaired_at;  // session number of the repair
  bool v_shaped = false;               // repaired at the very next rating
  // The dimension (bond, goals, tasks) whose score dropped most from the previous rating;
  // empty when no dimension scores are given or none dropped. Ties go to the first in that order.
  std::string dimension;
  size_t close_index = 0;  // the repair, or index + K when unrepaired; the last rating when open
};

// Finds ruptures per SCIENCE.md §5.2:
//   rupture at j when x[j−1] − x[j] ≥ T (and > 0); L = x[j−1];
//   repaired at the first j' in (j, j+K] with x[j'] ≥ L − R (V-shaped when j' = j+1);
//   unrepaired when none and j+K is within the series (closes at j+K); open otherwise;
//   scanning resumes at the closing index, so ruptures never overlap.
// REQUIRES: nothing; errors: InvalidArgument for invalid params, for sessions that are not
// strictly increasing (field "session"), or a non-finite score (field "score").
Result<std::vector<Rupture>> FindRuptures(std::span<const SeriesPoint> series,
                                          const RuptureParams& params);

// The sudden-loss test at position j (SCIENCE.md §5.2; Tang & DeRubeis 1999; suddengains
// identify_sl): crit1 x[j−1] − x[j] ≥ cutoff; crit2 the drop ≥ 25% of x[j−1]; crit3
// mean(pre) − mean(post) > t_crit · s_pooled with pre = x[j−3..j−1], post = x[j..j+2]
// (t_crit 2.776 for 3+3 ratings, 3.182 for 2+3 or 3+2, 4.303 for 2+2).
struct SuddenLossTest {
  size_t index = 0;
  int64_t session = 0;
  double drop = 0;
  bool crit1 = false;
  bool crit2 = false;
  bool crit3 = false;
  double mean_pre = 0;
  double mean_post = 0;
  double s_pooled = 0;
  double t_crit = 0;
  bool sudden_loss() const { return crit1 && crit2 && crit3; }
};
// nullopt when crit3 cannot be evaluated (fewer than 2 ratings before or from j).
// REQUIRES: 1 ≤ j < series.size().
std::optional<SuddenLossTest> TestSuddenLoss(std::span<const SeriesPoint> series, size_t j,
                                             double cutoff);
// Every position where all three criteria hold.
std::vector<SuddenLossTest> FindSuddenLosses(std::span<const SeriesPoint> series, double cutoff);

// Positions j where the previous rating was at the top of the scale (≥ `top`) and this one is
// lower by any amount: many clients rate at the ceiling, so even a small dip from it is worth a
// gentle conversation (DESIGN.md §5).
std::vector<size_t> FindCeilingDips(std::span<const SeriesPoint> series, double top);

}  // namespace rapport::alliance
