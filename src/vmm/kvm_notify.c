// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ioeventfd and irqfd registrations that outlive the KVM VM (kvm_notify.h).
 *
 * Facts used (Linux Documentation/virt/kvm/api.rst):
 * - KVM_IOEVENTFD: an eventfd signalled by a guest write to a PIO or MMIO
 *   address of length 1, 2, 4 or 8, or 0 ("any length", with
 *   KVM_CAP_IOEVENTFD_ANY_LENGTH); the same address twice is refused.
 * - KVM_IRQFD: an eventfd whose signal raises a GSI; with the in-kernel
 *   irqchip a GSI routed as MSI (KVM_IRQ_ROUTING_MSI) is delivered as that
 *   message.  A GSI without a route raises nothing.
 * - KVM_SET_GSI_ROUTING replaces the whole table, so ours carries the
 *   default irqchip routes KVM sets up with the irqchip (virt/kvm's
 *   default_routing: GSIs 0-15 to the IOAPIC pin of the same number and to
 *   the PIC pin, master for 0-7 and slave for 8-15; GSIs 16-23 to the
 *   IOAPIC only).  We keep GSI 2 on the master PIC too, as KVM does, so
 *   the wiring after our first call is exactly what it was before.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_loop.h"
#include "kvm.h"
#include "kvm_notify.h"

/* x86 MSIs target the local APICs' window (Intel SDM vol. 3, 11.11.1). */
#define MSI_ADDR_MASK  0xfff00000ULL
#define MSI_ADDR_BASE  0xfee00000ULL

struct kn_ioevent {
	struct host_ioevent base;   /* first: host_loop.h finds the ops here */
	struct kvm_notify *kn;
	int efd;
	bool pio;
	uint64_t addr;
	unsigned int len;
	host_cb *fn;
	void *opaque;
	struct host_watch *watch;   /* efd on the event loop, under the device's lock */
	bool in_vm;                 /* registered in the VM that exists now */
	struct kn_ioevent *next;
};

struct kn_irqfd {
	struct host_irqfd base;
	struct kvm_notify *kn;
	int efd;
	uint32_t gsi;
	bool bound;                 /* has a valid message: routed (atomic: signal reads it) */
	uint64_t addr;
	uint32_t data;
	bool in_vm;                 /* KVM_IRQFD made in the VM that exists now */
	struct kn_irqfd *next;
};

static const struct host_loop_ops kn_ops;

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static bool vm_exists(const struct kvm_notify *kn)
{
	return kn->kvm->vm_fd >= 0;
}

/* ---- the routing table ---- */

struct kvm_irq_routing *kvm_routing_table_build(const struct kvm_msi_route *msis, size_t n)
{
	size_t total = KVM_NOTIFY_NR_DEFAULT_ROUTES + n;
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + total * sizeof(t->entries[0]));
	struct kvm_irq_routing_entry *e;

	if (!t)
		return NULL;
	e = t->entries;
	for (uint32_t gsi = 0; gsi < KVM_NOTIFY_FIRST_MSI_GSI; gsi++) {
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = gsi;
		e++;
		if (gsi < 16) {
			e->gsi = gsi;
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			e->u.irqchip.pin = gsi % 8;
			e++;
		}
	}
	for (size_t i = 0; i < n; i++, e++) {
		e->gsi = msis[i].gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)msis[i].addr;
		e->u.msi.address_hi = (uint32_t)(msis[i].addr >> 32);
		e->u.msi.data = msis[i].data;
	}
	t->nr = (uint32_t)total;
	return t;
}

/* Give the VM the table for every bound irqfd (kn->mu held, a VM exists). */
static int push_routes(struct kvm_notify *kn)
{
	struct kvm_msi_route *msis;
	struct kvm_irq_routing *table;
	size_t n = 0, cap = 0;
	int ret;

	for (struct kn_irqfd *q = kn->irqfds; q; q = q->next)
		cap++;
	msis = calloc(cap ? cap : 1, sizeof(*msis));
	if (!msis)
		return -ENOMEM;
	for (struct kn_irqfd *q = kn->irqfds; q; q = q->next)
		if (q->bound)
			msis[n++] = (struct kvm_msi_route){ q->gsi, q->addr, q->data };
	table = kvm_routing_table_build(msis, n);
	free(msis);
	if (!table)
		return -ENOMEM;
	ret = kvm_set_gsi_routing(kn->kvm, table);
	free(table);
	return ret;
}

/* ---- set-up and the VM's life ---- */

void kvm_notify_init(struct kvm_notify *kn, struct kvm *kvm, pthread_rwlock_t *vm_lock,
		     struct event_loop *loop, bool enabled)
{
	int routes;

	memset(kn, 0, sizeof(*kn));
	kn->kvm = kvm;
	kn->vm_lock = vm_lock;
	kn->loop = loop;
	pthread_mutex_init(&kn->mu, NULL);
	if (!enabled || kvm->dev_fd < 0)
		return;
	kn->ioeventfd_ok = kvm_check_cap(kvm, KVM_CAP_IOEVENTFD) > 0;
	kn->any_length_ok = kvm_check_cap(kvm, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	routes = kvm_check_cap(kvm, KVM_CAP_IRQ_ROUTING);
	if (kvm_check_cap(kvm, KVM_CAP_IRQFD) > 0 && routes > KVM_NOTIFY_FIRST_MSI_GSI) {
		kn->irqfd_ok = true;
		kn->nr_gsis = (uint32_t)routes;
	}
}

int kvm_notify_vm_created(struct kvm_notify *kn, char *err, size_t errlen)
{
	int ret = 0;

	pthread_mutex_lock(&kn->mu);
	if (kn->irqfds) {
		ret = push_routes(kn);
		if (ret)
			snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-ret));
	}
	for (struct kn_irqfd *q = kn->irqfds; q && !ret; q = q->next) {
		q->in_vm = false;
		if (!q->bound)
			continue;
		drain(q->efd);   /* a signal meant for the VM before must not reach this one */
		ret = kvm_irqfd(kn->kvm, q->efd, q->gsi, true);
		if (ret)
			snprintf(err, errlen, "KVM_IRQFD (GSI %u): %s", q->gsi, strerror(-ret));
		q->in_vm = !ret;
	}
	for (struct kn_ioevent *e = kn->ioevents; e && !ret; e = e->next) {
		ret = kvm_ioeventfd(kn->kvm, e->efd, e->pio, e->addr, e->len, true);
		if (ret)
			snprintf(err, errlen, "KVM_IOEVENTFD (%s 0x%llx): %s", e->pio ? "port" : "MMIO",
				 (unsigned long long)e->addr, strerror(-ret));
		e->in_vm = !ret;
	}
	pthread_mutex_unlock(&kn->mu);
	return ret;
}

void kvm_notify_vm_destroyed(struct kvm_notify *kn)
{
	pthread_mutex_lock(&kn->mu);
	for (struct kn_irqfd *q = kn->irqfds; q; q = q->next)
		q->in_vm = false;
	for (struct kn_ioevent *e = kn->ioevents; e; e = e->next)
		e->in_vm = false;
	pthread_mutex_unlock(&kn->mu);
}

/* ---- ioeventfd ---- */

/* The loop saw the eventfd: the guest rang the doorbell (once or more). */
static void kn_ioevent_fire(void *opaque, unsigned int revents)
{
	struct kn_ioevent *e = opaque;

	(void)revents;
	drain(e->efd);
	e->fn(e->opaque);
}

static bool ioevent_collides(const struct kvm_notify *kn, bool pio, uint64_t addr, unsigned int len)
{
	/* As KVM sees it: same space and address, and a length that can match the same write. */
	for (const struct kn_ioevent *e = kn->ioevents; e; e = e->next)
		if (e->pio == pio && e->addr == addr && (!e->len || !len || e->len == len))
			return true;
	return false;
}

struct host_ioevent *kvm_notify_ioevent_new(struct kvm_notify *kn, bool pio, uint64_t addr,
					    unsigned int len, pthread_mutex_t *lock,
					    host_cb *fn, void *opaque)
{
	struct kn_ioevent *e;
	int ret = 0;

	if (!kn->ioeventfd_ok) {
		errno = ENOSYS;
		return NULL;
	}
	if ((len != 0 && len != 1 && len != 2 && len != 4 && len != 8) ||
	    (len == 0 && !kn->any_length_ok) || !fn) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	*e = (struct kn_ioevent){ .base = { &kn_ops }, .kn = kn, .pio = pio, .addr = addr,
				  .len = len, .fn = fn, .opaque = opaque };
	e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->efd < 0) {
		free(e);
		return NULL;
	}
	/* Watched first: nothing signals it before KVM knows it. */
	e->watch = host_watch_new(&event_loop_ops, kn->loop, e->efd, HOST_FD_IN, lock,
				  kn_ioevent_fire, e);
	if (!e->watch) {
		ret = -errno;
		goto fail;
	}
	pthread_rwlock_rdlock(kn->vm_lock);
	pthread_mutex_lock(&kn->mu);
	if (ioevent_collides(kn, pio, addr, len))
		ret = -EEXIST;
	else if (vm_exists(kn))
		ret = kvm_ioeventfd(kn->kvm, e->efd, pio, addr, len, true);
	if (!ret) {
		e->in_vm = vm_exists(kn);
		e->next = kn->ioevents;
		kn->ioevents = e;
	}
	pthread_mutex_unlock(&kn->mu);
	pthread_rwlock_unlock(kn->vm_lock);
	if (ret)
		goto fail;
	return &e->base;
fail:
	host_watch_free(e->watch);
	close(e->efd);
	free(e);
	errno = -ret;
	return NULL;
}

static void kn_ioevent_free(struct host_ioevent *he)
{
	struct kn_ioevent *e = (struct kn_ioevent *)he;
	struct kvm_notify *kn = e->kn;

	pthread_rwlock_rdlock(kn->vm_lock);
	pthread_mutex_lock(&kn->mu);
	for (struct kn_ioevent **pp = &kn->ioevents; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	/* From now on a guest write traps to the device's bus handler again. */
	if (e->in_vm && vm_exists(kn))
		kvm_ioeventfd(kn->kvm, e->efd, e->pio, e->addr, e->len, false);
	pthread_mutex_unlock(&kn->mu);
	pthread_rwlock_unlock(kn->vm_lock);
	host_watch_free(e->watch);   /* waits for a callback running now */
	close(e->efd);
	free(e);
}

/* ---- irqfd ---- */

/* The lowest GSI above the irqchip's pins no irqfd holds (kn->mu held); 0 = none. */
static uint32_t free_gsi(const struct kvm_notify *kn)
{
	for (uint32_t gsi = KVM_NOTIFY_FIRST_MSI_GSI; gsi < kn->nr_gsis; gsi++) {
		bool used = false;

		for (const struct kn_irqfd *q = kn->irqfds; q && !used; q = q->next)
			used = q->gsi == gsi;
		if (!used)
			return gsi;
	}
	return 0;
}

struct host_irqfd *kvm_notify_irqfd_new(struct kvm_notify *kn)
{
	struct kn_irqfd *q;

	if (!kn->irqfd_ok) {
		errno = ENOSYS;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	*q = (struct kn_irqfd){ .base = { &kn_ops }, .kn = kn };
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		free(q);
		return NULL;
	}
	pthread_mutex_lock(&kn->mu);
	q->gsi = free_gsi(kn);
	if (q->gsi) {
		q->next = kn->irqfds;
		kn->irqfds = q;
	}
	pthread_mutex_unlock(&kn->mu);
	if (!q->gsi) {
		close(q->efd);
		free(q);
		errno = ENOSPC;
		return NULL;
	}
	return &q->base;
}

static int kn_irqfd_set_msi(struct host_irqfd *hq, uint64_t addr, uint32_t data)
{
	struct kn_irqfd *q = (struct kn_irqfd *)hq;
	struct kvm_notify *kn = q->kn;
	bool valid = (addr & MSI_ADDR_MASK) == MSI_ADDR_BASE;
	int ret = 0;

	pthread_rwlock_rdlock(kn->vm_lock);
	pthread_mutex_lock(&kn->mu);
	/* Unchanged: no ioctl (guests rewrite MSI-X entries with the same values). */
	if (!(q->bound == valid && q->addr == addr && q->data == data &&
	      (q->in_vm || !valid || !vm_exists(kn)))) {
		q->addr = addr;
		q->data = data;
		/*
		 * A message outside the APIC window would be a plain memory
		 * write on real hardware: no route, so its signals raise
		 * nothing (machine_signal_msi drops such messages too).
		 */
		__atomic_store_n(&q->bound, valid, __ATOMIC_RELEASE);
		if (vm_exists(kn)) {
			ret = push_routes(kn);
			if (!ret && valid && !q->in_vm) {
				drain(q->efd);
				ret = kvm_irqfd(kn->kvm, q->efd, q->gsi, true);
				q->in_vm = !ret;
			}
		}
	}
	pthread_mutex_unlock(&kn->mu);
	pthread_rwlock_unlock(kn->vm_lock);
	return ret ? ret : valid ? 0 : -EINVAL;
}

static void kn_irqfd_signal(struct host_irqfd *hq)
{
	struct kn_irqfd *q = (struct kn_irqfd *)hq;
	uint64_t one = 1;

	/* Unbound: dropped, and nothing piles up in the counter for later. */
	if (__atomic_load_n(&q->bound, __ATOMIC_ACQUIRE))
		(void)!write(q->efd, &one, sizeof(one));
}

static void kn_irqfd_free(struct host_irqfd *hq)
{
	struct kn_irqfd *q = (struct kn_irqfd *)hq;
	struct kvm_notify *kn = q->kn;

	pthread_rwlock_rdlock(kn->vm_lock);
	pthread_mutex_lock(&kn->mu);
	for (struct kn_irqfd **pp = &kn->irqfds; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	if (vm_exists(kn)) {
		if (q->in_vm)
			kvm_irqfd(kn->kvm, q->efd, q->gsi, false);
		if (q->bound)
			push_routes(kn);   /* its GSI may be handed out again */
	}
	pthread_mutex_unlock(&kn->mu);
	pthread_rwlock_unlock(kn->vm_lock);
	close(q->efd);
	free(q);
}

void kvm_notify_destroy(struct kvm_notify *kn)
{
	unsigned int left = 0;

	while (kn->ioevents) {
		kn_ioevent_free(&kn->ioevents->base);
		left++;
	}
	while (kn->irqfds) {
		kn_irqfd_free(&kn->irqfds->base);
		left++;
	}
	if (left)
		fprintf(stderr, "hutch-vm: %u ioeventfds/irqfds were never freed by their devices\n", left);
	pthread_mutex_destroy(&kn->mu);
}

/* The handles' ops: only what acts on an existing ioevent or irqfd. */
static const struct host_loop_ops kn_ops = {
	.ioevent_free = kn_ioevent_free,
	.irqfd_set_msi = kn_irqfd_set_msi,
	.irqfd_signal = kn_irqfd_signal,
	.irqfd_free = kn_irqfd_free,
};
