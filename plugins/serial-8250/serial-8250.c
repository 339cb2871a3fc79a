/* SPDX-License-Identifier: MIT */
/*
 * serial-8250: a 16550A UART, the guest's console.
 *
 * Registers follow the National Semiconductor PC16550D data sheet as far
 * as Linux's 8250 driver looks: the scratch register, IER (low four bits
 * only, which tells the driver it is no XScale), the loopback test (MCR
 * bit 4 routes THR to RBR and MCR's outputs to MSR's inputs), FIFO
 * detection through IIR bits 7:6, and the divisor latch behind LCR bit 7.
 * Transmission is instant: THR and the transmitter are always empty.
 *
 * Output: every byte written to THR is written to stdout at once (the
 * console must show a prompt that has no newline). A closed stdout
 * (EPIPE) silences the console instead of killing modvm.
 * Input: when stdin is a terminal (put in raw mode, with ISIG kept so
 * Ctrl-C still stops modvm; restored at exit) or a pipe, a thread reads
 * it into the receive buffer and raises the IRQ when IER allows. Key
 * input = false turns that off.
 *
 * Keys: port (default 0x3f8, COM1), irq (default 4), input.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <modvm/device.h>
#include <modvm/plugin.h>

#define DEFAULT_PORT 0x3f8
#define DEFAULT_IRQ 4
#define N_REGS 8
/* How long a stalled non-blocking stdout may hold one byte. */
#define CONSOLE_STALL_MS 5000
/* Host-side receive buffer; deeper than the UART's 16 bytes so pasted
 * text is not lost while the guest drains it. */
#define RX_SIZE 1024

/* Register offsets. */
enum { RBR_THR_DLL = 0, IER_DLM = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5,
       MSR = 6, SCR = 7 };

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0 /* FIFOs enabled (16550A) */

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	uint64_t port;
	uint64_t irq;
	bool input;

	pthread_mutex_t lock; /* vCPU threads and the input thread */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool fifo_enabled;
	bool thr_ipending; /* THR-empty interrupt pending until IIR read */
	uint8_t rx[RX_SIZE];
	unsigned rx_head, rx_count;
	int irq_level;

	bool output_broken;

	/* Input thread. */
	pthread_t reader;
	bool reader_started;
	bool stopping;  /* under lock */
	int wake_fd;    /* eventfd: stop, or room in rx again */
	bool raw_tty;
	struct termios saved_tty;
};

static void power_on(struct serial *s)
{
	s->ier = s->lcr = s->scr = 0;
	s->mcr = 0x08; /* OUT2, as PC firmware leaves it */
	s->dll = 0x0c; /* 9600 baud */
	s->dlm = 0;
	s->fifo_enabled = false;
	s->thr_ipending = false;
	s->rx_head = s->rx_count = 0;
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = s->fifo_enabled ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

static void update_irq(struct serial *s)
{
	int level = !(iir(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->host->irq_line(s->self, (uint32_t)s->irq, level);
		s->irq_level = level;
	}
}

static void wake_reader(struct serial *s)
{
	static const uint64_t one = 1;

	if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) < 0)
		s->host->log(s->self, MODVM_LOG_WARN, "eventfd: %s",
			     strerror(errno));
}

static void rx_push(struct serial *s, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n && s->rx_count < RX_SIZE; i++)
		s->rx[(s->rx_head + s->rx_count++) % RX_SIZE] = buf[i];
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_SIZE;
	if (s->rx_count-- == RX_SIZE)
		wake_reader(s); /* the reader waits for room */
	return c;
}

static uint8_t msr(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS; /* a cable, always ready */
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return (uint8_t)(((s->mcr & 0x01) ? MSR_DSR : 0) |
			 ((s->mcr & 0x02) ? MSR_CTS : 0) |
			 ((s->mcr & 0x04) ? MSR_RI : 0) |
			 ((s->mcr & 0x08) ? MSR_DCD : 0));
}

static uint8_t reg_read(struct serial *s, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case RBR_THR_DLL:
		return (s->lcr & LCR_DLAB) ? s->dll : rx_pop(s);
	case IER_DLM:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR:
		v = iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false;
		return v;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		return (uint8_t)(LSR_THRE | LSR_TEMT |
				 (s->rx_count ? LSR_DR : 0));
	case MSR:
		return msr(s);
	default:
		return s->scr;
	}
}

/*
 * Write one byte to stdout before returning, so that whatever the guest
 * does next (a debug-exit write, a reset) cannot overtake its console
 * output. A non-blocking stdout (a terminal or pipe another process set
 * O_NONBLOCK on) is waited on rather than dropping the byte; a reader
 * that stays stalled for CONSOLE_STALL_MS loses it.
 */
static ssize_t console_write(uint8_t c)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
	ssize_t n;

	for (;;) {
		n = write(STDOUT_FILENO, &c, 1);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return n;
		if (poll(&pfd, 1, CONSOLE_STALL_MS) == 0) {
			errno = EAGAIN;
			return -1;
		}
	}
}

/* The guest sent a byte: show it, unless it loops back. Called with the
 * lock dropped around the write, so a slow stdout holds no other vCPU. */
static void transmit(struct serial *s, uint8_t c)
{
	ssize_t n;

	if (s->mcr & MCR_LOOP) {
		rx_push(s, &c, 1);
		return;
	}
	if (s->output_broken)
		return;
	pthread_mutex_unlock(&s->lock);
	n = console_write(c);
	pthread_mutex_lock(&s->lock);
	if (n < 0 && errno == EPIPE && !s->output_broken) {
		s->output_broken = true;
		s->host->log(s->self, MODVM_LOG_WARN,
			     "stdout was closed; console output is dropped");
	}
}

static void reg_write(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR_DLL:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		s->thr_ipending = false;
		transmit(s, v);
		s->thr_ipending = true; /* sent at once: THR empty again */
		break;
	case IER_DLM:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises it right away. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		break;
	case IIR_FCR:
		s->fifo_enabled = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RX) {
			if (s->rx_count == RX_SIZE)
				wake_reader(s);
			s->rx_head = s->rx_count = 0;
		}
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static void serial_read(void *opaque, uint64_t offset, void *data,
			uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v;

	pthread_mutex_lock(&s->lock);
	v = reg_read(s, (unsigned)offset % N_REGS);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	memcpy(data, &v, 1);
}

static void serial_write(void *opaque, uint64_t offset, const void *data,
			 uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v;

	(void)len;
	memcpy(&v, data, 1);
	pthread_mutex_lock(&s->lock);
	reg_write(s, (unsigned)offset % N_REGS, v);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct modvm_io_ops serial_io = {
	.read = serial_read,
	.write = serial_write,
};

/* Reads stdin into the receive buffer while there is room. */
static void *reader_thread(void *arg)
{
	struct serial *s = arg;
	bool eof = false;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = s->wake_fd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		uint8_t buf[256];
		unsigned room;
		uint64_t drain;
		ssize_t n;

		pthread_mutex_lock(&s->lock);
		room = RX_SIZE - s->rx_count;
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		pthread_mutex_unlock(&s->lock);

		if (poll(fds, room && !eof ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents & POLLIN)
			n = read(s->wake_fd, &drain, sizeof(drain));
		if (!(fds[1].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(STDIN_FILENO, buf, room < sizeof(buf) ? room
							       : sizeof(buf));
		if (n <= 0) {
			eof = n == 0 || (errno != EINTR && errno != EAGAIN);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		rx_push(s, buf, (size_t)n);
		update_irq(s);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

/* Input comes from a terminal or a pipe; /dev/null or a file would only
 * feed the guest an instant EOF or a replayed file. */
static bool stdin_is_interactive(void)
{
	struct stat st;

	if (isatty(STDIN_FILENO))
		return true;
	return fstat(STDIN_FILENO, &st) == 0 &&
	       (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

static void make_raw(struct serial *s)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &s->saved_tty))
		return;
	t = s->saved_tty;
	/* Every key to the guest, unechoed, at once; ISIG stays on so
	 * Ctrl-C stops modvm. */
	t.c_iflag &= (tcflag_t)~(ICRNL | INLCR | IGNCR | IXON | ISTRIP);
	t.c_lflag &= (tcflag_t)~(ICANON | ECHO | ECHONL | IEXTEN);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		s->raw_tty = true;
}

static int serial_realize(void *state)
{
	struct serial *s = state;
	int ret;

	ret = s->host->bus_register(s->self, MODVM_BUS_PIO, s->port, N_REGS,
				    &serial_io, s);
	if (ret || !s->input || !stdin_is_interactive())
		return ret;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		ret = -errno;
		s->host->log(s->self, MODVM_LOG_ERROR, "eventfd: %s",
			     strerror(errno));
		return ret;
	}
	make_raw(s);
	ret = -pthread_create(&s->reader, NULL, reader_thread, s);
	if (ret) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "cannot start the input thread: %s",
			     strerror(-ret));
		return ret;
	}
	pthread_setname_np(s->reader, "serial input");
	s->reader_started = true;
	return 0;
}

static void serial_reset(void *state)
{
	struct serial *s = state;

	pthread_mutex_lock(&s->lock);
	power_on(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	wake_reader(s); /* the buffer has room again */
}

static int serial_init(struct modvm_plugin *self,
		       const struct modvm_host *host, void **state_out)
{
	struct serial *s = calloc(1, sizeof(*s));
	int ret = -EINVAL;

	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->port = DEFAULT_PORT;
	s->irq = DEFAULT_IRQ;
	s->input = true;
	s->wake_fd = -1;
	if (host->get_u64(self, "port", &s->port) == -EINVAL ||
	    host->get_u64(self, "irq", &s->irq) == -EINVAL ||
	    host->get_bool(self, "input", &s->input) == -EINVAL)
		goto out_free;
	if (s->port > 0x10000 - N_REGS) {
		host->config_error(self, "port",
				   "must leave 8 ports below 0x10000");
		goto out_free;
	}
	if (s->irq > 255) {
		host->config_error(self, "irq", "must be an IRQ line, 0-255");
		goto out_free;
	}
	ret = -pthread_mutex_init(&s->lock, NULL);
	if (ret)
		goto out_free;
	power_on(s);
	*state_out = s;
	return 0;

out_free:
	free(s);
	return ret;
}

static void serial_fini(void *state)
{
	struct serial *s = state;

	if (!s)
		return;
	if (s->reader_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_mutex_unlock(&s->lock);
		wake_reader(s);
		pthread_join(s->reader, NULL);
	}
	if (s->raw_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &s->saved_tty);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct modvm_device_ops serial_ops = {
	.size = sizeof(struct modvm_device_ops),
	.realize = serial_realize,
	.reset = serial_reset,
};

static const struct modvm_key serial_keys[] = {
	{ "port", MODVM_KEY_INT, "first of 8 I/O ports (default 0x3f8, COM1)" },
	{ "irq", MODVM_KEY_INT, "interrupt line (default 4)" },
	{ "input", MODVM_KEY_BOOL,
	  "read stdin when it is a terminal or a pipe (default true)" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_DEVICE,
	.name = "serial-8250",
	.version = MODVM_PLUGIN_VERSION,
	.description = "16550A UART console on stdin/stdout",
	.keys = serial_keys,
	.init = serial_init,
	.fini = serial_fini,
	.ops = &serial_ops,
};
