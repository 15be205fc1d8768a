#include "stats/therapist_effects.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace rapport::stats {
namespace {

// A grouping factor from per-row labels, levels in sorted order (as R's factor()).
RandomEffectsTerm Factor(std::string name, const std::vector<std::string>& labels,
                         Eigen::MatrixXd design, std::vector<std::string> covariates) {
  RandomEffectsTerm term;
  term.factor = std::move(name);
  term.names = std::move(covariates);
  term.design = std::move(design);
  std::map<std::string, int32_t> index;
  for (const std::string& label : labels) index.emplace(label, 0);
  for (auto& [label, level] : index) {
    level = static_cast<int32_t>(term.level_names.size());
    term.level_names.push_back(label);
  }
  term.level.reserve(labels.size());
  for (const std::string& label : labels) term.level.push_back(index[label]);
  return term;
}

std::string Decimal(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

}  // namespace

Result<TherapistEffects> EstimateTherapistEffects(const TherapistData& data,
                                                  const TherapistEffectsOptions& options) {
  const auto n = static_cast<Eigen::Index>(data.therapist.size());
  const bool three_level = !data.client.empty();
  if (data.y.size() != n || (data.intake && data.intake->size() != n) ||
      (three_level && (static_cast<Eigen::Index>(data.client.size()) != n || data.t.size() != n))) {
    return InvalidArgument("therapist, y, intake, client and t must have one value per row");
  }
  if (std::set<std::string>(data.therapist.begin(), data.therapist.end()).size() < 2) {
    return InvalidArgument("therapist effects need at least 2 therapists");
  }

  MixedModelData model;
  model.y = data.y;
  std::vector<Eigen::VectorXd> columns = {Eigen::VectorXd::Ones(n)};
  model.fixed_names = {"(Intercept)"};
  if (three_level) {
    columns.push_back(data.t);
    model.fixed_names.push_back("t");
  }
  if (data.intake) {
    columns.push_back(*data.intake);
    model.fixed_names.push_back("intake");
  }
  model.x.resize(n, static_cast<Eigen::Index>(columns.size()));
  for (size_t c = 0; c < columns.size(); ++c)
    model.x.col(static_cast<Eigen::Index>(c)) = columns[c];
  if (three_level) {
    model.inner = Factor("client", data.client, model.x.leftCols(2), {"(Intercept)", "t"});
    model.outer = Factor("therapist", data.therapist, Eigen::MatrixXd::Ones(n, 1), {"(Intercept)"});
  } else {
    model.inner = Factor("therapist", data.therapist, Eigen::MatrixXd::Ones(n, 1), {"(Intercept)"});
  }
  RAPPORT_ASSIGN_OR_RETURN(MixedModelFit fit, FitMixedModel(model));

  TherapistEffects out;
  out.three_level = three_level;
  const size_t term = three_level ? 1 : 0;
  out.therapist_variance = fit.components[term].covariance(0, 0);
  out.residual_variance = fit.sigma2;
  if (three_level) out.client_variance = fit.components[0].covariance(0, 0);
  const double denominator = out.therapist_variance + out.client_variance + out.residual_variance;
  out.icc = denominator > 0 ? out.therapist_variance / denominator : 0;
  out.icc_denominator = three_level ? "therapist + client intercept + residual variance (at t = 0)"
                                    : "therapist + residual (case) variance";

  // Cases per therapist: rows, or distinct clients.
  std::map<std::string, std::set<std::string>> clients_of;
  std::map<std::string, int64_t> rows_of;
  for (Eigen::Index row = 0; row < n; ++row) {
    const std::string& therapist = data.therapist[static_cast<size_t>(row)];
    ++rows_of[therapist];
    if (three_level) clients_of[therapist].insert(data.client[static_cast<size_t>(row)]);
  }

  const RandomEffects& modes = fit.random_effects[term];
  const double tau2 = out.therapist_variance;
  for (size_t level = 0; level < modes.level_names.size(); ++level) {
    const auto at = static_cast<Eigen::Index>(level);
    TherapistEffect effect;
    effect.therapist = modes.level_names[level];
    effect.cases = three_level ? static_cast<int64_t>(clients_of[effect.therapist].size())
                               : rows_of[effect.therapist];
    effect.effect = modes.modes(at, 0);
    effect.cond_sd = modes.cond_sd(at, 0);
    effect.lower = effect.effect - options.z * effect.cond_sd;
    effect.upper = effect.effect + options.z * effect.cond_sd;
    effect.reliability =
        tau2 > 0 ? std::clamp(1 - effect.cond_sd * effect.cond_sd / tau2, 0.0, 1.0) : 0.0;
    effect.shown =
        effect.cases >= options.min_cases && effect.reliability >= options.min_reliability;
    if (!effect.shown) {
      effect.classification = "not shown";
    } else if (effect.lower > 0) {
      effect.classification = "above average";
    } else if (effect.upper < 0) {
      effect.classification = "below average";
    } else {
      effect.classification = "indistinguishable from average";
    }
    out.shown += effect.shown ? 1 : 0;
    out.effects.push_back(std::move(effect));
  }
  std::stable_sort(
      out.effects.begin(), out.effects.end(),
      [](const TherapistEffect& a, const TherapistEffect& b) { return a.effect < b.effect; });
  out.therapists = static_cast<int64_t>(out.effects.size());

  if (out.therapists < 30) {
    out.notes.push_back("fewer than 30 therapists: the ICC is imprecise (Schiefele et al. 2017)");
  }
  if (out.shown < out.therapists) {
    out.notes.push_back(std::to_string(out.therapists - out.shown) + " of " +
                        std::to_string(out.therapists) + " therapists have fewer than " +
                        std::to_string(options.min_cases) + " cases or a reliability below " +
                        Decimal(options.min_reliability) + ": their estimates are not shown");
  }
  if (fit.singular) {
    out.notes.push_back("the therapist variance is estimated at 0: no therapist differs");
  }
  out.notes.push_back(
      "intervals are conditional on the estimated fixed effects and variances (lme4 condVar) "
      "and so somewhat too narrow");
  out.fit = std::move(fit);
  return out;
}

}  // namespace rapport::stats
