// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vCPUs: one thread each, KVM_RUN and exit dispatch to the buses.  CPUID
 * is KVM's supported set with a topology consistent for N vCPUs; MSRs and
 * registers follow the Linux 64-bit boot protocol for the BSP.  APs are
 * left in KVM's wait-for-SIPI state; the guest starts them with INIT/SIPI
 * through the in-kernel LAPIC.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "thread.h"
#include "boot_linux.h"
#include "machine.h"

#define SIG_KICK SIGUSR1

/* MSRs (Intel SDM vol. 4; AMD APM vol. 2 for the syscall ones) */
#define MSR_IA32_SYSENTER_CS    0x00000174
#define MSR_IA32_SYSENTER_ESP   0x00000175
#define MSR_IA32_SYSENTER_EIP   0x00000176
#define MSR_IA32_MISC_ENABLE    0x000001a0
#define MSR_MTRR_DEF_TYPE       0x000002ff
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MISC_ENABLE_FAST_STRING 0x1
#define MTRR_DEF_ENABLE_WB      0xc06   /* MTRRs on, default type write-back */

/* Control registers */
#define CR0_PE 0x00000001ULL
#define CR0_ET 0x00000010ULL
#define CR0_NE 0x00000020ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x00000020ULL
#define EFER_LME 0x00000100ULL
#define EFER_LMA 0x00000400ULL

/* LAPIC registers (SDM vol. 3, 10.5.1) */
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT (7u << 8)
#define APIC_MODE_NMI    (4u << 8)

/* CPUID bits */
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT        (1u << 28)
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)

struct vcpu {
	struct machine *m;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* KVM's supported CPUID, specialised for vCPU @index of @n. */
static struct kvm_cpuid2 *vcpu_cpuid(const struct kvm_cpuid2 *sup, unsigned int index, unsigned int n)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	unsigned int shift = bits_for(n);

	if (!c)
		return NULL;
	memcpy(c, sup, sz);
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC ID and logical-processor count per package. */
			e->ebx = (e->ebx & 0x0000ffff) | (index << 24) | ((n & 0xff) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (n > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 4:
			/* Deterministic cache parameters: cores per package - 1. */
			e->eax = (e->eax & 0x03ffffff) | ((n - 1) << 26);
			e->eax &= ~(0xfffu << 14); /* one logical CPU per cache */
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: level 0 = SMT (1 thread), level 1 = core. */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = shift;
				e->ebx = n;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			e->edx = index;
			break;
		case 0x80000001:
			if (n > 1)
				e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
			else
				e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, ApicIdCoreIdSize. */
			e->ecx = (e->ecx & ~0xf0ffu) | (n - 1) | (shift << 12);
			break;
		case 0x8000001e:
			/* AMD: extended APIC ID, compute unit (core) ID, node 0. */
			e->eax = index;
			e->ebx = index & 0xff;
			e->ecx = 0;
			break;
		}
	}
	return c;
}

static void vcpu_set_msrs(struct vcpu *v)
{
	static const struct { uint32_t index; uint64_t value; } msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_DEF_ENABLE_WB },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} one;

	/*
	 * One at a time: KVM stops a batch at the first MSR it does not know.
	 * The TSC is left alone: KVM starts every vCPU's TSC in sync, and
	 * separate writes from userspace can leave them unsynchronised.
	 */
	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e[0].index = msrs[i].index;
		one.e[0].data = msrs[i].value;
		ioctl(v->fd, KVM_SET_MSRS, &one);
	}
}

/* LINT0 delivers the PIC's ExtINT, LINT1 NMIs: the PC wiring (MP spec 5.1). */
static int vcpu_set_lint(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0 = (uint32_t *)(lapic.regs + APIC_LVT0);
	uint32_t *lvt1 = (uint32_t *)(lapic.regs + APIC_LVT1);

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	*lvt0 = (*lvt0 & ~0x700u) | APIC_MODE_EXTINT;
	*lvt1 = (*lvt1 & ~0x700u) | APIC_MODE_NMI;
	return ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int vcpu_create_all(struct machine *m, char *err, size_t errlen)
{
	m->vcpus = calloc(m->cfg.cpus, sizeof(*m->vcpus));
	if (!m->vcpus) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->nr_vcpus = m->cfg.cpus;
	for (unsigned int i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];
		struct kvm_cpuid2 *cpuid;
		const char *what;
		int ret;

		v->m = m;
		v->index = i;
		v->fd = ioctl(m->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", i, strerror(errno));
			return -errno;
		}
		v->run = mmap(NULL, m->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			snprintf(err, errlen, "mmap of vCPU %u: %s", i, strerror(errno));
			return -errno;
		}
		cpuid = vcpu_cpuid(m->kvm.cpuid, i, m->nr_vcpus);
		what = "KVM_SET_CPUID2";
		ret = cpuid ? ioctl(v->fd, KVM_SET_CPUID2, cpuid) : -1;
		free(cpuid);
		if (ret < 0)
			goto fail;
		vcpu_set_msrs(v);
		what = "KVM_SET_LAPIC";
		if (vcpu_set_lint(v) < 0)
			goto fail;
		continue;
fail:
		snprintf(err, errlen, "%s on vCPU %u: %s", what, i, strerror(errno));
		return -EIO;
	}
	return 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64 ? 1 : 0;
	s->db = code64 ? 0 : 1;
}

int vcpu_set_boot_state(struct machine *m, uint64_t entry, uint64_t boot_params,
			char *err, size_t errlen)
{
	struct vcpu *v = &m->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	/* 64-bit mode, paging on, identity map, flat segments (boot.rst "64-bit Boot Protocol"). */
	seg_flat(&sregs.cs, BOOT_CS_SELECTOR, 0xb, 1);
	seg_flat(&sregs.ds, BOOT_DS_SELECTOR, 0x3, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = BOOT_TSS_SELECTOR;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb;        /* busy 64-bit TSS */
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 0x2;
	sregs.ldt.present = 1;
	sregs.ldt.limit = 0xffff;
	sregs.gdt.base = BOOT_GDT_GPA;
	sregs.gdt.limit = 6 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr3 = BOOT_PML4_GPA;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		goto fail;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;          /* reserved bit; interrupts off */
	regs.rip = entry;
	regs.rsi = boot_params;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		goto fail;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "setting the boot CPU's registers: %s", strerror(errno));
	return -EIO;
}

static void vcpu_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&v->m->pio, run->io.port, data, run->io.size);
		else
			bus_read(&v->m->pio, run->io.port, data, run->io.size);
	}
}

static void vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (run->mmio.len > 8)
		return;
	/*
	 * A write to a read-only slot (the BIOS ROM, a PAM segment, an option
	 * ROM) exits here too: the memory map completes it (dropped, or into
	 * shadow RAM), quietly, as the chipset would.
	 */
	if (run->mmio.is_write &&
	    memmap_mmio_write(&v->m->memmap, run->mmio.phys_addr, run->mmio.data, run->mmio.len))
		return;
	if (run->mmio.is_write)
		bus_write(&v->m->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
	else
		bus_read(&v->m->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct machine *m = v->m;
	struct kvm_run *run = v->run;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (machine_vcpu_checkpoint(m)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* Kicked: clear the flag before looking at why. */
				__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			machine_request(m, MACHINE_EV_FATAL, "vCPU %u: KVM_RUN: %s", v->index, strerror(errno));
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			vcpu_io(v);
			break;
		case KVM_EXIT_MMIO:
			vcpu_mmio(v);
			break;
		case KVM_EXIT_HLT:
		case KVM_EXIT_INTR:
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			break;
		case KVM_EXIT_SHUTDOWN:
			/*
			 * A triple fault: on a PC the chipset answers the CPU's
			 * shutdown cycle with a reset (Intel SDM vol. 3, 6.15
			 * "double fault", then shutdown; the PIIX/ICH chipsets
			 * reset on it), which is what Linux's reboot=t relies
			 * on.  So it is a machine reset, or the end with
			 * --no-reboot.  The registers are already reset (SVM):
			 * no rip to report.
			 */
			if (!m->cfg.no_reboot)   /* else main() says why the VM ended */
				fprintf(stderr, "hutch-vm: vCPU %u: guest triple fault: machine reset\n",
					v->index);
			machine_request(m, MACHINE_EV_RESET, "vCPU %u: guest triple fault (KVM_EXIT_SHUTDOWN)",
					v->index);
			goto out;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				machine_request(m, MACHINE_EV_RESET, "guest reset");
			else if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				machine_request(m, MACHINE_EV_POWEROFF, "guest shutdown");
			else
				machine_request(m, MACHINE_EV_FATAL, "vCPU %u: guest crash event %u",
						v->index, run->system_event.type);
			goto out;
		case KVM_EXIT_INTERNAL_ERROR:
			machine_request(m, MACHINE_EV_FATAL, "vCPU %u: KVM internal error, suberror %u",
					v->index, run->internal.suberror);
			goto out;
		case KVM_EXIT_FAIL_ENTRY:
			machine_request(m, MACHINE_EV_FATAL,
					"vCPU %u: KVM could not enter the guest (reason 0x%llx)",
					v->index,
					(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			goto out;
		default:
			machine_request(m, MACHINE_EV_FATAL, "vCPU %u: unhandled KVM exit reason %u",
					v->index, run->exit_reason);
			goto out;
		}
	}
out:
	return NULL;
}

static void sig_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_start_all(struct machine *m, char *err, size_t errlen)
{
	struct sigaction sa;
	sigset_t set, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_kick_handler;   /* no SA_RESTART: KVM_RUN must return EINTR */
	sigaction(SIG_KICK, &sa, NULL);
	/* Threads start with SIG_KICK blocked and unblock it themselves. */
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned int i = 0; i < m->nr_vcpus; i++) {
		int ret = hutch_thread_create(&m->vcpus[i].thread, vcpu_thread, &m->vcpus[i]);

		if (ret) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "starting vCPU thread %u: %s", i, strerror(ret));
			return -ret;
		}
		m->vcpus[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void vcpu_kick_all(struct machine *m)
{
	if (!m->vcpus)
		return;   /* none created yet (or a test's machine without KVM) */
	for (unsigned int i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];

		if (!v->started)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, SIG_KICK);
	}
}

void vcpu_join_all(struct machine *m)
{
	for (unsigned int i = 0; i < m->nr_vcpus; i++) {
		if (m->vcpus[i].started)
			pthread_join(m->vcpus[i].thread, NULL);
		m->vcpus[i].started = false;
	}
}

void vcpu_destroy_all(struct machine *m)
{
	if (!m->vcpus)
		return;
	for (unsigned int i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];

		if (v->run)
			munmap(v->run, m->kvm.run_size);
		if (v->fd > 0)
			close(v->fd);
	}
	free(m->vcpus);
	m->vcpus = NULL;
	m->nr_vcpus = 0;
}
