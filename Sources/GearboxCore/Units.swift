/// A CPU frequency in kHz, the unit sysfs reads and writes.
public struct Kilohertz: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Int
    public init(_ value: Int) { self.value = value }
    public var megahertz: Double { Double(value) / 1000 }
    public static func < (a: Kilohertz, b: Kilohertz) -> Bool { a.value < b.value }
    public var description: String { "\(value) kHz" }
}

/// Power in watts.
public struct Watts: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Double
    public init(_ value: Double) { self.value = value }
    public static func < (a: Watts, b: Watts) -> Bool { a.value < b.value }
    public static func + (a: Watts, b: Watts) -> Watts { Watts(a.value + b.value) }
    public static let zero = Watts(0)
    public var description: String { "\(value) W" }
}
