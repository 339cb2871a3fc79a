#!/usr/bin/env python3
"""Write a newc (SVR4, no CRC) cpio archive of a directory tree.

Usage: mkcpio.py ROOT OUT.cpio

Everything is owned by root with a fixed mtime, so the archive depends
only on the files' contents and modes, and no root privileges are needed
to create the device nodes the kernel wants before /init runs
(/dev/console, /dev/null).
"""
import os
import stat
import sys

NODES = [  # path, mode, major, minor
    ("dev", stat.S_IFDIR | 0o755, 0, 0),
    ("dev/console", stat.S_IFCHR | 0o600, 5, 1),
    ("dev/null", stat.S_IFCHR | 0o666, 1, 3),
    ("proc", stat.S_IFDIR | 0o755, 0, 0),
    ("sys", stat.S_IFDIR | 0o755, 0, 0),
    ("tmp", stat.S_IFDIR | 0o1777, 0, 0),
]


def entry(out, ino, name, mode, data=b"", rmaj=0, rmin=0, nlink=1):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join(
        f"{v:08x}"
        for v in (ino, mode, 0, 0, nlink, 1, len(data), 0, 0, rmaj, rmin,
                  len(name_b), 0)
    )
    out.write(hdr.encode() + name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def main():
    root, dest = sys.argv[1], sys.argv[2]
    items = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            full = os.path.join(dirpath, n)
            items.append(os.path.relpath(full, root))
    have = set(items)
    ino = 1
    with open(dest, "wb") as out:
        for path, mode, maj, mnr in NODES:
            if path in have:
                continue
            entry(out, ino, path, mode, rmaj=maj, rmin=mnr,
                  nlink=2 if stat.S_ISDIR(mode) else 1)
            ino += 1
        for rel in sorted(items):
            full = os.path.join(root, rel)
            st = os.lstat(full)
            perm = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                entry(out, ino, rel, stat.S_IFLNK | 0o777,
                      os.readlink(full).encode())
            elif stat.S_ISDIR(st.st_mode):
                entry(out, ino, rel, stat.S_IFDIR | perm, nlink=2)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    entry(out, ino, rel, stat.S_IFREG | perm, f.read())
            else:
                sys.exit(f"mkcpio.py: {rel}: unsupported file type")
            ino += 1
        entry(out, 0, "TRAILER!!!", 0)


if __name__ == "__main__":
    main()
