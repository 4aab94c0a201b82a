// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vbe-draw: a graphics mode without a graphics driver, for the VM window's
 * guest test and the display benchmark.  Sets a Bochs VBE mode through the
 * DISPI registers (Bochs' vbe.h: XRES, YRES, BPP, ENABLE with the linear
 * framebuffer bit) as QEMU's stdvga maps them in its BAR 2 (16 bits each at
 * 0x500 + 2 * index; hutch-vm's vga.c the same), and draws into the
 * adapter's BAR 0 (the linear framebuffer); both BARs mapped through sysfs'
 * resourceN.  Built static; runs as root from the busybox initramfs.
 *
 * Not the VBE ports 0x1CE/0x1CF from user space (ioperm): in the KVM
 * sandbox, the first OUT faults (#GP) in QEMU's L2 guest, though not in
 * hutch-vm's.  The reading of the sources that fits: QEMU's TCG, emulating
 * SVM for L1, takes a user-mode port access only with a TR of type 9
 * (available TSS; helper_check_io), while KVM reports TR as busy (type 11,
 * svm_get_segment), which QEMU as the L2 VMM writes back.  MMIO has no
 * such check.
 *
 *   vbe-draw pattern W H        the 32-bpp picture fwlib.sh's fw_pattern makes
 *                               (every pixel told apart by position), then exit
 *   vbe-draw animate W H SECS   redraw every pixel, frame after frame, for SECS
 *                               seconds; prints "HUTCH-RESULT frames=N"
 *
 * The kernel's text console still thinks it owns the VGA: the caller keeps
 * tty1 quiet meanwhile.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { VBE_XRES = 1, VBE_YRES = 2, VBE_BPP = 3, VBE_ENABLE = 4, VBE_VIRT_WIDTH = 6,
       VBE_VIRT_HEIGHT = 7, VBE_X_OFFSET = 8, VBE_Y_OFFSET = 9 };
#define VBE_ENABLED 0x01
#define VBE_LFB     0x40

#define BOCHS_VENDOR "0x1234"
#define MMIO_LEN     0x1000   /* BAR 2 */
#define MMIO_DISPI   0x500    /* + 2 * index */

static volatile uint16_t *dispi;

static void vbe_write(unsigned int reg, unsigned int val)
{
	dispi[reg] = (uint16_t)val;
}

/* The adapter (1234:1111)'s sysfs folder into @dir; 0 if found. */
static int find_adapter(char *dir, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[512], id[32];

	while (d && (e = readdir(d))) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		id[0] = 0;
		if (!fgets(id, sizeof(id), f))
			id[0] = 0;
		fclose(f);
		if (strncmp(id, BOCHS_VENDOR, strlen(BOCHS_VENDOR)))
			continue;
		snprintf(dir, len, "/sys/bus/pci/devices/%s", e->d_name);
		closedir(d);
		return 0;
	}
	if (d)
		closedir(d);
	return -1;
}

/* The adapter's BAR @bar, @len bytes, mapped uncached; NULL on failure. */
static void *map_bar(const char *dir, int bar, size_t len)
{
	char path[600];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/resource%d", dir, bar);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static uint32_t pattern(unsigned int x, unsigned int y)
{
	unsigned int c = (((x >> 8) << 4 | (y >> 8) << 1 | ((x ^ y) & 1)) * 7) & 255;

	return (x & 255) | (y & 255) << 8 | c << 16;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned int w, h;
	char dir[300];
	uint8_t *mmio;
	uint32_t *fb;

	if (argc < 4 || (strcmp(argv[1], "pattern") && strcmp(argv[1], "animate")) ||
	    (!strcmp(argv[1], "animate") && argc < 5)) {
		fprintf(stderr, "usage: vbe-draw pattern W H | animate W H SECONDS\n");
		return 2;
	}
	w = (unsigned int)atoi(argv[2]);
	h = (unsigned int)atoi(argv[3]);
	if (!w || !h || w > 2560 || h > 1600) {
		fprintf(stderr, "vbe-draw: no mode %ux%u\n", w, h);
		return 1;
	}
	if (find_adapter(dir, sizeof(dir))) {
		fprintf(stderr, "vbe-draw: no Bochs VBE adapter (vendor %s)\n", BOCHS_VENDOR);
		return 1;
	}
	mmio = map_bar(dir, 2, MMIO_LEN);
	if (!mmio) {
		fprintf(stderr, "vbe-draw: %s/resource2 (the DISPI registers): %m\n", dir);
		return 1;
	}
	dispi = (volatile uint16_t *)(mmio + MMIO_DISPI);
	vbe_write(VBE_ENABLE, 0);
	vbe_write(VBE_XRES, w);
	vbe_write(VBE_YRES, h);
	vbe_write(VBE_BPP, 32);
	vbe_write(VBE_VIRT_WIDTH, w);
	vbe_write(VBE_VIRT_HEIGHT, h);
	vbe_write(VBE_X_OFFSET, 0);
	vbe_write(VBE_Y_OFFSET, 0);
	vbe_write(VBE_ENABLE, VBE_ENABLED | VBE_LFB);
	fb = map_bar(dir, 0, (size_t)w * h * 4);
	if (!fb) {
		fprintf(stderr, "vbe-draw: %s/resource0 (the framebuffer): %m\n", dir);
		return 1;
	}
	if (!strcmp(argv[1], "pattern")) {
		for (unsigned int y = 0; y < h; y++)
			for (unsigned int x = 0; x < w; x++)
				fb[(size_t)y * w + x] = pattern(x, y);
		return 0;
	}
	/* Every frame changes every pixel: a full-screen redraw, as a video or a game's. */
	{
		double end = now_s() + atof(argv[4]);
		unsigned long frames = 0;

		while (now_s() < end) {
			uint32_t k = (uint32_t)frames * 0x010305u;

			for (size_t i = 0; i < (size_t)w * h; i++)
				fb[i] = (pattern((unsigned int)(i % w), (unsigned int)(i / w)) ^ k) & 0xffffff;
			frames++;
		}
		printf("HUTCH-RESULT frames=%lu\n", frames);
	}
	return 0;
}
