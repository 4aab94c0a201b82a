/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An interrupt line as a device sees it: one GSI on the machine's
 * interrupt controller.  The VMM backs it with KVM_IRQ_LINE; the unit-test
 * harness records the levels.  Devices drive the *level* of their output
 * pin; edge-triggered inputs (ISA) see the rising edge.
 */
#ifndef HUTCH_IRQ_H
#define HUTCH_IRQ_H

#include <stdint.h>

struct irq_chip_ops {
	void (*set_level)(void *opaque, uint32_t gsi, int level);
};

struct irq_line {
	const struct irq_chip_ops *ops;
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *line, int level)
{
	if (line && line->ops)
		line->ops->set_level(line->opaque, line->gsi, level ? 1 : 0);
}

#endif
