#include "base/id.h"

#include <set>

#include "testing/testing.h"

namespace rapport {
namespace {

TEST(Id, HasAtLeast128BitsAndIsUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewId(DefaultRandom());
    EXPECT_EQ(id.size(), 22u);  // 128 bits in base64url without padding
    EXPECT_TRUE(IsWellFormedId(id)) << id;
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_EQ(NewToken(DefaultRandom()).size(), 43u);  // 256 bits
}

TEST(Id, RejectsMalformed) {
  EXPECT_FALSE(IsWellFormedId("short"));
  EXPECT_FALSE(IsWellFormedId("has/slash/and/more/chars"));
  EXPECT_FALSE(IsWellFormedId(std::string(200, 'a')));
}

TEST(Base64Url, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Sha256, KnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, InPiecesGivesTheSameDigestAndStartsAgain) {
  Sha256Stream stream;
  stream.Update("a");
  stream.Update("");
  stream.Update("bc");
  EXPECT_EQ(stream.HexDigest(), Sha256Hex("abc"));
  stream.Update("abd");
  EXPECT_EQ(stream.HexDigest(), Sha256Hex("abd"));
}

}  // namespace
}  // namespace rapport
