#!/usr/bin/env bash
# startvm/controlvm/list runningvms against a fake hutch-vm that speaks the
# control protocol: the launch, the state file, pause/resume, the power
# button, a running VM's settings protected, a killed VM shown as aborted,
# and start failures reported with the VM's log.
. "$(dirname "$0")/lib.sh"
command -v python3 > /dev/null || { echo "SKIP: no python3 for the fake hutch-vm"; exit 77; }
export FAKE_VM_RECORD=$T/rec
mkdir -p "$FAKE_VM_RECORD"
echo kernel > vmlinuz
echo initrd > initrd.img
vmctl createvm --name ci --ostype Linux_64 --register > /dev/null
vmctl modifyvm ci --memory 256 --cpus 2 --kernel vmlinuz --initrd initrd.img --cmdline "console=ttyS0 quiet" --nic1 none

# No kernel: the VM boots through SeaBIOS in the boot order (without the
# "none" slots), with its display; EFI is refused in one line, the
# graphics controllers Hutch lacks are named and a VGA used instead.
vmctl createvm --name biosvm --register > /dev/null
vmctl modifyvm biosvm --nic1 none --vram 16 --boot1 dvd --boot2 disk --boot3 dvd --boot4 net
expect_mr biosvm firmware BIOS
expect_mr biosvm boot1 dvd
expect_mr biosvm boot3 dvd   # a class listed twice is passed once
expect_mr biosvm vram 16
expect_mr biosvm graphicscontroller vboxvga
vmctl startvm biosvm --type headless > start.out 2> start.err
[ ! -s start.err ] || fail "unexpected warnings: $(cat start.err)"
biosvm_log=$(dirname "$(mr biosvm CfgFile)")/Logs/hutch-vm.log
grep -q -- "--memory 128 --cpus 1 --vga std --vram 16 --boot dvd,disk,net --serial" "$biosvm_log" ||
	fail "firmware boot arguments: $(cat "$biosvm_log")"
grep -q -- "--kernel" "$biosvm_log" && fail "--kernel passed without one: $(cat "$biosvm_log")"
vmctl controlvm biosvm poweroff 2> /dev/null
vmctl modifyvm biosvm --firmware efi
expect_mr biosvm firmware EFI
expect_status 1 vmctl startvm biosvm --type headless
expect_err "^vmctl: error: VM 'biosvm': EFI firmware is not yet supported"
[ "$(wc -l < "$T/err")" = 1 ] || fail "more than one line: $ERR"
expect_mr biosvm VMState poweroff
expect_status 1 vmctl modifyvm biosvm --firmware uefi
expect_err "invalid firmware 'uefi': expected one of bios, efi"
vmctl modifyvm biosvm --firmware BIOS --graphicscontroller vmsvga --boot1 none --boot2 none --boot3 none --boot4 none
expect_mr biosvm firmware BIOS
vmctl startvm biosvm --type headless > /dev/null 2> start.err
grep -q "not yet supported by Hutch, started without: graphics controller vmsvga (a standard VGA is used)" start.err ||
	fail "vmsvga not named: $(cat start.err)"
tail -n 2 "$biosvm_log" | grep -q -- "--vga std --vram 16 --serial" ||
	fail "no boot devices: --boot must be left out: $(tail -n 2 "$biosvm_log")"
vmctl controlvm biosvm poweroff 2> /dev/null
# --mouse ps2: hutch-vm without its tablet (the tablet is its default: never said)
vmctl modifyvm biosvm --mouse ps2
vmctl startvm biosvm --type headless > /dev/null 2> /dev/null
tail -n 2 "$biosvm_log" | grep -q -- "--vga std --vram 16 --pointing ps2 --serial" ||
	fail "--mouse ps2: $(tail -n 2 "$biosvm_log")"
vmctl controlvm biosvm poweroff 2> /dev/null
vmctl modifyvm biosvm --mouse usbtablet
vmctl modifyvm biosvm --graphicscontroller none
FAKE_VM_NO_DISPLAY=1 vmctl startvm biosvm --type headless > /dev/null 2> /dev/null
tail -n 2 "$biosvm_log" | grep -q -- "--vga none --vram 16" || fail "--graphicscontroller none: $(tail -n 2 "$biosvm_log")"
expect_status 1 vmctl controlvm biosvm screenshotpng none.png
expect_err "^vmctl: error: the VM refused 'screenshot': screenshot: this VM has no display$"
[ ! -e none.png ] || fail "a failed screenshot left its file behind"
vmctl controlvm biosvm poweroff 2> /dev/null
check_schemas
note "firmware boot: --boot, --vga, --vram passed; efi refused; vmsvga named"

vmctl startvm ci --type headless > start.out 2> start.err
grep -q '^VM "ci" has been successfully started.$' start.out || fail "startvm output: $(cat start.out)"
[ ! -s start.err ] || fail "unexpected warnings: $(cat start.err)"
sock=$HUTCH_RUNTIME_DIR/$(mr ci UUID).sock
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock")"
[ "$(stat -c %a "$HUTCH_RUNTIME_DIR")" = 700 ] || fail "runtime dir mode $(stat -c %a "$HUTCH_RUNTIME_DIR")"
log=$(dirname "$(mr ci CfgFile)")/Logs/hutch-vm.log
grep -q -- "--memory 256 --cpus 2 --vga std --vram 8 --kernel $T/vmlinuz --initrd $T/initrd.img --append console=ttyS0 quiet --serial file:.*/Logs/serial.log" "$log" ||
	fail "hutch-vm's arguments: $(cat "$log")"
note "hutch-vm started with the VM's settings; socket mode 600"
vmctl showvminfo ci --log 0 | has "^fake hutch-vm: " || fail "showvminfo --log 0"
vmctl list runningvms | has '^"ci" {' || fail "list runningvms: $(vmctl list runningvms)"
expect_mr ci VMState running
expect_status 1 vmctl startvm ci --type headless
expect_err "already running"

# A running VM's hardware is fixed; its description is not.
expect_status 1 vmctl modifyvm ci --memory 512
expect_err "VM 'ci' is running: --memory cannot be changed while it runs"
vmctl modifyvm ci --description "live note"
expect_status 1 vmctl storagectl ci --name SATA --add sata
expect_status 1 vmctl unregistervm ci
note "settings protected while running"

vmctl controlvm ci pause
expect_mr ci VMState paused
vmctl list runningvms | has '^"ci"' || fail "a paused VM is still listed as running (as VirtualBox does)"
expect_status 1 vmctl controlvm ci pause
vmctl controlvm ci resume
expect_mr ci VMState running
vmctl controlvm ci reset
# The scripted keyboard: scan codes as hex bytes; the text's words joined by
# spaces, escaped for the line protocol (backslash, tab, newline).
vmctl controlvm ci keyboardputscancode 1e 9E "e0 48" e0 c8
vmctl controlvm ci keyboardputstring 'echo a\b' "two  words " $'tab\there\n'
grep '^keyboardput' "$FAKE_VM_RECORD/ci.requests" > kbd.out
printf '%s\n' 'keyboardputscancode 1e 9e e0 48 e0 c8' 'keyboardputstring echo a\\b two  words  tab\there\n' > kbd.want
diff kbd.want kbd.out > /dev/null || fail "keyboard requests: $(cat kbd.out)"
expect_status 2 vmctl controlvm ci keyboardputscancode 1e 1g
expect_err "'1g' is not a scan code"
expect_status 2 vmctl controlvm ci keyboardputstring
expect_status 1 vmctl controlvm ci keyboardputstring "$(printf 'caf\xc3\xa9')"
expect_err "^vmctl: error: the VM refused: keyboardputstring: cannot type the byte 0xc3"
note "keyboardputscancode, keyboardputstring: requests and errors"
# screenshotpng: vmctl creates the file with the user's rights and passes it.
(umask 022; vmctl controlvm ci screenshotpng shot.png)
[ "$(head -c 8 shot.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
[ "$(stat -c '%a %u' shot.png)" = "644 $(id -u)" ] || fail "screenshot file mode/owner: $(stat -c '%a %u' shot.png)"
echo old > old.png
vmctl controlvm ci screenshotpng old.png 0
cmp -s old.png shot.png || fail "an existing file is not replaced by the PNG"
expect_status 1 vmctl controlvm ci screenshotpng two.png 1
expect_err "display 1 does not exist"
expect_status 1 vmctl controlvm ci screenshotpng "$T/no/such/dir/x.png"
expect_err "cannot create '$T/no/such/dir/x.png'"
expect_status 2 vmctl controlvm ci screenshotpng
note "controlvm screenshotpng"
vmctl controlvm ci acpipowerbutton
for _ in $(seq 1 50); do [ "$(mr ci VMState)" = poweroff ] && break; sleep 0.1; done
expect_mr ci VMState poweroff
[ -z "$(vmctl list runningvms)" ] || fail "runningvms not empty: $(vmctl list runningvms)"
note "pause/resume/reset/acpipowerbutton; then poweroff and no running VMs"

# controlvm poweroff waits until the VM is off, with progress.
vmctl startvm ci --type headless > /dev/null
vmctl controlvm ci poweroff 2> off.err
grep -q '100%' off.err || fail "poweroff progress: $(cat off.err)"
expect_mr ci VMState poweroff
vmctl modifyvm ci --memory 512
expect_mr ci memory 512

# A VM whose process was killed shows as aborted, and can start again.
vmctl startvm ci --type headless > /dev/null
pid=$(sed -n 's/^running pid=//p' "$HUTCH_RUNTIME_DIR/$(mr ci UUID).state")
kill -9 "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
expect_mr ci VMState aborted
[ -z "$(vmctl list runningvms)" ] || fail "an aborted VM is listed as running"
vmctl showvminfo ci | has "^State: *aborted" || fail "human showvminfo state"
note "killed VM: VMState=aborted"
vmctl startvm ci --type headless > /dev/null
vmctl controlvm ci poweroff 2> /dev/null

# SATA, IDE and virtio attachments become hutch-vm --drive options; devices
# Hutch cannot attach yet are named on start.  Without a display the
# default --type is headless, silently (scripts on servers and CI).
vmctl modifyvm ci --nic1 nat
vmctl storagectl ci --name SATA --add sata
vmctl storageattach ci --storagectl SATA --port 0 --device 0 --type dvddrive --medium emptydrive
vmctl storagectl ci --name IDE --add ide
vmctl storageattach ci --storagectl IDE --port 1 --device 0 --type dvddrive --medium emptydrive
vmctl storagectl ci --name SCSI --add scsi
vmctl storageattach ci --storagectl SCSI --port 0 --device 0 --type dvddrive --medium emptydrive
env -u DISPLAY -u WAYLAND_DISPLAY "$VMCTL" startvm ci > /dev/null 2> warn.out
grep -q "not yet supported by Hutch, started without: SCSI-0-0 (dvddrive)" warn.out ||
	fail "unsupported devices not named: $(cat warn.out)"
tail -n 3 "$log" | grep -qE -- "--drive if=sata,port=0,media=cdrom,readonly=on --drive if=ide,port=2,media=cdrom,readonly=on --nic nic=1,model=e1000,net=nat,mac=[0-9A-F]{12},cable=on,dnshost=off --serial" ||
	fail "drives and NIC not passed to hutch-vm: $(tail -n 3 "$log")"
! grep -q -- "--display" <(tail -n 1 "$log") || fail "a VM started headless got a window: $(tail -n 1 "$log")"
! grep -q -- "--type" warn.out || fail "the default --type warned: $(cat warn.out)"
vmctl controlvm ci poweroff 2> /dev/null

# --type gui and sdl are the VM window (hutch-vm --display sdl); without a
# display to put it on they fail before anything starts, naming why.
for t in gui sdl; do
	set +e
	env -u DISPLAY -u WAYLAND_DISPLAY "$VMCTL" startvm ci --type $t > /dev/null 2> gui.err
	st=$?
	set -e
	[ "$st" = 1 ] || fail "startvm --type $t without a display: status $st"
	grep -q "needs a display: neither DISPLAY nor WAYLAND_DISPLAY is set" gui.err ||
		fail "startvm --type $t without a display said: $(cat gui.err)"
done
[ "$(mr ci VMState)" = poweroff ] || fail "a refused start left the VM $(mr ci VMState)"
# With one (the fake opens nothing), --type gui and no --type both ask for the window.
DISPLAY=:99 "$VMCTL" startvm ci --type gui > /dev/null 2> warn.out || fail "startvm --type gui: $(cat warn.out)"
tail -n 1 "$log" | grep -q -- "--display sdl" || fail "--type gui: no --display sdl: $(tail -n 1 "$log")"
vmctl controlvm ci poweroff 2> /dev/null
DISPLAY=:99 "$VMCTL" startvm ci > /dev/null 2> warn.out || fail "startvm with a display: $(cat warn.out)"
tail -n 1 "$log" | grep -q -- "--display sdl" || fail "the default with a display is not the window: $(tail -n 1 "$log")"
vmctl controlvm ci poweroff 2> /dev/null

# Every image travels with its registered format (issue 8, finding 1): a
# raw disk whose first bytes a guest made look like a qcow2 header is
# still started as raw, and hutch-vm is never left to probe.
truncate -s 1M guest.img
vmctl storagectl ci --name VirtIO --add virtio
vmctl createmedium disk --filename sata.vdi --size 4 > /dev/null 2>&1
vmctl storageattach ci --storagectl SATA --port 3 --device 0 --type hdd --medium sata.vdi
truncate -s 1M cd.iso
vmctl storageattach ci --storagectl IDE --port 0 --device 1 --type dvddrive --medium cd.iso
vmctl storageattach ci --storagectl VirtIO --port 0 --device 0 --type hdd --medium guest.img
# The guest's write: a qcow2 magic and version at offset 0 of its raw disk.
printf 'QFI\xfb\0\0\0\3' | dd of=guest.img conv=notrunc 2> /dev/null
# A settings file naming an image the registry forgot: registered (probed once) at start.
sed -i '/sata\.vdi/d' "$HUTCH_CONFIG_HOME/registry.xml"
vmctl list hdds | has sata.vdi && fail "test setup: sata.vdi still registered"
vmctl startvm ci --type headless > /dev/null 2> warn.out
drives=$(tail -n 3 "$log" | grep -o -- "--drive [^ ]*" | tr '\n' ' ')
# SATA and virtio controllers have VirtualBox's default hostiocache off: O_DIRECT.
for want in "if=sata,port=3,media=disk,readonly=off,hostcache=off,format=vdi,file=$T/sata.vdi" \
	"if=ide,port=1,media=cdrom,readonly=on,format=raw,file=$T/cd.iso" \
	"if=virtio,media=disk,readonly=off,hostcache=off,format=raw,file=$T/guest.img"; do
	case " $drives" in *" --drive $want "*) ;; *) fail "no '--drive $want' in: $drives" ;; esac
done
vmctl list hdds | has -x "Location:       $T/sata.vdi" || fail "unregistered image not registered at start"
note "formats passed: $drives"
vmctl controlvm ci poweroff 2> /dev/null
# storagectl --hostiocache on: kept in the settings, the disk goes through the host cache.
vmctl storagectl ci --name SATA --hostiocache on
grep -rhq '<StorageController name="SATA" [^>]*hostiocache="true"' "$HUTCH_CONFIG_HOME" ||
	fail "hostiocache on not kept in the settings"
vmctl startvm ci --type headless > /dev/null 2> warn.out
drives=$(tail -n 3 "$log" | grep -o -- "--drive [^ ]*" | tr '\n' ' ')
case " $drives" in *" --drive if=sata,port=3,media=disk,readonly=off,format=vdi,file=$T/sata.vdi "*) ;;
	*) fail "hostiocache on: SATA disk still hostcache=off: $drives" ;; esac
case " $drives" in *"hostcache=off,format=raw,file=$T/guest.img "*) ;;
	*) fail "hostiocache on for SATA changed the virtio disk: $drives" ;; esac
vmctl controlvm ci poweroff 2> /dev/null

# hutch-vm failing at start: its log's last lines are the error.
expect_status 1 env FAKE_VM_FAIL=1 "$VMCTL" startvm ci --type headless
expect_err "hutch-vm for VM 'ci' exited \(status 1\) before the VM ran: .*/dev/kvm: No such file or directory"
note "start failure: $ERR"
expect_mr ci VMState poweroff
expect_status 1 env HUTCH_VM=/nonexistent/hutch-vm "$VMCTL" startvm ci --type headless
expect_err "cannot run '/nonexistent/hutch-vm'"
check_schemas
