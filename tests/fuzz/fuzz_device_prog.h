/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The input language of the device fuzz targets (fuzz_device.c), shared
 * with the seed generator (fuzz_device_seeds.c).
 *
 * An input is one flags byte, then a program: a sequence of operations,
 * each an opcode byte followed by its operands, little-endian.  An opcode
 * is taken modulo FOP_COUNT, so every byte string is a valid program; an
 * operand cut short by the end of the input reads as zeros, and the
 * program simply stops there.  What a guest can do to a storage
 * controller is all here: register accesses at any offset and width
 * (through the BARs wherever the guest moved them, raw port I/O, PCI
 * configuration space), bytes of its choosing anywhere in its RAM (so
 * command lists, PRD tables, FISes, descriptor tables and rings point
 * wherever it likes), device resets, and save/load round trips; for a
 * NIC also what the network does to it: frames arriving, the cable.
 *
 * After every operation the harness waits until the device's I/O threads
 * are idle, so a program means the same thing on every run (libFuzzer
 * needs that).  FOP_ASYNC lifts this for the next N operations: they then
 * race the I/O thread, as a real vCPU does, and the run is no longer
 * exactly reproducible.
 */
#ifndef HUTCH_FUZZ_DEVICE_PROG_H
#define HUTCH_FUZZ_DEVICE_PROG_H

#include <stdint.h>

/* The flags byte that starts an input. */
#define FFLAG_QCOW2    0x01  /* the disk is a qcow2 image (else raw) */
#define FFLAG_NO_MEDIA 0x02  /* AHCI, IDE: the CD drive is empty */
#define FFLAG_UART_READER 0x04  /* UART: its output is read after each operation */
#define FFLAG_UART_EOF    0x08  /* UART: its input ends after a few bytes */
#define FFLAG_LOOP        0x10  /* storage: the machine offers ioeventfds and irqfds */

/* Guest RAM of the fuzzed machine, at guest-physical 0. */
#define FUZZ_RAM_SIZE   (2u << 20)
#define FUZZ_DISK_SIZE  (1u << 20)
#define FUZZ_CD_BLOCKS  32u           /* 2048-byte blocks */
#define FUZZ_MAX_OPS    512u          /* operations run per input, at most */
#define FUZZ_MAX_REP    4096u         /* FOP_PIO_REP_* repeat count, at most */
#define FUZZ_MAX_PAUSE_US 5000u       /* FOP_PAUSE time per input, at most */
#define FUZZ_PAUSE_VIRTUAL_NS 1000000u /* FOP_PAUSE: virtual time per unit of n (1 ms) */
/*
 * NICs: each FOP_PAUSE also plays the host's side of the wire.  It
 * delivers (n & 3) + 1 frames from the host, all the bytes at
 * FUZZ_NET_FRAME_GPA in guest RAM (the program writes them there like any
 * RAM), as long as the le16 at FUZZ_NET_LEN_GPA says (60 if that is
 * shorter than an Ethernet header), and with n & 0x80 pulls or plugs the
 * cable first.
 */
#define FUZZ_NET_FRAME_GPA 0x1f0000u
#define FUZZ_NET_LEN_GPA   (FUZZ_NET_FRAME_GPA - 2)

enum fuzz_op {
	/* bar u8, off u32, width u8, value u64: write at the BAR's current
	 * address + off (mod the BAR's size); port I/O for an I/O BAR. */
	FOP_BAR_WRITE,
	/* bar u8, off u32, width u8 */
	FOP_BAR_READ,
	/* port u16, width u8, value u32 (any port: legacy IDE is not a BAR) */
	FOP_PIO_WRITE,
	/* port u16, width u8 */
	FOP_PIO_READ,
	/* port u16, width u8, count u16: `rep ins` of count units */
	FOP_PIO_REP_READ,
	/* port u16, width u8, count u16, value u32: `rep outs` of one value */
	FOP_PIO_REP_WRITE,
	/* off u8, width u8, value u32: the device's PCI configuration space */
	FOP_CFG_WRITE,
	/* off u8, width u8 */
	FOP_CFG_READ,
	/* gpa u32, len u16, then len bytes copied into guest RAM at gpa
	 * (mod RAM size; cut at the end of RAM or of the input) */
	FOP_RAM_WRITE,
	/* gpa u32, len u32, byte u8: memset of guest RAM (cut at its end) */
	FOP_RAM_FILL,
	/* device_reset(), as a machine reset does */
	FOP_RESET,
	/* wait for the I/O threads (a no-op unless FOP_ASYNC is in force) */
	FOP_DRAIN,
	/* n u8: do not wait for the I/O threads after the next n operations */
	FOP_ASYNC,
	/* save the device's state and load it back into the same device */
	FOP_SAVE_LOAD,
	/* n u8: sleep n * 10 us (at most FUZZ_MAX_PAUSE_US per input) if an
	 * I/O thread left running by FOP_ASYNC may be busy, so it gets into
	 * its request; and let n * FUZZ_PAUSE_VIRTUAL_NS pass on the fake
	 * machine's virtual clock, firing the timers that fall due; and for
	 * a NIC, frames from the host (FUZZ_NET_FRAME_GPA) */
	FOP_PAUSE,
	/* NICs: len u16, then len bytes: a frame from the host for the guest
	 * (through the fake back end's queue; delivered when the loop runs) */
	FOP_NET_RX,
	/* NICs: up u8: plug in (odd) or pull (even) the cable */
	FOP_NET_LINK,
	/* kind u8, a u16, b u16, c u8, buttons u8: the host's input through
	 * every input the device published (input.h): kind % 3 = 0 key a
	 * (down if c is odd), 1 relative motion (a, b as int16, wheel c as
	 * int8), 2 absolute position (a, b mod INPUT_ABS_MAX + 1, wheel c) */
	FOP_INPUT,
	FOP_COUNT
};

/* A width operand: its low two bits pick 1, 2, 4 or 8 bytes. */
static inline unsigned int fuzz_width(uint8_t w)
{
	return 1u << (w & 3);
}

#endif
