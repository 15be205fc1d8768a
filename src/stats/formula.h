// The subset of lme4's model formula language that MixedModelProblem fits
// (Bates et al. 2015 §2.1; lme4 `?formula`, `findbars`):
//
//   response ~ [0 | 1 +] x1 + x2 + ... + (z1 + ... | g) [+ (w1 + ... | h)]
//
// Fixed terms are column names (an intercept is implied unless the formula starts with `0 +`
// or contains `- 1`); `x1:x2` is the product of two columns. A random term `(… | g)` has an
// unstructured covariance, `(… || g)` a diagonal one; its intercept is implied unless `0 +`
// starts it. A grouping factor may be `g1:g2` (the interaction of two columns), and
// `(… | g1/g2)` means `(… | g1) + (… | g1:g2)`. At most two random terms.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rapport::stats {

struct FormulaRandomTerm {
  bool intercept = true;
  std::vector<std::string> covariates;  // without the intercept
  std::vector<std::string> factor;      // one column, or several for an interaction a:b
  bool diagonal = false;                // `||`
};

struct Formula {
  std::string response;
  bool intercept = true;
  std::vector<std::vector<std::string>> fixed;  // each term: one column or a product a:b
  std::vector<FormulaRandomTerm> random;        // in formula order, 1 or 2
};

// Errors (kInvalidArgument, naming the offending part): no `~`, an empty term, unbalanced
// parentheses, an unsupported operator (*, ^, offset(), I(), …), no random term, or more than
// two random terms.
Result<Formula> ParseFormula(std::string_view text);

}  // namespace rapport::stats
