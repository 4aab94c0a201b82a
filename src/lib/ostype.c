// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest OS types: VirtualBox's IDs and descriptions (what scripts pass to
 * --ostype and what showvminfo prints), with the defaults createvm
 * --default applies.
 */
#include <stddef.h>
#include <strings.h>

#include "hutch/ostype.h"

#define L(id, desc, fam, fdesc, b64, mem, vram, disk, gfx, dvd) \
	{ id, desc, fam, fdesc, b64, mem, vram, disk, gfx, dvd, "82540EM" }

static const struct hutch_ostype ostypes[] = {
	L("Other", "Other/Unknown", "Other", "Other", false, 64, 4, 2, "vboxvga", "ide"),
	L("Other_64", "Other/Unknown (64-bit)", "Other", "Other", true, 512, 16, 2, "vboxvga", "ide"),
	L("Linux", "Other Linux (32-bit)", "Linux", "Linux", false, 256, 16, 8, "vmsvga", "ide"),
	L("Linux_64", "Other Linux (64-bit)", "Linux", "Linux", true, 512, 16, 8, "vmsvga", "ide"),
	L("Linux26", "Linux 2.6 / 3.x / 4.x / 5.x (32-bit)", "Linux", "Linux", false, 256, 16, 8, "vmsvga", "ide"),
	L("Linux26_64", "Linux 2.6 / 3.x / 4.x / 5.x (64-bit)", "Linux", "Linux", true, 512, 16, 8, "vmsvga", "ide"),
	L("ArchLinux", "Arch Linux (32-bit)", "Linux", "Linux", false, 1024, 16, 8, "vmsvga", "ide"),
	L("ArchLinux_64", "Arch Linux (64-bit)", "Linux", "Linux", true, 1024, 16, 8, "vmsvga", "ide"),
	L("Debian", "Debian (32-bit)", "Linux", "Linux", false, 1024, 16, 20, "vmsvga", "ide"),
	L("Debian_64", "Debian (64-bit)", "Linux", "Linux", true, 1024, 16, 20, "vmsvga", "ide"),
	L("Debian11_64", "Debian 11 Bullseye (64-bit)", "Linux", "Linux", true, 2048, 16, 20, "vmsvga", "ide"),
	L("Debian12_64", "Debian 12 Bookworm (64-bit)", "Linux", "Linux", true, 2048, 16, 20, "vmsvga", "ide"),
	L("Fedora", "Fedora (32-bit)", "Linux", "Linux", false, 2048, 16, 20, "vmsvga", "ide"),
	L("Fedora_64", "Fedora (64-bit)", "Linux", "Linux", true, 2048, 16, 20, "vmsvga", "ide"),
	L("Gentoo_64", "Gentoo (64-bit)", "Linux", "Linux", true, 1024, 16, 8, "vmsvga", "ide"),
	L("OpenSUSE_64", "openSUSE (64-bit)", "Linux", "Linux", true, 1024, 16, 8, "vmsvga", "ide"),
	L("Oracle_64", "Oracle Linux (64-bit)", "Linux", "Linux", true, 2048, 16, 20, "vmsvga", "ide"),
	L("RedHat", "Red Hat (32-bit)", "Linux", "Linux", false, 2048, 16, 20, "vmsvga", "ide"),
	L("RedHat_64", "Red Hat (64-bit)", "Linux", "Linux", true, 2048, 16, 20, "vmsvga", "ide"),
	L("Ubuntu", "Ubuntu (32-bit)", "Linux", "Linux", false, 2048, 16, 25, "vmsvga", "ide"),
	L("Ubuntu_64", "Ubuntu (64-bit)", "Linux", "Linux", true, 2048, 16, 25, "vmsvga", "ide"),
	L("Ubuntu22_LTS_64", "Ubuntu 22.04 LTS (Jammy Jellyfish) (64-bit)", "Linux", "Linux", true, 2048, 16, 25, "vmsvga", "ide"),
	L("Ubuntu24_LTS_64", "Ubuntu 24.04 LTS (Noble Numbat) (64-bit)", "Linux", "Linux", true, 2048, 16, 25, "vmsvga", "ide"),
	L("FreeBSD", "FreeBSD (32-bit)", "BSD", "BSD", false, 1024, 16, 16, "vmsvga", "sata"),
	L("FreeBSD_64", "FreeBSD (64-bit)", "BSD", "BSD", true, 1024, 16, 16, "vmsvga", "sata"),
	L("OpenBSD_64", "OpenBSD (64-bit)", "BSD", "BSD", true, 1024, 16, 16, "vmsvga", "sata"),
	L("NetBSD_64", "NetBSD (64-bit)", "BSD", "BSD", true, 1024, 16, 16, "vmsvga", "sata"),
	L("Solaris11_64", "Oracle Solaris 11 (64-bit)", "Solaris", "Solaris", true, 2048, 16, 16, "vmsvga", "sata"),
	L("WindowsXP", "Windows XP (32-bit)", "Windows", "Microsoft Windows", false, 192, 16, 10, "vboxvga", "ide"),
	L("Windows7", "Windows 7 (32-bit)", "Windows", "Microsoft Windows", false, 1024, 27, 32, "vboxsvga", "sata"),
	L("Windows7_64", "Windows 7 (64-bit)", "Windows", "Microsoft Windows", true, 2048, 27, 32, "vboxsvga", "sata"),
	L("Windows10_64", "Windows 10 (64-bit)", "Windows", "Microsoft Windows", true, 2048, 128, 50, "vboxsvga", "sata"),
	L("Windows11_64", "Windows 11 (64-bit)", "Windows", "Microsoft Windows", true, 4096, 128, 80, "vboxsvga", "sata"),
	L("Windows2019_64", "Windows 2019 (64-bit)", "Windows", "Microsoft Windows", true, 2048, 128, 50, "vboxsvga", "sata"),
	L("Windows2022_64", "Windows 2022 (64-bit)", "Windows", "Microsoft Windows", true, 2048, 128, 50, "vboxsvga", "sata"),
};

const struct hutch_ostype *hutch_ostype_find(const char *id)
{
	size_t i;

	for (i = 0; id && i < sizeof(ostypes) / sizeof(ostypes[0]); i++)
		if (!strcasecmp(ostypes[i].id, id))
			return &ostypes[i];
	return NULL;
}

const struct hutch_ostype *hutch_ostype_at(size_t i)
{
	return i < sizeof(ostypes) / sizeof(ostypes[0]) ? &ostypes[i] : NULL;
}
