#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Drive /dev/vdisk-control with hand-built structs and check each errno.

Layouts mirror include/uapi/linux/vdisk.h; the sizes are asserted by
BUILD_BUG_ON in the driver, so a drift breaks the build, not this test.
Usage: abi_check.py IMAGE SCRATCHDIR
"""
import ctypes
import errno
import fcntl
import os
import struct
import sys

CTL = "/dev/vdisk-control"
MAGIC = 0xDF
FMT_RAW, FMT_QCOW2, FMT_VMDK = 1, 2, 3


def ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (MAGIC << 8) | nr


FEATURES_SIZE, SPEC_SIZE, ATTACH_SIZE, DETACH_SIZE = 56, 48, 72, 32
STATUS_SIZE, LINFO_SIZE = 88, 304
IOC_GET_FEATURES = ioc(3, 0, FEATURES_SIZE)
IOC_ATTACH = ioc(3, 1, ATTACH_SIZE)
IOC_DETACH = ioc(1, 2, DETACH_SIZE)
IOC_STATUS = ioc(3, 3, STATUS_SIZE)

failures = 0
checks = 0


def check(name, cond, detail=""):
    global failures, checks
    checks += 1
    if cond:
        print(f"  ok   {name}")
    else:
        failures += 1
        print(f"  FAIL {name} {detail}")


def call(ctl, req, buf):
    """Return 0 or the errno of the ioctl; buf (a ctypes buffer) is updated."""
    try:
        fcntl.ioctl(ctl, req, buf, True)
        return 0
    except OSError as e:
        return e.errno


def features(size=FEATURES_SIZE, flags=0, reserved0=0, tail=b""):
    body = struct.pack("<IIIIQ4Q", size, flags, 0, 0, 0, reserved0, 0, 0, 0)
    return ctypes.create_string_buffer(body + tail, max(len(body + tail), 8))


def specs(*layers):
    """layers: tuples (fd, fmt[, flags, nr_ext, ext_ptr, snap, res0])."""
    raw = b""
    for l in layers:
        l = tuple(l) + (0,) * (7 - len(l))
        fd, fmt, flags, nr_ext, ext, snap, res0 = l
        raw += struct.pack("<iIIIQQ2Q", fd, fmt, flags, nr_ext, ext, snap, res0, 0)
    return ctypes.create_string_buffer(raw, max(len(raw), 1))


def attach(ctl, layer_buf, nr, flags=0, index=-1, spec_size=SPEC_SIZE,
           reserved0=0, size=ATTACH_SIZE, layers_ptr=None, cache_kib=0):
    msg = ctypes.create_string_buffer(512)
    if layers_ptr is None:
        layers_ptr = ctypes.addressof(layer_buf)
    body = struct.pack("<IIiIQIIQII3Q", size, flags, index, nr,
                       layers_ptr, spec_size, 512,
                       ctypes.addressof(msg), cache_kib, 0, reserved0, 0, 0)
    buf = ctypes.create_string_buffer(body, len(body))
    err = call(ctl, IOC_ATTACH, buf)
    got_index = struct.unpack_from("<i", buf.raw, 8)[0]
    return err, got_index, msg.value.decode(errors="replace")


def detach(ctl, index, flags=0, reserved0=0):
    buf = ctypes.create_string_buffer(
        struct.pack("<IIiI2Q", DETACH_SIZE, flags, index, reserved0, 0, 0), DETACH_SIZE)
    return call(ctl, IOC_DETACH, buf)


def status(ctl, index, max_layers=0, flags=0):
    infos = ctypes.create_string_buffer(LINFO_SIZE * max(max_layers, 1))
    body = struct.pack("<IIiIQIIIIIIQ4Q", STATUS_SIZE, flags, index, 0, 0, 0, 0,
                       0, 0, LINFO_SIZE, max_layers,
                       ctypes.addressof(infos) if max_layers else 0, 0, 0, 0, 0)
    buf = ctypes.create_string_buffer(body, len(body))
    err = call(ctl, IOC_STATUS, buf)
    return err, buf.raw, infos.raw


def main():
    image, scratch = sys.argv[1], sys.argv[2]
    ctl = os.open(CTL, os.O_RDWR)
    rw = os.open(image, os.O_RDWR)
    ro = os.open(image, os.O_RDONLY)
    dirfd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    other_path = os.path.join(scratch, "other.raw")
    with open(other_path, "wb") as f:
        f.truncate(1 << 20)
    other = os.open(other_path, os.O_RDONLY)
    other_rw = os.open(other_path, os.O_RDWR)
    appending = os.open(image, os.O_RDWR | os.O_APPEND)
    # a file no device holds: the checks below that are not about image
    # locks must not meet those of the device at index 5 (qemu-locks tests them)
    third_path = os.path.join(scratch, "third.raw")
    with open(third_path, "wb") as f:
        f.truncate(1 << 20)
    third = os.open(third_path, os.O_RDONLY)
    third_appending = os.open(third_path, os.O_RDWR | os.O_APPEND)

    print("GET_FEATURES")
    b = features()
    check("valid call", call(ctl, IOC_GET_FEATURES, b) == 0)
    abi, max_layers, feats = struct.unpack_from("<IIQ", b.raw, 8)
    check("abi_version 1", abi == 1, f"got {abi}")
    check("max_layers 64", max_layers == 64, f"got {max_layers}")
    check("raw feature bit", feats & 1)
    check("vmdk feature bit", feats & 4)
    check("unknown flags -> EINVAL", call(ctl, IOC_GET_FEATURES, features(flags=1)) == errno.EINVAL)
    check("reserved set -> EINVAL",
          call(ctl, IOC_GET_FEATURES, features(reserved0=1)) == errno.EINVAL)
    check("size 4 -> EINVAL", call(ctl, IOC_GET_FEATURES, features(size=4)) == errno.EINVAL)
    check("size 8192 -> EINVAL",
          call(ctl, IOC_GET_FEATURES, features(size=8192)) == errno.EINVAL)
    check("larger struct, zero tail -> ok",
          call(ctl, IOC_GET_FEATURES, features(size=64, tail=bytes(8))) == 0)
    check("larger struct, non-zero tail -> E2BIG",
          call(ctl, IOC_GET_FEATURES, features(size=64, tail=b"\1" + bytes(7))) == errno.E2BIG)
    check("unknown ioctl -> ENOTTY", call(ctl, ioc(3, 0x3f, 8), features()) == errno.ENOTTY)
    check("foreign magic -> ENOTTY",
          call(ctl, (3 << 30) | (56 << 16) | (0x4c << 8), features()) == errno.ENOTTY)

    print("ATTACH refusals")
    ext_fd = ctypes.c_int32(other_rw)
    snap_name = ctypes.create_string_buffer(b"s1")
    # a vmdk descriptor naming two flat extents: the kernel counts the fds
    # it gets and checks each file is large enough for its extent
    desc_path = os.path.join(scratch, "d.vmdk")
    with open(desc_path, "w") as f:
        f.write('version=1\nCID=1\nparentCID=ffffffff\ncreateType="twoGbMaxExtentFlat"\n'
                'RW 2048 FLAT "other.raw" 0\nRW 4096 FLAT "other.raw" 0\n')
    desc = os.open(desc_path, os.O_RDONLY)
    two_ext = (ctypes.c_int32 * 2)(other, other)
    snap_name = ctypes.create_string_buffer(b"s1")
    cases = [
        ("unknown attach flag", dict(layer_buf=specs((rw, FMT_RAW)), nr=1, flags=1 << 20),
         errno.EINVAL, "flags"),
        ("reserved non-zero", dict(layer_buf=specs((rw, FMT_RAW)), nr=1, reserved0=5),
         errno.EINVAL, "reserved"),
        ("nr_layers 0", dict(layer_buf=specs((rw, FMT_RAW)), nr=0), errno.EINVAL, "nr_layers"),
        ("nr_layers 65", dict(layer_buf=specs((rw, FMT_RAW)), nr=65), errno.EINVAL, "nr_layers"),
        ("index -2", dict(layer_buf=specs((rw, FMT_RAW)), nr=1, index=-2), errno.EINVAL, "index"),
        ("layer_spec_size 47", dict(layer_buf=specs((rw, FMT_RAW)), nr=1, spec_size=47),
         errno.EINVAL, "layer_spec_size"),
        ("fd -1", dict(layer_buf=specs((-1, FMT_RAW)), nr=1), errno.EBADF, "fd"),
        ("fd not open", dict(layer_buf=specs((4000, FMT_RAW)), nr=1), errno.EBADF, "not open"),
        ("fd of a directory", dict(layer_buf=specs((dirfd, FMT_RAW)), nr=1),
         errno.EINVAL, "regular file"),
        ("read-write attach of O_RDONLY fd", dict(layer_buf=specs((ro, FMT_RAW)), nr=1),
         errno.EBADF, "writing"),
        ("format 0", dict(layer_buf=specs((rw, 0)), nr=1), errno.EINVAL, "format"),
        ("format 99", dict(layer_buf=specs((rw, 99)), nr=1), errno.EINVAL, "format"),
        ("layer flags", dict(layer_buf=specs((rw, FMT_RAW, 4)), nr=1), errno.EINVAL, "flags"),
        ("layer reserved", dict(layer_buf=specs((rw, FMT_RAW, 0, 0, 0, 0, 9)), nr=1),
         errno.EINVAL, "reserved"),
        ("extent count without pointer", dict(layer_buf=specs((rw, FMT_RAW, 0, 2)), nr=1),
         errno.EINVAL, "extent"),
        ("raw with an extent fd", dict(layer_buf=specs((rw, FMT_RAW, 0, 1,
                                                         ctypes.addressof(ext_fd))), nr=1),
         errno.EINVAL, "one file"),
        ("read-write top open with O_APPEND", dict(layer_buf=specs((appending, FMT_RAW)), nr=1),
         errno.EINVAL, "O_APPEND"),
        ("same file twice (chain loop)", dict(layer_buf=specs((rw, FMT_RAW), (ro, FMT_RAW)), nr=2),
         errno.ELOOP, "same file"),
        ("qcow2 snapshot read-write", dict(layer_buf=specs((rw, FMT_QCOW2, 0, 0, 0,
                                                            ctypes.addressof(snap_name))), nr=1),
         errno.EINVAL, "read-only"),
        ("qcow2 header check on a raw file", dict(layer_buf=specs((ro, FMT_QCOW2)), nr=1, flags=1),
         errno.EINVAL, "qcow2"),
        ("vmdk: fewer extent fds than the descriptor names",
         dict(layer_buf=specs((desc, FMT_VMDK, 0, 1, ctypes.addressof(ext_fd))), nr=1, flags=1),
         errno.EINVAL, "names 2 extent files, got 1"),
        ("vmdk: flat extent file smaller than its extent",
         dict(layer_buf=specs((desc, FMT_VMDK, 0, 2, ctypes.addressof(two_ext))), nr=1, flags=1),
         errno.EINVAL, "needs 2097152"),
        ("vmdk: raw file as a descriptor", dict(layer_buf=specs((ro, FMT_VMDK)), nr=1, flags=1),
         errno.EFBIG, "too large for a descriptor"),
        ("snapshot on a read-write attach",
         dict(layer_buf=specs((rw, FMT_RAW, 0, 0, 0, ctypes.addressof(snap_name))), nr=1),
         errno.EINVAL, "read-only"),
        ("cache_kib too large", dict(layer_buf=specs((rw, FMT_RAW)), nr=1, cache_kib=(1 << 20) + 1),
         errno.EINVAL, "cache_kib"),
        ("layers pointer unmapped", dict(layer_buf=specs((rw, FMT_RAW)), nr=1, layers_ptr=16),
         errno.EFAULT, ""),
    ]
    for name, kw, want, word in cases:
        err, _, msg = attach(ctl, **kw)
        check(f"{name} -> {errno.errorcode.get(want)}", err == want,
              f"got {errno.errorcode.get(err, err)} msg={msg!r}")
        if word:
            check(f"{name}: message names '{word}'", word in msg, f"msg={msg!r}")
    check("no device left behind", status(ctl, 0, flags=1)[0] == errno.ENXIO)

    print("ATTACH / STATUS / DETACH")
    err, index, msg = attach(ctl, specs((rw, FMT_RAW), (other, FMT_RAW)), 2, index=5)
    check("attach 2-layer raw stack at index 5", err == 0 and index == 5, f"{err} {msg}")
    err, index2, msg = attach(ctl, specs((third, FMT_RAW)), 1, index=5, flags=1)
    check("index 5 again -> EEXIST", err == errno.EEXIST and "already" in msg, f"{err} {msg}")
    err, raw, infos = status(ctl, 5, max_layers=4)
    check("status ok", err == 0)
    idx, nr, cap = struct.unpack_from("<iIQ", raw, 8)
    check("status nr_layers 2", nr == 2, f"{nr}")
    check("status capacity", cap == os.fstat(rw).st_size, f"{cap}")
    fmt, lflags, vsize = struct.unpack_from("<IIQ", infos, 0)
    path = infos[48:48 + 256].split(b"\0")[0].decode()
    check("layer 0 is raw, writable", fmt == FMT_RAW and lflags & 1, f"{fmt} {lflags}")
    check("layer 0 path", path == os.path.realpath(image), f"{path!r}")
    fmt1, lflags1, vsize1 = struct.unpack_from("<IIQ", infos, LINFO_SIZE)
    check("layer 1 read-only, 1 MiB", not (lflags1 & 1) and vsize1 == 1 << 20, f"{lflags1} {vsize1}")
    # a vdisk device (or its partition) as a layer could back itself
    vd5 = os.open("/dev/vd5", os.O_RDONLY)
    for name, kw in [("/dev/vd5 as the backing of a new device",
                      dict(layer_buf=specs((other_rw, FMT_RAW), (vd5, FMT_RAW)), nr=2)),
                     ("/dev/vd5 alone, read-only",
                      dict(layer_buf=specs((vd5, FMT_RAW)), nr=1, flags=1))]:
        err, _, msg = attach(ctl, **kw)
        check(f"{name} -> ELOOP", err == errno.ELOOP and "vdisk device" in msg,
              f"got {errno.errorcode.get(err, err)} msg={msg!r}")
    os.close(vd5)
    check("read-only attach of an O_APPEND fd -> ok",
          attach(ctl, specs((third_appending, FMT_RAW)), 1, index=6, flags=1)[0] == 0)
    check("detach 6", detach(ctl, 6) == 0)
    err, raw, _ = status(ctl, 0, flags=1)
    check("STATUS_NEXT from 0 finds 5", err == 0 and struct.unpack_from("<i", raw, 8)[0] == 5)
    check("STATUS_NEXT from 6 -> ENXIO", status(ctl, 6, flags=1)[0] == errno.ENXIO)
    check("status unknown flag -> EINVAL", status(ctl, 5, flags=8)[0] == errno.EINVAL)
    check("detach unknown flag -> EINVAL", detach(ctl, 5, flags=2) == errno.EINVAL)
    check("detach reserved -> EINVAL", detach(ctl, 5, reserved0=1) == errno.EINVAL)
    check("detach missing -> ENXIO", detach(ctl, 77) == errno.ENXIO)
    check("detach 5", detach(ctl, 5) == 0)
    check("status after detach -> ENXIO", status(ctl, 5)[0] == errno.ENXIO)

    print(f"{checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
