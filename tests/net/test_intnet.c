// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The internal-network back end (src/net/intnet.c) on the real event
 * loop: adapters on one network exchange frames both ways (a broadcast
 * first, then unicast to the learned port only), one on another network
 * sees none of it, a peer that went away is dropped and its socket file
 * removed, and a network name cannot leave the runtime directory.
 *
 * XDG_RUNTIME_DIR points at a directory the test makes and removes.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_test_util.h"

#define WAIT_MS 5000
#define ETH_TEST 0x88B5   /* IEEE local experimental EtherType */

static char runtime_dir[64];

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int setup(void **state)
{
	(void)state;
	snprintf(runtime_dir, sizeof(runtime_dir), "/tmp/hutch-intnet-test-XXXXXX");
	if (!mkdtemp(runtime_dir))
		return -1;
	setenv("XDG_RUNTIME_DIR", runtime_dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runtime_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void mac_of(uint8_t mac[6], unsigned int n)
{
	static const uint8_t base[6] = { 0x08, 0x00, 0x27, 0xaa, 0x00, 0x00 };

	memcpy(mac, base, 6);
	mac[5] = (uint8_t)n;
}

static void open_ep(struct nt_env *env, unsigned int index, const char *network)
{
	struct nic_spec s = { .index = index, .attach = NIC_ATTACH_INTNET, .cable = true };
	char err[256];

	mac_of(s.mac, index);
	s.intnet = (char *)network;
	if (!nt_open(env, &s, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(net_backend_kind(env->nb), "intnet");
}

static size_t test_frame(uint8_t *f, const uint8_t dst[6], unsigned int from, const char *tag)
{
	uint8_t src[6];
	size_t n;

	mac_of(src, from);
	n = nt_eth(f, dst, src, ETH_TEST);
	memset(f + n, 0, 46);
	memcpy(f + n, tag, strlen(tag));
	return 60;
}

static bool match_tag(const uint8_t *f, size_t len, void *arg)
{
	const char *tag = arg;

	return len >= 14 + strlen(tag) && nt_be16(f + 12) == ETH_TEST &&
	       !memcmp(f + 14, tag, strlen(tag));
}

static bool match_any_test_frame(const uint8_t *f, size_t len, void *arg)
{
	(void)arg;
	return len >= 14 && nt_be16(f + 12) == ETH_TEST;
}

static void test_two_vms_one_network(void **state)
{
	struct nt_env a, b, c, d;
	uint8_t f[64], mac_a[6], mac_b[6];
	unsigned int fa = 0, fb = 0, fd = 0, fc = 0;

	(void)state;
	open_ep(&d, 4, "lab");     /* a bystander on the same network */
	open_ep(&a, 1, "lab");
	open_ep(&b, 2, "lab");
	open_ep(&c, 3, "other");   /* another network */
	mac_of(mac_a, 1);
	mac_of(mac_b, 2);

	/* b broadcasts: everyone on "lab" gets it (a learns where b lives). */
	nt_send(b.nb, f, test_frame(f, bcast, 2, "hello from b"));
	assert_true(nt_wait(&a.nic, &fa, match_tag, "hello from b", WAIT_MS) >= 0);
	assert_true(nt_wait(&d.nic, &fd, match_tag, "hello from b", WAIT_MS) >= 0);

	/* a answers b's MAC: only b gets it. */
	nt_send(a.nb, f, test_frame(f, mac_b, 1, "unicast a->b"));
	assert_true(nt_wait(&b.nic, &fb, match_tag, "unicast a->b", WAIT_MS) >= 0);
	/* And b answers a (learned from a's unicast). */
	nt_send(b.nb, f, test_frame(f, mac_a, 2, "unicast b->a"));
	assert_true(nt_wait(&a.nic, &fa, match_tag, "unicast b->a", WAIT_MS) >= 0);

	/* Give strays time to show up, then count. */
	nt_sleep_ms(200);
	assert_int_equal(nt_count(&d.nic, match_tag, "unicast a->b"), 0);
	assert_int_equal(nt_count(&d.nic, match_tag, "unicast b->a"), 0);
	assert_int_equal(nt_count(&b.nic, match_tag, "hello from b"), 0);   /* no echo */
	assert_int_equal(nt_count(&c.nic, match_any_test_frame, NULL), 0);
	/* c's broadcast reaches nobody on "lab". */
	nt_send(c.nb, f, test_frame(f, bcast, 3, "from other"));
	nt_sleep_ms(200);
	assert_int_equal(nt_count(&a.nic, match_tag, "from other"), 0);
	assert_int_equal(nt_count(&d.nic, match_tag, "from other"), 0);
	(void)fc;
	nt_close(&c);
	nt_close(&b);
	nt_close(&a);
	nt_close(&d);
}

/*
 * A VM that was killed leaves its socket file with nobody listening: the
 * next adapter to find it removes it.  A VM that leaves closes its
 * connections: the others drop them and go on.
 */
static void test_dead_peer_dropped(void **state)
{
	struct nt_env a, b, c;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char dir[90];
	struct stat st;
	uint8_t f[64];
	unsigned int fc = 0, fa = 0;
	int s;

	(void)state;
	open_ep(&b, 2, "lab");   /* makes the directory */
	snprintf(dir, sizeof(dir), "%s/hutch/intnet/lab", runtime_dir);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/vm999999n1", dir);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&un, sizeof(un)), 0);
	close(s);   /* never listened: as after a crash */
	assert_int_equal(stat(un.sun_path, &st), 0);

	open_ep(&a, 1, "lab");   /* connects to every socket there at once */
	assert_int_equal(stat(un.sun_path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* b leaves; a and a newcomer c still talk, both ways. */
	nt_close(&b);
	open_ep(&c, 3, "lab");
	nt_send(c.nb, f, test_frame(f, bcast, 3, "c joined"));
	assert_true(nt_wait(&a.nic, &fa, match_tag, "c joined", WAIT_MS) >= 0);
	nt_send(a.nb, f, test_frame(f, bcast, 1, "after b left"));
	assert_true(nt_wait(&c.nic, &fc, match_tag, "after b left", WAIT_MS) >= 0);
	nt_close(&c);
	nt_close(&a);
	/* The last one out removed the network's directory. */
	assert_int_equal(stat(dir, &st), -1);
}

/* Names are escaped: "../x" stays inside intnet/, and two names never meet. */
static void test_name_escaped(void **state)
{
	struct nt_env a, b;
	char path[160];
	struct stat st;
	uint8_t f[64];
	unsigned int fb = 0;

	(void)state;
	open_ep(&a, 1, "../x");
	snprintf(path, sizeof(path), "%s/hutch/intnet/%%2E%%2E%%2Fx", runtime_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/hutch/x", runtime_dir);
	assert_int_equal(stat(path, &st), -1);
	open_ep(&b, 2, "..%2Fx");   /* escapes to something else */
	nt_send(a.nb, f, test_frame(f, bcast, 1, "escape"));
	nt_sleep_ms(200);
	assert_int_equal(nt_count(&b.nic, match_tag, "escape"), 0);
	(void)fb;
	nt_close(&b);
	nt_close(&a);
}

/*
 * A guest that posts no receive buffers: net.c's queue fills (1024
 * frames), the back end stops reading its socket (the rest waits there)
 * and resumes when the queue drains.  Without the pause every frame past
 * the queue's size would be lost; with it only the one that found the
 * queue full is.
 */
static void test_paused_while_guest_does_not_read(void **state)
{
	enum { N = 1100, QUEUE = 1024 };
	struct nt_env a, b;
	uint8_t f[64], mac_b[6];
	struct net_stats st;
	unsigned int got = 0, fa = 0;

	(void)state;
	open_ep(&a, 1, "lab");
	open_ep(&b, 2, "lab");
	mac_of(mac_b, 2);
	/* a learns of b (and where b's MAC is) from b's broadcast. */
	nt_send(b.nb, f, test_frame(f, bcast, 2, "hi"));
	assert_true(nt_wait(&a.nic, &fa, match_tag, "hi", WAIT_MS) >= 0);
	nt_refuse(&b, true);
	for (int i = 0; i < N; i++) {
		nt_send(a.nb, f, test_frame(f, mac_b, 1, "burst"));
	}
	nt_sleep_ms(300);
	net_get_stats(b.nb, &st);
	assert_int_equal(nt_total(&b.nic), 0);
	assert_int_equal(st.rx_dropped, 1);   /* the frame that found the queue full */   /* the frame that found the queue full */
	nt_refuse(&b, false);
	for (int i = 0; i < 500 && got < N - 1; i++) {
		nt_sleep_ms(10);
		got = nt_total(&b.nic);
	}
	assert_int_equal(got, N - 1);
	assert_true(got > QUEUE);
	nt_close(&b);
	nt_close(&a);
}

static void test_bad_names_refused(void **state)
{
	struct nt_env env;
	struct nic_spec s = { .index = 1, .attach = NIC_ATTACH_INTNET, .cable = true,
			      .mac = { 0x08, 0, 0x27, 1, 2, 3 } };
	char err[256], longname[200];

	(void)state;
	s.intnet = "";
	assert_null(nt_open(&env, &s, err, sizeof(err)));
	assert_non_null(strstr(err, "needs a name"));
	nt_close(&env);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	s.intnet = longname;
	assert_null(nt_open(&env, &s, err, sizeof(err)));
	assert_non_null(strstr(err, "too long"));
	nt_close(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_vms_one_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_peer_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paused_while_guest_does_not_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
