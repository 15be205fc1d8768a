// Export and import of one organisation (transfer.h) on SQLite: what a round trip keeps, and
// every malformed or conflicting export refused with nothing written. The round trip through
// PostgreSQL and back runs through the real binary (tests/integration/transfer_e2e_test.cc).
#include "storage/transfer.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/id.h"
#include "testing/testing.h"

namespace rapport::storage {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class Transfer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenStore("sqlite:" + (dir_.path() / "source.db").string());
    ASSERT_OK(store);
    source_ = std::move(store).value();
    const Timestamp now = clock_.Now();
    ASSERT_OK(source_->Write([&](WriteTransaction& txn) -> Status {
      for (const std::string org : {"org-a", "org-b"}) {
        RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({org, "Clinic " + org, now}));
        RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"main-" + org, org, "Main"}));
        RAPPORT_RETURN_IF_ERROR(
            txn.PutUser({"user-" + org, org, "main-" + org, org + "@example.org", "Dr " + org,
                         domain::Role::kClinician, "hash", false, now}));
        RAPPORT_RETURN_IF_ERROR(txn.PutClient({"client-" + org, org, "C-1", "en", true, now}));
        domain::AuditEvent event;
        event.org_id = org;
        event.at = now;
        event.actor = "user-" + org;
        event.action = "read";
        event.resource = "client/client-" + org;
        event.address = "192.0.2.1";
        for (int k = 0; k < 3; ++k) RAPPORT_RETURN_IF_ERROR(txn.AppendAudit(event).status());
      }
      return Status::Ok();
    }));
  }

  std::unique_ptr<Store> NewStore(const std::string& name) {
    auto store = OpenStore("sqlite:" + (dir_.path() / name).string());
    EXPECT_OK(store);
    return store.ok() ? std::move(store).value() : nullptr;
  }

  fs::path Export(const std::string& name = "export") {
    const fs::path out = dir_.path() / name;
    EXPECT_OK(ExportOrganization(*source_, "org-a", out, "console", clock_.Now()));
    return out;
  }

  // Rewrites the manifest's digest and row count of `file` to match its content, as someone
  // hiding a change would.
  static void Reseal(const fs::path& dir, const std::string& file) {
    Json manifest = Json::parse(testing::ReadFileText(dir / kManifestFile));
    const std::string text = testing::ReadFileText(dir / file);
    for (Json& table : manifest["tables"]) {
      if (table["file"] != file) continue;
      table["sha256"] = Sha256Hex(text);
      table["rows"] = std::count(text.begin(), text.end(), '\n');
    }
    WriteText(dir / kManifestFile, manifest.dump());
  }

  // Imports `dir` into a new database; the organisation must be absent afterwards when it fails.
  Status ImportIntoNew(const fs::path& dir) {
    auto target = NewStore("target-" + std::to_string(++imports_) + ".db");
    if (target == nullptr) return Internal("no target");
    const Status status = ImportOrganization(*target, dir, "console", clock_.Now()).status();
    if (!status.ok()) {
      EXPECT_OK(target->Read([](ReadTransaction& txn) -> Status {
        EXPECT_TRUE(txn.ListOrganizations()->empty()) << "a failed import wrote something";
        return Status::Ok();
      }));
    }
    return status;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> source_;
  int imports_ = 0;
};

TEST_F(Transfer, ARoundTripGivesTheSameFilesAndAChainThatGoesOn) {
  const fs::path first = Export("first");
  auto target = NewStore("target.db");
  ASSERT_NE(target, nullptr);
  auto imported = ImportOrganization(*target, first, "console", clock_.Now());
  ASSERT_OK(imported);
  EXPECT_EQ(imported->org_id, "org-a");
  EXPECT_EQ(imported->rows, 1 + 1 + 1 + 1 + 3 + 1);  // org, clinic, user, client, events, head
  const fs::path second = dir_.path() / "second";
  ASSERT_OK(ExportOrganization(*target, "org-a", second, "console", clock_.Now()));
  for (const TableSpec& table : OrganizationTables()) {
    const std::string file = std::string(table.name) + ".ndjson";
    if (table.name == "audit_events" || table.name == "audit_heads") continue;
    EXPECT_EQ(testing::ReadFileText(first / file), testing::ReadFileText(second / file)) << file;
  }
  // The chain holds the exported events unchanged, then the import's own.
  const std::string before = testing::ReadFileText(first / "audit_events.ndjson");
  const std::string after = testing::ReadFileText(second / "audit_events.ndjson");
  EXPECT_EQ(after.substr(0, before.size()), before);
  EXPECT_NE(after.find("\"organization.import\"", before.size()), std::string::npos);
  ASSERT_OK(target->Read([](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto chain, VerifyStoredAuditChain(txn, "org-a"));
    EXPECT_TRUE(chain.ok());
    EXPECT_EQ(chain.events, 3 + 2);  // + the import, + the export of `second`
    RAPPORT_ASSIGN_OR_RETURN(const auto orgs, txn.ListOrganizations());
    EXPECT_EQ(orgs.size(), 1u) << "only the exported organisation";
    return Status::Ok();
  }));
  // The source records its export too.
  ASSERT_OK(source_->Read([](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto events, txn.ListAudit("org-a", 3, 10));
    EXPECT_EQ(events.size(), 1u);
    if (!events.empty()) {
      EXPECT_EQ(events[0].action, "organization.export");
    }
    return Status::Ok();
  }));
  // Importing again is a conflict: the organisation is there.
  const auto again = ImportOrganization(*target, first, "console", clock_.Now());
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_NE(again.status().message().find("already exists"), std::string::npos);
}

TEST_F(Transfer, TheExportIsForItsOwnerOnly) {
  const fs::path out = Export();
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(out / "users.ndjson").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(out / kManifestFile).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(Transfer, ExportRefusesAnUnknownOrganisationAndAFolderInUse) {
  EXPECT_EQ(ExportOrganization(*source_, "nope", dir_.path() / "x", "console", clock_.Now())
                .status()
                .code(),
            StatusCode::kNotFound);
  const fs::path used = dir_.path() / "used";
  fs::create_directories(used);
  WriteText(used / "keep.txt", "mine");
  const auto refused = ExportOrganization(*source_, "org-a", used, "console", clock_.Now());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(testing::ReadFileText(used / "keep.txt"), "mine");
}

TEST_F(Transfer, AChangedFileIsRefusedByItsChecksum) {
  const fs::path out = Export();
  std::string users = testing::ReadFileText(out / "users.ndjson");
  users.replace(users.find("clinician"), 9, "admin\",\"x");
  WriteText(out / "users.ndjson", users);
  const Status status = ImportIntoNew(out);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("users.ndjson"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("SHA-256"), std::string::npos) << status.message();
}

TEST_F(Transfer, ARowOfAnotherOrganisationIsRefusedNamingFileAndLine) {
  const fs::path out = Export();
  std::string clients = testing::ReadFileText(out / "clients.ndjson");
  clients.replace(clients.find("\"org-a\""), 7, "\"org-b\"");
  WriteText(out / "clients.ndjson", clients);
  Reseal(out, "clients.ndjson");
  const Status status = ImportIntoNew(out);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("clients.ndjson:1: org_id"), std::string::npos)
      << status.message();
}

TEST_F(Transfer, MissingUnknownAndMistypedColumnsAreNamed) {
  const struct {
    std::string from;
    std::string to;
    std::string message;
  } cases[] = {
      {"\"code\":\"C-1\",", "", "clients.ndjson:1: code is missing"},
      {"\"code\":\"C-1\"", "\"code\":\"C-1\",\"shoe_size\":9", "shoe_size is not a column"},
      {"\"code\":\"C-1\"", "\"code\":1", "clients.ndjson:1: code must be text"},
      {"\"consent_research\":true", "\"consent_research\":\"yes\"", "must be boolean or null"},
      {"{", "[", "clients.ndjson:1: is not a JSON object"},
  };
  for (const auto& c : cases) {
    const fs::path out = Export("export-" + std::to_string(imports_));
    std::string clients = testing::ReadFileText(out / "clients.ndjson");
    ASSERT_NE(clients.find(c.from), std::string::npos) << clients;
    clients.replace(clients.find(c.from), c.from.size(), c.to);
    WriteText(out / "clients.ndjson", clients);
    Reseal(out, "clients.ndjson");
    const Status status = ImportIntoNew(out);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(status.message().find(c.message), std::string::npos) << status.message();
  }
}

TEST_F(Transfer, AnAuditChainThatNoLongerVerifiesIsRefused) {
  const fs::path out = Export();
  std::string events = testing::ReadFileText(out / "audit_events.ndjson");
  events.replace(events.find("192.0.2.1"), 9, "192.0.2.9");
  WriteText(out / "audit_events.ndjson", events);
  Reseal(out, "audit_events.ndjson");
  const Status status = ImportIntoNew(out);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("does not verify"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("event 1"), std::string::npos) << status.message();

  // Dropping the last event and its head entry is caught by the manifest's audit head.
  const fs::path cut = Export("cut");
  std::string all = testing::ReadFileText(cut / "audit_events.ndjson");
  all.erase(all.rfind('\n', all.size() - 2) + 1);
  WriteText(cut / "audit_events.ndjson", all);
  Reseal(cut, "audit_events.ndjson");
  const Status cut_status = ImportIntoNew(cut);
  EXPECT_EQ(cut_status.code(), StatusCode::kInvalidArgument) << cut_status.message();
}

TEST_F(Transfer, AManifestFromElsewhereIsRefused) {
  const auto with_manifest = [&](const std::string& name, const std::function<void(Json&)>& edit) {
    const fs::path out = Export(name);
    Json manifest = Json::parse(testing::ReadFileText(out / kManifestFile));
    edit(manifest);
    WriteText(out / kManifestFile, manifest.dump());
    const Status status = ImportIntoNew(out);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << name;
    return status.message();
  };
  EXPECT_NE(with_manifest("newer", [](Json& m) { m["schema_version"] = 999; }).find("newer"),
            std::string::npos);
  EXPECT_NE(
      with_manifest("older", [](Json& m) { m["schema_version"] = 8; }).find("rapport migrate"),
      std::string::npos);
  EXPECT_NE(with_manifest("format", [](Json& m) { m["format"] = "csv"; }).find("format"),
            std::string::npos);
  EXPECT_NE(with_manifest("escape", [](Json& m) { m["tables"][0]["file"] = "../../etc/passwd"; })
                .find("must be in organizations.ndjson"),
            std::string::npos);
  EXPECT_NE(with_manifest("missing", [](Json& m) { m["tables"].erase(1); }).find("is missing"),
            std::string::npos);
  EXPECT_NE(ImportIntoNew(dir_.path() / "nothing-here").message().find("rapport export"),
            std::string::npos);
}

}  // namespace
}  // namespace rapport::storage
