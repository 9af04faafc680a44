#include "common/sql/postgres_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "common/sql/placeholders.h"

namespace nexus::sql {
namespace {

// libpq's message for a failed result or connection, without the trailing
// newline.
std::string Message(PGconn* conn, const PGresult* res) {
  std::string m = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  if (m.empty()) m = PQerrorMessage(conn);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Throws the sql::Error of `res` unless it succeeded.
ResultPtr Check(PGconn* conn, PGresult* raw, std::string_view what) {
  ResultPtr res(raw);
  const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
  const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
  ErrorKind kind = KindOfSqlState(state != nullptr ? state : "");
  if (PQstatus(conn) == CONNECTION_BAD) kind = ErrorKind::kConnection;
  throw Error(kind, std::string(what) + ": " + Message(conn, res.get()));
}

class PostgresStatement : public StatementImpl {
 public:
  PostgresStatement(PGconn* conn, std::string name, int params, std::string text)
      : conn_(conn),
        name_(std::move(name)),
        text_(std::move(text)),
        values_(params),
        formats_(params, 0) {}

  void BindInt64(int i, int64_t v) override { Set(i, std::to_string(v), 0); }
  void BindText(int i, std::string_view v) override { Set(i, std::string(v), 0); }
  void BindBlob(int i, const void* data, size_t size) override {
    Set(i, std::string(static_cast<const char*>(data), size), 1);
  }
  void BindNull(int i) override {
    Slot(i).reset();
    formats_[i - 1] = 0;
  }

  bool Step() override {
    if (!res_) Run();
    ++row_;
    return row_ < PQntuples(res_.get());
  }
  int64_t Exec() override {
    Run();
    const char* n = PQcmdTuples(res_.get());
    return (n == nullptr || *n == '\0') ? 0 : std::stoll(n);
  }
  void Reset() override {
    res_.reset();
    row_ = -1;
  }

  bool IsNull(int c) override { return PQgetisnull(res_.get(), Row(), c) != 0; }
  int64_t Int64(int c) override {
    if (IsNull(c)) return 0;
    const char* v = PQgetvalue(res_.get(), Row(), c);
    // Comparisons come back as booleans where SQLite answers 0 or 1.
    if (std::strcmp(v, "t") == 0) return 1;
    if (std::strcmp(v, "f") == 0) return 0;
    int64_t out = 0;
    const char* end = v + std::strlen(v);
    auto [p, ec] = std::from_chars(v, end, out);
    if (ec != std::errc() || (p != end && *p != '.')) {
      throw Error(ErrorKind::kOther, "column " + std::to_string(c) + " is not an integer: " + v);
    }
    return out;
  }
  std::string Text(int c) override {
    if (IsNull(c)) return "";
    return std::string(PQgetvalue(res_.get(), Row(), c),
                       static_cast<size_t>(PQgetlength(res_.get(), Row(), c)));
  }
  std::vector<uint8_t> Blob(int c) override {
    if (IsNull(c)) return {};
    size_t n = 0;
    unsigned char* raw = PQunescapeBytea(
        reinterpret_cast<const unsigned char*>(PQgetvalue(res_.get(), Row(), c)), &n);
    if (raw == nullptr) throw Error(ErrorKind::kOther, "unescape bytea: out of memory");
    std::vector<uint8_t> out(raw, raw + n);
    PQfreemem(raw);
    return out;
  }

 private:
  std::optional<std::string>& Slot(int i) {
    if (i < 1 || i > static_cast<int>(values_.size())) {
      throw Error(ErrorKind::kOther,
                  "bind index " + std::to_string(i) + " out of range in: " + text_);
    }
    return values_[i - 1];
  }
  void Set(int i, std::string v, int format) {
    Slot(i) = std::move(v);
    formats_[i - 1] = format;
  }
  int Row() const {
    if (!res_ || row_ < 0 || row_ >= PQntuples(res_.get())) {
      throw Error(ErrorKind::kOther, "no current row in: " + text_);
    }
    return row_;
  }
  void Run() {
    std::vector<const char*> values(values_.size());
    std::vector<int> lengths(values_.size());
    for (size_t i = 0; i < values_.size(); ++i) {
      values[i] = values_[i] ? values_[i]->data() : nullptr;
      lengths[i] = values_[i] ? static_cast<int>(values_[i]->size()) : 0;
    }
    res_ = Check(conn_,
                 PQexecPrepared(conn_, name_.c_str(), static_cast<int>(values.size()),
                                values.data(), lengths.data(), formats_.data(), 0),
                 text_);
    row_ = -1;
  }

  PGconn* conn_;
  std::string name_;
  std::string text_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
  ResultPtr res_;
  int row_ = -1;
};

// Notices (a ROLLBACK with no transaction open, say) are not errors and
// would otherwise go to stderr.
void IgnoreNotice(void*, const char*) {}

}  // namespace

bool IsPostgresUri(std::string_view target) {
  return target.starts_with("postgres://") || target.starts_with("postgresql://");
}

Result<std::unique_ptr<PostgresConnection>> PostgresConnection::Open(const std::string& uri) {
  PGconn* conn = PQconnectdb(uri.c_str());
  if (conn == nullptr) return UnavailableError("connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    // Not the URI: it may hold a password.
    std::string m = Message(conn, nullptr);
    PQfinish(conn);
    return UnavailableError("connect to PostgreSQL: " + m);
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return std::unique_ptr<PostgresConnection>(new PostgresConnection(conn));
}

PostgresConnection::~PostgresConnection() { PQfinish(conn_); }

void PostgresConnection::ReconnectIfLost() {
  if (PQstatus(conn_) == CONNECTION_OK) return;
  PQreset(conn_);
  prepared_.clear();  // the new session has none of them
  if (PQstatus(conn_) != CONNECTION_OK) {
    throw Error(ErrorKind::kConnection, "reconnect to PostgreSQL: " + Message(conn_, nullptr));
  }
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
}

Statement PostgresConnection::Prepare(std::string_view sql) {
  ReconnectIfLost();
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    RewrittenSql rewritten = ToDollarPlaceholders(sql);
    Prepared p{"nx" + std::to_string(next_name_++), rewritten.params};
    Check(conn_, PQprepare(conn_, p.name.c_str(), rewritten.text.c_str(), 0, nullptr), key);
    it = prepared_.emplace(std::move(key), std::move(p)).first;
  }
  return Statement(
      std::make_unique<PostgresStatement>(conn_, it->second.name, it->second.params, it->first));
}

void PostgresConnection::ExecScript(std::string_view script) {
  std::string text(script);
  Check(conn_, PQexec(conn_, text.c_str()), text.substr(0, 200));
}

void PostgresConnection::Begin(TxMode mode) {
  ReconnectIfLost();
  if (mode == TxMode::kRead) {
    ExecScript("BEGIN ISOLATION LEVEL REPEATABLE READ");
    return;
  }
  // One simple query, so one round trip: every write transaction pays it,
  // and writers wait on this lock one after another. A failure in either
  // statement skips the rest and leaves a transaction to roll back.
  try {
    ExecScript("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" +
               std::to_string(kWriteLockClass) + ", " + std::to_string(kWriteLockObject) + ")");
  } catch (...) {
    Rollback();
    throw;
  }
}

void PostgresConnection::Commit() { ExecScript("COMMIT"); }

void PostgresConnection::Rollback() noexcept {
  if (PQstatus(conn_) != CONNECTION_OK) return;
  PQclear(PQexec(conn_, "ROLLBACK"));
}

}  // namespace nexus::sql
