// Text packs uploaded by an organisation's administrator (issue 8): validated against the
// installed instrument with every problem named, stored per organisation, listed, removable,
// audited, and used by that organisation's check-in pages before the site's wording. The
// wording here is invented, for Rapport's own progress check-in.
#include "api/test_world.h"
#include "base/id.h"

namespace rapport::api {
namespace {

using testing_world::Json;
using testing_world::Org;

// A whole English wording of rapport-progress, invented for this test.
Json ProgressPack(const std::string& language = "en") {
  Json items = Json::object();
  for (const char* id : {"self", "relationships", "daily-life", "overall"}) {
    items[id] = {{"text", std::string("Invented question about ") + id},
                 {"min_label", "Invented low"},
                 {"max_label", "Invented high"}};
  }
  return {{"textpack",
           {{"instrument", "rapport-progress"},
            {"instrument_version", "1"},
            {"language", language},
            {"source", "The clinic's invented wording"},
            {"licence", "Written for this test"}}},
          {"title", "Invented progress title"},
          {"items", items}};
}

class TextPackApi : public testing_world::World {
 protected:
  Response AsAdmin(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& org = "a") {
    const auto [cookie, csrf] = SignIn(orgs_.at(org).users.at("admin"));
    return Send({method, path, body, cookie, csrf});
  }

  // A check-in of rapport-progress for the organisation's client; returns its token.
  std::string OpenCheckin(const Org& org, const std::string& language) {
    const std::string token = NewToken(DefaultRandom());
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      domain::Checkin checkin;
      checkin.id = NewId(DefaultRandom());
      checkin.org_id = org.id;
      checkin.session_id = org.session_id;
      checkin.respondent_id = org.client_id;
      checkin.instrument_ids = {"rapport-progress"};
      checkin.token_digest = Sha256Hex(token);
      checkin.language = language;
      checkin.created_at = clock_.Now();
      checkin.expires_at = clock_.Now() + std::chrono::hours(1);
      return txn.PutCheckin(checkin);
    }));
    return token;
  }

  std::string CheckinPage(const std::string& token) {
    Request request;
    request.method = "GET";
    request.path = "/c/" + token;
    request.remote_address = "127.0.0.1";
    const Response response = app_->router().Handle(request);
    EXPECT_EQ(response.status, 200) << response.body;
    return response.body;
  }
};

constexpr const char* kShippedQuestion = "how have you been feeling in yourself?";

TEST_F(TextPackApi, AnUploadedPackWordsTheOrganisationsCheckinsOnly) {
  const std::string token_a = OpenCheckin(orgs_.at("a"), "en");
  const std::string token_b = OpenCheckin(orgs_.at("b"), "en");
  EXPECT_NE(CheckinPage(token_a).find(kShippedQuestion), std::string::npos);

  const Response uploaded = AsAdmin("POST", "/api/v1/textpacks", ProgressPack().dump());
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  const Json entry = Body(uploaded);
  EXPECT_EQ(entry["instrument"], "rapport-progress");
  EXPECT_EQ(entry["language"], "en");
  EXPECT_EQ(entry["uploaded_by"], orgs_.at("a").users.at("admin").id);
  EXPECT_EQ(entry["uploaded_by_name"], "admin a");
  EXPECT_EQ(entry["fits"], true);

  // Organisation a's page now uses its wording (over the definition's own); b's does not.
  const std::string page_a = CheckinPage(token_a);
  EXPECT_NE(page_a.find("Invented question about self"), std::string::npos);
  EXPECT_NE(page_a.find("Invented high"), std::string::npos);
  EXPECT_EQ(page_a.find(kShippedQuestion), std::string::npos);
  const std::string page_b = CheckinPage(token_b);
  EXPECT_NE(page_b.find(kShippedQuestion), std::string::npos);
  EXPECT_EQ(page_b.find("Invented question"), std::string::npos);

  // Listed with the site's packs, the replaced one marked.
  const Response listed = AsAdmin("GET", "/api/v1/textpacks", "");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const Json list = Body(listed);
  ASSERT_EQ(list["textpacks"].size(), 1u);
  EXPECT_EQ(list["textpacks"][0]["title"], "Invented progress title");
  EXPECT_EQ(list["textpacks"][0]["source"], "The clinic's invented wording");
  bool spanish_listed = false;
  for (const Json& site : list["site"]) {
    if (site["instrument"] == "rapport-progress" && site["language"] == "es") {
      spanish_listed = true;
      EXPECT_EQ(site["replaced"], false);
    }
  }
  EXPECT_TRUE(spanish_listed) << listed.body;
  EXPECT_EQ(Body(AsAdmin("GET", "/api/v1/textpacks", "", "b"))["textpacks"].size(), 0u);

  // A second upload replaces the first; a pack over a site pack is marked as replacing it.
  Json changed = ProgressPack();
  changed["items"]["self"]["text"] = "A reworded invented question";
  ASSERT_EQ(AsAdmin("POST", "/api/v1/textpacks", changed.dump()).status, 201);
  EXPECT_NE(CheckinPage(token_a).find("A reworded invented question"), std::string::npos);
  ASSERT_EQ(AsAdmin("POST", "/api/v1/textpacks", ProgressPack("es").dump()).status, 201);
  const Json both = Body(AsAdmin("GET", "/api/v1/textpacks", ""));
  EXPECT_EQ(both["textpacks"].size(), 2u);
  for (const Json& site : both["site"]) {
    if (site["instrument"] == "rapport-progress" && site["language"] == "es") {
      EXPECT_EQ(site["replaced"], true);
    }
  }

  // Removed: the definition's own wording applies again; removing again is 404.
  EXPECT_EQ(AsAdmin("DELETE", "/api/v1/textpacks/rapport-progress/en", "").status, 204);
  EXPECT_NE(CheckinPage(token_a).find(kShippedQuestion), std::string::npos);
  EXPECT_EQ(AsAdmin("DELETE", "/api/v1/textpacks/rapport-progress/en", "").status, 404);
  // Another organisation cannot remove it.
  EXPECT_EQ(AsAdmin("DELETE", "/api/v1/textpacks/rapport-progress/es", "", "b").status, 404);

  // Audited under the pack's address.
  std::vector<std::string> audited;
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto events, txn.ListAudit(orgs_.at("a").id, 0, 1000));
    for (const auto& event : events) {
      if (event.resource.starts_with("/api/v1/textpacks/")) {
        audited.push_back(event.action + " " + event.resource + " " + event.detail);
      }
    }
    return Status::Ok();
  }));
  EXPECT_EQ(audited, (std::vector<std::string>{
                         "create /api/v1/textpacks/rapport-progress/en 201",
                         "create /api/v1/textpacks/rapport-progress/en 201",
                         "create /api/v1/textpacks/rapport-progress/es 201",
                         "delete /api/v1/textpacks/rapport-progress/en 204",
                         "delete /api/v1/textpacks/rapport-progress/en 404",
                     }));
}

TEST_F(TextPackApi, EveryProblemIsNamedByItemAndField) {
  Json pack = ProgressPack();
  pack["items"]["self"].erase("text");
  pack["items"]["overall"]["max_label"] = "";
  pack["items"]["invented-extra"] = {{"text", "Not an item"}};
  pack.erase("title");
  const Response refused = AsAdmin("POST", "/api/v1/textpacks", pack.dump());
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.content_type, "application/problem+json");
  const Json problem = Body(refused);
  std::set<std::string> named;
  for (const Json& entry : problem["problems"]) {
    named.insert((entry["item"].is_null() ? std::string("-") : entry["item"].get<std::string>()) +
                 " " + entry["field"].get<std::string>());
  }
  EXPECT_TRUE(named.contains("self items.self.text")) << refused.body;
  EXPECT_TRUE(named.contains("overall items.overall.max_label")) << refused.body;
  EXPECT_TRUE(named.contains("invented-extra items.invented-extra")) << refused.body;
  EXPECT_TRUE(named.contains("- title")) << refused.body;
  EXPECT_NE(problem["detail"].get<std::string>().find("item self"), std::string::npos);

  // An instrument that is not installed, a wrong option count, bad JSON, a wrong type.
  Json unknown = ProgressPack();
  unknown["textpack"]["instrument"] = "invented-instrument";
  const Response not_installed = AsAdmin("POST", "/api/v1/textpacks", unknown.dump());
  EXPECT_EQ(not_installed.status, 422);
  EXPECT_EQ(Body(not_installed)["field"], "textpack.instrument");
  EXPECT_EQ(AsAdmin("POST", "/api/v1/textpacks", "{\"textpack\": ").status, 400);
  const Response no_header = AsAdmin("POST", "/api/v1/textpacks", R"({"items": []})");
  EXPECT_EQ(no_header.status, 422);
  EXPECT_EQ(Body(no_header)["field"], "textpack");
  // Nothing was stored.
  EXPECT_EQ(Body(AsAdmin("GET", "/api/v1/textpacks", ""))["textpacks"].size(), 0u);
}

TEST_F(TextPackApi, OnlyAdministratorsUploadAndRemove) {
  for (const char* person : {"supervisor", "clinician1", "researcher"}) {
    const auto [cookie, csrf] = SignIn(orgs_.at("a").users.at(person));
    EXPECT_EQ(Send({"POST", "/api/v1/textpacks", ProgressPack().dump(), cookie, csrf}).status, 403)
        << person;
    EXPECT_EQ(Send({"GET", "/api/v1/textpacks", "", cookie, csrf}).status, 200) << person;
  }
}

}  // namespace
}  // namespace rapport::api
