// CallAdmission: nexusd's shares of the calls that hold a server thread (and
// more: a sandbox, a read-ahead thread, a runc process) for long. Each kind
// has an overall cap and a per-user share (common/user_slots.h), so one
// user's slow, stalled or plentiful calls can take at most their share and
// never make another user's calls fail:
//
//   kind          default cap / per user   held for
//   downloads     64 / 8                   the transfer (a client's pace)
//   uploads       64 / 8                   the transfer (a client's pace)
//   lambda runs   lambda.max_concurrent /  the run (up to its timeout)
//                 max(1, that / 2)
//   execs         32 / 4                   the command (up to 300 s)
//   node changes  16 / 4                   create, start, stop, delete: runc,
//                                          CNI, mounts, a stop timeout, and
//                                          the wait for the node's lock
//
// Every other call is short (a database read or write, a metrics lookup).
// ServerThreadsFor sizes the sync server's pool as the sum of the caps plus
// kShortCallThreads, so whatever the long calls do, short calls keep their
// threads. Built once from the config; thread-safe (UserSlots is).
#pragma once

#include <chrono>
#include <cstdint>

#include "common/config.h"
#include "common/result.h"
#include "common/user_slots.h"

namespace nexus::daemon {

// Threads kept for the short calls, above the long calls' caps. gRPC keeps
// one of the pool's threads polling, so kShortCallThreads - 1 short calls can
// always run at once, whatever the long calls do.
inline constexpr int kShortCallThreads = 64;

struct CallLimits {
  SlotLimits downloads{64, 8};
  SlotLimits uploads{64, 8};
  SlotLimits lambda_runs{4, 2};
  SlotLimits execs{32, 4};
  SlotLimits node_changes{16, 4};
  // A streaming call's Read or Write that waits longer than this cancels the
  // call (stream_watchdog.h).
  std::chrono::milliseconds stream_idle_timeout{600'000};
};

// The limits of `config` ([daemon], [lambda], [nodes]), with lambda runs
// capped at `lambda_max_concurrent` (the runner's resolved max_concurrent;
// the per-user share defaults to max(1, that / 2)). kInvalidArgument naming
// the setting unless 0 < per user <= cap for every kind.
Result<CallLimits> CallLimitsFromConfig(const Config& config, int64_t lambda_max_concurrent);

// The sync server's thread limit for `limits`: every long call's cap plus
// kShortCallThreads.
int ServerThreadsFor(const CallLimits& limits);

// One UserSlots per kind of long call.
struct CallAdmission {
  explicit CallAdmission(const CallLimits& limits);

  UserSlots downloads;
  UserSlots uploads;
  UserSlots lambda_runs;
  UserSlots execs;
  UserSlots node_changes;
};

}  // namespace nexus::daemon
