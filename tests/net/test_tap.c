// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The bridged back end (src/net/tap.c), root only (skipped otherwise),
 * each test in a child process inside a network namespace it makes
 * (unshare(CLONE_NEWNET)), so nothing touches the host's interfaces:
 *   - on a bridge: a TAP is made, put on the bridge and brought up; a
 *     guest frame comes out on the bridge (an AF_PACKET socket there) and
 *     a frame sent on the bridge reaches the guest; destroy removes it;
 *   - an existing TAP the user owns is attached to without privilege;
 *   - without CAP_NET_ADMIN (setuid to nobody) the error names it, and a
 *     TAP of another user is refused with the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_test_util.h"

#define WAIT_MS 5000
#define ETH_TEST 0x88B5
#define NOBODY 65534

/* Checks inside the child: print where, exit non-zero (the parent asserts 0). */
#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
			_exit(1);                                                \
		}                                                                \
	} while (0)

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t guest_mac[6] = { 0x08, 0x00, 0x27, 0x77, 0x00, 0x01 };

static int sh(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

/* Run @fn in a child in a new network namespace with br0 up.  77 = skip. */
static int in_netns(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(77);
		if (sh("ip link set lo up && ip link add br0 type bridge && ip link set br0 up"))
			_exit(77);
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void run_or_skip(int (*fn)(void))
{
	int r;

	if (geteuid() != 0)
		skip();
	r = in_netns(fn);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

static struct nic_spec tap_spec(const char *bridge)
{
	struct nic_spec s = { .index = 1, .attach = NIC_ATTACH_BRIDGED, .cable = true };

	memcpy(s.mac, guest_mac, 6);
	s.bridge = (char *)bridge;
	return s;
}

static bool match_tag(const uint8_t *f, size_t len, void *arg)
{
	const char *tag = arg;

	return len >= 14 + strlen(tag) && nt_be16(f + 12) == ETH_TEST &&
	       !memcmp(f + 14, tag, strlen(tag));
}

static size_t test_frame(uint8_t *f, const uint8_t src[6], const char *tag)
{
	size_t n = nt_eth(f, bcast, src, ETH_TEST);

	memset(f + n, 0, 46);
	memcpy(f + n, tag, strlen(tag));
	return 60;
}

static int packet_socket(const char *ifname, int *ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	CHECK(s >= 0);
	*ifindex = (int)if_nametoindex(ifname);
	CHECK(*ifindex > 0);
	sll.sll_ifindex = *ifindex;
	CHECK(bind(s, (struct sockaddr *)&sll, sizeof(sll)) == 0);
	return s;
}

/* Wait up to @ms for a frame carrying @tag on packet socket @s. */
static bool packet_wait(int s, const char *tag, int ms)
{
	uint8_t buf[2048];

	for (int i = 0; i < ms / 10; i++) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(s, buf, sizeof(buf), 0);
		if (n > 0 && match_tag(buf, (size_t)n, (void *)tag))
			return true;
	}
	return false;
}

static bool iface_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static int child_bridge(void)
{
	struct nt_env env;
	struct nic_spec spec = tap_spec("br0");
	char err[256], tap[IFNAMSIZ], cmd[128];
	uint8_t f[64], host_mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned int from = 0;
	int s, ifindex;

	if (!nt_open(&env, &spec, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	CHECK(!strcmp(net_backend_kind(env.nb), "bridged"));
	snprintf(tap, sizeof(tap), "hutch%dn1", (int)getpid() % 10000000);
	CHECK(iface_exists(tap));
	/* On the bridge, and up. */
	snprintf(cmd, sizeof(cmd), "ip -o link show %s | grep -q 'master br0' && "
		 "ip -o link show %s | grep -q '[<,]UP[,>]'", tap, tap);
	CHECK(sh(cmd) == 0);

	/* Guest -> bridge. */
	s = packet_socket("br0", &ifindex);
	nt_send(env.nb, f, test_frame(f, guest_mac, "guest to bridge"));
	CHECK(packet_wait(s, "guest to bridge", WAIT_MS));

	/* Bridge -> guest. */
	to.sll_ifindex = ifindex;
	memcpy(to.sll_addr, bcast, 6);
	test_frame(f, host_mac, "bridge to guest");
	CHECK(sendto(s, f, 60, 0, (struct sockaddr *)&to, sizeof(to)) == 60);
	CHECK(nt_wait(&env.nic, &from, match_tag, "bridge to guest", WAIT_MS) >= 0);
	close(s);

	nt_close(&env);
	CHECK(!iface_exists(tap));   /* the TAP we made went with us */
	return 0;
}

static void test_tap_on_bridge(void **state)
{
	(void)state;
	run_or_skip(child_bridge);
}

/* Run @fn as nobody (no capabilities) in a grandchild; its exit code. */
static int as_nobody(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(2);
		_exit(fn());
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int nobody_on_bridge(void)
{
	struct nt_env env;
	struct nic_spec spec = tap_spec("br0");
	char err[512];

	CHECK(!nt_open(&env, &spec, err, sizeof(err)));
	CHECK(strstr(err, "nic1: bridged to br0: creating a TAP device needs CAP_NET_ADMIN"));
	CHECK(strstr(err, "ip tuntap add dev tap0 mode tap user $USER"));
	CHECK(!strchr(err, '\n'));
	nt_close(&env);
	return 0;
}

/* Opened as root before giving up privilege (AF_PACKET needs CAP_NET_RAW). */
static int bridge_packets = -1;

static int nobody_on_own_tap(void)
{
	struct nt_env env;
	struct nic_spec spec = tap_spec("tapnobody");
	char err[512];
	uint8_t f[64];
	int s = bridge_packets;

	if (!nt_open(&env, &spec, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* Still moves frames: guest -> bridge through the user's TAP. */
	/*
	 * The TAP gets its carrier when we attach, and the bridge hears of
	 * it through the kernel's link watch, up to a second later: until
	 * then the port drops frames, as a freshly plugged switch port does.
	 */
	for (int i = 0; i < 20; i++) {
		nt_send(env.nb, f, test_frame(f, guest_mac, "via own tap"));
		if (packet_wait(s, "via own tap", 250))
			break;
		CHECK(i < 19);
	}
	nt_close(&env);
	return 0;
}

static int nobody_on_roots_tap(void)
{
	struct nt_env env;
	struct nic_spec spec = tap_spec("taproot");
	char err[512];

	CHECK(!nt_open(&env, &spec, err, sizeof(err)));
	CHECK(strstr(err, "nic1: bridged to taproot: the TAP device belongs to another user"));
	nt_close(&env);
	return 0;
}

static int child_unprivileged(void)
{
	int ifindex;

	CHECK(sh("ip tuntap add dev tapnobody mode tap user 65534 && "
		 "ip link set tapnobody master br0 up && "
		 "ip tuntap add dev taproot mode tap user 0") == 0);
	bridge_packets = packet_socket("br0", &ifindex);
	CHECK(as_nobody(nobody_on_bridge) == 0);
	CHECK(as_nobody(nobody_on_own_tap) == 0);
	CHECK(as_nobody(nobody_on_roots_tap) == 0);
	/* A persistent TAP we attached to stays when we let go. */
	CHECK(iface_exists("tapnobody"));
	return 0;
}

static void test_unprivileged(void **state)
{
	(void)state;
	run_or_skip(child_unprivileged);
}

static int child_bad_names(void)
{
	struct nt_env env;
	char err[256];
	struct nic_spec spec = tap_spec("nosuch0");

	CHECK(!nt_open(&env, &spec, err, sizeof(err)));
	CHECK(strstr(err, "nic1: bridged: no bridge or TAP device named nosuch0"));
	nt_close(&env);
	spec = tap_spec("lo");
	CHECK(!nt_open(&env, &spec, err, sizeof(err)));
	CHECK(strstr(err, "neither a bridge nor a TAP device"));
	nt_close(&env);
	spec = tap_spec("../../x");
	CHECK(!nt_open(&env, &spec, err, sizeof(err)));
	CHECK(strstr(err, "is not an interface name"));
	nt_close(&env);
	return 0;
}

static void test_bad_names(void **state)
{
	(void)state;
	run_or_skip(child_bad_names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_on_bridge),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_bad_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
