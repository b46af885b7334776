#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write the shipped allowlists from one table of CPU models.

Every baseline and profile under allowlists/ is produced here, so a fact
about a model (does it have DRAM RAPL? how many counters?) is stated once.
Run from anywhere:  python3 allowlists/tools/mkallowlists.py
It rewrites allowlists/al_*, allowlists/profiles/*/al_*, allowlists/emulator/
and allowlists/data.am (the install list), then `msr-allowlist lint` and
`make check` verify the result.  Facts come from the Intel SDM vol. 4 and
AMD's PPRs; when a model's support for a register was not certain, the
register was left out.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

ALL = 0xFFFFFFFFFFFFFFFF
CTR48 = 0x0000FFFFFFFFFFFF

# ---- Intel registers ---------------------------------------------------------
# Writable masks handed out by the profiles.  The msr-allowlist lint table
# (allowlists/altool.c) holds the same limits and rejects anything wider.
INTEL_EVTSEL_MASK = 0xFFC7FFFF  # event, umask, USR, OS, E, INV, EN, CMASK; no PC, INT, ANY
INTEL_FIXED_CTRL_MASK = 0x333  # OS/USR enable of fixed counters 0-2; no ANY, no PMI
PKG_POWER_LIMIT_MASK = 0x00FFFFFF00FFFFFF  # limits #1/#2, enable, clamp, window; not lock 63
DRAM_POWER_LIMIT_MASK = 0x0000000000FEFFFF  # limit, enable, window; not lock 31
PLANE_POWER_LIMIT_MASK = 0x0000000000FFFFFF  # PP0/PP1 limit, enable, clamp, window; not lock 31
POLICY_MASK = 0x1F
PERF_CTL_MASK = 0xFFFF  # requested P-state ratio
EPB_MASK = 0xF
HWP_REQUEST_MASK = 0x000003FFFFFFFFFF  # min, max, desired, EPP, window; not pkg control 42
UNCORE_RATIO_MASK = 0x7F7F  # max ratio 6:0, min ratio 14:8
PREFETCH_MASK = 0xF  # L2 streamer, L2 adjacent line, DCU, DCU IP (1 = off)


def global_mask(ngp):
    return (0x7 << 32) | ((1 << ngp) - 1)


class Intel:
    """One Intel family 6 model and what it is known to implement."""

    def __init__(self, model, names, kind, ngp=4, pp0=False, pp1=False,
                 dram=False, perf_status=False, hwp=False, uncore=False,
                 prefetch=False, cstates=True, misc=True, power=True,
                 trl=(), psys=False, turbo=None):
        self.family = 6
        self.model = model
        self.names = names
        self.kind = kind  # 'client', 'server', 'e-core server'
        self.ngp = ngp
        self.pp0 = pp0
        self.pp1 = pp1
        self.dram = dram
        self.perf_status = perf_status
        self.hwp = hwp
        self.uncore = uncore
        self.prefetch = prefetch
        self.cstates = cstates
        self.misc = misc
        self.power = power
        # Turbo ratio limits beyond 0x1AD: (address, name) pairs.
        self.trl = trl
        self.psys = psys  # MSR_PLATFORM_ENERGY_COUNTER (PSys RAPL domain)
        self.turbo = misc if turbo is None else turbo  # MSR_TURBO_RATIO_LIMIT

    def baseline(self):
        e = [(0x10, 0, "IA32_TIME_STAMP_COUNTER")]
        if self.misc:
            e.append((0x34, 0, "MSR_SMI_COUNT"))
        e += [(0xCE, 0, "MSR_PLATFORM_INFO"),
              (0xE7, 0, "IA32_MPERF"),
              (0xE8, 0, "IA32_APERF")]
        e += [(0xC1 + i, 0, "IA32_PMC%d" % i) for i in range(self.ngp)]
        e += [(0x186 + i, 0, "IA32_PERFEVTSEL%d" % i) for i in range(self.ngp)]
        e += [(0x198, 0, "IA32_PERF_STATUS"),
              (0x199, 0, "IA32_PERF_CTL"),
              (0x19C, 0, "IA32_THERM_STATUS"),
              (0x1A0, 0, "IA32_MISC_ENABLE"),
              (0x1A2, 0, "MSR_TEMPERATURE_TARGET")]
        if self.prefetch:
            e.append((0x1A4, 0, "MSR_MISC_FEATURE_CONTROL"))
        if self.turbo:
            e.append((0x1AD, 0, "MSR_TURBO_RATIO_LIMIT"))
        e += [(msr, 0, name) for msr, name in self.trl]
        e += [(0x1B0, 0, "IA32_ENERGY_PERF_BIAS"),
              (0x1B1, 0, "IA32_PACKAGE_THERM_STATUS"),
              (0x309, 0, "IA32_FIXED_CTR0"),
              (0x30A, 0, "IA32_FIXED_CTR1"),
              (0x30B, 0, "IA32_FIXED_CTR2"),
              (0x38D, 0, "IA32_FIXED_CTR_CTRL"),
              (0x38E, 0, "IA32_PERF_GLOBAL_STATUS"),
              (0x38F, 0, "IA32_PERF_GLOBAL_CTRL"),
              (0x390, 0, "IA32_PERF_GLOBAL_OVF_CTRL"),
              # Read-only on purpose: a write of the value it holds (LIKWID
              # clears it to 0) succeeds without wrmsr; enabling PEBS never.
              (0x3F1, 0, "IA32_PEBS_ENABLE")]
        if self.cstates:
            e += [(0x3F9, 0, "MSR_PKG_C6_RESIDENCY"),
                  (0x3FD, 0, "MSR_CORE_C6_RESIDENCY")]
        e += [(0x606, 0, "MSR_RAPL_POWER_UNIT")]
        if self.power:
            e.append((0x610, 0, "MSR_PKG_POWER_LIMIT"))
        e.append((0x611, 0, "MSR_PKG_ENERGY_STATUS"))
        if self.perf_status:
            e.append((0x613, 0, "MSR_PKG_PERF_STATUS"))
        if self.power:
            e.append((0x614, 0, "MSR_PKG_POWER_INFO"))
        if self.dram:
            e += [(0x618, 0, "MSR_DRAM_POWER_LIMIT"),
                  (0x619, 0, "MSR_DRAM_ENERGY_STATUS")]
            if self.perf_status:
                e.append((0x61B, 0, "MSR_DRAM_PERF_STATUS"))
            e.append((0x61C, 0, "MSR_DRAM_POWER_INFO"))
        if self.uncore:
            e.append((0x620, 0, "MSR_UNCORE_RATIO_LIMIT"))
        if self.pp0:
            e += [(0x638, 0, "MSR_PP0_POWER_LIMIT"),
                  (0x639, 0, "MSR_PP0_ENERGY_STATUS"),
                  (0x63A, 0, "MSR_PP0_POLICY")]
        if self.pp1:
            e += [(0x640, 0, "MSR_PP1_POWER_LIMIT"),
                  (0x641, 0, "MSR_PP1_ENERGY_STATUS"),
                  (0x642, 0, "MSR_PP1_POLICY")]
        if self.psys:
            e.append((0x64D, 0, "MSR_PLATFORM_ENERGY_COUNTER"))
        if self.hwp:
            e += [(0x770, 0, "IA32_PM_ENABLE"),
                  (0x771, 0, "IA32_HWP_CAPABILITIES"),
                  (0x774, 0, "IA32_HWP_REQUEST")]
        return e

    def profiles(self):
        p = {}
        gm = global_mask(self.ngp)
        perf = [(0xC1 + i, CTR48, "IA32_PMC%d" % i) for i in range(self.ngp)]
        perf += [(0x186 + i, INTEL_EVTSEL_MASK, "IA32_PERFEVTSEL%d" % i)
                 for i in range(self.ngp)]
        perf += [(0x309, CTR48, "IA32_FIXED_CTR0"),
                 (0x30A, CTR48, "IA32_FIXED_CTR1"),
                 (0x30B, CTR48, "IA32_FIXED_CTR2"),
                 (0x38D, INTEL_FIXED_CTRL_MASK, "IA32_FIXED_CTR_CTRL"),
                 (0x38F, gm, "IA32_PERF_GLOBAL_CTRL"),
                 (0x390, gm, "IA32_PERF_GLOBAL_OVF_CTRL")]
        p["perf"] = perf
        if self.power:
            pw = [(0x610, PKG_POWER_LIMIT_MASK, "MSR_PKG_POWER_LIMIT")]
            if self.dram:
                pw.append((0x618, DRAM_POWER_LIMIT_MASK, "MSR_DRAM_POWER_LIMIT"))
            if self.pp0:
                pw += [(0x638, PLANE_POWER_LIMIT_MASK, "MSR_PP0_POWER_LIMIT"),
                       (0x63A, POLICY_MASK, "MSR_PP0_POLICY")]
            if self.pp1:
                pw += [(0x640, PLANE_POWER_LIMIT_MASK, "MSR_PP1_POWER_LIMIT"),
                       (0x642, POLICY_MASK, "MSR_PP1_POLICY")]
            p["power"] = pw
        fr = [(0x199, PERF_CTL_MASK, "IA32_PERF_CTL"),
              (0x1B0, EPB_MASK, "IA32_ENERGY_PERF_BIAS")]
        if self.uncore:
            fr.append((0x620, UNCORE_RATIO_MASK, "MSR_UNCORE_RATIO_LIMIT"))
        if self.hwp:
            fr.append((0x774, HWP_REQUEST_MASK, "IA32_HWP_REQUEST"))
        p["freq"] = fr
        if self.prefetch:
            p["prefetch"] = [(0x1A4, PREFETCH_MASK, "MSR_MISC_FEATURE_CONTROL")]
        return p


def client(model, names, **kw):
    kw.setdefault("pp0", True)
    kw.setdefault("pp1", True)
    return Intel(model, names, "client", **kw)


def server(model, names, **kw):
    kw.setdefault("dram", True)
    return Intel(model, names, "server", **kw)


# MSR_MISC_FEATURE_CONTROL (0x1A4) prefetcher bits 3:0: Intel's disclosure
# for Nehalem onward, and the models whose bits likwid-features switches
# (its cpuFeatures.c); not hybrid parts, Tiger Lake, Emerald Rapids or
# Granite Rapids-D, where neither says so.
PF = dict(prefetch=True)
# Turbo ratio limits past 0x1AD.  Xeon Scalable and later: 0x1AE holds the
# core counts of the 0x1AD groups (LIKWID's power_init reads it and prints
# ERROR without it).  Ivy Bridge-EP to Broadwell-EP: more groups of cores.
TRL_CORES = dict(trl=((0x1AE, "MSR_TURBO_RATIO_LIMIT_CORES"),))
TRL_1 = dict(trl=((0x1AE, "MSR_TURBO_RATIO_LIMIT1"),))
TRL_12 = dict(trl=((0x1AE, "MSR_TURBO_RATIO_LIMIT1"), (0x1AF, "MSR_TURBO_RATIO_LIMIT2")))
PSYS = dict(psys=True)  # PSys: SDM's Skylake client tables, LIKWID's PWR4 maps
INTEL = [
    client(0x2A, "Sandy Bridge (2nd gen Core)", **PF),
    server(0x2D, "Sandy Bridge-EP/EN (Xeon E5 v1)", pp0=True, perf_status=True, **PF),
    client(0x3A, "Ivy Bridge (3rd gen Core)", **PF),
    server(0x3E, "Ivy Bridge-EP/EX (Xeon E5/E7 v2)", pp0=True, perf_status=True, **PF, **TRL_1),
    client(0x3C, "Haswell (4th gen Core, desktop)", **PF),
    server(0x3F, "Haswell-EP/EX (Xeon E5/E7 v3)", perf_status=True, **PF, **TRL_12),
    client(0x45, "Haswell-ULT (4th gen Core, mobile)", **PF),
    client(0x46, "Haswell GT3e (Crystal Well)", **PF),
    client(0x3D, "Broadwell (5th gen Core)", **PF),
    client(0x47, "Broadwell GT3e", **PF),
    server(0x4F, "Broadwell-EP/EX (Xeon E5/E7 v4)", perf_status=True, uncore=True, **PF, **TRL_12),
    server(0x56, "Broadwell-DE (Xeon D-1500)", perf_status=True, uncore=True, **PF),
    client(0x4E, "Skylake (6th gen Core, mobile)", hwp=True, **PF, **PSYS),
    client(0x5E, "Skylake (6th gen Core, desktop; Xeon E3 v5)", hwp=True, **PF, **PSYS),
    server(0x55, "Skylake-SP, Cascade Lake-SP, Cooper Lake (Xeon Scalable 1st-3rd gen)",
           perf_status=True, hwp=True, uncore=True, **PF, **TRL_CORES),
    client(0x8E, "Kaby Lake, Amber Lake, Whiskey Lake, Coffee Lake, Comet Lake (mobile)",
           hwp=True, **PF, **PSYS),
    client(0x9E, "Kaby Lake, Coffee Lake (desktop; Xeon E-2100/E-2200)", hwp=True, **PF, **PSYS),
    client(0xA5, "Comet Lake (10th gen Core, desktop)", hwp=True, **PF, **PSYS),
    client(0xA6, "Comet Lake (10th gen Core, mobile)", hwp=True, **PF, **PSYS),
    client(0xA7, "Rocket Lake (11th gen Core, desktop)", hwp=True, ngp=8, **PF, **PSYS),
    server(0x6A, "Ice Lake-SP (3rd gen Xeon Scalable)", hwp=True, uncore=True, ngp=8,
           **PF, **TRL_CORES, **PSYS),
    server(0x6C, "Ice Lake-D (Xeon D-2700/D-1700)", hwp=True, uncore=True, ngp=8,
           **PF, **TRL_CORES, **PSYS),
    client(0x7D, "Ice Lake (10th gen Core, desktop/embedded)", hwp=True, ngp=8, **PF, **PSYS),
    client(0x7E, "Ice Lake (10th gen Core, mobile)", hwp=True, ngp=8, **PF, **PSYS),
    client(0x8C, "Tiger Lake (11th gen Core, mobile UP3/UP4)", hwp=True, ngp=8, **PSYS),
    client(0x8D, "Tiger Lake-H (11th gen Core)", hwp=True, ngp=8, **PSYS),
    server(0x8F, "Sapphire Rapids (4th gen Xeon Scalable)", hwp=True, uncore=True, ngp=8,
           **PF, **TRL_CORES, **PSYS),
    server(0xCF, "Emerald Rapids (5th gen Xeon Scalable)", hwp=True, uncore=True, ngp=8,
           **TRL_CORES, **PSYS),
    # RAPL limits and DRAM RAPL moved to TPMI on Xeon 6: only energy here.
    server(0xAD, "Granite Rapids-AP/SP (Xeon 6 P-core)", hwp=True, ngp=8, dram=False, power=False,
           **PF, **TRL_CORES, **PSYS),
    server(0xAE, "Granite Rapids-D (Xeon 6 SoC)", hwp=True, ngp=8, dram=False, power=False,
           **TRL_CORES, **PSYS),
    Intel(0xAF, "Sierra Forest (Xeon 6 E-core)", "e-core server", hwp=True,
          cstates=False, misc=False, power=False, turbo=True, **PF, **TRL_CORES, **PSYS),
    # Hybrid parts: 4 general counters (what both core types have in common).
    client(0x97, "Alder Lake-S (12th gen Core, desktop)", hwp=True, **PSYS),
    client(0x9A, "Alder Lake-P/H/U (12th gen Core, mobile)", hwp=True, **PSYS),
    client(0xB7, "Raptor Lake-S (13th/14th gen Core, desktop)", hwp=True, **PSYS),
    client(0xBA, "Raptor Lake-P (13th gen Core, mobile)", hwp=True, **PSYS),
    client(0xBF, "Raptor Lake-S (13th/14th gen Core, desktop, second stepping)", hwp=True, **PSYS),
    client(0xAA, "Meteor Lake-H/U (Core Ultra series 1, mobile)", hwp=True, pp1=False, **PSYS),
    client(0xAC, "Meteor Lake-S", hwp=True, pp1=False, **PSYS),
]

# ---- AMD registers -----------------------------------------------------------
AMD_PERF_CTL_MASK = 0x0000000FFFC7FFFF  # EventSelect 7:0 and 11:8, UnitMask, USR, OS, Edge, EN, INV, CntMask; no INT
AMD_GLOBAL_CTL_MASK = 0x3F  # PerfMonV2 enable bits of core counters 0-5
AMD_PSTATE_CTL_MASK = 0x7  # PstateCmd
AMD_HWCR_IRPERF = 1 << 30  # IRPerfEn: starts the instructions-retired counter
# PrefetchControl (0xC0000108), Zen 3 and later: disable bits of the L1
# stream, L1 stride, L1 region, L2 stream and L2 up/down prefetchers.
AMD_PREFETCH_MASK = 0x2F


class Amd:
    def __init__(self, family, model, names, zen, perfmon_v2=False):
        self.prefetch = family >= 0x19
        self.family = family
        self.model = model
        self.names = names
        self.zen = zen
        self.perfmon_v2 = perfmon_v2
        self.kind = "amd"

    def baseline(self):
        e = [(0x10, 0, "TSC"),
             (0xE7, 0, "MPERF"),
             (0xE8, 0, "APERF"),
             (0xC00000E7, 0, "MPerfReadOnly"),
             (0xC00000E8, 0, "APerfReadOnly"),
             (0xC00000E9, 0, "IRPerfCount")]
        if self.prefetch:
            e.append((0xC0000108, 0, "PrefetchControl"))
        if self.perfmon_v2:
            e += [(0xC0000300, 0, "PerfCntrGlobalStatus"),
                  (0xC0000301, 0, "PerfCntrGlobalCtl")]
        e += [(0xC0010015, 0, "HWCR"),
              (0xC0010061, 0, "PStateCurLim"),
              (0xC0010062, 0, "PStateCtl"),
              (0xC0010063, 0, "PStateStat")]
        e += [(0xC0010064 + i, 0, "PStateDef%d" % i) for i in range(8)]
        for i in range(6):
            e += [(0xC0010200 + 2 * i, 0, "PERF_CTL%d" % i),
                  (0xC0010201 + 2 * i, 0, "PERF_CTR%d" % i)]
        e += [(0xC0010299, 0, "RAPL_PWR_UNIT"),
              (0xC001029A, 0, "CORE_ENERGY_STAT"),
              (0xC001029B, 0, "PKG_ENERGY_STAT")]
        return e

    def profiles(self):
        # LIKWID's FIXC0 (instructions retired) sets IRPerfEn and clears
        # it when the counter stops.
        perf = [(0xC0010015, AMD_HWCR_IRPERF, "HWCR")]
        if self.perfmon_v2:
            perf.append((0xC0000301, AMD_GLOBAL_CTL_MASK, "PerfCntrGlobalCtl"))
        for i in range(6):
            perf += [(0xC0010200 + 2 * i, AMD_PERF_CTL_MASK, "PERF_CTL%d" % i),
                     (0xC0010201 + 2 * i, CTR48, "PERF_CTR%d" % i)]
        p = {"perf": perf,
             "freq": [(0xC0010062, AMD_PSTATE_CTL_MASK, "PStateCtl")]}
        if self.prefetch:
            p["prefetch"] = [(0xC0000108, AMD_PREFETCH_MASK, "PrefetchControl")]
        return p


AMD = [
    Amd(0x17, 0x01, "Naples (EPYC 7001), Summit Ridge (Ryzen 1000), Whitehaven", "Zen"),
    Amd(0x17, 0x08, "Pinnacle Ridge (Ryzen 2000), Colfax (Threadripper 2000)", "Zen+"),
    Amd(0x17, 0x11, "Raven Ridge (Ryzen 2000 APU)", "Zen"),
    Amd(0x17, 0x18, "Picasso (Ryzen 3000 APU)", "Zen+"),
    Amd(0x17, 0x20, "Dali", "Zen"),
    Amd(0x17, 0x31, "Rome (EPYC 7002), Castle Peak (Threadripper 3000)", "Zen 2"),
    Amd(0x17, 0x60, "Renoir (Ryzen 4000 APU)", "Zen 2"),
    Amd(0x17, 0x68, "Lucienne (Ryzen 5000 mobile)", "Zen 2"),
    Amd(0x17, 0x71, "Matisse (Ryzen 3000)", "Zen 2"),
    Amd(0x17, 0x90, "Van Gogh", "Zen 2"),
    Amd(0x17, 0xA0, "Mendocino (Ryzen 7020)", "Zen 2"),
    Amd(0x19, 0x01, "Milan, Milan-X (EPYC 7003)", "Zen 3"),
    Amd(0x19, 0x08, "Chagall (Threadripper PRO 5000)", "Zen 3"),
    Amd(0x19, 0x11, "Genoa, Genoa-X (EPYC 9004)", "Zen 4", True),
    Amd(0x19, 0x18, "Storm Peak (Threadripper 7000)", "Zen 4", True),
    Amd(0x19, 0x21, "Vermeer (Ryzen 5000)", "Zen 3"),
    Amd(0x19, 0x44, "Rembrandt (Ryzen 6000 mobile)", "Zen 3+"),
    Amd(0x19, 0x50, "Cezanne (Ryzen 5000 APU)", "Zen 3"),
    Amd(0x19, 0x61, "Raphael (Ryzen 7000), Dragon Range", "Zen 4", True),
    Amd(0x19, 0x74, "Phoenix (Ryzen 7040)", "Zen 4", True),
    Amd(0x19, 0x78, "Phoenix 2", "Zen 4", True),
    Amd(0x19, 0xA0, "Bergamo (EPYC 97x4), Siena (EPYC 8004)", "Zen 4c", True),
    Amd(0x1A, 0x02, "Turin (EPYC 9005)", "Zen 5", True),
    Amd(0x1A, 0x11, "Turin dense (EPYC 9005, Zen 5c)", "Zen 5c", True),
    Amd(0x1A, 0x24, "Strix Point (Ryzen AI 300)", "Zen 5", True),
    Amd(0x1A, 0x44, "Granite Ridge (Ryzen 9000)", "Zen 5", True),
]

# ---- prose -------------------------------------------------------------------
AMD_PROFILE_TEXT = {
    "prefetch": [
        "Writable: PrefetchControl's disable bits of the L1 stream, L1 stride,",
        "L1 region, L2 stream and L2 up/down prefetchers (bits 3:0 and 5).",
        "Safe because: prefetchers only affect speed.  The job epilog restores",
        "every value.",
    ],
    "perf": [
        "Writable: the six core performance counters PERF_CTR0-5 and their",
        "event selects PERF_CTL0-5 (and PerfCntrGlobalCtl's enable bits on",
        "PerfMonV2 parts), with exact masks, and HWCR's IRPerfEn (bit 30),",
        "which starts the instructions-retired counter.  Left out: the",
        "interrupt-on-overflow bit (INT), host/guest-only bits, IBS and the",
        "L3/DF counters.",
        "Safe because: counters only count; no bit here raises an interrupt or",
        "reaches memory.  The kernel's own users of the counters (perf, the NMI",
        "watchdog) can be disturbed, so nodes running this profile should boot",
        "with nmi_watchdog=0 and not run perf system-wide.  The job epilog",
        "restores every value.",
    ],
    "freq": [
        "Writable: PStateCtl's PstateCmd (bits 2:0), which requests one of the",
        "P-states firmware defined in PStateDef0-7.",
        "Safe because: only firmware-defined P-states can be selected and the",
        "hardware still applies PStateCurLim; it changes speed and energy, not",
        "correctness.  The job epilog restores every value.",
    ],
}

PROFILE_TEXT = {
    "perf": [
        "Writable: the core performance counters, their event selects, the",
        "fixed counters and their control, and the global enable/overflow",
        "bits, with exact masks.  Left out: the interrupt-on-overflow (INT/PMI)",
        "and any-thread bits, PEBS, LBR and DEBUGCTL.",
        "Safe because: counters only count; no bit here raises an interrupt,",
        "reaches memory or another thread's events.  The kernel's own users of",
        "the counters (perf, the NMI watchdog) can be disturbed, so nodes",
        "running this profile should boot with nmi_watchdog=0 and not run",
        "perf system-wide.  The job epilog restores every value.",
    ],
    "power": [
        "Writable: package, DRAM and core/graphics plane power limits (value,",
        "enable, clamp, time window) and the plane priority policies.  Never",
        "the lock bits (PKG bit 63, DRAM/PP0/PP1 bit 31) or reserved bits: a",
        "locked limit could not be restored until reboot.",
        "Safe because: the processor still enforces its thermal and electrical",
        "protection (PROCHOT, TjMax) whatever limit is set; a limit only caps",
        "or lifts power within what the part supports.  The job epilog",
        "restores every value.",
    ],
    "freq": [
        "Writable: the requested P-state (PERF_CTL ratio), the energy/performance",
        "bias, HWP requests (min, max, desired, EPP, activity window; not",
        "package control) and the uncore ratio limits where the model has them.",
        "Safe because: these are requests the hardware clips to the part's",
        "supported range; they change speed and energy, not correctness.",
        "The job epilog restores every value.",
    ],
    "prefetch": [
        "Writable: the four hardware prefetcher disable bits of",
        "MSR_MISC_FEATURE_CONTROL (L2 streamer, L2 adjacent line, DCU, DCU IP),",
        "as Intel disclosed them and likwid-features switches them.",
        "Safe because: prefetchers only affect speed; the register is per core",
        "(shared by its hyper-threads).  The job epilog restores every value.",
    ],
}


def hexmask(m):
    return "0x%016X" % m


def render(lines_header, entries):
    out = list(lines_header)
    out.append("")
    for msr, mask, name in sorted(entries):
        out.append('0x%08X %s # "%s"' % (msr, hexmask(mask), name))
    return "\n".join(out) + "\n"


def vendor_line(cpu):
    if isinstance(cpu, Amd):
        return "AMD family %02Xh (%d) model %Xh (%d), %s: %s" % (
            cpu.family, cpu.family, cpu.model, cpu.model, cpu.zen, cpu.names)
    return "Intel family 06h (6) model %Xh (%d): %s" % (cpu.model, cpu.model, cpu.names)


def source_line(cpu):
    if isinstance(cpu, Amd):
        return "Source: AMD Processor Programming Reference (PPR) for this family/model."
    return "Source: Intel SDM vol. 4 (architectural MSRs and this model's tables)."


def fname(cpu):
    return "al_%02X_%X" % (cpu.family, cpu.model)


def baseline_header(cpu):
    return [
        "# msr-safe baseline allowlist %s" % fname(cpu),
        "# CPU: " + vendor_line(cpu),
        "# " + source_line(cpu),
        "# Access: read-only (every write mask is 0).  Telemetry that monitoring",
        "# and power tools read: time stamp, APERF/MPERF, P-state and thermal",
        "# status, RAPL units, energy and limits, counters and their controls.",
        "# Safe because: nothing can be written; reads do not change state.",
        "# Write access comes from the overlays in profiles/<name>/%s." % fname(cpu),
        "# Generated by allowlists/tools/mkallowlists.py (edit the table there).",
    ]


def profile_header(cpu, prof):
    h = [
        "# msr-safe profile overlay '%s' for %s (merge over the baseline)" % (prof, fname(cpu)),
        "# CPU: " + vendor_line(cpu),
        "# " + source_line(cpu),
    ]
    text = AMD_PROFILE_TEXT if isinstance(cpu, Amd) else PROFILE_TEXT
    h += ["# " + line for line in text[prof]]
    h.append("# Generated by allowlists/tools/mkallowlists.py (edit the table there).")
    return h


EMULATOR_BASELINE = [
    (0x10, 0, "IA32_TIME_STAMP_COUNTER"),
    (0x1B, 0, "IA32_APIC_BASE"),
    (0xE7, 0, "IA32_MPERF"),
    (0xE8, 0, "IA32_APERF"),
    (0x179, 0, "IA32_MCG_CAP"),
    (0x17A, 0, "IA32_MCG_STATUS"),
    (0x198, 0, "IA32_PERF_STATUS"),
    (0x199, 0, "IA32_PERF_CTL"),
    (0x1A0, 0, "IA32_MISC_ENABLE"),
    (0x277, 0, "IA32_PAT"),
    (0x400, 0, "IA32_MC0_CTL"),
    (0x401, 0, "IA32_MC0_STATUS"),
    (0x402, 0, "IA32_MC0_ADDR"),
    (0x403, 0, "IA32_MC0_MISC"),
    (0x606, 0, "MSR_RAPL_POWER_UNIT"),
    (0x610, 0, "MSR_PKG_POWER_LIMIT"),
    (0x611, 0, "MSR_PKG_ENERGY_STATUS"),
    (0xC0000103, 0, "IA32_TSC_AUX"),
]

EMULATOR_DEMO = [
    (0x402, ALL, "IA32_MC0_ADDR"),
    (0x403, ALL, "IA32_MC0_MISC"),
    (0xC0000103, 0x00000000FFFFFFFF, "IA32_TSC_AUX"),
]


def emulator_files():
    base = [
        "# msr-safe baseline for the qemu TCG emulator (tests and the demo only)",
        "# CPU: any qemu -cpu model under TCG.  TCG keeps writes to MISC_ENABLE,",
        "# PAT, SYSENTER_*, TSC_AUX, MC0_* and MCG_STATUS, returns constants for",
        "# APIC_BASE, MCG_CAP and PERF_STATUS, and reads 0 for everything else.",
        "# Source: qemu target/i386 MSR emulation (see shared PLATFORM.md).",
        "# Access: read-only (every write mask is 0).",
        "# Safe because: nothing can be written.  Not for real hardware.",
        "# Generated by allowlists/tools/mkallowlists.py (edit the table there).",
    ]
    demo = [
        "# msr-safe profile overlay 'demo' for the qemu TCG emulator (tests only)",
        "# Writable: MC0_ADDR, MC0_MISC (all 64 bits, stored by TCG) and the low",
        "# 32 bits of TSC_AUX: registers whose writes stick under TCG, so a test",
        "# can see a job's change and the epilog's restore.",
        "# Safe because: under TCG these only hold values (no machine check is",
        "# raised); TSC_AUX holds the CPU number for RDTSCP/getcpu, which the",
        "# epilog restores.  Never use this overlay on real hardware (lint",
        "# rejects these registers as writable outside emulator/).",
        "# Source: qemu target/i386 MSR emulation (see shared PLATFORM.md).",
        "# Generated by allowlists/tools/mkallowlists.py (edit the table there).",
    ]
    return {
        "emulator/baseline": render(base, EMULATOR_BASELINE),
        "emulator/profiles/demo": render(demo, EMULATOR_DEMO),
    }


def markdown_table():
    """The model table for README.md (python3 mkallowlists.py --table)."""
    rows = ["| file | CPU | profiles |", "|---|---|---|"]
    for cpu in INTEL + AMD:
        vendor = "AMD %s: " % cpu.zen if isinstance(cpu, Amd) else "Intel "
        rows.append("| %s | %s%s | %s |" % (fname(cpu), vendor, cpu.names,
                                            " ".join(sorted(cpu.profiles()))))
    return "\n".join(rows) + "\n"


def main():
    if sys.argv[1:] == ["--table"]:
        sys.stdout.write(markdown_table())
        return
    files = {}
    for cpu in INTEL + AMD:
        name = fname(cpu)
        files[name] = render(baseline_header(cpu), cpu.baseline())
        for prof, entries in cpu.profiles().items():
            files["profiles/%s/%s" % (prof, name)] = render(profile_header(cpu, prof), entries)
    files.update(emulator_files())

    # Remove stale generated files so a model dropped from the table goes away.
    for root, _dirs, names in os.walk(TOP):
        rel = os.path.relpath(root, TOP)
        for n in names:
            path = os.path.normpath(os.path.join(rel, n))
            generated = n.startswith("al_") or path.startswith("emulator/")
            if generated and path not in files and not path.startswith("tools"):
                os.unlink(os.path.join(TOP, path))

    for rel, text in files.items():
        path = os.path.join(TOP, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    names = sorted(files)
    am = ["# Generated by allowlists/tools/mkallowlists.py: every shipped list.",
          "ALLOWLIST_FILES = \\"]
    am += ["\t%s \\" % n for n in names[:-1]]
    am.append("\t%s" % names[-1])
    with open(os.path.join(TOP, "data.am"), "w") as f:
        f.write("\n".join(am) + "\n")

    nb = sum(1 for n in names if "/" not in n)
    np_ = sum(1 for n in names if n.startswith("profiles/"))
    print("wrote %d baselines, %d profile overlays, %d emulator files"
          % (nb, np_, len(names) - nb - np_), file=sys.stderr)


if __name__ == "__main__":
    main()
