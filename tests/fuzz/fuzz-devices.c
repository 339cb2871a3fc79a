/* SPDX-License-Identifier: MIT */
/*
 * fuzz-devices: guest register accesses to serial-8250 and i8042, the
 * two device plugins a guest talks to, with their code loaded as is and
 * a fake host table around it (settings, the port bus, IRQ lines and
 * vm_stop recorded).
 *
 * Input: two bytes of settings (bit 0 serial port given, bits 1-3 which,
 * bit 4 irq given, bits 5-7 which; then i8042 on-reset in bits 0-1),
 * then accesses of 2 bytes each:
 *   op  bit 0 device (0 serial, 1 i8042), bit 1 write, bits 2-3 width
 *       (1, 2, 4, 8 bytes), bits 4-6 register (serial: 0-7; i8042: bit
 *       4 picks 0x60 or 0x64); op 0xff resets both devices
 *   val the byte written (ignored for reads)
 *
 * Checked besides memory safety: reads fill their whole width, only
 * the low byte set; the serial scratch register and receive FIFO (fed
 * in loopback mode) behave like a model of them; LSR and the serial
 * IRQ agree with IER and the FIFO; IRQ lines only toggle; the i8042
 * IRQ is low while its output buffer is empty; only the i8042 stops
 * the VM, only to reset, and only when on-reset = reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <modvm/device.h>
#include <modvm/host.h>
#include <modvm/plugin.h>
#include <modvm/topology.h>

#include "fuzz.h"

extern const struct modvm_plugin_desc fuzz_serial_8250_descriptor;
extern const struct modvm_plugin_desc fuzz_i8042_descriptor;

enum { SERIAL, I8042, N_DEVS };

#define RX_SIZE 1024 /* serial-8250.c's receive buffer */

/* Per device: a distinct "self" pointer and what the host saw. */
static struct dev {
	const struct modvm_plugin_desc *desc;
	void *state;
	const struct modvm_io_ops *ops[2];
	void *opaque[2];
	uint64_t base[2], len[2];
	unsigned n_ranges;
	int irq_level;
	uint32_t irq;
	unsigned stops;
} devs[N_DEVS];

/* Settings for this input. */
static struct {
	uint64_t port, irq;
	const char *on_reset;
	bool set_port, set_irq;
} cfg;

static char last_msg[1024];

static struct dev *dev_of(struct modvm_plugin *self)
{
	struct dev *d = (struct dev *)(void *)self;

	FUZZ_CHECK(d == &devs[SERIAL] || d == &devs[I8042],
		   "unknown plugin %p", (void *)self);
	return d;
}

static void MODVM_PRINTF(3, 4)
fake_log(struct modvm_plugin *self, enum modvm_log_level level,
	 const char *fmt, ...)
{
	va_list ap;

	dev_of(self);
	(void)level;
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
}

static void MODVM_PRINTF(3, 4)
fake_config_error(struct modvm_plugin *self, const char *key,
		  const char *fmt, ...)
{
	va_list ap;

	dev_of(self);
	FUZZ_CHECK(key, "config_error without a key");
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
}

static int fake_get_string(struct modvm_plugin *self, const char *key,
			   const char **out)
{
	dev_of(self);
	if (strcmp(key, "on-reset") != 0 || !cfg.on_reset)
		return -ENOENT;
	*out = cfg.on_reset;
	return 0;
}

static int fake_get_u64(struct modvm_plugin *self, const char *key,
			uint64_t *out)
{
	dev_of(self);
	if (strcmp(key, "port") == 0 && cfg.set_port) {
		*out = cfg.port;
		return 0;
	}
	if (strcmp(key, "irq") == 0 && cfg.set_irq) {
		*out = cfg.irq;
		return 0;
	}
	return -ENOENT;
}

static int fake_get_bool(struct modvm_plugin *self, const char *key,
			 bool *out)
{
	dev_of(self);
	/* input = false: no stdin reader thread. */
	if (strcmp(key, "input") != 0)
		return -ENOENT;
	*out = false;
	return 0;
}

static int fake_get_path(struct modvm_plugin *self, const char *key,
			 char **out)
{
	(void)self;
	(void)key;
	(void)out;
	return -ENOENT;
}

static const struct modvm_topology *fake_topology(struct modvm_plugin *self)
{
	static const struct modvm_topology one = { 1, 1, 1, 1, 1, 1, 1 };

	(void)self;
	return &one;
}

static void *fake_guest_ptr(struct modvm_plugin *self, uint64_t gpa,
			    uint64_t len)
{
	(void)self;
	(void)gpa;
	(void)len;
	return NULL;
}

static uint64_t fake_ram_size(struct modvm_plugin *self)
{
	(void)self;
	return 0;
}

static int fake_vm_fd(struct modvm_plugin *self)
{
	(void)self;
	return -1;
}

static int fake_bus_register(struct modvm_plugin *self,
			     enum modvm_bus_space space, uint64_t base,
			     uint64_t len, const struct modvm_io_ops *ops,
			     void *opaque)
{
	struct dev *d = dev_of(self);

	FUZZ_CHECK(space == MODVM_BUS_PIO, "space %d", space);
	FUZZ_CHECK(len > 0 && base + len <= 0x10000,
		   "ports [%#llx, +%llu) outside 16 bits",
		   (unsigned long long)base, (unsigned long long)len);
	FUZZ_CHECK(ops && ops->read && ops->write, "ops");
	FUZZ_CHECK(d->n_ranges < 2, "more than two ranges");
	d->ops[d->n_ranges] = ops;
	d->opaque[d->n_ranges] = opaque;
	d->base[d->n_ranges] = base;
	d->len[d->n_ranges] = len;
	d->n_ranges++;
	return 0;
}

static int fake_bus_access(struct modvm_plugin *self,
			   enum modvm_bus_space space, uint64_t addr,
			   void *data, uint32_t len, bool is_write)
{
	(void)self;
	(void)space;
	(void)addr;
	(void)data;
	(void)len;
	(void)is_write;
	return -ENOENT;
}

static int fake_irq_line(struct modvm_plugin *self, uint32_t gsi, int level)
{
	struct dev *d = dev_of(self);

	FUZZ_CHECK(level == 0 || level == 1, "IRQ level %d", level);
	FUZZ_CHECK(gsi == d->irq, "%s drives GSI %u, not its %u",
		   d->desc->name, gsi, d->irq);
	FUZZ_CHECK(level != d->irq_level, "%s: GSI %u set to %d twice",
		   d->desc->name, gsi, level);
	d->irq_level = level;
	return 0;
}

static void MODVM_PRINTF(4, 5)
fake_vm_stop(struct modvm_plugin *self, enum modvm_stop_reason reason,
	     int status, const char *fmt, ...)
{
	struct dev *d = dev_of(self);
	va_list ap;

	(void)status;
	FUZZ_CHECK(d == &devs[I8042] && reason == MODVM_STOP_RESET,
		   "%s stops the VM with reason %d", d->desc->name, reason);
	FUZZ_CHECK(!cfg.on_reset || strcmp(cfg.on_reset, "ignore") != 0,
		   "reset with on-reset = ignore");
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	d->stops++;
}

static const struct modvm_host host = {
	.size = sizeof(struct modvm_host),
	.abi_major = MODVM_ABI_MAJOR,
	.abi_minor = MODVM_ABI_MINOR,
	.log = fake_log,
	.config_error = fake_config_error,
	.get_string = fake_get_string,
	.get_u64 = fake_get_u64,
	.get_bool = fake_get_bool,
	.get_path = fake_get_path,
	.topology = fake_topology,
	.guest_ptr = fake_guest_ptr,
	.guest_ram_size = fake_ram_size,
	.vm_fd = fake_vm_fd,
	.bus_register = fake_bus_register,
	.bus_access = fake_bus_access,
	.irq_line = fake_irq_line,
	.vm_stop = fake_vm_stop,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	fuzz_quiet_stderr();
	/* The UART writes the guest's bytes to stdout. */
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	devs[SERIAL].desc = &fuzz_serial_8250_descriptor;
	devs[I8042].desc = &fuzz_i8042_descriptor;
	return 0;
}

/* One access; returns the byte read (0 for writes). */
static uint8_t io(struct dev *d, unsigned range, uint64_t offset,
		      bool write, uint32_t width, uint8_t value)
{
	uint8_t buf[8];

	FUZZ_CHECK(range < d->n_ranges && offset < d->len[range],
		   "access outside the claim");
	if (write) {
		memset(buf, 0xa5, sizeof(buf));
		buf[0] = value;
		d->ops[range]->write(d->opaque[range], offset, buf, width);
		return 0;
	}
	memset(buf, 0xa5, sizeof(buf));
	d->ops[range]->read(d->opaque[range], offset, buf, width);
	for (uint32_t i = 1; i < width; i++)
		FUZZ_CHECK(buf[i] == 0, "%s read of width %u: byte %u is %#x",
			   d->desc->name, width, i, buf[i]);
	for (uint32_t i = width; i < sizeof(buf); i++)
		FUZZ_CHECK(buf[i] == 0xa5, "%s read of width %u wrote byte %u",
			   d->desc->name, width, i);
	return buf[0];
}

/* The serial-8250 model: what is checkable from outside. */
static struct {
	uint8_t scr;
	uint8_t rx[RX_SIZE];
	unsigned head, count;
} model;

static void model_reset(void)
{
	memset(&model, 0, sizeof(model));
}

static void serial_access(struct dev *d, unsigned reg, bool write,
			  uint32_t width, uint8_t value)
{
	uint8_t lcr = io(d, 0, 3, false, 1, 0);
	uint8_t mcr = io(d, 0, 4, false, 1, 0);
	bool dlab = lcr & 0x80, loop = mcr & 0x10;
	uint8_t got = io(d, 0, reg, write, width, value);

	if (write) {
		if (reg == 7)
			model.scr = value;
		if (reg == 0 && !dlab && loop && model.count < RX_SIZE)
			model.rx[(model.head + model.count++) % RX_SIZE] = value;
		if (reg == 2 && (value & 0x02))
			model.head = model.count = 0;
		return;
	}
	if (reg == 7)
		FUZZ_CHECK(got == model.scr, "SCR %#x, wrote %#x", got,
			   model.scr);
	if (reg == 0 && !dlab) {
		uint8_t want = model.count ? model.rx[model.head] : 0;

		FUZZ_CHECK(got == want, "RBR %#x, want %#x (%u queued)", got,
			   want, model.count);
		if (model.count) {
			model.head = (model.head + 1) % RX_SIZE;
			model.count--;
		}
	}
}

/* After each access: side-effect-free reads agree with the model. */
static void serial_check(struct dev *d)
{
	uint8_t lcr = io(d, 0, 3, false, 1, 0);
	uint8_t lsr = io(d, 0, 5, false, 1, 0);

	FUZZ_CHECK((lsr & 0x60) == 0x60, "LSR %#x: transmitter not empty", lsr);
	FUZZ_CHECK(!!(lsr & 0x01) == !!model.count, "LSR %#x with %u queued",
		   lsr, model.count);
	if (!(lcr & 0x80)) {
		uint8_t ier = io(d, 0, 1, false, 1, 0);

		FUZZ_CHECK(ier <= 0x0f, "IER %#x", ier);
		if (!ier)
			FUZZ_CHECK(d->irq_level == 0, "IRQ high with IER 0");
		if ((ier & 0x01) && model.count)
			FUZZ_CHECK(d->irq_level == 1,
				   "IRQ low with data and IER.RDI");
	}
}

static void i8042_check(struct dev *d)
{
	uint8_t status = io(d, 1, 0, false, 1, 0);

	if (!(status & 0x01))
		FUZZ_CHECK(d->irq_level == 0,
			   "IRQ 1 high with the output buffer empty");
}

static const uint64_t ports[] = { 0x3f8, 0x2f8, 0, 0xfff8, 0xfff9, 0x10000 };
static const uint64_t irqs[] = { 4, 3, 0, 255, 256, 1 };
static const char *const on_resets[] = { NULL, "reset", "ignore", "bogus" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t setup = fuzz_u8(&in), setup2 = fuzz_u8(&in);
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	cfg.set_port = setup & 0x01;
	cfg.port = ports[(setup >> 1) % 6];
	cfg.set_irq = setup & 0x10;
	cfg.irq = irqs[(setup >> 5) % 6];
	cfg.on_reset = on_resets[setup2 & 3];
	model_reset();

	for (int i = 0; i < N_DEVS; i++) {
		struct dev *d = &devs[i];
		const struct modvm_device_ops *ops = d->desc->ops;

		d->state = NULL;
		d->n_ranges = 0;
		d->irq_level = 0;
		d->stops = 0;
		d->irq = i == SERIAL ? (cfg.set_irq ? (uint32_t)cfg.irq : 4) : 1;
		ret = d->desc->init((struct modvm_plugin *)(void *)d, &host,
				    &d->state);
		if (i == SERIAL) {
			bool bad = (cfg.set_port && cfg.port > 0xfff8) ||
				   (cfg.set_irq && cfg.irq > 255);

			FUZZ_CHECK(!ret == !bad, "serial init %d, port %#llx "
				   "irq %llu", ret,
				   (unsigned long long)cfg.port,
				   (unsigned long long)cfg.irq);
		} else {
			bool bad = cfg.on_reset &&
				   strcmp(cfg.on_reset, "bogus") == 0;

			FUZZ_CHECK(!ret == !bad, "i8042 init %d", ret);
		}
		if (ret) {
			FUZZ_CHECK(last_msg[0], "init refused without a message");
			d->state = NULL;
			goto out;
		}
		ret = ops->realize(d->state);
		FUZZ_CHECK(ret == 0, "realize: %d", ret);
	}
	FUZZ_CHECK(devs[SERIAL].n_ranges == 1 && devs[SERIAL].len[0] == 8,
		   "serial claims");
	FUZZ_CHECK(devs[I8042].n_ranges == 2 && devs[I8042].base[0] == 0x60 &&
			   devs[I8042].base[1] == 0x64,
		   "i8042 claims");

	while (in.left >= 2) {
		uint8_t op = fuzz_u8(&in), value = fuzz_u8(&in);
		bool write = op & 0x02;
		uint32_t width = 1u << ((op >> 2) & 3);

		if (op == 0xff) {
			for (int i = 0; i < N_DEVS; i++) {
				const struct modvm_device_ops *ops =
					devs[i].desc->ops;

				ops->reset(devs[i].state);
			}
			model_reset();
		} else if ((op & 1) == SERIAL) {
			serial_access(&devs[SERIAL], (op >> 4) & 7, write,
				      width, value);
		} else {
			io(&devs[I8042], (op >> 4) & 1, 0, write, width,
			       value);
		}
		serial_check(&devs[SERIAL]);
		i8042_check(&devs[I8042]);
	}
out:
	for (int i = 0; i < N_DEVS; i++) {
		if (devs[i].state)
			devs[i].desc->fini(devs[i].state);
		devs[i].state = NULL;
	}
	last_msg[0] = '\0';
	return 0;
}
