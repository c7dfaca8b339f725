import GearboxCore
import Logging

extension PlanApplier {
    /// Forgets what was written, so the next `apply` writes every setting again: the
    /// firmware may have reset limits during a suspend, or someone else changed them. The
    /// limits are read afresh, so a clamp is still ordered min ≤ max.
    public mutating func forgetWritten() {
        for i in lanes.indices {
            lanes[i].frequency = nil
            lanes[i].governorSet = false
            lanes[i].readBackBaseline = nil
            if let policy = control.policy(cpu: lanes[i].writeCPU) {
                lanes[i].limits = (policy.minimum, policy.maximum)
            }
        }
        energyPreferences.forgetWritten()
    }

    /// Domains whose settings are no longer what the agent wrote: a userspace domain whose
    /// governor changed, a clamped domain whose limits moved since they were first read
    /// back after the agent's write (drivers may round a limit, so what the kernel made of
    /// the write is the reference), or an energy-performance preference someone rewrote.
    ///
    /// Each call reads back at most `readBackPerCall` domains, in turn, and the preferences
    /// and boost once the turn comes round: every read of a policy is three sysfs files, and
    /// on a host of 96 domains reading all of them every tick would cost more than the tick.
    /// A dry run wrote nothing, so there is nothing to read back.
    public mutating func changedBehindOurBack() -> [String] {
        guard writer.changesHardware, !lanes.isEmpty else { return [] }
        var changed: [String] = []
        let count = min(lanes.count, Self.readBackPerCall)
        for step in 0..<count {
            let i = (readBackCursor + step) % lanes.count
            if laneChangedBehindOurBack(i) { changed.append(lanes[i].name) }
        }
        readBackCursor = (readBackCursor + count) % lanes.count
        // The turn came round (always so when every domain is read each call).
        if readBackCursor < count {
            for name in energyPreferences.changedBehindOurBack(sysfs: sysfs) where !changed.contains(name) { changed.append(name) }
        }
        return changed
    }

    /// Domains read back per tick: all of them on hosts with up to eight domains; a host of
    /// 96 is covered in twelve ticks (1.2 s at the default tick).
    static let readBackPerCall = 8

    private mutating func laneChangedBehindOurBack(_ i: Int) -> Bool {
        guard !lanes[i].held, let frequency = lanes[i].frequency else { return false }
        switch lanes[i].method {
        case .userspaceGovernor:
            guard lanes[i].governorSet, let governor = control.governor(cpu: lanes[i].writeCPU) else { return false }
            return governor != "userspace"
        case .clampLimits:
            guard let policy = control.policy(cpu: lanes[i].writeCPU) else { return false }
            let read = ReadBackBaseline(frequency: frequency, minimum: policy.minimum, maximum: policy.maximum)
            guard let baseline = lanes[i].readBackBaseline, baseline.frequency == frequency else {
                lanes[i].readBackBaseline = read
                return false
            }
            return baseline != read
        }
    }
}

/// The limits read back the first time after a write, with the frequency written.
struct ReadBackBaseline: Hashable, Sendable {
    var frequency: Kilohertz
    var minimum: Kilohertz
    var maximum: Kilohertz
}

extension PlanApplier {
    /// How each domain's frequency is set, by domain name.
    public var mechanisms: [String: String] {
        var result: [String: String] = [:]
        for lane in lanes { result[lane.name] = energyPreferences.mechanism(of: lane.name, method: lane.method).rawValue }
        return result
    }

    /// Writes the energy-performance preferences and boost the plan's profile asks for,
    /// after the originals are saved; a dry run only logs them. Each failure is logged once.
    mutating func applyProfile(_ plan: Plan) {
        guard plan.profile != nil else { return }
        guard writer.changesHardware else {
            if let p = plan.profile {
                logger.debug("dry run: would allow boost \(p.boost), EPP up to \(p.energyPreference.rawValue)")
            }
            return
        }
        guard saveSnapshotIfNeeded() else { return }
        for failure in energyPreferences.apply(plan, isOnline: sysfs.isOnline) {
            log(key: failure.key, failure.message, ["gearbox.event": "fault"])
        }
    }
}
