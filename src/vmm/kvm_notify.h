/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ioeventfd and irqfd for devices (host_loop.h), kept across KVM VMs.
 *
 * hutch-vm destroys the KVM VM and makes a new one at every guest reboot
 * (machine.c), and KVM forgets every ioeventfd, irqfd and GSI route with
 * the VM.  The devices' registrations outlive it: this registry records
 * each one, makes it in the VM that exists (if any), and replays them all
 * into each new VM right after it is created (kvm_notify_vm_created).
 * The eventfds stay the same across VMs, so the event loop's watches on
 * them are untouched.
 *
 * Why a file of its own and not kvm.c: kvm.c is the thin, stateless
 * ioctl layer bound to one VM; this is a registry whose life is the
 * process's, a client of the event loop (an ioeventfd's eventfd is a loop
 * watch), and owner of the GSI routing table, which KVM_SET_GSI_ROUTING
 * replaces whole.
 *
 * Locking: callers of the kvm_notify_* entry points that touch KVM take
 * the machine's vm_lock for reading first, then kn->mu (vm_created and
 * vm_destroyed are called with vm_lock held for writing).  So the order
 * is device lock -> vm_lock -> kn->mu -> the loop's lock.
 */
#ifndef HUTCH_KVM_NOTIFY_H
#define HUTCH_KVM_NOTIFY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_loop.h"

struct kvm;
struct event_loop;
struct kvm_irq_routing;
struct kn_ioevent;
struct kn_irqfd;

/* GSIs 0-23 are the PIC's and IOAPIC's pins; MSI routes start above. */
#define KVM_NOTIFY_FIRST_MSI_GSI 24
/* KVM's default routes: GSIs 0-15 on the IOAPIC and a PIC each, 16-23 on the IOAPIC. */
#define KVM_NOTIFY_NR_DEFAULT_ROUTES (16 * 2 + 8)

struct kvm_notify {
	struct kvm *kvm;             /* the machine's; vm_fd -1 between VMs */
	pthread_rwlock_t *vm_lock;   /* the machine's: held for reading around KVM calls */
	struct event_loop *loop;
	pthread_mutex_t mu;          /* everything below */
	bool ioeventfd_ok;           /* KVM_CAP_IOEVENTFD and not turned off */
	bool any_length_ok;          /* KVM_CAP_IOEVENTFD_ANY_LENGTH: len 0 */
	bool irqfd_ok;               /* KVM_CAP_IRQFD + KVM_CAP_IRQ_ROUTING and not turned off */
	uint32_t nr_gsis;            /* routes KVM allows (KVM_CAP_IRQ_ROUTING) */
	struct kn_ioevent *ioevents;
	struct kn_irqfd *irqfds;
};

/* One MSI route (routing-table input). */
struct kvm_msi_route {
	uint32_t gsi;
	uint64_t addr;
	uint32_t data;
};

/*
 * Set up the registry for @kvm (opened, no VM needed).  @enabled false
 * (hutch-vm --no-kvm-notify) or a KVM without the capabilities makes the
 * ops return ENOSYS, so devices keep trapped I/O and KVM_SIGNAL_MSI.
 */
void kvm_notify_init(struct kvm_notify *kn, struct kvm *kvm, pthread_rwlock_t *vm_lock,
		     struct event_loop *loop, bool enabled);
/* Everything must have been freed by its device; frees what is left. */
void kvm_notify_destroy(struct kvm_notify *kn);

/*
 * A new VM exists (vm_lock held for writing): route the MSIs, register
 * every irqfd and ioeventfd.  0, or -errno + message.
 */
int kvm_notify_vm_created(struct kvm_notify *kn, char *err, size_t errlen);
/* The VM is gone (vm_lock held for writing): KVM forgot everything. */
void kvm_notify_vm_destroyed(struct kvm_notify *kn);

/* host_loop.h's ioevent_new / irqfd_new, on this registry. */
struct host_ioevent *kvm_notify_ioevent_new(struct kvm_notify *kn, bool pio, uint64_t addr,
					    unsigned int len, pthread_mutex_t *lock,
					    host_cb *fn, void *opaque);
struct host_irqfd *kvm_notify_irqfd_new(struct kvm_notify *kn);

/*
 * The whole routing table KVM_SET_GSI_ROUTING takes: KVM's default
 * irqchip routes (which the call would otherwise drop) and then @n MSI
 * routes.  Pure; malloc'ed (free() it); NULL if out of memory.
 */
struct kvm_irq_routing *kvm_routing_table_build(const struct kvm_msi_route *msis, size_t n);

#endif
