#include "sim/three_level.h"

#include <cmath>
#include <cstdio>

#include "base/random.h"

namespace rapport::sim {

double ParkMiller::NextUniform() {
  state_ = (16807 * state_) % 2147483647;
  return static_cast<double>(state_) / 2147483647.0;
}

double ParkMiller::NextZ() {
  // Strictly left to right, as SCIENCE.md §11.5 requires for bit-identical data.
  double sum = NextUniform();
  sum = sum + NextUniform();
  sum = sum + NextUniform();
  sum = sum + NextUniform();
  return (sum - 2) * std::sqrt(3.0);
}

std::vector<SessionRow> ScienceFixture() {
  ParkMiller random(12345);
  double therapist_effect[6];
  for (double& u : therapist_effect) u = 3.0 * random.NextZ();
  double b0[30];
  double b1[30];
  for (int client = 0; client < 30; ++client) {
    b0[client] = 4.0 * random.NextZ();
    b1[client] = 0.8 * random.NextZ();
  }
  std::vector<SessionRow> rows;
  for (int client = 0; client < 30; ++client) {
    const int therapist = client / 5;
    const int sessions = 4 + client % 5;
    for (int session = 0; session < sessions; ++session) {
      const double e = 2.5 * random.NextZ();
      const double s = session;
      double y = 30 - 1.5 * s;
      y = y + therapist_effect[therapist];
      y = y + b0[client];
      y = y + b1[client] * s;
      y = y + e;
      rows.push_back({therapist + 1, client + 1, session, y, 0.0});
    }
  }
  // SCIENCE.md §11.7: the alliance continues the same stream.
  double trait[30];
  for (double& t : trait) t = random.NextZ();
  for (SessionRow& row : rows) {
    double alliance = 5 + 0.8 * trait[row.client - 1];
    alliance = alliance + 0.6 * random.NextZ();
    row.alliance = alliance;
  }
  return rows;
}

Result<std::vector<SessionRow>> SimulateThreeLevel(const ThreeLevelOptions& options) {
  if (options.clients < 1 || options.therapists < 1 || options.therapists > options.clients) {
    return InvalidArgument("need at least one client and 1 to clients therapists");
  }
  if (options.min_sessions < 1 || options.max_sessions < options.min_sessions) {
    return InvalidArgument("sessions must satisfy 1 <= min_sessions <= max_sessions");
  }
  if (options.therapist_sd < 0 || options.intercept_sd < 0 || options.slope_sd < 0 ||
      options.residual_sd < 0) {
    return InvalidArgument("standard deviations must not be negative");
  }
  SeededRandom random(options.seed);
  std::vector<double> therapist_effect(static_cast<size_t>(options.therapists));
  for (double& u : therapist_effect) u = options.therapist_sd * random.Normal();
  std::vector<SessionRow> rows;
  rows.reserve(static_cast<size_t>(options.clients) *
               static_cast<size_t>(options.min_sessions + options.max_sessions) / 2);
  for (int64_t client = 0; client < options.clients; ++client) {
    const int64_t therapist = client % options.therapists;
    const double b0 = options.intercept_sd * random.Normal();
    const double b1 = options.slope_sd * random.Normal();
    const double trait = random.Normal();
    const auto sessions = random.UniformInt(options.min_sessions, options.max_sessions);
    for (int64_t session = 0; session < sessions; ++session) {
      const double s = static_cast<double>(session);
      const double alliance = 5 + 0.8 * trait + 0.6 * random.Normal();
      const double y = 30 - 1.5 * s + therapist_effect[static_cast<size_t>(therapist)] + b0 +
                       b1 * s + options.residual_sd * random.Normal();
      rows.push_back({therapist + 1, client + 1, static_cast<int>(session), y, alliance});
    }
  }
  return rows;
}

std::string SessionRowsToCsv(const std::vector<SessionRow>& rows, bool alliance) {
  std::string out = alliance ? "y,t,client,therapist,alliance\n" : "y,t,client,therapist\n";
  out.reserve(rows.size() * 64);
  char line[160];
  for (const SessionRow& row : rows) {
    int length =
        std::snprintf(line, sizeof line, "%.17g,%d,%lld,%lld", row.y, row.session,
                      static_cast<long long>(row.client), static_cast<long long>(row.therapist));
    out.append(line, static_cast<size_t>(length));
    if (alliance) {
      length = std::snprintf(line, sizeof line, ",%.17g", row.alliance);
      out.append(line, static_cast<size_t>(length));
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace rapport::sim
