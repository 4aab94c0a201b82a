// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libhutch plumbing: errors, per-user paths, atomic file replacement,
 * flock-based locks and UUIDs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hutch/registry.h"
#include "internal.h"

int hutch_seterr(struct hutch_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void *hutch_xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	/* Out of memory in a CLI or GUI front end is not recoverable. */
	if (!p)
		abort();
	return p;
}

void *hutch_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *hutch_xstrdup(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		abort();
	return d;
}

char *hutch_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

void hutch_setstr(char **slot, const char *s)
{
	char *old = *slot;

	*slot = hutch_xstrdup(s);
	free(old);
}

char *hutch_config_home(void)
{
	const char *s = getenv("HUTCH_CONFIG_HOME");

	if (s && *s)
		return hutch_xstrdup(s);
	s = getenv("XDG_CONFIG_HOME");
	if (s && *s == '/')
		return hutch_xasprintf("%s/hutch", s);
	s = getenv("HOME");
	return hutch_xasprintf("%s/.config/hutch", s && *s ? s : "/");
}

char *hutch_runtime_dir(void)
{
	const char *s = getenv("HUTCH_RUNTIME_DIR");

	if (s && *s)
		return hutch_xstrdup(s);
	s = getenv("XDG_RUNTIME_DIR");
	if (s && *s == '/')
		return hutch_xasprintf("%s/hutch", s);
	return hutch_xasprintf("/tmp/hutch-%u", (unsigned)getuid());
}

int hutch_mkdir_p(const char *path, unsigned mode, struct hutch_error *e)
{
	char *p = hutch_xstrdup(path);
	char *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = 0;
		if (mkdir(p, mode) && errno != EEXIST) {
			rc = hutch_seterr(e, -errno, "cannot create directory '%s': %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

char *hutch_abspath(const char *path)
{
	char cwd[PATH_MAX];
	char *joined, *out, *o;
	const char *s;

	if (path[0] == '/') {
		joined = hutch_xstrdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			strcpy(cwd, "/");
		joined = hutch_xasprintf("%s/%s", cwd, path);
	}
	/* Lexical normalisation: drop "." and "//", fold "..": like VBoxManage, no symlinks resolved. */
	out = hutch_xmalloc(strlen(joined) + 2);
	o = out;
	for (s = joined; *s;) {
		const char *end;
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		end = strchrnul(s, '/');
		n = (size_t)(end - s);
		if (n == 1 && s[0] == '.') {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > out && *--o != '/')
				;
			*o = 0;
		} else {
			*o++ = '/';
			memcpy(o, s, n);
			o += n;
			*o = 0;
		}
		s = end;
	}
	if (o == out)
		strcpy(out, "/");
	free(joined);
	return out;
}

/*
 * Test hook for the crash-safety tests: HUTCH_TEST_CRASH_AT=N makes the
 * process SIGKILL itself at the N-th crash point it passes (counted from
 * 1), as a power cut or kill -9 would.  Crash points sit between the
 * steps of every multi-step change (atomic writes, renames, deletions).
 */
void hutch_crash_point(void)
{
	static long passed;
	const char *s = getenv("HUTCH_TEST_CRASH_AT");

	if (s && *s && ++passed == atol(s))
		raise(SIGKILL);
}

/* Test hook: HUTCH_TEST_SLOW_WRITE=N sleeps N s between writing the temp file and the rename. */
static void test_slow_write(void)
{
	const char *s = getenv("HUTCH_TEST_SLOW_WRITE");

	if (s && *s)
		sleep((unsigned)atoi(s));
}

int hutch_fsync_dir_of(const char *path)
{
	char *dir = hutch_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int fd, rc = 0;

	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/*
 * Remove the temp files that killed writers left beside path.  Every
 * writer of a file holds its lock (the registry's, or the VM's), so a
 * temp file seen by the lock holder is no one's.
 */
static void remove_stale_temps(const char *path)
{
	char *dir = hutch_xstrdup(path), *slash = strrchr(dir, '/'), *prefix;
	struct dirent *de;
	size_t n;
	DIR *d;

	if (!slash)
		goto out;
	*slash = 0;
	prefix = hutch_xasprintf("%s" HUTCH_TMP_SUFFIX, slash + 1);
	n = strlen(prefix);
	d = opendir(*dir ? dir : "/");
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, prefix, n) || strlen(de->d_name) != n + 6)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	free(prefix);
out:
	free(dir);
}

int hutch_write_file_atomic(const char *path, const void *data, size_t len, struct hutch_error *e)
{
	/*
	 * A unique temp name per writer (mkstemp), so two writers never write
	 * one temp file, even if one of them does not hold the file's lock.
	 * The file keeps the mode it has (a user's chmod survives a save);
	 * a new file is private (0600): it may name the user's paths.
	 */
	char *tmp = hutch_xasprintf("%s" HUTCH_TMP_SUFFIX "XXXXXX", path);
	mode_t mode = HUTCH_FILE_MODE;
	const char *p = data;
	struct stat st;
	int fd, rc = 0;

	if (!stat(path, &st))
		mode = st.st_mode & 07777;
	remove_stale_temps(path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = hutch_seterr(e, -errno, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode))
		rc = hutch_seterr(e, -errno, "cannot set the mode of '%s': %s", tmp, strerror(errno));
	while (!rc && len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hutch_seterr(e, -errno, "cannot write '%s': %s", tmp, strerror(errno));
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!rc && fsync(fd))
		rc = hutch_seterr(e, -errno, "cannot sync '%s': %s", tmp, strerror(errno));
	if (close(fd) && !rc)
		rc = hutch_seterr(e, -errno, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc) {
		unlink(tmp);
		goto out;
	}
	test_slow_write();
	hutch_crash_point();
	if (rename(tmp, path)) {
		rc = hutch_seterr(e, -errno, "cannot replace '%s': %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The rename is only durable once the directory entry is. */
	rc = hutch_fsync_dir_of(path);
	if (rc)
		hutch_seterr(e, rc, "cannot sync the directory of '%s': %s", path, strerror(-rc));
out:
	free(tmp);
	return rc;
}

int hutch_read_file(const char *path, char **buf, size_t *len, struct hutch_error *e)
{
	FILE *f = fopen(path, "re");
	size_t cap = 4096, n = 0;
	char *b;

	if (!f)
		return hutch_seterr(e, -errno, "cannot open '%s': %s", path, strerror(errno));
	b = hutch_xmalloc(cap + 1);
	for (;;) {
		size_t r = fread(b + n, 1, cap - n, f);

		n += r;
		if (n < cap)
			break;
		cap *= 2;
		b = hutch_xrealloc(b, cap + 1);
	}
	if (ferror(f)) {
		int err = errno ? errno : EIO;

		fclose(f);
		free(b);
		return hutch_seterr(e, -err, "cannot read '%s': %s", path, strerror(err));
	}
	fclose(f);
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

char *hutch_vm_lock_path(const char *uuid)
{
	char *home = hutch_config_home(), *dir = hutch_xasprintf("%s/locks", home);
	char *path = hutch_xasprintf("%s/%s.lock", dir, uuid);

	/* An error here shows as the lock file's open() error, which names the path. */
	hutch_mkdir_p(dir, HUTCH_DIR_MODE, NULL);
	free(dir);
	free(home);
	return path;
}

static unsigned lock_timeout_ms(void)
{
	const char *s = getenv("HUTCH_LOCK_TIMEOUT");

	if (s && *s)
		return (unsigned)(atof(s) * 1000);
	return HUTCH_LOCK_TIMEOUT_DEFAULT * 1000;
}

int hutch_lock_acquire(const char *path, struct hutch_lock *lk, struct hutch_error *e)
{
	unsigned waited = 0, limit = lock_timeout_ms();
	int fd;

	lk->fd = -1;
	lk->path = NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, HUTCH_FILE_MODE);
	if (fd < 0)
		return hutch_seterr(e, -errno, "cannot open lock file '%s': %s", path, strerror(errno));
	/* Poll rather than block, so a stuck holder turns into a clear error, not a hang. */
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int err = errno;

			close(fd);
			return hutch_seterr(e, -err, "cannot lock '%s': %s", path, strerror(err));
		}
		if (waited >= limit) {
			close(fd);
			return hutch_seterr(e, -EBUSY,
					    "'%s' is locked by another process (waited %u s); try again",
					    path, limit / 1000);
		}
		usleep(20000);
		waited += 20;
	}
	lk->fd = fd;
	lk->path = hutch_xstrdup(path);
	return 0;
}

int hutch_lock_try(const char *path, struct hutch_lock *lk)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, HUTCH_FILE_MODE);

	lk->fd = -1;
	lk->path = NULL;
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -EBUSY;
	}
	lk->fd = fd;
	lk->path = hutch_xstrdup(path);
	return 0;
}

void hutch_lock_release(struct hutch_lock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	free(lk->path);
	lk->path = NULL;
}

void hutch_uuid_generate(char out[HUTCH_UUID_LEN + 1])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n > 0) {
			got += (size_t)n;
		} else if (errno != EINTR) {
			/* No entropy source at all: time and pid keep UUIDs distinct enough. */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			srandom((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ getpid()));
			for (; got < sizeof(b); got++)
				b[got] = (unsigned char)random();
		}
	}
	b[6] = (b[6] & 0x0f) | 0x40;	/* RFC 4122 version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, HUTCH_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

bool hutch_uuid_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != HUTCH_UUID_LEN)
		return false;
	for (i = 0; i < HUTCH_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdefABCDEF", s[i])) {
			return false;
		}
	}
	return true;
}

int hutch_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16;
	errno = 0;
	v = strtoull(s, &end, base);
	if (*end || errno || end == s)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int hutch_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1", "enabled", NULL };
	static const char *const no[] = { "off", "false", "no", "0", "disabled", NULL };
	size_t i;

	for (i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			return *out = true, 0;
	for (i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i]))
			return *out = false, 0;
	return -EINVAL;
}
