/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder until the slirp back end lands: refuses to open. */
#include <errno.h>
#include <stdio.h>

#include "net_backend.h"

int net_slirp_open(struct net_backend *nb, const struct nic_spec *spec, const char *vm_name,
		  char *err, size_t errlen)
{
	(void)nb; (void)vm_name;
	snprintf(err, errlen, "nic%u: the %s attachment is not built yet", spec->index, "slirp");
	return -ENOSYS;
}
