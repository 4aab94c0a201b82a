// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The explicit table of device models.  A plain table rather than
 * constructor attributes: a static library would silently drop an
 * unreferenced constructor, and a newcomer sees every model here.
 */
#include <stddef.h>

#include "device.h"
#include "devices.h"

const struct device_model *const device_models[] = {
	&uart16550_model,
	&rtc_model,
	&i8042_model,
	&acpi_pm_model,
	&i440fx_model,
	&piix3_model,
	&virtio_blk_model,
	&piix3_ide_model,
	&ahci_model,
	&fw_cfg_model,
	&vga_model,
	&e1000_model,
	&virtio_net_model,
	&virtio_input_model,
	NULL,
};
