# guest.mk -- the build shared by the standalone teaching guests (guest/lecture, guest/probe).
# A guest's Makefile sets NAME (its .c, .ld and .elf are NAME.*), QEMU_ARGS and optionally
# APPEND (the kernel command line for `make qemu`) and ENTRY_DEFS (-DMULTIBOOT_FLAGS=...,
# -DKERNEL_STACK_BYTES=... for entry.S), then includes this file. Each guest is its boot.S,
# NAME.c and the shared ../bare/entry.S, console.c and cpu-tables.c (and ../bare/trap-to-c.inc,
# the exception entry that calls C, for boot.S files that include it).
#
#   make                  # build $(OUT)/NAME.elf
#   make OUT=build-x      # build into another directory (relative OUT: relative to the guest)
#   make prebuilt         # build, then copy the ELF to NAME.elf in the guest's folder (committed)
#   make check-prebuilt   # rebuild in a fresh directory and compare with NAME.elf
#   make qemu             # build and run it under QEMU; fails unless the kernel exits 0
#   make qemu-prebuilt    # run the committed NAME.elf under QEMU
#   make clean
#
# The build is reproducible: same sources + same toolchain = identical bytes
# (-ffile-prefix-map, no build ID, no debug information).

OUT ?= ../../out/$(NAME)
QEMU ?= qemu-system-i386
APPEND ?=
ENTRY_DEFS ?=
BARE := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ifeq ($(origin CC),default)
CC := gcc
endif

CFLAGS := -m32 -ffreestanding -nostdlib -fno-pie -march=i686 -mgeneral-regs-only \
	-mno-sse -mno-mmx -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-O2 -Wall -Wextra -Werror -ffile-prefix-map=$(abspath $(CURDIR)/..)=..
LDFLAGS := -m32 -nostdlib -ffreestanding -no-pie -static -Wl,--build-id=none \
	-Wl,-T,$(NAME).ld

OBJS := $(OUT)/entry.o $(OUT)/boot.o $(OUT)/$(NAME).o $(OUT)/console.o $(OUT)/cpu-tables.o
QEMU_APPEND := $(if $(APPEND),-append "$(APPEND)")

.PHONY: all prebuilt check-prebuilt qemu qemu-prebuilt clean
.DELETE_ON_ERROR:

all: $(OUT)/$(NAME).elf

$(OUT)/$(NAME).elf: $(OBJS) $(NAME).ld Makefile $(BARE)/guest.mk
	$(CC) $(LDFLAGS) -o $@ $(OBJS)

$(OUT)/%.o: %.c $(BARE)/bare.h Makefile | $(OUT)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/%.o: $(BARE)/%.c $(BARE)/bare.h | $(OUT)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/%.o: %.S $(BARE)/trap-to-c.inc Makefile | $(OUT)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/entry.o: $(BARE)/entry.S Makefile | $(OUT)
	$(CC) $(CFLAGS) $(ENTRY_DEFS) -c -o $@ $<

$(OUT):
	mkdir -p $@

prebuilt: $(OUT)/$(NAME).elf
	cp $< $(NAME).elf

check-prebuilt:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory OUT="$$tmp" all >/dev/null && \
	cmp "$$tmp/$(NAME).elf" $(NAME).elf && echo "$(NAME).elf: reproduced byte for byte"

# isa-debug-exit makes QEMU exit with (code << 1) | 1, so 1 means the kernel wrote 0.
qemu: $(OUT)/$(NAME).elf
	@timeout 60 $(QEMU) $(QEMU_ARGS) -kernel $< $(QEMU_APPEND); st=$$?; \
	if [ $$st -ne 1 ]; then echo "make qemu: QEMU exit status $$st (1 = success)" >&2; exit 1; fi

qemu-prebuilt:
	@timeout 60 $(QEMU) $(QEMU_ARGS) -kernel $(NAME).elf $(QEMU_APPEND); st=$$?; \
	if [ $$st -ne 1 ]; then echo "make qemu: QEMU exit status $$st (1 = success)" >&2; exit 1; fi

clean:
	rm -f $(OBJS) $(OUT)/$(NAME).elf
	-rmdir $(OUT) 2>/dev/null || true
