// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qcow2 images, versions 2 and 3, as described in QEMU's
 * docs/interop/qcow2.txt ("the spec" below).
 *
 * Reads: L1/L2 tables, all-zero clusters (v3), zlib-compressed clusters
 * and backing files.  Writes: allocation at the end of the file, copy of
 * old (backing, zero or compressed) data for partial clusters, refcounts
 * of any width, refcount table growth, discard, compressed clusters.
 *
 * Crash safety: new metadata is made durable before anything points at
 * it, and references go before the clusters they held are freed:
 *
 *   data cluster -> its refcount -> barrier -> L2 entry
 *   new L2 table (zeros) -> its refcount -> barrier -> L1 entry
 *   new refcount blocks -> barrier -> refcount table entries
 *   L2 entry changed -> fdatasync -> old cluster's refcount decremented
 *
 * Two write-back caches hold the metadata that changes per request:
 * refcount blocks and L2 tables (LRU, sized by blk_set_cache_size).  A
 * refcount change is made in its cached block, which goes to the file
 * when evicted or at the next barrier (qcow2_barrier: write back dirty
 * refcount blocks, then fdatasync); writing one early is always safe,
 * since increments only leak and decrements are made only once the
 * reference is gone from the file.  A new L2 entry is made in its cached
 * table (so reads see it), which goes to the file whole at the next
 * commit (qcow2_commit): before a dirty table is evicted, after
 * QCOW2_MAX_PENDING changed entries, after a discard, on flush and on
 * close, each time behind one barrier covering every data cluster and
 * refcount written since, as QEMU's metadata cache does.  A guest flush
 * commits and syncs: everything written before it is durable.  The L1
 * and refcount tables are written through at once (rare).
 *
 * Data goes straight between the caller's scatter list and the file
 * (qcow2_preadv/qcow2_pwritev): clusters that lie next to each other in
 * the file, allocated ones or whole clusters newly allocated together at
 * its end, go in one preadv/pwritev.
 *
 * So a process killed at any point leaves at worst leaked clusters
 * (refcount > 0, unreferenced), which `qemu-img check` reports as leaks,
 * never as corruption.  Images with internal snapshots, encryption, an
 * external data file or extended L2 entries are refused for writing (the
 * last three for reading too).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "block_int.h"

/* Spec "Header": big-endian fields at these byte offsets. */
#define QCOW2_MAGIC 0x514649fbu /* 'Q' 'F' 'I' 0xfb */
#define QCOW2_HDR_MAGIC 0
#define QCOW2_HDR_VERSION 4
#define QCOW2_HDR_BACKING_OFFSET 8
#define QCOW2_HDR_BACKING_SIZE 16
#define QCOW2_HDR_CLUSTER_BITS 20
#define QCOW2_HDR_SIZE 24
#define QCOW2_HDR_CRYPT_METHOD 32
#define QCOW2_HDR_L1_SIZE 36
#define QCOW2_HDR_L1_OFFSET 40
#define QCOW2_HDR_REFTABLE_OFFSET 48
#define QCOW2_HDR_REFTABLE_CLUSTERS 56
#define QCOW2_HDR_NB_SNAPSHOTS 60
#define QCOW2_HDR_SNAPSHOTS_OFFSET 64
#define QCOW2_HDR_INCOMPAT 72 /* v3 from here on */
#define QCOW2_HDR_COMPAT 80
#define QCOW2_HDR_AUTOCLEAR 88
#define QCOW2_HDR_REFCOUNT_ORDER 96
#define QCOW2_HDR_LENGTH 100
#define QCOW2_HDR_COMPRESSION_TYPE 104 /* if header_length > 104 */
#define QCOW2_V2_HDR_LEN 72
#define QCOW2_V3_HDR_LEN 104
#define QCOW2_CREATE_HDR_LEN 112 /* with compression type, padded to 8 */

/* Spec "Header", incompatible_features bits. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_SUPPORTED \
	(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION)
#define QCOW2_COMPRESSION_ZLIB 0

/* Spec "Header extensions". */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau

/* Spec "Cluster mapping": L1, L2 and refcount table entries. */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9-55 */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_L1_RESERVED (~(QCOW2_OFFSET_MASK | QCOW2_OFLAG_COPIED))
#define QCOW2_L2_STD_RESERVED \
	(~(QCOW2_OFFSET_MASK | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO | \
	   QCOW2_OFLAG_COMPRESSED))
#define QCOW2_RT_RESERVED 0x1ffull /* bits 0-8 */
#define QCOW2_COMPRESSED_SECTOR 512u

/* Limits: what QEMU accepts, which also bounds our allocations. */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_DEFAULT_CLUSTER_BITS 16
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_MAX_REFCOUNT_ORDER 6
#define QCOW2_DEFAULT_REFCOUNT_ORDER 4 /* 16-bit, the only order in v2 */
#define QCOW2_MAX_HOST_OFFSET (1ull << 56)
/*
 * Metadata caches.  L2 tables: by default enough to map the whole disk,
 * at most QCOW2_L2_CACHE_DEFAULT bytes of them (QEMU's default too: 1 MiB
 * maps 8 GiB with 64 KiB clusters), so a sequential pass over a disk of
 * up to that size reads each table once.  Refcount blocks: 4 (one block
 * of 64 KiB covers 2 GiB of file).  Both settable (blk_set_cache_size,
 * the drive spec's l2-cache-size / refcount-cache-size).
 */
#define QCOW2_L2_CACHE_DEFAULT (1u << 20)
#define QCOW2_RB_CACHE_DEFAULT_SLOTS 4
#define QCOW2_CACHE_MIN_SLOTS 2
#define QCOW2_CACHE_MAX_SLOTS 4096
/* L2 entries changed in the cache before a commit writes them back. */
#define QCOW2_MAX_PENDING 1024
/* Missing refcount blocks allocated together (one barrier for all). */
#define QCOW2_RB_PREALLOC 4
/* Guest clusters one vectored extent may allocate before it is written. */
#define QCOW2_EXTENT_CLUSTERS 64

enum qcow2_ctype {
	QCOW2_UNALLOCATED,
	QCOW2_ZERO_PLAIN,
	QCOW2_ZERO_ALLOC,
	QCOW2_NORMAL,
	QCOW2_COMPRESSED,
};

struct qcow2_l2_slot {
	uint64_t offset; /* host offset of the table; 0 = empty slot */
	uint64_t *table; /* host-endian entries */
	uint64_t used;   /* LRU clock */
	bool dirty;      /* entries changed since the file's copy */
};

/* A cached refcount block, in the file's (big-endian) layout. */
struct qcow2_rb_slot {
	uint64_t offset; /* host offset of the block; 0 = empty slot */
	uint8_t *data;
	uint64_t used;
	bool dirty;
};

struct qcow2 {
	int version;
	unsigned cluster_bits;
	uint32_t cluster_size;
	unsigned l2_bits;
	uint32_t l2_entries;
	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1;
	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;
	unsigned refcount_order;
	uint64_t rb_entries; /* refcount entries per refcount block */
	uint64_t refcount_max;
	uint64_t incompat;
	uint32_t nb_snapshots;
	unsigned csize_shift; /* spec "Compressed Clusters Descriptor": x */
	uint64_t csize_mask;
	char backing_name[QCOW2_MAX_BACKING_NAME + 1];
	char backing_format[16];
	struct blk_image *backing;
	uint64_t file_size; /* bytes really in the file */
	uint64_t file_end;  /* next cluster to hand out (>= file_size) */
	struct qcow2_l2_slot *l2_cache;
	unsigned l2_slots;
	uint64_t l2_clock;
	struct qcow2_rb_slot *rb_cache;
	unsigned rb_slots;
	uint64_t rb_clock;
	size_t nchanged;        /* L2 entries changed since the last commit */
	struct iovec *xiov;     /* a slice of the caller's segments */
	size_t xiov_cap;
	uint8_t *cluster_buf;   /* one cluster, for copy-on-write */
	uint8_t *meta_buf;      /* one cluster, for writing an L2 table back */
	uint8_t *gather_buf;    /* one cluster: a partial write's bytes */
	uint8_t *zbuf;          /* compressed bytes: two clusters */
	uint8_t *dcache;        /* the last decompressed cluster */
	uint64_t dcache_entry;  /* its L2 entry; 0 = empty */
	uint64_t cpack_off;     /* where the next compressed cluster goes */
	uint64_t cpack_end;
	struct qcow2_pending *pending;
	size_t npending;
	/*
	 * Host clusters holding metadata (header, L1 table, refcount table
	 * and blocks, L2 tables), sorted: no data cluster and no new
	 * metadata cluster may be written over one of them (QEMU's
	 * "metadata overlap check").  A hit marks the image corrupt.
	 */
	uint64_t *meta;
	size_t nmeta, meta_cap;
	bool corrupt;
};

/*
 * An L2 entry whose old value held clusters: they are freed only after
 * the new entry is durable (the commit).
 */
struct qcow2_pending {
	uint64_t old_entry;
};

static bool qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 8 && blk_be32(buf + QCOW2_HDR_MAGIC) == QCOW2_MAGIC;
}

static struct qcow2 *qcow2_state(struct blk_image *img)
{
	return img->opaque;
}

/* ------------------------------------------------------------------ */
/* Metadata overlap checks                                              */

/* Index of the first entry >= c in the sorted metadata set. */
static size_t qcow2_meta_lower(const struct qcow2 *s, uint64_t c)
{
	size_t lo = 0, hi = s->nmeta;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->meta[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does [off, off+bytes) touch a metadata cluster? */
static bool qcow2_meta_overlaps(const struct qcow2 *s, uint64_t off,
				uint64_t bytes)
{
	uint64_t first = off >> s->cluster_bits, last;
	size_t i;

	if (!bytes)
		return false;
	last = (off + bytes - 1) >> s->cluster_bits;
	i = qcow2_meta_lower(s, first);
	return i < s->nmeta && s->meta[i] <= last;
}

static int qcow2_meta_add(struct blk_image *img, struct qcow2 *s,
			  uint64_t off, uint64_t bytes)
{
	uint64_t first = off >> s->cluster_bits;
	uint64_t last = (off + bytes - 1) >> s->cluster_bits;

	for (uint64_t c = first; bytes && c <= last; c++) {
		size_t i = qcow2_meta_lower(s, c);

		if (i < s->nmeta && s->meta[i] == c)
			continue;
		if (s->nmeta == s->meta_cap) {
			size_t cap = s->meta_cap ? 2 * s->meta_cap : 64;
			uint64_t *m = realloc(s->meta, cap * sizeof(*m));

			if (!m)
				return blk_seterr(img, ENOMEM, "out of memory");
			s->meta = m;
			s->meta_cap = cap;
		}
		memmove(s->meta + i + 1, s->meta + i,
			(s->nmeta - i) * sizeof(*s->meta));
		s->meta[i] = c;
		s->nmeta++;
	}
	return 0;
}

static void qcow2_meta_del(struct qcow2 *s, uint64_t off, uint64_t bytes)
{
	uint64_t first = off >> s->cluster_bits;
	uint64_t last = (off + bytes - 1) >> s->cluster_bits;

	for (uint64_t c = first; bytes && c <= last; c++) {
		size_t i = qcow2_meta_lower(s, c);

		if (i < s->nmeta && s->meta[i] == c) {
			memmove(s->meta + i, s->meta + i + 1,
				(s->nmeta - i - 1) * sizeof(*s->meta));
			s->nmeta--;
		}
	}
}

/* Which metadata holds host cluster c (for the error line). */
static const char *qcow2_meta_name(const struct qcow2 *s, uint64_t c)
{
	uint64_t off = c << s->cluster_bits;
	uint64_t l1_end = s->l1_offset + (uint64_t)s->l1_size * 8;
	uint64_t rt_end = s->rt_offset + ((uint64_t)s->rt_clusters << s->cluster_bits);

	if (c == 0)
		return "the header";
	if (off + s->cluster_size > s->l1_offset && off < l1_end)
		return "the L1 table";
	if (off >= s->rt_offset && off < rt_end)
		return "the refcount table";
	for (uint64_t i = 0; i < s->rt_entries; i++)
		if (s->rt[i] == off)
			return "a refcount block";
	return "an L2 table";
}

/*
 * Mark the image corrupt as QEMU does (incompatible feature bit 1 in a
 * v3 header; v2 has no such bit), so neither Hutch nor QEMU writes to it
 * again before `qemu-img check -r all`.  Returns -EIO with the line.
 */
static int qcow2_signal_corruption(struct blk_image *img, struct qcow2 *s,
				   const char *what, uint64_t off)
{
	uint64_t c = off >> s->cluster_bits;
	size_t i = qcow2_meta_lower(s, c);
	const char *meta = qcow2_meta_name(s, i < s->nmeta ? s->meta[i] : c);

	s->corrupt = true;
	if (s->version >= 3 && !(img->flags & BLK_RDONLY)) {
		uint8_t be[8];

		s->incompat |= QCOW2_INCOMPAT_CORRUPT;
		blk_put_be64(be, s->incompat);
		/* Best effort: the request fails whatever happens here. */
		if (blk_file_pwrite(img->fd, be, 8, QCOW2_HDR_INCOMPAT) == 0)
			(void)blk_file_sync(img->fd);
	}
	return blk_seterr(img, EIO, "%s at host offset %llu overlaps %s; "
			  "request refused, image marked corrupt (repair it with "
			  "'qemu-img check -r all')", what,
			  (unsigned long long)off, meta);
}

static int qcow2_check_writable(struct blk_image *img, struct qcow2 *s)
{
	if (s->corrupt)
		return blk_seterr(img, EIO, "image is marked corrupt; writes are "
				  "refused (repair it with 'qemu-img check -r all')");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Refcounts (spec "Host cluster management")                           */

static uint64_t qcow2_rc_field_get(const uint8_t *p, uint64_t idx,
				   unsigned order)
{
	unsigned bits = 1u << order;
	uint64_t v = 0;

	if (bits < 8)
		return (p[idx * bits / 8] >> (idx * bits % 8)) & ((1u << bits) - 1);
	for (unsigned i = 0; i < bits / 8; i++)
		v = v << 8 | p[idx * (bits / 8) + i];
	return v;
}

static void qcow2_rc_field_set(uint8_t *p, uint64_t idx, unsigned order,
			       uint64_t v)
{
	unsigned bits = 1u << order;

	if (bits < 8) {
		unsigned shift = (unsigned)(idx * bits % 8);
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);

		p[idx * bits / 8] = (uint8_t)((p[idx * bits / 8] & ~mask) |
					      ((v << shift) & mask));
		return;
	}
	for (unsigned i = bits / 8; i-- > 0;) {
		p[idx * (bits / 8) + i] = (uint8_t)v;
		v >>= 8;
	}
}

static int qcow2_reserve(struct blk_image *img, struct qcow2 *s, uint64_t n,
			 uint64_t *off)
{
	uint64_t bytes = n << s->cluster_bits;

	if (n > QCOW2_MAX_HOST_OFFSET >> s->cluster_bits ||
	    s->file_end > QCOW2_MAX_HOST_OFFSET - bytes)
		return blk_seterr(img, EFBIG, "image file would exceed %llu bytes",
				  (unsigned long long)QCOW2_MAX_HOST_OFFSET);
	/* New clusters come from the end of the file, past all metadata. */
	if (qcow2_meta_overlaps(s, s->file_end, bytes))
		return qcow2_signal_corruption(img, s, "new cluster",
					       s->file_end);
	*off = s->file_end;
	s->file_end += bytes;
	return 0;
}

static void qcow2_note_write(struct qcow2 *s, uint64_t off, uint64_t len)
{
	if (off + len > s->file_size)
		s->file_size = off + len;
}

static int qcow2_write(struct blk_image *img, struct qcow2 *s,
		       const void *buf, size_t len, uint64_t off,
		       const char *what)
{
	int ret = blk_file_pwrite(img->fd, buf, len, off);

	if (ret < 0)
		return blk_seterr(img, -ret, "writing %s at %llu: %s", what,
				  (unsigned long long)off, strerror(-ret));
	qcow2_note_write(s, off, len);
	return 0;
}

static int qcow2_refcount_update(struct blk_image *img, struct qcow2 *s,
				 uint64_t host_off, int64_t delta,
				 uint64_t *newval);

/* ------------------------------------------------------------------ */
/* The refcount block cache                                             */

/*
 * Refcount changes are made in cached blocks and written back whole:
 * when a dirty block is evicted, and at every barrier.  Writing a block
 * back early is always safe: an increment on disk before the L2 entry
 * that uses the cluster only leaks it if the process dies, and a
 * decrement is only ever made once the reference it drops is gone from
 * the file (qcow2_commit, the table moves).
 */
static int qcow2_rb_write_slot(struct blk_image *img, struct qcow2 *s,
			       struct qcow2_rb_slot *slot)
{
	int ret = qcow2_write(img, s, slot->data, s->cluster_size, slot->offset,
			      "refcount block");

	if (ret == 0)
		slot->dirty = false;
	return ret;
}

static int qcow2_rb_writeback(struct blk_image *img, struct qcow2 *s)
{
	for (unsigned i = 0; i < s->rb_slots; i++) {
		if (s->rb_cache[i].dirty) {
			int ret = qcow2_rb_write_slot(img, s, &s->rb_cache[i]);

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/*
 * Everything written so far (data clusters, new tables, refcounts still
 * in the cache) is durable when this returns; only then may something
 * point at it.
 */
static int qcow2_barrier(struct blk_image *img, struct qcow2 *s)
{
	int ret = qcow2_rb_writeback(img, s);

	return ret < 0 ? ret : blk_sync(img);
}

/* The cached copy of the refcount block at rb_off (LRU eviction). */
static int qcow2_rb_get(struct blk_image *img, struct qcow2 *s, uint64_t rb_off,
			struct qcow2_rb_slot **out)
{
	struct qcow2_rb_slot *slot = &s->rb_cache[0];
	int ret;

	for (unsigned i = 0; i < s->rb_slots; i++) {
		if (s->rb_cache[i].offset == rb_off) {
			s->rb_cache[i].used = ++s->rb_clock;
			*out = &s->rb_cache[i];
			return 0;
		}
		if (s->rb_cache[i].used < slot->used)
			slot = &s->rb_cache[i];
	}
	if (slot->offset && slot->dirty) {
		ret = qcow2_rb_write_slot(img, s, slot);
		if (ret < 0)
			return ret;
	}
	slot->offset = 0;
	ret = blk_file_pread(img->fd, slot->data, s->cluster_size, rb_off);
	if (ret < 0)
		return blk_seterr(img, -ret, "reading refcount block at %llu: %s",
				  (unsigned long long)rb_off, strerror(-ret));
	slot->offset = rb_off;
	slot->used = ++s->rb_clock;
	*out = slot;
	return 0;
}

/*
 * Grow the refcount table so that it has an entry need_idx.  The new
 * table and any refcount blocks describing it go at the end of the file,
 * refcounted in those blocks; only then does the header switch over.
 */
static int qcow2_grow_reftable(struct blk_image *img, struct qcow2 *s,
			       uint64_t need_idx)
{
	uint64_t cs = s->cluster_size, per_cluster = cs / 8;
	uint64_t new_clusters = (need_idx + 1 + per_cluster - 1) / per_cluster;
	uint64_t start, nblocks, *nrt = NULL, new_entries, first_blk, last_blk;
	uint64_t old_off = s->rt_offset, old_clusters = s->rt_clusters;
	uint8_t *buf = NULL;
	int ret;

	if (new_clusters < 2 * (uint64_t)s->rt_clusters)
		new_clusters = 2 * (uint64_t)s->rt_clusters;
	for (;;) {
		uint64_t prev = UINT64_MAX;

		if (new_clusters * cs > QCOW2_MAX_REFTABLE_BYTES)
			return blk_seterr(img, EFBIG,
					  "refcount table would exceed %u bytes",
					  QCOW2_MAX_REFTABLE_BYTES);
		new_entries = new_clusters * per_cluster;
		start = s->file_end >> s->cluster_bits;
		/* Count the refcount blocks needed for [start, start + n). */
		nblocks = 0;
		while (nblocks != prev) {
			prev = nblocks;
			first_blk = start / s->rb_entries;
			last_blk = (start + new_clusters + nblocks - 1) / s->rb_entries;
			nblocks = 0;
			for (uint64_t b = first_blk; b <= last_blk; b++)
				if (b >= s->rt_entries || !s->rt[b])
					nblocks++;
		}
		if (last_blk < new_entries && need_idx < new_entries)
			break;
		new_clusters *= 2;
	}
	nrt = calloc(new_entries, sizeof(*nrt));
	buf = malloc(cs);
	if (!nrt || !buf) {
		ret = blk_seterr(img, ENOMEM, "out of memory growing refcount table");
		goto out;
	}
	memcpy(nrt, s->rt, s->rt_entries * sizeof(*nrt));
	ret = qcow2_reserve(img, s, new_clusters + nblocks, &start);
	if (ret < 0)
		goto out;
	start >>= s->cluster_bits;
	/* The new refcount blocks follow the table. */
	{
		uint64_t next = start + new_clusters;
		uint64_t end = start + new_clusters + nblocks;

		for (uint64_t b = first_blk; b <= last_blk; b++) {
			if (b < s->rt_entries && s->rt[b])
				continue;
			memset(buf, 0, cs);
			for (uint64_t c = start; c < end; c++)
				if (c / s->rb_entries == b)
					qcow2_rc_field_set(buf, c % s->rb_entries,
							   s->refcount_order, 1);
			ret = qcow2_write(img, s, buf, cs, next << s->cluster_bits,
					  "refcount block");
			if (ret < 0)
				goto out;
			nrt[b] = next << s->cluster_bits;
			next++;
		}
		/* Clusters falling into blocks that already exist. */
		for (uint64_t c = start; c < end; c++) {
			uint64_t b = c / s->rb_entries;

			if (b < s->rt_entries && s->rt[b]) {
				ret = qcow2_refcount_update(img, s,
							    c << s->cluster_bits,
							    1, NULL);
				if (ret < 0)
					goto out;
			}
		}
	}
	for (uint64_t i = 0; i < new_clusters; i++) {
		for (uint64_t j = 0; j < per_cluster; j++)
			blk_put_be64(buf + j * 8, nrt[i * per_cluster + j]);
		ret = qcow2_write(img, s, buf, cs, (start + i) << s->cluster_bits,
				  "refcount table");
		if (ret < 0)
			goto out;
	}
	ret = qcow2_barrier(img, s);
	if (ret < 0)
		goto out;
	/* Offset and size are adjacent: one write switches both. */
	blk_put_be64(buf, start << s->cluster_bits);
	blk_put_be32(buf + 8, (uint32_t)new_clusters);
	ret = qcow2_write(img, s, buf, 12, QCOW2_HDR_REFTABLE_OFFSET, "header");
	if (ret == 0)
		ret = blk_sync(img);
	if (ret < 0)
		goto out;
	ret = qcow2_meta_add(img, s, start << s->cluster_bits,
			     (new_clusters + nblocks) << s->cluster_bits);
	if (ret < 0)
		goto out;
	qcow2_meta_del(s, old_off, old_clusters << s->cluster_bits);
	free(s->rt);
	s->rt = nrt;
	nrt = NULL;
	s->rt_entries = new_entries;
	s->rt_offset = start << s->cluster_bits;
	s->rt_clusters = (uint32_t)new_clusters;
	/* The old table is unreferenced now; a crash before this only leaks. */
	for (uint64_t i = 0; i < old_clusters; i++) {
		ret = qcow2_refcount_update(img, s, old_off + (i << s->cluster_bits),
					    -1, NULL);
		if (ret < 0)
			goto out;
	}
out:
	free(nrt);
	free(buf);
	return ret;
}

/*
 * Host offset of the refcount block for cluster c, allocating it.  A
 * missing block is allocated together with the next missing ones (up to
 * QCOW2_RB_PREALLOC, inside the table): a growing file needs them soon,
 * and one barrier and one table write then serve them all.  Blocks that
 * fall into their own range count themselves; the others are counted in
 * existing blocks, all before the barrier that precedes the table entries.
 */
static int qcow2_refblock_for(struct blk_image *img, struct qcow2 *s,
			      uint64_t c, uint64_t *rb_off)
{
	uint64_t idx = c / s->rb_entries, off = 0, n = 0;
	uint8_t *buf;
	int ret;

	if (idx >= s->rt_entries) {
		ret = qcow2_grow_reftable(img, s, idx);
		if (ret < 0)
			return ret;
	}
	if (s->rt[idx]) {
		*rb_off = s->rt[idx];
		return 0;
	}
	while (n < QCOW2_RB_PREALLOC && idx + n < s->rt_entries && !s->rt[idx + n])
		n++;
	ret = qcow2_reserve(img, s, n, &off);
	if (ret < 0)
		return ret;
	buf = calloc(n, s->cluster_size);
	if (!buf)
		return blk_seterr(img, ENOMEM, "out of memory");
	for (uint64_t k = 0; k < n; k++) {
		uint64_t self = (off >> s->cluster_bits) + k, b = self / s->rb_entries;

		if (b >= idx && b < idx + n)
			qcow2_rc_field_set(buf + (b - idx) * s->cluster_size,
					   self % s->rb_entries, s->refcount_order, 1);
	}
	ret = qcow2_write(img, s, buf, (size_t)n * s->cluster_size, off,
			  "refcount block");
	for (uint64_t k = 0; ret == 0 && k < n; k++) {
		uint64_t self = (off >> s->cluster_bits) + k, b = self / s->rb_entries;

		if (b < idx || b >= idx + n)
			ret = qcow2_refcount_update(img, s, off + (k << s->cluster_bits),
						    1, NULL);
	}
	if (ret == 0)
		ret = qcow2_barrier(img, s);
	if (ret == 0)
		ret = qcow2_meta_add(img, s, off, n << s->cluster_bits);
	if (ret == 0) {
		/* The entries are adjacent: one write. */
		for (uint64_t k = 0; k < n; k++) {
			blk_put_be64(buf + k * 8, off + (k << s->cluster_bits));
			s->rt[idx + k] = off + (k << s->cluster_bits);
		}
		ret = qcow2_write(img, s, buf, (size_t)n * 8, s->rt_offset + idx * 8,
				  "refcount table entries");
	}
	free(buf);
	if (ret == 0)
		*rb_off = off;
	return ret;
}

static int qcow2_refcount_get(struct blk_image *img, struct qcow2 *s,
			      uint64_t host_off, uint64_t *val)
{
	uint64_t c = host_off >> s->cluster_bits, idx = c / s->rb_entries;
	struct qcow2_rb_slot *slot;
	int ret;

	*val = 0;
	if (idx >= s->rt_entries || !s->rt[idx])
		return 0;
	ret = qcow2_rb_get(img, s, s->rt[idx], &slot);
	if (ret < 0)
		return ret;
	*val = qcow2_rc_field_get(slot->data, c % s->rb_entries, s->refcount_order);
	return 0;
}

static int qcow2_refcount_update(struct blk_image *img, struct qcow2 *s,
				 uint64_t host_off, int64_t delta,
				 uint64_t *newval)
{
	uint64_t c = host_off >> s->cluster_bits, rb = 0, old, val;
	struct qcow2_rb_slot *slot;
	int ret;

	ret = qcow2_refblock_for(img, s, c, &rb);
	if (ret == 0)
		ret = qcow2_rb_get(img, s, rb, &slot);
	if (ret < 0)
		return ret;
	old = qcow2_rc_field_get(slot->data, c % s->rb_entries, s->refcount_order);
	if (delta < 0 && old < (uint64_t)-delta)
		return blk_seterr(img, EIO,
				  "refcount of cluster at %llu would drop below 0 "
				  "(image corrupt)", (unsigned long long)host_off);
	if (delta > 0 && s->refcount_max - old < (uint64_t)delta)
		return blk_seterr(img, ERANGE,
				  "refcount of cluster at %llu would overflow %llu",
				  (unsigned long long)host_off,
				  (unsigned long long)s->refcount_max);
	val = old + (uint64_t)delta;
	qcow2_rc_field_set(slot->data, c % s->rb_entries, s->refcount_order, val);
	slot->dirty = true;
	if (val == 0)
		/* Give the space back; failure only costs space. */
		(void)fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)(c << s->cluster_bits),
				(off_t)s->cluster_size);
	if (newval)
		*newval = val;
	return 0;
}

/* ------------------------------------------------------------------ */
/* L1/L2 tables (spec "Cluster mapping")                               */

static int qcow2_commit(struct blk_image *img, struct qcow2 *s);

/*
 * The cached copy of the L2 table at l2_off (fresh: a new table, all
 * zeros, not read).  Evicting a dirty table commits first: its entries
 * may only reach the file behind the barrier.
 */
static int qcow2_l2_load(struct blk_image *img, struct qcow2 *s,
			 uint64_t l2_off, bool fresh, struct qcow2_l2_slot **out)
{
	struct qcow2_l2_slot *slot = &s->l2_cache[0];
	uint8_t *raw;
	int ret;

	for (unsigned i = 0; i < s->l2_slots; i++) {
		if (s->l2_cache[i].offset == l2_off) {
			s->l2_cache[i].used = ++s->l2_clock;
			*out = &s->l2_cache[i];
			return 0;
		}
		if (s->l2_cache[i].used < slot->used)
			slot = &s->l2_cache[i];
	}
	if (slot->offset && slot->dirty) {
		ret = qcow2_commit(img, s);
		if (ret < 0)
			return ret;
	}
	slot->offset = 0;
	if (fresh) {
		memset(slot->table, 0, (size_t)s->l2_entries * 8);
	} else {
		raw = (uint8_t *)slot->table;
		ret = blk_file_pread(img->fd, raw, s->cluster_size, l2_off);
		if (ret < 0)
			return blk_seterr(img, -ret, "reading L2 table at %llu: %s",
					  (unsigned long long)l2_off,
					  strerror(-ret));
		for (uint32_t i = 0; i < s->l2_entries; i++)
			slot->table[i] = blk_be64(raw + (size_t)i * 8);
	}
	slot->offset = l2_off;
	slot->used = ++s->l2_clock;
	*out = slot;
	return 0;
}

/*
 * The L2 table covering guest_off: *table NULL if none (and !alloc).
 * With alloc, a missing table is created (zeros, refcount, barrier, L1).
 */
static int qcow2_get_l2(struct blk_image *img, struct qcow2 *s,
			uint64_t guest_off, bool alloc, struct qcow2_l2_slot **table)
{
	uint64_t l1_idx = guest_off >> (s->cluster_bits + s->l2_bits);
	uint64_t l2_off, e;
	uint8_t be[8];
	int ret;

	*table = NULL;
	if (l1_idx >= s->l1_size)
		return blk_seterr(img, EIO, "offset %llu beyond the L1 table",
				  (unsigned long long)guest_off);
	e = s->l1[l1_idx];
	l2_off = e & QCOW2_OFFSET_MASK;
	if (l2_off) {
		if (alloc && !(e & QCOW2_OFLAG_COPIED))
			return blk_seterr(img, ENOTSUP,
					  "L2 table at %llu is shared (snapshot); "
					  "writing it is not supported",
					  (unsigned long long)l2_off);
		return qcow2_l2_load(img, s, l2_off, false, table);
	}
	if (!alloc)
		return 0;
	ret = qcow2_reserve(img, s, 1, &l2_off);
	if (ret < 0)
		return ret;
	memset(s->cluster_buf, 0, s->cluster_size);
	ret = qcow2_write(img, s, s->cluster_buf, s->cluster_size, l2_off,
			  "L2 table");
	if (ret == 0)
		ret = qcow2_refcount_update(img, s, l2_off, 1, NULL);
	if (ret == 0)
		ret = qcow2_barrier(img, s);
	if (ret == 0)
		ret = qcow2_meta_add(img, s, l2_off, s->cluster_size);
	if (ret < 0)
		return ret;
	s->l1[l1_idx] = l2_off | QCOW2_OFLAG_COPIED;
	blk_put_be64(be, s->l1[l1_idx]);
	ret = qcow2_write(img, s, be, 8, s->l1_offset + l1_idx * 8, "L1 entry");
	if (ret < 0)
		return ret;
	return qcow2_l2_load(img, s, l2_off, true, table);
}

static uint32_t qcow2_l2_index(struct qcow2 *s, uint64_t guest_off)
{
	return (uint32_t)((guest_off >> s->cluster_bits) & (s->l2_entries - 1));
}

static int qcow2_get_entry(struct blk_image *img, struct qcow2 *s,
			   uint64_t guest_off, uint64_t *entry)
{
	struct qcow2_l2_slot *table;
	int ret = qcow2_get_l2(img, s, guest_off, false, &table);

	*entry = 0;
	if (ret == 0 && table)
		*entry = table->table[qcow2_l2_index(s, guest_off)];
	return ret;
}

/*
 * Point guest_off's L2 entry at new_entry: in the cached table now (so
 * reads see it), in the file at the next commit, behind a barrier.  The
 * clusters old_entry held are freed after that.
 */
static int qcow2_update_entry(struct blk_image *img, struct qcow2 *s,
			      uint64_t guest_off, uint64_t new_entry,
			      uint64_t old_entry)
{
	struct qcow2_l2_slot *table;
	uint32_t i = qcow2_l2_index(s, guest_off);
	int ret;

	if ((s->nchanged >= QCOW2_MAX_PENDING || s->npending == QCOW2_MAX_PENDING) &&
	    (ret = qcow2_commit(img, s)) < 0)
		return ret;
	ret = qcow2_get_l2(img, s, guest_off, true, &table);
	if (ret < 0)
		return ret;
	table->table[i] = new_entry;
	table->dirty = true;
	s->nchanged++;
	if (old_entry & (QCOW2_OFFSET_MASK | QCOW2_OFLAG_COMPRESSED))
		s->pending[s->npending++].old_entry = old_entry;
	return 0;
}

static int qcow2_classify(struct blk_image *img, struct qcow2 *s,
			  uint64_t entry, enum qcow2_ctype *type)
{
	if (entry & QCOW2_OFLAG_COMPRESSED) {
		if (entry & QCOW2_OFLAG_COPIED)
			return blk_seterr(img, EIO, "compressed L2 entry %#llx "
					  "has the copied flag (image corrupt)",
					  (unsigned long long)entry);
		*type = QCOW2_COMPRESSED;
		return 0;
	}
	if (entry & QCOW2_L2_STD_RESERVED)
		return blk_seterr(img, EIO, "L2 entry %#llx has reserved bits "
				  "set (image corrupt)", (unsigned long long)entry);
	if (entry & QCOW2_OFLAG_ZERO) {
		if (s->version < 3)
			return blk_seterr(img, EIO, "zero flag in a version 2 "
					  "image (image corrupt)");
		*type = (entry & QCOW2_OFFSET_MASK) ? QCOW2_ZERO_ALLOC :
						      QCOW2_ZERO_PLAIN;
		return 0;
	}
	*type = (entry & QCOW2_OFFSET_MASK) ? QCOW2_NORMAL : QCOW2_UNALLOCATED;
	if (*type == QCOW2_NORMAL) {
		uint64_t off = entry & QCOW2_OFFSET_MASK;

		if (off & (s->cluster_size - 1))
			return blk_seterr(img, EIO, "data cluster offset %llu not "
					  "aligned to the cluster size (image corrupt)",
					  (unsigned long long)off);
		if (off >= s->file_end)
			return blk_seterr(img, EIO, "data cluster offset %llu beyond "
					  "the end of the file (image corrupt)",
					  (unsigned long long)off);
	}
	return 0;
}

/* Spec "Compressed Clusters Descriptor": where the bytes are. */
static void qcow2_compressed_range(struct qcow2 *s, uint64_t entry,
				   uint64_t *coff, uint64_t *csize)
{
	uint64_t nsec;

	*coff = entry & ((1ull << s->csize_shift) - 1);
	nsec = ((entry >> s->csize_shift) & s->csize_mask) + 1;
	*csize = nsec * QCOW2_COMPRESSED_SECTOR -
		 (*coff & (QCOW2_COMPRESSED_SECTOR - 1));
}

/*
 * An L2 entry about to be written through or freed must not name a
 * metadata cluster: writing guest data there, or freeing it (refcount
 * 0 punches a hole), would destroy the image's own tables.  guest_off is
 * for the message (UINT64_MAX: not known).
 */
static int qcow2_check_entry(struct blk_image *img, struct qcow2 *s,
			     uint64_t entry, uint64_t guest_off)
{
	uint64_t off, len;
	char what[64];

	if (entry & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(s, entry, &off, &len);
	} else {
		off = entry & QCOW2_OFFSET_MASK;
		len = off ? s->cluster_size : 0;
	}
	if (!qcow2_meta_overlaps(s, off, len))
		return 0;
	if (guest_off == UINT64_MAX)
		snprintf(what, sizeof(what), "freed data cluster");
	else
		snprintf(what, sizeof(what), "data cluster of guest offset %llu",
			 (unsigned long long)guest_off);
	return qcow2_signal_corruption(img, s, what, off);
}

static int qcow2_decompress(struct blk_image *img, struct qcow2 *s,
			    uint64_t entry)
{
	uint64_t coff, csize;
	z_stream zs;
	int ret;

	if (s->dcache_entry == entry)
		return 0;
	qcow2_compressed_range(s, entry, &coff, &csize);
	if (coff >= s->file_size)
		return blk_seterr(img, EIO, "compressed cluster at %llu beyond the "
				  "end of the file (image corrupt)",
				  (unsigned long long)coff);
	ret = blk_file_pread_zero(img->fd, s->zbuf, csize, coff);
	if (ret < 0)
		return blk_seterr(img, -ret, "reading compressed cluster at %llu: %s",
				  (unsigned long long)coff, strerror(-ret));
	memset(&zs, 0, sizeof(zs));
	/* Raw deflate; a 32 KiB window decodes any smaller window too. */
	if (inflateInit2(&zs, -15) != Z_OK)
		return blk_seterr(img, ENOMEM, "inflateInit2 failed");
	zs.next_in = s->zbuf;
	zs.avail_in = (uInt)csize;
	zs.next_out = s->dcache;
	zs.avail_out = s->cluster_size;
	ret = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (!(ret == Z_STREAM_END || ((ret == Z_OK || ret == Z_BUF_ERROR) &&
				      zs.avail_out == 0)) || zs.avail_out) {
		s->dcache_entry = 0;
		return blk_seterr(img, EIO, "compressed cluster at %llu does not "
				  "inflate to a whole cluster (image corrupt)",
				  (unsigned long long)coff);
	}
	s->dcache_entry = entry;
	return 0;
}

/* Read [off, off+len) within one cluster, following the backing chain. */
static int qcow2_read_in_cluster(struct blk_image *img, struct qcow2 *s,
				 uint8_t *buf, size_t len, uint64_t off)
{
	uint64_t in = off & (s->cluster_size - 1), entry;
	enum qcow2_ctype type;
	size_t n = len;
	int ret;

	/* Bytes past the virtual end (of the last cluster) read as zeros. */
	if (off >= img->size) {
		memset(buf, 0, len);
		return 0;
	}
	if (img->size - off < len) {
		n = (size_t)(img->size - off);
		memset(buf + n, 0, len - n);
	}
	ret = qcow2_get_entry(img, s, off, &entry);
	if (ret == 0)
		ret = qcow2_classify(img, s, entry, &type);
	if (ret < 0)
		return ret;
	switch (type) {
	case QCOW2_UNALLOCATED:
		if (s->backing && off < blk_size(s->backing)) {
			size_t m = blk_size(s->backing) - off < n ?
				   (size_t)(blk_size(s->backing) - off) : n;

			ret = blk_pread(s->backing, buf, m, off);
			if (ret < 0)
				return blk_seterr(img, -ret, "%s",
						  blk_last_error(s->backing));
			memset(buf + m, 0, n - m);
		} else {
			memset(buf, 0, n);
		}
		return 0;
	case QCOW2_ZERO_PLAIN:
	case QCOW2_ZERO_ALLOC:
		memset(buf, 0, n);
		return 0;
	case QCOW2_NORMAL:
		ret = blk_file_pread_zero(img->fd, buf, n,
					  (entry & QCOW2_OFFSET_MASK) + in);
		if (ret < 0)
			return blk_seterr(img, -ret, "reading cluster at %llu: %s",
					  (unsigned long long)(entry & QCOW2_OFFSET_MASK),
					  strerror(-ret));
		return 0;
	case QCOW2_COMPRESSED:
		ret = qcow2_decompress(img, s, entry);
		if (ret < 0)
			return ret;
		memcpy(buf, s->dcache + in, n);
		return 0;
	}
	return 0;
}

static int qcow2_pread(struct blk_image *img, void *buf, size_t len,
		       uint64_t off)
{
	struct qcow2 *s = qcow2_state(img);
	uint8_t *p = buf;

	while (len) {
		uint64_t in = off & (s->cluster_size - 1);
		size_t n = s->cluster_size - in < len ?
			   (size_t)(s->cluster_size - in) : len;
		int ret = qcow2_read_in_cluster(img, s, p, n, off);

		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Drop one reference from every host cluster an old L2 entry used. */
static int qcow2_free_entry(struct blk_image *img, struct qcow2 *s,
			    uint64_t entry)
{
	uint64_t coff, csize, first, last;
	int ret = qcow2_check_entry(img, s, entry, UINT64_MAX);

	if (ret < 0)
		return ret;
	if (entry & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(s, entry, &coff, &csize);
		first = coff >> s->cluster_bits;
		last = (coff + csize - 1) >> s->cluster_bits;
		if (s->dcache_entry == entry)
			s->dcache_entry = 0;
		for (uint64_t c = first; c <= last; c++) {
			ret = qcow2_refcount_update(img, s, c << s->cluster_bits,
						    -1, NULL);
			if (ret < 0)
				return ret;
		}
		return 0;
	}
	if (entry & QCOW2_OFFSET_MASK)
		return qcow2_refcount_update(img, s, entry & QCOW2_OFFSET_MASK,
					     -1, NULL);
	return 0;
}

/*
 * Write the changed L2 tables back behind a barrier (the data clusters
 * and refcounts they point at are durable first), then, once they are
 * durable too, drop the references the old entries held:
 *
 *   data, refcount blocks -> fdatasync -> L2 tables -> fdatasync -> frees
 *
 * A table goes out whole (one write per table, not one per entry).
 */
static int qcow2_commit(struct blk_image *img, struct qcow2 *s)
{
	size_t n = s->npending;
	bool dirty = false;
	int ret;

	for (unsigned i = 0; i < s->l2_slots; i++)
		dirty |= s->l2_cache[i].dirty;
	if (!dirty && !n)
		return 0;
	ret = qcow2_barrier(img, s);
	for (unsigned i = 0; ret == 0 && i < s->l2_slots; i++) {
		struct qcow2_l2_slot *slot = &s->l2_cache[i];

		if (!slot->dirty)
			continue;
		for (uint32_t k = 0; k < s->l2_entries; k++)
			blk_put_be64(s->meta_buf + (size_t)k * 8, slot->table[k]);
		ret = qcow2_write(img, s, s->meta_buf, s->cluster_size, slot->offset,
				  "L2 table");
		if (ret == 0)
			slot->dirty = false;
	}
	if (ret == 0 && n)
		ret = blk_sync(img);
	if (ret == 0) {
		s->npending = 0;
		s->nchanged = 0;
	}
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = qcow2_free_entry(img, s, s->pending[i].old_entry);
	if (ret < 0) {
		/* The cache may be ahead of the file now: start again from it. */
		for (unsigned i = 0; i < s->l2_slots; i++) {
			s->l2_cache[i].offset = 0;
			s->l2_cache[i].dirty = false;
		}
		s->npending = 0;
		s->nchanged = 0;
	}
	return ret;
}

static int qcow2_pwrite(struct blk_image *img, const void *buf, size_t len,
			uint64_t off)
{
	struct qcow2 *s = qcow2_state(img);
	const uint8_t *p = buf;
	int ret = qcow2_check_writable(img, s);

	while (ret == 0 && len) {
		uint64_t in = off & (s->cluster_size - 1), entry, host = 0;
		uint64_t cstart = off - in;
		size_t n = s->cluster_size - in < len ?
			   (size_t)(s->cluster_size - in) : len;
		enum qcow2_ctype type;

		ret = qcow2_get_entry(img, s, off, &entry);
		if (ret == 0)
			ret = qcow2_classify(img, s, entry, &type);
		/* Written through, or freed after the copy: never metadata. */
		if (ret == 0)
			ret = qcow2_check_entry(img, s, entry, cstart);
		if (ret < 0)
			break;
		if (type == QCOW2_NORMAL && (entry & QCOW2_OFLAG_COPIED)) {
			ret = qcow2_write(img, s, p, n,
					  (entry & QCOW2_OFFSET_MASK) + in, "data");
			if (ret < 0)
				break;
		} else {
			/* Copy-on-write into a new cluster at the end. */
			if (n < s->cluster_size) {
				ret = qcow2_read_in_cluster(img, s, s->cluster_buf,
							    s->cluster_size, cstart);
				if (ret < 0)
					break;
			}
			memcpy(s->cluster_buf + in, p, n);
			ret = qcow2_reserve(img, s, 1, &host);
			if (ret == 0)
				ret = qcow2_write(img, s, s->cluster_buf,
						  s->cluster_size, host, "data");
			if (ret == 0)
				ret = qcow2_refcount_update(img, s, host, 1, NULL);
			if (ret < 0)
				break;
			if (s->dcache_entry == entry)
				s->dcache_entry = 0;
			ret = qcow2_update_entry(img, s, cstart,
						 host | QCOW2_OFLAG_COPIED, entry);
			if (ret < 0)
				break;
		}
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Vectored I/O straight between the file and the caller's segments     */

/* A position in the caller's scatter list, advanced as bytes are used. */
struct qcow2_cursor {
	const struct iovec *iov;
	int cnt, i;
	size_t in; /* bytes of iov[i] used */
};

/* s->xiov = the next len bytes of the list as segments (*n of them). */
static int qcow2_cur_take(struct blk_image *img, struct qcow2 *s,
			  struct qcow2_cursor *c, size_t len, int *n)
{
	*n = 0;
	while (len && c->i < c->cnt) {
		size_t seg = c->iov[c->i].iov_len - c->in;

		if ((size_t)*n == s->xiov_cap) {
			size_t cap = s->xiov_cap ? 2 * s->xiov_cap : 64;
			struct iovec *v = realloc(s->xiov, cap * sizeof(*v));

			if (!v)
				return blk_seterr(img, ENOMEM, "out of memory");
			s->xiov = v;
			s->xiov_cap = cap;
		}
		if (seg > len)
			seg = len;
		s->xiov[*n].iov_base = (uint8_t *)c->iov[c->i].iov_base + c->in;
		s->xiov[*n].iov_len = seg;
		(*n)++;
		len -= seg;
		c->in += seg;
		if (c->in == c->iov[c->i].iov_len) {
			c->i++;
			c->in = 0;
		}
	}
	return 0;
}

/* Copy len bytes between buf and the list (to_list: buf -> list); buf
 * NULL writes zeros into the list. */
static void qcow2_cur_copy(struct qcow2_cursor *c, uint8_t *buf, size_t len,
			   bool to_list)
{
	while (len && c->i < c->cnt) {
		uint8_t *p = (uint8_t *)c->iov[c->i].iov_base + c->in;
		size_t seg = c->iov[c->i].iov_len - c->in;

		if (seg > len)
			seg = len;
		if (!buf)
			memset(p, 0, seg);
		else if (to_list)
			memcpy(p, buf, seg);
		else
			memcpy(buf, p, seg);
		if (buf)
			buf += seg;
		len -= seg;
		c->in += seg;
		if (c->in == c->iov[c->i].iov_len) {
			c->i++;
			c->in = 0;
		}
	}
}

/* Bytes at consecutive host offsets, waiting to go in one system call. */
struct qcow2_extent {
	uint64_t host;
	size_t len;
	/* Whole guest clusters this extent allocates (written into new ones). */
	unsigned nalloc;
	struct {
		uint64_t guest, host, old_entry;
	} alloc[QCOW2_EXTENT_CLUSTERS];
};

static int qcow2_extent_read(struct blk_image *img, struct qcow2 *s,
			     struct qcow2_cursor *c, struct qcow2_extent *x)
{
	int n, ret;

	if (!x->len)
		return 0;
	ret = qcow2_cur_take(img, s, c, x->len, &n);
	if (ret < 0)
		return ret;
	ret = blk_file_preadv_zero(img->fd, s->xiov, n, x->host);
	if (ret < 0)
		return blk_seterr(img, -ret, "reading clusters at %llu: %s",
				  (unsigned long long)x->host, strerror(-ret));
	x->len = 0;
	return 0;
}

static int qcow2_preadv(struct blk_image *img, const struct iovec *iov,
			int iovcnt, size_t len, uint64_t off)
{
	struct qcow2 *s = qcow2_state(img);
	struct qcow2_cursor c = { iov, iovcnt, 0, 0 };
	struct qcow2_extent x = { 0 };
	int ret = 0;

	while (len && ret == 0) {
		uint64_t in = off & (s->cluster_size - 1), entry = 0;
		size_t n = s->cluster_size - in < len ?
			   (size_t)(s->cluster_size - in) : len;
		enum qcow2_ctype type = QCOW2_UNALLOCATED;

		/* Allocated clusters wholly inside the disk join the extent. */
		if (off + n <= img->size) {
			ret = qcow2_get_entry(img, s, off, &entry);
			if (ret == 0)
				ret = qcow2_classify(img, s, entry, &type);
			if (ret < 0)
				break;
		}
		if (off + n <= img->size && type == QCOW2_NORMAL) {
			uint64_t host = (entry & QCOW2_OFFSET_MASK) + in;

			if (x.len && host != x.host + x.len)
				ret = qcow2_extent_read(img, s, &c, &x);
			if (!x.len)
				x.host = host;
			x.len += n;
		} else {
			/* Zeros, the backing file, compressed: one cluster at a time. */
			ret = qcow2_extent_read(img, s, &c, &x);
			if (ret == 0 && (type == QCOW2_ZERO_PLAIN || type == QCOW2_ZERO_ALLOC ||
					 (type == QCOW2_UNALLOCATED && !s->backing &&
					  off + n <= img->size))) {
				qcow2_cur_copy(&c, NULL, n, true);
			} else if (ret == 0) {
				ret = qcow2_read_in_cluster(img, s, s->cluster_buf, n, off);
				if (ret == 0)
					qcow2_cur_copy(&c, s->cluster_buf, n, true);
			}
		}
		off += n;
		len -= n;
	}
	if (ret == 0)
		ret = qcow2_extent_read(img, s, &c, &x);
	return ret;
}

/*
 * The L2 table at l2_off if reading it changes nothing in the file: cached
 * already, or the slot it would take is clean (no commit on eviction).
 * NULL otherwise (or on a read error): the caller takes the exclusive path.
 */
static struct qcow2_l2_slot *qcow2_l2_peek(struct blk_image *img, struct qcow2 *s,
					   uint64_t l2_off)
{
	struct qcow2_l2_slot *slot = &s->l2_cache[0];

	for (unsigned i = 0; i < s->l2_slots; i++) {
		if (s->l2_cache[i].offset == l2_off) {
			s->l2_cache[i].used = ++s->l2_clock;
			return &s->l2_cache[i];
		}
		if (s->l2_cache[i].used < slot->used)
			slot = &s->l2_cache[i];
	}
	if (slot->offset && slot->dirty)
		return NULL;
	return qcow2_l2_load(img, s, l2_off, false, &slot) < 0 ? NULL : slot;
}

/*
 * blk_format.map_direct: [off, off + len) as one run of host offsets in
 * this file, if every cluster of it is allocated data (NORMAL; for a
 * write also COPIED, so it is overwritten in place) and they lie next to
 * each other.  Then block.c moves the data with no lock but the shared
 * side of img->rw, beside other such requests: an overwrite of a cluster
 * already referenced changes no metadata, so it needs no barrier and the
 * crash ordering above is untouched.  Anything else (unallocated, zero,
 * compressed, backing, a cluster to copy, a table whose load would
 * commit, a corrupt entry) returns 0: the exclusive path does it, and
 * reports what is wrong.  Under img->lock; it may read an L2 table into
 * a clean cache slot but never writes the file.
 */
static int qcow2_map_direct(struct blk_image *img, uint64_t off, size_t len,
			    bool write, uint64_t *host_out)
{
	struct qcow2 *s = qcow2_state(img);
	uint64_t next = 0, first = 0;

	if (write && s->corrupt)
		return 0;
	while (len) {
		uint64_t in = off & (s->cluster_size - 1);
		uint64_t l1_idx = off >> (s->cluster_bits + s->l2_bits);
		size_t n = s->cluster_size - in < len ? (size_t)(s->cluster_size - in) : len;
		struct qcow2_l2_slot *table;
		uint64_t l2_off, entry, host;

		if (l1_idx >= s->l1_size)
			return 0;
		l2_off = s->l1[l1_idx] & QCOW2_OFFSET_MASK;
		if (!l2_off || !(table = qcow2_l2_peek(img, s, l2_off)))
			return 0;
		entry = table->table[qcow2_l2_index(s, off)];
		if (entry & (QCOW2_OFLAG_COMPRESSED | QCOW2_OFLAG_ZERO | QCOW2_L2_STD_RESERVED))
			return 0;
		host = entry & QCOW2_OFFSET_MASK;
		if (!host || (host & (s->cluster_size - 1)) || host >= s->file_end)
			return 0;
		if (write && (!(entry & QCOW2_OFLAG_COPIED) ||
			      qcow2_meta_overlaps(s, host, s->cluster_size)))
			return 0;
		host += in;
		if (next && host != next)
			return 0;
		if (!next)
			first = host;
		next = host + n;
		off += n;
		len -= n;
	}
	if (write)
		qcow2_note_write(s, first, next - first);
	*host_out = first;
	return 1;
}

/*
 * Write the extent in one pwritev, then account for the clusters it
 * allocated: refcount +1 (cached) and the new L2 entries (cached), which
 * reach the file only at the next commit, behind a barrier.  A failed
 * write leaves the reserved clusters unreferenced (leaked), never
 * pointed at.
 */
static int qcow2_extent_write(struct blk_image *img, struct qcow2 *s,
			      struct qcow2_cursor *c, struct qcow2_extent *x)
{
	int n, ret;

	if (!x->len)
		return 0;
	ret = qcow2_cur_take(img, s, c, x->len, &n);
	if (ret == 0)
		ret = blk_file_pwritev(img->fd, s->xiov, n, x->host);
	if (ret < 0)
		return blk_seterr(img, -ret, "writing clusters at %llu: %s",
				  (unsigned long long)x->host, strerror(-ret));
	qcow2_note_write(s, x->host, x->len);
	x->len = 0;
	for (unsigned i = 0; ret == 0 && i < x->nalloc; i++) {
		ret = qcow2_refcount_update(img, s, x->alloc[i].host, 1, NULL);
		if (ret == 0 && s->dcache_entry == x->alloc[i].old_entry)
			s->dcache_entry = 0;
		if (ret == 0)
			ret = qcow2_update_entry(img, s, x->alloc[i].guest,
						 x->alloc[i].host | QCOW2_OFLAG_COPIED,
						 x->alloc[i].old_entry);
	}
	x->nalloc = 0;
	return ret;
}

static int qcow2_pwritev(struct blk_image *img, const struct iovec *iov,
			 int iovcnt, size_t len, uint64_t off)
{
	struct qcow2 *s = qcow2_state(img);
	struct qcow2_cursor c = { iov, iovcnt, 0, 0 };
	struct qcow2_extent *x = calloc(1, sizeof(*x));
	int ret = qcow2_check_writable(img, s);

	if (!x)
		return blk_seterr(img, ENOMEM, "out of memory");
	while (ret == 0 && len) {
		uint64_t in = off & (s->cluster_size - 1), entry, host = 0;
		uint64_t cstart = off - in;
		size_t n = s->cluster_size - in < len ?
			   (size_t)(s->cluster_size - in) : len;
		enum qcow2_ctype type;

		ret = qcow2_get_entry(img, s, off, &entry);
		if (ret == 0)
			ret = qcow2_classify(img, s, entry, &type);
		/* Written through, or freed later: never metadata. */
		if (ret == 0)
			ret = qcow2_check_entry(img, s, entry, cstart);
		if (ret < 0)
			break;
		if (type == QCOW2_NORMAL && (entry & QCOW2_OFLAG_COPIED)) {
			host = (entry & QCOW2_OFFSET_MASK) + in;
		} else if (n == s->cluster_size) {
			/* A whole cluster: into a new one, nothing to copy. */
			if (x->nalloc == QCOW2_EXTENT_CLUSTERS)
				ret = qcow2_extent_write(img, s, &c, x);
			if (ret == 0)
				ret = qcow2_reserve(img, s, 1, &host);
			if (ret < 0)
				break;
		} else {
			/* Part of a cluster to copy on write: the scalar path. */
			ret = qcow2_extent_write(img, s, &c, x);
			if (ret == 0) {
				qcow2_cur_copy(&c, s->gather_buf, n, false);
				ret = qcow2_pwrite(img, s->gather_buf, n, off);
			}
			off += n;
			len -= n;
			continue;
		}
		/* Not next to the extent: write that first (host stays ours). */
		if (x->len && host != x->host + x->len) {
			ret = qcow2_extent_write(img, s, &c, x);
			if (ret < 0)
				break;
		}
		if (!x->len)
			x->host = host;
		x->len += n;
		if (!(type == QCOW2_NORMAL && (entry & QCOW2_OFLAG_COPIED))) {
			x->alloc[x->nalloc].guest = cstart;
			x->alloc[x->nalloc].host = host;
			x->alloc[x->nalloc].old_entry = entry;
			x->nalloc++;
		}
		off += n;
		len -= n;
	}
	if (ret == 0)
		ret = qcow2_extent_write(img, s, &c, x);
	free(x);
	return ret;
}

static int qcow2_pwrite_compressed(struct blk_image *img, const void *buf,
				   size_t len, uint64_t off)
{
	struct qcow2 *s = qcow2_state(img);
	const uint8_t *p = buf;
	int ret = qcow2_check_writable(img, s);

	if (ret < 0)
		return ret;
	if (off & (s->cluster_size - 1) ||
	    (len & (s->cluster_size - 1) && off + len != img->size))
		return blk_seterr(img, EINVAL, "compressed write [%llu, +%zu) "
				  "not in whole clusters",
				  (unsigned long long)off, len);
	while (len && ret == 0) {
		size_t n = len < s->cluster_size ? len : s->cluster_size;
		uint64_t entry, nsec, clen, host = 0;
		z_stream zs;
		int zret;

		ret = qcow2_get_entry(img, s, off, &entry);
		if (ret < 0)
			break;
		memset(s->cluster_buf, 0, s->cluster_size);
		memcpy(s->cluster_buf, p, n);
		memset(&zs, 0, sizeof(zs));
		/* Raw deflate with a 4 KiB window, as QEMU writes it. */
		if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			ret = blk_seterr(img, ENOMEM, "deflateInit2 failed");
			break;
		}
		zs.next_in = s->cluster_buf;
		zs.avail_in = s->cluster_size;
		zs.next_out = s->zbuf;
		zs.avail_out = s->cluster_size;
		zret = deflate(&zs, Z_FINISH);
		clen = s->cluster_size - zs.avail_out;
		deflateEnd(&zs);
		if (entry || zret != Z_STREAM_END ||
		    clen > s->cluster_size - QCOW2_COMPRESSED_SECTOR) {
			/* Allocated already, or does not shrink: store it plain. */
			ret = qcow2_pwrite(img, p, n, off);
			goto next;
		}
		nsec = (clen + QCOW2_COMPRESSED_SECTOR - 1) / QCOW2_COMPRESSED_SECTOR;
		memset(s->zbuf + clen, 0, nsec * QCOW2_COMPRESSED_SECTOR - clen);
		if (s->cpack_off && s->cpack_end - s->cpack_off >=
				    nsec * QCOW2_COMPRESSED_SECTOR) {
			uint64_t rc;

			ret = qcow2_refcount_get(img, s, s->cpack_off, &rc);
			if (ret < 0)
				break;
			if (rc >= s->refcount_max)
				s->cpack_off = 0;
		} else {
			s->cpack_off = 0;
		}
		if (!s->cpack_off) {
			ret = qcow2_reserve(img, s, 1, &host);
			if (ret < 0)
				break;
			s->cpack_off = host;
			s->cpack_end = host + s->cluster_size;
		}
		host = s->cpack_off;
		ret = qcow2_write(img, s, s->zbuf, nsec * QCOW2_COMPRESSED_SECTOR,
				  host, "compressed data");
		if (ret == 0)
			ret = qcow2_refcount_update(img, s, host, 1, NULL);
		if (ret < 0)
			break;
		s->cpack_off += nsec * QCOW2_COMPRESSED_SECTOR;
		ret = qcow2_update_entry(img, s, off, QCOW2_OFLAG_COMPRESSED | host |
					 (nsec - 1) << s->csize_shift, 0);
next:
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int qcow2_discard(struct blk_image *img, uint64_t off, uint64_t len)
{
	struct qcow2 *s = qcow2_state(img);
	uint64_t cs = s->cluster_size;
	uint64_t start = (off + cs - 1) & ~(cs - 1);
	uint64_t end = off + len == img->size ? off + len : (off + len) & ~(cs - 1);
	int ret = qcow2_check_writable(img, s);

	for (uint64_t g = start; g < end && ret == 0; g += cs) {
		uint64_t entry, new_entry;
		enum qcow2_ctype type;

		ret = qcow2_get_entry(img, s, g, &entry);
		if (ret == 0)
			ret = qcow2_classify(img, s, entry, &type);
		if (ret == 0)
			ret = qcow2_check_entry(img, s, entry, g);
		if (ret < 0)
			break;
		if (type == QCOW2_ZERO_PLAIN ||
		    (type == QCOW2_UNALLOCATED && !s->backing_name[0]))
			continue;
		/*
		 * With a backing file, unmapping would uncover its data: v3
		 * marks the cluster all-zero instead, so discarded ranges
		 * read as zeros whatever the chain holds.
		 */
		if (s->backing_name[0]) {
			if (s->version < 3)
				continue;
			new_entry = QCOW2_OFLAG_ZERO;
		} else {
			new_entry = 0;
		}
		ret = qcow2_update_entry(img, s, g, new_entry, entry);
	}
	/* Give the space back now rather than at the next flush. */
	if (ret == 0)
		ret = qcow2_commit(img, s);
	return ret;
}

static int qcow2_flush(struct blk_image *img)
{
	struct qcow2 *s = qcow2_state(img);
	int ret = qcow2_commit(img, s);

	return ret < 0 ? ret : qcow2_barrier(img, s);
}

static int qcow2_write_zeroes(struct blk_image *img, uint64_t off,
			      uint64_t len, unsigned flags)
{
	struct qcow2 *s = qcow2_state(img);
	uint64_t cs = s->cluster_size, end = off + len;
	uint64_t mid = (off + cs - 1) & ~(cs - 1);
	uint64_t mid_end = end == img->size ? end : end & ~(cs - 1);
	int ret;

	/*
	 * Whole clusters go through discard, which leaves them reading as
	 * zeros except in a v2 image with a backing file.
	 */
	if (!(flags & BLK_ZEROES_MAY_UNMAP) || mid >= mid_end ||
	    (s->version < 3 && s->backing_name[0]))
		return blk_zero_fill(img, off, len);
	ret = blk_zero_fill(img, off, mid - off);
	if (ret == 0)
		ret = qcow2_discard(img, mid, mid_end - mid);
	if (ret == 0)
		ret = blk_zero_fill(img, mid_end, end - mid_end);
	return ret;
}

static unsigned qcow2_caps(struct blk_image *img)
{
	return BLK_CAP_DISCARD | BLK_CAP_COMPRESSED;
}

static uint32_t qcow2_cluster_size_of(struct blk_image *img)
{
	return qcow2_state(img)->cluster_size;
}

/*
 * Grow: a larger L1 table first if needed (written, refcounted and synced
 * before one 12-byte header write switches l1_size and l1_table_offset),
 * then the size field.  The old L1's clusters are freed last.
 */
static int qcow2_resize(struct blk_image *img, uint64_t new_size)
{
	struct qcow2 *s = qcow2_state(img);
	uint64_t per_l1 = (uint64_t)s->cluster_size << s->l2_bits;
	uint64_t need = new_size / per_l1 + (new_size % per_l1 != 0);
	uint8_t be[12];
	int ret = qcow2_check_writable(img, s);

	if (ret < 0)
		return ret;
	if (need > QCOW2_MAX_L1_BYTES / 8)
		return blk_seterr(img, EFBIG, "size %llu too large for cluster "
				  "size %u", (unsigned long long)new_size,
				  s->cluster_size);
	if (need > s->l1_size) {
		uint64_t old_off = s->l1_offset, off = 0;
		uint64_t old_clusters = ((uint64_t)s->l1_size * 8 + s->cluster_size - 1)
					>> s->cluster_bits;
		uint64_t nclusters = (need * 8 + s->cluster_size - 1) >> s->cluster_bits;
		size_t bytes = (size_t)(nclusters << s->cluster_bits);
		uint64_t *l1 = calloc(bytes / 8, 8);
		uint8_t *raw = calloc(1, bytes);

		if (!l1 || !raw) {
			free(l1);
			free(raw);
			return blk_seterr(img, ENOMEM, "out of memory");
		}
		memcpy(l1, s->l1, (size_t)s->l1_size * 8);
		for (size_t i = 0; i < bytes / 8; i++)
			blk_put_be64(raw + i * 8, l1[i]);
		ret = qcow2_reserve(img, s, nclusters, &off);
		if (ret == 0)
			ret = qcow2_write(img, s, raw, bytes, off, "L1 table");
		free(raw);
		for (uint64_t c = 0; ret == 0 && c < nclusters; c++)
			ret = qcow2_refcount_update(img, s, off + (c << s->cluster_bits),
						    1, NULL);
		if (ret == 0)
			ret = qcow2_barrier(img, s);
		blk_put_be32(be, (uint32_t)(bytes / 8));
		blk_put_be64(be + 4, off);
		if (ret == 0)
			ret = qcow2_write(img, s, be, 12, QCOW2_HDR_L1_SIZE, "header");
		if (ret == 0)
			ret = blk_sync(img);
		if (ret < 0) {
			free(l1);
			return ret;
		}
		ret = qcow2_meta_add(img, s, off, bytes);
		if (ret < 0) {
			free(l1);
			return ret;
		}
		qcow2_meta_del(s, old_off, old_clusters << s->cluster_bits);
		free(s->l1);
		s->l1 = l1;
		s->l1_size = (uint32_t)(bytes / 8);
		s->l1_offset = off;
		for (uint64_t c = 0; ret == 0 && c < old_clusters; c++)
			ret = qcow2_refcount_update(img, s, old_off + (c << s->cluster_bits),
						    -1, NULL);
		if (ret < 0)
			return ret;
	}
	blk_put_be64(be, new_size);
	ret = qcow2_write(img, s, be, 8, QCOW2_HDR_SIZE, "header");
	if (ret == 0)
		ret = blk_sync(img);
	if (ret == 0)
		img->size = new_size;
	return ret;
}

static int qcow2_info(struct blk_image *img, struct blk_info *info)
{
	struct qcow2 *s = qcow2_state(img);

	info->cluster_size = s->cluster_size;
	info->format_version = s->version;
	info->variant = BLK_VARIANT_STANDARD;
	snprintf(info->backing_file, sizeof(info->backing_file), "%s",
		 s->backing_name);
	snprintf(info->backing_format, sizeof(info->backing_format), "%s",
		 s->backing_format);
	return 0;
}

static bool qcow2_dirty(const struct qcow2 *s)
{
	for (unsigned i = 0; i < s->l2_slots; i++)
		if (s->l2_cache[i].dirty)
			return true;
	for (unsigned i = 0; i < s->rb_slots; i++)
		if (s->rb_cache[i].dirty)
			return true;
	return s->npending != 0;
}

static void qcow2_cache_free(struct qcow2 *s)
{
	for (unsigned i = 0; i < s->l2_slots; i++)
		free(s->l2_cache[i].table);
	for (unsigned i = 0; i < s->rb_slots; i++)
		free(s->rb_cache[i].data);
	free(s->l2_cache);
	free(s->rb_cache);
	s->l2_cache = NULL;
	s->rb_cache = NULL;
	s->l2_slots = s->rb_slots = 0;
}

/*
 * A cluster-sized buffer, page aligned: with the host cache off
 * (O_DIRECT) the buffers that go to the file whole (new clusters, L2
 * tables, refcount blocks) then need no bounce.  NULL if out of memory.
 */
static void *qcow2_alloc_cluster(const struct qcow2 *s)
{
	void *p;

	return posix_memalign(&p, 4096, s->cluster_size) ? NULL : p;
}

static unsigned qcow2_slots(uint64_t bytes, uint32_t cluster_size)
{
	uint64_t n = bytes / cluster_size;

	return n < QCOW2_CACHE_MIN_SLOTS ? QCOW2_CACHE_MIN_SLOTS :
	       n > QCOW2_CACHE_MAX_SLOTS ? QCOW2_CACHE_MAX_SLOTS : (unsigned)n;
}

/*
 * (Re)size both caches: what is dirty is written back (commit and
 * barrier) before the old slots go.  0 = the default size.
 */
static int qcow2_set_cache_size(struct blk_image *img, uint64_t l2_bytes,
				uint64_t rb_bytes)
{
	struct qcow2 *s = qcow2_state(img);
	uint64_t per_table = (uint64_t)s->cluster_size << s->l2_bits;
	unsigned l2n, rbn;
	int ret;

	if (!l2_bytes) {
		/* Enough tables to map the whole disk, within the default. */
		l2_bytes = (img->size + per_table - 1) / per_table * s->cluster_size;
		if (l2_bytes > QCOW2_L2_CACHE_DEFAULT)
			l2_bytes = QCOW2_L2_CACHE_DEFAULT;
	}
	if (!rb_bytes)
		rb_bytes = (uint64_t)QCOW2_RB_CACHE_DEFAULT_SLOTS * s->cluster_size;
	l2n = qcow2_slots(l2_bytes, s->cluster_size);
	rbn = qcow2_slots(rb_bytes, s->cluster_size);
	if (s->l2_cache && qcow2_dirty(s)) {
		ret = qcow2_commit(img, s);
		if (ret == 0)
			ret = qcow2_barrier(img, s);
		if (ret < 0)
			return ret;
	}
	qcow2_cache_free(s);
	s->l2_cache = calloc(l2n, sizeof(*s->l2_cache));
	s->rb_cache = calloc(rbn, sizeof(*s->rb_cache));
	if (!s->l2_cache || !s->rb_cache) {
		free(s->l2_cache);
		free(s->rb_cache);
		s->l2_cache = NULL;
		s->rb_cache = NULL;
		return blk_seterr(img, ENOMEM, "out of memory for metadata caches");
	}
	s->l2_slots = l2n;
	s->rb_slots = rbn;
	for (unsigned i = 0; i < l2n; i++)
		if (!(s->l2_cache[i].table = qcow2_alloc_cluster(s)))
			goto oom;
	for (unsigned i = 0; i < rbn; i++)
		if (!(s->rb_cache[i].data = qcow2_alloc_cluster(s)))
			goto oom;
	return 0;
oom:
	qcow2_cache_free(s);
	return blk_seterr(img, ENOMEM, "out of memory for metadata caches");
}

static void qcow2_close(struct blk_image *img)
{
	struct qcow2 *s = qcow2_state(img);

	if (!s)
		return;
	/* Cached changes must reach the file; errors stay in errmsg. */
	if (qcow2_dirty(s))
		(void)qcow2_flush(img);
	blk_close(s->backing);
	qcow2_cache_free(s);
	free(s->xiov);
	free(s->meta_buf);
	free(s->gather_buf);
	free(s->l1);
	free(s->rt);
	free(s->cluster_buf);
	free(s->zbuf);
	free(s->dcache);
	free(s->pending);
	free(s->meta);
	free(s);
	img->opaque = NULL;
}

/* ------------------------------------------------------------------ */
/* Opening: validate every header field before trusting it             */

/* A table of n bytes at off must be cluster aligned and inside the file. */
static int qcow2_check_table(struct blk_image *img, struct qcow2 *s,
			     const char *what, uint64_t off, uint64_t bytes)
{
	if (off & (s->cluster_size - 1))
		return blk_seterr(img, EINVAL, "%s offset %llu is not aligned to "
				  "the cluster size %u", what,
				  (unsigned long long)off, s->cluster_size);
	if (off == 0 && bytes)
		return blk_seterr(img, EINVAL, "%s at offset 0 overlaps the header",
				  what);
	if (off > s->file_size || bytes > s->file_size - off)
		return blk_seterr(img, EINVAL, "%s at %llu (%llu bytes) extends "
				  "beyond the end of the file (%llu bytes)", what,
				  (unsigned long long)off, (unsigned long long)bytes,
				  (unsigned long long)s->file_size);
	return 0;
}

static int qcow2_read_extensions(struct blk_image *img, struct qcow2 *s,
				 const uint8_t *hdr, uint32_t start,
				 uint32_t end)
{
	uint32_t pos = start;

	/* Spec "Header extensions": type, length, data padded to 8 bytes. */
	while (pos + 8 <= end) {
		uint32_t type = blk_be32(hdr + pos), len = blk_be32(hdr + pos + 4);

		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos)
			return blk_seterr(img, EINVAL, "header extension %#x of %u "
					  "bytes overruns the header cluster",
					  type, len);
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			if (len >= sizeof(s->backing_format))
				return blk_seterr(img, EINVAL, "backing format name "
						  "of %u bytes too long", len);
			memcpy(s->backing_format, hdr + pos, len);
			s->backing_format[len] = '\0';
		}
		/* Other extensions (feature names, bitmaps) are optional. */
		pos += (len + 7) & ~7u;
	}
	return 0;
}

static int qcow2_parse_header(struct blk_image *img, struct qcow2 *s,
			      const uint8_t *hdr, size_t hdr_len,
			      uint64_t *l1_needed)
{
	uint32_t version = blk_be32(hdr + QCOW2_HDR_VERSION);
	uint32_t cbits = blk_be32(hdr + QCOW2_HDR_CLUSTER_BITS);
	uint32_t hlen = QCOW2_V2_HDR_LEN, crypt, rt_clusters;
	uint64_t size = blk_be64(hdr + QCOW2_HDR_SIZE), autoclear = 0;
	uint64_t boff = blk_be64(hdr + QCOW2_HDR_BACKING_OFFSET);
	uint32_t bsize = blk_be32(hdr + QCOW2_HDR_BACKING_SIZE);
	uint32_t ext_end;
	int ret;

	if (blk_be32(hdr) != QCOW2_MAGIC)
		return blk_seterr(img, EINVAL, "not a qcow2 image (bad magic)");
	if (version != 2 && version != 3)
		return blk_seterr(img, ENOTSUP, "qcow2 version %u not supported "
				  "(2 and 3 are)", version);
	s->version = (int)version;
	if (cbits < QCOW2_MIN_CLUSTER_BITS || cbits > QCOW2_MAX_CLUSTER_BITS)
		return blk_seterr(img, EINVAL, "cluster_bits %u out of range "
				  "[%d, %d]", cbits, QCOW2_MIN_CLUSTER_BITS,
				  QCOW2_MAX_CLUSTER_BITS);
	s->cluster_bits = cbits;
	s->cluster_size = 1u << cbits;
	s->l2_bits = cbits - 3;
	s->l2_entries = 1u << s->l2_bits;
	s->csize_shift = 62 - (cbits - 8);
	s->csize_mask = (1ull << (cbits - 8)) - 1;
	s->refcount_order = QCOW2_DEFAULT_REFCOUNT_ORDER;
	if (version == 3) {
		hlen = blk_be32(hdr + QCOW2_HDR_LENGTH);
		if (hlen < QCOW2_V3_HDR_LEN || hlen % 8 || hlen > s->cluster_size)
			return blk_seterr(img, EINVAL, "header_length %u invalid "
					  "(multiple of 8 in [%d, %u])", hlen,
					  QCOW2_V3_HDR_LEN, s->cluster_size);
		if (hlen > hdr_len)
			return blk_seterr(img, EINVAL, "header_length %u beyond the "
					  "end of the file", hlen);
		s->incompat = blk_be64(hdr + QCOW2_HDR_INCOMPAT);
		autoclear = blk_be64(hdr + QCOW2_HDR_AUTOCLEAR);
		s->refcount_order = blk_be32(hdr + QCOW2_HDR_REFCOUNT_ORDER);
		if (s->refcount_order > QCOW2_MAX_REFCOUNT_ORDER)
			return blk_seterr(img, EINVAL, "refcount_order %u out of "
					  "range [0, %d]", s->refcount_order,
					  QCOW2_MAX_REFCOUNT_ORDER);
	}
	if (s->incompat & ~QCOW2_INCOMPAT_SUPPORTED) {
		uint64_t bad = s->incompat & ~QCOW2_INCOMPAT_SUPPORTED;

		return blk_seterr(img, ENOTSUP, "unsupported incompatible "
				  "features %#llx%s%s",
				  (unsigned long long)bad,
				  bad & QCOW2_INCOMPAT_DATA_FILE ?
				  " (external data file)" : "",
				  bad & QCOW2_INCOMPAT_EXTL2 ?
				  " (extended L2 entries)" : "");
	}
	if (s->incompat & QCOW2_INCOMPAT_COMPRESSION) {
		uint8_t ctype = hlen > QCOW2_HDR_COMPRESSION_TYPE ?
				hdr[QCOW2_HDR_COMPRESSION_TYPE] : 0;

		if (ctype != QCOW2_COMPRESSION_ZLIB)
			return blk_seterr(img, ENOTSUP, "compression type %u not "
					  "supported (only zlib)", ctype);
	}
	if (!(img->flags & BLK_RDONLY)) {
		if (s->incompat & QCOW2_INCOMPAT_CORRUPT)
			return blk_seterr(img, EROFS, "image is marked corrupt; "
					  "open it read-only or repair it with "
					  "'qemu-img check -r all'");
		if (s->incompat & QCOW2_INCOMPAT_DIRTY)
			return blk_seterr(img, EROFS, "image is marked dirty (lazy "
					  "refcounts); repair it with "
					  "'qemu-img check -r all' first");
	}
	crypt = blk_be32(hdr + QCOW2_HDR_CRYPT_METHOD);
	if (crypt)
		return blk_seterr(img, ENOTSUP, "encrypted images (method %u) "
				  "not supported", crypt);
	s->nb_snapshots = blk_be32(hdr + QCOW2_HDR_NB_SNAPSHOTS);
	if (s->nb_snapshots && !(img->flags & BLK_RDONLY))
		return blk_seterr(img, ENOTSUP, "image has %u internal snapshots; "
				  "writing such images is not supported",
				  s->nb_snapshots);
	/* Huge sizes: the L1 table must fit QEMU's limit. */
	{
		uint64_t per_l1 = (uint64_t)s->cluster_size << s->l2_bits;

		*l1_needed = size / per_l1 + (size % per_l1 != 0);
		if (*l1_needed > QCOW2_MAX_L1_BYTES / 8)
			return blk_seterr(img, EFBIG, "virtual size %llu too large "
					  "for cluster size %u", (unsigned long long)size,
					  s->cluster_size);
	}
	img->size = size;
	s->l1_size = blk_be32(hdr + QCOW2_HDR_L1_SIZE);
	s->l1_offset = blk_be64(hdr + QCOW2_HDR_L1_OFFSET);
	if (s->l1_size > QCOW2_MAX_L1_BYTES / 8)
		return blk_seterr(img, EFBIG, "L1 table of %u entries too large",
				  s->l1_size);
	if (s->l1_size < *l1_needed)
		return blk_seterr(img, EINVAL, "L1 table of %u entries too small "
				  "for virtual size %llu", s->l1_size,
				  (unsigned long long)size);
	ret = qcow2_check_table(img, s, "L1 table", s->l1_offset,
				(uint64_t)s->l1_size * 8);
	if (ret < 0)
		return ret;
	rt_clusters = blk_be32(hdr + QCOW2_HDR_REFTABLE_CLUSTERS);
	s->rt_offset = blk_be64(hdr + QCOW2_HDR_REFTABLE_OFFSET);
	if ((uint64_t)rt_clusters << cbits > QCOW2_MAX_REFTABLE_BYTES)
		return blk_seterr(img, EFBIG, "refcount table of %u clusters too "
				  "large", rt_clusters);
	if (rt_clusters == 0)
		return blk_seterr(img, EINVAL, "refcount table has no clusters");
	ret = qcow2_check_table(img, s, "refcount table", s->rt_offset,
				(uint64_t)rt_clusters << cbits);
	if (ret < 0)
		return ret;
	s->rt_clusters = rt_clusters;
	s->rt_entries = ((uint64_t)rt_clusters << cbits) / 8;
	s->rb_entries = ((uint64_t)s->cluster_size * 8) >> s->refcount_order;
	s->refcount_max = s->refcount_order == 6 ? UINT64_MAX :
			  (1ull << (1u << s->refcount_order)) - 1;
	if (s->nb_snapshots) {
		ret = qcow2_check_table(img, s, "snapshot table",
					blk_be64(hdr + QCOW2_HDR_SNAPSHOTS_OFFSET), 0);
		if (ret < 0)
			return ret;
	}
	/* Backing file name: inside the header cluster. */
	ext_end = (uint32_t)hdr_len;
	if (boff) {
		if (bsize == 0 || bsize > QCOW2_MAX_BACKING_NAME)
			return blk_seterr(img, EINVAL, "backing file name length %u "
					  "out of range [1, %u]", bsize,
					  QCOW2_MAX_BACKING_NAME);
		if (boff < hlen || boff > hdr_len || bsize > hdr_len - boff)
			return blk_seterr(img, EINVAL, "backing file name at %llu "
					  "outside the header cluster",
					  (unsigned long long)boff);
		memcpy(s->backing_name, hdr + boff, bsize);
		s->backing_name[bsize] = '\0';
		if (strlen(s->backing_name) != bsize)
			return blk_seterr(img, EINVAL, "backing file name contains "
					  "a NUL byte");
		ext_end = (uint32_t)boff;
	}
	ret = qcow2_read_extensions(img, s, hdr, hlen, ext_end);
	if (ret < 0)
		return ret;
	/* Clear autoclear bits we do not maintain (spec: autoclear_features). */
	if (autoclear && !(img->flags & BLK_RDONLY)) {
		uint8_t zero[8] = { 0 };

		ret = qcow2_write(img, s, zero, 8, QCOW2_HDR_AUTOCLEAR, "header");
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int qcow2_load_tables(struct blk_image *img, struct qcow2 *s)
{
	size_t l1_bytes = (size_t)s->l1_size * 8;
	size_t rt_bytes = (size_t)s->rt_entries * 8;
	uint8_t *raw;
	int ret;

	s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
	s->rt = calloc(s->rt_entries, 8);
	raw = malloc(l1_bytes > rt_bytes ? l1_bytes : rt_bytes);
	if (!s->l1 || !s->rt || !raw) {
		free(raw);
		return blk_seterr(img, ENOMEM, "out of memory for tables");
	}
	ret = blk_file_pread(img->fd, raw, l1_bytes, s->l1_offset);
	if (ret < 0)
		goto io;
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t e = blk_be64(raw + (size_t)i * 8);
		uint64_t l2 = e & QCOW2_OFFSET_MASK;

		s->l1[i] = e;
		if (e & QCOW2_L1_RESERVED) {
			ret = blk_seterr(img, EINVAL, "L1 entry %u (%#llx) has "
					 "reserved bits set", i,
					 (unsigned long long)e);
			goto out;
		}
		if (l2 && (ret = qcow2_check_table(img, s, "L2 table", l2,
						   s->cluster_size)) < 0) {
			ret = blk_seterr(img, EINVAL, "L1 entry %u: L2 table at "
					 "%llu is misaligned or beyond the end of "
					 "the file (%llu bytes)", i,
					 (unsigned long long)l2,
					 (unsigned long long)s->file_size);
			goto out;
		}
	}
	ret = blk_file_pread(img->fd, raw, rt_bytes, s->rt_offset);
	if (ret < 0)
		goto io;
	for (uint64_t i = 0; i < s->rt_entries; i++) {
		uint64_t e = blk_be64(raw + i * 8);

		s->rt[i] = e;
		if (e & QCOW2_RT_RESERVED ||
		    (e && qcow2_check_table(img, s, "refcount block", e,
					    s->cluster_size) < 0)) {
			ret = blk_seterr(img, EINVAL, "refcount table entry %llu "
					 "(%#llx) is misaligned or beyond the end "
					 "of the file", (unsigned long long)i,
					 (unsigned long long)e);
			goto out;
		}
	}
	ret = 0;
	goto out;
io:
	ret = blk_seterr(img, -ret, "reading tables: %s", strerror(-ret));
out:
	free(raw);
	return ret;
}

struct qcow2_meta_item {
	uint64_t cluster;
	const char *what;
};

static int qcow2_meta_item_cmp(const void *a, const void *b)
{
	const struct qcow2_meta_item *x = a, *y = b;

	return x->cluster < y->cluster ? -1 : x->cluster > y->cluster;
}

/*
 * Collect the metadata clusters into s->meta.  Two structures sharing a
 * cluster (an L2 table inside the refcount table, say) mean that writing
 * one destroys the other: such an image is opened read-only only.
 */
static int qcow2_meta_build(struct blk_image *img, struct qcow2 *s)
{
	uint64_t l1_clusters = ((uint64_t)s->l1_size * 8 + s->cluster_size - 1)
			       >> s->cluster_bits;
	size_t n = 0, cap = 1 + (size_t)l1_clusters + s->rt_clusters;
	struct qcow2_meta_item *items;
	int ret = 0;

	for (uint64_t i = 0; i < s->rt_entries; i++)
		cap += s->rt[i] != 0;
	for (uint32_t i = 0; i < s->l1_size; i++)
		cap += (s->l1[i] & QCOW2_OFFSET_MASK) != 0;
	items = malloc(cap * sizeof(*items));
	if (!items)
		return blk_seterr(img, ENOMEM, "out of memory");
	items[n++] = (struct qcow2_meta_item){ 0, "the header" };
	for (uint64_t c = 0; c < l1_clusters; c++)
		items[n++] = (struct qcow2_meta_item){
			(s->l1_offset >> s->cluster_bits) + c, "the L1 table" };
	for (uint64_t c = 0; c < s->rt_clusters; c++)
		items[n++] = (struct qcow2_meta_item){
			(s->rt_offset >> s->cluster_bits) + c, "the refcount table" };
	for (uint64_t i = 0; i < s->rt_entries; i++)
		if (s->rt[i])
			items[n++] = (struct qcow2_meta_item){
				s->rt[i] >> s->cluster_bits, "a refcount block" };
	for (uint32_t i = 0; i < s->l1_size; i++)
		if (s->l1[i] & QCOW2_OFFSET_MASK)
			items[n++] = (struct qcow2_meta_item){
				(s->l1[i] & QCOW2_OFFSET_MASK) >> s->cluster_bits,
				"an L2 table" };
	qsort(items, n, sizeof(*items), qcow2_meta_item_cmp);
	s->meta = malloc(n * sizeof(*s->meta));
	if (!s->meta) {
		free(items);
		return blk_seterr(img, ENOMEM, "out of memory");
	}
	s->meta_cap = n;
	s->nmeta = 0;
	for (size_t i = 0; i < n; i++) {
		if (s->nmeta && s->meta[s->nmeta - 1] == items[i].cluster) {
			if (!(img->flags & BLK_RDONLY) && ret == 0)
				ret = blk_seterr(img, EINVAL, "%s and %s share the "
						 "cluster at %llu (image corrupt); "
						 "it can only be opened read-only",
						 items[i - 1].what, items[i].what,
						 (unsigned long long)(items[i].cluster
								      << s->cluster_bits));
			continue;
		}
		s->meta[s->nmeta++] = items[i].cluster;
	}
	free(items);
	return ret;
}

static int qcow2_open(struct blk_image *img, struct blk_chain *chain)
{
	struct qcow2 *s;
	uint8_t first[QCOW2_V3_HDR_LEN] = { 0 };
	uint8_t *hdr = NULL;
	uint64_t l1_needed;
	size_t hdr_len;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return blk_seterr(img, ENOMEM, "out of memory");
	img->opaque = s;
	ret = blk_file_size(img->fd, &s->file_size);
	if (ret < 0) {
		ret = blk_seterr(img, -ret, "cannot get size: %s", strerror(-ret));
		goto fail;
	}
	if (s->file_size < QCOW2_V2_HDR_LEN) {
		ret = blk_seterr(img, EINVAL, "file of %llu bytes too short for a "
				 "qcow2 header", (unsigned long long)s->file_size);
		goto fail;
	}
	ret = blk_file_pread_zero(img->fd, first, sizeof(first), 0);
	if (ret < 0) {
		ret = blk_seterr(img, -ret, "reading header: %s", strerror(-ret));
		goto fail;
	}
	/* Read the whole header cluster (or what the file has of it). */
	{
		uint32_t cbits = blk_be32(first + QCOW2_HDR_CLUSTER_BITS);

		hdr_len = cbits >= QCOW2_MIN_CLUSTER_BITS &&
			  cbits <= QCOW2_MAX_CLUSTER_BITS ? 1u << cbits : 512;
		if (hdr_len > s->file_size)
			hdr_len = (size_t)s->file_size;
		if (hdr_len < sizeof(first))
			hdr_len = sizeof(first);
	}
	hdr = calloc(1, hdr_len);
	if (!hdr) {
		ret = blk_seterr(img, ENOMEM, "out of memory");
		goto fail;
	}
	ret = blk_file_pread_zero(img->fd, hdr, hdr_len, 0);
	if (ret < 0) {
		ret = blk_seterr(img, -ret, "reading header: %s", strerror(-ret));
		goto fail;
	}
	ret = qcow2_parse_header(img, s, hdr, hdr_len, &l1_needed);
	if (ret < 0)
		goto fail;
	s->file_end = (s->file_size + s->cluster_size - 1) &
		      ~(uint64_t)(s->cluster_size - 1);
	ret = qcow2_load_tables(img, s);
	if (ret == 0)
		ret = qcow2_meta_build(img, s);
	if (ret < 0)
		goto fail;
	ret = qcow2_set_cache_size(img, 0, 0);
	if (ret < 0)
		goto fail;
	s->cluster_buf = qcow2_alloc_cluster(s);
	s->meta_buf = qcow2_alloc_cluster(s);
	s->gather_buf = qcow2_alloc_cluster(s);
	s->zbuf = malloc(2 * (size_t)s->cluster_size);
	s->dcache = malloc(s->cluster_size);
	s->pending = calloc(QCOW2_MAX_PENDING, sizeof(*s->pending));
	if (!s->cluster_buf || !s->meta_buf || !s->gather_buf || !s->zbuf || !s->dcache || !s->pending) {
		ret = blk_seterr(img, ENOMEM, "out of memory");
		goto fail;
	}
	if (s->backing_name[0] && !(img->flags & BLK_NO_BACKING)) {
		ret = blk_open_backing(img, s->backing_name,
				       s->backing_format[0] ? s->backing_format : NULL,
				       chain, &s->backing);
		if (ret < 0)
			goto fail;
	}
	free(hdr);
	return 0;
fail:
	free(hdr);
	qcow2_close(img);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Creating (preallocation off)                                        */

static int qcow2_create(int fd, const char *path,
			const struct blk_create_opts *opts, char *err,
			size_t errlen)
{
	uint32_t cs = opts->cluster_size ? opts->cluster_size :
		      1u << QCOW2_DEFAULT_CLUSTER_BITS;
	unsigned cbits = (unsigned)__builtin_ctz(cs), order = QCOW2_DEFAULT_REFCOUNT_ORDER;
	uint64_t size = opts->size, l1_size, l1_clusters, rb_entries;
	uint64_t n_rb = 1, rt_clusters = 1, total, prev = 0;
	char bfmt[16] = "";
	uint8_t *buf = NULL;
	uint32_t pos;
	int ret = 0;

	if (opts->variant == BLK_VARIANT_FIXED)
		return blk_fmterr(err, errlen, path, ENOTSUP, "qcow2 has no fixed "
				  "variant (preallocation is off); use raw or vdi");
	if ((cs & (cs - 1)) || cbits < QCOW2_MIN_CLUSTER_BITS ||
	    cbits > QCOW2_MAX_CLUSTER_BITS)
		return blk_fmterr(err, errlen, path, EINVAL, "cluster size %u not a "
				  "power of two in [512, 2 MiB]", cs);
	if (opts->backing_file) {
		struct blk_image *b;
		char berr[BLK_ERR_MAX], bpath[4096];
		const char *slash = strrchr(path, '/');

		const char *why;

		if (strlen(opts->backing_file) > QCOW2_MAX_BACKING_NAME)
			return blk_fmterr(err, errlen, path, ENAMETOOLONG,
					  "backing file name too long");
		/* Write no name that blk_open would refuse to follow. */
		ret = blk_backing_name_check(opts->backing_file, &why);
		if (ret < 0)
			return blk_fmterr(err, errlen, path, -ret, "backing file "
					  "'%s' refused: %s", opts->backing_file,
					  why);
		if (opts->backing_file[0] != '/' && slash)
			snprintf(bpath, sizeof(bpath), "%.*s/%s",
				 (int)(slash - path), path, opts->backing_file);
		else
			snprintf(bpath, sizeof(bpath), "%s", opts->backing_file);
		/* Only its size and format matter, not its own chain. */
		ret = blk_open(bpath, opts->backing_format,
			       BLK_RDONLY | BLK_NO_BACKING, &b, berr, sizeof(berr));
		if (ret < 0)
			return blk_fmterr(err, errlen, path, -ret,
					  "backing file: %s", berr);
		if (!size)
			size = blk_size(b);
		snprintf(bfmt, sizeof(bfmt), "%s", blk_format_name(b));
		blk_close(b);
	}
	l1_size = size / ((uint64_t)cs << (cbits - 3));
	if (size % ((uint64_t)cs << (cbits - 3)))
		l1_size++;
	if (l1_size > QCOW2_MAX_L1_BYTES / 8)
		return blk_fmterr(err, errlen, path, EFBIG, "size %llu too large "
				  "for cluster size %u", (unsigned long long)size, cs);
	l1_clusters = (l1_size * 8 + cs - 1) / cs;
	if (!l1_clusters)
		l1_clusters = 1;
	rb_entries = ((uint64_t)cs * 8) >> order;
	/* Header, refcount table, refcount blocks, L1: find a fixed point. */
	while (n_rb != prev) {
		prev = n_rb;
		total = 1 + rt_clusters + n_rb + l1_clusters;
		n_rb = (total + rb_entries - 1) / rb_entries;
		rt_clusters = (n_rb * 8 + cs - 1) / cs;
	}
	total = 1 + rt_clusters + n_rb + l1_clusters;
	buf = calloc(1, cs);
	if (!buf)
		return blk_fmterr(err, errlen, path, ENOMEM, "out of memory");
	blk_put_be32(buf + QCOW2_HDR_MAGIC, QCOW2_MAGIC);
	blk_put_be32(buf + QCOW2_HDR_VERSION, 3);
	blk_put_be32(buf + QCOW2_HDR_CLUSTER_BITS, cbits);
	blk_put_be64(buf + QCOW2_HDR_SIZE, size);
	blk_put_be32(buf + QCOW2_HDR_L1_SIZE, (uint32_t)l1_size);
	blk_put_be64(buf + QCOW2_HDR_L1_OFFSET, (1 + rt_clusters + n_rb) * cs);
	blk_put_be64(buf + QCOW2_HDR_REFTABLE_OFFSET, cs);
	blk_put_be32(buf + QCOW2_HDR_REFTABLE_CLUSTERS, (uint32_t)rt_clusters);
	blk_put_be32(buf + QCOW2_HDR_REFCOUNT_ORDER, order);
	blk_put_be32(buf + QCOW2_HDR_LENGTH, QCOW2_CREATE_HDR_LEN);
	pos = QCOW2_CREATE_HDR_LEN;
	if (opts->backing_file) {
		size_t flen = strlen(bfmt), blen = strlen(opts->backing_file);

		blk_put_be32(buf + pos, QCOW2_EXT_BACKING_FORMAT);
		blk_put_be32(buf + pos + 4, (uint32_t)flen);
		memcpy(buf + pos + 8, bfmt, flen);
		pos += 8 + (uint32_t)((flen + 7) & ~7u);
		pos += 8; /* end-of-extensions marker: zeros */
		if (pos + blen > cs) {
			ret = blk_fmterr(err, errlen, path, ENAMETOOLONG, "backing "
					 "file name does not fit the header cluster");
			goto out;
		}
		blk_put_be64(buf + QCOW2_HDR_BACKING_OFFSET, pos);
		blk_put_be32(buf + QCOW2_HDR_BACKING_SIZE, (uint32_t)blen);
		memcpy(buf + pos, opts->backing_file, blen);
	}
	ret = blk_file_pwrite(fd, buf, cs, 0);
	/* Refcount table: one entry per refcount block. */
	for (uint64_t c = 0; ret == 0 && c < rt_clusters; c++) {
		memset(buf, 0, cs);
		for (uint64_t i = 0; i < cs / 8; i++) {
			uint64_t b = c * (cs / 8) + i;

			if (b < n_rb)
				blk_put_be64(buf + i * 8, (1 + rt_clusters + b) * cs);
		}
		ret = blk_file_pwrite(fd, buf, cs, (1 + c) * cs);
	}
	/* Refcount blocks: every metadata cluster has refcount 1. */
	for (uint64_t b = 0; ret == 0 && b < n_rb; b++) {
		memset(buf, 0, cs);
		for (uint64_t i = 0; i < rb_entries; i++)
			if (b * rb_entries + i < total)
				qcow2_rc_field_set(buf, i, order, 1);
		ret = blk_file_pwrite(fd, buf, cs, (1 + rt_clusters + b) * cs);
	}
	if (ret == 0 && ftruncate(fd, (off_t)(total * cs)) < 0)
		ret = -errno;
	if (ret < 0)
		blk_fmterr(err, errlen, path, -ret, "writing metadata: %s",
			   strerror(-ret));
out:
	free(buf);
	return ret;
}

const struct blk_format blk_format_qcow2 = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.pread = qcow2_pread,
	.pwrite = qcow2_pwrite,
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.map_direct = qcow2_map_direct,
	.flush = qcow2_flush,
	.set_cache_size = qcow2_set_cache_size,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.pwrite_compressed = qcow2_pwrite_compressed,
	.caps = qcow2_caps,
	.cluster_size = qcow2_cluster_size_of,
	.info = qcow2_info,
	.resize = qcow2_resize,
	.create = qcow2_create,
};
