// A check-in end to end through the real `rapport demo` server on a loopback port.
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/id.h"
#include "support/demo.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;
using testing::Http;

Json ReadJsonFile(const std::filesystem::path& path) {
  return Json::parse(testing::ReadFileText(path));
}

// Form answers for the demo check-in (progress, then the client alliance check-in).
std::string FormAnswers(int progress, int alliance) {
  std::string body;
  for (const char* item : {"self", "relationships", "daily-life", "overall"}) {
    body += std::string("i.rapport-progress.") + item + "=" + std::to_string(progress) + "&";
  }
  for (const char* item :
       {"bond-1", "bond-2", "goals-1", "goals-2", "tasks-1", "tasks-2", "open-1"}) {
    body += std::string("i.rapport-alliance-client.") + item + "=" + std::to_string(alliance) + "&";
  }
  return body;
}

std::string JsonAnswers(int progress, int alliance) {
  return Json{
      {"responses",
       {{{"instrument", "rapport-progress"}, {"answers", std::vector<int>(4, progress)}},
        {{"instrument", "rapport-alliance-client"}, {"answers", std::vector<int>(7, alliance)}}}}}
      .dump();
}

class DemoServer : public ::testing::Test {
 protected:
  std::vector<std::string> DemoArgs(int extra_checkins = 0) {
    return {testing::RapportBinary().string(),
            "demo",
            "--data-dir",
            dir_.path().string(),
            "--extra-checkins",
            std::to_string(extra_checkins)};
  }
  testing::TempDir dir_;
};

TEST_F(DemoServer, ACheckinInSpanishEndToEnd) {
  testing::ServerProcess server(DemoArgs());
  ASSERT_TRUE(server.started()) << server.output();
  const Json accounts = ReadJsonFile(dir_.path() / "demo-accounts.json");
  const std::string path = "/c/" + testing::CheckinToken(accounts["checkin_links"][1]);
  // English first (the demo clients' recorded language), with Spanish offered at the start.
  const auto english = Http(server.port(), "GET", path);
  ASSERT_EQ(english.status, 200);
  EXPECT_NE(english.body.find("?lang=es\" hreflang=\"es\""), std::string::npos);
  const auto spanish = Http(server.port(), "GET", path + "?lang=es");
  ASSERT_EQ(spanish.status, 200);
  EXPECT_NE(spanish.body.find("<html lang=\"es\">"), std::string::npos);
  EXPECT_NE(spanish.body.find("Hoy sentí que me escuchaban y me respetaban."), std::string::npos);
  EXPECT_NE(spanish.body.find("Enviar mis respuestas"), std::string::npos);
  EXPECT_EQ(spanish.body.find("I felt heard and respected today."), std::string::npos);
  const auto incomplete = Http(server.port(), "POST", path, "lang=es&i.rapport-progress.self=5",
                               "application/x-www-form-urlencoded");
  EXPECT_EQ(incomplete.status, 400);
  EXPECT_NE(incomplete.body.find("Responda, por favor, a la pregunta"), std::string::npos);
  const auto created = Http(server.port(), "POST", path, "lang=es&" + FormAnswers(6, 4),
                            "application/x-www-form-urlencoded");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find("Sus respuestas se han guardado."), std::string::npos);
  EXPECT_NE(created.body.find("<dd class=\"total\">4</dd>"), std::string::npos);
  // The same answers score the same in any language.
  const auto json = Http(server.port(), "POST", "/api/v1/checkins/" + testing::CheckinToken(path),
                         JsonAnswers(6, 4), "application/json");
  EXPECT_EQ(json.status, 200) << json.body;
  EXPECT_EQ(server.StopWith(SIGTERM, std::chrono::seconds(20)), 0);
}

TEST_F(DemoServer, WritesAccountsAndServesACheckinEndToEnd) {
  testing::ServerProcess server(DemoArgs());
  ASSERT_TRUE(server.started()) << server.output();
  const Json accounts = ReadJsonFile(dir_.path() / "demo-accounts.json");
  std::set<std::string> roles;
  for (const Json& account : accounts["accounts"]) {
    EXPECT_FALSE(account["email"].get<std::string>().empty());
    EXPECT_GE(account["password"].get<std::string>().size(), 12u);
    EXPECT_FALSE(account["org"].get<std::string>().empty());
    roles.insert(account["role"].get<std::string>());
  }
  EXPECT_EQ(roles, (std::set<std::string>{"admin", "supervisor", "clinician", "researcher"}));
  ASSERT_GE(accounts["checkin_links"].size(), 2u);
  const std::string link = accounts["checkin_links"][0];
  EXPECT_EQ(link.rfind("http://127.0.0.1:" + std::to_string(server.port()) + "/c/", 0), 0u) << link;
  const std::string path = "/c/" + testing::CheckinToken(link);

  EXPECT_EQ(Http(server.port(), "GET", "/healthz").status, 200);
  auto start = Http(server.port(), "GET", "/");
  EXPECT_EQ(start.status, 200);
  EXPECT_NE(start.body.find(path), std::string::npos) << "start page lists the demo check-ins";
  EXPECT_NE(start.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);

  const auto form = Http(server.port(), "GET", path);
  ASSERT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("I felt heard and respected today."), std::string::npos);
  EXPECT_NE(form.body.find("How have things been?"), std::string::npos);

  // An incomplete form comes back with the answers kept and the question named.
  const auto incomplete = Http(server.port(), "POST", path, "i.rapport-progress.self=5",
                               "application/x-www-form-urlencoded");
  EXPECT_EQ(incomplete.status, 400);
  EXPECT_NE(incomplete.body.find("Please answer the question"), std::string::npos);

  const auto created =
      Http(server.port(), "POST", path, FormAnswers(7, 3), "application/x-www-form-urlencoded");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find("Your answers have been saved"), std::string::npos);
  EXPECT_NE(created.body.find("<dd class=\"total\">3</dd>"), std::string::npos) << created.body;

  // Single use: identical again returns the stored result; different answers are refused.
  const auto again =
      Http(server.port(), "POST", path, FormAnswers(7, 3), "application/x-www-form-urlencoded");
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("already been answered"), std::string::npos);
  const auto identical_json =
      Http(server.port(), "POST", "/api/v1/checkins/" + testing::CheckinToken(link),
           JsonAnswers(7, 3), "application/json");
  EXPECT_EQ(identical_json.status, 200) << identical_json.body;
  const auto different =
      Http(server.port(), "POST", path, FormAnswers(2, 1), "application/x-www-form-urlencoded");
  EXPECT_EQ(different.status, 409);
  auto different_json =
      Http(server.port(), "POST", "/api/v1/checkins/" + testing::CheckinToken(link),
           JsonAnswers(2, 1), "application/json");
  EXPECT_EQ(different_json.status, 409);
  EXPECT_EQ(different_json.headers["content-type"], "application/problem+json");

  // Exactly one stored response per instrument.
  EXPECT_EQ(server.StopWith(SIGTERM, std::chrono::seconds(20)), 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "rapport.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT COUNT(*) FROM responses r JOIN checkins c ON c.org_id = "
                               "r.org_id AND c.id = r.checkin_id WHERE c.token_digest = ?",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  const std::string digest = Sha256Hex(testing::CheckinToken(link));
  sqlite3_bind_text(stmt, 1, digest.c_str(), -1, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 2);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(DemoServer, BadRequestsGetClearErrors) {
  testing::ServerProcess server(DemoArgs());
  ASSERT_TRUE(server.started()) << server.output();
  EXPECT_EQ(Http(server.port(), "GET", "/c/not-a-real-token").status, 404);
  EXPECT_EQ(Http(server.port(), "GET", "/nowhere").headers["content-type"],
            "application/problem+json");
  const auto big = Http(server.port(), "POST", "/api/v1/checkins/x", std::string(300 * 1024, 'a'),
                        "application/json");
  EXPECT_EQ(big.status, 413);
  const auto huge_header =
      Http(server.port(), "GET", "/", "", "", {{"X-Filler", std::string(20000, 'b')}});
  EXPECT_EQ(huge_header.status, 431);
  const auto not_json = Http(server.port(), "POST", "/api/v1/checkins/" + std::string(43, 'A'), "{",
                             "application/json");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(Http(server.port(), "GET", "/healthz").status, 200) << "server still up";
}

TEST_F(DemoServer, SigtermDuringABurstLosesNoAcknowledgedWrite) {
  constexpr int kCheckins = 400;
  std::vector<std::string> tokens;
  int port = 0;
  {
    testing::ServerProcess server(DemoArgs(kCheckins));
    ASSERT_TRUE(server.started()) << server.output();
    port = server.port();
    const Json accounts = ReadJsonFile(dir_.path() / "demo-accounts.json");
    for (const Json& link : accounts["checkin_links"]) {
      tokens.push_back(testing::CheckinToken(link.get<std::string>()));
    }
    ASSERT_GE(tokens.size(), static_cast<size_t>(kCheckins));

    std::atomic<size_t> next{0};
    std::mutex mutex;
    std::vector<std::string> acknowledged;
    std::atomic<int> refused{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&] {
        for (size_t i = next++; i < tokens.size(); i = next++) {
          const auto result = Http(port, "POST", "/api/v1/checkins/" + tokens[i], JsonAnswers(6, 3),
                                   "application/json");
          if (result.status == 201) {
            std::lock_guard lock(mutex);
            acknowledged.push_back(tokens[i]);
          } else if (result.status == 0) {
            ++refused;
          }
        }
      });
    }
    // Let the burst get going, then ask the server to stop in the middle of it.
    while (next.load() < 60) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_EQ(server.StopWith(SIGTERM, std::chrono::seconds(30)), 0) << "graceful exit";
    for (auto& client : clients) client.join();
    EXPECT_GE(acknowledged.size(), 50u);
    EXPECT_GT(refused.load(), 0) << "the burst was still running when the server stopped";

    // Every acknowledged submission is in the database.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "rapport.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db,
                           "SELECT c.submitted_at IS NOT NULL, (SELECT COUNT(*) FROM responses r "
                           "WHERE r.org_id = c.org_id AND r.checkin_id = c.id) FROM checkins c "
                           "WHERE c.token_digest = ?",
                           -1, &stmt, nullptr),
        SQLITE_OK);
    for (const std::string& token : acknowledged) {
      const std::string digest = Sha256Hex(token);
      sqlite3_reset(stmt);
      sqlite3_bind_text(stmt, 1, digest.c_str(), -1, SQLITE_TRANSIENT);
      ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
      EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
      EXPECT_EQ(sqlite3_column_int(stmt, 1), 2);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  // The demo restarts on the same data and still knows the acknowledged check-ins as answered.
  testing::ServerProcess restarted(DemoArgs());
  ASSERT_TRUE(restarted.started()) << restarted.output();
  const auto again = Http(restarted.port(), "POST", "/api/v1/checkins/" + tokens[0],
                          JsonAnswers(6, 3), "application/json");
  EXPECT_TRUE(again.status == 200 || again.status == 201) << again.status;
}

}  // namespace
}  // namespace rapport
