// rapport_loadgen: the load generator and raw SQLite measurement of the ingest benchmark
// (bench/ingest.sh; DESIGN.md §10). Subcommands:
//   checkins  POSTs one check-in per token, each token once, over keep-alive connections
//   healthz   GETs /healthz over the same connections for a fixed time
//   sqlite    durable inserts straight into SQLite (WAL, synchronous=FULL): one row per
//             transaction, then a fixed number of rows per transaction
// Each prints a human summary on stderr and one JSON object on stdout. The HTTP modes exit 1
// when any response has an unexpected status (or a connection fails): a benchmark that lost
// or refused a write measured nothing.

// Boost 1.74 with g++ 12 needs <utility> before the Asio headers.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sqlite3.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "instruments/catalog.h"

namespace rapport::bench {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// ---- HTTP load ---------------------------------------------------------------------------

// The answers one instrument accepts: per item, the values a respondent may give.
struct AnswerSpace {
  std::string instrument_id;
  std::vector<std::vector<double>> values;  // per item, in item order
};

Result<AnswerSpace> AnswerSpaceFor(const instruments::Catalog& catalog, const std::string& id) {
  const instruments::Definition* definition = catalog.Find(id);
  if (definition == nullptr) return NotFound("instrument '" + id + "' is not in the catalogue");
  AnswerSpace space{id, {}};
  for (const instruments::Item& item : definition->items) {
    std::vector<double> values;
    if (item.type == instruments::ItemType::kChoice) {
      for (const instruments::Option& option : item.options) values.push_back(option.value);
    } else {
      const double step = item.step > 0 ? item.step : 1;
      for (double v = item.min; v <= item.max + 1e-9; v += step) values.push_back(v);
    }
    if (values.empty()) return InvalidArgument("item " + item.id + " of " + id + " has no values");
    space.values.push_back(std::move(values));
  }
  return space;
}

// A JSON check-in body with random (seeded) valid answers to every instrument.
std::string RandomBody(const std::vector<AnswerSpace>& spaces, std::mt19937_64& rng) {
  std::string body = "{\"responses\":[";
  for (size_t s = 0; s < spaces.size(); ++s) {
    if (s > 0) body += ',';
    body += "{\"instrument\":\"";
    body += spaces[s].instrument_id;
    body += "\",\"answers\":[";
    for (size_t i = 0; i < spaces[s].values.size(); ++i) {
      const auto& values = spaces[s].values[i];
      if (i > 0) body += ',';
      std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
      Json number = values[pick(rng)];
      body += number.dump();
    }
    body += "]}";
  }
  body += "]}";
  return body;
}

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  int connections = 64;
  int threads = 1;
  uint64_t seed = 1;
  // checkins
  std::vector<std::string> tokens;
  std::vector<AnswerSpace> spaces;
  // healthz
  std::chrono::milliseconds duration{5000};
};

// What the connections saw, merged at the end.
struct Tally {
  std::vector<uint32_t> latencies_us;  // of every answered request
  std::map<std::string, int64_t> statuses;
  int64_t expected = 0;  // responses with the expected status
};

enum class Mode { kCheckins, kHealthz };

class Load;

// One keep-alive connection issuing requests back to back. Touched only on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& ioc, Load& load, uint64_t seed)
      : resolver_(net::make_strand(ioc)),
        stream_(resolver_.get_executor()),
        load_(load),
        rng_(seed) {}

  void Start() { Connect(); }
  Tally& tally() { return tally_; }

 private:
  void Connect();
  void Next();
  void Fail(std::string_view what) { ++tally_.statuses[std::string(what)]; }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  Load& load_;
  std::mt19937_64 rng_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::optional<http::response<http::string_body>> response_;
  Clock::time_point sent_;
  Tally tally_;
};

class Load {
 public:
  Load(Mode mode, const LoadOptions& options) : mode_(mode), options_(options) {}

  // Runs until every token is used (checkins) or the duration has passed (healthz).
  Tally Run(double& seconds) {
    net::io_context ioc(options_.threads);
    std::vector<std::shared_ptr<Connection>> connections;
    for (int c = 0; c < options_.connections; ++c) {
      connections.push_back(
          std::make_shared<Connection>(ioc, *this, options_.seed * 1000003 + uint64_t(c)));
    }
    start_ = Clock::now();
    deadline_ = start_ + options_.duration;
    for (auto& connection : connections) connection->Start();
    std::vector<std::thread> threads;
    for (int t = 1; t < options_.threads; ++t) threads.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& thread : threads) thread.join();
    seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    Tally all;
    for (auto& connection : connections) {
      Tally& one = connection->tally();
      all.latencies_us.insert(all.latencies_us.end(), one.latencies_us.begin(),
                              one.latencies_us.end());
      for (const auto& [status, count] : one.statuses) all.statuses[status] += count;
      all.expected += one.expected;
    }
    return all;
  }

  // The next request to send, or false when the run is over.
  bool NextRequest(http::request<http::string_body>& request, std::mt19937_64& rng) {
    request = {};
    request.version(11);
    request.keep_alive(true);
    request.set(http::field::host, options_.host);
    if (mode_ == Mode::kHealthz) {
      if (Clock::now() >= deadline_) return false;
      request.method(http::verb::get);
      request.target("/healthz");
      return true;
    }
    const size_t index = next_token_.fetch_add(1);
    if (index >= options_.tokens.size()) return false;
    request.method(http::verb::post);
    request.target("/api/v1/checkins/" + options_.tokens[index]);
    request.set(http::field::content_type, "application/json");
    request.body() = RandomBody(options_.spaces, rng);
    request.prepare_payload();
    return true;
  }

  unsigned expected_status() const { return mode_ == Mode::kCheckins ? 201 : 200; }
  const LoadOptions& options() const { return options_; }

 private:
  const Mode mode_;
  const LoadOptions& options_;
  std::atomic<size_t> next_token_{0};
  Clock::time_point start_;
  Clock::time_point deadline_;
};

void Connection::Connect() {
  resolver_.async_resolve(
      load_.options().host, load_.options().port,
      [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) return self->Fail("resolve");
        self->stream_.async_connect(results,
                                    [self](beast::error_code connect_ec, const tcp::endpoint&) {
                                      if (connect_ec) return self->Fail("connect");
                                      self->stream_.socket().set_option(tcp::no_delay(true));
                                      self->Next();
                                    });
      });
}

void Connection::Next() {
  if (!load_.NextRequest(request_, rng_)) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return;
  }
  sent_ = Clock::now();
  stream_.expires_after(std::chrono::seconds(60));
  http::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->Fail("write");
    self->response_.emplace();
    http::async_read(
        self->stream_, self->buffer_, *self->response_, [self](beast::error_code read_ec, size_t) {
          if (read_ec) return self->Fail("read");
          const auto elapsed =
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - self->sent_);
          self->tally_.latencies_us.push_back(static_cast<uint32_t>(elapsed.count()));
          const unsigned status = self->response_->result_int();
          if (status == self->load_.expected_status()) {
            ++self->tally_.expected;
          } else {
            self->Fail(std::to_string(status));
          }
          if (!self->response_->keep_alive()) {
            beast::error_code ignored;
            self->stream_.socket().close(ignored);
            return self->Connect();
          }
          self->Next();
        });
  });
}

double Percentile(const std::vector<uint32_t>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  const size_t rank = static_cast<size_t>(p * static_cast<double>(sorted_us.size() - 1) + 0.5);
  return sorted_us[std::min(rank, sorted_us.size() - 1)] / 1000.0;
}

int RunLoad(Mode mode, const LoadOptions& options) {
  Load load(mode, options);
  double seconds = 0;
  Tally tally = load.Run(seconds);
  std::sort(tally.latencies_us.begin(), tally.latencies_us.end());
  int64_t errors = 0;
  for (const auto& [status, count] : tally.statuses) errors += count;
  const int64_t answered = static_cast<int64_t>(tally.latencies_us.size());
  Json out;
  out["mode"] = mode == Mode::kCheckins ? "checkins" : "healthz";
  out["connections"] = options.connections;
  out["requests"] = answered;
  out["expected_status"] = load.expected_status();
  out["ok"] = tally.expected;
  out["errors"] = tally.statuses;
  out["seconds"] = seconds;
  out["requests_per_second"] = seconds > 0 ? static_cast<double>(tally.expected) / seconds : 0;
  out["p50_ms"] = Percentile(tally.latencies_us, 0.50);
  out["p90_ms"] = Percentile(tally.latencies_us, 0.90);
  out["p99_ms"] = Percentile(tally.latencies_us, 0.99);
  out["max_ms"] = tally.latencies_us.empty() ? 0.0 : tally.latencies_us.back() / 1000.0;
  std::cerr << out["mode"].get<std::string>() << ": " << tally.expected << " x "
            << load.expected_status() << " in " << seconds
            << " s = " << out["requests_per_second"].get<double>() << "/s; p50 " << out["p50_ms"]
            << " ms, p90 " << out["p90_ms"] << " ms, p99 " << out["p99_ms"] << " ms, max "
            << out["max_ms"] << " ms; errors " << errors
            << (errors > 0 ? " " + out["errors"].dump() : "") << "\n";
  if (mode == Mode::kCheckins && answered + errors < static_cast<int64_t>(options.tokens.size())) {
    std::cerr << "checkins: " << options.tokens.size() - static_cast<size_t>(answered)
              << " tokens were never answered\n";
    errors += 1;
  }
  std::cout << out.dump() << std::endl;
  return errors > 0 ? 1 : 0;
}

// Tokens from a file with one token, or one check-in link ending in /c/TOKEN, per line.
Result<std::vector<std::string>> ReadTokens(const std::string& path, size_t skip, size_t count) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path);
  std::vector<std::string> tokens;
  std::string line;
  size_t seen = 0;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    if (seen++ < skip) continue;
    if (tokens.size() >= count) break;
    const size_t slash = line.rfind('/');
    tokens.push_back(slash == std::string::npos ? line : line.substr(slash + 1));
  }
  return tokens;
}

// ---- raw SQLite --------------------------------------------------------------------------

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  if (rc != SQLITE_OK) return Internal(std::string(sql) + ": " + message);
  return Status::Ok();
}

// Inserts rows shaped like a stored response (text ids, an instrument, a time) for about
// `seconds`, `rows_per_transaction` rows per durable commit; rows per second.
Result<double> InsertRate(sqlite3* db, sqlite3_stmt* insert, int rows_per_transaction,
                          double seconds, int64_t& next_id) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  int64_t rows = 0;
  while (Clock::now() < deadline) {
    RAPPORT_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
    for (int r = 0; r < rows_per_transaction; ++r) {
      const std::string id = "response-" + std::to_string(next_id++);
      sqlite3_bind_text(insert, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 2, "checkin", -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 3, "rapport-alliance-client", -1, SQLITE_STATIC);
      sqlite3_bind_int64(insert, 4, next_id);
      if (sqlite3_step(insert) != SQLITE_DONE) return Internal(sqlite3_errmsg(db));
      sqlite3_reset(insert);
    }
    RAPPORT_RETURN_IF_ERROR(Exec(db, "COMMIT"));
    rows += rows_per_transaction;
  }
  return static_cast<double>(rows) / std::chrono::duration<double>(Clock::now() - start).count();
}

int RunSqlite(const std::string& path, double seconds, int batch) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    std::cerr << "sqlite: cannot open " << path << "\n";
    return 1;
  }
  // The server's settings (src/storage/sqlite/db.cc): a commit is on disk when it returns.
  Status status = Exec(db.get(),
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                       "CREATE TABLE rows (id TEXT PRIMARY KEY, checkin_id TEXT NOT NULL, "
                       "instrument_id TEXT NOT NULL, submitted_at INTEGER NOT NULL)");
  sqlite3_stmt* prepared = nullptr;
  if (status.ok() && sqlite3_prepare_v2(db.get(), "INSERT INTO rows VALUES (?, ?, ?, ?)", -1,
                                        &prepared, nullptr) != SQLITE_OK) {
    status = Internal(sqlite3_errmsg(db.get()));
  }
  Stmt insert(prepared);
  int64_t next_id = 0;
  Result<double> single = status.ok() ? InsertRate(db.get(), insert.get(), 1, seconds, next_id)
                                      : Result<double>(status);
  Result<double> batched = single.ok() ? InsertRate(db.get(), insert.get(), batch, seconds, next_id)
                                       : Result<double>(single.status());
  insert.reset();
  db.reset();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  if (!batched.ok()) {
    std::cerr << "sqlite: " << batched.status().message() << "\n";
    return 1;
  }
  Json out;
  out["mode"] = "sqlite";
  out["single_rows_per_second"] = *single;
  out["batch"] = batch;
  out["batch_rows_per_second"] = *batched;
  std::cerr << "sqlite (WAL, synchronous=FULL): 1 row per commit " << *single << " rows/s; "
            << batch << " rows per commit " << *batched << " rows/s\n";
  std::cout << out.dump() << std::endl;
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"Load generator and raw SQLite measurement of the ingest benchmark.",
               "rapport_loadgen"};
  app.require_subcommand(1);
  LoadOptions options;
  std::string url_host = "127.0.0.1";
  int port = 8080;
  const auto add_http = [&](CLI::App* command) {
    command->add_option("--host", url_host, "Server address (default 127.0.0.1)");
    command->add_option("--port", port, "Server port")->required();
    command->add_option("--connections", options.connections, "Concurrent keep-alive connections")
        ->check(CLI::Range(1, 10000));
    command->add_option("--threads", options.threads, "Client I/O threads (default 1)")
        ->check(CLI::Range(1, 64));
  };

  std::string tokens_file;
  size_t skip = 0;
  size_t count = SIZE_MAX;
  std::string data_dir;
  std::vector<std::string> instrument_ids = {"rapport-progress", "rapport-alliance-client"};
  CLI::App* checkins = app.add_subcommand(
      "checkins", "POST /api/v1/checkins/TOKEN once per token with random valid answers");
  add_http(checkins);
  checkins->add_option("--tokens", tokens_file, "File of tokens or check-in links, one a line")
      ->required();
  checkins->add_option("--skip", skip, "Leave out the first N tokens");
  checkins->add_option("--count", count, "Use at most N tokens");
  checkins->add_option("--instruments", instrument_ids,
                       "The instruments every check-in asks (default: the demo's)");
  checkins->add_option("--data-dir", data_dir, "Rapport's data folder (default: found)");
  checkins->add_option("--seed", options.seed, "Seed of the random answers");

  double healthz_seconds = 5;
  CLI::App* healthz = app.add_subcommand("healthz", "GET /healthz for a fixed time");
  add_http(healthz);
  healthz->add_option("--seconds", healthz_seconds, "How long (default 5)");

  std::string db_path;
  double sqlite_seconds = 3;
  int batch = 1000;
  CLI::App* sqlite = app.add_subcommand(
      "sqlite", "Durable inserts into a fresh SQLite file (WAL, synchronous=FULL)");
  sqlite->add_option("--db", db_path, "The file to create (and remove afterwards)")->required();
  sqlite->add_option("--seconds", sqlite_seconds, "Time per measurement (default 3)");
  sqlite->add_option("--batch", batch, "Rows per transaction of the second measurement")
      ->check(CLI::Range(1, 1000000));

  CLI11_PARSE(app, argc, argv);
  options.host = url_host;
  options.port = std::to_string(port);
  if (sqlite->parsed()) return RunSqlite(db_path, sqlite_seconds, batch);
  if (healthz->parsed()) {
    options.duration = std::chrono::milliseconds(static_cast<int64_t>(healthz_seconds * 1000));
    return RunLoad(Mode::kHealthz, options);
  }
  auto tokens = ReadTokens(tokens_file, skip, count);
  if (!tokens.ok()) {
    std::cerr << "checkins: " << tokens.status().message() << "\n";
    return 2;
  }
  options.tokens = std::move(tokens).value();
  const std::filesystem::path dir =
      data_dir.empty() ? instruments::DefaultDataDir() : std::filesystem::path(data_dir);
  auto catalog = instruments::Catalog::Load(instruments::Catalog::SourcesFor(dir));
  if (!catalog.ok()) {
    std::cerr << "checkins: " << catalog.status().message() << "\n";
    return 2;
  }
  for (const std::string& id : instrument_ids) {
    auto space = AnswerSpaceFor(*catalog, id);
    if (!space.ok()) {
      std::cerr << "checkins: " << space.status().message() << "\n";
      return 2;
    }
    options.spaces.push_back(std::move(space).value());
  }
  return RunLoad(Mode::kCheckins, options);
}

}  // namespace
}  // namespace rapport::bench

int main(int argc, char** argv) { return rapport::bench::Main(argc, argv); }
