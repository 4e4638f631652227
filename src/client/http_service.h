// api::KinesisService over HTTP: JSON 1.1 requests signed with SigV4 and sent with
// libcurl (a pool of keep-alive handles, TLS with verification, proxies from the
// environment as libcurl reads them). One attempt per call; retries live above it.
#pragma once

#include <memory>
#include <string>

#include "api/service.h"
#include "client/credentials.h"

namespace cinesis::client {

struct HttpOptions {
  std::string endpoint;  // scheme://host[:port]
  std::string region;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
  bool verify_tls = true;
};

std::unique_ptr<api::KinesisService> NewHttpService(
    HttpOptions options, std::unique_ptr<auth::CredentialsProvider> credentials);

}  // namespace cinesis::client
