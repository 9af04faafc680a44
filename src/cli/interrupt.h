// Ctrl-C during a transfer: SIGINT sets a flag that transfers poll (curl's
// progress callback), so they stop between two blocks, remove their temp
// files and abort the request, and the command exits 130. A second Ctrl-C
// while the first is being handled kills the process the default way.
// The flag is a lock-free atomic, safe to read from any thread.
#pragma once

namespace nexus::cli {

// Installs the SIGINT handler; call once, before any transfer starts.
void InstallInterruptHandler();

bool InterruptRequested();

}  // namespace nexus::cli
