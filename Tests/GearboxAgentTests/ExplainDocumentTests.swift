import GearboxAgent
import GearboxControl
import GearboxCore
import Testing

/// `explain` against a planner whose optimum is known in closed form: one CPU whose speed
/// may take any value in [smin, 1], serving one M/M/1 queue with a mean-latency target D.
/// The cheapest speed is s*(D) = w (λ + 1/D), raised to the utilisation cap λw/ρmax and to
/// smin; power is busy c s³ for the busy fraction ρ = λw/s plus idle power for the rest.
@Suite struct ExplainDocumentTests {
    static let fmax = 3_000_000
    static let smin = 0.2
    static let busyCoefficient = 2.0
    static let idle = 0.1
    static let maxUtilization = 0.95
    static let platform = Platform(domains: [
        FrequencyDomain(name: "policy0", cpus: [0], capacity: 1024, idlePower: Watts(idle), operatingPoints: [
            OperatingPoint(frequency: Kilohertz(Int(smin * Double(fmax))), busyPower: Watts(busyCoefficient * smin * smin * smin)),
            OperatingPoint(frequency: Kilohertz(fmax), busyPower: Watts(busyCoefficient)),
        ]),
    ])

    static func closedFormPlan(_ workload: Workload) -> Plan {
        let q = workload.queues[0]
        let (lambda, w, d) = (q.arrivalRate, q.meanWork, q.target.seconds)
        let needed = w * (lambda + 1 / d)
        let s = max(needed, lambda * w / maxUtilization, smin)
        let feasible = needed <= 1
        let speed = min(s, 1)
        let rho = lambda * w / speed
        let power = feasible ? rho * busyCoefficient * speed * speed * speed + (1 - rho) * idle : busyCoefficient
        let latency = rho < 1 ? 1 / (speed / w - lambda) : .infinity
        let f = Kilohertz(Int((speed * Double(fmax)).rounded()))
        return Plan(
            feasible: feasible, power: Watts(power),
            domains: [DomainPlan(name: "policy0", cpus: [0], low: f, high: f, pHigh: 1, timeShareHigh: 1)],
            queues: [QueuePlan(name: q.name, target: q.target, predictedLatency: latency, split: [0: 1])],
            cpus: [CPUPlan(cpu: 0, utilization: rho, power: Watts(power))])
    }

    static func explain(rate: Double, work: Double, targetMs: Double) -> JSONValue {
        let workload = Workload(queues: [WorkQueue(name: "web", arrivalRate: rate, meanWork: work,
                                                   target: LatencyTarget(kind: .mean, seconds: targetMs / 1000), cpus: [0])])
        let document = ExplainDocument.json(platform: platform, workload: workload, plan: closedFormPlan(workload),
                                            maxUtilization: maxUtilization, replan: closedFormPlan)
        return document["queues"]!.arrayItems![0]
    }

    @Test func latencyBindsAndTheMarginalMatchesTheDerivative() throws {
        let (lambda, w, d) = (200.0, 0.002, 0.010)
        let q = Self.explain(rate: lambda, work: w, targetMs: d * 1000)
        #expect(q["binding"]?.stringValue == "latency_target")
        // -dP/dD = (2 λ w c s + idle λ w / s²) · w / D², in W per second of target; per ms / 1000.
        let s = w * (lambda + 1 / d)
        let derivative = (2 * lambda * w * Self.busyCoefficient * s + Self.idle * lambda * w / (s * s)) * w / (d * d) / 1000
        let marginal = try #require(q["marginal_watts_per_ms"]?.doubleValue)
        #expect(abs(marginal - derivative) / derivative < 0.01, "marginal \(marginal) vs derivative \(derivative)")
        // P(D) is convex and falling: the looser side saves less per ms than the tighter side costs.
        let saved = try #require(q["watts_saved_per_ms_looser"]?.doubleValue)
        let added = try #require(q["watts_added_per_ms_tighter"]?.doubleValue)
        #expect(saved < derivative && derivative < added)
        #expect(abs(try #require(q["slack_ms"]?.doubleValue)) < 1e-9)
        #expect(q["step_ms"]?.doubleValue == 0.5)
    }

    @Test func theUtilisationCapBindsWhenTheTargetIsLoose() throws {
        // D = 200 ms needs s = 0.41, but ρ ≤ 0.95 needs s ≥ 0.4/0.95 ≈ 0.421.
        let q = Self.explain(rate: 200, work: 0.002, targetMs: 200)
        #expect(q["binding"]?.stringValue == "utilization_cap", "\(q.rendered())")
        #expect(q["marginal_watts_per_ms"]?.doubleValue == 0)
        let predicted = try #require(q["predicted_ms"]?.doubleValue)
        #expect(abs(predicted - 1000 / (0.4 / 0.95 / 0.002 - 200)) < 1e-9)
        #expect(abs(try #require(q["max_utilization"]?.doubleValue) - 0.95) < 1e-12)
    }

    @Test func aLightQueueAtTheLowestSpeedHasNothingBinding() throws {
        let q = Self.explain(rate: 20, work: 0.002, targetMs: 100)
        #expect(q["binding"]?.stringValue == "lowest_speed", "\(q.rendered())")
        #expect(q["reason"]?.stringValue?.contains("lowest frequency") == true)
    }

    @Test func anUnreachableTargetIsInfeasibleWithNoMarginal() throws {
        let q = Self.explain(rate: 400, work: 0.002, targetMs: 1)
        #expect(q["binding"]?.stringValue == "infeasible")
        #expect(q["marginal_watts_per_ms"]?.isNull == true)
    }

    @Test func pinnedDomainsAreShownFromThePlanInForce() throws {
        let workload = Workload(queues: [WorkQueue(name: "web", arrivalRate: 200, meanWork: 0.002,
                                                   target: LatencyTarget(kind: .mean, seconds: 0.010), cpus: [0])])
        var overrides = OverrideSet()
        _ = overrides.add(scope: .cpus([0]), action: .performance, expiresAt: nil)
        let inForce = overrides.apply(to: Self.closedFormPlan(workload), on: Self.platform)
        let document = ExplainDocument.json(platform: Self.platform, workload: workload, plan: inForce,
                                            maxUtilization: Self.maxUtilization, replan: Self.closedFormPlan)
        #expect(document["queues"]?.arrayItems?[0]["pinned"]?.boolValue == true)
        let domain = document["domains"]?.arrayItems?[0]
        #expect(domain?["at_highest"]?.boolValue == true)
        #expect(domain?["note"]?.stringValue == "pinned by an override")
    }
}
