/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The global registry of VMs and media ($XDG_CONFIG_HOME/hutch/registry.xml,
 * or $HUTCH_CONFIG_HOME/registry.xml), its lock, and the per-user paths.
 *
 * Every change is made under the registry's lock: hutch_registry_open()
 * takes it, reads the file fresh, and hutch_registry_close() (after an
 * optional hutch_registry_save()) releases it, so two processes never lose
 * each other's updates.
 */
#ifndef HUTCH_REGISTRY_H
#define HUTCH_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "hutch/config.h"
#include "hutch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How long a lock is waited for before giving up, unless HUTCH_LOCK_TIMEOUT (s) says otherwise. */
#define HUTCH_LOCK_TIMEOUT_DEFAULT 30

struct hutch_lock {
	int fd;
	char *path;
};

/* flock(LOCK_EX) on path (created if missing), waiting up to the lock timeout. */
int hutch_lock_acquire(const char *path, struct hutch_lock *lk, struct hutch_error *e);
/* The same without waiting: -EBUSY if someone (this process too) holds it. */
int hutch_lock_try(const char *path, struct hutch_lock *lk);
void hutch_lock_release(struct hutch_lock *lk);
/*
 * The lock file that guards a VM's settings file:
 * <config home>/locks/<uuid>.lock (its directory is made on demand).  It
 * is named by the VM's UUID and kept out of the VM's folder, so renaming
 * the VM (folder and file) never moves a lock while someone holds it.
 */
char *hutch_vm_lock_path(const char *uuid);

/* Per-user directories (malloc'd); created on demand by the functions that write. */
char *hutch_config_home(void);
char *hutch_runtime_dir(void);
/*
 * Write data to path atomically: a unique temp file beside it (path + ".tmp-" + 6 random
 * characters), fsync, rename, fsync of the directory.  An existing file's mode is kept
 * (a user's chmod survives); a new one is HUTCH_FILE_MODE.
 */
#define HUTCH_FILE_MODE 0600	/* configs, the registry, locks: they name the user's files */
#define HUTCH_DIR_MODE 0700	/* the config home, VM folders */
#define HUTCH_TMP_SUFFIX ".tmp-"
int hutch_write_file_atomic(const char *path, const void *data, size_t len, struct hutch_error *e);
int hutch_mkdir_p(const char *path, unsigned mode, struct hutch_error *e);
/* An absolute, normalised version of path (relative to the cwd); malloc'd. */
char *hutch_abspath(const char *path);
void hutch_uuid_generate(char out[HUTCH_UUID_LEN + 1]);
bool hutch_uuid_valid(const char *s);

enum hutch_medium_kind { HUTCH_MEDIUM_HDD, HUTCH_MEDIUM_DVD, HUTCH_MEDIUM_FLOPPY };

struct hutch_medium {
	char uuid[HUTCH_UUID_LEN + 1];
	enum hutch_medium_kind kind;
	char *location;		/* absolute path */
	char *format;		/* RAW VDI qcow2 (hdd), RAW (dvd, floppy) */
	uint64_t size;		/* bytes the guest sees */
	char *description;	/* modifymedium --description; NULL = none */
};

struct hutch_vm_entry {
	char uuid[HUTCH_UUID_LEN + 1];
	char *path;		/* settings file */
	/*
	 * A rename in progress (hutch_vm_rename's journal): the new settings
	 * file and name, NULL if none.  The next hutch_registry_open finishes
	 * it if the renaming process died.
	 */
	char *rename_to;
	char *rename_name;
};

struct hutch_registry {
	char *path;
	struct hutch_lock lock;
	char *machinefolder;	/* NULL = default */
	struct hutch_vm_entry *vms;
	size_t nvms;
	struct hutch_medium *media;
	size_t nmedia;
	/*
	 * Files (and, ending in '/', empty folders) whose deletion was begun
	 * (hutch_registry_delete_files' journal); the next hutch_registry_open
	 * finishes it if the deleting process died.
	 */
	char **pending_deletes;
	size_t npending_deletes;
};

/*
 * Lock and read the registry.  A rename or deletion that a killed process
 * left half done (its journal is in the registry) is finished first, so
 * every VM is found under one name and no deleted file stays registered.
 */
int hutch_registry_open(struct hutch_registry **out, struct hutch_error *e);
int hutch_registry_save(struct hutch_registry *r, struct hutch_error *e);
void hutch_registry_close(struct hutch_registry *r);
int hutch_registry_parse(const char *buf, size_t len, const char *name,
			 struct hutch_registry *r, struct hutch_error *e);
int hutch_registry_serialize(const struct hutch_registry *r, char **buf, size_t *len,
			     struct hutch_error *e);

/* The folder new VMs go in when createvm has no --basefolder (malloc'd). */
char *hutch_registry_machine_folder(const struct hutch_registry *r);

int hutch_registry_add_vm(struct hutch_registry *r, const char *uuid, const char *path,
			  struct hutch_error *e);
int hutch_registry_remove_vm(struct hutch_registry *r, const char *uuid);
/*
 * Find a VM by UUID or name and load its config (fresh from disk).  Names
 * are looked up by loading each registered config; one that fails to load
 * matches no name, except that its error is returned for NAME when its
 * file is NAME.hutch and no readable VM is called NAME.  -ENOENT and
 * "could not find a registered machine named ..." otherwise.
 */
int hutch_registry_find_vm(struct hutch_registry *r, const char *name_or_uuid,
			   struct hutch_machine **out, struct hutch_error *e);
/* The entry registered under a UUID ({UUID} too) or settings-file path; NULL if none. */
struct hutch_vm_entry *hutch_registry_find_entry(struct hutch_registry *r, const char *uuid_or_path);
/*
 * Give *m (loaded, registered, its lock held, r open) the name new_name
 * and save it.  If its settings follow the default layout
 * (FOLDER/OLD/OLD.hutch) the folder and file follow the new name, as in
 * VirtualBox, and paths that pointed into the folder (disks, serial logs)
 * move in the settings and in r.  Crash-safe: a journal in the registry
 * (the entry's rename_to) is written first, and every step after it can
 * be redone, so a process killed at any point leaves a VM that the next
 * hutch_registry_open finishes renaming.  *m is replaced by the saved
 * machine; r is saved.  -EEXIST if the new folder exists: the VM is
 * renamed and saved all the same, its files keep their names.
 */
int hutch_vm_rename(struct hutch_registry *r, struct hutch_machine **m, const char *new_name,
		    struct hutch_error *e);
/*
 * Delete files (and, for paths ending in '/', empty folders) after r has
 * been changed to no longer name them: the paths are saved in r as a
 * journal together with r's other changes (one atomic write), deleted,
 * and the journal cleared.  Killed in between, the next
 * hutch_registry_open deletes the rest.  Missing files are no error.
 */
int hutch_registry_delete_files(struct hutch_registry *r, char *const *paths, size_t n,
				struct hutch_error *e);
/*
 * Load every accessible registered VM in registry order (*n machines,
 * free each).  A VM whose settings cannot be read is skipped: it is
 * inaccessible, and must not stop commands about the others.
 */
int hutch_registry_load_all(struct hutch_registry *r, struct hutch_machine ***out, size_t *n,
			    struct hutch_error *e);

struct hutch_medium *hutch_registry_find_medium(struct hutch_registry *r, const char *uuid_or_path,
						int kind /* -1 = any */);
/* Register an existing image (probing format and size); returns the entry. */
int hutch_registry_open_medium(struct hutch_registry *r, const char *path, enum hutch_medium_kind kind,
			       struct hutch_medium **out, struct hutch_error *e);
int hutch_registry_remove_medium(struct hutch_registry *r, const char *uuid);
const char *hutch_medium_kind_name(enum hutch_medium_kind k);

/* Create a new disk image and register it; format "VDI" "RAW" "qcow2" (any case). */
typedef void (*hutch_progress_fn)(unsigned percent, void *opaque);
int hutch_medium_create(struct hutch_registry *r, const char *path, uint64_t size,
			const char *format, bool fixed, hutch_progress_fn progress, void *opaque,
			struct hutch_medium **out, struct hutch_error *e);
/* Probe an image file's format ("RAW" "VDI" "qcow2" "VMDK") and virtual size. */
int hutch_medium_probe(const char *path, char **format, uint64_t *size, struct hutch_error *e);

/*
 * The running (or paused) VMs that have md attached, as one line
 * ("name (UUID: u), ..."), malloc'd; NULL if none.  VMs whose settings
 * cannot be read are skipped.  Resize, compact and clone refuse a disk a
 * running VM uses (-EBUSY), as VirtualBox does through its medium locks;
 * they open images through the block layer, whose image locks also refuse
 * one that a process outside the registry holds.
 */
char *hutch_medium_running_users(struct hutch_registry *r, const struct hutch_medium *md);

/* What hutch_medium_clone makes (clonemedium's flags). */
struct hutch_clone_opts {
	/*
	 * "VDI" "qcow2" "RAW" (any case); NULL = the source's format, or VDI
	 * (VirtualBox's default) if Hutch cannot write that one (VMDK).
	 */
	const char *format;
	bool fixed;		/* --variant Fixed: every block allocated */
	bool compress;		/* qcow2 output: zlib-compressed clusters */
	/*
	 * Write into the existing image dst (registered, or registered now)
	 * instead of creating it; format, fixed and compress must be unset.
	 * Only what fits into dst is copied; the rest of dst reads as zeros.
	 */
	bool existing;
	uint64_t size;		/* new image's size; 0 = the source's, else at least that */
};

/*
 * Copy the medium src (a registered medium's UUID or path, or an image
 * file of any format the block layer reads, VMDK too) into the new image
 * file dst and register it with a new UUID (also in a VDI's header).  A
 * source that was not registered stays unregistered, as in VBoxManage.
 * Backing chains are flattened: the clone is a base image.  progress gets
 * 0..100.  *out is the new (or, with existing, the target) registry entry.
 */
int hutch_medium_clone(struct hutch_registry *r, const char *src, enum hutch_medium_kind kind,
		       const char *dst, const struct hutch_clone_opts *o, hutch_progress_fn progress,
		       void *opaque, struct hutch_medium **out, struct hutch_error *e);
/*
 * Grow md's image to new_size bytes (a multiple of 512); the new part
 * reads as zeros and the registry's size follows.  Shrinking is refused
 * (-ENOTSUP), as in VirtualBox; the same size is a no-op.
 */
int hutch_medium_resize(struct hutch_registry *r, struct hutch_medium *md, uint64_t new_size,
			struct hutch_error *e);
/*
 * Rewrite md's image without its unused and all-zero blocks: a copy in
 * the same format, directory, block size and (VDI) header UUID, made
 * durable, then renamed over the original, so the registry entry and the
 * VMs' attachments stay valid.  If the copy would not be smaller the
 * original is kept.  Differencing (backing file), fixed and VMDK images
 * are refused (-ENOTSUP).
 */
int hutch_medium_compact(struct hutch_registry *r, struct hutch_medium *md, hutch_progress_fn progress,
			 void *opaque, struct hutch_error *e);
/*
 * Delete md's image file (closemedium --delete); a file already gone is
 * no error.  -EBUSY if another process holds the image's lock (a QEMU,
 * qemu-img or hutch-vm, in the registry or not).
 */
int hutch_medium_delete(const struct hutch_medium *md, struct hutch_error *e);

#ifdef __cplusplus
}
#endif

#endif
