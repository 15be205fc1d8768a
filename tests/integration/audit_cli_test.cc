// The audit log through the real binary: `rapport audit verify` on a sound database, then on
// databases tampered with behind Rapport's back (through SQLite directly, as someone with the
// file would), each built fresh; `rapport audit list`; and the demo's own chain.
#include <sqlite3.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "storage/audit_chain.h"
#include "storage/store.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;

constexpr int kEvents = 8;  // in org-1; org-2 has 3

class AuditCli : public ::testing::Test {
 protected:
  AuditCli() : path_((dir_.path() / "rapport.db").string()), db_url_("sqlite:" + path_) {
    auto store = storage::OpenStore(db_url_, /*migrate=*/true);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return;
    const Timestamp now = FromUnixMillis(1'790'000'000'000);
    EXPECT_OK((*store)->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org-1", "One", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org-2", "Two", now}));
      return Status::Ok();
    }));
    for (int number = 1; number <= kEvents; ++number) {
      EXPECT_OK((*store)->Write([&](storage::WriteTransaction& txn) -> Status {
        for (const std::string org : {"org-1", "org-2"}) {
          if (org == "org-2" && number > 3) continue;
          domain::AuditEvent event;
          event.org_id = org;
          event.at = now + std::chrono::minutes(number);
          event.actor = "user-" + std::to_string(number % 2);
          event.action = number % 3 == 0 ? "update" : "read";
          event.resource = "client/c" + std::to_string(number);
          event.address = "198.51.100.4";
          RAPPORT_RETURN_IF_ERROR(txn.AppendAudit(event).status());
        }
        return Status::Ok();
      }));
    }
    EXPECT_OK((*store)->Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(head_, txn.GetAuditHead("org-1"));
      return Status::Ok();
    }));
    (*store)->Close();
  }

  testing::CommandResult Rapport(std::vector<std::string> args) {
    args.insert(args.begin(), testing::RapportBinary().string());
    return testing::RunCommand(args);
  }

  testing::CommandResult Verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"audit", "verify", "--db", db_url_};
    args.insert(args.end(), extra.begin(), extra.end());
    return Rapport(args);
  }

  // Runs SQL on the file directly, first dropping the triggers that keep events append-only
  // (anyone who can write the file can do the same).
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const std::string script =
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; " + sql;
    const int rc = sqlite3_exec(db, script.c_str(), nullptr, nullptr, &error);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }

  // The stored event of org-1 at `seq`, read directly.
  domain::AuditEvent Stored(int64_t seq) {
    std::vector<domain::AuditEvent> events;
    auto store = storage::OpenStore(db_url_, /*migrate=*/false);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return {};
    EXPECT_OK((*store)->Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(events, txn.ListAudit("org-1", seq - 1, 1));
      return Status::Ok();
    }));
    return events.empty() ? domain::AuditEvent{} : events.front();
  }

  static std::string Quote(const std::string& text) { return "'" + text + "'"; }

  static std::string InsertSql(const domain::AuditEvent& e) {
    std::string sql = "INSERT INTO audit_events VALUES (";
    sql.append(Quote(e.org_id))
        .append(", ")
        .append(std::to_string(e.seq))
        .append(", ")
        .append(std::to_string(ToUnixMillis(e.at)));
    for (const std::string* text :
         {&e.actor, &e.action, &e.resource, &e.address, &e.detail, &e.prev_hash, &e.hash}) {
      sql.append(", ").append(Quote(*text));
    }
    sql.append(");");
    return sql;
  }

  testing::TempDir dir_;
  std::string path_;
  std::string db_url_;
  storage::AuditHead head_;
};

TEST_F(AuditCli, ASoundDatabaseVerifies) {
  ASSERT_EQ(head_.seq, kEvents);
  const auto result = Verify();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("org-1: ok: 8 events, head 8:" + head_.hash + "\n"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("org-2: ok: 3 events, head 3:"), std::string::npos) << result.out;

  const auto one = Verify({"--org", "org-2"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out.find("org-1"), std::string::npos);

  const auto anchored = Verify({"--org", "org-1", "--anchor", "8:" + head_.hash});
  EXPECT_EQ(anchored.exit_code, 0) << anchored.out << anchored.err;
  EXPECT_NE(anchored.out.find("event 8 has the recorded hash"), std::string::npos);
}

TEST_F(AuditCli, AChangedRowIsNamed) {
  Tamper("UPDATE audit_events SET actor = 'someone-else' WHERE org_id = 'org-1' AND seq = 4;");
  const auto result = Verify();
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(
      result.out.find("org-1: TAMPERED: event 4 changed: its hash does not match its contents\n"),
      std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("org-2: ok: 3 events"), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("1 of 2 organisations does not verify"), std::string::npos)
      << result.err;
}

TEST_F(AuditCli, ADeletedRowIsNamed) {
  Tamper("DELETE FROM audit_events WHERE org_id = 'org-1' AND seq = 5;");
  const auto result = Verify({"--org", "org-1"});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("org-1: TAMPERED: event 5 deleted: the chain goes from event 4 to "
                            "event 6\n"),
            std::string::npos)
      << result.out;
}

TEST_F(AuditCli, AForgedRowIsDetectedEvenWhenItChains) {
  // A forger who knows the algorithm appends a well-formed event after the last one but
  // cannot do so without the head noticing (unless they rewrite it too: see the anchor test).
  domain::AuditEvent forged = Stored(kEvents);
  ASSERT_EQ(forged.seq, kEvents);
  forged.seq = kEvents + 1;
  forged.actor = "user-framed";
  forged.action = "export";
  forged.prev_hash = head_.hash;
  forged.hash = storage::AuditHash(forged);
  Tamper(InsertSql(forged));
  const auto result = Verify();
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("org-1: TAMPERED: event 9 inserted: the chain ends at 9 but the head "
                            "records 8\n"),
            std::string::npos)
      << result.out;
}

TEST_F(AuditCli, AForgedRowInPlaceOfAnotherIsDetected) {
  domain::AuditEvent forged = Stored(3);
  forged.actor = "user-framed";
  forged.hash = storage::AuditHash(forged);
  Tamper("DELETE FROM audit_events WHERE org_id = 'org-1' AND seq = 3; " + InsertSql(forged));
  const auto result = Verify();
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("org-1: TAMPERED: event 4 does not follow event 3"), std::string::npos)
      << result.out;
}

TEST_F(AuditCli, DeletingTheLastRowIsCaughtByTheHead) {
  Tamper("DELETE FROM audit_events WHERE org_id = 'org-1' AND seq = 8;");
  const auto result = Verify();
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("org-1: TAMPERED: event 8 deleted: the chain ends at 7 but the head "
                            "records 8\n"),
            std::string::npos)
      << result.out;
}

TEST_F(AuditCli, ARewrittenChainAndHeadAreCaughtByARecordedHead) {
  // Rewrite event 3 and re-link everything after it, head included: the chain is
  // self-consistent again, so only a head recorded outside the database can tell.
  std::string sql = "DELETE FROM audit_events WHERE org_id = 'org-1' AND seq >= 3; ";
  std::string prev = Stored(2).hash;
  for (int64_t seq = 3; seq <= kEvents; ++seq) {
    domain::AuditEvent event = Stored(seq);
    if (seq == 3) event.actor = "user-framed";
    event.prev_hash = prev;
    event.hash = storage::AuditHash(event);
    prev = event.hash;
    sql += InsertSql(event);
  }
  sql += "UPDATE audit_heads SET hash = " + Quote(prev) + " WHERE org_id = 'org-1';";
  Tamper(sql);
  EXPECT_EQ(Verify().exit_code, 0);
  const auto result = Verify({"--org", "org-1", "--anchor", "8:" + head_.hash});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("org-1: TAMPERED: event 8 changed: its hash is not the one recorded "
                            "for it"),
            std::string::npos)
      << result.out;
}

TEST_F(AuditCli, BadUsageExitsWithTwo) {
  EXPECT_EQ(Rapport({"audit", "verify", "--db", "sqlite:" + (dir_.path() / "none.db").string()})
                .exit_code,
            2);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "none.db"));
  EXPECT_EQ(Rapport({"audit", "verify", "--db", "mysql://somewhere/db"}).exit_code, 2);
  EXPECT_EQ(Verify({"--org", "org-nope"}).exit_code, 2);
  EXPECT_EQ(Verify({"--org", "org-1", "--anchor", "8:nothex"}).exit_code, 2);
  EXPECT_EQ(Verify({"--anchor", "8:" + head_.hash}).exit_code, 2);  // needs --org
  EXPECT_EQ(Rapport({"audit", "verify"}).exit_code, 2);
  EXPECT_EQ(
      Rapport({"audit", "list", "--db", db_url_, "--org", "org-1", "--format", "xml"}).exit_code,
      2);
}

TEST_F(AuditCli, ListPrintsEventsAsJsonOrATable) {
  const auto all = Rapport({"audit", "list", "--db", db_url_, "--org", "org-1"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::istringstream lines(all.out);
  std::string line;
  int64_t expected = 1;
  while (std::getline(lines, line)) {
    const Json event = Json::parse(line);
    EXPECT_EQ(event["seq"], expected);
    EXPECT_EQ(event["org_id"], "org-1");
    EXPECT_EQ(event["address"], "198.51.100.4");
    EXPECT_EQ(event["hash"].get<std::string>().size(), 64u);
    ++expected;
  }
  EXPECT_EQ(expected, kEvents + 1);

  const auto page =
      Rapport({"audit", "list", "--db", db_url_, "--org", "org-1", "--after", "5", "--limit", "2"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  std::istringstream page_lines(page.out);
  std::vector<int64_t> seqs;
  while (std::getline(page_lines, line)) seqs.push_back(Json::parse(line)["seq"].get<int64_t>());
  EXPECT_EQ(seqs, (std::vector<int64_t>{6, 7}));

  const auto table =
      Rapport({"audit", "list", "--db", db_url_, "--org", "org-2", "--format", "table"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("SEQ  AT ", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("client/c3"), std::string::npos) << table.out;
}

TEST(AuditDemo, AFreshDemoHasAChainThatVerifies) {
  testing::TempDir dir;
  {
    testing::ServerProcess server(
        {testing::RapportBinary().string(), "demo", "--data-dir", dir.path().string()});
    ASSERT_TRUE(server.started()) << server.output();
  }  // the demo is committed before the server listens; the child is killed here
  const auto result =
      testing::RunCommand({testing::RapportBinary().string(), "audit", "verify", "--db",
                           "sqlite:" + (dir.path() / "rapport.db").string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find(": ok: "), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find(": ok: 0 events"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace rapport
