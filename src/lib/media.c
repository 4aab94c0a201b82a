// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Disk images for the media registry: probing an image's format and size,
 * creating new ones (raw here; VDI and qcow2 through src/block), and what
 * clonemedium and modifymedium do to them: clone, resize, compact.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hutch/registry.h"
#include "hutch/vm.h"
#include "internal.h"

#ifdef HUTCH_HAVE_BLOCK
#include "block.h"
#endif

/* qcow2: "QFI\xfb", then version; the virtual size is big-endian at offset 24. */
#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_SIZE_OFFSET 24
/*
 * VDI 1.1: signature at 0x40, little-endian; the disk size (u64) at 0x170;
 * the image UUID at 0x188, its first three fields little-endian (how
 * VirtualBox's RTUUID lies in memory on x86).
 */
#define VDI_SIGNATURE 0xbeda107fu
#define VDI_SIGNATURE_OFFSET 0x40
#define VDI_SIZE_OFFSET 0x170
#define VDI_UUID_OFFSET 0x188
/* VMDK: a sparse extent starts "KDMV" (capacity in sectors, u64 LE, at 12); a descriptor with text. */
#define VMDK_MAGIC "KDMV"
#define VMDK_CAPACITY_OFFSET 12
#define VMDK_DESCRIPTOR "# Disk DescriptorFile"
#define PROBE_LEN 0x200

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The VDI header's image UUID as text in out (37 bytes), "" if it is nil. */
static void vdi_header_uuid(const unsigned char *h, char *out)
{
	static const unsigned char order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	const unsigned char *u = h + VDI_UUID_OFFSET;
	char *p = out;
	int i, nil = 1;

	for (i = 0; i < 16; i++)
		nil &= !u[i];
	*out = 0;
	if (nil)
		return;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", u[order[i]]);
	}
}

/* hutch_medium_probe, and the VDI header's UUID in uuid (37 bytes, "" if none) when uuid is not NULL. */
static int medium_probe(const char *path, char **format, uint64_t *size, char *uuid, struct hutch_error *e)
{
	unsigned char h[PROBE_LEN] = { 0 };
	struct stat st;
	ssize_t n;
	int fd;

	if (uuid)
		*uuid = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hutch_seterr(e, -errno, "could not open the medium '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		close(fd);
		return hutch_seterr(e, -EINVAL, "medium '%s' is not a regular file", path);
	}
	n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n < 0)
		return hutch_seterr(e, -errno, "could not read the medium '%s': %s", path, strerror(errno));
	if (n >= 32 && (be64(h) >> 32) == QCOW2_MAGIC) {
		*format = hutch_xstrdup("qcow2");
		*size = be64(h + QCOW2_SIZE_OFFSET);
	} else if (n >= VDI_UUID_OFFSET + 16 &&
		   (uint32_t)le64(h + VDI_SIGNATURE_OFFSET) == VDI_SIGNATURE) {
		*format = hutch_xstrdup("VDI");
		*size = le64(h + VDI_SIZE_OFFSET);
		if (uuid)
			vdi_header_uuid(h, uuid);
	} else if ((n >= 20 && !memcmp(h, VMDK_MAGIC, 4)) ||
		   (n >= (ssize_t)strlen(VMDK_DESCRIPTOR) &&
		    !memcmp(h, VMDK_DESCRIPTOR, strlen(VMDK_DESCRIPTOR)))) {
		*format = hutch_xstrdup("VMDK");
		*size = h[0] == 'K' ? le64(h + VMDK_CAPACITY_OFFSET) * 512 : 0;
#ifdef HUTCH_HAVE_BLOCK
		/* A descriptor names its extents; the block layer adds them up. */
		struct blk_image *img;

		if (!blk_open(path, "vmdk", BLK_RDONLY, &img, NULL, 0)) {
			*size = blk_size(img);
			blk_close(img);
		}
#endif
	} else {
		*format = hutch_xstrdup("RAW");
		*size = (uint64_t)st.st_size;
	}
	return 0;
}

int hutch_medium_probe(const char *path, char **format, uint64_t *size, struct hutch_error *e)
{
	return medium_probe(path, format, size, NULL, e);
}

int hutch_medium_probe_uuid(const char *path, char **format, uint64_t *size, char *uuid,
			    struct hutch_error *e)
{
	return medium_probe(path, format, size, uuid, e);
}

static int create_raw(const char *path, uint64_t size, bool fixed, hutch_progress_fn progress,
		      void *opaque, struct hutch_error *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return hutch_seterr(e, -errno, "could not create the medium storage unit '%s': %s", path,
				    strerror(errno));
	if (ftruncate(fd, (off_t)size))
		rc = -errno;
	/* A fixed raw image really owns its blocks, as VirtualBox's fixed variant does. */
	if (!rc && fixed) {
		uint64_t step = size / 10 ? size / 10 : size, off;

		for (off = 0; off < size && !rc; off += step) {
			uint64_t len = size - off < step ? size - off : step;

			rc = posix_fallocate(fd, (off_t)off, (off_t)len);
			rc = -rc;
			if (progress)
				progress((unsigned)((off + len) * 100 / size), opaque);
		}
	}
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (rc) {
		unlink(path);
		return hutch_seterr(e, rc, "could not create the medium storage unit '%s': %s", path,
				    strerror(-rc));
	}
	return 0;
}

/*
 * The registry's name ("RAW" "VDI" "qcow2") of a format Hutch can write,
 * given in any case; VirtualBox's other formats are "not yet supported".
 */
static int writable_format(const char *format, const char **canon, struct hutch_error *e)
{
	static const char *const writable[] = { "RAW", "VDI", "qcow2" };
	static const char *const vbox_later[] = { "VMDK", "VHD", "VHDX", "Parallels", "QED", "iSCSI", "DMG" };
	size_t i;

	for (i = 0; i < sizeof(writable) / sizeof(writable[0]); i++)
		if (!strcasecmp(format, writable[i])) {
			*canon = writable[i];
			return 0;
		}
	for (i = 0; i < sizeof(vbox_later) / sizeof(vbox_later[0]); i++)
		if (!strcasecmp(format, vbox_later[i]))
			return hutch_seterr(e, -ENOTSUP, "format '%s' is not yet supported: use VDI, qcow2 or RAW",
					    format);
	return hutch_seterr(e, -EINVAL, "invalid format '%s': expected VDI, qcow2 or RAW", format);
}

int hutch_medium_create(struct hutch_registry *r, const char *path, uint64_t size, const char *format,
			bool fixed, hutch_progress_fn progress, void *opaque, struct hutch_medium **out,
			struct hutch_error *e)
{
	char *abs = hutch_abspath(path);
	char uuid[HUTCH_UUID_LEN + 1];
	const char *canon;
	int rc;

	hutch_uuid_generate(uuid);
	if (hutch_registry_find_medium(r, abs, -1)) {
		rc = hutch_seterr(e, -EEXIST, "a medium '%s' is already registered", abs);
		goto out;
	}
	if (!access(abs, F_OK)) {
		rc = hutch_seterr(e, -EEXIST, "could not create the medium storage unit '%s': the file exists",
				  abs);
		goto out;
	}
	rc = writable_format(format, &canon, e);
	if (!rc && !strcmp(canon, "RAW")) {
		rc = create_raw(abs, size, fixed, progress, opaque, e);
	} else if (!rc) {
#ifdef HUTCH_HAVE_BLOCK
		struct blk_create_opts o = {
			.format = !strcmp(canon, "VDI") ? "vdi" : "qcow2",
			.size = size,
			.variant = fixed ? BLK_VARIANT_FIXED : BLK_VARIANT_STANDARD,
			/* VirtualBox knows a VDI by its header's UUID: make it the registry's. */
			.uuid = uuid,
		};
		char err[BLK_ERR_MAX] = "";

		rc = blk_create(abs, &o, err, sizeof(err));
		if (rc)
			hutch_seterr(e, rc, "could not create the medium storage unit '%s': %s", abs,
				     err[0] ? err : strerror(-rc));
#else
		rc = hutch_seterr(e, -ENOTSUP,
				  "format '%s' is not supported in this build (no block layer): use --format RAW",
				  format);
#endif
	}
	if (rc)
		goto out;
	if (progress)
		progress(100, opaque);
	*out = hutch_registry_append_medium(r, uuid, HUTCH_MEDIUM_HDD, abs, canon, size);
	abs = NULL;
out:
	free(abs);
	return rc;
}

char *hutch_medium_running_users(struct hutch_registry *r, const struct hutch_medium *md)
{
	char *out = NULL;
	size_t i, c, a;

	for (i = 0; i < r->nvms; i++) {
		struct hutch_machine *m;
		bool uses = false;

		/* One unreadable settings file must not hide the others. */
		if (hutch_config_load(r->vms[i].path, &m, NULL))
			continue;
		for (c = 0; c < m->nctl && !uses; c++)
			for (a = 0; a < m->ctl[c].natt && !uses; a++) {
				const struct hutch_attachment *at = &m->ctl[c].att[a];

				uses = (at->medium_uuid && !strcasecmp(at->medium_uuid, md->uuid)) ||
				       (at->medium && !strcmp(at->medium, md->location));
			}
		if (uses && hutch_vm_is_live(hutch_vm_get_state(m, NULL, NULL, NULL))) {
			char *t = hutch_xasprintf("%s%s%s (UUID: %s)", out ? out : "", out ? ", " : "", m->name,
						  m->uuid);

			free(out);
			out = t;
		}
		hutch_machine_free(m);
	}
	return out;
}

/* -EBUSY with "cannot VERB the medium 'X': it is in use by the running VM ..." if a live VM has md. */
static int check_not_running(struct hutch_registry *r, const struct hutch_medium *md, const char *verb,
			     struct hutch_error *e)
{
	char *users = hutch_medium_running_users(r, md);
	int rc = 0;

	if (users)
		rc = hutch_seterr(e, -EBUSY, "cannot %s the medium '%s': it is in use by the running VM %s",
				  verb, md->location, users);
	free(users);
	return rc;
}

/* The registry's spelling of a format given in any case, or NULL if Hutch does not know it. */
static const char *format_canon(const char *f)
{
	static const char *const names[] = { "RAW", "VDI", "qcow2", "VMDK" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(f, names[i]))
			return names[i];
	return NULL;
}

#ifdef HUTCH_HAVE_BLOCK
/* The block layer's name for a registry format ("RAW" -> "raw"). */
static const char *format_blk(const char *canon)
{
	if (!strcmp(canon, "RAW"))
		return "raw";
	if (!strcmp(canon, "VDI"))
		return "vdi";
	if (!strcmp(canon, "qcow2"))
		return "qcow2";
	return "vmdk";
}

/* blk_convert reports bytes; the front ends want 0..100. */
struct progress_map {
	hutch_progress_fn fn;
	void *opaque;
};

static void progress_bytes(uint64_t done, uint64_t total, void *opaque)
{
	struct progress_map *pm = opaque;

	if (pm->fn)
		pm->fn(total ? (unsigned)(done * 100 / total) : 100, pm->opaque);
}

/*
 * The line for an image blk_open refused.  The block layer's text starts
 * with the file's path, which ours names already when it is the medium's
 * own file (a backing file's stays).  An image lock (-EBUSY: a running
 * QEMU, qemu-img or hutch-vm holds it, registered or not) names the
 * command it stops, as check_not_running does for a VM in the registry.
 */
static int image_open_error(const char *path, const char *verb, int rc, const char *err, struct hutch_error *e)
{
	size_t n = strlen(path);
	bool own = !strncmp(err, path, n) && !strncmp(err + n, ": ", 2);
	const char *why = own ? err + n + 2 : err[0] ? err : strerror(-rc);

	if (rc == -EBUSY)
		return hutch_seterr(e, rc, "cannot %s the medium '%s': %s%s", verb, path, own ? "it " : "", why);
	return hutch_seterr(e, rc, "could not open the medium '%s': %s", path, why);
}

/*
 * Open md's image (format as registered: never trust a probe of a disk a
 * guest wrote) to VERB it.  Through the block layer, so its image locks
 * keep out whoever else has it, whatever the registry says.
 */
static int open_medium_image(const struct hutch_medium *md, unsigned flags, const char *verb,
			     struct blk_image **img, struct hutch_error *e)
{
	const char *canon = format_canon(md->format);
	char err[BLK_ERR_MAX] = "";
	int rc;

	rc = blk_open(md->location, canon ? format_blk(canon) : NULL, flags, img, err, sizeof(err));
	return rc ? image_open_error(md->location, verb, rc, err, e) : 0;
}

/* Whether two paths name the same file (both must exist). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * clonemedium --existing: copy src into the open image dst block by
 * block; zero runs become blk_pwrite_zeroes so old data in dst does not
 * show through, and stay unallocated where the format can.
 */
static int copy_into(struct blk_image *src, struct blk_image *dst, hutch_progress_fn progress, void *opaque,
		     struct hutch_error *e)
{
	uint64_t size = blk_size(src) < blk_size(dst) ? blk_size(src) : blk_size(dst), off;
	const size_t chunk = 1u << 20;
	unsigned char *buf = hutch_xmalloc(chunk);
	int rc = 0;

	for (off = 0; off < size && !rc; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
		bool zero;

		rc = blk_pread(src, buf, n, off);
		if (rc) {
			hutch_seterr(e, rc, "could not read the source: %s", blk_last_error(src));
			break;
		}
		zero = buf[0] == 0 && !memcmp(buf, buf + 1, n - 1);
		rc = zero ? blk_pwrite_zeroes(dst, off, n, BLK_ZEROES_MAY_UNMAP) : blk_pwrite(dst, buf, n, off);
		if (rc)
			hutch_seterr(e, rc, "could not write the target: %s", blk_last_error(dst));
		else if (progress)
			progress((unsigned)((off + n) * 100 / size), opaque);
	}
	/* What lies beyond the source in a bigger target is not the source's: zeros. */
	if (!rc && blk_size(dst) > size) {
		rc = blk_pwrite_zeroes(dst, size, blk_size(dst) - size, BLK_ZEROES_MAY_UNMAP);
		if (rc)
			hutch_seterr(e, rc, "could not write the target: %s", blk_last_error(dst));
	}
	if (!rc && (rc = blk_flush(dst)))
		hutch_seterr(e, rc, "could not write the target: %s", blk_last_error(dst));
	free(buf);
	return rc;
}

static int clone_existing(struct hutch_registry *r, struct blk_image *src, const char *src_path,
			  enum hutch_medium_kind kind, const char *dst, hutch_progress_fn progress, void *opaque,
			  struct hutch_medium **out, struct hutch_error *e)
{
	struct hutch_medium *md = hutch_registry_find_medium(r, dst, (int)kind);
	struct blk_image *img;
	int rc;

	if (!md && hutch_uuid_valid(dst))
		return hutch_seterr(e, -ENOENT, "could not find a registered medium with UUID {%s}", dst);
	/* An existing file that is not registered yet gets registered, as VBoxManage's openMedium does. */
	if (!md && (rc = hutch_registry_open_medium(r, dst, kind, &md, e)))
		return rc;
	if (same_file(src_path, md->location))
		return hutch_seterr(e, -EINVAL, "the source and the target are the same medium '%s'",
				    md->location);
	if ((rc = check_not_running(r, md, "write into", e)))
		return rc;
	if ((rc = open_medium_image(md, 0, "write into", &img, e)))
		return rc;
	rc = copy_into(src, img, progress, opaque, e);
	blk_close(img);
	if (!rc)
		*out = md;
	return rc;
}
#endif

int hutch_medium_clone(struct hutch_registry *r, const char *src, enum hutch_medium_kind kind,
		       const char *dst, const struct hutch_clone_opts *o, hutch_progress_fn progress,
		       void *opaque, struct hutch_medium **out, struct hutch_error *e)
{
#ifdef HUTCH_HAVE_BLOCK
	struct hutch_medium *smd = hutch_registry_find_medium(r, src, (int)kind);
	char *src_path = NULL, *src_format = NULL, *abs = NULL;
	char uuid[HUTCH_UUID_LEN + 1], err[BLK_ERR_MAX] = "";
	struct progress_map pm = { progress, opaque };
	struct blk_image *img = NULL;
	const char *format;
	uint64_t size;
	int rc;

	if (smd) {
		/* A running VM's disk changes under the copy (VirtualBox's write lock refuses it too). */
		if (kind == HUTCH_MEDIUM_HDD && (rc = check_not_running(r, smd, "clone", e)))
			return rc;
		src_path = hutch_xstrdup(smd->location);
		src_format = hutch_xstrdup(smd->format);
	} else if ((smd = hutch_registry_find_medium(r, src, -1))) {
		return hutch_seterr(e, -EINVAL, "medium '%s' is registered as a %s image, not a %s image",
				    smd->location, hutch_medium_kind_name(smd->kind), hutch_medium_kind_name(kind));
	} else if (hutch_uuid_valid(src)) {
		return hutch_seterr(e, -ENOENT, "could not find a registered medium with UUID {%s}", src);
	} else {
		src_path = hutch_abspath(src);
		/* DVD and floppy images are plain files; disks are probed, VMDK included. */
		if (kind != HUTCH_MEDIUM_HDD)
			src_format = hutch_xstrdup("RAW");
		else if ((rc = hutch_medium_probe(src_path, &src_format, &size, e)))
			goto out;
	}
	rc = blk_open(src_path, format_blk(format_canon(src_format) ? format_canon(src_format) : "RAW"),
		      BLK_RDONLY, &img, err, sizeof(err));
	if (rc) {
		image_open_error(src_path, "clone", rc, err, e);
		goto out;
	}
	if (o->existing) {
		rc = clone_existing(r, img, src_path, kind, dst, progress, opaque, out, e);
		goto out;
	}

	/* The target's format: as asked, else the source's if Hutch can write it, else VDI. */
	if (o->format) {
		if ((rc = writable_format(o->format, &format, e)))
			goto out;
	} else if (writable_format(src_format, &format, NULL)) {
		format = "VDI";
	}
	if (kind != HUTCH_MEDIUM_HDD && strcmp(format, "RAW")) {
		rc = hutch_seterr(e, -ENOTSUP, "%s images are plain files: use --format RAW, not %s",
				  kind == HUTCH_MEDIUM_DVD ? "DVD" : "floppy", format);
		goto out;
	}
	if (o->compress && strcmp(format, "qcow2")) {
		rc = hutch_seterr(e, -EINVAL, "--compress needs --format qcow2 (the clone would be %s)", format);
		goto out;
	}
	if (o->size % 512) {
		rc = hutch_seterr(e, -EINVAL, "the clone's size %llu is not a multiple of 512 bytes",
				  (unsigned long long)o->size);
		goto out;
	}
	if (o->size && o->size < blk_size(img)) {
		rc = hutch_seterr(e, -ENOTSUP, "shrinking is not yet supported: the clone of '%s' (%llu bytes) "
				  "cannot have %llu bytes", src_path, (unsigned long long)blk_size(img),
				  (unsigned long long)o->size);
		goto out;
	}
	abs = hutch_abspath(dst);
	if (hutch_registry_find_medium(r, abs, -1) || hutch_uuid_valid(dst)) {
		rc = hutch_seterr(e, -EEXIST, "could not create the clone medium '%s': a medium is already "
				  "registered there (--existing writes into it)", hutch_uuid_valid(dst) ? dst : abs);
		goto out;
	}
	if (!access(abs, F_OK)) {
		rc = hutch_seterr(e, -EEXIST, "could not create the clone medium '%s': the file exists "
				  "(--existing writes into it)", abs);
		goto out;
	}
	hutch_uuid_generate(uuid);
	{
		struct blk_create_opts co = {
			.format = format_blk(format),
			.size = o->size,
			.variant = o->fixed ? BLK_VARIANT_FIXED : BLK_VARIANT_STANDARD,
			.uuid = uuid,	/* a VDI's header carries the registry's UUID */
		};

		if (progress)
			progress(0, opaque);
		rc = blk_convert(img, abs, &co, o->compress ? BLK_CONVERT_COMPRESS : 0, progress_bytes, &pm, err,
				 sizeof(err));
		if (rc) {
			hutch_seterr(e, rc, "could not create the clone medium '%s': %s", abs,
				     err[0] ? err : strerror(-rc));
			goto out;
		}
	}
	*out = hutch_registry_append_medium(r, uuid, kind, abs, format, o->size ? o->size : blk_size(img));
	abs = NULL;
out:
	blk_close(img);
	free(src_path);
	free(src_format);
	free(abs);
	return rc;
#else
	(void)r; (void)src; (void)kind; (void)dst; (void)o; (void)progress; (void)opaque; (void)out;
	return hutch_seterr(e, -ENOTSUP, "cloning media is not supported in this build (no block layer)");
#endif
}

int hutch_medium_resize(struct hutch_registry *r, struct hutch_medium *md, uint64_t new_size,
			struct hutch_error *e)
{
#ifdef HUTCH_HAVE_BLOCK
	struct blk_image *img;
	uint64_t old;
	int rc;

	if (md->kind != HUTCH_MEDIUM_HDD)
		return hutch_seterr(e, -ENOTSUP, "only disk images can be resized, not the %s image '%s'",
				    hutch_medium_kind_name(md->kind), md->location);
	if (new_size % 512)
		return hutch_seterr(e, -EINVAL, "the new size %llu is not a multiple of 512 bytes",
				    (unsigned long long)new_size);
	if ((rc = check_not_running(r, md, "resize", e)))
		return rc;
	if ((rc = open_medium_image(md, 0, "resize", &img, e)))
		return rc;
	/* The image's own size, not the registry's: a guest or qemu-img may have changed it. */
	old = blk_size(img);
	if (new_size < old)
		rc = hutch_seterr(e, -ENOTSUP, "shrinking is not yet supported for medium '%s' (from %llu to "
				  "%llu bytes)", md->location, (unsigned long long)old,
				  (unsigned long long)new_size);
	else if (new_size > old && ((rc = blk_resize(img, new_size)) || (rc = blk_flush(img))))
		hutch_seterr(e, rc, "could not resize the medium '%s': %s", md->location,
			     blk_last_error(img)[0] ? blk_last_error(img) : strerror(-rc));
	blk_close(img);
	if (!rc)
		md->size = new_size;
	return rc;
#else
	(void)r; (void)md; (void)new_size;
	return hutch_seterr(e, -ENOTSUP, "resizing media is not supported in this build (no block layer)");
#endif
}

int hutch_medium_delete(const struct hutch_medium *md, struct hutch_error *e)
{
	int rc;
#ifdef HUTCH_HAVE_BLOCK
	char err[BLK_ERR_MAX] = "";
	struct blk_image *img = NULL;

	/*
	 * A writer's lock, as raw (only the file itself, whatever its format):
	 * refused if anyone has the image open through QEMU's lock bytes, and
	 * held until the file is gone.  Any other failure (a file we may not
	 * write, a header the format would reject) does not stop the delete.
	 */
	rc = blk_open(md->location, "raw", 0, &img, err, sizeof(err));
	if (rc == -EBUSY)
		return image_open_error(md->location, "delete", rc, err, e);
#endif
	rc = 0;
	if (unlink(md->location) && errno != ENOENT)
		rc = hutch_seterr(e, -errno, "cannot delete '%s': %s", md->location, strerror(errno));
#ifdef HUTCH_HAVE_BLOCK
	blk_close(img);
#endif
	return rc;
}

#ifdef HUTCH_HAVE_BLOCK
/* fsync a file by name (the copy blk_convert closed), or the directory a rename changed. */
static int fsync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}
#endif

int hutch_medium_compact(struct hutch_registry *r, struct hutch_medium *md, hutch_progress_fn progress,
			 void *opaque, struct hutch_error *e)
{
#ifdef HUTCH_HAVE_BLOCK
	struct progress_map pm = { progress, opaque };
	char *tmp = NULL, *dir = NULL, err[BLK_ERR_MAX] = "";
	struct blk_image *img = NULL;
	struct stat before, after;
	struct blk_info info;
	const char *slash;
	int rc;

	if (md->kind != HUTCH_MEDIUM_HDD)
		return hutch_seterr(e, -ENOTSUP, "only disk images can be compacted, not the %s image '%s'",
				    hutch_medium_kind_name(md->kind), md->location);
	if ((rc = check_not_running(r, md, "compact", e)))
		return rc;
	if ((rc = open_medium_image(md, BLK_RDONLY, "compact", &img, e)))
		return rc;
	if ((rc = blk_info(img, &info)) || stat(md->location, &before)) {
		rc = hutch_seterr(e, rc ? rc : -errno, "could not read the medium '%s': %s", md->location,
				  strerror(rc ? -rc : errno));
		goto out;
	}
	/*
	 * A differencing image's unallocated clusters show its parent: a copy
	 * cannot tell them from written ones without allocation status, and
	 * would merge the parent in.  A fixed image is meant to own its blocks.
	 */
	if (info.backing_file[0]) {
		rc = hutch_seterr(e, -ENOTSUP, "compacting the differencing image '%s' (backing file '%s') is not "
				  "yet supported", md->location, info.backing_file);
		goto out;
	}
	if (!strcmp(info.format, "vmdk") || info.variant == BLK_VARIANT_FIXED) {
		rc = hutch_seterr(e, -ENOTSUP, "Compact medium operation for this format is not implemented "
				  "yet: '%s' is a %s image", md->location,
				  info.variant == BLK_VARIANT_FIXED ? "fixed-size" : "read-only VMDK");
		goto out;
	}
	/* Same directory: the rename stays on one file system and is atomic. */
	slash = strrchr(md->location, '/');
	dir = slash == md->location ? hutch_xstrdup("/") :
	      hutch_xasprintf("%.*s", (int)(slash - md->location), md->location);
	tmp = hutch_xasprintf("%s/.%s.compact-%d", dir, slash + 1, (int)getpid());
	{
		/*
		 * Keep what identifies the image: format, size, block size and the
		 * VDI header's UUID (VirtualBox's name for the medium), so the
		 * registry entry and every attachment stay valid after the rename.
		 */
		struct blk_create_opts co = {
			.format = info.format,
			.size = info.virtual_size,
			.cluster_size = info.cluster_size,
			.uuid = info.uuid[0] ? info.uuid : NULL,
		};

		if (progress)
			progress(0, opaque);
		rc = blk_convert(img, tmp, &co, 0, progress_bytes, &pm, err, sizeof(err));
		if (rc) {
			hutch_seterr(e, rc, "could not compact the medium '%s': %s", md->location,
				     err[0] ? err : strerror(-rc));
			goto out;
		}
	}
	if (stat(tmp, &after)) {
		rc = hutch_seterr(e, -errno, "could not compact the medium '%s': %s", md->location, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* A compressed qcow2 would come out bigger: then the original stays. */
	if (after.st_blocks >= before.st_blocks) {
		unlink(tmp);
		goto out;
	}
	/* The copy is the same file to its owner: mode and (where we may) ownership. */
	if (chown(tmp, before.st_uid, before.st_gid)) {
		/* Not root: the file stays ours, which it already was. */
	}
	if (chmod(tmp, before.st_mode & 07777) || (rc = fsync_path(tmp, false)) ||
	    rename(tmp, md->location)) {
		rc = hutch_seterr(e, rc ? rc : -errno, "could not replace the medium '%s' by its compacted copy: %s",
				  md->location, strerror(rc ? -rc : errno));
		unlink(tmp);
		goto out;
	}
	/* The rename is durable once the directory is. */
	rc = fsync_path(dir, true);
	if (rc)
		hutch_seterr(e, rc, "could not sync the directory '%s': %s", dir, strerror(-rc));
out:
	blk_close(img);
	free(tmp);
	free(dir);
	return rc;
#else
	(void)r; (void)md; (void)progress; (void)opaque;
	return hutch_seterr(e, -ENOTSUP, "compacting media is not supported in this build (no block layer)");
#endif
}
