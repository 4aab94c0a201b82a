/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC Hutch emulates, assembled from the KVM core and the device models:
 * guest RAM around the PCI hole, the in-kernel irqchip and PIT, COM1, the
 * RTC, the i8042 reset line, ACPI power management and PCI bus 0 behind
 * an i440FX host bridge and a PIIX3 ISA bridge; booted directly into a
 * Linux kernel, or through firmware (SeaBIOS) from its ROM, which reads
 * the machine's description from fw_cfg.
 */
#ifndef HUTCH_MACHINE_H
#define HUTCH_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "device.h"
#include "e820.h"
#include "event_loop.h"
#include "guest_mem.h"
#include "kvm.h"
#include "kvm_notify.h"
#include "input.h"
#include "memmap.h"
#include "net.h"
#include "nic_spec.h"
#include "storage.h"

struct vcpu;

struct machine_config {
	const char *name;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t memory_mib;
	unsigned int cpus;
	int serial_out_fd;     /* where COM1's output goes, -1 = nowhere */
	int serial_in_fd;      /* COM1's input, -1 = none */
	uint64_t serial_limit; /* COM1's output in bytes at most (a file's cap), 0 = unlimited */
	bool no_reboot;        /* a guest reboot ends the VM instead */
	bool no_kvm_notify;    /* no ioeventfd/irqfd: devices trap and use KVM_SIGNAL_MSI */
	const struct drive_spec *drives;  /* disks and CD/DVD drives (storage.h) */
	unsigned int nr_drives;
	bool vga;              /* the VGA/VBE display adapter (vga.c) */
	uint64_t vram_mib;     /* its VRAM, 0 = the model's default */
	bool no_tablet;        /* leave out the virtio-input tablet (virtio_input.c): the
				* pointer is then the i8042's PS/2 mouse alone */
	/* Firmware boot (no kernel): */
	const char *bios;      /* the BIOS image; NULL = FIRMWARE_DEFAULT_BIOS */
	const char *boot_order;/* --boot list (firmware.h); NULL = VirtualBox's default */
	const struct nic_spec *nics;      /* network adapters (--nic), in any order */
	unsigned int nr_nics;
};

/* Why the machine stopped running; the larger value wins when several race. */
enum machine_event {
	MACHINE_EV_NONE = 0,
	MACHINE_EV_RESET,      /* guest reboot, reset line, control 'reset' */
	MACHINE_EV_POWEROFF,   /* ACPI S5, control 'poweroff' */
	MACHINE_EV_FATAL,      /* triple fault, KVM internal error, ... */
};

struct machine {
	struct machine_config cfg;
	struct kvm kvm;
	pthread_rwlock_t vm_lock;   /* held for writing while the KVM VM is rebuilt */

	uint8_t *ram;
	uint64_t ram_size;
	struct ram_layout layout;
	struct e820_map e820;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct dev_host host;
	struct event_loop *loop;    /* timers, fd watches; its thread outlives reboots */
	struct kvm_notify notify;   /* ioeventfds and irqfds, replayed into every new VM */

	struct pci_bus *pci;        /* bus 0; its host bridge is the i440fx model */
	struct device *uart, *rtc, *i8042, *acpi_pm, *i440fx, *piix3;
	struct device *vga;         /* NULL without cfg.vga */
	struct device *tablet;      /* the virtio-input tablet; NULL with cfg.no_tablet */
#define MAX_STORAGE_DEVS 32
	struct device *storage_devs[MAX_STORAGE_DEVS];  /* controllers (storage.c) */
	unsigned int nr_storage_devs;
	struct blk_image *drive_imgs[MAX_DRIVES];       /* by cfg.drives index */
	unsigned int nr_drive_imgs;
	struct device *drive_ctrl[MAX_DRIVES];          /* by cfg.drives index: its controller */
	unsigned int drive_port[MAX_DRIVES];            /* and its port there (drive_args.port) */

	/* Network adapters: by cfg.nics index, the back end and the NIC model. */
	struct net_backend *nic_net[NIC_MAX];
	struct device *nic_dev[NIC_MAX];

	struct memmap memmap;       /* every guest-physical mapping but trapped MMIO */
	bool memmap_ready;
	uint8_t *bios;              /* the BIOS ROM image, NULL for direct boot */
	uint64_t bios_size;
	struct device *fw_cfg;      /* firmware boot only */

	struct vcpu *vcpus;
	unsigned int nr_vcpus;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum machine_event event;   /* pending stop request */
	char event_msg[256];
	bool stopping;              /* vCPUs must leave KVM_RUN and exit */
	bool paused;                /* vCPUs asked to park (a pause in progress or done) */
	bool reset_by_user;         /* control 'reset': reset even with no_reboot */
	unsigned int vcpus_parked;  /* vCPUs waiting while paused */
	unsigned int boots;
	int pause_notify_fd;        /* eventfd the event loop polls: a pause completed or
				       ended without completing; -1 = none */
	/* The display a device published (display.h), under lock; NULL = none. */
	const struct display_ops *display_ops;
	void *display_opaque;
	/* Where frontends send keys and the pointer (input.h). */
	struct input_router input;
};

/* Where a pause stands (machine_pause_state). */
enum machine_pause_state {
	MACHINE_RUNNING,            /* not paused (never, resumed, or reset meanwhile) */
	MACHINE_PAUSING,            /* asked; some vCPUs still in the guest or a device */
	MACHINE_PAUSED,             /* every vCPU parked */
};

/* Validate the config and set up everything that survives a reboot. */
int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen);
/* Create the KVM VM, load the kernel and start the vCPUs. */
int machine_start(struct machine *m, char *err, size_t errlen);
/* Wait for a stop request; stop and join the vCPUs; tear the KVM VM down. */
enum machine_event machine_wait(struct machine *m, char *msg, size_t msglen);
void machine_destroy(struct machine *m);

/* Ask the machine to stop (from any thread, devices included). */
void machine_request(struct machine *m, enum machine_event ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Pausing never blocks the caller: machine_pause_begin asks every vCPU to
 * park at its next exit and returns at once (-EBUSY while the machine is
 * stopping or between boots).  When the last vCPU parks, or the pause ends
 * without completing (resume, reset), pause_notify_fd is signalled; the
 * caller then reads machine_pause_state.  machine_resume also cancels a
 * pause in progress, so the state is always the real one.
 */
int machine_pause_begin(struct machine *m);
enum machine_pause_state machine_pause_state(struct machine *m);
int machine_resume(struct machine *m);
/* Paused means every vCPU is parked, not merely asked to. */
bool machine_is_paused(struct machine *m);
/*
 * The published display (dev_host.display_publish), or false if none.
 * Frontends call its ops on the event loop's thread, which stops before
 * the devices go (machine_destroy), so the ops stay valid meanwhile.
 */
bool machine_display(struct machine *m, const struct display_ops **ops, void **opaque);
/* dev_host.display_publish: @opaque is the machine; NULL @ops withdraws. */
void machine_display_publish(void *opaque, const struct display_ops *ops, void *dev_opaque);
/* The back end of network adapter @index (1..NIC_MAX, VirtualBox's numbering), or NULL. */
struct net_backend *machine_nic(struct machine *m, unsigned int index);
/* A vCPU between exits: parks while paused; false once it must exit. */
bool machine_vcpu_checkpoint(struct machine *m);

/* vCPU side (vcpu.c). */
int vcpu_create_all(struct machine *m, char *err, size_t errlen);
int vcpu_set_boot_state(struct machine *m, uint64_t entry, uint64_t boot_params,
			char *err, size_t errlen);
int vcpu_start_all(struct machine *m, char *err, size_t errlen);
void vcpu_kick_all(struct machine *m);
void vcpu_join_all(struct machine *m);
void vcpu_destroy_all(struct machine *m);

#endif
