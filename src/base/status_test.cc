#include "base/status.h"

#include "testing/testing.h"

namespace rapport {
namespace {

TEST(Status, OkByDefault) {
  const Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.ToString(), "ok");
}

TEST(Status, CarriesCodeMessageAndField) {
  const Status status = InvalidArgument("value 4 is out of range", "item 9");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.ToString(), "invalid-argument: value 4 is out of range (field: item 9)");
  EXPECT_EQ(status.WithContext("phq-9").message(), "phq-9: value 4 is out of range");
}

TEST(Status, MapsToHttpAndExitCodes) {
  EXPECT_EQ(HttpStatus(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(StatusCode::kConflict), 409);
  EXPECT_EQ(HttpStatus(StatusCode::kGone), 410);
  EXPECT_EQ(ExitCode(StatusCode::kOk), 0);
  EXPECT_EQ(ExitCode(StatusCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCode(StatusCode::kInternal), 1);
}

Result<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgument("odd");
  return n / 2;
}

Result<int> Quarter(int n) {
  RAPPORT_ASSIGN_OR_RETURN(const int half, Half(n));
  return Half(half);
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
}

}  // namespace
}  // namespace rapport
