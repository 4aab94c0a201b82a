// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An AHCI 1.3 SATA controller as in Intel's ICH9 (8086:2922, class
 * 01.06.01), one drive per port: ATA disks and ATAPI CD/DVD drives, both
 * through the command layer in ata.c.
 *
 * The ABAR (BAR5, MMIO) holds the global registers and one 128-byte
 * register block per port.  Software builds a command list (32 slots) and
 * a received-FIS area in guest RAM, and sets bits in PxCI (and PxSACT for
 * NCQ).  A PxCI write only kicks the controller's pool of I/O threads
 * (io_worker.h); a thread picks a slot up, fetches its command header and
 * table, maps the PRDT through guest_mem, runs the command against the
 * drive with the device lock dropped, and then posts the result FIS and
 * the interrupt.
 *
 * Commands in flight at once: NCQ commands (READ/WRITE FPDMA QUEUED) of a
 * port run side by side, one per pool thread.  Each is accepted when a
 * thread takes it up (its PxCI bit clears, BSY stays clear) and completes
 * when its own I/O is done, by a Set Device Bits FIS with its tag's
 * SActive bit (SATA 3.x 13.6.4.2, AHCI 5.6.4.2): out of order.  Any other
 * command runs alone on its port (ATA 8 lets no other command overlap a
 * non-NCQ one): it waits until the NCQ commands running have completed,
 * and no slot is picked up while it runs.  Ports are independent.
 *
 * Resets (machine, GHC.HR, PxCMD.ST cleared, COMRESET, offline) cancel
 * every command in flight on the port and wait for them (io_worker.h):
 * the image I/O stops at the next IO_CHUNK piece and nothing of them
 * (data, PRDBC, FIS, interrupt) reaches guest RAM after the register
 * write returns.
 *
 * References: Serial ATA AHCI 1.3.1 (sections cited as "AHCI x.y"), SATA
 * 3.x for the FIS layouts and NCQ, Intel ICH9 datasheet for the PCI
 * identity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ata.h"
#include "devices.h"
#include "io_worker.h"
#include "pci.h"

/* PCI identity (ICH9 AHCI mode) */
#define AHCI_VENDOR        0x8086
#define AHCI_DEVICE        0x2922
#define AHCI_CLASS         0x010601   /* mass storage, SATA, AHCI 1.0 */
#define AHCI_REVISION      0x02
#define AHCI_ABAR          5
#define AHCI_ABAR_SIZE     0x1000     /* room for 30 ports' registers */
#define ICH9_PCS           0x92       /* port control and status: port enables */

#define AHCI_PORTS         30         /* AHCI 3.1.1: CAP.NP allows 32, ports end at 0x1100 */
#define AHCI_SLOTS         32

/* Global registers (AHCI 3.1) */
#define HBA_CAP            0x00
#define HBA_GHC            0x04
#define HBA_IS             0x08
#define HBA_PI             0x0c
#define HBA_VS             0x10
#define HBA_CCC_CTL        0x14
#define HBA_CCC_PORTS      0x18
#define HBA_EM_LOC         0x1c
#define HBA_EM_CTL         0x20
#define HBA_CAP2           0x24
#define HBA_BOHC           0x28
#define HBA_PORT_BASE      0x100
#define HBA_PORT_SIZE      0x80

#define CAP_S64A           (1u << 31)  /* 64-bit addressing */
#define CAP_SNCQ           (1u << 30)  /* native command queuing */
#define CAP_SAM            (1u << 18)  /* AHCI mode only */
#define CAP_SCLO           (1u << 24)  /* command list override */
#define CAP_ISS_GEN2       (2u << 20)  /* 3 Gb/s */
#define CAP_NCS_SHIFT      8           /* command slots - 1 */

#define GHC_HR             (1u << 0)
#define GHC_IE             (1u << 1)
#define GHC_AE             (1u << 31)

#define AHCI_VERSION_1_3   0x00010300

/* Port registers (AHCI 3.3), offsets in the port's block */
#define PX_CLB             0x00
#define PX_CLBU            0x04
#define PX_FB              0x08
#define PX_FBU             0x0c
#define PX_IS              0x10
#define PX_IE              0x14
#define PX_CMD             0x18
#define PX_TFD             0x20
#define PX_SIG             0x24
#define PX_SSTS            0x28
#define PX_SCTL            0x2c
#define PX_SERR            0x30
#define PX_SACT            0x34
#define PX_CI              0x38
#define PX_SNTF            0x3c
#define PX_FBS             0x40

/* PxIS / PxIE bits (AHCI 3.3.5) */
#define PORT_IRQ_DHRS      (1u << 0)   /* D2H Register FIS */
#define PORT_IRQ_PSS       (1u << 1)   /* PIO Setup FIS */
#define PORT_IRQ_SDBS      (1u << 3)   /* Set Device Bits FIS */
#define PORT_IRQ_OFS       (1u << 24)  /* overflow: PRDT shorter than the data */
#define PORT_IRQ_HBDS      (1u << 28)  /* host bus data error */
#define PORT_IRQ_HBFS      (1u << 29)  /* host bus fatal error */
#define PORT_IRQ_TFES      (1u << 30)  /* task file error */
#define PORT_IRQ_MASK      0xfdc000ffu /* implemented bits */

/* PxCMD bits (AHCI 3.3.7) */
#define PORT_CMD_ST        (1u << 0)
#define PORT_CMD_SUD       (1u << 1)
#define PORT_CMD_POD       (1u << 2)
#define PORT_CMD_CLO       (1u << 3)
#define PORT_CMD_FRE       (1u << 4)
#define PORT_CMD_CCS_SHIFT 8
#define PORT_CMD_CCS_MASK  (0x1fu << PORT_CMD_CCS_SHIFT)
#define PORT_CMD_FR        (1u << 14)
#define PORT_CMD_CR        (1u << 15)
#define PORT_CMD_ATAPI     (1u << 24)
#define PORT_CMD_DLAE      (1u << 25)
#define PORT_CMD_ICC_MASK  (0xfu << 28)
/* Bits software may write; the rest are read-only or self-clearing. */
#define PORT_CMD_WMASK     (PORT_CMD_ST | PORT_CMD_CLO | PORT_CMD_FRE | PORT_CMD_ATAPI | \
			    PORT_CMD_DLAE)

/* PxSSTS / PxSCTL (AHCI 3.3.10-11) */
#define SSTS_LINK_UP       0x123       /* IPM active, Gen2, device present + phy up */
#define SCTL_DET_MASK      0xf
#define SCTL_DET_COMRESET  1
#define SCTL_DET_OFFLINE   4

#define TFD_BSY            ATA_SR_BSY
#define TFD_DRQ            ATA_SR_DRQ

/* Received-FIS area offsets (AHCI 4.2.1) */
#define RFIS_PIO_SETUP     0x20
#define RFIS_D2H           0x40
#define RFIS_SDB           0x58

/* FIS types (SATA 3.x 10.5) */
#define FIS_REG_H2D        0x27
#define FIS_REG_D2H        0x34
#define FIS_SDB            0xa1
#define FIS_PIO_SETUP      0x5f
#define FIS_H2D_C          0x80        /* command, not device control */
#define FIS_I              0x40        /* interrupt */
#define FIS_PIO_D          0x20        /* PIO Setup: device to host */
#define CTL_SRST           0x04        /* device control: software reset */

/* Command header (AHCI 4.2.2) */
#define CMDH_SIZE          32
#define CMDH_CFL_MASK      0x1f        /* CFIS length in dwords */
#define CMDH_ATAPI         (1u << 5)
#define CMDH_PRDTL_SHIFT   16
/* Command table (AHCI 4.2.3) */
#define CT_CFIS            0x00
#define CT_ACMD            0x40
#define CT_PRDT            0x80
#define CT_ALIGN_MASK      0x7full
#define CFIS_MIN_DWORDS    5
#define PRD_SIZE           16
#define PRD_DBC_MASK       0x3fffffu   /* byte count - 1, up to 4 MiB */
#define PRD_RSVD_MASK      0x7fc00000u

struct ahci;

struct ahci_port {
	unsigned int idx;
	bool present;
	struct ata_drive drive;

	uint64_t clb, fb;
	uint32_t is, ie, cmd, tfd, sig, ssts, sctl, serr, sact, ci;
	/* A command failed (TFES / host bus error): no more commands until
	 * software clears PxCMD.ST (AHCI 6.2.2). */
	bool stopped;
	bool srst;              /* device control FIS with SRST seen */
	bool sig_fis_pending;   /* post the signature FIS once FRE is set */
	bool drive_reset;       /* an I/O thread resets the drive (none running) */
	/* Slots picked up and not completed yet (their commands run on pool
	 * threads).  Not saved: a reset or load waits until it is 0. */
	uint32_t running;
	bool exclusive;         /* the one running is not NCQ: pick nothing up */
	/* A non-NCQ command met while NCQ ones ran: its slot + 1, run next,
	 * alone, once they are done (0: none). */
	unsigned int excl_next;
	/* A medium change an I/O thread applies when no command runs. */
	bool media_change, media_force;
	struct blk_image *new_media, *old_media;
	int media_ret;
};

struct ahci {
	struct pci_function pci;
	struct device *dev;
	struct io_worker *worker;
	uint32_t cap, ghc, is, pi;
	unsigned int nports;
	struct ahci_port ports[AHCI_PORTS];
	/* The commands in flight per port (outside ahci_port: load copies ports). */
	struct io_inflight inflight[AHCI_PORTS];
	/* Per slot: the command picked up and its mapped PRDT, the running
	 * thread's while its bit is in the port's running mask. */
	struct io_req req[AHCI_PORTS][AHCI_SLOTS];
};

/* ---- interrupts ---- */

/* Recompute HBA IS from the ports and drive INTx; MSI on a new event. */
static void ahci_update_irq(struct ahci *s, bool new_event)
{
	bool level;

	for (unsigned int i = 0; i < s->nports; i++)
		if (s->ports[i].is & s->ports[i].ie)
			s->is |= 1u << i;
	level = (s->ghc & GHC_IE) && s->is;
	if (new_event && level && pci_msi_enabled(&s->pci))
		pci_msi_notify(&s->pci, 0);
	pci_set_irq(&s->pci, level);
}

static void ahci_port_raise(struct ahci *s, struct ahci_port *p, uint32_t bits)
{
	p->is |= bits;
	ahci_update_irq(s, (bits & p->ie) != 0);
}

/* ---- received FISes ---- */

static void ahci_write_fis(struct ahci *s, struct ahci_port *p, unsigned int off,
			   const uint8_t *fis, size_t len)
{
	if (!(p->cmd & PORT_CMD_FRE))
		return;
	if (gm_write(s->dev->host->mem, p->fb + off, fis, len))
		device_log(s->dev, "port %u: FIS receive area 0x%llx outside RAM", p->idx,
			   (unsigned long long)p->fb);
}

static void fis_put_regs(uint8_t *f, const struct ata_result *r)
{
	f[2] = r->status;
	f[3] = r->error;
	f[4] = (uint8_t)r->lba;
	f[5] = (uint8_t)(r->lba >> 8);
	f[6] = (uint8_t)(r->lba >> 16);
	f[7] = r->device;
	f[8] = (uint8_t)(r->lba >> 24);
	f[9] = (uint8_t)(r->lba >> 32);
	f[10] = (uint8_t)(r->lba >> 40);
	f[12] = (uint8_t)r->count;
	f[13] = (uint8_t)(r->count >> 8);
}

/* D2H Register FIS: the task file ends up in PxTFD (AHCI 4.2.1). */
static void ahci_post_d2h(struct ahci *s, struct ahci_port *p, const struct ata_result *r,
			  bool irq)
{
	uint8_t f[20] = { FIS_REG_D2H, irq ? FIS_I : 0 };

	fis_put_regs(f, r);
	ahci_write_fis(s, p, RFIS_D2H, f, sizeof(f));
	p->tfd = r->status | (uint32_t)r->error << 8;
}

/* PIO Setup FIS: Linux takes a PIO data-in command's result from here. */
static void ahci_post_pio_setup(struct ahci *s, struct ahci_port *p, const struct ata_xfer *x)
{
	uint8_t f[20] = { FIS_PIO_SETUP, FIS_I | (x->dir == ATA_DIR_IN ? FIS_PIO_D : 0) };

	fis_put_regs(f, &x->res);
	f[2] = (uint8_t)((x->res.status & ~ATA_SR_BSY) | ATA_SR_DRQ);
	f[15] = x->res.status;          /* E_Status: status at the end of the transfer */
	f[16] = (uint8_t)x->done_bytes;
	f[17] = (uint8_t)(x->done_bytes >> 8);
	ahci_write_fis(s, p, RFIS_PIO_SETUP, f, sizeof(f));
}

/* Set Device Bits FIS: NCQ completions (SActive bits) or an NCQ error. */
static void ahci_post_sdb(struct ahci *s, struct ahci_port *p, const struct ata_result *r,
			  uint32_t done)
{
	uint8_t f[8] = { FIS_SDB, FIS_I, (uint8_t)(r->status & 0x77), r->error,
			 (uint8_t)done, (uint8_t)(done >> 8), (uint8_t)(done >> 16),
			 (uint8_t)(done >> 24) };

	ahci_write_fis(s, p, RFIS_SDB, f, sizeof(f));
	p->tfd = (p->tfd & ~0x77u & ~0xff00u) | (r->status & 0x77) | (uint32_t)r->error << 8;
}

/* The device's signature after a reset (AHCI 3.3.9, 10.4.2). */
static void ahci_port_signature(struct ahci *s, struct ahci_port *p)
{
	struct ata_result r;

	ata_signature(&p->drive, &r);
	p->sig = (uint32_t)(r.lba >> 8 & 0xffff) << 16 | (uint32_t)(r.lba & 0xff) << 8 | r.count;
	p->tfd = r.status | (uint32_t)r.error << 8;
	if (p->cmd & PORT_CMD_FRE) {
		ahci_post_d2h(s, p, &r, false);
		p->sig_fis_pending = false;
	} else {
		p->sig_fis_pending = true;
	}
}

/* ---- resets ---- */

/*
 * Abort whatever runs on the port: no slot is picked up any more, and the
 * commands in flight are cancelled and waited for (the pool threads drop
 * their results), so no DMA of them happens after this returns.  Device
 * lock held, never on a pool thread.
 */
static void ahci_port_abort(struct ahci *s, struct ahci_port *p)
{
	p->ci = 0;
	p->sact = 0;
	p->stopped = false;
	p->excl_next = 0;
	p->cmd &= ~(PORT_CMD_CR | PORT_CMD_CCS_MASK);
	io_inflight_cancel_wait(&s->inflight[p->idx]);
}

/* COMRESET completed: the link is up and the device sent its signature. */
static void ahci_port_link_up(struct ahci *s, struct ahci_port *p)
{
	ahci_port_abort(s, p);
	p->srst = false;
	p->drive_reset = true;
	if (!p->present) {
		p->ssts = 0;
		p->tfd = 0x7f;
		p->sig = 0xffffffff;
		return;
	}
	p->ssts = SSTS_LINK_UP;
	ahci_port_signature(s, p);
	if (s->worker)
		io_worker_kick(s->worker);
}

/* Port registers to their reset values; CLB/FB survive an HBA reset (AHCI 10.4.3). */
static void ahci_port_reset(struct ahci *s, struct ahci_port *p, bool keep_bases)
{
	if (!keep_bases)
		p->clb = p->fb = 0;
	p->is = p->ie = 0;
	p->cmd = PORT_CMD_SUD | PORT_CMD_POD;
	if (p->present && ata_is_atapi(&p->drive))
		p->cmd |= PORT_CMD_ATAPI;
	p->sctl = 0;
	p->serr = 0;
	ahci_port_link_up(s, p);
}

static void ahci_hba_reset(struct ahci *s, bool keep_bases)
{
	s->ghc = GHC_AE;
	s->is = 0;
	for (unsigned int i = 0; i < s->nports; i++)
		ahci_port_reset(s, &s->ports[i], keep_bases);
	ahci_update_irq(s, false);
}

/* ---- command execution (I/O thread) ---- */

static struct ahci *to_ahci(struct device *dev)
{
	return dev->priv;
}

/*
 * Map the PRDT (AHCI 4.2.3.3) onto guest RAM for @len bytes.  Entries past
 * the data are not looked at (an ATAPI command often moves less than the
 * buffer); a PRD outside RAM or with reserved bits set gives HBDS, a table
 * shorter than the data OFS.  Returns 0 with @req mapped, or the PxIS
 * error bit.
 */
static uint32_t ahci_map_prdt(struct ahci *s, struct ahci_port *p, struct io_req *req,
			      uint64_t ctba, unsigned int prdtl, uint32_t len)
{
	const struct guest_mem *gm = s->dev->host->mem;
	uint64_t total = 0;
	int ret;

	for (unsigned int i = 0; i < prdtl && total < len; i++) {
		uint8_t e[PRD_SIZE];
		uint64_t dba;
		uint32_t dw3, cnt;

		if (gm_read(gm, ctba + CT_PRDT + (uint64_t)i * PRD_SIZE, e, sizeof(e))) {
			device_log(s->dev, "port %u: PRD %u outside RAM", p->idx, i);
			return PORT_IRQ_HBDS;
		}
		dba = (uint64_t)e[0] | (uint64_t)e[1] << 8 | (uint64_t)e[2] << 16 |
		      (uint64_t)e[3] << 24 | (uint64_t)e[4] << 32 | (uint64_t)e[5] << 40 |
		      (uint64_t)e[6] << 48 | (uint64_t)e[7] << 56;
		dw3 = (uint32_t)e[12] | (uint32_t)e[13] << 8 | (uint32_t)e[14] << 16 |
		      (uint32_t)e[15] << 24;
		if (dw3 & PRD_RSVD_MASK) {
			device_log(s->dev, "port %u: PRD %u byte count 0x%x has reserved bits set",
				   p->idx, i, dw3);
			return PORT_IRQ_HBDS;
		}
		cnt = (dw3 & PRD_DBC_MASK) + 1;
		if (cnt > len - total)
			cnt = (uint32_t)(len - total);
		ret = io_req_map(req, gm, dba, cnt);
		if (ret == -EFAULT) {
			device_log(s->dev, "port %u: PRD %u buffer 0x%llx+%u outside RAM", p->idx, i,
				   (unsigned long long)dba, cnt);
			return PORT_IRQ_HBDS;
		}
		if (ret)
			return PORT_IRQ_HBFS;
		total += cnt;
	}
	if (total < len) {
		device_log(s->dev, "port %u: PRDT (%u entries) holds %llu of %u bytes", p->idx,
			   prdtl, (unsigned long long)total, len);
		return PORT_IRQ_OFS;
	}
	return 0;
}

/* A command ended in error: the port stops until software restarts it. */
static void ahci_port_error(struct ahci *s, struct ahci_port *p, const struct ata_xfer *x,
			    uint32_t extra)
{
	/* Under the lock: two failing NCQ commands do not race for the log. */
	ata_ncq_record_error(&p->drive, x);
	if (x->ncq)
		ahci_post_sdb(s, p, &x->res, 0);
	else
		ahci_post_d2h(s, p, &x->res, true);
	p->stopped = true;
	ahci_port_raise(s, p, PORT_IRQ_TFES | extra | (x->ncq ? PORT_IRQ_SDBS : PORT_IRQ_DHRS));
}

static void ahci_complete(struct ahci *s, struct ahci_port *p, unsigned int slot,
			  const struct ata_xfer *x, uint32_t err_bits, uint64_t hdr_addr)
{
	uint32_t bit = 1u << slot;
	uint8_t prdbc[4] = { (uint8_t)x->done_bytes, (uint8_t)(x->done_bytes >> 8),
			     (uint8_t)(x->done_bytes >> 16), (uint8_t)(x->done_bytes >> 24) };

	/* PRDBC: bytes transferred (AHCI 4.2.2, DW1). */
	gm_write(s->dev->host->mem, hdr_addr + 4, prdbc, sizeof(prdbc));
	if (err_bits || (x->res.status & ATA_SR_ERR)) {
		ahci_port_error(s, p, x, err_bits);
		return;
	}
	if (x->ncq) {
		/* Its PxCI bit was cleared when it was accepted. */
		ahci_post_sdb(s, p, &x->res, bit);
		p->sact &= ~bit;
		ahci_port_raise(s, p, PORT_IRQ_SDBS);
		return;
	}
	if (x->dir != ATA_DIR_NONE && !x->dma) {
		ahci_post_pio_setup(s, p, x);
		p->is |= PORT_IRQ_PSS;
	}
	ahci_post_d2h(s, p, &x->res, true);
	p->ci &= ~bit;
	ahci_port_raise(s, p, PORT_IRQ_DHRS);
}

/* Device control FIS (SRST set, then cleared): a software reset (AHCI 10.4.1). */
static void ahci_device_control(struct ahci *s, struct ahci_port *p, unsigned int slot,
				const uint8_t *cfis)
{
	if (cfis[15] & CTL_SRST) {
		p->srst = true;
		p->tfd = TFD_BSY;
	} else if (p->srst) {
		p->srst = false;
		p->drive_reset = true;
		ahci_port_signature(s, p);
	}
	p->ci &= ~(1u << slot);
}

/* Is the command FIS a READ/WRITE FPDMA QUEUED, which may run beside others? */
static bool ahci_fis_is_ncq(const struct ahci_port *p, const uint8_t *cfis)
{
	return cfis[0] == FIS_REG_H2D && (cfis[1] & FIS_H2D_C) && !ata_is_atapi(&p->drive) &&
	       (cfis[2] == ATA_CMD_READ_FPDMA_QUEUED || cfis[2] == ATA_CMD_WRITE_FPDMA_QUEUED);
}

/* Slot @bit no longer runs (done, dropped or put back). */
static void ahci_slot_done(struct ahci_port *p, uint32_t bit)
{
	p->running &= ~bit;
	if (!p->running)
		p->exclusive = false;
}

/* A hint for waking another pool thread: may some port pick a slot up now? */
static bool ahci_more_ready(const struct ahci *s)
{
	for (unsigned int i = 0; i < s->nports; i++) {
		const struct ahci_port *p = &s->ports[i];

		if ((p->ci & ~p->running) && !p->exclusive && !p->stopped && !p->excl_next)
			return true;
	}
	return false;
}

/*
 * Run command @slot of @p.  Called and returns with the device lock held;
 * drops it around the drive I/O, while other threads may run other NCQ
 * slots of the same port (ata.h: NCQ reads and writes only read the
 * drive's state, and the NCQ error log is written under this lock).
 */
static void ahci_run_command(struct ahci *s, struct ahci_port *p, unsigned int slot)
{
	const struct guest_mem *gm = s->dev->host->mem;
	uint64_t hdr_addr = p->clb + (uint64_t)slot * CMDH_SIZE;
	uint8_t hdr[CMDH_SIZE], cfis[64], acmd[16];
	struct io_req *req = &s->req[p->idx][slot];
	uint32_t bit = 1u << slot;
	struct ata_taskfile tf;
	struct ata_xfer x;
	uint32_t dw0, err_bits = 0;
	unsigned int prdtl;
	uint64_t ctba;

	p->cmd = (p->cmd & ~PORT_CMD_CCS_MASK) | slot << PORT_CMD_CCS_SHIFT;
	if (gm_read(gm, hdr_addr, hdr, sizeof(hdr))) {
		device_log(s->dev, "port %u: command list 0x%llx outside RAM", p->idx,
			   (unsigned long long)p->clb);
		p->stopped = true;
		ahci_port_raise(s, p, PORT_IRQ_HBFS);
		return;
	}
	dw0 = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
	      (uint32_t)hdr[3] << 24;
	prdtl = dw0 >> CMDH_PRDTL_SHIFT;
	ctba = ((uint64_t)hdr[8] | (uint64_t)hdr[9] << 8 | (uint64_t)hdr[10] << 16 |
		(uint64_t)hdr[11] << 24 | (uint64_t)hdr[12] << 32 | (uint64_t)hdr[13] << 40 |
		(uint64_t)hdr[14] << 48 | (uint64_t)hdr[15] << 56) & ~CT_ALIGN_MASK;
	if (gm_read(gm, ctba + CT_CFIS, cfis, sizeof(cfis)) ||
	    gm_read(gm, ctba + CT_ACMD, acmd, sizeof(acmd))) {
		device_log(s->dev, "port %u: command table 0x%llx outside RAM", p->idx,
			   (unsigned long long)ctba);
		p->stopped = true;
		ahci_port_raise(s, p, PORT_IRQ_HBFS);
		return;
	}
	if (!ahci_fis_is_ncq(p, cfis)) {
		/* Not NCQ: alone.  With NCQ commands running it waits for them. */
		if (p->running) {
			p->excl_next = slot + 1;
			return;
		}
		p->exclusive = true;
	}
	if (cfis[0] != FIS_REG_H2D || (dw0 & CMDH_CFL_MASK) < CFIS_MIN_DWORDS) {
		/* The device cannot make sense of it: it answers with an abort. */
		device_log(s->dev, "port %u: command FIS type 0x%02x, %u dwords", p->idx, cfis[0],
			   dw0 & CMDH_CFL_MASK);
		memset(&x, 0, sizeof(x));
		x.res.status = ATA_SR_DRDY | ATA_SR_ERR;
		x.res.error = ATA_ER_ABRT;
		ahci_complete(s, p, slot, &x, 0, hdr_addr);
		p->exclusive = false;
		return;
	}
	if (!(cfis[1] & FIS_H2D_C)) {
		ahci_device_control(s, p, slot, cfis);
		p->exclusive = false;
		return;
	}
	tf.command = cfis[2];
	tf.features = (uint16_t)(cfis[3] | cfis[11] << 8);
	tf.lba = (uint64_t)cfis[4] | (uint64_t)cfis[5] << 8 | (uint64_t)cfis[6] << 16 |
		 (uint64_t)cfis[8] << 24 | (uint64_t)cfis[9] << 32 | (uint64_t)cfis[10] << 40;
	tf.device = cfis[7];
	tf.count = (uint16_t)(cfis[12] | cfis[13] << 8);
	ata_begin(&p->drive, &tf, tf.command == ATA_CMD_PACKET ? acmd : NULL, &x);
	if (x.ncq && x.tag != slot)
		device_log(s->dev, "port %u: NCQ tag %u issued in slot %u", p->idx, x.tag, slot);

	io_req_unmap(req);
	if (x.dir != ATA_DIR_NONE)
		err_bits = ahci_map_prdt(s, p, req, ctba, prdtl, x.len);
	if (x.ncq) {
		/*
		 * A queued command is accepted at once: the device sends a
		 * Register FIS with BSY and DRQ clear and no interrupt (SATA
		 * 3.x, FPDMA QUEUED protocol, ClearInterfaceBsy), on which the
		 * HBA clears the slot's PxCI bit (AHCI 1.3.1 5.3.8, RegFIS:
		 * ClearCI).  So software may queue the next while this runs;
		 * it ends later with a Set Device Bits FIS that clears its
		 * PxSACT bit.
		 */
		struct ata_result accepted = { .status = ATA_SR_DRDY };

		ahci_post_d2h(s, p, &accepted, false);
		p->ci &= ~bit;
	} else {
		p->tfd |= TFD_BSY;
	}
	p->running |= bit;
	io_req_submit(req, &s->inflight[p->idx]);
	x.req = req;
	/* Another idle thread may pick the next slot up meanwhile. */
	if (ahci_more_ready(s))
		io_worker_kick(s->worker);
	pthread_mutex_unlock(&s->dev->lock);
	if (err_bits)
		ata_complete_error(&p->drive, &x);
	else
		ata_complete(&p->drive, &x, req->iov, req->nr_iov);
	pthread_mutex_lock(&s->dev->lock);
	ahci_slot_done(p, bit);
	if (!io_req_complete(req))
		return;         /* the port was reset or stopped meanwhile: drop it */
	if (!p->running)
		p->tfd &= ~TFD_BSY;
	/* An NCQ error stopped the port: the device aborts the other queued
	 * commands (SATA 3.x 13.6.3.2), whose bits stay set until software
	 * restarts the port. */
	if (x.ncq && p->stopped)
		return;
	ahci_complete(s, p, slot, &x, err_bits, hdr_addr);
}

/*
 * The next slot to run on @p, or -1: none waiting, a non-NCQ command
 * running, or one waiting for the NCQ commands running to finish.  Round
 * robin after the last one.
 */
static int ahci_next_slot(struct ahci *s, struct ahci_port *p)
{
	unsigned int last = (p->cmd & PORT_CMD_CCS_MASK) >> PORT_CMD_CCS_SHIFT;
	uint32_t ready = p->ci & ~p->running;

	if (!p->present || !ready || p->stopped || p->exclusive || !(p->cmd & PORT_CMD_CR))
		return -1;
	if (!pci_bus_master(&s->pci)) {
		device_log(s->dev, "port %u: commands issued with bus mastering off", p->idx);
		return -1;
	}
	if (p->excl_next) {
		unsigned int slot = p->excl_next - 1;

		if (p->running)
			return -1;
		p->excl_next = 0;
		if (ready & (1u << slot))
			return (int)slot;
	}
	for (unsigned int k = 1; k <= AHCI_SLOTS; k++) {
		unsigned int slot = (last + k) % AHCI_SLOTS;

		if (ready & (1u << slot))
			return (int)slot;
	}
	return -1;
}

static void ahci_work(void *opaque, unsigned int thread)
{
	struct ahci *s = opaque;
	bool more = true;

	(void)thread;
	pthread_mutex_lock(&s->dev->lock);
	while (more) {
		more = false;
		for (unsigned int i = 0; i < s->nports; i++) {
			struct ahci_port *p = &s->ports[i];
			int slot;

			/* The drive changes only between commands. */
			if (p->running)
				goto pick;
			if (p->drive_reset) {
				p->drive_reset = false;
				if (p->present)
					ata_drive_reset(&p->drive);
			}
			if (p->media_change) {
				p->media_change = false;
				p->media_ret = ata_cd_change_media(&p->drive, p->new_media,
								   p->media_force, &p->old_media);
			}
pick:
			slot = ahci_next_slot(s, p);
			if (slot >= 0) {
				ahci_run_command(s, p, (unsigned int)slot);
				more = true;
			}
		}
	}
	pthread_mutex_unlock(&s->dev->lock);
}

/*
 * The drive's state is the pool threads' while commands run with the lock
 * dropped, so the change is handed to them (applied when none of that
 * port runs) and waited for.
 */
int ahci_change_media(struct device *dev, unsigned int port, struct blk_image *img, bool force,
		      struct blk_image **old)
{
	struct ahci *s = to_ahci(dev);
	struct ahci_port *p;
	int ret;

	if (port >= AHCI_PORTS)
		return -EINVAL;
	p = &s->ports[port];
	pthread_mutex_lock(&dev->lock);
	if (!p->present || !ata_is_atapi(&p->drive)) {
		pthread_mutex_unlock(&dev->lock);
		return -EINVAL;
	}
	p->new_media = img;
	p->media_force = force;
	p->media_change = true;
	pthread_mutex_unlock(&dev->lock);
	io_worker_kick(s->worker);
	io_worker_drain(s->worker);
	pthread_mutex_lock(&dev->lock);
	ret = p->media_ret;
	if (!ret && old)
		*old = p->old_media;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* ---- registers ---- */

static uint32_t ahci_port_read(struct ahci *s, struct ahci_port *p, unsigned int off)
{
	switch (off) {
	case PX_CLB: return (uint32_t)p->clb;
	case PX_CLBU: return (uint32_t)(p->clb >> 32);
	case PX_FB: return (uint32_t)p->fb;
	case PX_FBU: return (uint32_t)(p->fb >> 32);
	case PX_IS: return p->is;
	case PX_IE: return p->ie;
	case PX_CMD: return p->cmd;
	case PX_TFD: return p->tfd;
	case PX_SIG: return p->sig;
	case PX_SSTS: return p->ssts;
	case PX_SCTL: return p->sctl;
	case PX_SERR: return p->serr;
	case PX_SACT: return p->sact;
	case PX_CI: return p->ci;
	}
	return 0;
}

static void ahci_port_write_cmd(struct ahci *s, struct ahci_port *p, uint32_t val)
{
	uint32_t old = p->cmd;

	p->cmd = (old & ~PORT_CMD_WMASK) | (val & PORT_CMD_WMASK);
	/* ICC writes request a power state; the link is always active. */
	if ((val & PORT_CMD_FRE) && !(old & PORT_CMD_FRE)) {
		p->cmd |= PORT_CMD_FR;
		if (p->sig_fis_pending && p->present)
			ahci_port_signature(s, p);
	} else if (!(val & PORT_CMD_FRE)) {
		p->cmd &= ~PORT_CMD_FR;
	}
	/* CLO clears BSY and DRQ so a hung device can be reset (AHCI 3.3.7). */
	if (val & PORT_CMD_CLO) {
		p->tfd &= ~(uint32_t)(TFD_BSY | TFD_DRQ);
		p->cmd &= ~PORT_CMD_CLO;
	}
	if ((val & PORT_CMD_ST) && !(old & PORT_CMD_CR)) {
		p->cmd |= PORT_CMD_CR;
		p->stopped = false;
		/* CCS so the first pick is slot 0 (round robin starts after CCS). */
		p->cmd |= (AHCI_SLOTS - 1) << PORT_CMD_CCS_SHIFT;
	} else if (!(val & PORT_CMD_ST) && (old & PORT_CMD_ST)) {
		/* Stopping clears PxCI and PxSACT (AHCI 3.3.14, 3.3.13); CR reads
		 * 0 only once the command running has stopped (AHCI 10.3.2). */
		ahci_port_abort(s, p);
	}
}

static void ahci_port_write(struct ahci *s, struct ahci_port *p, unsigned int off, uint32_t val)
{
	switch (off) {
	case PX_CLB:
		p->clb = (p->clb & ~0xffffffffull) | (val & ~0x3ffu);
		break;
	case PX_CLBU:
		p->clb = (p->clb & 0xffffffffull) | (uint64_t)val << 32;
		break;
	case PX_FB:
		p->fb = (p->fb & ~0xffffffffull) | (val & ~0xffu);
		break;
	case PX_FBU:
		p->fb = (p->fb & 0xffffffffull) | (uint64_t)val << 32;
		break;
	case PX_IS:
		p->is &= ~val;
		ahci_update_irq(s, false);
		break;
	case PX_IE:
		p->ie = val & PORT_IRQ_MASK;
		ahci_update_irq(s, (p->is & p->ie) != 0);
		break;
	case PX_CMD:
		ahci_port_write_cmd(s, p, val);
		if (p->ci)
			io_worker_kick(s->worker);
		break;
	case PX_SCTL:
		p->sctl = val & 0xfff;
		switch (val & SCTL_DET_MASK) {
		case SCTL_DET_COMRESET:
			/* COMRESET asserted: the link is down until DET returns to 0. */
			ahci_port_abort(s, p);
			p->ssts = 0;
			p->tfd = TFD_BSY | 0x7f;
			break;
		case SCTL_DET_OFFLINE:
			ahci_port_abort(s, p);
			p->ssts = SCTL_DET_OFFLINE;
			break;
		case 0:
			if ((p->ssts & SCTL_DET_MASK) != 3)
				ahci_port_link_up(s, p);
			break;
		}
		break;
	case PX_SERR:
		p->serr &= ~val;
		break;
	case PX_SACT:
		if (p->cmd & PORT_CMD_ST)
			p->sact |= val;
		break;
	case PX_CI:
		/* Writing 1 issues a slot; 0s have no effect (AHCI 3.3.14). */
		if (!(p->cmd & PORT_CMD_ST))
			break;
		p->ci |= val;
		io_worker_kick(s->worker);
		break;
	default:
		break;
	}
}

static uint32_t ahci_read32(struct ahci *s, uint64_t off)
{
	if (off >= HBA_PORT_BASE) {
		unsigned int i = (unsigned int)((off - HBA_PORT_BASE) / HBA_PORT_SIZE);

		if (i >= s->nports || !(s->pi & (1u << i)))
			return 0;
		return ahci_port_read(s, &s->ports[i], (unsigned int)(off - HBA_PORT_BASE) % HBA_PORT_SIZE);
	}
	switch (off) {
	case HBA_CAP: return s->cap;
	case HBA_GHC: return s->ghc;
	case HBA_IS: return s->is;
	case HBA_PI: return s->pi;
	case HBA_VS: return AHCI_VERSION_1_3;
	}
	return 0;
}

static void ahci_write32(struct ahci *s, uint64_t off, uint32_t val)
{
	if (off >= HBA_PORT_BASE) {
		unsigned int i = (unsigned int)((off - HBA_PORT_BASE) / HBA_PORT_SIZE);

		if (i < s->nports && (s->pi & (1u << i)))
			ahci_port_write(s, &s->ports[i], (unsigned int)(off - HBA_PORT_BASE) % HBA_PORT_SIZE, val);
		return;
	}
	switch (off) {
	case HBA_GHC:
		if (val & GHC_HR) {
			/* HBA reset completes at once; HR reads back 0 (AHCI 10.4.3). */
			ahci_hba_reset(s, true);
			break;
		}
		s->ghc = GHC_AE | (val & GHC_IE);
		ahci_update_irq(s, true);
		break;
	case HBA_IS:
		s->is &= ~val;
		ahci_update_irq(s, false);
		break;
	}
}

static uint64_t ahci_mmio_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct ahci *s = to_ahci(dev);
	uint64_t v;

	if (size == 8)
		return ahci_read32(s, off) | (uint64_t)ahci_read32(s, off + 4) << 32;
	v = ahci_read32(s, off & ~3ull);
	return (v >> ((off & 3) * 8)) & ((1ull << (size * 8)) - 1);
}

static void ahci_mmio_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct ahci *s = to_ahci(dev);

	/* The registers are dword registers (AHCI 3): narrower writes are dropped. */
	if (size == 8) {
		ahci_write32(s, off, (uint32_t)value);
		ahci_write32(s, off + 4, (uint32_t)(value >> 32));
	} else if (size == 4 && !(off & 3)) {
		ahci_write32(s, off, (uint32_t)value);
	} else {
		device_log(dev, "%u-byte write to ABAR+0x%llx ignored", size, (unsigned long long)off);
	}
}

static const struct io_region_ops ahci_abar_ops = { ahci_mmio_read, ahci_mmio_write };

/* ---- life cycle ---- */

static void ahci_destroy(struct device *dev)
{
	struct ahci *s = to_ahci(dev);

	if (!s)
		return;
	io_worker_stop(s->worker);
	pci_bus_detach(&s->pci);
	for (unsigned int i = 0; i < AHCI_PORTS; i++) {
		io_inflight_destroy(&s->inflight[i]);
		for (unsigned int j = 0; j < AHCI_SLOTS; j++)
			io_req_free(&s->req[i][j]);
	}
	free(s);
	dev->priv = NULL;
}

static int ahci_create(struct device *dev, const struct device_args *args)
{
	struct ahci *s;
	unsigned int highest = 0;
	int ret;

	if (!dev->host->pci)
		return -ENODEV;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	dev->priv = s;
	s->dev = dev;
	for (unsigned int i = 0; i < args->nr_drives; i++) {
		const struct drive_args *da = &args->drives[i];
		struct ata_drive_config cfg = {
			.img = da->img, .atapi = da->cdrom, .readonly = da->readonly || da->cdrom,
			.sata = true, .serial = da->serial, .log_dev = dev,
		};
		struct ahci_port *p;

		if (da->port >= AHCI_PORTS || s->ports[da->port].present) {
			device_log(dev, "drive %u: port %u unusable", i, da->port);
			ret = -EINVAL;
			goto fail;
		}
		p = &s->ports[da->port];
		ret = ata_drive_init(&p->drive, &cfg);
		if (ret)
			goto fail;
		p->present = true;
		s->pi |= 1u << da->port;
		if (da->port > highest)
			highest = da->port;
	}
	s->nports = highest + 1;
	for (unsigned int i = 0; i < AHCI_PORTS; i++) {
		s->ports[i].idx = i;
		io_inflight_init(&s->inflight[i], &dev->lock);
	}
	s->cap = CAP_S64A | CAP_SNCQ | CAP_SCLO | CAP_SAM | CAP_ISS_GEN2 |
		 (AHCI_SLOTS - 1) << CAP_NCS_SHIFT | (s->nports - 1);

	pci_function_init(&s->pci, dev, AHCI_VENDOR, AHCI_DEVICE, AHCI_CLASS, AHCI_REVISION,
			  AHCI_VENDOR, AHCI_DEVICE);
	ret = pci_function_add_bar(&s->pci, AHCI_ABAR, PCI_BAR_MEM32, AHCI_ABAR_SIZE, &ahci_abar_ops);
	if (ret)
		goto fail;
	pci_function_set_intx_pin(&s->pci, 1);
	ret = pci_function_add_msi(&s->pci, 1);
	if (ret < 0)
		goto fail;
	/* ICH9 PCS: the implemented ports are enabled (Linux's Intel quirk reads it). */
	s->pci.config[ICH9_PCS] = (uint8_t)s->pi;
	s->pci.config[ICH9_PCS + 1] = (uint8_t)(s->pi >> 8);

	s->worker = io_worker_start("ahci-io", io_worker_default_threads(), ahci_work, s);
	if (!s->worker) {
		ret = -errno;
		goto fail;
	}
	/* device_create() resets the model next: that brings the ports up. */
	return pci_bus_attach(dev->host->pci, &s->pci, args->pci_slot ? args->pci_slot : -1, 0);
fail:
	return ret;     /* device_create() calls ahci_destroy() */
}

static void ahci_reset(struct device *dev)
{
	struct ahci *s = to_ahci(dev);

	pci_function_reset(&s->pci);
	ahci_hba_reset(s, false);
}

#define AHCI_STATE_VERSION 1

static int ahci_save(struct device *dev, struct sv_writer *w)
{
	struct ahci *s = to_ahci(dev);
	int ret = pci_function_save(&s->pci, w);

	if (ret)
		return ret;
	sv_put_u32(w, s->ghc);
	sv_put_u32(w, s->is);
	sv_put_u32(w, s->nports);
	sv_put_u32(w, s->pi);
	for (unsigned int i = 0; i < s->nports; i++) {
		struct ahci_port *p = &s->ports[i];

		if (!p->present)
			continue;
		sv_put_u64(w, p->clb);
		sv_put_u64(w, p->fb);
		sv_put_u32(w, p->is);
		sv_put_u32(w, p->ie);
		sv_put_u32(w, p->cmd);
		sv_put_u32(w, p->tfd);
		sv_put_u32(w, p->sig);
		sv_put_u32(w, p->ssts);
		sv_put_u32(w, p->sctl);
		sv_put_u32(w, p->serr);
		sv_put_u32(w, p->sact);
		sv_put_u32(w, p->ci);
		sv_put_u8(w, p->stopped);
		sv_put_u8(w, p->srst);
		sv_put_u8(w, p->sig_fis_pending);
		sv_put_u8(w, p->drive_reset);
		ata_drive_save(&p->drive, w);
	}
	return w->failed ? -ENOMEM : 0;
}

static int ahci_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct ahci *s = to_ahci(dev);
	struct ahci_port *ports;
	uint32_t ghc, is;
	int ret;

	if (version != AHCI_STATE_VERSION)
		return -EINVAL;
	ret = pci_function_load(&s->pci, r);
	if (ret)
		return ret;
	ghc = sv_get_u32(r);
	is = sv_get_u32(r);
	if (sv_get_u32(r) != s->nports || sv_get_u32(r) != s->pi)
		return -EINVAL;         /* saved with other drives attached */
	/* A command still running would complete into the loaded state. */
	for (unsigned int i = 0; i < s->nports; i++)
		io_inflight_cancel_wait(&s->inflight[i]);
	/* Into a copy: a bad stream leaves the ports as they were. */
	ports = malloc(sizeof(s->ports));
	if (!ports)
		return -ENOMEM;
	memcpy(ports, s->ports, sizeof(s->ports));
	for (unsigned int i = 0; i < s->nports && !ret; i++) {
		struct ahci_port *p = &ports[i];

		if (!p->present)
			continue;
		p->clb = sv_get_u64(r) & ~0x3ffull;
		p->fb = sv_get_u64(r) & ~0xffull;
		p->is = sv_get_u32(r) & PORT_IRQ_MASK;
		p->ie = sv_get_u32(r) & PORT_IRQ_MASK;
		p->cmd = sv_get_u32(r);
		p->tfd = sv_get_u32(r) & ~(uint32_t)TFD_BSY;
		p->sig = sv_get_u32(r);
		p->ssts = sv_get_u32(r);
		p->sctl = sv_get_u32(r) & 0xfff;
		p->serr = sv_get_u32(r);
		p->sact = sv_get_u32(r);
		p->ci = sv_get_u32(r);
		p->stopped = sv_get_u8(r);
		p->srst = sv_get_u8(r);
		p->sig_fis_pending = sv_get_u8(r);
		p->drive_reset = sv_get_u8(r);
		p->excl_next = 0;
		ret = ata_drive_load(&p->drive, r);
	}
	if (!ret && !sv_reader_ok(r, true))
		ret = -EINVAL;
	if (!ret) {
		memcpy(s->ports, ports, sizeof(s->ports));
		s->ghc = GHC_AE | (ghc & GHC_IE);
		s->is = is & s->pi;
		ahci_update_irq(s, false);
		/* Commands that were in flight are still in PxCI: run them again. */
		io_worker_kick(s->worker);
	}
	free(ports);
	return ret;
}

const struct device_model ahci_model = {
	.name = "ahci",
	.state_version = AHCI_STATE_VERSION,
	.create = ahci_create,
	.reset = ahci_reset,
	.save = ahci_save,
	.load = ahci_load,
	.destroy = ahci_destroy,
};
