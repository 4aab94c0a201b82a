/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest OS types with VirtualBox's IDs and recommended defaults. */
#ifndef HUTCH_OSTYPE_H
#define HUTCH_OSTYPE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hutch_ostype {
	const char *id;			/* "Ubuntu_64" */
	const char *description;	/* "Ubuntu (64-bit)" */
	const char *family_id;		/* "Linux" */
	const char *family_desc;	/* "Linux" */
	bool is64;
	unsigned memory;		/* recommended RAM, MiB */
	unsigned vram;			/* recommended VRAM, MiB */
	unsigned disk_gb;		/* recommended disk, GiB */
	const char *graphics;		/* recommended graphics controller */
	const char *dvd_bus;		/* "ide" or "sata" */
	const char *nictype;		/* recommended NIC */
};

const struct hutch_ostype *hutch_ostype_find(const char *id);	/* case-insensitive */
const struct hutch_ostype *hutch_ostype_at(size_t i);		/* NULL past the end */

#ifdef __cplusplus
}
#endif

#endif
