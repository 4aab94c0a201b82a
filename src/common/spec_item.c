// SPDX-License-Identifier: GPL-2.0-or-later
/* The spec lists' item reader (spec_item.h). */
#include <stdlib.h>
#include <string.h>

#include "spec_item.h"

char *spec_next_item(const char *s, size_t *pos, bool *oom)
{
	size_t i = *pos, n = 0;
	char *out;

	if (!s[i])
		return NULL;
	out = malloc(strlen(s + i) + 1);
	if (!out) {
		*oom = true;
		return NULL;
	}
	while (s[i]) {
		if (s[i] == ',') {
			if (s[i + 1] != ',')
				break;
			i++;   /* ",,": one comma, part of the value */
		}
		out[n++] = s[i++];
	}
	out[n] = '\0';
	if (s[i] == ',')
		i++;
	*pos = i;
	return out;
}

int spec_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
