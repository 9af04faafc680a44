// The daemon tests reach the one TempDir through this name; it lives in
// tests/support/temp_dir.h with the other shared test helpers.
#pragma once

#include "support/temp_dir.h"
