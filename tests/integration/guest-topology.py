#!/usr/bin/env python3
"""modvm's guest integration suite: boot the test guest (tests/guest/) on
machines with different CPU topologies and check that what Linux sees
matches what the INI says.

For each case the driver writes an INI (a file from configs/ plus a
[boot] section and any [arch] keys the case needs), runs the VM,
captures the guest console and compares the guest's report (sysfs
topology files and CPUID leaves, printed by tests/guest/init and
cpuid-probe) with the topology model of TOPOLOGY.md and the Linux 6.1
rules (arch/x86/kernel/cpu/topology.c, amd.c, smpboot.c):

  * online/present/possible CPU lists, the number of CPUs probed;
  * per CPU: x2APIC ID (CPUID 0xB EDX) is the APIC ID the model gives the
    vCPU; CPUID 1 EBX[31:24] its low 8 bits; 0xB/0x1F level shifts and
    counts; AMD 0x8000001E;
  * physical_package_id = socket; die_id = die within the socket (AMD,
    one die per socket: the 0x8000001E node id is accepted too);
    core_id = the APIC ID's bits above the thread field and below the
    package field (Linux 6.1 masks die and module bits into core_id);
  * core_cpus_list/thread_siblings_list, package_cpus_list/
    core_siblings_list, die_cpus_list: the CPUs sharing the core,
    the socket, the die;
  * no "[Firmware Bug]", "APIC id mismatch", "not on the same node",
    "BIOS bug", "ACPI Error" or WARNING in the kernel log;
  * the VM exits 0 after the guest writes 0 to the debug-exit port,
    and non-zero after a guest kernel panic.

Backends:
  modvm   build/modvm with the boot-linux-x86 plugin. Runs directly when
          /dev/kvm is hardware KVM, otherwise all cases in one boot of
          the nested test host (tests/host/run.sh).
  qemu    qemu-system-x86_64 -accel tcg as a stand-in for modvm, to check
          the guest image and the expectations independently of modvm.
  auto    (default) modvm if its boot-linux-x86 plugin is built, else
          skip (exit 77).

Prints one PASS/FAIL line per case and a final "N passed, N failed".
A guest that never finishes its report (a triple fault, a timeout, a
frozen test host) is booted up to twice more and its earlier failures
are printed as FLAKY; a finished report that disagrees with the INI
fails at once. A failed case's console is kept in
BUILD/meson-logs/guest-consoles/.
Exit 0 when all passed, 1 on a failure, 77 when skipped.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
# loglevel=3: each console byte is a VM exit (slow under the nested test
# host), and the kernel's errors (RCU stall warnings when the machine is
# loaded) would split the report's lines; oopses and panics still show.
# The report's dmesg lines come from the ring buffer regardless.
# nowatchdog: 16 vCPUs on the test host's 2 are starved by design, not
# locked up.
CONSOLE = "console=ttyS0 panic=-1 loglevel=3 nowatchdog"
# Kernel log lines that fail a case: what Linux says when the topology,
# the APIC IDs or the firmware tables disagree.
BAD_LOG = re.compile(r"Firmware Bug|APIC id mismatch|not on the same node|"
                     r"BIOS bug|x2apic lock mismatch|"
                     r"ACPI (BIOS )?Error|ACPI: Unable to load|"
                     r"WARNING: .*(topology|smpboot|apic|x2apic|mpparse|acpi/boot)")
# Other kernel warnings are reported with the case but do not fail it.
NOTE_LOG = re.compile(r"WARNING: CPU")


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------- model

def width(n):
    return 0 if n <= 1 else (n - 1).bit_length()


class Topology:
    """[smp] with the defaults of TOPOLOGY.md, and index -> ids/APIC ID."""

    LEVELS = ("sockets", "dies", "clusters", "cores", "threads")

    def __init__(self, smp):
        v = {k: int(x) for k, x in smp.items()}
        cpus = v.get("cpus")
        maxcpus = v.get("maxcpus", cpus)
        for k in ("dies", "clusters"):
            v.setdefault(k, 1)
        if maxcpus is None:
            maxcpus = 1
            for k in self.LEVELS:
                maxcpus *= v.get(k, 1)
        if "cores" not in v:
            v.setdefault("sockets", 1)
            v.setdefault("threads", 1)
            v["cores"] = maxcpus // (v["sockets"] * v["dies"] *
                                     v["clusters"] * v["threads"])
        elif "sockets" not in v:
            v.setdefault("threads", 1)
            v["sockets"] = maxcpus // (v["dies"] * v["clusters"] *
                                       v["cores"] * v["threads"])
        else:
            v.setdefault("threads", maxcpus // (v["sockets"] * v["dies"] *
                                                v["clusters"] * v["cores"]))
        for k in self.LEVELS:
            setattr(self, k, v[k])
        self.maxcpus = maxcpus
        self.cpus = cpus if cpus is not None else maxcpus
        prod = 1
        for k in self.LEVELS:
            prod *= v[k]
        if prod != self.maxcpus:
            raise ValueError(f"smp {smp}: product {prod} != maxcpus {maxcpus}")
        self.tw = width(self.threads)
        self.cw = width(self.cores)
        self.mw = width(self.clusters)
        self.dw = width(self.dies)
        self.core_off = self.tw
        self.module_off = self.tw + self.cw
        self.die_off = self.module_off + self.mw
        self.pkg_off = self.die_off + self.dw

    def ids(self, i):
        t = i % self.threads
        i //= self.threads
        c = i % self.cores
        i //= self.cores
        m = i % self.clusters
        i //= self.clusters
        d = i % self.dies
        s = i // self.dies
        return s, d, m, c, t

    def apic(self, i):
        s, d, m, c, t = self.ids(i)
        return (t | c << self.core_off | m << self.module_off |
                d << self.die_off | s << self.pkg_off)

    def linux_core_id(self, i):
        # topology.c: (apicid >> ht_mask_width) & core_select_mask, where
        # the mask spans everything below the package field.
        return (self.apic(i) >> self.tw) & ((1 << (self.pkg_off - self.tw)) - 1)

    def describe(self):
        return (f"{self.sockets}s x {self.dies}d x {self.clusters}cl x "
                f"{self.cores}c x {self.threads}t, cpus={self.cpus} "
                f"maxcpus={self.maxcpus}")


def cpulist(cpus):
    """Linux's cpulist format: 0-3,8-11."""
    cpus = sorted(cpus)
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(out)


# ------------------------------------------------------------------ INI

def read_ini(path):
    """[(section header line or None, [lines])] keeping everything."""
    sections, cur = [], (None, [])
    sections.append(cur)
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.strip().startswith("["):
                cur = (line.strip(), [])
                sections.append(cur)
            else:
                cur[1].append(line)
    return sections


def smp_of(sections):
    smp = {}
    for hdr, lines in sections:
        if hdr == "[smp]":
            for line in lines:
                s = line.split(";")[0].split("#")[0].strip()
                if "=" in s:
                    k, v = (x.strip() for x in s.split("=", 1))
                    smp[k] = v
    return smp


def write_ini(sections, overrides, path):
    """overrides: {"arch": {"tables": "mptable"}, "boot": {...}}."""
    todo = {k: dict(v) for k, v in overrides.items()}
    out = []
    for hdr, lines in sections:
        if hdr is not None:
            out.append(hdr)
        name = hdr[1:-1] if hdr else None
        for line in lines:
            key = line.split("=", 1)[0].strip() if "=" in line else None
            if name in todo and key in todo[name]:
                continue  # replaced below
            out.append(line)
        if name in todo:
            # Insert before the section's trailing blank lines.
            tail = []
            while out and out[-1].strip() == "":
                tail.append(out.pop())
            for k, v in todo.pop(name).items():
                out.append(f"{k} = {v}")
            out.extend(tail)
    for name, kv in todo.items():
        out.append("")
        out.append(f"[{name}]")
        for k, v in kv.items():
            out.append(f"{k} = {v}")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# ---------------------------------------------------------------- cases

class Case:
    def __init__(self, name, config, cmdline="", arch=None, kind="topology",
                 kernel="guest", smp=None, valgrind=False):
        self.name = name
        self.valgrind = valgrind  # modvm runs under valgrind's memcheck
        self.config = os.path.join(SRC, "configs", config)
        self.cmdline = cmdline
        self.arch = arch or {}
        self.kind = kind          # topology | panic
        self.kernel = kernel      # guest | cloud
        self.smp = smp or {}      # [smp] keys replaced in the config
        self.sections = read_ini(self.config)
        merged = smp_of(self.sections)
        merged.update({k: str(v) for k, v in self.smp.items()})
        self.topo = Topology(merged)

    def overrides(self):
        o = {}
        if self.arch:
            o["arch"] = dict(self.arch)
        if self.smp:
            o["smp"] = {k: str(v) for k, v in self.smp.items()}
        return o

    @property
    def mptable(self):
        return self.arch.get("tables") == "mptable"

    @property
    def vendor(self):
        return self.arch.get("vendor", "amd")

    extra = ""  # --append

    def full_cmdline(self):
        c = CONSOLE + (" " + Case.extra if Case.extra else "")
        if self.kind == "panic":
            c += " modvm.panic=1"
        return (c + " " + self.cmdline).strip()


CASES = [
    Case("2s2c2t-acpi", "x86_64-2s2c2t.ini"),
    Case("2s2c2t-mptable", "x86_64-2s2c2t.ini", "acpi=off",
         {"tables": "mptable"}),
    Case("2s2d2c2t-acpi", "x86_64-2s2d2c2t.ini"),
    Case("1s3c2t-acpi", "x86_64-1s3c2t.ini"),
    Case("1s3c2t-mptable", "x86_64-1s3c2t.ini", "acpi=off",
         {"tables": "mptable"}),
    # Two sockets of 3 cores: APIC IDs 0-5 and 8-13 (sparse).
    Case("2s3c2t-acpi", "x86_64-1s3c2t.ini", smp={"sockets": 2}),
    Case("hotplug-4of8-acpi", "x86_64-hotplug.ini"),
    # Intel's leaf 0x1F path with dies (8 vCPUs: cheaper under nested TCG).
    Case("1s2d2c2t-intel", "x86_64-2s2d2c2t.ini", arch={"vendor": "intel"},
         smp={"sockets": 1}),
    # The README's demo machine, as scripts/demo.sh boots it.
    Case("demo-acpi", "x86_64-demo.ini"),
    Case("panic", "x86_64-demo.ini", kind="panic"),
    # One whole boot with 4 vCPUs under valgrind's memcheck: no error, no
    # leak (valgrind's status 99 fails it). Not with an ASan build.
    Case("valgrind-4cpu", "x86_64-hotplug.ini", valgrind=True),
    Case("cloud-kernel-2s2c2t", "x86_64-2s2c2t.ini", kernel="cloud"),
]


# -------------------------------------------------------------- parsing

LEAF = re.compile(r"cpu (\d+): leaf (0x[0-9a-f]+)(?:\.(\d+))? eax=(0x[0-9a-f]+) "
                  r"ebx=(0x[0-9a-f]+) ecx=(0x[0-9a-f]+) edx=(0x[0-9a-f]+)")
VENDOR = re.compile(r"cpu (\d+): vendor (\S+) max (0x[0-9a-f]+) ext (0x[0-9a-f]+)")


# Kernel console messages ("[  165.441497] watchdog: BUG: soft lockup")
# printed in the middle of a report line, and the message lines right
# after them: cut them out and the report line joins up.
KMSG_MID_LINE = re.compile(r"(?<=[^\n])\[ *\d+\.\d{6}\] [^\n]*\n"
                           r"(?:\[ *\d+\.\d{6}\] [^\n]*\n)*")


class Report:
    def __init__(self, console):
        self.console = console
        self.lines = []
        self.begin = self.end = False
        for raw in KMSG_MID_LINE.sub("", console.replace("\r", "")).splitlines():
            line = raw.replace("\r", "")
            i = line.find("@@ ")
            if i < 0:
                continue
            body = line[i + 3:]
            if body == "MODVM-GUEST-BEGIN":
                self.begin = True
                self.lines = []
                continue
            if body == "MODVM-GUEST-END":
                self.end = True
                continue
            if self.begin:
                self.lines.append(body)
        self.kv = {}
        self.topo = {}      # cpu -> {file: value}
        self.leaves = {}    # cpu -> {(leaf, sub): (a, b, c, d)}
        self.vendor = {}
        self.dmesg = []
        for b in self.lines:
            m = LEAF.match(b)
            if m:
                cpu = int(m.group(1))
                sub = int(m.group(3)) if m.group(3) is not None else None
                self.leaves.setdefault(cpu, {})[(int(m.group(2), 16), sub)] = \
                    tuple(int(m.group(k), 16) for k in range(4, 8))
                continue
            m = VENDOR.match(b)
            if m:
                self.vendor[int(m.group(1))] = (m.group(2), int(m.group(3), 16),
                                                int(m.group(4), 16))
                continue
            if b.startswith("dmesg: "):
                self.dmesg.append(b[7:])
                continue
            m = re.match(r"cpu/cpu(\d+)/topology/(\w+): (.*)$", b)
            if m:
                self.topo.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3).strip()
                continue
            if ": " in b:
                k, v = b.split(": ", 1)
                self.kv[k] = v.strip()

    def uptime(self):
        try:
            return float(self.kv.get("uptime", ""))
        except ValueError:
            return None


# ------------------------------------------------------------- checking

def check_topology(case, rep, started=None):
    """Returns a list of problems (empty: pass). started: the vCPU indices
    the firmware tables list as enabled (default: 0 .. cpus-1)."""
    t = case.topo
    errs = []
    if started is None:
        started = set(range(t.cpus))
    if not rep.begin or not rep.end:
        errs.append("guest report incomplete (markers BEGIN=%s END=%s)" %
                    (rep.begin, rep.end))
        return errs
    want_online = cpulist(range(len(started)))
    if rep.kv.get("cpu/online") != want_online:
        errs.append(f"cpu/online {rep.kv.get('cpu/online')!r}, want {want_online!r}")
    if rep.kv.get("cpu/present") != want_online:
        errs.append(f"cpu/present {rep.kv.get('cpu/present')!r}, want {want_online!r}")
    # ACPI lists the hot-pluggable vCPUs (not enabled): possible = maxcpus.
    # The MP table lists started vCPUs only.
    want_possible = cpulist(range(len(started) if case.mptable else t.maxcpus))
    if rep.kv.get("cpu/possible") != want_possible:
        errs.append(f"cpu/possible {rep.kv.get('cpu/possible')!r}, want {want_possible!r}")
    if len(rep.leaves) != len(started):
        errs.append(f"cpuid-probe ran on {len(rep.leaves)} CPUs, want {len(started)}")

    # Map Linux CPU numbers to vCPU indices through the x2APIC ID.
    by_apic = {t.apic(i): i for i in range(t.maxcpus)}
    vcpu_of = {}
    for cpu, lv in sorted(rep.leaves.items()):
        b = lv.get((0xB, 0))
        if b is None:
            errs.append(f"cpu {cpu}: no CPUID leaf 0xB")
            continue
        x2 = b[3]
        if x2 not in by_apic:
            errs.append(f"cpu {cpu}: x2APIC ID {x2} is no vCPU's APIC ID "
                        f"(model: {sorted(by_apic)})")
            continue
        vcpu_of[cpu] = by_apic[x2]
    if len(set(vcpu_of.values())) != len(vcpu_of):
        errs.append(f"two CPUs share an x2APIC ID: {vcpu_of}")
    if set(vcpu_of.values()) != started and not errs:
        errs.append(f"CPUs found {sorted(vcpu_of.values())}, want vCPUs {sorted(started)}")
    if vcpu_of.get(0, 0) != 0:
        errs.append(f"cpu 0 is vCPU {vcpu_of[0]}, want the BSP (vCPU 0)")
    cpu_of = {v: c for c, v in vcpu_of.items()}

    def cpus_where(pred):
        return cpulist(cpu_of[v] for v in cpu_of if pred(v))

    for cpu, v in sorted(vcpu_of.items()):
        s, d, m, c, th = t.ids(v)
        apic = t.apic(v)
        lv = rep.leaves[cpu]
        vendor = rep.vendor.get(cpu, ("?",))[0]
        where = f"cpu {cpu} (vCPU {v}: socket {s} die {d} core {c} thread {th}, APIC ID {apic})"
        # --- CPUID
        l1 = lv.get((1, None))
        if l1 and (l1[1] >> 24) != (apic & 0xFF):
            errs.append(f"{where}: CPUID 1 EBX[31:24] = {l1[1] >> 24}, want {apic & 0xFF}")
        if l1 and t.maxcpus // t.sockets > 1 and not (l1[3] >> 28) & 1:
            errs.append(f"{where}: CPUID 1 EDX.HTT clear with {t.maxcpus // t.sockets} logical CPUs per package")
        want_b = [(t.core_off, t.threads, 1), (t.pkg_off, t.maxcpus // t.sockets, 2)]
        for sub, (sh, cnt, typ) in enumerate(want_b):
            r = lv.get((0xB, sub))
            if r is None:
                errs.append(f"{where}: no CPUID 0xB.{sub}")
                continue
            got = (r[0] & 0x1F, r[1] & 0xFFFF, (r[2] >> 8) & 0xFF, r[2] & 0xFF, r[3])
            want = (sh, cnt, typ, sub, apic)
            # With dies/modules Linux reads 0x1F, not 0xB; 0xB.1 EBX may
            # count one die (QEMU 7.2) or the package (TOPOLOGY.md).
            alt = (sh, t.threads * t.cores, typ, sub, apic)
            if got != want and not (sub == 1 and got == alt and
                                    (t.dies > 1 or t.clusters > 1)):
                errs.append(f"{where}: CPUID 0xB.{sub} (shift, count, type, level, x2apic) = {got}, want {want}")
        r = lv.get((0xB, 2))
        if r is not None and (r[2] >> 8) & 0xFF != 0:
            errs.append(f"{where}: CPUID 0xB.2 type {(r[2] >> 8) & 0xFF}, want 0 (end)")
        if t.dies > 1 or t.clusters > 1:
            levels = [(1, t.core_off, t.threads), (2, t.module_off, t.threads * t.cores)]
            if t.clusters > 1:
                levels.append((3, t.die_off, t.threads * t.cores * t.clusters))
            if t.dies > 1:
                levels.append((5, t.pkg_off, t.maxcpus // t.sockets))
            for sub, (typ, sh, cnt) in enumerate(levels):
                r = lv.get((0x1F, sub))
                if r is None:
                    errs.append(f"{where}: no CPUID 0x1F.{sub} (dies={t.dies})")
                    break
                got = (r[0] & 0x1F, r[1] & 0xFFFF, (r[2] >> 8) & 0xFF, r[3])
                if got != (sh, cnt, typ, apic):
                    errs.append(f"{where}: CPUID 0x1F.{sub} (shift, count, type, x2apic) = {got}, want {(sh, cnt, typ, apic)}")
        e = lv.get((0x8000001E, None))
        if vendor == "AuthenticAMD" and e is not None and any(e):
            if e[0] != apic:
                errs.append(f"{where}: CPUID 0x8000001E EAX = {e[0]}, want APIC ID {apic}")
            if (e[1] >> 8) & 0xFF != t.threads - 1:
                errs.append(f"{where}: CPUID 0x8000001E EBX[15:8] = {(e[1] >> 8) & 0xFF}, want {t.threads - 1}")
        # --- sysfs
        topo = rep.topo.get(cpu, {})

        def want(key, value, alt=None):
            got = topo.get(key)
            if got is None:
                errs.append(f"{where}: no topology/{key}")
            elif got != str(value) and (alt is None or got != str(alt)):
                extra = f" or {alt}" if alt is not None else ""
                errs.append(f"{where}: {key} = {got}, want {value}{extra}")

        want("physical_package_id", s)
        # AMD with one die per socket: Linux takes die_id from the
        # 0x8000001E node id, which may count dies across sockets.
        if t.dies == 1 and vendor == "AuthenticAMD":
            want("die_id", d, s * t.dies + d)
        else:
            want("die_id", d)
        want("core_id", t.linux_core_id(v))
        core = cpus_where(lambda o: t.ids(o)[:4] == (s, d, m, c))
        pkg = cpus_where(lambda o: t.ids(o)[0] == s)
        die = cpus_where(lambda o: t.ids(o)[:2] == (s, d))
        want("thread_siblings_list", core)
        want("core_cpus_list", core)
        want("core_siblings_list", pkg)
        want("package_cpus_list", pkg)
        want("die_cpus_list", die)
    return errs


def log_lines(console, rx):
    seen, out = set(), []
    for l in console.replace("\r", "").splitlines():
        if "@@ dmesg: " in l:
            l = l.split("@@ dmesg: ", 1)[1]
        if rx.search(l) and l.strip() not in seen:
            seen.add(l.strip())
            out.append(l.strip())
    return out


def check_log(case, console):
    return [f"kernel log: {l}" for l in log_lines(console, BAD_LOG)[:5]]


def unfinished(case, run):
    """The guest did not get to the end of what it had to do."""
    if run["status"] is None:
        return True
    return case.kind == "topology" and "MODVM-GUEST-END" not in run["console"]


def judge(case, run):
    """run: dict(status, console, seconds, exit_ok). Returns (errs, note)."""
    rep = Report(run["console"])
    note = f"{run['seconds']:.1f}s"
    if run.get("note"):
        note += f", {run['note']}"
    up = rep.uptime()
    if up is not None:
        note += f", guest reached init at {up:.2f}s uptime"
    if case.valgrind and run["status"] is not None:
        # valgrind's own summary, so a run that silently lost valgrind fails
        if not re.search(r"==\d+== ERROR SUMMARY: 0 errors", run["console"]):
            vg = [l for l in run["console"].splitlines() if l.startswith("==")]
            return ["no clean valgrind ERROR SUMMARY on the console"] + vg[-20:], note
        note += ", valgrind memcheck: 0 errors, no leaks"
    if case.kind == "panic":
        errs = []
        if "Kernel panic" not in run["console"]:
            errs.append("no 'Kernel panic' on the console")
        if run["exit_ok"]:
            errs.append(f"VM exited as if powered off (status {run['status']}) after a panic")
        elif run["status"] is not None and "panicked" not in (run.get("message") or ""):
            errs.append(f"VM exited {run['status']} without saying the guest panicked "
                        f"(last modvm line: {run.get('message')!r})")
        if run["status"] is None:
            errs.append("VM did not stop after the panic (timeout)")
        elif run.get("message"):
            note += f", status {run['status']}: {run['message']}"
        else:
            note += f", status {run['status']}"
        return errs, note
    errs = check_topology(case, rep, run.get("started")) + check_log(case, run["console"])
    for l in log_lines(run["console"], NOTE_LOG)[:3]:
        note += f"; kernel warning (not a topology failure): {l}"
    if run["status"] is None:
        errs.append("timed out")
    elif not run["exit_ok"]:
        errs.append(f"VM exit status {run['status']}, want a clean power-off"
                    + (f" ({run['message']})" if run.get("message") else ""))
    return errs, note


# ------------------------------------------------------------- backends

def run_cmd(argv, timeout):
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return None, out, time.monotonic() - t0


def run_streaming(argv, timeout, idle=None):
    """run_cmd, printing the runner's case markers as they arrive. With
    idle, the command is also killed when idle seconds pass without a
    new case marker (a frozen test host can still print kernel stall
    warnings, so any output is not progress); returns (status or None
    when killed, output, seconds, stalled)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    chunks = []
    last = [t0]
    why = []
    done = threading.Event()

    def watchdog():
        while not done.wait(5):
            now = time.monotonic()
            if now - t0 > timeout:
                why.append("timeout")
            elif idle and now - last[0] > idle:
                why.append("stalled")
            else:
                continue
            # SIGTERM, not SIGKILL: run.sh's trap then ends QEMU (in a
            # process group of its own under `timeout`), which otherwise
            # runs on, holding the console pipe open, until its own
            # --timeout (seen: a frozen test host killed after 1321 s
            # instead of 420).
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
            return

    w = threading.Thread(target=watchdog, daemon=True)
    w.start()
    try:
        for raw in p.stdout:
            chunks.append(raw)
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("=== MODVM-"):
                last[0] = time.monotonic()
                log(f"# [{time.monotonic() - t0:6.1f}s] {line[4:]}")
        st = p.wait()
    finally:
        done.set()
        w.join()
    out = b"".join(chunks).decode("utf-8", "replace")
    return (None if why else st), out, time.monotonic() - t0, why == ["stalled"]


class QemuBackend:
    """qemu-system-x86_64 under TCG: a stand-in for modvm."""
    name = "qemu"

    def __init__(self, args):
        self.qemu = shutil.which("qemu-system-x86_64")
        self.cpu = args.qemu_cpu
        self.timeout = args.case_timeout

    def available(self):
        return (self.qemu is not None, "qemu-system-x86_64 not installed")

    def run_all(self, cases, kernels, workdir):
        results = {}
        for case in cases:
            t = case.topo
            smp = (f"{t.cpus},maxcpus={t.maxcpus},sockets={t.sockets},"
                   f"dies={t.dies},cores={t.cores},threads={t.threads}")
            # TCG cannot offer AMD's TOPOEXT (0x8000001E), without which
            # Linux 6.1 sees no SMT siblings on an AMD CPU: QEMU stands
            # in with an Intel model for every case.
            cpu = self.cpu
            argv = [self.qemu, "-accel", "tcg", "-M", "q35" if not case.mptable else "pc",
                    "-cpu", cpu, "-smp", smp, "-m", "512M",
                    "-kernel", kernels[case.kernel], "-initrd", kernels["initrd"],
                    "-append", case.full_cmdline(),
                    "-display", "none", "-serial", "stdio", "-monitor", "none",
                    "-no-reboot", "-device", "isa-debug-exit,iobase=0x501,iosize=1"]
            st, out, secs = run_cmd(argv, self.timeout)
            # isa-debug-exit: QEMU exits with (value << 1) | 1.
            results[case.name] = dict(status=st, console=out, seconds=secs,
                                      exit_ok=(st == 1), message=None)
            if case.mptable:
                # SeaBIOS's MP table lists one CPU per package (the first).
                per_pkg = t.maxcpus // t.sockets
                results[case.name]["started"] = {
                    i for i in range(0, t.cpus, per_pkg)}
            log(f"# {case.name}: qemu exited {st} after {secs:.1f}s")
        return results


def kvm_is_hardware():
    """True when /dev/kvm opens and is not the software kvm-pvm."""
    if not os.path.exists("/dev/kvm"):
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
    except OSError:
        return False
    if os.path.exists("/sys/module/kvm_pvm"):
        return False
    return True


class ModvmBackend:
    name = "modvm"

    def __init__(self, args):
        self.build = os.path.abspath(args.build_dir)
        self.modvm = os.path.join(self.build, "modvm")
        self.plugins = os.path.join(self.build, "plugins")
        self.timeout = args.case_timeout
        self.direct = kvm_is_hardware() and not args.force_testhost
        self.run_sh = os.path.join(SRC, "tests", "host", "run.sh")
        self.args = args

    def available(self):
        if not os.access(self.modvm, os.X_OK):
            return False, f"{self.modvm} not built"
        plugs = os.listdir(self.plugins) if os.path.isdir(self.plugins) else []
        if not any(p.startswith("boot-linux-x86") for p in plugs) and \
           not any(os.path.isdir(os.path.join(self.plugins, p)) and any(
               f.startswith("boot-linux-x86") for f in os.listdir(os.path.join(self.plugins, p)))
               for p in plugs):
            return False, "the boot-linux-x86 plugin is not built yet"
        if not self.direct:
            if not os.access(self.run_sh, os.X_OK):
                return False, "no usable /dev/kvm and no tests/host/run.sh"
        return True, ""

    def plugin_files(self):
        out = []
        for dirpath, _, files in os.walk(self.plugins):
            out += [os.path.join(dirpath, f) for f in files if f.endswith(".so")]
        return out

    def case_ini(self, case, kernels, root, path):
        """root: where the payload lives (None: the files' host paths)."""
        o = case.overrides()
        if root is None:
            kernel, initrd = kernels[case.kernel], kernels["initrd"]
        else:
            kernel = os.path.join(root, kernels[case.kernel + "-rel"])
            initrd = os.path.join(root, kernels["initrd-rel"])
        o["boot"] = {"plugin": "boot-linux-x86", "kernel": kernel,
                     "initrd": initrd, "cmdline": case.full_cmdline()}
        write_ini(case.sections, o, path)

    def check_config(self, case, kernels, workdir):
        """modvm --check on the case's INI (host paths): it must pass, and
        the vCPU -> APIC ID/ids table it prints must equal the model's.
        Returns a list of problems."""
        ini = os.path.join(workdir, case.name + ".check.ini")
        self.case_ini(case, kernels, None, ini)
        p = subprocess.run([self.modvm, "--check", ini], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0:
            return [f"modvm --check exited {p.returncode}: {out.strip()[-600:]}"]
        t = case.topo
        seen = {}
        for m in re.finditer(r"^vcpu (\d+): apic-id (\d+) socket (\d+) die (\d+) "
                             r"cluster (\d+) core (\d+) thread (\d+)", out, re.M):
            v = int(m.group(1))
            seen[v] = tuple(int(m.group(k)) for k in range(2, 8))
        if not seen:
            return []  # this modvm prints no vCPU table: nothing to compare
        errs = []
        for v in range(t.maxcpus):
            s_, d, cl, c, th = t.ids(v)
            want = (t.apic(v), s_, d, cl, c, th)
            if seen.get(v) != want:
                errs.append(f"modvm --check: vcpu {v} (apic-id, socket, die, cluster, core, thread) "
                            f"= {seen.get(v)}, model says {want}")
        return errs

    def run_all(self, cases, kernels, workdir):
        self.check_errs = {c.name: self.check_config(c, kernels, workdir) for c in cases}
        if self.direct:
            return self.run_direct(cases, kernels, workdir)
        return self.run_testhost(cases, kernels, workdir)

    def run_direct(self, cases, kernels, workdir):
        results = {}
        for case in cases:
            ini = os.path.join(workdir, case.name + ".ini")
            self.case_ini(case, kernels, None, ini)
            wrap = VALGRIND.split() if case.valgrind else []
            st, out, secs = run_cmd(wrap + [self.modvm, ini], self.timeout)
            results[case.name] = dict(status=st, console=out, seconds=secs,
                                      exit_ok=(st == 0), message=last_modvm_line(out))
            log(f"# {case.name}: modvm exited {st} after {secs:.1f}s")
        return results

    def run_testhost(self, cases, kernels, workdir):
        """All cases in one test-host boot. The nested test host (QEMU TCG
        running kvm-amd) now and then freezes whole, its own timers
        included, so a case's watchdog inside cannot fire: a boot that
        shows no case marker for longer than a case may take is killed.
        main() boots the cases left unfinished once more."""
        pay = os.path.join(workdir, "payload")
        os.makedirs(os.path.join(pay, "plugins"))
        os.makedirs(os.path.join(pay, "cases"))
        shutil.copy2(self.modvm, os.path.join(pay, "modvm"))
        for f in self.plugin_files():
            shutil.copy2(f, os.path.join(pay, "plugins", os.path.basename(f)))
        for k in ("guest", "cloud", "initrd"):
            if k in kernels:
                shutil.copy2(kernels[k], os.path.join(pay, kernels[k + "-rel"]))
        shutil.copy2(kernels["busybox"], os.path.join(pay, "busybox"))
        names = []
        host_bins = []
        for case in cases:
            self.case_ini(case, kernels, "/payload",
                          os.path.join(pay, "cases", case.name + ".ini"))
            names.append(case.name)
            if case.valgrind:
                with open(os.path.join(pay, "cases", case.name + ".wrap"), "w") as f:
                    f.write(VALGRIND + "\n")
                host_bins = valgrind_files()
        with open(os.path.join(pay, "runner.sh"), "w") as f:
            f.write(RUNNER.format(cases=" ".join(names), timeout=int(self.timeout)))
        os.chmod(os.path.join(pay, "runner.sh"), 0o755)
        for root, dirs, files in os.walk(pay):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        # Boot of the test host plus every case, within meson's 1800 s.
        total = min(self.timeout * len(cases) + 120, self.args.total_timeout)
        argv = [self.run_sh, "--smp", str(self.args.host_smp), "--mem",
                self.args.host_mem, "--timeout", str(int(total))]
        for b in host_bins:
            argv += ["--host-bin", b]
        argv += shlex.split(os.environ.get("MODVM_TESTHOST_ARGS", ""))
        argv += [pay, "--",
                "/payload/busybox", "sh", "/payload/runner.sh"]
        log("# test host: " + " ".join(shlex.quote(a) for a in argv))
        # No case marker for longer than a case may run (its watchdog
        # inside included) plus the boot: the test host froze.
        idle = int(self.timeout) + 120
        st, out, secs, stalled = run_streaming(argv, total + 120, idle=idle)
        log(f"# test host exited {st} after {secs:.1f}s" + (" (frozen, killed)" if stalled else ""))
        with open(os.path.join(workdir, "testhost-console.log"), "w") as f:
            f.write(out)
        if st == SKIP or (st == 125 and "=== MODVM-CASE-BEGIN" not in out):
            # The test host itself could not run (no qemu, no nested KVM).
            return SKIP, out
        results = {}
        # A case that began but never ended (the test host died or timed
        # out): keep what it printed.
        last = None
        for m in re.finditer(r"=== MODVM-CASE-BEGIN (\S+)\r?\n", out):
            last = m
        if last and f"=== MODVM-CASE-END {last.group(1)} " not in out[last.end():]:
            why = (f"froze (no case marker for {idle}s)" if stalled
                   else f"stopped (status {st})")
            results[last.group(1)] = dict(
                status=None, console=out[last.end():], seconds=0.0, exit_ok=False,
                message=f"the test host {why} during this case")
        for m in re.finditer(r"=== MODVM-CASE-BEGIN (\S+)\r?\n(.*?)"
                             r"=== MODVM-CASE-END \1 status=(\d+) seconds=([0-9.]+)",
                             out, re.S):
            name, body, status, s = m.group(1), m.group(2), int(m.group(3)), float(m.group(4))
            timed_out = status in (124, 137, 143)
            results[name] = dict(status=None if timed_out else status, console=body,
                                 seconds=s, exit_ok=(status == 0),
                                 message=last_modvm_line(body))
        for name in re.findall(r"=== MODVM-CASE-SKIPPED (\S+)", out):
            results[name] = dict(status=None, console="", seconds=0.0, exit_ok=False,
                                 message="not run: the two cases before it timed out")
        for case in cases:
            if case.name not in results:
                tail = out[-2000:]
                results[case.name] = dict(status=None, console="", seconds=0.0,
                                          exit_ok=False,
                                          message="no result from the test host; its console ends:\n" + tail)
        return results


# memcheck, failing the run (status 99) on any error or definite or
# indirect leak.
VALGRIND = ("valgrind --tool=memcheck --error-exitcode=99 --leak-check=full "
            "--show-leak-kinds=definite,indirect "
            "--errors-for-leak-kinds=definite,indirect")


def valgrind_files():
    """valgrind's launcher and memcheck's files, for the test host."""
    v = shutil.which("valgrind")
    if not v:
        return []
    lib = "/usr/libexec/valgrind"
    # Debian's /usr/bin/valgrind is a script that runs valgrind.bin.
    launcher = [p for p in (v, v + ".bin") if os.path.exists(p)]
    files = launcher + [os.path.join(lib, f) for f in
                        ("memcheck-amd64-linux", "vgpreload_core-amd64-linux.so",
                         "vgpreload_memcheck-amd64-linux.so", "default.supp")]
    # memcheck must redirect ld.so's strlen, and Debian's ld.so has no
    # symbol table: its detached debug file (libc6-dbg) has to come along.
    for so in ("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"):
        p = subprocess.run(["readelf", "-n", so], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        m = re.search(rb"Build ID: ([0-9a-f]{2})([0-9a-f]+)", p.stdout)
        if m:
            dbg = "/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1).decode(),
                                                             m.group(2).decode())
            if os.path.exists(dbg):
                files.append(dbg)
    return files


def built_with_asan(path):
    """ASan and valgrind do not mix: an ASan modvm skips the valgrind case."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def last_modvm_line(out):
    lines = [l.strip() for l in out.replace("\r", "").splitlines()
             if l.strip().startswith("modvm")]
    return lines[-1] if lines else None


# Runs inside the test host, all cases in one boot. busybox comes along in
# the payload so the runner needs nothing from the test host's userland.
RUNNER = r"""#!/payload/busybox sh
B=/payload/busybox
export MODVM_PLUGIN_PATH=/payload/plugins
cd /payload
# The test host's kernel shares this console: its own messages (RCU stall
# warnings when the machine is loaded, KVM's unhandled-MSR notes) would
# land in the middle of the guests' report lines.
$B dmesg -n 1
up() {{ $B cut -d' ' -f1 /proc/uptime; }}
timeouts=0
for c in {cases}; do
	if [ $timeouts -ge 2 ]; then
		echo "=== MODVM-CASE-SKIPPED $c"
		continue
	fi
	echo "=== MODVM-CASE-BEGIN $c"
	t0=$(up)
	# Watchdog: SIGTERM after {timeout} s, SIGKILL 15 s later.
	w=$($B cat /payload/cases/$c.wrap 2>/dev/null)
	$w /payload/modvm /payload/cases/$c.ini </dev/null 2>&1 &
	pid=$!
	( $B sleep {timeout}; echo "runner: $c: timeout, SIGTERM"; $B kill -TERM $pid 2>/dev/null
	  $B sleep 15; $B kill -KILL $pid 2>/dev/null ) &
	wd=$!
	wait $pid
	rc=$?
	$B kill $wd 2>/dev/null
	t1=$(up)
	# Two VMs in a row that had to be killed: do not spend the rest of
	# the budget on a VMM that cannot boot the guest.
	case $rc in 124|137|143) timeouts=$((timeouts + 1)) ;; *) timeouts=0 ;; esac
	echo
	echo "=== MODVM-CASE-END $c status=$rc seconds=$($B awk "BEGIN {{ print $t1 - $t0 }}")"
done
echo "=== MODVM-RUNNER-DONE"
"""


# ----------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("auto", "modvm", "qemu"), default="auto")
    ap.add_argument("--build-dir", default=os.path.join(SRC, "build"))
    ap.add_argument("--case", action="append", help="run only these cases (repeat)")
    ap.add_argument("--list", action="store_true", help="list the cases")
    ap.add_argument("--no-cloud", action="store_true", help="skip the Debian cloud kernel case")
    ap.add_argument("--guest-kernel", choices=("cloud", "source"),
                    default=os.environ.get("MODVM_GUEST_KERNEL", "cloud"),
                    help="the test guest's kernel (tests/guest/build.sh): Debian's cloud "
                         "kernel (default) or one built from linux-source-6.1")
    ap.add_argument("--case-timeout", type=float, default=float(os.environ.get("MODVM_GUEST_CASE_TIMEOUT", 300)),
                    help="seconds for one VM run (default 300)")
    ap.add_argument("--total-timeout", type=float, default=1500,
                    help="seconds for the whole test-host run (default 1500)")
    ap.add_argument("--qemu-cpu", default="Nehalem",
                    help="CPU model for --backend qemu (default Nehalem: TCG has no AMD TOPOEXT)")
    ap.add_argument("--host-smp", type=int, default=2)
    ap.add_argument("--host-mem", default="3G")
    ap.add_argument("--force-testhost", action="store_true",
                    help="use the nested test host even with hardware /dev/kvm")
    ap.add_argument("--append", default="", help="extra guest kernel command line, e.g. ignore_loglevel")
    ap.add_argument("--keep", help="keep INIs, payload and consoles in this directory")
    ap.add_argument("--verbose", "-v", action="store_true", help="print each console")
    args = ap.parse_args()

    cases = CASES
    Case.extra = args.append
    if args.list:
        for c in cases:
            log(f"{c.name}: {os.path.basename(c.config)} {c.topo.describe()} "
                f"arch={c.arch} kernel={c.kernel} cmdline={c.full_cmdline()!r}")
        return 0
    if args.case:
        unknown = set(args.case) - {c.name for c in cases}
        if unknown:
            log(f"unknown case(s): {', '.join(sorted(unknown))}")
            return 2
        cases = [c for c in cases if c.name in args.case]
    if args.no_cloud or os.environ.get("MODVM_GUEST_NO_CLOUD"):
        cases = [c for c in cases if c.kernel != "cloud"]

    if args.backend == "qemu":
        backend = QemuBackend(args)
    else:
        backend = ModvmBackend(args)
    ok, why = backend.available()
    if not ok:
        log(f"SKIP: {why}")
        return SKIP
    if isinstance(backend, ModvmBackend) and not backend.direct:
        # What guests in the nested test host need (run.sh says why).
        extra = subprocess.run([backend.run_sh, "--guest-cmdline"], check=True,
                               stdout=subprocess.PIPE, text=True).stdout.strip()
        Case.extra = (extra + " " + Case.extra).strip()

    # The guest (kernel + initramfs), built or taken from the cache.
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(SRC, "tests", "guest", "build.sh")],
                       stdout=subprocess.PIPE,
                       env=dict(os.environ, MODVM_GUEST_KERNEL=args.guest_kernel))
    if p.returncode != 0:
        log("FAIL: tests/guest/build.sh failed")
        log("0 passed, 1 failed")
        return 1
    gdir = p.stdout.decode().strip().splitlines()[-1]
    try:
        with open(os.path.join(gdir, "KERNEL")) as f:
            kind = f.read().strip()
    except OSError:
        kind = "source"
    log(f"# guest: {gdir} ({kind} kernel, {time.monotonic() - t0:.1f}s)")
    skipped = []
    if kind == "cloud":
        # Every case already boots the cloud kernel; it has no MP-table
        # parser (CONFIG_X86_MPPARSE is off) and brings up one CPU without ACPI.
        for c in cases:
            if c.kernel == "cloud":
                skipped.append((c.name, "the guest kernel is the cloud kernel already"))
            elif c.mptable:
                skipped.append((c.name, "the cloud kernel has no MP-table parser "
                                        "(CONFIG_X86_MPPARSE off); run with "
                                        "--guest-kernel source"))
        cases = [c for c in cases if c.name not in dict(skipped)]
    for c in cases:
        if not c.valgrind:
            continue
        if not shutil.which("valgrind"):
            skipped.append((c.name, "valgrind is not installed"))
        elif backend.name == "modvm" and built_with_asan(backend.modvm):
            skipped.append((c.name, "this modvm is an ASan build (valgrind cannot run it)"))
    cases = [c for c in cases if c.name not in dict(skipped)]
    kernels = {"guest": os.path.join(gdir, "bzImage"), "guest-rel": "bzImage",
               "initrd": os.path.join(gdir, "initramfs.cpio"), "initrd-rel": "initramfs.cpio",
               "busybox": os.path.join(gdir, "busybox")}
    if any(c.kernel == "cloud" for c in cases):
        p = subprocess.run([os.path.join(SRC, "tests", "host", "fetch.sh"), "--print", "vmlinuz"],
                           stdout=subprocess.PIPE)
        if p.returncode == 0 and p.stdout.strip():
            kernels["cloud"] = p.stdout.decode().strip().splitlines()[-1]
            kernels["cloud-rel"] = "vmlinuz-cloud"
            log(f"# cloud kernel: {kernels['cloud']}")
        else:
            log("# cloud kernel: tests/host/fetch.sh failed; dropping that case")
            cases = [c for c in cases if c.kernel != "cloud"]

    work = args.keep or tempfile.mkdtemp(prefix="modvm-guest-")
    os.makedirs(work, exist_ok=True)
    try:
        results = backend.run_all(cases, kernels, work)
        if isinstance(results, tuple) and results[0] == SKIP:
            log("SKIP: the test host cannot run here:")
            log(results[1][-1500:])
            return SKIP
        # A guest that never finished its report (a guest triple fault, a
        # timeout, a frozen test host) gets up to two more boots: the nested
        # test host (TCG emulating SVM, many vCPUs on two) does this now and
        # then under load. Each earlier failure stays in the output, marked
        # FLAKY. A finished report that disagrees with the INI is never
        # retried.
        checks = dict(getattr(backend, "check_errs", {}))
        firsts = {}
        for attempt in (1, 2):
            again = [c for c in cases if unfinished(c, results[c.name])]
            if not again:
                break
            for c in again:
                r = results[c.name]
                firsts.setdefault(c.name, []).append(
                    f"status {r['status']}: {r.get('message') or 'no report'}")
                log(f"# {c.name}: no complete report ({firsts[c.name][-1]}); "
                    f"boot {attempt + 1} of 3")
            d = os.path.join(work, f"retry{attempt}")
            os.makedirs(d, exist_ok=True)
            retry = backend.run_all(again, kernels, d)
            if isinstance(retry, tuple):
                break
            for c in again:
                results[c.name] = retry[c.name]
        if checks:
            backend.check_errs = dict(checks, **backend.check_errs)
        for name, fails in firsts.items():
            r = results[name]
            r["note"] = ((r["note"] + ", ") if r.get("note") else "") + \
                f"FLAKY: boot {len(fails) + 1}; before: " + "; ".join(fails)
        passed = failed = 0
        for name, why in skipped:
            log(f"SKIP {name}: {why}")
        for case in cases:
            run = results[case.name]
            with open(os.path.join(work, case.name + ".console"), "w") as f:
                f.write(run["console"])
            errs, note = judge(case, run)
            errs = getattr(backend, "check_errs", {}).get(case.name, []) + errs
            if args.verbose:
                log(f"---- {case.name} console ----")
                log(run["console"])
            desc = (f"{case.topo.describe()}, {'MP table' if case.mptable else 'ACPI'}, "
                    f"{'cloud' if case.kernel == 'cloud' else kind} kernel")
            if errs:
                failed += 1
                log(f"FAIL {case.name} [{desc}] ({note})")
                for e in errs[:25]:
                    log(f"    {e}")
                if len(errs) > 25:
                    log(f"    ... {len(errs) - 25} more")
                if not run["console"].strip() and run.get("message"):
                    log("    " + run["message"].replace("\n", "\n    "))
                if not args.keep and args.build_dir:
                    # The console of a failed case outlives the run.
                    d = os.path.join(args.build_dir, "meson-logs", "guest-consoles")
                    os.makedirs(d, exist_ok=True)
                    shutil.copy2(os.path.join(work, case.name + ".console"), d)
                    log(f"    console: {os.path.join(d, case.name + '.console')}")
            else:
                passed += 1
                log(f"PASS {case.name} [{desc}] ({note})")
        log(f"{passed} passed, {failed} failed")
        if failed and not args.keep and args.build_dir:
            # Whole test-host consoles: a test host's own crash starts
            # well before the tail the case lines quote.
            d = os.path.join(args.build_dir, "meson-logs", "guest-consoles")
            os.makedirs(d, exist_ok=True)
            for sub in ("", "retry1", "retry2"):
                src = os.path.join(work, sub, "testhost-console.log")
                if os.path.exists(src):
                    shutil.copy2(src, os.path.join(d, f"testhost-{sub or 'boot1'}.log"))
        return 0 if failed == 0 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"# kept: {work}")


if __name__ == "__main__":
    sys.exit(main())
