// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The e1000 (82540EM) model on the fake machine with the recording fake
 * back end (fake_net.h): PCI identity, the EEPROM through EERD and through
 * EECD bit-banging, the PHY and link, legacy TX, checksum offload, TSO of
 * a 10 KB TCP/IPv4 payload, RX into the guest ring with interrupts and
 * flow control, address filters, delays and throttling, malformed rings,
 * resets with frames queued and a TX packet half done, save/load.
 *
 * The checksums are checked here with code of the test's own, not the
 * model's.
 */
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
#include "pci.h"

#define RAM_SIZE   (16u << 20)

/* Registers (8254x SDM 13) */
#define CTRL    0x0000
#define STATUS  0x0008
#define EECD    0x0010
#define EERD    0x0014
#define MDIC    0x0020
#define ICR     0x00c0
#define ITR     0x00c4
#define ICS     0x00c8
#define IMS     0x00d0
#define IMC     0x00d8
#define RCTL    0x0100
#define TCTL    0x0400
#define RDBAL   0x2800
#define RDBAH   0x2804
#define RDLEN   0x2808
#define RDH     0x2810
#define RDT     0x2818
#define RDTR    0x2820
#define RADV    0x282c
#define TDBAL   0x3800
#define TDBAH   0x3804
#define TDLEN   0x3808
#define TDH     0x3810
#define TDT     0x3818
#define TIDV    0x3820
#define GPRC    0x4074
#define GPTC    0x4080
#define GORCL   0x4088
#define TPR     0x40d0
#define TPT     0x40d4
#define RXCSUM  0x5000
#define MTA     0x5200
#define RAL0    0x5400
#define RAH0    0x5404

#define CTRL_RST    (1u << 26)
#define CTRL_SLU    (1u << 6)
#define STATUS_LU   (1u << 1)
#define EECD_SK     (1u << 0)
#define EECD_CS     (1u << 1)
#define EECD_DI     (1u << 2)
#define EECD_DO     (1u << 3)
#define EECD_REQ    (1u << 6)
#define EECD_GNT    (1u << 7)
#define EECD_PRES   (1u << 8)
#define ICR_TXDW    (1u << 0)
#define ICR_LSC     (1u << 2)
#define ICR_RXDMT0  (1u << 4)
#define ICR_RXT0    (1u << 7)
#define RCTL_EN     (1u << 1)
#define RCTL_UPE    (1u << 3)
#define RCTL_BAM    (1u << 15)
#define RCTL_SECRC  (1u << 26)
#define TCTL_EN     (1u << 1)

#define TXD_EOP   0x01
#define TXD_IFCS  0x02
#define TXD_IC    0x04
#define TXD_TSE   0x04
#define TXD_RS    0x08
#define TXD_DEXT  0x20
#define TXD_IDE   0x80

/* Guest RAM layout of the tests */
#define TX_RING   0x10000u
#define RX_RING   0x20000u
#define TX_DATA   0x100000u
#define RX_DATA   0x400000u
#define RX_BUF(i) (RX_DATA + (i) * 2048u)

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

struct fixture {
	struct fake_machine fm;
	struct fake_net *net;
	struct device *dev;
	uint8_t devfn;
	uint64_t bar0;
	uint16_t iobase;
	uint32_t gsi;
	unsigned int tx_n, rx_n;
};

static uint32_t rd(struct fixture *f, uint32_t off)
{
	return (uint32_t)fake_mmio_read(&f->fm, f->bar0 + off, 4);
}

static void wr(struct fixture *f, uint32_t off, uint32_t v)
{
	fake_mmio_write(&f->fm, f->bar0 + off, v, 4);
}

static int irq(struct fixture *f)
{
	return f->fm.irq_level[f->gsi];
}

static void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32le(uint8_t *p, uint32_t v)
{
	put16le(p, (uint16_t)v);
	put16le(p + 2, (uint16_t)(v >> 16));
}

static void put64le(uint8_t *p, uint64_t v)
{
	put32le(p, (uint32_t)v);
	put32le(p + 4, (uint32_t)(v >> 32));
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void setup(struct fixture *f, bool cable)
{
	struct device_args args = { .out_fd = -1, .in_fd = -1 };
	uint32_t bar;
	bool found = false;

	memset(f, 0, sizeof(*f));
	assert_int_equal(fake_machine_init(&f->fm, RAM_SIZE), 0);
	f->net = fake_net_new(&f->fm, cable);
	args.net = f->net->nb;
	memcpy(args.mac, our_mac, 6);
	f->dev = fake_device_create(&f->fm, &e1000_model, &args);
	assert_non_null(f->dev);

	for (unsigned int devfn = 0; devfn < 256 && !found; devfn += 8) {
		if (fake_pci_cfg_read(&f->fm, (uint8_t)devfn, 0, 4) == (0x100eu << 16 | 0x8086)) {
			f->devfn = (uint8_t)devfn;
			found = true;
		}
	}
	assert_true(found);
	fake_pci_cfg_write(&f->fm, f->devfn, PCI_COMMAND,
			   PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	bar = fake_pci_cfg_read(&f->fm, f->devfn, PCI_BAR0, 4);
	assert_int_equal(bar & 1, 0);
	f->bar0 = bar & ~0xfu;
	bar = fake_pci_cfg_read(&f->fm, f->devfn, PCI_BAR0 + 4, 4);
	assert_int_equal(bar & 1, 1);
	f->iobase = (uint16_t)(bar & ~3u);
	f->gsi = pci_intx_gsi(f->devfn >> 3, 1);
}

static void teardown(struct fixture *f)
{
	device_destroy(f->dev);
	fake_net_free(f->net);
	assert_int_equal(f->fm.mmio.nr, 0);
	assert_int_equal(f->fm.pio.nr, 0);
	fake_machine_destroy(&f->fm);
}

/* A TX ring of @n descriptors at TX_RING, transmitter on, as a driver sets it up. */
static void tx_setup(struct fixture *f, unsigned int n)
{
	f->tx_n = n;
	memset(f->fm.ram + TX_RING, 0, n * 16);
	wr(f, TDBAL, TX_RING);
	wr(f, TDBAH, 0);
	wr(f, TDLEN, n * 16);
	wr(f, TDH, 0);
	wr(f, TDT, 0);
	wr(f, TCTL, TCTL_EN);
}

static void tx_legacy(struct fixture *f, unsigned int i, uint64_t addr, uint16_t len, uint8_t cmd,
		      uint8_t cso, uint8_t css)
{
	uint8_t *d = f->fm.ram + TX_RING + i * 16;

	put64le(d, addr);
	put16le(d + 8, len);
	d[10] = cso;
	d[11] = cmd;
	d[12] = 0;
	d[13] = css;
	put16le(d + 14, 0);
}

static void tx_context(struct fixture *f, unsigned int i, uint8_t ipcss, uint8_t ipcso,
		       uint16_t ipcse, uint8_t tucss, uint8_t tucso, uint16_t tucse,
		       uint32_t paylen, uint8_t tucmd, uint8_t hdrlen, uint16_t mss)
{
	uint8_t *d = f->fm.ram + TX_RING + i * 16;

	d[0] = ipcss;
	d[1] = ipcso;
	put16le(d + 2, ipcse);
	d[4] = tucss;
	d[5] = tucso;
	put16le(d + 6, tucse);
	put32le(d + 8, (paylen & 0xfffff) | (uint32_t)(tucmd | TXD_DEXT) << 24);
	d[12] = 0;
	d[13] = hdrlen;
	put16le(d + 14, mss);
}

static void tx_data(struct fixture *f, unsigned int i, uint64_t addr, uint32_t len, uint8_t dcmd,
		    uint8_t popts)
{
	uint8_t *d = f->fm.ram + TX_RING + i * 16;

	put64le(d, addr);
	put32le(d + 8, (len & 0xfffff) | 1u << 20 | (uint32_t)(dcmd | TXD_DEXT) << 24);
	put32le(d + 12, (uint32_t)popts << 8);
}

static uint8_t tx_status(struct fixture *f, unsigned int i)
{
	return f->fm.ram[TX_RING + i * 16 + 12];
}

/* An RX ring of @n descriptors with 2 KiB buffers, @posted of them given to the NIC. */
static void rx_setup(struct fixture *f, unsigned int n, unsigned int posted, uint32_t rctl)
{
	f->rx_n = n;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = f->fm.ram + RX_RING + i * 16;

		memset(d, 0, 16);
		put64le(d, RX_BUF(i));
	}
	wr(f, RDBAL, RX_RING);
	wr(f, RDBAH, 0);
	wr(f, RDLEN, n * 16);
	wr(f, RDH, 0);
	wr(f, RDT, posted);
	wr(f, RCTL, rctl | RCTL_EN);
}

static uint16_t rx_len(struct fixture *f, unsigned int i)
{
	const uint8_t *d = f->fm.ram + RX_RING + i * 16;

	return (uint16_t)(d[8] | d[9] << 8);
}

static uint8_t rx_status(struct fixture *f, unsigned int i)
{
	return f->fm.ram[RX_RING + i * 16 + 12];
}

static void make_frame(uint8_t *buf, size_t len, const uint8_t *dst, uint8_t seed)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, peer_mac, 6);
	buf[12] = 0x08;
	buf[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
}

/* ---- the test's own checksums ---- */

/* Is the IPv4 header at @ip and its TCP/UDP checksum (with the pseudo-header) right? */
static void check_ipv4_l4(const uint8_t *ip, size_t iplen)
{
	unsigned int ihl = (ip[0] & 15) * 4u;
	uint32_t s;

	assert_int_equal(be16(ip + 2), iplen);
	assert_int_equal(ref_fold(ref_sum(0, ip, ihl)), 0xffff);
	s = ref_sum(0, ip + 12, 8) + ip[9] + (uint32_t)(iplen - ihl);
	assert_int_equal(ref_fold(ref_sum(s, ip + ihl, iplen - ihl)), 0xffff);
}

/* ---- tests ---- */

static void test_identity_and_eerd(void **state)
{
	struct fixture f;
	uint16_t words[64], sum = 0;

	(void)state;
	setup(&f, true);
	assert_int_equal(fake_pci_cfg_read(&f.fm, f.devfn, 0x08, 4) >> 8, 0x020000);
	assert_int_equal(fake_pci_cfg_read(&f.fm, f.devfn, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x8086);
	assert_int_equal(fake_pci_cfg_read(&f.fm, f.devfn, PCI_SUBSYSTEM_ID, 2), 0x001e);
	assert_int_equal(fake_pci_cfg_read(&f.fm, f.devfn, PCI_INTERRUPT_PIN, 1), 1);
	/* iPXE's way: EERD with START, poll DONE (bit 4 on the 82540). */
	for (unsigned int i = 0; i < 64; i++) {
		uint32_t v;

		wr(&f, EERD, i << 8 | 1);
		v = rd(&f, EERD);
		assert_true(v & (1u << 4));
		assert_int_equal(v & 0x0e, 0);     /* not the 82541's DONE bit */
		words[i] = (uint16_t)(v >> 16);
		sum = (uint16_t)(sum + words[i]);
	}
	assert_int_equal(sum, 0xbaba);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(words[i], our_mac[2 * i] | our_mac[2 * i + 1] << 8);
	assert_int_equal(words[0x0d], 0x100e);
	/* RAL0/RAH0 hold the MAC after reset, address valid. */
	assert_int_equal(rd(&f, RAL0), 0xaa005452u);
	assert_int_equal(rd(&f, RAH0), 0x8000ccbbu);
	teardown(&f);
}

/* Linux's e1000_read_eeprom for Microwire parts, step by step. */
static void ee_shift_out(struct fixture *f, uint32_t *e, uint32_t v, unsigned int bits)
{
	for (int i = (int)bits - 1; i >= 0; i--) {
		*e = (*e & ~EECD_DI) | ((v >> i) & 1 ? EECD_DI : 0);
		wr(f, EECD, *e);
		wr(f, EECD, *e | EECD_SK);
		wr(f, EECD, *e);
	}
	*e &= ~EECD_DI;
	wr(f, EECD, *e);
}

static uint16_t ee_read_microwire(struct fixture *f, unsigned int addr)
{
	uint32_t e = EECD_REQ, v;
	uint16_t data = 0;

	wr(f, EECD, e);
	v = rd(f, EECD);
	assert_true(v & EECD_GNT);
	assert_true(v & EECD_PRES);
	assert_false(v & (1u << 9));       /* EE_SIZE 0: 64 words */
	e |= EECD_CS;
	wr(f, EECD, e);
	ee_shift_out(f, &e, 0x6, 3);       /* start bit + READ */
	ee_shift_out(f, &e, addr, 6);
	for (unsigned int i = 0; i < 16; i++) {
		wr(f, EECD, e | EECD_SK);
		v = rd(f, EECD);
		wr(f, EECD, e);
		data = (uint16_t)(data << 1 | !!(v & EECD_DO));
	}
	wr(f, EECD, e & ~EECD_CS);
	wr(f, EECD, 0);
	return data;
}

static void test_eeprom_microwire(void **state)
{
	struct fixture f;
	uint16_t sum = 0;

	(void)state;
	setup(&f, true);
	for (unsigned int i = 0; i < 64; i++) {
		uint16_t w = ee_read_microwire(&f, i);

		wr(&f, EERD, i << 8 | 1);
		assert_int_equal(w, rd(&f, EERD) >> 16);
		sum = (uint16_t)(sum + w);
	}
	assert_int_equal(sum, 0xbaba);
	assert_int_equal(ee_read_microwire(&f, 1), our_mac[2] | our_mac[3] << 8);
	teardown(&f);
}

static uint16_t phy_read(struct fixture *f, unsigned int phy, unsigned int reg, bool *err)
{
	uint32_t v;

	wr(f, MDIC, reg << 16 | phy << 21 | 2u << 26);
	v = rd(f, MDIC);
	assert_true(v & (1u << 28));       /* ready */
	*err = v & (1u << 30);
	return (uint16_t)v;
}

static void phy_write(struct fixture *f, unsigned int reg, uint16_t val)
{
	wr(f, MDIC, val | reg << 16 | 1u << 21 | 1u << 26);
	assert_true(rd(f, MDIC) & (1u << 28));
}

static void test_phy_and_link(void **state)
{
	struct fixture f;
	bool err;

	(void)state;
	setup(&f, true);
	assert_int_equal(phy_read(&f, 1, 2, &err), 0x0141);
	assert_false(err);
	assert_int_equal(phy_read(&f, 1, 3, &err) & 0xfff0, 0x0c20);
	assert_true(phy_read(&f, 1, 1, &err) & 0x0004);        /* link */
	assert_true(phy_read(&f, 1, 1, &err) & 0x0020);        /* autoneg complete */
	(void)phy_read(&f, 2, 1, &err);
	assert_true(err);                                       /* no PHY at address 2 */
	/* BMCR reset and autoneg restart clear themselves. */
	phy_write(&f, 0, 0x9140 | 0x0200);
	assert_int_equal(phy_read(&f, 1, 0, &err) & 0x8200, 0);
	phy_write(&f, 4, 0x0de1);
	assert_int_equal(phy_read(&f, 1, 4, &err), 0x0de1);
	phy_write(&f, 2, 0x1234);                               /* read-only */
	assert_int_equal(phy_read(&f, 1, 2, &err), 0x0141);
	assert_true(rd(&f, STATUS) & STATUS_LU);
	assert_int_equal(rd(&f, STATUS) & 0xc0, 0x80);         /* 1000 Mb/s */

	/* The cable pulled: LSC interrupt, STATUS.LU and BMSR link clear. */
	rd(&f, ICR);
	wr(&f, IMS, ICR_LSC);
	assert_int_equal(irq(&f), 0);
	net_set_link(f.net->nb, false);
	assert_int_equal(irq(&f), 1);
	assert_false(rd(&f, STATUS) & STATUS_LU);
	assert_false(phy_read(&f, 1, 1, &err) & 0x0004);
	assert_true(rd(&f, ICR) & ICR_LSC);
	assert_int_equal(irq(&f), 0);                           /* read clears */
	net_set_link(f.net->nb, true);
	assert_int_equal(irq(&f), 1);
	assert_true(rd(&f, STATUS) & STATUS_LU);
	assert_int_equal(rd(&f, ICR), ICR_LSC);
	teardown(&f);

	/* Created with the cable out. */
	setup(&f, false);
	assert_false(rd(&f, STATUS) & STATUS_LU);
	assert_false(phy_read(&f, 1, 1, &err) & 0x0004);
	teardown(&f);
}

static void test_tx_legacy(void **state)
{
	struct fixture f;
	uint8_t frame[100];

	(void)state;
	setup(&f, true);
	wr(&f, IMS, ICR_TXDW);
	tx_setup(&f, 8);
	make_frame(frame, sizeof(frame), peer_mac, 1);
	memcpy(f.fm.ram + TX_DATA, frame, 40);
	memcpy(f.fm.ram + TX_DATA + 0x1000, frame + 40, 60);
	tx_legacy(&f, 0, TX_DATA, 40, TXD_IFCS | TXD_RS, 0, 0);
	tx_legacy(&f, 1, TX_DATA + 0x1000, 60, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0);
	wr(&f, TDT, 2);
	assert_int_equal(f.net->sent, 1);
	assert_int_equal(f.net->lens[0], sizeof(frame));
	assert_memory_equal(f.net->frames[0], frame, sizeof(frame));
	assert_int_equal(rd(&f, TDH), 2);
	assert_true(tx_status(&f, 0) & 1);
	assert_true(tx_status(&f, 1) & 1);
	assert_int_equal(irq(&f), 1);
	assert_true(rd(&f, ICR) & ICR_TXDW);
	assert_int_equal(irq(&f), 0);
	assert_int_equal(rd(&f, GPTC), 1);
	assert_int_equal(rd(&f, TPT), 1);
	assert_int_equal(rd(&f, GPTC), 0);                     /* clear on read */

	/* Legacy checksum insertion: CSS 14, CSO 16 over the rest. */
	memset(frame + 16, 0, 2);
	memcpy(f.fm.ram + TX_DATA, frame, sizeof(frame));
	tx_legacy(&f, 2, TX_DATA, sizeof(frame), TXD_EOP | TXD_IC | TXD_RS, 16, 14);
	wr(&f, TDT, 3);
	assert_int_equal(f.net->sent, 2);
	assert_int_equal(ref_fold(ref_sum(0, f.net->frames[1] + 14, sizeof(frame) - 14)), 0xffff);

	/* Wrapping around the ring's end. */
	for (unsigned int i = 3; i < 8; i++)
		tx_legacy(&f, i, TX_DATA, 60, TXD_EOP | TXD_RS, 0, 0);
	tx_legacy(&f, 0, TX_DATA, 60, TXD_EOP | TXD_RS, 0, 0);
	wr(&f, TDT, 1);
	assert_int_equal(f.net->sent, 8);
	assert_int_equal(rd(&f, TDH), 1);
	teardown(&f);
}

/* Ethernet + IPv4 + TCP header as Linux's e1000_tso leaves it. */
static void tcp_header(uint8_t *h, uint8_t flags)
{
	uint32_t ps;

	memset(h, 0, 54);
	memcpy(h, peer_mac, 6);
	memcpy(h + 6, our_mac, 6);
	h[12] = 0x08;
	h[14] = 0x45;
	h[18] = 0x12;   /* id 0x1234 */
	h[19] = 0x34;
	h[20] = 0x40;   /* DF */
	h[22] = 64;
	h[23] = 6;
	memcpy(h + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	h[34] = 0x9c; h[35] = 0x40;            /* 40000 */
	h[36] = 0x00; h[37] = 0x50;            /* 80 */
	h[38] = 0x01;                          /* seq 0x01000000 */
	h[45] = 5;                             /* ack */
	h[46] = 0x50;
	h[47] = flags;
	h[48] = 0xff; h[49] = 0xff;
	/* Pseudo-header sum without the length, not complemented. */
	ps = ref_fold(ref_sum(6, h + 26, 8));
	h[50] = (uint8_t)(ps >> 8);
	h[51] = (uint8_t)ps;
}

static void test_tx_tso(void **state)
{
	enum { PAY = 10000, MSS = 1460, HDR = 54 };
	struct fixture f;
	uint8_t *g;
	uint32_t off = 0;
	unsigned int segs = (PAY + MSS - 1) / MSS;

	(void)state;
	setup(&f, true);
	tx_setup(&f, 16);
	g = f.fm.ram + TX_DATA;
	tcp_header(g, 0x19);                   /* ACK PSH FIN */
	for (unsigned int i = 0; i < PAY; i++)
		g[HDR + i] = (uint8_t)(i * 13 + i / 256);
	tx_context(&f, 0, 14, 24, 33, 34, 50, 0, PAY, TXD_TSE | 0x01 | 0x02 | TXD_RS, HDR, MSS);
	/* Header and a bit of payload, then the rest in two uneven pieces. */
	tx_data(&f, 1, TX_DATA, HDR + 100, TXD_TSE | TXD_RS, 0x03);
	tx_data(&f, 2, TX_DATA + HDR + 100, 4000, TXD_TSE | TXD_RS, 0x03);
	tx_data(&f, 3, TX_DATA + HDR + 4100, PAY - 4100, TXD_TSE | TXD_RS | TXD_EOP, 0x03);
	wr(&f, TDT, 4);
	assert_int_equal(f.net->sent, segs);
	for (unsigned int i = 0; i < segs; i++) {
		const uint8_t *s = f.net->frames[i];
		size_t plen = PAY - off < MSS ? PAY - off : MSS;

		assert_int_equal(f.net->lens[i], HDR + plen);
		check_ipv4_l4(s + 14, f.net->lens[i] - 14);
		assert_int_equal(be16(s + 18), 0x1234 + i);            /* IP id */
		assert_int_equal(be32(s + 38), 0x01000000u + off);      /* TCP seq */
		assert_int_equal(s[47], i + 1 == segs ? 0x19 : 0x10);  /* PSH/FIN last only */
		assert_memory_equal(s + HDR, g + HDR + off, plen);
		assert_memory_equal(s, g, 14);
		off += (uint32_t)plen;
	}
	assert_int_equal(off, PAY);
	assert_int_equal(rd(&f, TDH), 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_true(tx_status(&f, i) & 1);
	teardown(&f);
}

static void test_tx_checksum_offload(void **state)
{
	struct fixture f;
	uint8_t *g;
	uint32_t ps;

	(void)state;
	setup(&f, true);
	tx_setup(&f, 8);
	/* UDP/IPv4, 201 bytes of payload (odd: the last byte pads a word); IP and UDP checksums left to the NIC. */
	g = f.fm.ram + TX_DATA;
	memset(g, 0, 243);
	memcpy(g, peer_mac, 6);
	memcpy(g + 6, our_mac, 6);
	g[12] = 0x08;
	g[14] = 0x45;
	g[16] = 0; g[17] = 229;                 /* total length */
	g[22] = 64;
	g[23] = 17;
	memcpy(g + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x03", 8);
	g[34] = 0x30; g[35] = 0x39;
	g[36] = 0x00; g[37] = 53;
	g[38] = 0; g[39] = 209;                 /* UDP length */
	for (unsigned int i = 42; i < 243; i++)
		g[i] = (uint8_t)(i ^ 0x5a);
	/* Linux leaves the pseudo-header sum (with the length) in the field. */
	ps = ref_fold(ref_sum(17 + 209, g + 26, 8));
	g[40] = (uint8_t)(ps >> 8);
	g[41] = (uint8_t)ps;
	tx_context(&f, 0, 14, 24, 33, 34, 40, 0, 0, TXD_RS | 0x02, 0, 0);
	tx_data(&f, 1, TX_DATA, 100, 0, 0x03);
	tx_data(&f, 2, TX_DATA + 100, 143, TXD_EOP | TXD_RS, 0);
	wr(&f, TDT, 3);
	assert_int_equal(f.net->sent, 1);
	assert_int_equal(f.net->lens[0], 243);
	check_ipv4_l4(f.net->frames[0] + 14, 229);
	assert_memory_equal(f.net->frames[0] + 42, g + 42, 201);
	teardown(&f);
}

static void test_rx_basic(void **state)
{
	struct fixture f;
	uint8_t frame[300], shortf[42];

	(void)state;
	setup(&f, true);
	wr(&f, IMS, ICR_RXT0);
	rx_setup(&f, 8, 7, RCTL_BAM);
	make_frame(frame, sizeof(frame), our_mac, 3);
	assert_true(fake_net_inject(f.net, frame, sizeof(frame)));
	assert_int_equal(rx_status(&f, 0), 0);                 /* not before the loop runs */
	fake_loop_run(&f.fm);
	assert_int_equal(rx_status(&f, 0) & 3, 3);             /* DD, EOP */
	assert_int_equal(rx_len(&f, 0), sizeof(frame) + 4);    /* with the FCS */
	assert_memory_equal(f.fm.ram + RX_BUF(0), frame, sizeof(frame));
	assert_int_equal(rd(&f, RDH), 1);
	assert_int_equal(irq(&f), 1);
	assert_true(rd(&f, ICR) & ICR_RXT0);
	assert_int_equal(irq(&f), 0);
	assert_int_equal(rd(&f, GPRC), 1);
	assert_int_equal(rd(&f, TPR), 1);
	assert_int_equal(rd(&f, GORCL), sizeof(frame));

	/* A short frame is padded to 60 bytes; SECRC strips the FCS. */
	wr(&f, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	make_frame(shortf, sizeof(shortf), our_mac, 4);
	memset(f.fm.ram + RX_BUF(1), 0xee, 100);
	assert_true(fake_net_inject(f.net, shortf, sizeof(shortf)));
	fake_loop_run(&f.fm);
	assert_int_equal(rx_len(&f, 1), 60);
	assert_memory_equal(f.fm.ram + RX_BUF(1), shortf, sizeof(shortf));
	for (unsigned int i = sizeof(shortf); i < 60; i++)
		assert_int_equal(f.fm.ram[RX_BUF(1) + i], 0);

	/* A frame split over 256-byte buffers (RCTL.BSIZE 11b). */
	wr(&f, RCTL, RCTL_EN | RCTL_SECRC | 3u << 16);
	assert_true(fake_net_inject(f.net, frame, sizeof(frame)));
	fake_loop_run(&f.fm);
	assert_int_equal(rx_len(&f, 2), 256);
	assert_int_equal(rx_status(&f, 2) & 3, 1);             /* DD, no EOP */
	assert_int_equal(rx_len(&f, 3), sizeof(frame) - 256);
	assert_int_equal(rx_status(&f, 3) & 3, 3);
	assert_memory_equal(f.fm.ram + RX_BUF(2), frame, 256);
	assert_memory_equal(f.fm.ram + RX_BUF(3), frame + 256, sizeof(frame) - 256);
	assert_int_equal(rd(&f, RDH), 4);
	teardown(&f);
}

static void test_rx_checksum_status(void **state)
{
	struct fixture f;
	uint8_t *g;

	(void)state;
	setup(&f, true);
	tx_setup(&f, 8);
	rx_setup(&f, 8, 7, RCTL_SECRC);
	wr(&f, RXCSUM, 3u << 8);
	/* Make a valid TCP/IPv4 frame with the TX offload, receive it back. */
	g = f.fm.ram + TX_DATA;
	tcp_header(g, 0x10);
	memcpy(g, our_mac, 6);
	for (unsigned int i = 54; i < 554; i++)
		g[i] = (uint8_t)i;
	tx_context(&f, 0, 14, 24, 33, 34, 50, 0, 500, TXD_TSE | 0x03, 54, 1460);
	tx_data(&f, 1, TX_DATA, 554, TXD_TSE | TXD_EOP, 0x03);
	wr(&f, TDT, 2);
	assert_int_equal(f.net->sent, 1);
	assert_true(fake_net_inject(f.net, f.net->frames[0], f.net->lens[0]));
	fake_loop_run(&f.fm);
	assert_int_equal(rx_status(&f, 0), 0x01 | 0x02 | 0x20 | 0x40);  /* DD EOP TCPCS IPCS */
	assert_int_equal(f.fm.ram[RX_RING + 13], 0);
	/* One payload byte changed: TCPE. */
	f.net->frames[0][100] ^= 1;
	assert_true(fake_net_inject(f.net, f.net->frames[0], f.net->lens[0]));
	fake_loop_run(&f.fm);
	assert_int_equal(f.fm.ram[RX_RING + 16 + 13], 0x20);
	teardown(&f);
}

static void test_rx_flow_control(void **state)
{
	struct fixture f;
	uint8_t frame[200];

	(void)state;
	setup(&f, true);
	rx_setup(&f, 8, 0, RCTL_BAM);              /* nothing posted */
	make_frame(frame, sizeof(frame), our_mac, 5);
	assert_true(fake_net_inject(f.net, frame, sizeof(frame)));
	frame[20] ^= 0xff;
	assert_true(fake_net_inject(f.net, frame, sizeof(frame)));
	fake_loop_run(&f.fm);
	assert_int_equal(rx_status(&f, 0), 0);
	assert_int_equal(rd(&f, RDH), 0);
	/* The guest posts one buffer: the first frame, kept in order. */
	wr(&f, RDT, 1);
	fake_loop_run(&f.fm);
	assert_int_equal(rx_status(&f, 0) & 3, 3);
	assert_int_equal(f.fm.ram[RX_BUF(0) + 20], frame[20] ^ 0xff);
	assert_int_equal(rx_status(&f, 1), 0);
	wr(&f, RDT, 4);
	fake_loop_run(&f.fm);
	assert_int_equal(rx_status(&f, 1) & 3, 3);
	assert_int_equal(f.fm.ram[RX_BUF(1) + 20], frame[20]);
	assert_int_equal(rd(&f, RDH), 2);
	/* Few free descriptors left: RXDMT0 (threshold 1/2 of 8). */
	assert_true(rd(&f, ICR) & ICR_RXDMT0);
	/* Counted once each, not per attempt. */
	assert_int_equal(rd(&f, GPRC), 2);
	teardown(&f);
}

static void test_rx_filters(void **state)
{
	static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0x11, 0x22, 0x33 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	struct fixture f;
	uint8_t frame[80];
	unsigned int hash;

	(void)state;
	setup(&f, true);
	rx_setup(&f, 16, 15, 0);
	make_frame(frame, sizeof(frame), other, 1);
	fake_net_inject(f.net, frame, sizeof(frame));
	make_frame(frame, sizeof(frame), bcast, 2);     /* no BAM: dropped */
	fake_net_inject(f.net, frame, sizeof(frame));
	make_frame(frame, sizeof(frame), mcast, 3);     /* not in the MTA: dropped */
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 0);
	assert_int_equal(rd(&f, GPRC), 0);

	wr(&f, RCTL, RCTL_EN | RCTL_BAM);
	make_frame(frame, sizeof(frame), bcast, 4);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 1);
	/* MTA, RCTL.MO 00b: address bits 47:36. */
	hash = (mcast[4] >> 4 | mcast[5] << 4) & 0xfff;
	wr(&f, MTA + (hash >> 5) * 4, 1u << (hash & 31));
	make_frame(frame, sizeof(frame), mcast, 5);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 2);
	/* A second unicast address in RAL1/RAH1, then promiscuous. */
	wr(&f, RAL0 + 8, 0x11005452u);
	wr(&f, RAH0 + 8, 0x80003322u);
	make_frame(frame, sizeof(frame), other, 6);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 3);
	wr(&f, RAH0 + 8, 0);
	wr(&f, RCTL, RCTL_EN | RCTL_UPE);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 4);
	/* Receiver off: dropped, not kept. */
	wr(&f, RCTL, 0);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	wr(&f, RCTL, RCTL_EN | RCTL_UPE);
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 4);
	teardown(&f);
}

/* 802.1Q: VLE inserts the tag on TX; VME strips it on RX, VFE filters by VFTA. */
static void test_vlan(void **state)
{
	struct fixture f;
	uint8_t frame[100], tagged[104];

	(void)state;
	setup(&f, true);
	wr(&f, CTRL, CTRL_SLU | (1u << 30));                   /* VME */
	tx_setup(&f, 8);
	make_frame(frame, sizeof(frame), peer_mac, 1);
	memcpy(f.fm.ram + TX_DATA, frame, sizeof(frame));
	tx_legacy(&f, 0, TX_DATA, sizeof(frame), TXD_EOP | TXD_RS | 0x40, 0, 0);
	put16le(f.fm.ram + TX_RING + 14, 0x2005);                /* priority 1, VLAN 5 */
	wr(&f, TDT, 1);
	assert_int_equal(f.net->sent, 1);
	assert_int_equal(f.net->lens[0], sizeof(frame) + 4);
	assert_memory_equal(f.net->frames[0], frame, 12);
	assert_memory_equal(f.net->frames[0] + 12, "\x81\x00\x20\x05", 4);
	assert_memory_equal(f.net->frames[0] + 16, frame + 12, sizeof(frame) - 12);

	rx_setup(&f, 8, 7, RCTL_SECRC | (1u << 18));           /* VFE */
	wr(&f, 0x5600, 1u << 5);                                /* VFTA: VLAN 5 */
	make_frame(frame, sizeof(frame), our_mac, 2);
	memcpy(tagged, frame, 12);
	memcpy(tagged + 12, "\x81\x00\x20\x05", 4);
	memcpy(tagged + 16, frame + 12, sizeof(frame) - 12);
	fake_net_inject(f.net, tagged, sizeof(tagged));
	tagged[15] = 6;                                         /* VLAN 6: filtered */
	fake_net_inject(f.net, tagged, sizeof(tagged));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 1);
	assert_int_equal(rx_len(&f, 0), sizeof(frame));
	assert_true(rx_status(&f, 0) & 0x08);                   /* VP */
	assert_int_equal(f.fm.ram[RX_RING + 14] | f.fm.ram[RX_RING + 15] << 8, 0x2005);
	assert_memory_equal(f.fm.ram + RX_BUF(0), frame, sizeof(frame));
	teardown(&f);
}

static void test_delays_and_throttling(void **state)
{
	struct fixture f;
	uint8_t frame[64];

	(void)state;
	setup(&f, true);
	wr(&f, IMS, ICR_RXT0 | ICR_TXDW);
	rx_setup(&f, 8, 7, RCTL_BAM);
	wr(&f, RDTR, 100);                         /* 102.4 us */
	wr(&f, RADV, 150);
	make_frame(frame, sizeof(frame), our_mac, 1);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 1);
	assert_int_equal(irq(&f), 0);
	fake_advance(&f.fm, 80 * 1024);
	assert_int_equal(irq(&f), 0);
	fake_net_inject(f.net, frame, sizeof(frame));  /* restarts the packet timer */
	fake_loop_run(&f.fm);
	fake_advance(&f.fm, 60 * 1024);
	assert_int_equal(irq(&f), 0);
	fake_advance(&f.fm, 20 * 1024);                /* RADV (150) expires first */
	assert_int_equal(irq(&f), 1);
	assert_int_equal(rd(&f, ICR), ICR_RXT0);
	assert_int_equal(fake_timers_armed(&f.fm), 0);

	/* TX with IDE: TXDW after TIDV. */
	tx_setup(&f, 8);
	wr(&f, TIDV, 10);
	memcpy(f.fm.ram + TX_DATA, frame, sizeof(frame));
	tx_legacy(&f, 0, TX_DATA, sizeof(frame), TXD_EOP | TXD_RS | TXD_IDE, 0, 0);
	wr(&f, TDT, 1);
	assert_int_equal(f.net->sent, 1);
	assert_int_equal(irq(&f), 0);
	fake_advance(&f.fm, 10 * 1024);
	assert_int_equal(irq(&f), 1);
	rd(&f, ICR);

	/* ITR: 1000 * 256 ns between assertions. */
	wr(&f, ITR, 1000);
	wr(&f, RDTR, 0);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(irq(&f), 1);
	rd(&f, ICR);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	assert_int_equal(irq(&f), 0);                  /* held back */
	fake_advance(&f.fm, 1000 * 256);
	assert_int_equal(irq(&f), 1);
	/* ICS raises a cause by hand; IMC masks it. */
	rd(&f, ICR);
	fake_advance(&f.fm, 1000 * 256);
	wr(&f, ICS, ICR_LSC);
	assert_int_equal(irq(&f), 0);                  /* LSC not enabled */
	wr(&f, IMS, ICR_LSC);
	assert_int_equal(irq(&f), 1);
	wr(&f, IMC, ICR_LSC);
	assert_int_equal(irq(&f), 0);
	teardown(&f);
}

static void test_malformed_tx(void **state)
{
	struct fixture f;
	uint8_t frame[64];

	(void)state;
	setup(&f, true);
	make_frame(frame, sizeof(frame), peer_mac, 9);
	memcpy(f.fm.ram + TX_DATA, frame, sizeof(frame));

	/* TDLEN 0: nothing happens. */
	tx_setup(&f, 8);
	wr(&f, TDLEN, 0);
	tx_legacy(&f, 0, TX_DATA, 64, TXD_EOP | TXD_RS, 0, 0);
	wr(&f, TDT, 1);
	assert_int_equal(f.net->sent, 0);
	assert_int_equal(rd(&f, TDH), 0);
	/* TDLEN not a multiple of 128: the low bits are dropped (8 descriptors). */
	wr(&f, TDLEN, 200);
	assert_int_equal(rd(&f, TDLEN), 128);
	wr(&f, TDT, 1);
	assert_int_equal(f.net->sent, 1);
	/* TDT beyond the ring: nothing is done. */
	wr(&f, TDT, 9);
	assert_int_equal(rd(&f, TDH), 1);
	assert_int_equal(f.net->sent, 1);
	/* A ring outside RAM. */
	tx_setup(&f, 8);
	wr(&f, TDBAL, RAM_SIZE - 64);
	wr(&f, TDT, 7);
	wr(&f, TDBAH, 1);
	wr(&f, TDT, 6);
	assert_int_equal(f.net->sent, 1);
	/* ... and nothing keeps retrying it on the loop (the fuzzer found that spin). */
	assert_int_equal(fake_timers_armed(&f.fm), 0);
	assert_int_equal(fake_loop_run(&f.fm), 0);
	/* A buffer outside RAM: the packet is dropped, the descriptor done. */
	tx_setup(&f, 8);
	tx_legacy(&f, 0, RAM_SIZE - 10, 64, TXD_EOP | TXD_RS, 0, 0);
	tx_legacy(&f, 1, ~0ull - 8, 64, TXD_EOP | TXD_RS, 0, 0);
	tx_legacy(&f, 2, TX_DATA, 64, TXD_EOP | TXD_RS, 0, 0);
	wr(&f, TDT, 3);
	assert_int_equal(f.net->sent, 2);
	assert_true(tx_status(&f, 0) & 1);
	assert_int_equal(rd(&f, TDH), 3);
	/* A chain without EOP running all around the ring, many times. */
	tx_setup(&f, 8);
	for (unsigned int i = 0; i < 8; i++)
		tx_legacy(&f, i, TX_DATA, 0xffff, TXD_RS, 0, 0);
	for (unsigned int round = 0; round < 4; round++) {
		wr(&f, TDT, 7);
		wr(&f, TDT, 0);
	}
	fake_loop_run(&f.fm);
	assert_int_equal(f.net->sent, 2);
	/* ... its EOP at last: the oversized packet is dropped, the next one goes. */
	tx_legacy(&f, 0, TX_DATA, 64, TXD_EOP | TXD_RS, 0, 0);
	tx_legacy(&f, 1, TX_DATA, 64, TXD_EOP | TXD_RS, 0, 0);
	wr(&f, TDT, 2);
	assert_int_equal(f.net->sent, 3);
	assert_memory_equal(f.net->frames[2], frame, 64);
	/* TSO with an MSS of 0 and with HDRLEN past the data: dropped. */
	tx_context(&f, 2, 14, 24, 33, 34, 50, 0, 1000, TXD_TSE | 3, 54, 0);
	tx_data(&f, 3, TX_DATA, 1054, TXD_TSE | TXD_EOP | TXD_RS, 3);
	tx_context(&f, 4, 14, 24, 33, 250, 252, 0, 1, TXD_TSE | 3, 255, 1);
	tx_data(&f, 5, TX_DATA, 100, TXD_TSE | TXD_EOP | TXD_RS, 3);
	wr(&f, TDT, 6);
	assert_int_equal(f.net->sent, 3);
	assert_int_equal(rd(&f, TDH), 6);
	teardown(&f);
}

static void test_tx_huge_ring_bounded(void **state)
{
	enum { N = 4096 };
	struct fixture f;
	uint8_t *ring;

	(void)state;
	setup(&f, true);
	f.net->keep_none = true;
	ring = malloc(N * 16);
	assert_non_null(ring);
	tcp_header(f.fm.ram + TX_DATA, 0x10);
	/* N/2 TSO packets of 16 KiB payload, MSS 1000. */
	for (unsigned int i = 0; i < N; i += 2) {
		tx_context(&f, 0, 14, 24, 33, 34, 50, 0, 16384, TXD_TSE | 3, 54, 1000);
		memcpy(ring + i * 16, f.fm.ram + TX_RING, 16);
		tx_data(&f, 0, TX_DATA, 54 + 16384, TXD_TSE | TXD_EOP | TXD_RS, 3);
		memcpy(ring + (i + 1) * 16, f.fm.ram + TX_RING, 16);
	}
	memcpy(f.fm.ram + 0x800000, ring, N * 16);
	free(ring);
	wr(&f, TDBAL, 0x800000);
	wr(&f, TDLEN, N * 16);
	wr(&f, TDH, 0);
	wr(&f, TCTL, TCTL_EN);
	wr(&f, TDT, N - 1);
	/* One write did a bounded part, not all N/2 packets. */
	assert_true(f.net->sent > 0);
	assert_true(f.net->sent < 17u * 64);
	assert_true(rd(&f, TDH) != N - 1);
	/* The loop finishes it. */
	for (unsigned int i = 0; i < 100 && rd(&f, TDH) != N - 1; i++)
		fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, TDH), N - 1);
	assert_int_equal(f.net->sent, (N - 2) / 2 * 17);
	teardown(&f);
}

/* TSO packets of 1-byte segments: the frames count against the pass's budget too. */
static void test_tx_tiny_segments_bounded(void **state)
{
	enum { N = 64 };
	struct fixture f;

	(void)state;
	setup(&f, true);
	f.net->keep_none = true;
	tx_setup(&f, N);
	tcp_header(f.fm.ram + TX_DATA, 0x10);
	for (unsigned int i = 0; i < N; i += 2) {
		tx_context(&f, i, 14, 24, 33, 34, 50, 0, 1024, TXD_TSE | 3, 54, 1);
		tx_data(&f, i + 1, TX_DATA, 54 + 1024, TXD_TSE | TXD_EOP | TXD_RS, 3);
	}
	wr(&f, TDT, N - 1);
	assert_true(f.net->sent >= 1024);
	assert_true(f.net->sent <= 2 * 1024);
	for (unsigned int i = 0; i < 100 && rd(&f, TDH) != N - 1; i++)
		fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, TDH), N - 1);
	assert_int_equal(f.net->sent, (N / 2 - 1) * 1024);
	teardown(&f);
}

static void test_oversized_rx(void **state)
{
	struct fixture f;
	uint8_t *big = calloc(1, 9000);

	(void)state;
	assert_non_null(big);
	setup(&f, true);
	rx_setup(&f, 8, 7, RCTL_BAM);
	make_frame(big, 9000, our_mac, 1);
	fake_net_inject(f.net, big, 1515);         /* one byte too long without LPE */
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 0);
	/* With LPE, 9000 bytes over five 2 KiB buffers. */
	wr(&f, RCTL, RCTL_EN | RCTL_BAM | (1u << 5));
	fake_net_inject(f.net, big, 9000);
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 5);
	assert_memory_equal(f.fm.ram + RX_BUF(4), big + 4 * 2048, 9000 - 4 * 2048);
	/* Larger than the whole ring can hold: dropped, not kept forever. */
	wr(&f, RCTL, RCTL_EN | RCTL_BAM | (1u << 5) | 3u << 16);
	fake_net_inject(f.net, big, 9000);
	fake_loop_run(&f.fm);
	wr(&f, RCTL, RCTL_EN | RCTL_BAM | (1u << 5));
	fake_net_inject(f.net, big, 100);
	wr(&f, RDT, 4);
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 6);
	assert_int_equal(rx_len(&f, 5), 104);
	/* An RX ring outside RAM. */
	wr(&f, RDBAL, RAM_SIZE);
	wr(&f, RDH, 0);
	fake_net_inject(f.net, big, 100);
	fake_loop_run(&f.fm);
	free(big);
	teardown(&f);
}

/* Reset with RX frames queued and a TX packet half processed. */
static void reset_case(bool machine_reset)
{
	struct fixture f;
	uint8_t frame[100], frame2[70];

	setup(&f, true);
	wr(&f, IMS, ICR_RXT0 | ICR_TXDW);
	rx_setup(&f, 8, 0, RCTL_BAM);
	make_frame(frame, sizeof(frame), our_mac, 1);
	for (unsigned int i = 0; i < 5; i++)
		fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);
	tx_setup(&f, 8);
	memcpy(f.fm.ram + TX_DATA, frame, sizeof(frame));
	tx_legacy(&f, 0, TX_DATA, 50, TXD_RS, 0, 0);        /* no EOP yet */
	wr(&f, TDT, 1);
	wr(&f, ICS, ICR_TXDW);
	assert_int_equal(irq(&f), 1);
	assert_int_equal(rd(&f, TDH), 1);
	if (machine_reset) {
		device_reset(f.dev);
		fake_pci_cfg_write(&f.fm, f.devfn, PCI_COMMAND,
				   PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	} else {
		/* As Linux does it on the 82540: through IOADDR/IODATA. */
		fake_pio_write(&f.fm, f.iobase, CTRL, 4);
		fake_pio_write(&f.fm, f.iobase + 4, CTRL_RST | CTRL_SLU, 4);
		assert_int_equal(fake_pio_read(&f.fm, f.iobase, 4), CTRL);
	}
	assert_int_equal(irq(&f), 0);
	assert_int_equal(rd(&f, CTRL) & CTRL_RST, 0);
	assert_int_equal(rd(&f, ICR), 0);
	assert_int_equal(rd(&f, IMS), 0);
	assert_int_equal(rd(&f, TDH), 0);
	assert_int_equal(rd(&f, TDLEN), 0);
	assert_int_equal(rd(&f, RCTL), 0);
	assert_int_equal(rd(&f, RAL0), 0xaa005452u);
	assert_int_equal(fake_timers_armed(&f.fm), 0);
	/* The queued frames are gone; a new ring gets only new frames. */
	rx_setup(&f, 8, 7, RCTL_BAM);
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 0);
	make_frame(frame2, sizeof(frame2), our_mac, 2);
	fake_net_inject(f.net, frame2, sizeof(frame2));
	fake_loop_run(&f.fm);
	assert_int_equal(rd(&f, RDH), 1);
	assert_memory_equal(f.fm.ram + RX_BUF(0), frame2, sizeof(frame2));
	/* The half-done TX packet is forgotten: the next one goes out alone. */
	tx_setup(&f, 8);
	memcpy(f.fm.ram + TX_DATA + 0x2000, frame2, sizeof(frame2));
	tx_legacy(&f, 0, TX_DATA + 0x2000, sizeof(frame2), TXD_EOP | TXD_RS, 0, 0);
	wr(&f, TDT, 1);
	assert_int_equal(f.net->sent, 1);
	assert_int_equal(f.net->lens[0], sizeof(frame2));
	assert_memory_equal(f.net->frames[0], frame2, sizeof(frame2));
	teardown(&f);
}

static void test_reset_ctrl_rst(void **state)
{
	(void)state;
	reset_case(false);
}

static void test_reset_machine(void **state)
{
	(void)state;
	reset_case(true);
}

static void test_save_load(void **state)
{
	struct fixture f;
	struct sv_writer w;
	uint8_t frame[100];

	(void)state;
	setup(&f, true);
	wr(&f, IMS, ICR_RXT0);
	rx_setup(&f, 8, 7, RCTL_BAM);
	tx_setup(&f, 8);
	make_frame(frame, sizeof(frame), peer_mac, 1);
	memcpy(f.fm.ram + TX_DATA, frame, sizeof(frame));
	tx_legacy(&f, 0, TX_DATA, 40, TXD_RS, 0, 0);       /* half a packet */
	wr(&f, TDT, 1);
	wr(&f, RDTR, 50);
	make_frame(frame, sizeof(frame), our_mac, 2);
	fake_net_inject(f.net, frame, sizeof(frame));
	fake_loop_run(&f.fm);                              /* RXT0 pending on RDTR */
	assert_int_equal(fake_save(f.dev, &w), 0);
	wr(&f, CTRL, CTRL_RST);
	assert_int_equal(rd(&f, RDLEN), 0);
	assert_int_equal(fake_load(f.dev, &w), 0);
	sv_writer_free(&w);
	assert_int_equal(rd(&f, RDLEN), 128);
	assert_int_equal(rd(&f, RDH), 1);
	assert_int_equal(rd(&f, TDH), 1);
	assert_int_equal(irq(&f), 0);
	fake_advance(&f.fm, 50 * 1024);                    /* the timer came back */
	assert_int_equal(irq(&f), 1);
	/* The rest of the TX packet joins the saved first part. */
	make_frame(frame, sizeof(frame), peer_mac, 1);
	tx_legacy(&f, 1, TX_DATA + 40, 60, TXD_EOP | TXD_RS, 0, 0);
	wr(&f, TDT, 2);
	assert_int_equal(f.net->sent, 1);
	assert_memory_equal(f.net->frames[0], frame, sizeof(frame));
	teardown(&f);
}

static void test_unknown_registers(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, true);
	/* Every dword of the BAR reads without harm; unknown ones read 0. */
	for (uint32_t off = 0; off < 0x20000; off += 4)
		(void)rd(&f, off);
	assert_int_equal(rd(&f, 0x0004), 0);
	wr(&f, 0x0004, 0xdeadbeef);
	assert_int_equal(rd(&f, 0x0004), 0);
	wr(&f, 0x1fffc, 0xdeadbeef);
	assert_int_equal(rd(&f, 0x1fffc), 0);
	/* Narrow writes are ignored, narrow reads see part of the register. */
	fake_mmio_write(&f.fm, f.bar0 + ITR, 0x12, 1);
	assert_int_equal(rd(&f, ITR), 0);
	wr(&f, ITR, 0x1234);
	assert_int_equal(fake_mmio_read(&f.fm, f.bar0 + ITR + 1, 1), 0x12);
	assert_true(rd(&f, STATUS) & STATUS_LU);
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_and_eerd),
		cmocka_unit_test(test_eeprom_microwire),
		cmocka_unit_test(test_phy_and_link),
		cmocka_unit_test(test_tx_legacy),
		cmocka_unit_test(test_tx_tso),
		cmocka_unit_test(test_tx_checksum_offload),
		cmocka_unit_test(test_rx_basic),
		cmocka_unit_test(test_rx_checksum_status),
		cmocka_unit_test(test_rx_flow_control),
		cmocka_unit_test(test_rx_filters),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_delays_and_throttling),
		cmocka_unit_test(test_malformed_tx),
		cmocka_unit_test(test_tx_huge_ring_bounded),
		cmocka_unit_test(test_tx_tiny_segments_bounded),
		cmocka_unit_test(test_oversized_rx),
		cmocka_unit_test(test_reset_ctrl_rst),
		cmocka_unit_test(test_reset_machine),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_unknown_registers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
