// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The registry and media: round trips, VM lookup by name and UUID, image
 * probing and creation, the lock between processes, atomic writes, and
 * the VM state file's meaning.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/xmlschemas.h>

#include "hutch/config.h"
#include "hutch/registry.h"
#include "hutch/vm.h"

static char tmpdir[64];

static int setup(void **state)
{
	char *rt;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hutch-reg-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("HUTCH_CONFIG_HOME", tmpdir, 1);
	if (asprintf(&rt, "%s/run", tmpdir) < 0)
		return -1;
	setenv("HUTCH_RUNTIME_DIR", rt, 1);
	free(rt);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tpath(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static void test_registry_round_trip(void **state)
{
	struct hutch_registry *r;
	struct hutch_medium *md;
	struct hutch_error e;
	char *disk = tpath("disk.img"), *buf, *buf2;
	size_t len, len2;

	assert_int_equal(hutch_registry_open(&r, &e), 0);
	assert_int_equal(r->nvms, 0);
	assert_int_equal(hutch_registry_add_vm(r, "01234567-89ab-4cde-8f01-23456789abcd", "/vms/a.hutch", &e), 0);
	assert_int_equal(hutch_registry_add_vm(r, "01234567-89ab-4cde-8f01-23456789abcd", "/vms/b.hutch", &e),
			 -EEXIST);
	assert_int_equal(hutch_medium_create(r, disk, 1 << 20, "raw", false, NULL, NULL, &md, &e), 0);
	assert_string_equal(md->format, "RAW");
	assert_int_equal(hutch_medium_create(r, disk, 1 << 20, "raw", false, NULL, NULL, &md, &e), -EEXIST);
	assert_int_equal(hutch_medium_create(r, "/tmp/x.vmdk", 1 << 20, "VMDK", false, NULL, NULL, &md, &e),
			 -ENOTSUP);
	assert_int_equal(hutch_medium_create(r, "/tmp/x.foo", 1 << 20, "foo", false, NULL, NULL, &md, &e),
			 -EINVAL);
	free(r->machinefolder);
	r->machinefolder = strdup("/srv/vms");
	assert_int_equal(hutch_registry_save(r, &e), 0);
	assert_int_equal(hutch_registry_serialize(r, &buf, &len, &e), 0);
	hutch_registry_close(r);

	assert_int_equal(hutch_registry_open(&r, &e), 0);
	assert_int_equal(r->nvms, 1);
	assert_int_equal(r->nmedia, 1);
	assert_int_equal(r->media[0].size, 1 << 20);
	assert_string_equal(r->machinefolder, "/srv/vms");
	assert_non_null(hutch_registry_find_medium(r, disk, HUTCH_MEDIUM_HDD));
	assert_non_null(hutch_registry_find_medium(r, r->media[0].uuid, -1));
	assert_null(hutch_registry_find_medium(r, disk, HUTCH_MEDIUM_DVD));
	assert_int_equal(hutch_registry_serialize(r, &buf2, &len2, &e), 0);
	assert_string_equal(buf, buf2);
	{
		xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(HUTCH_DOCS_DIR "/hutch-registry.xsd");
		xmlSchemaPtr schema = xmlSchemaParse(pc);
		xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
		xmlDocPtr doc = xmlReadMemory(buf, (int)len, "registry.xml", NULL, 0);

		assert_non_null(schema);
		assert_int_equal(xmlSchemaValidateDoc(vc, doc), 0);
		xmlFreeDoc(doc);
		xmlSchemaFreeValidCtxt(vc);
		xmlSchemaFree(schema);
		xmlSchemaFreeParserCtxt(pc);
	}
	assert_int_equal(hutch_registry_remove_vm(r, "01234567-89AB-4cde-8f01-23456789abcd"), 0);
	assert_int_equal(hutch_registry_remove_vm(r, "01234567-89ab-4cde-8f01-23456789abcd"), -ENOENT);
	hutch_registry_close(r);
	free(buf);
	free(buf2);
	free(disk);
}

static void test_registry_malformed(void **state)
{
	struct hutch_registry *r = NULL;
	struct hutch_error e;
	char *path = tpath("registry.xml");
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("<?xml version=\"1.0\"?>\n<HutchRegistry version=\"1\">\n<MachineRegistry>\n"
	      "<MachineEntry uuid=\"bad\" src=\"/x\"/>\n</MachineRegistry></HutchRegistry>\n", f);
	fclose(f);
	assert_int_equal(hutch_registry_open(&r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "registry.xml:4: missing or malformed uuid"));
	unlink(path);
	free(path);
}

static void test_find_vm(void **state)
{
	struct hutch_machine *m = hutch_machine_new("alpha", NULL), *found;
	struct hutch_registry *r;
	struct hutch_error e;
	char braced[64];

	m->settings_file = tpath("alpha.hutch");
	assert_int_equal(hutch_config_save(m, &e), 0);
	assert_int_equal(hutch_registry_open(&r, &e), 0);
	assert_int_equal(hutch_registry_add_vm(r, m->uuid, m->settings_file, &e), 0);
	assert_int_equal(hutch_registry_find_vm(r, "alpha", &found, &e), 0);
	assert_string_equal(found->uuid, m->uuid);
	hutch_machine_free(found);
	snprintf(braced, sizeof(braced), "{%s}", m->uuid);
	assert_int_equal(hutch_registry_find_vm(r, braced, &found, &e), 0);
	hutch_machine_free(found);
	assert_int_equal(hutch_registry_find_vm(r, "beta", &found, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "could not find a registered machine named 'beta'"));
	hutch_registry_remove_vm(r, m->uuid);
	hutch_registry_close(r);
	unlink(m->settings_file);
	hutch_machine_free(m);
}


/* The registry file's text (malloc'd). */
static int read_registry_text(char **buf, size_t *len)
{
	char *p = tpath("registry.xml");
	FILE *f = fopen(p, "r");
	long n;

	free(p);
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*buf = calloc(1, (size_t)n + 1);
	*len = fread(*buf, 1, (size_t)n, f);
	fclose(f);
	return 0;
}

/* A missing and a corrupt settings file beside a healthy one: only those two are inaccessible. */
static void test_inaccessible_vms_touch_nothing_else(void **state)
{
	struct hutch_machine *good = hutch_machine_new("good", NULL), *bad = hutch_machine_new("bad", NULL);
	struct hutch_machine *gone = hutch_machine_new("gone", NULL), *found, **all;
	struct hutch_registry *r;
	struct hutch_error e;
	size_t n;
	FILE *f;

	good->settings_file = tpath("good.hutch");
	bad->settings_file = tpath("bad.hutch");
	gone->settings_file = tpath("gone.hutch");
	assert_int_equal(hutch_config_save(good, &e), 0);
	f = fopen(bad->settings_file, "w");
	fputs("<HutchMachine <<<", f);
	fclose(f);
	assert_int_equal(hutch_registry_open(&r, &e), 0);
	assert_int_equal(hutch_registry_add_vm(r, bad->uuid, bad->settings_file, &e), 0);
	assert_int_equal(hutch_registry_add_vm(r, good->uuid, good->settings_file, &e), 0);
	assert_int_equal(hutch_registry_add_vm(r, gone->uuid, gone->settings_file, &e), 0);
	assert_int_equal(hutch_registry_load_all(r, &all, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(all[0]->name, "good");
	hutch_machine_free(all[0]);
	free(all);
	assert_int_equal(hutch_registry_find_vm(r, "good", &found, &e), 0);
	hutch_machine_free(found);
	assert_int_equal(hutch_registry_find_vm(r, good->uuid, &found, &e), 0);
	hutch_machine_free(found);
	/* The broken ones are found as entries (by UUID or path), and fail to load. */
	assert_non_null(hutch_registry_find_entry(r, bad->uuid));
	assert_non_null(hutch_registry_find_entry(r, gone->settings_file));
	assert_null(hutch_registry_find_entry(r, "01234567-89ab-4cde-8f01-23456789abcd"));
	assert_int_not_equal(hutch_registry_find_vm(r, bad->uuid, &found, &e), 0);
	assert_int_equal(hutch_registry_find_vm(r, gone->uuid, &found, &e), -ENOENT);
	/* Names and UUIDs no VM has are not found, whatever the broken files say. */
	assert_int_equal(hutch_registry_find_vm(r, "nosuch", &found, &e), -ENOENT);
	assert_string_equal(e.msg, "could not find a registered machine named 'nosuch'");
	assert_int_equal(hutch_registry_find_vm(r, "01234567-89ab-4cde-8f01-23456789abcd", &found, &e), -ENOENT);
	assert_null(strstr(e.msg, "bad.hutch"));
	/* "bad" is bad.hutch's VM, most likely: its error, which names the file. */
	assert_int_not_equal(hutch_registry_find_vm(r, "bad", &found, &e), 0);
	assert_non_null(strstr(e.msg, "bad.hutch"));
	hutch_registry_close(r);
	unlink(good->settings_file);
	unlink(bad->settings_file);
	hutch_machine_free(good);
	hutch_machine_free(bad);
	hutch_machine_free(gone);
}

/*
 * The registry's journals, as a killed vmctl leaves them: a rename after
 * its folder moved (file not yet), and deletions begun.  The next
 * hutch_registry_open finishes both.
 */
static void test_journal_recovery(void **state)
{
	char *folder = tpath("old"), *new_folder = tpath("new"), *file, *new_file, *disk, *new_disk;
	char *doomed = tpath("doomed.img"), *doomed_dir = tpath("doomed-dir"), *paths[2], *buf;
	struct hutch_machine *m = hutch_machine_new("old", NULL), *found;
	struct hutch_registry *r;
	struct hutch_medium *md;
	struct hutch_error e;
	size_t len;
	FILE *f;

	assert_true(asprintf(&file, "%s/old.hutch", folder) > 0);
	assert_true(asprintf(&new_file, "%s/new.hutch", new_folder) > 0);
	assert_true(asprintf(&disk, "%s/disk.img", folder) > 0);
	assert_true(asprintf(&new_disk, "%s/disk.img", new_folder) > 0);
	assert_int_equal(mkdir(folder, 0700), 0);
	assert_int_equal(mkdir(doomed_dir, 0700), 0);
	f = fopen(doomed, "w");
	fclose(f);
	assert_int_equal(hutch_registry_open(&r, &e), 0);
	assert_int_equal(hutch_medium_create(r, disk, 1 << 20, "raw", false, NULL, NULL, &md, &e), 0);
	assert_int_equal(hutch_machine_add_ctl(m, "SATA", "sata", NULL, &e), 0);
	assert_int_equal(hutch_ctl_attach(hutch_machine_find_ctl(m, "SATA"), 0, 0, "hdd", disk, md->uuid, &e), 0);
	m->settings_file = strdup(file);
	assert_int_equal(hutch_config_save(m, &e), 0);
	assert_int_equal(hutch_registry_add_vm(r, m->uuid, file, &e), 0);
	/* The journal of a rename to "new", and of two deletions. */
	r->vms[0].rename_to = strdup(new_file);
	r->vms[0].rename_name = strdup("new");
	assert_int_equal(hutch_registry_save(r, &e), 0);
	paths[0] = doomed;
	paths[1] = NULL;
	assert_true(asprintf(&paths[1], "%s/", doomed_dir) > 0);
	r->pending_deletes = calloc(2, sizeof(char *));
	r->pending_deletes[0] = strdup(paths[0]);
	r->pending_deletes[1] = strdup(paths[1]);
	r->npending_deletes = 2;
	assert_int_equal(hutch_registry_save(r, &e), 0);
	hutch_registry_close(r);
	/* The journalled registry round-trips through its schema's elements. */
	assert_int_equal(read_registry_text(&buf, &len), 0);
	assert_non_null(strstr(buf, "renameTo=\""));
	assert_non_null(strstr(buf, "<PendingDeletes>"));
	free(buf);
	/* Killed after step 3: the folder moved, the file kept its old name. */
	assert_int_equal(rename(folder, new_folder), 0);

	assert_int_equal(hutch_registry_open(&r, &e), 0);
	assert_int_equal(r->npending_deletes, 0);
	assert_int_equal(access(doomed, F_OK), -1);
	assert_int_equal(access(doomed_dir, F_OK), -1);
	assert_null(r->vms[0].rename_to);
	assert_string_equal(r->vms[0].path, new_file);
	assert_non_null(hutch_registry_find_medium(r, new_disk, HUTCH_MEDIUM_HDD));
	assert_int_equal(hutch_registry_find_vm(r, "new", &found, &e), 0);
	assert_string_equal(found->settings_file, new_file);
	assert_string_equal(found->ctl[0].att[0].medium, new_disk);
	hutch_machine_free(found);
	hutch_registry_close(r);
	/* And the journal is gone from the file. */
	assert_int_equal(read_registry_text(&buf, &len), 0);
	assert_null(strstr(buf, "renameTo"));
	assert_null(strstr(buf, "PendingDeletes"));
	free(buf);
	hutch_machine_free(m);
	free(paths[1]);
	free(folder);
	free(new_folder);
	free(file);
	free(new_file);
	free(disk);
	free(new_disk);
	free(doomed);
	free(doomed_dir);
}

static void test_probe(void **state)
{
	char *raw = tpath("p.raw"), *q = tpath("p.qcow2"), *fmt;
	unsigned char hdr[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	struct hutch_error e;
	uint64_t size;
	int fd;

	fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 3 << 20), 0);
	close(fd);
	assert_int_equal(hutch_medium_probe(raw, &fmt, &size, &e), 0);
	assert_string_equal(fmt, "RAW");
	assert_int_equal(size, 3 << 20);
	free(fmt);
	hdr[24 + 3] = 0x01;	/* big-endian size 0x100000000 = 4 GiB */
	fd = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
	close(fd);
	assert_int_equal(hutch_medium_probe(q, &fmt, &size, &e), 0);
	assert_string_equal(fmt, "qcow2");
	assert_int_equal(size, 0x100000000ULL);
	free(fmt);
	assert_int_equal(hutch_medium_probe("/nonexistent.img", &fmt, &size, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent.img"));
	unlink(raw);
	unlink(q);
	free(raw);
	free(q);
}

static void test_lock_between_processes(void **state)
{
	char *lockpath = tpath("x.lock");
	struct hutch_lock lk;
	struct hutch_error e;
	int ready[2], status;
	char c;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hutch_lock held;

		if (hutch_lock_acquire(lockpath, &held, NULL))
			_exit(1);
		(void)!write(ready[1], "x", 1);
		usleep(600000);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	setenv("HUTCH_LOCK_TIMEOUT", "0.1", 1);
	assert_int_equal(hutch_lock_acquire(lockpath, &lk, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "is locked by another process"));
	setenv("HUTCH_LOCK_TIMEOUT", "5", 1);
	assert_int_equal(hutch_lock_acquire(lockpath, &lk, &e), 0);	/* waits for the child */
	hutch_lock_release(&lk);
	unsetenv("HUTCH_LOCK_TIMEOUT");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	close(ready[0]);
	close(ready[1]);
	free(lockpath);
}

static void test_atomic_write(void **state)
{
	char *p = tpath("atomic.txt"), *tmp = tpath("atomic.txt.tmp-Ab3xYz"), buf[32] = "";
	char *mine = tpath("atomic.txt.tmp-notours");
	struct hutch_error e;
	struct stat st;
	FILE *f;

	assert_int_equal(hutch_write_file_atomic(p, "first", 5, &e), 0);
	/* A new file is private to the user (it may name the user's files). */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* A mode the user chose survives the next save. */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(hutch_write_file_atomic(p, "first", 5, &e), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* A stale temp file from a killed writer is removed; other files are left alone. */
	f = fopen(mine, "w");
	fclose(f);
	f = fopen(tmp, "w");
	fputs("garbage from a dead writer", f);
	fclose(f);
	assert_int_equal(hutch_write_file_atomic(p, "second", 6, &e), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(mine, F_OK), 0);
	unlink(mine);
	free(mine);
	f = fopen(p, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "second");
	assert_int_equal(hutch_write_file_atomic("/nonexistent/dir/f", "x", 1, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/dir/f.tmp-"));
	unlink(p);
	free(p);
	free(tmp);
}

static void write_state(const struct hutch_machine *m, const char *text)
{
	char *p = hutch_vm_state_path(m), *dir = hutch_runtime_dir();
	FILE *f;

	assert_int_equal(hutch_mkdir_p(dir, 0700, NULL), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
	free(dir);
}

static void test_vm_state(void **state)
{
	struct hutch_machine *m = hutch_machine_new("s", NULL);
	char *reason, text[64], *fatal, *unsup;
	pid_t child, vm;

	assert_int_equal(hutch_vm_get_state(m, NULL, NULL, NULL), HUTCH_VM_POWEROFF);
	assert_int_equal(hutch_vm_peek_state(m), HUTCH_VM_POWEROFF);
	write_state(m, "poweroff\n");
	assert_int_equal(hutch_vm_get_state(m, NULL, NULL, NULL), HUTCH_VM_POWEROFF);
	assert_int_equal(hutch_vm_peek_state(m), HUTCH_VM_POWEROFF);
	write_state(m, "aborted vCPU 0: guest triple fault\n");
	assert_int_equal(hutch_vm_peek_state(m), HUTCH_VM_ABORTED);
	assert_int_equal(hutch_vm_get_state(m, NULL, &reason, NULL), HUTCH_VM_ABORTED);
	assert_string_equal(reason, "vCPU 0: guest triple fault");
	free(reason);
	/* "running" with a live hutch-vm is running; with a dead one, aborted. */
	vm = fork();
	if (vm == 0) {
		execl("/bin/sleep", "hutch-vm", "5", (char *)NULL);
		_exit(127);
	}
	/* Wait until it has exec'd: before, its command line is still ours. */
	for (int i = 0; i < 500; i++) {
		char path[64], cmd[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)vm);
		f = fopen(path, "r");
		if (f) {
			(void)!fread(cmd, 1, sizeof(cmd) - 1, f);
			fclose(f);
		}
		if (!strcmp(cmd, "hutch-vm"))
			break;
		usleep(10000);
	}
	snprintf(text, sizeof(text), "running pid=%d\n", (int)vm);
	write_state(m, text);
	assert_int_equal(hutch_vm_get_state(m, NULL, NULL, NULL), HUTCH_VM_RUNNING);
	/* No socket to ask: peeking says running without trying one. */
	assert_int_equal(hutch_vm_peek_state(m), HUTCH_VM_RUNNING);
	kill(vm, SIGKILL);
	waitpid(vm, NULL, 0);
	assert_int_equal(hutch_vm_peek_state(m), HUTCH_VM_ABORTED);
	/* A reused pid that is not hutch-vm is no VM either. */
	snprintf(text, sizeof(text), "running pid=%d\n", (int)getpid());
	write_state(m, text);
	assert_int_equal(hutch_vm_get_state(m, NULL, NULL, NULL), HUTCH_VM_ABORTED);
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	snprintf(text, sizeof(text), "running pid=%d\n", (int)child);
	write_state(m, text);
	assert_int_equal(hutch_vm_get_state(m, NULL, NULL, NULL), HUTCH_VM_ABORTED);
	assert_string_equal(hutch_vm_state_name(HUTCH_VM_ABORTED), "aborted");

	/* Without a kernel the VM boots through SeaBIOS; EFI is what stops it. */
	unsup = hutch_vm_unsupported(m, &fatal);
	assert_null(fatal);
	assert_null(unsup);	/* the default NAT adapter is started since issue 12 */
	hutch_setstr(&m->nic[0].attachment, "hostonly");
	unsup = hutch_vm_unsupported(m, &fatal);
	assert_string_equal(unsup, "nic1 (hostonly)");
	free(unsup);
	hutch_setstr(&m->firmware, "efi");
	hutch_setstr(&m->graphics, "vboxsvga");
	unsup = hutch_vm_unsupported(m, &fatal);
	assert_non_null(fatal);
	assert_non_null(strstr(fatal, "EFI firmware is not yet supported"));
	assert_string_equal(unsup, "graphics controller vboxsvga (a standard VGA is used), nic1 (hostonly)");
	free(fatal);
	free(unsup);
	hutch_setstr(&m->firmware, "bios");
	hutch_setstr(&m->graphics, "vboxvga");
	hutch_setstr(&m->kernel, "/boot/vmlinuz");
	hutch_setstr(&m->nic[0].attachment, "none");
	unsup = hutch_vm_unsupported(m, &fatal);
	assert_null(fatal);
	assert_null(unsup);
	hutch_machine_free(m);
}

/* A raw image file of size bytes: a pattern in [1 MiB, 3 MiB), zeros elsewhere. */
static void write_raw(const char *path, uint64_t size, unsigned char fill)
{
	unsigned char *buf = malloc(2 << 20);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_non_null(buf);
	assert_true(fd >= 0);
	for (size_t i = 0; i < (2u << 20); i++)
		buf[i] = fill ? (unsigned char)(fill + i % 251) : 0;
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(pwrite(fd, buf, 2 << 20, 1 << 20), 2 << 20);
	close(fd);
	free(buf);
}

static bool files_equal(const char *a, const char *b)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

static void count_progress(unsigned percent, void *opaque)
{
	unsigned *last = opaque;

	assert_true(percent <= 100);
	assert_true(percent >= *last);
	*last = percent;
}

/*
 * clone, resize and compact through libhutch: raw -> VDI -> raw round trip,
 * the registry entries they make, a VDI header UUID kept by compact, and
 * the refusals (shrink, unaligned size, existing target, unknown or
 * unwritable format, missing source).
 */
static void test_clone_resize_compact(void **state)
{
	char *src = tpath("src.raw"), *vdi = tpath("c.vdi"), *back = tpath("back.raw"), *zeros = tpath("z.raw");
	char *dst_uuid;
	struct hutch_clone_opts o = { .format = "vdi" }, raw = { .format = "RAW" }, ex = { .existing = true };
	struct hutch_registry *r;
	struct hutch_medium *md, *m2;
	struct hutch_error e;
	unsigned last = 0;
	struct stat before, after;
	size_t n;

	write_raw(src, 8 << 20, 7);
	assert_int_equal(hutch_registry_open(&r, &e), 0);
	assert_int_equal(hutch_medium_clone(r, src, HUTCH_MEDIUM_HDD, vdi, &o, count_progress, &last, &md, &e), 0);
	assert_int_equal(last, 100);
	assert_string_equal(md->format, "VDI");
	assert_int_equal(md->size, 8 << 20);
	assert_int_equal(r->nmedia, 1);	/* the source stays unregistered */
	dst_uuid = strdup(md->uuid);

	/* Back to raw by the clone's UUID: the same bytes. */
	assert_int_equal(hutch_medium_clone(r, dst_uuid, HUTCH_MEDIUM_HDD, back, &raw, NULL, NULL, &m2, &e), 0);
	assert_true(files_equal(src, back));
	unlink(back);
	hutch_registry_remove_medium(r, m2->uuid);

	/* Refusals. */
	assert_int_equal(hutch_medium_clone(r, src, HUTCH_MEDIUM_HDD, vdi, &o, NULL, NULL, &m2, &e), -EEXIST);
	o.format = "VMDK";
	assert_int_equal(hutch_medium_clone(r, src, HUTCH_MEDIUM_HDD, back, &o, NULL, NULL, &m2, &e), -ENOTSUP);
	o.format = "floppy-ish";
	assert_int_equal(hutch_medium_clone(r, src, HUTCH_MEDIUM_HDD, back, &o, NULL, NULL, &m2, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "invalid format 'floppy-ish'"));
	o.format = "qcow2";
	o.size = 4 << 20;
	assert_int_equal(hutch_medium_clone(r, src, HUTCH_MEDIUM_HDD, back, &o, NULL, NULL, &m2, &e), -ENOTSUP);
	o.size = 0;
	assert_int_equal(hutch_medium_clone(r, "/nonexistent.raw", HUTCH_MEDIUM_HDD, back, &o, NULL, NULL, &m2, &e),
			 -ENOENT);
	assert_int_equal(access(back, F_OK), -1);
	assert_int_equal(r->nmedia, 1);

	/* Resize: grow only, whole sectors; the registry follows. */
	md = hutch_registry_find_medium(r, dst_uuid, HUTCH_MEDIUM_HDD);
	assert_non_null(md);
	assert_int_equal(hutch_medium_resize(r, md, 4 << 20, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "shrinking is not yet supported"));
	assert_int_equal(hutch_medium_resize(r, md, (16 << 20) + 1, &e), -EINVAL);
	assert_int_equal(md->size, 8 << 20);
	assert_int_equal(hutch_medium_resize(r, md, 16 << 20, &e), 0);
	assert_int_equal(md->size, 16 << 20);

	/* Zero the data through --existing, then compact: smaller, same UUID, same (zero) contents. */
	write_raw(zeros, 16 << 20, 0);
	assert_int_equal(hutch_medium_clone(r, zeros, HUTCH_MEDIUM_HDD, vdi, &ex, NULL, NULL, &m2, &e), 0);
	assert_string_equal(m2->uuid, dst_uuid);
	assert_int_equal(stat(vdi, &before), 0);
	assert_true(before.st_blocks * 512 >= (2 << 20));
	md = hutch_registry_find_medium(r, dst_uuid, HUTCH_MEDIUM_HDD);
	last = 0;
	assert_int_equal(hutch_medium_compact(r, md, count_progress, &last, &e), 0);
	assert_int_equal(stat(vdi, &after), 0);
	assert_true(after.st_blocks * 512 < (64 << 10));
	assert_int_equal(md->size, 16 << 20);
	assert_int_equal(hutch_medium_clone(r, vdi, HUTCH_MEDIUM_HDD, back, &raw, NULL, NULL, &m2, &e), 0);
	assert_true(files_equal(zeros, back));

	/* The compacted VDI is registered afresh under its header's UUID. */
	n = r->nmedia;
	hutch_registry_remove_medium(r, dst_uuid);
	assert_int_equal(hutch_registry_open_medium(r, vdi, HUTCH_MEDIUM_HDD, &m2, &e), 0);
	assert_string_equal(m2->uuid, dst_uuid);
	assert_int_equal(r->nmedia, n);

	/* DVD images are not resized or compacted. */
	assert_int_equal(hutch_registry_open_medium(r, src, HUTCH_MEDIUM_DVD, &m2, &e), 0);
	assert_int_equal(hutch_medium_resize(r, m2, 32 << 20, &e), -ENOTSUP);
	assert_int_equal(hutch_medium_compact(r, m2, NULL, NULL, &e), -ENOTSUP);
	hutch_registry_close(r);
	unlink(src);
	unlink(vdi);
	unlink(back);
	unlink(zeros);
	free(src);
	free(vdi);
	free(back);
	free(zeros);
	free(dst_uuid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inaccessible_vms_touch_nothing_else, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_between_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_resize_compact, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
