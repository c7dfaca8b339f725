import CoreMetrics
import GearboxLinux
import Prometheus
import Synchronization

/// The agent's metrics for fleets, in Prometheus text format, in a file that node_exporter's
/// textfile collector reads (`--collector.textfile.directory`; the file name must end in
/// `.prom`). Written atomically (write beside, then rename), so a scrape never sees half.
///
/// Values go into a swift-prometheus registry: gauges for the plan, estimates and latency of
/// each tick, and a counter of RAPL energy accumulated across counter wraps. `factory` offers
/// the same registry to the swift-metrics API, so the agent can keep its own counters
/// (`Counter(label: "gearbox_plan_changes_total", factory: metrics.factory)`) in the same file.
public final class MetricsFile: Sendable {
    public let path: String
    public let registry: PrometheusCollectorRegistry
    /// swift-metrics factory writing into `registry`.
    public let factory: PrometheusMetricsFactory
    private let state = Mutex(State())

    private struct State {
        var gauges: [GaugeKey: Prometheus.Gauge] = [:]
        var energy: [String: Prometheus.Counter] = [:]
        var lastEnergy: [String: (reading: EnergyCounter, at: Double)] = [:]
    }

    private struct GaugeKey: Hashable {
        var family: String
        var labels: [String: String]
    }

    static let energyFamily = "gearbox_rapl_energy_joules_total"
    static let energyHelp = "Energy counted by a RAPL zone since the agent started, in joules (wraps of energy_uj accounted for)"

    public init(path: String) {
        self.path = path
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Records `status` and the RAPL readings taken with it (`PowercapZones().counters()`),
    /// then writes the file. Series that are gone (a queue removed by a reload) are dropped.
    public func write(_ status: AgentStatus, energy: [EnergyCounter] = []) throws {
        let watts = recordEnergy(energy, at: status.now)
        update(MetricSample.samples(status, measuredWatts: watts))
        try AtomicFile.write(registry.emitToString(), to: path)
    }

    /// The text the file would hold now.
    public func exposition() -> String { registry.emitToString() }

    private func update(_ samples: [MetricSample]) {
        state.withLock { state in
            var wanted: Set<GaugeKey> = []
            for sample in samples {
                let key = GaugeKey(family: sample.family.rawValue, labels: sample.labels)
                wanted.insert(key)
                let gauge = state.gauges[key] ?? registry.makeGauge(
                    descriptor: MetricNameDescriptor(metricName: key.family, unitName: "", helpText: sample.family.help),
                    labels: sample.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                state.gauges[key] = gauge
                gauge.set(to: sample.value)
            }
            for (key, gauge) in state.gauges where !wanted.contains(key) {
                registry.unregisterGauge(gauge)
                state.gauges[key] = nil
            }
        }
    }

    /// Adds each zone's energy since its last reading to its counter; returns the mean power
    /// of each zone over that interval.
    private func recordEnergy(_ readings: [EnergyCounter], at now: Double) -> [(zone: String, name: String, watts: Double)] {
        state.withLock { state in
            var watts: [(zone: String, name: String, watts: Double)] = []
            for reading in readings {
                let counter = state.energy[reading.zone] ?? registry.makeCounter(
                    descriptor: MetricNameDescriptor(metricName: Self.energyFamily, unitName: "", helpText: Self.energyHelp),
                    labels: [("name", reading.name), ("zone", reading.zone)])
                state.energy[reading.zone] = counter
                if let last = state.lastEnergy[reading.zone], now > last.at {
                    let joules = reading.joules(since: last.reading)
                    counter.increment(by: joules)
                    watts.append((reading.zone, reading.name, joules / (now - last.at)))
                }
                state.lastEnergy[reading.zone] = (reading, now)
            }
            return watts
        }
    }
}
