import GearboxConfig
import GearboxCore

/// The platform the workload, agent-config and control-request targets validate against:
/// configs/examples/phone-rk3399.toml (two domains, `little` on CPUs 0-3 and `big` on 4-5),
/// copied here so the fuzz package does not depend on where it is run from.
public let fuzzPlatform: Platform = {
    do {
        return try PlatformFile.parse(phoneRK3399, file: "phone-rk3399.toml")
    } catch {
        fatalError("the fixture platform does not parse: \(error)")
    }
}()

/// Queue names a control request may name (those of configs/examples/phone-rk3399-medium.toml).
public let fuzzQueueNames = ["ui", "background"]

private let phoneRK3399 = """
    [[domain]]
    name = "little"
    cpus = "0-3"
    capacity = 381
    idle_watts = 0.005
    transition_latency_us = 40
    opp = [
      { khz = 408000, watts = 0.027769 },
      { khz = 600000, watts = 0.040837 },
      { khz = 816000, watts = 0.058956 },
      { khz = 1008000, watts = 0.086247 },
      { khz = 1200000, watts = 0.120000 },
      { khz = 1416000, watts = 0.179212 },
    ]

    [[domain]]
    name = "big"
    cpus = "4-5"
    capacity = 1024
    idle_watts = 0.015
    transition_latency_us = 40
    opp = [
      { khz = 408000, watts = 0.121075 },
      { khz = 600000, watts = 0.178051 },
      { khz = 816000, watts = 0.242150 },
      { khz = 1008000, watts = 0.336483 },
      { khz = 1200000, watts = 0.472188 },
      { khz = 1416000, watts = 0.648630 },
      { khz = 1608000, watts = 0.848316 },
      { khz = 1800000, watts = 1.130112 },
    ]
    """
