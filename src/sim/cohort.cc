#include "sim/cohort.h"

#include <algorithm>
#include <cmath>

#include "base/id.h"
#include "base/random.h"
#include "instruments/scoring.h"

namespace rapport::sim {
namespace {

using instruments::Definition;

constexpr auto kWeek = std::chrono::hours(24 * 7);

double Clamp(double value, double lo, double hi) { return std::min(hi, std::max(lo, value)); }

// Item answers for a choice/integer instrument around a latent item-mean level. `dip` lowers
// the items whose id starts with `dip_prefix` by that much (a rupture in one dimension).
std::vector<domain::ItemAnswer> AnswersAround(const Definition& definition, double level,
                                              double noise, Random& random,
                                              const std::string& dip_prefix = {}, double dip = 0) {
  std::vector<domain::ItemAnswer> answers;
  for (const instruments::Item& item : definition.items) {
    double value = level + noise * random.Normal();
    if (!dip_prefix.empty() && item.id.starts_with(dip_prefix)) value -= dip;
    value = Clamp(std::round(value), item.min, item.max);
    answers.push_back({item.id, value});
  }
  return answers;
}

}  // namespace

Result<Cohort> GenerateCohort(const CohortOptions& options, const instruments::Catalog& catalog) {
  if (options.clinician_ids.empty())
    return InvalidArgument("a cohort needs at least one clinician");
  if (!options.therapist_effects.empty() &&
      options.therapist_effects.size() != options.clinician_ids.size()) {
    return InvalidArgument("give one therapist effect per clinician, or none", "therapist_effects");
  }
  const Definition* alliance = catalog.Find("rapport-alliance-client");
  const Definition* clinician_alliance = catalog.Find("rapport-alliance-clinician");
  const Definition* progress = catalog.Find("rapport-progress");
  const Definition* phq9 = catalog.Find("phq-9");
  for (const auto& [definition, id] : {std::pair{alliance, "rapport-alliance-client"},
                                       {clinician_alliance, "rapport-alliance-clinician"},
                                       {progress, "rapport-progress"},
                                       {phq9, "phq-9"}}) {
    if (definition == nullptr) {
      return InvalidArgument(std::string("the simulator needs instrument '") + id + "'");
    }
  }

  // GAD-7 (anxiety), when installed, beside PHQ-9 as NHS Talking Therapies pairs them. It draws
  // from a random stream of its own, so a cohort is the same with or without it.
  const Definition* gad7 = catalog.Find("gad-7");
  SeededRandom anxiety_random(options.seed ^ 0x9e3779b97f4a7c15ULL);
  // Goals and their ratings likewise, when rapport-goals is installed.
  const Definition* goal_ratings = catalog.Find("rapport-goals");
  SeededRandom goal_random(options.seed ^ 0x6a09e667f3bcc909ULL);
  static constexpr const char* kGoalWording[] = {
      "Sleep through most nights",       "Go back to work, part-time at first",
      "Feel less on edge around people", "Argue less at home",
      "Get out of the house every day",  "Ask for help before things get too much",
      "Enjoy time with friends again",   "Worry less about my health",
  };

  SeededRandom random(options.seed);
  Cohort cohort;
  static constexpr const char* kDimensions[] = {"bond", "goals", "tasks"};
  int client_number = 0;
  for (size_t c = 0; c < options.clinician_ids.size(); ++c) {
    const std::string& clinician_id = options.clinician_ids[c];
    const double therapist_effect =
        options.therapist_effects.empty() ? 0.0 : options.therapist_effects[c];
    for (int k = 0; k < options.clients_per_clinician; ++k) {
      ++client_number;
      domain::Client client;
      client.id = NewId(random);
      client.org_id = options.org_id;
      char code[16];
      std::snprintf(code, sizeof code, "C-%04d", client_number);
      client.code = code;
      client.language = "en";
      client.consent_research = random.Uniform() < 0.8;

      // How far into the course this client is: from just started to finished.
      const int planned = static_cast<int>(random.UniformInt(4, options.max_sessions));
      const int weeks_ago = static_cast<int>(random.UniformInt(2, options.max_sessions + 2));
      const Timestamp start =
          options.end - weeks_ago * kWeek + std::chrono::minutes(60 * random.UniformInt(9, 16));
      client.created_at = start - std::chrono::hours(24);

      domain::Episode episode;
      episode.id = NewId(random);
      episode.org_id = options.org_id;
      episode.clinic_id = options.clinic_id;
      episode.client_ids = {client.id};
      episode.clinician_ids = {clinician_id};
      episode.started_at = start;

      // Latent parameters.
      const double alliance_level = Clamp(3.15 + 0.45 * random.Normal(), 1.2, 3.9);
      const double intake = Clamp(std::round(15 + 4.5 * random.Normal()), 5, 27);
      const double improvement = -3.6 + 1.8 * random.Normal();  // per ln(session + 1)
      ClientTruth truth{client.id};
      if (random.Uniform() < 0.3) {
        truth.ruptured = true;
        truth.rupture_session = static_cast<int>(random.UniformInt(3, 7));
        truth.repaired = random.Uniform() < 0.7;
      }
      const std::string dip_dimension = kDimensions[random.UniformInt(0, 2)];
      const double dropout_chance = alliance_level < 2.8 ? 0.55 : 0.1;
      const int dropout_after =
          random.Uniform() < dropout_chance ? static_cast<int>(random.UniformInt(2, 5)) : 0;

      // Goals agreed at the start, each with where the client starts and how fast it moves.
      struct GoalCourse {
        double start = 0;
        double rate = 0;  // per attended session; 0 for a goal that stalls
      };
      std::vector<GoalCourse> goal_courses;
      if (goal_ratings != nullptr) {
        const size_t count =
            std::min<size_t>(goal_ratings->items.size(), 1 + goal_random.UniformInt(0, 2));
        const size_t first = static_cast<size_t>(goal_random.UniformInt(0, 7));
        for (size_t g = 0; g < count; ++g) {
          domain::Goal goal;
          goal.id = NewId(goal_random);
          goal.org_id = options.org_id;
          goal.episode_id = episode.id;
          goal.client_id = client.id;
          goal.description = kGoalWording[(first + 3 * g) % std::size(kGoalWording)];
          // Agreed just before the first session's ratings.
          goal.created_at = start - std::chrono::minutes(20) + std::chrono::seconds(g);
          cohort.goals.push_back(std::move(goal));
          const bool stalls = goal_random.Uniform() < 0.2;
          goal_courses.push_back({1.0 + 3.0 * goal_random.Uniform(),
                                  stalls ? 0.0 : 0.35 + 0.55 * goal_random.Uniform()});
        }
      }

      int number = 0;
      int attended = 0;
      for (int week = 0; week < weeks_ago && number < planned; ++week) {
        const Timestamp when = start + week * kWeek;
        if (when > options.end) break;
        ++number;
        domain::Session session;
        session.id = NewId(random);
        session.org_id = options.org_id;
        session.episode_id = episode.id;
        session.number = number;
        session.scheduled_at = when;
        session.participants = {{client.id, domain::ParticipantRole::kClient},
                                {clinician_id, domain::ParticipantRole::kClinician}};
        const bool dropped = dropout_after > 0 && attended >= dropout_after;
        const bool missed = dropped || (number > 1 && random.Uniform() < 0.07);
        session.attendance = missed ? (random.Uniform() < 0.6 ? domain::Attendance::kNoShow
                                                              : domain::Attendance::kCancelled)
                                    : domain::Attendance::kAttended;
        cohort.sessions.push_back(session);
        if (dropped) {
          truth.dropped_out = true;
          episode.ended_at = when + std::chrono::hours(24 * 14);
          episode.end_reason = domain::EndReason::kDroppedOut;
          break;
        }
        if (missed) continue;
        ++attended;

        // The rupture: a dip in one dimension at the rupture session, lasting one session when
        // repaired quickly, or persisting when unrepaired.
        double dip = 0;
        if (truth.ruptured && number >= truth.rupture_session) {
          const int since = number - truth.rupture_session;
          dip = truth.repaired ? (since == 0 ? 2.2 : since == 1 ? 0.8 : 0.0) : 1.8;
        }
        const double level = alliance_level + 0.04 * attended;
        const Timestamp after = when + std::chrono::minutes(50);

        // `ids` draws the response's id, after its answers: goals have a random stream of
        // their own.
        const auto add = [&](const Definition& definition, std::vector<domain::ItemAnswer> answers,
                             domain::Perspective perspective, const std::string& respondent,
                             Timestamp at, Random& ids) -> Status {
          domain::Response response;
          response.id = NewId(ids);
          response.org_id = options.org_id;
          response.session_id = session.id;
          response.respondent_id = respondent;
          response.perspective = perspective;
          response.instrument_id = definition.id;
          RAPPORT_ASSIGN_OR_RETURN(response.score, instruments::Score(definition, answers));
          response.answers = std::move(answers);
          response.submitted_at = at;
          cohort.responses.push_back(std::move(response));
          return Status::Ok();
        };

        const double phq_total =
            Clamp(intake + improvement * std::log(static_cast<double>(number)) +
                      therapist_effect * std::min(1.0, (number - 1) / 4.0) + 2.0 * random.Normal(),
                  0, 27);
        std::vector<domain::ItemAnswer> phq_answers =
            AnswersAround(*phq9, phq_total / 9.0, 0.45, random);
        for (domain::ItemAnswer& answer : phq_answers) {
          // Thoughts of self-harm (item 9) are endorsed far less often than the other symptoms:
          // mostly in severe depression (Kroenke et al. 2001), not by every client above 5.
          if (answer.item_id == "9" && answer.value)
            answer.value = std::max(0.0, *answer.value - 2);
        }
        RAPPORT_RETURN_IF_ERROR(add(*phq9, std::move(phq_answers), domain::Perspective::kClient,
                                    client.id, when - std::chrono::minutes(10), random));
        if (gad7 != nullptr) {
          const double gad_total = Clamp(0.7 * phq_total + 1.5 * anxiety_random.Normal(), 0, 21);
          domain::Response response;
          response.id = NewId(anxiety_random);
          response.org_id = options.org_id;
          response.session_id = session.id;
          response.respondent_id = client.id;
          response.perspective = domain::Perspective::kClient;
          response.instrument_id = gad7->id;
          response.answers = AnswersAround(*gad7, gad_total / 7.0, 0.45, anxiety_random);
          RAPPORT_ASSIGN_OR_RETURN(response.score, instruments::Score(*gad7, response.answers));
          response.submitted_at = when - std::chrono::minutes(10);
          cohort.responses.push_back(std::move(response));
        }
        if (!goal_courses.empty()) {
          std::vector<domain::ItemAnswer> answers;
          for (size_t i = 0; i < goal_ratings->items.size(); ++i) {
            std::optional<double> value;
            if (i < goal_courses.size()) {
              const GoalCourse& course = goal_courses[i];
              value = Clamp(std::round(course.start + course.rate * (attended - 1) +
                                       0.6 * goal_random.Normal()),
                            0, 10);
            }
            answers.push_back({goal_ratings->items[i].id, value});
          }
          RAPPORT_RETURN_IF_ERROR(add(*goal_ratings, std::move(answers),
                                      domain::Perspective::kClient, client.id,
                                      when - std::chrono::minutes(8), goal_random));
        }
        const double wellbeing = Clamp(10.0 - phq_total / 2.7, 0, 10);
        RAPPORT_RETURN_IF_ERROR(add(*progress, AnswersAround(*progress, wellbeing, 1.0, random),
                                    domain::Perspective::kClient, client.id,
                                    when - std::chrono::minutes(9), random));
        RAPPORT_RETURN_IF_ERROR(
            add(*alliance, AnswersAround(*alliance, level, 0.45, random, dip_dimension, dip),
                domain::Perspective::kClient, client.id, after, random));
        // Clinicians over-estimate and see only a fraction of the dip.
        RAPPORT_RETURN_IF_ERROR(add(
            *clinician_alliance,
            AnswersAround(*clinician_alliance, level + 0.3, 0.4, random, dip_dimension, dip * 0.3),
            domain::Perspective::kClinician, clinician_id, after + std::chrono::minutes(5),
            random));
      }
      if (!episode.ended_at && number >= planned) {
        episode.ended_at = start + (number - 1) * kWeek + std::chrono::hours(1);
        episode.end_reason = domain::EndReason::kCompleted;
      }
      cohort.clients.push_back(std::move(client));
      cohort.episodes.push_back(std::move(episode));
      cohort.truth.push_back(std::move(truth));
    }
  }
  return cohort;
}

}  // namespace rapport::sim
