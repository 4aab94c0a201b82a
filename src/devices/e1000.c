// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Intel 82540EM Gigabit Ethernet controller (8086:100E, class
 * 02.00.00), the NIC Linux's e1000 driver and iPXE's intel driver know
 * best, joined to a network back end through net.h.
 *
 * BAR0 holds the 128 KiB of memory-mapped registers, BAR1 the two I/O
 * registers IOADDR/IODATA through which the same registers are reached
 * indirectly (Linux resets 8254x parts through them).  The EEPROM (a
 * 64-word Microwire part holding the MAC address) is read either by
 * bit-banging EECD or through EERD; the internal PHY (an M88E1011-like
 * copper PHY) through MDIC.
 *
 * Transmit: the guest advances TDT; the descriptors between TDH and TDT
 * are processed right there, on the vCPU thread under the device lock
 * (net_send never blocks): legacy descriptors, and context + data
 * descriptors with checksum offload and TCP segmentation (TSO).  The
 * work per call is bounded; what is left continues on the event loop.
 *
 * Receive: net.c hands frames to e1000_receive() on the loop thread; they
 * are filtered (RAL/RAH, MTA, VFTA, promiscuous bits), written into the
 * guest's buffers between RDH and RDT, and announced by ICR.RXT0 after
 * the RDTR/RADV delays.  With no free descriptor the frame stays queued
 * in net.c until the guest writes RDT.
 *
 * Interrupts: a level INTx (the 82540EM has no MSI), asserted while
 * ICR & IMS, at most once per ITR interval.
 *
 * References: "PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual" (8254x SDM, rev 4.0), sections cited as "SDM x.y";
 * 802.3 for the frame check sequence; RFC 791/793/768/8200 for the
 * header fields TSO rewrites.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "net.h"
#include "offload.h"
#include "pci.h"

/* PCI identity (SDM 4.1; subsystem as on Intel's PRO/1000 MT Desktop) */
#define E1000_DEVICE_ID     0x100e
#define E1000_SUBSYS_ID     0x001e
#define E1000_CLASS         0x020000   /* network, Ethernet */
#define E1000_REVISION      0x02
#define E1000_MMIO_BAR      0
#define E1000_MMIO_SIZE     0x20000
#define E1000_IO_BAR        1
#define E1000_IO_SIZE       8          /* IOADDR, IODATA (SDM 13.1.2) */

/* Registers (SDM 13.2), byte offsets in BAR0 */
#define REG_CTRL      0x0000
#define REG_STATUS    0x0008
#define REG_EECD      0x0010
#define REG_EERD      0x0014
#define REG_CTRL_EXT  0x0018
#define REG_FLA       0x001c
#define REG_MDIC      0x0020
#define REG_FCAL      0x0028
#define REG_FCAH      0x002c
#define REG_FCT       0x0030
#define REG_VET       0x0038
#define REG_ICR       0x00c0
#define REG_ITR       0x00c4
#define REG_ICS       0x00c8
#define REG_IMS       0x00d0
#define REG_IMC       0x00d8
#define REG_RCTL      0x0100
#define REG_FCTTV     0x0170
#define REG_TXCW      0x0178
#define REG_RXCW      0x0180
#define REG_TCTL      0x0400
#define REG_TIPG      0x0410
#define REG_AIT       0x0458
#define REG_LEDCTL    0x0e00
#define REG_PBA       0x1000
#define REG_FCRTL     0x2160
#define REG_FCRTH     0x2168
#define REG_RDFH      0x2410
#define REG_RDFT      0x2418
#define REG_RDFHS     0x2420
#define REG_RDFTS     0x2428
#define REG_RDFPC     0x2430
#define REG_RDBAL     0x2800
#define REG_RDBAH     0x2804
#define REG_RDLEN     0x2808
#define REG_RDH       0x2810
#define REG_RDT       0x2818
#define REG_RDTR      0x2820
#define REG_RXDCTL    0x2828
#define REG_RADV      0x282c
#define REG_RSRPD     0x2c00
#define REG_TXDMAC    0x3000
#define REG_TDFH      0x3410
#define REG_TDFT      0x3418
#define REG_TDFHS     0x3420
#define REG_TDFTS     0x3428
#define REG_TDFPC     0x3430
#define REG_TDBAL     0x3800
#define REG_TDBAH     0x3804
#define REG_TDLEN     0x3808
#define REG_TDH       0x3810
#define REG_TDT       0x3818
#define REG_TIDV      0x3820
#define REG_TXDCTL    0x3828
#define REG_TADV      0x382c
#define REG_TSPMT     0x3830
#define REG_STATS     0x4000     /* statistics, 0x4000-0x40FF, clear on read */
#define REG_STATS_END 0x4100
#define REG_RXCSUM    0x5000
#define REG_MTA       0x5200     /* 128 dwords */
#define REG_RA        0x5400     /* 16 pairs RAL/RAH */
#define REG_VFTA      0x5600     /* 128 dwords */
#define REG_WUC       0x5800
#define REG_WUFC      0x5808
#define REG_WUS       0x5810
#define REG_MANC      0x5820
#define REG_IPAV      0x5838
#define REG_IP4AT     0x5840
#define REG_IP6AT     0x5880
#define REG_WUPL      0x5900
#define REG_WUPM      0x5a00
#define REG_FFLT      0x5f00
#define E1000_REG_SPACE 0x6000   /* registers kept in regs[] */

/* Statistics (SDM 13.7), offsets from REG_STATS */
#define ST_CRCERRS  0x00
#define ST_MPC      0x10
#define ST_PRC64    0x5c
#define ST_PRC127   0x60
#define ST_PRC255   0x64
#define ST_PRC511   0x68
#define ST_PRC1023  0x6c
#define ST_PRC1522  0x70
#define ST_GPRC     0x74
#define ST_BPRC     0x78
#define ST_MPRC     0x7c
#define ST_GPTC     0x80
#define ST_GORCL    0x88
#define ST_GOTCL    0x90
#define ST_RNBC     0xa0
#define ST_ROC      0xac
#define ST_TORL     0xc0
#define ST_TOTL     0xc8
#define ST_TPR      0xd0
#define ST_TPT      0xd4
#define ST_PTC64    0xd8
#define ST_MPTC     0xf0
#define ST_BPTC     0xf4
#define ST_TSCTC    0xf8
#define ST_TSCTFC   0xfc
#define E1000_NR_STATS 64

/* CTRL (SDM 13.4.1) */
#define CTRL_FD        (1u << 0)
#define CTRL_SLU       (1u << 6)
#define CTRL_SPD_1000  (2u << 8)
#define CTRL_RST       (1u << 26)
#define CTRL_VME       (1u << 30)
#define CTRL_PHY_RST   (1u << 31)
/* STATUS (SDM 13.4.2) */
#define STATUS_FD      (1u << 0)
#define STATUS_LU      (1u << 1)
#define STATUS_SPD_1000 (2u << 6)
/* EECD (SDM 13.4.3) */
#define EECD_SK        (1u << 0)
#define EECD_CS        (1u << 1)
#define EECD_DI        (1u << 2)
#define EECD_DO        (1u << 3)
#define EECD_FWE_MASK  (3u << 4)
#define EECD_REQ       (1u << 6)
#define EECD_GNT       (1u << 7)
#define EECD_PRES      (1u << 8)
#define EECD_WMASK     (EECD_SK | EECD_CS | EECD_DI | EECD_FWE_MASK | EECD_REQ)
/* EERD (SDM 13.4.4, 82540 layout) */
#define EERD_START     (1u << 0)
#define EERD_DONE      (1u << 4)
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16
/* MDIC (SDM 13.4.6) */
#define MDIC_REG_SHIFT 16
#define MDIC_PHY_SHIFT 21
#define MDIC_OP_WRITE  (1u << 26)
#define MDIC_OP_READ   (2u << 26)
#define MDIC_READY     (1u << 28)
#define MDIC_INT_EN    (1u << 29)
#define MDIC_ERROR     (1u << 30)
/* Interrupt causes, ICR/ICS/IMS/IMC (SDM 13.4.17) */
#define ICR_TXDW       (1u << 0)
#define ICR_TXQE       (1u << 1)
#define ICR_LSC        (1u << 2)
#define ICR_RXDMT0     (1u << 4)
#define ICR_RXO        (1u << 6)
#define ICR_RXT0       (1u << 7)
#define ICR_MDAC       (1u << 9)
#define ICR_TXD_LOW    (1u << 15)
#define ICR_SRPD       (1u << 16)
#define ICR_VALID      0x0001f6dfu
/* RCTL (SDM 13.4.22) */
#define RCTL_EN        (1u << 1)
#define RCTL_UPE       (1u << 3)
#define RCTL_MPE       (1u << 4)
#define RCTL_LPE       (1u << 5)
#define RCTL_RDMTS_SHIFT 8
#define RCTL_MO_SHIFT  12
#define RCTL_BAM       (1u << 15)
#define RCTL_BSIZE_SHIFT 16
#define RCTL_VFE       (1u << 18)
#define RCTL_BSEX      (1u << 25)
#define RCTL_SECRC     (1u << 26)
#define RDTR_FPD       (1u << 31)
/* TCTL (SDM 13.4.33) */
#define TCTL_EN        (1u << 1)
/* RXCSUM (SDM 13.4.44) */
#define RXCSUM_IPOFL   (1u << 8)
#define RXCSUM_TUOFL   (1u << 9)
#define RAH_AV         (1u << 31)

/* Descriptors (SDM 3.2.3, 3.3) */
#define DESC_SIZE      16
#define TXD_EOP        0x01     /* command byte, the lower dword's bits 31:24 */
#define TXD_IFCS       0x02
#define TXD_IC         0x04     /* legacy: insert checksum */
#define TXD_TSE        0x04     /* extended: TCP segmentation */
#define TXD_RS         0x08
#define TXD_DEXT       0x20
#define TXD_VLE        0x40
#define TXD_IDE        0x80
#define TUCMD_TCP      0x01     /* context: TCP (else UDP) */
#define TUCMD_IP       0x02     /* context: IPv4 (else IPv6) */
#define DTYP_CONTEXT   0x0
#define DTYP_DATA      0x1
#define POPTS_IXSM     0x01
#define POPTS_TXSM     0x02
#define TXD_STAT_DD    0x01
#define RXD_STAT_DD    0x01
#define RXD_STAT_EOP   0x02
#define RXD_STAT_IXSM  0x04
#define RXD_STAT_VP    0x08
#define RXD_STAT_TCPCS 0x20
#define RXD_STAT_IPCS  0x40
#define RXD_ERR_TCPE   0x20
#define RXD_ERR_IPE    0x40

/* The PHY (SDM 13.5; 82540 internal PHY, M88E1011 compatible) */
#define PHY_ADDR       1
#define PHY_BMCR       0
#define PHY_BMSR       1
#define PHY_ID1        2
#define PHY_ID2        3
#define PHY_ANAR       4
#define PHY_ANLPAR     5
#define PHY_ANER       6
#define PHY_1000T_CTRL 9
#define PHY_1000T_STATUS 10
#define PHY_EXT_STATUS 15
#define PHY_SPEC_CTRL  16
#define PHY_SPEC_STATUS 17
#define PHY_EXT_SPEC_CTRL 20
#define BMCR_RESET     0x8000
#define BMCR_ANRESTART 0x0200
#define BMSR_BASE      0x7949   /* 100/10 FD/HD, ext status, preamble supp., AN able, ext caps */
#define BMSR_LINK      0x0004
#define BMSR_ANEG_DONE 0x0020

/* The EEPROM (SDM 5.6) */
#define EEPROM_WORDS   64
#define EEPROM_SUM     0xbaba   /* words 0x00-0x3F add up to this */
#define EE_ICW1        0x0a
#define EE_SUBSYS_ID   0x0b
#define EE_SUBSYS_VEN  0x0c
#define EE_DEVICE_ID   0x0d
#define EE_VENDOR_ID   0x0e
#define EE_ICW2        0x0f
#define EE_CHECKSUM    0x3f
#define MW_OP_READ     0x2      /* Microwire READ, after the start bit */
#define MW_ADDR_BITS   6

/* Frame sizes */
#define ETH_HLEN       14
#define ETH_ZLEN       60       /* shortest frame without FCS; shorter ones are padded */
#define ETH_FCS_LEN    4
#define ETH_MAX_UNTAGGED 1514   /* 1518 with FCS */
#define ETH_MAX_TAGGED 1518
#define E1000_LPE_MAX  16384    /* RCTL.LPE: long packets up to 16 KiB (SDM 13.4.22) */
#define E1000_RX_BUF   (NET_FRAME_MAX + ETH_ZLEN + ETH_FCS_LEN)

/* Bounds on one pass over the TX ring, so a hostile ring cannot stall a vCPU. */
#define TX_BUDGET_BYTES  (512u << 10)
#define TSO_MAX_SEGMENTS 1024u

enum e1000_timer_id { TM_ITR, TM_RDTR, TM_RADV, TM_TIDV, TM_TADV, TM_TX, TM_COUNT };

/* A context descriptor's offload parameters (SDM 3.3.6). */
struct e1000_tx_ctx {
	uint8_t ipcss, ipcso, tucss, tucso;
	uint16_t ipcse, tucse;
	uint32_t paylen;
	uint8_t hdrlen, tucmd;
	uint16_t mss;
};

/* Everything saved (plain data; the buffers and handles live in struct e1000). */
struct e1000_state {
	uint32_t regs[E1000_REG_SPACE / 4];
	uint32_t stats[E1000_NR_STATS];
	uint32_t ioaddr;
	uint16_t phy[32];
	bool link_up;                 /* the cable, as net.c last told us */
	/* Microwire EEPROM interface (EECD bit-banging) */
	uint32_t mw_in;               /* bits shifted in since the start bit */
	uint32_t mw_nbits;
	int32_t mw_out;               /* bit position read out (word * 16 + bit), -1 = dummy */
	bool mw_reading;
	/* TX */
	struct e1000_tx_ctx ctx, tso_ctx;   /* last context of each kind */
	struct e1000_tx_ctx act;      /* the one the packet in progress uses */
	bool tx_started;              /* a packet's first data descriptor was seen */
	bool tx_bad;                  /* drop the packet in progress at its EOP */
	bool tx_tse;
	uint8_t tx_popts;
	uint32_t tx_len;              /* bytes in tx_buf */
	uint32_t tso_sent;            /* TSO: payload bytes already sent */
	uint32_t tso_frames;          /* TSO: segments already sent */
	uint8_t tso_hdr[256];         /* TSO: the packet's header as the guest wrote it */
	/* Interrupts and delays */
	bool irq_level;
	int64_t itr_next;             /* no assertion before this (ITR) */
	bool armed[TM_COUNT];
	int64_t deadline[TM_COUNT];
};

struct e1000 {
	struct pci_function pci;
	struct device *dev;
	struct net_backend *net;
	bool attached;
	uint8_t mac[6];
	uint16_t eeprom[EEPROM_WORDS];
	struct host_timer *timers[TM_COUNT];
	uint8_t *tx_buf;              /* NET_FRAME_MAX */
	uint8_t *rx_buf;              /* E1000_RX_BUF */
	unsigned int unknown_logged;
	size_t tx_budget;             /* bytes of work left in this pass over the TX ring */
	struct e1000_state st;
};

#define REG(s, off) ((s)->st.regs[(off) >> 2])

static inline struct e1000 *to_e1000(struct device *dev)
{
	return dev->priv;
}

static uint16_t get16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

static uint16_t get16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
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

/* ---- Internet checksums (RFC 1071) ---- */

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Add the big-endian 16-bit words of @p to @sum (an odd last byte is the
 * high half of a word), so that callers can mix in host-order values
 * (protocol, lengths) for the pseudo-header.  offload.c sums in the
 * data's byte order; its folded sum, read back in network order, is the
 * same ones'-complement sum (RFC 1071, 2.(B)).
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	uint16_t folded = (uint16_t)~net_csum_finish(net_csum_add(0, p, len));
	uint8_t be[2];

	memcpy(be, &folded, 2);
	return sum + (uint64_t)(be[0] << 8 | be[1]);
}

/* Store the checksum of bytes [start, end] (inclusive; end 0 = to the last byte) at @at. */
static void csum_insert(uint8_t *buf, size_t len, unsigned int start, unsigned int end,
			unsigned int at)
{
	size_t last = end && end < len ? end : len - 1;

	if (!len || start > last || (size_t)at + 2 > len)
		return;
	put16be(buf + at, (uint16_t)~csum_fold(csum_add(0, buf + start, last - start + 1)));
}

/* ---- clock, timers, interrupts ---- */

static int64_t e1000_now(struct e1000 *s)
{
	struct dev_host *h = s->dev->host;

	return h->clock_monotonic_ns ? h->clock_monotonic_ns(h->clock_opaque) : 0;
}

static void e1000_timer_arm(struct e1000 *s, enum e1000_timer_id t, int64_t deadline)
{
	s->st.armed[t] = true;
	s->st.deadline[t] = deadline;
	host_timer_arm(s->timers[t], deadline, 0);
}

static void e1000_timer_cancel(struct e1000 *s, enum e1000_timer_id t)
{
	s->st.armed[t] = false;
	host_timer_cancel(s->timers[t]);
}

/*
 * Drive INTx from ICR & IMS.  A rising edge is held back until the ITR
 * interval (in 256 ns units) since the last one has passed (SDM 13.4.18).
 */
static void e1000_update_irq(struct e1000 *s)
{
	uint32_t itr = REG(s, REG_ITR) & 0xffff;
	int64_t now;

	if (!(REG(s, REG_ICR) & REG(s, REG_IMS))) {
		if (s->st.irq_level) {
			s->st.irq_level = false;
			pci_set_irq(&s->pci, 0);
		}
		return;
	}
	if (s->st.irq_level)
		return;
	now = e1000_now(s);
	if (itr && s->timers[TM_ITR] && now < s->st.itr_next) {
		if (!s->st.armed[TM_ITR])
			e1000_timer_arm(s, TM_ITR, s->st.itr_next);
		return;
	}
	s->st.irq_level = true;
	s->st.itr_next = now + (int64_t)itr * 256;
	pci_set_irq(&s->pci, 1);
}

static void e1000_raise(struct e1000 *s, uint32_t causes)
{
	REG(s, REG_ICR) |= causes;
	e1000_update_irq(s);
}

static void e1000_itr_fire(void *opaque)
{
	struct e1000 *s = opaque;

	s->st.armed[TM_ITR] = false;
	e1000_update_irq(s);
}

/*
 * A cause with a packet timer and an absolute timer (SDM 3.2.7, 3.4):
 * the packet timer restarts with each event, the absolute one does not;
 * whichever expires first raises the cause.  Delays are in 1.024 us.
 */
static void e1000_delayed_cause(struct e1000 *s, enum e1000_timer_id pkt, enum e1000_timer_id abs,
				uint32_t pkt_delay, uint32_t abs_delay, uint32_t cause)
{
	int64_t now;

	if (!pkt_delay || !s->timers[pkt]) {
		e1000_timer_cancel(s, pkt);
		e1000_timer_cancel(s, abs);
		e1000_raise(s, cause);
		return;
	}
	now = e1000_now(s);
	e1000_timer_arm(s, pkt, now + (int64_t)pkt_delay * 1024);
	if (abs_delay && !s->st.armed[abs])
		e1000_timer_arm(s, abs, now + (int64_t)abs_delay * 1024);
}

static void e1000_rx_delay_fire(void *opaque)
{
	struct e1000 *s = opaque;

	e1000_timer_cancel(s, TM_RDTR);
	e1000_timer_cancel(s, TM_RADV);
	e1000_raise(s, ICR_RXT0);
}

static void e1000_tx_delay_fire(void *opaque)
{
	struct e1000 *s = opaque;

	e1000_timer_cancel(s, TM_TIDV);
	e1000_timer_cancel(s, TM_TADV);
	e1000_raise(s, ICR_TXDW);
}

/* ---- statistics ---- */

static void stat_add(struct e1000 *s, unsigned int off, uint32_t n)
{
	uint32_t *c = &s->st.stats[off / 4];

	*c = *c + n < *c ? UINT32_MAX : *c + n;     /* the counters saturate (SDM 13.7) */
}

/* A 64-bit byte counter: low dword at @off, high at @off + 4. */
static void stat_add64(struct e1000 *s, unsigned int off, uint64_t n)
{
	uint64_t v = (uint64_t)s->st.stats[off / 4 + 1] << 32 | s->st.stats[off / 4];

	v += n;
	s->st.stats[off / 4] = (uint32_t)v;
	s->st.stats[off / 4 + 1] = (uint32_t)(v >> 32);
}

static unsigned int size_bucket(size_t len)
{
	return len <= 64 ? 0 : len <= 127 ? 1 : len <= 255 ? 2 : len <= 511 ? 3 :
	       len <= 1023 ? 4 : 5;
}

static void stat_frame(struct e1000 *s, bool rx, const uint8_t *frame, size_t len)
{
	bool bcast = len >= 6 && !memcmp(frame, "\xff\xff\xff\xff\xff\xff", 6);
	bool mcast = !bcast && (frame[0] & 1);

	if (rx) {
		stat_add(s, ST_GPRC, 1);
		stat_add(s, ST_TPR, 1);
		stat_add64(s, ST_GORCL, len);
		stat_add64(s, ST_TORL, len);
		stat_add(s, ST_PRC64 + 4 * size_bucket(len), 1);
		if (bcast)
			stat_add(s, ST_BPRC, 1);
		if (mcast)
			stat_add(s, ST_MPRC, 1);
	} else {
		stat_add(s, ST_GPTC, 1);
		stat_add(s, ST_TPT, 1);
		stat_add64(s, ST_GOTCL, len);
		stat_add64(s, ST_TOTL, len);
		stat_add(s, ST_PTC64 + 4 * size_bucket(len), 1);
		if (bcast)
			stat_add(s, ST_BPTC, 1);
		if (mcast)
			stat_add(s, ST_MPTC, 1);
	}
}

/* ---- EEPROM ---- */

static void e1000_eeprom_init(struct e1000 *s)
{
	uint16_t sum = 0;

	memset(s->eeprom, 0, sizeof(s->eeprom));
	for (unsigned int i = 0; i < 3; i++)
		s->eeprom[i] = (uint16_t)(s->mac[2 * i] | s->mac[2 * i + 1] << 8);
	s->eeprom[4] = 0xffff;                  /* LED configuration: the defaults */
	s->eeprom[8] = 0x2345;                  /* PBA number, arbitrary */
	s->eeprom[9] = 0x6789;
	/* Signature 01b (bits 15:14), load the subsystem and device IDs. */
	s->eeprom[EE_ICW1] = 0x4000 | 0x0003;
	s->eeprom[EE_SUBSYS_ID] = E1000_SUBSYS_ID;
	s->eeprom[EE_SUBSYS_VEN] = PCI_VENDOR_INTEL;
	s->eeprom[EE_DEVICE_ID] = E1000_DEVICE_ID;
	s->eeprom[EE_VENDOR_ID] = PCI_VENDOR_INTEL;
	s->eeprom[EE_ICW2] = 0;                 /* no flow control (we send no PAUSE frames) */
	for (unsigned int i = 0; i < EE_CHECKSUM; i++)
		sum = (uint16_t)(sum + s->eeprom[i]);
	s->eeprom[EE_CHECKSUM] = (uint16_t)(EEPROM_SUM - sum);
}

/* EECD reads: the pins as written, DO from the Microwire state (SDM 5.6.1). */
static uint32_t e1000_eecd_read(struct e1000 *s)
{
	uint32_t v = (REG(s, REG_EECD) & EECD_WMASK) | EECD_PRES;
	int32_t pos = s->st.mw_out;

	if (v & EECD_REQ)
		v |= EECD_GNT;
	if (s->st.mw_reading && pos >= 0 &&
	    (s->eeprom[(pos / 16) % EEPROM_WORDS] >> (15 - pos % 16)) & 1)
		v |= EECD_DO;
	return v;
}

/*
 * A 93C46-style Microwire EEPROM in 16-bit mode: CS high starts a
 * command; on each rising SK edge DI is shifted in (leading zeros before
 * the start bit are ignored); after the start bit, a 2-bit opcode and 6
 * address bits, READ drives a dummy 0 and then the word's bits MSB first
 * on DO, one per falling SK edge, running on into the next words.
 * Writes and erases are not supported (the contents are derived).
 */
static void e1000_eecd_write(struct e1000 *s, uint32_t val)
{
	uint32_t old = REG(s, REG_EECD);

	REG(s, REG_EECD) = val & EECD_WMASK;
	if (!(val & EECD_CS)) {
		s->st.mw_in = 0;
		s->st.mw_nbits = 0;
		s->st.mw_reading = false;
		return;
	}
	if (!(old & EECD_CS)) {     /* CS rising: a new command */
		s->st.mw_in = 0;
		s->st.mw_nbits = 0;
		s->st.mw_reading = false;
	}
	if (!((old ^ val) & EECD_SK))
		return;
	if (!(val & EECD_SK)) {     /* falling edge: next output bit */
		if (s->st.mw_reading && s->st.mw_out < EEPROM_WORDS * 16 * 2)
			s->st.mw_out++;
		return;
	}
	if (s->st.mw_reading)
		return;
	if (!s->st.mw_nbits && !(val & EECD_DI))
		return;                 /* still waiting for the start bit */
	s->st.mw_in = s->st.mw_in << 1 | !!(val & EECD_DI);
	if (++s->st.mw_nbits == 1 + 2 + MW_ADDR_BITS) {
		uint32_t op = (s->st.mw_in >> MW_ADDR_BITS) & 3;
		uint32_t addr = s->st.mw_in & ((1u << MW_ADDR_BITS) - 1);

		if (op == MW_OP_READ) {
			s->st.mw_reading = true;
			s->st.mw_out = (int32_t)(addr * 16) - 1;
		}
		s->st.mw_nbits = 0;
		s->st.mw_in = 0;
	}
}

static void e1000_eerd_write(struct e1000 *s, uint32_t val)
{
	uint32_t addr = (val >> EERD_ADDR_SHIFT) & 0xff;

	if (!(val & EERD_START)) {
		REG(s, REG_EERD) = val & (0xffu << EERD_ADDR_SHIFT);
		return;
	}
	/* Done at once; addresses past the part read as all-ones. */
	REG(s, REG_EERD) = (uint32_t)(addr < EEPROM_WORDS ? s->eeprom[addr] : 0xffff)
			   << EERD_DATA_SHIFT | addr << EERD_ADDR_SHIFT | EERD_DONE;
}

/* ---- PHY ---- */

static void e1000_phy_update_link(struct e1000 *s)
{
	uint16_t *p = s->st.phy;
	bool up = s->st.link_up;

	p[PHY_BMSR] = BMSR_BASE | (up ? BMSR_LINK | BMSR_ANEG_DONE : 0);
	p[PHY_ANLPAR] = up ? 0x45e1 : 0;    /* link partner: ack, pause, 100/10 FD/HD */
	p[PHY_ANER] = up ? 0x0001 : 0;
	p[PHY_1000T_STATUS] = up ? 0x3c00 : 0;  /* local/remote OK, partner 1000 FD/HD */
	/* M88 specific status: 1000 Mb/s, full duplex, resolved, link */
	p[PHY_SPEC_STATUS] = up ? 0xac00 : 0;
}

static void e1000_phy_reset(struct e1000 *s)
{
	uint16_t *p = s->st.phy;

	memset(s->st.phy, 0, sizeof(s->st.phy));
	p[PHY_BMCR] = 0x1140;           /* autonegotiation on, full duplex, 1000 Mb/s */
	p[PHY_ID1] = 0x0141;            /* Marvell OUI */
	p[PHY_ID2] = 0x0c20;            /* 88E1011, revision 0 */
	p[PHY_ANAR] = 0x01e1;
	p[PHY_1000T_CTRL] = 0x0300;
	p[PHY_EXT_STATUS] = 0x3000;
	p[PHY_SPEC_CTRL] = 0x0068;
	p[PHY_EXT_SPEC_CTRL] = 0x0d60;
	e1000_phy_update_link(s);
}

static bool phy_reg_read_only(unsigned int reg)
{
	return reg == PHY_BMSR || reg == PHY_ID1 || reg == PHY_ID2 || reg == PHY_ANLPAR ||
	       reg == PHY_ANER || reg == PHY_1000T_STATUS || reg == PHY_EXT_STATUS ||
	       reg == PHY_SPEC_STATUS || reg == 21;
}

static void e1000_phy_write(struct e1000 *s, unsigned int reg, uint16_t val)
{
	if (phy_reg_read_only(reg))
		return;
	if (reg == PHY_BMCR) {
		if (val & BMCR_RESET)
			e1000_phy_reset(s);
		/* Reset and restart complete at once: the link partner is always there. */
		val &= (uint16_t)~(BMCR_RESET | BMCR_ANRESTART);
	}
	s->st.phy[reg] = val;
}

static void e1000_mdic_write(struct e1000 *s, uint32_t val)
{
	unsigned int reg = (val >> MDIC_REG_SHIFT) & 0x1f;
	unsigned int phy = (val >> MDIC_PHY_SHIFT) & 0x1f;
	uint32_t op = val & (3u << 26);
	uint32_t res = val & ~(MDIC_READY | MDIC_ERROR);

	if (phy != PHY_ADDR || (op != MDIC_OP_READ && op != MDIC_OP_WRITE)) {
		res |= MDIC_ERROR;
	} else if (op == MDIC_OP_READ) {
		res = (res & ~0xffffu) | s->st.phy[reg];
	} else {
		e1000_phy_write(s, reg, (uint16_t)val);
	}
	REG(s, REG_MDIC) = res | MDIC_READY;
	if (val & MDIC_INT_EN)
		e1000_raise(s, ICR_MDAC);
}

/* ---- receive ---- */

static unsigned int e1000_rx_buf_size(struct e1000 *s)
{
	uint32_t rctl = REG(s, REG_RCTL);
	unsigned int code = (rctl >> RCTL_BSIZE_SHIFT) & 3;

	if (rctl & RCTL_BSEX)
		return code ? 32768u >> code : 2048;    /* 16K, 8K, 4K; 00b reserved */
	return 2048u >> code;                         /* 2K, 1K, 512, 256 */
}

static unsigned int e1000_rx_ring_size(struct e1000 *s)
{
	return (REG(s, REG_RDLEN) & 0xfff80) / DESC_SIZE;
}

/* Does the destination of @f pass the address filters (SDM 3.2.1)? */
static bool e1000_rx_filter(struct e1000 *s, const uint8_t *f, size_t len)
{
	uint32_t rctl = REG(s, REG_RCTL);
	bool bcast = !memcmp(f, "\xff\xff\xff\xff\xff\xff", 6);

	/* VLAN filter: tagged frames' VLAN IDs must be in VFTA (SDM 3.2.1.1). */
	if ((rctl & RCTL_VFE) && len >= 18 && get16be(f + 12) == (REG(s, REG_VET) & 0xffff)) {
		unsigned int vid = get16be(f + 14) & 0xfff;

		if (!(REG(s, REG_VFTA + (vid >> 5) * 4) >> (vid & 31) & 1))
			return false;
	}
	if (bcast && (rctl & RCTL_BAM))
		return true;
	if ((f[0] & 1) ? (rctl & RCTL_MPE) : (rctl & RCTL_UPE))
		return true;
	for (unsigned int i = 0; i < 16; i++) {
		uint32_t lo = REG(s, REG_RA + 8 * i), hi = REG(s, REG_RA + 8 * i + 4);

		if ((hi & RAH_AV) && get32le(f) == lo && get16le(f + 4) == (uint16_t)hi)
			return true;
	}
	if (f[0] & 1) {
		/* Multicast hash: 12 bits of the address, where RCTL.MO says (SDM 13.5.1). */
		static const unsigned int shift[4] = { 4, 3, 2, 0 };
		unsigned int mo = (rctl >> RCTL_MO_SHIFT) & 3;
		uint32_t hash = ((uint32_t)f[4] >> shift[mo] | (uint32_t)f[5] << (8 - shift[mo])) &
				0xfff;

		return REG(s, REG_MTA + (hash >> 5) * 4) >> (hash & 31) & 1;
	}
	return false;
}

/* RXCSUM: IPv4 header and TCP/UDP checksums of a received frame (SDM 3.2.9). */
static void e1000_rx_checksum(struct e1000 *s, const uint8_t *f, size_t len, uint8_t *status,
			      uint8_t *errors)
{
	uint32_t rxcsum = REG(s, REG_RXCSUM);
	const uint8_t *ip = f + ETH_HLEN;
	unsigned int ihl, tot, proto;
	uint64_t sum;

	if (!(rxcsum & (RXCSUM_IPOFL | RXCSUM_TUOFL))) {
		*status |= RXD_STAT_IXSM;
		return;
	}
	if (len < ETH_HLEN + 20 || get16be(f + 12) != 0x0800 || (ip[0] >> 4) != 4)
		return;
	ihl = (ip[0] & 15) * 4u;
	tot = get16be(ip + 2);
	if (ihl < 20 || tot < ihl || ETH_HLEN + (size_t)tot > len)
		return;
	if (rxcsum & RXCSUM_IPOFL) {
		*status |= RXD_STAT_IPCS;
		if (csum_fold(csum_add(0, ip, ihl)) != 0xffff)
			*errors |= RXD_ERR_IPE;
	}
	proto = ip[9];
	if (!(rxcsum & RXCSUM_TUOFL) || (get16be(ip + 6) & 0x3fff) || (proto != 6 && proto != 17))
		return;
	if (proto == 17 && (tot - ihl < 8 || get16be(ip + ihl + 6) == 0)) {
		*status |= RXD_STAT_TCPCS;  /* UDP without a checksum */
		return;
	}
	if (proto == 6 && tot - ihl < 20)
		return;
	sum = csum_add(0, ip + 12, 8) + proto + (tot - ihl);
	sum = csum_add(sum, ip + ihl, tot - ihl);
	*status |= RXD_STAT_TCPCS;
	if (csum_fold(sum) != 0xffff)
		*errors |= RXD_ERR_TCPE;
}

/*
 * One frame from the back end into the guest's ring.  false: it needs
 * more free descriptors than the guest posted (net.c keeps it).
 */
static bool e1000_rx_frame(struct e1000 *s, const struct iovec *iov, int iovcnt, size_t len)
{
	uint32_t rctl = REG(s, REG_RCTL);
	unsigned int n = e1000_rx_ring_size(s), bsize = e1000_rx_buf_size(s);
	uint32_t rdh = REG(s, REG_RDH), rdt = REG(s, REG_RDT);
	uint64_t base = (uint64_t)REG(s, REG_RDBAH) << 32 | REG(s, REG_RDBAL);
	uint8_t *f = s->rx_buf, status = 0, errors = 0;
	uint16_t special = 0;
	size_t off = 0, total, max, avail;
	unsigned int need;

	if (!(rctl & RCTL_EN) || !pci_bus_master(&s->pci) || len < ETH_HLEN || len > NET_FRAME_MAX)
		return true;            /* receiver off: the frame is lost, as on the wire */
	for (int i = 0; i < iovcnt && off < len; i++) {
		size_t k = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;

		memcpy(f + off, iov[i].iov_base, k);
		off += k;
	}
	len = off;
	if (len < ETH_HLEN)
		return true;
	max = (rctl & RCTL_LPE) ? E1000_LPE_MAX - ETH_FCS_LEN :
	      get16be(f + 12) == (REG(s, REG_VET) & 0xffff) ? ETH_MAX_TAGGED : ETH_MAX_UNTAGGED;
	if (len > max) {
		stat_add(s, ST_ROC, 1);     /* oversize (SDM 13.7: ROC) */
		return true;
	}
	if (!e1000_rx_filter(s, f, len))
		return true;
	/* VLAN tag stripping into the descriptor (CTRL.VME, SDM 9.3). */
	if ((REG(s, REG_CTRL) & CTRL_VME) && len >= 18 &&
	    get16be(f + 12) == (REG(s, REG_VET) & 0xffff)) {
		special = get16be(f + 14);
		status |= RXD_STAT_VP;
		memmove(f + 12, f + 16, len - 16);
		len -= 4;
	}
	if (len < ETH_ZLEN) {           /* padded as the wire would have it */
		memset(f + len, 0, ETH_ZLEN - len);
		len = ETH_ZLEN;
	}
	e1000_rx_checksum(s, f, len, &status, &errors);
	total = len;
	if (!(rctl & RCTL_SECRC)) {
		/*
		 * The FCS stays in the buffer unless stripped, and drivers take
		 * its 4 bytes off the length (Linux's e1000 does).  Its value is
		 * written as zeros: the frame never crossed a wire, no driver
		 * checks it, and a CRC-32 per frame cost 80% of the receive path.
		 */
		memset(f + len, 0, ETH_FCS_LEN);
		total += ETH_FCS_LEN;
	}

	if (!n || rdh >= n || rdt >= n) {
		device_log(s->dev, "RX ring unusable (RDLEN 0x%x, RDH %u, RDT %u)",
			   REG(s, REG_RDLEN), rdh, rdt);
		return false;           /* wait for the guest to set it up */
	}
	need = (unsigned int)((total + bsize - 1) / bsize);
	avail = (rdt + n - rdh) % n;
	if (need > n - 1) {
		device_log(s->dev, "RX frame of %zu bytes needs %u descriptors, the ring has %u",
			   total, need, n);
		stat_add(s, ST_MPC, 1);
		return true;
	}
	if (need > avail) {
		stat_add(s, ST_RNBC, 1);
		e1000_raise(s, ICR_RXO);
		return false;
	}
	for (off = 0; off < total; ) {
		uint8_t d[DESC_SIZE], wb[8];
		uint64_t gpa = base + (uint64_t)rdh * DESC_SIZE;
		size_t k = total - off < bsize ? total - off : bsize;
		bool last = off + k == total;

		if (gm_read(s->dev->host->mem, gpa, d, sizeof(d))) {
			device_log(s->dev, "RX descriptor %u at 0x%llx outside RAM", rdh,
				   (unsigned long long)gpa);
			break;
		}
		if (gm_write(s->dev->host->mem, get32le(d) | (uint64_t)get32le(d + 4) << 32,
			     f + off, k))
			device_log(s->dev, "RX buffer of descriptor %u outside RAM", rdh);
		put16le(wb, (uint16_t)k);
		put16le(wb + 2, 0);
		wb[4] = (uint8_t)(RXD_STAT_DD | (last ? RXD_STAT_EOP | status : 0));
		wb[5] = last ? errors : 0;
		put16le(wb + 6, last ? special : 0);
		(void)gm_write(s->dev->host->mem, gpa + 8, wb, sizeof(wb));
		off += k;
		rdh = (rdh + 1) % n;
	}
	REG(s, REG_RDH) = rdh;
	stat_frame(s, true, f, len);
	/* Free descriptors down to RCTL.RDMTS of the ring (1/2, 1/4, 1/8). */
	if ((rdt + n - rdh) % n <= n >> (((rctl >> RCTL_RDMTS_SHIFT) & 3) + 1))
		e1000_raise(s, ICR_RXDMT0);
	e1000_delayed_cause(s, TM_RDTR, TM_RADV, REG(s, REG_RDTR) & 0xffff,
			    REG(s, REG_RADV) & 0xffff, ICR_RXT0);
	return true;
}

static bool e1000_receive(void *opaque, const struct iovec *iov, int iovcnt, size_t len)
{
	struct e1000 *s = opaque;
	bool taken;

	pthread_mutex_lock(&s->dev->lock);
	taken = e1000_rx_frame(s, iov, iovcnt, len);
	pthread_mutex_unlock(&s->dev->lock);
	return taken;
}

/* The guest posted buffers or turned the receiver on: let net.c deliver. */
static void e1000_rx_kick(struct e1000 *s)
{
	if (s->net && (REG(s, REG_RCTL) & RCTL_EN))
		net_rx_ready(s->net);
}

static void e1000_set_link(struct e1000 *s, bool up)
{
	if (s->st.link_up == up)
		return;
	s->st.link_up = up;
	e1000_phy_update_link(s);
	e1000_raise(s, ICR_LSC);
}

static void e1000_link_changed(void *opaque, bool up)
{
	struct e1000 *s = opaque;

	pthread_mutex_lock(&s->dev->lock);
	e1000_set_link(s, up);
	pthread_mutex_unlock(&s->dev->lock);
}

static const struct net_port_ops e1000_port_ops = {
	.receive = e1000_receive,
	.link_changed = e1000_link_changed,
};

/* ---- transmit ---- */

/* Put one frame on the wire, with an 802.1Q tag inserted if asked (SDM 3.3.3.1). */
static void e1000_tx_send(struct e1000 *s, uint8_t *buf, size_t len, bool vle, uint16_t vlan)
{
	uint8_t tag[4];
	struct iovec iov[3];
	int cnt = 1;

	if (len < ETH_HLEN)
		return;
	iov[0].iov_base = buf;
	iov[0].iov_len = len;
	if (vle && (REG(s, REG_CTRL) & CTRL_VME)) {
		put16be(tag, (uint16_t)REG(s, REG_VET));
		put16be(tag + 2, vlan);
		iov[0].iov_len = 12;
		iov[1].iov_base = tag;
		iov[1].iov_len = 4;
		iov[2].iov_base = buf + 12;
		iov[2].iov_len = len - 12;
		cnt = 3;
		len += 4;
	}
	stat_frame(s, false, buf, len);
	/* A frame costs its bytes and a fixed part, so tiny TSO segments count too. */
	s->tx_budget = s->tx_budget > len + 512 ? s->tx_budget - len - 512 : 0;
	if (s->net)
		net_send(s->net, iov, cnt, len);
}

/* Offloads for a whole packet (no TSO): checksums as the context says. */
static void e1000_tx_offload(struct e1000 *s, uint8_t *buf, size_t len)
{
	const struct e1000_tx_ctx *c = &s->st.act;

	if (s->st.tx_popts & POPTS_IXSM)
		csum_insert(buf, len, c->ipcss, c->ipcse, c->ipcso);
	if (s->st.tx_popts & POPTS_TXSM)
		csum_insert(buf, len, c->tucss, c->tucse, c->tucso);
}

/* Is the TSO context usable?  Else the packet is dropped. */
static bool e1000_tso_valid(struct e1000 *s)
{
	const struct e1000_tx_ctx *c = &s->st.act;

	if (c->mss == 0 || c->hdrlen < ETH_HLEN || (size_t)c->hdrlen + c->mss > NET_FRAME_MAX ||
	    (c->paylen + c->mss - 1) / c->mss > TSO_MAX_SEGMENTS) {
		device_log(s->dev, "TSO context unusable (HDRLEN %u, MSS %u, PAYLEN %u)",
			   c->hdrlen, c->mss, c->paylen);
		return false;
	}
	return true;
}

/*
 * Send the segment in tx_buf (header + up to MSS of payload), its headers
 * fixed as SDM 3.5.3 says: IP total length and identification (IPv4) or
 * payload length (IPv6), TCP sequence number, FIN/PSH only on the last,
 * UDP length, and the checksums with the pseudo-header's length added.
 */
static void e1000_tso_emit(struct e1000 *s, bool last, bool vle, uint16_t vlan)
{
	const struct e1000_tx_ctx *c = &s->st.act;
	uint8_t *b = s->tx_buf;
	size_t len = s->st.tx_len, payload = len - c->hdrlen;
	unsigned int ip = c->ipcss, l4 = c->tucss;

	if (c->tucmd & TUCMD_IP) {
		if ((size_t)ip + 6 <= c->hdrlen) {
			put16be(b + ip + 2, (uint16_t)(len - ip));
			put16be(b + ip + 4, (uint16_t)(get16be(b + ip + 4) + s->st.tso_frames));
		}
	} else if ((size_t)ip + 6 <= c->hdrlen && len >= ip + 40u) {
		put16be(b + ip + 4, (uint16_t)(len - ip - 40));
	}
	if (c->tucmd & TUCMD_TCP) {
		if ((size_t)l4 + 14 <= c->hdrlen) {
			put32be(b + l4 + 4, get32be(b + l4 + 4) + s->st.tso_sent);
			if (!last)
				b[l4 + 13] &= (uint8_t)~0x09;   /* FIN, PSH */
		}
	} else if ((size_t)l4 + 6 <= c->hdrlen && len >= l4) {
		put16be(b + l4 + 4, (uint16_t)(len - l4));
	}
	if (s->st.tx_popts & POPTS_IXSM)
		csum_insert(b, len, ip, c->ipcse, c->ipcso);
	if ((s->st.tx_popts & POPTS_TXSM) && (size_t)c->tucso + 2 <= c->hdrlen && len >= l4) {
		/* The driver left the pseudo-header sum without the length there. */
		uint64_t ph = (uint64_t)get16be(b + c->tucso) + (len - l4);

		put16be(b + c->tucso, csum_fold(ph));
		csum_insert(b, len, l4, c->tucse, c->tucso);
	}
	e1000_tx_send(s, b, len, vle, vlan);
	s->st.tso_sent += (uint32_t)payload;
	s->st.tso_frames++;
	/* The next segment starts from the header as the guest wrote it. */
	memcpy(b, s->st.tso_hdr, c->hdrlen);
	s->st.tx_len = c->hdrlen;
}

/* Copy @len bytes at @gpa into tx_buf at tx_len; false if outside RAM. */
static bool e1000_tx_fetch(struct e1000 *s, uint64_t gpa, size_t len)
{
	if (gm_read(s->dev->host->mem, gpa, s->tx_buf + s->st.tx_len, len)) {
		device_log(s->dev, "TX buffer 0x%llx+%zu outside RAM", (unsigned long long)gpa, len);
		return false;
	}
	s->st.tx_len += (uint32_t)len;
	s->tx_budget = s->tx_budget > len ? s->tx_budget - len : 0;
	return true;
}

/* A data descriptor's buffer, for a TSO packet: cut into segments as it comes. */
static void e1000_tso_data(struct e1000 *s, uint64_t gpa, size_t len, bool vle, uint16_t vlan)
{
	const struct e1000_tx_ctx *c = &s->st.act;

	while (len && !s->st.tx_bad) {
		size_t room, k;

		if (s->st.tx_len < c->hdrlen) {
			k = c->hdrlen - s->st.tx_len < len ? c->hdrlen - s->st.tx_len : len;
			if (!e1000_tx_fetch(s, gpa, k)) {
				s->st.tx_bad = true;
				return;
			}
			if (s->st.tx_len == c->hdrlen)
				memcpy(s->st.tso_hdr, s->tx_buf, c->hdrlen);
		} else {
			if (s->st.tso_sent + (s->st.tx_len - c->hdrlen) >= c->paylen)
				return;         /* past PAYLEN: ignored */
			if (s->st.tx_len == (size_t)c->hdrlen + c->mss)
				e1000_tso_emit(s, false, vle, vlan);
			room = (size_t)c->hdrlen + c->mss - s->st.tx_len;
			k = room < len ? room : len;
			if (k > c->paylen - s->st.tso_sent - (s->st.tx_len - c->hdrlen))
				k = c->paylen - s->st.tso_sent - (s->st.tx_len - c->hdrlen);
			if (!e1000_tx_fetch(s, gpa, k)) {
				s->st.tx_bad = true;
				return;
			}
		}
		gpa += k;
		len -= k;
	}
}

static void e1000_tx_packet_end(struct e1000 *s)
{
	s->st.tx_started = false;
	s->st.tx_bad = false;
	s->st.tx_len = 0;
	s->st.tso_sent = 0;
	s->st.tso_frames = 0;
}

/* One descriptor (SDM 3.3): returns its command byte. */
static uint8_t e1000_tx_desc(struct e1000 *s, const uint8_t *d)
{
	uint64_t addr = get32le(d) | (uint64_t)get32le(d + 4) << 32;
	uint32_t lower = get32le(d + 8), upper = get32le(d + 12);
	uint8_t cmd = (uint8_t)(lower >> 24);
	size_t len;
	bool vle = cmd & TXD_VLE;
	uint16_t vlan = (uint16_t)(upper >> 16);

	if (cmd & TXD_DEXT) {
		unsigned int dtyp = (lower >> 20) & 0xf;

		if (dtyp == DTYP_CONTEXT) {
			struct e1000_tx_ctx *c = (cmd & TXD_TSE) ? &s->st.tso_ctx : &s->st.ctx;

			c->ipcss = d[0];
			c->ipcso = d[1];
			c->ipcse = get16le(d + 2);
			c->tucss = d[4];
			c->tucso = d[5];
			c->tucse = get16le(d + 6);
			c->paylen = lower & 0xfffff;
			c->tucmd = cmd;
			c->hdrlen = d[13];
			c->mss = get16le(d + 14);
			if (cmd & TXD_TSE)
				stat_add(s, ST_TSCTC, 1);
			return cmd;
		}
		if (dtyp != DTYP_DATA) {
			device_log(s->dev, "TX descriptor type %u skipped", dtyp);
			return cmd;
		}
		len = lower & 0xfffff;
		if (!s->st.tx_started) {
			s->st.tx_started = true;
			s->st.tx_popts = (uint8_t)(upper >> 8);
			s->st.tx_tse = cmd & TXD_TSE;
			s->st.act = s->st.tx_tse ? s->st.tso_ctx : s->st.ctx;
			if (s->st.tx_tse && !e1000_tso_valid(s)) {
				s->st.tx_bad = true;
				stat_add(s, ST_TSCTFC, 1);
			}
		}
	} else {
		len = lower & 0xffff;
		if (!s->st.tx_started) {
			s->st.tx_started = true;
			s->st.tx_popts = 0;
			s->st.tx_tse = false;
		}
	}

	if (s->st.tx_bad || !len) {
		/* nothing to fetch */
	} else if (s->st.tx_tse) {
		e1000_tso_data(s, addr, len, vle, vlan);
	} else if (s->st.tx_len + len > NET_FRAME_MAX) {
		device_log(s->dev, "TX packet longer than %u bytes dropped", NET_FRAME_MAX);
		s->st.tx_bad = true;
	} else if (!e1000_tx_fetch(s, addr, len)) {
		s->st.tx_bad = true;
	}

	if (!(cmd & TXD_EOP))
		return cmd;
	if (!s->st.tx_bad) {
		if (s->st.tx_tse) {
			if (s->st.tx_len >= s->st.act.hdrlen && (s->st.tx_len > s->st.act.hdrlen ||
								 !s->st.tso_frames))
				e1000_tso_emit(s, true, vle, vlan);
		} else {
			if (!(cmd & TXD_DEXT) && (cmd & TXD_IC))
				/* legacy: CSO at byte 10, CSS at byte 13 */
				csum_insert(s->tx_buf, s->st.tx_len, d[13], 0, d[10]);
			else if (cmd & TXD_DEXT)
				e1000_tx_offload(s, s->tx_buf, s->st.tx_len);
			e1000_tx_send(s, s->tx_buf, s->st.tx_len, vle, vlan);
		}
	}
	e1000_tx_packet_end(s);
	return cmd;
}

static unsigned int e1000_tx_ring_size(struct e1000 *s)
{
	return (REG(s, REG_TDLEN) & 0xfff80) / DESC_SIZE;
}

/*
 * Process the descriptors from TDH to TDT (SDM 3.3.1).  At most one ring's
 * worth and TX_BUDGET_BYTES of data per call; the rest continues on the
 * loop (TM_TX), so neither a vCPU nor the loop is held for long.
 */
static void e1000_tx_run(struct e1000 *s)
{
	unsigned int n = e1000_tx_ring_size(s);
	uint32_t tdh = REG(s, REG_TDH), tdt = REG(s, REG_TDT);
	uint64_t base = (uint64_t)REG(s, REG_TDBAH) << 32 | REG(s, REG_TDBAL);
	bool written = false, delayed = false, stuck = false;

	if (!(REG(s, REG_TCTL) & TCTL_EN) || !pci_bus_master(&s->pci) || !n)
		return;
	if (tdh >= n || tdt >= n) {
		device_log(s->dev, "TX ring: TDH %u or TDT %u beyond its %u descriptors", tdh, tdt,
			   n);
		return;
	}
	s->tx_budget = TX_BUDGET_BYTES;
	for (unsigned int i = 0; i < n && tdh != tdt && s->tx_budget; i++) {
		uint64_t gpa = base + (uint64_t)tdh * DESC_SIZE;
		uint8_t d[DESC_SIZE], cmd;

		if (gm_read(s->dev->host->mem, gpa, d, sizeof(d))) {
			device_log(s->dev, "TX descriptor %u at 0x%llx outside RAM", tdh,
				   (unsigned long long)gpa);
			stuck = true;   /* until the guest writes TDT again */
			break;
		}
		cmd = e1000_tx_desc(s, d);
		if (cmd & TXD_RS) {
			uint8_t st = d[12] | TXD_STAT_DD;

			(void)gm_write(s->dev->host->mem, gpa + 12, &st, 1);
			written = true;
			delayed |= (cmd & TXD_IDE) != 0;
		}
		tdh = (tdh + 1) % n;
		REG(s, REG_TDH) = tdh;
	}
	/* Only the budget stopped us: the rest on the loop. */
	if (tdh != tdt && !stuck && s->timers[TM_TX] && !s->st.armed[TM_TX])
		e1000_timer_arm(s, TM_TX, 0);
	if (written) {
		if (delayed)
			e1000_delayed_cause(s, TM_TIDV, TM_TADV, REG(s, REG_TIDV) & 0xffff,
					    REG(s, REG_TADV) & 0xffff, ICR_TXDW);
		else
			e1000_raise(s, ICR_TXDW);
	}
	if (tdh == tdt)
		e1000_raise(s, ICR_TXQE);
}

static void e1000_tx_fire(void *opaque)
{
	struct e1000 *s = opaque;

	s->st.armed[TM_TX] = false;
	e1000_tx_run(s);
}

/* ---- registers ---- */

/* Registers kept as written, without side effects. */
static bool e1000_reg_plain(uint32_t off)
{
	switch (off) {
	case REG_CTRL_EXT: case REG_FLA: case REG_FCAL: case REG_FCAH: case REG_FCT:
	case REG_VET: case REG_FCTTV: case REG_TXCW: case REG_TIPG: case REG_AIT:
	case REG_LEDCTL: case REG_PBA: case REG_FCRTL: case REG_FCRTH:
	case REG_RDFH: case REG_RDFT: case REG_RDFHS: case REG_RDFTS: case REG_RDFPC:
	case REG_RDBAH: case REG_RXDCTL: case REG_RSRPD: case REG_TXDMAC:
	case REG_TDFH: case REG_TDFT: case REG_TDFHS: case REG_TDFTS: case REG_TDFPC:
	case REG_TDBAH: case REG_TXDCTL: case REG_TSPMT: case REG_RXCSUM:
	case REG_WUC: case REG_WUFC: case REG_WUS: case REG_MANC: case REG_IPAV:
	case REG_WUPL:
		return true;
	}
	return (off >= REG_MTA && off < REG_MTA + 128 * 4) ||
	       (off >= REG_RA && off < REG_RA + 16 * 8) ||
	       (off >= REG_VFTA && off < REG_VFTA + 128 * 4) ||
	       (off >= REG_IP4AT && off < REG_IP4AT + 4 * 8) ||
	       (off >= REG_IP6AT && off < REG_IP6AT + 16) ||
	       (off >= REG_WUPM && off < REG_WUPM + 128) ||
	       (off >= REG_FFLT && off < REG_FFLT + 4 * 8);
}

/* Known but not modelled: flexible filter tables and packet buffer memory. */
static bool e1000_reg_ignored(uint32_t off)
{
	return (off >= 0x9000 && off < 0xa000) || off >= 0x10000;
}

static void e1000_log_unknown(struct e1000 *s, const char *what, uint32_t off)
{
	if (s->unknown_logged >= 8)
		return;
	s->unknown_logged++;
	device_log(s->dev, "%s of unimplemented register 0x%05x (read 0, write ignored)", what,
		   off);
}

static uint32_t e1000_status(struct e1000 *s)
{
	return STATUS_FD | STATUS_SPD_1000 | (s->st.link_up ? STATUS_LU : 0);
}

static uint32_t e1000_reg_read(struct e1000 *s, uint32_t off)
{
	uint32_t v;

	switch (off) {
	case REG_STATUS:
		return e1000_status(s);
	case REG_EECD:
		return e1000_eecd_read(s);
	case REG_ICR:
		/* Read to clear (SDM 13.4.17). */
		v = REG(s, REG_ICR);
		REG(s, REG_ICR) = 0;
		e1000_update_irq(s);
		return v;
	case REG_ICS:
	case REG_IMC:
		return 0;               /* write-only */
	case REG_RXCW:
		return 0x0c000000;      /* /C/ ordered sets, synchronised; unused with copper */
	case REG_CTRL: case REG_EERD: case REG_MDIC: case REG_ITR: case REG_IMS:
	case REG_RCTL: case REG_TCTL: case REG_RDBAL: case REG_RDLEN: case REG_RDH:
	case REG_RDT: case REG_RDTR: case REG_RADV: case REG_TDBAL: case REG_TDLEN:
	case REG_TDH: case REG_TDT: case REG_TIDV: case REG_TADV:
		return REG(s, off);
	}
	if (off >= REG_STATS && off < REG_STATS_END) {
		/* Clear on read (SDM 13.7). */
		v = s->st.stats[(off - REG_STATS) / 4];
		s->st.stats[(off - REG_STATS) / 4] = 0;
		return v;
	}
	if (off < E1000_REG_SPACE && e1000_reg_plain(off))
		return REG(s, off);
	if (!e1000_reg_ignored(off))
		e1000_log_unknown(s, "read", off);
	return 0;
}

static void e1000_mac_reset(struct e1000 *s);

static void e1000_reg_write(struct e1000 *s, uint32_t off, uint32_t val)
{
	switch (off) {
	case REG_CTRL:
		if (val & CTRL_RST) {
			e1000_mac_reset(s);     /* self-clearing, done at once (SDM 13.4.1) */
			return;
		}
		if (val & CTRL_PHY_RST)
			e1000_phy_reset(s);
		REG(s, REG_CTRL) = val & ~(CTRL_RST | CTRL_PHY_RST);
		return;
	case REG_STATUS:
		return;                 /* read-only */
	case REG_EECD:
		e1000_eecd_write(s, val);
		return;
	case REG_EERD:
		e1000_eerd_write(s, val);
		return;
	case REG_MDIC:
		e1000_mdic_write(s, val);
		return;
	case REG_ICR:
		REG(s, REG_ICR) &= ~val;       /* writing 1s clears too */
		e1000_update_irq(s);
		return;
	case REG_ICS:
		e1000_raise(s, val & ICR_VALID);
		return;
	case REG_IMS:
		REG(s, REG_IMS) |= val & ICR_VALID;
		e1000_update_irq(s);
		return;
	case REG_IMC:
		REG(s, REG_IMS) &= ~val;
		e1000_update_irq(s);
		return;
	case REG_ITR:
		REG(s, REG_ITR) = val & 0xffff;
		return;
	case REG_RCTL:
		REG(s, REG_RCTL) = val;
		e1000_rx_kick(s);
		return;
	case REG_RDBAL:
	case REG_TDBAL:
		REG(s, off) = val & ~0xfu;     /* 16-byte aligned */
		return;
	case REG_RDLEN:
	case REG_TDLEN:
		REG(s, off) = val & 0xfff80;   /* multiple of 128 bytes, < 1 MiB */
		return;
	case REG_RDH:
	case REG_TDH:
		REG(s, off) = val & 0xffff;
		return;
	case REG_RDT:
		REG(s, REG_RDT) = val & 0xffff;
		e1000_rx_kick(s);
		return;
	case REG_RDTR:
		REG(s, REG_RDTR) = val & 0xffff;
		if ((val & RDTR_FPD) && s->st.armed[TM_RDTR])
			e1000_rx_delay_fire(s);  /* flush partial descriptor block */
		return;
	case REG_RADV:
	case REG_TIDV:
	case REG_TADV:
		REG(s, off) = val & 0xffff;
		return;
	case REG_TCTL:
		REG(s, REG_TCTL) = val;
		e1000_tx_run(s);
		return;
	case REG_TDT:
		REG(s, REG_TDT) = val & 0xffff;
		e1000_tx_run(s);
		return;
	}
	if (off >= REG_STATS && off < REG_STATS_END)
		return;                 /* read-only counters */
	if (off < E1000_REG_SPACE && e1000_reg_plain(off)) {
		REG(s, off) = val;
		return;
	}
	if (!e1000_reg_ignored(off))
		e1000_log_unknown(s, "write", off);
}

/* BAR0: 32-bit registers; narrower reads see part of the dword, narrower writes are dropped. */
static uint64_t e1000_mmio_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct e1000 *s = to_e1000(dev);
	uint32_t v;

	if (size == 8)
		return e1000_reg_read(s, (uint32_t)off & ~3u) |
		       (uint64_t)e1000_reg_read(s, ((uint32_t)off & ~3u) + 4) << 32;
	v = e1000_reg_read(s, (uint32_t)off & ~3u) >> (8 * (off & 3));
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void e1000_mmio_write(struct device *dev, uint64_t off, uint64_t val, unsigned int size)
{
	struct e1000 *s = to_e1000(dev);

	if (size == 8 && !(off & 7)) {
		e1000_reg_write(s, (uint32_t)off, (uint32_t)val);
		e1000_reg_write(s, (uint32_t)off + 4, (uint32_t)(val >> 32));
	} else if (size == 4 && !(off & 3)) {
		e1000_reg_write(s, (uint32_t)off, (uint32_t)val);
	} else {
		device_log(dev, "%u-byte write to BAR0+0x%llx ignored", size,
			   (unsigned long long)off);
	}
}

static const struct io_region_ops e1000_mmio_ops = {
	.read = e1000_mmio_read,
	.write = e1000_mmio_write,
};

/* BAR1: IOADDR selects a register, IODATA reaches it (SDM 13.1.2). */
static uint64_t e1000_io_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct e1000 *s = to_e1000(dev);

	if (size != 4)
		return 0;
	if (off == 0)
		return s->st.ioaddr;
	if (off == 4)
		return e1000_reg_read(s, s->st.ioaddr & ~3u);
	return 0;
}

static void e1000_io_write(struct device *dev, uint64_t off, uint64_t val, unsigned int size)
{
	struct e1000 *s = to_e1000(dev);

	if (size != 4)
		return;
	if (off == 0)
		s->st.ioaddr = (uint32_t)val & 0x1ffff;
	else if (off == 4)
		e1000_reg_write(s, s->st.ioaddr & ~3u, (uint32_t)val);
}

static const struct io_region_ops e1000_io_ops = {
	.read = e1000_io_read,
	.write = e1000_io_write,
};

/* ---- life cycle ---- */

/* Power-on state of everything but the PCI function (CTRL.RST, machine reset). */
static void e1000_mac_reset(struct e1000 *s)
{
	for (unsigned int t = 0; t < TM_COUNT; t++)
		e1000_timer_cancel(s, t);
	memset(&s->st, 0, sizeof(s->st));
	s->st.link_up = s->net && net_link_up(s->net);
	REG(s, REG_CTRL) = CTRL_FD | CTRL_SLU | CTRL_SPD_1000;
	REG(s, REG_PBA) = 0x00100030;          /* 48 KiB RX, 16 KiB TX */
	REG(s, REG_VET) = 0x8100;
	REG(s, REG_LEDCTL) = 0x07068302;
	REG(s, REG_TXCW) = 0x000001a0;
	REG(s, REG_MANC) = 0;
	/* RAL0/RAH0 loaded from the EEPROM (SDM 5.6.5). */
	REG(s, REG_RA) = get32le(s->mac);
	REG(s, REG_RA + 4) = get16le(s->mac + 4) | RAH_AV;
	e1000_phy_reset(s);
	s->st.mw_out = -1;
	pci_set_irq(&s->pci, 0);
	if (s->net)
		net_rx_flush(s->net);
}

static void e1000_destroy(struct device *dev)
{
	struct e1000 *s = to_e1000(dev);

	if (!s)
		return;
	if (s->attached)
		net_detach(s->net);
	for (unsigned int t = 0; t < TM_COUNT; t++)
		host_timer_free(s->timers[t]);
	pci_bus_detach(&s->pci);
	free(s->tx_buf);
	free(s->rx_buf);
	free(s);
	dev->priv = NULL;
}

static int e1000_create(struct device *dev, const struct device_args *args)
{
	static const uint8_t default_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static host_cb *const fire[TM_COUNT] = {
		[TM_ITR] = e1000_itr_fire, [TM_RDTR] = e1000_rx_delay_fire,
		[TM_RADV] = e1000_rx_delay_fire, [TM_TIDV] = e1000_tx_delay_fire,
		[TM_TADV] = e1000_tx_delay_fire, [TM_TX] = e1000_tx_fire,
	};
	static const uint8_t zero[6];
	struct e1000 *s;
	int ret;

	if (!dev->host->pci)
		return -ENODEV;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	dev->priv = s;
	s->dev = dev;
	s->net = args->net;
	memcpy(s->mac, memcmp(args->mac, zero, 6) ? args->mac : default_mac, 6);
	s->tx_buf = malloc(NET_FRAME_MAX);
	s->rx_buf = malloc(E1000_RX_BUF);
	if (!s->tx_buf || !s->rx_buf)
		return -ENOMEM;
	/* Without an event loop the delays are 0 and TX finishes on the next TDT write. */
	for (unsigned int t = 0; t < TM_COUNT; t++)
		s->timers[t] = host_timer_new(DEV_LOOP(dev->host), &dev->lock, fire[t], s);
	e1000_eeprom_init(s);

	pci_function_init(&s->pci, dev, PCI_VENDOR_INTEL, E1000_DEVICE_ID, E1000_CLASS,
			  E1000_REVISION, PCI_VENDOR_INTEL, E1000_SUBSYS_ID);
	ret = pci_function_add_bar(&s->pci, E1000_MMIO_BAR, PCI_BAR_MEM32, E1000_MMIO_SIZE,
				   &e1000_mmio_ops);
	if (!ret)
		ret = pci_function_add_bar(&s->pci, E1000_IO_BAR, PCI_BAR_IO, E1000_IO_SIZE,
					   &e1000_io_ops);
	if (ret)
		return ret;             /* device_create() calls e1000_destroy() */
	pci_function_set_intx_pin(&s->pci, 1);
	ret = pci_bus_attach(dev->host->pci, &s->pci, args->pci_slot ? args->pci_slot : -1, 0);
	if (ret)
		return ret;
	if (s->net) {
		ret = net_attach(s->net, &e1000_port_ops, s);
		if (ret)
			return ret;
		s->attached = true;
	}
	/* device_create() resets the model next. */
	return 0;
}

static void e1000_reset(struct device *dev)
{
	struct e1000 *s = to_e1000(dev);

	pci_function_reset(&s->pci);
	e1000_mac_reset(s);
	s->unknown_logged = 0;
}

#define E1000_STATE_VERSION 1

static void ctx_save(struct sv_writer *w, const struct e1000_tx_ctx *c)
{
	sv_put_u8(w, c->ipcss);
	sv_put_u8(w, c->ipcso);
	sv_put_u16(w, c->ipcse);
	sv_put_u8(w, c->tucss);
	sv_put_u8(w, c->tucso);
	sv_put_u16(w, c->tucse);
	sv_put_u32(w, c->paylen);
	sv_put_u8(w, c->hdrlen);
	sv_put_u8(w, c->tucmd);
	sv_put_u16(w, c->mss);
}

static void ctx_load(struct sv_reader *r, struct e1000_tx_ctx *c)
{
	c->ipcss = sv_get_u8(r);
	c->ipcso = sv_get_u8(r);
	c->ipcse = sv_get_u16(r);
	c->tucss = sv_get_u8(r);
	c->tucso = sv_get_u8(r);
	c->tucse = sv_get_u16(r);
	c->paylen = sv_get_u32(r) & 0xfffff;
	c->hdrlen = sv_get_u8(r);
	c->tucmd = sv_get_u8(r);
	c->mss = sv_get_u16(r);
}

static int e1000_save(struct device *dev, struct sv_writer *w)
{
	struct e1000 *s = to_e1000(dev);
	const struct e1000_state *st = &s->st;
	int ret = pci_function_save(&s->pci, w);
	uint8_t *regs;

	if (ret)
		return ret;
	regs = malloc(E1000_REG_SPACE);
	if (!regs)
		return -ENOMEM;
	/* The register file as one little-endian block: 6144 single puts cost more. */
	for (unsigned int i = 0; i < E1000_REG_SPACE / 4; i++)
		put32le(regs + 4 * i, st->regs[i]);
	sv_put_bytes(w, regs, E1000_REG_SPACE);
	free(regs);
	for (unsigned int i = 0; i < E1000_NR_STATS; i++)
		sv_put_u32(w, st->stats[i]);
	sv_put_u32(w, st->ioaddr);
	for (unsigned int i = 0; i < 32; i++)
		sv_put_u16(w, st->phy[i]);
	sv_put_u8(w, st->link_up);
	sv_put_u32(w, st->mw_in);
	sv_put_u32(w, st->mw_nbits);
	sv_put_u32(w, (uint32_t)st->mw_out);
	sv_put_u8(w, st->mw_reading);
	ctx_save(w, &st->ctx);
	ctx_save(w, &st->tso_ctx);
	ctx_save(w, &st->act);
	sv_put_u8(w, st->tx_started);
	sv_put_u8(w, st->tx_bad);
	sv_put_u8(w, st->tx_tse);
	sv_put_u8(w, st->tx_popts);
	sv_put_u32(w, st->tso_sent);
	sv_put_u32(w, st->tso_frames);
	sv_put_bytes(w, st->tso_hdr, sizeof(st->tso_hdr));
	sv_put_u32(w, st->tx_len);
	sv_put_bytes(w, s->tx_buf, st->tx_len);
	sv_put_u8(w, st->irq_level);
	sv_put_u64(w, (uint64_t)st->itr_next);
	for (unsigned int t = 0; t < TM_COUNT; t++) {
		sv_put_u8(w, st->armed[t]);
		sv_put_u64(w, (uint64_t)st->deadline[t]);
	}
	return w->failed ? -ENOMEM : 0;
}

static int e1000_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct e1000 *s = to_e1000(dev);
	struct e1000_state *st;
	uint8_t *txb;
	int ret;

	if (version != E1000_STATE_VERSION)
		return -EINVAL;
	ret = pci_function_load(&s->pci, r);
	if (ret)
		return ret;
	/* Into copies: a bad stream leaves the device as it was. */
	st = calloc(1, sizeof(*st));
	txb = malloc(NET_FRAME_MAX);
	if (!st || !txb) {
		free(st);
		free(txb);
		return -ENOMEM;
	}
	sv_get_bytes(r, txb, E1000_REG_SPACE);      /* txb as scratch: it is larger */
	for (unsigned int i = 0; i < E1000_REG_SPACE / 4; i++)
		st->regs[i] = get32le(txb + 4 * i);
	for (unsigned int i = 0; i < E1000_NR_STATS; i++)
		st->stats[i] = sv_get_u32(r);
	st->ioaddr = sv_get_u32(r) & 0x1ffff;
	for (unsigned int i = 0; i < 32; i++)
		st->phy[i] = sv_get_u16(r);
	st->link_up = sv_get_u8(r);
	st->mw_in = sv_get_u32(r);
	st->mw_nbits = sv_get_u32(r);
	st->mw_out = (int32_t)sv_get_u32(r);
	st->mw_reading = sv_get_u8(r);
	ctx_load(r, &st->ctx);
	ctx_load(r, &st->tso_ctx);
	ctx_load(r, &st->act);
	st->tx_started = sv_get_u8(r);
	st->tx_bad = sv_get_u8(r);
	st->tx_tse = sv_get_u8(r);
	st->tx_popts = sv_get_u8(r);
	st->tso_sent = sv_get_u32(r);
	st->tso_frames = sv_get_u32(r);
	sv_get_bytes(r, st->tso_hdr, sizeof(st->tso_hdr));
	st->tx_len = sv_get_u32(r);
	if (st->tx_len > NET_FRAME_MAX || st->mw_nbits > 9 || st->mw_out < -1 ||
	    st->mw_out > EEPROM_WORDS * 16 * 2 ||
	    (st->tx_started && st->tx_tse && !st->tx_bad &&
	     (st->act.mss == 0 || st->act.hdrlen < ETH_HLEN ||
	      (size_t)st->act.hdrlen + st->act.mss > NET_FRAME_MAX ||
	      st->tx_len > (size_t)st->act.hdrlen + st->act.mss))) {
		ret = -EINVAL;
		goto out;
	}
	sv_get_bytes(r, txb, st->tx_len);
	st->irq_level = sv_get_u8(r);
	st->itr_next = (int64_t)sv_get_u64(r);
	for (unsigned int t = 0; t < TM_COUNT; t++) {
		st->armed[t] = sv_get_u8(r);
		st->deadline[t] = (int64_t)sv_get_u64(r);
	}
	if (!sv_reader_ok(r, true)) {
		ret = -EINVAL;
		goto out;
	}
	for (unsigned int t = 0; t < TM_COUNT; t++)
		e1000_timer_cancel(s, t);
	s->st = *st;
	memcpy(s->tx_buf, txb, st->tx_len);
	/* The cable is the host's: take it as it is now. */
	e1000_set_link(s, s->net && net_link_up(s->net));
	for (unsigned int t = 0; t < TM_COUNT; t++)
		if (s->st.armed[t])
			e1000_timer_arm(s, t, s->st.deadline[t]);
	s->st.irq_level = false;
	pci_set_irq(&s->pci, 0);
	e1000_update_irq(s);
	e1000_rx_kick(s);
out:
	free(st);
	free(txb);
	return ret;
}

const struct device_model e1000_model = {
	.name = "e1000",
	.state_version = E1000_STATE_VERSION,
	.create = e1000_create,
	.reset = e1000_reset,
	.save = e1000_save,
	.load = e1000_load,
	.destroy = e1000_destroy,
};
