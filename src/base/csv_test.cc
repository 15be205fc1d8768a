#include "base/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/testing.h"

namespace rapport {
namespace {

using ::testing::HasSubstr;

TEST(Csv, ReadsHeaderAndRowsWithLines) {
  auto table = ParseCsv("episode,session,score\ne1,1,3.5\n\ne1,2,4\n", "scores.csv");
  ASSERT_OK(table);
  EXPECT_EQ(table->header(), (std::vector<std::string>{"episode", "session", "score"}));
  ASSERT_EQ(table->row_count(), 2U);
  EXPECT_EQ(table->line(0), 2);
  EXPECT_EQ(table->line(1), 4);  // the blank line 3 is skipped but counted
  auto score = table->Number(1, 2);
  ASSERT_OK(score);
  EXPECT_EQ(*score, 4.0);
}

TEST(Csv, QuotesCrlfAndByteOrderMark) {
  auto table = ParseCsv(
      "\xEF\xBB\xBFname,note\r\n\"Smith, J\",\"said \"\"hi\"\"\r\nthen left\"\r\n", "notes.csv");
  ASSERT_OK(table);
  EXPECT_EQ(table->header()[0], "name");
  ASSERT_EQ(table->row_count(), 1U);
  EXPECT_EQ(table->row(0)[0], "Smith, J");
  EXPECT_EQ(table->row(0)[1], "said \"hi\"\r\nthen left");
}

TEST(Csv, NoFinalNewline) {
  auto table = ParseCsv("a,b\n1,2", "x.csv");
  ASSERT_OK(table);
  ASSERT_EQ(table->row_count(), 1U);
  EXPECT_EQ(table->row(0)[1], "2");
}

TEST(Csv, CellErrorsNameLineAndColumn) {
  auto table = ParseCsv("episode,session,score\ne1,1,3.5\ne1,two,x\ne1,3,\n", "scores.csv");
  ASSERT_OK(table);
  auto bad_number = table->Number(1, 2);
  ASSERT_FALSE(bad_number.ok());
  EXPECT_EQ(bad_number.status().message(),
            "scores.csv line 3, column 'score': 'x' is not a number");
  auto bad_integer = table->Integer(1, 1);
  ASSERT_FALSE(bad_integer.ok());
  EXPECT_THAT(bad_integer.status().message(), HasSubstr("line 3, column 'session': 'two'"));
  EXPECT_TRUE(table->IsMissing(2, 2));
  auto empty = table->Number(2, 2);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("line 4, column 'score': a number is required"));
  EXPECT_FALSE(table->Integer(0, 2).ok());  // 3.5 is not whole
  EXPECT_FALSE(ParseCsv("a\ninf\n", "x")->Number(0, 0).ok());
}

TEST(Csv, MissingColumnListsTheHeader) {
  auto table = ParseCsv("y,t\n1,2\n", "fit.csv");
  ASSERT_OK(table);
  auto column = table->RequireColumn("client");
  ASSERT_FALSE(column.ok());
  EXPECT_EQ(column.status().message(),
            "fit.csv line 1: missing column 'client'; the header has: y, t");
  EXPECT_EQ(*table->RequireColumn("t"), 1U);
}

TEST(Csv, StructuralErrors) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "x.csv is empty"},
           Case{"\n\n", "x.csv is empty"},
           Case{"a,,b\n", "column 2 has no name"},
           Case{"a,a\n", "names column 'a' twice"},
           Case{"a,b\n1\n", "x.csv line 2 has 1 fields; the header has 2"},
           Case{"a,b\n1,2,3\n", "line 2 has 3 fields"},
           Case{"a,b\n\"1,2\n", "line 2: a quoted field is never closed"},
           Case{"a,b\n\"1\"x,2\n", "unexpected text after a closing quote"},
           Case{"a,b\n1\"2,3\n", "a quote inside an unquoted field"},
       }) {
    auto table = ParseCsv(c.text, "x.csv");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(table.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(Csv, LimitsAndFiles) {
  EXPECT_FALSE(ParseCsv("a,b\n1,2\n", "x", CsvLimits{.max_bytes = 4}).ok());
  EXPECT_FALSE(ParseCsv("a,b,c\n", "x", CsvLimits{.max_columns = 2}).ok());
  testing::TempDir dir;
  auto missing = ReadCsvFile(dir.path() / "absent.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("absent.csv"));
}

}  // namespace
}  // namespace rapport
