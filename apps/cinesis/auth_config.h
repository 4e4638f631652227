// `cinesis serve --auth`: the SigV4 verifier built from the options (docs/security.md,
// "Signature verification").
#pragma once

#include <memory>

#include "api/sigv4_verify.h"
#include "common/status.h"
#include "options.h"

namespace cinesis::app {

// The verifier of `config`'s --auth options, or nullptr when --auth is off. Keys come from
// --auth-key (ID:SECRET[:SESSION_TOKEN], repeatable), --auth-credentials-file (every profile
// with a key) and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN; a later source
// does not replace a key id an earlier one gave. kInvalidArgument: a malformed --auth-key,
// --auth sigv4 without any key, or key options with --auth off; the file's errors as they are.
Result<std::shared_ptr<const api::SigV4Verifier>> MakeVerifier(const ServeConfig& config,
                                                               const Clock& clock);

}  // namespace cinesis::app
