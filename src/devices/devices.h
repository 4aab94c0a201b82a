/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device models and the few model-specific calls the VMM makes. */
#ifndef HUTCH_DEVICES_H
#define HUTCH_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

extern const struct device_model uart16550_model; /* uart16550.c */
extern const struct device_model rtc_model;       /* rtc.c */
extern const struct device_model i8042_model;     /* i8042.c */
extern const struct device_model acpi_pm_model;   /* acpi_pm.c */
extern const struct device_model i440fx_model;    /* i440fx.c: PCI host bridge, 00.0 */
extern const struct device_model piix3_model;     /* piix3.c: PCI-ISA bridge, 01.0 */
extern const struct device_model virtio_blk_model; /* virtio_blk.c */
extern const struct device_model piix3_ide_model; /* piix3_ide.c */
extern const struct device_model ahci_model;      /* ahci.c */
extern const struct device_model fw_cfg_model;    /* fw_cfg.c: QEMU firmware configuration (fw_cfg.h) */
extern const struct device_model vga_model;       /* vga.c: VGA + Bochs VBE, 1234:1111 */
extern const struct device_model e1000_model;     /* e1000.c: Intel 82540EM NIC, 8086:100E */
extern const struct device_model virtio_net_model; /* virtio_net.c */
extern const struct device_model virtio_input_model; /* virtio_input.c: a tablet, 1af4:1052 */

/* Standard PC placements. */
#define COM1_PORT        0x3f8
#define COM1_GSI         4
#define RTC_PORT         0x70
#define RTC_GSI          8
#define I8042_DATA_PORT  0x60
#define I8042_CMD_PORT   0x64
#define ACPI_PM_PORT     0x600   /* PM1a_EVT at +0, PM1a_CNT at +4, PM_TMR at +8 */
#define ACPI_PM_EVT_LEN  4
#define ACPI_PM_CNT_OFF  4
#define ACPI_PM_CNT_LEN  2
#define ACPI_PM_TMR_OFF  8
#define ACPI_PM_TMR_LEN  4
#define ACPI_GPE0_PORT   0xafe0
#define ACPI_GPE0_LEN    4
#define ACPI_SCI_GSI     9
/* SLP_TYP value the DSDT's \_S5 package names; writing it with SLP_EN powers off. */
#define ACPI_S5_SLP_TYP  5

/* uart16550: feed received bytes (from the event loop); returns bytes taken. */
size_t uart16550_receive(struct device *dev, const uint8_t *buf, size_t len);
/* uart16550: bytes of receive FIFO space left (flow control for the back end). */
size_t uart16550_rx_space(struct device *dev);
/*
 * uart16550: bytes of output lost so far: dropped while the reader stalled
 * past the limit, beyond device_args.out_limit, after the back end failed,
 * or written by the guest while THRE read clear.
 */
uint64_t uart16550_output_dropped(struct device *dev);
/*
 * uart16550: the VM is over (no vCPU runs): write what the output fd takes
 * now without blocking, count the rest as dropped; the dropped total.
 */
uint64_t uart16550_output_finish(struct device *dev);

/* piix3: PIRQ route control register @pirq (0 = PIRQA); 0x80 = disabled. */
uint8_t piix3_pirq_route(struct device *dev, unsigned int pirq);

/*
 * ahci: insert (@img) or remove (NULL) the medium of the CD/DVD drive on
 * @port, as vmctl storageattach does on a running VM (ata_cd_change_media:
 * -EBUSY if the guest locked the tray, unless @force; *@old gets the
 * previous image to close).  Waits for the controller's I/O thread; call
 * it without the device lock, from one thread at a time.  -EINVAL if
 * @port has no CD/DVD drive.
 */
int ahci_change_media(struct device *dev, unsigned int port, struct blk_image *img, bool force,
		      struct blk_image **old);

/* acpi_pm: press the power button (sets PWRBTN_STS, raises SCI if enabled). */
void acpi_pm_press_power_button(struct device *dev);

#endif
