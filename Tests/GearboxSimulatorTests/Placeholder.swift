import Testing

@Test func placeholder_GearboxSimulatorTests() { #expect(1 + 1 == 2) }
