/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Thin wrappers over /dev/kvm: the only place besides vcpu.c that speaks KVM ioctls. */
#ifndef HUTCH_KVM_H
#define HUTCH_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_cpuid2;
struct kvm_irq_routing;

/*
 * Pages KVM needs on Intel, just below 0xFF000000 so that a BIOS ROM of up
 * to 16 MiB fits under 4 GiB beside them (memmap.h); they are reserved
 * in the e820 map the firmware gets.
 */
#define KVM_TSS_GPA          0xfeffd000ULL   /* 3 pages */
#define KVM_IDENTITY_MAP_GPA 0xfeffc000ULL   /* 1 page, Intel EPT real mode */

struct kvm {
	int dev_fd;                 /* /dev/kvm */
	int vm_fd;                  /* -1 when no VM exists */
	size_t run_size;            /* mmap size of struct kvm_run */
	unsigned int max_vcpus;
	struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID */
};

/* Open /dev/kvm, check the API version and capabilities.  0 or -errno + message. */
int kvm_open(struct kvm *k, char *err, size_t errlen);
void kvm_close(struct kvm *k);

/* Create a VM with in-kernel irqchip and PIT.  0 or -errno + message. */
int kvm_create_vm(struct kvm *k, char *err, size_t errlen);
void kvm_destroy_vm(struct kvm *k);

/* Memory slot @slot (size 0 deletes it); @readonly needs KVM_CAP_READONLY_MEM. */
int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
		   bool readonly, bool dirty_log);
/* KVM_GET_DIRTY_LOG: slot @slot's written pages since the last call. 0 or -errno. */
int kvm_get_dirty_log(struct kvm *k, uint32_t slot, uint64_t *bitmap);
/* KVM_CAP_READONLY_MEM: guest writes to a read-only slot exit as MMIO. */
bool kvm_readonly_mem_ok(struct kvm *k);
/* The guest's physical address space size (CPUID 0x80000008), bytes. */
uint64_t kvm_guest_phys_limit(struct kvm *k);
int kvm_irq_line(struct kvm *k, uint32_t gsi, int level);
/* Inject a message-signalled interrupt (KVM_SIGNAL_MSI). 0 or -errno. */
int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data);

/* KVM_CHECK_EXTENSION on /dev/kvm: > 0 if present (some give a count), else 0. */
int kvm_check_cap(struct kvm *k, int cap);
/*
 * The notification shortcuts (kvm_notify.c keeps them across VMs).
 * ioeventfd: a guest write of @len bytes (0 = any) to @addr signals
 * @efd; irqfd: a write to @efd raises @gsi.  0 or -errno.
 */
int kvm_ioeventfd(struct kvm *k, int efd, bool pio, uint64_t addr, unsigned int len, bool assign);
int kvm_irqfd(struct kvm *k, int efd, uint32_t gsi, bool assign);
/* Replace the VM's whole GSI routing table.  0 or -errno. */
int kvm_set_gsi_routing(struct kvm *k, const struct kvm_irq_routing *table);

#endif
