// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for one storage controller (FUZZ_DEVICE: "ahci",
 * "piix3-ide" or "virtio-blk") and the PCI configuration space in front
 * of it, or for one legacy ISA device ("rtc", "uart16550" with pipes
 * as its back ends, or "fw_cfg" filled with a few items and files; the
 * port range then stands in for BAR 0), driven
 * through the fake machine (tests/fake) by a program of guest actions
 * (fuzz_device_prog.h).  The fake machine's event loop runs after every
 * operation; FOP_PAUSE lets its virtual time pass, so the models'
 * event-loop timers fire.
 *
 * Each input gets a fresh machine: 2 MiB of guest RAM, the i440FX host
 * bridge (configuration mechanism #1 at 0xCF8/0xCFC, so port I/O reaches
 * the configuration space of every function) and the PIIX3 ISA bridge as
 * on the real machine, the controller on PCI bus 0 (IDE at 01.1, AHCI or
 * virtio-blk at 02.0) with a 1 MiB disk (raw, or qcow2 if the flags byte says so)
 * (and ioeventfds and irqfds offered, if FFLAG_LOOP says so)
 * and, for AHCI and IDE, a small CD, all in memfds, so nothing of one
 * input survives into the next.  The device's I/O threads are waited for
 * after each operation and stopped before the machine is freed.
 *
 * A NIC ("e1000", "virtio-net") gets the recording fake back end
 * (fake_net.h, frames only counted) with its cable in; FOP_NET_RX plays
 * frames from the host and FOP_NET_LINK the cable, and each FOP_PAUSE
 * plays frames from guest RAM and may pull or plug the cable
 * (fuzz_device_prog.h); the loop delivers as it runs.
 *
 * The virtio-input tablet ("virtio-input") is a PCI function without
 * drives whose events come from FOP_INPUT, as a frontend sends them.
 *
 * The display adapter ("vga") is a PCI function without drives: its VRAM
 * BAR is played as the guest writing RAM-backed memory
 * (fake_guest_mem_write), and the BAR numbers it leaves unused stand for
 * its legacy windows (the 0xA0000 window, the VGA ports, the DISPI ports).
 * Whenever virtual time passes (FOP_PAUSE, a frontend's refresh) and at
 * the end of each input, the published display is read as frontends do
 * (get_info, an incremental and a full render, read_text), so whatever
 * the registers say is drawn.
 *
 * Waiting for "the device's I/O threads" without a hook in every model:
 * the target is linked with --wrap=io_worker_start,--wrap=io_worker_stop,
 * so the wrappers below see every worker a model starts and can drain it.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block.h"
#include "devices.h"
#include "display.h"
#include "fake_machine.h"
#include "fake_net.h"
#include "fw_cfg.h"
#include "input.h"
#include "fuzz_device_prog.h"
#include "io_worker.h"
#include "pci.h"
#include "savestate.h"

#ifndef FUZZ_DEVICE
#error "FUZZ_DEVICE must name the model"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the I/O threads of the device under test ---- */

#define MAX_WORKERS 16

struct io_worker *__real_io_worker_start(const char *name, unsigned int nthreads,
					 io_work_fn work, void *opaque);
void __real_io_worker_stop(struct io_worker *w);
struct io_worker *__wrap_io_worker_start(const char *name, unsigned int nthreads,
					 io_work_fn work, void *opaque);
void __wrap_io_worker_stop(struct io_worker *w);

/* Only the fuzzing thread creates and destroys devices: no lock needed. */
static struct io_worker *workers[MAX_WORKERS];
static unsigned int nr_workers;

struct io_worker *__wrap_io_worker_start(const char *name, unsigned int nthreads,
					 io_work_fn work, void *opaque)
{
	struct io_worker *w = __real_io_worker_start(name, nthreads, work, opaque);

	if (w) {
		if (nr_workers == MAX_WORKERS)
			abort();        /* a model started more than the harness expects */
		workers[nr_workers++] = w;
	}
	return w;
}

void __wrap_io_worker_stop(struct io_worker *w)
{
	for (unsigned int i = 0; i < nr_workers; i++) {
		if (workers[i] == w) {
			workers[i] = workers[--nr_workers];
			break;
		}
	}
	__real_io_worker_stop(w);
}

static void drain_workers(void)
{
	for (unsigned int i = 0; i < nr_workers; i++)
		io_worker_drain(workers[i]);
}

/* ---- the machine of one input ---- */

struct memimg {
	int fd;
	struct blk_image *blk;
};

struct rig {
	struct fake_machine fm;
	uint8_t *ram;                   /* guest RAM, FUZZ_RAM_SIZE at 0 */
	struct memimg disk, cd;
	struct drive_args drives[2];
	struct device *dev;
	struct device *host_bridge;     /* i440FX: 0xCF8/0xCFC reach every function */
	struct device *isa_bridge;      /* PIIX3 01.0: IDE is its function 1 */
	struct pci_function *fn;        /* NULL for a legacy device */
	const struct legacy_dev *legacy;
	uint8_t flags;
	int out_pipe[2], in_pipe[2];    /* the UART's back ends; -1 otherwise */
	struct fake_net *net;           /* a NIC's back end; NULL otherwise */
	bool cable;
};

/*
 * Legacy (ISA) devices: no PCI function, no drives.  Their port range
 * stands in for BAR 0.  Where @reset_disarms, a reset must leave none of
 * their timers armed (the RTC's reset clears every interrupt enable:
 * MC146818A, "RESET"); the UART's reset keeps the host's output buffer,
 * and the timers that drain it, by design.
 */
struct legacy_dev {
	const char *model;
	uint16_t base, len;
	bool reset_disarms;
};

static const struct legacy_dev legacy_devs[] = {
	{ "rtc", RTC_PORT, 2, true },
	{ "uart16550", 0x3f8, 8, false },
	/* selector and data at 0x510-0x511, the DMA address at 0x514-0x51b */
	{ "fw_cfg", FW_CFG_PORT_SEL, 12, true },
	/* data 0x60, status/command 0x64 (0x61-0x63 are not its) */
	{ "i8042", I8042_DATA_PORT, 5, true },
};

/* The VGA's windows that are not BARs, reached through its unused BAR numbers. */
struct extra_window {
	uint64_t base, len;
	bool pio;
};

static const struct extra_window vga_windows[] = {
	{ 0xa0000, 0x20000, false },   /* the legacy memory window */
	{ 0x3b0, 0x30, true },         /* VGA registers */
	{ 0x1ce, 4, true },            /* Bochs DISPI index and data (twice) */
};

/* Small enough that many VBE modes do not fit; large enough for some that do. */
#define FUZZ_VGA_VRAM (1u << 20)
/* Renders per input at most (plus the last): a full screen costs milliseconds. */
#define FUZZ_MAX_RENDERS 3

static uint8_t *guest_ram;

/* A qcow2 image of FUZZ_DISK_SIZE, made once by the block layer itself. */
static uint8_t *qcow2_template;
static size_t qcow2_template_len;

static void make_qcow2_template(void)
{
	char dir[] = "/tmp/hutch-fuzz-XXXXXX", path[64], err[BLK_ERR_MAX];
	struct blk_create_opts o = { .format = "qcow2", .size = FUZZ_DISK_SIZE,
				     .cluster_size = 4096 };
	FILE *f;
	long len;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/t.qcow2", dir);
	if (blk_create(path, &o, err, sizeof(err))) {
		fprintf(stderr, "fuzz: cannot make a qcow2 image: %s\n", err);
		abort();
	}
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0)
		abort();
	rewind(f);
	qcow2_template = malloc((size_t)len);
	if (!qcow2_template || fread(qcow2_template, 1, (size_t)len, f) != (size_t)len)
		abort();
	qcow2_template_len = (size_t)len;
	fclose(f);
	unlink(path);
	rmdir(dir);
}

/* A memfd holding @len bytes of @bytes (or @size zero bytes), opened as @fmt. */
static void memimg_open(struct memimg *m, const char *fmt, const void *bytes, size_t len,
			uint64_t size, unsigned int flags)
{
	char path[64], err[BLK_ERR_MAX];

	m->fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)size))
		abort();
	if (len && pwrite(m->fd, bytes, len, 0) != (ssize_t)len)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fd);
	if (blk_open(path, fmt, flags, &m->blk, err, sizeof(err))) {
		fprintf(stderr, "fuzz: cannot open the %s disk: %s\n", fmt, err);
		abort();
	}
}

static void memimg_close(struct memimg *m)
{
	if (m->blk)
		blk_close(m->blk);
	if (m->fd >= 0)
		close(m->fd);
	m->blk = NULL;
	m->fd = -1;
}

static const struct device_model *model(void)
{
	const struct device_model *mdl = device_model_find(FUZZ_DEVICE);

	if (!mdl)
		abort();
	return mdl;
}

/* The host and ISA bridges, as on the real machine. */
static void rig_bridges(struct rig *r)
{
	r->host_bridge = fake_device_create(&r->fm, &i440fx_model, NULL);
	r->isa_bridge = fake_device_create(&r->fm, &piix3_model, NULL);
	if (!r->host_bridge || !r->isa_bridge)
		abort();
}

/*
 * The UART: output into a small pipe (read after each operation with
 * FFLAG_UART_READER, else a stalled reader), input from a pipe holding a
 * few bytes (then EOF with FFLAG_UART_EOF).
 */
static void rig_up_uart(struct rig *r)
{
	static const char input[] = "root\nls -l /\n\x03\x7f\033[A";
	struct device_args args = { .out_fd = -1, .in_fd = -1 };

	if (pipe2(r->out_pipe, O_NONBLOCK) || pipe2(r->in_pipe, O_NONBLOCK) ||
	    fcntl(r->out_pipe[1], F_SETPIPE_SZ, 4096) < 0 ||
	    write(r->in_pipe[1], input, sizeof(input) - 1) != (ssize_t)(sizeof(input) - 1))
		abort();
	if (r->flags & FFLAG_UART_EOF) {
		close(r->in_pipe[1]);
		r->in_pipe[1] = -1;
	}
	args.out_fd = r->out_pipe[1];
	args.in_fd = r->in_pipe[0];
	r->dev = fake_device_create(&r->fm, model(), &args);
	if (!r->dev) {
		fprintf(stderr, "fuzz: cannot create %s: %s\n", FUZZ_DEVICE, strerror(errno));
		abort();
	}
}

/*
 * fw_cfg: what a machine puts there, in miniature: a numbered item, a
 * few files (keys 0x20, 0x21, 0x22; one empty, one larger than a page),
 * so reads, skips and the directory have something to walk.
 */
static void rig_fw_cfg_items(struct device *dev)
{
	static uint8_t big[6000];
	uint64_t ram = FUZZ_RAM_SIZE;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	if (fw_cfg_add_item(dev, FW_CFG_RAM_SIZE, &ram, sizeof(ram)) ||
	    fw_cfg_add_file(dev, "etc/small", "hutch", 5) ||
	    fw_cfg_add_file(dev, "etc/empty", NULL, 0) ||
	    fw_cfg_add_file(dev, "etc/big", big, sizeof(big)))
		abort();
}

/* After each operation: what the loop would run, and the UART's reader if it reads. */
static void run_loop(struct rig *r)
{
	static uint8_t sink[4096];

	fake_loop_run(&r->fm);
	if (r->out_pipe[0] >= 0 && (r->flags & FFLAG_UART_READER))
		while (read(r->out_pipe[0], sink, sizeof(sink)) > 0)
			;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The PCI function the model under test attached. */
static void rig_find_function(struct rig *r)
{
	for (unsigned int devfn = 0; devfn < 256 && !r->fn; devfn++) {
		struct pci_function *fn = pci_bus_function(r->fm.pci, (uint8_t)devfn);

		if (fn && fn->dev == r->dev)
			r->fn = fn;
	}
	if (!r->fn)
		abort();
}

static void rig_up(struct rig *r, uint8_t flags)
{
	static uint8_t cd_bytes[FUZZ_CD_BLOCKS * 2048];
	struct device_args args = { .out_fd = -1, .in_fd = -1, .drives = r->drives };
	const struct device_model *mdl = model();
	bool qcow2 = flags & FFLAG_QCOW2;

	memset(r, 0, sizeof(*r));
	r->disk.fd = r->cd.fd = -1;
	r->flags = flags;
	r->out_pipe[0] = r->out_pipe[1] = r->in_pipe[0] = r->in_pipe[1] = -1;
	/*
	 * One mapping for all inputs, emptied after each (rig_down): a fresh
	 * calloc'ed 2 MiB per input cost more than the input itself.
	 */
	if (!guest_ram) {
		guest_ram = mmap(NULL, FUZZ_RAM_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (guest_ram == MAP_FAILED)
			abort();
	}
	r->ram = guest_ram;
	if (fake_machine_init(&r->fm, 0) || gm_add_region(&r->fm.mem, 0, FUZZ_RAM_SIZE, r->ram))
		abort();
	r->fm.offer_ioeventfd = r->fm.offer_irqfd = flags & FFLAG_LOOP;
	for (unsigned int i = 0; i < sizeof(legacy_devs) / sizeof(legacy_devs[0]); i++)
		if (!strcmp(legacy_devs[i].model, mdl->name))
			r->legacy = &legacy_devs[i];
	if (r->legacy) {
		rig_bridges(r);
		if (mdl == &uart16550_model) {
			rig_up_uart(r);
			return;
		}
		r->dev = fake_device_create(&r->fm, mdl, NULL);
		if (!r->dev) {
			fprintf(stderr, "fuzz: cannot create %s: %s\n", FUZZ_DEVICE, strerror(errno));
			abort();
		}
		if (mdl == &fw_cfg_model)
			rig_fw_cfg_items(r->dev);
		return;
	}
	if (mdl == &e1000_model) {
		static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

		r->net = fake_net_new(&r->fm, true);
		r->net->keep_none = true;
		r->cable = true;
		args.net = r->net->nb;
		memcpy(args.mac, mac, sizeof(mac));
		rig_bridges(r);
		r->dev = fake_device_create(&r->fm, mdl, &args);
		if (!r->dev) {
			fprintf(stderr, "fuzz: cannot create %s: %s\n", FUZZ_DEVICE, strerror(errno));
			abort();
		}
		rig_find_function(r);
		return;
	}
	if (mdl == &vga_model || mdl == &virtio_net_model || mdl == &virtio_input_model) {
		/* PCI functions without drives: the VGA with small VRAM, a NIC on a
		 * recording back end that keeps no frames, only counts them. */
		static const uint8_t mac[6] = { 0x08, 0x00, 0x27, 0x12, 0x34, 0x56 };

		if (mdl == &vga_model) {
			args.vram_size = FUZZ_VGA_VRAM;
		} else if (mdl == &virtio_net_model) {
			r->net = fake_net_new(&r->fm, true);
			r->net->keep_none = true;
			r->cable = true;
			args.net = r->net->nb;
			memcpy(args.mac, mac, sizeof(mac));
		}
		rig_bridges(r);
		r->dev = fake_device_create(&r->fm, mdl, &args);
		if (!r->dev) {
			fprintf(stderr, "fuzz: cannot create %s: %s\n", FUZZ_DEVICE, strerror(errno));
			abort();
		}
		rig_find_function(r);
		return;
	}
	memimg_open(&r->disk, qcow2 ? "qcow2" : "raw", qcow2 ? qcow2_template : NULL,
		    qcow2 ? qcow2_template_len : 0, qcow2 ? qcow2_template_len : FUZZ_DISK_SIZE, 0);
	r->drives[0] = (struct drive_args){ .img = r->disk.blk, .port = 0, .serial = "FUZZDISK" };
	args.nr_drives = 1;
	if (mdl != &virtio_blk_model) {
		/* A CD whose blocks are told apart by their first bytes. */
		for (unsigned int b = 0; b < FUZZ_CD_BLOCKS; b++)
			memset(cd_bytes + b * 2048, (int)(b + 1), 16);
		if (!(flags & FFLAG_NO_MEDIA))
			memimg_open(&r->cd, "raw", cd_bytes, sizeof(cd_bytes), sizeof(cd_bytes),
				    BLK_RDONLY);
		/* AHCI port 2; IDE secondary master (channel * 2 + unit).  An
		 * empty drive has no image. */
		r->drives[1] = (struct drive_args){ .img = r->cd.blk, .cdrom = true,
						    .readonly = true, .port = 2 };
		args.nr_drives = 2;
	} else {
		args.nr_queues = 2;
	}
	rig_bridges(r);
	r->dev = fake_device_create(&r->fm, mdl, &args);
	if (!r->dev) {
		fprintf(stderr, "fuzz: cannot create %s: %s\n", FUZZ_DEVICE, strerror(errno));
		abort();
	}
	rig_find_function(r);
}

/*
 * For checking what a seed or a crash input does: with HUTCH_FUZZ_DUMP set
 * to a file name, guest RAM at the end of each input is written there and
 * the interrupts seen are printed (and the display's mode at each look).
 */
static void dump(struct rig *r)
{
	const char *path = getenv("HUTCH_FUZZ_DUMP");
	unsigned int edges = 0;
	FILE *f;

	if (!path)
		return;
	for (unsigned int i = 0; i < FAKE_NR_GSI; i++)
		edges += r->fm.irq_edges[i];
	fprintf(stderr, "fuzz: %u INTx edges, %u MSIs; RAM in %s\n", edges, r->fm.nr_msis, path);
	if (r->net) {
		struct net_stats st;

		net_get_stats(r->net->nb, &st);
		fprintf(stderr, "fuzz: frames sent %llu (dropped %llu), received %llu (dropped %llu)\n",
			(unsigned long long)st.tx_frames, (unsigned long long)st.tx_dropped,
			(unsigned long long)st.rx_frames, (unsigned long long)st.rx_dropped);
	}
	f = fopen(path, "wb");
	if (f) {
		fwrite(r->ram, 1, FUZZ_RAM_SIZE, f);
		fclose(f);
	}
}

static void rig_down(struct rig *r)
{
	dump(r);
	device_destroy(r->dev);         /* stops the I/O threads first */
	device_destroy(r->isa_bridge);
	device_destroy(r->host_bridge);
	fake_net_free(r->net);          /* after its NIC detached */
	fake_machine_destroy(&r->fm);
	memimg_close(&r->disk);
	memimg_close(&r->cd);
	close_fd(&r->out_pipe[0]);
	close_fd(&r->out_pipe[1]);
	close_fd(&r->in_pipe[0]);
	close_fd(&r->in_pipe[1]);
	/* Zero pages again for the next input: only what was touched costs. */
	if (madvise(r->ram, FUZZ_RAM_SIZE, MADV_DONTNEED))
		abort();
	if (nr_workers)
		abort();                /* a worker outlived its device */
}

/* ---- the program ---- */

struct prog {
	const uint8_t *p, *end;
};

static uint64_t take(struct prog *g, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		if (g->p < g->end)
			v |= (uint64_t)*g->p++ << (8 * i);
	return v;
}

static void bar_access(struct rig *r, struct prog *g, bool write)
{
	unsigned int bar = (unsigned int)take(g, 1) % PCI_NUM_BARS;
	uint64_t off = take(g, 4);
	unsigned int width = fuzz_width((uint8_t)take(g, 1));
	uint64_t value = write ? take(g, 8) : 0;
	const struct pci_bar *b;
	uint64_t addr;

	if (r->legacy) {
		addr = r->legacy->base + off % r->legacy->len;
		if (write)
			fake_pio_write(&r->fm, (uint16_t)addr, (uint32_t)value, width > 4 ? 4 : width);
		else
			(void)fake_pio_read(&r->fm, (uint16_t)addr, width > 4 ? 4 : width);
		return;
	}
	b = &r->fn->bars[bar];
	if (b->type == PCI_BAR_UNUSED && r->dev->model == &vga_model) {
		const struct extra_window *x = &vga_windows[bar % (sizeof(vga_windows) /
							       sizeof(vga_windows[0]))];

		addr = x->base + off % x->len;
		if (x->pio && width > 4)
			width = 4;
		if (x->pio && write)
			fake_pio_write(&r->fm, (uint16_t)addr, (uint32_t)value, width);
		else if (x->pio)
			(void)fake_pio_read(&r->fm, (uint16_t)addr, width);
		else if (write)
			fake_mmio_write(&r->fm, addr, value, width);
		else
			(void)fake_mmio_read(&r->fm, addr, width);
		return;
	}
	if (b->type == PCI_BAR_UNUSED || !b->size)
		return;
	if (b->region) {
		/* RAM-backed: the guest's stores land without an exit, where mapped. */
		addr = b->addr + off % b->size;
		if (write)
			(void)fake_guest_mem_write(&r->fm, addr, &value, width);
		return;
	}
	/* Where the guest programmed the BAR, decoding on or not. */
	addr = b->addr + off % b->size;
	if (b->type == PCI_BAR_IO) {
		if (width > 4)
			width = 4;
		if (write)
			fake_pio_write(&r->fm, (uint16_t)addr, (uint32_t)value, width);
		else
			(void)fake_pio_read(&r->fm, (uint16_t)addr, width);
	} else if (write) {
		fake_mmio_write(&r->fm, addr, value, width);
	} else {
		(void)fake_mmio_read(&r->fm, addr, width);
	}
}

static unsigned int pio_width(struct prog *g)
{
	unsigned int w = fuzz_width((uint8_t)take(g, 1));

	return w > 4 ? 4 : w;
}

static void ram_write(struct rig *r, struct prog *g)
{
	uint64_t gpa = take(g, 4) % FUZZ_RAM_SIZE;
	size_t len = (size_t)take(g, 2);

	if (len > (size_t)(g->end - g->p))
		len = (size_t)(g->end - g->p);
	/* Bytes past the end of RAM are consumed but dropped. */
	memcpy(r->ram + gpa, g->p,
	       len < FUZZ_RAM_SIZE - gpa ? len : (size_t)(FUZZ_RAM_SIZE - gpa));
	g->p += len;
}

static void ram_fill(struct rig *r, struct prog *g)
{
	uint64_t gpa = take(g, 4) % FUZZ_RAM_SIZE;
	uint64_t len = take(g, 4);
	uint8_t byte = (uint8_t)take(g, 1);

	if (len > FUZZ_RAM_SIZE - gpa)
		len = FUZZ_RAM_SIZE - gpa;
	memset(r->ram + gpa, byte, (size_t)len);
}

/* A frame from the host: cut at the end of the input; ignored without a NIC. */
static void net_rx(struct rig *r, struct prog *g)
{
	size_t len = (size_t)take(g, 2);

	if (len > (size_t)(g->end - g->p))
		len = (size_t)(g->end - g->p);
	if (r->net)
		(void)fake_net_inject(r->net, g->p, len);
	g->p += len;
}

static void save_load(struct rig *r)
{
	struct sv_writer w;

	int saved, loaded = 0;

	/* A state just saved must load back: a failure is a bug in one of them. */
	saved = fake_save(r->dev, &w);
	if (!saved)
		loaded = fake_load(r->dev, &w);
	if (saved || loaded) {
		fprintf(stderr, "fuzz: %s: save %s, load %s\n", FUZZ_DEVICE, strerror(-saved),
			strerror(-loaded));
		abort();
	}
	sv_writer_free(&w);
}

/*
 * With HUTCH_FUZZ_RESET_ORACLE=1, a device reset must leave no DMA behind:
 * guest RAM is compared before and after the I/O threads are drained, and
 * a difference (a request that was in flight writing RAM after the reset
 * returned; issue 8, item 4) aborts.  Only FOP_ASYNC steps before the
 * reset can leave something in flight, and FOP_PAUSE lets it get going.
 */
static void reset(struct rig *r, bool maybe_busy)
{
	static uint8_t *copy;
	static int oracle = -1;

	if (oracle < 0) {
		const char *e = getenv("HUTCH_FUZZ_RESET_ORACLE");

		oracle = e && *e == '1';
	}
	device_reset(r->dev);
	if (r->legacy && r->legacy->reset_disarms && fake_timers_armed(&r->fm)) {
		fprintf(stderr, "fuzz: %s left a timer armed across its reset\n", FUZZ_DEVICE);
		abort();
	}
	if (!oracle || !maybe_busy)
		return;
	if (!copy && !(copy = malloc(FUZZ_RAM_SIZE)))
		abort();
	memcpy(copy, r->ram, FUZZ_RAM_SIZE);
	drain_workers();
	/* memcmp first: an instrumented byte loop over 2 MiB per reset is slow. */
	if (!memcmp(copy, r->ram, FUZZ_RAM_SIZE))
		return;
	for (size_t i = 0; i < FUZZ_RAM_SIZE; i++) {
		if (copy[i] != r->ram[i]) {
			fprintf(stderr, "fuzz: guest RAM at 0x%zx written after %s's reset returned\n",
				i, FUZZ_DEVICE);
			break;
		}
	}
	abort();
}

/*
 * Read the published display as a frontend does.  Whatever the guest put
 * in the registers, the mode must be within the interface's limits and
 * drawing it must stay inside the VRAM (ASan watches the device's reads).
 */
static void display_read(struct rig *r, bool screenshot)
{
	static uint32_t screen[DISPLAY_MAX_WIDTH * DISPLAY_MAX_HEIGHT];
	static struct display_text text;
	const struct display_ops *ops = r->fm.display_ops;
	struct display_rect rects[8];
	struct display_info info;
	unsigned int n = 0;
	int ret;

	if (!ops)
		return;
	ops->get_info(r->fm.display_opaque, &info);
	if (getenv("HUTCH_FUZZ_DUMP"))   /* what a seed shows, as dump() below */
		fprintf(stderr, "fuzz: display %ux%u, kind %d, %u bpp\n", info.width, info.height,
			info.kind, info.bpp);
	if (info.width > DISPLAY_MAX_WIDTH || info.height > DISPLAY_MAX_HEIGHT ||
	    (info.kind == DISPLAY_BLANK) != (info.width == 0)) {
		fprintf(stderr, "fuzz: %s reports a %ux%u screen (kind %d)\n", FUZZ_DEVICE,
			info.width, info.height, info.kind);
		abort();
	}
	ret = ops->render(r->fm.display_opaque, screen, (size_t)info.width * 4, info.width,
			  info.height, rects, 8, &n);
	if (ret || n > 8) {
		fprintf(stderr, "fuzz: %s: render of its own size failed (%d, %u rects)\n",
			FUZZ_DEVICE, ret, n);
		abort();
	}
	for (unsigned int i = 0; i < n; i++)
		if (rects[i].x + rects[i].w > info.width || rects[i].y + rects[i].h > info.height)
			abort();
	/* Drawing costs most of an input: the full redraw only once. */
	if (screenshot && ops->render(r->fm.display_opaque, screen, (size_t)info.width * 4,
				      info.width, info.height, NULL, 0, NULL))
		abort();
	ret = ops->read_text(r->fm.display_opaque, &text);
	if ((ret == 0) != (info.kind == DISPLAY_TEXT) || (ret == 0 && (text.cols > DISPLAY_TEXT_MAX_COLS ||
	    text.rows > DISPLAY_TEXT_MAX_ROWS || text.cell_height > 32)))
		abort();
}

/* FOP_INPUT: the host's keyboard and pointer through the published inputs. */
static void input_event(struct rig *r, struct prog *g)
{
	unsigned int kind = (unsigned int)take(g, 1) % 3;
	uint16_t a = (uint16_t)take(g, 2), b = (uint16_t)take(g, 2);
	uint8_t c = (uint8_t)take(g, 1), buttons = (uint8_t)take(g, 1);

	for (unsigned int i = 0; i < r->fm.nr_inputs; i++) {
		const struct input_ops *ops = r->fm.inputs[i].ops;
		void *o = r->fm.inputs[i].opaque;

		if (kind == 0 && (ops->caps & INPUT_CAP_KEYBOARD))
			ops->key(o, a, c & 1);
		else if (kind == 1 && (ops->caps & INPUT_CAP_REL))
			ops->rel(o, (int16_t)a, (int16_t)b, (int8_t)c, buttons);
		else if (kind == 2 && (ops->caps & INPUT_CAP_ABS))
			ops->abs(o, a % (INPUT_ABS_MAX + 1), b % (INPUT_ABS_MAX + 1), (int8_t)c, buttons);
	}
}

/* What a frontend asks of the inputs: LEDs within INPUT_LED_*, active(). */
static void input_read(struct rig *r)
{
	for (unsigned int i = 0; i < r->fm.nr_inputs; i++) {
		const struct input_ops *ops = r->fm.inputs[i].ops;
		void *o = r->fm.inputs[i].opaque;

		if (ops->leds && (ops->leds(o) & ~(INPUT_LED_SCROLL | INPUT_LED_NUM | INPUT_LED_CAPS)))
			abort();
		if (ops->active)
			(void)ops->active(o);
	}
}

/* The host's side of a NIC's wire, on FOP_PAUSE (fuzz_device_prog.h). */
static void net_traffic(struct rig *r, unsigned int n)
{
	uint16_t len;

	if (!r->net)
		return;
	if (n & 0x80) {
		r->cable = !r->cable;
		net_set_link(r->net->nb, r->cable);
	}
	memcpy(&len, r->ram + FUZZ_NET_LEN_GPA, 2);
	len = le16toh(len);
	if (len < NET_FRAME_MIN)
		len = 60;
	/* 0x1f0000 + 0xffff stays inside the 2 MiB of RAM. */
	for (unsigned int i = 0; i <= (n & 3); i++)
		(void)fake_net_inject(r->net, r->ram + FUZZ_NET_FRAME_GPA, len);
}

static void run(struct rig *r, struct prog *g)
{
	unsigned int async = 0, paused_us = 0, renders = 0;
	bool undrained = false;         /* an I/O thread may be busy */

	for (unsigned int n = 0; n < FUZZ_MAX_OPS && g->p < g->end; n++) {
		uint8_t op = (uint8_t)(take(g, 1) % FOP_COUNT);
		uint16_t port;
		unsigned int width, count;
		uint32_t v;

		switch (op) {
		case FOP_BAR_WRITE:
		case FOP_BAR_READ:
			bar_access(r, g, op == FOP_BAR_WRITE);
			break;
		case FOP_PIO_WRITE:
			port = (uint16_t)take(g, 2);
			width = pio_width(g);
			fake_pio_write(&r->fm, port, (uint32_t)take(g, 4), width);
			break;
		case FOP_PIO_READ:
			port = (uint16_t)take(g, 2);
			(void)fake_pio_read(&r->fm, port, pio_width(g));
			break;
		case FOP_PIO_REP_READ:
		case FOP_PIO_REP_WRITE:
			port = (uint16_t)take(g, 2);
			width = pio_width(g);
			count = (unsigned int)take(g, 2) % (FUZZ_MAX_REP + 1);
			v = op == FOP_PIO_REP_WRITE ? (uint32_t)take(g, 4) : 0;
			for (unsigned int i = 0; i < count; i++) {
				if (op == FOP_PIO_REP_WRITE)
					fake_pio_write(&r->fm, port, v, width);
				else
					(void)fake_pio_read(&r->fm, port, width);
			}
			break;
		case FOP_CFG_WRITE:
			port = (uint16_t)take(g, 1);
			width = pio_width(g);
			v = (uint32_t)take(g, 4);
			if (r->fn)
				fake_pci_cfg_write(&r->fm, r->fn->devfn, port, v, width);
			break;
		case FOP_CFG_READ:
			port = (uint16_t)take(g, 1);
			width = pio_width(g);
			if (r->fn)
				(void)fake_pci_cfg_read(&r->fm, r->fn->devfn, port, width);
			break;
		case FOP_RAM_WRITE:
			ram_write(r, g);
			break;
		case FOP_RAM_FILL:
			ram_fill(r, g);
			break;
		case FOP_RESET:
			reset(r, undrained);
			break;
		case FOP_DRAIN:
			drain_workers();
			break;
		case FOP_ASYNC:
			async = (unsigned int)take(g, 1) + 1;
			continue;
		case FOP_SAVE_LOAD:
			drain_workers();
			save_load(r);
			break;
		case FOP_NET_RX:
			net_rx(r, g);
			break;
		case FOP_NET_LINK:
			v = (uint32_t)take(g, 1);
			if (r->net)
				net_set_link(r->net->nb, v & 1);
			break;
		case FOP_INPUT:
			input_event(r, g);
			break;
		case FOP_PAUSE:
			count = (unsigned int)take(g, 1);
			input_read(r);
			v = count * 10;
			if (v > FUZZ_MAX_PAUSE_US - paused_us)
				v = FUZZ_MAX_PAUSE_US - paused_us;
			/* Real time only helps a thread that may be running. */
			if (!undrained)
				v = 0;
			paused_us += v;
			if (v)
				usleep(v);
			/* Virtual time is free: timers fire without sleeping. */
			fake_advance(&r->fm, (int64_t)count * FUZZ_PAUSE_VIRTUAL_NS);
			net_traffic(r, count);
			/* A frontend refreshes meanwhile. */
			if (renders < FUZZ_MAX_RENDERS) {
				renders++;
				display_read(r, false);
			}
			break;
		}
		if (async) {
			async--;
			undrained = true;
		} else {
			drain_workers();
			undrained = false;
		}
		run_loop(r);
	}
	drain_workers();
	display_read(r, true);
	input_read(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	make_qcow2_template();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rig r;
	struct prog g = { data, data + size };
	uint8_t flags = (uint8_t)take(&g, 1);

	rig_up(&r, flags);
	run(&r, &g);
	rig_down(&r);
	return 0;
}
