// SPDX-License-Identifier: GPL-2.0-or-later
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "boot_linux.h"
#include "devices.h"
#include "firmware.h"
#include "fw_cfg.h"
#include "machine.h"
#include "pci.h"
#include "smbios.h"

#define MIN_MEMORY_MIB 16
#define MAX_MEMORY_MIB (1024ULL * 1024)   /* 1 TiB */

static void machine_irq_set_level(void *opaque, uint32_t gsi, int level)
{
	struct machine *m = opaque;

	/* The VM may be between a reset's teardown and rebuild: drop, the chip is new. */
	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->kvm.vm_fd >= 0)
		kvm_irq_line(&m->kvm, gsi, level);
	pthread_rwlock_unlock(&m->vm_lock);
}

static const struct irq_chip_ops machine_irq_ops = {
	.set_level = machine_irq_set_level,
};

/* x86 MSIs target the local APICs' window (Intel SDM vol. 3, 11.11.1). */
#define MSI_ADDR_MASK  0xfff00000ULL
#define MSI_ADDR_BASE  0xfee00000ULL

static void machine_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;
	int ret = 0;

	/*
	 * A message outside the APIC window would be a plain memory write on
	 * real hardware; no device here needs that, so it is dropped.  KVM
	 * decodes whatever address it gets as an APIC message otherwise.
	 */
	if ((addr & MSI_ADDR_MASK) != MSI_ADDR_BASE) {
		static unsigned int warned;

		if (warned++ < 10)
			fprintf(stderr, "hutch-vm: MSI to 0x%llx (data 0x%x) is outside the APIC window: dropped\n",
				(unsigned long long)addr, data);
		return;
	}
	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->kvm.vm_fd >= 0)
		ret = kvm_signal_msi(&m->kvm, addr, data);
	pthread_rwlock_unlock(&m->vm_lock);
	if (ret < 0)
		fprintf(stderr, "hutch-vm: KVM_SIGNAL_MSI: %s\n", strerror(-ret));
}

static void machine_dev_reset(void *opaque)
{
	machine_request(opaque, MACHINE_EV_RESET, "guest reset (keyboard controller reset line)");
}

static void machine_dev_poweroff(void *opaque)
{
	machine_request(opaque, MACHINE_EV_POWEROFF, "guest powered off (ACPI S5)");
}

/* A display device publishes its screen (display.h); frontends find it here. */
void machine_display_publish(void *opaque, const struct display_ops *ops, void *dev_opaque)
{
	struct machine *m = opaque;

	pthread_mutex_lock(&m->lock);
	m->display_ops = ops;
	m->display_opaque = ops ? dev_opaque : NULL;
	pthread_mutex_unlock(&m->lock);
}

bool machine_display(struct machine *m, const struct display_ops **ops, void **opaque)
{
	pthread_mutex_lock(&m->lock);
	*ops = m->display_ops;
	*opaque = m->display_opaque;
	pthread_mutex_unlock(&m->lock);
	return *ops != NULL;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t host_realtime_ns(void *opaque) { (void)opaque; return clock_ns(CLOCK_REALTIME); }
static int64_t host_monotonic_ns(void *opaque) { (void)opaque; return clock_ns(CLOCK_MONOTONIC); }

/*
 * The loop services devices get (host_loop.h): timers and watches from
 * the event loop, ioeventfd and irqfd from the registry that outlives the
 * KVM VM.  Each handle carries its own ops, so only the constructors are
 * routed here.
 */
static struct host_timer *machine_timer_new(void *loop, pthread_mutex_t *lock, host_cb *fn,
					    void *opaque)
{
	struct machine *m = loop;

	return event_loop_ops.timer_new(m->loop, lock, fn, opaque);
}

static struct host_watch *machine_watch_new(void *loop, int fd, unsigned int events,
					    pthread_mutex_t *lock, host_fd_cb *fn, void *opaque)
{
	struct machine *m = loop;

	return event_loop_ops.watch_new(m->loop, fd, events, lock, fn, opaque);
}

static struct host_ioevent *machine_ioevent_new(void *loop, bool pio, uint64_t addr,
						unsigned int len, pthread_mutex_t *lock,
						host_cb *fn, void *opaque)
{
	struct machine *m = loop;

	return kvm_notify_ioevent_new(&m->notify, pio, addr, len, lock, fn, opaque);
}

static struct host_irqfd *machine_irqfd_new(void *loop)
{
	struct machine *m = loop;

	return kvm_notify_irqfd_new(&m->notify);
}

static const struct host_loop_ops machine_loop_ops = {
	.timer_new = machine_timer_new,
	.watch_new = machine_watch_new,
	.ioevent_new = machine_ioevent_new,
	.irqfd_new = machine_irqfd_new,
};

/* The memory map's way into KVM (memmap.h); the caller holds vm_lock. */
static int machine_set_slot(void *opaque, uint32_t id, uint64_t gpa, uint64_t size, void *hva,
			    unsigned int flags)
{
	struct machine *m = opaque;

	if (m->kvm.vm_fd < 0)
		return 0;
	return kvm_set_memory(&m->kvm, id, gpa, size, hva, flags & MEMMAP_SLOT_READONLY,
			      flags & MEMMAP_SLOT_DIRTY_LOG);
}

static int machine_get_dirty(void *opaque, uint32_t id, uint64_t *bitmap)
{
	struct machine *m = opaque;

	return m->kvm.vm_fd < 0 ? -ENODEV : kvm_get_dirty_log(&m->kvm, id, bitmap);
}

/* The i440FX's PAM registers changed (under its lock): remap 0xC0000-0xFFFFF. */
static void machine_pam_changed(void *opaque, const uint8_t pam[7])
{
	struct machine *m = opaque;

	memmap_set_pam(&m->memmap, pam);
}

static struct device *machine_add_device(struct machine *m, const char *model, const char *id,
					 const struct device_args *args, char *err, size_t errlen)
{
	const struct device_model *dm = device_model_find(model);
	struct device *dev = dm ? device_create(dm, id, &m->host, args) : NULL;

	if (!dev)
		snprintf(err, errlen, "cannot create device %s: %s", id,
			 dm ? strerror(errno) : "unknown model");
	return dev;
}

/*
 * The BIOS ROM for firmware boot, read once: just below 4 GiB and, through
 * the PAM window, its last 128 KiB at 0xE0000 (memmap.h).  A reboot maps
 * the same bytes again; the guest cannot change them (read-only slots).
 */
static int machine_load_bios(struct machine *m, char *err, size_t errlen)
{
	const char *path = m->cfg.bios ? m->cfg.bios : FIRMWARE_DEFAULT_BIOS;
	int ret = firmware_load_rom(path, &m->bios, &m->bios_size, err, errlen);

	if (ret)
		return ret;
	if (!m->memmap.readonly_ok)
		fprintf(stderr, "hutch-vm: KVM lacks KVM_CAP_READONLY_MEM: the BIOS ROM is "
			"mapped writable\n");
	return memmap_set_rom(&m->memmap, m->bios, m->bios_size);
}

/* The PCI slot and function of @dev's configuration space, or -1. */
static int machine_pci_devfn_of(struct machine *m, const struct device *dev)
{
	for (unsigned int devfn = 0; devfn < 256; devfn++) {
		struct pci_function *f = pci_bus_function(m->pci, (uint8_t)devfn);

		if (f && f->dev == dev)
			return (int)devfn;
	}
	return -1;
}

/* The "bootorder" file from --boot and the attached drives (firmware.h). */
static int machine_boot_order(struct machine *m, char *out, size_t outlen, char *err,
			      size_t errlen)
{
	const char *list = m->cfg.boot_order ? m->cfg.boot_order : BOOT_ORDER_DEFAULT;
	enum boot_class order[BOOT_NR_CLASSES];
	struct boot_drive drives[MAX_DRIVES + NIC_MAX];
	unsigned int n, nd = 0;
	int ret, len;

	ret = boot_order_parse(list, order, &n, err, errlen);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < m->cfg.nr_drives; i++) {
		int devfn = m->drive_ctrl[i] ? machine_pci_devfn_of(m, m->drive_ctrl[i]) : -1;

		if (devfn < 0)
			continue;
		drives[nd++] = (struct boot_drive){
			.bus = m->cfg.drives[i].bus, .cdrom = m->cfg.drives[i].cdrom,
			.pci_slot = (unsigned int)devfn >> 3, .pci_func = (unsigned int)devfn & 7,
			.port = m->drive_port[i],
		};
	}
	for (unsigned int i = 0; i < m->cfg.nr_nics && nd < sizeof(drives) / sizeof(drives[0]); i++) {
		int devfn = m->nic_dev[i] ? machine_pci_devfn_of(m, m->nic_dev[i]) : -1;

		if (devfn >= 0)
			drives[nd++] = (struct boot_drive){
				.nic = true,
				.pci_slot = (unsigned int)devfn >> 3, .pci_func = (unsigned int)devfn & 7,
			};
	}
	len = bootorder_build(order, n, drives, nd, out, outlen);
	if (len < 0) {
		snprintf(err, errlen, "the boot order is too long for fw_cfg");
		return len;
	}
	return len;
}

/*
 * The network adapters: for each --nic, its back end on the event loop
 * (net.h), then the NIC model on the PCI bus joined to it.  Back ends
 * survive reboots with the loop (a NAT's connections and forwarded ports
 * stay, as in QEMU and VirtualBox); the NICs reset with the machine.
 */
static int machine_add_nics(struct machine *m, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < m->cfg.nr_nics; i++) {
		const struct nic_spec *spec = &m->cfg.nics[i];
		struct device_args args = { .out_fd = -1, .in_fd = -1 };
		const char *model = spec->model == NIC_MODEL_E1000 ? "e1000" : "virtio-net";
		char id[16];

		for (unsigned int j = 0; j < i; j++) {
			if (m->cfg.nics[j].index == spec->index) {
				snprintf(err, errlen, "--nic: adapter %u is given twice", spec->index);
				return -EINVAL;
			}
		}
		m->nic_net[i] = net_backend_create(spec, m->cfg.name ? m->cfg.name : "hutch-vm",
						   &machine_loop_ops, m, err, errlen);
		if (!m->nic_net[i])
			return -EIO;
		args.net = m->nic_net[i];
		memcpy(args.mac, spec->mac, sizeof(args.mac));
		snprintf(id, sizeof(id), "nic%u", spec->index);
		m->nic_dev[i] = machine_add_device(m, model, id, &args, err, errlen);
		if (!m->nic_dev[i])
			return -EIO;
	}
	return 0;
}

static void machine_remove_nics(struct machine *m)
{
	for (unsigned int i = 0; i < NIC_MAX; i++) {
		if (m->nic_dev[i])
			device_destroy(m->nic_dev[i]);   /* detaches from its back end */
		m->nic_dev[i] = NULL;
		net_backend_destroy(m->nic_net[i]);
		m->nic_net[i] = NULL;
	}
}

struct net_backend *machine_nic(struct machine *m, unsigned int index)
{
	for (unsigned int i = 0; i < m->cfg.nr_nics; i++) {
		if (m->cfg.nics[i].index == index)
			return m->nic_net[i];
	}
	return NULL;
}

/* A whole file into malloc'd memory, for an option ROM. */
static void *machine_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = f ? malloc(max) : NULL;

	*len = buf ? fread(buf, 1, max, f) : 0;
	if (f)
		fclose(f);
	if (buf && (!*len || *len == max)) {   /* empty, or bigger than any option ROM */
		free(buf);
		buf = NULL;
	}
	return buf;
}

/*
 * ACPI through the table loader and SMBIOS (acpi.h, smbios.h): SeaBIOS
 * then installs these instead of building tables of its own.
 */
static int machine_fw_cfg_tables(struct machine *m)
{
	struct acpi_config acfg = { .cpus = m->cfg.cpus };
	struct smbios_config scfg = {
		.cpus = m->cfg.cpus,
		.ram_below_4g = m->layout.low_size,
		.ram_above_4g = m->layout.high_size,
	};
	struct acpi_fw_cfg a;
	struct smbios_blobs sb;
	int ret;

	ret = acpi_build_fw_cfg(&acfg, &a);
	if (ret)
		return ret;
	ret = fw_cfg_add_file(m->fw_cfg, ACPI_FW_CFG_TABLES, a.tables, a.tables_len);
	if (!ret)
		ret = fw_cfg_add_file(m->fw_cfg, ACPI_FW_CFG_RSDP, a.rsdp, a.rsdp_len);
	if (!ret)
		ret = fw_cfg_add_file(m->fw_cfg, ACPI_FW_CFG_LOADER, a.loader, a.loader_len);
	acpi_fw_cfg_free(&a);
	if (ret || m->cfg.cpus > SMBIOS_MAX_CPUS)   /* SMBIOS is optional: SeaBIOS makes its own */
		return ret;
	ret = smbios_build(&scfg, &sb);
	if (ret)
		return ret;
	ret = fw_cfg_add_file(m->fw_cfg, SMBIOS_FW_CFG_ANCHOR, sb.anchor, sb.anchor_len);
	if (!ret)
		ret = fw_cfg_add_file(m->fw_cfg, SMBIOS_FW_CFG_TABLES, sb.tables, sb.tables_len);
	smbios_blobs_free(&sb);
	return ret;
}

/*
 * The NICs' boot ROMs: iPXE from Debian's ipxe-qemu, as QEMU loads them.
 * SeaBIOS looks for "pciVVVV,DDDD.rom" in fw_cfg before a device's ROM
 * BAR (optionrom.c: lookup_hardcode), so the NIC models need no ROM BAR.
 * Without the package the NICs still work; they just cannot PXE boot.
 */
static int machine_nic_roms(struct machine *m, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < m->cfg.nr_nics; i++) {
		bool e1000 = m->cfg.nics[i].model == NIC_MODEL_E1000;
		const char *path = e1000 ? FIRMWARE_IPXE_E1000 : FIRMWARE_IPXE_VIRTIO;
		int devfn = m->nic_dev[i] ? machine_pci_devfn_of(m, m->nic_dev[i]) : -1;
		struct pci_function *f = devfn >= 0 ? pci_bus_function(m->pci, (uint8_t)devfn) : NULL;
		char name[32];
		size_t len;
		void *rom;
		int ret;

		if (!f)
			continue;
		snprintf(name, sizeof(name), "pci%04x,%04x.rom",
			 f->config[0] | f->config[1] << 8, f->config[2] | f->config[3] << 8);
		rom = machine_read_file(path, 1 << 20, &len);
		if (!rom) {
			fprintf(stderr, "hutch-vm: %s: %s; nic%u cannot boot from the network "
				"(install ipxe-qemu)\n", path, strerror(errno), m->cfg.nics[i].index);
			continue;
		}
		ret = fw_cfg_add_file(m->fw_cfg, name, rom, len);
		free(rom);
		if (ret && ret != -EEXIST) {   /* EEXIST: one ROM serves every NIC of a model */
			snprintf(err, errlen, "fw_cfg: %s: %s", name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * What SeaBIOS learns from fw_cfg (QEMU's docs/specs/fw_cfg.rst for the
 * items; SeaBIOS's src/fw/paravirt.c and src/boot.c for what it reads):
 * RAM size, CPUs, the e820 map, the boot order and what to do when
 * nothing boots, the VGA BIOS.
 */
static int machine_setup_fw_cfg(struct machine *m, char *err, size_t errlen)
{
	struct device_args none = { .out_fd = -1, .in_fd = -1 };
	uint64_t ram = htole64(m->ram_size);
	uint16_t cpus = htole16((uint16_t)m->cfg.cpus);
	/* -1: after "No bootable device." wait for ever instead of rebooting. */
	uint32_t fail_wait = htole32(UINT32_MAX);
	uint16_t sercon = htole16(COM1_PORT);
	struct e820_map map;
	char order[4096];
	int len, ret;

	m->fw_cfg = machine_add_device(m, "fw_cfg", "fw_cfg", &none, err, errlen);
	if (!m->fw_cfg)
		return -EIO;
	firmware_e820(&m->layout, KVM_IDENTITY_MAP_GPA, 4 * 4096, &map);
	len = machine_boot_order(m, order, sizeof(order), err, errlen);
	if (len < 0)
		return len;
	ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_RAM_SIZE, &ram, sizeof(ram));
	if (!ret)
		ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_NB_CPUS, &cpus, sizeof(cpus));
	if (!ret)
		ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_MAX_CPUS, &cpus, sizeof(cpus));
	if (!ret)
		ret = fw_cfg_add_file(m->fw_cfg, "etc/e820", map.entries,
				      map.nr * sizeof(map.entries[0]));
	if (!ret)
		ret = fw_cfg_add_file(m->fw_cfg, "etc/boot-fail-wait", &fail_wait, sizeof(fail_wait));
	if (!ret)   /* with its NUL, as SeaBIOS reads it as a string */
		ret = fw_cfg_add_file(m->fw_cfg, "bootorder", order, (size_t)len + 1);
	/* Hutch's own ACPI tables (the same as direct boot) and SMBIOS. */
	if (!ret)
		ret = machine_fw_cfg_tables(m);
	if (!ret && m->cfg.vga) {
		size_t rom_len;
		void *rom = machine_read_file(FIRMWARE_VGABIOS_STDVGA, 1 << 20, &rom_len);

		if (!rom) {
			snprintf(err, errlen, "%s: cannot read the VGA BIOS (is seabios installed?)",
				 FIRMWARE_VGABIOS_STDVGA);
			return -ENOENT;
		}
		ret = fw_cfg_add_file(m->fw_cfg, "vgaroms/vgabios-stdvga.bin", rom, rom_len);
		free(rom);
	} else if (!ret) {
		/* No screen: SeaBIOS shows its output (menu, errors) on COM1 instead. */
		ret = fw_cfg_add_file(m->fw_cfg, "etc/sercon-port", &sercon, sizeof(sercon));
	}
	if (!ret)
		ret = machine_nic_roms(m, err, errlen);
	else
		snprintf(err, errlen, "filling fw_cfg: %s", strerror(-ret));
	return ret;
}

int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen)
{
	struct device_args none = { .out_fd = -1, .in_fd = -1 };
	struct device_args com1 = { .base = COM1_PORT, .gsi = COM1_GSI,
				    .out_fd = cfg->serial_out_fd, .in_fd = cfg->serial_in_fd,
				    .out_limit = cfg->serial_limit };
	unsigned int max_cpus;
	int ret;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->kvm.dev_fd = m->kvm.vm_fd = -1;
	m->pause_notify_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	input_router_init(&m->input);
	pthread_cond_init(&m->cond, NULL);
	pthread_rwlock_init(&m->vm_lock, NULL);
	bus_init(&m->pio, "pio");
	bus_init(&m->mmio, "mmio");

	if (cfg->memory_mib < MIN_MEMORY_MIB || cfg->memory_mib > MAX_MEMORY_MIB) {
		snprintf(err, errlen, "--memory %llu: must be between %d and %llu MiB",
			 (unsigned long long)cfg->memory_mib, MIN_MEMORY_MIB, MAX_MEMORY_MIB);
		return -EINVAL;
	}
	if (cfg->cpus < 1) {
		snprintf(err, errlen, "--cpus %u: at least 1 vCPU is needed", cfg->cpus);
		return -EINVAL;
	}
	ret = kvm_open(&m->kvm, err, errlen);
	if (ret)
		return ret;
	max_cpus = m->kvm.max_vcpus < ACPI_MAX_CPUS ? m->kvm.max_vcpus : ACPI_MAX_CPUS;
	if (cfg->cpus > max_cpus) {
		snprintf(err, errlen, "--cpus %u: at most %u vCPUs are possible on this host (KVM allows %u)",
			 cfg->cpus, max_cpus, m->kvm.max_vcpus);
		return -EINVAL;
	}

	m->ram_size = cfg->memory_mib * MiB;
	ram_layout_for(m->ram_size, &m->layout);
	e820_build(&m->layout, &m->e820);
	memmap_init(&m->memmap, NULL, m->layout.low_size, m->layout.high_size,
		    kvm_guest_phys_limit(&m->kvm), kvm_readonly_mem_ok(&m->kvm),
		    machine_set_slot, machine_get_dirty, m, &m->vm_lock);
	m->memmap_ready = true;
	if (!cfg->kernel) {
		ret = machine_load_bios(m, err, errlen);
		if (ret)
			return ret;
	}

	/* Before the devices: their create() may make timers and watches. */
	m->loop = event_loop_create(err, errlen);
	if (!m->loop)
		return -ENOMEM;
	kvm_notify_init(&m->notify, &m->kvm, &m->vm_lock, m->loop, !cfg->no_kvm_notify);

	m->host = (struct dev_host){
		.pio = &m->pio, .mmio = &m->mmio, .mem = &m->mem,
		.irq_ops = &machine_irq_ops, .irq_opaque = m,
		.request_reset = machine_dev_reset, .request_poweroff = machine_dev_poweroff,
		.req_opaque = m,
		.clock_realtime_ns = host_realtime_ns, .clock_monotonic_ns = host_monotonic_ns,
		.signal_msi = machine_signal_msi, .msi_opaque = m,
		.loop_ops = &machine_loop_ops, .loop = m,
		.display_publish = machine_display_publish, .display_opaque = m,
		.input_publish = input_router_publish, .input_opaque = &m->input,
		.memregion_ops = &memmap_host_mem_ops, .memregion_opaque = &m->memmap,
		.pam_changed = machine_pam_changed, .pam_opaque = m,
	};
	m->pci = pci_bus_create(&m->host);
	if (!m->pci) {
		snprintf(err, errlen, "cannot create the PCI bus: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	m->host.pci = m->pci;
	/* The bridges first: the host bridge owns 00.0, PIIX3 01.0 (IDE will be 01.1). */
	m->i440fx = machine_add_device(m, "i440fx", "i440fx", &none, err, errlen);
	if (!m->i440fx)
		return -EIO;
	m->piix3 = machine_add_device(m, "piix3", "piix3", &none, err, errlen);
	if (!m->piix3)
		return -EIO;
	m->uart = machine_add_device(m, "uart16550", "com1", &com1, err, errlen);
	if (!m->uart)
		return -EIO;
	m->rtc = machine_add_device(m, "rtc", "rtc", &none, err, errlen);
	if (!m->rtc)
		return -EIO;
	m->i8042 = machine_add_device(m, "i8042", "i8042", &none, err, errlen);
	if (!m->i8042)
		return -EIO;
	m->acpi_pm = machine_add_device(m, "acpi_pm", "acpi-pm", &none, err, errlen);
	if (!m->acpi_pm)
		return -EIO;
	ret = machine_add_storage(m, err, errlen);
	if (ret)
		return ret;
	if (cfg->vga) {
		/* The display adapter: legacy VGA, Bochs VBE, VRAM as BAR0 (vga.c). */
		struct device_args vga = { .out_fd = -1, .in_fd = -1,
					   .vram_size = cfg->vram_mib * MiB };

		m->vga = machine_add_device(m, "vga", "vga", &vga, err, errlen);
		if (!m->vga)
			return -EIO;
	}
	if (cfg->nr_nics > NIC_MAX) {
		snprintf(err, errlen, "--nic: at most %d network adapters", NIC_MAX);
		return -EINVAL;
	}
	ret = machine_add_nics(m, err, errlen);
	if (ret)
		return ret;
	if (!cfg->no_tablet) {
		/* An absolute pointer, as VirtualBox's default USB tablet: after the
		 * NICs, so their PCI slots stay where they were without it. */
		m->tablet = machine_add_device(m, "virtio-input", "tablet", &none, err, errlen);
		if (!m->tablet)
			return -EIO;
	}
	if (m->bios) {
		ret = machine_setup_fw_cfg(m, err, errlen);
		if (ret)
			return ret;
	}
	/* The loop's thread starts before the seccomp filter, which TSYNC puts on it too. */
	return event_loop_start(m->loop, err, errlen);
}

/*
 * Guest RAM: one anonymous mapping, split into two memslots around the PCI
 * hole.  It is aligned to 2 MiB and offered to transparent huge pages, so
 * KVM can map the guest with 2 MiB pages: far fewer faults and TLB misses.
 */
#define RAM_ALIGN (2 * MiB)

static int machine_map_ram(struct machine *m, char *err, size_t errlen)
{
	uint8_t *raw;
	size_t head;
	int ret;

	/*
	 * Mapped once for the life of the process: a reboot empties it
	 * (machine_teardown_vm) but never unmaps it, so an I/O thread that
	 * is still finishing a request can never write to an unmapped page.
	 */
	if (!m->ram) {
		raw = mmap(NULL, m->ram_size + RAM_ALIGN, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (raw == MAP_FAILED) {
			snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
				 (unsigned long long)(m->ram_size / MiB), strerror(errno));
			return -ENOMEM;
		}
		head = (size_t)(((uintptr_t)raw + RAM_ALIGN - 1) & ~(uintptr_t)(RAM_ALIGN - 1)) -
		       (uintptr_t)raw;
		if (head)
			munmap(raw, head);
		munmap(raw + head + m->ram_size, RAM_ALIGN - head);
		m->ram = raw + head;
		madvise(m->ram, m->ram_size, MADV_HUGEPAGE);  /* best effort */
		m->mem.nr_regions = 0;
		ret = gm_add_region(&m->mem, 0, m->layout.low_size, m->ram);
		if (!ret && m->layout.high_size)
			ret = gm_add_region(&m->mem, HIGH_RAM_START, m->layout.high_size,
					    m->ram + m->layout.low_size);
		if (ret) {
			snprintf(err, errlen, "guest RAM regions: %s", strerror(-ret));
			return ret;
		}
		m->memmap.ram = m->ram;   /* no VM yet: nothing reads it concurrently */
	}
	/* RAM, the ROM, the PAM window and the devices' regions, into the new VM. */
	ret = memmap_vm_created(&m->memmap);
	if (ret)
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
	return ret;
}

static int machine_load_firmware_tables(struct machine *m, uint64_t *rsdp, char *err, size_t errlen)
{
	const uint64_t len = BIOS_AREA_END - BIOS_AREA_START;
	struct acpi_config acfg = { .cpus = m->cfg.cpus };
	struct acpi_tables t;
	uint8_t *area = gm_slice(&m->mem, BIOS_AREA_START, len);
	int ret;

	if (!area) {
		snprintf(err, errlen, "no guest RAM for the ACPI tables");
		return -EFAULT;
	}
	ret = acpi_build(area, len, BIOS_AREA_START, &acfg, &t);
	if (ret) {
		snprintf(err, errlen, "building ACPI tables: %s", strerror(-ret));
		return ret;
	}
	*rsdp = t.rsdp;
	return 0;
}

int machine_start(struct machine *m, char *err, size_t errlen)
{
	struct boot_plan plan;
	uint64_t rsdp = 0;
	int ret;

	pthread_rwlock_wrlock(&m->vm_lock);
	ret = kvm_create_vm(&m->kvm, err, errlen);
	if (!ret)   /* the devices' ioeventfds, irqfds and MSI routes, in the new VM */
		ret = kvm_notify_vm_created(&m->notify, err, errlen);
	if (!ret)
		ret = machine_map_ram(m, err, errlen);
	if (!ret && !m->bios)
		ret = machine_load_firmware_tables(m, &rsdp, err, errlen);
	if (!ret && !m->bios)
		ret = linux_load(&m->mem, &m->layout, &m->e820, m->cfg.kernel, m->cfg.initrd,
				 m->cfg.cmdline ? m->cfg.cmdline : "", rsdp, &plan, err, errlen);
	if (!ret) {
		pthread_mutex_lock(&m->lock);
		ret = vcpu_create_all(m, err, errlen);
		pthread_mutex_unlock(&m->lock);
	}
	/*
	 * Firmware boot leaves the vCPUs as KVM_CREATE_VCPU made them: the
	 * architectural reset state (the BSP fetches at F000:FFF0, i.e. the
	 * ROM's last 16 bytes below 4 GiB; the APs wait for INIT/SIPI).
	 */
	if (!ret && !m->bios)
		ret = vcpu_set_boot_state(m, plan.entry, BOOT_PARAMS_GPA, err, errlen);
	pthread_rwlock_unlock(&m->vm_lock);
	if (ret)
		return ret;

	/* Devices come out of reset with the new irqchip (outside vm_lock: they drive IRQs). */
	device_reset(m->uart);
	device_reset(m->rtc);
	device_reset(m->i8042);
	device_reset(m->acpi_pm);
	device_reset(m->i440fx);   /* PAM to power-on: 0xE0000-0xFFFFF reads the ROM again */
	device_reset(m->piix3);
	if (m->fw_cfg)
		device_reset(m->fw_cfg);
	for (unsigned int i = 0; i < m->nr_storage_devs; i++)
		device_reset(m->storage_devs[i]);
	if (m->vga)
		device_reset(m->vga);
	if (m->tablet)
		device_reset(m->tablet);
	m->boots++;

	pthread_mutex_lock(&m->lock);
	ret = vcpu_start_all(m, err, errlen);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* Tell the event loop a pause completed or ended (m->lock held). */
static void machine_pause_notify(struct machine *m)
{
	uint64_t one = 1;

	if (m->pause_notify_fd >= 0)
		(void)!write(m->pause_notify_fd, &one, sizeof(one));
}

static void machine_teardown_vm(struct machine *m)
{
	/*
	 * Storage controllers DMA from their own I/O threads: a reset waits
	 * for their requests in flight and stops their queues, so no late
	 * DMA lands in the emptied RAM of the next boot.  (Before vm_lock:
	 * a reset lowers IRQ lines, which takes it for reading.)
	 */
	for (unsigned int i = 0; i < m->nr_storage_devs; i++)
		device_reset(m->storage_devs[i]);
	pthread_rwlock_wrlock(&m->vm_lock);
	pthread_mutex_lock(&m->lock);
	vcpu_destroy_all(m);
	pthread_mutex_unlock(&m->lock);
	kvm_destroy_vm(&m->kvm);
	if (m->memmap_ready)
		memmap_vm_destroyed(&m->memmap);
	if (m->notify.kvm)
		kvm_notify_vm_destroyed(&m->notify);
	/* The next boot finds RAM zeroed, as a fresh mapping would be. */
	if (m->ram)
		madvise(m->ram, m->ram_size, MADV_DONTNEED);
	pthread_rwlock_unlock(&m->vm_lock);
}

enum machine_event machine_wait(struct machine *m, char *msg, size_t msglen)
{
	enum machine_event ev;

	pthread_mutex_lock(&m->lock);
	while (m->event == MACHINE_EV_NONE)
		pthread_cond_wait(&m->cond, &m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->cond);  /* wake parked (paused) vCPUs */
	vcpu_kick_all(m);
	pthread_mutex_unlock(&m->lock);

	vcpu_join_all(m);
	machine_teardown_vm(m);

	pthread_mutex_lock(&m->lock);
	ev = m->event;
	snprintf(msg, msglen, "%s", m->event_msg);
	m->event = MACHINE_EV_NONE;
	m->event_msg[0] = 0;
	m->stopping = false;
	if (m->paused) {
		m->paused = false;
		machine_pause_notify(m);   /* a pause in progress ends with the boot */
	}
	pthread_mutex_unlock(&m->lock);
	return ev;
}

void machine_request(struct machine *m, enum machine_event ev, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->lock);
	if (ev > m->event) {
		m->event = ev;
		va_start(ap, fmt);
		vsnprintf(m->event_msg, sizeof(m->event_msg), fmt, ap);
		va_end(ap);
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
}

static enum machine_pause_state machine_pause_state_locked(struct machine *m)
{
	if (!m->paused)
		return MACHINE_RUNNING;
	return m->vcpus_parked == m->nr_vcpus ? MACHINE_PAUSED : MACHINE_PAUSING;
}

int machine_pause_begin(struct machine *m)
{
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (m->stopping || m->event != MACHINE_EV_NONE || !m->nr_vcpus) {
		ret = -EBUSY;
	} else if (!m->paused) {
		m->paused = true;
		vcpu_kick_all(m);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

enum machine_pause_state machine_pause_state(struct machine *m)
{
	enum machine_pause_state st;

	pthread_mutex_lock(&m->lock);
	st = machine_pause_state_locked(m);
	pthread_mutex_unlock(&m->lock);
	return st;
}

bool machine_vcpu_checkpoint(struct machine *m)
{
	bool go;

	pthread_mutex_lock(&m->lock);
	if (m->paused && !m->stopping) {
		m->vcpus_parked++;
		if (m->vcpus_parked == m->nr_vcpus)
			machine_pause_notify(m);   /* the last one in: the pause is complete */
		while (m->paused && !m->stopping)
			pthread_cond_wait(&m->cond, &m->lock);
		m->vcpus_parked--;
	}
	go = !m->stopping;
	pthread_mutex_unlock(&m->lock);
	return go;
}

int machine_resume(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	m->paused = false;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

bool machine_is_paused(struct machine *m)
{
	return machine_pause_state(m) == MACHINE_PAUSED;
}

void machine_destroy(struct machine *m)
{
	struct device **devs[] = { &m->tablet, &m->vga, &m->fw_cfg, &m->acpi_pm, &m->i8042, &m->rtc, &m->uart,
				   &m->piix3, &m->i440fx };

	/* No timer or watch callback runs from here on: devices can go. */
	event_loop_stop(m->loop);
	machine_teardown_vm(m);
	machine_remove_storage(m);   /* their I/O threads stop: RAM can go */
	machine_remove_nics(m);
	if (m->ram)
		munmap(m->ram, m->ram_size);
	m->ram = NULL;
	m->mem.nr_regions = 0;
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		if (*devs[i])
			device_destroy(*devs[i]);
		*devs[i] = NULL;
	}
	/* After the devices: they free their regions first. */
	if (m->memmap_ready)
		memmap_destroy(&m->memmap);
	m->memmap_ready = false;
	firmware_free_rom(m->bios, m->bios_size);
	m->bios = NULL;
	pci_bus_destroy(m->pci);
	m->pci = NULL;
	m->host.pci = NULL;
	if (m->notify.kvm)   /* after the devices: they free their own */
		kvm_notify_destroy(&m->notify);
	m->notify.kvm = NULL;
	kvm_close(&m->kvm);
	event_loop_destroy(m->loop);   /* after the devices freed their timers and watches */
	m->loop = NULL;
	m->host.loop_ops = NULL;
	m->host.loop = NULL;
	bus_destroy(&m->pio);
	bus_destroy(&m->mmio);
	input_router_destroy(&m->input);
}
