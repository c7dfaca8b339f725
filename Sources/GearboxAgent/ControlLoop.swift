import GearboxConfig
import GearboxCore

/// The agent's decisions, free of I/O: it takes what was sampled on a tick and says whether a
/// new plan is due and what it is. `AgentService` feeds it and carries out what it decides.
public struct ControlLoop: Sendable {
    /// What one tick decided.
    public struct Decision: Sendable {
        /// A new plan to apply and publish, with the reason; nil keeps the current plan.
        public var newPlan: Plan?
        public var reason: String?
        /// The workload the current plan serves (estimates as of this tick).
        public var workload: Workload
        public var queueEvents: [QueueEvent] = []
        public var expired: [Override] = []
        /// The plan `newPlan` replaces (nil for the first), so the log can say what changed.
        public var replaced: Plan?
    }

    public private(set) var platform: Platform {
        didSet {
            speeds = Self.averageSpeeds(platform: platform, plan: currentPlan)
            replanBaseline = nil
        }
    }
    /// Which power model `platform` carries: the configured one, or curves learned from the
    /// energy counters (`usePower`).
    public private(set) var powerModel: PowerModelSource = .configured
    /// The platform as configured, kept while a learned one is in use.
    private var configuredPlatform: Platform?
    public private(set) var configuration: AgentConfiguration { didSet { replanBaseline = nil } }
    public private(set) var currentPlan: Plan? {
        didSet {
            speeds = Self.averageSpeeds(platform: platform, plan: currentPlan)
            replanBaseline = nil
        }
    }
    /// `averageSpeeds()`, kept with the plan: every tick reads it, the plan changes seldom.
    private var speeds: [Int: Double]
    public private(set) var plannedWorkload: Workload?
    public private(set) var overrides = OverrideSet()
    /// The power profile plans are made under (ControlLoop+Profile.swift).
    public internal(set) var profile: PowerProfile = .balanced
    /// Live queues by name (those with a `source`), with their estimates.
    public private(set) var live: [String: LiveQueue] = [:]
    /// Corrections of the live queues' planning targets from their measured latency.
    public internal(set) var feedback = LatencyFeedback()
    /// Each live queue's dispersion index the plan in force was made with, and whether that
    /// plan left a correction out (ControlLoop+Feedback.swift).
    var plannedDispersion: [String: Double] = [:]
    var correctionsDropped = false
    /// `now` of the last tick, to tell a tick that covers missed ones.
    private var lastTickTime: Double?
    private var demand: [Int: SmoothedRate] = [:]
    /// The searched plans of the host's parts, kept so that a re-plan searches only the parts
    /// whose inputs changed (`PartPlanCache`; copies of the loop share it).
    let partCache = PartPlanCache()
    /// What the re-plan check knows of the plan in force (`ReplanPolicy.Baseline`), dropped
    /// whenever the plan, the platform or the configuration changes.
    private var replanBaseline: ReplanPolicy.Baseline?

    public init(platform: Platform, configuration: AgentConfiguration) {
        self.platform = platform
        self.configuration = configuration
        speeds = Self.averageSpeeds(platform: platform, plan: nil)
        resetLiveQueues()
    }

    private mutating func resetLiveQueues() {
        var fresh: [String: LiveQueue] = [:]
        for q in configuration.queues where q.source != nil {
            // A reload keeps the estimates of a queue whose definition did not change.
            fresh[q.queue.name] = live[q.queue.name].flatMap { $0.configured == q ? $0 : nil }
                ?? LiveQueue(q, halfLife: configuration.smoothingHalfLife)
        }
        live = fresh
        feedback.keep(only: Set(fresh.keys))
    }

    /// What a live queue's source gave this tick: samples, or why there are none.
    public enum Scrape: Sendable {
        case samples([PrometheusText.Sample])
        case failed(String)
    }

    static let missedWindowsBeforeCoolDown = 3
    /// Seconds at top speed after repeated misses.
    static let coolDown = 30.0

    /// Events worth one log line each (a queue went stale or recovered).
    public struct QueueEvent: Sendable, Equatable {
        public var queue: String
        public var stale: Bool
        public var reason: String
    }

    var replanPolicy: ReplanPolicy {
        ReplanPolicy(hysteresis: configuration.hysteresis, smoothingHalfLife: configuration.smoothingHalfLife)
    }

    var planner: Planner {
        var c = PlannerConfiguration()
        c.maxUtilization = min(configuration.maxUtilization, profileSettings.maxUtilization ?? 1)
        c.maxDitherPeriod = configuration.maxDitherPeriod
        c.maxSwitchRate = configuration.maxSwitchRate
        var planner = Planner(configuration: c)
        planner.partCache = partCache
        return planner
    }

    /// Each CPU's mean speed under the current plan (ref-s per second), or top speed before any.
    public func averageSpeeds() -> [Int: Double] { speeds }

    static func averageSpeeds(platform: Platform, plan: Plan?) -> [Int: Double] {
        var speeds: [Int: Double] = [:]
        var planOfDomain: [String: DomainPlan] = [:]
        for d in plan?.domains ?? [] where planOfDomain[d.name] == nil { planOfDomain[d.name] = d }
        for domain in platform.domains {
            let planned = planOfDomain[domain.name]
            let speed = planned.map {
                $0.timeShareHigh * domain.speed(at: $0.high) + (1 - $0.timeShareHigh) * domain.speed(at: $0.low)
            } ?? domain.speed(at: domain.maxFrequency)
            for cpu in domain.cpus { speeds[cpu] = speed }
        }
        return speeds
    }

    /// One tick: `busy` holds each CPU's busy fraction over the last `interval` seconds
    /// (kernel-only mode; ignored when static queues are configured).
    public mutating func tick(
        busy: [Int: Double], interval: Double, scrapes: [String: Scrape] = [:], now: Double = 0
    ) -> Decision {
        // Kernel demand is always tracked (a stale queue's CPUs fall back to it), but it only
        // triggers a re-plan in kernel-only mode.
        let burstCPUs = updateKernelDemand(busy: busy, interval: interval)
        var burst = !burstCPUs.isEmpty && configuration.queues.isEmpty
        // Queues whose estimates burst, and whether anything but estimates moved (a cool-down
        // override, a latency correction): only estimates lets a re-plan keep the unmoved parts.
        var burstQueues = Set(configuration.queues.isEmpty ? burstCPUs.map(KernelDemand.queueName(cpu:)) : [])
        var estimatesOnly = true
        var events: [QueueEvent] = []
        let speeds = averageSpeeds()
        let ticks = Self.ticksCovered(since: lastTickTime, now: now, interval: interval)
        lastTickTime = now
        for name in live.keys.sorted() {
            guard var queue = live[name] else { continue }
            let cpus = queue.configured.queue.allowedCPUs(on: platform)
            let speed = cpus.compactMap { speeds[$0] }.reduce(0, +) / Double(max(cpus.count, 1))
            let update: LiveQueue.Update
            switch scrapes[name] ?? .failed("no answer this tick") {
            case .samples(let samples): update = queue.update(samples: samples, interval: interval * ticks, speed: speed, ticks: ticks)
            case .failed(let reason): update = queue.markStale(reason)
            }
            if update.becameStale { events.append(QueueEvent(queue: name, stale: true, reason: queue.staleReason ?? "")) }
            if update.recovered { events.append(QueueEvent(queue: name, stale: false, reason: "answering again")) }
            burst = burst || update.burst
            if update.burst { burstQueues.insert(name) }
            // Three windows in a row over target: the model is wrong for this queue right now;
            // run its CPUs at top speed for a cool-down rather than keep missing.
            if queue.windowsOverTarget >= Self.missedWindowsBeforeCoolDown, let cpus = queue.configured.queue.cpus ?? Optional(platform.cpus) {
                queue.acknowledgeMisses()
                let added = overrides.add(scope: .cpus(cpus), action: .performance, expiresAt: now + Self.coolDown)
                events.append(QueueEvent(queue: name, stale: false,
                    reason: "measured latency over target \(Self.missedWindowsBeforeCoolDown) windows in a row: top speed for \(Int(Self.coolDown)) s (override \(added.id))"))
                burst = true
                estimatesOnly = false
            }
            if let moved = correctFromMeasurement(&queue) {
                events.append(QueueEvent(queue: name, stale: false, reason: moved))
                if feedback.movedBeyond(configuration.hysteresis, since: currentPlan) {
                    burst = true
                    estimatesOnly = false
                }
            }
            live[name] = queue
        }
        let burstier = dispersionMoved()
        let expired = overrides.expire(now: now)
        let workload = currentWorkload()
        let policy = replanPolicy
        let plannedView = plannedWorkload.map(planningView), currentView = planningView(workload)
        let planStale = policy.shouldReplan(
            planned: plannedView, current: currentView, plan: currentPlan, platform: platform,
            configuration: planner.configuration, headroom: configuration.targetHeadroom, baseline: &replanBaseline)
        guard burst || burstier || !expired.isEmpty || !events.isEmpty || planStale else {
            return Decision(newPlan: nil, reason: nil, workload: plannedWorkload ?? workload, queueEvents: events)
        }
        let reason = currentPlan == nil ? "first plan" : burst ? "burst in demand"
            : !expired.isEmpty ? "override expired" : !events.isEmpty ? "a queue's source changed state"
            : burstier ? "the arrivals' measured dispersion changed"
            : "estimates moved beyond the hysteresis band or the plan would spend its headroom"
        // Only estimates moved: the parts whose queues moved are planned anew, the others
        // keep the figures they were planned with (and so their plans, `PartPlanCache`).
        let partial = estimatesOnly && expired.isEmpty && events.isEmpty && !burstier
            ? policy.queuesToReplan(
                planned: plannedView, current: currentView, plan: currentPlan, platform: platform,
                configuration: planner.configuration, headroom: configuration.targetHeadroom, forced: burstQueues,
                baseline: &replanBaseline)
            : nil
        var decision = adopt(partial.map { refreshing($0, in: workload) } ?? workload, reason: reason)
        decision.queueEvents = events
        decision.expired = expired
        return decision
    }

    /// The queues to plan for: static queues as written, live queues with their estimates, and
    /// kernel-only per-CPU queues for every CPU no answering queue covers (docs/model.md: with no
    /// application queue, or a stale one, the agent still governs from /proc/stat).
    func currentWorkload() -> Workload {
        var queues: [WorkQueue] = []
        var covered = Set<Int>()
        for q in configuration.queues {
            let estimate = q.source == nil ? q.queue : live[q.queue.name]?.estimate
            guard let estimate else { continue }
            queues.append(estimate)
            covered.formUnion(estimate.allowedCPUs(on: platform))
        }
        let kernel = KernelDemand(requestWork: configuration.kernelRequestWork, target: configuration.kernelTarget)
        let uncovered = demand.filter { !covered.contains($0.key) }.compactMapValues(\.value)
        // With application queues configured, only CPUs left by a stale queue fall back.
        let fallback = configuration.queues.isEmpty ? uncovered : uncovered.filter { cpu, _ in
            configuration.queues.contains { $0.source != nil && live[$0.queue.name]?.estimate == nil
                && $0.queue.allowedCPUs(on: platform).contains(cpu) }
        }
        queues += kernel.workload(requestRates: fallback).queues
        return Workload(queues: queues)
    }

    /// Adds an operator's override and re-plans at once.
    public mutating func addOverride(scope: Override.Scope, action: Override.Action, expiresAt: Double?) -> (Override, Decision) {
        let added = overrides.add(scope: scope, action: action, expiresAt: expiresAt)
        return (added, adopt(plannedWorkload ?? currentWorkload(), reason: "override \(added.id)"))
    }

    /// Drops every override and re-plans; returns how many there were.
    public mutating func resume() -> (Int, Decision) {
        let count = overrides.removeAll()
        return (count, adopt(plannedWorkload ?? currentWorkload(), reason: "overrides dropped"))
    }

    /// Re-plans now with new settings (a reload), keeping the demand estimates.
    public mutating func reconfigure(_ configuration: AgentConfiguration, platform: Platform) -> Decision {
        self.configuration = configuration
        // A reload plans with the configured model until the next learned curve arrives.
        self.platform = platform
        configuredPlatform = nil
        powerModel = .configured
        resetLiveQueues()
        return adopt(currentWorkload(), reason: "configuration reloaded")
    }

    /// Plans with `learned` (the same domains, busy power fitted to the energy counters), or
    /// with the configured platform again when nil, and re-plans at once.
    public mutating func usePower(_ learned: Platform?) -> Decision {
        if let learned {
            if configuredPlatform == nil { configuredPlatform = platform }
            platform = learned
            powerModel = .learned
        } else {
            platform = configuredPlatform ?? platform
            configuredPlatform = nil
            powerModel = .configured
        }
        return adopt(plannedWorkload ?? currentWorkload(),
                     reason: learned == nil ? "the learned power curve is no longer good: configured power model"
                         : "power model learned from the energy counters")
    }

    /// `workload` with every queue outside `names` at the figures it was planned with.
    func refreshing(_ names: Set<String>, in workload: Workload) -> Workload {
        guard let planned = plannedWorkload else { return workload }
        return ReplanPolicy.refreshing(names, in: workload, planned: planned)
    }

    mutating func adopt(_ workload: Workload, reason: String) -> Decision {
        // Part plans neither the plan in force nor this one uses are dropped.
        partCache.age()
        // Overrides and the profile: targets change what is planned; pins replace a domain's
        // speeds after, and the prediction is redone for what will really run.
        let adjusted = planningView(workload)
        let configured = Set(configuration.queues.filter { $0.source == nil }.map(\.queue.name))
        var planner = self.planner
        for q in currentPlan?.queues ?? [] { planner.previousSplits[q.name] = q.split }
        let chosen = correctedPlan(replanPolicy.plannable(adjusted, exact: configured), planner: planner)
        let plannable = chosen.workload
        var plan = chosen.plan
        let pinned = atTopSpeedIfProfileSays(overrides.apply(to: plan, on: platform))
        if pinned != plan {
            let prediction = LatencyModel.predict(platform: platform, workload: plannable, plan: pinned, configuration: planner.configuration)
            plan = pinned
            plan.adopt(prediction)
            plan.feasible = prediction.feasible
        }
        plan.reportAgainst(adjusted)
        plan.profile = PlanProfile(profile, settings: profileSettings)
        plan.powerModel = powerModel
        let changed = plan != currentPlan
        let replaced = currentPlan
        currentPlan = plan
        plannedWorkload = workload
        var decision = Decision(newPlan: changed ? plan : nil, reason: changed ? reason : nil, workload: workload)
        decision.replaced = replaced
        return decision
    }

    /// Folds busy fractions into per-CPU demand estimates, in requests per second of the
    /// configured size; returns the CPUs whose demand burst above its estimate.
    private mutating func updateKernelDemand(busy: [Int: Double], interval: Double) -> [Int] {
        let speeds = averageSpeeds()
        let kernel = KernelDemand(requestWork: configuration.kernelRequestWork, target: configuration.kernelTarget)
        var burst: [Int] = []
        for (cpu, fraction) in busy.sorted(by: { $0.key < $1.key }) {
            guard let speed = speeds[cpu] else { continue }
            let rate = kernel.requestRate(busy: fraction, speed: speed)
            var estimate = demand[cpu] ?? SmoothedRate(halfLife: configuration.smoothingHalfLife)
            if kernel.isBurst(busy: fraction, speed: speed, interval: interval, estimate: estimate) {
                estimate.reset(to: kernel.burstRate(busy: fraction, speed: speed, interval: interval, estimate: estimate))
                burst.append(cpu)
            } else {
                estimate.add(rate, over: interval)
            }
            demand[cpu] = estimate
        }
        return burst
    }
}
