// Reading comma-separated tables (RFC 4180) from files users hand to the CLI and the API.
//
// Fields may be quoted ("a, b" and "say ""hi"""), lines may end in LF or CRLF, a UTF-8 byte order
// mark is skipped, and a final newline is optional. The first record is the header. Every error
// is InvalidArgument naming the source, the line and, where it applies, the column, so a user can
// find the cell in a spreadsheet: "scores.csv line 7, column 'score': 'x' is not a number".
// Blank lines are skipped. Thread safety: CsvTable is an immutable value once parsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rapport {

struct CsvLimits {
  size_t max_bytes = size_t{1} << 31;  // refuse larger inputs before reading them
  size_t max_columns = 4096;
};

class CsvTable {
 public:
  CsvTable() = default;

  const std::string& source() const { return source_; }
  const std::vector<std::string>& header() const { return header_; }
  size_t row_count() const { return rows_.size(); }
  const std::vector<std::string>& row(size_t row_index) const { return rows_[row_index]; }
  // The 1-based line of the file a row started on (for messages).
  int64_t line(size_t row_index) const { return lines_[row_index]; }

  // The index of a header column, or nullopt. Matching is exact after trimming spaces.
  std::optional<size_t> FindColumn(std::string_view name) const;
  // As FindColumn, but a missing column is InvalidArgument listing the columns present.
  Result<size_t> RequireColumn(std::string_view name) const;

  // The cell as a finite number; empty or unparseable cells are InvalidArgument naming the
  // line and column. REQUIRES: row_index < row_count(), column < header().size().
  Result<double> Number(size_t row_index, size_t column) const;
  // As Number, but the value must be a whole number (e.g. a session number).
  Result<int64_t> Integer(size_t row_index, size_t column) const;
  // The cell with surrounding spaces trimmed; an empty cell is InvalidArgument.
  Result<std::string> Text(size_t row_index, size_t column) const;
  // True when the cell is empty or one of NA, NaN, null (any case): a missing value.
  bool IsMissing(size_t row_index, size_t column) const;

  // "SOURCE line L, column 'NAME': " — the prefix of every cell error.
  std::string Where(size_t row_index, size_t column) const;

 private:
  friend Result<CsvTable> ParseCsv(std::string_view, std::string_view, const CsvLimits&);
  std::string source_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<int64_t> lines_;
};

// Parses text. `source` names it in messages (a file name, or "request body").
// Errors: empty input, no header, an empty or duplicate header name, a row whose field count
// differs from the header's, an unterminated quote, a quote inside an unquoted field.
Result<CsvTable> ParseCsv(std::string_view text, std::string_view source,
                          const CsvLimits& limits = {});

// Reads and parses a file; a missing or unreadable file is InvalidArgument naming it.
Result<CsvTable> ReadCsvFile(const std::filesystem::path& path, const CsvLimits& limits = {});

}  // namespace rapport
