#pragma once
#include "cinesis/types.h"  // IWYU pragma: export
