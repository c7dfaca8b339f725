import GearboxCore

/// Sets a domain's frequency through the userspace governor and `scaling_setspeed`: the
/// frequency is pinned. The governor is set once (and checked again after a failed write,
/// which may mean someone changed it).
struct SetspeedActuator {
    static func set(
        _ frequency: Kilohertz, cpu: Int, governorSet: inout Bool, control: any CPUFrequencyControl, writer: any CPUFrequencyWriter
    ) throws(CPUFreqError) {
        if !governorSet {
            if control.policy(cpu: cpu)?.governor != "userspace" {
                try writer.setGovernor("userspace", cpu: cpu)
            }
            governorSet = true
        }
        try writer.setSpeed(frequency, cpu: cpu)
    }
}

/// Sets a domain's frequency by clamping `scaling_min_freq` and `scaling_max_freq` to it,
/// for drivers that cannot be pinned (intel_pstate, amd-pstate active); the driver keeps its
/// own governor. The energy-performance preference, where there is one, is
/// `EnergyPreferenceActuator`'s.
struct LimitClampActuator {
    static func set(
        _ frequency: Kilohertz, cpu: Int, limits: inout (minimum: Kilohertz, maximum: Kilohertz), writer: any CPUFrequencyWriter
    ) throws(CPUFreqError) {
        limits = try PlanApplier.clamp(to: frequency, from: limits, cpu: cpu, writer: writer)
    }
}
