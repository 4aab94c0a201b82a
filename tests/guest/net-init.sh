# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
#
# The guest side of the network tests: one init script (run by busybox sh
# from the initramfs tests/guest/netlib.sh's net_initramfs makes), its role
# and parameters taken from the kernel command line as hnet.KEY=VALUE, so
# one cached initramfs serves every test and VM.  It reports on the serial
# console as "HUTCH-RESULT key=value" lines and ends with poweroff -f.
#
#   hnet.role=  nat      DHCP; resolve hnet.name through the DHCP server's
#                        DNS; fetch http://NAME:hnet.port/big.bin and
#                        big.bin.sha256; report the address, the name's
#                        address and whether the checksum matches
#               fwd      DHCP; busybox httpd on hnet.fwdport serving index.html
#                        (hnet.token); "fwd_ready=PORT"; holds until
#                        /cgi-bin/quit is fetched or hnet.hold seconds pass
#               link     eth0 up; every 100 ms reads its carrier and reports
#                        each change ("carrier=0|1 changes=N"); ends after
#                        hnet.changes changes (default 2) or hnet.hold s
#               peer     static hnet.ip (A.B.C.D/M); pings hnet.peer, then
#                        moves hnet.mib MiB (default 10) each way with nc:
#                        listens on 5001, sends to PEER:5001 (retrying until
#                        the peer listens); reports both checksums
#               quiet    static hnet.ip, no IPv6; for hnet.hold s reports every
#                        2 s the frames eth0 received ("quiet_rx_frames=N"),
#                        then pings hnet.peer (on another network: it must
#                        fail)
#               pxe      booted by iPXE over TFTP: reports it, and DHCP
#               bench    DHCP (or static hnet.ip); iperf3 -c hnet.server
#                        -p hnet.port -t hnet.secs, then the same with -R,
#                        each between "bench_begin=DIR" and "bench_end=DIR"
#               several, comma-separated, run in that order
#   hnet.if=     the interface (default eth0)
#   hnet.hold=   seconds a waiting role waits at most (default 120)

cmdline=" $(cat /proc/cmdline) "
arg() { echo "$cmdline" | sed -n "s/.* hnet\.$1=\([^ ]*\) .*/\1/p"; }
say() { echo "HUTCH-RESULT $*"; }
# Seconds since boot with hundredths: busybox's date has no %N.
now() { cut -d' ' -f1 /proc/uptime; }
finish() { say "done=$1"; sync; poweroff -f; }

role=$(arg role)
ifc=$(arg if); ifc=${ifc:-eth0}
hold=$(arg hold); hold=${hold:-120}
mib=$(arg mib); mib=${mib:-10}
port=$(arg port)

i=0
while [ ! -e "/sys/class/net/$ifc" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "/sys/class/net/$ifc" ] || { say "nic=missing"; finish "$role"; }
drv=$(basename "$(readlink "/sys/class/net/$ifc/device/driver")")
say "nic=$ifc driver=$drv mac=$(cat "/sys/class/net/$ifc/address")"
ip link set lo up

# dhcp: busybox udhcpc with /etc/udhcpc.script (it configures the
# interface, the default route and /etc/resolv.conf, and notes the lease).
dhcp() {
	[ ! -f "/tmp/lease.$ifc" ] || return 0   # an earlier role got the lease
	t0=$(now)
	if udhcpc -i "$ifc" -s /etc/udhcpc.script -n -q -t 20 -T 1 > /tmp/udhcpc.log 2>&1 &&
		[ -f "/tmp/lease.$ifc" ]; then
		read -r lip lrouter ldns < "/tmp/lease.$ifc"
		say "dhcp=ok ip=$lip router=$lrouter dns=$ldns dhcp_secs=$(echo "$(now) $t0" | awk '{ print $1 - $2 }')"
		return 0
	fi
	say "dhcp=failed"
	sed 's/^/udhcpc: /' /tmp/udhcpc.log
	return 1
}

static_ip() {
	ip addr add "$1" dev "$ifc" && ip link set "$ifc" up && say "static_ip=${1%/*}"
}

# wait_carrier: the link is up (a bridge port or a switch may take a moment).
wait_carrier() {
	i=0
	while [ "$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# ping_peer PEER TRIES: one echo a second until one is answered.
ping_peer() {
	i=0
	while [ $i -lt "$2" ]; do
		if ping -c 1 -W 1 "$1" > /tmp/ping.log 2>&1; then
			say "ping=ok ping_tries=$((i + 1)) ping_ms=$(sed -n 's/.*time=\([0-9.]*\).*/\1/p' /tmp/ping.log | head -n 1)"
			return 0
		fi
		i=$((i + 1))
	done
	say "ping=failed ping_tries=$i"
	return 1
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

role_nat() {
	name=$(arg name); name=${name:-files.hutch.test}
	dhcp || return 1
	addr=$(nslookup "$name" 2>/dev/null | awk '/^Name:/ { n = 1 } n && /^Address/ { print $2; exit }')
	say "resolved=${addr:-none}"
	t0=$(now)
	if wget -q -O /tmp/big.bin "http://$name:$port/big.bin" &&
		wget -q -O /tmp/big.sha256 "http://$name:$port/big.bin.sha256"; then
		t1=$(now)
		got=$(sha /tmp/big.bin) want=$(cut -d' ' -f1 /tmp/big.sha256)
		say "http=ok http_bytes=$(wc -c < /tmp/big.bin) http_sha=$got http_secs=$(echo "$t1 $t0" | awk '{ print $1 - $2 }')"
		say "http_sha_match=$([ "$got" = "$want" ] && echo yes || echo no)"
	else
		say "http=failed"
	fi
	return 0
}

role_fwd() {
	port=$(arg fwdport); port=${port:-8080}
	token=$(arg token); token=${token:-hutch-forwarded}
	dhcp || return 1
	mkdir -p /www/cgi-bin
	echo "$token" > /www/index.html
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nbye\\n"\ntouch /tmp/quit\n' > /www/cgi-bin/quit
	chmod +x /www/cgi-bin/quit
	httpd -p "$port" -h /www || { say "httpd=failed"; return 1; }
	say "fwd_ready=$port"
	i=0
	while [ ! -e /tmp/quit ] && [ $i -lt $((hold * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	say "fwd_quit=$([ -e /tmp/quit ] && echo asked || echo timeout)"
	return 0
}

role_link() {
	want=$(arg changes); want=${want:-2}
	ip link set "$ifc" up
	prev="" n=-1 i=0
	while [ $i -lt $((hold * 10)) ]; do
		c=$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null || echo x)
		if [ "$c" != "$prev" ]; then
			n=$((n + 1)) prev=$c
			say "carrier=$c changes=$n at=$(now)"
			[ $n -gt 0 ] || say "link_ready=1"
			[ $n -lt "$want" ] || break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

role_peer() {
	peer=$(arg peer)
	static_ip "$(arg ip)" || return 1
	wait_carrier
	printf '#!/bin/sh\ncat > /tmp/in.bin\n' > /bin/net-recv
	chmod +x /bin/net-recv
	# Listen before anything else: the peer may send as soon as it can.
	nc -l -p 5001 -e /bin/net-recv &
	rx=$!
	ping_peer "$peer" 60 || return 1
	dd if=/dev/urandom of=/tmp/out.bin bs=1M count="$mib" 2>/dev/null
	say "sent_sha=$(sha /tmp/out.bin)"
	t0=$(now) i=0
	until nc "$peer" 5001 < /tmp/out.bin 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 120 ] || break
		sleep 0.5
	done
	say "send=$([ $i -lt 120 ] && echo ok || echo failed) send_secs=$(echo "$(now) $t0" | awk '{ print $1 - $2 }')"
	i=0
	while kill -0 "$rx" 2>/dev/null && [ $i -lt $((hold * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	kill "$rx" 2>/dev/null
	say "recv_bytes=$(wc -c < /tmp/in.bin 2>/dev/null || echo 0) recv_sha=$(sha /tmp/in.bin 2>/dev/null)"
	return 0
}

role_quiet() {
	# No IPv6: the guest itself then sends nothing while it counts (its
	# router solicitations and DAD would come back to it through a
	# multicast analogue of an internal network).
	echo 1 > "/proc/sys/net/ipv6/conf/$ifc/disable_ipv6" 2>/dev/null
	static_ip "$(arg ip)" || return 1
	wait_carrier
	rx0=$(cat "/sys/class/net/$ifc/statistics/rx_packets")
	say "quiet_ready=1"
	i=0
	while [ $i -lt "$hold" ]; do
		sleep 2
		i=$((i + 2))
		say "quiet_rx_frames=$(($(cat "/sys/class/net/$ifc/statistics/rx_packets") - rx0)) quiet_secs=$i"
	done
	ping_peer "$(arg peer)" 3
	return 0
}

role_pxe() {
	say "pxe_booted=1 bootif=$(echo "$cmdline" | sed -n 's/.* BOOTIF=\([^ ]*\) .*/\1/p')"
	dhcp
	return 0
}

role_bench() {
	server=$(arg server) port=${port:-5201} secs=$(arg secs)
	if [ -n "$(arg ip)" ]; then static_ip "$(arg ip)"; wait_carrier; else dhcp; fi || return 1
	for dir in up down; do
		r=""; [ $dir = up ] || r=-R
		say "bench_begin=$dir"
		i=0
		until iperf3 -c "$server" -p "$port" -t "${secs:-5}" $r > /tmp/iperf.log 2>&1; do
			i=$((i + 1))
			[ $i -lt 20 ] || break
			sleep 0.5
		done
		say "bench_end=$dir bench_rc=$([ $i -lt 20 ] && echo 0 || echo 1)"
		grep -e receiver -e error /tmp/iperf.log | sed "s/^/iperf3 $dir: /"
	done
	return 0
}

# Roles run in order (hnet.role=nat,link,fwd: one VM serves several
# checks, which keeps the sandbox's boots few); the first that fails ends it.
for r in $(echo "$role" | tr , ' '); do
	case $r in
	nat|fwd|link|peer|quiet|pxe|bench) "role_$r" || break ;;
	*) say "role=unknown:$r"; break ;;
	esac
done
finish "$role"
