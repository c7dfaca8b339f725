#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxConfig
import GearboxControl
import GearboxLinux
import GearboxCore
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The control loop as a service: every tick sample, estimate, re-plan when the estimates
/// moved, apply, publish, log. SIGHUP reloads the configuration; graceful shutdown (SIGTERM,
/// SIGINT) restores the original cpufreq settings before `run` returns.
public final class AgentService: Service, Sendable {
    public struct Options: Sendable {
        /// One plan, then return (`gearboxd --once`).
        public var once = false
        /// Words for STATUS= and logs: "service" or "dry-run".
        public var modeName = "service"
        /// Serve the control socket (from the configuration, or systemd's).
        public var controlSocket = true
        /// Limits of the control socket's server (deadlines, connection counts).
        public var controlServer = ControlServer.Configuration()
        /// Where the RAPL energy counters for the metrics file are read; nil reads none.
        public var powercap: PowercapZones? = PowercapZones()
        /// Where `time_in_state` is read for learning the power curve (with `powercap`).
        public var cpuSysfs = CPUSysfs()
        /// Whether a stop signal came before the service group trapped the signals (gearboxd
        /// records them from its first instruction): then the agent stops after its first plan.
        public var stopRequestedBeforeStart: @Sendable () -> Bool = { false }
        /// Follow power profiles and the power source (`[profile]`); serve them on D-Bus too
        /// when `profileBus` (AgentService+Profiles.swift).
        public var profiles = false
        public var profileBus = false
        /// Confines the services of queues that name a unit or cgroup; nil confines none.
        public var confiner: ServiceConfiner?
        public init() {}
    }

    let platform: Platform
    let initialConfiguration: AgentConfiguration
    let host: any AgentHost
    let publisher: any PlanPublishing
    let notifier: any ServiceNotifying
    let reload: @Sendable () throws -> AgentConfiguration
    let options: Options
    let logger: Logger
    let clock = ContinuousClock()
    let started = ContinuousClock.now
    let faults: FaultLog
    /// The active power profile and why; nil unless `options.profiles`.
    let profiles: ProfileCoordinator?

    public init(
        platform: Platform, configuration: AgentConfiguration, host: any AgentHost,
        publisher: any PlanPublishing, notifier: any ServiceNotifying, options: Options,
        logger: Logger, reload: @escaping @Sendable () throws -> AgentConfiguration
    ) {
        self.platform = platform
        self.initialConfiguration = configuration
        self.host = host
        self.publisher = publisher
        self.notifier = notifier
        self.options = options
        self.logger = logger
        self.reload = reload
        faults = FaultLog(logger: logger)
        profiles = options.profiles
            ? ProfileCoordinator(configuration: configuration.profiles,
                                 stateDirectory: options.modeName == "dry-run" ? nil : configuration.stateDirectory, logger: logger)
            : nil
    }

    public func run() async throws {
        var loop = ControlLoop(platform: platform, configuration: initialConfiguration)
        if let profiles { loop.profile = startProfiles(profiles) }
        if let powercap = options.powercap, !options.once {
            let learning = PowerLearning(reader: PowerCounterReader(powercap: powercap, sysfs: options.cpuSysfs), platform: platform)
            power.withLock { $0 = learning }
        }
        options.confiner?.configure(initialConfiguration.queues)
        // The first sample covers the time since boot: use it only to prime the counters.
        let firstBusy = (try? await host.sampleBusyFractions()) ?? [:]
        let firstScrapes = await Self.scrape(loop.configuration.queues, timeout: Self.scrapeTimeout(tick: loop.configuration.tick))
        let first = loop.tick(busy: firstBusy, interval: 1, scrapes: firstScrapes, now: 0)
        logQueueEvents(first)
        await carryOut(first, loop: loop)
        // SIGHUP is caught before READY=1: a `systemctl reload` right after the start must
        // re-read the config, not kill the agent (SIGHUP's default action).
        let signals = options.once ? nil : await UnixSignalsSequence(trapping: .sighup)
        notifier.ready()
        if options.once {
            notifier.stopping()
            return
        }
        if options.stopRequestedBeforeStart() {
            notifier.stopping()
            logger.info("stop requested during start-up: restoring the original cpufreq settings", metadata: ["event": "stop"])
            try await restoreOnStop()
            return
        }
        publishStatus(loop)
        let feeder = notifier.watchdogInterval.map {
            WatchdogFeeder(notifier: notifier, heartbeat: heartbeat, interval: $0, maxBusy: Self.maxBusy)
        }
        if let feeder, !feeder.start() {
            logger.error("could not start the watchdog thread; systemd's watchdog will stop the agent", metadata: ["event": "fault"])
        }
        defer { feeder?.stop() }
        let (events, continuation) = AsyncStream.makeStream(of: LoopEvent.self)
        // The ticker runs beside the loop; a reload may change the period it reads.
        let tick = Mutex(loop.configuration.tick)
        let period: @Sendable () -> Duration = { tick.withLock { $0 } }
        // At most one profile event waits in the stream: a client flooding holds costs one
        // re-plan per loop turn, and the loop reads the profile in force when it gets there.
        profiles?.onChange { [self] profile, reason in
            if !profileEventPending.exchange(true, ordering: .acquiringAndReleasing) { continuation.yield(.profile(profile, reason)) }
        }
        profiles?.onResume { continuation.yield(.reapply("logind: resumed from sleep")) }
        await withTaskGroup(of: Void.self) { group in
            if let signals {
                group.addTask {
                    for await _ in signals { continuation.yield(.reload) }
                }
            }
            group.addTask {
                let clock = ContinuousClock()
                var next = clock.now
                while !Task.isCancelled {
                    next = next.advanced(by: period())
                    try? await Task.sleep(until: next, clock: clock)
                    // A loop that fell behind (a long re-plan) gets one tick when it is
                    // free, not a backlog of them: ticks never queue up in memory.
                    if clock.now > next.advanced(by: period()) { next = clock.now }
                    if self.tickPending.exchange(true, ordering: .acquiringAndReleasing) { continue }
                    continuation.yield(.tick)
                }
            }
            if let profiles {
                let configuration = loop.configuration
                group.addTask { [self] in await self.serveProfiles(profiles, configuration: configuration, period: period) }
            }
            if options.controlSocket {
                let configuration = loop.configuration
                group.addTask { [self] in
                    await self.serveControlSocket(configuration, events: continuation)
                }
            }
            for await event in events.cancelOnGracefulShutdown() {
                heartbeat.begin()
                defer {
                    heartbeat.end()
                    publishStatus(loop)
                }
                switch event {
                case .tick:
                    tickPending.store(false, ordering: .releasing)
                    await handleTick(&loop)
                case .reload:
                    await handleReload(&loop)
                    tick.withLock { $0 = loop.configuration.tick }
                case .profile(let profile, let reason):
                    await handleProfile(profile, reason: reason, loop: &loop)
                case .reapply(let reason):
                    await reapply(loop, reason: reason)
                case .control(let command, let reply):
                    if case .explain = command, explainOffLoop(loop.explainInputs, reply: reply) { continue }
                    reply.resume(returning: await handleControl(command, loop: &loop))
                    tick.withLock { $0 = loop.configuration.tick }
                }
            }
            continuation.finish()
            group.cancelAll()
        }
        notifier.stopping()
        logger.info("stopping: restoring the original cpufreq settings", metadata: ["event": "stop"])
        try await restoreOnStop()
    }

    /// Puts the original settings back; throws `RestoreIncomplete` naming what stayed.
    private func restoreOnStop() async throws {
        let failed = await host.restore() + (options.confiner?.restore() ?? [])
        guard failed.isEmpty else {
            let error = RestoreIncomplete(domains: failed)
            logger.error("\(error.description)", metadata: ["event": "restore_failed"])
            throw error
        }
    }

    /// Stopping, some domains could not be put back to their saved settings. The state file
    /// keeps them, so the next start (or `gearboxd --restore`) tries again.
    public struct RestoreIncomplete: Error, CustomStringConvertible {
        public var domains: [String]
        public var description: String {
            "could not restore the original cpufreq settings of \(domains.joined(separator: ", ")); "
                + "the state file keeps them for the next start or `gearboxd --restore`"
        }
    }

    enum LoopEvent: Sendable {
        case tick
        case reload
        /// The active power profile changed (D-Bus, the power source).
        case profile(PowerProfile, String)
        /// Write the plan again though it did not change (after a resume from sleep).
        case reapply(String)
        /// A control-socket request, answered by the loop so that all state stays inside it.
        case control(ControlCommand, CheckedContinuation<Result<JSONValue, ControlFailure>, Never>)
    }

    enum ControlCommand: Sendable {
        case status, plan, explain, resume, reload
        case override(Override.Scope, Override.Action, Double?)
        case setProfile(PowerProfile)
    }

    private func handleTick(_ loop: inout ControlLoop) async {
        let interval = Double(loop.configuration.tick.components.seconds)
            + Double(loop.configuration.tick.components.attoseconds) / 1e18
        do {
            let busy = try await host.sampleBusyFractions()
            let scrapes = await Self.scrape(loop.configuration.queues, timeout: Self.scrapeTimeout(tick: loop.configuration.tick))
            let decision = loop.tick(busy: busy, interval: interval, scrapes: scrapes, now: clock.now.secondsSinceStart(started))
            logQueueEvents(decision)
            for expired in decision.expired {
                logger.notice("override \(expired.id) expired", metadata: ["event": "override_expired"])
            }
            faults.clear("sample", "sampling works again")
            await carryOut(decision, loop: loop)
            await reapplyIfChangedBehindOurBack(loop)
            await learnPower(busy: busy, loop: &loop)
            await retryHeldDomains(loop)
            await writeMetrics(loop)
        } catch {
            // A failed sample keeps the current plan: never act on a reading we do not have.
            faults.report("sample", "sampling failed, keeping the current plan: \(error)")
        }
    }

    /// Feeds the power-curve learner; when it has a new curve (or drops one), plans with it.
    private func learnPower(busy: [Int: Double], loop: inout ControlLoop) async {
        let now = clock.now.secondsSinceStart(started)
        guard let change = power.withLock({ $0?.tick(busy: busy, now: now) }) else { return }
        switch change {
        case .learned(let learned):
            logger.notice("power model learned from the energy counters; planning with it",
                          metadata: ["event": "power_model", "power_model": "learned"])
            await carryOut(loop.usePower(learned), loop: loop)
        case .configured:
            logger.notice("learned power curve no longer good; planning with the configured model",
                          metadata: ["event": "power_model", "power_model": "configured"])
            await carryOut(loop.usePower(nil), loop: loop)
        }
    }

    private let power = Mutex<PowerLearning?>(nil)

    /// One line per queue that went stale, recovered, or was sent to top speed for a cool-down.
    private func logQueueEvents(_ decision: ControlLoop.Decision) {
        for event in decision.queueEvents {
            if event.stale {
                logger.warning("queue \(event.queue) is stale (\(event.reason)): its CPUs fall back to kernel-only mode",
                               metadata: ["event": "queue_stale", "queue": "\(event.queue)"])
            } else if event.reason.hasPrefix("feedback") {
                logger.notice("queue \(event.queue): \(event.reason)", metadata: ["event": "feedback", "queue": "\(event.queue)"])
            } else if event.reason.hasPrefix("measured latency") {
                logger.warning("queue \(event.queue): \(event.reason)", metadata: ["event": "cool_down", "queue": "\(event.queue)"])
            } else {
                logger.notice("queue \(event.queue) is answering again", metadata: ["event": "queue_recovered", "queue": "\(event.queue)"])
            }
        }
    }

    /// How long a scrape may take: 300 ms, or half the tick when that is shorter, so that a
    /// source that hangs never makes a tick late.
    static func scrapeTimeout(tick: Duration) -> Duration { min(.milliseconds(300), tick / 2) }

    /// Reads every live queue's source at once, each with a short deadline, off the caller's thread.
    static func scrape(_ queues: [AgentQueue], timeout: Duration = .milliseconds(300)) async -> [String: ControlLoop.Scrape] {
        await withTaskGroup(of: (String, ControlLoop.Scrape).self) { group in
            for q in queues {
                guard let source = q.source else { continue }
                group.addTask {
                    await Task.detached { (q.queue.name, Self.read(source, timeout: timeout)) }.value
                }
            }
            var result: [String: ControlLoop.Scrape] = [:]
            for await (name, scrape) in group { result[name] = scrape }
            return result
        }
    }

    static func read(_ source: QueueSource, timeout: Duration = .milliseconds(300)) -> ControlLoop.Scrape {
        let text: String
        switch source.location {
        case .http(let url):
            do { text = try LoopbackHTTP.get(url, timeout: timeout) } catch { return .failed(error.description) }
        case .file(let path):
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return .failed("cannot read \(path)") }
            text = contents
        }
        do {
            return .samples(try PrometheusText.parse(text))
        } catch {
            return .failed("junk from the source: \(error)")
        }
    }

    /// Serves the control socket until the agent stops. When its file disappears (removed by
    /// hand, or by a tmpfiles clean-up), clients can no longer reach the agent while it runs:
    /// the file is checked every `socketCheckInterval` and, once gone, the socket is bound
    /// again at the same path. The loss and the recovery are each logged once.
    private func serveControlSocket(_ configuration: AgentConfiguration, events: AsyncStream<LoopEvent>.Continuation) async {
        let path = configuration.controlSocket
        while !Task.isCancelled {
            let listener: SocketListener
            do {
                listener = try ControlServer.openListener(
                    path: path, mode: configuration.controlSocketMode,
                    groupName: configuration.controlGroup, logger: logger)
            } catch {
                faults.report("control-socket", "control socket \(path) unavailable, running without it and trying again: \(error)")
                try? await Task.sleep(for: Self.socketCheckInterval)
                continue
            }
            // Which file the socket is, looked at straight after binding. A file removed before
            // this look (a loaded machine widens the gap) leaves no inode to compare: a socket
            // the agent bound itself whose file is already gone counts as removed at the first
            // check. An inherited socket's file is systemd's to keep.
            let identity = SocketFileIdentity(path: listener.path ?? path)
            let goneAtBind = listener.path != nil && identity.inode == nil
            faults.clear("control-socket", "control socket \(path) is served again")
            let server = ControlServer(listener: listener, groupName: configuration.controlGroup,
                                       handler: AgentControl(events: events, status: { [self] in await currentStatusDocument() }),
                                       logger: logger, configuration: options.controlServer)
            let lost = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: Self.socketCheckInterval)
                        if !Task.isCancelled && (goneAtBind || identity != SocketFileIdentity(path: identity.path)) {
                            server.stop()
                            return true
                        }
                    }
                    return false
                }
                await withTaskCancellationHandler {
                    await server.run()
                } onCancel: {
                    server.stop()
                }
                group.cancelAll()
                return await group.contains(true)
            }
            guard lost, !Task.isCancelled else { return }
            faults.report("control-socket", "control socket \(path) was removed; binding it again")
        }
    }

    static let socketCheckInterval: Duration = .seconds(2)

    /// A snapshot of the agent for `status` and the metrics file.
    private func status(of loop: ControlLoop) async -> AgentStatus {
        var status = snapshot(of: loop)
        (status.currentFrequencies, status.heldDomains) = await host.state()
        status.mechanisms = await host.mechanisms()
        status.confinedCPUs = options.confiner?.applied() ?? [:]
        return status
    }

    /// What the loop knows, without the host's live frequencies (those are read when asked).
    private func snapshot(of loop: ControlLoop) -> AgentStatus {
        var measured: [String: Double] = [:]
        var stale: [String: String] = [:]
        for (name, queue) in loop.live {
            if let m = queue.measuredLatency { measured[name] = m }
            if let reason = queue.staleReason { stale[name] = reason }
        }
        return AgentStatus(
            mode: options.modeName, now: clock.now.secondsSinceStart(started), platform: loop.platform,
            plan: loop.currentPlan, workload: loop.plannedWorkload ?? Workload(queues: []), measuredLatency: measured,
            staleQueues: stale, overrides: loop.overrides, currentFrequencies: [:], heldDomains: [],
            profile: profileStatus(loop),
            powerModel: power.withLock { $0?.document })
    }

    /// Publishes the loop's state after each event, so that `status` is answered at once even
    /// while the loop is busy with a long re-plan.
    private func publishStatus(_ loop: ControlLoop) {
        let status = snapshot(of: loop)
        board.withLock { $0 = status }
    }

    /// The `status` answer: the loop's last published state, the host's live frequencies, and
    /// the agent's clock now (for override expiry).
    func currentStatusDocument() async -> JSONValue? {
        guard var status = board.withLock({ $0 }) else { return nil }
        status.now = clock.now.secondsSinceStart(started)
        (status.currentFrequencies, status.heldDomains) = await host.state()
        status.mechanisms = await host.mechanisms()
        status.confinedCPUs = options.confiner?.applied() ?? [:]
        return StatusDocument.json(status)
    }

    private let board = Mutex<AgentStatus?>(nil)
    /// A profile change is waiting in the event stream (AgentService+Profiles.swift).
    let profileEventPending = Atomic<Bool>(false)
    /// A tick is waiting in the event stream: the ticker adds no second one.
    private let tickPending = Atomic<Bool>(false)
    private let heartbeat = LoopHeartbeat()
    /// The longest one event may keep the loop busy before the watchdog is no longer fed and
    /// systemd restarts the agent (which restores the original settings first).
    static let maxBusy: Duration = .seconds(300)

    /// Writes the Prometheus textfile, when configured (node_exporter's textfile collector).
    private func writeMetrics(_ loop: ControlLoop) async {
        guard let metrics = metricsFile(loop.configuration.metricsFile) else { return }
        let energy = options.powercap?.counters() ?? (counters: [], unreadable: [])
        for zone in energy.unreadable {
            faults.report("energy:\(zone)", "energy counter \(zone) not readable, left out of the metrics")
        }
        for counter in energy.counters {
            faults.clear("energy:\(counter.zone)", "energy counter \(counter.zone) readable again")
        }
        do {
            try metrics.write(await status(of: loop), energy: energy.counters)
            faults.clear("metrics-file", "the metrics file is written again: \(metrics.path)")
        } catch {
            faults.report("metrics-file", "could not write the metrics file \(metrics.path), keeping the last one: \(error)")
        }
    }

    /// `explain` re-plans twice per queue: seconds on a hybrid laptop, during which the loop
    /// would neither tick nor answer. It runs on a thread of its own from a copy of the
    /// loop's state instead (at most `explainThreads` at once; more are told to retry).
    /// False when it must run on the loop after all: no thread could be started.
    ///
    /// Any local user may ask for an explanation, and one costs up to seconds of a core. So
    /// explanations are rationed: within `explainRest` times the last one's cost after it
    /// finished, the last document is answered again instead of a new one computed. A flood of
    /// requests then costs at most a quarter of one core.
    private func explainOffLoop(
        _ inputs: ExplainInputs?, reply: CheckedContinuation<Result<JSONValue, ControlFailure>, Never>
    ) -> Bool {
        guard let inputs else {
            reply.resume(returning: .failure(ControlFailure(.failed, "no plan yet")))
            return true
        }
        if let recent = explainCache.withLock({ cache in
            cache.flatMap { $0.finished.duration(to: .now) < $0.cost * Self.explainRest ? $0.document : nil }
        }) {
            reply.resume(returning: .success(recent))
            return true
        }
        let admitted = runningExplains.withLock { running in
            guard running < Self.explainThreads else { return false }
            running += 1
            return true
        }
        guard admitted else {
            reply.resume(returning: .failure(ControlFailure(.failed, "busy: \(Self.explainThreads) explanations are being computed; try again")))
            return true
        }
        let started = DetachedThread.start { [self] in
            let began = ContinuousClock.now
            let document = inputs.document()
            let finished = ContinuousClock.now
            explainCache.withLock { $0 = ExplainCache(document: document, finished: finished, cost: began.duration(to: finished)) }
            runningExplains.withLock { $0 -= 1 }
            reply.resume(returning: .success(document))
        }
        if !started { runningExplains.withLock { $0 -= 1 } }
        return started
    }

    static let explainThreads = 2
    /// After an explanation, the time (in multiples of its cost) during which it is reused.
    static let explainRest = 3
    private let runningExplains = Mutex(0)

    private struct ExplainCache {
        var document: JSONValue
        var finished: ContinuousClock.Instant
        var cost: Duration
    }
    private let explainCache = Mutex<ExplainCache?>(nil)

    private let metrics = Mutex<MetricsFile?>(nil)

    private func metricsFile(_ path: String?) -> MetricsFile? {
        guard let path else { return nil }
        return metrics.withLock { current in
            if current?.path != path { current = MetricsFile(path: path) }
            return current
        }
    }

    private func handleControl(_ command: ControlCommand, loop: inout ControlLoop) async -> Result<JSONValue, ControlFailure> {
        let now = clock.now.secondsSinceStart(started)
        switch command {
        case .status:
            return .success(StatusDocument.json(await status(of: loop)))
        case .plan:
            return .success(.object([("plan", loop.currentPlan.map(PlanDocument.json) ?? .null)]))
        case .explain:
            // Only when no thread could be started for it (see `explainOffLoop`).
            guard let inputs = loop.explainInputs else { return .failure(ControlFailure(.failed, "no plan yet")) }
            return .success(inputs.document())
        case .override(let scope, let action, let duration):
            do {
                // The configured queues: a stale one may still be overridden, and kernel-only
                // mode's per-CPU queues are the agent's own, not the operator's to name.
                try OverrideValidation.check(scope: scope, action: action, platform: loop.platform,
                                             queueNames: loop.configuration.queues.map(\.queue.name))
            } catch {
                return .failure(error)
            }
            let (added, decision) = loop.addOverride(scope: scope, action: action, expiresAt: duration.map { now + $0 })
            logger.notice("override \(added.id) added", metadata: ["event": "override", "override": "\(added.id)"])
            await carryOut(decision, loop: loop)
            return .success(.object([("override", added.json(now: now, platform: loop.platform))]))
        case .resume:
            let (count, decision) = loop.resume()
            logger.notice("\(count) overrides dropped", metadata: ["event": "resume"])
            await carryOut(decision, loop: loop)
            return .success(.object([("removed", .int(count))]))
        case .setProfile(let profile):
            return setProfileFromControlSocket(profile)
        case .reload:
            do {
                try await reloadOffPool(&loop)
                return .success(.object([("reloaded", .bool(true))]))
            } catch {
                return .failure(ControlFailure(.failed, "\(error)"))
            }
        }
    }

    private func handleReload(_ loop: inout ControlLoop) async {
        try? await reloadOffPool(&loop)
    }

    /// Reads the configuration and re-plans with it, on a thread of its own: a reload may take
    /// seconds (a big platform, hundreds of queues), and a thread of the Swift concurrency pool
    /// held that long would delay every other task of the agent (status answers among them),
    /// on a small machine all of them. The loop waits for it, as for any event. Throws (and
    /// logs) when the configuration is refused; the old one stays.
    private func reloadOffPool(_ loop: inout ControlLoop) async throws {
        let current = loop
        let platform = self.platform
        let reload = self.reload
        let outcome = await Self.offPool { () -> Result<(ControlLoop, ControlLoop.Decision), any Error> in
            do {
                let configuration = try reload()
                var next = current
                let decision = next.reconfigure(configuration, platform: platform)
                return .success((next, decision))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let (next, decision)):
            loop = next
            profiles?.reconfigure(loop.configuration.profiles)
            // The reload planned with the configured model: the learned one is offered again.
            power.withLock { $0?.forgetInUse() }
            options.confiner?.configure(loop.configuration.queues)
            logger.info("configuration reloaded", metadata: ["event": "reload"])
            await carryOut(decision, loop: loop)
        case .failure(let error):
            logger.error("configuration refused, keeping the old one: \(error)", metadata: ["event": "reload_refused"])
            throw error
        }
    }

    /// Runs `work` on a new thread and waits for it without holding a pool thread (on the
    /// caller's thread when no thread can be started).
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            if !DetachedThread.start({ continuation.resume(returning: work()) }) {
                continuation.resume(returning: work())
            }
        }
    }

    func carryOut(_ decision: ControlLoop.Decision, loop: ControlLoop) async {
        guard let plan = decision.newPlan else { return }
        // A one-shot run leaves no dither behind: mixed domains keep their higher frequency,
        // which meets every target the mix meets.
        await host.apply(options.once ? Self.pureHighSpeeds(plan) : plan)
        options.confiner?.apply(plan)
        do {
            try publisher.publish(plan)
            faults.clear("plan-file", "the plan file is written again")
        } catch {
            faults.report("plan-file", "could not publish the plan, keeping the last file: \(error)")
        }
        PlanLog.record(plan, replacing: decision.replaced, reason: decision.reason ?? "", logger: logger)
        notifier.status(PlanLog.statusLine(plan, mode: options.modeName))
    }

    /// A domain whose write failed is held at its last good setting until the next plan. A
    /// fault may pass (a CPU back online, a file writable again) while the estimates stay put
    /// and no new plan comes, so the current plan is carried out again every
    /// `heldRetryInterval` seconds while a domain is held. The applier logs each fault once and
    /// says when writes work again.
    private func retryHeldDomains(_ loop: ControlLoop) async {
        guard !options.once, let plan = loop.currentPlan else { return }
        let now = clock.now.secondsSinceStart(started)
        let due = lastHeldRetry.withLock { last in
            guard now - last >= Self.heldRetryInterval else { return false }
            last = now
            return true
        }
        guard due, !(await host.state().held.isEmpty) else { return }
        await host.apply(plan)
    }

    static let heldRetryInterval = 5.0
    private let lastHeldRetry = Mutex(0.0)

    static func pureHighSpeeds(_ plan: Plan) -> Plan {
        var pure = plan
        for i in pure.domains.indices where pure.domains[i].low != pure.domains[i].high {
            pure.domains[i].low = pure.domains[i].high
            pure.domains[i].pHigh = 1
            pure.domains[i].timeShareHigh = 1
            pure.domains[i].ditherPeriod = nil
        }
        return pure
    }
}

extension ContinuousClock.Instant {
    /// Seconds from `start` to this instant: the agent's clock for override expiry.
    func secondsSinceStart(_ start: ContinuousClock.Instant) -> Double {
        let d = start.duration(to: self)
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// The control socket's view of the agent: every request becomes an event of the control loop,
/// answered there, so the socket never touches the loop's state from another task.
struct AgentControl: ControlHandling {
    let events: AsyncStream<AgentService.LoopEvent>.Continuation
    /// The status as the loop last published it; nil before the first publication.
    let status: @Sendable () async -> JSONValue?

    private func ask(_ command: AgentService.ControlCommand) async -> Result<JSONValue, ControlFailure> {
        await withCheckedContinuation { reply in
            if case .terminated = events.yield(.control(command, reply)) {
                reply.resume(returning: .failure(ControlFailure(.failed, "the agent is stopping")))
            }
        }
    }

    private func document(_ command: AgentService.ControlCommand) async -> JSONValue {
        switch await ask(command) {
        case .success(let value): value
        case .failure(let failure): .object([("error", .string(failure.message))])
        }
    }

    func statusDocument() async -> JSONValue {
        if let published = await status() { return published }
        return await document(.status)
    }
    func planDocument() async -> JSONValue { await document(.plan) }
    func explainDocument() async -> JSONValue { await document(.explain) }
    func resume() async -> JSONValue { await document(.resume) }

    func addOverride(scope: Override.Scope, action: Override.Action, duration: Double?) async throws(ControlFailure) -> JSONValue {
        try await ask(.override(scope, action, duration)).get()
    }

    func reload() async throws(ControlFailure) -> JSONValue {
        try await ask(.reload).get()
    }

    func setProfile(_ profile: PowerProfile) async throws(ControlFailure) -> JSONValue {
        try await ask(.setProfile(profile)).get()
    }
}
