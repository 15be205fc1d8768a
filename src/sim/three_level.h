// Session-level outcome data with clients nested in therapists, for the statistics engine's
// tests and benchmarks and `rapport simulate`.
//
// ScienceFixture() is the deterministic data set of SCIENCE.md §11.5 (outcome) and §11.7
// (alliance), reproduced bit for bit from the Park–Miller generator; the reference fits of
// SCIENCE.md §11.5–§11.7 were computed by lme4 on exactly these rows.
// SimulateThreeLevel() draws a larger cohort from the same kind of model with a seeded
// xoshiro stream: y = 30 − 1.5 s + u_therapist + b0_client + b1_client s + e.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace rapport::sim {

struct SessionRow {
  int64_t therapist = 0;  // 1-based
  int64_t client = 0;     // 1-based, unique across therapists
  int session = 0;        // 0 = intake
  double y = 0;           // outcome score
  double alliance = 0;    // client-rated alliance
};

// The Park–Miller minimal standard generator as SCIENCE.md §11.5 defines it.
class ParkMiller {
 public:
  explicit ParkMiller(int64_t state) : state_(state) {}
  double NextUniform();
  // Sum of four uniforms, centred and scaled to unit variance, evaluated left to right.
  double NextZ();
  int64_t state() const { return state_; }

 private:
  int64_t state_;
};

// The 180 rows of SCIENCE.md §11.5 with the alliance of §11.7, ordered by client then session.
std::vector<SessionRow> ScienceFixture();

struct ThreeLevelOptions {
  uint64_t seed = 1;
  int64_t clients = 1000;
  int64_t therapists = 50;  // clients are dealt to therapists in turn
  int min_sessions = 4;
  int max_sessions = 8;       // SCIENCE.md §11.5: 4 to 8 sessions per client
  double therapist_sd = 3.0;  // SCIENCE.md §11.5's SDs: therapist 3.0, client intercept 4.0,
  double intercept_sd = 4.0;  // slope 0.8, residual 2.5
  double slope_sd = 0.8;
  double residual_sd = 2.5;
};

// Errors: non-positive counts, min_sessions < 1 or > max_sessions, negative SDs →
// kInvalidArgument.
Result<std::vector<SessionRow>> SimulateThreeLevel(const ThreeLevelOptions& options);

// Writes rows as CSV with the header y,t,client,therapist (t = session, 0 at intake), and a
// last column alliance when `alliance` is true; 17 significant digits, so a reader recovers
// every double exactly.
std::string SessionRowsToCsv(const std::vector<SessionRow>& rows, bool alliance = false);

}  // namespace rapport::sim
