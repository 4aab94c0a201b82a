// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel 82441FX PCI and Memory Controller (PMC), the i440FX host bridge at
 * 00.0, and the configuration mechanism #1 it decodes (PCI Local Bus
 * Specification 3.0, 3.2.2.3.2; 82441FX datasheet, 3.1):
 *
 *   0xCF8  CONFADD, 32-bit: bit 31 enable, 23:16 bus, 15:11 device,
 *          10:8 function, 7:2 register (dword)
 *   0xCFC  CONFDATA: byte, word or dword at 0xCFC + n reaches register
 *          (CONFADD & 0xFC) + n of the selected function
 *
 * Only dword accesses to 0xCF8 touch CONFADD; narrower ones are ordinary
 * I/O cycles on the real chip.  The one such register a PC has inside
 * that dword is PIIX3's Reset Control at 0xCF9 (82371SB datasheet,
 * 2.4.1): it is decoded here because the bus gives 0xCF8-0xCFB to one
 * region.  The memory controller registers (SMRAM, DRAM rows) are plain
 * storage; the PAM registers (datasheet 3.2.18) decide what the CPU sees
 * at 0xC0000-0xFFFFF, RAM or the BIOS ROM, so every change is handed to
 * the machine (dev_host.pam_changed), which remaps that window.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices.h"
#include "pci.h"

#define CONFADD_ENABLE   0x80000000u
#define CONFADD_MASK     0x80fffffcu   /* bits 30:24 and 1:0 are reserved, read 0 */
#define CONFADD_BUS(a)   (((a) >> 16) & 0xff)
#define CONFADD_DEVFN(a) (((a) >> 8) & 0xff)
#define CONFADD_REG(a)   ((a) & 0xfc)

#define PIIX_RC_OFF      1             /* 0xCF9 within the CONFADD region */
#define PIIX_RC_SRST     0x02          /* system reset (hard) */
#define PIIX_RC_RCPU     0x04          /* reset CPU: 0 -> 1 starts the reset */

/* 82441FX configuration registers (datasheet 3.2) */
#define I440FX_PMCCFG    0x50          /* PMC configuration, 16-bit */
#define I440FX_DBC       0x53          /* deturbo/buffer control */
#define I440FX_DRT       0x55          /* DRAM row type, 16-bit */
#define I440FX_DRAMC     0x57          /* DRAM control */
#define I440FX_DRAMT     0x58          /* DRAM timing */
#define I440FX_PAM0      0x59          /* PAM0..PAM6: 0x59..0x5f */
#define I440FX_NR_PAM    7
#define  PAM0_WMASK          0x30      /* PAM0: only 0xF0000-0xFFFFF (bits 5:4) */
#define  PAM_WMASK           0x33      /* PAM1-6: RE/WE for two 16 KiB halves */
#define I440FX_DRB0      0x60          /* DRAM row boundaries: 0x60..0x67 */
#define I440FX_FDHC      0x68          /* fixed DRAM hole control */
#define I440FX_SMRAM     0x72
#define  SMRAM_RESET         0x02      /* C_BASE_SEG = 010b: 0xA0000 */
#define I440FX_REVISION  0x02

struct i440fx {
	struct pci_function f;
	uint32_t confadd;
	uint8_t rc;                        /* PIIX3 reset control at 0xCF9 */
};

static uint64_t i440fx_addr_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct i440fx *h = dev->priv;

	if (size == 4)
		return h->confadd;
	if (off == PIIX_RC_OFF && size == 1)
		return h->rc;
	return (1ULL << (8 * size)) - 1;
}

static void i440fx_addr_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	struct i440fx *h = dev->priv;

	if (size == 4) {
		h->confadd = (uint32_t)v & CONFADD_MASK;
	} else if (off == PIIX_RC_OFF && size == 1) {
		bool start = (v & PIIX_RC_RCPU) && !(h->rc & PIIX_RC_RCPU);

		h->rc = (uint8_t)(v & (PIIX_RC_SRST | PIIX_RC_RCPU));
		if (start && dev->host->request_reset)
			dev->host->request_reset(dev->host->req_opaque);
	}
}

/*
 * The data port.  The configuration access runs under the target
 * function's own lock; ours is dropped first so a config access to
 * 00.0 (this very device) does not deadlock on it.
 */
static uint64_t i440fx_data_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct i440fx *h = dev->priv;
	uint32_t a = h->confadd, v;

	if (!(a & CONFADD_ENABLE))
		return (1ULL << (8 * size)) - 1;
	pthread_mutex_unlock(&dev->lock);
	v = pci_bus_config_read(dev->host->pci, CONFADD_BUS(a), CONFADD_DEVFN(a),
				CONFADD_REG(a) + (unsigned int)off, size);
	pthread_mutex_lock(&dev->lock);
	return v;
}

static void i440fx_data_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	struct i440fx *h = dev->priv;
	uint32_t a = h->confadd;

	if (!(a & CONFADD_ENABLE))
		return;
	pthread_mutex_unlock(&dev->lock);
	pci_bus_config_write(dev->host->pci, CONFADD_BUS(a), CONFADD_DEVFN(a),
			     CONFADD_REG(a) + (unsigned int)off, (uint32_t)v, size);
	pthread_mutex_lock(&dev->lock);
}

/* Tell the machine what 0xC0000-0xFFFFF maps to now. */
static void i440fx_pam_changed(struct i440fx *h)
{
	struct dev_host *host = h->f.dev->host;

	if (host->pam_changed)
		host->pam_changed(host->pam_opaque, &h->f.config[I440FX_PAM0]);
}

/* Runs after the PCI core stored the masked value, under our lock. */
static void i440fx_config_write(struct pci_function *f, unsigned int off, uint32_t val,
				unsigned int size)
{
	(void)val;
	if (off < I440FX_PAM0 + I440FX_NR_PAM && off + size > I440FX_PAM0)
		i440fx_pam_changed((struct i440fx *)f);
}

static const struct io_region_ops i440fx_addr_ops = { i440fx_addr_read, i440fx_addr_write };
static const struct io_region_ops i440fx_data_ops = { i440fx_data_read, i440fx_data_write };

static int i440fx_create(struct device *dev, const struct device_args *args)
{
	struct i440fx *h;
	int ret;

	if (!dev->host->pci)
		return -ENODEV;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	dev->priv = h;
	pci_function_init(&h->f, dev, PCI_VENDOR_INTEL, 0x1237, 0x060000, I440FX_REVISION, 0, 0);
	/* Memory controller registers: writable storage (see the top comment). */
	h->f.wmask[I440FX_PMCCFG] = 0xff;
	h->f.wmask[I440FX_PMCCFG + 1] = 0xff;
	h->f.wmask[I440FX_DBC] = 0xff;
	h->f.wmask[I440FX_DRT] = 0xff;
	h->f.wmask[I440FX_DRT + 1] = 0xff;
	h->f.wmask[I440FX_DRAMC] = 0xff;
	h->f.wmask[I440FX_DRAMT] = 0xff;
	h->f.wmask[I440FX_PAM0] = PAM0_WMASK;
	for (unsigned int r = I440FX_PAM0 + 1; r < I440FX_PAM0 + I440FX_NR_PAM; r++)
		h->f.wmask[r] = PAM_WMASK;
	h->f.config_write = i440fx_config_write;
	for (unsigned int r = I440FX_DRB0; r < I440FX_DRB0 + 8; r++)
		h->f.wmask[r] = 0xff;
	h->f.wmask[I440FX_FDHC] = 0xc0;
	h->f.wmask[I440FX_SMRAM] = 0x78;  /* D_OPEN, D_CLS, D_LCK, G_SMRAME */
	ret = pci_bus_attach(dev->host->pci, &h->f, 0, 0);
	if (ret)
		return ret;
	ret = bus_register(dev->host->pio, PCI_CONFIG_ADDR_PORT, 4, &i440fx_addr_ops, dev,
			   "pci-conf-addr");
	if (!ret)
		ret = bus_register(dev->host->pio, PCI_CONFIG_DATA_PORT, 4, &i440fx_data_ops, dev,
				   "pci-conf-data");
	return ret;
}

static void i440fx_reset(struct device *dev)
{
	struct i440fx *h = dev->priv;

	pci_function_reset(&h->f);
	h->confadd = 0;
	h->rc = 0;
	/* PAM power-on value 0: the whole window reads the ROM (or nothing). */
	for (unsigned int r = I440FX_PAM0; r < I440FX_PAM0 + I440FX_NR_PAM; r++)
		h->f.config[r] = 0;
	h->f.config[I440FX_SMRAM] = SMRAM_RESET;
	i440fx_pam_changed(h);
}

static int i440fx_save(struct device *dev, struct sv_writer *w)
{
	struct i440fx *h = dev->priv;

	sv_put_u32(w, h->confadd);
	sv_put_u8(w, h->rc);
	return pci_function_save(&h->f, w);
}

static int i440fx_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct i440fx *h = dev->priv;
	uint32_t confadd = sv_get_u32(r);
	uint8_t rc = sv_get_u8(r);
	int ret = pci_function_load(&h->f, r);

	if (ret)
		return ret;
	if (!sv_reader_ok(r, true))
		return -EINVAL;
	h->confadd = confadd & CONFADD_MASK;
	h->rc = rc & (PIIX_RC_SRST | PIIX_RC_RCPU);
	/* The saved PAM bytes are the guest's: keep only the defined bits. */
	h->f.config[I440FX_PAM0] &= PAM0_WMASK;
	for (unsigned int i = 1; i < I440FX_NR_PAM; i++)
		h->f.config[I440FX_PAM0 + i] &= PAM_WMASK;
	i440fx_pam_changed(h);
	return 0;
}

static void i440fx_destroy(struct device *dev)
{
	struct i440fx *h = dev->priv;

	if (!h)
		return;
	pci_bus_detach(&h->f);
	free(h);
}

const struct device_model i440fx_model = {
	.name = "i440fx",
	.state_version = 1,
	.create = i440fx_create,
	.reset = i440fx_reset,
	.save = i440fx_save,
	.load = i440fx_load,
	.destroy = i440fx_destroy,
};
