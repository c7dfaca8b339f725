import Foundation
import GearboxAgent
import GearboxConfig
import GearboxControl
import GearboxCore
import Testing

/// `explain` over the real planner on every shipped example: the planner uses a latency target
/// to the full when it can save by it, so a queue predicted at its target must be named as
/// bound by it, and the finite differences must be the planner's own re-plans.
@Suite struct ExplainRealPlannerTests {
    // laptop-hybrid is left out: its plans take about 9 s each in a debug build (2 per queue here).
    static let examples = ["server-8cpu", "phone-rk3399"].flatMap { p in ["low", "medium", "high"].map { (p, $0) } }
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../configs/examples").standardized.path

    @Test(arguments: examples)
    func queuesAtTheirTargetAreBoundByIt(platformName: String, load: String) throws {
        let platform = try PlatformFile.load(path: "\(Self.root)/\(platformName).toml")
        let workload = try WorkloadFile.load(path: "\(Self.root)/\(platformName)-\(load).toml", platform: platform)
        let planner = Planner()
        let plan = planner.plan(platform: platform, workload: workload)
        try #require(plan.feasible)
        let document = ExplainDocument.json(platform: platform, workload: workload, plan: plan, planner: planner)
        let queues = try #require(document["queues"]?.arrayItems)
        #expect(queues.count == workload.queues.count)
        for (index, q) in queues.enumerated() {
            let name = q["name"]?.stringValue ?? "?"
            let binding = try #require(q["binding"]?.stringValue)
            #expect(["latency_target", "utilization_cap", "lowest_speed", "none"].contains(binding), "\(name): \(binding)")
            let slack = try #require(q["slack_ms"]?.doubleValue), target = try #require(q["target_ms"]?.doubleValue)
            if slack <= 0.001 * target { #expect(binding == "latency_target", "\(name) at its target is \(binding)") }
            // The looser side is a real re-plan: the same figure from the planner directly.
            var looser = workload
            looser.queues[index].target.seconds *= 1 + ExplainDocument.relativeStep
            let repowered = planner.plan(platform: platform, workload: looser).power.value
            let step = try #require(q["step_ms"]?.doubleValue)
            let saved = try #require(q["watts_saved_per_ms_looser"]?.doubleValue)
            #expect(abs(saved - (plan.power.value - repowered) / step) <= 1e-9 * max(1, abs(saved)))
        }
    }
}
