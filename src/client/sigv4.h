// AWS Signature Version 4 (header-based, AWS4-HMAC-SHA256) for the client: Sign and
// AuthorizationHeader over the primitives of common/sigv4.h, whose contract follows.
//
// Contract:
// * Pure functions: no global state, no I/O, no exceptions. Every function here is
//   thread-safe for concurrent calls on distinct objects (Sign mutates only its
//   argument). OpenSSL 3 EVP APIs do the SHA-256 / HMAC work.
// * Canonicalisation follows AWS rules for non-S3 services (validated against the
//   public AWS SigV4 test suite and botocore, see tests/unit/sigv4_test.cc):
//   - path: dot segments removed and duplicate slashes collapsed (same as botocore's
//     remove_dot_segments: "/a/b/.." -> "/a", a trailing '/' is kept), then every
//     segment percent-encoded with the RFC 3986 unreserved set kept. The path is
//     encoded as given, so a path that is already %-encoded on the wire is encoded a
//     second time ('%' -> "%25"), which is what non-S3 services expect.
//   - query: split on '&', each parameter at its first '='; names and values are
//     %-decoded (only valid %XX escapes; '+' is a literal plus) and re-encoded, so
//     both raw and already-encoded query strings give the same canonical form; empty
//     parameters ("a&&b") are dropped, a name without '=' gets an empty value; pairs
//     sorted by encoded name, then encoded value.
//   - headers: names lower-cased; values trimmed and runs of spaces/tabs collapsed to
//     one space; a folded (obs-fold, multi-line) value has its lines trimmed and
//     joined with ','; repeated headers are joined with ',' in the order sent.
// * Time: SigningParams::time is converted to UTC; sub-second parts are dropped.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/credentials.h"
#include "common/sigv4.h"

namespace cinesis::client::auth {

// The primitives live in src/common/sigv4.h (shared with the server's verifier).
using sigv4::AmzDate;
using sigv4::CanonicalQueryString;
using sigv4::CanonicalRequest;
using sigv4::CanonicalUri;
using sigv4::CredentialScope;
using sigv4::HttpRequestToSign;
using sigv4::kSigV4Algorithm;
using sigv4::Sha256Hex;
using sigv4::SignatureHex;
using sigv4::SignedHeaderNames;
using sigv4::SigningParams;
using sigv4::StringToSign;

// The Authorization header value for `r` exactly as it is: every header present
// except Authorization is signed; the caller is responsible for r carrying an
// X-Amz-Date equal to AmzDate(p.time) (and X-Amz-Security-Token if wanted).
std::string AuthorizationHeader(const HttpRequestToSign& r, const Credentials& c,
                                const SigningParams& p);

// Signs in place: sets X-Amz-Date (and X-Amz-Security-Token when c has a session
// token), then computes and sets Authorization. A header that already exists
// (any case) is replaced in place (extra copies removed); otherwise it is appended.
// Every header present is signed (Host, Content-Type, X-Amz-Target, ...), so add all
// headers before signing; headers added afterwards are sent unsigned.
void Sign(HttpRequestToSign& r, const Credentials& c, const SigningParams& p);

}  // namespace cinesis::client::auth
