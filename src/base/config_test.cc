#include "base/config.h"

#include <fstream>

#include "testing/testing.h"

namespace rapport {
namespace {

TEST(Config, LaterSourcesWin) {
  testing::TempDir dir;
  const auto file = dir.path() / "rapport.json";
  std::ofstream(file) << R"({"port": 9000, "db": "sqlite:file.db", "log_level": "debug"})";
  const char* environ[] = {"RAPPORT_DB=sqlite:env.db", "HOME=/root", nullptr};
  const auto config = Config::Load({{"port", "8080"}, {"threads", "2"}}, file.string(), environ,
                                   {{"log_level", "warning"}});
  ASSERT_OK(config);
  EXPECT_EQ(*config->GetInt("port", 0, 1, 65535), 9000);
  EXPECT_EQ(*config->GetInt("threads", 0, 1, 64), 2);
  EXPECT_EQ(config->GetOr("db", ""), "sqlite:env.db");
  EXPECT_EQ(config->GetOr("log_level", ""), "warning");
  EXPECT_FALSE(config->Get("home").has_value());
}

TEST(Config, BadIntegerNamesKeyAndSource) {
  const char* environ[] = {"RAPPORT_PORT=eighty", nullptr};
  const auto config = Config::Load({}, "", environ, {});
  ASSERT_OK(config);
  const auto port = config->GetInt("port", 8080, 1, 65535);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().field(), "port");
  EXPECT_NE(port.status().message().find("environment"), std::string::npos);
}

TEST(Config, MalformedFileIsAnError) {
  testing::TempDir dir;
  const auto file = dir.path() / "bad.json";
  std::ofstream(file) << "{port: 1";
  EXPECT_FALSE(Config::Load({}, file.string(), nullptr, {}).ok());
  EXPECT_FALSE(Config::Load({}, (dir.path() / "absent.json").string(), nullptr, {}).ok());
  std::ofstream(file, std::ios::trunc) << R"({"port": [1]})";
  EXPECT_EQ(Config::Load({}, file.string(), nullptr, {}).status().field(), "port");
}

}  // namespace
}  // namespace rapport
