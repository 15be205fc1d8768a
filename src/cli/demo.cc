#include "cli/demo.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/id.h"
#include "base/password.h"
#include "base/random.h"
#include "sim/cohort.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

// A readable random password: four groups of five URL-safe characters.
std::string NewPassword(Random& random) {
  const std::string raw = NewToken(random);
  return raw.substr(0, 5) + "-" + raw.substr(5, 5) + "-" + raw.substr(10, 5) + "-" +
         raw.substr(15, 5);
}

}  // namespace

Result<DemoData> CreateDemo(storage::Store& store, const instruments::Catalog& catalog,
                            uint64_t seed, int extra_checkins) {
  Random& secure = DefaultRandom();
  const Timestamp now = DefaultClock().Now();
  DemoData data;

  domain::Organization org{NewId(secure), "Riverside Counselling (demo)", now};
  domain::Clinic clinic{NewId(secure), org.id, "Riverside Main Street"};
  struct Staff {
    domain::Role role;
    const char* email;
    const char* name;
  };
  const Staff staff[] = {
      {domain::Role::kAdmin, "admin@riverside.example", "Alex Admin"},
      {domain::Role::kSupervisor, "supervisor@riverside.example", "Sam Supervisor"},
      {domain::Role::kClinician, "clinician1@riverside.example", "Dr Kim Okafor"},
      {domain::Role::kClinician, "clinician2@riverside.example", "Jo Lindqvist"},
      {domain::Role::kResearcher, "researcher@riverside.example", "Rae Researcher"},
  };
  std::vector<domain::User> users;
  std::vector<std::string> clinician_ids;
  for (const Staff& member : staff) {
    const std::string password = NewPassword(secure);
    RAPPORT_ASSIGN_OR_RETURN(const std::string hash, HashPassword(password));
    domain::User user{NewId(secure), org.id, clinic.id, member.email, member.name,
                      member.role,   hash,   false,     now};
    if (member.role == domain::Role::kClinician) clinician_ids.push_back(user.id);
    data.accounts.push_back(
        {org.name, std::string(domain::Name(member.role)), member.email, password});
    users.push_back(std::move(user));
  }

  sim::CohortOptions options;
  options.seed = seed;
  options.org_id = org.id;
  options.clinic_id = clinic.id;
  options.clinician_ids = clinician_ids;
  options.clients_per_clinician = 8;
  options.end = now - std::chrono::hours(24);
  RAPPORT_ASSIGN_OR_RETURN(const sim::Cohort cohort, sim::GenerateCohort(options, catalog));

  // The next session of every ongoing episode, each with an open client check-in.
  std::vector<domain::Session> next_sessions;
  std::vector<domain::Checkin> checkins;
  const auto add_checkin = [&](const domain::Session& session, const std::string& client_id) {
    const std::string token = NewToken(secure);
    domain::Checkin checkin;
    checkin.id = NewId(secure);
    checkin.org_id = org.id;
    checkin.session_id = session.id;
    checkin.respondent_id = client_id;
    checkin.perspective = domain::Perspective::kClient;
    checkin.instrument_ids = {"rapport-progress", "rapport-alliance-client"};
    checkin.token_digest = Sha256Hex(token);
    checkin.language = "en";
    checkin.created_at = now;
    checkin.expires_at = now + std::chrono::hours(24 * 30);
    data.checkin_tokens.push_back(token);
    checkins.push_back(std::move(checkin));
  };
  for (const domain::Episode& episode : cohort.episodes) {
    if (episode.ended_at) continue;
    int last_number = 0;
    for (const domain::Session& session : cohort.sessions) {
      if (session.episode_id == episode.id) last_number = std::max(last_number, session.number);
    }
    domain::Session session;
    session.id = NewId(secure);
    session.org_id = org.id;
    session.episode_id = episode.id;
    session.number = last_number + 1;
    session.scheduled_at = now;
    session.attendance = domain::Attendance::kAttended;
    session.participants = {{episode.client_ids.front(), domain::ParticipantRole::kClient},
                            {episode.clinician_ids.front(), domain::ParticipantRole::kClinician}};
    add_checkin(session, episode.client_ids.front());
    next_sessions.push_back(std::move(session));
  }
  for (int k = 0; k < extra_checkins && !next_sessions.empty(); ++k) {
    const domain::Session& session = next_sessions[static_cast<size_t>(k) % next_sessions.size()];
    add_checkin(session, session.participants.front().person_id);
  }

  // Every record created is in the audit log, so a fresh demo has a chain that verifies.
  RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
    const auto created = [&](std::string_view kind, const std::string& id) {
      domain::AuditEvent event;
      event.org_id = org.id;
      event.at = now;
      event.actor = "system";
      event.action = "create";
      event.resource = std::string(kind) + "/" + id;
      event.address = "local";
      event.detail = "demo";
      return txn.AppendAudit(std::move(event)).status();
    };
    RAPPORT_RETURN_IF_ERROR(txn.PutOrganization(org));
    RAPPORT_RETURN_IF_ERROR(created("organization", org.id));
    RAPPORT_RETURN_IF_ERROR(txn.PutClinic(clinic));
    RAPPORT_RETURN_IF_ERROR(created("clinic", clinic.id));
    for (const auto& user : users) {
      RAPPORT_RETURN_IF_ERROR(txn.PutUser(user));
      RAPPORT_RETURN_IF_ERROR(created("user", user.id));
    }
    for (const auto& client : cohort.clients) {
      RAPPORT_RETURN_IF_ERROR(txn.PutClient(client));
      RAPPORT_RETURN_IF_ERROR(created("client", client.id));
    }
    for (const auto& episode : cohort.episodes) {
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      RAPPORT_RETURN_IF_ERROR(created("episode", episode.id));
    }
    const auto put_sessions = [&](const std::vector<domain::Session>& sessions) -> Status {
      for (const auto& session : sessions) {
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
        RAPPORT_RETURN_IF_ERROR(created("session", session.id));
      }
      return Status::Ok();
    };
    RAPPORT_RETURN_IF_ERROR(put_sessions(cohort.sessions));
    RAPPORT_RETURN_IF_ERROR(put_sessions(next_sessions));
    for (const auto& response : cohort.responses) {
      RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
      RAPPORT_RETURN_IF_ERROR(created("response", response.id));
    }
    for (const auto& checkin : checkins) {
      RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
      RAPPORT_RETURN_IF_ERROR(created("checkin", checkin.id));
    }
    return Status::Ok();
  }));
  return data;
}

Status WriteDemoAccounts(const std::filesystem::path& file, const std::string& base_url,
                         const DemoData& data) {
  Json out;
  out["url"] = base_url + "/";
  out["accounts"] = Json::array();
  for (const DemoAccount& account : data.accounts) {
    out["accounts"].push_back({{"org", account.org},
                               {"role", account.role},
                               {"email", account.email},
                               {"password", account.password}});
  }
  out["checkin_links"] = Json::array();
  for (const std::string& token : data.checkin_tokens)
    out["checkin_links"].push_back(base_url + "/c/" + token);
  const std::filesystem::path temp = file.string() + ".tmp";
  {
    std::ofstream stream(temp, std::ios::trunc);
    stream << out.dump(2) << "\n";
    if (!stream) return Internal("cannot write " + temp.string());
  }
  std::error_code error;
  std::filesystem::permissions(
      temp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, error);
  std::filesystem::rename(temp, file, error);
  if (error) return Internal("cannot write " + file.string() + ": " + error.message());
  return Status::Ok();
}

Result<DemoData> ReadDemoAccounts(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return NotFound("cannot read " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  const Json json = Json::parse(text.str(), nullptr, false);
  if (!json.is_object() || !json.contains("accounts") || !json.contains("checkin_links")) {
    return InvalidArgument(file.string() + " is not a demo accounts file");
  }
  DemoData data;
  for (const Json& account : json["accounts"]) {
    data.accounts.push_back({account.value("org", ""), account.value("role", ""),
                             account.value("email", ""), account.value("password", "")});
  }
  for (const Json& link : json["checkin_links"]) {
    const std::string url = link.is_string() ? link.get<std::string>() : std::string();
    const size_t at = url.rfind("/c/");
    if (at != std::string::npos) data.checkin_tokens.push_back(url.substr(at + 3));
  }
  return data;
}

}  // namespace rapport::cli
