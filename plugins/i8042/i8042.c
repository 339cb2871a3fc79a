/* SPDX-License-Identifier: MIT */
/*
 * i8042: the PC keyboard controller at ports 0x60 (data) and 0x64
 * (status/command), mostly for its reset line: command 0xFE (pulse
 * output line 0) or an output-port write with bit 0 clear resets the
 * CPU, which is how Linux reboots when ACPI cannot (reboot=k).
 *
 * Enough of the controller is honest for Linux's i8042 probe not to
 * hang: self-test (0xAA -> 0x55), the command byte (0x20/0x60), the
 * keyboard port test and a keyboard that acknowledges, resets (0xFF ->
 * 0xFA 0xAA) and identifies (0xF2 -> 0xFA 0xAB 0x83), with IRQ 1. It
 * never sends key presses. There is no aux (mouse) port: the aux loop
 * command 0xD3 echoes its byte as keyboard data and the aux test 0xA9
 * answers 0x02 ("clock line stuck"), so Linux decides at once that no
 * aux port exists instead of timing out on it.
 *
 * Key on-reset: reset (default; the VM stops with reason RESET, and
 * [machine] on-reset decides what follows) or ignore.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <modvm/device.h>
#include <modvm/plugin.h>

#define DATA_PORT 0x60
#define CMD_PORT 0x64
#define KBD_IRQ 1

/* Status register (read from 0x64). */
#define STS_OBF 0x01      /* output buffer full */
#define STS_SYS 0x04      /* system flag: self-test passed */
#define STS_CMD 0x08      /* last write was to 0x64 */
#define STS_UNLOCKED 0x10 /* keyboard not inhibited */

/* Controller command byte (CTR). */
#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40

/* Output port: bit 0 is the CPU reset line (active low), bit 1 A20. */
#define OUTPORT_DEFAULT 0x03

#define QUEUE_SIZE 16

struct i8042 {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	bool ignore_reset;

	pthread_mutex_t lock;
	uint8_t status;
	uint8_t ctr;
	uint8_t outport;
	uint8_t pending_cmd;    /* a controller command awaiting its data byte */
	bool kbd_expects_arg;   /* the keyboard awaits a command's argument */
	uint8_t queue[QUEUE_SIZE];
	unsigned head, count;
	int irq_level;
};

static void power_on(struct i8042 *s)
{
	s->status = STS_UNLOCKED;
	s->ctr = CTR_KBDINT | CTR_SYS | CTR_XLATE | CTR_AUXDIS;
	s->outport = OUTPORT_DEFAULT;
	s->pending_cmd = 0;
	s->kbd_expects_arg = false;
	s->head = s->count = 0;
}

/* Drive IRQ 1 from "a byte waits and the keyboard interrupt is on". */
static void update_irq(struct i8042 *s, bool new_edge)
{
	int level = s->count && (s->ctr & CTR_KBDINT);

	/* ISA lines are edge-triggered: a further byte needs a new edge. */
	if (new_edge && s->irq_level && level) {
		s->host->irq_line(s->self, KBD_IRQ, 0);
		s->irq_level = 0;
	}
	if (level != s->irq_level) {
		s->host->irq_line(s->self, KBD_IRQ, level);
		s->irq_level = level;
	}
}

static void push(struct i8042 *s, uint8_t byte)
{
	if (s->count == QUEUE_SIZE)
		return; /* a real controller would lose it too */
	s->queue[(s->head + s->count++) % QUEUE_SIZE] = byte;
}

static void cpu_reset(struct i8042 *s, const char *how)
{
	if (s->ignore_reset) {
		s->host->log(s->self, MODVM_LOG_INFO,
			     "guest asked for a reset (%s); ignored "
			     "(on-reset = ignore)",
			     how);
		return;
	}
	s->host->vm_stop(s->self, MODVM_STOP_RESET, 0,
			 "guest reset through the keyboard controller (%s)",
			 how);
}

/* A byte for the keyboard itself (data port, no command pending). */
static void keyboard_command(struct i8042 *s, uint8_t byte)
{
	if (s->kbd_expects_arg) {
		s->kbd_expects_arg = false;
		push(s, 0xfa);
		return;
	}
	switch (byte) {
	case 0xff: /* reset and self-test */
		push(s, 0xfa);
		push(s, 0xaa);
		break;
	case 0xf2: /* identify: an MF2 keyboard */
		push(s, 0xfa);
		push(s, 0xab);
		push(s, 0x83);
		break;
	case 0xee: /* echo */
		push(s, 0xee);
		break;
	case 0xed: /* set LEDs */
	case 0xf0: /* scan code set */
	case 0xf3: /* typematic rate */
		s->kbd_expects_arg = true;
		push(s, 0xfa);
		break;
	default: /* enable, disable, defaults, ...: acknowledge */
		push(s, 0xfa);
		break;
	}
}

static void data_byte(struct i8042 *s, uint8_t byte)
{
	uint8_t cmd = s->pending_cmd;

	s->pending_cmd = 0;
	switch (cmd) {
	case 0x60: /* write command byte */
		s->ctr = byte;
		break;
	case 0xd1: /* write output port */
		s->outport = byte;
		if (!(byte & 0x01))
			cpu_reset(s, "output port write");
		break;
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer: no aux, see the top */
		push(s, byte);
		break;
	case 0xd4: /* write to the aux device: none attached */
		break;
	default:
		keyboard_command(s, byte);
		break;
	}
}

static void controller_command(struct i8042 *s, uint8_t cmd)
{
	switch (cmd) {
	case 0x20: /* read command byte */
		push(s, s->ctr);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		s->pending_cmd = cmd;
		break;
	case 0xa7: /* disable aux */
		s->ctr |= CTR_AUXDIS;
		break;
	case 0xa8: /* enable aux */
		s->ctr &= (uint8_t)~CTR_AUXDIS;
		break;
	case 0xa9: /* test aux port: clock line stuck high */
		push(s, 0x02);
		break;
	case 0xaa: /* controller self-test */
		s->status |= STS_SYS;
		push(s, 0x55);
		break;
	case 0xab: /* keyboard port test: no error */
		push(s, 0x00);
		break;
	case 0xad: /* disable keyboard */
		s->ctr |= CTR_KBDDIS;
		break;
	case 0xae: /* enable keyboard */
		s->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case 0xc0: /* read input port */
	case 0xe0: /* read test inputs */
		push(s, 0x00);
		break;
	case 0xd0: /* read output port */
		push(s, s->outport);
		break;
	default:
		/* 0xF0-0xFF pulse output lines whose bit is clear; bit 0 is
		 * the CPU reset line (0xFE pulses only it). */
		if (cmd >= 0xf0 && !(cmd & 0x01))
			cpu_reset(s, "command 0xfe");
		break;
	}
}

/* Reads answer one byte; wider accesses see it zero-extended. */
static void reply(void *data, uint32_t len, uint8_t v)
{
	memset(data, 0, len);
	memcpy(data, &v, 1);
}

static void data_read(void *opaque, uint64_t offset, void *data,
		      uint32_t len)
{
	struct i8042 *s = opaque;
	uint8_t v;

	(void)offset;
	pthread_mutex_lock(&s->lock);
	/* An empty buffer reads as its last byte, as on real hardware. */
	v = s->queue[(s->head + (s->count ? 0 : QUEUE_SIZE - 1)) % QUEUE_SIZE];
	if (s->count) {
		s->head = (s->head + 1) % QUEUE_SIZE;
		s->count--;
		update_irq(s, true);
	}
	pthread_mutex_unlock(&s->lock);
	reply(data, len, v);
}

static void status_read(void *opaque, uint64_t offset, void *data,
			uint32_t len)
{
	struct i8042 *s = opaque;
	uint8_t v;

	(void)offset;
	pthread_mutex_lock(&s->lock);
	v = (uint8_t)(s->status | (s->count ? STS_OBF : 0));
	pthread_mutex_unlock(&s->lock);
	reply(data, len, v);
}

/* A byte written to 0x64 (a command) or to 0x60 (its data, or for the
 * keyboard); status bit 3 remembers which. */
static void port_write(struct i8042 *s, bool command, const void *data)
{
	uint8_t v;

	memcpy(&v, data, 1);
	pthread_mutex_lock(&s->lock);
	if (command) {
		s->status |= STS_CMD;
		controller_command(s, v);
	} else {
		s->status &= (uint8_t)~STS_CMD;
		data_byte(s, v);
	}
	update_irq(s, false);
	pthread_mutex_unlock(&s->lock);
}

static void data_write(void *opaque, uint64_t offset, const void *data,
		       uint32_t len)
{
	(void)offset;
	(void)len;
	port_write(opaque, false, data);
}

static void command_write(void *opaque, uint64_t offset, const void *data,
			  uint32_t len)
{
	(void)offset;
	(void)len;
	port_write(opaque, true, data);
}

static const struct modvm_io_ops data_io = {
	.read = data_read,
	.write = data_write,
};

static const struct modvm_io_ops command_io = {
	.read = status_read,
	.write = command_write,
};

static int i8042_init(struct modvm_plugin *self, const struct modvm_host *host,
		      void **state_out)
{
	const char *on_reset = "reset";
	struct i8042 *s;
	int ret;

	host->get_string(self, "on-reset", &on_reset);
	if (strcmp(on_reset, "reset") != 0 && strcmp(on_reset, "ignore") != 0) {
		host->config_error(self, "on-reset", "must be reset or ignore");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = -pthread_mutex_init(&s->lock, NULL);
	if (ret) {
		free(s);
		return ret;
	}
	s->self = self;
	s->host = host;
	s->ignore_reset = strcmp(on_reset, "ignore") == 0;
	power_on(s);
	*state_out = s;
	return 0;
}

static void i8042_fini(void *state)
{
	struct i8042 *s = state;

	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Two one-port ranges: 0x61 between them is system control port B. */
static int i8042_realize(void *state)
{
	struct i8042 *s = state;
	int ret;

	ret = s->host->bus_register(s->self, MODVM_BUS_PIO, DATA_PORT, 1,
				    &data_io, s);
	if (!ret)
		ret = s->host->bus_register(s->self, MODVM_BUS_PIO, CMD_PORT, 1,
					    &command_io, s);
	return ret;
}

static void i8042_reset(void *state)
{
	struct i8042 *s = state;

	pthread_mutex_lock(&s->lock);
	power_on(s);
	update_irq(s, false);
	pthread_mutex_unlock(&s->lock);
}

static const struct modvm_device_ops i8042_ops = {
	.size = sizeof(struct modvm_device_ops),
	.realize = i8042_realize,
	.reset = i8042_reset,
};

static const struct modvm_key i8042_keys[] = {
	{ "on-reset", MODVM_KEY_STRING,
	  "reset (default: the VM stops to reset) or ignore" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_DEVICE,
	.name = "i8042",
	.version = MODVM_PLUGIN_VERSION,
	.description = "PC keyboard controller: CPU reset line, probe-safe",
	.keys = i8042_keys,
	.init = i8042_init,
	.fini = i8042_fini,
	.ops = &i8042_ops,
};
