/* SPDX-License-Identifier: MIT */
/* i8042 for fuzz-devices, its descriptor renamed so that it links next
 * to serial-8250's into one program. */
#define modvm_plugin_descriptor fuzz_i8042_descriptor
#include "../../plugins/i8042/i8042.c"
