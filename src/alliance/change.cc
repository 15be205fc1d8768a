#include "alliance/change.h"

#include <cmath>
#include <string>

namespace rapport::alliance {

using instruments::Direction;

Result<JacobsonTruax> JacobsonTruaxFrom(double s1, double reliability) {
  if (!(s1 > 0) || !std::isfinite(s1)) {
    return InvalidArgument("the reference SD must be a positive number", "sd");
  }
  if (!(reliability >= 0 && reliability < 1)) {
    return InvalidArgument("the reliability must lie in [0, 1)", "reliability");
  }
  // Jacobson & Truax (1991): SE = s1·sqrt(1 − r_xx); S_diff = sqrt(2·SE²) (the √2 term after
  // Christensen & Mendoza 1986); reliable when |RC| > 1.96.
  JacobsonTruax out;
  out.se = s1 * std::sqrt(1 - reliability);
  out.s_diff = std::sqrt(2 * out.se * out.se);
  out.min_reliable_change = 1.96 * out.s_diff;
  return out;
}

Result<ClinicalCutoffs> ClinicalCutoffsFrom(double m1, double s1, double m0, double s0,
                                            Direction direction) {
  if (!(s1 > 0)) return InvalidArgument("s1 must be positive", "s1");
  if (!(s0 > 0)) return InvalidArgument("s0 must be positive", "s0");
  // SCIENCE.md §3 (Jacobson & Truax 1991), matching the clinicalsignificance R package tests.
  const double sign = direction == Direction::kHigherIsBetter ? 1.0 : -1.0;
  ClinicalCutoffs out;
  out.a = m1 + sign * 2 * s1;
  out.b = m0 - sign * 2 * s0;
  out.c = (s0 * m1 + s1 * m0) / (s0 + s1);
  return out;
}

std::string_view Name(ReliableChangeKind kind) {
  switch (kind) {
    case ReliableChangeKind::kImproved: return "improved";
    case ReliableChangeKind::kDeteriorated: return "deteriorated";
    case ReliableChangeKind::kNoChange: return "no-change";
  }
  return "no-change";
}

Result<ChangeCriteria> CriteriaFromDefinition(const instruments::Definition& definition) {
  if (!definition.reliable_change) {
    return InvalidArgument("instrument '" + definition.id +
                               "' has no reliable-change value; give --sd and --reliability",
                           "instrument");
  }
  ChangeCriteria criteria;
  criteria.direction = definition.direction;
  criteria.min_reliable_change = definition.reliable_change->value;
  // The published value is the smallest reliable change in points (docs/instruments.md), i.e.
  // 1.96·S_diff; it counts itself ("a decrease of 6 or more").
  criteria.s_diff = definition.reliable_change->value / 1.96;
  criteria.inclusive = true;
  if (definition.cutoff) {
    criteria.cutoff = definition.cutoff->value;
    criteria.comparison = definition.cutoff->comparison;
  }
  return criteria;
}

Result<ChangeCriteria> CriteriaFromReference(Direction direction, double s1, double reliability) {
  RAPPORT_ASSIGN_OR_RETURN(const JacobsonTruax jt, JacobsonTruaxFrom(s1, reliability));
  ChangeCriteria criteria;
  criteria.direction = direction;
  criteria.s_diff = jt.s_diff;
  criteria.min_reliable_change = jt.min_reliable_change;
  criteria.inclusive = false;
  return criteria;
}

bool OnConcernSide(double score, double cutoff, std::string_view comparison) {
  if (comparison == "<") return score < cutoff;
  if (comparison == "<=") return score <= cutoff;
  if (comparison == ">=") return score >= cutoff;
  if (comparison == ">") return score > cutoff;
  return false;
}

ChangeResult ClassifyChange(double pre, double post, const ChangeCriteria& criteria) {
  ChangeResult out;
  out.change = post - pre;
  out.rc = criteria.s_diff > 0 ? out.change / criteria.s_diff : 0;
  const double size = std::fabs(out.change);
  const bool reliable = criteria.inclusive ? size >= criteria.min_reliable_change
                                           : size > criteria.min_reliable_change;
  const bool better =
      criteria.direction == Direction::kHigherIsBetter ? out.change > 0 : out.change < 0;
  if (reliable && out.change != 0) {
    out.reliable = better ? ReliableChangeKind::kImproved : ReliableChangeKind::kDeteriorated;
  }
  if (out.reliable == ReliableChangeKind::kImproved && criteria.cutoff) {
    out.clinically_significant = OnConcernSide(pre, *criteria.cutoff, criteria.comparison) &&
                                 !OnConcernSide(post, *criteria.cutoff, criteria.comparison);
  }
  // SCIENCE.md §3: recovered = reliable good change AND crossed the cutoff; improved = reliable
  // good change only; deteriorated = reliable bad change; otherwise unchanged.
  switch (out.reliable) {
    case ReliableChangeKind::kImproved:
      out.classification = out.clinically_significant ? "recovered" : "improved";
      break;
    case ReliableChangeKind::kDeteriorated: out.classification = "deteriorated"; break;
    case ReliableChangeKind::kNoChange: out.classification = "unchanged"; break;
  }
  return out;
}

Result<NhsTtMeasure> NhsTtMeasureFrom(const instruments::Definition& definition) {
  if (definition.direction != Direction::kHigherIsWorse) {
    return InvalidArgument(
        "instrument '" + definition.id + "' is not a symptom measure (higher-is-worse)",
        "instrument");
  }
  if (!definition.cutoff || definition.cutoff->comparison != ">=") {
    return InvalidArgument("instrument '" + definition.id + "' has no caseness cutoff (>=)",
                           "instrument");
  }
  if (!definition.reliable_change) {
    return InvalidArgument("instrument '" + definition.id + "' has no reliable-change value",
                           "instrument");
  }
  return NhsTtMeasure{definition.cutoff->value, definition.reliable_change->value};
}

NhsTtResult ClassifyNhsTt(const NhsTtMeasure& depression, double depression_pre,
                          double depression_post, const NhsTtMeasure& anxiety, double anxiety_pre,
                          double anxiety_post, const NhsTtOptions& options) {
  // SCIENCE.md §2.5 (NHS Digital 2016; Gyani et al. 2013). Scores are higher-is-worse; a
  // change "reaches" the threshold when its size is ≥ the published value.
  const double d_change = depression_post - depression_pre;
  const double a_change = anxiety_post - anxiety_pre;
  const bool d_improved = -d_change >= depression.reliable_change;
  const bool a_improved = -a_change >= anxiety.reliable_change;
  const bool d_deteriorated = d_change >= depression.reliable_change;
  const bool a_deteriorated = a_change >= anxiety.reliable_change;

  NhsTtResult out;
  out.caseness = depression_pre >= depression.caseness || anxiety_pre >= anxiety.caseness;
  const bool case_at_end =
      depression_post >= depression.caseness || anxiety_post >= anxiety.caseness;
  out.recovered = out.caseness && !case_at_end;
  out.reliable_deterioration = d_deteriorated || a_deteriorated;
  out.reliable_improvement = d_improved || a_improved;
  if (options.improvement_requires_no_deterioration && out.reliable_deterioration) {
    out.reliable_improvement = false;
  }
  out.reliable_recovery = out.recovered && out.reliable_improvement;
  return out;
}

}  // namespace rapport::alliance
