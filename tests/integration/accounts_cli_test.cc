// A new installation from the console: `rapport org create` makes an organisation and its
// administrator, `rapport user` adds and changes staff, and the accounts sign in through the
// real `rapport serve`.
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;
using testing::Http;

class AccountsCli : public ::testing::Test {
 protected:
  testing::CommandResult Rapport(std::vector<std::string> args) {
    args.insert(args.begin(), testing::RapportBinary().string());
    return testing::RunCommand(args);
  }

  // The command's JSON output; fails the test when it did not succeed.
  Json Ok(std::vector<std::string> args) {
    const testing::CommandResult result = Rapport(std::move(args));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return Json::parse(result.out, nullptr, false);
  }

  int SignIn(int port, const std::string& email, const std::string& password) {
    return Http(port, "POST", "/api/v1/auth/login",
                Json{{"email", email}, {"password", password}}.dump(), "application/json")
        .status;
  }

  testing::TempDir dir_;
  std::string db_ = "sqlite:" + (dir_.path() / "rapport.db").string();
};

TEST_F(AccountsCli, AnOrganisationItsAdministratorAndStaffFromTheConsole) {
  const Json org = Ok({"org", "create", "--db", db_, "--name", "Northside Therapy", "--clinic",
                       "Northside Central", "--admin-email", "Head@Northside.example",
                       "--admin-name", "Robin Head"});
  ASSERT_TRUE(org.is_object());
  const std::string org_id = org["org_id"];
  EXPECT_EQ(org["clinic"], "Northside Central");
  EXPECT_EQ(org["admin"]["email"], "head@northside.example");
  EXPECT_EQ(org["admin"]["role"], "admin");
  const std::string admin_password = org["admin"]["password"];
  EXPECT_GE(admin_password.size(), 12u);

  const Json listed = Json::parse(Rapport({"org", "list", "--db", db_}).out, nullptr, false);
  EXPECT_EQ(listed["id"], org_id);
  EXPECT_EQ(listed["clinics"][0]["id"], org["clinic_id"]);

  const Json clinician =
      Ok({"user", "create", "--db", db_, "--org", org_id, "--email", "sam@northside.example",
          "--role", "clinician", "--name", "Sam", "--clinic", org["clinic_id"]});
  const std::string clinician_password = clinician["password"];

  // Bad input: exit 2 naming what is wrong; nothing is created.
  const auto role = Rapport({"user", "create", "--db", db_, "--org", org_id, "--email",
                             "x@northside.example", "--role", "boss"});
  EXPECT_EQ(role.exit_code, 2);
  EXPECT_NE(role.err.find("unknown role 'boss'"), std::string::npos) << role.err;
  const auto clinic = Rapport({"user", "create", "--db", db_, "--org", org_id, "--email",
                               "x@northside.example", "--role", "clinician", "--clinic", "nope"});
  EXPECT_EQ(clinic.exit_code, 2);
  EXPECT_NE(clinic.err.find("clinic"), std::string::npos) << clinic.err;
  const auto email = Rapport({"user", "create", "--db", db_, "--org", org_id, "--email",
                              "not-an-address", "--role", "clinician"});
  EXPECT_EQ(email.exit_code, 2);
  EXPECT_NE(email.err.find("e-mail"), std::string::npos) << email.err;
  const auto taken = Rapport({"user", "create", "--db", db_, "--org", org_id, "--email",
                              "SAM@northside.example", "--role", "clinician"});
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.err.find("has an account"), std::string::npos) << taken.err;
  const auto missing = Rapport({"user", "list", "--db", db_, "--org", "no-such-org"});
  EXPECT_EQ(missing.exit_code, 2);
  const auto no_db = Rapport(
      {"user", "list", "--db", "sqlite:" + (dir_.path() / "none.db").string(), "--org", org_id});
  EXPECT_EQ(no_db.exit_code, 2);
  int accounts = 0;
  for (const char c : Rapport({"user", "list", "--db", db_, "--org", org_id}).out) {
    accounts += c == '\n';
  }
  EXPECT_EQ(accounts, 2);

  {
    testing::ServerProcess server({testing::RapportBinary().string(), "serve", "--db", db_});
    ASSERT_TRUE(server.started()) << server.output();
    // The administrator signs in and must enrol in multi-factor sign-in first.
    const auto admin =
        Http(server.port(), "POST", "/api/v1/auth/login",
             Json{{"email", "head@northside.example"}, {"password", admin_password}}.dump(),
             "application/json");
    ASSERT_EQ(admin.status, 200) << admin.body;
    EXPECT_TRUE(Json::parse(admin.body)["mfa_enrolment_required"].get<bool>());
    // Five wrong passwords lock the clinician out.
    for (int attempt = 0; attempt < 5; ++attempt) {
      EXPECT_EQ(SignIn(server.port(), "sam@northside.example", "wrong password"), 401);
    }
    EXPECT_EQ(SignIn(server.port(), "sam@northside.example", clinician_password), 429);
  }

  // The console unlocks the account and gives it a new password; the old one stops working.
  const Json changed = Ok({"user", "update", "--db", db_, "--email", "sam@northside.example",
                           "--unlock", "--new-password"});
  EXPECT_FALSE(changed["locked"].get<bool>());
  const std::string new_password = changed["password"];
  EXPECT_NE(new_password, clinician_password);
  const Json disabled =
      Ok({"user", "update", "--db", db_, "--email", "head@northside.example", "--disable"});
  EXPECT_TRUE(disabled["disabled"].get<bool>());
  EXPECT_EQ(
      Rapport({"user", "update", "--db", db_, "--email", "nobody@northside.example", "--unlock"})
          .exit_code,
      2);
  EXPECT_EQ(Rapport({"user", "update", "--db", db_, "--email", "sam@northside.example", "--disable",
                     "--enable"})
                .exit_code,
            2);
  {
    testing::ServerProcess server({testing::RapportBinary().string(), "serve", "--db", db_});
    ASSERT_TRUE(server.started()) << server.output();
    EXPECT_EQ(SignIn(server.port(), "sam@northside.example", clinician_password), 401);
    EXPECT_EQ(SignIn(server.port(), "sam@northside.example", new_password), 200);
    EXPECT_EQ(SignIn(server.port(), "head@northside.example", admin_password), 401)
        << "a disabled account signed in";
  }

  // Every change is in the organisation's audit log, and the chain verifies.
  const auto verify = Rapport({"audit", "verify", "--db", db_});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  const auto log = Rapport({"audit", "list", "--db", db_, "--org", org_id});
  EXPECT_NE(log.out.find("\"actor\":\"console\""), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("unlock,password"), std::string::npos) << log.out;
}

}  // namespace
}  // namespace rapport
