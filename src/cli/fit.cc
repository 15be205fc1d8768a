// `rapport fit lmm`, `rapport fit reliability`, `rapport fit etr` and `rapport simulate`: the
// statistics engine (src/stats) on CSV files and, for `fit etr`, on an organisation's stored
// history. Output is one JSON object on stdout.
#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "alerts/models.h"
#include "base/clock.h"
#include "base/csv.h"
#include "cli/command.h"
#include "sim/three_level.h"
#include "stats/etr.h"
#include "stats/formula.h"
#include "stats/mixed_model.h"
#include "stats/model_frame.h"
#include "stats/omega.h"
#include "stats/reliability.h"
#include "storage/store.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

Json ToJson(const Eigen::MatrixXd& matrix) {
  Json rows = Json::array();
  for (Eigen::Index row = 0; row < matrix.rows(); ++row) {
    Json values = Json::array();
    for (Eigen::Index col = 0; col < matrix.cols(); ++col) values.push_back(matrix(row, col));
    rows.push_back(values);
  }
  return rows;
}

Json ToJson(const Eigen::VectorXd& vector) {
  Json values = Json::array();
  for (Eigen::Index index = 0; index < vector.size(); ++index) values.push_back(vector[index]);
  return values;
}

struct LmmArgs {
  std::string data;
  std::string formula;
  bool ml = false;
  bool ranef = false;
  // The fixed form: columns y, t, client (and therapist), model y ~ 1 + t.
  std::string input;
  int levels = 2;
  std::string random = "slope";
};

// The fixed form's summary: {"fixef", "se", "varcomp", "theta", "criterion", "reml", "n_obs",
// "n_client", "iterations", "converged", "fit_seconds"}. var_t and cov are null for a random
// intercept only; "therapist" is null for two levels.
Json SummaryJson(const LmmArgs& args, const stats::MixedModelFit& fit, double seconds) {
  const Eigen::VectorXd se = fit.beta_se();
  Json fixef = Json::object();
  Json errors = Json::object();
  for (size_t index = 0; index < fit.fixed_names.size(); ++index) {
    const auto at = static_cast<Eigen::Index>(index);
    fixef[fit.fixed_names[index]] = fit.beta[at];
    errors[fit.fixed_names[index]] = se[at];
  }
  Json client = {{"var_intercept", nullptr}, {"var_t", nullptr}, {"cov", nullptr}};
  Json therapist = nullptr;
  int64_t n_client = 0;
  for (size_t term = 0; term < fit.components.size(); ++term) {
    const stats::VarianceComponent& component = fit.components[term];
    if (component.factor == "client") {
      n_client = fit.levels[term];
      client["var_intercept"] = component.covariance(0, 0);
      if (component.covariance.rows() > 1) {
        client["var_t"] = component.covariance(1, 1);
        client["cov"] = component.covariance(1, 0);
      }
    } else if (component.factor == "therapist") {
      therapist = {{"var_intercept", component.covariance(0, 0)}};
    }
  }
  return {{"fixef", fixef},
          {"se", errors},
          {"varcomp", {{"client", client}, {"therapist", therapist}, {"residual", fit.sigma2}}},
          {"theta", ToJson(fit.theta)},
          {"criterion", fit.objective},
          {"reml", !args.ml},
          {"n_obs", fit.observations},
          {"n_client", n_client},
          {"iterations", fit.evaluations},
          {"converged", fit.converged},
          {"fit_seconds", seconds}};
}

int RunLmm(LmmArgs args) {
  const bool fixed_form = !args.input.empty();
  if (fixed_form == !args.data.empty()) {
    return Fail(
        InvalidArgument("give either --input (columns y, t, client[, therapist]) or "
                        "--data with --formula"));
  }
  if (fixed_form) {
    if (!args.formula.empty()) {
      return Fail(InvalidArgument("--formula goes with --data; --input fits y ~ 1 + t"));
    }
    const std::string client_term = args.random == "slope" ? "(t | client)" : "(1 | client)";
    args.formula = args.levels == 3 ? "y ~ 1 + t + (1 | therapist) + " + client_term
                                    : "y ~ 1 + t + " + client_term;
    args.data = args.input;
  } else if (args.formula.empty()) {
    return Fail(InvalidArgument("--data needs --formula, e.g. 'y ~ t + (t | client)'"));
  }
  auto formula = stats::ParseFormula(args.formula);
  if (!formula.ok()) return Fail(formula.status());
  auto table = ReadCsvFile(args.data);
  if (!table.ok()) return Fail(table.status());
  auto frame = stats::BuildModelFrame(*table, *formula);
  if (!frame.ok()) return Fail(frame.status());
  const auto start = std::chrono::steady_clock::now();
  stats::FitOptions options;
  options.criterion = args.ml ? stats::Criterion::kMl : stats::Criterion::kReml;
  options.random_effects = args.ranef;
  auto fit = stats::FitMixedModel(frame->data, options);
  if (!fit.ok()) return Fail(fit.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (fixed_form) {
    std::cout << SummaryJson(args, *fit, seconds).dump() << "\n";
    return 0;
  }

  Json out;
  out["formula"] = args.formula;
  out["criterion"] = args.ml ? "ML" : "REML";
  out["observations"] = fit->observations;
  out["rows_dropped"] = frame->rows_dropped;
  Json groups = Json::object();
  for (size_t term = 0; term < fit->components.size(); ++term) {
    groups[fit->components[term].factor] = fit->levels[term];
  }
  out["groups"] = groups;
  Json fixed = Json::array();
  const Eigen::VectorXd se = fit->beta_se();
  for (size_t index = 0; index < fit->fixed_names.size(); ++index) {
    const auto at = static_cast<Eigen::Index>(index);
    fixed.push_back({{"name", fit->fixed_names[index]},
                     {"estimate", fit->beta[at]},
                     {"std_error", se[at]},
                     {"t_value", fit->beta[at] / se[at]}});
  }
  out["fixed_effects"] = fixed;
  out["fixed_effects_covariance"] = ToJson(fit->beta_covariance);
  Json components = Json::array();
  for (const stats::VarianceComponent& component : fit->components) {
    components.push_back({{"factor", component.factor},
                          {"names", component.names},
                          {"covariance", ToJson(component.covariance)},
                          {"sd", ToJson(component.sd())},
                          {"correlation", ToJson(component.correlation())}});
  }
  out["random_effects"] = components;
  out["residual_variance"] = fit->sigma2;
  out["theta"] = ToJson(fit->theta);
  out[args.ml ? "deviance" : "reml_criterion"] = fit->objective;
  out["log_likelihood"] = fit->log_likelihood;
  out["aic"] = fit->aic;
  out["bic"] = fit->bic;
  out["singular"] = fit->singular;
  out["converged"] = fit->converged;
  out["evaluations"] = fit->evaluations;
  out["fit_seconds"] = seconds;
  if (args.ranef) {
    Json modes = Json::array();
    for (const stats::RandomEffects& term : fit->random_effects) {
      Json levels = Json::object();
      for (size_t level = 0; level < term.level_names.size(); ++level) {
        const auto at = static_cast<Eigen::Index>(level);
        levels[term.level_names[level]] = {
            {"mode", ToJson(Eigen::VectorXd(term.modes.row(at)))},
            {"cond_sd", ToJson(Eigen::VectorXd(term.cond_sd.row(at)))}};
      }
      modes.push_back({{"factor", term.factor}, {"names", term.names}, {"levels", levels}});
    }
    out["conditional_modes"] = modes;
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

struct ReliabilityArgs {
  std::string data;
  std::vector<std::string> items;
  bool icc = false;
  // The summary form: every column of --input is an item (or, with --correlation, the file is
  // a correlation matrix with the item names as header).
  std::string input;
  bool correlation = false;
  int factors = 3;
  // The organisation's own data: every instrument (or --instrument) with answers in the store.
  std::string db;
  std::string org;
  std::string instrument;
  std::string site_dir;
};

// The columns `items` of `table` as numbers, NaN for an empty cell; errors name file, line and
// column.
Result<Eigen::MatrixXd> ItemMatrix(const CsvTable& table, const std::vector<std::string>& items) {
  std::vector<size_t> columns;
  for (const std::string& item : items) {
    RAPPORT_ASSIGN_OR_RETURN(const size_t column, table.RequireColumn(item));
    columns.push_back(column);
  }
  const auto rows = static_cast<Eigen::Index>(table.row_count());
  Eigen::MatrixXd answers(rows, static_cast<Eigen::Index>(columns.size()));
  for (Eigen::Index row = 0; row < rows; ++row) {
    for (size_t item = 0; item < columns.size(); ++item) {
      const auto r = static_cast<size_t>(row);
      const auto col = static_cast<Eigen::Index>(item);
      if (table.IsMissing(r, columns[item])) {
        answers(row, col) = std::nan("");
        continue;
      }
      RAPPORT_ASSIGN_OR_RETURN(answers(row, col), table.Number(r, columns[item]));
    }
  }
  return answers;
}

// {"alpha", "omega_total", "omega_hierarchical", "n"}: Cronbach's α (psych::alpha raw_alpha)
// and McDonald's ω (psych::omega) of the items in --input. With --correlation, α is the
// standardised α psych::omega reports and n is null.
int RunReliabilitySummary(const ReliabilityArgs& args) {
  auto table = ReadCsvFile(args.input);
  if (!table.ok()) return Fail(table.status());
  auto matrix = ItemMatrix(*table, table->header());
  if (!matrix.ok()) return Fail(matrix.status());
  Json n = nullptr;
  double alpha = 0;
  Eigen::MatrixXd correlation;
  if (args.correlation) {
    if (matrix->rows() != matrix->cols() || !matrix->allFinite()) {
      return Fail(InvalidArgument(args.input + ": --correlation needs a complete square matrix (" +
                                  std::to_string(matrix->rows()) + " rows, " +
                                  std::to_string(matrix->cols()) + " columns)"));
    }
    correlation = *matrix;
  } else {
    auto cronbach = stats::CronbachAlpha(*matrix);
    if (!cronbach.ok()) return Fail(cronbach.status().WithContext(args.input));
    alpha = cronbach->raw;
    n = cronbach->respondents;
    auto pairwise = stats::PairwiseCorrelation(*matrix);
    if (!pairwise.ok()) return Fail(pairwise.status().WithContext(args.input));
    correlation = *std::move(pairwise);
  }
  auto omega = stats::McDonaldOmega(correlation, args.factors);
  if (!omega.ok()) return Fail(omega.status().WithContext(args.input));
  if (args.correlation) alpha = omega->alpha;
  const Json out = {{"alpha", alpha},
                    {"omega_total", omega->omega_total},
                    {"omega_hierarchical", omega->omega_hierarchical},
                    {"n", n}};
  std::cout << out.dump() << "\n";
  return 0;
}

// Reliability per instrument on an organisation's own answers: each respondent's first response
// (independent rows; later ones repeat the same people), reverse-keyed items turned, α and ω.
// ω uses as many group factors as the instrument has subscales (at most 3) when there are at
// least two items per factor plus one, else one factor (the general factor alone: ω_h is then
// McDonald's ω of a congeneric scale).
Json InstrumentReliability(const instruments::Definition& definition,
                           const std::vector<storage::InstrumentObservation>& observations) {
  std::set<std::string> seen;
  std::vector<std::vector<double>> rows;
  for (const storage::InstrumentObservation& o : observations) {
    if (!seen.insert(o.respondent_id).second) continue;
    std::vector<double> row(definition.items.size(), std::nan(""));
    for (const domain::ItemAnswer& answer : o.answers) {
      for (size_t i = 0; i < definition.items.size(); ++i) {
        const instruments::Item& item = definition.items[i];
        if (item.id != answer.item_id || !answer.value) continue;
        row[i] = item.reverse ? item.min + item.max - *answer.value : *answer.value;
      }
    }
    rows.push_back(std::move(row));
  }
  Json out = {{"instrument", definition.id},
              {"items", definition.items.size()},
              {"respondents", rows.size()}};
  Eigen::MatrixXd matrix(static_cast<Eigen::Index>(rows.size()),
                         static_cast<Eigen::Index>(definition.items.size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < definition.items.size(); ++c) {
      matrix(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = rows[r][c];
    }
  }
  auto alpha = stats::CronbachAlpha(matrix);
  if (!alpha.ok()) {
    out["note"] = alpha.status().message();
    return out;
  }
  out["alpha"] = alpha->raw;
  out["std_alpha"] = alpha->standardized;
  const int items = static_cast<int>(definition.items.size());
  int factors = std::clamp(static_cast<int>(definition.subscales.size()), 1, 3);
  if (items < 2 * factors + 1) factors = 1;
  out["omega_factors"] = factors;
  auto correlation = stats::PairwiseCorrelation(matrix);
  auto omega = correlation.ok() ? stats::McDonaldOmega(*correlation, factors)
                                : Result<stats::Omega>(correlation.status());
  if (omega.ok()) {
    out["omega_total"] = omega->omega_total;
    out["omega_hierarchical"] = omega->omega_hierarchical;
  } else {
    out["omega_total"] = nullptr;
    out["omega_hierarchical"] = nullptr;
    out["note"] = omega.status().message();
  }
  return out;
}

int RunReliabilityOnHistory(const ReliabilityArgs& args) {
  if (args.org.empty()) return Fail(InvalidArgument("--org is required with --db", "org"));
  auto catalog = LoadCatalog("", args.site_dir);
  if (!catalog.ok()) return Fail(catalog.status());
  std::vector<const instruments::Definition*> definitions;
  if (!args.instrument.empty()) {
    const instruments::Definition* definition = catalog->Find(args.instrument);
    if (definition == nullptr) {
      return Fail(InvalidArgument(
          "unknown instrument '" + args.instrument + "' (see `rapport instruments list`)",
          "instrument"));
    }
    definitions.push_back(definition);
  } else {
    definitions = catalog->All();
  }
  auto store = storage::OpenStore(args.db, /*migrate=*/false);
  if (!store.ok()) return Fail(store.status());
  Json report = Json::array();
  const Status status = (*store)->Read([&](storage::ReadTransaction& txn) -> Status {
    if (txn.GetOrganization(args.org).status().code() == StatusCode::kNotFound) {
      return InvalidArgument("unknown organisation '" + args.org + "'", "org");
    }
    for (const instruments::Definition* definition : definitions) {
      RAPPORT_ASSIGN_OR_RETURN(
          const std::vector<storage::InstrumentObservation> observations,
          txn.ListObservations(args.org, definition->id, FromUnixMillis(0),
                               DefaultClock().Now() + std::chrono::hours(24 * 366)));
      if (observations.empty() && args.instrument.empty()) continue;
      report.push_back(InstrumentReliability(*definition, observations));
    }
    return Status::Ok();
  });
  (*store)->Close();
  if (!status.ok()) return Fail(status);
  std::cout << Json{{"org", args.org}, {"instruments", report}}.dump() << "\n";
  return 0;
}

int RunReliability(const ReliabilityArgs& args) {
  if (!args.db.empty()) return RunReliabilityOnHistory(args);
  if (args.input.empty() == args.data.empty()) {
    return Fail(InvalidArgument("give either --input (one column per item) or --data"));
  }
  if (!args.input.empty()) return RunReliabilitySummary(args);
  auto table = ReadCsvFile(args.data);
  if (!table.ok()) return Fail(table.status());
  std::vector<std::string> items = args.items;
  if (items.empty()) items = table->header();
  auto matrix = ItemMatrix(*table, items);
  if (!matrix.ok()) return Fail(matrix.status());
  const Eigen::MatrixXd& answers = *matrix;
  Json out;
  out["items"] = items;
  auto alpha = stats::CronbachAlpha(answers);
  if (!alpha.ok()) return Fail(alpha.status().WithContext(args.data));
  out["alpha"] = {{"raw", alpha->raw},
                  {"standardized", alpha->standardized},
                  {"average_r", alpha->average_r},
                  {"respondents", alpha->respondents}};
  if (args.icc) {
    auto icc = stats::IntraclassCorrelations(answers);
    if (!icc.ok()) return Fail(icc.status().WithContext(args.data));
    out["icc"] = {{"ICC1", icc->icc1},       {"ICC2", icc->icc2},    {"ICC3", icc->icc3},
                  {"ICC1k", icc->icc1k},     {"ICC2k", icc->icc2k},  {"ICC3k", icc->icc3k},
                  {"targets", icc->targets}, {"judges", icc->judges}};
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

struct EtrArgs {
  // From the store.
  std::string db;
  std::string org;
  std::string instrument;
  std::string from;
  std::string to;
  int64_t min_clients = 0;  // 0: the organisation's etr_min_clients setting
  std::string data_dir;
  std::string site_dir;
  // From a CSV file.
  std::string input;
  int first_session = 0;
  std::string covariate = "none";
};

// A date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time; `end_of_day` moves a bare date to
// the next midnight, so `--to 2025-06-30` includes that day.
Result<Timestamp> ParseWhen(const std::string& text, const std::string& option, bool end_of_day) {
  const bool date = text.size() == 10 && text[4] == '-' && text[7] == '-';
  std::string full = text;
  if (date) full.append("T00:00:00Z");
  auto parsed = ParseTimestamp(full);
  if (!parsed.ok()) {
    std::string message = option;
    message.append(" '").append(text).append(
        "' is not a date (YYYY-MM-DD) or an RFC 3339 time (2025-06-30T12:00:00Z)");
    return InvalidArgument(message, option);
  }
  if (date && end_of_day) return *parsed + std::chrono::hours(24);
  return *parsed;
}

// The researcher's form: rows y, t, client[, x] from a CSV file; nothing is stored.
Result<stats::EtrModel> FitEtrCsv(const EtrArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const CsvTable table, ReadCsvFile(args.input));
  RAPPORT_ASSIGN_OR_RETURN(const size_t y_column, table.RequireColumn("y"));
  RAPPORT_ASSIGN_OR_RETURN(const size_t t_column, table.RequireColumn("t"));
  RAPPORT_ASSIGN_OR_RETURN(const size_t client_column, table.RequireColumn("client"));
  const bool with_covariate = args.covariate == "intake";
  std::optional<size_t> x_column;
  if (with_covariate) {
    auto found = table.RequireColumn("x");
    if (!found.ok()) {
      return InvalidArgument(
          "--covariate intake reads each client's intake score from column "
          "'x': " +
              found.status().message(),
          "x");
    }
    x_column = *found;
  }
  std::vector<stats::EtrRow> rows;
  rows.reserve(table.row_count());
  for (size_t row = 0; row < table.row_count(); ++row) {
    stats::EtrRow r;
    RAPPORT_ASSIGN_OR_RETURN(r.score, table.Number(row, y_column));
    RAPPORT_ASSIGN_OR_RETURN(r.session, table.Number(row, t_column));
    if (r.session < args.first_session) {
      std::string message = table.Where(row, t_column);
      message.append("the session is before the intake (session ")
          .append(std::to_string(args.first_session))
          .append(")");
      return InvalidArgument(message, "t");
    }
    RAPPORT_ASSIGN_OR_RETURN(r.client, table.Text(row, client_column));
    if (x_column) {
      RAPPORT_ASSIGN_OR_RETURN(r.covariate, table.Number(row, *x_column));
    }
    rows.push_back(std::move(r));
  }
  stats::EtrFitOptions options;
  options.origin =
      args.first_session == 1 ? stats::SessionOrigin::kOneBased : stats::SessionOrigin::kZeroBased;
  if (with_covariate) options.covariate = "intake";
  options.provenance.instrument_id = args.instrument;
  options.provenance.fitted_at = DefaultClock().Now();
  auto model = stats::FitEtr(rows, options);
  if (!model.ok()) return model.status().WithContext(args.input);
  return model;
}

// The organisation's form: fit on its stored history and store the model.
Result<stats::EtrModel> FitEtrStore(const EtrArgs& args) {
  for (const auto& [value, option] :
       {std::pair{&args.org, "--org"}, {&args.instrument, "--instrument"}}) {
    if (value->empty()) {
      return InvalidArgument(std::string(option) + " is required with --db", option);
    }
  }
  RAPPORT_ASSIGN_OR_RETURN(const instruments::Catalog catalog,
                           LoadCatalog(args.data_dir, args.site_dir));
  const instruments::Definition* instrument = catalog.Find(args.instrument);
  if (instrument == nullptr) {
    return InvalidArgument(
        "unknown instrument '" + args.instrument + "' (see `rapport instruments list`)",
        "instrument");
  }
  const Timestamp now = DefaultClock().Now();
  alerts::EtrFitRequest request;
  request.org_id = args.org;
  request.instrument = instrument;
  request.now = now;
  request.window.to = now;
  request.window.intake_covariate = args.covariate == "intake";
  if (!args.from.empty()) {
    RAPPORT_ASSIGN_OR_RETURN(request.window.from, ParseWhen(args.from, "--from", false));
  }
  if (!args.to.empty()) {
    RAPPORT_ASSIGN_OR_RETURN(request.window.to, ParseWhen(args.to, "--to", true));
  }
  if (request.window.from && *request.window.from >= request.window.to) {
    return InvalidArgument("--from must be before --to", "from");
  }
  if (args.min_clients != 0) request.min_clients = args.min_clients;
  RAPPORT_ASSIGN_OR_RETURN(const auto store, storage::OpenStore(args.db, /*migrate=*/false));
  std::optional<stats::EtrModel> model;
  RAPPORT_RETURN_IF_ERROR(store->Read([&](storage::ReadTransaction& txn) -> Status {
    if (txn.GetOrganization(args.org).status().code() == StatusCode::kNotFound) {
      return InvalidArgument("unknown organisation '" + args.org + "'", "org");
    }
    RAPPORT_ASSIGN_OR_RETURN(model, alerts::FitEtrOnHistory(txn, request));
    return Status::Ok();
  }));
  RAPPORT_RETURN_IF_ERROR(store->Write([&](storage::WriteTransaction& txn) {
    return alerts::StoreEtrModel(txn, args.org, *model);
  }));
  return std::move(*model);
}

int RunEtr(const EtrArgs& args) {
  const bool from_csv = !args.input.empty();
  if (from_csv == !args.db.empty()) {
    return Fail(InvalidArgument(
        "give either --db with --org and --instrument (fit on the organisation's history and "
        "store the model) or --input FILE.csv (columns y, t, client[, x])"));
  }
  if (from_csv &&
      (!args.org.empty() || !args.from.empty() || !args.to.empty() || args.min_clients != 0)) {
    return Fail(InvalidArgument("--org, --from, --to and --min-clients go with --db"));
  }
  if (!from_csv && args.first_session != 0) {
    return Fail(
        InvalidArgument("--first-session goes with --input; stored sessions count from "
                        "0 at the intake"));
  }
  auto model = from_csv ? FitEtrCsv(args) : FitEtrStore(args);
  if (!model.ok()) return Fail(model.status());
  std::cout << stats::EtrModelToJson(*model).dump(2) << "\n";
  return 0;
}

struct SimulateArgs {
  sim::ThreeLevelOptions options;
  bool science = false;
  std::string out;
};

int RunSimulate(const SimulateArgs& args) {
  std::vector<sim::SessionRow> rows;
  if (args.science) {
    rows = sim::ScienceFixture();
  } else {
    auto simulated = sim::SimulateThreeLevel(args.options);
    if (!simulated.ok()) return Fail(simulated.status());
    rows = std::move(simulated).value();
  }
  const std::string csv = sim::SessionRowsToCsv(rows, args.science);
  if (args.out.empty() || args.out == "-") {
    std::cout << csv;
    return 0;
  }
  std::ofstream file(args.out, std::ios::binary);
  file << csv;
  file.close();
  if (!file) return Fail(InvalidArgument("cannot write --out '" + args.out + "'"));
  return 0;
}

}  // namespace

void AddFitCommands(CLI::App& app, Commands& commands) {
  CLI::App* fit = app.add_subcommand(
      "fit", "Fit statistical models to a CSV file or an organisation's history.");
  fit->require_subcommand(1);

  auto lmm_args = std::make_shared<LmmArgs>();
  CLI::App* lmm = fit->add_subcommand(
      "lmm", "Linear mixed model by REML or ML, as lme4's lmer (see docs/statistics.md).");
  lmm->add_option("--input", lmm_args->input,
                  "CSV with columns y, t, client (and therapist for --levels 3): fits y ~ 1 + t");
  lmm->add_option("--levels", lmm_args->levels,
                  "With --input: 2 (clients) or 3 (clients nested in therapists); default 2")
      ->check(CLI::IsMember({2, 3}));
  lmm->add_option("--random", lmm_args->random,
                  "With --input: random 'slope' (intercept and slope in t, the default) or "
                  "'intercept' by client")
      ->check(CLI::IsMember({"slope", "intercept"}));
  lmm->add_option("--data", lmm_args->data, "CSV file, one row per observation (with --formula)");
  lmm->add_option("--formula", lmm_args->formula,
                  "lme4 formula, e.g. 'y ~ session + (1 | therapist) + (session | client)'");
  lmm->add_flag("--ml", lmm_args->ml, "Maximum likelihood instead of REML");
  lmm->add_flag("--ranef", lmm_args->ranef,
                "Also print conditional modes (BLUPs) and conditional SDs per level");
  commands.push_back({lmm, [lmm_args] { return RunLmm(*lmm_args); }});

  auto reliability_args = std::make_shared<ReliabilityArgs>();
  CLI::App* reliability = fit->add_subcommand(
      "reliability",
      "Cronbach's alpha and McDonald's omega (and with --data --icc the Shrout-Fleiss ICCs), "
      "as R psych.");
  reliability->add_option("--input", reliability_args->input,
                          "CSV, one column per item: prints alpha, omega_total, "
                          "omega_hierarchical and n");
  reliability->add_flag("--correlation", reliability_args->correlation,
                        "With --input: the file is a correlation matrix, not answers");
  reliability
      ->add_option("--factors", reliability_args->factors,
                   "With --input: group factors of omega's Schmid-Leiman solution (default 3)")
      ->check(CLI::Range(1, 50));
  reliability->add_option(
      "--data", reliability_args->data,
      "CSV file, one row per respondent (or target), one column per item (or judge): "
      "detailed alpha");
  reliability
      ->add_option("--items", reliability_args->items, "Item columns (default: every column)")
      ->delimiter(',');
  reliability->add_option("--db", reliability_args->db,
                          "Report every instrument on this database's answers instead (with "
                          "--org; --instrument for one)");
  reliability->add_option("--org", reliability_args->org, "With --db: the organisation id");
  reliability->add_option("--instrument", reliability_args->instrument,
                          "With --db: only this instrument");
  reliability->add_option("--site-dir", reliability_args->site_dir,
                          "With --db: the site's instruments folder");
  reliability->add_flag("--icc", reliability_args->icc,
                        "Also the six intraclass correlations (complete rows required)");
  commands.push_back(
      {reliability, [reliability_args] { return RunReliability(*reliability_args); }});

  auto etr_args = std::make_shared<EtrArgs>();
  CLI::App* etr = fit->add_subcommand(
      "etr",
      "Expected treatment response (SCIENCE.md §4.3): fit an outcome measure's expected course "
      "on an organisation's history and store it for the not-on-track signal, or fit a CSV file "
      "(see docs/statistics.md).");
  etr->add_option("--db", etr_args->db, "Database URL: sqlite:PATH or postgresql://...");
  etr->add_option("--org", etr_args->org, "Organisation id (with --db)");
  etr->add_option("--instrument", etr_args->instrument,
                  "Outcome instrument id, e.g. phq-9 (with --db; recorded in the model with "
                  "--input)");
  etr->add_option("--from", etr_args->from,
                  "Client episodes whose intake is on or after this date (YYYY-MM-DD or RFC "
                  "3339; default: all)");
  etr->add_option("--to", etr_args->to,
                  "... and before the end of this day (or time); ratings after it are left out "
                  "(default: now)");
  etr->add_option("--min-clients", etr_args->min_clients,
                  "Refuse to fit on fewer clients (default: the organisation's "
                  "signals.not_on_track.etr_min_clients, 50)")
      ->check(CLI::Range(int64_t{3}, int64_t{100'000'000}));
  etr->add_option("--covariate", etr_args->covariate,
                  "'none' (default): y ~ f(t), conditioned on the intake when predicting; "
                  "'intake': y ~ f(t) * intake on the ratings after the intake (with --input: "
                  "column x)")
      ->check(CLI::IsMember({"none", "intake"}));
  etr->add_option("--input", etr_args->input,
                  "CSV with columns y, t, client[, x] instead of --db: prints the model, stores "
                  "nothing");
  etr->add_option("--first-session", etr_args->first_session,
                  "With --input: the intake's t, 0 (default; f(t) = ln(t + 1)) or 1 (f(t) = "
                  "ln(t))")
      ->check(CLI::IsMember({0, 1}));
  etr->add_option("--data-dir", etr_args->data_dir, "Rapport's data folder (default: found)");
  etr->add_option("--site-dir", etr_args->site_dir, "The site's folder of own instruments");
  commands.push_back({etr, [etr_args] { return RunEtr(*etr_args); }});

  auto simulate_args = std::make_shared<SimulateArgs>();
  CLI::App* simulate = app.add_subcommand(
      "simulate", "Write seeded synthetic session scores (clients nested in therapists) as CSV.");
  simulate->add_option("--seed", simulate_args->options.seed, "Seed (default 1)");
  simulate->add_option("--clients", simulate_args->options.clients, "Clients (default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  simulate->add_option("--therapists", simulate_args->options.therapists, "Therapists (default 50)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  simulate->add_option("--min-sessions", simulate_args->options.min_sessions, "Default 4");
  simulate->add_option("--max-sessions", simulate_args->options.max_sessions, "Default 8");
  simulate->add_flag("--science", simulate_args->science,
                     "The deterministic 180-row data set of SCIENCE.md §11.5 instead, with the "
                     "alliance column of §11.7");
  simulate->add_option("--out", simulate_args->out, "Output file (default: standard output)");
  commands.push_back({simulate, [simulate_args] { return RunSimulate(*simulate_args); }});
}

}  // namespace rapport::cli
