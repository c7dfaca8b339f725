import GearboxCore
import Logging

/// How a domain's frequency is set: chosen per domain at discovery, named in `status`.
public enum ActuationMechanism: String, Hashable, Sendable {
    /// The userspace governor and `scaling_setspeed`: the frequency is pinned.
    case userspaceSetspeed = "userspace-setspeed"
    /// `scaling_min_freq` = `scaling_max_freq`: the driver keeps its own governor.
    case limitClamps = "limit-clamps"
    /// Limit clamps plus `energy_performance_preference` (intel_pstate with HWP,
    /// amd-pstate-epp): the hardware picks speeds inside the limits, the preference says
    /// which end to lean to.
    case limitClampsWithEPP = "limit-clamps+epp"
}

/// Where boost (turbo) is switched, found at discovery.
public enum BoostSwitch: Hashable, Sendable {
    /// `intel_pstate/no_turbo`: 1 forbids turbo.
    case intelNoTurbo(path: String)
    /// `cpufreq/boost` (acpi-cpufreq, amd-pstate): 1 allows boost.
    case cpufreqBoost(path: String)
    /// `cpufreq/policyN/boost`, one per policy (amd-pstate on recent kernels).
    case perPolicy(paths: [String])

    var paths: [String] {
        switch self {
        case .intelNoTurbo(let p), .cpufreqBoost(let p): [p]
        case .perPolicy(let ps): ps
        }
    }

    /// What to write to allow or forbid boost.
    func value(allow: Bool) -> String {
        switch self {
        case .intelNoTurbo: allow ? "0" : "1"
        case .cpufreqBoost, .perPolicy: allow ? "1" : "0"
        }
    }

    static func discover(root: String, policies: [Int]) -> BoostSwitch? {
        let noTurbo = "\(root)/intel_pstate/no_turbo"
        if SysfsFile.exists(noTurbo) { return .intelNoTurbo(path: noTurbo) }
        let global = "\(root)/cpufreq/boost"
        if SysfsFile.exists(global) { return .cpufreqBoost(path: global) }
        let each = policies.map { "\(root)/cpufreq/policy\($0)/boost" }.filter(SysfsFile.exists)
        return each.isEmpty ? nil : .perPolicy(paths: each)
    }
}

/// Writes `energy_performance_preference` for the domains whose driver cannot be pinned,
/// and boost, as the plan's profile allows; remembers what it wrote so that a change behind
/// the agent's back is seen. Saving and restoring the originals goes with the governor and
/// limits (PolicySnapshot).
struct EnergyPreferenceActuator: Sendable {
    struct Lane: Sendable {
        var name: String
        var cpus: [Int]
        var available: [EnergyPreference]
        var written: EnergyPreference?
        var hardwareMinimum: Kilohertz
        var hardwareMaximum: Kilohertz
    }

    let root: String
    var lanes: [Lane]
    let boost: BoostSwitch?
    var boostWritten: Bool?

    init(inventory: HostInventory, sysfs: CPUSysfs) {
        root = sysfs.root
        lanes = inventory.domains.compactMap { d in
            guard d.controlMethod == .clampLimits, let cpu = d.cpus.first,
                  sysfs.energyPerformancePreference(of: cpu) != nil else { return nil }
            let listed = SysfsFile.readTrimmed("\(sysfs.root)/cpu\(cpu)/cpufreq/energy_performance_available_preferences")?
                .split(separator: " ").compactMap { EnergyPreference(rawValue: String($0)) } ?? []
            return Lane(name: d.name, cpus: d.cpus, available: listed.isEmpty ? EnergyPreference.allCases : listed,
                        hardwareMinimum: d.hardwareMinimum, hardwareMaximum: d.hardwareMaximum)
        }
        boost = BoostSwitch.discover(root: sysfs.root, policies: inventory.domains.compactMap { $0.relatedCPUs.first ?? $0.cpus.first })
    }

    func mechanism(of domain: String, method: FrequencyControlMethod) -> ActuationMechanism {
        if method == .userspaceGovernor { return .userspaceSetspeed }
        return lanes.contains { $0.name == domain } ? .limitClampsWithEPP : .limitClamps
    }

    mutating func forgetWritten() {
        for i in lanes.indices { lanes[i].written = nil }
        boostWritten = nil
    }

    private func preferencePath(_ lane: Lane, cpu: Int) -> String {
        "\(root)/cpu\(cpu)/cpufreq/energy_performance_preference"
    }

    /// The preference for a domain planned at a mean `frequency`: the one matching where it
    /// sits between the hardware limits, no more performance-leaning than the profile allows,
    /// and one the driver offers.
    static func preference(for frequency: Double, lane: Lane, ceiling: EnergyPreference) -> EnergyPreference {
        let span = Double(lane.hardwareMaximum.value - lane.hardwareMinimum.value)
        let fraction = span > 0 ? (frequency - Double(lane.hardwareMinimum.value)) / span : 1
        let wanted = min(EnergyPreference.matching(fraction: fraction), ceiling)
        return lane.available.filter { $0 <= wanted }.max() ?? lane.available.min() ?? wanted
    }

    /// Writes each EPP domain's preference and boost for `plan` (nothing without a profile).
    /// Failures are returned as (key, message) for the applier to log once.
    mutating func apply(_ plan: Plan, isOnline: (Int) -> Bool) -> [(key: String, message: String)] {
        guard let profile = plan.profile else { return [] }
        var failures: [(String, String)] = []
        for i in lanes.indices {
            guard let domain = plan.domains.first(where: { $0.name == lanes[i].name }) else { continue }
            let mean = domain.timeShareHigh * Double(domain.high.value) + (1 - domain.timeShareHigh) * Double(domain.low.value)
            let value = Self.preference(for: mean, lane: lanes[i], ceiling: profile.energyPreference)
            guard value != lanes[i].written else { continue }
            var done = true
            for cpu in lanes[i].cpus where isOnline(cpu) {
                let path = preferencePath(lanes[i], cpu: cpu)
                do throws(LinuxIOError) { try SysfsFile.write(value.rawValue, to: path) } catch {
                    failures.append(("\(lanes[i].name)/epp", "cannot write \(value.rawValue) to \(path): \(error)"))
                    done = false
                    break
                }
            }
            if done { lanes[i].written = value }
        }
        if let boost, boostWritten != profile.boost {
            var done = true
            for path in boost.paths {
                do throws(LinuxIOError) { try SysfsFile.write(boost.value(allow: profile.boost), to: path) } catch {
                    failures.append(("boost", "cannot write \(boost.value(allow: profile.boost)) to \(path): \(error)"))
                    done = false
                }
            }
            if done { boostWritten = profile.boost }
        }
        return failures
    }

    /// Domains (and "boost") whose written value someone else changed.
    func changedBehindOurBack(sysfs: CPUSysfs) -> [String] {
        var changed: [String] = []
        for lane in lanes {
            guard let written = lane.written, let cpu = lane.cpus.first(where: sysfs.isOnline) else { continue }
            if sysfs.energyPerformancePreference(of: cpu) != written.rawValue { changed.append(lane.name) }
        }
        if let boost, let allowed = boostWritten,
           boost.paths.contains(where: { SysfsFile.readTrimmed($0) != boost.value(allow: allowed) }) {
            changed.append("boost")
        }
        return changed
    }

    /// The originals, for the state file: each EPP CPU's preference and each boost file, by path.
    func originals(isOnline: (Int) -> Bool) -> [String: String] {
        var saved: [String: String] = [:]
        for lane in lanes {
            for cpu in lane.cpus where isOnline(cpu) {
                let path = preferencePath(lane, cpu: cpu)
                if let value = SysfsFile.readTrimmed(path) { saved[path] = value }
            }
        }
        for path in boost?.paths ?? [] {
            if let value = SysfsFile.readTrimmed(path) { saved[path] = value }
        }
        return saved
    }

    /// Writes the saved originals back, boost first (EPP writes may be refused while a
    /// boost change is pending on some drivers). Returns the paths that could not be written.
    static func restore(_ saved: [String: String], logger: Logger) -> [String] {
        var failed: [String] = []
        let ordered = saved.keys.sorted { a, b in
            let aBoost = !a.hasSuffix("energy_performance_preference"), bBoost = !b.hasSuffix("energy_performance_preference")
            return aBoost != bBoost ? aBoost : a < b
        }
        for path in ordered {
            // The state file is the agent's own, but a restore writes only files of these names.
            guard ["/energy_performance_preference", "/boost", "/no_turbo"].contains(where: path.hasSuffix) else {
                logger.error("not restoring \(path): not an energy-preference or boost file", metadata: ["gearbox.event": "restore"])
                failed.append(path)
                continue
            }
            guard let value = saved[path], SysfsFile.readTrimmed(path) != value else { continue }
            do throws(LinuxIOError) { try SysfsFile.write(value, to: path) } catch {
                logger.error("cannot restore \(path) to \(value): \(error)", metadata: ["gearbox.event": "restore"])
                failed.append(path)
            }
        }
        return failed
    }
}
