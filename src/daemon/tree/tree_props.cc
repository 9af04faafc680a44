// Dead properties of tree entries (WebDAV PROPPATCH), one row per property
// in vfs_props. The foreign key to vfs_entries makes them follow their
// entry: a move keeps the entry's id and so its properties, a delete (of a
// folder, or of a file by the cascade from its files row) removes them, and
// a copy duplicates them (tree_copy.cc). Triggers keep each owner's total
// in vfs_prop_usage (cascaded deletes fire them too), so the per-owner
// limit is one row read, whatever removed or added the properties.

#include "daemon/tree/tree_rows.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon::storage {
namespace {

using tree_rows::Node;
using tree_rows::Quoted;

constexpr char kSchemaV110[] = R"sql(
CREATE TABLE vfs_props (
  entry_id INTEGER NOT NULL REFERENCES vfs_entries(id) ON DELETE CASCADE,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (entry_id, ns, name)
) WITHOUT ROWID;
)sql";

// Each row carries its owner, so the delete trigger knows whom to credit
// when the entry is already gone (a cascade).
#define NEXUS_PROP_BYTES(row)                              \
  "(length(CAST(" #row ".ns AS BLOB)) + length(CAST(" #row \
  ".name AS BLOB)) + "                                     \
  "length(CAST(" #row ".value AS BLOB)))"
constexpr char kSchemaV112[] =
    "ALTER TABLE vfs_props ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
    "UPDATE vfs_props SET owner = (SELECT owner FROM vfs_entries WHERE id = entry_id);"
    "CREATE TABLE vfs_prop_usage (owner TEXT PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO vfs_prop_usage(owner, bytes) SELECT owner, SUM(" NEXUS_PROP_BYTES(
        vfs_props) ") FROM vfs_props GROUP BY owner;"
    "CREATE TRIGGER vfs_props_added AFTER INSERT ON vfs_props BEGIN"
    " INSERT INTO vfs_prop_usage(owner, bytes) VALUES(NEW.owner, " NEXUS_PROP_BYTES(NEW) ")"
    " ON CONFLICT(owner) DO UPDATE SET bytes = bytes + excluded.bytes; END;"
    "CREATE TRIGGER vfs_props_removed AFTER DELETE ON vfs_props BEGIN"
    " UPDATE vfs_prop_usage SET bytes = bytes - " NEXUS_PROP_BYTES(OLD) " WHERE owner = OLD.owner;"
    " END;"
    "CREATE TRIGGER vfs_props_changed AFTER UPDATE ON vfs_props BEGIN"
    " UPDATE vfs_prop_usage SET bytes = bytes - " NEXUS_PROP_BYTES(OLD) " WHERE owner = OLD.owner;"
    " UPDATE vfs_prop_usage SET bytes = bytes + " NEXUS_PROP_BYTES(NEW) " WHERE owner = NEW.owner;"
    " END;";
#undef NEXUS_PROP_BYTES

// PostgreSQL's dialect: BIGINT keys, octet_length for the bytes of a text,
// the triggers as one PL/pgSQL function.
constexpr char kPgSchemaV110[] = R"sql(
CREATE TABLE vfs_props (
  entry_id BIGINT NOT NULL REFERENCES vfs_entries(id) ON DELETE CASCADE,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (entry_id, ns, name)
);
)sql";

constexpr char kPgSchemaV112[] = R"sql(
ALTER TABLE vfs_props ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE TABLE vfs_prop_usage (owner TEXT PRIMARY KEY, bytes BIGINT NOT NULL);
CREATE FUNCTION nexus_count_props() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE vfs_prop_usage
      SET bytes = bytes - (octet_length(OLD.ns) + octet_length(OLD.name) + octet_length(OLD.value))
      WHERE owner = OLD.owner;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO vfs_prop_usage AS u (owner, bytes)
      VALUES (NEW.owner, octet_length(NEW.ns) + octet_length(NEW.name) + octet_length(NEW.value))
      ON CONFLICT (owner) DO UPDATE SET bytes = u.bytes + excluded.bytes;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER vfs_props_counted AFTER INSERT OR DELETE OR UPDATE ON vfs_props
  FOR EACH ROW EXECUTE FUNCTION nexus_count_props();
)sql";

// The number and bytes of one entry's properties. Bytes, not characters:
// SQLite (3.40 here) has no octet_length, PostgreSQL no length of a BLOB cast.
constexpr char kCountEntryProps[] =
    "SELECT COUNT(*), COALESCE(SUM(length(CAST(ns AS BLOB)) + length(CAST(name AS BLOB)) +"
    " length(CAST(value AS BLOB))), 0) FROM vfs_props WHERE entry_id = ?";
constexpr char kPgCountEntryProps[] =
    "SELECT COUNT(*), COALESCE(SUM(octet_length(ns) + octet_length(name) + octet_length(value)),"
    " 0) FROM vfs_props WHERE entry_id = ?";

std::vector<DeadProperty> PropsOf(sql::Connection& db, int64_t entry_id) {
  sql::Statement q =
      db.Prepare("SELECT ns, name, value FROM vfs_props WHERE entry_id = ? ORDER BY ns, name");
  q.Bind(1, entry_id);
  std::vector<DeadProperty> out;
  while (q.Step()) {
    out.push_back({q.Text(0), q.Text(1), q.Text(2)});
  }
  return out;
}

}  // namespace

Status CheckPropBytes(MetadataTx& tx, const std::string& owner, const std::string& op) {
  sql::Statement q = tx.db().Prepare("SELECT bytes FROM vfs_prop_usage WHERE owner = ?");
  q.Bind(1, owner);
  if (q.Step() && q.Int64(0) > kMaxPropBytesPerOwner) {
    return QuotaExceededError(op + ": the owner's properties would take more than " +
                              std::to_string(kMaxPropBytesPerOwner) + " bytes");
  }
  return Status::Ok();
}

std::vector<sql::Migration> TreeMigrations() {
  return {{110, "tree: vfs_props (WebDAV dead properties)", kSchemaV110, kPgSchemaV110},
          TreeLockMigration(),
          {112, "tree: dead property bytes per owner (vfs_prop_usage)", kSchemaV112, kPgSchemaV112},
          TreeLockEntryMigration(),
          TreeMultipartMigration()};
}

Status TreeStore::SetModified(const std::string& owner, const std::string& path, int64_t modified) {
  const std::string op = "set the time of " + Quoted(path);
  return metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = tree_rows::Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->id == tree_rows::kRootId) return PermissionDeniedError(op + ": it is the root");
    sql::Statement up = tx.db().Prepare("UPDATE vfs_entries SET modified = ? WHERE id = ?");
    up.Bind(1, modified);
    up.Bind(2, node->id);
    up.Exec();
    return Status::Ok();
  });
}

Status TreeStore::PatchProps(const std::string& owner, const std::string& path,
                             const std::vector<DeadPropertyChange>& changes) {
  const std::string op = "set properties of " + Quoted(path);
  for (const DeadPropertyChange& c : changes) {
    if (c.prop.name.empty()) return InvalidArgumentError(op + ": a property has no name");
    if (c.prop.value.size() > kMaxPropValueBytes || c.prop.ns.size() > kMaxPropValueBytes ||
        c.prop.name.size() > kMaxPropValueBytes) {
      return InvalidArgumentError(op + ": a property is larger than " +
                                  std::to_string(kMaxPropValueBytes) + " bytes");
    }
  }
  return metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = tree_rows::Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->id == tree_rows::kRootId) return PermissionDeniedError(op + ": the root has none");
    sql::Statement set = tx.db().Prepare(
        "INSERT INTO vfs_props(entry_id, ns, name, value, owner)"
        " VALUES(?, ?, ?, ?, ?)"
        " ON CONFLICT(entry_id, ns, name) DO UPDATE SET value = excluded.value");
    sql::Statement del =
        tx.db().Prepare("DELETE FROM vfs_props WHERE entry_id = ? AND ns = ? AND name = ?");
    for (const DeadPropertyChange& c : changes) {
      sql::Statement& q = c.remove ? del : set;
      q.Bind(1, node->id);
      q.Bind(2, c.prop.ns);
      q.Bind(3, c.prop.name);
      if (!c.remove) {
        q.Bind(4, c.prop.value);
        q.Bind(5, owner);
      }
      q.Exec();
      q.Reset();
    }
    sql::Statement count = tx.db().Prepare(
        tx.db().dialect() == sql::Dialect::kPostgres ? kPgCountEntryProps : kCountEntryProps);
    count.Bind(1, node->id);
    count.Step();
    if (count.Int64(0) > kMaxPropsPerEntry) {
      return QuotaExceededError(op + ": more than " + std::to_string(kMaxPropsPerEntry) +
                                " properties");
    }
    if (count.Int64(1) > kMaxPropBytesPerEntry) {
      return QuotaExceededError(op + ": its properties would take more than " +
                                std::to_string(kMaxPropBytesPerEntry) + " bytes");
    }
    return CheckPropBytes(tx, owner, op);
  });
}

Result<std::vector<EntryProperties>> TreeStore::ListProps(const std::string& owner,
                                                          const std::string& path, bool children) {
  std::vector<EntryProperties> out;
  const std::string op = "list properties of " + Quoted(path);
  Status s = metadata_.Transact(op, false, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = tree_rows::Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->id != tree_rows::kRootId) {
      std::vector<DeadProperty> own = PropsOf(tx.db(), node->id);
      if (!own.empty()) out.push_back({"", std::move(own)});
    }
    int64_t listed = 0;
    if (!children || !node->folder) return Status::Ok();
    sql::Statement q = tx.db().Prepare(
        "SELECT e.name, p.ns, p.name, p.value FROM vfs_entries e"
        " JOIN vfs_props p ON p.entry_id = e.id"
        " WHERE e.owner = ? AND e.parent = ? ORDER BY e.name, p.ns, p.name");
    q.Bind(1, owner);
    q.Bind(2, node->id);
    while (q.Step()) {
      std::string name = q.Text(0);
      DeadProperty prop{q.Text(1), q.Text(2), q.Text(3)};
      listed += static_cast<int64_t>(prop.ns.size() + prop.name.size() + prop.value.size());
      if (listed > kMaxListedPropBytes) {
        return QuotaExceededError(op + ": the entries' properties take more than " +
                                  std::to_string(kMaxListedPropBytes) + " bytes");
      }
      if (out.empty() || out.back().name != name) out.push_back({name, {}});
      out.back().props.push_back(std::move(prop));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace nexus::daemon::storage
