// CallControl: what every service of one nexusd server shares about its long
// calls — the shares of each kind (call_admission.h) and the watchdog that
// cancels stalled streams (stream_watchdog.h). One per server, made from the
// limits given to ConfigureServer; it must outlive the services that use it.
// Thread-safe.
#pragma once

#include "daemon/rpc/call_admission.h"
#include "daemon/rpc/stream_watchdog.h"

namespace nexus::daemon {

struct CallControl {
  explicit CallControl(const CallLimits& limits)
      : admission(limits), watchdog(limits.stream_idle_timeout) {}

  CallAdmission admission;
  StreamWatchdog watchdog;
};

}  // namespace nexus::daemon
