#!/bin/sh
# /init of the default guest: say hello, show what the VM looks like, power off.
echo
echo "Hello from a Hutch guest: $(uname -sr), $(nproc) vCPU(s)"
grep MemTotal /proc/meminfo
echo "Guest time: $(date -u)"
echo "Powering off."
poweroff -f
