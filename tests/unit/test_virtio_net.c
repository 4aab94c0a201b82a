// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-net on the modern virtio-pci transport, driven the way a guest
 * driver drives it (capabilities, feature negotiation, queues in fake
 * guest RAM, notifications) against the recording back end of
 * tests/fake/fake_net.h: frames the guest sends land in fake_net, frames
 * the host injects reach the guest's receive buffers when the fake loop
 * runs.  The device serves its queues synchronously, so a trapped
 * notification has done its work when the write returns.
 *
 * Then offloads (checksum completion, TSO), mergeable receive buffers
 * and flow control, the control queue's receive filter, link changes,
 * malformed rings and frames, resets with work pending, save/load.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"
#include "fake_net.h"
#include "ref_csum.h"
#include "net.h"
#include "virtio_pci.h"

#define RAM_SIZE     (8u << 20)
#define NQ           3
#define Q_RX         0
#define Q_TX         1
#define Q_CTRL       2
#define QSIZE        256           /* what the device offers */
#define RING_GPA(q)  (0x10000u + (q) * 0x10000u)
#define RX_GPA       0x100000u     /* receive buffers: 16 KiB apart */
#define RX_SLOT      0x4000u
#define TX_GPA       0x400000u     /* transmit frames: 0x20000 apart (header + 64 KiB) */
#define TX_SLOT      0x20000u
#define CTRL_GPA     0x7f0000u
#define MSI_ADDR     0xfee00000u
#define MSI_DATA(v)  (0x4000u + (v))

/* Features (virtio 1.2, 5.1.3) */
#define F_CSUM          0
#define F_GUEST_CSUM    1
#define F_MAC           5
#define F_GUEST_TSO4    7
#define F_GUEST_TSO6    8
#define F_HOST_TSO4     11
#define F_HOST_TSO6     12
#define F_HOST_ECN      13
#define F_HOST_UFO      14
#define F_MRG_RXBUF     15
#define F_STATUS        16
#define F_CTRL_VQ       17
#define F_CTRL_RX       18
#define F_CTRL_RX_EXTRA 20
#define F_CTRL_MAC_ADDR 23
#define BIT(b)          (1ULL << (b))

#define HDR_LEN         12
#define HF_NEEDS_CSUM   1
#define GSO_NONE        0
#define GSO_TCPV4       1
#define GSO_UDP         3
#define GSO_TCPV6       4
#define GSO_ECN         0x80

#define D_NEXT     VIRTQ_DESC_F_NEXT
#define D_WRITE    VIRTQ_DESC_F_WRITE

static const uint8_t nic_mac[6] = { 0x08, 0x00, 0x27, 0x11, 0x22, 0x33 };
static const uint8_t host_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct drv {
	struct fake_machine *fm;
	struct fake_machine fm_store[2];
	struct fake_net *fn;
	struct device *dev;
	uint8_t devfn;
	uint64_t bar1, bar4;
	uint32_t common, isr, devcfg, notify, notify_mult;
	uint8_t msix_cap;
	uint64_t features;
	uint16_t avail_idx[NQ], used_seen[NQ], next_desc[NQ], qsize[NQ];
	unsigned int tx_slot;
};

/* ---- plumbing (as test_virtio_blk.c's driver) ---- */

static uint32_t cfg_rd(struct drv *d, unsigned int off, unsigned int size)
{
	return fake_pci_cfg_read(d->fm, d->devfn, off, size);
}

static void cfg_wr(struct drv *d, unsigned int off, uint32_t v, unsigned int size)
{
	fake_pci_cfg_write(d->fm, d->devfn, off, v, size);
}

static uint64_t bar_rd(struct drv *d, uint32_t off, unsigned int size)
{
	return fake_mmio_read(d->fm, d->bar4 + off, size);
}

static void bar_wr(struct drv *d, uint32_t off, uint64_t v, unsigned int size)
{
	fake_mmio_write(d->fm, d->bar4 + off, v, size);
}

static uint8_t status(struct drv *d)
{
	return (uint8_t)bar_rd(d, d->common + VIRTIO_PCI_DEVICE_STATUS, 1);
}

static void set_status(struct drv *d, uint8_t s)
{
	bar_wr(d, d->common + VIRTIO_PCI_DEVICE_STATUS, s, 1);
}

static uint8_t *ram(struct drv *d, uint64_t gpa)
{
	return d->fm->ram + gpa;
}

static void put16(struct drv *d, uint64_t gpa, uint16_t v) { memcpy(ram(d, gpa), &v, 2); }
static void put32(struct drv *d, uint64_t gpa, uint32_t v) { memcpy(ram(d, gpa), &v, 4); }
static void put64(struct drv *d, uint64_t gpa, uint64_t v) { memcpy(ram(d, gpa), &v, 8); }

static uint16_t get16(struct drv *d, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ram(d, gpa), 2);
	return v;
}

static uint32_t get32(struct drv *d, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram(d, gpa), 4);
	return v;
}

static uint16_t used_idx(struct drv *d, unsigned int q)
{
	return get16(d, RING_GPA(q) + 0x8000 + 2);
}

static void find_caps(struct drv *d)
{
	unsigned int off = cfg_rd(d, PCI_CAPABILITY_LIST, 1);

	for (int n = 0; off && n < 48; n++, off = cfg_rd(d, off + 1, 1)) {
		unsigned int id = cfg_rd(d, off, 1);

		if (id == PCI_CAP_ID_MSIX)
			d->msix_cap = (uint8_t)off;
		if (id != PCI_CAP_ID_VNDR)
			continue;
		switch (cfg_rd(d, off + 3, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			d->common = cfg_rd(d, off + 8, 4);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			d->isr = cfg_rd(d, off + 8, 4);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			assert_true(cfg_rd(d, off + 12, 4) >= 10);
			d->devcfg = cfg_rd(d, off + 8, 4);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			d->notify = cfg_rd(d, off + 8, 4);
			d->notify_mult = cfg_rd(d, off + 16, 4);
			break;
		}
	}
}

static void map_bars(struct drv *d)
{
	d->bar1 = cfg_rd(d, PCI_BAR0 + 4, 4) & ~0xfu;
	d->bar4 = (cfg_rd(d, PCI_BAR0 + 16, 4) & ~0xfu) | (uint64_t)cfg_rd(d, PCI_BAR0 + 20, 4) << 32;
	cfg_wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

/* MSI-X on, vector v -> data MSI_DATA(v): 0 for configuration, q + 1 for queue q. */
static void enable_msix(struct drv *d)
{
	unsigned int n = (cfg_rd(d, d->msix_cap + 2, 2) & 0x7ff) + 1;

	for (unsigned int v = 0; v < n; v++) {
		fake_mmio_write(d->fm, d->bar1 + 16 * v, MSI_ADDR, 4);
		fake_mmio_write(d->fm, d->bar1 + 16 * v + 4, 0, 4);
		fake_mmio_write(d->fm, d->bar1 + 16 * v + 8, MSI_DATA(v), 4);
		fake_mmio_write(d->fm, d->bar1 + 16 * v + 12, 0, 4);
	}
	cfg_wr(d, d->msix_cap + 2, 0x8000, 2);
}

static unsigned int msis_for(struct drv *d, unsigned int vector)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->fm->nr_msis && i < FAKE_MAX_MSIS; i++)
		if (d->fm->msis[i].data == MSI_DATA(vector))
			n++;
	return n;
}

static uint64_t device_features(struct drv *d)
{
	uint64_t f;

	bar_wr(d, d->common + VIRTIO_PCI_DEVICE_FEATURE_SELECT, 0, 4);
	f = bar_rd(d, d->common + VIRTIO_PCI_DEVICE_FEATURE, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DEVICE_FEATURE_SELECT, 1, 4);
	return f | bar_rd(d, d->common + VIRTIO_PCI_DEVICE_FEATURE, 4) << 32;
}

static bool negotiate(struct drv *d, uint64_t want)
{
	set_status(d, 0);
	assert_int_equal(status(d), 0);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 0, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, (uint32_t)want, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 1, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, (uint32_t)(want >> 32), 4);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return status(d) & VIRTIO_STATUS_FEATURES_OK;
}

static void setup_queue(struct drv *d, unsigned int q, uint16_t size, uint16_t vector)
{
	uint64_t base = RING_GPA(q);

	memset(ram(d, base), 0, 0x10000);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, q, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SIZE, size, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC, base, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DRIVER, base + 0x4000, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DEVICE, base + 0x8000, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_MSIX_VECTOR, vector, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 1, 2);
	d->avail_idx[q] = d->used_seen[q] = d->next_desc[q] = 0;
	d->qsize[q] = size;
}

/* Bring-up (3.1.1) with the offered features but @drop; MSI-X if @msix. */
static void drv_start(struct drv *d, bool msix, uint64_t drop)
{
	uint64_t want = device_features(d) & ~drop;

	assert_true(negotiate(d, want));
	d->features = want;
	if (msix)
		bar_wr(d, d->common + VIRTIO_PCI_CONFIG_MSIX_VECTOR, 0, 2);
	for (unsigned int q = 0; q < NQ; q++)
		setup_queue(d, q, QSIZE, msix ? (uint16_t)(q + 1) : VIRTIO_NO_VECTOR);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(status(d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	d->tx_slot = 0;
}

static void set_desc(struct drv *d, unsigned int q, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint64_t table = RING_GPA(q);

	put64(d, table + 16u * i, addr);
	put32(d, table + 16u * i + 8, len);
	put16(d, table + 16u * i + 12, flags);
	put16(d, table + 16u * i + 14, next);
}

static void publish(struct drv *d, unsigned int q, uint16_t head)
{
	uint64_t avail = RING_GPA(q) + 0x4000;

	put16(d, avail + 4 + 2u * (d->avail_idx[q] % d->qsize[q]), head);
	__atomic_store_n((uint16_t *)ram(d, avail + 2), ++d->avail_idx[q], __ATOMIC_RELEASE);
}

/* Notify @q; with ioeventfds the loop then runs, as it would on its own thread. */
static void notify(struct drv *d, unsigned int q)
{
	bar_wr(d, d->notify + q * d->notify_mult, q, 2);
	if (d->fm->offer_ioeventfd)
		fake_loop_run(d->fm);
}

struct piece {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

/* A chain of @n pieces on @q at the next free descriptors; its head (not published). */
static uint16_t chain(struct drv *d, unsigned int q, const struct piece *p, unsigned int n)
{
	uint16_t head = d->next_desc[q];

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % d->qsize[q]);

		set_desc(d, q, idx, p[i].addr, p[i].len, (uint16_t)(p[i].flags | (i + 1 < n ? D_NEXT : 0)),
			 (uint16_t)((idx + 1) % d->qsize[q]));
	}
	d->next_desc[q] = (uint16_t)((head + n) % d->qsize[q]);
	return head;
}

/* The next used element of @q: true with id and length, false if there is none. */
static bool next_used(struct drv *d, unsigned int q, uint32_t *id, uint32_t *len)
{
	uint64_t e = RING_GPA(q) + 0x8000 + 4 + 8u * (d->used_seen[q] % d->qsize[q]);

	if (used_idx(d, q) == d->used_seen[q])
		return false;
	if (id)
		*id = get32(d, e);
	if (len)
		*len = get32(d, e + 4);
	d->used_seen[q]++;
	return true;
}

/* ---- frames and the virtio-net header ---- */

static void wr16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t rd16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An Ethernet frame of @len bytes to @dst, its payload a pattern from @seed. */
static void make_frame(uint8_t *f, size_t len, const uint8_t *dst, uint32_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, host_mac, 6);
	wr16be(f + 12, 0x88b5);   /* local experimental ethertype */
	for (size_t i = 14; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		f[i] = (uint8_t)(seed >> 16);
	}
}

#define ETH  14
#define IP4  20
#define IP6  40
#define TCPH 20

/* Ethernet + IPv4/IPv6 + TCP + @payload, as a guest's GSO frame: the TCP checksum field
 * holds the pseudo-header sum without the length (what Linux leaves for the device). */
static size_t make_tcp(uint8_t *f, bool ipv6, size_t payload, uint32_t seq)
{
	uint8_t *ip = f + ETH, *tcp = f + ETH + (ipv6 ? IP6 : IP4);

	memcpy(f, host_mac, 6);
	memcpy(f + 6, nic_mac, 6);
	wr16be(f + 12, ipv6 ? 0x86dd : 0x0800);
	if (ipv6) {
		memset(ip, 0, IP6);
		ip[0] = 0x60;
		ip[6] = 6;
		ip[7] = 64;
		for (int i = 0; i < 16; i++) {
			ip[8 + i] = (uint8_t)(0xfd + i);
			ip[24 + i] = (uint8_t)(0x20 + i);
		}
	} else {
		memset(ip, 0, IP4);
		ip[0] = 0x45;
		wr16be(ip + 2, (uint16_t)(IP4 + TCPH + payload));
		wr16be(ip + 4, 0x0100);
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 10; ip[13] = 0; ip[14] = 2; ip[15] = 15;
		ip[16] = 10; ip[17] = 0; ip[18] = 2; ip[19] = 2;
		wr16be(ip + 10, (uint16_t)~ref_fold(ref_sum(0, ip, IP4)));
	}
	memset(tcp, 0, TCPH);
	wr16be(tcp, 33333);
	wr16be(tcp + 2, 80);
	tcp[4] = (uint8_t)(seq >> 24); tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8); tcp[7] = (uint8_t)seq;
	tcp[12] = (TCPH / 4) << 4;
	tcp[13] = 0x18;   /* ACK PSH */
	wr16be(tcp + 14, 65535);
	for (size_t i = 0; i < payload; i++)
		tcp[TCPH + i] = (uint8_t)(i * 7 + 3);
	return (size_t)(tcp - f) + TCPH + payload;
}

static bool tcp_csum_ok(const uint8_t *f, size_t len, bool ipv6)
{
	size_t l4 = ETH + (ipv6 ? IP6 : IP4), tcp_len = len - l4;
	uint32_t sum = ipv6 ? ref_sum(0, f + ETH + 8, 32) : ref_sum(0, f + ETH + 12, 8);

	sum += 6 + (uint32_t)tcp_len;
	return ref_fold(ref_sum(sum, f + l4, tcp_len)) == 0xffff;
}

/*
 * Transmit: the header and @len frame bytes at the next TX slot, as one
 * descriptor or, if @split, the header apart and the frame in two.  Kicks.
 */
static void tx_frame(struct drv *d, const uint8_t *hdr, const uint8_t *frame, size_t len, bool split)
{
	uint64_t gpa = TX_GPA + (d->tx_slot++ % 16) * TX_SLOT;
	struct piece p[3];
	unsigned int n = 0;

	memcpy(ram(d, gpa), hdr, HDR_LEN);
	if (len)
		memcpy(ram(d, gpa + HDR_LEN), frame, len);
	if (split) {
		p[n++] = (struct piece){ gpa, HDR_LEN, 0 };
		p[n++] = (struct piece){ gpa + HDR_LEN, (uint32_t)(len / 2), 0 };
		p[n++] = (struct piece){ gpa + HDR_LEN + len / 2, (uint32_t)(len - len / 2), 0 };
	} else {
		p[n++] = (struct piece){ gpa, (uint32_t)(HDR_LEN + len), 0 };
	}
	publish(d, Q_TX, chain(d, Q_TX, p, n));
	notify(d, Q_TX);
}

static void hdr_init(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t gso_size,
		     uint16_t csum_start, uint16_t csum_offset)
{
	memset(h, 0, HDR_LEN);
	h[0] = flags;
	h[1] = gso;
	memcpy(h + 4, &gso_size, 2);
	memcpy(h + 6, &csum_start, 2);
	memcpy(h + 8, &csum_offset, 2);
}

/* Post @n receive buffers of @len bytes each, from slot @first on; kick once. */
static void rx_post(struct drv *d, unsigned int first, unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++) {
		struct piece p = { RX_GPA + (first + i) * RX_SLOT, len, D_WRITE };

		memset(ram(d, p.addr), 0xee, len);
		publish(d, Q_RX, chain(d, Q_RX, &p, 1));
	}
	notify(d, Q_RX);
}

/* A frame from the host, delivered by the loop. */
static void inject(struct drv *d, const uint8_t *f, size_t len)
{
	assert_true(fake_net_inject(d->fn, f, len));
	fake_loop_run(d->fm);
}

/* ---- fixtures ---- */

static bool offer_loop;
static bool cable_in = true;

static struct drv *drv_new(void)
{
	static struct drv d;
	struct device_args args = { .out_fd = -1, .in_fd = -1 };

	memset(&d, 0, sizeof(d));
	d.fm = &d.fm_store[0];
	assert_int_equal(fake_machine_init(d.fm, RAM_SIZE), 0);
	d.fm->offer_ioeventfd = d.fm->offer_irqfd = offer_loop;
	d.fn = fake_net_new(d.fm, cable_in);
	args.net = d.fn->nb;
	memcpy(args.mac, nic_mac, 6);
	d.dev = device_create(&virtio_net_model, "nic1", &d.fm->host, &args);
	assert_non_null(d.dev);
	d.devfn = 1 << 3;   /* slot 0 is the host bridge's */
	map_bars(&d);
	find_caps(&d);
	return &d;
}

static void drv_free(struct drv *d)
{
	device_destroy(d->dev);
	fake_net_free(d->fn);
	fake_machine_destroy(d->fm);
}

static int setup(void **state)
{
	*state = drv_new();
	return 0;
}

static int setup_msix(void **state)
{
	struct drv *d = drv_new();

	enable_msix(d);
	drv_start(d, true, 0);
	*state = d;
	return 0;
}

static int setup_loop(void **state)
{
	offer_loop = true;
	setup_msix(state);
	offer_loop = false;
	fake_loop_run(((struct drv *)*state)->fm);   /* the loop registers the ioeventfds */
	return 0;
}

static int teardown(void **state)
{
	drv_free(*state);
	return 0;
}

/* ---- identity, features, configuration ---- */

static void test_identity_and_config(void **state)
{
	struct drv *d = *state;
	uint64_t f = device_features(d);

	assert_int_equal(cfg_rd(d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(d, PCI_DEVICE_ID, 2), 0x1041);      /* 0x1040 + 1 */
	assert_int_equal(cfg_rd(d, PCI_REVISION_ID, 4) >> 8, 0x020000);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_NUM_QUEUES, 2), NQ);
	/* One MSI-X vector per queue and one for configuration changes. */
	assert_int_equal((cfg_rd(d, d->msix_cap + 2, 2) & 0x7ff) + 1, NQ + 1);

	assert_true(f & BIT(VIRTIO_F_VERSION_1));
	assert_true(f & BIT(VIRTIO_F_EVENT_IDX));
	assert_true(f & BIT(VIRTIO_F_INDIRECT_DESC));
	for (unsigned int b = 0; b < 64; b++) {
		bool want = b == F_CSUM || b == F_MAC || b == F_HOST_TSO4 || b == F_HOST_TSO6 ||
			    b == F_HOST_ECN || b == F_MRG_RXBUF || b == F_STATUS || b == F_CTRL_VQ ||
			    b == F_CTRL_RX || b == F_CTRL_RX_EXTRA || b == F_CTRL_MAC_ADDR ||
			    b == VIRTIO_F_VERSION_1 || b == VIRTIO_F_EVENT_IDX ||
			    b == VIRTIO_F_INDIRECT_DESC;

		if (want != !!(f & BIT(b)))
			fail_msg("feature bit %u: offered %d, expected %d", b, !!(f & BIT(b)), want);
	}
	/* Nothing offered toward the guest: frames from the host are plain. */
	assert_false(f & (BIT(F_GUEST_CSUM) | BIT(F_GUEST_TSO4) | BIT(F_GUEST_TSO6) | BIT(F_HOST_UFO)));

	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(bar_rd(d, d->devcfg + i, 1), nic_mac[i]);
	assert_int_equal(bar_rd(d, d->devcfg + 6, 2), 1);            /* VIRTIO_NET_S_LINK_UP */
	assert_int_equal(bar_rd(d, d->devcfg + 8, 2), 1);            /* max_virtqueue_pairs */
	/* The MAC is read-only with VERSION_1 (5.1.4.2). */
	bar_wr(d, d->devcfg, 0, 4);
	assert_int_equal(bar_rd(d, d->devcfg, 1), nic_mac[0]);
	/* A feature not offered is refused at FEATURES_OK. */
	assert_false(negotiate(d, f | BIT(F_GUEST_CSUM)));
}

static void test_cable_out_at_creation(void **state)
{
	struct drv *d;

	(void)state;
	cable_in = false;
	d = drv_new();
	cable_in = true;
	assert_int_equal(bar_rd(d, d->devcfg + 6, 2), 0);
	drv_free(d);
}

static void test_create_errors(void **state)
{
	struct fake_machine fm;
	struct fake_net *fn;
	struct device_args args = { .out_fd = -1, .in_fd = -1 };
	struct device *a, *b;

	(void)state;
	assert_int_equal(fake_machine_init(&fm, RAM_SIZE), 0);
	/* No back end. */
	assert_null(device_create(&virtio_net_model, "nic1", &fm.host, &args));
	fn = fake_net_new(&fm, true);
	args.net = fn->nb;
	/* A multicast address cannot be a NIC's. */
	memcpy(args.mac, bcast, 6);
	assert_null(device_create(&virtio_net_model, "nic1", &fm.host, &args));
	/* One NIC per back end. */
	memcpy(args.mac, nic_mac, 6);
	a = device_create(&virtio_net_model, "nic1", &fm.host, &args);
	assert_non_null(a);
	b = device_create(&virtio_net_model, "nic2", &fm.host, &args);
	assert_null(b);
	device_destroy(a);
	/* Detached: the back end takes a NIC again. */
	a = device_create(&virtio_net_model, "nic1", &fm.host, &args);
	assert_non_null(a);
	device_destroy(a);
	fake_net_free(fn);
	fake_machine_destroy(&fm);
}

/* ---- transmit ---- */

static void test_tx_one_frame(void **state)
{
	struct drv *d = *state;
	uint8_t hdr[HDR_LEN], f[1514];
	uint32_t id = 0, len = 0;

	hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
	make_frame(f, sizeof(f), host_mac, 1);
	fake_machine_clear_counts(d->fm);
	tx_frame(d, hdr, f, sizeof(f), false);
	assert_int_equal(d->fn->sent, 1);
	assert_int_equal(d->fn->lens[0], sizeof(f));
	assert_memory_equal(d->fn->frames[0], f, sizeof(f));
	assert_true(next_used(d, Q_TX, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_int_equal(msis_for(d, Q_TX + 1), 1);

	/* Header and frame in separate descriptors (what Linux does without ANY_LAYOUT's luck). */
	make_frame(f, 60, host_mac, 2);
	tx_frame(d, hdr, f, 60, true);
	assert_int_equal(d->fn->sent, 2);
	assert_int_equal(d->fn->lens[1], 60);
	assert_memory_equal(d->fn->frames[1], f, 60);
	assert_true(next_used(d, Q_TX, NULL, NULL));
}

/* Linux puts a TX chain with many pieces in an indirect table (2.7.5.3). */
static void test_tx_indirect(void **state)
{
	struct drv *d = *state;
	uint8_t hdr[HDR_LEN], f[1000];
	uint64_t table = TX_GPA + 0x10000;
	struct piece p = { table, 3 * 16, VIRTQ_DESC_F_INDIRECT };

	hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
	make_frame(f, sizeof(f), host_mac, 21);
	memcpy(ram(d, TX_GPA), hdr, HDR_LEN);
	memcpy(ram(d, TX_GPA + 0x100), f, 300);
	memcpy(ram(d, TX_GPA + 0x2000), f + 300, 700);
	put64(d, table, TX_GPA);
	put32(d, table + 8, HDR_LEN);
	put16(d, table + 12, D_NEXT);
	put16(d, table + 14, 1);
	put64(d, table + 16, TX_GPA + 0x100);
	put32(d, table + 24, 300);
	put16(d, table + 28, D_NEXT);
	put16(d, table + 30, 2);
	put64(d, table + 32, TX_GPA + 0x2000);
	put32(d, table + 40, 700);
	put16(d, table + 44, 0);
	publish(d, Q_TX, chain(d, Q_TX, &p, 1));
	notify(d, Q_TX);
	assert_int_equal(d->fn->sent, 1);
	assert_int_equal(d->fn->lens[0], sizeof(f));
	assert_memory_equal(d->fn->frames[0], f, sizeof(f));
	assert_true(next_used(d, Q_TX, NULL, NULL));
}

static void test_tx_needs_csum(void **state)
{
	struct drv *d = *state;
	uint8_t hdr[HDR_LEN], f[2000];
	size_t len = make_tcp(f, false, 1000, 7), l4 = ETH + IP4;
	uint32_t pseudo = ref_sum(0, f + ETH + 12, 8) + 6 + (uint32_t)(len - l4);

	/* Linux's CHECKSUM_PARTIAL: the pseudo-header's sum in the field, csum_start/offset set. */
	wr16be(f + l4 + 16, ref_fold(pseudo));
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_NONE, 0, (uint16_t)l4, 16);
	tx_frame(d, hdr, f, len, true);
	assert_int_equal(d->fn->sent, 1);
	assert_int_equal(d->fn->lens[0], len);
	assert_true(tcp_csum_ok(d->fn->frames[0], len, false));
	/* Only the checksum changed. */
	assert_memory_equal(d->fn->frames[0], f, l4 + 16);
	assert_memory_equal(d->fn->frames[0] + l4 + 18, f + l4 + 18, len - l4 - 18);

	/* Offsets outside the frame: dropped, the chain still completes. */
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_NONE, 0, (uint16_t)l4, (uint16_t)(len - l4 - 1));
	tx_frame(d, hdr, f, len, false);
	assert_int_equal(d->fn->sent, 1);
	assert_true(next_used(d, Q_TX, NULL, NULL));
	assert_true(next_used(d, Q_TX, NULL, NULL));
}

/* A GSO frame of @payload bytes, cut by the device into @mss segments, each checked. */
static void check_tso(struct drv *d, bool ipv6, size_t payload, uint16_t mss)
{
	static uint8_t f[NET_FRAME_MAX], joined[NET_FRAME_MAX];
	size_t len = make_tcp(f, ipv6, payload, 1000), l4 = ETH + (ipv6 ? IP6 : IP4);
	unsigned int want = (unsigned int)((payload + mss - 1) / mss), base = d->fn->sent;
	uint8_t hdr[HDR_LEN];
	size_t off = 0;

	hdr_init(hdr, HF_NEEDS_CSUM, ipv6 ? GSO_TCPV6 : GSO_TCPV4, mss, (uint16_t)l4, 16);
	hdr[2] = (uint8_t)(l4 + TCPH);   /* hdr_len: a hint only */
	tx_frame(d, hdr, f, len, true);
	assert_int_equal(d->fn->sent - base, want);
	for (unsigned int i = 0; i < want; i++) {
		const uint8_t *s = d->fn->frames[base + i];
		size_t slen = d->fn->lens[base + i], n = slen - l4 - TCPH;

		assert_true(n == mss || (i + 1 == want && n <= mss));
		if (ipv6) {
			assert_int_equal(rd16be(s + ETH + 4), slen - ETH - IP6);
		} else {
			assert_int_equal(rd16be(s + ETH + 2), slen - ETH);
			assert_int_equal(rd16be(s + ETH + 4), 0x0100 + i);
			assert_int_equal(ref_fold(ref_sum(0, s + ETH, IP4)), 0xffff);
		}
		assert_int_equal(rd32be(s + l4 + 4), 1000 + off);
		/* PSH only on the last. */
		assert_int_equal(s[l4 + 13], i + 1 == want ? 0x18 : 0x10);
		assert_true(tcp_csum_ok(s, slen, ipv6));
		memcpy(joined + off, s + l4 + TCPH, n);
		off += n;
	}
	assert_int_equal(off, payload);
	assert_memory_equal(joined, f + l4 + TCPH, payload);
	assert_true(next_used(d, Q_TX, NULL, NULL));
}

static void test_tx_tso4(void **state)
{
	struct drv *d = *state;

	check_tso(d, false, 20000, 1448);     /* 20 KB: 14 segments */
	check_tso(d, false, 65000, 1460);     /* the largest Linux sends */
}

static void test_tx_tso6(void **state)
{
	check_tso(*state, true, 20000, 1428);
}

/* With ECN negotiated the ECN flag is accepted (CWR only on the first segment). */
static void test_tx_tso_ecn(void **state)
{
	struct drv *d = *state;
	static uint8_t f[8000];
	size_t len = make_tcp(f, false, 5000, 1);
	uint8_t hdr[HDR_LEN];

	f[ETH + IP4 + 13] |= 0x80;   /* CWR */
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 1448, ETH + IP4, 16);
	tx_frame(d, hdr, f, len, false);
	assert_int_equal(d->fn->sent, 4);
	assert_true(d->fn->frames[0][ETH + IP4 + 13] & 0x80);
	for (unsigned int i = 1; i < 4; i++)
		assert_false(d->fn->frames[i][ETH + IP4 + 13] & 0x80);
}

/* GSO types not offered or not taken, or frames that cannot be cut: dropped, chains completed. */
static void test_tx_gso_refused(void **state)
{
	struct drv *d = *state;
	static uint8_t f[NET_FRAME_MAX];
	size_t len = make_tcp(f, false, 5000, 1);
	uint8_t hdr[HDR_LEN];

	hdr_init(hdr, HF_NEEDS_CSUM, GSO_UDP, 1448, ETH + IP4, 6);
	tx_frame(d, hdr, f, len, false);
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_TCPV4, 0, ETH + IP4, 16);     /* gso_size 0 */
	tx_frame(d, hdr, f, len, false);
	f[ETH + 9] = 17;                                               /* not TCP */
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_TCPV4, 1448, ETH + IP4, 16);
	tx_frame(d, hdr, f, len, false);
	assert_int_equal(d->fn->sent, 0);
	for (int i = 0; i < 3; i++)
		assert_true(next_used(d, Q_TX, NULL, NULL));

	/* A driver that did not take HOST_TSO4 / HOST_ECN may not send them. */
	drv_start(d, true, BIT(F_HOST_TSO4) | BIT(F_HOST_ECN));
	len = make_tcp(f, false, 5000, 1);
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_TCPV4, 1448, ETH + IP4, 16);
	tx_frame(d, hdr, f, len, false);
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_TCPV6 | GSO_ECN, 1448, ETH + IP4, 16);
	tx_frame(d, hdr, f, len, false);
	assert_int_equal(d->fn->sent, 0);
	assert_true(next_used(d, Q_TX, NULL, NULL));
	assert_true(next_used(d, Q_TX, NULL, NULL));
}

/*
 * More work than one notification may do: 256 GSO chains of 14 segments
 * each.  The notification stops at its budget; the loop does the rest,
 * nothing lost and nothing sent twice.
 */
static void test_tx_budget(void **state)
{
	struct drv *d = *state;
	static uint8_t f[NET_FRAME_MAX];
	size_t len = make_tcp(f, false, 20000, 1);
	uint8_t hdr[HDR_LEN];
	uint64_t gpa = TX_GPA;

	d->fn->keep_none = true;
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_TCPV4, 1448, ETH + IP4, 16);
	memcpy(ram(d, gpa), hdr, HDR_LEN);
	memcpy(ram(d, gpa + HDR_LEN), f, len);
	for (unsigned int i = 0; i < QSIZE; i++) {
		struct piece p = { gpa, (uint32_t)(HDR_LEN + len), 0 };

		publish(d, Q_TX, chain(d, Q_TX, &p, 1));
	}
	bar_wr(d, d->notify + Q_TX * d->notify_mult, Q_TX, 2);
	assert_true(used_idx(d, Q_TX) > 0);
	assert_true(used_idx(d, Q_TX) < QSIZE);
	assert_int_equal(d->fn->sent, used_idx(d, Q_TX) * 14u);
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_TX), QSIZE);
	assert_int_equal(d->fn->sent, QSIZE * 14u);
}

/* ---- receive ---- */

/* A frame bigger than one buffer, spread over several (5.1.6.4). */
static void test_rx_mergeable(void **state)
{
	struct drv *d = *state;
	static uint8_t f[3000], got[3000];
	uint32_t id = 0, len = 0, total = 0;
	uint16_t nbuf;

	rx_post(d, 0, 4, 1024);
	make_frame(f, sizeof(f), nic_mac, 3);
	fake_machine_clear_counts(d->fm);
	inject(d, f, sizeof(f));
	assert_int_equal(used_idx(d, Q_RX), 3);
	/* Header: no flags, no GSO, num_buffers 3. */
	assert_int_equal(ram(d, RX_GPA)[0], 0);
	assert_int_equal(ram(d, RX_GPA)[1], 0);
	memcpy(&nbuf, ram(d, RX_GPA + 10), 2);
	assert_int_equal(nbuf, 3);
	for (unsigned int i = 0; i < 3; i++) {
		uint32_t skip = i ? 0 : HDR_LEN;

		assert_true(next_used(d, Q_RX, &id, &len));
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 1024 : 3000 + HDR_LEN - 2048);
		memcpy(got + total, ram(d, RX_GPA + i * RX_SLOT + skip), len - skip);
		total += len - skip;
	}
	assert_int_equal(total, sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	/* One interrupt for the frame, on the RX vector. */
	assert_int_equal(msis_for(d, Q_RX + 1), 1);
	/* The fourth buffer is untouched and takes the next frame. */
	assert_int_equal(ram(d, RX_GPA + 3 * RX_SLOT)[0], 0xee);
	inject(d, f, 100);
	assert_true(next_used(d, Q_RX, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, 100 + HDR_LEN);
	assert_memory_equal(ram(d, RX_GPA + 3 * RX_SLOT + HDR_LEN), f, 100);
}

/* No buffer, or too few: the frame waits in net.c and comes once the guest posts more. */
static void test_rx_waits_for_buffers(void **state)
{
	struct drv *d = *state;
	static uint8_t f[3000];
	uint32_t id = 0, len = 0;

	make_frame(f, sizeof(f), nic_mac, 4);
	inject(d, f, sizeof(f));
	assert_int_equal(used_idx(d, Q_RX), 0);
	/* One buffer is not enough for 3000 bytes: it is not used yet. */
	rx_post(d, 0, 1, 2048);
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_RX), 0);
	/* EVENT_IDX (2.7.10): the driver is asked to notify when it adds the next buffer,
	 * though the one it posted was given back. */
	assert_true(d->features & BIT(VIRTIO_F_EVENT_IDX));
	assert_int_equal(get16(d, RING_GPA(Q_RX) + 0x8000 + 4 + 8 * QSIZE), 1);
	/* A second one is: both, in order, and the frame is the one kept. */
	rx_post(d, 1, 1, 2048);
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_RX), 2);
	assert_true(next_used(d, Q_RX, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 2048);
	assert_true(next_used(d, Q_RX, &id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 3000 + HDR_LEN - 2048);
	assert_memory_equal(ram(d, RX_GPA + HDR_LEN), f, 2048 - HDR_LEN);
	assert_memory_equal(ram(d, RX_GPA + RX_SLOT), f + 2048 - HDR_LEN, 3000 + HDR_LEN - 2048);
}

/* Without MRG_RXBUF a frame fits one buffer (num_buffers 1) or is dropped. */
static void test_rx_single_buffers(void **state)
{
	struct drv *d = *state;
	static uint8_t f[2000];
	uint32_t id = 0, len = 0;
	uint16_t nbuf;

	drv_start(d, true, BIT(F_MRG_RXBUF));
	rx_post(d, 0, 2, 1526);
	make_frame(f, sizeof(f), nic_mac, 5);
	inject(d, f, sizeof(f));             /* 2000 + 12 > 1526: dropped */
	assert_int_equal(used_idx(d, Q_RX), 0);
	inject(d, f, 1514);
	assert_true(next_used(d, Q_RX, &id, &len));
	assert_int_equal(id, 0);             /* the buffer the dropped frame did not take */
	assert_int_equal(len, 1514 + HDR_LEN);
	memcpy(&nbuf, ram(d, RX_GPA + 10), 2);
	assert_int_equal(nbuf, 1);
	assert_memory_equal(ram(d, RX_GPA + HDR_LEN), f, 1514);

	/* A chain of two descriptors, header apart, is one buffer too. */
	{
		struct piece p[2] = { { RX_GPA + 4 * RX_SLOT, HDR_LEN, D_WRITE },
				      { RX_GPA + 5 * RX_SLOT, 1514, D_WRITE } };

		publish(d, Q_RX, chain(d, Q_RX, p, 2));
	}
	inject(d, f, 200);
	assert_true(next_used(d, Q_RX, &id, &len));   /* slot 1 first */
	assert_int_equal(id, 1);
	inject(d, f, 300);
	assert_true(next_used(d, Q_RX, &id, &len));
	assert_int_equal(len, 300 + HDR_LEN);
	assert_memory_equal(ram(d, RX_GPA + 5 * RX_SLOT), f, 300);
}

/* Not running: frames are dropped, not kept (a reset driver has no use for them). */
static void test_rx_before_driver_ok(void **state)
{
	struct drv *d = *state;
	static uint8_t f[100];
	struct net_stats st;

	make_frame(f, sizeof(f), nic_mac, 6);
	inject(d, f, sizeof(f));
	net_get_stats(d->fn->nb, &st);
	assert_int_equal(st.rx_frames, 1);     /* taken (and dropped by the NIC) */
	drv_start(d, true, 0);
	rx_post(d, 0, 1, 2048);
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_RX), 0);
}

/* ---- control queue and the receive filter ---- */

static uint8_t ctrl(struct drv *d, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
	struct piece p[3];
	unsigned int n = 0;
	uint32_t used;

	ram(d, CTRL_GPA)[0] = cls;
	ram(d, CTRL_GPA)[1] = cmd;
	p[n++] = (struct piece){ CTRL_GPA, 2, 0 };
	if (len) {
		memcpy(ram(d, CTRL_GPA + 0x100), data, len);
		p[n++] = (struct piece){ CTRL_GPA + 0x100, (uint32_t)len, 0 };
	}
	ram(d, CTRL_GPA + 0xff0)[0] = 0xaa;
	p[n++] = (struct piece){ CTRL_GPA + 0xff0, 1, D_WRITE };
	publish(d, Q_CTRL, chain(d, Q_CTRL, p, n));
	notify(d, Q_CTRL);
	assert_true(next_used(d, Q_CTRL, NULL, &used));
	assert_int_equal(used, 1);
	return ram(d, CTRL_GPA + 0xff0)[0];
}

static uint8_t ctrl_rx(struct drv *d, uint8_t cmd, uint8_t on)
{
	return ctrl(d, 0, cmd, &on, 1);
}

/* VIRTIO_NET_CTRL_MAC_TABLE_SET with @nu unicast and @nm multicast entries. */
static uint8_t mac_table(struct drv *d, const uint8_t (*uni)[6], uint32_t nu,
			 const uint8_t (*multi)[6], uint32_t nm)
{
	static uint8_t buf[4 + 6 * 100 + 4 + 6 * 100];
	size_t off = 0;

	memcpy(buf, &nu, 4);
	off += 4;
	memcpy(buf + off, uni, 6 * nu);
	off += 6 * nu;
	memcpy(buf + off, &nm, 4);
	off += 4;
	memcpy(buf + off, multi, 6 * nm);
	off += 6 * nm;
	return ctrl(d, 1, 0, buf, off);
}

/* Is a frame to @dst received?  Posts a buffer if none is left. */
static bool received(struct drv *d, const uint8_t *dst)
{
	static uint8_t f[64];
	static unsigned int slot;
	uint16_t before = used_idx(d, Q_RX);

	if ((uint16_t)(d->avail_idx[Q_RX] - before) == 0)
		rx_post(d, slot++ % 32, 1, 2048);
	make_frame(f, sizeof(f), dst, 9);
	inject(d, f, sizeof(f));
	if (used_idx(d, Q_RX) == before)
		return false;
	assert_true(next_used(d, Q_RX, NULL, NULL));
	return true;
}

static void test_ctrl_rx_filter(void **state)
{
	struct drv *d = *state;
	static const uint8_t other[6] = { 0x08, 0x00, 0x27, 0x99, 0x99, 0x99 };
	static const uint8_t mc1[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	static const uint8_t mc2[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
	uint8_t uni_tab[2][6], multi_tab[1][6];

	/* Before the driver says anything: promiscuous. */
	assert_true(received(d, other));
	assert_true(received(d, mc1));

	/* Linux's rx mode: promiscuous and all-multicast off. */
	assert_int_equal(ctrl_rx(d, 0, 0), 0);
	assert_int_equal(ctrl_rx(d, 1, 0), 0);
	assert_true(received(d, nic_mac));
	assert_true(received(d, bcast));
	assert_false(received(d, other));
	assert_false(received(d, mc1));

	/* The MAC table: one more unicast address, one multicast. */
	memcpy(uni_tab[0], other, 6);
	memcpy(uni_tab[1], host_mac, 6);
	memcpy(multi_tab[0], mc1, 6);
	assert_int_equal(mac_table(d, uni_tab, 2, multi_tab, 1), 0);
	assert_true(received(d, other));
	assert_true(received(d, mc1));
	assert_false(received(d, mc2));
	assert_true(received(d, nic_mac));

	/* All-multicast, then promiscuous. */
	assert_int_equal(ctrl_rx(d, 1, 1), 0);
	assert_true(received(d, mc2));
	assert_int_equal(ctrl_rx(d, 1, 0), 0);
	assert_false(received(d, mc2));
	assert_int_equal(mac_table(d, uni_tab, 0, multi_tab, 0), 0);
	assert_false(received(d, other));
	assert_int_equal(ctrl_rx(d, 0, 1), 0);
	assert_true(received(d, other));
	assert_int_equal(ctrl_rx(d, 0, 0), 0);

	/* CTRL_RX_EXTRA: no broadcast, no unicast, no multicast, all unicast. */
	assert_int_equal(ctrl_rx(d, 5, 1), 0);
	assert_false(received(d, bcast));
	assert_int_equal(ctrl_rx(d, 5, 0), 0);
	assert_int_equal(ctrl_rx(d, 4, 1), 0);
	assert_false(received(d, nic_mac));
	assert_int_equal(ctrl_rx(d, 4, 0), 0);
	assert_int_equal(ctrl_rx(d, 1, 1), 0);
	assert_int_equal(ctrl_rx(d, 3, 1), 0);
	assert_false(received(d, mc1));
	assert_int_equal(ctrl_rx(d, 3, 0), 0);
	assert_int_equal(ctrl_rx(d, 2, 1), 0);
	assert_true(received(d, other));
	assert_int_equal(ctrl_rx(d, 2, 0), 0);
	assert_false(received(d, other));
}

static void test_ctrl_mac_table_overflow(void **state)
{
	struct drv *d = *state;
	static uint8_t many[100][6];
	static const uint8_t x[6] = { 0x08, 0x00, 0x27, 0x77, 0x77, 0x77 };
	static const uint8_t mx[6] = { 0x01, 0x00, 0x5e, 0x7f, 0x7f, 0x7f };

	for (int i = 0; i < 100; i++) {
		many[i][0] = 0x01;
		many[i][5] = (uint8_t)i;
	}
	assert_int_equal(ctrl_rx(d, 0, 0), 0);
	/* More multicast addresses than the table holds: all multicast accepted. */
	assert_int_equal(mac_table(d, many, 0, many, 100), 0);
	assert_true(received(d, mx));
	assert_false(received(d, x));
	/* And unicast the same way. */
	for (int i = 0; i < 100; i++)
		many[i][0] = 0x02;
	assert_int_equal(mac_table(d, many, 100, many, 0), 0);
	assert_true(received(d, x));
	assert_false(received(d, mx));
}

static void test_ctrl_mac_addr(void **state)
{
	struct drv *d = *state;
	static const uint8_t newmac[6] = { 0x02, 0x00, 0x00, 0xab, 0xcd, 0xef };

	assert_int_equal(ctrl_rx(d, 0, 0), 0);
	assert_int_equal(ctrl(d, 1, 1, newmac, 6), 0);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(bar_rd(d, d->devcfg + i, 1), newmac[i]);
	assert_true(received(d, newmac));
	assert_false(received(d, nic_mac));
	/* A device reset brings the permanent address back. */
	drv_start(d, true, 0);
	assert_int_equal(bar_rd(d, d->devcfg, 1), nic_mac[0]);
	assert_int_equal(bar_rd(d, d->devcfg + 5, 1), nic_mac[5]);
}

static void test_ctrl_bad_commands(void **state)
{
	struct drv *d = *state;
	uint8_t bad_table[4 + 6 + 4];
	uint32_t n = 2;
	uint8_t mac[6] = { 0 };

	assert_int_equal(ctrl(d, 9, 0, NULL, 0), 1);          /* unknown class */
	assert_int_equal(ctrl(d, 0, 6, "\1", 1), 1);          /* unknown RX command */
	assert_int_equal(ctrl(d, 0, 0, "\1\1", 2), 1);        /* too long */
	assert_int_equal(ctrl(d, 0, 0, NULL, 0), 1);          /* too short */
	assert_int_equal(ctrl(d, 1, 7, NULL, 0), 1);          /* unknown MAC command */
	assert_int_equal(ctrl(d, 1, 1, mac, 5), 1);           /* short address */
	assert_int_equal(ctrl(d, 4, 0, "\1\0", 2), 1);        /* MQ: not offered */
	/* A table that says two entries and holds one: refused, nothing changed. */
	memcpy(bad_table, &n, 4);
	memset(bad_table + 4, 0x02, 6);
	memset(bad_table + 10, 0, 4);
	assert_int_equal(ctrl(d, 1, 0, bad_table, sizeof(bad_table)), 1);
	/* A huge count that would overflow 6 * n in 32 bits. */
	n = 0x2aaaaaab;
	memcpy(bad_table, &n, 4);
	assert_int_equal(ctrl(d, 1, 0, bad_table, sizeof(bad_table)), 1);

	/* A command without an ack byte: completed with nothing written. */
	{
		struct piece p = { CTRL_GPA, 2, 0 };
		uint32_t used = 99;

		publish(d, Q_CTRL, chain(d, Q_CTRL, &p, 1));
		notify(d, Q_CTRL);
		assert_true(next_used(d, Q_CTRL, NULL, &used));
		assert_int_equal(used, 0);
	}
	/* The RX_EXTRA commands need the feature. */
	drv_start(d, true, BIT(F_CTRL_RX_EXTRA));
	assert_int_equal(ctrl_rx(d, 5, 1), 1);
	assert_int_equal(ctrl_rx(d, 0, 0), 0);
	assert_true(received(d, bcast));
	/* Without CTRL_RX the filter commands are refused too. */
	drv_start(d, true, BIT(F_CTRL_RX) | BIT(F_CTRL_RX_EXTRA) | BIT(F_CTRL_MAC_ADDR));
	assert_int_equal(ctrl_rx(d, 0, 0), 1);
	assert_int_equal(ctrl(d, 1, 1, mac, 6), 1);
	assert_int_equal(status(d) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* ---- link status ---- */

static void test_link_change(void **state)
{
	struct drv *d = *state;
	uint8_t gen = (uint8_t)bar_rd(d, d->common + VIRTIO_PCI_CONFIG_GENERATION, 1);
	uint8_t hdr[HDR_LEN], f[100];

	fake_machine_clear_counts(d->fm);
	net_set_link(d->fn->nb, false);
	assert_int_equal(bar_rd(d, d->devcfg + 6, 2), 0);
	assert_int_equal(msis_for(d, 0), 1);
	assert_int_not_equal(bar_rd(d, d->common + VIRTIO_PCI_CONFIG_GENERATION, 1), gen);
	/* While the cable is out, frames out are lost (the chain completes). */
	hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
	make_frame(f, sizeof(f), host_mac, 1);
	tx_frame(d, hdr, f, sizeof(f), false);
	assert_int_equal(d->fn->sent, 0);
	assert_true(next_used(d, Q_TX, NULL, NULL));
	net_set_link(d->fn->nb, true);
	assert_int_equal(bar_rd(d, d->devcfg + 6, 2), 1);
	assert_int_equal(msis_for(d, 0), 2);
	tx_frame(d, hdr, f, sizeof(f), false);
	assert_int_equal(d->fn->sent, 1);
}

/* INTx: the ISR says which interrupt it was. */
static void test_link_change_intx(void **state)
{
	struct drv *d = *state;
	uint8_t isr;

	drv_start(d, false, 0);
	net_set_link(d->fn->nb, false);
	isr = (uint8_t)bar_rd(d, d->isr, 1);
	assert_int_equal(isr, VIRTIO_ISR_CONFIG);
	rx_post(d, 0, 1, 2048);
	net_set_link(d->fn->nb, true);
	assert_int_equal(bar_rd(d, d->isr, 1), VIRTIO_ISR_CONFIG);
	{
		uint8_t f[80];

		make_frame(f, sizeof(f), nic_mac, 1);
		inject(d, f, sizeof(f));
	}
	assert_int_equal(bar_rd(d, d->isr, 1), VIRTIO_ISR_QUEUE);
}

/* ---- malformed rings and frames ---- */

static void expect_needs_reset_then_recover(struct drv *d)
{
	uint8_t hdr[HDR_LEN], f[60];

	assert_true(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	drv_start(d, true, 0);
	assert_false(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
	make_frame(f, sizeof(f), host_mac, 1);
	tx_frame(d, hdr, f, sizeof(f), false);
	assert_int_equal(d->fn->sent, 1);
	fake_net_clear(d->fn);
}

static void test_tx_outside_ram(void **state)
{
	struct drv *d = *state;
	struct piece p[2] = { { TX_GPA, HDR_LEN, 0 }, { RAM_SIZE - 10, 100, 0 } };

	publish(d, Q_TX, chain(d, Q_TX, p, 2));
	notify(d, Q_TX);
	assert_int_equal(d->fn->sent, 0);
	assert_int_equal(used_idx(d, Q_TX), 0);
	expect_needs_reset_then_recover(d);
	/* An address that wraps. */
	p[1] = (struct piece){ UINT64_MAX - 5, 100, 0 };
	publish(d, Q_TX, chain(d, Q_TX, p, 2));
	notify(d, Q_TX);
	expect_needs_reset_then_recover(d);
}

static void test_tx_descriptor_loop(void **state)
{
	struct drv *d = *state;

	set_desc(d, Q_TX, 0, TX_GPA, HDR_LEN, D_NEXT, 1);
	set_desc(d, Q_TX, 1, TX_GPA + 0x100, 100, D_NEXT, 0);
	publish(d, Q_TX, 0);
	notify(d, Q_TX);
	assert_int_equal(d->fn->sent, 0);
	expect_needs_reset_then_recover(d);
	/* A next index past the table. */
	set_desc(d, Q_TX, 0, TX_GPA, HDR_LEN, D_NEXT, 4000);
	publish(d, Q_TX, 0);
	notify(d, Q_TX);
	expect_needs_reset_then_recover(d);
}

static void test_tx_zero_length(void **state)
{
	struct drv *d = *state;
	struct piece p[2] = { { TX_GPA, HDR_LEN, 0 }, { TX_GPA + 0x100, 0, 0 } };

	publish(d, Q_TX, chain(d, Q_TX, p, 2));
	notify(d, Q_TX);
	expect_needs_reset_then_recover(d);
}

/* A ring whose index runs away: more than a queue's worth at once. */
static void test_tx_runaway_ring(void **state)
{
	struct drv *d = *state;

	put16(d, RING_GPA(Q_TX) + 0x4000 + 2, QSIZE + 1);
	notify(d, Q_TX);
	assert_int_equal(d->fn->sent, 0);
	expect_needs_reset_then_recover(d);
}

/* Frames the device cannot send: dropped, their chains completed, the device fine. */
static void test_tx_bad_frames(void **state)
{
	struct drv *d = *state;
	uint8_t hdr[HDR_LEN] = { 0 };
	struct piece p;
	struct net_stats st;

	/* Header only: an empty frame (net.c drops frames shorter than a header). */
	tx_frame(d, hdr, NULL, 0, false);
	/* Shorter than the header. */
	p = (struct piece){ TX_GPA, 5, 0 };
	publish(d, Q_TX, chain(d, Q_TX, &p, 1));
	notify(d, Q_TX);
	/* Larger than NET_FRAME_MAX after the header. */
	p = (struct piece){ TX_GPA, HDR_LEN + NET_FRAME_MAX + 1, 0 };
	memset(ram(d, TX_GPA), 0, HDR_LEN);
	publish(d, Q_TX, chain(d, Q_TX, &p, 1));
	notify(d, Q_TX);
	/* An oversized GSO frame, in pieces. */
	{
		struct piece q[3] = { { TX_GPA, HDR_LEN, 0 }, { TX_GPA + 0x10000, 0x10000, 0 },
				      { TX_GPA + 0x20000, 0x100, 0 } };
		uint8_t gh[HDR_LEN];

		hdr_init(gh, HF_NEEDS_CSUM, GSO_TCPV4, 1448, ETH + IP4, 16);
		memcpy(ram(d, TX_GPA), gh, HDR_LEN);
		make_tcp(ram(d, TX_GPA + 0x10000), false, 0x10000 - ETH - IP4 - TCPH, 1);
		publish(d, Q_TX, chain(d, Q_TX, q, 3));
		notify(d, Q_TX);
	}
	assert_int_equal(d->fn->sent, 0);
	for (int i = 0; i < 4; i++)
		assert_true(next_used(d, Q_TX, NULL, NULL));
	assert_false(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	net_get_stats(d->fn->nb, &st);
	assert_int_equal(st.tx_dropped, 1);   /* the empty one reached net.c */
}

/* A receive buffer shorter than the header is the driver's error (5.1.6.3.1). */
static void test_rx_tiny_buffer(void **state)
{
	struct drv *d = *state;
	uint8_t f[100];

	rx_post(d, 0, 1, 8);
	make_frame(f, sizeof(f), nic_mac, 1);
	inject(d, f, sizeof(f));
	assert_true(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(d, Q_RX), 0);
	drv_start(d, true, 0);
	rx_post(d, 0, 1, 2048);
	inject(d, f, sizeof(f));
	assert_int_equal(used_idx(d, Q_RX), 1);
}

/* A receive buffer outside RAM, or readable only. */
static void test_rx_bad_buffers(void **state)
{
	struct drv *d = *state;
	uint8_t f[100];
	struct piece p = { RAM_SIZE - 100, 2048, D_WRITE };

	make_frame(f, sizeof(f), nic_mac, 1);
	publish(d, Q_RX, chain(d, Q_RX, &p, 1));
	notify(d, Q_RX);
	inject(d, f, sizeof(f));
	assert_true(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	drv_start(d, true, 0);
	p = (struct piece){ RX_GPA, 2048, 0 };
	publish(d, Q_RX, chain(d, Q_RX, &p, 1));
	notify(d, Q_RX);
	inject(d, f, sizeof(f));
	assert_true(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(d, Q_RX), 0);
}

/* A frame bigger than all buffers the queue can hold: dropped, the buffers kept. */
static void test_rx_frame_bigger_than_queue(void **state)
{
	struct drv *d = *state;
	uint8_t f[100];
	uint16_t nbuf;

	/* A receive queue of 4 entries. */
	assert_true(negotiate(d, d->features));
	bar_wr(d, d->common + VIRTIO_PCI_CONFIG_MSIX_VECTOR, 0, 2);
	setup_queue(d, Q_RX, 4, 1);
	setup_queue(d, Q_TX, QSIZE, 2);
	setup_queue(d, Q_CTRL, QSIZE, 3);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	/* Four 16-byte buffers: a header and 52 bytes of frame in all. */
	rx_post(d, 0, 4, 16);
	make_frame(f, sizeof(f), nic_mac, 1);
	inject(d, f, sizeof(f));
	assert_int_equal(used_idx(d, Q_RX), 0);
	inject(d, f, 52);
	assert_int_equal(used_idx(d, Q_RX), 4);
	memcpy(&nbuf, ram(d, RX_GPA + 10), 2);
	assert_int_equal(nbuf, 4);
	assert_memory_equal(ram(d, RX_GPA + HDR_LEN), f, 4);
	assert_memory_equal(ram(d, RX_GPA + 3 * RX_SLOT), f + 4 + 32, 16);
	assert_false(status(d) & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- resets with work pending ---- */

/*
 * Frames waiting for buffers in net.c, a TX chain the device has not
 * seen (its notification still in the ioeventfd) and the budget timer:
 * the driver resets the device.  Nothing of the old rings is touched
 * afterwards and the old frames never reach the new ones.
 */
static void test_reset_with_work_pending(void **state)
{
	struct drv *d = *state;
	static uint8_t f[1000];
	uint8_t hdr[HDR_LEN];
	struct piece p = { TX_GPA, HDR_LEN + 100, 0 };
	static uint8_t before[0x30000];

	make_frame(f, sizeof(f), nic_mac, 11);
	assert_true(fake_net_inject(d->fn, f, sizeof(f)));
	assert_true(fake_net_inject(d->fn, f, 500));
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_RX), 0);
	/* A TX chain published and notified; the loop has not run the ioeventfd yet. */
	hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
	memcpy(ram(d, TX_GPA), hdr, HDR_LEN);
	make_frame(ram(d, TX_GPA + HDR_LEN), 100, host_mac, 12);
	publish(d, Q_TX, chain(d, Q_TX, &p, 1));
	bar_wr(d, d->notify + Q_TX * d->notify_mult, Q_TX, 2);
	/* The driver resets. */
	memcpy(before, ram(d, RING_GPA(0)), sizeof(before));
	set_status(d, 0);
	assert_int_equal(status(d), 0);
	fake_loop_run(d->fm);
	assert_int_equal(d->fn->sent, 0);
	assert_memory_equal(before, ram(d, RING_GPA(0)), sizeof(before));
	/* Up again with new buffers: the old frames are gone, new ones come. */
	drv_start(d, true, 0);
	rx_post(d, 0, 4, 2048);
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_RX), 0);
	inject(d, f, 200);
	assert_int_equal(used_idx(d, Q_RX), 1);
	assert_int_equal(get32(d, RING_GPA(Q_RX) + 0x8000 + 8), 200 + HDR_LEN);
}

/* The machine resets while the TX budget's timer has more to do, and frames wait. */
static void test_machine_reset_mid_tx(void **state)
{
	struct drv *d = *state;
	static uint8_t f[NET_FRAME_MAX];
	size_t len = make_tcp(f, false, 20000, 1);
	uint8_t hdr[HDR_LEN];
	unsigned int sent;
	uint16_t used;

	d->fn->keep_none = true;
	hdr_init(hdr, HF_NEEDS_CSUM, GSO_TCPV4, 1448, ETH + IP4, 16);
	memcpy(ram(d, TX_GPA), hdr, HDR_LEN);
	memcpy(ram(d, TX_GPA + HDR_LEN), f, len);
	for (unsigned int i = 0; i < 200; i++) {
		struct piece p = { TX_GPA, (uint32_t)(HDR_LEN + len), 0 };

		publish(d, Q_TX, chain(d, Q_TX, &p, 1));
	}
	bar_wr(d, d->notify + Q_TX * d->notify_mult, Q_TX, 2);
	used = used_idx(d, Q_TX);
	sent = d->fn->sent;
	assert_true(used < 200);
	assert_true(fake_net_inject(d->fn, f, 100));
	device_reset(d->dev);
	fake_loop_run(d->fm);
	assert_int_equal(d->fn->sent, sent);
	assert_int_equal(used_idx(d, Q_TX), used);
	/* The PCI function is reset too: the driver starts over. */
	map_bars(d);
	enable_msix(d);
	drv_start(d, true, 0);
	d->fn->keep_none = false;
	rx_post(d, 0, 1, 2048);
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_RX), 0);   /* the frame queued before the reset is gone */
	{
		uint8_t g[60];

		make_frame(g, sizeof(g), host_mac, 1);
		hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
		fake_net_clear(d->fn);
		tx_frame(d, hdr, g, sizeof(g), false);
		assert_int_equal(d->fn->sent, 1);
	}
}

/* ---- save / load ---- */

static void test_save_load(void **state)
{
	struct drv *d = *state;
	static const uint8_t newmac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const uint8_t other[6] = { 0x08, 0x00, 0x27, 0x99, 0x99, 0x99 };
	uint8_t uni[1][6];
	struct fake_machine *fm2 = &d->fm_store[1];
	struct fake_net *fn2;
	struct device_args args = { .out_fd = -1, .in_fd = -1 };
	struct sv_writer w;
	uint8_t hdr[HDR_LEN], f[60];

	assert_int_equal(ctrl_rx(d, 0, 0), 0);
	memcpy(uni[0], other, 6);
	assert_int_equal(mac_table(d, uni, 1, uni, 0), 0);
	assert_int_equal(ctrl(d, 1, 1, newmac, 6), 0);
	rx_post(d, 0, 8, 2048);
	assert_true(received(d, other));
	/* A TX chain waiting when the snapshot is taken: sent after the restore. */
	hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
	make_frame(f, sizeof(f), host_mac, 3);
	memcpy(ram(d, TX_GPA), hdr, HDR_LEN);
	memcpy(ram(d, TX_GPA + HDR_LEN), f, sizeof(f));
	{
		struct piece p = { TX_GPA, HDR_LEN + sizeof(f), 0 };

		publish(d, Q_TX, chain(d, Q_TX, &p, 1));
	}

	assert_int_equal(fake_save(d->dev, &w), 0);
	device_destroy(d->dev);
	fake_net_free(d->fn);
	assert_int_equal(fake_machine_init(fm2, RAM_SIZE), 0);
	memcpy(fm2->ram, d->fm->ram, RAM_SIZE);
	fake_machine_destroy(d->fm);
	d->fm = fm2;
	fn2 = fake_net_new(fm2, true);
	d->fn = fn2;
	args.net = fn2->nb;
	memcpy(args.mac, nic_mac, 6);
	d->dev = device_create(&virtio_net_model, "nic1", &fm2->host, &args);
	assert_non_null(d->dev);
	assert_int_equal(fake_load(d->dev, &w), 0);
	sv_writer_free(&w);
	fake_loop_run(fm2);

	assert_int_equal(fn2->sent, 1);
	assert_memory_equal(fn2->frames[0], f, sizeof(f));
	assert_int_equal(bar_rd(d, d->devcfg, 1), newmac[0]);
	assert_int_equal(bar_rd(d, d->devcfg + 5, 1), newmac[5]);
	assert_int_equal(bar_rd(d, d->devcfg + 6, 2), 1);
	assert_true(received(d, other));
	assert_true(received(d, newmac));
	assert_false(received(d, nic_mac));
	assert_false(received(d, host_mac));
}

static void test_load_rejects_garbage(void **state)
{
	struct drv *d = *state;
	struct sv_writer w;

	assert_int_equal(fake_save(d->dev, &w), 0);
	/* The last byte is the multicast table's count's top: make it huge. */
	w.buf[w.len - 1] = 0x7f;
	assert_int_not_equal(fake_load(d->dev, &w), 0);
	sv_writer_free(&w);
}

/* ---- through the event loop: ioeventfds and irqfds ---- */

static void test_ioeventfd_tx_rx(void **state)
{
	struct drv *d = *state;
	uint8_t hdr[HDR_LEN], f[600];
	unsigned int hits;

	assert_int_equal(fake_ioevents(d->fm), NQ);
	hits = d->fm->ioevent_hits;
	hdr_init(hdr, 0, GSO_NONE, 0, 0, 0);
	make_frame(f, sizeof(f), host_mac, 8);
	tx_frame(d, hdr, f, sizeof(f), false);
	assert_true(d->fm->ioevent_hits > hits);
	assert_int_equal(d->fn->sent, 1);
	assert_memory_equal(d->fn->frames[0], f, sizeof(f));
	make_frame(f, sizeof(f), nic_mac, 9);
	assert_true(fake_net_inject(d->fn, f, sizeof(f)));
	fake_loop_run(d->fm);
	assert_int_equal(used_idx(d, Q_RX), 0);
	rx_post(d, 0, 1, 4096);
	assert_int_equal(used_idx(d, Q_RX), 1);
	assert_memory_equal(ram(d, RX_GPA + HDR_LEN), f, sizeof(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_config, setup, teardown),
		cmocka_unit_test(test_cable_out_at_creation),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test_setup_teardown(test_tx_one_frame, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_indirect, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_needs_csum, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_tso4, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_tso6, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_tso_ecn, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_gso_refused, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_budget, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_rx_single_buffers, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_rx_before_driver_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_rx_filter, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_mac_table_overflow, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_mac_addr, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_bad_commands, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_link_change, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_link_change_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_outside_ram, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_descriptor_loop, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_zero_length, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_runaway_ring, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_tx_bad_frames, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_rx_tiny_buffer, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_buffers, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_rx_frame_bigger_than_queue, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_reset_with_work_pending, setup_loop, teardown),
		cmocka_unit_test_setup_teardown(test_machine_reset_mid_tx, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_load_rejects_garbage, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd_tx_rx, setup_loop, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
