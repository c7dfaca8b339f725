import GearboxControl
import GearboxCore

extension HostInventory {
    /// `gearboxctl inspect --json` (the fields of docs/formats.md first, in that order, then extras).
    public func json() -> JSONValue {
        .object([
            ("domains", .array(domains.map(Self.json))),
            ("offline_cpus", .array(offlineCPUs.map(JSONValue.int))),
            ("energy_counters", .array(energyCounters.map(Self.json))),
            ("unusable", .array(unusable.map { item in
                .object([
                    ("name", item.name.map(JSONValue.string) ?? .null),
                    ("cpus", .array(item.cpus.map(JSONValue.int))),
                    ("reason", .string(item.reason)),
                ])
            })),
            ("unreadable_energy_counters", .array(unreadableEnergyCounters.map(JSONValue.string))),
        ])
    }

    private static func json(_ d: InspectedDomain) -> JSONValue {
        .object([
            ("name", .string(d.name)),
            ("cpus", .array(d.cpus.map(JSONValue.int))),
            ("driver", .string(d.driver)),
            ("governor", .string(d.governor)),
            ("governors", .array(d.governors.map(JSONValue.string))),
            ("frequencies_khz", .array(d.frequencies.map { .int($0.value) })),
            ("has_frequency_table", .bool(d.hasFrequencyTable)),
            ("min_khz", .int(d.hardwareMinimum.value)),
            ("max_khz", .int(d.hardwareMaximum.value)),
            ("scaling_min_khz", .int(d.scalingMinimum.value)),
            ("scaling_max_khz", .int(d.scalingMaximum.value)),
            ("capacity", .int(d.capacity)),
            ("transition_latency_us", d.transitionLatencyMicroseconds.map(JSONValue.finite) ?? .null),
            ("capacity_source", .string(d.capacitySource.rawValue)),
            ("related_cpus", .array(d.relatedCPUs.map(JSONValue.int))),
            ("energy_performance_preference", d.energyPerformancePreference.map(JSONValue.string) ?? .null),
            ("control", .string(d.controlMethod.rawValue)),
        ])
    }

    private static func json(_ c: EnergyCounter) -> JSONValue {
        .object([
            ("zone", .string(c.zone)),
            ("name", .string(c.name)),
            ("energy_uj", .int(Int(clamping: c.energyMicrojoules))),
            ("max_energy_range_uj", c.maxEnergyRangeMicrojoules.map { .int(Int(clamping: $0)) } ?? .null),
        ])
    }

    /// `gearboxctl inspect --toml`: a platform file (docs/formats.md) with the default
    /// power model, ready to edit and give to `gearboxctl plan --platform`.
    public func platformTOML(power: DefaultPowerModel = DefaultPowerModel()) -> String {
        var lines = [
            "# Platform file written by `gearboxctl inspect --toml` from this host's sysfs.",
            "# Power is gearbox's default parametric model (docs/formats.md, \"Default power model\"):",
            "#   busy = capacity/1024 x (\(Self.number(power.staticWatts)) + \(Self.number(power.dynamicWatts)) x (f/fmax)^\(Self.number(power.exponent))) W, "
                + "idle = capacity/1024 x \(Self.number(power.idleWatts)) W per CPU.",
            "# Replace it with measured figures or an `opp` table where you have them.",
        ]
        if !offlineCPUs.isEmpty { lines.append("# Offline CPUs, left out: \(CPUList.format(offlineCPUs))") }
        for item in unusable {
            lines.append("# Not usable, left out: CPUs \(CPUList.format(item.cpus)): \(item.reason)")
        }
        for d in domains {
            let model = power.power(capacity: d.capacity)
            lines.append("")
            lines.append("[[domain]]")
            lines.append("name = \"\(d.name)\"")
            lines.append("cpus = \"\(CPUList.format(d.cpus))\"")
            lines.append("capacity = \(d.capacity)")
            lines.append("idle_watts = \(Self.float(power.idle(capacity: d.capacity).value))")
            if let latency = d.transitionLatencyMicroseconds {
                lines.append("transition_latency_us = \(Self.number(latency))")
            }
            lines.append("# \(d.driver), governor \(d.governor)"
                + (d.hasFrequencyTable ? "" : ", no frequency table: 100 MHz steps between the hardware limits"))
            lines.append("frequencies_khz = [\(d.frequencies.map { String($0.value) }.joined(separator: ", "))]")
            lines.append("power = { static_watts = \(Self.float(model.staticWatts)), dynamic_watts = "
                + "\(Self.float(model.dynamicWatts)), exponent = \(Self.float(model.exponent)) }")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `gearboxctl inspect`: one row per domain, then offline CPUs, unusable CPUs, counters.
    public func table() -> String {
        var table = TextTable(["DOMAIN", "CPUS", "DRIVER", "GOVERNOR", "FREQUENCIES", "LIMITS MHz (SET)", "CAPACITY", "LATENCY", "CONTROL"])
        for d in domains {
            let frequencies = "\(d.frequencies.count) " + (d.hasFrequencyTable ? "(table)" : "(100 MHz steps, no table)")
            table.add([
                d.name, CPUList.format(d.cpus), d.driver, d.governor, frequencies,
                "\(Self.megahertz(d.hardwareMinimum))-\(Self.megahertz(d.hardwareMaximum))"
                    + " (\(Self.megahertz(d.scalingMinimum))-\(Self.megahertz(d.scalingMaximum)))",
                "\(d.capacity)" + (d.capacitySource == .cpuCapacity ? "" : "*"),
                d.transitionLatencyMicroseconds.map { "\(Self.number($0)) us" } ?? "unknown",
                d.controlMethod.rawValue + (d.energyPerformancePreference.map { " (EPP \($0))" } ?? ""),
            ])
        }
        var out = table.rendered()
        if domains.contains(where: { $0.capacitySource == .maximumFrequency }) {
            out += "\n* capacity from maximum frequency (no cpu_capacity in sysfs)"
        }
        out += "\noffline CPUs: " + (offlineCPUs.isEmpty ? "none" : CPUList.format(offlineCPUs))
        for item in unusable {
            out += "\nnot usable: \(item.name.map { "\($0), " } ?? "")CPUs \(CPUList.format(item.cpus)): \(item.reason)"
        }
        out += "\nenergy counters: " + (energyCounters.isEmpty ? "none"
            : energyCounters.map { "\($0.zone) (\($0.name))" }.joined(separator: ", "))
        if !unreadableEnergyCounters.isEmpty {
            out += "\nenergy counters present but unreadable (root only?): " + unreadableEnergyCounters.joined(separator: ", ")
        }
        return out
    }

    private static func megahertz(_ f: Kilohertz) -> String {
        f.value % 1000 == 0 ? String(f.value / 1000) : String(Double(f.value) / 1000)
    }

    /// A value rounded to four decimals, without a fraction when it is whole (`10`, `0.4883`).
    static func number(_ x: Double) -> String {
        let rounded = (x * 10_000).rounded() / 10_000
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int(rounded)) }
        return String(rounded)
    }

    /// A TOML float: like `number`, with `.0` on whole values (`3.0`).
    static func float(_ x: Double) -> String {
        let text = number(x)
        return text.contains(".") ? text : text + ".0"
    }
}
