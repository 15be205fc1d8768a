#include "storage/tables.h"

namespace rapport::storage {
namespace {

constexpr ColumnType kText = ColumnType::kText;
constexpr ColumnType kInteger = ColumnType::kInteger;
constexpr ColumnType kReal = ColumnType::kReal;
constexpr ColumnType kBoolean = ColumnType::kBoolean;

std::vector<TableSpec> MakeTables() {
  return {
      {"organizations", "id", {{"id", kText}, {"name", kText}, {"created_at", kInteger}}, {"id"}},
      {"clinics", "org_id", {{"org_id", kText}, {"id", kText}, {"name", kText}}, {"id"}},
      {"users",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"clinic_id", kText},
        {"email", kText},
        {"display_name", kText},
        {"role", kText},
        {"password_hash", kText},
        {"disabled", kBoolean},
        {"created_at", kInteger},
        {"totp_secret", kText},
        {"totp_enabled", kBoolean},
        {"failed_logins", kInteger},
        {"locked_until", kInteger}},
       {"id"}},
      {"clients",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"code", kText},
        {"language", kText},
        {"consent_research", kBoolean},
        {"created_at", kInteger}},
       {"id"}},
      {"collaterals",
       "org_id",
       {{"org_id", kText}, {"id", kText}, {"client_id", kText}, {"relationship", kText}},
       {"id"}},
      {"episodes",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"clinic_id", kText},
        {"modality", kText},
        {"started_at", kInteger},
        {"ended_at", kInteger},
        {"end_reason", kText}},
       {"id"},
       false,
       {"revision"}},
      {"episode_clients",
       "org_id",
       {{"org_id", kText}, {"episode_id", kText}, {"client_id", kText}, {"position", kInteger}},
       {"episode_id", "client_id"}},
      {"episode_clinicians",
       "org_id",
       {{"org_id", kText}, {"episode_id", kText}, {"user_id", kText}, {"position", kInteger}},
       {"episode_id", "user_id"}},
      {"goals",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"episode_id", kText},
        {"client_id", kText},
        {"description", kText},
        {"created_at", kInteger}},
       {"id"}},
      {"sessions",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"episode_id", kText},
        {"number", kInteger},
        {"scheduled_at", kInteger},
        {"attendance", kText}},
       {"id"}},
      {"session_participants",
       "org_id",
       {{"org_id", kText}, {"session_id", kText}, {"person_id", kText}, {"role", kText}},
       {"session_id", "person_id"},
       true},
      {"checkins",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"session_id", kText},
        {"respondent_id", kText},
        {"perspective", kText},
        {"instruments", kText},
        {"token_digest", kText},
        {"language", kText},
        {"created_at", kInteger},
        {"expires_at", kInteger},
        {"submitted_at", kInteger},
        {"submission_digest", kText}},
       {"id"}},
      {"responses",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"checkin_id", kText},
        {"session_id", kText},
        {"respondent_id", kText},
        {"perspective", kText},
        {"target", kText},
        {"instrument_id", kText},
        {"submitted_at", kInteger},
        {"answers", kText},
        {"scoring_version", kText},
        {"total", kReal},
        {"band", kText},
        {"subscales", kText},
        {"flags", kText}},
       {"session_id", "id"},
       true},
      {"alerts",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"episode_id", kText},
        {"client_id", kText},
        {"kind", kText},
        {"dedupe_key", kText},
        {"severity", kText},
        {"status", kText},
        {"session_number", kInteger},
        {"last_session_number", kInteger},
        {"occurrences", kInteger},
        {"evidence", kText},
        {"created_at", kInteger},
        {"updated_at", kInteger},
        {"acknowledged_by", kText},
        {"acknowledged_at", kInteger},
        {"resolved_by", kText},
        {"resolved_at", kInteger},
        {"resolution", kText}},
       {"id"},
       true},
      {"repair_notes",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"alert_id", kText},
        {"author_id", kText},
        {"text", kText},
        {"discussed_with_client", kBoolean},
        {"created_at", kInteger}},
       {"id"},
       true},
      {"org_settings",
       "org_id",
       {{"org_id", kText}, {"document", kText}, {"updated_at", kInteger}},
       {}},
      {"fitted_models",
       "org_id",
       {{"org_id", kText},
        {"kind", kText},
        {"instrument_id", kText},
        {"document", kText},
        {"fitted_at", kInteger},
        {"data_from", kInteger},
        {"data_to", kInteger},
        {"clients", kInteger},
        {"observations", kInteger},
        {"criterion", kReal}},
       {"kind", "instrument_id"}},
      {"text_packs",
       "org_id",
       {{"org_id", kText},
        {"instrument_id", kText},
        {"language", kText},
        {"document", kText},
        {"uploaded_by", kText},
        {"uploaded_at", kInteger}},
       {"instrument_id", "language"}},
      {"api_tokens",
       "org_id",
       {{"org_id", kText},
        {"id", kText},
        {"user_id", kText},
        {"name", kText},
        {"token_digest", kText},
        {"scopes", kText},
        {"created_at", kInteger},
        {"expires_at", kInteger},
        {"revoked_at", kInteger}},
       {"id"}},
      {"recovery_codes",
       "org_id",
       {{"org_id", kText}, {"user_id", kText}, {"code_digest", kText}, {"used_at", kInteger}},
       {"user_id", "code_digest"}},
      {"audit_events",
       "org_id",
       {{"org_id", kText},
        {"seq", kInteger},
        {"at", kInteger},
        {"actor", kText},
        {"action", kText},
        {"resource", kText},
        {"address", kText},
        {"detail", kText},
        {"prev_hash", kText},
        {"hash", kText}},
       {"seq"}},
      {"audit_heads", "org_id", {{"org_id", kText}, {"seq", kInteger}, {"hash", kText}}, {}},
  };
}

bool HasType(const Value& value, ColumnType type) {
  switch (type) {
    case ColumnType::kText: return std::holds_alternative<std::string>(value);
    case ColumnType::kInteger: return std::holds_alternative<int64_t>(value);
    case ColumnType::kReal: return std::holds_alternative<double>(value);
    case ColumnType::kBoolean: return std::holds_alternative<bool>(value);
  }
  return false;
}

}  // namespace

std::string_view Name(ColumnType type) {
  switch (type) {
    case ColumnType::kText: return "text";
    case ColumnType::kInteger: return "integer";
    case ColumnType::kReal: return "real";
    case ColumnType::kBoolean: return "boolean";
  }
  return "unknown";
}

int TableSpec::ColumnIndex(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

const std::vector<TableSpec>& OrganizationTables() {
  static const std::vector<TableSpec> tables = MakeTables();
  return tables;
}

const std::vector<std::string_view>& UncopiedTables() {
  static const std::vector<std::string_view> tables = {"auth_sessions", "rate_counters",
                                                       "schema_migrations"};
  return tables;
}

const TableSpec* FindOrganizationTable(std::string_view name) {
  for (const TableSpec& table : OrganizationTables()) {
    if (table.name == name) return &table;
  }
  return nullptr;
}

std::string ColumnList(const TableSpec& table) {
  std::string out;
  for (const ColumnSpec& column : table.columns) {
    if (!out.empty()) out.append(", ");
    out.append(column.name);
  }
  return out;
}

std::string ScanSql(const TableSpec& table, std::string_view placeholder,
                    std::string_view insertion_column, std::string_view text_collation) {
  std::string order;
  if (table.insertion_ordered) {
    order = insertion_column;
  } else {
    for (const std::string_view column : table.key) {
      if (!order.empty()) order.append(", ");
      order.append(column);
      const int index = table.ColumnIndex(column);
      if (index >= 0 && table.columns[index].type == ColumnType::kText) {
        order.append(text_collation);
      }
    }
  }
  std::string sql = std::string("SELECT ")
                        .append(ColumnList(table))
                        .append(" FROM ")
                        .append(table.name)
                        .append(" WHERE ")
                        .append(table.org_column)
                        .append(" = ")
                        .append(placeholder);
  if (!order.empty()) sql.append(" ORDER BY ").append(order);
  return sql;
}

Status CheckOrganizationTable(const TableSpec& table) {
  if (FindOrganizationTable(table.name) == &table) return Status::Ok();
  return InvalidArgument(std::string("not an organisation table: ").append(table.name), "table");
}

Status CheckRow(const TableSpec& table, const Row& row) {
  RAPPORT_RETURN_IF_ERROR(CheckOrganizationTable(table));
  if (row.size() != table.columns.size()) {
    return InvalidArgument(std::string(table.name)
                               .append(": a row needs ")
                               .append(std::to_string(table.columns.size()))
                               .append(" values, got ")
                               .append(std::to_string(row.size())),
                           std::string(table.name));
  }
  for (size_t i = 0; i < row.size(); ++i) {
    const ColumnSpec& column = table.columns[i];
    if (std::holds_alternative<std::monostate>(row[i]) || HasType(row[i], column.type)) continue;
    const std::string field = std::string(table.name).append(".").append(column.name);
    return InvalidArgument(std::string(field).append(" must be ").append(Name(column.type)), field);
  }
  return Status::Ok();
}

}  // namespace rapport::storage
