#include "cli/demo.h"

#include <algorithm>
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

// Load-test check-ins (`extra_checkins`): sessions per new episode, and rows per transaction.
constexpr size_t kExtraSessionsPerEpisode = 12;
constexpr size_t kExtraBatch = 20'000;

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

  // Load tests: every extra check-in gets a session of its own, in episodes of new clients
  // kExtraSessionsPerEpisode sessions long, so the history each submission re-evaluates stays
  // the size of a real course of therapy however many check-ins are asked for. Check-in k
  // belongs to episode k mod E and session k div E + 1: in link order, the sessions of all
  // episodes fill up week by week, as they would in practice.
  const size_t extra = static_cast<size_t>(std::max(extra_checkins, 0));
  const size_t extra_episodes = (extra + kExtraSessionsPerEpisode - 1) / kExtraSessionsPerEpisode;
  std::vector<domain::Client> extra_clients;
  std::vector<domain::Episode> extra_episode_list;
  for (size_t e = 0; e < extra_episodes; ++e) {
    domain::Client client;
    client.id = NewId(secure);
    client.org_id = org.id;
    client.code = "L-" + std::to_string(e + 1);
    client.language = "en";
    client.created_at = now;
    domain::Episode episode;
    episode.id = NewId(secure);
    episode.org_id = org.id;
    episode.clinic_id = clinic.id;
    episode.client_ids = {client.id};
    episode.clinician_ids = {clinician_ids[e % clinician_ids.size()]};
    episode.started_at = now - std::chrono::hours(24 * 7 * kExtraSessionsPerEpisode);
    extra_clients.push_back(std::move(client));
    extra_episode_list.push_back(std::move(episode));
  }
  std::vector<domain::Session> extra_sessions;
  const size_t first_extra_checkin = checkins.size();
  for (size_t k = 0; k < extra; ++k) {
    const domain::Episode& episode = extra_episode_list[k % extra_episodes];
    const int number = static_cast<int>(k / extra_episodes) + 1;
    domain::Session session;
    session.id = NewId(secure);
    session.org_id = org.id;
    session.episode_id = episode.id;
    session.number = number;
    session.scheduled_at = episode.started_at + std::chrono::hours(24 * 7 * (number - 1));
    session.attendance = domain::Attendance::kAttended;
    session.participants = {{episode.client_ids.front(), domain::ParticipantRole::kClient},
                            {episode.clinician_ids.front(), domain::ParticipantRole::kClinician}};
    add_checkin(session, episode.client_ids.front());
    extra_sessions.push_back(std::move(session));
  }

  // Every record created is in the audit log, so a fresh demo has a chain that verifies.
  const auto audit_created = [&](storage::WriteTransaction& txn, std::string_view kind,
                                 const std::string& id) {
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
  RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
    const auto created = [&](std::string_view kind, const std::string& id) {
      return audit_created(txn, kind, id);
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
    for (size_t c = 0; c < first_extra_checkin; ++c) {
      RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkins[c]));
      RAPPORT_RETURN_IF_ERROR(created("checkin", checkins[c].id));
    }
    return Status::Ok();
  }));
  // The load-test check-ins in transactions of kExtraBatch, so that a million of them never
  // build one huge transaction (and WAL file).

  for (size_t e = 0; e < extra_episodes; e += kExtraBatch) {
    RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
      for (size_t i = e; i < std::min(e + kExtraBatch, extra_episodes); ++i) {
        RAPPORT_RETURN_IF_ERROR(txn.PutClient(extra_clients[i]));
        RAPPORT_RETURN_IF_ERROR(audit_created(txn, "client", extra_clients[i].id));
        RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(extra_episode_list[i]));
        RAPPORT_RETURN_IF_ERROR(audit_created(txn, "episode", extra_episode_list[i].id));
      }
      return Status::Ok();
    }));
  }
  for (size_t k = 0; k < extra; k += kExtraBatch) {
    RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
      for (size_t i = k; i < std::min(k + kExtraBatch, extra); ++i) {
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(extra_sessions[i]));
        RAPPORT_RETURN_IF_ERROR(audit_created(txn, "session", extra_sessions[i].id));
        RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkins[first_extra_checkin + i]));
        RAPPORT_RETURN_IF_ERROR(
            audit_created(txn, "checkin", checkins[first_extra_checkin + i].id));
      }
      return Status::Ok();
    }));
  }
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
