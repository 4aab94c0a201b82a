#!/usr/bin/env bash
# Linux's bochs DRM driver sets 1024x768x32 on the VBE display; the guest
# unbinds fbcon and writes a pattern (every pixel told apart by position)
# to /dev/fb0; a screenshot is 1024x768 and equals it pixel for pixel.
# Needs (merged issue 11): SeaBIOS boot, the Bochs VBE interface with its
# linear framebuffer BAR (1234:1111), screenshots of graphics modes.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/fwlib.sh
. "$GUEST_DIR/fwlib.sh"
fw_media
VM=fwvbe
fw_vm "$VM" --vram 16 --boot1 dvd
VBoxManage storagectl "$VM" --name SATA --add sata || fail "storagectl"
VBoxManage storageattach "$VM" --storagectl SATA --port 0 --device 0 --type dvddrive \
	--medium "$FW_ISO_FB" || fail "storageattach"
fw_start "$VM"
fw_wait "$VM" fb_ready 180
expect_eq "fb0 driver" "$(fw_result "$VM" fb_name)" bochs-drmdrmfb
expect_eq "fb0 mode" "$(fw_result "$VM" fb_size)x$(fw_result "$VM" fb_bpp)" 1024x768x32
expect_eq "fb0 stride" "$(fw_result "$VM" fb_stride)" 4096
sleep 1   # the DRM fbdev flushes its shadow buffer in a worker
VBoxManage controlvm "$VM" screenshotpng "$HUTCH_TEST_DIR/fb.png" || fail "screenshotpng"
out=$(python3 "$GUEST_DIR/tools/screencheck.py" pattern "$HUTCH_TEST_DIR/fb.png" "$FW_PATTERN" 1024 768 2>&1) ||
	fail "the screenshot is not the pattern: $out"
note "$out"
VBoxManage controlvm "$VM" poweroff || fail "poweroff"
fw_wait_state "$VM" poweroff 30
