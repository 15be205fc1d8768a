// Seeded synthetic cohorts for demos, tests and benchmarks (DESIGN.md §7 src/sim).
//
// A cohort is a set of clients, each with one episode of weekly sessions under one of the
// given clinicians, and per attended session: the client's alliance check-in, progress
// check-in and PHQ-9, and the clinician's alliance check-in — all item-level and scored by
// the one scoring engine. Trajectories are plausible, not fitted to any real data set:
//   - outcome (PHQ-9) improves on average along a log curve from a varied intake
//     (the shape of Finch, Lambert & Schaalje 2001; SCIENCE.md §4.2), some clients worsen;
//   - the client's alliance has a stable level per client with session-to-session noise, and
//     some episodes have a rupture (a drop in one dimension) that is repaired or not;
//   - clinicians rate the alliance somewhat higher than clients and miss most ruptures
//     (DESIGN.md §1);
//   - a low early alliance raises the chance of dropping out (Sharf et al. 2010); some
//     sessions are missed;
//   - when rapport-goals is installed, each client agrees one to three goals at the start and
//     rates how close they are to each (0-10) at every attended session: most goals rise, some
//     stall.
// The same seed, options and catalogue always give the same cohort, ids included.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "domain/types.h"
#include "instruments/catalog.h"

namespace rapport::sim {

struct CohortOptions {
  uint64_t seed = 1;
  std::string org_id;
  std::string clinic_id;
  std::vector<std::string> clinician_ids;  // REQUIRES: not empty
  int clients_per_clinician = 6;
  int max_sessions = 14;
  // The last simulated session is no later than this; episodes start up to
  // max_sessions weeks before it.
  Timestamp end;
  // Planted therapist effects on the outcome (PHQ-9 points; negative is better), one per
  // clinician in clinician_ids' order, or empty for none: a client's PHQ-9 moves by the
  // clinician's effect, reached in full from the fifth session on (none at intake), so that the
  // latest rating adjusted for the first differs between therapists (SCIENCE.md §8).
  std::vector<double> therapist_effects;
};

// The truth the simulation planted, for tests and demos to check signals against.
struct ClientTruth {
  std::string client_id;
  bool ruptured = false;
  int rupture_session = 0;  // session number of the drop, 0 when none
  bool repaired = false;
  bool dropped_out = false;
};

struct Cohort {
  std::vector<domain::Client> clients;
  std::vector<domain::Episode> episodes;
  std::vector<domain::Session> sessions;
  std::vector<domain::Response> responses;
  std::vector<domain::Goal> goals;  // oldest first within each episode
  std::vector<ClientTruth> truth;
};

// Errors: a required instrument (rapport-alliance-client, rapport-alliance-clinician,
// rapport-progress, phq-9) missing from `catalog`, no clinicians, or therapist_effects neither
// empty nor one per clinician → kInvalidArgument.
Result<Cohort> GenerateCohort(const CohortOptions& options, const instruments::Catalog& catalog);

}  // namespace rapport::sim
