import GearboxCore

extension ControlLoop {
    /// What the active profile means to the planner.
    var profileSettings: ProfileSettings { configuration.profiles.settings(for: profile) }

    /// The workload as it is planned: overridden targets, then scaled by the profile.
    func planningView(_ workload: Workload) -> Workload {
        overrides.adjust(workload).scalingTargets(by: profileSettings.latencyFactor)
    }

    /// A profile with `top_speed` runs every domain at its highest frequency.
    func atTopSpeedIfProfileSays(_ plan: Plan) -> Plan {
        guard profileSettings.topSpeed else { return plan }
        var top = plan
        for i in top.domains.indices {
            guard let domain = platform.domains.first(where: { $0.name == top.domains[i].name }) else { continue }
            top.domains[i] = DomainPlan(name: domain.name, cpus: top.domains[i].cpus, low: domain.maxFrequency,
                                        high: domain.maxFrequency, pHigh: 1, timeShareHigh: 1,
                                        fallbackReason: "profile \(profile.name) runs at top speed")
        }
        return top
    }

    /// Switches the power profile and re-plans at once; nil when it was already active.
    public mutating func setProfile(_ next: PowerProfile, reason: String) -> Decision? {
        guard next != profile else { return nil }
        profile = next
        return adopt(plannedWorkload ?? currentWorkload(), reason: reason)
    }
}
