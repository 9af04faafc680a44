#include "daemon/migrations.h"

namespace nexus::daemon {

std::vector<Migration> DaemonMigrations() {
  std::vector<Migration> all;
  // Modules append their own lists here; nexusd's top level owns no tables.
  return all;
}

}  // namespace nexus::daemon
