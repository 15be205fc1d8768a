#include "base/password.h"

#include "testing/testing.h"

namespace rapport {
namespace {

TEST(Password, HashesWithArgon2idAndVerifies) {
  const auto hash = HashPassword("correct horse");
  ASSERT_OK(hash);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword("correct horse", *hash));
  EXPECT_FALSE(VerifyPassword("wrong horse", *hash));
  EXPECT_NE(*HashPassword("correct horse"), *hash);  // salted
}

}  // namespace
}  // namespace rapport
