#!/bin/sh
# /init for the boot benchmark: the first userspace line, then power off.
echo HUTCH-BENCH-USERSPACE
poweroff -f
