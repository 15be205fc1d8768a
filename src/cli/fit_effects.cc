// `rapport fit therapists`, `rapport fit within-between` and `rapport fit dropout`: therapist
// effects (SCIENCE.md §8), the within/between-client alliance–outcome decomposition (§6.2) and
// the dropout model (§6.1) from CSV files. For the mixed models, rows with an empty cell in a
// column the model uses are dropped (as lme4's na.omit) and counted; the dropout model treats an
// empty feature as the training mean.
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "alerts/models.h"
#include "base/clock.h"
#include "base/csv.h"
#include "cli/command.h"
#include "stats/logistic.h"
#include "stats/therapist_effects.h"
#include "stats/within_between.h"
#include "storage/store.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

// Reads the named columns of every row with no empty cell among them. Bad numbers are errors
// naming file, line and column; `dropped` counts the skipped rows.
struct Columns {
  std::vector<std::vector<std::string>> text;  // per column, the kept rows' text
  std::vector<Eigen::VectorXd> number;         // per column, the kept rows' numbers
  int64_t dropped = 0;
};

Result<Columns> ReadColumns(const CsvTable& table, const std::vector<std::string>& text_columns,
                            const std::vector<std::string>& number_columns) {
  std::vector<size_t> text_at;
  std::vector<size_t> number_at;
  for (const std::string& name : text_columns) {
    RAPPORT_ASSIGN_OR_RETURN(const size_t at, table.RequireColumn(name));
    text_at.push_back(at);
  }
  for (const std::string& name : number_columns) {
    RAPPORT_ASSIGN_OR_RETURN(const size_t at, table.RequireColumn(name));
    number_at.push_back(at);
  }
  Columns out;
  out.text.resize(text_at.size());
  std::vector<std::vector<double>> numbers(number_at.size());
  for (size_t row = 0; row < table.row_count(); ++row) {
    bool missing = false;
    for (const size_t at : text_at) missing = missing || table.IsMissing(row, at);
    for (const size_t at : number_at) missing = missing || table.IsMissing(row, at);
    if (missing) {
      ++out.dropped;
      continue;
    }
    for (size_t c = 0; c < text_at.size(); ++c) {
      RAPPORT_ASSIGN_OR_RETURN(std::string value, table.Text(row, text_at[c]));
      out.text[c].push_back(std::move(value));
    }
    for (size_t c = 0; c < number_at.size(); ++c) {
      RAPPORT_ASSIGN_OR_RETURN(const double value, table.Number(row, number_at[c]));
      numbers[c].push_back(value);
    }
  }
  for (const std::vector<double>& column : numbers) {
    out.number.push_back(
        Eigen::Map<const Eigen::VectorXd>(column.data(), static_cast<Eigen::Index>(column.size())));
  }
  return out;
}

struct TherapistArgs {
  std::string input;
  stats::TherapistEffectsOptions options;
};

int RunTherapists(const TherapistArgs& args) {
  auto table = ReadCsvFile(args.input);
  if (!table.ok()) return Fail(table.status());
  const bool has_client = table->FindColumn("client").has_value();
  const bool has_t = table->FindColumn("t").has_value();
  if (has_client != has_t) {
    return Fail(InvalidArgument(args.input + ": give both 'client' and 't' (sessions in clients in "
                                             "therapists) or neither (one row per case)"));
  }
  const bool has_intake = table->FindColumn("intake").has_value();
  std::vector<std::string> text = {"therapist"};
  std::vector<std::string> numbers = {"y"};
  if (has_client) {
    text.push_back("client");
    numbers.push_back("t");
  }
  if (has_intake) numbers.push_back("intake");
  auto columns = ReadColumns(*table, text, numbers);
  if (!columns.ok()) return Fail(columns.status());
  stats::TherapistData data;
  data.therapist = columns->text[0];
  data.y = columns->number[0];
  if (has_client) {
    data.client = columns->text[1];
    data.t = columns->number[1];
  }
  if (has_intake) data.intake = columns->number.back();
  auto effects = stats::EstimateTherapistEffects(data, args.options);
  if (!effects.ok()) return Fail(effects.status().WithContext(args.input));

  Json caterpillar = Json::array();
  for (const stats::TherapistEffect& effect : effects->effects) {
    caterpillar.push_back({{"therapist", effect.therapist},
                           {"cases", effect.cases},
                           {"effect", effect.effect},
                           {"cond_sd", effect.cond_sd},
                           {"lower", effect.lower},
                           {"upper", effect.upper},
                           {"reliability", effect.reliability},
                           {"shown", effect.shown},
                           {"classification", effect.classification}});
  }
  const Json out = {
      {"design",
       effects->three_level ? "sessions in clients in therapists" : "cases in therapists"},
      {"case_mix_adjusted", has_intake},
      {"icc", effects->icc},
      {"icc_denominator", effects->icc_denominator},
      {"variance",
       {{"therapist", effects->therapist_variance},
        {"client_intercept", effects->three_level ? Json(effects->client_variance) : Json()},
        {"residual", effects->residual_variance}}},
      {"therapists", effects->therapists},
      {"shown", effects->shown},
      {"min_cases", args.options.min_cases},
      {"min_reliability", args.options.min_reliability},
      {"caterpillar", caterpillar},
      {"notes", effects->notes},
      {"reml_criterion", effects->fit.objective},
      {"converged", effects->fit.converged},
      {"rows_dropped", columns->dropped}};
  std::cout << out.dump() << "\n";
  return 0;
}

struct WithinBetweenArgs {
  std::string input;
  bool detrend = false;
};

Json EffectJson(const stats::Effect& effect) {
  return {{"estimate", effect.estimate}, {"se", effect.se}};
}

int RunWithinBetween(const WithinBetweenArgs& args) {
  auto table = ReadCsvFile(args.input);
  if (!table.ok()) return Fail(table.status());
  auto columns = ReadColumns(*table, {"client"}, {"y", "t", "alliance"});
  if (!columns.ok()) return Fail(columns.status());
  stats::WithinBetweenData data;
  data.client = columns->text[0];
  data.y = columns->number[0];
  data.t = columns->number[1];
  data.alliance = columns->number[2];
  auto result = stats::DecomposeWithinBetween(data, args.detrend);
  if (!result.ok()) return Fail(result.status().WithContext(args.input));
  const Json out = {{"model", "y ~ 1 + t + a_w + a_b + (1 | client), REML"},
                    {"detrended", result->detrended},
                    {"within", EffectJson(result->within)},
                    {"between", EffectJson(result->between)},
                    {"contextual", EffectJson(result->contextual)},
                    {"t", EffectJson(result->session)},
                    {"intercept", result->fit.beta[0]},
                    {"var_client", result->fit.components[0].covariance(0, 0)},
                    {"residual", result->fit.sigma2},
                    {"reml_criterion", result->fit.objective},
                    {"n_obs", result->fit.observations},
                    {"n_client", result->clients},
                    {"rows_dropped", columns->dropped}};
  std::cout << out.dump() << "\n";
  return 0;
}

struct DropoutArgs {
  // From a CSV file.
  std::string input;
  std::string outcome;
  std::vector<std::string> features;
  int folds = 5;
  std::optional<int> bins;  // calibration groups; 10 (deciles) unless given
  // From an organisation's history, stored for the dropout-risk signal.
  std::string db;
  std::string org;
  std::string site_dir;
};

// Fits on the organisation's ended episodes, stores the model and prints it.
int RunDropoutOnHistory(const DropoutArgs& args) {
  if (args.org.empty()) return Fail(InvalidArgument("--org is required with --db", "org"));
  if (!args.input.empty() || !args.outcome.empty() || !args.features.empty() || args.bins) {
    return Fail(InvalidArgument("--input, --outcome, --features and --bins go without --db"));
  }
  auto catalog = LoadCatalog("", args.site_dir);
  if (!catalog.ok()) return Fail(catalog.status());
  auto store = storage::OpenStore(args.db, /*migrate=*/false);
  if (!store.ok()) return Fail(store.status());
  const Timestamp now = DefaultClock().Now();
  std::optional<stats::DropoutModel> model;
  Status status = (*store)->Read([&](storage::ReadTransaction& txn) -> Status {
    if (txn.GetOrganization(args.org).status().code() == StatusCode::kNotFound) {
      return InvalidArgument("unknown organisation '" + args.org + "'", "org");
    }
    RAPPORT_ASSIGN_OR_RETURN(
        model, alerts::FitDropoutOnHistory(txn, *catalog, args.org, now, now, args.folds));
    return Status::Ok();
  });
  if (status.ok()) {
    status = (*store)->Write([&](storage::WriteTransaction& txn) {
      return alerts::StoreDropoutModel(txn, args.org, *model, now);
    });
  }
  (*store)->Close();
  if (!status.ok()) return Fail(status);
  std::cout << model->ToJson().dump() << "\n";
  return 0;
}

int RunDropout(const DropoutArgs& args) {
  if (!args.db.empty()) return RunDropoutOnHistory(args);
  if (args.input.empty() || args.outcome.empty()) {
    return Fail(InvalidArgument(
        "give --input with --outcome (a CSV file), or --db with --org (the organisation's "
        "history)"));
  }
  auto table = ReadCsvFile(args.input);
  if (!table.ok()) return Fail(table.status());
  auto outcome = table->RequireColumn(args.outcome);
  if (!outcome.ok()) return Fail(outcome.status());
  std::vector<std::string> features = args.features;
  if (features.empty()) {
    for (const std::string& name : table->header()) {
      if (name != args.outcome && name != "client" && name != "id") features.push_back(name);
    }
  }
  std::vector<size_t> at;
  for (const std::string& name : features) {
    auto column = table->RequireColumn(name);
    if (!column.ok()) return Fail(column.status());
    at.push_back(*column);
  }
  const auto rows = static_cast<Eigen::Index>(table->row_count());
  Eigen::MatrixXd x(rows, static_cast<Eigen::Index>(features.size()));
  Eigen::VectorXd y(rows);
  for (Eigen::Index row = 0; row < rows; ++row) {
    const auto r = static_cast<size_t>(row);
    auto value = table->Number(r, *outcome);
    if (!value.ok()) return Fail(value.status());
    if (*value != 0 && *value != 1) {
      return Fail(InvalidArgument(table->Where(r, *outcome) + ": the outcome must be 0 or 1"));
    }
    y[row] = *value;
    for (size_t c = 0; c < at.size(); ++c) {
      if (table->IsMissing(r, at[c])) {
        x(row, static_cast<Eigen::Index>(c)) = std::nan("");
        continue;
      }
      auto number = table->Number(r, at[c]);
      if (!number.ok()) return Fail(number.status());
      x(row, static_cast<Eigen::Index>(c)) = *number;
    }
  }
  auto model = stats::FitDropoutModel(features, x, y, args.folds, args.bins.value_or(10));
  if (!model.ok()) return Fail(model.status().WithContext(args.input));
  std::cout << model->ToJson().dump() << "\n";
  return 0;
}

}  // namespace

void AddFitEffectsCommands(CLI::App& app, Commands& commands) {
  CLI::App* fit = app.get_subcommand("fit");

  auto therapist_args = std::make_shared<TherapistArgs>();
  CLI::App* therapists = fit->add_subcommand(
      "therapists",
      "Therapist effects: ICC and shrunken estimates with intervals for a caterpillar chart "
      "(columns y, therapist [, intake] [, client and t for sessions]).");
  therapists->add_option("--input", therapist_args->input, "CSV file")->required();
  therapists
      ->add_option("--min-cases", therapist_args->options.min_cases,
                   "Show a therapist's estimate only from this many cases (default 20)")
      ->check(CLI::Range(1, 1'000'000));
  therapists
      ->add_option("--min-reliability", therapist_args->options.min_reliability,
                   "... and from this reliability of the estimate (default 0.70)")
      ->check(CLI::Range(0.0, 1.0));
  commands.push_back({therapists, [therapist_args] { return RunTherapists(*therapist_args); }});

  auto wb_args = std::make_shared<WithinBetweenArgs>();
  CLI::App* within_between = fit->add_subcommand(
      "within-between",
      "Alliance-outcome association within and between clients (columns y, t, client, "
      "alliance).");
  within_between->add_option("--input", wb_args->input, "CSV file")->required();
  within_between->add_flag("--detrend", wb_args->detrend,
                           "Remove each client's linear alliance trend before centring");
  commands.push_back({within_between, [wb_args] { return RunWithinBetween(*wb_args); }});

  auto dropout_args = std::make_shared<DropoutArgs>();
  CLI::App* dropout = fit->add_subcommand(
      "dropout",
      "Logistic dropout model (IRLS) with cross-validated AUC, Brier score and calibration, "
      "from a CSV file or fitted and stored on an organisation's history (--db).");
  dropout->add_option("--input", dropout_args->input, "CSV file, one row per ended episode");
  dropout->add_option("--outcome", dropout_args->outcome, "With --input: the 0/1 dropout column");
  dropout
      ->add_option("--features", dropout_args->features,
                   "Feature columns (default: every column but the outcome, client and id)")
      ->delimiter(',');
  dropout->add_option("--folds", dropout_args->folds, "Cross-validation folds (default 5)")
      ->check(CLI::Range(2, 100));
  dropout
      ->add_option("--bins", dropout_args->bins,
                   "With --input: groups of the calibration table (default 10, deciles)")
      ->check(CLI::Range(1, 1000));
  dropout->add_option("--db", dropout_args->db,
                      "Fit on this database's history instead, and store the model for the "
                      "dropout-risk signal");
  dropout->add_option("--org", dropout_args->org, "With --db: the organisation id");
  dropout->add_option("--site-dir", dropout_args->site_dir,
                      "With --db: the site's instruments folder");
  commands.push_back({dropout, [dropout_args] { return RunDropout(*dropout_args); }});
}

}  // namespace rapport::cli
