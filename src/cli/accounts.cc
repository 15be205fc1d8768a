// `rapport org create|list` and `rapport user create|list|update`: organisations and staff
// accounts from the server's console (docs/operations.md, "Organisations and accounts"). A new
// installation starts here: `org create` makes the organisation, its first clinic and its
// administrator, whose generated password is printed once. Every change is in the
// organisation's audit log, by actor "console".
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "api/accounts.h"
#include "base/clock.h"
#include "base/id.h"
#include "base/password.h"
#include "base/random.h"
#include "cli/command.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

struct OrgArgs {
  std::string db;
  std::string name;
  std::string clinic;
  std::string admin_email;
  std::string admin_name;
};

struct UserArgs {
  std::string db;
  std::string org;
  std::string email;
  std::string name;
  std::string role;
  std::string clinic;
  bool clinic_given = false;
  bool unlock = false;
  bool reset_mfa = false;
  bool disable = false;
  bool enable = false;
  bool new_password = false;
};

Status Audit(storage::WriteTransaction& txn, const std::string& org_id, std::string action,
             std::string resource, std::string detail = {}) {
  domain::AuditEvent event;
  event.org_id = org_id;
  event.at = DefaultClock().Now();
  event.actor = "console";
  event.action = std::move(action);
  event.resource = std::move(resource);
  event.address = "local";
  event.detail = std::move(detail);
  return txn.AppendAudit(std::move(event)).status();
}

Result<domain::User> NewUser(const std::string& org_id, const std::string& clinic_id,
                             const std::string& email, const std::string& name, domain::Role role,
                             const std::string& password) {
  domain::User user;
  user.id = NewId(DefaultRandom());
  user.org_id = org_id;
  user.clinic_id = clinic_id;
  RAPPORT_ASSIGN_OR_RETURN(user.email, api::NormaliseEmail(email));
  user.display_name = name.empty() ? user.email : name;
  user.role = role;
  RAPPORT_ASSIGN_OR_RETURN(user.password_hash, HashPassword(password));
  user.created_at = DefaultClock().Now();
  return user;
}

Status RunOrgCreate(const OrgArgs& args) {
  if (args.name.empty()) return InvalidArgument("--name must not be empty", "name");
  // Creating the first organisation of a new installation creates the schema too.
  RAPPORT_ASSIGN_OR_RETURN(const auto store, storage::OpenStore(args.db, /*migrate=*/true));
  Random& random = DefaultRandom();
  const Timestamp now = DefaultClock().Now();
  const domain::Organization org{NewId(random), args.name, now};
  const domain::Clinic clinic{NewId(random), org.id, args.clinic.empty() ? args.name : args.clinic};
  const std::string password = api::NewPassword(random);
  RAPPORT_ASSIGN_OR_RETURN(
      const domain::User admin,
      NewUser(org.id, "", args.admin_email, args.admin_name, domain::Role::kAdmin, password));
  RAPPORT_RETURN_IF_ERROR(store->Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutOrganization(org));
    RAPPORT_RETURN_IF_ERROR(Audit(txn, org.id, "create", "organization/" + org.id));
    RAPPORT_RETURN_IF_ERROR(txn.PutClinic(clinic));
    RAPPORT_RETURN_IF_ERROR(Audit(txn, org.id, "create", "clinic/" + clinic.id));
    RAPPORT_RETURN_IF_ERROR(api::CreateAccount(txn, admin));
    return Audit(txn, org.id, "create", "user/" + admin.id);
  }));
  store->Close();
  Json out = {{"org_id", org.id},
              {"name", org.name},
              {"clinic_id", clinic.id},
              {"clinic", clinic.name},
              {"admin", api::AccountJson(admin)}};
  out["admin"]["password"] = password;
  std::cout << out.dump(2) << "\n";
  std::cerr << "The administrator's password is shown only now. At first sign-in they enrol in "
               "multi-factor sign-in (POST /api/v1/auth/totp/enrol).\n";
  return Status::Ok();
}

Status RunOrgList(const OrgArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const auto store, OpenExistingStore(args.db));
  RAPPORT_RETURN_IF_ERROR(store->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto organizations, txn.ListOrganizations());
    for (const domain::Organization& org : organizations) {
      Json line = {
          {"id", org.id}, {"name", org.name}, {"created_at", FormatTimestamp(org.created_at)}};
      RAPPORT_ASSIGN_OR_RETURN(const auto clinics, txn.ListClinics(org.id));
      line["clinics"] = Json::array();
      for (const domain::Clinic& clinic : clinics) {
        line["clinics"].push_back({{"id", clinic.id}, {"name", clinic.name}});
      }
      std::cout << line.dump() << "\n";
    }
    return Status::Ok();
  }));
  store->Close();
  return Status::Ok();
}

Status RunUserCreate(const UserArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const domain::Role role, domain::ParseRole(args.role));
  RAPPORT_ASSIGN_OR_RETURN(const auto store, OpenExistingStore(args.db));
  const std::string password = api::NewPassword(DefaultRandom());
  RAPPORT_ASSIGN_OR_RETURN(const domain::User user,
                           NewUser(args.org, args.clinic, args.email, args.name, role, password));
  RAPPORT_RETURN_IF_ERROR(store->Write([&](storage::WriteTransaction& txn) -> Status {
    const auto org = txn.GetOrganization(args.org);
    if (!org.ok()) return InvalidArgument("no organisation '" + args.org + "'", "org");
    RAPPORT_RETURN_IF_ERROR(api::CreateAccount(txn, user));
    return Audit(txn, user.org_id, "create", "user/" + user.id);
  }));
  store->Close();
  Json out = api::AccountJson(user);
  out["password"] = password;
  std::cout << out.dump(2) << "\n";
  return Status::Ok();
}

Status RunUserList(const UserArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const auto store, OpenExistingStore(args.db));
  RAPPORT_RETURN_IF_ERROR(store->Read([&](storage::ReadTransaction& txn) -> Status {
    if (!txn.GetOrganization(args.org).ok()) {
      return InvalidArgument("no organisation '" + args.org + "'", "org");
    }
    RAPPORT_ASSIGN_OR_RETURN(const auto users, txn.ListUsers(args.org));
    for (const domain::User& user : users) std::cout << api::AccountJson(user).dump() << "\n";
    return Status::Ok();
  }));
  store->Close();
  return Status::Ok();
}

Status RunUserUpdate(const UserArgs& args) {
  if (args.disable && args.enable) {
    return InvalidArgument("--disable and --enable contradict each other", "disable");
  }
  api::AccountChange change;
  if (!args.name.empty()) change.display_name = args.name;
  if (!args.role.empty()) {
    RAPPORT_ASSIGN_OR_RETURN(change.role, domain::ParseRole(args.role));
  }
  if (args.clinic_given) change.clinic_id = args.clinic;
  if (args.disable) change.disabled = true;
  if (args.enable) change.disabled = false;
  change.unlock = args.unlock;
  change.reset_mfa = args.reset_mfa;
  std::string password;
  if (args.new_password) {
    password = api::NewPassword(DefaultRandom());
    RAPPORT_ASSIGN_OR_RETURN(change.password_hash, HashPassword(password));
  }
  RAPPORT_ASSIGN_OR_RETURN(const std::string email, api::NormaliseEmail(args.email));
  RAPPORT_ASSIGN_OR_RETURN(const auto store, OpenExistingStore(args.db));
  domain::User user;
  RAPPORT_RETURN_IF_ERROR(store->Write([&](storage::WriteTransaction& txn) -> Status {
    auto found = txn.GetUserByEmail(email);
    if (!found.ok()) return InvalidArgument("no account for '" + email + "'", "email");
    RAPPORT_ASSIGN_OR_RETURN(user, api::ChangeAccount(txn, found->org_id, found->id, change));
    std::string what;
    for (const auto& [given, name] : {std::pair{change.display_name.has_value(), "display_name"},
                                      {change.role.has_value(), "role"},
                                      {change.clinic_id.has_value(), "clinic_id"},
                                      {change.disabled.has_value(), "disabled"},
                                      {change.unlock, "unlock"},
                                      {change.reset_mfa, "reset_mfa"},
                                      {!change.password_hash.empty(), "password"}}) {
      if (given) what += (what.empty() ? "" : ",") + std::string(name);
    }
    return Audit(txn, user.org_id, "update", "user/" + user.id, what);
  }));
  store->Close();
  Json out = api::AccountJson(user);
  if (!password.empty()) out["password"] = password;
  std::cout << out.dump(2) << "\n";
  return Status::Ok();
}

// Runs `run` and maps its status to the exit code.
template <typename Args>
std::function<int()> Runner(std::shared_ptr<Args> args, Status (*run)(const Args&)) {
  return [args, run] {
    const Status status = run(*args);
    return status.ok() ? 0 : Fail(status);
  };
}

}  // namespace

void AddAccountCommands(CLI::App& app, Commands& commands) {
  CLI::App* org = app.add_subcommand("org", "Create and list organisations (console only).");
  org->require_subcommand(1);

  auto create_org = std::make_shared<OrgArgs>();
  CLI::App* create = org->add_subcommand(
      "create",
      "Create an organisation with its first clinic and administrator; prints the "
      "administrator's generated password once. Creates the database schema if needed.");
  create->add_option("--db", create_org->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  create->add_option("--name", create_org->name, "The organisation's name")->required();
  create->add_option("--clinic", create_org->clinic, "The first clinic's name (default: --name)");
  create->add_option("--admin-email", create_org->admin_email, "The administrator's e-mail")
      ->required();
  create->add_option("--admin-name", create_org->admin_name, "The administrator's name");
  commands.push_back({create, Runner(create_org, &RunOrgCreate)});

  auto list_orgs = std::make_shared<OrgArgs>();
  CLI::App* list = org->add_subcommand("list", "One JSON line per organisation, with clinics.");
  list->add_option("--db", list_orgs->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  commands.push_back({list, Runner(list_orgs, &RunOrgList)});

  CLI::App* user = app.add_subcommand("user", "Create, list and change staff accounts.");
  user->require_subcommand(1);

  auto create_user = std::make_shared<UserArgs>();
  CLI::App* add =
      user->add_subcommand("create", "Create a staff account; prints its generated password once.");
  add->add_option("--db", create_user->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  add->add_option("--org", create_user->org, "Organisation id (see `rapport org list`)")
      ->required();
  add->add_option("--email", create_user->email, "E-mail address (the sign-in name)")->required();
  add->add_option("--name", create_user->name, "Display name");
  add->add_option("--role", create_user->role, "admin, supervisor, clinician or researcher")
      ->required();
  add->add_option("--clinic", create_user->clinic,
                  "Clinic id (a supervisor's team; empty: organisation-wide)");
  commands.push_back({add, Runner(create_user, &RunUserCreate)});

  auto list_users = std::make_shared<UserArgs>();
  CLI::App* users = user->add_subcommand("list", "One JSON line per staff account.");
  users->add_option("--db", list_users->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  users->add_option("--org", list_users->org, "Organisation id")->required();
  commands.push_back({users, Runner(list_users, &RunUserList)});

  auto update_user = std::make_shared<UserArgs>();
  CLI::App* update = user->add_subcommand(
      "update",
      "Change a staff account: unlock it, reset its multi-factor sign-in, disable or enable it, "
      "give it a new generated password, a role, a clinic or a name. Disabling, a new password "
      "and an MFA reset sign the user out everywhere.");
  update->add_option("--db", update_user->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  update->add_option("--email", update_user->email, "The account's e-mail address")->required();
  update->add_flag("--unlock", update_user->unlock, "End a lockout after failed sign-ins");
  update->add_flag("--reset-mfa", update_user->reset_mfa,
                   "Forget the TOTP secret and recovery codes (the user enrols again)");
  update->add_flag("--disable", update_user->disable, "Disable the account");
  update->add_flag("--enable", update_user->enable, "Enable a disabled account");
  update->add_flag("--new-password", update_user->new_password,
                   "Generate a new password and print it once");
  update->add_option("--role", update_user->role, "admin, supervisor, clinician or researcher");
  update->add_option("--name", update_user->name, "Display name");
  update
      ->add_option_function<std::string>(
          "--clinic",
          [update_user](const std::string& clinic) {
            update_user->clinic = clinic;
            update_user->clinic_given = true;
          },
          "Clinic id (empty string: organisation-wide)")
      ->expected(1);
  commands.push_back({update, Runner(update_user, &RunUserUpdate)});
}

}  // namespace rapport::cli
