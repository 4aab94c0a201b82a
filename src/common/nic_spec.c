// SPDX-License-Identifier: GPL-2.0-or-later
/* The --nic spec (nic_spec.h): its parser and its writer.  (Being written.) */
#include "nic_spec.h"
