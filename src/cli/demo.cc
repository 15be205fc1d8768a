#include "cli/demo.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <sstream>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "alerts/models.h"
#include "api/accounts.h"
#include "api/auth.h"
#include "api/totp.h"
#include "base/id.h"
#include "base/password.h"
#include "base/random.h"
#include "sim/cohort.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

// Load-test check-ins (`extra_checkins`): sessions per new episode, and rows per transaction.
// Small transactions: SQLite keeps the pages a transaction has changed in an in-memory
// sub-journal (temp_store=MEMORY) and every statement with a trigger walks it, so a statement
// costs more the more its transaction has written (100,000 check-ins in transactions of 20,000
// took 300 s to create; in transactions of 250, 33 s).
constexpr size_t kExtraSessionsPerEpisode = 12;
constexpr size_t kExtraBatch = 250;
// Simulated clients per demo clinician (two clinicians per organisation).
constexpr int kClientsPerClinician = 26;
// The outcome measure whose expected course the demo fits on each organisation's history.
constexpr std::string_view kDemoOutcome = "phq-9";

// The demo's organisations: each with its clinic and the five kinds of staff account.
struct DemoStaff {
  domain::Role role;
  const char* email;
  const char* name;
};
struct DemoOrganization {
  const char* name;
  const char* clinic;
  std::span<const DemoStaff> staff;
  int clients_per_clinician = kClientsPerClinician;
  // Planted therapist effects on PHQ-9, one per clinician (sim/cohort.h); empty for none.
  std::span<const double> therapist_effects = {};
};

constexpr DemoStaff kRiversideStaff[] = {
    {domain::Role::kAdmin, "admin@riverside.example", "Alex Admin"},
    {domain::Role::kSupervisor, "supervisor@riverside.example", "Sam Supervisor"},
    {domain::Role::kClinician, "clinician1@riverside.example", "Dr Kim Okafor"},
    {domain::Role::kClinician, "clinician2@riverside.example", "Jo Lindqvist"},
    {domain::Role::kResearcher, "researcher@riverside.example", "Rae Researcher"}};
constexpr DemoStaff kHarbourStaff[] = {
    {domain::Role::kAdmin, "admin@harbour.example", "Lee Admin"},
    {domain::Role::kSupervisor, "supervisor@harbour.example", "Noor Haddad"},
    {domain::Role::kClinician, "clinician1@harbour.example", "Dr Tomas Reyes"},
    {domain::Role::kClinician, "clinician2@harbour.example", "Mia Castellanos"},
    {domain::Role::kResearcher, "researcher@harbour.example", "Priya Researcher"}};
// The therapist-effects team (`therapist_team`): five clinicians with enough clients each for a
// reliable estimate (SCIENCE.md §8: at least 20 cases and reliability 0.70), whose simulated
// clients' PHQ-9 courses differ by clinician, so the supervisor's caterpillar chart is drawn.
constexpr DemoStaff kNorthgateStaff[] = {
    {domain::Role::kAdmin, "admin@northgate.example", "Ash Admin"},
    {domain::Role::kSupervisor, "supervisor@northgate.example", "Rowan Ellery"},
    {domain::Role::kClinician, "clinician1@northgate.example", "Dr Ada Mensah"},
    {domain::Role::kClinician, "clinician2@northgate.example", "Ben Sato"},
    {domain::Role::kClinician, "clinician3@northgate.example", "Cleo Duarte"},
    {domain::Role::kClinician, "clinician4@northgate.example", "Dev Kapoor"},
    {domain::Role::kClinician, "clinician5@northgate.example", "Eli Novak"},
    {domain::Role::kResearcher, "researcher@northgate.example", "Fin Researcher"}};
constexpr double kNorthgateEffects[] = {-4.0, -2.0, 0.0, 2.0, 4.0};

constexpr DemoOrganization kOrganizations[] = {
    {"Riverside Counselling (demo)", "Riverside Main Street", kRiversideStaff},
    {"Harbour Family Therapy (demo)", "Harbour Quay", kHarbourStaff},
};
constexpr DemoOrganization kTherapistTeam = {"Northgate Psychology (demo)", "Northgate Centre",
                                             kNorthgateStaff, 36, kNorthgateEffects};

// Everything one demo organisation holds, before it is written.
struct OrganizationRecords {
  domain::Organization org;
  domain::Clinic clinic;
  std::vector<domain::User> users;
  // Administrators' recovery codes, as digests, by user id.
  std::vector<std::pair<std::string, std::vector<std::string>>> recovery_digests;
  std::vector<std::string> clinician_ids;
  sim::Cohort cohort;
  std::vector<domain::Session> next_sessions;
  std::vector<domain::Checkin> checkins;
};

// Staff accounts with fresh passwords (listed in `data`); administrators are enrolled in
// multi-factor sign-in, with their secret and recovery codes listed too.
Status AddStaff(const DemoOrganization& spec, Timestamp now, Random& secure,
                OrganizationRecords& records, DemoData& data) {
  for (const DemoStaff& member : spec.staff) {
    const std::string password = api::NewPassword(secure);
    RAPPORT_ASSIGN_OR_RETURN(const std::string hash, HashPassword(password));
    domain::User user{NewId(secure), records.org.id, records.clinic.id,
                      member.email,  member.name,    member.role,
                      hash,          false,          now};
    DemoAccount account{records.org.name, std::string(domain::Name(member.role)), member.email,
                        password};
    if (member.role == domain::Role::kAdmin) {
      const std::string secret = api::NewTotpSecret(secure);
      user.totp_secret = api::StoredTotpSecret(secret);
      user.totp_enabled = true;
      account.totp_secret = api::Base32Encode(secret);
      api::RecoveryCodes codes = api::NewRecoveryCodes(secure, api::AuthOptions{}.recovery_codes);
      account.recovery_codes = std::move(codes.codes);
      records.recovery_digests.emplace_back(user.id, std::move(codes.digests));
    }
    if (member.role == domain::Role::kClinician) records.clinician_ids.push_back(user.id);
    data.accounts.push_back(std::move(account));
    records.users.push_back(std::move(user));
  }
  return Status::Ok();
}

Status AddModelAndSignals(storage::Store& store, const instruments::Catalog& catalog,
                          const OrganizationRecords& records, Timestamp now) {
  const instruments::Definition* outcome = catalog.Find(kDemoOutcome);
  if (outcome != nullptr) {
    alerts::EtrFitRequest request;
    request.org_id = records.org.id;
    request.instrument = outcome;
    request.window.to = now;
    request.now = now;
    std::optional<stats::EtrModel> model;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      auto fitted = alerts::FitEtrOnHistory(txn, request);
      if (fitted.ok()) model = std::move(fitted).value();
      return Status::Ok();  // too little history: the demo goes on without a model
    }));
    if (model) {
      RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) {
        return alerts::StoreEtrModel(txn, records.org.id, *model);
      }));
    }
  }
  // The latest simulated session of every ongoing episode.
  std::map<std::string, const domain::Session*> latest;
  for (const domain::Session& session : records.cohort.sessions) {
    const domain::Session*& current = latest[session.episode_id];
    if (current == nullptr || session.number > current->number) current = &session;
  }
  return store.Write([&](storage::WriteTransaction& txn) -> Status {
    for (const domain::Episode& episode : records.cohort.episodes) {
      const auto found = latest.find(episode.id);
      if (episode.ended_at || found == latest.end()) continue;
      RAPPORT_RETURN_IF_ERROR(alerts::EvaluateAfterResponse(
          txn, catalog, records.org.id, found->second->id, now, DefaultRandom()));
    }
    return Status::Ok();
  });
}

}  // namespace

Result<DemoData> CreateDemo(storage::Store& store, const instruments::Catalog& catalog,
                            uint64_t seed, int extra_checkins, bool therapist_team) {
  Random& secure = DefaultRandom();
  const Timestamp now = DefaultClock().Now();
  DemoData data;

  std::vector<OrganizationRecords> organizations;
  std::vector<const DemoOrganization*> specs;
  for (const DemoOrganization& spec : kOrganizations) specs.push_back(&spec);
  if (therapist_team) specs.push_back(&kTherapistTeam);
  for (size_t o = 0; o < specs.size(); ++o) {
    const DemoOrganization& spec = *specs[o];
    OrganizationRecords& records = organizations.emplace_back();
    records.org = {NewId(secure), spec.name, now};
    records.clinic = {NewId(secure), records.org.id, spec.clinic};
    RAPPORT_RETURN_IF_ERROR(AddStaff(spec, now, secure, records, data));
    sim::CohortOptions options;
    options.seed = seed + o;
    options.org_id = records.org.id;
    options.clinic_id = records.clinic.id;
    options.clinician_ids = records.clinician_ids;
    // Enough clients for a caseload of several ongoing episodes per clinician and for an
    // expected-treatment-response model the not-on-track signal may use (50 by default).
    options.clients_per_clinician = spec.clients_per_clinician;
    options.therapist_effects.assign(spec.therapist_effects.begin(), spec.therapist_effects.end());
    options.end = now - std::chrono::hours(24);
    RAPPORT_ASSIGN_OR_RETURN(records.cohort, sim::GenerateCohort(options, catalog));
  }

  // An open client check-in for `session`; its link goes into `data`.
  const auto add_checkin = [&](OrganizationRecords& records, const domain::Session& session,
                               const std::string& client_id) {
    const std::string token = NewToken(secure);
    domain::Checkin checkin;
    checkin.id = NewId(secure);
    checkin.org_id = records.org.id;
    checkin.session_id = session.id;
    checkin.respondent_id = client_id;
    checkin.perspective = domain::Perspective::kClient;
    checkin.instrument_ids = {"rapport-progress", "rapport-alliance-client"};
    checkin.token_digest = Sha256Hex(token);
    checkin.language = "en";
    checkin.created_at = now;
    checkin.expires_at = now + std::chrono::hours(24 * 30);
    data.checkin_tokens.push_back(token);
    records.checkins.push_back(std::move(checkin));
  };

  // The next session of every ongoing episode, each with an open client check-in.
  for (OrganizationRecords& records : organizations) {
    for (const domain::Episode& episode : records.cohort.episodes) {
      if (episode.ended_at) continue;
      int last_number = 0;
      for (const domain::Session& session : records.cohort.sessions) {
        if (session.episode_id == episode.id) last_number = std::max(last_number, session.number);
      }
      domain::Session session;
      session.id = NewId(secure);
      session.org_id = records.org.id;
      session.episode_id = episode.id;
      session.number = last_number + 1;
      session.scheduled_at = now;
      session.attendance = domain::Attendance::kAttended;
      session.participants = {{episode.client_ids.front(), domain::ParticipantRole::kClient},
                              {episode.clinician_ids.front(), domain::ParticipantRole::kClinician}};
      add_checkin(records, session, episode.client_ids.front());
      records.next_sessions.push_back(std::move(session));
    }
  }

  // Load tests: every extra check-in gets a session of its own, in episodes of new clients
  // of the first organisation kExtraSessionsPerEpisode sessions long, so the history each
  // submission re-evaluates stays the size of a real course of therapy however many check-ins
  // are asked for. Check-in k belongs to episode k mod E and session k div E + 1: in link
  // order, the sessions of all episodes fill up week by week, as they would in practice.
  OrganizationRecords& load = organizations.front();
  const size_t first_extra_checkin = load.checkins.size();
  const size_t extra = static_cast<size_t>(std::max(extra_checkins, 0));
  const size_t extra_episodes = (extra + kExtraSessionsPerEpisode - 1) / kExtraSessionsPerEpisode;
  std::vector<domain::Client> extra_clients;
  std::vector<domain::Episode> extra_episode_list;
  for (size_t e = 0; e < extra_episodes; ++e) {
    domain::Client client;
    client.id = NewId(secure);
    client.org_id = load.org.id;
    client.code = "L-" + std::to_string(e + 1);
    client.language = "en";
    client.created_at = now;
    domain::Episode episode;
    episode.id = NewId(secure);
    episode.org_id = load.org.id;
    episode.clinic_id = load.clinic.id;
    episode.client_ids = {client.id};
    episode.clinician_ids = {load.clinician_ids[e % load.clinician_ids.size()]};
    episode.started_at = now - std::chrono::hours(24 * 7 * kExtraSessionsPerEpisode);
    extra_clients.push_back(std::move(client));
    extra_episode_list.push_back(std::move(episode));
  }
  std::vector<domain::Session> extra_sessions;
  for (size_t k = 0; k < extra; ++k) {
    const domain::Episode& episode = extra_episode_list[k % extra_episodes];
    const int number = static_cast<int>(k / extra_episodes) + 1;
    domain::Session session;
    session.id = NewId(secure);
    session.org_id = load.org.id;
    session.episode_id = episode.id;
    session.number = number;
    session.scheduled_at = episode.started_at + std::chrono::hours(24 * 7 * (number - 1));
    session.attendance = domain::Attendance::kAttended;
    session.participants = {{episode.client_ids.front(), domain::ParticipantRole::kClient},
                            {episode.clinician_ids.front(), domain::ParticipantRole::kClinician}};
    add_checkin(load, session, episode.client_ids.front());
    extra_sessions.push_back(std::move(session));
  }

  // Every record created is in its organisation's audit log, so a fresh demo has chains that
  // verify.
  const auto audit_created = [&](storage::WriteTransaction& txn, const std::string& org_id,
                                 std::string_view kind, const std::string& id) {
    domain::AuditEvent event;
    event.org_id = org_id;
    event.at = now;
    event.actor = "system";
    event.action = "create";
    event.resource = std::string(kind) + "/" + id;
    event.address = "local";
    event.detail = "demo";
    return txn.AppendAudit(std::move(event)).status();
  };
  RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
    for (const OrganizationRecords& records : organizations) {
      const auto created = [&](std::string_view kind, const std::string& id) {
        return audit_created(txn, records.org.id, kind, id);
      };
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization(records.org));
      RAPPORT_RETURN_IF_ERROR(created("organization", records.org.id));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic(records.clinic));
      RAPPORT_RETURN_IF_ERROR(created("clinic", records.clinic.id));
      for (const auto& user : records.users) {
        RAPPORT_RETURN_IF_ERROR(txn.PutUser(user));
        RAPPORT_RETURN_IF_ERROR(created("user", user.id));
      }
      for (const auto& [user_id, digests] : records.recovery_digests) {
        RAPPORT_RETURN_IF_ERROR(txn.PutRecoveryCodes(records.org.id, user_id, digests));
      }
      for (const auto& client : records.cohort.clients) {
        RAPPORT_RETURN_IF_ERROR(txn.PutClient(client));
        RAPPORT_RETURN_IF_ERROR(created("client", client.id));
      }
      for (const auto& episode : records.cohort.episodes) {
        RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
        RAPPORT_RETURN_IF_ERROR(created("episode", episode.id));
      }
      for (const auto* sessions : {&records.cohort.sessions, &records.next_sessions}) {
        for (const auto& session : *sessions) {
          RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
          RAPPORT_RETURN_IF_ERROR(created("session", session.id));
        }
      }
      for (const auto& goal : records.cohort.goals) {
        RAPPORT_RETURN_IF_ERROR(txn.PutGoal(goal));
        RAPPORT_RETURN_IF_ERROR(created("goal", goal.id));
      }
      for (const auto& response : records.cohort.responses) {
        RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
        RAPPORT_RETURN_IF_ERROR(created("response", response.id));
      }
      const size_t open = &records == &load ? first_extra_checkin : records.checkins.size();
      for (size_t c = 0; c < open; ++c) {
        RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(records.checkins[c]));
        RAPPORT_RETURN_IF_ERROR(created("checkin", records.checkins[c].id));
      }
    }
    return Status::Ok();
  }));

  // As a clinic that has used Rapport for a while: an expected-treatment-response model of the
  // outcome measure fitted on the organisation's history, and the signals (alerts) of every
  // ongoing episode evaluated at its latest session.
  for (const OrganizationRecords& records : organizations) {
    RAPPORT_RETURN_IF_ERROR(AddModelAndSignals(store, catalog, records, now));
  }

  // The load-test check-ins in transactions of kExtraBatch, so that a million of them never
  // build one huge transaction (and WAL file).
  const std::string& load_org = load.org.id;
  for (size_t e = 0; e < extra_episodes; e += kExtraBatch) {
    RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
      for (size_t i = e; i < std::min(e + kExtraBatch, extra_episodes); ++i) {
        RAPPORT_RETURN_IF_ERROR(txn.PutClient(extra_clients[i]));
        RAPPORT_RETURN_IF_ERROR(audit_created(txn, load_org, "client", extra_clients[i].id));
        RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(extra_episode_list[i]));
        RAPPORT_RETURN_IF_ERROR(audit_created(txn, load_org, "episode", extra_episode_list[i].id));
      }
      return Status::Ok();
    }));
  }
  for (size_t k = 0; k < extra; k += kExtraBatch) {
    RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
      for (size_t i = k; i < std::min(k + kExtraBatch, extra); ++i) {
        const domain::Checkin& checkin = load.checkins[first_extra_checkin + i];
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(extra_sessions[i]));
        RAPPORT_RETURN_IF_ERROR(audit_created(txn, load_org, "session", extra_sessions[i].id));
        RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
        RAPPORT_RETURN_IF_ERROR(audit_created(txn, load_org, "checkin", checkin.id));
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
    Json entry = {{"org", account.org},
                  {"role", account.role},
                  {"email", account.email},
                  {"password", account.password}};
    if (!account.totp_secret.empty()) {
      entry["totp_secret"] = account.totp_secret;
      entry["recovery_codes"] = account.recovery_codes;
    }
    out["accounts"].push_back(std::move(entry));
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
    DemoAccount read{account.value("org", ""), account.value("role", ""),
                     account.value("email", ""), account.value("password", "")};
    read.totp_secret = account.value("totp_secret", "");
    if (const auto codes = account.find("recovery_codes");
        codes != account.end() && codes->is_array()) {
      for (const Json& code : *codes) {
        if (code.is_string()) read.recovery_codes.push_back(code.get<std::string>());
      }
    }
    data.accounts.push_back(std::move(read));
  }
  for (const Json& link : json["checkin_links"]) {
    const std::string url = link.is_string() ? link.get<std::string>() : std::string();
    const size_t at = url.rfind("/c/");
    if (at != std::string::npos) data.checkin_tokens.push_back(url.substr(at + 3));
  }
  return data;
}

}  // namespace rapport::cli
