#include "base/csv.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace rapport {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string Quoted(std::string_view text) {
  constexpr size_t kShown = 40;
  std::string shown(text.substr(0, kShown));
  if (text.size() > kShown) shown += "...";
  return "'" + shown + "'";
}

// One pass over the text, producing records with the line each started on.
class Reader {
 public:
  Reader(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  // Reads the next record into fields. Returns false at the end of input.
  Result<bool> Next(std::vector<std::string>& fields, int64_t& start_line) {
    fields.clear();
    // Skip blank lines.
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    start_line = line_;
    std::string field;
    while (true) {
      field.clear();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        while (true) {
          if (pos_ >= text_.size()) {
            return InvalidArgument(std::string(source_) + " line " + std::to_string(start_line) +
                                   ": a quoted field is never closed");
          }
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          field += c;
        }
        // After a closing quote only a separator or the end of the record may follow.
        if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
            text_[pos_] != '\r') {
          return InvalidArgument(std::string(source_) + " line " + std::to_string(line_) +
                                 ": unexpected text after a closing quote");
        }
      } else {
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
               text_[pos_] != '\r') {
          if (text_[pos_] == '"') {
            return InvalidArgument(std::string(source_) + " line " + std::to_string(line_) +
                                   ": a quote inside an unquoted field (quote the whole field "
                                   "and double the quote)");
          }
          field += text_[pos_++];
        }
      }
      fields.push_back(field);
      if (pos_ >= text_.size()) return true;
      const char separator = text_[pos_++];
      if (separator == ',') continue;
      if (separator == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      return true;
    }
  }

 private:
  std::string_view text_;
  std::string_view source_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

}  // namespace

std::optional<size_t> CsvTable::FindColumn(std::string_view name) const {
  for (size_t column = 0; column < header_.size(); ++column) {
    if (header_[column] == name) return column;
  }
  return std::nullopt;
}

Result<size_t> CsvTable::RequireColumn(std::string_view name) const {
  if (auto column = FindColumn(name)) return *column;
  std::string present;
  for (const std::string& h : header_) present += (present.empty() ? "" : ", ") + h;
  return InvalidArgument(
      source_ + " line 1: missing column '" + std::string(name) + "'; the header has: " + present,
      std::string(name));
}

std::string CsvTable::Where(size_t row_index, size_t column) const {
  return source_ + " line " + std::to_string(lines_[row_index]) + ", column '" + header_[column] +
         "': ";
}

bool CsvTable::IsMissing(size_t row_index, size_t column) const {
  const std::string_view cell = Trim(rows_[row_index][column]);
  if (cell.empty()) return true;
  std::string lower;
  for (const char c : cell) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "na" || lower == "nan" || lower == "null";
}

Result<double> CsvTable::Number(size_t row_index, size_t column) const {
  const std::string_view cell = Trim(rows_[row_index][column]);
  if (cell.empty()) {
    return InvalidArgument(Where(row_index, column) + "a number is required", header_[column]);
  }
  double value = 0;
  const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (error != std::errc() || end != cell.data() + cell.size() || !std::isfinite(value)) {
    return InvalidArgument(Where(row_index, column) + Quoted(cell) + " is not a number",
                           header_[column]);
  }
  return value;
}

Result<int64_t> CsvTable::Integer(size_t row_index, size_t column) const {
  const std::string_view cell = Trim(rows_[row_index][column]);
  if (cell.empty()) {
    return InvalidArgument(Where(row_index, column) + "a whole number is required",
                           header_[column]);
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (error != std::errc() || end != cell.data() + cell.size()) {
    return InvalidArgument(Where(row_index, column) + Quoted(cell) + " is not a whole number",
                           header_[column]);
  }
  return value;
}

Result<std::string> CsvTable::Text(size_t row_index, size_t column) const {
  const std::string_view cell = Trim(rows_[row_index][column]);
  if (cell.empty()) {
    return InvalidArgument(Where(row_index, column) + "a value is required", header_[column]);
  }
  return std::string(cell);
}

Result<CsvTable> ParseCsv(std::string_view text, std::string_view source, const CsvLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidArgument(std::string(source) + " is larger than " +
                           std::to_string(limits.max_bytes) + " bytes");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvTable table;
  table.source_ = std::string(source);
  Reader reader(text, source);
  std::vector<std::string> fields;
  int64_t line = 0;
  RAPPORT_ASSIGN_OR_RETURN(const bool has_header, reader.Next(fields, line));
  if (!has_header) return InvalidArgument(table.source_ + " is empty; expected a header line");
  if (fields.size() > limits.max_columns) {
    return InvalidArgument(table.source_ + " line 1: more than " +
                           std::to_string(limits.max_columns) + " columns");
  }
  std::set<std::string> seen;
  for (size_t column = 0; column < fields.size(); ++column) {
    std::string name(Trim(fields[column]));
    if (name.empty()) {
      return InvalidArgument(table.source_ + " line " + std::to_string(line) + ": column " +
                             std::to_string(column + 1) + " has no name in the header");
    }
    if (!seen.insert(name).second) {
      return InvalidArgument(table.source_ + " line " + std::to_string(line) +
                             ": the header names column '" + name + "' twice");
    }
    table.header_.push_back(std::move(name));
  }
  while (true) {
    RAPPORT_ASSIGN_OR_RETURN(const bool more, reader.Next(fields, line));
    if (!more) break;
    if (fields.size() != table.header_.size()) {
      return InvalidArgument(table.source_ + " line " + std::to_string(line) + " has " +
                             std::to_string(fields.size()) + " fields; the header has " +
                             std::to_string(table.header_.size()));
    }
    table.rows_.push_back(fields);
    table.lines_.push_back(line);
  }
  return table;
}

Result<CsvTable> ReadCsvFile(const std::filesystem::path& path, const CsvLimits& limits) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) {
    return InvalidArgument("cannot read '" + path.string() + "': " + error.message());
  }
  if (size > limits.max_bytes) {
    std::string message = "cannot read '";
    message += path.string();
    message += "': it is larger than " + std::to_string(limits.max_bytes) + " bytes";
    return InvalidArgument(std::move(message));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot open '" + path.string() + "'");
  std::ostringstream contents;
  contents << in.rdbuf();
  return ParseCsv(contents.str(), path.filename().string(), limits);
}

}  // namespace rapport
