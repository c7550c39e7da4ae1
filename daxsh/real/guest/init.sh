#!/bin/busybox sh
# /init of daxsh's real-kernel initramfs: load the modules, make an fsdax namespace on the
# emulated labelled NVDIMM, then hand over to daxsh-guest, which runs /steps and reports on
# /dev/ttyS1.  Power off at the end (via sysrq: a plain poweroff syncs, and sync can hang
# behind a task that oopsed holding s_umount).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /mnt /run
mount -t tmpfs tmpfs /tmp
echo 1 > /proc/sys/kernel/sysrq
for m in $(cat /modules.order); do
	case $m in
	nbd.ko) insmod /lib/modules/$m nbds_max=1 ;;
	*) insmod /lib/modules/$m ;;
	esac || echo "daxsh: insmod $m failed"
done
echo "daxsh: kernel $(uname -r)"
ndctl disable-region all >/dev/null 2>&1
ndctl init-labels -f all >/dev/null 2>&1
ndctl enable-region all >/dev/null 2>&1
ndctl create-namespace -m fsdax -r region0 >/dev/null 2>&1 || echo "daxsh: create-namespace failed"
PFN=$(ls /sys/bus/nd/drivers/nd_pmem/ | grep '^pfn' | head -1)
[ -b /dev/pmem0 ] || echo "daxsh: no /dev/pmem0"
/bin/daxsh-guest /steps "$PFN"
echo "daxsh: guest helper exited $?"
echo o > /proc/sysrq-trigger
sleep 10
poweroff -n -f
