import Foundation

/// `gearboxctl inspect --json` as docs/formats.md names it; decoding fails when a
/// field is missing or has another type.
struct InspectJSON: Decodable {
    struct Domain: Decodable, Equatable {
        var name: String
        var cpus: [Int]
        var driver: String
        var governor: String
        var governors: [String]
        var frequencies_khz: [Int]
        var has_frequency_table: Bool
        var min_khz: Int
        var max_khz: Int
        var scaling_min_khz: Int
        var scaling_max_khz: Int
        var capacity: Int
        var transition_latency_us: Double?
        var energy_performance_preference: String?
        var control: String
    }
    struct Counter: Decodable {
        var zone: String
        var name: String
        var energy_uj: Int
    }
    struct Unusable: Decodable {
        var cpus: [Int]
        var reason: String
    }
    var domains: [Domain]
    var offline_cpus: [Int]
    var energy_counters: [Counter]
    var unusable: [Unusable]

    static func decode(_ text: String) throws -> InspectJSON {
        try JSONDecoder().decode(InspectJSON.self, from: Data(text.utf8))
    }

    /// Whether `transition_latency_us` is present (as a number or null) in every domain: JSON
    /// null and a missing key both decode to nil, so check the raw object.
    static func latencyKeyPresent(_ text: String) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let domains = object["domains"] as? [[String: Any]] else { return false }
        return domains.allSatisfy { $0.keys.contains("transition_latency_us") }
    }
}
