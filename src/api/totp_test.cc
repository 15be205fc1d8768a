#include "api/totp.h"

#include <gtest/gtest.h>

namespace rapport::api {
namespace {

// RFC 4226 Appendix D: secret "12345678901234567890", counters 0..9.
TEST(Hotp, MatchesTheRfc4226TestValues) {
  const std::string secret = "12345678901234567890";
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(Hotp(secret, counter), expected[counter]) << counter;
  }
}

// RFC 6238 Appendix B (SHA-1 rows, 8 digits).
TEST(Totp, MatchesTheRfc6238TestValues) {
  const std::string secret = "12345678901234567890";
  EXPECT_EQ(Totp(secret, FromUnixMillis(59'000), 8), "94287082");
  EXPECT_EQ(Totp(secret, FromUnixMillis(1'111'111'109'000), 8), "07081804");
  EXPECT_EQ(Totp(secret, FromUnixMillis(1'234'567'890'000), 8), "89005924");
  EXPECT_EQ(Totp(secret, FromUnixMillis(20'000'000'000'000), 8), "65353130");
}

TEST(Totp, AcceptsOneStepOfDriftAndNoMore) {
  const std::string secret = "12345678901234567890";
  const Timestamp now = FromUnixMillis(1'234'567'890'000);
  const std::string code = Totp(secret, now);
  EXPECT_TRUE(MatchTotp(secret, code, now).has_value());
  EXPECT_TRUE(MatchTotp(secret, code, now + std::chrono::seconds(30)).has_value());
  EXPECT_TRUE(MatchTotp(secret, code, now - std::chrono::seconds(30)).has_value());
  EXPECT_FALSE(MatchTotp(secret, code, now + std::chrono::seconds(90)).has_value());
  EXPECT_FALSE(MatchTotp(secret, "12345", now).has_value());
  EXPECT_FALSE(MatchTotp("another secret", code, now).has_value());
}

// RFC 4648 §10 test vectors.
TEST(Base32, RoundTripsTheRfc4648Vectors) {
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Encode("fo"), "MZXQ");
  EXPECT_EQ(Base32Encode("foo"), "MZXW6");
  EXPECT_EQ(Base32Encode("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(Base32Decode("mzxw 6ytb oi======"), "foobar");
  EXPECT_FALSE(Base32Decode("MZ1W").has_value());
}

TEST(OtpauthUri, NamesIssuerAccountAndSecret) {
  EXPECT_EQ(OtpauthUri("Rapport", "a b@example.org", "foo"),
            "otpauth://totp/Rapport:a%20b@example.org?secret=MZXW6&issuer=Rapport&algorithm="
            "SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace rapport::api
