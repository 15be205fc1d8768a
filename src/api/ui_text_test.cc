#include "api/ui_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace rapport::api {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

TEST(UiText, ShippedLanguagesAreComplete) {
  auto ui = UiText::LoadDirectory(testing::SourceDir() / "data/ui");
  ASSERT_OK(ui);
  EXPECT_EQ(ui->Languages(), (std::vector<std::string>{"en", "es"}));
  EXPECT_EQ(ui->Name("es"), "Español");
  EXPECT_EQ(ui->Get("es", "form.submit"), "Enviar mis respuestas");
  EXPECT_EQ(ui->Get("de", "form.submit"), "Send my answers");  // unknown language: English
  EXPECT_EQ(ui->Format("en", "form.required", {{"question", "Q?"}}),
            "Please answer the question “Q?”.");
  EXPECT_EQ(ui->GetOr("es", "subscale.bond", "bond"), "Vínculo");
  EXPECT_EQ(ui->GetOr("es", "subscale.unheard-of", "unheard-of"), "unheard-of");
}

class UiTextProblems : public ::testing::Test {
 protected:
  void Write(const std::string& name, const Json& json) {
    std::ofstream(dir_.path() / name) << json.dump();
  }
  testing::TempDir dir_;
};

TEST_F(UiTextProblems, MissingAndUnknownKeysAreNamed) {
  Write("en.json",
        {{"language", "en"}, {"name", "English"}, {"strings", {{"a", "A"}, {"b", "B"}}}});
  Write("es.json",
        {{"language", "es"}, {"name", "Español"}, {"strings", {{"a", "A"}, {"c", "C"}}}});
  auto ui = UiText::LoadDirectory(dir_.path());
  ASSERT_FALSE(ui.ok());
  EXPECT_THAT(ui.status().message(), HasSubstr("es.json: strings.b: missing language string"));
  EXPECT_THAT(ui.status().message(), HasSubstr("es.json: strings.c: unknown key"));
}

TEST_F(UiTextProblems, EnglishIsRequiredAndTagsMatchFileNames) {
  Write("es.json", {{"language", "pt"}, {"name", "X"}, {"strings", Json::object()}});
  std::ofstream(dir_.path() / "de.json") << "{not json";
  auto ui = UiText::LoadDirectory(dir_.path());
  ASSERT_FALSE(ui.ok());
  EXPECT_THAT(ui.status().message(), HasSubstr("es.json: language: must be \"es\""));
  EXPECT_THAT(ui.status().message(), HasSubstr("de.json: not a JSON object"));
  EXPECT_THAT(ui.status().message(), HasSubstr("en.json, the reference language, is missing"));
  EXPECT_FALSE(UiText::LoadDirectory(dir_.path() / "absent").ok());
}

}  // namespace
}  // namespace rapport::api
