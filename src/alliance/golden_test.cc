// One loop per folder of golden cases (STYLE.md rule 3): data/golden/ruptures (SCIENCE.md §5.2,
// §11.9), data/golden/change (§3, §11.2) and data/golden/nhs-tt (§2.5, §11.1).
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "alliance/change.h"
#include "alliance/ruptures.h"
#include "instruments/catalog.h"
#include "testing/testing.h"

namespace rapport::alliance {
namespace {

using Json = nlohmann::json;

Json ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

std::vector<std::filesystem::path> Files(const std::string& folder) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::SourceDir() / "data/golden" / folder)) {
    if (entry.path().extension() == ".json") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<SeriesPoint> SeriesOf(const Json& c) {
  std::vector<SeriesPoint> series;
  const Json& scores = c.at("scores");
  for (size_t i = 0; i < scores.size(); ++i) {
    SeriesPoint p;
    p.session = c.contains("sessions") ? c["sessions"][i].get<int64_t>() : int64_t(i + 1);
    p.score = scores[i].get<double>();
    if (c.contains("bond")) p.bond = c["bond"][i].get<double>();
    if (c.contains("goals")) p.goals = c["goals"][i].get<double>();
    if (c.contains("tasks")) p.tasks = c["tasks"][i].get<double>();
    series.push_back(p);
  }
  return series;
}

TEST(GoldenRuptures, EveryCaseInDataGoldenRuptures) {
  int cases = 0;
  for (const auto& path : Files("ruptures")) {
    const Json golden = ReadJson(path);
    for (const Json& c : golden.at("cases")) {
      SCOPED_TRACE(path.filename().string() + ": " + c.at("name").get<std::string>());
      ++cases;
      const std::vector<SeriesPoint> series = SeriesOf(c);
      const Json& expect = c.at("expect");
      if (c.contains("cutoff")) {  // sudden-loss cases
        const auto losses = FindSuddenLosses(series, c["cutoff"].get<double>());
        ASSERT_EQ(losses.size(), expect.size());
        for (size_t i = 0; i < losses.size(); ++i) {
          EXPECT_EQ(losses[i].session, expect[i]["session"].get<int64_t>());
          EXPECT_NEAR(losses[i].drop, expect[i]["drop"].get<double>(), 1e-9);
          EXPECT_NEAR(losses[i].mean_pre, expect[i]["mean_pre"].get<double>(), 1e-9);
          EXPECT_NEAR(losses[i].mean_post, expect[i]["mean_post"].get<double>(), 1e-9);
          EXPECT_NEAR(losses[i].s_pooled, expect[i]["s_pooled"].get<double>(), 1e-9);
          EXPECT_EQ(losses[i].t_crit, expect[i]["t_crit"].get<double>());
        }
        continue;
      }
      RuptureParams params;
      params.threshold = c.value("threshold", 3.0);
      params.window = c.value("window", 3);
      params.tolerance = c.value("tolerance", 0.0);
      params.baseline = c.value("baseline", 1);
      auto found = FindRuptures(series, params);
      ASSERT_OK(found);
      ASSERT_EQ(found->size(), expect.size());
      for (size_t i = 0; i < expect.size(); ++i) {
        const Rupture& r = (*found)[i];
        const Json& e = expect[i];
        EXPECT_EQ(r.session, e["session"].get<int64_t>());
        EXPECT_NEAR(r.level, e["level"].get<double>(), 1e-12);
        EXPECT_NEAR(r.drop, e["drop"].get<double>(), 1e-12);
        EXPECT_EQ(Name(r.status), e["status"].get<std::string>());
        if (e["repaired_at"].is_null()) {
          EXPECT_FALSE(r.repaired_at.has_value());
        } else {
          ASSERT_TRUE(r.repaired_at.has_value());
          EXPECT_EQ(*r.repaired_at, e["repaired_at"].get<int64_t>());
        }
        EXPECT_EQ(r.v_shaped, e["v_shaped"].get<bool>());
        EXPECT_EQ(r.dimension, e.value("dimension", std::string()));
      }
    }
  }
  EXPECT_GE(cases, 12);
}

TEST(GoldenChange, JacobsonTruaxReferenceRowsAndCutoffs) {
  for (const auto& path : Files("change")) {
    const Json golden = ReadJson(path);
    for (const Json& row : golden.value("reference", Json::array())) {
      SCOPED_TRACE(row.at("name").get<std::string>());
      auto jt = JacobsonTruaxFrom(row["sd"].get<double>(), row["reliability"].get<double>());
      ASSERT_OK(jt);
      EXPECT_NEAR(jt->se, row["se"].get<double>(), 1e-10);
      EXPECT_NEAR(jt->s_diff, row["s_diff"].get<double>(), 1e-10);
      EXPECT_NEAR(jt->min_reliable_change, row["min_reliable_change"].get<double>(), 1e-10);
      auto criteria =
          CriteriaFromReference(instruments::Direction::kHigherIsBetter, row["sd"].get<double>(),
                                row["reliability"].get<double>());
      ASSERT_OK(criteria);
      const ChangeResult change =
          ClassifyChange(row["pre"].get<double>(), row["post"].get<double>(), *criteria);
      EXPECT_NEAR(change.rc, row["rc"].get<double>(), 1e-10);
      EXPECT_EQ(Name(change.reliable), row["reliable"].get<std::string>());
    }
    for (const Json& row : golden.value("cutoffs", Json::array())) {
      SCOPED_TRACE(row.at("name").get<std::string>());
      auto cutoffs = ClinicalCutoffsFrom(row["m1"].get<double>(), row["s1"].get<double>(),
                                         row["m0"].get<double>(), row["s0"].get<double>(),
                                         instruments::Direction::kHigherIsBetter);
      ASSERT_OK(cutoffs);
      EXPECT_NEAR(cutoffs->a, row["a"].get<double>(), 1e-9);
      EXPECT_NEAR(cutoffs->b, row["b"].get<double>(), 1e-9);
      EXPECT_NEAR(cutoffs->c, row["c"].get<double>(), 1e-9);
    }
    if (golden.contains("das")) {
      const Json& das = golden["das"];
      const auto pre = das["pre"].get<std::vector<double>>();
      const auto post = das["post"].get<std::vector<double>>();
      ASSERT_EQ(pre.size(), 30u);
      ASSERT_EQ(post.size(), 30u);
      double mean_pre = 0;
      double mean_post = 0;
      for (size_t i = 0; i < pre.size(); ++i) {
        mean_pre += pre[i] / 30;
        mean_post += post[i] / 30;
      }
      double ss = 0;
      for (double x : pre) ss += (x - mean_pre) * (x - mean_pre);
      const double sd = std::sqrt(ss / 29);
      EXPECT_NEAR(sd, das["sd_pre"].get<double>(), 1e-9);
      EXPECT_NEAR(mean_pre, das["mean_pre"].get<double>(), 1e-9);
      EXPECT_NEAR(mean_post, das["mean_post"].get<double>(), 1e-9);
      auto jt = JacobsonTruaxFrom(sd, das["reliability"].get<double>());
      ASSERT_OK(jt);
      EXPECT_NEAR(jt->se, das["se"].get<double>(), 1e-9);
      EXPECT_NEAR(jt->s_diff, das["s_diff"].get<double>(), 1e-9);
      auto criteria = CriteriaFromReference(instruments::Direction::kHigherIsBetter, sd,
                                            das["reliability"].get<double>());
      ASSERT_OK(criteria);
      int improved = 0;
      std::vector<int> deteriorated;
      std::vector<double> rc;
      for (size_t i = 0; i < pre.size(); ++i) {
        const ChangeResult change = ClassifyChange(pre[i], post[i], *criteria);
        rc.push_back(change.rc);
        if (change.reliable == ReliableChangeKind::kImproved) ++improved;
        if (change.reliable == ReliableChangeKind::kDeteriorated) {
          deteriorated.push_back(static_cast<int>(i + 1));
        }
      }
      EXPECT_EQ(improved, das["improved"].get<int>());
      EXPECT_EQ(deteriorated, das["deteriorated_cases"].get<std::vector<int>>());
      EXPECT_NEAR(rc[28], das["case_29_rc"].get<double>(), 1e-6);
      const auto first_five = das["rc_first_five"].get<std::vector<double>>();
      for (size_t i = 0; i < first_five.size(); ++i) EXPECT_NEAR(rc[i], first_five[i], 1e-6);
    }
    if (golden.contains("instrument")) {
      auto catalog = instruments::Catalog::Load(
          instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
      ASSERT_OK(catalog);
      for (const Json& row : golden["instrument"]) {
        SCOPED_TRACE(row.at("name").get<std::string>());
        const instruments::Definition* definition =
            catalog->Find(row["instrument"].get<std::string>());
        ASSERT_NE(definition, nullptr);
        auto criteria = CriteriaFromDefinition(*definition);
        ASSERT_OK(criteria);
        const ChangeResult change =
            ClassifyChange(row["pre"].get<double>(), row["post"].get<double>(), *criteria);
        EXPECT_EQ(Name(change.reliable), row["reliable"].get<std::string>());
        EXPECT_EQ(change.clinically_significant, row["clinically_significant"].get<bool>());
        EXPECT_EQ(change.classification, row["classification"].get<std::string>());
      }
    }
  }
}

TEST(GoldenNhsTt, EveryCaseInDataGoldenNhsTt) {
  auto catalog =
      instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
  ASSERT_OK(catalog);
  auto phq9 = NhsTtMeasureFrom(*catalog->Find("phq-9"));
  auto gad7 = NhsTtMeasureFrom(*catalog->Find("gad-7"));
  ASSERT_OK(phq9);
  ASSERT_OK(gad7);
  int cases = 0;
  for (const auto& path : Files("nhs-tt")) {
    const Json golden = ReadJson(path);
    for (const Json& c : golden.at("cases")) {
      SCOPED_TRACE(c.at("name").get<std::string>());
      ++cases;
      NhsTtOptions options;
      options.improvement_requires_no_deterioration = c.value("no_deterioration_rule", true);
      const NhsTtResult r =
          ClassifyNhsTt(*phq9, c["phq9"][0].get<double>(), c["phq9"][1].get<double>(), *gad7,
                        c["gad7"][0].get<double>(), c["gad7"][1].get<double>(), options);
      const Json& e = c.at("expect");
      EXPECT_EQ(r.caseness, e["caseness"].get<bool>());
      EXPECT_EQ(r.recovered, e["recovered"].get<bool>());
      EXPECT_EQ(r.reliable_improvement, e["reliable_improvement"].get<bool>());
      EXPECT_EQ(r.reliable_deterioration, e["reliable_deterioration"].get<bool>());
      EXPECT_EQ(r.reliable_recovery, e["reliable_recovery"].get<bool>());
    }
  }
  EXPECT_GE(cases, 6);
}

}  // namespace
}  // namespace rapport::alliance
