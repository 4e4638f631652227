// Randomness for identifiers (request ids, iterator nonces, keys).
#pragma once

#include <cstddef>
#include <string>

namespace cinesis {

// Fills `out` with `n` cryptographically random bytes (OpenSSL RAND_bytes).
void RandomBytes(void* out, std::size_t n);
// A random (version 4) UUID in canonical lower-case text form.
std::string RandomUuid();

}  // namespace cinesis
