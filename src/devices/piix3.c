// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel 82371SB PIIX3, function 0: the PCI-to-ISA bridge at 01.0
 * (82371FB/SB datasheet, 2.2).  Its header says "multi-function" because
 * the IDE controller is function 1 of the same chip (01.1, a separate
 * model).
 *
 * The ISA devices behind it (PIC, PIT, RTC, ...) are separate models or
 * live in KVM.  What the bridge itself contributes is the PIRQ route
 * control registers 0x60-0x63: on real boards they steer PIRQA-D to a PIC
 * IRQ.  Hutch runs the I/O APIC, where PIRQA-D are hard-wired to inputs
 * 16-19 (pci.h, and the DSDT's _PRT says so); the route registers are
 * kept, with their reset value 0x80 (routing disabled), for firmware and
 * for guests that probe them, but they do not change the wiring.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices.h"
#include "pci.h"

/* 82371SB function 0 configuration registers (datasheet 2.2) */
#define PIIX3_IORT       0x4c          /* ISA I/O recovery timer */
#define  IORT_RESET          0x4d
#define PIIX3_XBCS       0x4e          /* X-bus chip select, 16-bit */
#define  XBCS_RESET          0x0003
#define PIIX3_PIRQRC     0x60          /* PIRQ route control A..D: 0x60..0x63 */
#define  PIRQRC_DISABLE      0x80      /* IRQROUTEEN# */
#define  PIRQRC_WMASK        0x8f      /* bit 7 and the IRQ number 3:0 */
#define PIIX3_TOM        0x69          /* top of memory */
#define  TOM_RESET           0x02
#define PIIX3_MSTAT      0x6a          /* misc status, 16-bit */
#define PIIX3_MBIRQ0     0x70          /* motherboard device IRQ route */
#define PIIX3_MBIRQ1     0x71
#define  MBIRQ_RESET         0x80
#define PIIX3_MBDMA0     0x76
#define PIIX3_MBDMA1     0x77
#define  MBDMA_RESET         0x0c
#define PIIX3_PCSC       0x78          /* programmable chip select, 16-bit */
#define  PCSC_RESET          0x0002
#define PIIX3_APICBASE   0x80
#define PIIX3_DLC        0x82          /* deterministic latency control */
#define PIIX3_SMICNTL    0xa0
#define PIIX3_SMIEN      0xa2          /* 16-bit */
#define PIIX3_SEE        0xa4          /* 32-bit */
#define PIIX3_FTMR       0xa8
#define  FTMR_RESET          0x0f
#define PIIX3_SMIREQ     0xaa          /* 16-bit */
#define PIIX3_CTLTMR     0xac
#define PIIX3_CTHTMR     0xae
#define PIIX3_NR_PIRQ    4

struct piix3 {
	struct pci_function f;
};

/*
 * Plain storage registers with their reset values (offset, width, value,
 * writable bits).  Nothing behind them is emulated; the masks keep the
 * datasheet's reserved bits zero where it names them.
 */
static const struct {
	uint8_t off, len;
	uint16_t reset, wmask;
} piix3_regs[] = {
	{ PIIX3_IORT, 1, IORT_RESET, 0x7f },
	{ PIIX3_XBCS, 2, XBCS_RESET, 0x07ff },
	{ PIIX3_PIRQRC + 0, 1, PIRQRC_DISABLE, PIRQRC_WMASK },
	{ PIIX3_PIRQRC + 1, 1, PIRQRC_DISABLE, PIRQRC_WMASK },
	{ PIIX3_PIRQRC + 2, 1, PIRQRC_DISABLE, PIRQRC_WMASK },
	{ PIIX3_PIRQRC + 3, 1, PIRQRC_DISABLE, PIRQRC_WMASK },
	{ PIIX3_TOM, 1, TOM_RESET, 0xfe },
	{ PIIX3_MSTAT, 2, 0, 0x0080 },
	{ PIIX3_MBIRQ0, 1, MBIRQ_RESET, 0xcf },
	{ PIIX3_MBIRQ1, 1, MBIRQ_RESET, 0xcf },
	{ PIIX3_MBDMA0, 1, MBDMA_RESET, 0x87 },
	{ PIIX3_MBDMA1, 1, MBDMA_RESET, 0x87 },
	{ PIIX3_PCSC, 2, PCSC_RESET, 0xffff },
	{ PIIX3_APICBASE, 1, 0, 0x7f },
	{ PIIX3_DLC, 1, 0, 0x0f },
	{ PIIX3_SMICNTL, 1, 0x08, 0x1f },
	{ PIIX3_SMIEN, 2, 0, 0x00ff },
	{ PIIX3_FTMR, 1, FTMR_RESET, 0xff },
	{ PIIX3_SMIREQ, 2, 0, 0x00ff },
	{ PIIX3_CTLTMR, 1, 0, 0xff },
	{ PIIX3_CTHTMR, 1, 0, 0xff },
};

static int piix3_create(struct device *dev, const struct device_args *args)
{
	struct piix3 *p;

	if (!dev->host->pci)
		return -ENODEV;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	dev->priv = p;
	pci_function_init(&p->f, dev, PCI_VENDOR_INTEL, 0x7000, 0x060100, 0, 0, 0);
	p->f.config[PCI_HEADER_TYPE] = PCI_HEADER_MULTI_FUNC;
	for (size_t i = 0; i < sizeof(piix3_regs) / sizeof(piix3_regs[0]); i++) {
		p->f.wmask[piix3_regs[i].off] = (uint8_t)piix3_regs[i].wmask;
		if (piix3_regs[i].len == 2)
			p->f.wmask[piix3_regs[i].off + 1] = (uint8_t)(piix3_regs[i].wmask >> 8);
	}
	/* SEE is 32 bits of enables. */
	for (unsigned int o = 0; o < 4; o++)
		p->f.wmask[PIIX3_SEE + o] = 0xff;
	return pci_bus_attach(dev->host->pci, &p->f, args->pci_slot ? args->pci_slot : 1, 0);
}

static void piix3_reset(struct device *dev)
{
	struct piix3 *p = dev->priv;

	pci_function_reset(&p->f);
	for (size_t i = 0; i < sizeof(piix3_regs) / sizeof(piix3_regs[0]); i++) {
		p->f.config[piix3_regs[i].off] = (uint8_t)piix3_regs[i].reset;
		if (piix3_regs[i].len == 2)
			p->f.config[piix3_regs[i].off + 1] = (uint8_t)(piix3_regs[i].reset >> 8);
	}
	for (unsigned int o = 0; o < 4; o++)
		p->f.config[PIIX3_SEE + o] = 0;
}

static int piix3_save(struct device *dev, struct sv_writer *w)
{
	return pci_function_save(&((struct piix3 *)dev->priv)->f, w);
}

static int piix3_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	int ret = pci_function_load(&((struct piix3 *)dev->priv)->f, r);

	if (!ret && !sv_reader_ok(r, true))
		ret = -EINVAL;
	return ret;
}

static void piix3_destroy(struct device *dev)
{
	struct piix3 *p = dev->priv;

	if (!p)
		return;
	pci_bus_detach(&p->f);
	free(p);
}

uint8_t piix3_pirq_route(struct device *dev, unsigned int pirq)
{
	struct piix3 *p = dev->priv;
	uint8_t v;

	if (pirq >= PIIX3_NR_PIRQ)
		return PIRQRC_DISABLE;
	pthread_mutex_lock(&dev->lock);
	v = p->f.config[PIIX3_PIRQRC + pirq];
	pthread_mutex_unlock(&dev->lock);
	return v;
}

const struct device_model piix3_model = {
	.name = "piix3",
	.state_version = 1,
	.create = piix3_create,
	.reset = piix3_reset,
	.save = piix3_save,
	.load = piix3_load,
	.destroy = piix3_destroy,
};
