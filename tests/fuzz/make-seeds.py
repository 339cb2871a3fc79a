#!/usr/bin/env python3
"""Write the generated seed inputs of tests/fuzz/corpus (kernel images,
topologies, device access sequences). Rerun after changing an input
format; the config seeds are plain INI files kept by hand."""
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')


def put(target, name, data):
    os.makedirs(os.path.join(here, target), exist_ok=True)
    with open(os.path.join(here, target, name), 'wb') as f:
        f.write(data)


# ---- kernel-image: bzImage headers (Linux boot protocol) and arm64 Images
def bzimage(version=0x020f, xloadflags=1, loadflags=1, setup_sects=4,
            kernel=0x1000, init_size=0x2000000, cut=None, hdr_end=0x26c):
    setup = (setup_sects + 1) * 512
    b = bytearray(setup + kernel)
    b[0x1f1] = setup_sects
    struct.pack_into('<I', b, 0x1f4, kernel // 16)      # syssize
    struct.pack_into('<H', b, 0x1fe, 0xaa55)            # boot_flag
    b[0x200] = 0xeb                                      # jump
    b[0x201] = hdr_end - 0x202                           # over the header
    b[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', b, 0x206, version)
    b[0x211] = loadflags                                 # LOADED_HIGH
    struct.pack_into('<I', b, 0x22c, 0x7fffffff)        # initrd_addr_max
    struct.pack_into('<I', b, 0x230, 0x200000)          # kernel_alignment
    b[0x234] = 1                                         # relocatable
    struct.pack_into('<H', b, 0x236, xloadflags)        # XLF_KERNEL_64
    struct.pack_into('<Q', b, 0x258, 0x1000000)         # pref_address
    struct.pack_into('<I', b, 0x260, init_size)
    return bytes(b[:cut] if cut is not None else b)


put('kernel-image', 'bzimage-valid', bzimage())
put('kernel-image', 'bzimage-truncated', bzimage(cut=0x400))
put('kernel-image', 'bzimage-header-only', bzimage(cut=0x26c))
put('kernel-image', 'bzimage-protocol-2.11', bzimage(version=0x020b))
put('kernel-image', 'bzimage-32bit', bzimage(xloadflags=0))
put('kernel-image', 'bzimage-zimage', bzimage(loadflags=0))
put('kernel-image', 'bzimage-larger-than-ram', bzimage(init_size=0x8000000))
put('kernel-image', 'bzimage-short-header', bzimage(hdr_end=0x208))
put('kernel-image', 'elf', b'\x7fELF\x02\x01\x01' + bytes(57))
put('kernel-image', 'empty', b'')


def arm64(text_offset=0, image_size=0x10000, size=4096, magic=b'ARM\x64'):
    b = bytearray(size)
    struct.pack_into('<IIQQQ', b, 0, 0x91005a4d, 0x14000000, text_offset,
                     image_size, 0xa)
    b[0x38:0x3c] = magic
    return bytes(b)


put('kernel-image', 'arm64-valid', arm64())
put('kernel-image', 'arm64-image-size-short', arm64(image_size=0x800))
put('kernel-image', 'arm64-text-offset-odd', arm64(text_offset=0x80800))
put('kernel-image', 'arm64-gzip', b'\x1f\x8b\x08\x00' + bytes(60))
put('kernel-image', 'arm64-zboot', b'MZ\x00\x00zimg' + bytes(56))
put('kernel-image', 'arm64-truncated', arm64()[:40])


# ---- tables: given flags, cpus/maxcpus u16, 5 level bytes, RAM MiB-1
# u16, initrd u32, bootargs
KEYS = ['cpus', 'maxcpus', 'sockets', 'dies', 'clusters', 'cores', 'threads']


def topo(ram_mib=512, initrd=0, bootargs=b'console=ttyAMA0', **kv):
    given = sum(1 << KEYS.index(k) for k in kv)
    vals = [kv.get(k, 0) for k in KEYS]
    return (struct.pack('<BHH5B', given, *vals) +
            struct.pack('<HI', ram_mib - 1, initrd) + bootargs)


put('tables', 'one-cpu', topo())
put('tables', '2s2c2t', topo(cpus=8, sockets=2, cores=2, threads=2))
put('tables', '2s2d2c2t', topo(sockets=2, dies=2, cores=2, threads=2))
put('tables', '1s2cl2c2t', topo(sockets=1, clusters=2, cores=2, threads=2,
                                initrd=0x100001))
put('tables', 'hotplug-4-of-8', topo(cpus=4, maxcpus=8))
put('tables', '3-cores-2-sockets', topo(cpus=6, sockets=2, cores=3))
put('tables', 'x2apic-300', topo(cpus=300, sockets=3, cores=100))
put('tables', 'max-512', topo(cpus=512, sockets=4, clusters=2, cores=32,
                              threads=2, bootargs=b'x' * 300))


# ---- devices: 2 setting bytes, then (op, value) pairs
def ser(reg, write, value=0, width=1):
    return bytes([(2 if write else 0) | ({1: 0, 2: 1, 4: 2, 8: 3}[width] << 2)
                  | reg << 4, value])


def kbd(port, write, value=0):
    return bytes([1 | (2 if write else 0) | (port << 4), value])


probe = (ser(7, True, 0x5a) + ser(7, False) + ser(3, True, 0x80) +
         ser(0, True, 0x01) + ser(1, True, 0) + ser(3, True, 0x03) +
         ser(2, True, 0x07) + ser(2, False) + ser(1, True, 0x0f) +
         ser(2, False) + ser(0, True, ord('h')) + ser(5, False, 0, 4))
put('devices', 'serial-probe', b'\x00\x00' + probe)
loop = (ser(4, True, 0x1f) + b''.join(ser(0, True, c) for c in b'loop') +
        ser(5, False) + b''.join(ser(0, False) for _ in range(5)) +
        ser(1, True, 0x01) + ser(0, True, 0x55) + ser(2, False) +
        ser(2, True, 0x03) + ser(0, False, 0, 2))
put('devices', 'serial-loopback', b'\x00\x00' + loop)
i8042 = (kbd(1, True, 0xaa) + kbd(1, False) + kbd(0, False) +
         kbd(1, True, 0x20) + kbd(0, False) + kbd(1, True, 0x60) +
         kbd(0, True, 0x47) + kbd(0, True, 0xff) + kbd(0, False) +
         kbd(0, False) + kbd(0, True, 0xf2) + kbd(0, False, 0, ) +
         kbd(1, True, 0xd1) + kbd(0, True, 0x02) + kbd(1, True, 0xfe))
put('devices', 'i8042-probe-reset', b'\x00\x00' + i8042)
put('devices', 'i8042-on-reset-ignore', b'\x00\x02' + i8042)
put('devices', 'reset-both', b'\x13\x01' + ser(4, True, 0x10) +
    ser(0, True, 1) + b'\xff\x00' + ser(0, False) + kbd(1, True, 0xaa) +
    b'\xff\x00' + kbd(1, False))
put('devices', 'serial-bad-port', b'\x09\x00' + ser(0, True, 1))
put('devices', 'i8042-bad-on-reset', b'\x00\x03' + kbd(1, True, 0xfe))
