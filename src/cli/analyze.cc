// `rapport analyze`: the clinical rules of src/alliance on files and numbers, one JSON object
// per line on stdout. Bad input exits 2 with a message naming the row and column.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "alliance/change.h"
#include "alliance/ruptures.h"
#include "base/csv.h"
#include "cli/command.h"
#include "instruments/catalog.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

Result<instruments::Catalog> LoadInstruments(const std::string& data_dir) {
  return LoadCatalog(data_dir, {});
}

Result<const instruments::Definition*> FindInstrument(const instruments::Catalog& catalog,
                                                      const std::string& id) {
  const instruments::Definition* definition = catalog.Find(id);
  if (definition != nullptr) return definition;
  std::string known;
  for (const auto* d : catalog.All()) known += (known.empty() ? "" : ", ") + d->id;
  return InvalidArgument("unknown instrument '" + id + "'; known: " + known, "instrument");
}

Json NumberOrNull(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

struct RupturesArgs {
  std::string input;
  std::optional<double> threshold;
  std::string instrument;
  std::string mode = "fixed";
  double intra_k = 2;
  int window = 3;
  double tolerance = 0;
  int baseline = 1;
  std::optional<double> sudden_loss;
  std::string data_dir;
};

// Reads episode,session,score[,bond,goals,tasks] rows (any order) into one series per episode.
Result<std::map<std::string, std::vector<alliance::SeriesPoint>>> ReadSeries(
    const CsvTable& table) {
  RAPPORT_ASSIGN_OR_RETURN(const size_t episode_col, table.RequireColumn("episode"));
  RAPPORT_ASSIGN_OR_RETURN(const size_t session_col, table.RequireColumn("session"));
  RAPPORT_ASSIGN_OR_RETURN(const size_t score_col, table.RequireColumn("score"));
  const auto bond_col = table.FindColumn("bond");
  const auto goals_col = table.FindColumn("goals");
  const auto tasks_col = table.FindColumn("tasks");
  std::map<std::string, std::vector<alliance::SeriesPoint>> out;
  std::map<std::pair<std::string, int64_t>, size_t> seen;  // (episode, session) → row
  for (size_t row = 0; row < table.row_count(); ++row) {
    RAPPORT_ASSIGN_OR_RETURN(const std::string episode, table.Text(row, episode_col));
    alliance::SeriesPoint point;
    RAPPORT_ASSIGN_OR_RETURN(point.session, table.Integer(row, session_col));
    RAPPORT_ASSIGN_OR_RETURN(point.score, table.Number(row, score_col));
    const auto dimension = [&](const std::optional<size_t>& col,
                               std::optional<double>& value) -> Status {
      if (!col || table.IsMissing(row, *col)) return Status::Ok();
      RAPPORT_ASSIGN_OR_RETURN(value, table.Number(row, *col));
      return Status::Ok();
    };
    RAPPORT_RETURN_IF_ERROR(dimension(bond_col, point.bond));
    RAPPORT_RETURN_IF_ERROR(dimension(goals_col, point.goals));
    RAPPORT_RETURN_IF_ERROR(dimension(tasks_col, point.tasks));
    const auto [it, inserted] = seen.try_emplace({episode, point.session}, row);
    if (!inserted) {
      return InvalidArgument(table.Where(row, session_col) + "episode '" + episode +
                                 "' has session " + std::to_string(point.session) +
                                 " twice (first at line " + std::to_string(table.line(it->second)) +
                                 ")",
                             "session");
    }
    out[episode].push_back(point);
  }
  for (auto& [episode, series] : out) {
    std::sort(series.begin(), series.end(),
              [](const auto& a, const auto& b) { return a.session < b.session; });
  }
  return out;
}

Status RunRuptures(const RupturesArgs& args) {
  alliance::RuptureParams params;
  RAPPORT_ASSIGN_OR_RETURN(params.mode, alliance::ParseThresholdMode(args.mode));
  params.intra_k = args.intra_k;
  params.window = args.window;
  params.tolerance = args.tolerance;
  params.baseline = args.baseline;
  if (args.threshold) {
    params.threshold = *args.threshold;
  } else if (!args.instrument.empty()) {
    RAPPORT_ASSIGN_OR_RETURN(const instruments::Catalog catalog, LoadInstruments(args.data_dir));
    RAPPORT_ASSIGN_OR_RETURN(const instruments::Definition* definition,
                             FindInstrument(catalog, args.instrument));
    if (definition->direction != instruments::Direction::kHigherIsBetter) {
      return InvalidArgument("ruptures are drops in higher-is-better ratings; '" + definition->id +
                                 "' is higher-is-worse",
                             "instrument");
    }
    if (!definition->reliable_change) {
      return InvalidArgument(
          "instrument '" + definition->id + "' has no reliable-change value; give --threshold",
          "threshold");
    }
    // SCIENCE.md §5.2 default 1: the RCI-based threshold, 1.96·S_diff in points.
    params.threshold = definition->reliable_change->value;
  } else if (params.mode != alliance::ThresholdMode::kIntraIndividual) {
    return InvalidArgument("give --threshold T, or --instrument ID for its reliable-change value",
                           "threshold");
  }
  if (Status status = alliance::ValidateRuptureParams(params); !status.ok()) {
    return InvalidArgument("--" + status.field() + ": " + status.message(), status.field());
  }
  RAPPORT_ASSIGN_OR_RETURN(const CsvTable table, ReadCsvFile(args.input));
  RAPPORT_ASSIGN_OR_RETURN(const auto episodes, ReadSeries(table));
  std::string out;
  for (const auto& [episode, series] : episodes) {
    RAPPORT_ASSIGN_OR_RETURN(const auto ruptures, alliance::FindRuptures(series, params));
    for (const alliance::Rupture& r : ruptures) {
      Json line = {{"episode", episode},
                   {"session", r.session},
                   {"level", r.level},
                   {"drop", r.drop},
                   {"status", alliance::Name(r.status)},
                   {"repaired_at", NumberOrNull(r.repaired_at)},
                   {"v_shaped", r.v_shaped},
                   {"dimension", r.dimension.empty() ? Json(nullptr) : Json(r.dimension)}};
      if (params.mode != alliance::ThresholdMode::kFixed) line["threshold"] = r.threshold;
      out += line.dump() + "\n";
    }
    if (args.sudden_loss) {
      for (const alliance::SuddenLossTest& loss :
           alliance::FindSuddenLosses(series, *args.sudden_loss)) {
        out += Json{{"episode", episode},        {"session", loss.session},
                    {"sudden_loss", true},       {"drop", loss.drop},
                    {"mean_pre", loss.mean_pre}, {"mean_post", loss.mean_post},
                    {"s_pooled", loss.s_pooled}, {"t_crit", loss.t_crit}}
                   .dump() +
               "\n";
      }
    }
  }
  std::cout << out;
  return Status::Ok();
}

struct ChangeArgs {
  std::string instrument;
  double pre = 0;
  double post = 0;
  std::optional<double> sd;
  std::optional<double> reliability;
  std::optional<double> cutoff;
  std::string data_dir;
};

Status RunChange(const ChangeArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const instruments::Catalog catalog, LoadInstruments(args.data_dir));
  RAPPORT_ASSIGN_OR_RETURN(const instruments::Definition* definition,
                           FindInstrument(catalog, args.instrument));
  const double lowest = definition->TotalMin();
  const double highest = definition->TotalMax();
  for (const auto& [name, value] : {std::pair{"pre", args.pre}, std::pair{"post", args.post}}) {
    if (value < lowest || value > highest) {
      return InvalidArgument(std::string("--") + name + " " + Json(value).dump() +
                                 " is outside the possible totals of " + definition->id + " (" +
                                 Json(lowest).dump() + "–" + Json(highest).dump() + ")",
                             name);
    }
  }
  alliance::ChangeCriteria criteria;
  std::string method;
  if (args.sd || args.reliability) {
    if (!args.sd || !args.reliability) {
      return InvalidArgument("--sd and --reliability go together", args.sd ? "reliability" : "sd");
    }
    RAPPORT_ASSIGN_OR_RETURN(criteria, alliance::CriteriaFromReference(
                                           definition->direction, *args.sd, *args.reliability));
    if (definition->cutoff) {
      criteria.cutoff = definition->cutoff->value;
      criteria.comparison = definition->cutoff->comparison;
    }
    method = "jacobson-truax";
  } else {
    RAPPORT_ASSIGN_OR_RETURN(criteria, alliance::CriteriaFromDefinition(*definition));
    method = "instrument";
  }
  if (args.cutoff) {
    criteria.cutoff = *args.cutoff;
    // The side of concern of a user-given cutoff follows the direction (J&T: below c is
    // dysfunctional for higher-is-better).
    criteria.comparison =
        definition->direction == instruments::Direction::kHigherIsBetter ? "<" : ">";
  }
  const alliance::ChangeResult result = alliance::ClassifyChange(args.pre, args.post, criteria);
  std::cout << Json{{"instrument", definition->id},
                    {"pre", args.pre},
                    {"post", args.post},
                    {"change", result.change},
                    {"rc", result.rc},
                    {"s_diff", criteria.s_diff},
                    {"min_reliable_change", criteria.min_reliable_change},
                    {"method", method},
                    {"reliable", alliance::Name(result.reliable)},
                    {"cutoff", criteria.cutoff ? Json(*criteria.cutoff) : Json(nullptr)},
                    {"clinically_significant", result.clinically_significant},
                    {"classification", result.classification}}
                   .dump()
            << "\n";
  return Status::Ok();
}

struct NhsTtArgs {
  std::string phq9;
  std::string gad7;
  std::string anxiety_instrument = "gad-7";
  bool no_deterioration_rule = true;
  std::string data_dir;
};

// "PRE,POST" → two numbers.
Result<std::pair<double, double>> PrePost(const std::string& text, const std::string& option) {
  const size_t comma = text.find(',');
  const auto number = [&](const std::string& part) -> Result<double> {
    try {
      size_t used = 0;
      const double value = std::stod(part, &used);
      if (used == part.size() && std::isfinite(value)) return value;
    } catch (const std::exception&) {
    }
    return InvalidArgument("--" + option + " '" + text + "': '" + part + "' is not a number",
                           option);
  };
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
    return InvalidArgument("--" + option + " must be PRE,POST, e.g. 16,8; got '" + text + "'",
                           option);
  }
  RAPPORT_ASSIGN_OR_RETURN(const double pre, number(text.substr(0, comma)));
  RAPPORT_ASSIGN_OR_RETURN(const double post, number(text.substr(comma + 1)));
  return std::pair{pre, post};
}

Status RunNhsTt(const NhsTtArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const instruments::Catalog catalog, LoadInstruments(args.data_dir));
  RAPPORT_ASSIGN_OR_RETURN(const instruments::Definition* phq9, FindInstrument(catalog, "phq-9"));
  RAPPORT_ASSIGN_OR_RETURN(const instruments::Definition* anxiety,
                           FindInstrument(catalog, args.anxiety_instrument));
  RAPPORT_ASSIGN_OR_RETURN(const alliance::NhsTtMeasure depression,
                           alliance::NhsTtMeasureFrom(*phq9));
  RAPPORT_ASSIGN_OR_RETURN(const alliance::NhsTtMeasure anxiety_measure,
                           alliance::NhsTtMeasureFrom(*anxiety));
  RAPPORT_ASSIGN_OR_RETURN(const auto d, PrePost(args.phq9, "phq9"));
  RAPPORT_ASSIGN_OR_RETURN(const auto a, PrePost(args.gad7, "gad7"));
  for (const auto& [option, definition, pair] :
       {std::tuple{"phq9", phq9, d}, std::tuple{"gad7", anxiety, a}}) {
    for (double value : {pair.first, pair.second}) {
      if (value < definition->TotalMin() || value > definition->TotalMax()) {
        return InvalidArgument(std::string("--") + option + ": " + Json(value).dump() +
                                   " is outside the possible totals of " + definition->id,
                               option);
      }
    }
  }
  alliance::NhsTtOptions options;
  options.improvement_requires_no_deterioration = args.no_deterioration_rule;
  const alliance::NhsTtResult r = alliance::ClassifyNhsTt(
      depression, d.first, d.second, anxiety_measure, a.first, a.second, options);
  std::cout << Json{{"caseness", r.caseness},
                    {"recovered", r.recovered},
                    {"reliable_improvement", r.reliable_improvement},
                    {"reliable_deterioration", r.reliable_deterioration},
                    {"reliable_recovery", r.reliable_recovery}}
                   .dump()
            << "\n";
  return Status::Ok();
}

int Run(const Status& status) { return status.ok() ? 0 : Fail(status); }

}  // namespace

void AddAnalyzeCommands(CLI::App& app, Commands& commands) {
  CLI::App* analyze =
      app.add_subcommand("analyze", "Apply the clinical rules to files and numbers.");
  analyze->require_subcommand(1);

  auto r = std::make_shared<RupturesArgs>();
  CLI::App* ruptures = analyze->add_subcommand(
      "ruptures",
      "Find alliance ruptures and repairs (SCIENCE.md 5.2) in a CSV file with "
      "columns episode,session,score[,bond,goals,tasks].");
  ruptures->add_option("--input", r->input, "CSV file")->required();
  ruptures->add_option("--threshold", r->threshold, "T: a drop of at least T points");
  ruptures->add_option("--instrument", r->instrument,
                       "Use this instrument's reliable-change value as T");
  ruptures->add_option("--window", r->window, "K: sessions within which a repair must come (3)");
  ruptures->add_option("--tolerance", r->tolerance, "R: repair within R points of the level (0)");
  ruptures->add_option("--baseline", r->baseline,
                       "Pre-rupture level: mean of this many previous ratings (1)");
  ruptures->add_option("--mode", r->mode, "fixed (default), intra or combined");
  ruptures->add_option("--k", r->intra_k, "SDs for the intra-individual threshold (2)");
  ruptures->add_option("--sudden-loss", r->sudden_loss,
                       "Also report sudden losses with this cutoff (Tang & DeRubeis criteria)");
  ruptures->add_option("--data-dir", r->data_dir, "Folder holding instruments/ (default: data)");
  commands.push_back({ruptures, [r] { return Run(RunRuptures(*r)); }});

  auto c = std::make_shared<ChangeArgs>();
  CLI::App* change = analyze->add_subcommand(
      "change", "Reliable and clinically significant change (Jacobson & Truax 1991).");
  change->add_option("--instrument", c->instrument, "Instrument id, e.g. phq-9")->required();
  change->add_option("--pre", c->pre, "First score")->required();
  change->add_option("--post", c->post, "Last score")->required();
  change->add_option("--sd", c->sd, "Reference SD s1 (with --reliability)");
  change->add_option("--reliability", c->reliability, "Reliability r_xx (with --sd)");
  change->add_option("--cutoff", c->cutoff, "Clinical cutoff (default: the instrument's)");
  change->add_option("--data-dir", c->data_dir, "Folder holding instruments/ (default: data)");
  commands.push_back({change, [c] { return Run(RunChange(*c)); }});

  auto n = std::make_shared<NhsTtArgs>();
  CLI::App* nhs = analyze->add_subcommand(
      "nhs-tt", "NHS Talking Therapies caseness, recovery and reliable change.");
  nhs->add_option("--phq9", n->phq9, "PRE,POST PHQ-9 totals")->required();
  nhs->add_option("--gad7", n->gad7, "PRE,POST anxiety totals")->required();
  nhs->add_option("--anxiety-instrument", n->anxiety_instrument,
                  "Anxiety measure for --gad7 values (default gad-7)");
  nhs->add_flag("!--no-deterioration-rule", n->no_deterioration_rule,
                "Do not require the absence of reliable deterioration for reliable improvement");
  nhs->add_option("--data-dir", n->data_dir, "Folder holding instruments/ (default: data)");
  commands.push_back({nhs, [n] { return Run(RunNhsTt(*n)); }});
}

}  // namespace rapport::cli
