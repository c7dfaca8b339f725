import Foundation
import GearboxCore
import Testing
import GearboxConfig

/// The planner on the shipped examples: an optimum's power can only grow with load, so a
/// plan that costs more at 2 % less load is a search that fell into a poor local optimum
/// (laptop-hybrid high did: 14.0 W at 98 % of its rates, 12.6 W at 100 %).
@Suite struct ExamplePlanTests {
    static func examples(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../configs/examples/\(name)").standardized.path
    }

    @Test(arguments: ["laptop-hybrid-low", "laptop-hybrid-medium", "laptop-hybrid-high", "server-8cpu-medium"])
    func powerGrowsWithLoad(example: String) throws {
        let platformName = String(example[..<example.lastIndex(of: "-")!])
        let platform = try PlatformFile.load(path: Self.examples("\(platformName).toml"))
        let workload = try WorkloadFile.load(path: Self.examples("\(example).toml"), platform: platform)
        var powers: [Double] = []
        for scale in [0.96, 0.98, 1.0, 1.02] {
            var scaled = workload
            for q in scaled.queues.indices { scaled.queues[q].arrivalRate *= scale }
            let plan = Planner().plan(platform: platform, workload: scaled)
            #expect(plan.feasible, "\(example) at \(scale) × its rates")
            powers.append(plan.power.value)
        }
        print("\(example): \(powers.map { String(format: "%.3f", $0) }.joined(separator: " ")) W at 96/98/100/102 % load")
        for i in 1..<powers.count {
            #expect(powers[i] >= powers[i - 1] * 0.995, "\(example): \(powers)")
        }
    }
}
