import Foundation
import GearboxConfig
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
    }

    public func run() async throws {
        var loop = ControlLoop(platform: platform, configuration: initialConfiguration)
        // The first sample covers the time since boot: use it only to prime the counters.
        let firstBusy = (try? await host.sampleBusyFractions()) ?? [:]
        await carryOut(loop.tick(busy: firstBusy, interval: 1), loop: loop)
        notifier.ready()
        if options.once {
            notifier.stopping()
            return
        }
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let (events, continuation) = AsyncStream.makeStream(of: LoopEvent.self)
        // The ticker runs beside the loop; a reload may change the period it reads.
        let tick = Mutex(loop.configuration.tick)
        let period: @Sendable () -> Duration = { tick.withLock { $0 } }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [signals] in
                for await _ in signals { continuation.yield(.reload) }
            }
            group.addTask {
                let clock = ContinuousClock()
                var next = clock.now
                while !Task.isCancelled {
                    next = next.advanced(by: period())
                    try? await Task.sleep(until: next, clock: clock)
                    continuation.yield(.tick)
                }
            }
            group.addTask { [self] in await self.feedWatchdog() }
            for await event in events.cancelOnGracefulShutdown() {
                switch event {
                case .tick: await handleTick(&loop)
                case .reload:
                    await handleReload(&loop)
                    tick.withLock { $0 = loop.configuration.tick }
                }
            }
            group.cancelAll()
        }
        notifier.stopping()
        logger.info("stopping: restoring the original cpufreq settings", metadata: ["event": "stop"])
        await host.restore()
    }

    private enum LoopEvent: Sendable { case tick, reload }

    private func handleTick(_ loop: inout ControlLoop) async {
        let interval = Double(loop.configuration.tick.components.seconds)
            + Double(loop.configuration.tick.components.attoseconds) / 1e18
        do {
            let busy = try await host.sampleBusyFractions()
            let scrapes = await Self.scrape(loop.configuration.queues)
            let decision = loop.tick(busy: busy, interval: interval, scrapes: scrapes, now: clock.now.secondsSinceStart(started))
            for event in decision.queueEvents {
                if event.stale {
                    logger.warning("queue \(event.queue) is stale (\(event.reason)): its CPUs fall back to kernel-only mode",
                                   metadata: ["event": "queue_stale", "queue": "\(event.queue)"])
                } else {
                    logger.notice("queue \(event.queue) is answering again", metadata: ["event": "queue_recovered", "queue": "\(event.queue)"])
                }
            }
            for expired in decision.expired {
                logger.notice("override \(expired.id) expired", metadata: ["event": "override_expired"])
            }
            await carryOut(decision, loop: loop)
        } catch {
            // A failed sample keeps the current plan: never act on a reading we do not have.
            logger.warning("sampling failed, keeping the current plan: \(error)", metadata: ["event": "fault"])
        }
    }

    /// Reads every live queue's source at once, each with a short deadline, off the caller's thread.
    static func scrape(_ queues: [AgentQueue]) async -> [String: ControlLoop.Scrape] {
        await withTaskGroup(of: (String, ControlLoop.Scrape).self) { group in
            for q in queues {
                guard let source = q.source else { continue }
                group.addTask {
                    await Task.detached { (q.queue.name, Self.read(source)) }.value
                }
            }
            var result: [String: ControlLoop.Scrape] = [:]
            for await (name, scrape) in group { result[name] = scrape }
            return result
        }
    }

    static func read(_ source: QueueSource) -> ControlLoop.Scrape {
        let text: String
        switch source.location {
        case .http(let url):
            do { text = try LoopbackHTTP.get(url) } catch { return .failed(error.description) }
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

    private func handleReload(_ loop: inout ControlLoop) async {
        do {
            let configuration = try reload()
            logger.info("configuration reloaded", metadata: ["event": "reload"])
            await carryOut(loop.reconfigure(configuration, platform: platform), loop: loop)
        } catch {
            logger.error("configuration refused, keeping the old one: \(error)", metadata: ["event": "reload_refused"])
        }
    }

    private func carryOut(_ decision: ControlLoop.Decision, loop: ControlLoop) async {
        guard let plan = decision.newPlan else { return }
        // A one-shot run leaves no dither behind: mixed domains keep their higher frequency,
        // which meets every target the mix meets.
        await host.apply(options.once ? Self.pureHighSpeeds(plan) : plan)
        do {
            try publisher.publish(plan)
        } catch {
            logger.warning("could not publish the plan: \(error)", metadata: ["event": "fault"])
        }
        PlanLog.record(plan, reason: decision.reason ?? "", logger: logger)
        notifier.status(PlanLog.statusLine(plan, mode: options.modeName))
    }

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

    private func feedWatchdog() async {
        guard let interval = notifier.watchdogInterval else { return }
        // systemd's advice: notify at half the interval.
        let half = interval / 2
        while !Task.isCancelled {
            notifier.watchdog()
            try? await Task.sleep(for: half)
        }
    }
}

extension ContinuousClock.Instant {
    /// Seconds from `start` to this instant: the agent's clock for override expiry.
    func secondsSinceStart(_ start: ContinuousClock.Instant) -> Double {
        let d = start.duration(to: self)
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
