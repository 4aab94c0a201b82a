// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ioeventfd/irqfd registrations that outlive the KVM VM (src/vmm/kvm_notify.c).
 *
 * Without KVM: the routing table KVM_SET_GSI_ROUTING gets (KVM's default
 * irqchip routes, then the MSIs), the registry recording while no VM
 * exists (length checks, collisions, GSI allocation), and ENOSYS when
 * turned off.  With a /dev/kvm that can make a VM (skipped otherwise):
 * the registrations are in the VM, and again in a second VM after a
 * "reboot" (KVM refuses a second identical registration, which is how
 * the test sees the first).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "event_loop.h"
#include "kvm.h"
#include "kvm_notify.h"

static void check_irqchip(const struct kvm_irq_routing_entry *e, uint32_t gsi, uint32_t chip,
			  uint32_t pin)
{
	assert_int_equal(e->gsi, gsi);
	assert_int_equal(e->type, KVM_IRQ_ROUTING_IRQCHIP);
	assert_int_equal(e->flags, 0);
	assert_int_equal(e->u.irqchip.irqchip, chip);
	assert_int_equal(e->u.irqchip.pin, pin);
}

static void test_routing_table_defaults_then_msis(void **state)
{
	const struct kvm_msi_route msis[] = {
		{ 24, 0xfee00000ULL, 0x4021 },
		{ 31, 0x1fee01000ULL, 0x22 },   /* an address_hi, to see the split */
	};
	struct kvm_irq_routing *t = kvm_routing_table_build(msis, 2);
	const struct kvm_irq_routing_entry *e;
	unsigned int pic_routes[24] = { 0 }, ioapic_routes[24] = { 0 };

	(void)state;
	assert_non_null(t);
	assert_int_equal(t->nr, KVM_NOTIFY_NR_DEFAULT_ROUTES + 2);
	assert_int_equal(KVM_NOTIFY_NR_DEFAULT_ROUTES, 40);
	/* KVM's own default table: every GSI < 16 on the IOAPIC and its PIC, 16-23 IOAPIC only. */
	for (unsigned int i = 0; i < KVM_NOTIFY_NR_DEFAULT_ROUTES; i++) {
		e = &t->entries[i];
		assert_true(e->gsi < 24);
		if (e->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			check_irqchip(e, e->gsi, KVM_IRQCHIP_IOAPIC, e->gsi);
			ioapic_routes[e->gsi]++;
		} else {
			assert_true(e->gsi < 16);
			check_irqchip(e, e->gsi, e->gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				      e->gsi % 8);
			pic_routes[e->gsi]++;
		}
	}
	for (unsigned int gsi = 0; gsi < 24; gsi++) {
		assert_int_equal(ioapic_routes[gsi], 1);
		assert_int_equal(pic_routes[gsi], gsi < 16 ? 1 : 0);
	}
	e = &t->entries[KVM_NOTIFY_NR_DEFAULT_ROUTES];
	assert_int_equal(e[0].gsi, 24);
	assert_int_equal(e[0].type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e[0].u.msi.address_lo, 0xfee00000u);
	assert_int_equal(e[0].u.msi.address_hi, 0);
	assert_int_equal(e[0].u.msi.data, 0x4021);
	assert_int_equal(e[1].gsi, 31);
	assert_int_equal(e[1].type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e[1].u.msi.address_lo, 0xfee01000u);
	assert_int_equal(e[1].u.msi.address_hi, 1);
	assert_int_equal(e[1].u.msi.data, 0x22);
	free(t);

	/* No MSI at all: exactly the defaults. */
	t = kvm_routing_table_build(NULL, 0);
	assert_non_null(t);
	assert_int_equal(t->nr, KVM_NOTIFY_NR_DEFAULT_ROUTES);
	free(t);
}

struct env {
	struct kvm kvm;
	pthread_rwlock_t vm_lock;
	struct event_loop *loop;
	struct kvm_notify kn;
};

static void env_init(struct env *v)
{
	char err[256];

	memset(v, 0, sizeof(*v));
	v->kvm.dev_fd = v->kvm.vm_fd = -1;
	pthread_rwlock_init(&v->vm_lock, NULL);
	v->loop = event_loop_create(err, sizeof(err));
	assert_non_null(v->loop);
}

static void env_destroy(struct env *v)
{
	kvm_notify_destroy(&v->kn);
	kvm_close(&v->kvm);
	event_loop_destroy(v->loop);
}

static void nop(void *opaque)
{
	(void)opaque;
}

static void test_turned_off_is_enosys(void **state)
{
	struct env v;

	(void)state;
	env_init(&v);
	kvm_notify_init(&v.kn, &v.kvm, &v.vm_lock, v.loop, false);
	errno = 0;
	assert_null(kvm_notify_ioevent_new(&v.kn, false, 0xfe000000, 2, NULL, nop, NULL));
	assert_int_equal(errno, ENOSYS);
	errno = 0;
	assert_null(kvm_notify_irqfd_new(&v.kn));
	assert_int_equal(errno, ENOSYS);
	env_destroy(&v);
}

/* No VM yet (as before the first boot, or between reboots): registrations are recorded. */
static void test_registry_without_vm(void **state)
{
	struct env v;
	struct host_ioevent *a, *b;
	struct host_irqfd *q1, *q2, *q3;

	(void)state;
	env_init(&v);
	kvm_notify_init(&v.kn, &v.kvm, &v.vm_lock, v.loop, true);
	/* As if KVM had the capabilities (no /dev/kvm is opened here). */
	v.kn.ioeventfd_ok = v.kn.any_length_ok = v.kn.irqfd_ok = true;
	v.kn.nr_gsis = 26;   /* room for two MSI routes: GSIs 24 and 25 */

	errno = 0;
	assert_null(kvm_notify_ioevent_new(&v.kn, false, 0x1000, 3, NULL, nop, NULL));
	assert_int_equal(errno, EINVAL);
	a = kvm_notify_ioevent_new(&v.kn, false, 0xfe003000, 2, NULL, nop, NULL);
	assert_non_null(a);
	/* KVM would refuse these: same address, and a length that matches the same write. */
	errno = 0;
	assert_null(kvm_notify_ioevent_new(&v.kn, false, 0xfe003000, 2, NULL, nop, NULL));
	assert_int_equal(errno, EEXIST);
	errno = 0;
	assert_null(kvm_notify_ioevent_new(&v.kn, false, 0xfe003000, 0, NULL, nop, NULL));
	assert_int_equal(errno, EEXIST);
	/* The same number in port space is another address. */
	b = kvm_notify_ioevent_new(&v.kn, true, 0xfe003000, 0, NULL, nop, NULL);
	assert_non_null(b);
	host_ioevent_free(a);
	a = kvm_notify_ioevent_new(&v.kn, false, 0xfe003000, 4, NULL, nop, NULL);
	assert_non_null(a);   /* freed: the address is free again */

	q1 = kvm_notify_irqfd_new(&v.kn);
	q2 = kvm_notify_irqfd_new(&v.kn);
	assert_non_null(q1);
	assert_non_null(q2);
	errno = 0;
	assert_null(kvm_notify_irqfd_new(&v.kn));
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(host_irqfd_set_msi(q1, 0xfee00000, 0x31), 0);
	/* Outside the APIC window: refused (no route, its signals are dropped). */
	assert_int_equal(host_irqfd_set_msi(q2, 0x80000000, 0x31), -EINVAL);
	host_irqfd_signal(q1);
	host_irqfd_signal(q2);
	host_irqfd_free(q1);
	q3 = kvm_notify_irqfd_new(&v.kn);   /* q1's GSI is handed out again */
	assert_non_null(q3);
	host_irqfd_free(q2);
	host_irqfd_free(q3);
	host_ioevent_free(a);
	host_ioevent_free(b);
	env_destroy(&v);
}

/* ---- with a real KVM ---- */

static bool open_kvm_vm(struct env *v)
{
	char err[256];

	if (kvm_open(&v->kvm, err, sizeof(err)))
		return false;
	if (kvm_create_vm(&v->kvm, err, sizeof(err))) {
		kvm_close(&v->kvm);
		return false;
	}
	return true;
}

static void test_replay_into_new_vm(void **state)
{
	struct env v;
	struct host_ioevent *e;
	struct host_irqfd *q;
	char err[256];
	int probe;

	(void)state;
	env_init(&v);
	if (!open_kvm_vm(&v)) {
		event_loop_destroy(v.loop);
		skip();
	}
	kvm_notify_init(&v.kn, &v.kvm, &v.vm_lock, v.loop, true);
	if (!v.kn.ioeventfd_ok || !v.kn.irqfd_ok) {
		env_destroy(&v);
		skip();
	}
	assert_int_equal(kvm_notify_vm_created(&v.kn, err, sizeof(err)), 0);
	e = kvm_notify_ioevent_new(&v.kn, false, 0xfe004000, 2, NULL, nop, NULL);
	assert_non_null(e);
	q = kvm_notify_irqfd_new(&v.kn);
	assert_non_null(q);
	assert_int_equal(host_irqfd_set_msi(q, 0xfee00000, 0x41), 0);

	probe = eventfd(0, EFD_CLOEXEC);
	assert_true(probe >= 0);
	/* In this VM: the same doorbell again is refused. */
	assert_int_equal(kvm_ioeventfd(&v.kvm, probe, false, 0xfe004000, 2, true), -EEXIST);

	/* Reboot: the VM goes, a new one comes; the registry replays into it. */
	pthread_rwlock_wrlock(&v.vm_lock);
	kvm_destroy_vm(&v.kvm);
	kvm_notify_vm_destroyed(&v.kn);
	pthread_rwlock_unlock(&v.vm_lock);
	/* Between VMs: recorded, not lost; signals do not pile up for the next guest. */
	host_irqfd_signal(q);
	pthread_rwlock_wrlock(&v.vm_lock);
	assert_int_equal(kvm_create_vm(&v.kvm, err, sizeof(err)), 0);
	/* Before the replay the new VM knows nothing: the doorbell is free. */
	assert_int_equal(kvm_ioeventfd(&v.kvm, probe, false, 0xfe004000, 2, true), 0);
	assert_int_equal(kvm_ioeventfd(&v.kvm, probe, false, 0xfe004000, 2, false), 0);
	assert_int_equal(kvm_notify_vm_created(&v.kn, err, sizeof(err)), 0);
	pthread_rwlock_unlock(&v.vm_lock);
	assert_int_equal(kvm_ioeventfd(&v.kvm, probe, false, 0xfe004000, 2, true), -EEXIST);
	/* Re-binding the same message is a no-op; a new one re-routes. */
	assert_int_equal(host_irqfd_set_msi(q, 0xfee00000, 0x41), 0);
	assert_int_equal(host_irqfd_set_msi(q, 0xfee01000, 0x42), 0);

	host_ioevent_free(e);
	/* Freed: the doorbell is the guest's trapped I/O again. */
	assert_int_equal(kvm_ioeventfd(&v.kvm, probe, false, 0xfe004000, 2, true), 0);
	host_irqfd_free(q);
	close(probe);
	env_destroy(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing_table_defaults_then_msis),
		cmocka_unit_test(test_turned_off_is_enosys),
		cmocka_unit_test(test_registry_without_vm),
		cmocka_unit_test(test_replay_into_new_vm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
