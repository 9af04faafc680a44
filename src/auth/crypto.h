// Small crypto helpers shared by the auth modules: randomness, hex, ids,
// key derivation, keyed hashing.
//
// All randomness comes from libsodium's CSPRNG (getrandom(2) underneath).
// EnsureSodium() initialises libsodium once per process; every function here
// calls it, so callers need not. All functions are thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nexus::auth {

// Initialises libsodium exactly once. Aborts the process if the system offers
// no usable randomness: nothing in this service is safe without it.
void EnsureSodium();

// `n` bytes from the CSPRNG.
std::string RandomBytes(size_t n);

// Lower-case hex of `bytes`.
std::string ToHex(std::string_view bytes);

// A random (version 4) UUID in its canonical lower-case text form.
std::string NewUuid();

// A 32-byte subkey of `key` for one purpose (BLAKE2b keyed with `key` over
// `context`), so one secret on disk can serve several uses without the uses
// being able to stand in for each other. `key` must be 16..64 bytes.
std::string DeriveSubkey(std::string_view key, std::string_view context);

// Lower-case hex of BLAKE2b-256 over `data` keyed with `key` (16..64 bytes):
// the stored form of a secret that must not be checkable without the key.
std::string KeyedHashHex(std::string_view key, std::string_view data);

}  // namespace nexus::auth
