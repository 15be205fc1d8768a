// Handlers through the router, without a socket, on a real SQLite store in a temp folder.
#include "api/app.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "base/id.h"
#include "instruments/catalog.h"
#include "instruments/textpack.h"
#include "testing/testing.h"

namespace rapport::api {
namespace {

using Json = nlohmann::json;

class AppTest : public ::testing::Test {
 protected:
  AppTest() : random_(3) {
    auto catalog =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(catalog).value();
    auto store = storage::OpenStore("sqlite:" + (dir_.path() / "app.db").string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    app_ = std::make_unique<App>(*store_, catalog_, clock_, random_, AppOptions{});
    const Timestamp now = clock_.Now();
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org", "Org", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({"client", "org", "C-1", "en", false, now}));
      domain::Episode episode{"episode",  "org", "", domain::Modality::kIndividual,
                              {"client"}, {},    now};
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      domain::Session session;
      session.id = "session";
      session.org_id = "org";
      session.episode_id = "episode";
      session.number = 1;
      session.scheduled_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
      domain::Checkin checkin;
      checkin.id = "checkin";
      checkin.org_id = "org";
      checkin.session_id = "session";
      checkin.respondent_id = "client";
      checkin.instrument_ids = {"rapport-alliance-client"};
      checkin.token_digest = Sha256Hex(token_);
      checkin.language = "en";
      checkin.created_at = now;
      checkin.expires_at = now + std::chrono::hours(1);
      return txn.PutCheckin(checkin);
    }));
  }

  Response Send(std::string method, std::string path, std::string body = {},
                std::string content_type = "application/json",
                std::map<std::string, std::string> query = {}, std::string accept_language = {}) {
    Request request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.body = std::move(body);
    request.query = std::move(query);
    request.headers["content-type"] = std::move(content_type);
    if (!accept_language.empty()) request.headers["accept-language"] = std::move(accept_language);
    return app_->router().Handle(request);
  }

  // Opens another check-in for the fixture's session and returns its token.
  std::string OpenCheckin(std::vector<std::string> instrument_ids, std::string language,
                          std::string respondent_id = "client",
                          std::string session_id = "session") {
    const std::string token = NewToken(DefaultRandom());
    const Timestamp now = clock_.Now();
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      domain::Checkin checkin;
      checkin.id = NewId(DefaultRandom());
      checkin.org_id = "org";
      checkin.session_id = std::move(session_id);
      checkin.respondent_id = std::move(respondent_id);
      checkin.instrument_ids = std::move(instrument_ids);
      checkin.token_digest = Sha256Hex(token);
      checkin.language = std::move(language);
      checkin.created_at = now;
      checkin.expires_at = now + std::chrono::hours(1);
      return txn.PutCheckin(checkin);
    }));
    return token;
  }

  static bool Contains(const Response& response, const std::string& text) {
    return response.body.find(text) != std::string::npos;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  SeededRandom random_;
  instruments::Catalog catalog_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<App> app_;
  const std::string token_ = NewToken(DefaultRandom());
};

TEST_F(AppTest, HealthAndStartPage) {
  EXPECT_EQ(Send("GET", "/healthz").status, 200);
  const Response start = Send("GET", "/");
  EXPECT_EQ(start.status, 200);
  EXPECT_NE(start.body.find("Rapport"), std::string::npos);
  EXPECT_EQ(Send("GET", "/assets/rapport.css").status, 200);
  // Every page links its icon, so browsers never ask for a missing /favicon.ico.
  EXPECT_NE(start.body.find("href=\"/assets/favicon.svg\""), std::string::npos);
  EXPECT_EQ(Send("GET", "/assets/favicon.svg").content_type, "image/svg+xml");
}

TEST_F(AppTest, FormShowsEveryItemWithLabelledOptions) {
  const Response page = Send("GET", "/c/" + token_);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("I felt heard and respected today."), std::string::npos);
  EXPECT_NE(page.body.find("name=\"i.rapport-alliance-client.open-1\""), std::string::npos);
  EXPECT_NE(page.body.find("<legend"), std::string::npos);
  // No inline script (the Content-Security-Policy allows only 'self'): one external script.
  const std::string tag = "<script src=\"/assets/checkin.js\" defer></script>";
  const size_t script = page.body.find("<script");
  EXPECT_EQ(page.body.compare(script, tag.size(), tag), 0) << page.body.substr(script, 80);
  EXPECT_EQ(page.body.find("<script", script + 1), std::string::npos);
  // The progress line the script fills in, worded for the page's language.
  EXPECT_NE(page.body.find("data-template=\"{answered} of {total} questions answered\""),
            std::string::npos);
}

TEST_F(AppTest, ServesBuiltBrowserCodeWithItsType) {
  testing::TempDir web;
  std::ofstream(web.path() / "checkin.js") << "console.log(1);";
  std::ofstream(web.path() / "notes.txt") << "not served";
  AppOptions options;
  options.web_dir = web.path();
  App app(*store_, catalog_, clock_, random_, options);
  Request request;
  request.method = "GET";
  request.path = "/assets/checkin.js";
  Response response = app.router().Handle(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(response.body, "console.log(1);");
  request.path = "/assets/notes.txt";
  EXPECT_EQ(app.router().Handle(request).status, 404);
  request.path = "/assets/..%2Fcheckin.js";
  EXPECT_EQ(app.router().Handle(request).status, 404);
  request.path = "/assets/rapport.css";
  EXPECT_EQ(app.router().Handle(request).status, 200);
}

TEST_F(AppTest, FormSubmissionScoresAndShowsTheResult) {
  std::string body;
  for (const char* item :
       {"bond-1", "bond-2", "goals-1", "goals-2", "tasks-1", "tasks-2", "open-1"}) {
    body += std::string("i.rapport-alliance-client.") + item + "=4&";
  }
  const Response created = Send("POST", "/c/" + token_, body, "application/x-www-form-urlencoded");
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find("Your answers have been saved"), std::string::npos);
  // Same answers again: the stored result, not a duplicate.
  const Response again = Send("POST", "/c/" + token_, body, "application/x-www-form-urlencoded");
  EXPECT_EQ(again.status, 200);
  ASSERT_OK(store_->Read([](storage::ReadTransaction& txn) -> Status {
    EXPECT_EQ(*txn.CountResponses("org"), 1);
    return Status::Ok();
  }));
  // The link now shows what was saved.
  EXPECT_NE(Send("GET", "/c/" + token_).body.find("already been answered"), std::string::npos);
}

TEST_F(AppTest, FormWithAMissingAnswerIsShownAgainNamingTheQuestion) {
  const Response response = Send("POST", "/c/" + token_, "i.rapport-alliance-client.bond-1=3",
                                 "application/x-www-form-urlencoded");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("role=\"alert\""), std::string::npos);
  EXPECT_NE(response.body.find("value=\"3\" checked"), std::string::npos);
}

TEST_F(AppTest, JsonSubmissionAndItsErrors) {
  const std::string path = "/api/v1/checkins/" + token_;
  const Response bad_item =
      Send("POST", path,
           R"({"responses":[{"instrument":"rapport-alliance-client","answers":[4,4,4,4,4,4,9]}]})");
  EXPECT_EQ(bad_item.status, 400);
  EXPECT_EQ(Json::parse(bad_item.body)["field"], "rapport-alliance-client.item open-1");
  EXPECT_EQ(Send("POST", path, "{").status, 400);
  EXPECT_EQ(Send("POST", path, std::string(100, '[') + std::string(100, ']')).status, 400);
  EXPECT_EQ(Send("POST", path, R"({"responses":[{"instrument":"phq-9","answers":[]}]})").status,
            400);
  EXPECT_EQ(Send("POST", path, "{}", "text/plain").status, 415);

  const std::string good =
      R"({"responses":[{"instrument":"rapport-alliance-client","answers":[4,3,4,3,4,3,2]}]})";
  const Response created = Send("POST", path, good);
  ASSERT_EQ(created.status, 201) << created.body;
  const Json result = Json::parse(created.body);
  EXPECT_NEAR(result["responses"][0]["score"]["total"].get<double>(), 23.0 / 7, 1e-9);
  EXPECT_EQ(Send("POST", path, good).status, 200);
  const Response different =
      Send("POST", path,
           R"({"responses":[{"instrument":"rapport-alliance-client","answers":[0,0,0,0,0,0,0]}]})");
  EXPECT_EQ(different.status, 409);
  EXPECT_EQ(different.content_type, "application/problem+json");
}

// The result names the signals the respondent's session raised about them, by kind, severity
// and status only (the evidence and guidance are for staff); the same submission again shows
// them as they stand now; what was raised about another member of the episode is not shown.
TEST_F(AppTest, SubmissionResultNamesTheSignalsItsSessionRaisedAboutTheRespondent) {
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return txn.PutClient({"partner", "org", "C-2", "en", false, clock_.Now()});
  }));
  const auto submit = [&](const std::string& token, const std::string& instrument,
                          const std::string& answers) {
    const Response response =
        Send("POST", "/api/v1/checkins/" + token,
             R"({"responses":[{"instrument":")" + instrument + R"(","answers":)" + answers + "}]}");
    EXPECT_TRUE(response.status == 200 || response.status == 201) << response.body;
    return std::pair(response.status, Json::parse(response.body, nullptr, false));
  };
  // A good alliance rating raises nothing.
  const auto [calm_status, calm] = submit(token_, "rapport-alliance-client", "[4,4,4,4,4,4,4]");
  EXPECT_EQ(calm_status, 201);
  EXPECT_EQ(calm["signals"], Json::array());

  // The partner answers the risk item.
  const std::string partner_token = OpenCheckin({"phq-9"}, "en", "partner");
  const auto [risk_status, risk] = submit(partner_token, "phq-9", "[1,1,1,1,1,1,1,1,2]");
  EXPECT_EQ(risk_status, 201);
  ASSERT_EQ(risk["signals"].size(), 1u) << risk.dump();
  EXPECT_EQ(risk["signals"][0],
            Json::parse(R"({"kind":"risk-item","severity":"urgent","status":"open",)"
                        R"("since_session":1})"));

  // The client's own outcome rating in the same session: the partner's alert is not theirs.
  const auto [own_status, own] =
      submit(OpenCheckin({"phq-9"}, "en"), "phq-9", "[1,1,1,1,1,1,1,1,0]");
  EXPECT_EQ(own_status, 201);
  EXPECT_EQ(own["signals"], Json::array());

  // Staff acknowledge it; the partner's link, sent again, shows that.
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListAlerts("org", {}));
    for (const domain::Alert& alert : all) {
      if (alert.kind != "risk-item") continue;
      RAPPORT_RETURN_IF_ERROR(
          alerts::AcknowledgeAlert(txn, "org", alert.id, "clinician", clock_.Now()));
    }
    return Status::Ok();
  }));
  const auto [again_status, again] = submit(partner_token, "phq-9", "[1,1,1,1,1,1,1,1,2]");
  EXPECT_EQ(again_status, 200);
  ASSERT_EQ(again["signals"].size(), 1u);
  EXPECT_EQ(again["signals"][0]["status"], "acknowledged");

  // At the next session the alert is still active, but that session did not raise it.
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    domain::Session session;
    session.id = "session-2";
    session.org_id = "org";
    session.episode_id = "episode";
    session.number = 2;
    session.scheduled_at = clock_.Now();
    return txn.PutSession(session);
  }));
  const auto [next_status, next] =
      submit(OpenCheckin({"phq-9"}, "en", "partner", "session-2"), "phq-9", "[0,0,0,0,0,0,0,0,0]");
  EXPECT_EQ(next_status, 201);
  EXPECT_EQ(next["signals"], Json::array());
}

// Every submission is audited in the transaction that stores it: "create" when stored, "read"
// when the same answers come again; a refused one leaves no audit event.
TEST_F(AppTest, SubmissionsAreAuditedWithTheirAnswersInOneTransaction) {
  const std::string form_token = OpenCheckin({"rapport-alliance-client"}, "en");
  const auto send_from = [&](const std::string& path, const std::string& body,
                             const std::string& type) {
    Request request;
    request.method = "POST";
    request.path = path;
    request.body = body;
    request.headers["content-type"] = type;
    request.remote_address = "203.0.113.9";
    return app_->router().Handle(request);
  };
  const std::string good =
      R"({"responses":[{"instrument":"rapport-alliance-client","answers":[4,3,4,3,4,3,2]}]})";
  EXPECT_EQ(send_from("/api/v1/checkins/" + token_, good, "application/json").status, 201);
  EXPECT_EQ(send_from("/api/v1/checkins/" + token_, good, "application/json").status, 200);
  EXPECT_EQ(send_from("/api/v1/checkins/" + token_,
                      R"({"responses":[{"instrument":"rapport-alliance-client",)"
                      R"("answers":[0,0,0,0,0,0,0]}]})",
                      "application/json")
                .status,
            409);
  std::string form;
  for (const char* item :
       {"bond-1", "bond-2", "goals-1", "goals-2", "tasks-1", "tasks-2", "open-1"}) {
    form += std::string("i.rapport-alliance-client.") + item + "=4&";
  }
  EXPECT_EQ(send_from("/c/" + form_token, form, "application/x-www-form-urlencoded").status, 201);
  EXPECT_EQ(send_from("/c/" + form_token, form, "application/x-www-form-urlencoded").status, 200);

  std::string form_checkin;
  std::vector<domain::AuditEvent> events;
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Checkin checkin,
                             txn.GetCheckinByTokenDigest(Sha256Hex(form_token)));
    form_checkin = checkin.id;
    RAPPORT_ASSIGN_OR_RETURN(events, txn.ListAudit("org", 0, 100));
    return Status::Ok();
  }));
  ASSERT_EQ(events.size(), 4u);
  const std::pair<std::string, std::string> expected[] = {
      {"checkin", "create"}, {"checkin", "read"}, {form_checkin, "create"}, {form_checkin, "read"}};
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].actor, "checkin:" + expected[i].first) << i;
    EXPECT_EQ(events[i].action, expected[i].second) << i;
    EXPECT_EQ(events[i].resource, "session/session/checkin/" + expected[i].first) << i;
    EXPECT_EQ(events[i].address, "203.0.113.9") << i;
    EXPECT_EQ(events[i].at, clock_.Now()) << i;
  }
}

TEST_F(AppTest, UnknownAndExpiredLinks) {
  EXPECT_EQ(Send("GET", "/c/not-a-token").status, 404);
  EXPECT_EQ(Send("GET", "/c/" + NewToken(DefaultRandom())).status, 404);
  clock_.Advance(std::chrono::hours(2));
  const Response expired = Send("GET", "/c/" + token_);
  EXPECT_EQ(expired.status, 410);
  EXPECT_NE(expired.body.find("expired"), std::string::npos);
}

TEST_F(AppTest, TheRespondentChoosesTheLanguageAtTheStart) {
  const Response english = Send("GET", "/c/" + token_);
  ASSERT_EQ(english.status, 200);
  EXPECT_TRUE(Contains(english, "<html lang=\"en\">"));
  EXPECT_TRUE(Contains(english, "How was today&#39;s session?"));
  EXPECT_TRUE(Contains(english, "href=\"/c/" + token_ + "?lang=es\" hreflang=\"es\""));
  EXPECT_TRUE(Contains(english, ">Español</a>"));
  const Response spanish = Send("GET", "/c/" + token_, {}, "", {{"lang", "es"}});
  ASSERT_EQ(spanish.status, 200);
  EXPECT_TRUE(Contains(spanish, "<html lang=\"es\">"));
  EXPECT_TRUE(Contains(spanish, "¿Cómo fue la sesión de hoy?"));
  EXPECT_TRUE(Contains(spanish, "Enviar mis respuestas"));
  EXPECT_TRUE(Contains(spanish, "<input type=\"hidden\" name=\"lang\" value=\"es\">"));
  EXPECT_FALSE(Contains(spanish, "How was today&#39;s session?"));
  // A language nobody offers is ignored.
  EXPECT_TRUE(Contains(Send("GET", "/c/" + token_, {}, "", {{"lang", "xx"}}), "lang=\"en\""));
}

TEST_F(AppTest, TheRecordedLanguageThenTheBrowsersChoose) {
  const std::string spanish_client = OpenCheckin({"rapport-progress"}, "es");
  EXPECT_TRUE(Contains(Send("GET", "/c/" + spanish_client), "<html lang=\"es\">"));
  const std::string unknown = OpenCheckin({"rapport-progress"}, "");
  EXPECT_TRUE(Contains(Send("GET", "/c/" + unknown, {}, "", {}, "es-MX,es;q=0.9,en;q=0.5"),
                       "<html lang=\"es\">"));
  EXPECT_TRUE(
      Contains(Send("GET", "/c/" + unknown, {}, "", {}, "fr, en;q=0.3"), "<html lang=\"en\">"));
}

TEST_F(AppTest, SubmittingInSpanishAnswersInSpanish) {
  const std::string path = "/c/" + token_;
  const Response missing = Send("POST", path, "lang=es&i.rapport-alliance-client.bond-1=4",
                                "application/x-www-form-urlencoded");
  EXPECT_EQ(missing.status, 400);
  EXPECT_TRUE(Contains(missing, "Revise sus respuestas, por favor."));
  EXPECT_TRUE(Contains(missing, "Responda, por favor, a la pregunta «"));
  std::string body = "lang=es";
  for (const char* item :
       {"bond-1", "bond-2", "goals-1", "goals-2", "tasks-1", "tasks-2", "open-1"})
    body += std::string("&i.rapport-alliance-client.") + item + "=3";
  const Response done = Send("POST", path, body, "application/x-www-form-urlencoded");
  EXPECT_EQ(done.status, 201);
  EXPECT_TRUE(Contains(done, "<h1>Gracias</h1>"));
  EXPECT_TRUE(Contains(done, "<dt>Vínculo</dt>"));
}

TEST_F(AppTest, FallbackToAnotherLanguageIsSaidOnThePage) {
  // PHQ-9 worded in English only (a site's text pack), asked for in Spanish.
  Json items = Json::object();
  for (int i = 1; i <= 9; ++i) {
    items[std::to_string(i)] = {{"text", "Placeholder " + std::to_string(i)},
                                {"options", {"a", "b", "c", "d"}}};
  }
  const Json pack = {
      {"textpack",
       {{"instrument", "phq-9"}, {"language", "en"}, {"source", "test"}, {"licence", "test"}}},
      {"title", "Placeholder mood questionnaire"},
      {"items", items}};
  ASSERT_OK(catalog_.AddTextPack(*instruments::ParseTextPack(pack.dump(), "phq-9.en.json")));
  const std::string token = OpenCheckin({"rapport-alliance-client", "phq-9"}, "es");
  const Response page = Send("GET", "/c/" + token);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(Contains(page, "¿Cómo fue la sesión de hoy?"));
  EXPECT_TRUE(Contains(page, "<section class=\"instrument\" lang=\"en\">"));
  EXPECT_TRUE(Contains(page,
                       "Este cuestionario no está disponible en Español; se muestra en "
                       "English."));
  EXPECT_TRUE(Contains(page, "Placeholder 9"));
}

TEST_F(AppTest, TheGoalsFormAsksAboutEachAgreedGoalInItsWords) {
  const std::string token = OpenCheckin({"rapport-goals"}, "en");
  // Without agreed goals, the form asks about every slot as worded.
  const Response open = Send("GET", "/c/" + token);
  ASSERT_EQ(open.status, 200) << open.body;
  EXPECT_TRUE(Contains(open, "name=\"i.rapport-goals.goal-5\""));
  EXPECT_FALSE(Contains(open, "class=\"goal\""));

  const Timestamp now = clock_.Now();
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutClient({"partner", "org", "C-2", "en", false, now}));
    RAPPORT_RETURN_IF_ERROR(
        txn.PutGoal({"g1", "org", "episode", "client", "Sleep <through> the night", now}));
    RAPPORT_RETURN_IF_ERROR(txn.PutGoal({"g-other", "org", "episode", "partner", "Not mine", now}));
    return txn.PutGoal(
        {"g2", "org", "episode", "client", "Walk every day", now + std::chrono::milliseconds(1)});
  }));
  const Response page = Send("GET", "/c/" + token);
  ASSERT_EQ(page.status, 200) << page.body;
  // The respondent's two goals beside the first two items, escaped; no third slot; not the
  // partner's goal.
  EXPECT_TRUE(Contains(page,
                       "<p class=\"goal\" id=\"q-rapport-goals-goal-1-goal\">Sleep "
                       "&lt;through&gt; the night</p>"))
      << page.body;
  EXPECT_TRUE(Contains(page, "id=\"q-rapport-goals-goal-2-goal\">Walk every day</p>"));
  EXPECT_TRUE(Contains(page, "aria-describedby=\"q-rapport-goals-goal-1-goal\""));
  EXPECT_FALSE(Contains(page, "name=\"i.rapport-goals.goal-3\""));
  EXPECT_FALSE(Contains(page, "Not mine"));

  // Answered: the ratings are stored against the goals' slots.
  const Response created =
      Send("POST", "/c/" + token, "lang=en&i.rapport-goals.goal-1=3&i.rapport-goals.goal-2=6",
           "application/x-www-form-urlencoded");
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto responses, txn.ListResponsesForEpisode("org", "episode"));
    EXPECT_EQ(responses.size(), 1u);
    if (responses.size() != 1u) return Status::Ok();
    EXPECT_EQ(responses[0].answers[0], (domain::ItemAnswer{"goal-1", 3.0}));
    EXPECT_EQ(responses[0].answers[1], (domain::ItemAnswer{"goal-2", 6.0}));
    EXPECT_EQ(responses[0].answers[2], (domain::ItemAnswer{"goal-3", std::nullopt}));
    return Status::Ok();
  }));
}

TEST_F(AppTest, AnInstrumentWithoutWordingIsNeverShown) {
  const std::string token = OpenCheckin({"rapport-alliance-client", "gad-7"}, "es");
  const Response page = Send("GET", "/c/" + token);
  EXPECT_EQ(page.status, 503);
  EXPECT_TRUE(Contains(page, "Esta valoración aún no se puede mostrar"));
  EXPECT_FALSE(Contains(page, "<form"));
  // It can still be scored through the API (for example by a clinic's own licensed form).
  const Response scored =
      Send("POST", "/api/v1/checkins/" + token,
           R"({"responses": [{"instrument": "rapport-alliance-client", "answers": [4,4,4,4,4,4,4]},
                        {"instrument": "gad-7", "answers": [3,3,3,3,3,0,3]}]})");
  ASSERT_EQ(scored.status, 201) << scored.body;
  EXPECT_EQ(Json::parse(scored.body)["responses"][1]["score"]["band"], "severe");
}

TEST_F(AppTest, ErrorPagesSpeakTheRequestedLanguage) {
  const Response unknown = Send("GET", "/c/not-a-token", {}, "", {{"lang", "es"}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(Contains(unknown, "Enlace no reconocido"));
  EXPECT_TRUE(Contains(Send("GET", "/c/not-a-token", {}, "", {}, "es"), "lang=\"es\""));
}

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_TRUE(JsonDepthWithin(R"({"a":[1,{"b":"[[[[["}]})", 3));
  EXPECT_FALSE(JsonDepthWithin("[[[[1]]]]", 3));
}

TEST(JsonLimits, NamesTheBodyForDeepNestingAndLongStrings) {
  EXPECT_OK(CheckJsonLimits(R"({"key":"12345","b":"a\"b"})", 2, 5));
  const Status deep = CheckJsonLimits("[[[1]]]", 2, 100);
  EXPECT_EQ(deep.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(deep.field(), "body");
  const Status long_value = CheckJsonLimits(R"({"a":"123456"})", 8, 5);
  EXPECT_EQ(long_value.field(), "body");
  EXPECT_NE(long_value.message().find("longer than 5 bytes"), std::string::npos);
  EXPECT_FALSE(CheckJsonLimits(R"({"123456":1})", 8, 5).ok());
  // An unterminated string counts up to the end of the text.
  EXPECT_FALSE(CheckJsonLimits(R"(["1234567)", 8, 5).ok());
}

TEST_F(AppTest, JsonBodiesOverTheLimitsAreRefusedNamingTheBody) {
  const std::string path = "/api/v1/checkins/" + token_;
  std::string long_body = R"({"responses":[{"instrument":")";
  long_body.append(70 * 1024, 'x');
  long_body.append(R"("}]})");
  const Response long_string = Send("POST", path, long_body);
  EXPECT_EQ(long_string.status, 400);
  EXPECT_EQ(long_string.content_type, "application/problem+json");
  EXPECT_EQ(Json::parse(long_string.body)["field"], "body");
  const Response deep = Send("POST", path, std::string(40, '[') + std::string(40, ']'));
  EXPECT_EQ(deep.status, 400);
  EXPECT_EQ(Json::parse(deep.body)["field"], "body");
  EXPECT_EQ(Send("POST", path, "{}", "text/json").status, 415);
  EXPECT_EQ(Send("POST", path, "{}", "Application/JSON; charset=utf-8").status, 400);
}

}  // namespace
}  // namespace rapport::api
