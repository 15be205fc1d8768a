#include "storage/transfer.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/id.h"

namespace rapport::storage {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

std::string FileName(const TableSpec& table) { return std::string(table.name).append(".ndjson"); }

// The owner alone may read what an export holds (see transfer.h).
void OwnerOnly(const fs::path& path, bool folder) {
  std::error_code ignored;
  fs::permissions(path,
                  folder ? fs::perms::owner_all : (fs::perms::owner_read | fs::perms::owner_write),
                  fs::perm_options::replace, ignored);
}

// JSON has no number for an infinite or undefined real: those are written as these strings.
constexpr std::string_view kNaN = "NaN";
constexpr std::string_view kInfinity = "Infinity";
constexpr std::string_view kMinusInfinity = "-Infinity";

OrderedJson ValueToJson(const Value& value) {
  return std::visit(
      [](const auto& v) -> OrderedJson {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isnan(v)) return kNaN;
          if (std::isinf(v)) return v > 0 ? kInfinity : kMinusInfinity;
          return v;
        } else {
          return v;
        }
      },
      value);
}

// `where` names the file, line and column for the message.
Result<Value> JsonToValue(const Json& json, ColumnType type, const std::string& where) {
  if (json.is_null()) return Value{};
  switch (type) {
    case ColumnType::kText:
      if (json.is_string()) return Value{json.get<std::string>()};
      break;
    case ColumnType::kInteger:
      if (json.is_number_integer() && !json.is_number_unsigned()) return Value{json.get<int64_t>()};
      if (json.is_number_unsigned() &&
          json.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value{static_cast<int64_t>(json.get<uint64_t>())};
      }
      break;
    case ColumnType::kReal:
      if (json.is_number()) return Value{json.get<double>()};
      if (json.is_string()) {
        const std::string& text = json.get_ref<const std::string&>();
        if (text == kNaN) return Value{std::numeric_limits<double>::quiet_NaN()};
        if (text == kInfinity) return Value{std::numeric_limits<double>::infinity()};
        if (text == kMinusInfinity) return Value{-std::numeric_limits<double>::infinity()};
      }
      break;
    case ColumnType::kBoolean:
      if (json.is_boolean()) return Value{json.get<bool>()};
      break;
  }
  return InvalidArgument(std::string(where)
                             .append(" must be ")
                             .append(Name(type))
                             .append(type == ColumnType::kText ? "" : " or null"),
                         "dir");
}

Status Malformed(const fs::path& file, std::string_view what) {
  return InvalidArgument(file.string().append(": ").append(what), "dir");
}

struct ManifestTable {
  std::string file;
  int64_t rows = 0;
  std::string sha256;
};

struct Manifest {
  int schema_version = 0;
  std::string org_id;
  std::string org_name;
  AuditHead audit_head;
  std::map<std::string, ManifestTable, std::less<>> tables;
};

Result<Manifest> ReadManifest(const fs::path& dir) {
  const fs::path path = dir / kManifestFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument(
        path.string().append(": cannot be read; is this a folder made by `rapport export`?"),
        "dir");
  }
  const Json json = Json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Malformed(path, "is not a JSON object");
  const auto text = [&](const Json& parent, std::string_view key) -> const std::string* {
    const auto it = parent.find(key);
    return it != parent.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  const auto integer = [&](const Json& parent, std::string_view key) -> std::optional<int64_t> {
    const auto it = parent.find(key);
    if (it == parent.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  const std::string* format = text(json, "format");
  if (format == nullptr || *format != kExportFormat) {
    return Malformed(path, std::string("format must be \"").append(kExportFormat).append("\""));
  }
  const auto version = integer(json, "format_version");
  if (!version || *version != kExportFormatVersion) {
    return Malformed(path, "format_version " + (version ? std::to_string(*version) : "missing") +
                               " is not one this Rapport reads (" +
                               std::to_string(kExportFormatVersion) + ")");
  }
  Manifest manifest;
  const auto schema = integer(json, "schema_version");
  if (!schema || *schema < 1 || *schema > std::numeric_limits<int>::max()) {
    return Malformed(path, "schema_version must be a positive integer");
  }
  manifest.schema_version = static_cast<int>(*schema);
  if (manifest.schema_version < kOldestReadableSchema) {
    return InvalidArgument(
        path.string()
            .append(": the export is from schema version ")
            .append(std::to_string(manifest.schema_version))
            .append(", whose tables this Rapport no longer has (since version ")
            .append(std::to_string(kOldestReadableSchema))
            .append(" a response holds its answers and score): import it with the Rapport that "
                    "made it, run `rapport migrate` on that database, and export it again"),
        "dir");
  }
  const auto org = json.find("organization");
  if (org == json.end() || !org->is_object() || text(*org, "id") == nullptr ||
      text(*org, "name") == nullptr || text(*org, "id")->empty()) {
    return Malformed(path, "organization must be an object with an id and a name");
  }
  manifest.org_id = *text(*org, "id");
  manifest.org_name = *text(*org, "name");
  const auto head = json.find("audit_head");
  if (head == json.end() || !head->is_object() || !integer(*head, "seq") ||
      text(*head, "hash") == nullptr) {
    return Malformed(path, "audit_head must be an object with a seq and a hash");
  }
  manifest.audit_head = {manifest.org_id, *integer(*head, "seq"), *text(*head, "hash")};
  const auto tables = json.find("tables");
  if (tables == json.end() || !tables->is_array()) return Malformed(path, "tables must be a list");
  for (const Json& entry : *tables) {
    const std::string* name = entry.is_object() ? text(entry, "name") : nullptr;
    const std::string* file = entry.is_object() ? text(entry, "file") : nullptr;
    const std::string* sha256 = entry.is_object() ? text(entry, "sha256") : nullptr;
    const auto rows = entry.is_object() ? integer(entry, "rows") : std::nullopt;
    if (name == nullptr || file == nullptr || sha256 == nullptr || !rows || *rows < 0) {
      return Malformed(path, "each of tables needs a name, a file, rows and a sha256");
    }
    const TableSpec* spec = FindOrganizationTable(*name);
    if (spec == nullptr) {
      return Malformed(path, "table \"" + *name + "\" is not one this Rapport stores");
    }
    // Only the file name this Rapport writes: a manifest cannot point outside the folder.
    if (*file != FileName(*spec)) {
      return Malformed(path, "table " + *name + " must be in " + FileName(*spec));
    }
    if (!manifest.tables.emplace(*name, ManifestTable{*file, *rows, *sha256}).second) {
      return Malformed(path, "table " + *name + " is listed twice");
    }
  }
  for (const TableSpec& table : OrganizationTables()) {
    if (!manifest.tables.contains(table.name)) {
      return Malformed(path, std::string("table ").append(table.name).append(" is missing"));
    }
  }
  return manifest;
}

// Reads a table's file line by line, checking nothing but the lines' framing.
class LineReader {
 public:
  explicit LineReader(const fs::path& path) : path_(path), in_(path, std::ios::binary) {}
  bool open() const { return static_cast<bool>(in_); }
  // The next line without its newline; false at the end.
  bool Next(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++number_;
    return true;
  }
  int64_t number() const { return number_; }
  std::string Where() const { return path_.string().append(":").append(std::to_string(number_)); }

 private:
  fs::path path_;
  std::ifstream in_;
  int64_t number_ = 0;
};

// Every file's digest and row count against the manifest, before anything is written.
Status CheckFiles(const fs::path& dir, const Manifest& manifest) {
  for (const TableSpec& table : OrganizationTables()) {
    const ManifestTable& listed = manifest.tables.find(table.name)->second;
    const fs::path path = dir / listed.file;
    LineReader reader(path);
    if (!reader.open()) return Malformed(path, "cannot be read");
    Sha256Stream hash;
    std::string line;
    while (reader.Next(line)) {
      hash.Update(line);
      hash.Update("\n");
    }
    if (hash.HexDigest() != listed.sha256) {
      return Malformed(path,
                       "its SHA-256 is not the manifest's: the file was changed or cut short");
    }
    if (reader.number() != listed.rows) {
      return Malformed(path, "holds " + std::to_string(reader.number()) + " rows, the manifest " +
                                 std::to_string(listed.rows));
    }
  }
  return Status::Ok();
}

// One line of a table's file as a row of that table, naming file, line and column when wrong.
Result<Row> ParseRow(const TableSpec& table, const std::string& line, const std::string& where,
                     std::string_view org_id) {
  const Json json = Json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgument(where + ": is not a JSON object", "dir");
  }
  Row row(table.columns.size());
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const ColumnSpec& column = table.columns[i];
    const std::string field = std::string(where).append(": ").append(column.name);
    const auto it = json.find(column.name);
    if (it == json.end()) return InvalidArgument(field + " is missing", "dir");
    RAPPORT_ASSIGN_OR_RETURN(row[i], JsonToValue(*it, column.type, field));
  }
  if (json.size() != table.columns.size()) {
    for (const auto& item : json.items()) {
      if (table.ColumnIndex(item.key()) < 0) {
        return InvalidArgument(std::string(where)
                                   .append(": ")
                                   .append(item.key())
                                   .append(" is not a column of ")
                                   .append(table.name),
                               "dir");
      }
    }
  }
  const Value& org = row[table.ColumnIndex(table.org_column)];
  if (const auto* text = std::get_if<std::string>(&org); text == nullptr || *text != org_id) {
    return InvalidArgument(std::string(where)
                               .append(": ")
                               .append(table.org_column)
                               .append(" is not the exported organisation's"),
                           "dir");
  }
  return row;
}

domain::AuditEvent TransferEvent(std::string_view org_id, std::string_view actor,
                                 std::string action, Timestamp now, const TransferSummary& s) {
  domain::AuditEvent event;
  event.org_id = std::string(org_id);
  event.at = now;
  event.actor = std::string(actor);
  event.action = std::move(action);
  event.resource = std::string("organization/").append(org_id);
  event.address = "local";
  event.detail = Json{{"rows", s.rows},
                      {"schema_version", s.schema_version},
                      {"audit_head", {{"seq", s.audit_head.seq}, {"hash", s.audit_head.hash}}}}
                     .dump();
  return event;
}

}  // namespace

Result<TransferSummary> ExportOrganization(Store& store, std::string_view org_id,
                                           const fs::path& dir, std::string_view actor,
                                           Timestamp now) {
  std::error_code error;
  if (fs::exists(dir, error)) {
    if (!fs::is_directory(dir, error) || !fs::is_empty(dir, error)) {
      return InvalidArgument(dir.string().append(" exists and is not an empty folder"), "out");
    }
  } else if (!fs::create_directories(dir, error)) {
    return InvalidArgument(
        std::string("cannot create ").append(dir.string()).append(": ").append(error.message()),
        "out");
  }
  OwnerOnly(dir, true);

  TransferSummary summary;
  RAPPORT_ASSIGN_OR_RETURN(summary.schema_version, store.SchemaVersion());
  OrderedJson tables = OrderedJson::array();
  const Status read = store.Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Organization org, txn.GetOrganization(org_id));
    summary.org_id = org.id;
    summary.org_name = org.name;
    RAPPORT_ASSIGN_OR_RETURN(summary.audit_head, txn.GetAuditHead(org_id));
    for (const TableSpec& table : OrganizationTables()) {
      const fs::path path = dir / FileName(table);
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      OwnerOnly(path, false);
      Sha256Stream hash;
      int64_t rows = 0;
      std::string line;
      RAPPORT_RETURN_IF_ERROR(txn.ScanOrganizationRows(table, org_id, [&](const Row& row) {
        OrderedJson object = OrderedJson::object();
        for (size_t i = 0; i < row.size(); ++i) {
          object[std::string(table.columns[i].name)] = ValueToJson(row[i]);
        }
        line = object.dump();
        line.push_back('\n');
        out << line;
        hash.Update(line);
        ++rows;
        return out ? Status::Ok() : Internal("cannot write " + path.string());
      }));
      out.close();
      if (!out) return Internal("cannot write " + path.string());
      tables.push_back(OrderedJson{{"name", table.name},
                                   {"file", FileName(table)},
                                   {"rows", rows},
                                   {"sha256", hash.HexDigest()}});
      summary.tables.emplace_back(table.name, rows);
      summary.rows += rows;
    }
    return Status::Ok();
  });
  if (!read.ok()) {
    for (const TableSpec& table : OrganizationTables()) fs::remove(dir / FileName(table), error);
    return read;
  }
  const OrderedJson manifest{
      {"format", kExportFormat},
      {"format_version", kExportFormatVersion},
      {"schema_version", summary.schema_version},
      {"exported_at", FormatTimestamp(now)},
      {"organization", {{"id", summary.org_id}, {"name", summary.org_name}}},
      {"audit_head", {{"seq", summary.audit_head.seq}, {"hash", summary.audit_head.hash}}},
      {"tables", tables}};
  const fs::path manifest_path = dir / kManifestFile;
  {
    std::ofstream out(manifest_path, std::ios::binary | std::ios::trunc);
    OwnerOnly(manifest_path, false);
    out << manifest.dump(2) << "\n";
    out.close();
    if (!out) return Internal("cannot write " + manifest_path.string());
  }
  RAPPORT_RETURN_IF_ERROR(store.Write([&](WriteTransaction& txn) -> Status {
    return txn
        .AppendAudit(TransferEvent(summary.org_id, actor, "organization.export", now, summary))
        .status();
  }));
  return summary;
}

Result<TransferSummary> ImportOrganization(Store& store, const fs::path& dir,
                                           std::string_view actor, Timestamp now) {
  RAPPORT_ASSIGN_OR_RETURN(const Manifest manifest, ReadManifest(dir));
  RAPPORT_ASSIGN_OR_RETURN(const int schema_version, store.SchemaVersion());
  if (manifest.schema_version > schema_version) {
    return InvalidArgument("the export is from schema version " +
                               std::to_string(manifest.schema_version) +
                               ", newer than this database's " + std::to_string(schema_version) +
                               ": import it with the Rapport that made it, or a newer one",
                           "dir");
  }
  RAPPORT_RETURN_IF_ERROR(CheckFiles(dir, manifest));

  TransferSummary summary;
  summary.org_id = manifest.org_id;
  summary.org_name = manifest.org_name;
  summary.schema_version = manifest.schema_version;
  summary.audit_head = manifest.audit_head;
  RAPPORT_RETURN_IF_ERROR(store.Write([&](WriteTransaction& txn) -> Status {
    summary.rows = 0;
    summary.tables.clear();
    const auto existing = txn.GetOrganization(manifest.org_id);
    if (existing.ok()) {
      return Conflict("organisation " + manifest.org_id + " (" + existing->name +
                      ") already exists in this database");
    }
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    for (const TableSpec& table : OrganizationTables()) {
      LineReader reader(dir / manifest.tables.find(table.name)->second.file);
      if (!reader.open()) return Malformed(dir / FileName(table), "cannot be read");
      std::string line;
      int64_t rows = 0;
      while (reader.Next(line)) {
        RAPPORT_ASSIGN_OR_RETURN(const Row row,
                                 ParseRow(table, line, reader.Where(), manifest.org_id));
        const Status inserted = txn.InsertOrganizationRow(table, row);
        if (!inserted.ok()) return inserted.WithContext(reader.Where());
        ++rows;
      }
      summary.tables.emplace_back(table.name, rows);
      summary.rows += rows;
    }
    if (summary.tables.front().second != 1) {
      return Malformed(dir / FileName(OrganizationTables().front()),
                       "must hold the one organisation");
    }
    RAPPORT_ASSIGN_OR_RETURN(const AuditVerification chain,
                             VerifyStoredAuditChain(txn, manifest.org_id));
    if (!chain.ok()) {
      return InvalidArgument("the exported audit log does not verify: " + chain.problem->message,
                             "dir");
    }
    if (chain.head_seq != manifest.audit_head.seq || chain.head_hash != manifest.audit_head.hash) {
      return InvalidArgument(
          "the exported audit log does not end where the manifest's audit_head says", "dir");
    }
    return txn
        .AppendAudit(TransferEvent(manifest.org_id, actor, "organization.import", now, summary))
        .status();
  }));
  return summary;
}

}  // namespace rapport::storage
