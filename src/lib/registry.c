// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The global registry (registry.xml in the config home): the VMs this user
 * has registered and the media they use, read and written under one lock.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "hutch/registry.h"
#include "internal.h"

#define REGISTRY_ROOT "HutchRegistry"
#define REGISTRY_VERSION "1"
#define REGISTRY_FILE "registry.xml"

static const char *const medium_elem[] = { "HardDisk", "DVDImage", "FloppyImage" };

const char *hutch_medium_kind_name(enum hutch_medium_kind k)
{
	static const char *const names[] = { "disk", "dvd", "floppy" };

	return names[k];
}

static void vm_entry_clear(struct hutch_vm_entry *vm)
{
	free(vm->path);
	free(vm->rename_to);
	free(vm->rename_name);
	vm->path = vm->rename_to = vm->rename_name = NULL;
}

static void registry_clear(struct hutch_registry *r)
{
	size_t i;

	for (i = 0; i < r->nvms; i++)
		vm_entry_clear(&r->vms[i]);
	free(r->vms);
	r->vms = NULL;
	r->nvms = 0;
	for (i = 0; i < r->nmedia; i++) {
		free(r->media[i].location);
		free(r->media[i].format);
		free(r->media[i].description);
	}
	free(r->media);
	r->media = NULL;
	r->nmedia = 0;
	free(r->machinefolder);
	r->machinefolder = NULL;
	for (i = 0; i < r->npending_deletes; i++)
		free(r->pending_deletes[i]);
	free(r->pending_deletes);
	r->pending_deletes = NULL;
	r->npending_deletes = 0;
}

static int rbad(struct hutch_error *e, const char *file, xmlNodePtr n, const char *what)
{
	return hutch_seterr(e, -EINVAL, "%s:%d: %s", file, (int)xmlGetLineNo(n), what);
}

static int reg_uuid(xmlNodePtr n, const char *file, char out[HUTCH_UUID_LEN + 1], struct hutch_error *e)
{
	char *u = hutch_xml_attr(n, "uuid");

	if (!hutch_uuid_valid(u)) {
		free(u);
		return rbad(e, file, n, "missing or malformed uuid attribute (expected a UUID)");
	}
	snprintf(out, HUTCH_UUID_LEN + 1, "%s", u);
	free(u);
	return 0;
}

int hutch_registry_parse(const char *buf, size_t len, const char *name, struct hutch_registry *r,
			 struct hutch_error *e)
{
	xmlDocPtr doc = hutch_xml_read(buf, len, name, e);
	xmlNodePtr root, x, y;
	char *v;
	int rc = 0;

	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	if (!hutch_xml_is(root, REGISTRY_ROOT)) {
		rc = rbad(e, name, root, "not a Hutch registry: expected root element <" REGISTRY_ROOT ">");
		goto out;
	}
	v = hutch_xml_attr(root, "version");
	if (!v || strcmp(v, REGISTRY_VERSION)) {
		rc = rbad(e, name, root, "registry version is missing or unsupported: expected " REGISTRY_VERSION);
		free(v);
		goto out;
	}
	free(v);
	for (x = root->children; x && !rc; x = x->next) {
		if (x->type != XML_ELEMENT_NODE)
			continue;
		if (hutch_xml_is(x, "SystemProperties")) {
			r->machinefolder = hutch_xml_attr(x, "machinefolder");
			continue;
		}
		if (hutch_xml_is(x, "PendingDeletes")) {
			for (y = x->children; y && !rc; y = y->next) {
				char *path;

				if (y->type != XML_ELEMENT_NODE)
					continue;
				path = hutch_xml_attr(y, "path");
				if (!path || path[0] != '/' || (!hutch_xml_is(y, "File") && !hutch_xml_is(y, "Folder"))) {
					free(path);
					rc = rbad(e, name, y, "expected <File path=\"/...\"/> or <Folder path=\"/...\"/>");
					break;
				}
				*HUTCH_APPEND(r->pending_deletes, r->npending_deletes) =
					hutch_xml_is(y, "Folder") ? hutch_xasprintf("%s/", path) : hutch_xstrdup(path);
				free(path);
			}
			continue;
		}
		if (!hutch_xml_is(x, "MachineRegistry") && !hutch_xml_is(x, "MediaRegistry")) {
			rc = rbad(e, name, x, "unexpected element in <" REGISTRY_ROOT ">");
			break;
		}
		for (y = x->children; y && !rc; y = y->next) {
			if (y->type != XML_ELEMENT_NODE)
				continue;
			if (hutch_xml_is(y, "MachineEntry")) {
				struct hutch_vm_entry *vm = HUTCH_APPEND(r->vms, r->nvms);

				rc = reg_uuid(y, name, vm->uuid, e);
				vm->path = hutch_xml_attr(y, "src");
				vm->rename_to = hutch_xml_attr(y, "renameTo");
				vm->rename_name = hutch_xml_attr(y, "renameName");
				if (!rc && !vm->path)
					rc = rbad(e, name, y, "<MachineEntry> has no src attribute");
				if (!rc && !vm->rename_to != !vm->rename_name)
					rc = rbad(e, name, y, "<MachineEntry> needs both renameTo and renameName, or neither");
				continue;
			}
			int k;

			for (k = 0; k < 3; k++)
				if (hutch_xml_is(y, medium_elem[k]))
					break;
			if (k == 3) {
				rc = rbad(e, name, y, "unexpected element in the registry");
				break;
			}
			struct hutch_medium *md = HUTCH_APPEND(r->media, r->nmedia);
			unsigned long long size = 0;

			md->kind = (enum hutch_medium_kind)k;
			rc = reg_uuid(y, name, md->uuid, e);
			md->location = hutch_xml_attr(y, "location");
			md->format = hutch_xml_attr(y, "format");
			md->description = hutch_xml_attr(y, "description");
			if (!rc && (!md->location || !md->format))
				rc = rbad(e, name, y, "medium needs location and format attributes");
			if (!rc)
				rc = hutch_xml_attr_uint(y, "size", name, ~0ULL, &size, true, e);
			md->size = size;
		}
	}
out:
	xmlFreeDoc(doc);
	return rc;
}

int hutch_registry_serialize(const struct hutch_registry *r, char **buf, size_t *len, struct hutch_error *e)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST REGISTRY_ROOT), x, y;
	size_t i;
	int rc;

	xmlDocSetRootElement(doc, root);
	hutch_xml_set(root, "version", REGISTRY_VERSION);
	if (r->machinefolder) {
		x = xmlNewChild(root, NULL, BAD_CAST "SystemProperties", NULL);
		hutch_xml_set(x, "machinefolder", r->machinefolder);
	}
	x = xmlNewChild(root, NULL, BAD_CAST "MachineRegistry", NULL);
	for (i = 0; i < r->nvms; i++) {
		y = xmlNewChild(x, NULL, BAD_CAST "MachineEntry", NULL);
		hutch_xml_set(y, "uuid", r->vms[i].uuid);
		hutch_xml_set(y, "src", r->vms[i].path);
		if (r->vms[i].rename_to) {
			hutch_xml_set(y, "renameTo", r->vms[i].rename_to);
			hutch_xml_set(y, "renameName", r->vms[i].rename_name);
		}
	}
	x = xmlNewChild(root, NULL, BAD_CAST "MediaRegistry", NULL);
	for (i = 0; i < r->nmedia; i++) {
		const struct hutch_medium *md = &r->media[i];

		y = xmlNewChild(x, NULL, BAD_CAST medium_elem[md->kind], NULL);
		hutch_xml_set(y, "uuid", md->uuid);
		hutch_xml_set(y, "location", md->location);
		hutch_xml_set(y, "format", md->format);
		hutch_xml_setf(y, "size", "%llu", (unsigned long long)md->size);
		if (md->description)
			hutch_xml_set(y, "description", md->description);
	}
	if (r->npending_deletes) {
		x = xmlNewChild(root, NULL, BAD_CAST "PendingDeletes", NULL);
		for (i = 0; i < r->npending_deletes; i++) {
			const char *p = r->pending_deletes[i];
			size_t n = strlen(p);
			bool folder = n > 1 && p[n - 1] == '/';
			char *path = hutch_xasprintf("%.*s", (int)(folder ? n - 1 : n), p);

			y = xmlNewChild(x, NULL, BAD_CAST(folder ? "Folder" : "File"), NULL);
			hutch_xml_set(y, "path", path);
			free(path);
		}
	}
	rc = hutch_xml_dump(doc, buf, len, e);
	xmlFreeDoc(doc);
	return rc;
}

static int registry_recover(struct hutch_registry *r, struct hutch_error *e);

int hutch_registry_open(struct hutch_registry **out, struct hutch_error *e)
{
	struct hutch_registry *r = hutch_xmalloc(sizeof(*r));
	char *home = hutch_config_home(), *lockpath, *buf;
	size_t len;
	int rc;

	r->lock.fd = -1;
	rc = hutch_mkdir_p(home, 0700, e);
	if (rc)
		goto fail;
	r->path = hutch_xasprintf("%s/" REGISTRY_FILE, home);
	lockpath = hutch_xasprintf("%s.lock", r->path);
	rc = hutch_lock_acquire(lockpath, &r->lock, e);
	free(lockpath);
	if (rc)
		goto fail;
	rc = hutch_read_file(r->path, &buf, &len, e);
	if (rc == -ENOENT) {
		rc = 0;	/* a first run: an empty registry */
	} else if (!rc) {
		rc = hutch_registry_parse(buf, len, r->path, r, e);
		free(buf);
	}
	if (!rc)
		rc = registry_recover(r, e);
	if (rc)
		goto fail;
	free(home);
	*out = r;
	return 0;
fail:
	free(home);
	hutch_registry_close(r);
	return rc;
}

int hutch_registry_save(struct hutch_registry *r, struct hutch_error *e)
{
	char *buf;
	size_t len;
	int rc = hutch_registry_serialize(r, &buf, &len, e);

	if (rc)
		return rc;
	rc = hutch_write_file_atomic(r->path, buf, len, e);
	free(buf);
	return rc;
}

void hutch_registry_close(struct hutch_registry *r)
{
	if (!r)
		return;
	registry_clear(r);
	hutch_lock_release(&r->lock);
	free(r->path);
	free(r);
}

char *hutch_registry_machine_folder(const struct hutch_registry *r)
{
	const char *home;

	if (r->machinefolder && *r->machinefolder)
		return hutch_xstrdup(r->machinefolder);
	/* Tests isolate everything under HUTCH_CONFIG_HOME, VM folders included. */
	home = getenv("HUTCH_CONFIG_HOME");
	if (home && *home)
		return hutch_xasprintf("%s/Hutch VMs", home);
	home = getenv("HOME");
	return hutch_xasprintf("%s/Hutch VMs", home && *home ? home : "");
}

int hutch_registry_add_vm(struct hutch_registry *r, const char *uuid, const char *path, struct hutch_error *e)
{
	struct hutch_vm_entry *vm;
	size_t i;

	for (i = 0; i < r->nvms; i++) {
		if (!strcasecmp(r->vms[i].uuid, uuid))
			return hutch_seterr(e, -EEXIST, "a VM with UUID {%s} is already registered (%s)", uuid,
					    r->vms[i].path);
		if (!strcmp(r->vms[i].path, path))
			return hutch_seterr(e, -EEXIST, "settings file '%s' is already registered", path);
	}
	vm = HUTCH_APPEND(r->vms, r->nvms);
	snprintf(vm->uuid, sizeof(vm->uuid), "%s", uuid);
	vm->path = hutch_xstrdup(path);
	return 0;
}

int hutch_registry_remove_vm(struct hutch_registry *r, const char *uuid)
{
	size_t i;

	for (i = 0; i < r->nvms; i++) {
		if (strcasecmp(r->vms[i].uuid, uuid))
			continue;
		vm_entry_clear(&r->vms[i]);
		memmove(&r->vms[i], &r->vms[i + 1], (r->nvms - i - 1) * sizeof(r->vms[0]));
		r->nvms--;
		return 0;
	}
	return -ENOENT;
}

static const char *strip_braces(const char *s, char buf[HUTCH_UUID_LEN + 1])
{
	size_t n = strlen(s);

	/* VBoxManage accepts {uuid} as well as uuid. */
	if (n == HUTCH_UUID_LEN + 2 && s[0] == '{' && s[n - 1] == '}') {
		memcpy(buf, s + 1, HUTCH_UUID_LEN);
		buf[HUTCH_UUID_LEN] = 0;
		return buf;
	}
	return s;
}

/* Whether path's file name is NAME.hutch, the name createvm gives a VM's settings. */
static bool settings_named(const char *path, const char *name)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : path;
	return !strncmp(base, name, n) && !strcmp(base + n, ".hutch");
}

int hutch_registry_find_vm(struct hutch_registry *r, const char *name_or_uuid, struct hutch_machine **out,
			   struct hutch_error *e)
{
	char ub[HUTCH_UUID_LEN + 1];
	const char *key = strip_braces(name_or_uuid, ub);
	struct hutch_error named = { 0, "" };
	size_t i;

	for (i = 0; i < r->nvms; i++)
		if (!strcasecmp(r->vms[i].uuid, key))
			return hutch_config_load(r->vms[i].path, out, e);
	for (i = 0; i < r->nvms; i++) {
		struct hutch_machine *m;
		struct hutch_error le;

		if (hutch_config_load(r->vms[i].path, &m, &le)) {
			/*
			 * An unreadable file has no name, so it is not a match (as in
			 * VirtualBox); but if its file is NAME.hutch it is probably the
			 * VM asked for, and its error says more than "not found".  A
			 * UUID not registered is no broken VM's: those were tried above.
			 */
			if (!named.code && settings_named(r->vms[i].path, name_or_uuid))
				named = le;
			continue;
		}
		if (!strcmp(m->name, name_or_uuid)) {
			*out = m;
			return 0;
		}
		hutch_machine_free(m);
	}
	if (named.code)
		return hutch_seterr(e, named.code, "%s (while looking for VM '%s')", named.msg, name_or_uuid);
	return hutch_seterr(e, -ENOENT, "could not find a registered machine named '%s'", name_or_uuid);
}

struct hutch_vm_entry *hutch_registry_find_entry(struct hutch_registry *r, const char *uuid_or_path)
{
	char ub[HUTCH_UUID_LEN + 1];
	const char *key = strip_braces(uuid_or_path, ub);
	char *abs = hutch_abspath(uuid_or_path);
	struct hutch_vm_entry *found = NULL;
	size_t i;

	for (i = 0; i < r->nvms && !found; i++)
		if (!strcasecmp(r->vms[i].uuid, key) || !strcmp(r->vms[i].path, abs))
			found = &r->vms[i];
	free(abs);
	return found;
}

int hutch_registry_load_all(struct hutch_registry *r, struct hutch_machine ***out, size_t *n,
			    struct hutch_error *e)
{
	struct hutch_machine **ms = hutch_xmalloc((r->nvms + 1) * sizeof(*ms));
	size_t i, got = 0;

	for (i = 0; i < r->nvms; i++)
		if (!hutch_config_load(r->vms[i].path, &ms[got], NULL))
			got++;
	*out = ms;
	*n = got;
	return 0;
}

struct hutch_medium *hutch_registry_find_medium(struct hutch_registry *r, const char *uuid_or_path, int kind)
{
	char ub[HUTCH_UUID_LEN + 1];
	const char *key = strip_braces(uuid_or_path, ub);
	char *abs = hutch_abspath(uuid_or_path);
	struct hutch_medium *found = NULL;
	size_t i;

	for (i = 0; i < r->nmedia && !found; i++) {
		struct hutch_medium *md = &r->media[i];

		if (kind >= 0 && md->kind != (enum hutch_medium_kind)kind)
			continue;
		if (!strcasecmp(md->uuid, key) || !strcmp(md->location, abs))
			found = md;
	}
	free(abs);
	return found;
}

int hutch_registry_remove_medium(struct hutch_registry *r, const char *uuid)
{
	size_t i;

	for (i = 0; i < r->nmedia; i++) {
		if (strcasecmp(r->media[i].uuid, uuid))
			continue;
		free(r->media[i].location);
		free(r->media[i].format);
		free(r->media[i].description);
		memmove(&r->media[i], &r->media[i + 1], (r->nmedia - i - 1) * sizeof(r->media[0]));
		r->nmedia--;
		return 0;
	}
	return -ENOENT;
}

int hutch_registry_open_medium(struct hutch_registry *r, const char *path, enum hutch_medium_kind kind,
			       struct hutch_medium **out, struct hutch_error *e)
{
	char *abs = hutch_abspath(path), *format = NULL, uuid[HUTCH_UUID_LEN + 1] = "";
	struct hutch_medium *md = hutch_registry_find_medium(r, abs, -1);
	uint64_t size;
	int rc;

	if (md) {
		free(abs);
		if (md->kind != kind)
			return hutch_seterr(e, -EINVAL, "medium '%s' is registered as a %s image, not a %s image",
					    md->location, hutch_medium_kind_name(md->kind),
					    hutch_medium_kind_name(kind));
		*out = md;
		return 0;
	}
	if (kind == HUTCH_MEDIUM_HDD) {
		rc = hutch_medium_probe_uuid(abs, &format, &size, uuid, e);
		/* The block layer reads VMDK only to import it: a guest cannot write to one. */
		if (!rc && !strcmp(format, "VMDK"))
			rc = hutch_seterr(e, -ENOTSUP, "medium '%s' is a VMDK image, which Hutch can read but not "
					  "write: convert it first (vmctl clonemedium disk '%s' NEW.vdi --format VDI)",
					  abs, abs);
	} else {
		struct stat st;

		rc = stat(abs, &st) ? -errno : 0;
		if (rc)
			hutch_seterr(e, rc, "could not open the medium '%s': %s", abs, strerror(-rc));
		else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
			rc = hutch_seterr(e, -EINVAL, "medium '%s' is not a regular file", abs);
		format = hutch_xstrdup("RAW");
		size = rc ? 0 : (uint64_t)st.st_size;
	}
	if (rc) {
		free(format);
		free(abs);
		return rc;
	}
	/*
	 * A VDI names itself in its header, and VirtualBox registers it under
	 * that UUID; so does Hutch, unless another medium has it already (a
	 * copied file): then the copy gets a new one in the registry.
	 */
	if (!hutch_uuid_valid(uuid) || hutch_registry_find_medium(r, uuid, -1))
		hutch_uuid_generate(uuid);
	*out = hutch_registry_append_medium(r, uuid, kind, abs, format, size);
	free(format);
	return 0;
}

struct hutch_medium *hutch_registry_append_medium(struct hutch_registry *r, const char *uuid, int kind,
						  char *location, const char *format, uint64_t size)
{
	struct hutch_medium *md = HUTCH_APPEND(r->media, r->nmedia);

	snprintf(md->uuid, sizeof(md->uuid), "%s", uuid);
	md->kind = (enum hutch_medium_kind)kind;
	md->location = location;
	md->format = hutch_xstrdup(format);
	md->size = size;
	return md;
}

/* If path lies inside from/, the same path under to/ (malloc'd), else NULL. */
static char *rebase(const char *path, const char *from, const char *to)
{
	size_t n = strlen(from);

	if (!path || strncmp(path, from, n) || path[n] != '/')
		return NULL;
	return hutch_xasprintf("%s%s", to, path + n);
}

static void rebase_slot(char **slot, const char *from, const char *to)
{
	char *p = rebase(*slot, from, to);

	if (p) {
		free(*slot);
		*slot = p;
	}
}


/* dirname of path (malloc'd); path is absolute. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash != path ? hutch_xasprintf("%.*s", (int)(slash - path), path) : hutch_xstrdup("/");
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

/* rename(2), then the parent directory's fsync, so the move is durable before the next step. */
static int rename_durable(const char *from, const char *to, struct hutch_error *e)
{
	if (rename(from, to))
		return hutch_seterr(e, -errno, "cannot rename '%s' to '%s': %s", from, to, strerror(errno));
	hutch_fsync_dir_of(to);
	hutch_crash_point();
	return 0;
}

/*
 * Redo the steps of vm's journalled rename that have not happened, in
 * order; each one checks whether it is done, so this is safe to run after
 * a crash at any point, and it is the live path too:
 *   1. (done by hutch_vm_rename) the journal: vm->rename_to and rename_name;
 *   2. (done by hutch_vm_rename) the new name saved in the old file;
 *   3. the folder renamed: FOLDER/OLD -> FOLDER/NEW;
 *   4. the file renamed: FOLDER/NEW/OLD.hutch -> FOLDER/NEW/NEW.hutch;
 *   5. the file saved with the new name and the paths that pointed into
 *      the folder moved;
 *   6. the registry saved with the new path, the moved media and the
 *      journal cleared (one atomic write; the caller's).
 * If the new folder exists beside the old one (someone else's; step 3
 * never happened), the rename is rolled back to "new name, old files"
 * (a layout VirtualBox allows).  *out (may be NULL) gets the machine.
 */
static int rename_roll_forward(struct hutch_registry *r, struct hutch_vm_entry *vm, struct hutch_machine **out,
			       struct hutch_error *e)
{
	char *old_folder = dir_of(vm->path), *new_folder = dir_of(vm->rename_to);
	char *moved = hutch_xasprintf("%s%s", new_folder, strrchr(vm->path, '/'));
	const char *file = vm->path;
	struct hutch_machine *m = NULL;
	size_t i, j;
	int rc = 0;

	if (exists(old_folder) && exists(new_folder))
		goto load;	/* roll back: the rename of the folder never happened */
	if (exists(old_folder) && (rc = rename_durable(old_folder, new_folder, e)))
		goto out;
	if (exists(moved) && !exists(vm->rename_to) && (rc = rename_durable(moved, vm->rename_to, e)))
		goto out;
	file = vm->rename_to;
load:
	rc = hutch_config_load(file, &m, e);
	if (rc)
		goto out;
	hutch_setstr(&m->name, vm->rename_name);
	if (file == vm->rename_to) {
		/* Everything that lived in the folder (disks, serial logs, kernels) moved with it. */
		rebase_slot(&m->kernel, old_folder, new_folder);
		rebase_slot(&m->initrd, old_folder, new_folder);
		for (i = 0; i < HUTCH_MAX_UARTS; i++)
			rebase_slot(&m->uart[i].path, old_folder, new_folder);
		for (i = 0; i < m->nctl; i++)
			for (j = 0; j < m->ctl[i].natt; j++)
				rebase_slot(&m->ctl[i].att[j].medium, old_folder, new_folder);
		for (i = 0; i < r->nmedia; i++)
			rebase_slot(&r->media[i].location, old_folder, new_folder);
	}
	rc = hutch_config_save(m, e);
	if (rc)
		goto out;
	hutch_setstr(&vm->path, file);
out:
	/*
	 * Done; or failed before anything moved: rolled back to the old
	 * files (under the new name if step 2 happened), so the VM stays
	 * accessible and the journal goes.  A failure after the folder moved
	 * keeps the journal: the next hutch_registry_open tries again (the VM
	 * shows as inaccessible until then, with the reason).
	 */
	if (!rc || exists(vm->path)) {
		hutch_setstr(&vm->rename_to, NULL);
		hutch_setstr(&vm->rename_name, NULL);
	}
	if (!rc && out)
		*out = m;
	else
		hutch_machine_free(m);
	free(old_folder);
	free(new_folder);
	free(moved);
	return rc;
}

static void delete_one(const char *path)
{
	size_t n = strlen(path);

	if (n > 1 && path[n - 1] == '/')
		rmdir(path);	/* only an empty folder goes: anything else in it is the user's */
	else
		unlink(path);
	hutch_crash_point();
}

/* Delete what r's journal lists, in order, and empty the journal (in memory). */
static void run_pending_deletes(struct hutch_registry *r)
{
	size_t i;

	for (i = 0; i < r->npending_deletes; i++) {
		delete_one(r->pending_deletes[i]);
		free(r->pending_deletes[i]);
	}
	free(r->pending_deletes);
	r->pending_deletes = NULL;
	r->npending_deletes = 0;
}

/*
 * Finish what killed processes left half done.  A journal is only seen
 * here once its writer is gone: the writer holds the registry's lock from
 * writing the journal to clearing it.  A rename also needs the VM's lock:
 * if another process holds it, that one (or a later command) finishes.
 */
static int registry_recover(struct hutch_registry *r, struct hutch_error *e)
{
	bool changed = r->npending_deletes > 0;
	size_t i;

	run_pending_deletes(r);
	for (i = 0; i < r->nvms; i++) {
		struct hutch_vm_entry *vm = &r->vms[i];
		char *lockpath;
		struct hutch_lock lk;
		struct hutch_error ignored;

		if (!vm->rename_to)
			continue;
		lockpath = hutch_vm_lock_path(vm->uuid);
		if (!hutch_lock_try(lockpath, &lk)) {
			/* A failure leaves the VM inaccessible (and reported so), not the registry wedged. */
			rename_roll_forward(r, vm, NULL, &ignored);
			hutch_lock_release(&lk);
			changed = true;
		}
		free(lockpath);
	}
	return changed ? hutch_registry_save(r, e) : 0;
}

int hutch_vm_rename(struct hutch_registry *r, struct hutch_machine **mp, const char *new_name,
		    struct hutch_error *e)
{
	struct hutch_machine *m = *mp;
	struct hutch_vm_entry *vm = hutch_registry_find_entry(r, m->uuid);
	char *folder = dir_of(m->settings_file), *old_file = NULL, *new_folder = NULL, *new_file = NULL;
	const char *base = strrchr(folder, '/') + 1;
	int rc;

	old_file = hutch_xasprintf("%s/%s" HUTCH_CONFIG_SUFFIX, folder, m->name);
	/* Only the default layout NAME/NAME.hutch follows the name, as in VirtualBox. */
	if (!vm || strcmp(vm->path, m->settings_file) || strcmp(base, m->name) ||
	    strcmp(old_file, m->settings_file) || strchr(new_name, '/') || !strcmp(m->name, new_name)) {
		hutch_setstr(&m->name, new_name);
		rc = hutch_config_save(m, e);
		goto out;
	}
	new_folder = hutch_xasprintf("%.*s%s", (int)(base - folder), folder, new_name);
	new_file = hutch_xasprintf("%s/%s" HUTCH_CONFIG_SUFFIX, new_folder, new_name);
	if (exists(new_folder)) {
		/* The VM is renamed all the same; its files keep the old name (a layout VirtualBox allows). */
		hutch_setstr(&m->name, new_name);
		rc = hutch_config_save(m, e);
		if (!rc)
			rc = hutch_seterr(e, -EEXIST, "cannot rename the VM's folder to '%s': it exists",
					  new_folder);
		goto out;
	}
	/* Step 1: the journal. */
	hutch_setstr(&vm->rename_to, new_file);
	hutch_setstr(&vm->rename_name, new_name);
	rc = hutch_registry_save(r, e);
	if (rc) {
		hutch_setstr(&vm->rename_to, NULL);
		hutch_setstr(&vm->rename_name, NULL);
		goto out;
	}
	hutch_crash_point();
	/* Step 2: the new name (and the caller's other changes) in the old file. */
	hutch_setstr(&m->name, new_name);
	rc = hutch_config_save(m, e);
	hutch_crash_point();
	if (rc) {
		/* Nothing moved: no rename to finish later. */
		hutch_setstr(&vm->rename_to, NULL);
		hutch_setstr(&vm->rename_name, NULL);
	}
	/* Steps 3 to 5; then 6. */
	if (!rc)
		rc = rename_roll_forward(r, vm, mp, e);
	if (!rc)
		hutch_machine_free(m);
	if (hutch_registry_save(r, rc ? NULL : e) && !rc)
		rc = -EIO;
out:
	free(folder);
	free(old_file);
	free(new_folder);
	free(new_file);
	return rc;
}

int hutch_registry_delete_files(struct hutch_registry *r, char *const *paths, size_t n, struct hutch_error *e)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		*HUTCH_APPEND(r->pending_deletes, r->npending_deletes) = hutch_xstrdup(paths[i]);
	rc = hutch_registry_save(r, e);
	if (rc)
		return rc;
	hutch_crash_point();
	run_pending_deletes(r);
	return hutch_registry_save(r, e);
}
