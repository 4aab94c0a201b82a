// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm.h"

/* Capabilities without which Hutch's machine cannot work. */
static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
};

static struct kvm_cpuid2 *kvm_get_supported_cpuid(int fd)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

int kvm_open(struct kvm *k, char *err, size_t errlen)
{
	int ret, v;

	memset(k, 0, sizeof(*k));
	k->vm_fd = -1;
	k->dev_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->dev_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "/dev/kvm: %s%s", strerror(errno),
			 errno == ENOENT ? " (no KVM on this host: load kvm-intel or kvm-amd, "
					   "or enable virtualization in the firmware)" :
			 errno == EACCES ? " (add yourself to the 'kvm' group)" : "");
		return ret;
	}
	v = ioctl(k->dev_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: API version %d, expected %d", v, KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(k->dev_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, errlen, "/dev/kvm: missing capability %s", required_caps[i].name);
			goto fail;
		}
	}
	v = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (v <= 0)
		v = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	k->max_vcpus = v > 0 ? (unsigned int)v : 4;
	v = ioctl(k->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v <= 0) {
		snprintf(err, errlen, "/dev/kvm: KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto fail;
	}
	k->run_size = (size_t)v;
	k->cpuid = kvm_get_supported_cpuid(k->dev_fd);
	if (!k->cpuid) {
		snprintf(err, errlen, "/dev/kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(k->dev_fd);
	k->dev_fd = -1;
	return -ENODEV;
}

void kvm_close(struct kvm *k)
{
	kvm_destroy_vm(k);
	free(k->cpuid);
	k->cpuid = NULL;
	if (k->dev_fd >= 0)
		close(k->dev_fd);
	k->dev_fd = -1;
}

int kvm_create_vm(struct kvm *k, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_GPA;
	const char *what;
	int fd;

	fd = ioctl(k->dev_fd, KVM_CREATE_VM, 0);
	if (fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	/* Intel VMX needs these two pages for real-mode emulation; harmless on AMD. */
	what = "KVM_SET_IDENTITY_MAP_ADDR";
	if (ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		goto fail;
	what = "KVM_SET_TSS_ADDR";
	if (ioctl(fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
		goto fail;
	/* In-kernel PIC, IOAPIC and LAPICs; then the PIT, which needs them. */
	what = "KVM_CREATE_IRQCHIP";
	if (ioctl(fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	what = "KVM_CREATE_PIT2";
	if (ioctl(fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail;
	k->vm_fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	close(fd);
	return -EIO;
}

void kvm_destroy_vm(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	k->vm_fd = -1;
}

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
		   bool readonly, bool dirty_log)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = (readonly ? KVM_MEM_READONLY : 0) | (dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0),
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int kvm_get_dirty_log(struct kvm *k, uint32_t slot, uint64_t *bitmap)
{
	struct kvm_dirty_log d = { .slot = slot, .dirty_bitmap = bitmap };

	return ioctl(k->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0 ? -errno : 0;
}

bool kvm_readonly_mem_ok(struct kvm *k)
{
	return kvm_check_cap(k, KVM_CAP_READONLY_MEM) > 0;
}

uint64_t kvm_guest_phys_limit(struct kvm *k)
{
	unsigned int bits = 36;   /* the architectural minimum with PAE */

	for (unsigned int i = 0; k->cpuid && i < k->cpuid->nent; i++)
		if (k->cpuid->entries[i].function == 0x80000008 && (k->cpuid->entries[i].eax & 0xff))
			bits = k->cpuid->entries[i].eax & 0xff;
	if (bits > 52)
		bits = 52;
	return 1ULL << bits;
}

int kvm_irq_line(struct kvm *k, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };

	return ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/* > 0: delivered to that many vCPUs; 0: blocked by the guest's APIC state. */
	return ioctl(k->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

int kvm_check_cap(struct kvm *k, int cap)
{
	int v = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, cap);

	return v > 0 ? v : 0;
}

int kvm_ioeventfd(struct kvm *k, int efd, bool pio, uint64_t addr, unsigned int len, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = efd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(k->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int kvm_irqfd(struct kvm *k, int efd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd q = {
		.fd = (uint32_t)efd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(k->vm_fd, KVM_IRQFD, &q) < 0 ? -errno : 0;
}

int kvm_set_gsi_routing(struct kvm *k, const struct kvm_irq_routing *table)
{
	return ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, table) < 0 ? -errno : 0;
}
