#include "core/attention.h"
