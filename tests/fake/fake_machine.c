// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fake_machine.h"

static void fake_set_level(void *opaque, uint32_t gsi, int level)
{
	struct fake_machine *fm = opaque;

	if (gsi >= FAKE_NR_GSI) {
		fm->irq_bad_gsi++;
		return;
	}
	if (level && !fm->irq_level[gsi])
		fm->irq_edges[gsi]++;
	fm->irq_level[gsi] = level ? 1 : 0;
}

static const struct irq_chip_ops fake_irq_ops = { fake_set_level };

static void fake_request_reset(void *opaque)
{
	((struct fake_machine *)opaque)->resets++;
}

static void fake_request_poweroff(void *opaque)
{
	((struct fake_machine *)opaque)->poweroffs++;
}

static void fake_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fake_machine *fm = opaque;

	if (fm->nr_msis < FAKE_MAX_MSIS)
		fm->msis[fm->nr_msis] = (struct fake_msi){ addr, data };
	fm->nr_msis++;
}

static int64_t fake_realtime(void *opaque)
{
	return ((struct fake_machine *)opaque)->realtime_ns;
}

static int64_t fake_monotonic(void *opaque)
{
	return ((struct fake_machine *)opaque)->monotonic_ns;
}

static void fake_display_publish(void *opaque, const struct display_ops *ops, void *dev_opaque)
{
	struct fake_machine *fm = opaque;

	fm->display_ops = ops;
	fm->display_opaque = ops ? dev_opaque : NULL;
	fm->display_publishes++;
}

static void fake_input_publish(void *opaque, const struct input_ops *ops, void *dev_opaque)
{
	struct fake_machine *fm = opaque;
	unsigned int i, j;

	if (!ops) {
		for (i = j = 0; i < fm->nr_inputs; i++)
			if (fm->inputs[i].opaque != dev_opaque)
				fm->inputs[j++] = fm->inputs[i];
		fm->nr_inputs = j;
		return;
	}
	if (fm->nr_inputs < sizeof(fm->inputs) / sizeof(fm->inputs[0])) {
		fm->inputs[fm->nr_inputs].ops = ops;
		fm->inputs[fm->nr_inputs].opaque = dev_opaque;
		fm->nr_inputs++;
	}
}

static void fake_pam_changed(void *opaque, const uint8_t pam[7])
{
	struct fake_machine *fm = opaque;

	memcpy(fm->pam, pam, sizeof(fm->pam));
	fm->pam_changes++;
}

int fake_machine_init(struct fake_machine *fm, uint64_t ram_size)
{
	memset(fm, 0, sizeof(*fm));
	bus_init(&fm->pio, "pio");
	bus_init(&fm->mmio, "mmio");
	if (ram_size) {
		fm->ram = calloc(1, ram_size);
		if (!fm->ram || gm_add_region(&fm->mem, 0, ram_size, fm->ram)) {
			fake_machine_destroy(fm);
			return -ENOMEM;
		}
		fm->ram_size = ram_size;
	}
	fm->host = (struct dev_host){
		.pio = &fm->pio, .mmio = &fm->mmio, .mem = &fm->mem,
		.irq_ops = &fake_irq_ops, .irq_opaque = fm,
		.request_reset = fake_request_reset, .request_poweroff = fake_request_poweroff,
		.req_opaque = fm,
		.clock_realtime_ns = fake_realtime, .clock_monotonic_ns = fake_monotonic,
		.clock_opaque = fm,
		.signal_msi = fake_signal_msi, .msi_opaque = fm,
		.loop_ops = &fake_loop_ops, .loop = fm,
		.memregion_ops = &fake_mem_ops, .memregion_opaque = fm,
		.display_publish = fake_display_publish, .display_opaque = fm,
		.input_publish = fake_input_publish, .input_opaque = fm,
		.pam_changed = fake_pam_changed, .pam_opaque = fm,
	};
	fm->pci = pci_bus_create(&fm->host);
	if (!fm->pci) {
		fake_machine_destroy(fm);
		return -ENOMEM;
	}
	fm->host.pci = fm->pci;
	return 0;
}

void fake_machine_destroy(struct fake_machine *fm)
{
	/* Devices free their timers, watches, ioevents and irqfds; a device
	 * that leaks one is caught by ASan in the unit tests. */
	pci_bus_destroy(fm->pci);
	fm->pci = NULL;
	fm->host.pci = NULL;
	bus_destroy(&fm->pio);
	bus_destroy(&fm->mmio);
	free(fm->ram);
	fm->ram = NULL;
	fm->ram_size = 0;
}

void fake_machine_clear_counts(struct fake_machine *fm)
{
	memset(fm->irq_edges, 0, sizeof(fm->irq_edges));
	fm->irq_bad_gsi = 0;
	fm->nr_msis = 0;
	memset(fm->msis, 0, sizeof(fm->msis));
	fm->resets = fm->poweroffs = 0;
}

uint32_t fake_pio_read(struct fake_machine *fm, uint16_t port, unsigned int size)
{
	uint32_t v = 0;

	if (size > sizeof(v))
		return ~0u;
	bus_read(&fm->pio, port, &v, size);
	return v;
}

void fake_pio_write(struct fake_machine *fm, uint16_t port, uint32_t value, unsigned int size)
{
	if (size <= sizeof(value) && !fake_ioevent_catch(fm, true, port, size))
		bus_write(&fm->pio, port, &value, size);
}

uint32_t fake_pci_cfg_read(struct fake_machine *fm, uint8_t devfn, unsigned int off,
			   unsigned int size)
{
	return pci_bus_config_read(fm->pci, 0, devfn, off, size);
}

void fake_pci_cfg_write(struct fake_machine *fm, uint8_t devfn, unsigned int off,
			uint32_t value, unsigned int size)
{
	pci_bus_config_write(fm->pci, 0, devfn, off, value, size);
}

uint64_t fake_mmio_read(struct fake_machine *fm, uint64_t addr, unsigned int size)
{
	uint64_t v = 0;

	if (size > sizeof(v))
		return ~0ULL;
	bus_read(&fm->mmio, addr, &v, size);
	return v;
}

void fake_mmio_write(struct fake_machine *fm, uint64_t addr, uint64_t value, unsigned int size)
{
	if (size <= sizeof(value) && !fake_ioevent_catch(fm, false, addr, size))
		bus_write(&fm->mmio, addr, &value, size);
}

struct device *fake_device_create(struct fake_machine *fm, const struct device_model *model,
				  const struct device_args *args)
{
	static const struct device_args none = { .out_fd = -1, .in_fd = -1 };

	return device_create(model, NULL, &fm->host, args ? args : &none);
}

int fake_save(struct device *dev, struct sv_writer *w)
{
	sv_writer_init(w);
	return device_save(dev, w);
}

int fake_load(struct device *dev, const struct sv_writer *w)
{
	struct sv_reader r;

	sv_reader_init(&r, w->buf, w->len);
	return device_load(dev, &r, dev->model->state_version);
}

struct device *fake_clone(struct device *src, struct fake_machine *fm2)
{
	const struct fake_machine *fm = (const struct fake_machine *)
		((const char *)src->host - offsetof(struct fake_machine, host));
	struct device *dev = NULL;
	struct sv_writer w;

	if (fake_machine_init(fm2, 0))
		return NULL;
	fm2->realtime_ns = fm->realtime_ns;
	fm2->monotonic_ns = fm->monotonic_ns;
	if (!fake_save(src, &w))
		dev = fake_device_create(fm2, src->model, NULL);
	if (dev && fake_load(dev, &w)) {
		device_destroy(dev);
		dev = NULL;
	}
	sv_writer_free(&w);
	return dev;
}
