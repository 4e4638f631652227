#pragma once
#include "cinesis/clock.h"  // IWYU pragma: export
