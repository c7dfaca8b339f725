import ArgumentParser
import GearboxConfig
import GearboxControl
import GearboxCore

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Compute a one-shot plan: frequencies and splits that meet every latency target at least power.",
        discussion: """
            Exit status: 0 when every target is met, 1 when no plan meets them (the top-speed plan \
            is printed with feasible: false), 2 on bad input.
            Example: gearboxctl plan --platform configs/examples/server-8cpu.toml \
            --queue name=web,rate=800,work-ms=2,mean-ms=10
            """
    )

    @OptionGroup var input: PlanInputOptions

    @Flag(help: "Print the plan as JSON (fields in docs/formats.md).")
    var json = false

    func run() throws {
        let (platform, workload) = try input.load()
        let plan = Planner(configuration: input.plannerConfiguration).plan(platform: platform, workload: workload)
        print(json ? PlanDocument.json(plan).rendered(pretty: true) : PlanReport.text(plan))
        if !plan.feasible { throw ExitCode(1) }
    }
}

/// `--platform`, `--workload`, `--queue`: the inputs of a one-shot plan or simulation.
struct PlanInputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Platform file (TOML). Without it, this host's sysfs is read.", valueName: "file"))
    var platform: String?

    @Option(help: ArgumentHelp("Workload file (TOML).", valueName: "file"))
    var workload: String?

    @Option(name: .customLong("queue"), help: ArgumentHelp(
        "A queue instead of a workload file, repeatable: name=web,rate=800,work-ms=2,mean-ms=10[,p99-ms=..][,scv=1][,cpus=0-7][,parts=N,needed=K].",
        valueName: "spec"))
    var queues: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Highest utilisation the plan may give any CPU.", valueName: "rho"))
    var maxUtilization: Double = 0.95

    @Option(name: .customLong("pool-model"), help: "How confined queues (unit or cgroup) are judged: per-cpu (per-CPU FCFS, pessimistic) or allen-cunneen (one M/G/c queue per set).")
    var poolModel: PoolModel = .perCPU

    @Option(name: .customLong("max-switch-rate"), parsing: .unconditional, help: ArgumentHelp(
        "At most this many frequency switches per second across the host (0: no two-speed mixes); as max_switches_per_second in gearbox.toml.",
        valueName: "per-second"))
    var maxSwitchRate: Double?

    func validate() throws {
        if workload == nil && queues.isEmpty { throw ValidationError("give --workload FILE or at least one --queue") }
        if workload != nil && !queues.isEmpty { throw ValidationError("give --workload or --queue, not both") }
        guard maxUtilization > 0 && maxUtilization < 1 else { throw ValidationError("--max-utilization must be in (0, 1)") }
        if let rate = maxSwitchRate, let refusal = InputLimits.switchRate.refusal(rate) {
            throw ValidationError("--max-switch-rate \(refusal)")
        }
    }

    var plannerConfiguration: PlannerConfiguration {
        var configuration = PlannerConfiguration()
        configuration.maxUtilization = maxUtilization
        configuration.poolModel = poolModel
        configuration.maxSwitchRate = maxSwitchRate
        return configuration
    }

    func load() throws -> (Platform, Workload) {
        let platform: Platform
        do {
            if let path = self.platform {
                platform = try PlatformFile.load(path: path)
            } else {
                platform = try HostPlatform.discover()
            }
            if let path = workload {
                return (platform, try WorkloadFile.load(path: path, platform: platform))
            }
            guard queues.count <= InputLimits.maximumQueues else {
                throw ConfigFailure(message: "--queue: \(queues.count) queues; gearbox takes at most \(InputLimits.maximumQueues)")
            }
            var parsed: [WorkQueue] = []
            var names = Set<String>()
            for spec in queues {
                let queue = try QueueSpec.parse(spec, platform: platform)
                guard names.insert(queue.name).inserted else {
                    throw ConfigFailure(message: "--queue: two queues are named \"\(queue.name)\"")
                }
                parsed.append(queue)
            }
            return (platform, Workload(queues: parsed))
        } catch let error as ConfigError {
            throw ConfigFailure(error)
        }
    }
}

extension PoolModel: ExpressibleByArgument {}
