// Randomness for identifiers (request ids, iterator nonces, keys).
#pragma once

#include <cstddef>
#include <string>

namespace cinesis {

// Fills `out` with `n` cryptographically random bytes (the kernel's getrandom).
void RandomBytes(void* out, std::size_t n);
// Fills `out` with `n` fast, unpredictable-enough bytes (a per-thread splitmix64 seeded from
// the kernel): for identifiers that must be unique, never for keys or nonces.
void FastRandomBytes(void* out, std::size_t n);
// A random (version 4) UUID in canonical lower-case text form (from FastRandomBytes).
std::string RandomUuid();
// The same, written to out[0..36) (no terminator, no allocation).
void WriteRandomUuid(char* out);

}  // namespace cinesis
