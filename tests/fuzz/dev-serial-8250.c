/* SPDX-License-Identifier: MIT */
/* serial-8250 for fuzz-devices, its descriptor renamed so that it links
 * next to i8042's into one program. */
#define modvm_plugin_descriptor fuzz_serial_8250_descriptor
#include "../../plugins/serial-8250/serial-8250.c"
