// Reliable change and clinical significance (Jacobson & Truax 1991; SCIENCE.md §3) and the
// NHS Talking Therapies outcome rules for PHQ-9 and an anxiety measure (SCIENCE.md §2.5).
//
// Pure functions over numbers and instrument definitions; no I/O. Thread safety: none needed.
#pragma once

#include <optional>
#include <string_view>

#include "base/status.h"
#include "instruments/definition.h"

namespace rapport::alliance {

// The Jacobson–Truax standard errors for one reference sample (SCIENCE.md §3):
//   SE = s1·√(1 − r),  S_diff = √2·SE,  minimum reliable change = 1.96·S_diff.
struct JacobsonTruax {
  double se = 0;
  double s_diff = 0;
  double min_reliable_change = 0;
};

// Errors: InvalidArgument when s1 ≤ 0 or r is outside [0, 1) (field "sd" or "reliability").
Result<JacobsonTruax> JacobsonTruaxFrom(double s1, double reliability);

// The three clinical-significance cutoffs of Jacobson & Truax (1991), SCIENCE.md §3, from the
// dysfunctional (M1, s1) and functional (M0, s0) populations. The formulas are written for
// higher-is-better; for higher-is-worse the signs of the 2·s terms are mirrored:
//   a = M1 ± 2·s1,  b = M0 ∓ 2·s0,  c = (s0·M1 + s1·M0) / (s0 + s1).
struct ClinicalCutoffs {
  double a = 0;
  double b = 0;
  double c = 0;
};
// Errors: InvalidArgument when s0 or s1 is not positive.
Result<ClinicalCutoffs> ClinicalCutoffsFrom(double m1, double s1, double m0, double s0,
                                            instruments::Direction direction);

enum class ReliableChangeKind { kImproved, kDeteriorated, kNoChange };
// "improved", "deteriorated", "no-change".
std::string_view Name(ReliableChangeKind kind);

// How one pair of scores is judged.
struct ChangeCriteria {
  instruments::Direction direction = instruments::Direction::kHigherIsBetter;
  // S_diff in points. The reliable change index is (post − pre) / s_diff.
  double s_diff = 0;
  // Change is reliable when |post − pre| reaches this many points: ≥ when `inclusive` (an
  // instrument's published "smallest reliable change", e.g. NHS Talking Therapies "≥ 6"),
  // > when not (Jacobson & Truax: |RC| > 1.96).
  double min_reliable_change = 0;
  bool inclusive = true;
  // The clinical cutoff and the side of it that is of concern (instruments::Cutoff semantics:
  // "<", "<=", ">=" or ">"). Without a cutoff clinical significance is not evaluated.
  std::optional<double> cutoff;
  std::string comparison;
};

// Criteria from an instrument definition: its reliable_change value (points, inclusive; S_diff
// = value / 1.96) and its cutoff. Errors: InvalidArgument when the instrument has no
// reliable-change value.
Result<ChangeCriteria> CriteriaFromDefinition(const instruments::Definition& definition);
// Criteria from a reference SD and reliability (Jacobson & Truax: strict |RC| > 1.96).
Result<ChangeCriteria> CriteriaFromReference(instruments::Direction direction, double s1,
                                             double reliability);

// True when `score` lies on the side of concern of `cutoff` under `comparison`.
bool OnConcernSide(double score, double cutoff, std::string_view comparison);

struct ChangeResult {
  double change = 0;  // post − pre
  double rc = 0;      // (post − pre) / s_diff
  ReliableChangeKind reliable = ReliableChangeKind::kNoChange;
  // Reliable improvement that also moved from the side of concern of the cutoff to the other
  // side ("recovered" in Jacobson & Truax's classification); false without a cutoff.
  bool clinically_significant = false;
  // "recovered", "improved", "unchanged" or "deteriorated" (SCIENCE.md §3 classification).
  std::string_view classification;
};

ChangeResult ClassifyChange(double pre, double post, const ChangeCriteria& criteria);

// NHS Talking Therapies (SCIENCE.md §2.5). Thresholds of one measure.
struct NhsTtMeasure {
  double caseness = 0;         // at caseness when score ≥ this
  double reliable_change = 0;  // reliable when the change reaches this many points
};
// From a higher-is-worse definition whose cutoff is "≥ caseness" and that has a
// reliable-change value. Errors: InvalidArgument naming the instrument and what is missing.
Result<NhsTtMeasure> NhsTtMeasureFrom(const instruments::Definition& definition);

struct NhsTtOptions {
  // NHS Digital's additional condition that reliable improvement requires no reliable
  // deterioration on either measure (SCIENCE.md §2.5, [U]); default on.
  bool improvement_requires_no_deterioration = true;
};

struct NhsTtResult {
  bool caseness = false;  // at caseness at the start (either measure)
  bool recovered = false;
  bool reliable_improvement = false;
  bool reliable_deterioration = false;
  bool reliable_recovery = false;
};

// Classifies paired first and last scores of one referral.
NhsTtResult ClassifyNhsTt(const NhsTtMeasure& depression, double depression_pre,
                          double depression_post, const NhsTtMeasure& anxiety, double anxiety_pre,
                          double anxiety_post, const NhsTtOptions& options = {});

}  // namespace rapport::alliance
