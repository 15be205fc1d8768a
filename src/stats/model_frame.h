// From a parsed table and a formula to the numbers a mixed model needs (R's model.frame and
// lme4's mkReTrms). No file access: the caller reads the table.
#pragma once

#include <cstdint>

#include "base/csv.h"
#include "base/status.h"
#include "stats/formula.h"
#include "stats/mixed_model.h"

namespace rapport::stats {

struct ModelFrame {
  MixedModelData data;
  int64_t rows_used = 0;
  int64_t rows_dropped = 0;  // rows with a missing value in a used column (na.omit)
};

// Rows with a missing value (empty, NA, NaN, null) in any column the formula uses are dropped,
// as lme4's default na.action = na.omit. Numeric columns must hold numbers; grouping factors
// may hold any text. Levels are sorted numerically when every label is a number, otherwise
// as text. With two random terms, the one with more levels is the inner (client) term and the
// other must be the one it is nested in.
// Errors (kInvalidArgument): a column the formula names is absent (the message lists the
// columns present); a cell that is not a number (the message names file, line and column);
// two random terms on the same factor (write `(x || g)` instead); no rows left.
Result<ModelFrame> BuildModelFrame(const CsvTable& table, const Formula& formula);

}  // namespace rapport::stats
